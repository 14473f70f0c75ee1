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
//! | feature    | implementation          | accuracy                                   |
//! |------------|-------------------------|--------------------------------------------|
//! | (default)  | `libm::expf` (musl)     | < 1 ulp                                    |
//! | `fast-exp` | `micromath`'s `exp`     | approximate (see [`exp_fast`])             |
//!
//! The default was chosen by measurement on the MNIST test set (see the README).

mod exp_nonpositive;
pub use exp_nonpositive::exp_nonpositive;

/// `true` when [`exp`] is [`exp_exact`] (the default), `false` with the `fast-exp` feature.
pub const EXP_IS_EXACT: bool = !cfg!(feature = "fast-exp");

/// e^x as the crate computes it everywhere but the softmax: [`exp_exact`] by default, [`exp_fast`] with the
/// `fast-exp` feature.
#[inline]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "fast-exp")]
    {
        exp_fast(x)
    }
    #[cfg(not(feature = "fast-exp"))]
    {
        exp_exact(x)
    }
}

/// e^x to within one unit in the last place: musl's `expf` through the `libm` crate.
#[inline]
pub fn exp_exact(x: f32) -> f32 {
    libm::expf(x)
}

/// [`exp`], inlined where it is called: the sigmoid's (150 calls an inference of the book's
/// network). By default [`expf_inline`], the same bits as [`exp_exact`].
#[inline(always)]
pub(crate) fn exp_inline(x: f32) -> f32 {
    #[cfg(feature = "fast-exp")]
    {
        exp_fast(x)
    }
    #[cfg(not(feature = "fast-exp"))]
    {
        expf_inline(x)
    }
}

/// musl's `expf`, bit for bit, with its main path inline. For `2⁻¹⁴ < |x| < 87.34` (the
/// bits of `|x|` in `(0x39000000, 0x42aeac50)`: every sigmoid input that matters) the path
/// runs here without branches — `k = round(x/ln 2)` (or ±1 near ±ln 2, 0 below ln 2 / 2),
/// `r = x − k·ln2_hi − k·ln2_lo`, the same rational approximation, and `y·2ᵏ` with
/// `k ∈ [−126, 126]`, which is `scalbnf`'s one multiply there — the same operations in the
/// same order, so the same bits (checked on every f32: `cargo test --release -p scratchnet
/// exp_is_libm -- --ignored`); everything else goes to `libm::expf`.
///
/// Measured on the M4F (`cargo xtask demo`): the sigmoids with it inline took the book's
/// network from 38 412 to 37 126 instructions. Not taken: the softmax's ten exponentials
/// inline too (36 939, but the int8 firmware, whose softmax is the same code, went to
/// 65 628 bytes, over 64 KiB), and one out-of-line copy for both (37 963). Cores without an
/// FPU (M0, M3) call `libm::expf` for every input: there this path, computing `x/ln 2` for
/// every input in soft float, measured slower (M3 +5 500, M0 +7 900 instructions).
#[inline(always)]
fn expf_inline(x: f32) -> f32 {
    if cfg!(all(target_arch = "arm", not(target_abi = "eabihf"))) {
        return libm::expf(x);
    }
    const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
    const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
    const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
    const P1: f32 = f32::from_bits(0x3e2a_aa8f);
    const P2: f32 = f32::from_bits(0xbb35_5215);
    let hx = x.to_bits() & 0x7fff_ffff;
    if !(hx > 0x3900_0000 && hx < 0x42ae_ac50) {
        return libm::expf(x);
    }
    let negative = x.to_bits() >> 31 != 0;
    let k = if hx > 0x3f85_1592 {
        (INV_LN2 * x + if negative { -0.5 } else { 0.5 }) as i32
    } else if hx > 0x3eb1_7218 {
        if negative { -1 } else { 1 }
    } else {
        0
    };
    let kf = k as f32;
    let hi = x - kf * LN2_HI;
    let lo = kf * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * P2);
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // 2^k as bits: k is in [−126, 126] on this path, a normal f32.
    y * f32::from_bits(((0x7f + k) as u32) << 23)
}

/// e^x by micromath's bit-manipulation approximation: fast and small, but only accurate to
/// roughly three significant digits.
#[inline]
pub fn exp_fast(x: f32) -> f32 {
    micromath::F32Ext::exp(x)
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

    /// `expf_inline` against `libm::expf`, bit for bit: on a spread of values here, on every
    /// f32 with `--ignored` (about a minute in release).
    fn same_as_libm(bits: impl Iterator<Item = u32>) {
        for b in bits {
            let x = f32::from_bits(b);
            let (got, want) = (expf_inline(x), libm::expf(x));
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "exp({x:e}) = {got:e}, libm {want:e}"
            );
        }
    }

    #[test]
    fn exp_is_libm_on_a_sample() {
        // Every 997th bit pattern, and every pattern near the path's edges.
        let edges = [0x3900_0000u32, 0x3eb1_7218, 0x3f85_1592, 0x42ae_ac50];
        same_as_libm((0..=u32::MAX / 997).map(|k| k * 997));
        for e in edges {
            same_as_libm((e - 64..e + 64).flat_map(|b| [b, b | 0x8000_0000]));
        }
    }

    #[test]
    #[ignore = "every f32: run with --release -- --ignored"]
    fn exp_is_libm() {
        same_as_libm(0..=u32::MAX);
    }

    #[test]
    fn exp_overflows_and_underflows_cleanly() {
        assert_eq!(exp_exact(-200.0), 0.0);
        assert!(exp_exact(200.0).is_infinite());
    }
}
