//! The model blob: a versioned, checksummed container for a stack of dense layers, read in
//! place (the parameters are never copied, and the layer table is decoded as it is read:
//! a [`Model`] is a few words whatever its depth).
//!
//! # Byte layout (format version 4)
//!
//! All integers are little-endian.
//!
//! | offset | size | field                                                           |
//! |--------|------|-----------------------------------------------------------------|
//! | 0      | 4    | magic `SCNT`                                                    |
//! | 4      | 2    | format version, `4`                                             |
//! | 6      | 2    | reserved, `0`                                                   |
//! | 8      | 4    | payload length `P`: the blob is exactly `16 + P` bytes           |
//! | 12     | 4    | CRC-32 (IEEE, as `zlib.crc32`) of the `P` payload bytes          |
//! | 16     | …    | payload: layer table, padding, parameters                       |
//!
//! The **layer table** is postcard: the layer count as a varint (1 to [`MAX_LAYERS`]),
//! then per layer `inputs` (varint u32), `outputs` (varint u32), `activation` (varint:
//! identity 0, step 1, sigmoid 2, ReLU 3, softmax 4) and `element` (varint: f32 0, int8 1,
//! TFLite int8 2, int8 with soft-float constants 3, int8 in input pairs 4, int8 as
//! halfwords 5, TFLite int8 as halfwords 6, int8 in output pairs 7).
//!
//! Zero bytes follow up to the next offset (from the start of the blob) that is a multiple
//! of 16. Then, for each layer in order:
//!
//! * **f32 layers**: the weights `W` (`inputs × outputs` values, row-major: the book's
//!   layout), then the biases `B` (`outputs` values), each a little-endian IEEE-754 `f32`.
//! * **int8 layers** (per-output-channel symmetric quantization, `W[i][j] ≈ q[j][i]·s[j]`):
//!   the quantized weights `q` as i8, *output-major* (`outputs` rows of `inputs` values,
//!   each row zero-padded to a multiple of 4 bytes, so that each output's weights stream
//!   contiguously, four at a time), then `B` (`outputs` f32), then the scales `s`
//!   (`outputs` f32, finite and positive), then two f32, finite and positive: the input
//!   divisor `d_in` (the layer's u8 inputs `u` stand for `u / d_in`: 255 for pixels and
//!   sigmoid outputs) and the output divisor `d_out` (a hidden layer stores
//!   `u = round(h(A)·d_out)`, at most 255; 255 for sigmoid, calibrated for ReLU).
//! * **int8 layers with soft-float constants** (element 3): as int8 layers, then four
//!   words an output, what a core without FPU would otherwise work out in emulated f32
//!   at every inference: the factor `fl(s/d_in)` (f32), and for a sigmoid layer the
//!   integer constants of its table index (`g | k << 24`, `±⌊|B|·2²¹⌋ + 2²⁴`,
//!   `⌊|B|·2²¹⌋/2²⁰ + 16`, see `requant.rs`; `0xFFFFFFFF, 0, 0` for other activations).
//!   They must be exactly what the scales, biases and `d_in` give ([`Error::WrongConstants`]
//!   otherwise; checked wherever the blob is loaded but on Arm cores with an FPU, which
//!   never read them).
//! * **int8 layers in input pairs** (element 4): as int8 layers but for `q`'s order: for
//!   each pair of inputs `2k, 2k + 1` (the last one's second input zero if `inputs` is
//!   odd), a *column* of `⌈outputs/2⌉` words, word `m` holding outputs `2m` and `2m + 1`
//!   as the bytes `q[2m][2k] + 128, q[2m+1][2k], q[2m][2k+1] + 128, q[2m+1][2k+1]`: the
//!   even output's weights offset by 128 (as u8, `q ^ 0x80`), the odd one's as they are (a
//!   missing input's or output's weight is 0, stored so). A pair of zero inputs then skips a
//!   whole column: the layout for layers of images with a background on cores with the DSP
//!   extension. There a word's two halfwords, read as they are, are `256·q[2m+1][i] +
//!   q[2m][i] + 128`: one `SMLAD` adds `256·O + E + 128·(x₀ + x₁)` (O and E the odd and the
//!   even output's products) and, after a `UXTB16` of the word, another adds `E + 128·(x₀ +
//!   x₁)`: three instructions for four multiply-adds, whose sums give `E` and, from their
//!   difference shifted right by 8, `O` — exact while `|O| < 2²³`, so each output's
//!   `Σᵢ|q[j][i]|` is at most [`PAIR_SUM_LIMIT`] (u8 inputs; [`Error::OutOfRange`]
//!   otherwise).
//! * **int8 layers as halfwords** (element 5, read with the feature `wide`): as int8 layers
//!   but for `q`, each value a little-endian i16 (from −128 to 127), in *blocks* of four
//!   outputs (the last completed with zero rows) and groups of four inputs (the last
//!   completed with zeros): `⌈outputs/4⌉` blocks one after the other, each `⌈inputs/4⌉`
//!   groups of eight words (32 bytes), output `4b + o`'s two words at `2o` and `2o + 1`:
//!   `q[j][4g] | q[j][4g+2] << 16` and `q[j][4g+1] | q[j][4g+3] << 16`. Twice the bytes of
//!   the other int8 layouts, for the dense kernel of cores with the DSP extension: one
//!   `SMLAD` takes two weights as they are stored (no `SXTB16`), against an input group
//!   widened once a layer to the same two halfword pairs.
//! * **int8 layers in output pairs** (element 7): as int8 layers with soft-float constants
//!   (element 3) but for `q`'s order: two outputs' weights a word, in *blocks* of eight
//!   outputs (the last completed with outputs of weight 0), `⌈outputs/8⌉` blocks one after
//!   the other, each a record of four words for every input; word `k` of input `i`'s record
//!   in block `b` holds outputs `j = 8b + 2k` and `j + 1` as the i32 `(q[j][i] + 128) +
//!   2¹⁶·q[j+1][i]`: the even output's weight plus 128 in the low halfword (0 to 255), the
//!   odd one's, sign-extended, in the high halfword (a missing output's weight is 0, stored
//!   so). Twice the bytes of the other int8 layouts, for cores without the DSP extension
//!   (Cortex-M0/M0+, M23, M3): one 32-bit multiply of a u8 input by a word gives both outputs'
//!   products, `P = x·(q_e + 128) + 2¹⁶·x·q_o` with its low part below 2¹⁶, so that
//!   `P >> 16` is the odd output's product and the sum of the `P` less the odd sum shifted
//!   left by 16 is the even output's (plus `128·Σx`). Not read on cores built with the DSP
//!   extension (feature `dsp`: their own layouts are element 4 and 5).
//! * **TFLite int8 layers** (TensorFlow Lite's `FULLY_CONNECTED` with int8 activations,
//!   see [`crate::tflite`]): `q` as for int8 layers, then `outputs` i32 biases *with the
//!   input zero point folded in* (`b[j] − z_in·Σᵢ q[j][i]`), `outputs` i32 multipliers
//!   (`0 ≤ M < 2³¹`), `outputs` i32 shifts (−31 to 30), then six words: the input zero point
//!   (i32), the input scale (f32), the output zero point (i32), the output scale (f32), and
//!   the output clamp's low and high ends (i32, `−128 ≤ lo ≤ hi ≤ 127`: the fused
//!   activation). The activation field is identity, or sigmoid for TFLite's int8
//!   `LOGISTIC` and softmax for its int8 `SOFTMAX` after the layer; those two add the
//!   activation's output zero point (i32) and scale (f32), then a table: sigmoid's 256 int8
//!   outputs, one for each int8 input from −128 up; softmax's 256 i32 Q0.31 exponentials,
//!   `exp(β·S·(x − max))` for `max − x` = 0 to 255 (0 where TFLite skips the term; the first
//!   is 2³¹ − 1). A TFLite int8 layer follows only another one whose output zero point
//!   and scale (after its activation) are its input's.
//! * **TFLite int8 layers as halfwords** (element 6, read with the features `tflite` and
//!   `wide`): as TFLite int8 layers but for `q`, stored as int8 layers as halfwords are.
//!
//! Every array starts at a multiple of 4 bytes from the start of the blob, so a blob placed
//! at a word-aligned address in flash has word-aligned parameters. Nothing follows the last
//! array.
//!
//! [`Model::from_bytes`] checks all of this, the CRC, that every layer's inputs equal the
//! previous layer's outputs, and that every parameter is finite and in range, once;
//! inference after that cannot fail.

use crate::activation::Activation;
use crate::crc32::crc32;
use crate::error::{Error, Result, Shape};
use crate::params::{I32s, Params};
use crate::requant::soft_float_words;
use serde::{Deserialize, Serialize};

/// The first four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"SCNT";
/// The format version this build reads and writes (version 3 stored an input-pairs layer's
/// even outputs without their offset of 128, version 2 had no TFLite int8 layers and at
/// most 8 layers: convert the model again).
pub const FORMAT_VERSION: u16 = 4;
/// The size of the fixed header.
pub const HEADER_LEN: usize = 16;
/// The most layers a blob may hold.
pub const MAX_LAYERS: usize = 16;
/// The parameter section starts at a multiple of this many bytes from the blob's start.
pub const PARAMS_ALIGN: usize = 16;

