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
use crate::blob::{I8Layout, Layers, MAX_LAYERS, Model, ModelLayer};
use crate::chain::{FromLayers, Layer, next_layer};
use crate::error::{Error, Result, Shape};
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
use crate::kernel as kernel_fpu;
use crate::kernel::int8 as kernel;
use crate::network::Network;
use crate::params::Params;
use crate::requant::{Constants, HiddenIndex, Prepared, SOFT_FLOAT, table_index, value_by_factor};
use core::mem::MaybeUninit;

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

/// `z[k] = SIGMOID_U8[index]` for each of `sums`, the index from the output's stored
/// constants `per[k]` and bias `b[k]`. Out of the kernel's pass loop, whose live values
/// crowded the index's arithmetic on Thumb-1.
#[inline(never)]
fn sigmoid_prepared(h: &HiddenIndex, sums: &[i32], per: &[Constants], b: &[f32], z: &mut [u8]) {
    // On Thumb-1 the usual case in assembly (`kernel::index`), the others here one by one.
    #[cfg(all(
        target_arch = "arm",
        not(scratchnet_thumb2),
        not(target_abi = "eabihf")
    ))]
    {
        let n = sums.len().min(per.len()).min(z.len());
        let mut k = 0;
        while k < n {
            let (Some(s), Some(w), Some(zk)) = (sums.get(k..), per.get(k..), z.get_mut(k..)) else {
                return;
            };
            k += crate::kernel::index::decided(s, w, zk, &SIGMOID_U8);
            if let (Some(&sum), Some(w), Some(zk)) = (sums.get(k), per.get(k), z.get_mut(k)) {
                *zk = SIGMOID_U8[one_index(h, sum, w, b, k) & LAST_INDEX];
            }
            k += 1;
        }
    }
    #[cfg(not(all(
        target_arch = "arm",
        not(scratchnet_thumb2),
        not(target_abi = "eabihf")
    )))]
    for (k, (&sum, (w, z))) in sums.iter().zip(per.iter().zip(z)).enumerate() {
        *z = SIGMOID_U8[one_index(h, sum, w, b, k) & LAST_INDEX];
    }
}

/// Output `k`'s table index from its constants `w`: the integer estimate, else the f32
/// formula.
#[inline(always)]
fn one_index(h: &HiddenIndex, sum: i32, w: &Constants, b: &[f32], k: usize) -> usize {
    match h.estimate_prepared(Prepared::from_words(w), sum) {
        Some(i) => i,
        None => undecided(h, sum, w, b, k),
    }
}

/// On a Thumb-1 core: the assembly's sigmoid indices (`kernel::index`) against the Rust
/// estimate's on `n` pseudo-random hidden outputs — sums over the whole range a book-like
/// layer gives, both signs, and constants from scales and biases like the book's (every
/// eighth output without constants) — as (outputs it decided with another table entry than
/// the Rust estimate gives, outputs it decided). `None` on other cores (no routine). For
/// the on-target tests.
#[doc(hidden)]
pub fn sigmoid_index_check(n: u32) -> Option<(u32, u32)> {
    #[cfg(all(
        target_arch = "arm",
        not(scratchnet_thumb2),
        not(target_abi = "eabihf")
    ))]
    {
        let h = HiddenIndex::new(255.0);
        let mut state = 0x2545_f491u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let (mut wrong, mut decided) = (0, 0);
        let mut done = 0;
        while done < n {
            let mut sums = [0i32; 16];
            let mut per = [[0u32; 4]; 16];
            for (k, (sum, w)) in sums.iter_mut().zip(&mut per).enumerate() {
                // |Σ| up to 2²¹ (shifted down at random), scales up to 2/127, biases ±4.
                let r = next();
                *sum = ((r as i32) >> 10) >> (next() % 12);
                let s = (next() % 1_000_000 + 1) as f32 * (2.0 / 127.0 / 1e6);
                let b = ((next() % 8_000_001) as f32 - 4e6) * 1e-6;
                *w = crate::requant::soft_float_words(s, b, 255.0, k % 8 != 7);
            }
            let mut z = [0u8; 16];
            let mut k = 0;
            while k < 16 {
                let (Some(s), Some(w), Some(zk)) = (sums.get(k..), per.get(k..), z.get_mut(k..))
                else {
                    break;
                };
                let got = crate::kernel::index::decided(s, w, zk, &SIGMOID_U8);
                for j in k..k + got {
                    let want = h.estimate_prepared(Prepared::from_words(&per[j]), sums[j]);
                    decided += 1;
                    if want.map(|i| SIGMOID_U8[i & LAST_INDEX]) != Some(z[j]) {
                        wrong += 1;
                    }
                }
                k += got + 1;
            }
            done += 16;
        }
        Some((wrong, decided))
    }
    #[cfg(not(all(
        target_arch = "arm",
        not(scratchnet_thumb2),
        not(target_abi = "eabihf")
    )))]
    {
        let _ = n;
        None
    }
}

