//! The model blob: a versioned, checksummed container for a stack of dense layers, read in
//! place (the parameters are never copied).
//!
//! # Byte layout (format version 2)
//!
//! All integers in the header are little-endian.
//!
//! | offset | size | field                                                           |
//! |--------|------|-----------------------------------------------------------------|
//! | 0      | 4    | magic `SCNT`                                                    |
//! | 4      | 2    | format version, `2`                                             |
//! | 6      | 2    | reserved, `0`                                                   |
//! | 8      | 4    | payload length `P`: the blob is exactly `16 + P` bytes           |
//! | 12     | 4    | CRC-32 (IEEE, as `zlib.crc32`) of the `P` payload bytes          |
//! | 16     | …    | payload: layer table, padding, parameters                       |
//!
//! The **layer table** is postcard: the layer count as a varint, then per layer
//! `inputs` (varint u32), `outputs` (varint u32), `activation` (varint: identity 0, step 1,
//! sigmoid 2, ReLU 3, softmax 4) and `element` (varint: f32 0, int8 1).
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
//!   `u = round(h(A)·d_out)`, at most 255; 255 for sigmoid, calibrated for ReLU). Version 1
//!   had no divisors (255 implied).
//!
//! Every array starts at a multiple of 4 bytes from the start of the blob, so a blob placed
//! at a word-aligned address in flash has word-aligned parameters. Nothing follows the last
//! array.
//!
//! [`Model::from_bytes`] checks all of this, the CRC, that every layer's inputs equal the
//! previous layer's outputs, and that every parameter is finite, once; inference after that
//! cannot fail.

use crate::activation::Activation;
use crate::crc32::crc32;
use crate::error::{Error, Result, Shape};
use crate::params::Params;
use serde::{Deserialize, Serialize};

/// The first four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"SCNT";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 2;
/// The size of the fixed header.
pub const HEADER_LEN: usize = 16;
/// The most layers a blob may hold.
pub const MAX_LAYERS: usize = 8;
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
    /// documentation); biases stay f32.
    I8,
}

impl ElementType {
    /// Bytes per stored value.
    pub const fn size(self) -> usize {
        match self {
            ElementType::F32 => 4,
            ElementType::I8 => 1,
        }
    }

    /// The type's name, as `inspect` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            ElementType::F32 => "f32",
            ElementType::I8 => "int8",
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

/// One validated layer of a [`Model`], its parameters borrowed from the blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelLayer<'a> {
    shape: Shape,
    activation: Activation,
    element: ElementType,
    weights: Params<'a>,
    biases: Params<'a>,
    quantized: Option<QuantizedWeights<'a>>,
}

/// The int8 weights of a layer: `W[i][j] ≈ rows[j·stride + i] · scales[j]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizedWeights<'a> {
    /// Output-major rows of `stride` values; the values past `inputs` are zero.
    pub rows: &'a [i8],
    /// Row length: `inputs` rounded up to a multiple of 4.
    pub stride: usize,
    /// The scales (one per output), then the input and output divisors, as stored.
    scales_and_divisors: Params<'a>,
}

impl<'a> QuantizedWeights<'a> {
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

    /// The outputs' divisor: a hidden output is stored as `round(h(A)·output_divisor)`.
    pub fn output_divisor(&self) -> f32 {
        let n = self.scales_and_divisors.len();
        self.scales_and_divisors
            .get(n.wrapping_sub(1))
            .unwrap_or(255.0)
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
    /// `W`, `inputs × outputs` values, row-major (empty for an int8 layer: see
    /// [`quantized`](Self::quantized)).
    pub const fn weights(&self) -> Params<'a> {
        self.weights
    }
    /// The int8 weights and their scales, for an int8 layer.
    pub const fn quantized(&self) -> Option<QuantizedWeights<'a>> {
        self.quantized
    }
    /// `B`, `outputs` values.
    pub const fn biases(&self) -> Params<'a> {
        self.biases
    }
}