/// How a layer's parameters are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ElementType {
    /// Little-endian IEEE-754 single precision, 4 bytes a value.
    F32,
    /// Symmetric int8 weights with one f32 scale per output, output-major (see the module
    /// documentation); biases stay f32; u8 activations.
    I8,
    /// TensorFlow Lite's int8 scheme: int8 weights, int32 biases, a fixed-point multiplier
    /// and shift per output, int8 activations with zero points (see the `tflite` module, feature `tflite`).
    TfliteI8,
    /// [`I8`](Self::I8) with each output's constants for cores without FPU after it (the
    /// factor `fl(s/d_in)` and the sigmoid table index's integer constants: f32 arithmetic
    /// such a core would otherwise emulate at every inference). The same numbers on every
    /// core; `scratchnet convert --quantize int8-soft-float` writes it.
    I8SoftFloat,
    /// [`I8`](Self::I8) with the weights in input pairs (see the module documentation):
    /// zero pairs of inputs are skipped whole on cores with the DSP extension (Cortex-M4,
    /// M7, M33); `scratchnet convert --quantize int8-dsp` writes the first layer so.
    I8Pairs,
    /// [`I8`](Self::I8) with each weight a halfword, in blocks of four outputs (see the
    /// module documentation): twice the bytes, for the dense kernel of cores with the DSP
    /// extension (`scratchnet convert --quantize int8-wide`; read with the feature `wide`).
    I8Wide,
    /// [`TfliteI8`](Self::TfliteI8) with each weight a halfword, in blocks of four outputs as
    /// [`I8Wide`](Self::I8Wide) (`scratchnet convert model.tflite --quantize int8-wide`;
    /// read with the features `tflite` and `wide`).
    TfliteI8Wide,
    /// [`I8SoftFloat`](Self::I8SoftFloat) with the weights in output pairs, two outputs a
    /// word (see the module documentation): twice the bytes, for the kernel of cores without
    /// the DSP extension (Cortex-M0/M0+, M23, M3: `scratchnet convert --quantize int8-m0`; not
    /// read on cores built with the feature `dsp`).
    I8OutputPairs,
}

impl ElementType {
    /// Bytes per stored weight.
    pub const fn size(self) -> usize {
        match self {
            ElementType::F32 => 4,
            ElementType::I8Wide | ElementType::TfliteI8Wide | ElementType::I8OutputPairs => 2,
            ElementType::I8
            | ElementType::I8SoftFloat
            | ElementType::I8Pairs
            | ElementType::TfliteI8 => 1,
        }
    }

    /// The type's name, as `inspect` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            ElementType::F32 => "f32",
            ElementType::I8 => "int8",
            ElementType::I8SoftFloat => "int8 (with soft-float constants)",
            ElementType::I8Pairs => "int8 (in input pairs)",
            ElementType::I8Wide => "int8 (as halfwords)",
            ElementType::TfliteI8 => "int8 (TFLite)",
            ElementType::TfliteI8Wide => "int8 (TFLite, as halfwords)",
            ElementType::I8OutputPairs => "int8 (in output pairs, with soft-float constants)",
        }
    }
}

/// One entry of the layer table, as postcard encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct LayerRecord {
    inputs: u32,
    outputs: u32,
    activation: Activation,
    element: ElementType,
}

/// One layer of a [`Model`], its parameters borrowed from the blob (a few words: the views
/// below are made from its parameter bytes when asked for).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelLayer<'a> {
    shape: Shape,
    activation: Activation,
    element: ElementType,
    /// The layer's parameter bytes, all three sections (lengths checked when read).
    params: &'a [u8],
    /// Where `B` starts and where it ends in `params`.
    b_start: u32,
    b_end: u32,
}

/// The int8 weights of a layer: `W[i][j] ≈ q[j][i] · scales[j]`, with `q[j][i]` at
/// `rows[j·stride + i]` ([`I8Layout::Rows`]), in input pairs ([`I8Layout::Pairs`]) or as
/// halfwords ([`I8Layout::Wide`]; see [`get`](Self::get)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizedWeights<'a> {
    /// The values as stored: output-major rows of `stride` values (the values past
    /// `inputs` zero), the columns of the input pairs, `stride` bytes each, or the blocks of
    /// four outputs' halfwords, `stride` bytes each (the bytes as stored: a halfword's low
    /// byte is its value).
    pub rows: &'a [i8],
    /// Row length (`inputs` rounded up to a multiple of 4), a pair's column length
    /// (`4·⌈outputs/2⌉`), a block's length (`32·⌈inputs/4⌉` as halfwords, `16·inputs` in
    /// output pairs).
    pub stride: usize,
    /// How `rows` is ordered.
    pub layout: I8Layout,
    /// The scales (one per output), then the input and output divisors, as stored.
    scales_and_divisors: Params<'a>,
    /// Each output's four words for cores without FPU (`I8SoftFloat`), or nothing (not
    /// kept on Arm cores with an FPU, which never read them).
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    soft_float: &'a [u8],
}

/// The order of an int8 layer's weights (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum I8Layout {
    /// Output-major rows, four inputs a word ([`ElementType::I8`], [`ElementType::I8SoftFloat`]).
    Rows,
    /// A column of words per pair of inputs, two outputs a word ([`ElementType::I8Pairs`]).
    Pairs,
    /// Halfwords in blocks of four outputs, groups of four inputs ([`ElementType::I8Wide`]).
    Wide,
    /// Blocks of eight outputs, a record of four words an input, two outputs a word
    /// ([`ElementType::I8OutputPairs`]).
    OutputPairs,
}

impl<'a> QuantizedWeights<'a> {
    /// `q[j][i]`, the weight of input `i` for output `j` (0 past the shape).
    pub fn get(&self, j: usize, i: usize) -> i8 {
        let at = match self.layout {
            I8Layout::Rows => j.checked_mul(self.stride).and_then(|r| r.checked_add(i)),
            // (An even output's byte is the weight plus 128: see below.)
            I8Layout::Pairs => (i / 2)
                .checked_mul(self.stride)
                .and_then(|c| c.checked_add(4 * (j / 2) + (j & 1) + 2 * (i & 1))),
            // The halfword's low byte (the value: the check keeps it within i8).
            I8Layout::Wide => (j / 4)
                .checked_mul(self.stride)
                .and_then(|b| b.checked_add(32 * (i / 4) + wide_byte(j % 4, i % 4))),
            // The low byte of the even output's halfword (the weight plus 128: see below),
            // or of the odd one's.
            I8Layout::OutputPairs => (j / 8)
                .checked_mul(self.stride)
                .and_then(|b| b.checked_add(16 * i + out_pair_byte(j % 8))),
        };
        let even = j.is_multiple_of(2);
        let offset = if matches!(self.layout, I8Layout::Pairs | I8Layout::OutputPairs) && even {
            -128
        } else {
            0
        };
        at.and_then(|at| self.rows.get(at))
            .map_or(0, |&b| b ^ offset)
    }

    /// One positive scale per output: `W[i][j] ≈ q[j][i]·s[j]`.
    pub fn scales(&self) -> Params<'a> {
        self.scales_and_divisors
            .prefix(self.scales_and_divisors.len().saturating_sub(2))
    }

    /// The inputs' divisor: an input's value is its u8 / `input_divisor`.
    pub fn input_divisor(&self) -> f32 {
        let n = self.scales_and_divisors.len();
        self.scales_and_divisors
            .get(n.wrapping_sub(2))
            .unwrap_or(255.0)
    }

    /// The scales and the two divisors, as stored (what the int8 kernel reads).
    pub(crate) fn scales_and_divisors(&self) -> Params<'a> {
        self.scales_and_divisors
    }

    /// Each output's constants for cores without FPU, four little-endian words an output
    /// (see [`ElementType::I8SoftFloat`]); empty for an [`ElementType::I8`] layer.
    #[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
    pub(crate) fn soft_float_constants(&self) -> &'a [u8] {
        self.soft_float
    }

    /// The outputs' divisor: a hidden output is stored as `round(h(A)·output_divisor)`.
    pub fn output_divisor(&self) -> f32 {
        let n = self.scales_and_divisors.len();
        self.scales_and_divisors
            .get(n.wrapping_sub(1))
            .unwrap_or(255.0)
    }
}