/// The table index of the f32 formula for output `k` of [`sigmoid_prepared`] (the integer
/// estimate was not certain of it): out of line, so that the loop keeps only the biases'
/// slice live.
#[cold]
#[inline(never)]
fn undecided(h: &HiddenIndex, sum: i32, w: &Constants, b: &[f32], k: usize) -> usize {
    let b = b.get(k).copied().unwrap_or(0.0);
    h.index_prepared(Prepared::from_words(w), sum, || f32::from_bits(w[0]), b)
}

/// The sigmoid table's last index (its length is a power of two: `& LAST_INDEX` keeps an
/// index in it without a bounds check).
const LAST_INDEX: usize = SIGMOID_U8.len() - 1;
const _: () = assert!(SIGMOID_U8.len().is_power_of_two());

/// [`sigmoid_prepared`] with the constants worked out here from the scales `s`.
#[inline(never)]
fn sigmoid_unprepared(h: &HiddenIndex, sums: &[i32], s: &[f32], b: &[f32], z: &mut [u8]) {
    for (&sum, ((&s, &b), z)) in sums.iter().zip(s.iter().zip(b).zip(z)) {
        *z = SIGMOID_U8[h.index_prepared(h.prepare(s, b), sum, || h.factor(s), b)];
    }
}

/// `round(255 · sigmoid(a))`, within one unit, by table: the u8 activation of a hidden layer.
#[inline]
pub fn sigmoid_u8(a: f32) -> u8 {
    SIGMOID_U8[table_index(a)]
}

/// A hidden layer's u8 output for the value `a`: `round(h(a)·d_out)`, at most 255 —
/// sigmoid by [`sigmoid_u8`] (`d_out` = 255), ReLU computed; any other activation's value
/// is clamped to `[0, 255/d_out]` (typed networks take only sigmoid and ReLU hidden layers).
#[inline]
fn activate_u8(activation: Activation, a: f32, d_out: f32) -> u8 {
    match activation {
        Activation::Sigmoid => sigmoid_u8(a),
        other => computed_u8(other, a, d_out),
    }
}

/// [`activate_u8`] for an activation other than the sigmoid: `round(h(a)·d_out)`, computed.
#[inline]
fn computed_u8(activation: Activation, a: f32, d_out: f32) -> u8 {
    let mut v = [a];
    activation.apply(&mut v);
    // `as` saturates: negative values and NaN give 0, values past 255 give 255.
    libm::roundf(v[0] * d_out) as u8
}

/// An int8 dense layer with `IN` inputs and `OUT` outputs, borrowed from a blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QDense<'a, const IN: usize, const OUT: usize> {
    raw: Raw<'a>,
}

impl<'a, const IN: usize, const OUT: usize> QDense<'a, IN, OUT> {
    /// A typed view of an int8 blob layer: [`Error::ShapeMismatch`] unless `IN × OUT`,
    /// [`Error::UnsupportedElement`] unless int8, [`Error::BadSpan`] unless the blob lies at
    /// a 4-byte-aligned address (its f32 biases and scales are read in place).
    pub fn from_layer(layer: &ModelLayer<'a>, index: usize) -> Result<Self> {
        crate::chain::check_shape(layer, index, IN, OUT)?;
        Raw::of(layer, index).map(|raw| Self { raw })
    }

    /// The activation.
    pub const fn activation(&self) -> Activation {
        self.raw.activation
    }

    /// The output divisor: a hidden output is stored as `round(h(A)·d_out)`.
    pub fn output_divisor(&self) -> f32 {
        self.raw.output_divisor()
    }

