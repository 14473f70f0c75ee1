//! `e^x` for `x ≤ 0` in integer arithmetic: the softmax's exponential.
//!
//! The softmax's inputs are `aₖ − max a ≤ 0`. There, `e^x = 2^(−z)` with `z = −x·log₂e`
//! split into `n + f` (`n` whole, `0 ≤ f < 1`), and `2^(−f) = 2^(−j/64) · e^(−t)` for the
//! top six bits `j` of `f` and `t = r·ln 2 < 0.011` from the rest `r`: a 64-entry table and
//! three fixed-point multiplies of `1 − t + t²/2 − t³/6`. Every step is a 32-bit integer
//! product (`UMULL` on Thumb-2 cores, four 16-bit `MULS` on Thumb-1 ones), so a core
//! without an FPU pays ~a tenth of `libm::expf` in soft float, and every core gets the
//! same bits.
//!
//! Tolerance: within 0.52 ulp of `e^x` (the f64 exponential, unrounded) on every f32
//! `−104 < x < −2⁻²⁵` (measured 0.517; `libm::expf` is 0.91 there), normal and subnormal
//! results alike: `cargo test --release -p scratchnet exp_nonpositive_on_every_input --
//! --ignored`, 7 s. Outside that range the result is exact (1 or 0), and above 0 it is
//! [`exp_table`](super::exp_table).

/// `log₂e · 2⁶³`, as its high and low words.
const LOG2E_Q63: (u32, u32) = (0xb8aa_3b29, 0x5c17_f0bb);
/// `ln 2 · 2³²`.
const LN2_Q32: u32 = 0xb172_17f8;
/// `2³² / 6`.
const SIXTH_Q32: u32 = 0x2aaa_aaab;

/// `2^(−j/64) · 2³¹`, rounded, for `j` in `0..64` (a `static`: the FPU cores' softmax
/// routine reads it too).
pub(crate) static POW2_Q31: [u32; 64] = [
    0x80000000, 0x7e9f0606, 0x7d41d96e, 0x7be86fba, 0x7a92be8b, 0x7940bb9e, 0x77f25cce, 0x76a7980f,
    0x75606374, 0x741cb528, 0x72dc8374, 0x719fc4b9, 0x70666f76, 0x6f307a41, 0x6dfddbcc, 0x6cce8ae1,
    0x6ba27e65, 0x6a79ad56, 0x69540ec9, 0x683199ed, 0x6712460b, 0x65f60a7f, 0x64dcdec3, 0x63c6ba64,
    0x62b39509, 0x61a3666d, 0x60962665, 0x5f8bccdb, 0x5e8451d0, 0x5d7fad59, 0x5c7dd7a4, 0x5b7ec8f2,
    0x5a82799a, 0x5988e209, 0x5891fac1, 0x579dbc57, 0x56ac1f75, 0x55bd1cdb, 0x54d0ad5a, 0x53e6c9da,
    0x52ff6b55, 0x521a8ad7, 0x51382182, 0x50582888, 0x4f7a9930, 0x4e9f6cd4, 0x4dc69cdd, 0x4cf022ca,
    0x4c1bf829, 0x4b4a169c, 0x4a7a77d4, 0x49ad1598, 0x48e1e9ba, 0x4818ee22, 0x47521cc6, 0x468d6fae,
    0x45cae0f2, 0x450a6abb, 0x444c0740, 0x438fb0cb, 0x42d561b4, 0x421d1462, 0x4166c34c, 0x40b268fa,
];

/// `e^x` for `x ≤ 0`, the softmax's exponential: `2^(−n) · 2^(−j/64) · e^(−t)` in 32-bit
/// integer arithmetic (a table and a cubic), the same bits on every core.
///
/// Within 0.52 ulp of the true `e^x` for every f32 in `−104 < x < −2⁻²⁵` (measured on all
/// of them: 0.517; `libm::expf` 0.91). `x ≥ −2⁻²⁵` (`±0.0` included) gives 1, `x ≤ −104`
/// (and −∞) 0, NaN NaN; above 0 it is [`exp_table(x)`](super::exp_table).
#[inline]
pub fn exp_nonpositive(x: f32) -> f32 {
    let bits = x.to_bits();
    // One comparison for the main path: −104 < x < −2⁻²⁵ (sign set, |x| in between).
    if bits.wrapping_sub(0xb300_0001) >= 0xc2d0_0000 - 0xb300_0001 {
        return outside(x);
    }
    let a = bits & 0x7fff_ffff;
    // |x| = m·2^(e − 150), e in 102..=133.
    let e = a >> 23;
    let m = (a & 0x007f_ffff) | 0x0080_0000;
    // z = |x|·log₂e in Q32: ⌊m·log₂e·2⁶³ / 2³²⌋ shifted right by 149 − e (16..=47).
    let p = mul_wide(m, LOG2E_Q63.0) + u64::from(mul_hi(m, LOG2E_Q63.1));
    let z = p >> (149 - e);
    let (n, f) = ((z >> 32) as u32, z as u32);
    // 2^(−f) = 2^(−j/64)·e^(−t), t = r·ln 2 in Q32 (below 2^25.5).
    let (j, r) = (f >> 26, f & 0x03ff_ffff);
    let t = mul_hi(r, LN2_Q32);
    // e^(−t) ≈ 1 − q, q = t − t·(t·(1/2 − t/6)), in Q32 (the next term, t⁴/24, is below
    // 2⁻³⁰·⁷).
    let u = (1 << 31) - mul_hi(t, SIXTH_Q32);
    let q = t - mul_hi(t, mul_hi(t, u));
    let pow = POW2_Q31[j as usize];
    // 2^(−f) in Q31, in (2²⁹, 2³¹].
    let v = pow - mul_hi(pow, q);
    to_f32(v, n)
}

