//! Beyond the book: TensorFlow Lite's int8 fully connected layer, computed as TensorFlow Lite
//! Micro's reference kernel does, so that the outputs are TFLM's byte for byte.
//!
//! TFLite stores a real value `r` as an int8 `q` with a scale `S` and a zero point `Z`:
//! `r = S·(q − Z)`. Weights are symmetric (`Z = 0`), one scale per tensor or per output
//! channel; biases are int32 with scale `S_in·S_w`. A `FULLY_CONNECTED` layer computes, for
//! each output `j`, in exact 32-bit integer arithmetic:
//!
//! ```text
//! acc[j] = Σᵢ q[j][i]·(x[i] − Z_in) + b[j]
//! y[j]   = clamp(MBQM(acc[j], M[j], n[j]) + Z_out, lo, hi)
//! ```
//!
//! where `M[j]·2ⁿ⁽ʲ⁾⁻³¹ ≈ S_in·S_w[j]/S_out` ([`quantize_multiplier`]), `MBQM` is TFLite's
//! `MultiplyByQuantizedMultiplier` with its two roundings ([`multiply_by_quantized_multiplier`],
//! TFLM's default build) and `[lo, hi]` is the fused activation (ReLU: `lo = Z_out`; ReLU6:
//! also `hi = Z_out + round(6/S_out)`; none: `[−128, 127]`).
//!
//! The blob stores `b'[j] = b[j] − Z_in·Σᵢ q[j][i]`, so the kernel sums `q·x` directly: the
//! same integer kernel as the book's int8 path (`SMLAD` on Cortex-M4/M7/M33, plain Rust
//! elsewhere), on signed inputs.
//!
//! ```
//! use scratchnet::tflite::{multiply_by_quantized_multiplier as mbqm, quantize_multiplier};
//! // 0.5 is 2³⁰·2⁰⁻³¹: M = 2³⁰, n = 0.
//! assert_eq!(quantize_multiplier(0.5), Some((1 << 30, 0)));
//! // 7 · 0.5 = 3.5 and −3.5 round halves upward.
//! assert_eq!(mbqm(7, 1 << 30, 0), 4);
//! assert_eq!(mbqm(-7, 1 << 30, 0), -3);
//! ```

use crate::activation::Activation;
use crate::blob::{Layers, Model, ModelLayer};
use crate::chain::{FromLayers, Layer, next_layer};
use crate::error::{Error, Result};
use crate::kernel::int8 as kernel;
use crate::network::Network;
use core::mem::MaybeUninit;