    /// The layer's u8 outputs `round(h(A)·d_out)` for u8 inputs `x` (`d_out`, the blob's
    /// output divisor: 255 for sigmoid, by its table).
    pub fn forward_u8(&self, x: &[u8; IN], z: &mut [u8; OUT]) {
        self.raw.forward_u8(x, z);
    }

    /// The layer's values `A` (before its activation) for u8 inputs `x`.
    pub fn affine(&self, x: &[u8; IN], a: &mut [f32; OUT]) {
        self.raw.affine(x, a);
    }
}

/// A [`QDense`] without its shape in the type, so that every shape shares one copy of
/// the code (the kernel's checks make wrong lengths harmless: no panic, no stray access).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Raw<'a> {
    rows: &'a [u8],
    stride: usize,
    biases: &'a [f32],
    /// The scales (one per output), then the input and output divisors, as stored: the
    /// divisors cost no room in the layer (measured: two more fields made the int8
    /// firmware's model views big enough to be copied with `memcpy`, +1.5 KB of flash).
    scales: &'a [f32],
    activation: Activation,
    /// Whether `rows` holds the columns of input pairs ([`I8Layout::Pairs`]; `stride` is
    /// then a column's bytes), not output-major rows.
    pairs: bool,
    /// Whether `rows` holds blocks of halfwords ([`I8Layout::Wide`]; `stride` is then a
    /// block's bytes).
    #[cfg(feature = "wide")]
    wide: bool,
    /// Whether `rows` holds blocks of output pairs ([`I8Layout::OutputPairs`]; `stride` is
    /// then a block's bytes). Never on DSP cores, which do not read the layout.
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    out_pairs: bool,
    /// On a core without FPU: each output's [`Constants`], when the blob has them (else
    /// empty: they are worked out as needed).
    #[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
    constants: &'a [Constants],
}

impl<'a> Raw<'a> {
    /// The inputs' divisor (stored after the scales).
    #[inline(always)]
    fn input_divisor(&self) -> f32 {
        let n = self.scales.len();
        self.scales.get(n.wrapping_sub(2)).copied().unwrap_or(255.0)
    }

    /// The outputs' divisor (stored last).
    #[inline(always)]
    fn output_divisor(&self) -> f32 {
        let n = self.scales.len();
        self.scales.get(n.wrapping_sub(1)).copied().unwrap_or(255.0)
    }

    /// The int8 layer `layer` (the blob's layer `index`): [`Error::UnsupportedElement`]
    /// unless int8, [`Error::BadSpan`] unless its f32 arrays are 4-byte aligned.
    /// (Inlined: out of line, its result was copied with `memcpy`, +1 KB of int8 firmware.)
    #[inline(always)]
    fn of(layer: &ModelLayer<'a>, index: usize) -> Result<Self> {
        let q = layer
            .quantized()
            .ok_or(Error::UnsupportedElement { layer: index })?;
        let outputs = layer.shape().outputs as usize;
        let inputs = layer.shape().inputs as usize;
        let fits = match q.layout {
            I8Layout::Pairs => {
                q.stride == 4 * outputs.div_ceil(2) && q.rows.len() == q.stride * inputs.div_ceil(2)
            }
            #[cfg(feature = "wide")]
            I8Layout::Wide => {
                q.stride == 32 * inputs.div_ceil(4)
                    && q.rows.len() == q.stride * outputs.div_ceil(4)
            }
            // (Never on DSP cores: `quantized` gives no output pairs there.)
            #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
            I8Layout::OutputPairs => {
                q.stride == 16 * inputs && q.rows.len() == q.stride * outputs.div_ceil(8)
            }
            // (Without the feature `wide`, `quantized` gives no halfwords.)
            _ => q.rows.len() == q.stride * outputs && q.stride >= inputs,
        };
        if !fits || layer.biases().len() != outputs {
            return Err(Error::BadLength { layer: index });
        }
        let aligned = |p: Params<'a>| p.as_f32().ok_or(Error::BadSpan { layer: index });
        Ok(Self {
            rows: bytemuck::cast_slice(q.rows),
            stride: q.stride,
            biases: aligned(layer.biases())?,
            scales: aligned(q.scales_and_divisors())?,
            activation: layer.activation(),
            pairs: q.layout == I8Layout::Pairs,
            #[cfg(feature = "wide")]
            wide: q.layout == I8Layout::Wide,
            #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
            out_pairs: q.layout == I8Layout::OutputPairs,
            #[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
            constants: bytemuck::try_cast_slice(q.soft_float_constants())
                .map_err(|_| Error::BadSpan { layer: index })?,
        })
    }