/// [`exp_nonpositive`] off its main path.
#[cold]
#[inline(never)]
fn outside(x: f32) -> f32 {
    let bits = x.to_bits();
    let a = bits & 0x7fff_ffff;
    if a > 0x7f80_0000 {
        x
    } else if bits >> 31 == 0 && a != 0 {
        // Not the softmax's (its arguments are never positive): the other exponential.
        super::exp_table::exp_table_out_of_line(x)
    } else if a <= 0x3300_0000 {
        // −2⁻²⁵ ≤ x ≤ 0: e^x > 1 − 2⁻²⁵, which rounds to 1.
        1.0
    } else {
        // x ≤ −104 (−∞ included): e^x < 2⁻¹⁵⁰, which rounds to 0.
        0.0
    }
}

/// `v·2⁻³¹·2⁻ⁿ` as the nearest f32 (halves up), for `2²⁹ ≤ v ≤ 2³¹`.
#[inline(always)]
fn to_f32(v: u32, n: u32) -> f32 {
    let lz = v.leading_zeros();
    let v = v << lz;
    // v·2^(−31 − lz − n) with v in [2³¹, 2³²): biased exponent 127 − lz − n.
    let shift = lz + n;
    if shift < 127 {
        let mantissa = (v >> 8) + ((v >> 7) & 1);
        // A mantissa rounded up to 2²⁴ carries into the exponent.
        f32::from_bits(((126 - shift) << 23) + mantissa)
    } else {
        // Subnormal (or 0): units of 2⁻¹⁴⁹.
        let s = shift - 118;
        let mantissa = v.checked_shr(s).unwrap_or(0) + (v.checked_shr(s - 1).unwrap_or(0) & 1);
        f32::from_bits(mantissa)
    }
}

/// `⌊a·b / 2³²⌋`.
#[inline(always)]
fn mul_hi(a: u32, b: u32) -> u32 {
    if cfg!(scratchnet_thumb2) || !cfg!(target_arch = "arm") {
        (mul_wide(a, b) >> 32) as u32
    } else {
        mul_hi_halves(a, b)
    }
}

/// [`mul_hi`] from 16-bit halves, in 32-bit words only (built as a u64 product, LLVM
/// turned it back into one: a library call on Thumb-1).
#[inline(always)]
fn mul_hi_halves(a: u32, b: u32) -> u32 {
    let (a1, a0, b1, b0) = (a >> 16, a & 0xffff, b >> 16, b & 0xffff);
    // `black_box` on one partial product keeps LLVM from seeing the whole pattern.
    let (low, mid1, mid2, high) = (a0 * b0, core::hint::black_box(a0 * b1), a1 * b0, a1 * b1);
    // The middle column: at most 3·(2¹⁶ − 1), no overflow.
    let mid = (low >> 16) + (mid1 & 0xffff) + (mid2 & 0xffff);
    high + (mid1 >> 16) + (mid2 >> 16) + (mid >> 16)
}

/// `a·b`: one `UMULL` on Thumb-2 cores; four 16 × 16-bit multiplies on Thumb-1 ones
/// (ARMv6-M has no 64-bit product), the same value. (The hidden index's `mul_wide` in
/// `requant.rs` is this for a factor below 2²⁴, one carry fewer on its hot path.)
#[inline(always)]
fn mul_wide(a: u32, b: u32) -> u64 {
    if cfg!(scratchnet_thumb2) || !cfg!(target_arch = "arm") {
        u64::from(a) * u64::from(b)
    } else {
        mul_wide_halves(a, b)
    }
}

