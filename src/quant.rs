//! Beyond the book: int8 inference. Per-output-channel symmetric weights
//! (`W[i][j] ≈ q[j][i]·s[j]`, `q ∈ [−127, 127]`), u8 activations (`v ≈ a/255`), exact i32
//! accumulation, f32 only where a layer's sums are turned back into values:
//!
//! ```text
//! A[j] = (Σᵢ x[i]·q[j][i]) · s[j]/255 + B[j]     x: u8 pixels, or the previous layer's u8
//! Z[j] = round(255 · sigmoid(A[j]))              hidden layers, by a 512-entry table
//! ```
//!
//! The integer sums are the same on every target; on Cortex-M4/M7/M33 the `dsp` feature
//! computes them with `SMLAD` (two multiply-adds an instruction) instead of plain Rust.

use crate::activation::Activation;
use crate::blob::{Layer, Model};
use crate::error::{Error, Result, Shape};
use crate::network::Classification;
use crate::params::Params;

/// Quantizes row-major `inputs × outputs` f32 weights per output channel:
/// `s[j] = maxᵢ |W[i][j]| / 127` (1 for an all-zero column), `q[j][i] = round(W[i][j]/s[j])`,
/// written output-major into `values` (`outputs × inputs`) and `scales`.
///
/// [`Error::BadLength`] when the slices do not fit the shape, [`Error::NotFinite`] for a
/// NaN or infinite weight.
pub fn quantize(
    weights: &[f32],
    shape: Shape,
    values: &mut [i8],
    scales: &mut [f32],
) -> Result<()> {
    let (n_in, n_out) = (shape.inputs as usize, shape.outputs as usize);
    let n = n_in
        .checked_mul(n_out)
        .ok_or(Error::BadLength { layer: 0 })?;
    if weights.len() != n || values.len() != n || scales.len() != n_out {
        return Err(Error::BadLength { layer: 0 });
    }
    if let Some(index) = weights.iter().position(|w| !w.is_finite()) {
        return Err(Error::NotFinite { layer: 0, index });
    }
    for (j, s) in scales.iter_mut().enumerate() {
        let max = (0..n_in)
            .map(|i| weights[i * n_out + j].abs())
            .fold(0.0f32, f32::max);
        *s = if max > 0.0 { max / 127.0 } else { 1.0 };
        for i in 0..n_in {
            let q = libm::roundf(weights[i * n_out + j] / *s);
            values[j * n_in + i] = q.clamp(-127.0, 127.0) as i8;
        }
    }
    Ok(())
}

/// `round(255 · sigmoid(a))` for `a ∈ [−8, 8)` in steps of 1/32, sampled at each step's
/// middle (generated with Python's `math.exp`; `sigmoid_table_matches_the_function` checks
/// it against [`crate::sigmoid`]).
#[rustfmt::skip]
static SIGMOID_U8: [u8; 512] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5,
    5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7,
    8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12,
    12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16, 17, 17, 18, 19, 19,
    20, 20, 21, 21, 22, 23, 23, 24, 25, 25, 26, 27, 28, 28, 29, 30,
    31, 32, 33, 33, 34, 35, 36, 37, 38, 39, 40, 41, 43, 44, 45, 46,
    47, 48, 50, 51, 52, 53, 55, 56, 57, 59, 60, 62, 63, 65, 66, 68,
    69, 71, 73, 74, 76, 78, 79, 81, 83, 84, 86, 88, 90, 92, 93, 95,
    97, 99, 101, 103, 105, 107, 109, 111, 113, 115, 117, 119, 121, 123, 125, 127,
    128, 130, 132, 134, 136, 138, 140, 142, 144, 146, 148, 150, 152, 154, 156, 158,
    160, 162, 163, 165, 167, 169, 171, 172, 174, 176, 177, 179, 181, 182, 184, 186,
    187, 189, 190, 192, 193, 195, 196, 198, 199, 200, 202, 203, 204, 205, 207, 208,
    209, 210, 211, 212, 214, 215, 216, 217, 218, 219, 220, 221, 222, 222, 223, 224,
    225, 226, 227, 227, 228, 229, 230, 230, 231, 232, 232, 233, 234, 234, 235, 235,
    236, 236, 237, 238, 238, 239, 239, 239, 240, 240, 241, 241, 242, 242, 242, 243,
    243, 243, 244, 244, 244, 245, 245, 245, 246, 246, 246, 246, 247, 247, 247, 247,
    248, 248, 248, 248, 248, 249, 249, 249, 249, 249, 250, 250, 250, 250, 250, 250,
    250, 251, 251, 251, 251, 251, 251, 251, 251, 252, 252, 252, 252, 252, 252, 252,
    252, 252, 252, 252, 253, 253, 253, 253, 253, 253, 253, 253, 253, 253, 253, 253,
    253, 253, 253, 253, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254,
    254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254,
    254, 254, 254, 254, 254, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
];