    /// Each output's constants, if the blob has them (on a core without FPU; elsewhere
    /// none: the f32 arithmetic they save is a few instructions there).
    #[inline(always)]
    fn constants(&self) -> &'a [Constants] {
        #[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
        return self.constants;
        #[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
        return &[];
    }
}

impl Raw<'_> {
    /// The integer sums `Σᵢ x[i]·q[j][i]` of the first `outputs` outputs, handed to
    /// `finish` in order, a few at a time: the kernel for the layer's layout.
    #[inline(always)]
    fn sums(&self, x: &[u8], outputs: usize, finish: impl FnMut(&[i32])) {
        // Through a pointer on DSP cores (see `matvec`), inline elsewhere.
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        let finish: &mut dyn FnMut(&[i32]) = &mut { finish };
        #[cfg(feature = "wide")]
        if self.wide {
            crate::kernel::wide::matvec::<false>(self.rows, self.stride, x, outputs, finish);
            return;
        }
        #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
        if self.out_pairs {
            crate::kernel::outpairs::matvec(self.rows, x, outputs, finish);
            return;
        }
        // Input pairs on a DSP core: their routine's driver, called from here rather than
        // from `matvec`, whose frame (the rows' buffers) it would sit under.
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        if self.pairs {
            crate::kernel::pairs(self.rows, self.stride, x, outputs, finish);
            return;
        }
        kernel::matvec::<false>(self.rows, self.stride, self.pairs, x, outputs, finish);
    }

    /// `A[j] = (Σᵢ x[i]·q[j][i]) · s[j]/d_in + B[j]` for each of `outs` in order (with the
    /// stored factors `fl(s/d_in)` when there are constants, on a soft-float core).
    #[inline(always)]
    fn values<T>(&self, x: &[u8], outs: &mut [T], out: impl Fn(&mut T, f32) + Copy) {
        let d_in = self.input_divisor();
        let mut per = self.constants().iter();
        let count = outs.len().min(self.scales.len()).min(self.biases.len());
        let mut j = 0;
        // Out of line on DSP cores, where the kernel calls it through a pointer: inlined
        // into the `dyn` vtable's `call_once` shim too, it was a second copy of the loop
        // (+264 B, over the int8 firmware's 64 KiB). Inline elsewhere.
        self.sums(
            x,
            count,
            #[cfg_attr(all(feature = "dsp", target_arch = "arm"), inline(never))]
            |sums| {
                // Local copies: the kernel calls this through a pointer, and what it captures
                // by reference would be loaded again at every output (stores to `o` might
                // alias it, for all the compiler knows).
                let (out, d_in) = (out, d_in);
                // The next `n` outputs' scales, biases and places, as slices of one length:
                // one loop count (zipped iterators kept two, ~3 instructions an output).
                let n = sums.len();
                let (Some(s), Some(b), Some(o)) = (
                    self.scales.get(j..j + n),
                    self.biases.get(j..j + n),
                    outs.get_mut(j..j + n),
                ) else {
                    return;
                };
                j += n;
                for (((o, &sum), &s), &b) in o.iter_mut().zip(sums).zip(s).zip(b) {
                    // The factor `fl(s/d_in)`: stored with the constants for a soft-float core
                    // (a division saved an output), else worked out here.
                    let factor = if SOFT_FLOAT {
                        per.next()
                            .map_or_else(|| s / d_in, |w| f32::from_bits(w[0]))
                    } else {
                        s / d_in
                    };
                    out(o, value_by_factor(sum, factor, b));
                    crate::kernel::rolled();
                }
            },
        );
    }

    /// `z[j] = round(h(A[j])·d_out)`.
    #[inline(never)]
    fn forward_u8(&self, x: &[u8], z: &mut [u8]) {
        let (activation, d_out) = (self.activation, self.output_divisor());
        match activation {
            Activation::Sigmoid if SOFT_FLOAT => self.sigmoid_in_integers(x, z),
            #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
            Activation::Sigmoid => {
                self.activate_by_routine(x, z, kernel_fpu::Activated::sigmoid(&SIGMOID_U8))
            }
            #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
            Activation::Relu => self.activate_by_routine(x, z, kernel_fpu::Activated::relu(d_out)),
            // On an Arm core the sigmoid took an arm above: the others, computed (without
            // the table's code, which the int8 firmware's flash has no room for twice;
            // ReLU too, on an FPU core).
            _ if cfg!(target_arch = "arm") => {
                self.values(x, z, move |z, a| *z = computed_u8(activation, a, d_out))
            }
            _ => self.values(x, z, move |z, a| *z = activate_u8(activation, a, d_out)),
        }
    }

    /// A sigmoid or ReLU layer's `z[j]` on an FPU core: [`activate_u8`]'s formula by the
    /// kernel's routine (`kernel::activate`), a chunk of sums at a time.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn activate_by_routine(&self, x: &[u8], z: &mut [u8], activated: kernel_fpu::Activated) {
        self.by_routine(x, z, |sums, s, b, d_in, z| {
            kernel_fpu::activate_u8s(sums, s, b, d_in, z, activated)
        });
    }

    /// `run(sums, s, b, d_in, out)` for each chunk of sums, with the outputs' scales,
    /// biases and places: a routine of `kernel::activate`, on an FPU core.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn by_routine<T>(
        &self,
        x: &[u8],
        out: &mut [T],
        run: impl Fn(&[i32], &[f32], &[f32], f32, &mut [T]),
    ) {
        let d_in = self.input_divisor();
        let count = out.len().min(self.scales.len()).min(self.biases.len());
        let mut j = 0;
        // Out of line on DSP cores: see `values`.
        self.sums(
            x,
            count,
            #[cfg_attr(feature = "dsp", inline(never))]
            |sums| {
                let n = sums.len();
                let (Some(s), Some(b), Some(o)) = (
                    self.scales.get(j..j + n),
                    self.biases.get(j..j + n),
                    out.get_mut(j..j + n),
                ) else {
                    return;
                };
                j += n;
                run(sums, s, b, d_in, o);
            },
        );
    }

    /// A sigmoid layer's `z[j]` in soft float: the table's index in integers (the same
    /// index as the f32 formula's; [`HiddenIndex`]), from the stored constants when the
    /// blob has them.
    #[inline(always)]
    fn sigmoid_in_integers(&self, x: &[u8], z: &mut [u8]) {
        let per = self.constants();
        let h = HiddenIndex::new(self.input_divisor());
        let outputs = z.len();
        let mut j = 0;
        self.sums(x, outputs, |sums| {
            let (b, z) = (
                self.biases.get(j..).unwrap_or(&[]),
                z.get_mut(j..).unwrap_or(&mut []),
            );
            match per.get(j..) {
                Some(per) if !per.is_empty() => sigmoid_prepared(&h, sums, per, b, z),
                _ => sigmoid_unprepared(&h, sums, self.scales.get(j..).unwrap_or(&[]), b, z),
            }
            j += sums.len();
        });
    }

    /// `A[j] = (Σᵢ x[i]·q[j][i]) · s[j]/d_in + B[j]`.
    #[inline(never)]
    fn affine(&self, x: &[u8], a: &mut [f32]) {
        // On an FPU core by the kernel's routine (`kernel::activate`).
        #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
        self.by_routine(x, a, kernel_fpu::values_f32);
        #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
        self.values(x, a, |a, v| *a = v);
    }
}