/// [`mul_wide`] from 16-bit halves.
#[inline(always)]
fn mul_wide_halves(a: u32, b: u32) -> u64 {
    let (a1, a0, b1, b0) = (a >> 16, a & 0xffff, b >> 16, b & 0xffff);
    let (low, mid1, mid2, high) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // The middle column: at most 3·(2¹⁶ − 1), no overflow.
    let mid = (low >> 16) + (mid1 & 0xffff) + (mid2 & 0xffff);
    let hi = high + (mid1 >> 16) + (mid2 >> 16) + (mid >> 16);
    (u64::from(hi) << 32) | u64::from((mid << 16) | (low & 0xffff))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(x: f32) -> f64 {
        super::super::ulps_from_exp(x, exp_nonpositive(x))
    }

    fn worst_on(bits: impl Iterator<Item = u32>) -> (f64, f32) {
        bits.map(|b| f32::from_bits(b | 0x8000_0000))
            .map(|x| (ulps(x), x))
            .fold((0.0, 0.0), |w, c| if c.0 > w.0 { c } else { w })
    }

    /// Test vectors: (x, the bits of e^x rounded to f32), from Python's `decimal` at 50
    /// digits.
    #[test]
    fn vectors() {
        let vectors: [(f32, u32); 8] = [
            (-1.0, 0x3ebc_5ab2),   // 0.367 879 44
            (-0.5, 0x3f1b_4598),   // 0.606 530 66
            (-10.0, 0x383e_6bce),  // 4.539 993e-5
            (-87.0, 0x00b3_3687),  // 1.645 811 4e-38, the smallest normals' binade
            (-100.0, 0x0000_001b), // 3.78e-44: 27 units of 2⁻¹⁴⁹
            (-2.6, 0x3d98_1cc0),   // 0.074 273 585
            (-0.001, 0x3f7f_be7f), // 0.999 000 5
            (-50.0, 0x1b69_2beb),  // 1.928 75e-22
        ];
        for (x, want) in vectors {
            let got = exp_nonpositive(x);
            assert_eq!(
                got.to_bits(),
                want,
                "e^{x} = {got:e}, want {:e}",
                f32::from_bits(want)
            );
        }
    }

    #[test]
    fn edges() {
        assert_eq!(exp_nonpositive(-0.0), 1.0);
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-1e-30), 1.0);
        assert_eq!(exp_nonpositive(f32::from_bits(0x8000_0001)), 1.0);
        assert_eq!(exp_nonpositive(-104.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(f32::NAN).is_nan());
        assert_eq!(exp_nonpositive(2.0), super::super::exp_table(2.0));
        // Just above and below e^x = 2⁻¹⁵⁰ (x = −103.972 08): the smallest subnormal, then 0.
        assert_eq!(exp_nonpositive(-103.97).to_bits(), 1);
        assert_eq!(exp_nonpositive(-103.975).to_bits(), 0);
    }

    #[test]
    fn the_halves_are_the_wide_product() {
        // Thumb-1's products from halves, checked here against u64.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let (a, b) = ((s >> 32) as u32, s as u32);
            assert_eq!(
                mul_wide_halves(a, b),
                u64::from(a) * u64::from(b),
                "{a} × {b}"
            );
            assert_eq!(
                u64::from(mul_hi_halves(a, b)),
                (u64::from(a) * u64::from(b)) >> 32,
                "{a} × {b}"
            );
        }
        for (a, b) in [(u32::MAX, u32::MAX), (0, u32::MAX), (0xffff, 0xffff_0000)] {
            assert_eq!(mul_wide_halves(a, b), u64::from(a) * u64::from(b));
            assert_eq!(
                u64::from(mul_hi_halves(a, b)),
                (u64::from(a) * u64::from(b)) >> 32
            );
        }
    }

    #[test]
    fn the_table_is_two_to_minus_j_over_32() {
        for (j, &t) in POW2_Q31.iter().enumerate() {
            let want = (-(j as f64) / 64.0).exp2() * f64::from(1u32 << 31);
            assert!(
                (f64::from(t) - want).abs() <= 0.5,
                "{j}: {t:#x}, want {want}"
            );
        }
    }

    #[test]
    fn within_its_tolerance_on_a_sample() {
        // Every 61st pattern of x in (−104, −2⁻²⁵), and the subnormal results.
        let (worst, at) = worst_on((0x3300_0001..0x42d0_0000u32).step_by(61));
        assert!(worst <= 0.52, "{worst} ulp at {at:e}");
        let (worst, at) = worst_on(0x42ae_0000..0x42d0_0000);
        assert!(worst <= 0.52, "{worst} ulp at {at:e}");
    }

    #[test]
    #[ignore = "every x ≤ 0 with a result in (0, 1): run with --release -- --ignored"]
    fn exp_nonpositive_on_every_input() {
        let (worst, at) = worst_on(0x3300_0001..0x42d0_0000u32);
        extern crate std;
        std::println!("worst {worst} ulp at {at:e}");
        assert!(worst <= 0.52, "{worst} ulp at {at:e}");
    }
}