/// `round(255 · sigmoid(a))`, within one unit, by table: the u8 activation of a hidden layer.
#[inline]
pub fn sigmoid_u8(a: f32) -> u8 {
    let k = (a + 8.0) * 32.0;
    // `as` saturates (NaN → 0), so every input has an entry.
    let k = if k < 0.0 { 0 } else { k as usize };
    SIGMOID_U8[k.min(SIGMOID_U8.len() - 1)]
}

/// A layer's u8 activation of a value: sigmoid by [`sigmoid_u8`], the others computed in
/// f32 and clamped to `[0, 1]`.
#[inline]
fn activate_u8(activation: Activation, a: f32) -> u8 {
    match activation {
        Activation::Sigmoid => sigmoid_u8(a),
        other => {
            let mut v = [a];
            other.apply(&mut v);
            libm::roundf(v[0].clamp(0.0, 1.0) * 255.0) as u8
        }
    }
}

/// The integer kernel: `acc[j] = Σᵢ x[i]·q[j][i]`.
mod kernel {
    /// Groups of four inputs (one 32-bit word) that are not all zero, at most this many
    /// per chunk of the input (256 groups: 1 024 inputs).
    const GROUPS: usize = 256;

    /// Four u8 inputs, prepared for [`mac4`].
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    type Prepared = u32;
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    type Prepared = (u32, u32);

    /// Plain Rust: the bytes as they are.
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    #[inline(always)]
    fn prepare(x: u32) -> Prepared {
        x
    }

    /// `acc + Σₖ x[k]·w[k]` over the four bytes of `x` (u8) and `w` (i8).
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    #[inline(always)]
    fn mac4(x: Prepared, w: u32, acc: i32) -> i32 {
        let (x, w) = (x.to_le_bytes(), w.to_le_bytes());
        let mut acc = acc;
        for k in 0..4 {
            acc += i32::from(x[k]) * i32::from(w[k] as i8);
        }
        acc
    }

    /// DSP: the even and odd bytes of `x` zero-extended to halfword pairs (`UXTB16`).
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    #[inline(always)]
    fn prepare(x: u32) -> Prepared {
        (super::dsp::uxtb16(x), super::dsp::uxtb16_ror8(x))
    }

    /// DSP: `w`'s bytes sign-extended in pairs (`SXTB16`) and two `SMLAD`s: four
    /// multiply-adds in four instructions.
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    #[inline(always)]
    fn mac4(x: Prepared, w: u32, acc: i32) -> i32 {
        let acc = super::dsp::smlad(x.0, super::dsp::sxtb16(w), acc);
        super::dsp::smlad(x.1, super::dsp::sxtb16_ror8(w), acc)
    }

    /// Outputs computed per pass: their sums stay in registers while one prepared input word
    /// serves all of them.
    const OUTPUTS_PER_PASS: usize = 4;