/// The parameters of a TFLite int8 layer: with `x` its int8 inputs,
/// `y[j] = clamp(MBQM(Σᵢ q[j][i]·x[i] + b'[j], M[j], n[j]) + z_out, lo, hi)`, where
/// `b'[j] = b[j] − z_in·Σᵢ q[j][i]` (see the `tflite` module, feature `tflite`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TfliteWeights<'a> {
    /// Output-major rows of `stride` values (the values past `inputs` zero), or blocks of
    /// four outputs' halfwords, `stride` bytes each (as [`QuantizedWeights::rows`]).
    pub rows: &'a [i8],
    /// Row length (`inputs` rounded up to a multiple of 4), or a block's length
    /// (`32·⌈inputs/4⌉`).
    pub stride: usize,
    /// How `rows` is ordered: [`I8Layout::Rows`] or [`I8Layout::Wide`].
    pub layout: I8Layout,
    /// The biases with the input zero point folded in: `b[j] − z_in·Σᵢ q[j][i]`.
    pub biases: I32s<'a>,
    /// The fixed-point multipliers `M[j]` (`0 ≤ M < 2³¹`: the real multiplier is
    /// `M·2ⁿ⁻³¹`).
    pub multipliers: I32s<'a>,
    /// The shifts `n[j]` (−31 to 30; positive is a left shift).
    pub shifts: I32s<'a>,
    io: I32s<'a>,
    /// The activation's output zero point and scale, then its table (sigmoid and softmax).
    activation: &'a [u8],
}

impl<'a> TfliteWeights<'a> {
    /// The zero point and scale of what the layer gives the next one: the activation's
    /// output for sigmoid and softmax, the requantized output otherwise.
    pub fn final_output(&self) -> (i32, f32) {
        match self.activation.get(..8) {
            Some(b) => (
                i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                f32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            ),
            None => (self.output_zero_point(), self.output_scale()),
        }
    }
    /// Int8 `LOGISTIC`'s table: the output for each int8 input from −128 up.
    pub fn sigmoid_table(&self) -> Option<&'a [i8]> {
        self.activation
            .get(8..)
            .filter(|t| t.len() == 256)
            .map(bytemuck::cast_slice)
    }
    /// Int8 `SOFTMAX`'s exponentials (Q0.31) for `max − x` = 0 to 255.
    pub fn softmax_exps(&self) -> Option<I32s<'a>> {
        self.activation
            .get(8..)
            .filter(|t| t.len() == 1024)
            .and_then(I32s::from_le_bytes)
    }
    fn io(&self, k: usize) -> i32 {
        self.io.get(k).unwrap_or(0)
    }
    /// The input tensor's zero point.
    pub fn input_zero_point(&self) -> i32 {
        self.io(0)
    }
    /// The input tensor's scale (its real value is `scale·(x − zero_point)`).
    pub fn input_scale(&self) -> f32 {
        f32::from_bits(self.io(1) as u32)
    }
    /// The output tensor's zero point.
    pub fn output_zero_point(&self) -> i32 {
        self.io(2)
    }
    /// The output tensor's scale.
    pub fn output_scale(&self) -> f32 {
        f32::from_bits(self.io(3) as u32)
    }
    /// The output clamp `(lo, hi)`: TFLite's fused activation (ReLU: `lo = z_out`).
    pub fn clamp(&self) -> (i8, i8) {
        (self.io(4) as i8, self.io(5) as i8)
    }
}

impl<'a> ModelLayer<'a> {
    /// `inputs × outputs`.
    pub const fn shape(&self) -> Shape {
        self.shape
    }
    /// The activation that follows `A = X·W + B`.
    pub const fn activation(&self) -> Activation {
        self.activation
    }
    /// How the parameters are stored.
    pub const fn element(&self) -> ElementType {
        self.element
    }
    /// The three parameter sections: `W`, `B`, the rest (empty slices if the lengths do
    /// not fit, which a validated model rules out).
    #[inline(always)]
    fn sections(&self) -> (&'a [u8], &'a [u8], &'a [u8]) {
        let p = self.params;
        let b_end = (self.b_end as usize).min(p.len());
        let b_start = (self.b_start as usize).min(b_end);
        (&p[..b_start], &p[b_start..b_end], &p[b_end..])
    }
    fn stride(&self) -> usize {
        quant_stride(self.shape.inputs as usize).unwrap_or(0)
    }
    /// A block of eight outputs of an [`ElementType::I8OutputPairs`] layer, in bytes.
    fn out_pairs_block(&self) -> usize {
        out_pairs_block(self.shape.inputs as usize).unwrap_or(0)
    }
    /// A pair's column of an [`ElementType::I8Pairs`] layer, in bytes.
    fn column(&self) -> usize {
        pair_column(self.shape.outputs as usize).unwrap_or(0)
    }
    /// `W`, `inputs × outputs` values, row-major (empty for an int8 layer: see
    /// [`quantized`](Self::quantized) and [`tflite`](Self::tflite)).
    pub fn weights(&self) -> Params<'a> {
        match self.element {
            ElementType::F32 => f32s(self.sections().0),
            _ => Params::from_f32(&[]),
        }
    }
    /// The int8 weights and their scales, for an int8 layer.
    pub fn quantized(&self) -> Option<QuantizedWeights<'a>> {
        let wide = cfg!(feature = "wide") && self.element == ElementType::I8Wide;
        (matches!(
            self.element,
            ElementType::I8 | ElementType::I8SoftFloat | ElementType::I8Pairs
        ) || wide
            || (OUT_PAIRS && self.element == ElementType::I8OutputPairs))
            .then(|| {
                let (w, b, rest) = self.sections();
                let (s, _soft_float) = rest.split_at((b.len() + 8).min(rest.len()));
                let (stride, layout) = match self.element {
                    ElementType::I8Pairs => (self.column(), I8Layout::Pairs),
                    ElementType::I8OutputPairs if OUT_PAIRS => {
                        (self.out_pairs_block(), I8Layout::OutputPairs)
                    }
                    #[cfg(feature = "wide")]
                    ElementType::I8Wide => (
                        wide_block(self.shape.inputs as usize).unwrap_or(0),
                        I8Layout::Wide,
                    ),
                    _ => (self.stride(), I8Layout::Rows),
                };
                QuantizedWeights {
                    rows: bytemuck::cast_slice::<u8, i8>(w),
                    stride,
                    layout,
                    scales_and_divisors: f32s(s),
                    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
                    soft_float: _soft_float,
                }
            })
    }
    /// The parameters of a TFLite int8 layer.
    pub fn tflite(&self) -> Option<TfliteWeights<'a>> {
        let wide = cfg!(feature = "wide") && self.element == ElementType::TfliteI8Wide;
        (self.element == ElementType::TfliteI8 || wide).then(|| {
            let (w, b, rest) = self.sections();
            let n = b.len().min(rest.len());
            let (multipliers, rest) = rest.split_at(n);
            let (shifts, rest) = rest.split_at(n.min(rest.len()));
            let (io, activation) = rest.split_at((4 * TFLITE_IO_WORDS).min(rest.len()));
            let (stride, layout) = if wide {
                (
                    wide_block(self.shape.inputs as usize).unwrap_or(0),
                    I8Layout::Wide,
                )
            } else {
                (self.stride(), I8Layout::Rows)
            };
            TfliteWeights {
                rows: bytemuck::cast_slice::<u8, i8>(w),
                stride,
                layout,
                biases: i32s(b),
                multipliers: i32s(multipliers),
                shifts: i32s(shifts),
                io: i32s(io),
                activation,
            }
        })
    }
    /// `B`, `outputs` values (empty for a TFLite int8 layer, whose biases are i32).
    pub fn biases(&self) -> Params<'a> {
        match self.element {
            ElementType::F32
            | ElementType::I8
            | ElementType::I8SoftFloat
            | ElementType::I8Pairs
            | ElementType::I8Wide
            | ElementType::I8OutputPairs => f32s(self.sections().1),
            ElementType::TfliteI8 | ElementType::TfliteI8Wide => Params::from_f32(&[]),
        }
    }
}

/// Section bytes as f32s (lengths are multiples of 4 in a validated model).
fn f32s(b: &[u8]) -> Params<'_> {
    Params::from_le_bytes(b).unwrap_or(Params::from_f32(&[]))
}

/// Section bytes as i32s.
fn i32s(b: &[u8]) -> I32s<'_> {
    I32s::from_le_bytes(b).unwrap_or(I32s::EMPTY)
}

/// A validated model blob: up to [`MAX_LAYERS`] dense layers whose parameters stay where
/// the blob's bytes are (in flash, on a microcontroller). The layers are decoded from the
/// blob's table each time they are iterated, so the view is a few words (and what every
/// inference asks of the whole table, found once when the blob is checked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model<'a> {
    blob: &'a [u8],
    /// Offset of the first layer record.
    table: usize,
    /// Offset of the first layer's parameters.
    params: usize,
    count: usize,
    crc: u32,
    /// The first layer's inputs, the last one's outputs, twice the widest hidden layer.
    inputs: u32,
    outputs: u32,
    scratch: u32,
    /// Whether every layer is [`ElementType::F32`].
    all_f32: bool,
    /// The last layer's activation.
    output: Activation,
    /// The first layer, and where the second one's record and parameters start.
    first: ModelLayer<'a>,
    second: (usize, usize),
}

/// The layers of a [`Model`], input first, decoded from the blob as they are visited.
#[derive(Debug, Clone)]
pub struct Layers<'a> {
    blob: &'a [u8],
    table: usize,
    params: usize,
    left: usize,
}

