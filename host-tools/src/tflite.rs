//! Reading TensorFlow Lite models (`.tflite`): the multilayer perceptrons among them become
//! scratchnet layers.
//!
//! The file is a FlatBuffer of TFLite's schema (`tensorflow/compiler/mlir/lite/schema/
//! schema.fbs`). It is first checked whole by the `flatbuffers` crate's `Verifier` (every
//! offset inside the file, depth and table-count limits, so truncated files, offsets out of
//! range, cycles and huge vectors are refused), against the tables and fields read here;
//! then the fields are read by the small, bounds-checked reader below (no `unsafe`, no
//! panics). Nothing in the file is executed.
//!
//! Supported: one subgraph whose operators are a chain from its one input to its one
//! output: `FULLY_CONNECTED` (int8 weights per tensor or per channel with int32 biases and
//! int8 activations; or f32), fused or separate `RELU`, `RELU6`, `RELU_N1_TO_1` (int8),
//! `LOGISTIC` and `SOFTMAX` after a layer, `RESHAPE`, and `QUANTIZE` / `DEQUANTIZE` at the
//! ends. Anything else is refused by name.

use flatbuffers::{ForwardsUOffset, InvalidFlatbuffer, Vector, Verifiable, Verifier};
use scratchnet::tflite::{logistic_table, quantize_multiplier, softmax_exps};
use scratchnet::{Activation, LayerSpec, Shape, TfliteActivation, TfliteSpec, Weights};
use std::fmt;

/// A `.tflite` file this reader cannot turn into layers, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TfliteError(pub String);

impl fmt::Display for TfliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TfliteError {}

fn fail<T>(message: impl Into<String>) -> Result<T, TfliteError> {
    Err(TfliteError(message.into()))
}

/// `true` when `bytes` look like a TFLite FlatBuffer (file identifier `TFL3` at byte 4).
pub fn is_tflite(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(b"TFL3")
}

// The operators this reader knows (TFLite's BuiltinOperator codes).
const DEQUANTIZE: i32 = 6;
const FULLY_CONNECTED: i32 = 9;
const LOGISTIC: i32 = 14;
const RELU: i32 = 19;
const RELU_N1_TO_1: i32 = 20;
const RELU6: i32 = 21;
const RESHAPE: i32 = 22;
const SOFTMAX: i32 = 25;
const QUANTIZE: i32 = 114;

/// What `convert` accepts, for messages.
pub const SUPPORTED: &str = "FULLY_CONNECTED, RELU, RELU6, RELU_N1_TO_1, LOGISTIC, SOFTMAX, RESHAPE, QUANTIZE/DEQUANTIZE at the ends";

/// A name for a BuiltinOperator code (the common ones; others by number).
fn op_name(code: i32) -> String {
    let known = [
        (0, "ADD"),
        (1, "AVERAGE_POOL_2D"),
        (2, "CONCATENATION"),
        (3, "CONV_2D"),
        (4, "DEPTHWISE_CONV_2D"),
        (DEQUANTIZE, "DEQUANTIZE"),
        (FULLY_CONNECTED, "FULLY_CONNECTED"),
        (LOGISTIC, "LOGISTIC"),
        (16, "LSTM"),
        (17, "MAX_POOL_2D"),
        (18, "MUL"),
        (RELU, "RELU"),
        (RELU_N1_TO_1, "RELU_N1_TO_1"),
        (RELU6, "RELU6"),
        (RESHAPE, "RESHAPE"),
        (SOFTMAX, "SOFTMAX"),
        (28, "TANH"),
        (40, "MEAN"),
        (QUANTIZE, "QUANTIZE"),
    ];
    known
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(format!("builtin operator {code}"), |(_, n)| n.to_string())
}

// ---- Verification: the tables and fields read below, as the schema types them. ----

macro_rules! table {
    ($name:ident => $($field:literal $slot:literal : $ty:ty),* $(,)?) => {
        struct $name;
        impl Verifiable for $name {
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                v.visit_table(pos)?
                    $(.visit_field::<$ty>($field, $slot, false)?)*
                    .finish();
                Ok(())
            }
        }
    };
}

type Vec_<T> = ForwardsUOffset<Vector<'static, T>>;
type Tables<T> = ForwardsUOffset<Vector<'static, ForwardsUOffset<T>>>;