/// A validated model blob: up to [`MAX_LAYERS`] dense layers whose parameters stay where
/// the blob's bytes are (in flash, on a microcontroller).
#[derive(Debug, Clone, PartialEq)]
pub struct Model<'a> {
    layers: heapless::Vec<ModelLayer<'a>, MAX_LAYERS>,
    crc: u32,
    len: usize,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

const fn align_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Bytes of `W`, `B` and the scales for a layer, or `None` on overflow.
fn param_bytes(shape: Shape, element: ElementType) -> Option<(usize, usize, usize)> {
    let n_in = usize::try_from(shape.inputs).ok()?;
    let n_out = usize::try_from(shape.outputs).ok()?;
    let b = n_out.checked_mul(4)?;
    Some(match element {
        ElementType::F32 => (n_in.checked_mul(n_out)?.checked_mul(4)?, b, 0),
        // The scales, then the two divisors.
        ElementType::I8 => (
            n_out.checked_mul(quant_stride(n_in)?)?,
            b,
            b.checked_add(8)?,
        ),
    })
}

/// The row length of int8 weights: `inputs` rounded up to a multiple of 4.
pub(crate) fn quant_stride(inputs: usize) -> Option<usize> {
    Some(inputs.checked_add(3)? / 4 * 4)
}

impl<'a> Model<'a> {
    /// Validates a blob and returns a view of it. Checks, in order: the header's size, the
    /// magic, the version, the reserved field, the declared length, the CRC, the layer
    /// table, the padding, that the layers chain, and that every parameter is finite.
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

        let (count, mut rest) =
            postcard::take_from_bytes::<u32>(&blob[HEADER_LEN..]).map_err(|_| Error::Malformed)?;
        let count = count as usize;
        if count == 0 || count > MAX_LAYERS {
            return Err(Error::LayerCount {
                found: count,
                max: MAX_LAYERS,
            });
        }
        let mut records = heapless::Vec::<LayerRecord, MAX_LAYERS>::new();
        for _ in 0..count {
            let (record, tail) =
                postcard::take_from_bytes::<LayerRecord>(rest).map_err(|_| Error::Malformed)?;
            rest = tail;
            // Cannot fail: count ≤ MAX_LAYERS.
            records.push(record).map_err(|_| Error::Malformed)?;
        }
        let table_end = blob.len() - rest.len();
        let params_start = align_up(table_end, PARAMS_ALIGN);
        let padding = blob.get(table_end..params_start).ok_or(Error::Truncated {
            needed: params_start,
            found: blob.len(),
        })?;
        if padding.iter().any(|&b| b != 0) {
            return Err(Error::Malformed);
        }

