//! Chapter 3.2: activation functions.
//!
//! | function   | formula                                   |
//! |------------|-------------------------------------------|
//! | step       | h(x) = 1 if x > 0, else 0                 |
//! | sigmoid    | h(x) = 1 / (1 + exp(−x))                  |
//! | ReLU       | h(x) = max(0, x)                          |
//! | identity   | σ(x) = x                                  |
//! | softmax    | yₖ = exp(aₖ − c) / Σᵢ exp(aᵢ − c), c = maxᵢ aᵢ |

use crate::math;
use serde::{Deserialize, Serialize};

/// The step function: `1` if `x > 0`, else `0` (so `step(0) = 0`).
#[inline]
pub fn step(x: f32) -> f32 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// The sigmoid function `1 / (1 + exp(−x))`, computed in f32 as numpy does, with the
/// crate's [`math::exp`] (by default [`math::exp_table`], within 0.52 ulp of `e^x`; numpy
/// calls the platform's `expf`): the same bits on every core and on the host.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + math::exp(-x))
}

/// [`sigmoid`] on every value, in a loop of its own: the exponential's constants stay in
/// registers (the book's 150 sigmoids 7 085 → 5 016 instructions on the M4F, `profile`
/// binary, against a call for each value), and out of [`Activation::apply`], whose other
/// arms would pay for saving those registers (+2 instructions a call, measured: the int8
/// dense benchmark's ReLU outputs go through it one by one).
#[inline(never)]
fn sigmoid_all(a: &mut [f32]) {
    // On an FPU core, the same steps by a routine (`kernel::sigmoid`): the same bits.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf", not(feature = "fast-exp")))]
    crate::kernel::sigmoid_all(a);
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf", not(feature = "fast-exp"))))]
    for v in a {
        *v = sigmoid(*v);
    }
}

/// A fingerprint of the sigmoid layers' results ([`Activation::Sigmoid`] applied to a
/// slice: their bits, NaN as one pattern, folded by FNV-1a a word at a time) over a fixed
/// spread of inputs: every 65 537th f32 bit pattern (both signs, every binade, ±0, ±∞,
/// NaN), 4 096 from −100 to 100, and 1 024 at each end of the exponential's main path
/// (`x` near −88.7 and 86.6). The firmware's build script computes it on the host and an
/// on-target test on the device: equal, a sigmoid layer gives the same bits there (the
/// FPU cores' routine, two values a turn: in layers of 63, an odd count, so each layer's
/// last value takes the Rust path too).
#[doc(hidden)]
pub fn sigmoid_fingerprint() -> u32 {
    let mut h = 0x811c_9dc5u32;
    let spread = (0..=u32::MAX / 65_537).map(|k| f32::from_bits(k.wrapping_mul(65_537)));
    let wide = (0..4096u16).map(|k| -100.0 + f32::from(k) * (200.0 / 4096.0));
    let low = (0..1024u16).map(|k| -88.8 + f32::from(k) * (0.2 / 1024.0));
    let high = (0..1024u16).map(|k| 86.5 + f32::from(k) * (0.2 / 1024.0));
    let mut inputs = spread.chain(wide).chain(low).chain(high);
    let mut chunk = [0.0f32; 63];
    loop {
        let mut n = 0;
        for (c, x) in chunk.iter_mut().zip(&mut inputs) {
            *c = x;
            n += 1;
        }
        let Some(chunk) = chunk.get_mut(..n).filter(|c| !c.is_empty()) else {
            return h;
        };
        Activation::Sigmoid.apply(chunk);
        for v in chunk.iter() {
            let bits = if v.is_nan() { 0x7fc0_0000 } else { v.to_bits() };
            h = (h ^ bits).wrapping_mul(0x0100_0193);
        }
    }
}

