//! The one module that owns `exp`.
//!
//! In a `no_std` crate that is tested on the host, a bare `x.exp()` silently resolves to
//! `std`'s implementation, so the host tests would not run the math the firmware runs.
//! Every exponential in this crate goes through this module instead, the same code on every
//! target: [`exp_nonpositive`] for the softmax (its arguments are never positive; integer
//! arithmetic, within 0.52 ulp), [`exp`] for everything else (the sigmoid).
//!
//! Two implementations of [`exp`] are available; the `fast-exp` cargo feature chooses:
//!
//! | feature    | implementation                              | accuracy                 |
//! |------------|---------------------------------------------|--------------------------|
//! | (default)  | [`exp_table`]: a 64-entry table and a cubic | within 0.52 ulp          |
//! | `fast-exp` | `micromath`'s `exp`                         | approximate (see [`exp_fast`]) |
//!
//! [`exp_exact`] (musl's `expf`, within 1 ulp) is the reference the tests and the README
//! compare with; the crate's sigmoid used it until [`exp_table`] (as accurate, half the
//! instructions on a Cortex-M4F).

mod exp_nonpositive;
mod exp_table;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub(crate) use exp_nonpositive::POW2_Q31;
pub use exp_nonpositive::exp_nonpositive;
pub use exp_table::exp_table;
#[doc(hidden)]
pub use exp_table::exp_table_lanes;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub(crate) use exp_table::exp_table_out_of_line;
#[cfg(all(target_arch = "arm", target_abi = "eabihf", not(feature = "fast-exp")))]
pub(crate) use exp_table::{POW2, SIGMOID_CONSTANTS};

/// `true` when [`exp`] is [`exp_table`] (the default), `false` with the `fast-exp` feature.
pub const EXP_IS_TABLE: bool = !cfg!(feature = "fast-exp");

/// e^x as the crate computes it everywhere but the softmax: [`exp_table`] by default,
/// [`exp_fast`] with the `fast-exp` feature. Inlined where it is called (the sigmoid's
/// 150 calls an inference of the book's network); its rare inputs (results that overflow
/// or are subnormal, NaN) go to one out-of-line function.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "fast-exp")]
    {
        exp_fast(x)
    }
    #[cfg(not(feature = "fast-exp"))]
    {
        exp_table(x)
    }
}

/// A fingerprint of [`exp_table`]'s and [`exp_nonpositive`]'s results (their bits, NaN as
/// one pattern, folded by FNV-1a a word at a time) over a fixed spread of inputs: every
/// 65 537th f32 bit pattern (both signs, every binade, ±0, ±∞, NaN), 4 096 inputs from −104
/// to −86.5 (the subnormal results and the main path's lower end) and 1 024 around the
/// overflow. The firmware's build script computes it on the host and an on-target test
/// on the device: equal, the exponentials give the same bits there — soft-float cores and
/// cold paths included.
#[doc(hidden)]
pub fn exp_fingerprint() -> u32 {
    let mut h = 0x811c_9dc5u32;
    let mut fold = |v: f32| {
        let bits = if v.is_nan() { 0x7fc0_0000 } else { v.to_bits() };
        h = (h ^ bits).wrapping_mul(0x0100_0193);
    };
    let spread = (0..=u32::MAX / 65_537).map(|k| f32::from_bits(k.wrapping_mul(65_537)));
    let low = (0..4096u16).map(|k| -104.0 + f32::from(k) * (17.5 / 4096.0));
    let high = (0..1024u16).map(|k| 88.70 + f32::from(k) * (0.04 / 1024.0));
    for x in spread.chain(low).chain(high) {
        fold(exp_table(x));
        fold(exp_nonpositive(x));
    }
    h
}

/// e^x to within one unit in the last place: musl's `expf` through the `libm` crate.
#[inline]
pub fn exp_exact(x: f32) -> f32 {
    libm::expf(x)
}

/// e^x by micromath's bit-manipulation approximation: fast and small, but only accurate to
/// roughly three significant digits.
#[inline]
pub fn exp_fast(x: f32) -> f32 {
    micromath::F32Ext::exp(x)
}

/// How far `got` is from `e^x` (the f64 exponential, unrounded), in units of the last
/// place of the correctly rounded f32 result (2⁻¹⁴⁹ below the normal range): the one ruler
/// for both exponentials' stated tolerances.
#[cfg(test)]
fn ulps_from_exp(x: f32, got: f32) -> f64 {
    let want = f64::from(x).exp();
    let field = ((want as f32).to_bits() >> 23).max(1);
    let ulp = 2f64.powi(field as i32 - 150);
    (f64::from(got) - want).abs() / ulp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors: (x, e^x) from an arbitrary-precision reference, rounded to f32.
    const VECTORS: [(f32, f32); 6] = [
        (0.0, 1.0),
        (1.0, core::f32::consts::E),
        (-1.0, 0.367_879_44),
        (2.5, 12.182_494),
        (-10.0, 4.539_993e-5),
        (10.0, 22_026.465),
    ];

    #[test]
    fn exact_exp_is_within_one_ulp() {
        for (x, want) in VECTORS {
            let got = exp_exact(x);
            let ulp = (want.to_bits() as i64 - got.to_bits() as i64).abs();
            assert!(ulp <= 1, "exp({x}) = {got}, want {want} ({ulp} ulp)");
        }
    }

    #[test]
    fn fast_exp_is_within_its_stated_tolerance() {
        // micromath's exp: relative error below 1e-2 on this range (measured: see eval).
        for (x, want) in VECTORS {
            let got = exp_fast(x);
            assert!(
                ((got - want) / want).abs() < 1e-2,
                "exp_fast({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn exp_overflows_and_underflows_cleanly() {
        assert_eq!(exp_exact(-200.0), 0.0);
        assert!(exp_exact(200.0).is_infinite());
    }
}
