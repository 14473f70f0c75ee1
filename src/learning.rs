//! Chapter 2: the perceptron learning rule.
//!
//! The bias is the weight `w₀` of a constant input `x₀ = 1`. For every example `(x, d)`:
//!
//! ```text
//! y  = step(w·x)                      (step(a) = 1 if a > 0, else 0)
//! wᵢ ← wᵢ + r·(d − y)·xᵢ              for i = 0 … N
//! ```
//!
//! One pass over all `s` examples is an epoch; its error is `(1/s)·Σ|d − y|`, with each `y`
//! taken before that example's update. Epochs repeat until the error is at most `γ`, or until
//! the epoch limit.

use crate::error::{Error, Result};
use crate::perceptron::Perceptron;

/// The learning rule's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LearningRule {
    /// The learning rate `r`.
    pub rate: f32,
    /// The error tolerance `γ`: training stops once an epoch's mean absolute error is `≤ γ`.
    pub tolerance: f32,
    /// The most epochs to run before giving up with [`Error::NotConverged`].
    pub max_epochs: u32,
}

impl Default for LearningRule {
    /// `r = 0.1`, `γ = 0`, at most 1 000 epochs.
    fn default() -> Self {
        Self {
            rate: 0.1,
            tolerance: 0.0,
            max_epochs: 1000,
        }
    }
}

/// One epoch's outcome, as reported to [`LearningRule::train_traced`]'s observer.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Epoch<const N: usize> {
    /// The epoch's number, from 1.
    pub epoch: u32,
    /// `(1/s)·Σ|d − y|` over the epoch.
    pub error: f32,
    /// The perceptron after the epoch's updates.
    pub perceptron: Perceptron<N>,
}

/// A perceptron that reached the tolerance, and the epochs it took.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Trained<const N: usize> {
    /// The trained perceptron.
    pub perceptron: Perceptron<N>,
    /// Epochs run, the last (error `≤ γ`) included.
    pub epochs: u32,
}

impl LearningRule {
    /// Trains `initial` on `examples` (inputs and desired outputs `d`).
    ///
    /// Returns [`Error::NotConverged`] with the last epoch's error when `max_epochs` pass
    /// without reaching `γ` (or when there are no examples).
    pub fn train<const N: usize>(
        &self,
        initial: Perceptron<N>,
        examples: &[([f32; N], bool)],
    ) -> Result<Trained<N>> {
        self.train_traced(initial, examples, |_| {})
    }

    /// [`train`](Self::train), calling `observe` after every epoch.
    pub fn train_traced<const N: usize>(
        &self,
        initial: Perceptron<N>,
        examples: &[([f32; N], bool)],
        mut observe: impl FnMut(&Epoch<N>),
    ) -> Result<Trained<N>> {
        let mut p = initial;
        let mut last_error = f32::NAN;
        if examples.is_empty() {
            return Err(Error::NotConverged {
                epochs: 0,
                last_error,
            });
        }
        for epoch in 1..=self.max_epochs {
            let mut wrong = 0.0;
            for (x, d) in examples {
                // w·x with x₀ = 1 carrying the bias w₀.
                let y = f32::from(u8::from(p.activation(x) > 0.0));
                let delta = f32::from(u8::from(*d)) - y;
                wrong += delta.abs();
                p.bias += self.rate * delta;
                for (w, xi) in p.weights.iter_mut().zip(x) {
                    *w += self.rate * delta * xi;
                }
            }
            last_error = wrong / examples.len() as f32;
            observe(&Epoch {
                epoch,
                error: last_error,
                perceptron: p,
            });
            if last_error <= self.tolerance {
                return Ok(Trained {
                    perceptron: p,
                    epochs: epoch,
                });
            }
        }
        Err(Error::NotConverged {
            epochs: self.max_epochs,
            last_error,
        })
    }
}

/// The truth table of a two-input gate as training examples, in the book's input order.
pub fn gate_examples(gate: crate::perceptron::Gate) -> [([f32; 2], bool); 4] {
    crate::perceptron::TRUTH_TABLE_INPUTS
        .map(|[a, b]| ([f32::from(u8::from(a)), f32::from(u8::from(b))], gate(a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perceptron::{TRUTH_TABLE_INPUTS, and, nand, or, xor};

    const ZERO: Perceptron<2> = Perceptron::new([0.0, 0.0], 0.0);

    fn learns(gate: fn(bool, bool) -> bool) -> Trained<2> {
        let trained = LearningRule::default()
            .train(ZERO, &gate_examples(gate))
            .expect("a linearly separable gate converges");
        for [a, b] in TRUTH_TABLE_INPUTS {
            assert_eq!(trained.perceptron.fire_bits([a, b]), gate(a, b), "{a} {b}");
        }
        trained
    }

    // The epoch counts below are what this rule does from w = 0 with r = 0.1, γ = 0
    // (checked independently by a 20-line f32 simulation in Python while writing them).
    #[test]
    fn and_converges_in_6_epochs() {
        assert_eq!(learns(and).epochs, 6);
    }

    #[test]
    fn or_converges_in_4_epochs() {
        assert_eq!(learns(or).epochs, 4);
    }

    #[test]
    fn nand_converges_in_4_epochs() {
        assert_eq!(learns(nand).epochs, 4);
    }

    #[test]
    fn xor_never_converges() {
        let err = LearningRule::default()
            .train(ZERO, &gate_examples(xor))
            .unwrap_err();
        match err {
            Error::NotConverged { epochs, last_error } => {
                assert_eq!(epochs, 1000);
                // Past the first epochs the weights cycle and every example is wrong.
                assert_eq!(last_error, 1.0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_observer_sees_every_epoch() {
        let mut seen = 0;
        let trained = LearningRule::default()
            .train_traced(ZERO, &gate_examples(and), |e| {
                seen += 1;
                assert_eq!(e.epoch, seen);
            })
            .unwrap();
        assert_eq!(seen, trained.epochs);
    }

    #[test]
    fn no_examples_is_not_convergence() {
        let r = LearningRule::default().train::<2>(ZERO, &[]);
        assert!(matches!(r, Err(Error::NotConverged { epochs: 0, .. })));
    }
}
