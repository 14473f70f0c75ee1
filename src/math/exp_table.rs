//! `e^x` for any f32 by a 64-entry table and a cubic, in f32 arithmetic: the sigmoid's
//! exponential.
//!
//! `e^x = 2ⁿ · 2^(j/64) · e^r` with `k = 64n + j = round(x·64/ln 2)` and
//! `r = x − k·ln 2/64`, `|r| ≤ ln 2/128 (+ rounding)`: `k` by adding `1.5·2²³` (its bits are
//! then `k`'s), `r` by three products (`ln 2/64` as two 10-bit parts, whose products with
//! any `|k| < 2¹⁴` are exact, and the rest), `e^r − 1 ≈ r + r²·(1/2 + r/6)` (the next term
//! is below `2⁻³⁴`), `2^(j/64)` as the sum of two f32 (`hi + lo`, so the table adds no
//! rounding of its own), `hi + (lo + hi·(e^r − 1))`, and `2ⁿ` added to the exponent field.
//! Eleven f32 operations in a fixed order and no branch on the main path, so every core
//! (FPU or soft float) and the host get the same bits. In the sigmoid's loop on a
//! Cortex-M4F a value costs 33 instructions, the division included (58 with musl's `expf`
//! inline, which has a division of its own); the FPU cores' sigmoid routine
//! (`kernel::sigmoid`) runs the same steps in 29.
//!
//! Tolerance: within 0.52 ulp of `e^x` (the f64 exponential, unrounded) on every f32 with
//! a finite non-zero result, subnormals included (measured 0.5155: `cargo test --release
//! -p scratchnet exp_table_on_every_input -- --ignored`, about 2 minutes); `libm::expf` is
//! within 1 ulp (0.91 measured on `x ≤ 0`).

/// `1.5·2²³`: `v + SHIFTER` for `|v| < 2²²` is a float of exponent 23 whose low mantissa
/// bits are `round(v)` (ties to even), offset by `SHIFTER`'s bits.
const SHIFTER: f32 = 12_582_912.0;
/// `64/ln 2`, rounded.
const INV_STEP: f32 = f32::from_bits(0x42b8_aa3b);
/// `ln 2/64`, its first 10 significant bits: `k·STEP_HI` is exact for `|k| < 2¹⁴`.
const STEP_HI: f32 = f32::from_bits(0x3c31_4000);
/// The next 10 significant bits of `ln 2/64` (`k·STEP_MID` exact too).
const STEP_MID: f32 = f32::from_bits(0x3748_4000);
/// `ln 2/64 − STEP_HI − STEP_MID`, rounded.
const STEP_LO: f32 = f32::from_bits(0x31fe_fa3a);
/// `1/6`, rounded.
const SIXTH: f32 = f32::from_bits(0x3e2a_aaab);

/// The main path's `k`: from `−125·64` (results of at least `2⁻¹²⁶·0.99`, normal) to
/// `128·64 − 1` (at most `2¹²⁷·2^(63.5/64)`, finite).
const K_MIN: i32 = -125 * 64;
/// See [`K_MIN`].
const K_MAX: i32 = 128 * 64 - 1;