pub mod gemmlowp;

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `a·b / 2³¹` rounded to nearest, halves
/// upward (1.5 → 2, −1.5 → −1: a nudge of ±2³⁰, then C's truncating division), saturating
/// the one overflowing case (`a = b = −2³¹`).
#[inline(always)]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // gemmlowp: (ab + nudge) / 2³¹ with C's truncating division, the nudge 2³⁰ for ab ≥ 0
    // and 1 − 2³⁰ otherwise. Both cases are ⌊(ab + 2³⁰)/2³¹⌋ (for ab = −n < 0:
    // −⌊(n − 1 + 2³⁰)/2³¹⌋ = ⌊(2³⁰ − n)/2³¹⌋), an add and an arithmetic shift.
    ((i64::from(a) * i64::from(b) + (1 << 30)) >> 31) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2ᵉ` rounded to nearest, halves away from zero,
/// for `0 ≤ e ≤ 31` (`e` is clamped to that range).
#[inline(always)]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let e = exponent.clamp(0, 31) as u32;
    let mask = ((1i64 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> e) + i32::from(remainder > threshold)
}

/// TFLite's `MultiplyByQuantizedMultiplier` (double rounding, TFLM's default):
/// `x·M·2ⁿ⁻³¹`, with a left shift first for `n > 0` (wrapping, as the hardware does), the
/// rounding high multiply, then a rounding right shift for `n < 0`.
#[inline(always)]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = shift.clamp(0, 30) as u32;
    let right = (-shift).max(0);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier),
        right,
    )
}

/// [`multiply_by_quantized_multiplier`] for what a blob's check lets through, `M ≥ 0` and
/// `−31 ≤ n ≤ 30`: the same value without the clamps of `n` and the saturation case
/// (`a = b = −2³¹`, which needs `M = −2³¹`).
#[inline(always)]
// (On Thumb-2 cores the layers use `kernel::requant_s8`'s routine; the tests use this.)
#[cfg_attr(all(target_arch = "arm", scratchnet_thumb2), allow(dead_code))]
fn mbqm_checked(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = shift.max(0) as u32;
    // (Clamped all the same: one `USAT`, and no shift past 31 whatever the input.)
    let right = (-shift).clamp(0, 31) as u32;
    // ⌊(x·2ˡ·M + 2³⁰)/2³¹⌋, as in `saturating_rounding_doubling_high_mul`; below 2³¹ in
    // magnitude for M < 2³¹.
    let high = ((i64::from(x.wrapping_shl(left)) * i64::from(multiplier) + (1 << 30)) >> 31) as i32;
    // `rounding_divide_by_pot(high, right)` for right ≤ 31.
    let mask = (1u32 << right).wrapping_sub(1);
    let remainder = high as u32 & mask;
    let threshold = (mask >> 1) + u32::from(high < 0);
    (high >> right) + i32::from(remainder > threshold)
}

/// TFLite's `QuantizeMultiplier`: the `(M, n)` with `M·2ⁿ⁻³¹ ≈ real`, `2³⁰ ≤ M < 2³¹`
/// (`M = round(f·2³¹)` for `real = f·2ⁿ`, `0.5 ≤ f < 1`, halves away from zero); `(0, 0)`
/// for zero and for values below about 2⁻³², as TFLite flushes them. `None` for a negative
/// or non-finite `real`, and for one so large that `n > 30`.
pub fn quantize_multiplier(real: f64) -> Option<(i32, i32)> {
    if !real.is_finite() || real < 0.0 {
        return None;
    }
    if real == 0.0 {
        return Some((0, 0));
    }
    let (f, mut shift) = libm::frexp(real);
    let mut q = libm::round(f * (1i64 << 31) as f64) as i64;
    if q == 1 << 31 {
        q /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Some((0, 0));
    }
    if shift > 30 {
        return None;
    }
    Some((q as i32, shift))
}

/// TFLite Micro's int8 `LOGISTIC` as a table: for each int8 input `x` from −128 up, with the
/// input tensor's `scale` and `zero_point` (the output's are 1/256 and −128), the output of
/// `reference_integer_ops::Logistic`: inputs scaled to Q4 by `scale·2²⁷` (a multiplier
/// and left shift, not corrected when the mantissa rounds to 2³¹, as TFLM's `Prepare`),
/// gemmlowp's fixed-point logistic, rounded to 8 bits; saturated outside the input radius.
/// `None` when TFLM could not prepare it (a scale below 2⁻²⁸, or not finite and positive).
pub fn logistic_table(scale: f32, zero_point: i32) -> Option<[i8; 256]> {
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let real = f64::from(scale) * f64::from(1u32 << 27);
    let (q, shift) = libm::frexp(real);
    if !(0..=31).contains(&shift) {
        return None;
    }
    let multiplier = libm::round(q * (1i64 << 31) as f64) as i64 as i32;
    // CalculateInputRadius(4, shift, 31).
    let radius = libm::floor(15.0 * f64::from(1u32 << 27) / (1i64 << shift) as f64) as i32;
    let mut table = [0i8; 256];
    for (k, t) in table.iter_mut().enumerate() {
        let input = k as i32 - 128 - zero_point;
        *t = if input <= -radius {
            -128
        } else if input >= radius {
            127
        } else {
            let q4 = multiply_by_quantized_multiplier(input, multiplier, shift);
            let q0 = gemmlowp::logistic(q4, 4);
            (rounding_divide_by_pot(q0, 23) - 128).clamp(-128, 127) as i8
        };
    }
    Some(table)
}

/// TFLite Micro's int8 `SOFTMAX` exponentials: for `d = max − x` from 0 to 255, with the
/// input tensor's `scale` and the operator's `beta`, `exp_on_negative_values` (Q5 in, Q0
/// out) of `−d` scaled by `β·scale·2²⁶` (`PreprocessSoftmaxScaling`), or 0 where `−d` is
/// below TFLM's `diff_min` (the term is skipped: it adds nothing and outputs −128).
/// `None` when TFLM could not prepare it (`β·scale·2²⁶ ≤ 1`).
pub fn softmax_exps(scale: f32, beta: f32) -> Option<[i32; 256]> {
    let real =
        (f64::from(beta) * f64::from(scale) * f64::from(1u32 << 26)).min(f64::from(i32::MAX));
    if real.is_nan() || real <= 1.0 {
        return None;
    }
    let (multiplier, shift) = quantize_multiplier(real)?;
    if shift < 0 {
        return None;
    }
    // −CalculateInputRadius(5, shift, 31).
    let diff_min = -(libm::floor(31.0 * f64::from(1u32 << 26) / (1i64 << shift) as f64) as i32);
    let mut exps = [0i32; 256];
    for (d, e) in exps.iter_mut().enumerate() {
        let diff = -(d as i32);
        if diff >= diff_min {
            let rescaled =
                saturating_rounding_doubling_high_mul(diff.wrapping_mul(1 << shift), multiplier);
            *e = gemmlowp::exp_on_negative_values(rescaled, 5);
        }
    }
    Some(exps)
}

/// TFLite Micro's int8 `SOFTMAX` on `y` in place (output scale 1/256, zero point −128),
/// from the tabulated exponentials ([`softmax_exps`]).
fn softmax_i8(y: &mut [i8], exps: &[i32]) {
    let exp = |d: usize| exps.get(d).copied().unwrap_or(0);
    let max = y.iter().copied().max().unwrap_or(0);
    let mut sum = 0i32;
    for &v in y.iter() {
        // Q0 → Q12 (gemmlowp's Rescale<12>), summed in Q12.
        sum = sum.wrapping_add(rounding_divide_by_pot(
            exp((max as i32 - v as i32) as usize),
            12,
        ));
    }
    let (scale, bits_over_unit) = gemmlowp::reciprocal(sum, 12);
    let exponent = bits_over_unit + 31 - 8;
    for v in y.iter_mut() {
        let e = exp((max as i32 - *v as i32) as usize);
        let out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scale, e), exponent);
        *v = (out - 128).clamp(-128, 127) as i8;
    }
}

/// One TFLite int8 layer's parameters, read in place, without its shape in the type: every
/// shape shares one copy of the code.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Raw<'a> {
    rows: &'a [u8],
    stride: usize,
    /// Whether `rows` holds blocks of halfwords (`ElementType::TfliteI8Wide`; `stride` a
    /// block's bytes), not output-major rows.
    #[cfg(feature = "wide")]
    wide: bool,
    biases: &'a [i32],
    multipliers: &'a [i32],
    shifts: &'a [i32],
    output_zero_point: i32,
    lo: i8,
    hi: i8,
    activation: Table<'a>,
}

/// A layer's int8 activation after its clamp.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Table<'a> {
    None,
    /// `LOGISTIC`: the output for each int8 input from −128 up.
    Logistic(&'a [i8]),
    /// `SOFTMAX`: the exponentials for `max − x` = 0 to 255.
    Softmax(&'a [i32]),
}

impl<'a> Raw<'a> {
    /// The TFLite int8 layer `layer` (the blob's layer `index`):
    /// [`Error::UnsupportedElement`] unless TFLite int8, [`Error::BadSpan`] unless its i32
    /// arrays are 4-byte aligned.
    #[inline(always)]
    fn of(layer: &ModelLayer<'a>, index: usize) -> Result<Self> {
        let t = layer
            .tflite()
            .ok_or(Error::UnsupportedElement { layer: index })?;
        let outputs = layer.shape().outputs as usize;
        let aligned = |a: crate::I32s<'a>| a.as_i32().ok_or(Error::BadSpan { layer: index });
        let (biases, multipliers, shifts) = (
            aligned(t.biases)?,
            aligned(t.multipliers)?,
            aligned(t.shifts)?,
        );
        let inputs = layer.shape().inputs as usize;
        let fits = match t.layout {
            #[cfg(feature = "wide")]
            crate::I8Layout::Wide => {
                t.stride == 32 * inputs.div_ceil(4)
                    && t.rows.len() == t.stride * outputs.div_ceil(4)
            }
            _ => t.rows.len() == t.stride * outputs && t.stride >= inputs,
        };
        if !fits || [biases.len(), multipliers.len(), shifts.len()] != [outputs; 3] {
            return Err(Error::BadLength { layer: index });
        }
        let (lo, hi) = t.clamp();
        let activation = match layer.activation() {
            Activation::Sigmoid => {
                Table::Logistic(t.sigmoid_table().ok_or(Error::BadLength { layer: index })?)
            }
            Activation::Softmax => Table::Softmax(
                t.softmax_exps()
                    .and_then(|e| e.as_i32())
                    .ok_or(Error::BadSpan { layer: index })?,
            ),
            _ => Table::None,
        };
        Ok(Self {
            rows: bytemuck::cast_slice(t.rows),
            stride: t.stride,
            #[cfg(feature = "wide")]
            wide: t.layout == crate::I8Layout::Wide,
            biases,
            multipliers,
            shifts,
            output_zero_point: t.output_zero_point(),
            lo,
            hi,
            activation,
        })
    }

    /// `y[j] = clamp(MBQM(Σᵢ q[j][i]·x[i] + b'[j], M[j], n[j]) + Z_out, lo, hi)`.
    #[inline(never)]
    fn forward(&self, x: &[i8], y: &mut [i8]) {
        let (z, lo, hi) = (
            self.output_zero_point,
            i32::from(self.lo),
            i32::from(self.hi),
        );
        let count = y
            .len()
            .min(self.biases.len())
            .min(self.multipliers.len())
            .min(self.shifts.len());
        let x: &[u8] = bytemuck::cast_slice(x);
        let mut j = 0;
        let finish = |sums: &[i32]| {
            // The next outputs' parameters as slices of one length, taken here (the
            // kernel may call this out of line: iterators kept across the calls were
            // loaded and stored at every output, ~4 instructions each).
            let n = sums.len();
            let (Some(b), Some(m), Some(sh), Some(y)) = (
                self.biases.get(j..j + n),
                self.multipliers.get(j..j + n),
                self.shifts.get(j..j + n),
                y.get_mut(j..j + n),
            ) else {
                return;
            };
            j += n;
            // On Thumb-2 cores by the kernel's routine (`kernel::requant_s8`: the same
            // arithmetic, 31 instructions an output against 43).
            #[cfg(all(target_arch = "arm", scratchnet_thumb2))]
            crate::kernel::requant_s8::requantize(sums, b, m, sh, y, z, (lo, hi));
            #[cfg(not(all(target_arch = "arm", scratchnet_thumb2)))]
            for ((((&sum, &b), &m), &n), y) in sums.iter().zip(b).zip(m).zip(sh).zip(y) {
                let acc = sum.wrapping_add(b);
                let v = mbqm_checked(acc, m, n).wrapping_add(z);
                // `lo ≤ hi` (checked when loading), so this is the clamp without its assertion.
                *y = v.max(lo).min(hi) as i8;
            }
        };
        // Halfword layers by their kernel (the requantization through a pointer on DSP
        // cores, as the rows kernel calls it there).
        #[cfg(feature = "wide")]
        if self.wide {
            #[cfg(all(feature = "dsp", target_arch = "arm"))]
            let finish: &mut dyn FnMut(&[i32]) = &mut { finish };
            crate::kernel::wide::matvec::<true>(self.rows, self.stride, x, count, finish);
            self.activate(y);
            return;
        }
        kernel::matvec::<true>(self.rows, self.stride, false, x, count, finish);
        self.activate(y);
    }

    /// The layer's int8 activation after its clamp, on `y` in place.
    #[inline(always)]
    fn activate(&self, y: &mut [i8]) {
        match self.activation {
            Table::Logistic(table) => {
                for v in y.iter_mut() {
                    *v = table.get((*v as i32 + 128) as usize).copied().unwrap_or(*v);
                }
            }
            Table::Softmax(exps) => softmax_i8(y, exps),
            Table::None => {}
        }
    }
}

/// A TFLite int8 fully connected layer with `IN` inputs and `OUT` outputs, borrowed from a
/// blob (`scratchnet convert model.tflite`): int8 in, int8 out, as TFLite Micro computes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TDense<'a, const IN: usize, const OUT: usize> {
    raw: Raw<'a>,
}