table!(FbQuantization => "scale" 8: Vec_<f32>, "zero_point" 10: Vec_<i64>, "quantized_dimension" 16: i32);
table!(FbTensor => "shape" 4: Vec_<i32>, "type" 6: i8, "buffer" 8: u32, "name" 10: ForwardsUOffset<&str>,
    "quantization" 12: ForwardsUOffset<FbQuantization>);
table!(FbFullyConnectedOptions => "fused_activation_function" 4: i8, "weights_format" 6: i8, "keep_num_dims" 8: bool);
table!(FbSoftmaxOptions => "beta" 4: f32);
table!(FbOperatorCode => "deprecated_builtin_code" 4: i8, "custom_code" 6: ForwardsUOffset<&str>, "builtin_code" 10: i32);
table!(FbSubGraph => "tensors" 4: Tables<FbTensor>, "inputs" 6: Vec_<i32>, "outputs" 8: Vec_<i32>,
    "operators" 10: Tables<FbOperator>);
table!(FbBuffer => "data" 4: Vec_<u8>, "offset" 6: u64, "size" 8: u64);
table!(FbModel => "version" 4: u32, "operator_codes" 6: Tables<FbOperatorCode>,
    "subgraphs" 8: Tables<FbSubGraph>, "buffers" 12: Tables<FbBuffer>);

struct FbOperator;
impl Verifiable for FbOperator {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<u32>("opcode_index", 4, false)?
            .visit_field::<Vec_<i32>>("inputs", 6, false)?
            .visit_field::<Vec_<i32>>("outputs", 8, false)?
            .visit_union::<u8, _>(
                "builtin_options_type",
                10,
                "builtin_options",
                12,
                false,
                |key, v, pos| match key {
                    8 => v.verify_union_variant::<ForwardsUOffset<FbFullyConnectedOptions>>(
                        "FullyConnectedOptions",
                        pos,
                    ),
                    9 => v.verify_union_variant::<ForwardsUOffset<FbSoftmaxOptions>>(
                        "SoftmaxOptions",
                        pos,
                    ),
                    // Other operators' options are not read; they are refused by name.
                    _ => Ok(()),
                },
            )?
            .finish();
        Ok(())
    }
}

// ---- Reading: bounds-checked, after verification. ----

type Read<T> = Result<T, TfliteError>;

fn bytes_at<const N: usize>(buf: &[u8], at: usize) -> Read<[u8; N]> {
    at.checked_add(N)
        .and_then(|end| buf.get(at..end))
        .and_then(|b| b.try_into().ok())
        .map_or_else(|| fail(format!("offset {at} lies outside the file")), Ok)
}

fn u32_at(buf: &[u8], at: usize) -> Read<u32> {
    bytes_at::<4>(buf, at).map(u32::from_le_bytes)
}

/// A table at `pos`.
#[derive(Clone, Copy)]
struct Table<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl<'b> Table<'b> {
    /// The position of the field in vtable slot `slot` (4, 6, …), if present.
    fn field(&self, slot: usize) -> Read<Option<usize>> {
        let soffset = i32::from_le_bytes(bytes_at::<4>(self.buf, self.pos)?);
        let Some(vt) = (self.pos as i64)
            .checked_sub(i64::from(soffset))
            .and_then(|v| usize::try_from(v).ok())
        else {
            return fail("a vtable lies outside the file");
        };
        let vt_len = usize::from(u16::from_le_bytes(bytes_at::<2>(self.buf, vt)?));
        if slot + 2 > vt_len {
            return Ok(None);
        }
        let off = usize::from(u16::from_le_bytes(bytes_at::<2>(self.buf, vt + slot)?));
        Ok((off != 0).then_some(self.pos + off))
    }

    fn scalar<const N: usize>(&self, slot: usize) -> Read<Option<[u8; N]>> {
        match self.field(slot)? {
            Some(at) => bytes_at::<N>(self.buf, at).map(Some),
            None => Ok(None),
        }
    }

    fn i32(&self, slot: usize, default: i32) -> Read<i32> {
        Ok(self.scalar::<4>(slot)?.map_or(default, i32::from_le_bytes))
    }

    fn u32(&self, slot: usize, default: u32) -> Read<u32> {
        Ok(self.scalar::<4>(slot)?.map_or(default, u32::from_le_bytes))
    }

    fn i8(&self, slot: usize, default: i8) -> Read<i8> {
        Ok(self.scalar::<1>(slot)?.map_or(default, i8::from_le_bytes))
    }

    fn u64(&self, slot: usize) -> Read<u64> {
        Ok(self.scalar::<8>(slot)?.map_or(0, u64::from_le_bytes))
    }