/// `2^(j/64)` for `j` in `0..64` as `[hi, lo]`: `hi` rounded to f32, `lo` the rest rounded
/// (from Python's `decimal` at 60 digits; checked against f64 in the tests). A `static`:
/// the FPU cores' sigmoid routine reads the same copy.
pub(crate) static POW2: [[u32; 2]; 64] = [
    [0x3f80_0000, 0x0000_0000],
    [0x3f81_64d2, 0xb1c4_3fd0],
    [0x3f82_cd87, 0xb34e_a7a9],
    [0x3f84_3a29, 0xb2f1_4c87],
    [0x3f85_aac3, 0x334f_9891],
    [0x3f87_1f62, 0xb352_c2e6],
    [0x3f88_980f, 0xb37e_da4b],
    [0x3f8a_14d5, 0x336a_92de],
    [0x3f8b_95c2, 0xb260_aba1],
    [0x3f8d_1adf, 0x3336_fcb7],
    [0x3f8e_a43a, 0xb369_7465],
    [0x3f90_31dc, 0x3306_28cd],
    [0x3f91_c3d3, 0x3367_5624],
    [0x3f93_5a2b, 0x32bc_4f9c],
    [0x3f94_f4f0, 0xb32e_0212],
    [0x3f96_942d, 0x32dc_8061],
    [0x3f98_37f0, 0x3323_1b71],
    [0x3f99_e046, 0xb359_be90],
    [0x3f9b_8d3a, 0xb30c_5563],
    [0x3f9d_3eda, 0xb331_a601],
    [0x3f9e_f532, 0x3341_2342],
    [0x3fa0_b051, 0x31fb_9715],
    [0x3fa2_7043, 0x30c3_125a],
    [0x3fa4_3516, 0xb323_ec33],
    [0x3fa5_fed7, 0xb32c_9d5e],
    [0x3fa7_cd94, 0xb316_2d36],
    [0x3fa9_a15b, 0xb316_2b08],
    [0x3fab_7a3a, 0xb314_ad82],
    [0x3fad_583f, 0xb22d_eaf6],
    [0x3faf_3b79, 0xb325_2deb],
    [0x3fb1_23f6, 0xb37c_5aa8],
    [0x3fb3_11c4, 0x3215_4889],
    [0x3fb5_04f3, 0x32cf_e77a],
    [0x3fb6_fd92, 0xb266_b974],
    [0x3fb8_fbaf, 0x330e_c5f7],
    [0x3fba_ff5b, 0xb31b_d983],
    [0x3fbd_08a4, 0xb341_4fe8],
    [0x3fbf_179a, 0xb313_0b1a],
    [0x3fc1_2c4d, 0xb2d6_663e],
    [0x3fc3_46cd, 0xb297_6da2],
    [0x3fc5_672a, 0x320a_a837],
    [0x3fc7_8d75, 0xb2dd_5119],
    [0x3fc9_b9be, 0xb373_23a2],
    [0x3fcb_ec15, 0xb006_c6c2],
    [0x3fce_248c, 0x3228_fc24],
    [0x3fd0_6334, 0xb294_4353],
    [0x3fd2_a81e, 0xb35c_1daa],
    [0x3fd4_f35b, 0xb328_6024],
    [0x3fd7_44fd, 0xb2d4_a58a],
    [0x3fd9_9d16, 0xb2f6_1d41],
    [0x3fdb_fbb8, 0xb350_4a1c],
    [0x3fde_60f5, 0xb37b_43e3],
    [0x3fe0_ccdf, 0xb21e_ab59],
    [0x3fe3_3f89, 0x3365_7d15],
    [0x3fe5_b907, 0xb244_1be6],
    [0x3fe8_396a, 0x3320_7898],
    [0x3fea_c0c7, 0xb241_16de],
    [0x3fed_4f30, 0x3276_cca1],
    [0x3fef_e4ba, 0xb348_464a],
    [0x3ff2_8177, 0x32f1_67ff],
    [0x3ff5_257d, 0x3229_2436],
    [0x3ff7_d0df, 0x3366_15a2],
    [0x3ffa_83b3, 0xb292_3758],
    [0x3ffd_3e0c, 0x31cf_486c],
];

/// What the FPU cores' sigmoid routine (`kernel::sigmoid`) reads, in this order: `−64/ln 2`
/// (its argument is `−x`), the shifter and its negation, `ln 2/64`'s three parts, `1/6`,
/// `1/2` and `1`.
#[cfg(all(target_arch = "arm", target_abi = "eabihf", not(feature = "fast-exp")))]
pub(crate) static SIGMOID_CONSTANTS: [f32; 9] = [
    -INV_STEP, SHIFTER, -SHIFTER, STEP_HI, STEP_MID, STEP_LO, SIXTH, 0.5, 1.0,
];

// The routine's range check is written for this range: `k − 8192` in `−16192..=−1`.
const _: () = assert!(K_MAX + 1 == 8192 && K_MAX - K_MIN + 1 == 16192);
const _: () = assert!(SHIFTER.to_bits() == 0x4b40_0000);

/// `e^x` for every f32: `2ⁿ·2^(j/64)·e^r` in f32 arithmetic (a 64-entry table and a cubic),
/// the same bits on every core and on the host.
///
/// Within 0.52 ulp of the true `e^x` wherever the result is a finite non-zero f32, the
/// subnormals included (measured on every input; `libm::expf`: under 1). `x < −103.98`
/// (−∞ included) gives 0 as `e^x` rounds there, `x > 88.73` (+∞ included) +∞, NaN NaN.
#[inline(always)]
pub fn exp_table(x: f32) -> f32 {
    let (k, hi, tail) = steps(x);
    // One comparison: k in K_MIN..=K_MAX. NaN, ±∞ and |x·64/ln 2| ≥ 2²² land outside too
    // (their sums' bits are far from SHIFTER's).
    if k.wrapping_sub(K_MIN) as u32 > (K_MAX - K_MIN) as u32 {
        return exp_table_out_of_line(x);
    }
    // y·2ⁿ, n = ⌊k/64⌋: y is in [0.99, 2) and the result normal, so n adds to the exponent.
    f32::from_bits((hi + tail).to_bits().wrapping_add(((k >> 6) as u32) << 23))
}