impl<'a> Iterator for Layers<'a> {
    type Item = ModelLayer<'a>;

    fn next(&mut self) -> Option<ModelLayer<'a>> {
        if self.left == 0 {
            return None;
        }
        // Cannot fail for a validated model; a failure ends the iteration.
        let (layer, table, params) = read_layer(self.blob, self.table, self.params, 0).ok()?;
        self.table = table;
        self.params = params;
        self.left -= 1;
        Some(layer)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Layers<'_> {}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

const fn align_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Words of a TFLite int8 layer's zero points, scales and clamp.
const TFLITE_IO_WORDS: usize = 6;

/// Bytes of a layer's three parameter sections (`W`; `B`; the rest), or `None` on overflow.
fn param_bytes(
    shape: Shape,
    element: ElementType,
    activation: Activation,
) -> Option<(usize, usize, usize)> {
    let n_in = usize::try_from(shape.inputs).ok()?;
    let n_out = usize::try_from(shape.outputs).ok()?;
    let b = n_out.checked_mul(4)?;
    let w = match element {
        ElementType::F32 => n_in.checked_mul(n_out)?.checked_mul(4)?,
        // Output-major rows of ⌈inputs/4⌉ words.
        ElementType::I8 | ElementType::I8SoftFloat | ElementType::TfliteI8 => {
            n_out.checked_mul(quant_stride(n_in)?)?
        }
        // A column of ⌈outputs/2⌉ words for each pair of inputs.
        ElementType::I8Pairs => n_in.div_ceil(2).checked_mul(pair_column(n_out)?)?,
        // Blocks of four outputs, 32 bytes a group of four inputs.
        ElementType::I8Wide | ElementType::TfliteI8Wide => {
            n_out.div_ceil(4).checked_mul(wide_block(n_in)?)?
        }
        // Blocks of eight outputs, 16 bytes an input.
        ElementType::I8OutputPairs => n_out.div_ceil(8).checked_mul(out_pairs_block(n_in)?)?,
    };
    let rest = match element {
        ElementType::F32 => 0,
        // The scales, then the two divisors.
        ElementType::I8 | ElementType::I8Pairs | ElementType::I8Wide => b.checked_add(8)?,
        // The same, then four words an output.
        ElementType::I8SoftFloat | ElementType::I8OutputPairs => {
            b.checked_mul(5)?.checked_add(8)?
        }
        // Multipliers and shifts, then the six io words and the activation's.
        ElementType::TfliteI8 | ElementType::TfliteI8Wide => b
            .checked_mul(2)?
            .checked_add(4 * TFLITE_IO_WORDS)?
            .checked_add(tflite_activation_bytes(activation))?,
    };
    Some((w, b, rest))
}

/// Bytes of a TFLite int8 layer's activation: output zero point and scale, then the table.
const fn tflite_activation_bytes(activation: Activation) -> usize {
    match activation {
        Activation::Sigmoid => 8 + 256,
        Activation::Softmax => 8 + 1024,
        _ => 0,
    }
}

/// The row length of int8 weights: `inputs` rounded up to a multiple of 4.
pub(crate) fn quant_stride(inputs: usize) -> Option<usize> {
    Some(inputs.checked_add(3)? / 4 * 4)
}

/// The bytes of one input pair's column in an [`ElementType::I8Pairs`] layer: a word for
/// every two outputs.
pub(crate) fn pair_column(outputs: usize) -> Option<usize> {
    outputs.div_ceil(2).checked_mul(4)
}

/// The bytes of one block of four outputs in an [`ElementType::I8Wide`] layer: 32 a group
/// of four inputs.
pub(crate) fn wide_block(inputs: usize) -> Option<usize> {
    inputs.div_ceil(4).checked_mul(32)
}

/// The bytes of one block of eight outputs in an [`ElementType::I8OutputPairs`] layer: a
/// record of four words (16 bytes) an input.
pub(crate) fn out_pairs_block(inputs: usize) -> Option<usize> {
    inputs.checked_mul(16)
}

/// Where in an input's 16-byte record (an [`ElementType::I8OutputPairs`] layer's) the
/// weight of output `o` (0 to 7) of the block is: the low byte of halfword `o` (word
/// `o / 2`, the even output's halfword first).
const fn out_pair_byte(o: usize) -> usize {
    2 * o
}

/// Whether [`ElementType::I8OutputPairs`] layers are read: not on cores built with the DSP
/// extension (whose firmware has no room for a kernel it would not use).
const OUT_PAIRS: bool = !cfg!(all(feature = "dsp", target_arch = "arm"));

/// Whether an [`ElementType::I8OutputPairs`] layer's words (blocks of `block` bytes) are
/// what the kernel reads: each high halfword the sign extension of its low byte (the odd
/// output's weight, an i8), each low halfword's high byte zero (the even one's weight plus
/// 128, a u8), and a missing output's weight 0 (`0x80` for an even output, 0 for an odd
/// one). Out of line and rolled.
#[inline(never)]
fn out_pairs_are_valid(q: &[i8], block: usize, shape: Shape) -> bool {
    let outputs = shape.outputs as usize;
    block >= 16
        && q.chunks_exact(block).enumerate().all(|(b, block)| {
            block
                .as_chunks::<4>()
                .0
                .iter()
                .enumerate()
                .all(|(w, &[e, z, o, s])| {
                    let j = 8 * b + 2 * (w % 4);
                    z == 0
                        && s == o >> 7
                        && (j < outputs || e == -128)
                        && (j + 1 < outputs || o == 0)
                })
        })
}

/// Where in its group's 32 bytes (an [`ElementType::I8Wide`] layer's) the weight of input
/// `r` (0 to 3) of the group for output `o` (0 to 3) of the block is: word `2o + r % 2`,
/// halfword `r / 2`.
const fn wide_byte(o: usize, r: usize) -> usize {
    8 * o + 4 * (r % 2) + 2 * (r / 2)
}

/// Whether an [`ElementType::I8Wide`] layer's halfwords (blocks of `block` bytes) are all
/// within i8 and zero where they stand for no input or no output.
#[cfg(feature = "wide")]
fn wide_is_valid(q: &[i8], block: usize, shape: Shape) -> bool {
    let (inputs, outputs) = (shape.inputs as usize, shape.outputs as usize);
    block >= 32
        && q.chunks_exact(block).enumerate().all(|(b, block)| {
            block
                .as_chunks::<32>()
                .0
                .iter()
                .enumerate()
                .all(|(g, group)| {
                    // A group of real inputs for a block of real outputs (all but the
                    // edges): only that every halfword is an i8, a pair at a time.
                    let whole = 4 * b + 4 <= outputs && 4 * g + 4 <= inputs;
                    if whole {
                        return group
                            .as_chunks::<2>()
                            .0
                            .iter()
                            .all(|&[lo, hi]| hi == lo >> 7);
                    }
                    (0..4).all(|o| {
                        (0..4).all(|r| {
                            let at = wide_byte(o, r);
                            let real = 4 * b + o < outputs && 4 * g + r < inputs;
                            // The high byte is the low byte's sign (the value is an i8),
                            // read without indexing: no panic path.
                            matches!(
                                group.get(at..at + 2),
                                Some(&[lo, hi]) if hi == lo >> 7 && (real || lo == 0)
                            )
                        })
                    })
                })
        })
}

/// Decodes the layer record at `table` and views its parameters at `at`: the layer, the
/// next record's offset and the next parameters' offset. Checks the spans and lengths (not
/// the values: [`Model::from_bytes`] does that once). `index` names the layer in errors.
fn read_layer(
    blob: &[u8],
    table: usize,
    at: usize,
    index: usize,
) -> Result<(ModelLayer<'_>, usize, usize)> {
    let rest = blob.get(table..).ok_or(Error::Malformed)?;
    let (r, tail) = postcard::take_from_bytes::<LayerRecord>(rest).map_err(|_| Error::Malformed)?;
    let next_table = blob.len() - tail.len();
    let shape = Shape {
        inputs: r.inputs,
        outputs: r.outputs,
    };
    let bad_length = Error::BadLength { layer: index };
    if r.inputs == 0 || r.outputs == 0 {
        return Err(bad_length);
    }
    let (w_len, b_len, s_len) = param_bytes(shape, r.element, r.activation).ok_or(bad_length)?;
    let w_end = at.checked_add(w_len).ok_or(bad_length)?;
    let b_end = w_end.checked_add(b_len).ok_or(bad_length)?;
    let s_end = b_end.checked_add(s_len).ok_or(bad_length)?;
    let too_short = Error::Truncated {
        needed: s_end,
        found: blob.len(),
    };
    let params = blob.get(at..s_end).ok_or(too_short)?;
    // Offsets within one layer's parameters: the casts are checked.
    let (Ok(b_start), Ok(b_end)) = (u32::try_from(w_len), u32::try_from(w_len + b_len)) else {
        return Err(bad_length);
    };
    let layer = ModelLayer {
        shape,
        activation: r.activation,
        element: r.element,
        params,
        b_start,
        b_end,
    };
    Ok((layer, next_table, s_end))
}

/// [`Error::WrongConstants`] unless an [`ElementType::I8SoftFloat`] layer's stored
/// constants are exactly what its scales, biases and input divisor give.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
fn check_constants(layer: &ModelLayer<'_>, q: &QuantizedWeights<'_>, index: usize) -> Result<()> {
    if !matches!(
        layer.element,
        ElementType::I8SoftFloat | ElementType::I8OutputPairs
    ) {
        return Ok(());
    }
    let sigmoid = layer.activation == Activation::Sigmoid;
    let stored = q.soft_float.as_chunks::<16>().0;
    let agree = stored.len() == layer.biases().len()
        && stored
            .iter()
            .zip(q.scales().iter().zip(layer.biases().iter()))
            .all(|(words, (s, b))| {
                let want = soft_float_words(s, b, q.input_divisor(), sigmoid);
                words
                    .as_chunks::<4>()
                    .0
                    .iter()
                    .zip(want)
                    .all(|(w, v)| u32::from_le_bytes(*w) == v)
            });
    if agree {
        Ok(())
    } else {
        Err(Error::WrongConstants { layer: index })
    }
}

/// The most `Σᵢ|q[j][i]|` of an output of an [`ElementType::I8Pairs`] layer: with u8
/// inputs its products' sum `O` is then within `255 · 32 896 = 8 388 480 < 2²³`, which the
/// pairs kernel recovers exactly from the low 24 bits of `256·O` (see the module
/// documentation).
pub const PAIR_SUM_LIMIT: u32 = 32_896;

/// Whether an [`ElementType::I8Pairs`] layer's columns (`column` bytes each) are what the
/// kernel can run: the weights that stand for no input or no output zero (stored `0x80`
/// for an even output, 0 for an odd one) — the second input of the last pair if `inputs`
/// is odd, the second output of each column's last word if `outputs` is — and each
/// output's `Σᵢ|q[j][i]|` at most [`PAIR_SUM_LIMIT`]. Output by output, its two bytes in
/// each column (out of line and rolled: the int8 firmware's flash).
#[inline(never)]
fn pairs_are_valid(q: &[i8], column: usize, shape: Shape) -> bool {
    let (odd_inputs, outputs) = (shape.inputs % 2 == 1, shape.outputs as usize);
    // Output 2m + g's bytes are g and g + 2 of word m; an even output's are offset by 128.
    column >= 4
        && (0..column).filter(|b| b % 4 < 2).all(|b| {
            let j = b / 4 * 2 + b % 4;
            let offset = if j.is_multiple_of(2) { -128 } else { 0 };
            let (mut sum, mut pad) = (0u32, 0u32);
            for c in q.chunks_exact(column) {
                if let [x, _, y, ..] = c.get(b..).unwrap_or(&[]) {
                    let (x, y) = ((x ^ offset).unsigned_abs(), (y ^ offset).unsigned_abs());
                    (sum, pad) = (sum + u32::from(x) + u32::from(y), u32::from(y));
                }
                crate::kernel::rolled();
            }
            // A missing output's bytes, and the last pair's second input if there is none.
            let missing = if j >= outputs {
                sum
            } else if odd_inputs {
                pad
            } else {
                0
            };
            missing == 0 && sum <= PAIR_SUM_LIMIT
        })
}

/// The values checks of one layer, after [`read_layer`]: finite parameters, zero row
/// padding, positive scales, TFLite parameters in range and chained to `previous`.
fn check_values(
    layer: &ModelLayer<'_>,
    previous: Option<&ModelLayer<'_>>,
    index: usize,
) -> Result<()> {
    // TFLite layers are read with the feature `tflite`, halfword layers with `wide`.
    let supported = match layer.element {
        ElementType::TfliteI8 => cfg!(feature = "tflite"),
        ElementType::I8Wide => cfg!(feature = "wide"),
        ElementType::TfliteI8Wide => cfg!(all(feature = "tflite", feature = "wide")),
        ElementType::I8OutputPairs => OUT_PAIRS,
        _ => true,
    };
    if !supported {
        return Err(Error::UnsupportedElement { layer: index });
    }
    let inputs = layer.shape.inputs as usize;
    // Written without indexing, so that no panic path (and its formatting code) is linked.
    let padding_is_zero = |rows: &[i8], stride: usize| {
        stride != 0
            && rows.chunks_exact(stride).all(|row| {
                row.get(inputs..)
                    .is_some_and(|pad| pad.iter().all(|&b| b == 0))
            })
    };
    if let Some(i) = layer
        .weights()
        .iter()
        .chain(layer.biases().iter())
        .position(|v| !v.is_finite())
    {
        return Err(Error::NotFinite {
            layer: index,
            index: i,
        });
    }
    if let Some(q) = layer.quantized() {
        // Row padding must be zero: kernels read rows four values at a time (and pairs'
        // columns two inputs and two outputs a word; their sums must fit the kernel: the
        // encoder refuses such a layer, so a blob with one is malformed).
        let padded = match q.layout {
            I8Layout::Rows => padding_is_zero(q.rows, q.stride),
            I8Layout::Pairs => pairs_are_valid(q.rows, q.stride, layer.shape),
            I8Layout::OutputPairs => {
                OUT_PAIRS && out_pairs_are_valid(q.rows, q.stride, layer.shape)
            }
            #[cfg(feature = "wide")]
            I8Layout::Wide => wide_is_valid(q.rows, q.stride, layer.shape),
            // Never made without the feature `wide` (`quantized`).
            #[cfg(not(feature = "wide"))]
            I8Layout::Wide => false,
        };
        if !padded {
            return Err(Error::Malformed);
        }
        // The scales, then the two divisors: all finite and positive.
        if let Some(i) = q
            .scales_and_divisors
            .iter()
            .position(|s| !(s.is_finite() && s > 0.0))
        {
            return Err(Error::NotFinite {
                layer: index,
                index: layer.biases().len() + i,
            });
        }
        // Sigmoid's u8 outputs come from a table of round(255·sigmoid).
        if layer.activation == Activation::Sigmoid && q.output_divisor() != 255.0 {
            return Err(Error::Malformed);
        }
        // The constants for cores without FPU: exactly what the scales, biases and input
        // divisor give (a core that reads them computes what the others do). Not checked on
        // Arm cores with an FPU, which never read them (the check's code, ~1 KB, would
        // take the int8 firmware past 64 KiB there).
        #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
        check_constants(layer, &q, index)?;
    }
    #[cfg(feature = "tflite")]
    if let Some(t) = layer.tflite() {
        let out_of_range = Error::OutOfRange { layer: index };
        let supported = matches!(
            layer.activation,
            Activation::Identity | Activation::Sigmoid | Activation::Softmax
        );
        let padded = match t.layout {
            #[cfg(feature = "wide")]
            I8Layout::Wide => wide_is_valid(t.rows, t.stride, layer.shape),
            _ => padding_is_zero(t.rows, t.stride),
        };
        if !padded || !supported {
            return Err(Error::Malformed);
        }
        let int8 = -128..=127;
        let (lo, hi) = (t.io(4), t.io(5));
        let scale_ok = |s: f32| s.is_finite() && s > 0.0;
        let (final_zp, final_scale) = t.final_output();
        // Softmax's first exponential is exp(0) = 1 (so the sum is never 0), none negative.
        let exps_ok = t
            .softmax_exps()
            .is_none_or(|e| e.get(0) == Some(i32::MAX) && e.iter().all(|v| v >= 0));
        if !exps_ok
            || !int8.contains(&final_zp)
            || !scale_ok(final_scale)
            || t.multipliers.iter().any(|m| m < 0)
            || t.shifts.iter().any(|n| !(-31..=30).contains(&n))
            || !int8.contains(&t.input_zero_point())
            || !int8.contains(&t.output_zero_point())
            || !(int8.contains(&lo) && int8.contains(&hi) && lo <= hi)
            || !scale_ok(t.input_scale())
            || !scale_ok(t.output_scale())
        {
            return Err(out_of_range);
        }
    }
    // Without the feature there are no TFLite layers to chain.
    #[cfg(not(feature = "tflite"))]
    let _ = previous;
    #[cfg(feature = "tflite")]
    if let Some(previous) = previous {
        let (p, t) = (previous.tflite(), layer.tflite());
        let chained = match (p, t) {
            (None, None) => true,
            (Some(p), Some(t)) => {
                let (zp, scale) = p.final_output();
                zp == t.input_zero_point() && scale.to_bits() == t.input_scale().to_bits()
            }
            _ => false,
        };
        if !chained {
            return Err(Error::QuantizationMismatch { layer: index });
        }
    }
    Ok(())
}

impl<'a> Model<'a> {
    /// Validates a blob and returns a view of it. Checks, in order: the header's size, the
    /// magic, the version, the reserved field, the declared length, the CRC, the layer
    /// table, the padding, that the layers chain, and that every parameter is finite and
    /// in range.
    pub fn from_bytes(blob: &'a [u8]) -> Result<Self> {
        if blob.len() < HEADER_LEN {
            return Err(Error::Truncated {
                needed: HEADER_LEN,
                found: blob.len(),
            });
        }
        if blob[0..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = u16_at(blob, 4);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if u16_at(blob, 6) != 0 {
            return Err(Error::Malformed);
        }
        let declared = HEADER_LEN.saturating_add(u32_at(blob, 8) as usize);
        if blob.len() < declared {
            return Err(Error::Truncated {
                needed: declared,
                found: blob.len(),
            });
        }
        if blob.len() > declared {
            return Err(Error::TrailingBytes {
                expected: declared,
                found: blob.len(),
            });
        }
        let stored = u32_at(blob, 12);
        let computed = crc32(&blob[HEADER_LEN..]);
        if stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }
        let (count, rest) =
            postcard::take_from_bytes::<u32>(&blob[HEADER_LEN..]).map_err(|_| Error::Malformed)?;
        let count = count as usize;
        if count == 0 || count > MAX_LAYERS {
            return Err(Error::LayerCount {
                found: count,
                max: MAX_LAYERS,
            });
        }
        let first_record = blob.len() - rest.len();
        // The table ends where the last record does: walk the records once.
        let mut table_end = first_record;
        for _ in 0..count {
            let rest = blob.get(table_end..).ok_or(Error::Malformed)?;
            let (_, tail) =
                postcard::take_from_bytes::<LayerRecord>(rest).map_err(|_| Error::Malformed)?;
            table_end = blob.len() - tail.len();
        }
        let params_start = align_up(table_end, PARAMS_ALIGN);
        let padding = blob.get(table_end..params_start).ok_or(Error::Truncated {
            needed: params_start,
            found: blob.len(),
        })?;
        if padding.iter().any(|&b| b != 0) {
            return Err(Error::Malformed);
        }
        let (mut table, mut at) = (first_record, params_start);
        let mut previous: Option<ModelLayer<'a>> = None;
        // What every inference asks of the whole table, kept from this one walk (an
        // inference of a run-time shaped model decoded the table four times over for them):
        // the first layer and where the second starts, the widest hidden layer, whether
        // all are f32.
        let mut first = None;
        let (mut scratch, mut all_f32) = (0u32, true);
        for index in 0..count {
            let (layer, next_table, next_at) = read_layer(blob, table, at, index)?;
            if let Some(p) = &previous
                && p.shape.outputs != layer.shape.inputs
            {
                return Err(Error::LayersDoNotChain {
                    layer: index,
                    previous_outputs: p.shape.outputs,
                    inputs: layer.shape.inputs,
                });
            }
            check_values(&layer, previous.as_ref(), index)?;
            if index == 0 {
                first = Some((layer, (next_table, next_at)));
            }
            if index + 1 < count {
                scratch = scratch.max(layer.shape.outputs.saturating_mul(2));
            }
            all_f32 &= layer.element == ElementType::F32;
            previous = Some(layer);
            (table, at) = (next_table, next_at);
        }
        if at != blob.len() {
            return Err(Error::TrailingBytes {
                expected: at,
                found: blob.len(),
            });
        }
        // At least one layer was walked (count ≥ 1).
        let (Some((first, second)), Some(last)) = (first, previous) else {
            return Err(Error::Malformed);
        };
        Ok(Model {
            blob,
            table: first_record,
            params: params_start,
            count,
            crc: stored,
            inputs: first.shape.inputs,
            outputs: last.shape.outputs,
            scratch,
            all_f32,
            output: last.activation,
            first,
            second,
        })
    }