    fn f32(&self, slot: usize, default: f32) -> Read<f32> {
        Ok(self.scalar::<4>(slot)?.map_or(default, f32::from_le_bytes))
    }

    /// The position the offset field in `slot` points to.
    fn target(&self, slot: usize) -> Read<Option<usize>> {
        match self.field(slot)? {
            Some(at) => {
                let to = at.checked_add(u32_at(self.buf, at)? as usize);
                to.map(Some).map_or_else(|| fail("an offset overflows"), Ok)
            }
            None => Ok(None),
        }
    }

    fn table(&self, slot: usize) -> Read<Option<Table<'b>>> {
        Ok(self.target(slot)?.map(|pos| Table { buf: self.buf, pos }))
    }

    /// The vector in `slot` (empty when absent), of elements `size` bytes wide.
    fn vector(&self, slot: usize, size: usize) -> Read<Vect<'b>> {
        let Some(at) = self.target(slot)? else {
            return Ok(Vect {
                buf: self.buf,
                start: 0,
                len: 0,
                size,
            });
        };
        let len = u32_at(self.buf, at)? as usize;
        let start = at + 4;
        if len
            .checked_mul(size)
            .and_then(|n| n.checked_add(start))
            .is_none_or(|end| end > self.buf.len())
        {
            return fail(format!(
                "a vector of {len} elements runs past the end of the file"
            ));
        }
        Ok(Vect {
            buf: self.buf,
            start,
            len,
            size,
        })
    }
}

/// A vector of `len` elements of `size` bytes at `start` (checked to lie in the file).
#[derive(Clone, Copy)]
struct Vect<'b> {
    buf: &'b [u8],
    start: usize,
    len: usize,
    size: usize,
}

impl<'b> Vect<'b> {
    fn bytes(&self) -> &'b [u8] {
        &self.buf[self.start..self.start + self.len * self.size]
    }
    fn i32s(&self) -> Vec<i32> {
        self.bytes()
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
    fn f32s(&self) -> Vec<f32> {
        self.bytes()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
    fn i64s(&self) -> Vec<i64> {
        self.bytes()
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect()
    }
    fn table(&self, i: usize) -> Read<Table<'b>> {
        let at = self.start + 4 * i;
        let pos = at
            .checked_add(u32_at(self.buf, at)? as usize)
            .map_or_else(|| fail("an offset overflows"), Ok)?;
        Ok(Table { buf: self.buf, pos })
    }
    fn tables(&self) -> Read<Vec<Table<'b>>> {
        (0..self.len).map(|i| self.table(i)).collect()
    }
}

// ---- The model, as the converter needs it. ----

/// A tensor's element type (TFLite's TensorType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// FLOAT32.
    F32,
    /// INT32.
    I32,
    /// INT8.
    I8,
    /// Any other type, by its code.
    Other(i8),
}

impl Element {
    fn of(code: i8) -> Self {
        match code {
            0 => Element::F32,
            2 => Element::I32,
            9 => Element::I8,
            c => Element::Other(c),
        }
    }
    fn name(self) -> String {
        match self {
            Element::F32 => "float32".into(),
            Element::I32 => "int32".into(),
            Element::I8 => "int8".into(),
            Element::Other(c) => format!("type {c}"),
        }
    }
}

/// One tensor of the subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<i32>,
    /// Its element type.
    pub element: Element,
    /// Its scales (one per tensor, or one per channel).
    pub scales: Vec<f32>,
    /// Its zero points.
    pub zero_points: Vec<i64>,
    /// Its constant data, if any.
    pub data: Vec<u8>,
}

impl Tensor {
    fn elements(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
    }

    /// The per-tensor `(scale, zero point)` of an int8 activation tensor.
    fn quantization(&self) -> Read<(f32, i32)> {
        match (self.scales.as_slice(), self.zero_points.as_slice()) {
            ([s], [z]) if s.is_finite() && *s > 0.0 && (-128..=127).contains(z) => {
                Ok((*s, *z as i32))
            }
            _ => fail(format!(
                "tensor '{}' is not quantized per tensor with a positive scale and an int8 zero point",
                self.name
            )),
        }
    }

    fn same_quantization(&self, other: &Tensor) -> bool {
        self.scales == other.scales && self.zero_points == other.zero_points
    }
}

