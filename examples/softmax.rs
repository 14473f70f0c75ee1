//! Chapter 3.2 and 3.5: the activations, and softmax with its overflow fix.
//!
//! `cargo run --example softmax`

use scratchnet::{relu, sigmoid, softmax, step};

fn main() {
    for x in [-1.0f32, 0.0, 1.0, 2.0] {
        println!(
            "x = {x:+.1}: step {} sigmoid {:.8} relu {}",
            step(x),
            sigmoid(x),
            relu(x)
        );
    }

    // The book's example (3.5.1): [0.01821127, 0.24519181, 0.73659691].
    let mut a = [0.3f32, 2.9, 4.0];
    softmax(&mut a);
    println!("softmax([0.3, 2.9, 4.0]) = {a:?}");

    // Without subtracting the maximum, exp(1010) overflows to infinity and numpy gives
    // NaN; the core subtracts it first (3.5.2), so the result is finite.
    let mut big = [1010.0f32, 1000.0, 990.0];
    softmax(&mut big);
    println!("softmax([1010, 1000, 990]) = {big:?}");
}