    /// The layers, input first.
    pub fn layers(&self) -> Layers<'a> {
        Layers {
            blob: self.blob,
            table: self.table,
            params: self.params,
            left: self.count,
        }
    }

    /// The layer `index` (from 0), if there is one.
    pub fn layer(&self, index: usize) -> Option<ModelLayer<'a>> {
        self.layers().nth(index)
    }

    /// The number of layers (at least 1).
    pub const fn layer_count(&self) -> usize {
        self.count
    }

    /// The first layer.
    pub const fn first_layer(&self) -> Option<ModelLayer<'a>> {
        Some(self.first)
    }

    /// The layers after the first, input first (their table read from the second record
    /// on: the first is [`first_layer`](Self::first_layer)'s, kept).
    pub(crate) const fn layers_after_first(&self) -> Layers<'a> {
        Layers {
            blob: self.blob,
            table: self.second.0,
            params: self.second.1,
            left: self.count.saturating_sub(1),
        }
    }

    /// The last layer.
    pub fn last_layer(&self) -> Option<ModelLayer<'a>> {
        self.layers().last()
    }

    /// The CRC-32 of the payload (verified).
    pub const fn crc(&self) -> u32 {
        self.crc
    }

    /// The blob's size in bytes.
    pub const fn len(&self) -> usize {
        self.blob.len()
    }

    /// Always `false`: a valid blob has at least one layer.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Inputs of the first layer.
    pub const fn inputs(&self) -> usize {
        self.inputs as usize
    }

    /// Outputs of the last layer.
    pub const fn outputs(&self) -> usize {
        self.outputs as usize
    }

    /// Values of scratch that [`Model::logits`] (floats) and the int8 runners (bytes) need:
    /// twice the widest hidden layer (the hidden activations ping-pong between two halves).
    pub const fn scratch_len(&self) -> usize {
        self.scratch as usize
    }

    /// Whether every layer's parameters are f32 ([`ElementType::F32`]).
    pub const fn is_f32(&self) -> bool {
        self.all_f32
    }

    /// The last layer's activation (softmax for a classifier): what turns
    /// [`Model::logits`]' values into the model's output.
    pub const fn output_activation(&self) -> Activation {
        self.output
    }

    /// The number of parameters (weights and biases) over all layers.
    pub fn parameter_count(&self) -> usize {
        self.layers()
            .map(|l| (l.shape.inputs as usize + 1) * (l.shape.outputs as usize))
            .sum()
    }
}