impl<'a, const IN: usize, const OUT: usize> TDense<'a, IN, OUT> {
    /// A typed view of a TFLite int8 blob layer: [`Error::ShapeMismatch`] unless `IN × OUT`,
    /// [`Error::UnsupportedElement`] unless TFLite int8, [`Error::BadSpan`] unless the blob
    /// lies at a 4-byte-aligned address.
    pub fn from_layer(layer: &ModelLayer<'a>, index: usize) -> Result<Self> {
        crate::chain::check_shape(layer, index, IN, OUT)?;
        Raw::of(layer, index).map(|raw| Self { raw })
    }

    /// The layer's int8 outputs for int8 inputs `x`.
    pub fn forward_i8(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        self.raw.forward(x, y);
    }
}

impl<const IN: usize, const OUT: usize> Layer<[i8; IN]> for TDense<'_, IN, OUT> {
    type Output = [i8; OUT];
    /// The int8 outputs (TFLite's layer ends with its clamp, and its int8 `LOGISTIC` or
    /// `SOFTMAX` if it has one).
    type Logits = [i8; OUT];

    #[inline(always)]
    fn forward<'y>(&self, x: &[i8; IN], y: &'y mut MaybeUninit<[i8; OUT]>) -> &'y mut [i8; OUT] {
        let y = y.write([0; OUT]);
        self.forward_i8(x, y);
        y
    }

    #[inline(always)]
    fn logits<'y>(&self, x: &[i8; IN], y: &'y mut MaybeUninit<[i8; OUT]>) -> &'y mut [i8; OUT] {
        self.forward(x, y)
    }

    fn output_activation(&self) -> Activation {
        match self.raw.activation {
            Table::None => Activation::Identity,
            Table::Logistic(_) => Activation::Sigmoid,
            Table::Softmax(_) => Activation::Softmax,
        }
    }
}