    /// `acc[j] = Σᵢ x[i]·q[j][i]` for output-major rows of `stride` i8 (a multiple of 4, at
    /// least `x.len()`, zero past it), handed to `finish(j, acc[j])` in order.
    ///
    /// The groups of four inputs that are not all zero are listed once; every pass of
    /// [`OUTPUTS_PER_PASS`] outputs then visits only those.
    #[inline(always)]
    pub(super) fn matvec(
        rows: &[u8],
        stride: usize,
        x: &[u8],
        outputs: usize,
        mut finish: impl FnMut(usize, i32),
    ) {
        let (full, tail) = x.as_chunks::<4>();
        let xword = |g: usize| full.get(g).map_or(0, |w| u32::from_le_bytes(*w));
        // The weights as one slice of 4-byte words; row `j` starts at word `j·sw`.
        let m = rows.as_chunks::<4>().0;
        let sw = stride / 4;
        if sw * 4 < x.len() || m.len() < outputs * sw {
            for j in 0..outputs {
                finish(j, 0);
            }
            return;
        }
        // The full groups of four inputs that are not all zero, listed once for all passes.
        let mut list = [0u8; GROUPS];
        let mut count = 0;
        let listed = full.len() <= GROUPS;
        if listed {
            for (g, w) in full.iter().enumerate() {
                if *w != [0; 4] {
                    list[count] = g as u8;
                    count += 1;
                }
            }
        }
        let list = &list[..count];
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        let checked = super::dsp::Groups::new(list, full.len());
        // The inputs past the last full group, and row `j`'s weights for them.
        let tail_sum = |j: usize| -> i32 {
            let start = j * stride + full.len() * 4;
            let w = rows.get(start..start + tail.len()).unwrap_or(&[]);
            tail.iter()
                .zip(w)
                .map(|(&x, &w)| i32::from(x) * i32::from(w as i8))
                .sum()
        };
        let mut j = 0;
        while j < outputs {
            let n = (outputs - j).min(OUTPUTS_PER_PASS);
            // Rows past the last output repeat it; their sums are dropped.
            let base: [usize; 4] = core::array::from_fn(|k| (j + k.min(n - 1)) * sw);
            let s = if listed {
                #[cfg(all(feature = "dsp", target_arch = "arm"))]
                {
                    // Fewer than four outputs left: the window moves back over the last four
                    // rows (recomputing a few sums), and the last `n` are kept.
                    if let (Some(checked), true) = (checked, outputs >= 4) {
                        let start = j.min(outputs - 4);
                        let s4 = super::dsp::pass4(checked, full, m, start * sw, sw);
                        core::array::from_fn(|k| s4[(k + j - start).min(3)])
                    } else {
                        pass(
                            list.iter().map(|&g| usize::from(g)),
                            &xword,
                            m,
                            base,
                            full.len(),
                        )
                    }
                }
                #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
                pass(
                    list.iter().map(|&g| usize::from(g)),
                    &xword,
                    m,
                    base,
                    full.len(),
                )
            } else {
                pass(
                    (0..full.len()).filter(|&g| xword(g) != 0),
                    &xword,
                    m,
                    base,
                    full.len(),
                )
            };
            for (k, &v) in s.iter().enumerate().take(n) {
                let v = if tail.is_empty() {
                    v
                } else {
                    v + tail_sum(j + k)
                };
                finish(j + k, v);
            }
            j += n;
        }
    }

    /// One pass: the sums of four rows (starting at words `base[k]` of `m`) over the groups
    /// `gs`, each below `groups`.
    #[inline(always)]
    fn pass(
        gs: impl Iterator<Item = usize>,
        xword: &impl Fn(usize) -> u32,
        m: &[[u8; 4]],
        base: [usize; 4],
        groups: usize,
    ) -> [i32; 4] {
        let w = |i: usize| m.get(i).map_or(0, |c| u32::from_le_bytes(*c));
        let mut s = [0i32; 4];
        if groups == 0 {
            return s;
        }
        for g in gs {
            let g = g.min(groups - 1);
            let xs = prepare(xword(g));
            s[0] = mac4(xs, w(base[0] + g), s[0]);
            s[1] = mac4(xs, w(base[1] + g), s[1]);
            s[2] = mac4(xs, w(base[2] + g), s[2]);
            s[3] = mac4(xs, w(base[3] + g), s[3]);
        }
        s
    }
}

/// Cortex-M DSP instructions, by inline assembly (their intrinsics are unstable).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[allow(unsafe_code)]
mod dsp {
    use core::arch::asm;