impl<const IN: usize, const OUT: usize> Layer<[u8; IN]> for QDense<'_, IN, OUT> {
    type Output = [u8; OUT];
    type Logits = [f32; OUT];

    #[inline(always)]
    fn forward<'z>(&self, x: &[u8; IN], z: &'z mut MaybeUninit<[u8; OUT]>) -> &'z mut [u8; OUT] {
        let z = z.write([0; OUT]);
        self.forward_u8(x, z);
        z
    }

    #[inline(always)]
    fn logits<'a>(&self, x: &[u8; IN], a: &'a mut MaybeUninit<[f32; OUT]>) -> &'a mut [f32; OUT] {
        let a = a.write([0.0; OUT]);
        self.affine(x, a);
        a
    }

    fn output_activation(&self) -> Activation {
        self.raw.activation
    }
}

impl<'a, const IN: usize, const OUT: usize> FromLayers<'a> for QDense<'a, IN, OUT> {
    const LAYERS: usize = 1;

    fn take(layers: &mut Layers<'a>, first: usize) -> Result<Self> {
        Self::from_layer(&next_layer(layers, first)?, first)
    }

    /// Hidden outputs are u8 (`round(h(A)·d_out)`): sigmoid's and ReLU's values are never
    /// negative, so they fit; identity's would be cut at 0.
    fn check_hidden(&self, index: usize) -> Result<()> {
        if matches!(self.raw.activation, Activation::Sigmoid | Activation::Relu) {
            Ok(())
        } else {
            Err(Error::UnsupportedActivation { layer: index })
        }
    }
}

