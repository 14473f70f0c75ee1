//! gemmlowp's fixed-point arithmetic, as TensorFlow Lite's int8 kernels use it
//! (`fixedpoint/fixedpoint.h`): 32-bit values with `31 − b` fractional bits ("Q`b`"),
//! products by the rounding doubling high multiply, and the exponential, reciprocal and
//! logistic built from them, bit for bit. The converter uses them to tabulate int8
//! `LOGISTIC` and `SOFTMAX`; the device uses the reciprocal in `SOFTMAX`.
//!
//! Checked against hand calculations here and, through the operators, against the
//! `tflite-micro` interpreter (`host-tools/tests/tflite.rs`).

use super::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul as mul};

/// `x·2ᵉ`: a saturating left shift for `e > 0`, a rounding right shift for `e < 0`
/// (gemmlowp's `SaturatingRoundingMultiplyByPOT`).
#[inline]
pub fn saturating_rounding_multiply_by_pot(x: i32, e: i32) -> i32 {
    if e > 0 {
        let threshold = (1i32 << (31 - e)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << e
        }
    } else {
        rounding_divide_by_pot(x, -e)
    }
}

/// `(a + b)/2`, rounded half away from zero (gemmlowp's `RoundingHalfSum`).
#[inline]
fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = i64::from(a) + i64::from(b);
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `exp(a)` for Q0 `a ∈ [−1/4, 0)`: a Taylor expansion around −1/8.
fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const EXP_MINUS_ONE_EIGHTH: i32 = 1_895_147_668;
    const ONE_THIRD: i32 = 715_827_883;
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = rounding_divide_by_pot(x4, 2);
    let rest = rounding_divide_by_pot(
        mul(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2),
        1,
    );
    EXP_MINUS_ONE_EIGHTH.wrapping_add(mul(EXP_MINUS_ONE_EIGHTH, x.wrapping_add(rest)))
}

/// `exp(a)` in Q0 for a Q`integer_bits` value `a ≤ 0` (gemmlowp's `exp_on_negative_values`;
/// `exp(0)` is the largest Q0 value, `2³¹ − 1`).
pub fn exp_on_negative_values(a: i32, integer_bits: u32) -> i32 {
    let b = integer_bits as i32;
    let fractional = 31 - b;
    let one_quarter = 1i32 << (fractional - 2);
    let a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, b),
    );
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // exp(−2ᵉ) in Q0, applied for each bit of the remainder.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    for (e, multiplier) in BARREL {
        if b > e && remainder & (1 << (fractional + e)) != 0 {
            result = mul(result, multiplier);
        }
    }
    if b > 5 && a < -(1 << (36 - b)) {
        result = 0;
    }
    if a == 0 { i32::MAX } else { result }
}

/// `1/(1 + a)` in Q0 for Q0 `a ∈ [0, 1)`: three Newton–Raphson steps from 48/17 − 32/17·d
/// (gemmlowp's `one_over_one_plus_x_for_x_in_0_1`).
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    const C48_OVER_17: i32 = 1_515_870_810; // Q2
    const CNEG32_OVER_17: i32 = -1_010_580_540; // Q2
    const ONE_Q2: i32 = 1 << 29;
    let half_denominator = rounding_half_sum(a, i32::MAX);
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(saturating_rounding_multiply_by_pot(mul(x, one_minus), 2));
    }
    saturating_rounding_multiply_by_pot(x, 1)
}

/// `1/(1 + exp(−a))` in Q0 for a Q`integer_bits` value `a` (gemmlowp's `logistic`).
pub fn logistic(a: i32, integer_bits: u32) -> i32 {
    if a == 0 {
        return 1 << 30;
    }
    let abs = if a > 0 { a } else { a.wrapping_neg() };
    let positive =
        one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(abs.wrapping_neg(), integer_bits));
    if a > 0 {
        positive
    } else {
        i32::MAX.wrapping_sub(positive)
    }
}

/// TFLite's `GetReciprocal`: for a positive Q`integer_digits` value `x`, the Q0 value
/// `1/(x·2⁻ⁿ)` and the `n` (bits above one) that scales it back.
pub fn reciprocal(x: i32, integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros();
    let bits_over_unit = integer_digits - headroom_plus_one as i32;
    let shifted_minus_one = (x as u32)
        .checked_shl(headroom_plus_one)
        .unwrap_or(0)
        .wrapping_sub(1 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_minus_one),
        bits_over_unit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q0 and Q`b` from reals, for the tolerances below.
    fn q(v: f64, b: u32) -> i32 {
        (v * f64::from(1u32 << (31 - b))).round() as i32
    }
    fn real(raw: i32, b: u32) -> f64 {
        f64::from(raw) / f64::from(1u32 << (31 - b))
    }

    /// The functions approximate what they name to within a few units of 2⁻³¹ (gemmlowp's
    /// own tests allow similar; exactness against TFLite is tested through the operators).
    #[test]
    fn the_functions_approximate_their_reals() {
        for k in 1..=200 {
            let x = -f64::from(k) / 10.0; // −0.1 … −20
            let e = real(exp_on_negative_values(q(x, 5), 5), 0);
            assert!((e - x.exp()).abs() < 1e-6, "exp({x}) = {e}");
            let s = real(logistic(q(x / 4.0, 4), 4), 0);
            let want = 1.0 / (1.0 + (-x / 4.0).exp());
            assert!((s - want).abs() < 1e-6, "logistic({}) = {s}", x / 4.0);
            let s = real(logistic(q(-x / 4.0, 4), 4), 0);
            assert!((s - (1.0 - want)).abs() < 1e-6);
        }
        assert_eq!(exp_on_negative_values(0, 5), i32::MAX);
        assert_eq!(logistic(0, 4), 1 << 30);
        for k in 0..100 {
            let a = f64::from(k) / 100.0;
            let r = real(one_over_one_plus_x_for_x_in_0_1(q(a, 0)), 0);
            assert!((r - 1.0 / (1.0 + a)).abs() < 1e-8, "1/(1+{a}) = {r}");
        }
        // 3 (Q12) = 1.5·2¹: 1/3 = (1/1.5)·2⁻¹, the Q0 value 2/3 with one bit over unit.
        let (r, n) = reciprocal(3 << 19, 12);
        assert_eq!(n, 1);
        assert!((real(r, 0) - 2.0 / 3.0).abs() < 1e-8);
    }

    #[test]
    fn shifts_saturate_and_round() {
        assert_eq!(saturating_rounding_multiply_by_pot(1 << 29, 2), i32::MAX);
        assert_eq!(
            saturating_rounding_multiply_by_pot(-(1 << 29) - 1, 2),
            i32::MIN
        );
        assert_eq!(saturating_rounding_multiply_by_pot(3, 2), 12);
        assert_eq!(saturating_rounding_multiply_by_pot(6, -2), 2);
        assert_eq!(rounding_half_sum(3, 4), 4);
        assert_eq!(rounding_half_sum(-3, -4), -4);
    }
}