/// A fingerprint of [`softmax`]'s results (their bits, folded by FNV-1a) over layers of
/// 16 values, each a 0 (the maximum: `e⁰ = 1`) and 15 inputs from a fixed spread (NaN
/// as one pattern): every 65 537th f32 bit pattern made negative (every binade, −0, −∞,
/// NaNs, each of which makes its layer NaN), 4 096 from −104 to 0, 1 024 from −104 to −87 (subnormal
/// exponentials), and 1 024 from −2⁻⁸ to 0 (below 2⁻¹⁰ the FPU cores' routine hands values to
/// Rust). The firmware's build script computes it on the host and an on-target test on the
/// device: equal, the softmax gives the same bits there.
#[doc(hidden)]
pub fn softmax_fingerprint() -> u32 {
    let mut h = 0x811c_9dc5u32;
    let spread =
        (0..=u32::MAX / 65_537).map(|k| f32::from_bits(k.wrapping_mul(65_537) | 0x8000_0000));
    let main = (0..4096u16).map(|k| -104.0 + f32::from(k) * (104.0 / 4096.0));
    let low = (0..1024u16).map(|k| -104.0 + f32::from(k) * (17.0 / 1024.0));
    let shift = (0..1024u16).map(|k| -0.004 + f32::from(k) * (0.004 / 1024.0));
    let mut inputs = spread.chain(main).chain(low).chain(shift);
    let mut layer = [0.0f32; 16];
    loop {
        let mut n = 1;
        for (v, x) in layer.iter_mut().skip(1).zip(&mut inputs) {
            *v = x;
            n += 1;
        }
        layer[0] = 0.0;
        let Some(layer) = layer.get_mut(..n).filter(|l| l.len() > 1) else {
            return h;
        };
        softmax(layer);
        for v in layer.iter() {
            let bits = if v.is_nan() { 0x7fc0_0000 } else { v.to_bits() };
            h = (h ^ bits).wrapping_mul(0x0100_0193);
        }
    }
}

/// The rectified linear unit `max(0, x)`.
#[inline]
pub fn relu(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// The identity function `σ(x) = x`, the output activation for regression.
#[inline]
pub fn identity(x: f32) -> f32 {
    x
}

/// Softmax in place: `yₖ = exp(aₖ − c) / Σᵢ exp(aᵢ − c)` with `c = maxᵢ aᵢ`.
///
/// Subtracting the maximum first keeps every exponent `≤ 0`, so the result is finite for any
/// finite input (the book's naive `exp(a) / Σ exp(a)` overflows at `a ≈ 89`), and lets the
/// exponential be [`math::exp_nonpositive`]: integer arithmetic within 0.52 ulp, the same
/// bits on every core and a tenth of `libm::expf`'s cost where floats are emulated. An empty
/// slice is left as it is.
#[inline(never)]
pub fn softmax(a: &mut [f32]) {
    softmax_given(a, maximum(a));
}

/// [`softmax`]'s steps after its maximum `c`.
#[inline(always)]
fn softmax_given(a: &mut [f32], c: f32) {
    // On the FPU cores by a routine (`kernel::softmax_exps`): the same values and sum.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    let sum = crate::kernel::softmax_exps(a, c);
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    let sum = {
        let mut sum = 0.0;
        for v in a.iter_mut() {
            *v = math::exp_nonpositive(*v - c);
            sum += *v;
        }
        sum
    };
    for v in a.iter_mut() {
        *v /= sum;
        crate::kernel::rolled();
    }
}

/// The softmax's `c = maxᵢ aᵢ` (−∞ for none; NaNs skipped). By comparison where `f32::max`
/// is a library call or several instructions (M4F −94, M0 −324 an inference, measured), by
/// `f32::max` where it is `VMAXNM` (Cortex-M33: +21 the other way). They can differ only on
/// `±0` (`f32::max` may return either), which gives the same `aₖ − c` for every `aₖ` but
/// `∓0`, and `e^(±0) = 1`: the same exponentials, so the same softmax.
#[inline(always)]
fn maximum(a: &[f32]) -> f32 {
    if cfg!(scratchnet_vmaxnm) {
        maximum_by_max(a)
    } else {
        maximum_by_comparison(a)
    }
}

#[inline(always)]
fn maximum_by_comparison(a: &[f32]) -> f32 {
    a.iter().fold(f32::NEG_INFINITY, |c, &v| {
        crate::kernel::rolled();
        if v > c { v } else { c }
    })
}

#[inline(always)]
fn maximum_by_max(a: &[f32]) -> f32 {
    a.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// The activation that follows a layer's affine map `A = X·W + B`.
///
/// Stored in the model blob as the variant index (postcard varint): identity 0, step 1,
/// sigmoid 2, ReLU 3, softmax 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// `σ(x) = x`.
    Identity,
    /// `h(x) = 1 if x > 0 else 0`.
    Step,
    /// `h(x) = 1 / (1 + exp(−x))`.
    Sigmoid,
    /// `h(x) = max(0, x)`.
    Relu,
    /// `yₖ = exp(aₖ − c) / Σ exp(aᵢ − c)` over the whole layer.
    Softmax,
}

impl Activation {
    /// Applies the activation to a layer's outputs in place.
    ///
    /// Never inlined: unrolled into every layer it cost the firmware ~5 KB of flash, for
    /// about 100 instructions an inference. The sigmoid has a loop of its own
    /// (out of line), the others call their function for each value.
    #[inline(never)]
    pub fn apply(self, a: &mut [f32]) {
        let h: fn(f32) -> f32 = match self {
            Activation::Identity => return,
            Activation::Softmax => return softmax(a),
            Activation::Sigmoid => return sigmoid_all(a),
            Activation::Step => step,
            Activation::Relu => relu,
        };
        for v in a {
            *v = h(*v);
        }
    }

    /// The activation's name as the book writes it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Step => "step",
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::Softmax => "softmax",
        }
    }
}