/// One operator: its builtin code, input and output tensor indices (−1: absent), and
/// what its options say.
#[derive(Debug, Clone, PartialEq)]
struct Operator {
    code: i32,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    /// FULLY_CONNECTED's fused activation (ActivationFunctionType), 0 otherwise.
    fused: i8,
    /// FULLY_CONNECTED's weights format (0: DEFAULT).
    weights_format: i8,
    /// SOFTMAX's beta.
    beta: f32,
}

/// The subgraph of a `.tflite` file.
struct Graph {
    tensors: Vec<Tensor>,
    operators: Vec<Operator>,
    input: usize,
    output: usize,
}

fn read_graph(bytes: &[u8]) -> Read<Graph> {
    if !is_tflite(bytes) {
        return fail("not a TensorFlow Lite model (no 'TFL3' identifier at byte 4)");
    }
    let options = flatbuffers::VerifierOptions {
        max_depth: 16,
        max_tables: 100_000,
        ..Default::default()
    };
    let mut verifier = Verifier::new(&options, bytes);
    <ForwardsUOffset<FbModel>>::run_verifier(&mut verifier, 0)
        .map_err(|e| TfliteError(format!("not a valid TFLite FlatBuffer: {e}")))?;

    let model = Table {
        buf: bytes,
        pos: u32_at(bytes, 0)? as usize,
    };
    let codes: Vec<i32> = model
        .vector(6, 4)?
        .tables()?
        .iter()
        .map(|c| {
            let custom = c.field(6)?.is_some();
            let code = c.i32(10, 0)?.max(i32::from(c.i8(4, 0)?));
            Ok(if custom { -1 } else { code })
        })
        .collect::<Read<_>>()?;
    let buffers = model.vector(12, 4)?.tables()?;
    let subgraphs = model.vector(8, 4)?.tables()?;
    let [graph] = subgraphs.as_slice() else {
        return fail(format!(
            "the model has {} subgraphs; one is supported",
            subgraphs.len()
        ));
    };
    let tensors = graph
        .vector(4, 4)?
        .tables()?
        .iter()
        .map(|t| {
            let name = match t.target(10)? {
                Some(at) => {
                    let len = u32_at(bytes, at)? as usize;
                    String::from_utf8_lossy(bytes.get(at + 4..at + 4 + len).unwrap_or(&[]))
                        .into_owned()
                }
                None => String::new(),
            };
            let (scales, zero_points) = match t.table(12)? {
                Some(q) => (q.vector(8, 4)?.f32s(), q.vector(10, 8)?.i64s()),
                None => (vec![], vec![]),
            };
            let buffer = t.u32(8, 0)? as usize;
            let data = match buffers.get(buffer) {
                Some(b) if buffer > 0 => {
                    if b.u64(6)? != 0 || b.u64(8)? != 0 {
                        return fail(format!(
                            "tensor '{name}' keeps its data outside the FlatBuffer (a model over 2 GB); not supported"
                        ));
                    }
                    b.vector(4, 1)?.bytes().to_vec()
                }
                Some(_) => vec![],
                None => {
                    return fail(format!(
                        "tensor '{name}' names buffer {buffer}, which does not exist"
                    ));
                }
            };
            Ok(Tensor {
                name,
                shape: t.vector(4, 4)?.i32s(),
                element: Element::of(t.i8(6, 0)?),
                scales,
                zero_points,
                data,
            })
        })
        .collect::<Read<Vec<_>>>()?;
    let operators = graph
        .vector(10, 4)?
        .tables()?
        .iter()
        .map(|op| {
            let index = op.u32(4, 0)? as usize;
            let Some(&code) = codes.get(index) else {
                return fail(format!(
                    "an operator names code {index}, which does not exist"
                ));
            };
            if code < 0 {
                return fail(format!(
                    "custom operators are not supported (supported: {SUPPORTED})"
                ));
            }
            let options_type = op.scalar::<1>(10)?.map_or(0, |b| b[0]);
            let options = op.table(12)?;
            let (mut fused, mut weights_format, mut beta) = (0, 0, 1.0);
            if let Some(o) = options {
                if code == FULLY_CONNECTED && options_type == 8 {
                    fused = o.i8(4, 0)?;
                    weights_format = o.i8(6, 0)?;
                }
                if code == SOFTMAX && options_type == 9 {
                    beta = o.f32(4, 0.0)?;
                }
            }
            Ok(Operator {
                code,
                inputs: op.vector(6, 4)?.i32s(),
                outputs: op.vector(8, 4)?.i32s(),
                fused,
                weights_format,
                beta,
            })
        })
        .collect::<Read<Vec<_>>>()?;
    let (inputs, outputs) = (graph.vector(6, 4)?.i32s(), graph.vector(8, 4)?.i32s());
    let ([input], [output]) = (inputs.as_slice(), outputs.as_slice()) else {
        return fail(format!(
            "the model has {} inputs and {} outputs; one of each is supported",
            inputs.len(),
            outputs.len()
        ));
    };
    let index = |t: i32| {
        usize::try_from(t)
            .ok()
            .filter(|&t| t < tensors.len())
            .map_or_else(|| fail(format!("tensor index {t} does not exist")), Ok)
    };
    Ok(Graph {
        input: index(*input)?,
        output: index(*output)?,
        operators,
        tensors,
    })
}