    /// Group indices all below `bound` (checked when made).
    #[derive(Clone, Copy)]
    pub(super) struct Groups<'a> {
        groups: &'a [u8],
        bound: usize,
    }

    impl<'a> Groups<'a> {
        /// `None` unless every index is below `bound`.
        pub(super) fn new(groups: &'a [u8], bound: usize) -> Option<Self> {
            groups
                .iter()
                .all(|&g| usize::from(g) < bound)
                .then_some(Self { groups, bound })
        }
    }

    /// The int8 kernel's inner loop on a DSP core: the sums of rows `base`, `base + sw`,
    /// `base + 2·sw`, `base + 3·sw` (in words of `m`) over the listed full groups of four
    /// inputs of `x`, two rows per sweep. Per group and sweep: the input word prepared (two
    /// `UXTB16`), then per row one load, two `SXTB16` and two `SMLAD`: 18 instructions for
    /// eight multiply-adds (measured).
    ///
    /// Unchecked loads, because with bounds checks the sums no longer fit in registers and
    /// the loop measured twice as long. Invariants, checked before the loop: every listed
    /// group is below `x.len()`, and the fourth row's `x.len()` words lie within `m`.
    #[inline(never)]
    pub(super) fn pass4(
        list: Groups<'_>,
        x: &[[u8; 4]],
        m: &[[u8; 4]],
        base: usize,
        sw: usize,
    ) -> [i32; 4] {
        let fits = base
            .checked_add(3 * sw)
            .and_then(|b| b.checked_add(x.len()))
            .is_some_and(|end| end <= m.len());
        if !fits || list.bound != x.len() {
            return [0; 4]; // unreachable: the caller sizes both
        }
        let list = list.groups;
        let (xp, mp) = (x.as_ptr(), m.as_ptr().wrapping_add(base));
        let mut s = [0i32; 4];
        // Two rows per sweep over the list: four sums and four row pointers do not fit in
        // the registers with the loop's own, two do (measured: fewer instructions in all).
        for pair in 0..2 {
            let (mut s0, mut s1) = (0i32, 0i32);
            let (off0, off1) = (2 * pair * sw, (2 * pair + 1) * sw);
            for &g in list {
                let g = usize::from(g);
                // SAFETY: g < x.len(), and base + k·sw + g < base + 3·sw + x.len() ≤ m.len()
                // for k ≤ 3 (both checked above), so every read is of an initialised
                // [u8; 4] inside its slice; [u8; 4] has alignment 1.
                let (xw, w0, w1) = unsafe {
                    let p = mp.add(g);
                    (
                        u32::from_le_bytes(xp.add(g).read()),
                        u32::from_le_bytes(p.add(off0).read()),
                        u32::from_le_bytes(p.add(off1).read()),
                    )
                };
                let (xe, xo) = (uxtb16(xw), uxtb16_ror8(xw));
                s0 = smlad(xo, sxtb16_ror8(w0), smlad(xe, sxtb16(w0), s0));
                s1 = smlad(xo, sxtb16_ror8(w1), smlad(xe, sxtb16(w1), s1));
            }
            s[2 * pair] = s0;
            s[2 * pair + 1] = s1;
        }
        s
    }

    /// `SMLAD`: `acc + x.lo·y.lo + x.hi·y.hi` on signed halfwords.
    #[inline(always)]
    pub(super) fn smlad(x: u32, y: u32, acc: i32) -> i32 {
        let out: i32;
        // SAFETY: a register-only arithmetic instruction of ARMv7E-M (the `dsp` feature is
        // for cores that have it); no memory, stack or flags are touched.
        unsafe {
            asm!("smlad {0}, {1}, {2}, {3}", lateout(reg) out, in(reg) x, in(reg) y, in(reg) acc,
                 options(pure, nomem, nostack, preserves_flags));
        }
        out
    }

    /// `SXTB16`: bytes 0 and 2, sign-extended to halfwords.
    #[inline(always)]
    pub(super) fn sxtb16(x: u32) -> u32 {
        let out: u32;
        // SAFETY: as above.
        unsafe {
            asm!("sxtb16 {0}, {1}", lateout(reg) out, in(reg) x,
                 options(pure, nomem, nostack, preserves_flags));
        }
        out
    }

    /// `SXTB16 …, ROR #8`: bytes 1 and 3, sign-extended to halfwords.
    #[inline(always)]
    pub(super) fn sxtb16_ror8(x: u32) -> u32 {
        let out: u32;
        // SAFETY: as above.
        unsafe {
            asm!("sxtb16 {0}, {1}, ror #8", lateout(reg) out, in(reg) x,
                 options(pure, nomem, nostack, preserves_flags));
        }
        out
    }

    /// `UXTB16`: bytes 0 and 2, zero-extended to halfwords.
    #[inline(always)]
    pub(super) fn uxtb16(x: u32) -> u32 {
        let out: u32;
        // SAFETY: as above.
        unsafe {
            asm!("uxtb16 {0}, {1}", lateout(reg) out, in(reg) x,
                 options(pure, nomem, nostack, preserves_flags));
        }
        out
    }

    /// `UXTB16 …, ROR #8`: bytes 1 and 3, zero-extended to halfwords.
    #[inline(always)]
    pub(super) fn uxtb16_ror8(x: u32) -> u32 {
        let out: u32;
        // SAFETY: as above.
        unsafe {
            asm!("uxtb16 {0}, {1}, ror #8", lateout(reg) out, in(reg) x,
                 options(pure, nomem, nostack, preserves_flags));
        }
        out
    }
}