/// A layer to write into a blob: its shape, activation, weights and biases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerSpec<'s> {
    /// `inputs × outputs`.
    pub shape: Shape,
    /// The activation after `A = X·W + B`.
    pub activation: Activation,
    /// `W`, as f32 or quantized.
    pub weights: Weights<'s>,
    /// `B`, `outputs` values.
    pub biases: &'s [f32],
}

/// The weights of a [`LayerSpec`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Weights<'s> {
    /// Row-major `inputs × outputs` f32 values (the book's layout).
    F32(&'s [f32]),
    /// Per-output-channel int8: `values` output-major (`outputs` rows of `inputs`, no
    /// padding), `W[i][j] ≈ values[j·inputs + i] · scales[j]`; see [`quantize`](crate::quantize).
    I8 {
        /// The quantized values, output-major.
        values: &'s [i8],
        /// One finite, positive scale per output.
        scales: &'s [f32],
        /// The inputs' divisor (input value = u8 / divisor): 255 for pixels and sigmoid
        /// outputs.
        input_divisor: f32,
        /// The outputs' divisor (a hidden output is stored as round(h(A)·divisor)): 255
        /// for sigmoid.
        output_divisor: f32,
        /// How to store the layer: for which cores.
        form: I8Form,
    },
    /// A TFLite int8 `FULLY_CONNECTED` layer (the spec's `biases` must be empty).
    TfliteI8(TfliteSpec<'s>),
    /// [`TfliteI8`](Self::TfliteI8) stored as halfwords ([`ElementType::TfliteI8Wide`]).
    TfliteI8Wide(TfliteSpec<'s>),
}

/// How an int8 layer is stored: the same weights, scales and biases, arranged or completed
/// for one kind of core (the results are the same on every core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum I8Form {
    /// Output-major rows ([`ElementType::I8`]): every core.
    #[default]
    Rows,
    /// Rows, and each output's constants for cores without FPU
    /// ([`ElementType::I8SoftFloat`]: 16 bytes an output; the book's network then takes
    /// about a fifth fewer instructions an inference on Cortex-M0).
    SoftFloat,
    /// Input pairs ([`ElementType::I8Pairs`]): zero pairs of inputs skipped whole on cores
    /// with the DSP extension (for sparse u8 inputs such as images; other cores run it
    /// with the portable kernel).
    Pairs,
    /// Halfwords in blocks of four outputs ([`ElementType::I8Wide`]): twice the bytes, for
    /// dense inputs on cores with the DSP extension (read with the feature `wide`; other
    /// cores run it with the portable kernel).
    Wide,
    /// Output pairs with the constants for cores without FPU
    /// ([`ElementType::I8OutputPairs`]): twice the bytes, for cores without the DSP
    /// extension (Cortex-M0/M0+, M23, M3; not read on cores built with the feature `dsp`).
    OutputPairs,
}

/// The parameters of a TFLite int8 layer to write (see the `tflite` module, feature `tflite`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TfliteSpec<'s> {
    /// The int8 weights, output-major (`outputs` rows of `inputs`, no padding): TFLite's
    /// own layout for a fully connected layer's filter.
    pub values: &'s [i8],
    /// TFLite's int32 biases, one per output (the encoder folds the input zero point in).
    pub biases: &'s [i32],
    /// One fixed-point multiplier per output, `0 ≤ M < 2³¹`.
    pub multipliers: &'s [i32],
    /// One shift per output, −31 to 30.
    pub shifts: &'s [i32],
    /// The input tensor's zero point (−128 to 127).
    pub input_zero_point: i32,
    /// The input tensor's scale.
    pub input_scale: f32,
    /// The output tensor's zero point (−128 to 127).
    pub output_zero_point: i32,
    /// The output tensor's scale.
    pub output_scale: f32,
    /// The output clamp `(lo, hi)`, the fused activation: `(−128, 127)` for none.
    pub clamp: (i8, i8),
    /// An int8 `LOGISTIC` or `SOFTMAX` after the layer (the spec's activation must be
    /// sigmoid or softmax then, identity otherwise).
    pub activation: TfliteActivation<'s>,
}