/// A layer read from a `.tflite`, owning its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TfliteLayer {
    /// An f32 layer: `W` row-major `inputs × outputs`, `B`, and its activation.
    F32 {
        /// `inputs × outputs`.
        shape: Shape,
        /// Row-major weights.
        weights: Vec<f32>,
        /// Biases.
        biases: Vec<f32>,
        /// The activation.
        activation: Activation,
    },
    /// A TFLite int8 layer.
    I8 {
        /// `inputs × outputs`.
        shape: Shape,
        /// Output-major int8 weights.
        values: Vec<i8>,
        /// int32 biases.
        biases: Vec<i32>,
        /// Per-output multipliers.
        multipliers: Vec<i32>,
        /// Per-output shifts.
        shifts: Vec<i32>,
        /// Input (scale, zero point).
        input: (f32, i32),
        /// Output (scale, zero point).
        output: (f32, i32),
        /// Output clamp.
        clamp: (i8, i8),
        /// Weight scales (one, or one per output), for `inspect`.
        weight_scales: usize,
        /// An int8 LOGISTIC or SOFTMAX after it.
        activation: I8Activation,
    },
}

/// An int8 activation operator folded into the layer before it, tabulated.
#[derive(Debug, Clone, PartialEq)]
pub enum I8Activation {
    /// None.
    None,
    /// LOGISTIC: its table and output (scale, zero point).
    Logistic(Box<[i8; 256]>, (f32, i32)),
    /// SOFTMAX: its exponentials and output (scale, zero point).
    Softmax(Box<[i32; 256]>, (f32, i32)),
}

impl TfliteLayer {
    /// The blob spec borrowing this layer's parameters.
    pub fn spec(&self) -> LayerSpec<'_> {
        match self {
            TfliteLayer::F32 {
                shape,
                weights,
                biases,
                activation,
            } => LayerSpec {
                shape: *shape,
                activation: *activation,
                weights: Weights::F32(weights),
                biases,
            },
            TfliteLayer::I8 {
                shape,
                values,
                biases,
                multipliers,
                shifts,
                input,
                output,
                clamp,
                activation,
                ..
            } => LayerSpec {
                shape: *shape,
                activation: match activation {
                    I8Activation::None => Activation::Identity,
                    I8Activation::Logistic(..) => Activation::Sigmoid,
                    I8Activation::Softmax(..) => Activation::Softmax,
                },
                weights: Weights::TfliteI8(TfliteSpec {
                    values,
                    biases,
                    multipliers,
                    shifts,
                    input_zero_point: input.1,
                    input_scale: input.0,
                    output_zero_point: output.1,
                    output_scale: output.0,
                    clamp: *clamp,
                    activation: match activation {
                        I8Activation::None => TfliteActivation::None,
                        I8Activation::Logistic(table, (scale, zp)) => TfliteActivation::Logistic {
                            table,
                            output_zero_point: *zp,
                            output_scale: *scale,
                        },
                        I8Activation::Softmax(exps, (scale, zp)) => TfliteActivation::Softmax {
                            exps,
                            output_zero_point: *zp,
                            output_scale: *scale,
                        },
                    },
                }),
                biases: &[],
            },
        }
    }
}

/// What a `.tflite` holds, as layers, and what was folded on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The layers, input first.
    pub layers: Vec<TfliteLayer>,
    /// Notes for the summary (QUANTIZE/DEQUANTIZE folded, RESHAPEs skipped).
    pub notes: Vec<String>,
}