#[cfg(test)]
// Expected values are quoted with the digits the book prints.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn step_is_zero_at_and_below_zero() {
        assert_eq!([-1.0, 0.0, 1e-30, 2.0].map(step), [0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn sigmoid_values() {
        assert_eq!(sigmoid(0.0), 0.5);
        // Book, p. 48: sigmoid([-1, 1, 2]) = [0.26894142, 0.73105858, 0.88079708]
        close(
            &[-1.0, 1.0, 2.0].map(sigmoid),
            &[0.268_941_42, 0.731_058_6, 0.880_797_1],
            1e-6,
        );
        assert_eq!(sigmoid(-200.0), 0.0);
        assert_eq!(sigmoid(200.0), 1.0);
    }

    #[test]
    fn relu_and_identity() {
        assert_eq!([-2.0, 0.0, 3.5].map(relu), [0.0, 0.0, 3.5]);
        assert_eq!(identity(-3.25), -3.25);
    }

    #[test]
    fn softmax_of_the_books_example() {
        let mut a = [0.3, 2.9, 4.0];
        softmax(&mut a);
        close(&a, &[0.018_211_27, 0.245_191_81, 0.736_596_91], 1e-6);
    }

    /// The softmax computed with either maximum, bit for bit (NaN as NaN), on values where
    /// they could part: signed zeros, NaN, infinities, ties.
    #[test]
    fn both_maxima_give_the_same_softmax() {
        let specials = [
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0,
            -1.0,
            1e-45,
        ];
        let bits = |v: [f32; 3]| v.map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() });
        for &p in &specials {
            for &q in &specials {
                for &r in &specials {
                    let a = [p, q, r];
                    let (c1, c2) = (maximum_by_comparison(&a), maximum_by_max(&a));
                    let soft = |c: f32| {
                        let mut y = a;
                        softmax_given(&mut y, c);
                        y
                    };
                    assert_eq!(bits(soft(c1)), bits(soft(c2)), "{a:?}: max {c1} / {c2}");
                }
            }
        }
    }

    #[test]
    fn softmax_does_not_overflow() {
        let mut a = [1010.0, 1000.0, 990.0];
        softmax(&mut a);
        assert!(a.iter().all(|v| v.is_finite()));
        assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let want = [9.999_546e-1, 4.539_786_8e-5, 2.061_060_0e-9];
        for (g, w) in a.iter().zip(want) {
            assert!(((g - w) / w).abs() < 1e-4, "got {a:?}");
        }
    }

    #[test]
    fn activation_enum_applies_the_functions() {
        let mut a = [-1.0, 0.0, 2.0];
        Activation::Relu.apply(&mut a);
        assert_eq!(a, [0.0, 0.0, 2.0]);
        Activation::Step.apply(&mut a);
        assert_eq!(a, [0.0, 0.0, 1.0]);
        Activation::Sigmoid.apply(&mut a);
        assert_eq!(a[0], 0.5);
        let mut b = [0.3, 2.9, 4.0];
        Activation::Softmax.apply(&mut b);
        assert!((b[2] - 0.736_596_9).abs() < 1e-6);
        let mut c = [7.0];
        Activation::Identity.apply(&mut c);
        assert_eq!(c, [7.0]);
    }
}