/// Inference on an int8 model whose shape is known only at run time.
impl Model<'_> {
    /// Runs an int8 model on u8 inputs `x` (each `u / d_in` of the first layer: pixels, or
    /// values in `[0, 1]` as `round(255·v)`), leaving the last layer's values before its
    /// activation in `out`, with the kernel of [`QDense`] (the same numbers bit for bit).
    /// `scratch` holds the hidden layers' u8 outputs: [`scratch_len`](Self::scratch_len)
    /// bytes.
    ///
    /// [`Error::LengthMismatch`] for `x` or `out` of the wrong length,
    /// [`Error::BufferTooSmall`] for a short `scratch`, [`Error::UnsupportedElement`] for an
    /// f32 layer (run it with [`Model::logits`]), [`Error::UnsupportedActivation`] for a
    /// hidden layer that is not sigmoid or ReLU, [`Error::BadSpan`] for a blob that is not
    /// 4-byte aligned; nothing is computed then.
    pub fn logits_u8(&self, x: &[u8], scratch: &mut [u8], out: &mut [f32]) -> Result<()> {
        let needed = self.check_lengths(x.len(), out.len(), scratch.len())?;
        let last = self.layer_count() - 1;
        // Every layer is checked before any is run, its table entry decoded once (a decode
        // costs ~300 instructions).
        let mut checked = heapless::Vec::<Raw<'_>, MAX_LAYERS>::new();
        for (index, layer) in self.layers().enumerate() {
            let raw = Raw::of(&layer, index)?;
            if index != last && !matches!(raw.activation, Activation::Sigmoid | Activation::Relu) {
                return Err(Error::UnsupportedActivation { layer: index });
            }
            checked.push(raw).map_err(|_| Error::LayerCount {
                found: self.layer_count(),
                max: MAX_LAYERS,
            })?;
        }
        let hidden = checked.iter().take(last).map(|r| r.biases.len());
        let mut raws = checked.iter();
        crate::chain::ping_pong(x, &mut scratch[..needed], hidden, |_, src, dst| {
            match (raws.next(), dst) {
                (Some(raw), Some(dst)) => raw.forward_u8(src, dst),
                (Some(raw), None) => raw.affine(src, out),
                (None, _) => {}
            }
        });
        Ok(())
    }
}

/// A three-layer int8 network `I → H1 → H2 → O`, the int8 counterpart of
/// [`Network3`](crate::Network3): u8 pixels in, f32 logits out, u8 activations between.
/// Inference needs `H1 + H2` bytes and 4·O bytes of activations, and cannot fail; its
/// hidden layers must be sigmoid or ReLU ([`Error::UnsupportedActivation`] otherwise).
pub type QNetwork3<'a, const I: usize, const H1: usize, const H2: usize, const O: usize> =
    Network<(QDense<'a, I, H1>, QDense<'a, H1, H2>, QDense<'a, H2, O>)>;

/// The book's MNIST network quantized to int8 (`scratchnet convert --quantize int8`).
pub type QMnist<'a> = QNetwork3<'a, 784, 50, 100, 10>;

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
        let mut j = 0;
        kernel::matvec::<false>(rows, 8, false, &x, 3, |sums| {
            for &s in sums {
                got[j] = s;
                j += 1;
            }
        });
        let want = [255 * -128 + 7 * 127, 255 * 100 + 7 * -100, 255 * 5 + 7 * 5];
        assert_eq!(got, want);
    }
}