/// Reads a `.tflite` MLP into layers: see the module documentation for what is supported.
pub fn import(bytes: &[u8]) -> Result<Imported, TfliteError> {
    let g = read_graph(bytes)?;
    let mut notes = Vec::new();
    let mut layers: Vec<TfliteLayer> = Vec::new();
    let mut current = g.input;
    let last = g.operators.len();
    for (k, op) in g.operators.iter().enumerate() {
        let name = op_name(op.code);
        let tensor = |slot: &[i32], i: usize| -> Read<Option<&Tensor>> {
            match slot.get(i) {
                Some(&t) if t >= 0 => g
                    .tensors
                    .get(t as usize)
                    .map(Some)
                    .map_or_else(|| fail(format!("{name}: tensor {t} does not exist")), Ok),
                _ => Ok(None),
            }
        };
        let Some(&out_index) = op.outputs.first().filter(|_| op.outputs.len() == 1) else {
            return fail(format!("operator {k} ({name}) must have one output"));
        };
        let out = tensor(&op.outputs, 0)?.ok_or(TfliteError(format!("{name}: no output")))?;
        let input_index = op.inputs.first().copied().unwrap_or(-1);
        if input_index != current as i32 {
            return fail(format!(
                "operator {k} ({name}) does not read the previous operator's output: only a chain of layers is supported"
            ));
        }
        let input = tensor(&op.inputs, 0)?.ok_or(TfliteError(format!("{name}: no input")))?;
        match op.code {
            FULLY_CONNECTED => layers.push(fully_connected(
                op,
                input,
                tensor(&op.inputs, 1)?,
                tensor(&op.inputs, 2)?,
                out,
            )?),
            RELU | RELU6 | RELU_N1_TO_1 | LOGISTIC | SOFTMAX => {
                let Some(previous) = layers.last_mut() else {
                    return fail(format!(
                        "{name} before any FULLY_CONNECTED layer is not supported"
                    ));
                };
                fold_activation(previous, op, input, out)?;
            }
            RESHAPE => {
                if input.element != out.element || !input.same_quantization(out) {
                    return fail("RESHAPE that changes type or quantization is not supported");
                }
                notes.push("RESHAPE skipped (dense layers read their inputs flat)".into());
            }
            QUANTIZE if k == 0 && input.element == Element::F32 && out.element == Element::I8 => {
                let (s, z) = out.quantization()?;
                notes.push(format!(
                    "QUANTIZE at the input folded: the model takes int8 inputs q = round(x / {s}) + {z}"
                ));
            }
            DEQUANTIZE
                if k + 1 == last && input.element == Element::I8 && out.element == Element::F32 =>
            {
                let (s, z) = input.quantization()?;
                notes.push(format!(
                    "DEQUANTIZE at the output folded: the model gives int8 outputs q, worth {s} · (q − {z})"
                ));
            }
            QUANTIZE | DEQUANTIZE => {
                return fail(format!(
                    "{name} is supported only at the model's input (QUANTIZE) or output (DEQUANTIZE)"
                ));
            }
            code => {
                return fail(format!(
                    "operator {} is not supported (supported: {SUPPORTED})",
                    op_name(code)
                ));
            }
        }
        current = out_index as usize;
    }
    if current != g.output {
        return fail("the operators do not end at the model's output");
    }
    if layers.is_empty() {
        return fail("the model has no FULLY_CONNECTED layer");
    }
    Ok(Imported { layers, notes })
}

fn dims(t: &Tensor) -> Read<Vec<usize>> {
    t.shape
        .iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
        .collect::<Option<Vec<_>>>()
        .map_or_else(
            || {
                fail(format!(
                    "tensor '{}' has a dimension that is not positive",
                    t.name
                ))
            },
            Ok,
        )
}