/// TFLite's int8 `LOGISTIC` or `SOFTMAX` after a layer, tabulated by the converter
/// (`tflite::logistic_table`, `tflite::softmax_exps`, feature `tflite`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TfliteActivation<'s> {
    /// None: the layer's requantized, clamped output is what it gives.
    None,
    /// `LOGISTIC`: the output for each int8 input from −128 up.
    Logistic {
        /// The 256 outputs.
        table: &'s [i8; 256],
        /// The output tensor's zero point.
        output_zero_point: i32,
        /// The output tensor's scale.
        output_scale: f32,
    },
    /// `SOFTMAX`: the Q0.31 exponentials for `max − x` = 0 to 255.
    Softmax {
        /// The 256 exponentials (0 where TFLite skips the term; the first 2³¹ − 1).
        exps: &'s [i32; 256],
        /// The output tensor's zero point.
        output_zero_point: i32,
        /// The output tensor's scale.
        output_scale: f32,
    },
}

impl TfliteSpec<'_> {
    /// The zero point and scale of what the layer gives the next one.
    fn final_output(&self) -> (i32, f32) {
        match self.activation {
            TfliteActivation::None => (self.output_zero_point, self.output_scale),
            TfliteActivation::Logistic {
                output_zero_point,
                output_scale,
                ..
            }
            | TfliteActivation::Softmax {
                output_zero_point,
                output_scale,
                ..
            } => (output_zero_point, output_scale),
        }
    }
}

impl Weights<'_> {
    fn element(&self) -> ElementType {
        match self {
            Weights::F32(_) => ElementType::F32,
            Weights::I8 { form, .. } => match form {
                I8Form::Rows => ElementType::I8,
                I8Form::SoftFloat => ElementType::I8SoftFloat,
                I8Form::Pairs => ElementType::I8Pairs,
                I8Form::Wide => ElementType::I8Wide,
                I8Form::OutputPairs => ElementType::I8OutputPairs,
            },
            Weights::TfliteI8(_) => ElementType::TfliteI8,
            Weights::TfliteI8Wide(_) => ElementType::TfliteI8Wide,
        }
    }

    /// A TFLite layer's spec, in either layout.
    fn tflite(&self) -> Option<&TfliteSpec<'_>> {
        match self {
            Weights::TfliteI8(t) | Weights::TfliteI8Wide(t) => Some(t),
            _ => None,
        }
    }
}

/// The folded biases of a TFLite layer: `b[j] − z_in·Σᵢ q[j][i]`, or `None` on overflow.
fn folded_biases(t: &TfliteSpec<'_>, inputs: usize) -> impl Iterator<Item = Option<i32>> {
    t.values
        .chunks_exact(inputs.max(1))
        .zip(t.biases)
        .map(move |(row, &b)| {
            let sum: i32 = row.iter().map(|&q| i32::from(q)).sum();
            b.checked_sub(t.input_zero_point.checked_mul(sum)?)
        })
}

/// Writes output-major int8 `values` as halfwords into `out` (zeroed): input `4g + r` of
/// output `4b + o` at `wide_byte(o, r)` of group `g` of block `b`, the padding left zero.
/// Returns the bytes the layout takes.
fn put_wide(out: &mut [u8], values: &[i8], shape: Shape) -> usize {
    let inputs = shape.inputs as usize;
    let block = wide_block(inputs).unwrap_or(0);
    for (j, row) in values.chunks_exact(inputs.max(1)).enumerate() {
        for (i, &q) in row.iter().enumerate() {
            let byte = (j / 4) * block + 32 * (i / 4) + wide_byte(j % 4, i % 4);
            out[byte..byte + 2].copy_from_slice(&i16::from(q).to_le_bytes());
        }
    }
    (shape.outputs as usize).div_ceil(4) * block
}

/// Writes output-major int8 `values` in output pairs into `out`: output `8b + o`'s weight
/// of input `i` in the halfword at `out_pair_byte(o)` of record `i` of block `b`, an even
/// output's plus 128, an odd one's sign-extended (a missing output's: weight 0). Returns
/// the bytes the layout takes.
fn put_out_pairs(out: &mut [u8], values: &[i8], shape: Shape) -> usize {
    let (inputs, outputs) = (shape.inputs as usize, shape.outputs as usize);
    let block = out_pairs_block(inputs).unwrap_or(0);
    let bytes = outputs.div_ceil(8) * block;
    // Every even halfword 128 (weight 0), every odd one 0, until written.
    for w in out[..bytes].chunks_exact_mut(4) {
        w.copy_from_slice(&[0x80, 0, 0, 0]);
    }
    for (j, row) in values.chunks_exact(inputs.max(1)).enumerate() {
        for (i, &q) in row.iter().enumerate() {
            let byte = (j / 8) * block + 16 * i + out_pair_byte(j % 8);
            let half = if j.is_multiple_of(2) {
                (i16::from(q) + 128) as u16
            } else {
                i16::from(q) as u16
            };
            out[byte..byte + 2].copy_from_slice(&half.to_le_bytes());
        }
    }
    bytes
}

/// Largest encoded layer record: 5 + 5 + 1 + 1 bytes.
const RECORD_MAX: usize = 12;
/// Largest encoded layer table.
const TABLE_MAX: usize = 5 + MAX_LAYERS * RECORD_MAX;