/// [`exp_table`], out of line: where its main path does not apply (results that overflow,
/// or are below `2⁻¹²⁶·0.99`: subnormal or 0; NaN), and for
/// [`exp_nonpositive`](super::exp_nonpositive)'s positive arguments. One copy of the steps
/// for both, away from the hot loops.
#[cold]
#[inline(never)]
pub(crate) fn exp_table_out_of_line(x: f32) -> f32 {
    let (k, hi, tail) = steps(x);
    let n = k >> 6;
    if k.wrapping_sub(K_MIN) as u32 <= (K_MAX - K_MIN) as u32 {
        f32::from_bits((hi + tail).to_bits().wrapping_add((n as u32) << 23))
    } else if x > 88.73 {
        // e^x > 2¹²⁸ (+∞ included).
        f32::INFINITY
    } else if x.is_nan() {
        x
    } else if x > 0.0 {
        // n = 128: y·2¹²⁸ as (y·2¹²⁷)·2, rounded once (to +∞ past the largest f32).
        ((hi + tail) * f32::from_bits(((126 + n) as u32) << 23)) * 2.0
    } else if x < -104.0 {
        // e^x < 2⁻¹⁵⁰ (−∞ included): rounds to 0.
        0.0
    } else {
        // −104 ≤ x < −86.6, n in −151..=−126: y as v·2⁻³⁰ (hi's 24 bits exact, the tail
        // truncated below 2⁻³⁰; 2²⁹ < v < 2³¹), then y·2ⁿ = v·2⁻ˢ units of 2⁻¹⁴⁹,
        // s = −119 − n in 7..=32, rounded once (halves up) — as an f32 sum, y would be
        // rounded twice. The bits of m units of 2⁻¹⁴⁹ are m itself, subnormal or (m ≥ 2²³)
        // the smallest normals' binade.
        let v = ((hi.to_bits() & 0x007f_ffff) | 0x0080_0000) << 7;
        let v = v.wrapping_add((tail * 1_073_741_824.0) as i32 as u32);
        let s = (-119 - n) as u32;
        let m = v.checked_shr(s).unwrap_or(0) + (v.checked_shr(s - 1).unwrap_or(0) & 1);
        f32::from_bits(m)
    }
}

/// [`exp_table`] on every lane of `x`, the same bits, written for a vector unit (the
/// host's evaluators compile it for AVX2): the main path on all lanes without branches,
/// then, if any lane is off it, that lane again by [`exp_table`].
#[doc(hidden)]
#[inline(always)]
pub fn exp_table_lanes<const N: usize>(x: &mut [f32; N]) {
    let mut y = [0.0f32; N];
    let mut off = 0u32;
    for (y, &v) in y.iter_mut().zip(x.iter()) {
        let (k, hi, tail) = steps(v);
        off |= u32::from(k.wrapping_sub(K_MIN) as u32 > (K_MAX - K_MIN) as u32);
        *y = f32::from_bits((hi + tail).to_bits().wrapping_add(((k >> 6) as u32) << 23));
    }
    if off == 0 {
        *x = y;
    } else {
        for v in x.iter_mut() {
            *v = exp_table(*v);
        }
    }
}

