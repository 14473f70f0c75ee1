//! Chapter 3.4: the book's three-layer toy network (`init_network()` / `forward()`).
//!
//! `cargo run --example toy_network`

use scratchnet::{Activation, Dense, Network};

fn main() {
    let w1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]];
    let b1 = [0.1, 0.2, 0.3];
    let w2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]];
    let b2 = [0.1, 0.2];
    let w3 = [[0.1, 0.3], [0.2, 0.4]];
    let b3 = [0.1, 0.2];
    // The sizes are in the types: a W2 with 4 rows would not compile here (the tuple
    // (Dense<2, 3>, Dense<4, 2>, …) is not a chain).
    let network = Network::new((
        Dense::new(&w1, &b1, Activation::Sigmoid),
        Dense::new(&w2, &b2, Activation::Sigmoid),
        Dense::new(&w3, &b3, Activation::Identity),
    ));
    let x = [1.0, 0.5];
    let y = network.predict(&x);
    // The book prints [0.31682708 0.69627909].
    println!("y = {y:?}");
}