/// Validates layers for writing, and encodes the layer table into `table`, returning its
/// length and the blob's total length.
fn plan(layers: &[LayerSpec<'_>], table: &mut [u8; TABLE_MAX]) -> Result<(usize, usize)> {
    if layers.is_empty() || layers.len() > MAX_LAYERS {
        return Err(Error::LayerCount {
            found: layers.len(),
            max: MAX_LAYERS,
        });
    }
    let mut used = postcard::to_slice(&(layers.len() as u32), &mut table[..])
        .map_err(|_| Error::Malformed)?
        .len();
    let mut params = 0usize;
    let mut previous: Option<u32> = None;
    for (index, l) in layers.iter().enumerate() {
        if let Some(previous_outputs) = previous
            && previous_outputs != l.shape.inputs
        {
            return Err(Error::LayersDoNotChain {
                layer: index,
                previous_outputs,
                inputs: l.shape.inputs,
            });
        }
        previous = Some(l.shape.outputs);
        let bad_length = Error::BadLength { layer: index };
        let (w, b, s) =
            param_bytes(l.shape, l.weights.element(), l.activation).ok_or(bad_length)?;
        let n = (l.shape.inputs as usize) * (l.shape.outputs as usize);
        let f32_biases = if l.weights.tflite().is_some() { 0 } else { b };
        if l.shape.inputs == 0 || l.shape.outputs == 0 || l.biases.len() * 4 != f32_biases {
            return Err(bad_length);
        }
        let not_finite = |i| Error::NotFinite {
            layer: index,
            index: i,
        };
        match l.weights {
            Weights::F32(weights) => {
                if weights.len() != n {
                    return Err(bad_length);
                }
                if let Some(i) = weights.iter().chain(l.biases).position(|v| !v.is_finite()) {
                    return Err(not_finite(i));
                }
            }
            Weights::I8 {
                values,
                scales,
                input_divisor,
                output_divisor,
                form,
            } => {
                let constants = if matches!(form, I8Form::SoftFloat | I8Form::OutputPairs) {
                    16 * scales.len()
                } else {
                    0
                };
                if values.len() != n || scales.len() * 4 + 8 + constants != s {
                    return Err(bad_length);
                }
                if let Some(i) = l.biases.iter().position(|v| !v.is_finite()) {
                    return Err(not_finite(i));
                }
                if let Some(i) = scales
                    .iter()
                    .chain([&input_divisor, &output_divisor])
                    .position(|s| !(s.is_finite() && *s > 0.0))
                {
                    return Err(not_finite(l.biases.len() + i));
                }
                if l.activation == Activation::Sigmoid && output_divisor != 255.0 {
                    return Err(Error::Malformed);
                }
                let inputs = l.shape.inputs as usize;
                let sum = |row: &[i8]| row.iter().map(|q| u32::from(q.unsigned_abs())).sum::<u32>();
                if form == I8Form::Pairs
                    && values
                        .chunks_exact(inputs)
                        .any(|row| sum(row) > PAIR_SUM_LIMIT)
                {
                    return Err(Error::OutOfRange { layer: index });
                }
            }
            Weights::TfliteI8(t) | Weights::TfliteI8Wide(t) => {
                let outputs = l.shape.outputs as usize;
                if t.values.len() != n
                    || !l.biases.is_empty()
                    || [t.biases, t.multipliers, t.shifts]
                        .iter()
                        .any(|a| a.len() != outputs)
                {
                    return Err(bad_length);
                }
                let int8 = -128..=127;
                let scale_ok = |s: f32| s.is_finite() && s > 0.0;
                let activation_matches = matches!(
                    (l.activation, t.activation),
                    (Activation::Identity, TfliteActivation::None)
                        | (Activation::Sigmoid, TfliteActivation::Logistic { .. })
                        | (Activation::Softmax, TfliteActivation::Softmax { .. })
                );
                if !activation_matches {
                    return Err(Error::Malformed);
                }
                let (final_zp, final_scale) = t.final_output();
                let exps_ok = match t.activation {
                    TfliteActivation::Softmax { exps, .. } => {
                        exps[0] == i32::MAX && exps.iter().all(|&v| v >= 0)
                    }
                    _ => true,
                };
                if !exps_ok
                    || !int8.contains(&final_zp)
                    || !scale_ok(final_scale)
                    || t.multipliers.iter().any(|&m| m < 0)
                    || t.shifts.iter().any(|n| !(-31..=30).contains(n))
                    || !int8.contains(&t.input_zero_point)
                    || !int8.contains(&t.output_zero_point)
                    || t.clamp.0 > t.clamp.1
                    || !scale_ok(t.input_scale)
                    || !scale_ok(t.output_scale)
                    || folded_biases(&t, l.shape.inputs as usize).any(|b| b.is_none())
                {
                    return Err(Error::OutOfRange { layer: index });
                }
            }
        }
        if index > 0 {
            let p = layers[index - 1].weights;
            let chained = match (p.tflite(), l.weights.tflite()) {
                (Some(p), Some(t)) => {
                    let (zp, scale) = p.final_output();
                    zp == t.input_zero_point && scale.to_bits() == t.input_scale.to_bits()
                }
                (Some(_), None) | (None, Some(_)) => false,
                (None, None) => true,
            };
            if !chained {
                return Err(Error::QuantizationMismatch { layer: index });
            }
        }
        params = params.checked_add(w + b + s).ok_or(bad_length)?;
        let record = LayerRecord {
            inputs: l.shape.inputs,
            outputs: l.shape.outputs,
            activation: l.activation,
            element: l.weights.element(),
        };
        used += postcard::to_slice(&record, &mut table[used..])
            .map_err(|_| Error::Malformed)?
            .len();
    }
    let total = align_up(HEADER_LEN + used, PARAMS_ALIGN)
        .checked_add(params)
        .filter(|&t| t - HEADER_LEN <= u32::MAX as usize)
        .ok_or(Error::BadLength { layer: 0 })?;
    Ok((used, total))
}

/// The size in bytes of the blob that [`encode`] writes for `layers`, after validating them.
pub fn encoded_len(layers: &[LayerSpec<'_>]) -> Result<usize> {
    plan(layers, &mut [0; TABLE_MAX]).map(|(_, total)| total)
}

/// Writes the blob for `layers` into the start of `out` and returns its length.
///
/// Fails, writing nothing, when the layers are empty or too many, do not chain, have
/// parameter counts that disagree with their shapes, or hold NaN or infinite values, and
/// with [`Error::BufferTooSmall`] when `out` is shorter than [`encoded_len`].
pub fn encode(layers: &[LayerSpec<'_>], out: &mut [u8]) -> Result<usize> {
    let mut table = [0; TABLE_MAX];
    let (table_len, total) = plan(layers, &mut table)?;
    let Some(out) = out.get_mut(..total) else {
        return Err(Error::BufferTooSmall {
            needed: total,
            available: out.len(),
        });
    };
    out.fill(0);
    out[0..4].copy_from_slice(&MAGIC);
    out[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[8..12].copy_from_slice(&((total - HEADER_LEN) as u32).to_le_bytes());
    out[HEADER_LEN..HEADER_LEN + table_len].copy_from_slice(&table[..table_len]);
    let mut at = align_up(HEADER_LEN + table_len, PARAMS_ALIGN);
    fn put(out: &mut [u8], at: &mut usize, values: &[f32]) {
        for v in values {
            out[*at..*at + 4].copy_from_slice(&v.to_le_bytes());
            *at += 4;
        }
    }
    for l in layers {
        match l.weights {
            Weights::F32(w) => {
                put(out, &mut at, w);
                put(out, &mut at, l.biases);
            }
            Weights::I8 {
                values,
                scales,
                input_divisor,
                output_divisor,
                form,
            } => {
                let inputs = l.shape.inputs as usize;
                if form == I8Form::Pairs {
                    // Input 2k + h of output 2m + g at byte g + 2h of word m of column k,
                    // an even output's weight plus 128 (the padding: weight 0).
                    let column = pair_column(l.shape.outputs as usize).unwrap_or(0);
                    let bytes = inputs.div_ceil(2) * column;
                    for (k, b) in out[at..at + bytes].iter_mut().enumerate() {
                        *b = if k.is_multiple_of(2) { 0x80 } else { 0 };
                    }
                    for (j, row) in values.chunks_exact(inputs).enumerate() {
                        let offset = if j.is_multiple_of(2) { -128 } else { 0 };
                        for (i, &q) in row.iter().enumerate() {
                            let byte = (i / 2) * column + 4 * (j / 2) + (j & 1) + 2 * (i & 1);
                            out[at + byte] = (q ^ offset).to_le_bytes()[0];
                        }
                    }
                    at += bytes;
                } else if form == I8Form::Wide {
                    at += put_wide(&mut out[at..], values, l.shape);
                } else if form == I8Form::OutputPairs {
                    at += put_out_pairs(&mut out[at..], values, l.shape);
                } else {
                    let stride = quant_stride(inputs).unwrap_or(inputs);
                    for row in values.chunks_exact(inputs) {
                        for (o, &q) in out[at..at + inputs].iter_mut().zip(row) {
                            *o = q.to_le_bytes()[0];
                        }
                        at += stride; // the padding stays zero
                    }
                }
                put(out, &mut at, l.biases);
                put(out, &mut at, scales);
                put(out, &mut at, &[input_divisor, output_divisor]);
                if matches!(form, I8Form::SoftFloat | I8Form::OutputPairs) {
                    let sigmoid = l.activation == Activation::Sigmoid;
                    for (&s, &b) in scales.iter().zip(l.biases) {
                        for w in soft_float_words(s, b, input_divisor, sigmoid) {
                            out[at..at + 4].copy_from_slice(&w.to_le_bytes());
                            at += 4;
                        }
                    }
                }
            }
            Weights::TfliteI8(t) | Weights::TfliteI8Wide(t) => {
                let inputs = l.shape.inputs as usize;
                if matches!(l.weights, Weights::TfliteI8Wide(_)) {
                    at += put_wide(&mut out[at..], t.values, l.shape);
                } else {
                    let stride = quant_stride(inputs).unwrap_or(inputs);
                    for row in t.values.chunks_exact(inputs) {
                        for (o, &q) in out[at..at + inputs].iter_mut().zip(row) {
                            *o = q.to_le_bytes()[0];
                        }
                        at += stride;
                    }
                }
                let mut put_i32 = |v: i32| {
                    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
                    at += 4;
                };
                // Checked by `plan`: no bias overflows.
                folded_biases(&t, inputs).for_each(|b| put_i32(b.unwrap_or(0)));
                t.multipliers
                    .iter()
                    .chain(t.shifts)
                    .for_each(|&v| put_i32(v));
                let io = [
                    t.input_zero_point,
                    t.input_scale.to_bits() as i32,
                    t.output_zero_point,
                    t.output_scale.to_bits() as i32,
                    i32::from(t.clamp.0),
                    i32::from(t.clamp.1),
                ];
                io.into_iter().for_each(&mut put_i32);
                let (zp, scale) = t.final_output();
                match t.activation {
                    TfliteActivation::None => {}
                    TfliteActivation::Logistic { table, .. } => {
                        put_i32(zp);
                        put_i32(scale.to_bits() as i32);
                        for &v in table {
                            out[at] = v.to_le_bytes()[0];
                            at += 1;
                        }
                    }
                    TfliteActivation::Softmax { exps, .. } => {
                        put_i32(zp);
                        put_i32(scale.to_bits() as i32);
                        exps.iter().for_each(|&v| put_i32(v));
                    }
                }
            }
        }
    }
    let crc = crc32(&out[HEADER_LEN..]);
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(total)
}