/// An int8 dense layer with `IN` inputs and `OUT` outputs, borrowed from a blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QDense<'a, const IN: usize, const OUT: usize> {
    rows: &'a [u8],
    stride: usize,
    biases: &'a [f32],
    scales: &'a [f32],
    activation: Activation,
}

impl<'a, const IN: usize, const OUT: usize> QDense<'a, IN, OUT> {
    /// A typed view of an int8 blob layer: [`Error::ShapeMismatch`] unless `IN × OUT`,
    /// [`Error::UnsupportedElement`] unless int8, [`Error::BadSpan`] unless the blob lies at
    /// a 4-byte-aligned address (its f32 biases and scales are read in place).
    pub fn from_layer(layer: &Layer<'a>, index: usize) -> Result<Self> {
        let expected = Shape {
            inputs: IN as u32,
            outputs: OUT as u32,
        };
        if layer.shape() != expected {
            return Err(Error::ShapeMismatch {
                layer: index,
                expected,
                found: layer.shape(),
            });
        }
        let q = layer
            .quantized()
            .ok_or(Error::UnsupportedElement { layer: index })?;
        if q.rows.len() != q.stride * OUT || q.stride < IN || layer.biases().len() != OUT {
            return Err(Error::BadLength { layer: index });
        }
        let aligned = |p: Params<'a>| p.as_f32().ok_or(Error::BadSpan { layer: index });
        Ok(Self {
            rows: bytemuck::cast_slice(q.rows),
            stride: q.stride,
            biases: aligned(layer.biases())?,
            scales: aligned(q.scales)?,
            activation: layer.activation(),
        })
    }

    /// The activation.
    pub const fn activation(&self) -> Activation {
        self.activation
    }

    /// `A[j] = (Σᵢ x[i]·q[j][i]) · s[j]/255 + B[j]`, handed to `out(j, A[j])` in order.
    #[inline(always)]
    fn values(&self, x: &[u8], mut out: impl FnMut(usize, f32)) {
        let (scales, biases) = (self.scales, self.biases);
        kernel::matvec(self.rows, self.stride, x, OUT, |j, sum| {
            if let (Some(s), Some(b)) = (scales.get(j), biases.get(j)) {
                out(j, sum as f32 * (s / 255.0) + b);
            }
        });
    }

    /// The layer's u8 activations `round(255 · h(A))` for u8 inputs `x`.
    pub fn forward_u8(&self, x: &[u8; IN], z: &mut [u8; OUT]) {
        self.values(x, |j, a| z[j] = activate_u8(self.activation, a));
    }

    /// The layer's values `A` (before its activation) for u8 inputs `x`.
    pub fn affine(&self, x: &[u8; IN], a: &mut [f32; OUT]) {
        self.values(x, |j, v| a[j] = v);
    }
}

/// A three-layer int8 network `I → H1 → H2 → O`, the int8 counterpart of
/// [`Network3`](crate::Network3): u8 pixels in, f32 logits out, u8 activations between.
/// Inference needs `H1 + H2` bytes and 4·O bytes of activations, and cannot fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QNetwork3<'a, const I: usize, const H1: usize, const H2: usize, const O: usize> {
    /// Layer 1.
    pub layer1: QDense<'a, I, H1>,
    /// Layer 2.
    pub layer2: QDense<'a, H1, H2>,
    /// Layer 3 (output).
    pub layer3: QDense<'a, H2, O>,
}

/// The book's MNIST network quantized to int8 (`scratchnet convert --quantize int8`).
pub type QMnist<'a> = QNetwork3<'a, 784, 50, 100, 10>;

