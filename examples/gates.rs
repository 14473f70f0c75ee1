//! Chapter 2: the perceptron gates and the perceptron learning rule.
//!
//! `cargo run --example gates`

use scratchnet::{GATES, LearningRule, Perceptron, TRUTH_TABLE_INPUTS, gate_examples};

fn main() {
    // y = 1 if w1·x1 + w2·x2 + b > 0, else 0 (the book's AND: w = (0.5, 0.5), b = −0.7).
    println!("x1 x2 | AND NAND OR XOR");
    for [a, b] in TRUTH_TABLE_INPUTS {
        println!(
            " {}  {} |  {}   {}    {}   {}",
            u8::from(a),
            u8::from(b),
            u8::from(scratchnet::and(a, b)),
            u8::from(scratchnet::nand(a, b)),
            u8::from(scratchnet::or(a, b)),
            u8::from(scratchnet::xor(a, b)),
        );
    }

    // The learning rule, from w = 0: w ← w + r(d − y)x with r = 0.1.
    let rule = LearningRule::default();
    for (name, gate) in GATES {
        match rule.train(Perceptron::new([0.0; 2], 0.0), &gate_examples(gate)) {
            Ok(t) => println!(
                "{name}: converged in {} epochs: b = {:+.1}, w = ({:+.1}, {:+.1})",
                t.epochs, t.perceptron.bias, t.perceptron.weights[0], t.perceptron.weights[1]
            ),
            // XOR is not linearly separable: one perceptron never learns it.
            Err(e) => println!("{name}: {e}"),
        }
    }
}