/// `k = round(x·64/ln 2)` and `2^(j/64)·e^r` (`j = k mod 64`, `r = x − k·ln 2/64`) as two
/// terms: the table's high part `hi` and `tail = lo + hi·(e^r − 1)`; `y = hi + tail`.
#[inline(always)]
fn steps(x: f32) -> (i32, f32, f32) {
    let t = x * INV_STEP + SHIFTER;
    let k = t.to_bits().wrapping_sub(SHIFTER.to_bits()) as i32;
    let kf = t - SHIFTER;
    let r = ((x - kf * STEP_HI) - kf * STEP_MID) - kf * STEP_LO;
    let p = r + (r * r) * (0.5 + r * SIXTH);
    let [hi, lo] = POW2[(k & 63) as usize].map(f32::from_bits);
    (k, hi, lo + hi * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(x: f32) -> f64 {
        super::super::ulps_from_exp(x, exp_table(x))
    }

    /// The worst distance over the finite non-zero results among `bits` (both signs).
    fn worst_on(bits: impl Iterator<Item = u32>) -> (f64, f32) {
        bits.flat_map(|b| [b, b | 0x8000_0000])
            .map(f32::from_bits)
            .filter(|&x| {
                let e = f64::from(x).exp() as f32;
                e.is_finite() && e != 0.0
            })
            .map(|x| (ulps(x), x))
            .fold((0.0, 0.0), |w, c| if c.0 > w.0 { c } else { w })
    }

    /// Test vectors: (x, the bits of e^x rounded to f32), from Python's `decimal` at 50
    /// digits.
    #[test]
    fn vectors() {
        let vectors: [(f32, u32); 10] = [
            (-1.0, 0x3ebc_5ab2),   // 0.367 879 44
            (1.0, 0x402d_f854),    // 2.718 281 8
            (-0.5, 0x3f1b_4598),   // 0.606 530 66
            (2.5, 0x4142_eb7f),    // 12.182 494
            (-10.0, 0x383e_6bce),  // 4.539 993e-5
            (10.0, 0x46ac_14ee),   // 22 026.465
            (-87.0, 0x00b3_3687),  // 1.645 811 4e-38, the smallest normals' binade
            (-100.0, 0x0000_001b), // 3.78e-44: 27 units of 2⁻¹⁴⁹
            (88.0, 0x7ef8_82b7),   // 1.651 636 3e38
            (-0.001, 0x3f7f_be7f), // 0.999 000 5
        ];
        for (x, want) in vectors {
            let got = exp_table(x);
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
        assert_eq!(exp_table(0.0), 1.0);
        assert_eq!(exp_table(-0.0), 1.0);
        assert_eq!(exp_table(f32::from_bits(1)), 1.0);
        assert_eq!(exp_table(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_table(-200.0), 0.0);
        assert_eq!(exp_table(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_table(200.0), f32::INFINITY);
        assert!(exp_table(f32::NAN).is_nan());
        assert!(exp_table(-f32::NAN).is_nan());
        // Around e^x = 2⁻¹⁵⁰ (x = −103.972 08): the smallest subnormal, then 0; around the
        // largest finite f32 (e^x = 2¹²⁸·(1 − 2⁻²⁵) at x = 88.722 84): finite, then +∞.
        assert_eq!(exp_table(-103.97).to_bits(), 1);
        assert_eq!(exp_table(-103.975).to_bits(), 0);
        assert_eq!(exp_table(88.7228).to_bits(), 0x7f7f_fd84); // 3.402 694 7e38
        assert_eq!(exp_table(88.7229), f32::INFINITY);
    }

    #[test]
    fn the_table_is_two_to_the_j_over_64() {
        for (j, pair) in POW2.iter().enumerate() {
            let [hi, lo] = pair.map(f32::from_bits);
            let want = (j as f64 / 64.0).exp2();
            assert_eq!(hi, want as f32, "{j}: hi");
            // hi + lo is 2^(j/64) to within half an ulp of lo (and f64's rounding).
            let tolerance = f64::from(lo.abs()) * 2f64.powi(-24) + want * 2f64.powi(-52);
            assert!(
                (f64::from(hi) + f64::from(lo) - want).abs() <= tolerance,
                "{j}: lo"
            );
        }
    }

    #[test]
    fn within_its_tolerance_on_a_sample() {
        // Every 61st pattern, and every input near the main path's ends (k = K_MIN, K_MAX).
        let (worst, at) = worst_on((0..0x7f80_0000u32).step_by(61));
        assert!(worst <= 0.52, "{worst} ulp at {at:e}");
        let (worst, at) = worst_on(0x42ad_0000..0x42d0_0000);
        assert!(worst <= 0.52, "{worst} ulp at {at:e}");
    }

    #[test]
    #[ignore = "every f32: run with --release -- --ignored"]
    fn exp_table_on_every_input() {
        let (worst, at) = worst_on(0..0x7f80_0000u32);
        extern crate std;
        std::println!("exp_table: worst {worst:.4} ulp at {at:e}");
        assert!(worst <= 0.52, "{worst} ulp at {at:e}");
    }
}