fn fully_connected(
    op: &Operator,
    input: &Tensor,
    weights: Option<&Tensor>,
    bias: Option<&Tensor>,
    out: &Tensor,
) -> Read<TfliteLayer> {
    let Some(w) = weights else {
        return fail("FULLY_CONNECTED without weights");
    };
    if op.weights_format != 0 {
        return fail("FULLY_CONNECTED with shuffled weights (weights_format) is not supported");
    }
    let wd = dims(w)?;
    let [outputs, inputs] = wd.as_slice() else {
        return fail(format!("FULLY_CONNECTED weights '{}' are not 2-D", w.name));
    };
    let (inputs, outputs) = (*inputs, *outputs);
    if input.elements() != Some(inputs) && dims(input)?.last() != Some(&inputs) {
        return fail(format!(
            "FULLY_CONNECTED '{}': input '{}' does not have {inputs} values a row",
            out.name, input.name
        ));
    }
    if input.elements().is_some_and(|n| n != inputs) {
        return fail(format!(
            "FULLY_CONNECTED '{}': a batch of inputs in the graph ({:?}) is not supported; one row",
            out.name, input.shape
        ));
    }
    let shape = Shape {
        inputs: u32::try_from(inputs).map_or_else(|_| fail("too many inputs"), Ok)?,
        outputs: u32::try_from(outputs).map_or_else(|_| fail("too many outputs"), Ok)?,
    };
    let n = inputs * outputs;
    match (input.element, w.element, out.element) {
        (Element::F32, Element::F32, Element::F32) => {
            if w.data.len() != 4 * n {
                return fail(format!(
                    "weights '{}' hold {} bytes, not {}",
                    w.name,
                    w.data.len(),
                    4 * n
                ));
            }
            let wt: Vec<f32> = w
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            // TFLite's [out, in] to the book's row-major in × out.
            let weights = (0..n)
                .map(|k| wt[(k % outputs) * inputs + k / outputs])
                .collect();
            let biases = match bias {
                Some(b) if b.element == Element::F32 && b.data.len() == 4 * outputs => b
                    .data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                Some(b) => {
                    return fail(format!("bias '{}' is not {outputs} float32 values", b.name));
                }
                None => vec![0.0; outputs],
            };
            let activation = match op.fused {
                0 => Activation::Identity,
                1 => Activation::Relu,
                f => {
                    return fail(format!(
                        "f32 FULLY_CONNECTED with fused activation {} is not supported (NONE, RELU)",
                        fused_name(f)
                    ));
                }
            };
            Ok(TfliteLayer::F32 {
                shape,
                weights,
                biases,
                activation,
            })
        }
        (Element::I8, Element::I8, Element::I8) => {
            if w.data.len() != n {
                return fail(format!(
                    "weights '{}' hold {} bytes, not {n}",
                    w.name,
                    w.data.len()
                ));
            }
            let values: Vec<i8> = w.data.iter().map(|&b| b as i8).collect();
            let (in_scale, in_zp) = input.quantization()?;
            let (out_scale, out_zp) = out.quantization()?;
            let ws = &w.scales;
            if !(ws.len() == 1 || ws.len() == outputs)
                || ws.iter().any(|s| !(s.is_finite() && *s > 0.0))
            {
                return fail(format!(
                    "weights '{}' need one positive scale, or one per output ({outputs}); they have {}",
                    w.name,
                    ws.len()
                ));
            }
            if w.zero_points.iter().any(|&z| z != 0) {
                return fail(format!(
                    "weights '{}' have a non-zero zero point (TFLite's int8 weights are symmetric)",
                    w.name
                ));
            }
            let biases = match bias {
                Some(b) if b.element == Element::I32 && b.data.len() == 4 * outputs => b
                    .data
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                Some(b) => {
                    return fail(format!(
                        "bias '{}' is not {outputs} int32 values ({})",
                        b.name,
                        b.element.name()
                    ));
                }
                None => vec![0; outputs],
            };
            let mut multipliers = Vec::with_capacity(outputs);
            let mut shifts = Vec::with_capacity(outputs);
            for j in 0..outputs {
                // TFLM: per channel, double(S_in)·double(S_w[j])/double(S_out); per tensor, the
                // product is taken in float first (GetQuantizedConvolutionMultipler).
                let real = if ws.len() == 1 {
                    f64::from(in_scale * ws[0]) / f64::from(out_scale)
                } else {
                    f64::from(in_scale) * f64::from(ws[j]) / f64::from(out_scale)
                };
                let Some((m, s)) = quantize_multiplier(real) else {
                    return fail(format!(
                        "output {j}: the rescale {real} is out of TFLite's range"
                    ));
                };
                multipliers.push(m);
                shifts.push(s);
            }
            let clamp = clamp_of(op.fused, out_scale, out_zp)?;
            Ok(TfliteLayer::I8 {
                shape,
                values,
                biases,
                multipliers,
                shifts,
                input: (in_scale, in_zp),
                output: (out_scale, out_zp),
                clamp,
                weight_scales: ws.len(),
                activation: I8Activation::None,
            })
        }
        (Element::F32, Element::I8, _) => fail(
            "hybrid FULLY_CONNECTED (float32 activations, int8 weights) is not supported: convert with full int8 quantization, or keep float32 weights",
        ),
        (i, wt, o) => fail(format!(
            "FULLY_CONNECTED with {} input, {} weights and {} output is not supported (all float32, or all int8)",
            i.name(),
            wt.name(),
            o.name()
        )),
    }
}