        let mut layers = heapless::Vec::new();
        let mut at = params_start;
        let mut previous: Option<u32> = None;
        for (index, r) in records.iter().enumerate() {
            let shape = Shape {
                inputs: r.inputs,
                outputs: r.outputs,
            };
            if let Some(previous_outputs) = previous
                && previous_outputs != r.inputs
            {
                return Err(Error::LayersDoNotChain {
                    layer: index,
                    previous_outputs,
                    inputs: r.inputs,
                });
            }
            previous = Some(r.outputs);
            if r.inputs == 0 || r.outputs == 0 {
                return Err(Error::BadLength { layer: index });
            }
            let bad_length = Error::BadLength { layer: index };
            let (w_len, b_len, s_len) = param_bytes(shape, r.element).ok_or(bad_length)?;
            let w_end = at.checked_add(w_len).ok_or(bad_length)?;
            let b_end = w_end.checked_add(b_len).ok_or(bad_length)?;
            let s_end = b_end.checked_add(s_len).ok_or(bad_length)?;
            let too_short = Error::Truncated {
                needed: s_end,
                found: blob.len(),
            };
            let weights = blob.get(at..w_end).ok_or(too_short)?;
            let biases = blob.get(w_end..b_end).ok_or(too_short)?;
            let scales = blob.get(b_end..s_end).ok_or(too_short)?;
            let biases = Params::from_le_bytes(biases).ok_or(bad_length)?;
            let (weights, quantized) = match r.element {
                ElementType::F32 => (Params::from_le_bytes(weights).ok_or(bad_length)?, None),
                ElementType::I8 => {
                    let stride = quant_stride(r.inputs as usize).ok_or(bad_length)?;
                    // Row padding must be zero: kernels read rows four values at a time.
                    if weights
                        .chunks_exact(stride)
                        .any(|row| row[r.inputs as usize..].iter().any(|&b| b != 0))
                    {
                        return Err(Error::Malformed);
                    }
                    let scales = Params::from_le_bytes(scales).ok_or(bad_length)?;
                    // The scales, then the two divisors: all finite and positive.
                    if let Some(i) = scales.iter().position(|s| !(s.is_finite() && s > 0.0)) {
                        return Err(Error::NotFinite {
                            layer: index,
                            index: biases.len() + i,
                        });
                    }
                    let q = QuantizedWeights {
                        rows: &[],
                        stride,
                        scales_and_divisors: scales,
                    };
                    // Sigmoid's u8 outputs come from a table of round(255·sigmoid).
                    if r.activation == Activation::Sigmoid && q.output_divisor() != 255.0 {
                        return Err(Error::Malformed);
                    }
                    let q = QuantizedWeights {
                        rows: bytemuck::cast_slice::<u8, i8>(weights),
                        ..q
                    };
                    (Params::from_f32(&[]), Some(q))
                }
            };
            let layer = ModelLayer {
                shape,
                activation: r.activation,
                element: r.element,
                weights,
                biases,
                quantized,
            };
            if let Some(i) = layer
                .weights
                .iter()
                .chain(layer.biases.iter())
                .position(|v| !v.is_finite())
            {
                return Err(Error::NotFinite {
                    layer: index,
                    index: i,
                });
            }
            layers.push(layer).map_err(|_| Error::Malformed)?;
            at = s_end;
        }
        if at != blob.len() {
            return Err(Error::TrailingBytes {
                expected: at,
                found: blob.len(),
            });
        }
        Ok(Model {
            layers,
            crc: stored,
            len: blob.len(),
        })
    }

    /// The layers, input first.
    pub fn layers(&self) -> &[ModelLayer<'a>] {
        &self.layers
    }

    /// The CRC-32 of the payload (verified).
    pub const fn crc(&self) -> u32 {
        self.crc
    }

    /// The blob's size in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a valid blob has at least one layer.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Inputs of the first layer.
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.shape.inputs as usize)
    }

    /// Outputs of the last layer.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.shape.outputs as usize)
    }

    /// Floats of scratch that [`Model::logits`] needs: twice the widest hidden layer (the
    /// hidden activations ping-pong between two halves).
    pub fn scratch_len(&self) -> usize {
        let n = self.layers.len();
        2 * self.layers[..n.saturating_sub(1)]
            .iter()
            .map(|l| l.shape.outputs as usize)
            .max()
            .unwrap_or(0)
    }

    /// The number of parameters (weights and biases) over all layers.
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (l.shape.inputs as usize) * (l.shape.outputs as usize) + l.biases.len())
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
    },
}

impl Weights<'_> {
    fn element(&self) -> ElementType {
        match self {
            Weights::F32(_) => ElementType::F32,
            Weights::I8 { .. } => ElementType::I8,
        }
    }
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
        let (w, b, s) = param_bytes(l.shape, l.weights.element()).ok_or(bad_length)?;
        let n = (l.shape.inputs as usize) * (l.shape.outputs as usize);
        if l.shape.inputs == 0 || l.shape.outputs == 0 || l.biases.len() * 4 != b {
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
            } => {
                if values.len() != n || scales.len() * 4 + 8 != s {
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
            } => {
                let inputs = l.shape.inputs as usize;
                let stride = quant_stride(inputs).unwrap_or(inputs);
                for row in values.chunks_exact(inputs) {
                    for (o, &q) in out[at..at + inputs].iter_mut().zip(row) {
                        *o = q.to_le_bytes()[0];
                    }
                    at += stride; // the padding stays zero
                }
                put(out, &mut at, l.biases);
                put(out, &mut at, scales);
                put(out, &mut at, &[input_divisor, output_divisor]);
            }
        }
    }
    let crc = crc32(&out[HEADER_LEN..]);
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(total)
}
