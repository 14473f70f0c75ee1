//! Chapter 2: the perceptron and the logic gates built from it.
//!
//! A perceptron with weights `w` and bias `b` fires when
//!
//! ```text
//! y = 0   if b + w·x ≤ 0
//! y = 1   if b + w·x > 0
//! ```

/// A perceptron with `N` inputs: `y = 1` iff `b + Σ wᵢ·xᵢ > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Perceptron<const N: usize> {
    /// The weights `w₁ … w_N`.
    pub weights: [f32; N],
    /// The bias `b` (the book's `-θ`).
    pub bias: f32,
}

impl<const N: usize> Perceptron<N> {
    /// A perceptron with the given weights and bias.
    pub const fn new(weights: [f32; N], bias: f32) -> Self {
        Self { weights, bias }
    }

    /// The weighted sum `Σ wᵢ·xᵢ + b`, summed in the book's order (`np.sum(w*x) + b`).
    pub fn activation(&self, x: &[f32; N]) -> f32 {
        let mut sum = 0.0;
        for (w, x) in self.weights.iter().zip(x) {
            sum += w * x;
        }
        sum + self.bias
    }

    /// `true` (y = 1) iff `Σ wᵢ·xᵢ + b > 0`.
    pub fn fire(&self, x: &[f32; N]) -> bool {
        self.activation(x) > 0.0
    }

    /// [`fire`](Self::fire) on boolean inputs (0 or 1).
    pub fn fire_bits(&self, x: [bool; N]) -> bool {
        self.fire(&x.map(f32::from))
    }
}

/// The book's AND gate: w = (0.5, 0.5), b = −0.7.
pub const AND: Perceptron<2> = Perceptron::new([0.5, 0.5], -0.7);
/// The book's NAND gate: w = (−0.5, −0.5), b = 0.7.
pub const NAND: Perceptron<2> = Perceptron::new([-0.5, -0.5], 0.7);
/// The book's OR gate: w = (1.0, 1.0), b = −0.5 (the deck's parameters).
pub const OR: Perceptron<2> = Perceptron::new([1.0, 1.0], -0.5);

/// XOR as a two-layer perceptron: `XOR(x) = AND(NAND(x), OR(x))`.
///
/// No single perceptron can compute XOR (its outputs are not linearly separable); a second
/// layer can.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TwoLayerPerceptron {
    /// Layer 1: two perceptrons that read the inputs (NAND and OR for XOR).
    pub hidden: [Perceptron<2>; 2],
    /// Layer 2: one perceptron that reads layer 1's outputs (AND for XOR).
    pub output: Perceptron<2>,
}

impl TwoLayerPerceptron {
    /// Layer 1's outputs `(s₁, s₂)` and layer 2's output `y` for inputs `x`.
    pub fn trace(&self, x: [bool; 2]) -> ([bool; 2], bool) {
        let s = [self.hidden[0].fire_bits(x), self.hidden[1].fire_bits(x)];
        (s, self.output.fire_bits(s))
    }

    /// The network's output for inputs `x`.
    pub fn fire_bits(&self, x: [bool; 2]) -> bool {
        self.trace(x).1
    }
}

/// The book's XOR: NAND and OR in layer 1, AND in layer 2.
pub const XOR: TwoLayerPerceptron = TwoLayerPerceptron {
    hidden: [NAND, OR],
    output: AND,
};

/// `x1 AND x2` by the book's perceptron.
pub fn and(x1: bool, x2: bool) -> bool {
    AND.fire_bits([x1, x2])
}

/// `x1 NAND x2` by the book's perceptron.
pub fn nand(x1: bool, x2: bool) -> bool {
    NAND.fire_bits([x1, x2])
}

/// `x1 OR x2` by the book's perceptron.
pub fn or(x1: bool, x2: bool) -> bool {
    OR.fire_bits([x1, x2])
}

/// `x1 XOR x2` by the book's two-layer perceptron.
pub fn xor(x1: bool, x2: bool) -> bool {
    XOR.fire_bits([x1, x2])
}

/// A two-input logic gate.
pub type Gate = fn(bool, bool) -> bool;

/// The book's single-layer gates and XOR, by name, in the order the learning rule tries them.
pub const GATES: [(&str, Gate); 4] = [("AND", and), ("OR", or), ("NAND", nand), ("XOR", xor)];

/// The four inputs of a two-input truth table, in the book's order.
pub const TRUTH_TABLE_INPUTS: [[bool; 2]; 4] =
    [[false, false], [true, false], [false, true], [true, true]];

#[cfg(test)]
mod tests {
    use super::*;

    fn table(gate: fn(bool, bool) -> bool) -> [bool; 4] {
        TRUTH_TABLE_INPUTS.map(|[a, b]| gate(a, b))
    }

    // Inputs in order (0,0), (1,0), (0,1), (1,1).
    #[test]
    fn and_truth_table() {
        assert_eq!(table(and), [false, false, false, true]);
    }

    #[test]
    fn nand_truth_table() {
        assert_eq!(table(nand), [true, true, true, false]);
    }

    #[test]
    fn or_truth_table() {
        assert_eq!(table(or), [false, true, true, true]);
    }

    #[test]
    fn xor_truth_table() {
        assert_eq!(table(xor), [false, true, true, false]);
    }

    #[test]
    fn xor_hidden_layer_is_nand_and_or() {
        assert_eq!(XOR.trace([true, true]), ([false, true], false));
        assert_eq!(XOR.trace([false, false]), ([true, false], false));
    }

    #[test]
    fn activation_is_the_weighted_sum_plus_bias() {
        // 0.5·1 + 0.5·1 − 0.7 = 0.3 (in f32)
        assert!((AND.activation(&[1.0, 1.0]) - 0.3).abs() < 1e-6);
        assert!((AND.activation(&[0.0, 0.0]) + 0.7).abs() < 1e-6);
    }
}