fn fused_name(f: i8) -> &'static str {
    match f {
        0 => "NONE",
        1 => "RELU",
        2 => "RELU_N1_TO_1",
        3 => "RELU6",
        4 => "TANH",
        5 => "SIGN_BIT",
        _ => "unknown",
    }
}

/// TFLite's `CalculateActivationRangeQuantized` for int8: the clamp of a fused activation.
fn clamp_of(fused: i8, scale: f32, zp: i32) -> Read<(i8, i8)> {
    // Quantize(x) = zp + (int)round(x / scale), in float as TFLite computes it.
    let q = |x: f32| zp + (x / scale).round() as i32;
    let (lo, hi) = match fused {
        0 => (-128, 127),
        1 => (q(0.0).max(-128), 127),
        2 => (q(-1.0).max(-128), q(1.0).min(127)),
        3 => (q(0.0).max(-128), q(6.0).min(127)),
        f => {
            return fail(format!(
                "fused activation {} is not supported (NONE, RELU, RELU_N1_TO_1, RELU6)",
                fused_name(f)
            ));
        }
    };
    if lo > hi {
        return fail("the fused activation's range is empty for this output quantization");
    }
    Ok((lo as i8, hi as i8))
}

/// A separate activation operator after a layer, folded into it.
fn fold_activation(
    layer: &mut TfliteLayer,
    op: &Operator,
    input: &Tensor,
    out: &Tensor,
) -> Read<()> {
    let name = op_name(op.code);
    match layer {
        TfliteLayer::F32 { activation, .. } => {
            if *activation != Activation::Identity {
                return fail(format!(
                    "{name} after a layer that already has an activation"
                ));
            }
            *activation = match op.code {
                RELU => Activation::Relu,
                LOGISTIC => Activation::Sigmoid,
                SOFTMAX if op.beta == 1.0 => Activation::Softmax,
                SOFTMAX => {
                    return fail(format!(
                        "SOFTMAX with beta {} is not supported (1.0)",
                        op.beta
                    ));
                }
                _ => {
                    return fail(format!(
                        "f32 {name} is not supported (RELU, LOGISTIC, SOFTMAX)"
                    ));
                }
            };
            Ok(())
        }
        TfliteLayer::I8 {
            clamp,
            output,
            activation,
            ..
        } => {
            if *activation != I8Activation::None {
                return fail(format!(
                    "{name} after a layer that already has LOGISTIC or SOFTMAX"
                ));
            }
            if matches!(op.code, LOGISTIC | SOFTMAX) {
                let (in_scale, in_zp) = input.quantization()?;
                let (out_scale, out_zp) = out.quantization()?;
                if out_zp != -128 {
                    return fail(format!(
                        "int8 {name} needs an output zero point of -128 (TFLite's); it is {out_zp}"
                    ));
                }
                *activation = if op.code == LOGISTIC {
                    let Some(table) = logistic_table(in_scale, in_zp) else {
                        return fail(format!(
                            "int8 LOGISTIC with input scale {in_scale} is outside what TFLite prepares"
                        ));
                    };
                    I8Activation::Logistic(Box::new(table), (out_scale, out_zp))
                } else {
                    if out_scale != 1.0 / 256.0 {
                        return fail(format!(
                            "int8 SOFTMAX needs an output scale of 1/256 (TFLite's); it is {out_scale}"
                        ));
                    }
                    let Some(exps) = softmax_exps(in_scale, op.beta) else {
                        return fail(format!(
                            "int8 SOFTMAX with beta {} and input scale {in_scale} is outside what TFLite prepares",
                            op.beta
                        ));
                    };
                    I8Activation::Softmax(Box::new(exps), (out_scale, out_zp))
                };
                return Ok(());
            }

            if !input.same_quantization(out) {
                return fail(format!(
                    "int8 {name} that rescales (input and output quantization differ) is not supported"
                ));
            }
            let fused = match op.code {
                RELU => 1,
                RELU_N1_TO_1 => 2,
                _ => 3,
            };
            let (lo, hi) = clamp_of(fused, output.0, output.1)?;
            *clamp = (clamp.0.max(lo), clamp.1.min(hi));
            if clamp.0 > clamp.1 {
                return fail(format!("{name}: the combined clamp is empty"));
            }
            Ok(())
        }
    }
}