impl<'a, const I: usize, const H1: usize, const H2: usize, const O: usize>
    QNetwork3<'a, I, H1, H2, O>
{
    /// A typed view of a loaded int8 model (see [`Network3::from_model`](crate::Network3::from_model)).
    pub fn from_model(model: &Model<'a>) -> Result<Self> {
        // Written out like `Network3::from_model`: a shared helper measured 1.3 KB of flash
        // and 860 bytes of stack more in the f32 firmware (its inlining changed).
        let layers = model.layers();
        let [l1, l2, l3] = layers else {
            return Err(Error::WrongLayerCount {
                expected: 3,
                found: layers.len(),
            });
        };
        Ok(Self {
            layer1: QDense::from_layer(l1, 0)?,
            layer2: QDense::from_layer(l2, 1)?,
            layer3: QDense::from_layer(l3, 2)?,
        })
    }

    /// Loads a blob and takes its typed int8 view.
    pub fn from_blob(bytes: &'a [u8]) -> Result<Self> {
        Self::from_model(&Model::from_bytes(bytes)?)
    }

    /// The logits (output layer values before its activation) for u8 pixels.
    pub fn logits_pixels(&self, x: &[u8; I]) -> [f32; O] {
        let mut z1 = [0u8; H1];
        self.layer1.forward_u8(x, &mut z1);
        let mut z2 = [0u8; H2];
        self.layer2.forward_u8(&z1, &mut z2);
        let mut y = [0.0; O];
        self.layer3.affine(&z2, &mut y);
        y
    }

    /// The most probable class of a u8-pixel image, and its probability.
    pub fn classify_pixels(&self, x: &[u8; I]) -> Classification {
        let mut y = self.logits_pixels(x);
        self.layer3.activation().apply(&mut y);
        Classification::argmax(&y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_table_matches_the_function() {
        for k in 0..512 {
            let a = -8.0 + (k as f32 + 0.5) / 32.0;
            let want = 255.0 * crate::sigmoid(a);
            let got = f32::from(sigmoid_u8(a));
            assert!((got - want).abs() <= 0.5 + 1e-3, "a = {a}: {got} vs {want}");
        }
        assert_eq!(sigmoid_u8(-100.0), 0);
        assert_eq!(sigmoid_u8(100.0), 255);
        assert_eq!(sigmoid_u8(f32::NAN), 0);
        // Between samples the table is within one unit of the function.
        for n in 0..16_000 {
            let a = -8.0 + n as f32 / 1000.0;
            let d = (f32::from(sigmoid_u8(a)) - 255.0 * crate::sigmoid(a)).abs();
            assert!(d <= 1.5, "a = {a}: off by {d}");
        }
    }

    #[test]
    fn quantization_is_per_output_channel() {
        // W (2 × 2, row-major): column 0 = [1.0, -0.5], column 1 = [0.0, 0.0].
        let w = [1.0, 0.0, -0.5, 0.0];
        let mut q = [0i8; 4];
        let mut s = [0.0; 2];
        let shape = Shape {
            inputs: 2,
            outputs: 2,
        };
        quantize(&w, shape, &mut q, &mut s).unwrap();
        assert_eq!(s, [1.0 / 127.0, 1.0]);
        assert_eq!(q, [127, -64, 0, 0]); // output-major; -0.5·127 = -63.5 rounds to -64
        assert_eq!(
            quantize(&[f32::NAN, 0.0, 0.0, 0.0], shape, &mut q, &mut s),
            Err(Error::NotFinite { layer: 0, index: 0 })
        );
        assert_eq!(
            quantize(&w[..3], shape, &mut q, &mut s),
            Err(Error::BadLength { layer: 0 })
        );
    }

    #[test]
    fn the_kernel_is_an_exact_integer_dot_product() {
        // 3 outputs × 6 inputs (stride 8), inputs with a zero group and a partial group.
        let x = [0u8, 0, 0, 0, 255, 7];
        let q: [i8; 24] = [
            1, 2, 3, 4, -128, 127, 0, 0, //
            -1, -2, -3, -4, 100, -100, 0, 0, //
            5, 5, 5, 5, 5, 5, 0, 0,
        ];
        let rows: &[u8] = bytemuck::cast_slice(&q);
        let mut got = [0i32; 3];
        kernel::matvec(rows, 8, &x, 3, |j, s| got[j] = s);
        let want = [255 * -128 + 7 * 127, 255 * 100 + 7 * -100, 255 * 5 + 7 * 5];
        assert_eq!(got, want);
    }
}