impl<'a, const IN: usize, const OUT: usize> FromLayers<'a> for TDense<'a, IN, OUT> {
    const LAYERS: usize = 1;

    fn take(layers: &mut Layers<'a>, first: usize) -> Result<Self> {
        Self::from_layer(&next_layer(layers, first)?, first)
    }
}

impl<L> Network<L> {
    /// A TFLite int8 network's int8 outputs for int8 inputs `x` (the same as
    /// [`logits`](Self::logits): TFLite's layers end with their clamps).
    pub fn run_i8<const I: usize, const O: usize>(&self, x: &[i8; I]) -> [i8; O]
    where
        L: Layer<[i8; I], Logits = [i8; O]>,
    {
        self.logits(x)
    }
}

/// Inference on a TFLite int8 model whose shape is known only at run time.
impl Model<'_> {
    /// Runs a TFLite int8 model on int8 inputs `x`, writing its int8 outputs into `out`,
    /// with the kernel of [`TDense`] (the same bytes). `scratch` holds the hidden layers'
    /// outputs: [`scratch_len`](Self::scratch_len) bytes.
    ///
    /// [`Error::LengthMismatch`] for `x` or `out` of the wrong length,
    /// [`Error::BufferTooSmall`] for a short `scratch`, [`Error::UnsupportedElement`] for a
    /// layer that is not TFLite int8, [`Error::BadSpan`] for a blob that is not 4-byte
    /// aligned; nothing is computed then.
    pub fn run_i8(&self, x: &[i8], scratch: &mut [i8], out: &mut [i8]) -> Result<()> {
        let needed = self.check_lengths(x.len(), out.len(), scratch.len())?;
        for (index, layer) in self.layers().enumerate() {
            Raw::of(&layer, index)?;
        }
        let last = self.layer_count() - 1;
        let hidden = self.layers().take(last).map(|l| l.shape().outputs as usize);
        let mut raws = self
            .layers()
            .enumerate()
            .filter_map(|(k, l)| Raw::of(&l, k).ok());
        crate::chain::ping_pong(x, &mut scratch[..needed], hidden, |_, src, dst| {
            if let Some(raw) = raws.next() {
                raw.forward(src, dst.unwrap_or(&mut *out));
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The i32 edge values both multiply tests try: the ends, ±2³⁰, and small values.
    const EDGES: [i32; 10] = [
        i32::MIN,
        i32::MIN + 1,
        -(1 << 30),
        -3,
        -1,
        0,
        1,
        3,
        1 << 30,
        i32::MAX,
    ];

    /// gemmlowp's functions worked by hand.
    #[test]
    fn the_fixed_point_helpers_round_as_gemmlowp() {
        // 2³⁰·2³⁰/2³¹ = 2²⁹.
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // 3·2³⁰/2³¹ = 1.5 → 2; −1.5 → (−3·2³⁰ + 1 − 2³⁰)/2³¹ = −1.99… → −1 (truncated).
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // −1.6 → −2.
        assert_eq!(saturating_rounding_doubling_high_mul(-16, 214_748_365), -2);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // 5/4 = 1.25 → 1, 6/4 = 1.5 → 2, −6/4 → −2, −5/4 → −1.
        assert_eq!(rounding_divide_by_pot(5, 2), 1);
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(-5, 2), -1);
        assert_eq!(rounding_divide_by_pot(-7, 0), -7);
        // Double rounding: 5·2⁻³ = 0.625 through M = 2³⁰ (0.5), n = −2: 5·0.5 = 2.5 → 3, then
        // 3/4 = 0.75 → 1 (one rounding of 0.625 gives 1 too); 3·0.5 = 1.5 → 2, 2/4 → 1
        // where one rounding of 0.375 gives 0: TFLM's default rounds twice.
        assert_eq!(multiply_by_quantized_multiplier(5, 1 << 30, -2), 1);
        assert_eq!(multiply_by_quantized_multiplier(3, 1 << 30, -2), 1);
        // A left shift: 3·2·0.5 = 3.
        assert_eq!(multiply_by_quantized_multiplier(3, 1 << 30, 1), 3);
    }

    /// The shift form equals gemmlowp's literal code (nudge, then C's truncating division)
    /// on edge values and two million pseudo-random pairs.
    #[test]
    fn the_high_multiply_is_gemmlowps_literally() {
        fn gemmlowp(a: i32, b: i32) -> i32 {
            if a == i32::MIN && b == i32::MIN {
                return i32::MAX;
            }
            let ab = i64::from(a) * i64::from(b);
            let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
            ((ab + nudge) / (1i64 << 31)) as i32
        }
        for a in EDGES {
            for b in EDGES {
                assert_eq!(
                    saturating_rounding_doubling_high_mul(a, b),
                    gemmlowp(a, b),
                    "{a} {b}"
                );
            }
        }
        let mut r = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2_000_000 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            let (a, b) = (r as i32 >> (r >> 59), (r >> 32) as i32);
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                gemmlowp(a, b),
                "{a} {b}"
            );
        }
    }

    /// `mbqm_checked` equals `multiply_by_quantized_multiplier` and the two roundings done
    /// on exact integers (the high product floor-divided after adding 2³⁰, then divided by
    /// 2ʳ rounding halves away from zero) for every shift it takes, on edge values and two
    /// million pseudo-random cases with `M ≥ 0`.
    #[test]
    fn the_checked_multiply_is_tflites() {
        fn exact(x: i32, m: i32, n: i32) -> i32 {
            let (l, r) = (n.max(0), (-n).max(0));
            let t = (i128::from(x.wrapping_shl(l as u32)) * i128::from(m) + (1 << 30)) >> 31;
            if r == 0 {
                return t as i32;
            }
            let (d, half) = (1i128 << r, 1i128 << (r - 1));
            let q = (t.abs() + half) / d;
            (if t < 0 { -q } else { q }) as i32
        }
        let check = |x: i32, m: i32, n: i32| {
            let want = exact(x, m, n);
            assert_eq!(
                multiply_by_quantized_multiplier(x, m, n),
                want,
                "{x} {m} {n}"
            );
            assert_eq!(mbqm_checked(x, m, n), want, "{x} {m} {n}");
        };
        let ms = [0, 1, 1 << 30, (1 << 30) + 1, i32::MAX - 1, i32::MAX];
        for n in -31..=30 {
            for x in EDGES {
                for m in ms {
                    check(x, m, n);
                }
            }
        }
        let mut r = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000_000 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            let x = r as i32 >> (r >> 59);
            let m = ((r >> 32) as i32).max(0) >> ((r >> 40) & 3);
            let n = ((r >> 45) % 62) as i32 - 31;
            check(x, m, n);
        }
    }

    #[test]
    fn multipliers_are_tflites() {
        // 0.75 = 0.75·2⁰: M = round(0.75·2³¹).
        assert_eq!(quantize_multiplier(0.75), Some((1_610_612_736, 0)));
        // 0.003 = 0.768·2⁻⁸.
        let (m, n) = quantize_multiplier(0.003).unwrap();
        assert_eq!(n, -8);
        assert_eq!(m, libm::round(0.003 * 256.0 * 2147483648.0) as i32);
        // A mantissa that rounds up to 2³¹ moves to the next exponent.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), Some((1 << 30, 1)));
        assert_eq!(quantize_multiplier(0.0), Some((0, 0)));
        assert_eq!(quantize_multiplier(1e-12), Some((0, 0)));
        assert_eq!(quantize_multiplier(-1.0), None);
        assert_eq!(quantize_multiplier(f64::NAN), None);
        assert_eq!(quantize_multiplier(1e10), None);
    }
}
