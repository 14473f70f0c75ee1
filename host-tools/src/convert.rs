//! From the book's pickled weights to a scratchnet model blob.

use crate::pickle::{self, Array, ArrayDict, PickleError};
use scratchnet::{Activation, I8Form, LayerSpec, MAX_LAYERS, Shape, Weights};
use std::path::Path;

/// What went wrong converting a pickle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The pickle itself could not be read.
    #[error(transparent)]
    Pickle(#[from] PickleError),
    /// A key the network needs is absent.
    #[error("missing key '{key}' (the file has: {found})")]
    MissingKey {
        /// The absent key.
        key: String,
        /// The array keys present, comma-separated.
        found: String,
    },
    /// An array has the wrong shape.
    #[error("'{key}' has shape {found}, expected {expected}")]
    BadShape {
        /// The key of the array.
        key: String,
        /// What the chain of layers requires.
        expected: String,
        /// What the pickle holds.
        found: String,
    },
    /// The pickle holds no `W1`.
    #[error("no layers: the file has no 'W1' (it has: {found})")]
    NoLayers {
        /// The array keys present, comma-separated.
        found: String,
    },
    /// The top level holds no arrays, only other entries (a dict nested inside?).
    #[error(
        "no arrays at the top level, only: {found} (a dict nested inside?). convert takes the \
         dict of arrays itself, as the book saves it: pickle.dump(network.params)"
    )]
    Nested {
        /// The entries present.
        found: String,
    },
    /// An array that is not a weight or bias of the chain.
    #[error("'{key}' is not a layer's weight or bias: {hint}")]
    UnknownArray {
        /// The array's name.
        key: String,
        /// What to do about it.
        hint: String,
    },
    /// A tensor whose name does not fit the naming scheme.
    #[error("tensor '{name}' does not fit the scheme {expected}")]
    BadName {
        /// The tensor's name.
        name: String,
        /// The scheme.
        expected: String,
    },
    /// More layers than a blob holds.
    #[error("{found} layers; a model has at most {max}")]
    TooManyLayers {
        /// Layers in the file.
        found: usize,
        /// The blob format's limit.
        max: usize,
    },
    /// The activations do not fit the layers or the precision.
    #[error("{0}")]
    Activations(String),
    /// A container (.npz, .safetensors) that cannot be read.
    #[error("{0}")]
    Container(String),
    /// A file that is not a model's weights.
    #[error("{0}")]
    WrongInput(String),
    /// A `.tflite` this converter cannot read or does not support.
    #[error(transparent)]
    Tflite(#[from] crate::tflite::TfliteError),
    /// The core refused the layers.
    #[error("cannot write the blob: {0}")]
    Blob(scratchnet::Error),
    /// Writing the output file failed.
    #[error("cannot write {path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause (in the message, so not also a `source()`: printed once).
        cause: std::io::Error,
    },
}

/// A converted model: the blob and what went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The blob's bytes.
    pub blob: Vec<u8>,
    /// Each layer's shape and activation.
    pub layers: Vec<(Shape, Activation)>,
    /// Weights and biases in all.
    pub parameters: usize,
    /// The blob's CRC-32.
    pub crc: u32,
    /// Entries of the file that are not arrays (and absent biases), ignored.
    pub ignored_keys: Vec<String>,
    /// The kind of file the weights came from.
    pub source: Source,
    /// Whether the activations are the book's default (none were given).
    pub default_activations: bool,
    /// For int8 with calibration rows: on how many of them the int8 model gives the f32
    /// model's class, of how many.
    pub int8_agreement: Option<(usize, usize)>,
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Builds the blob from arrays `W1, b1, …, Wn, bn` (n ≤ [`MAX_LAYERS`]), the book's naming, with the
/// book's chapter-3 activations: sigmoid hidden layers, softmax last.
///
/// Each `Wk` must be 2-D, each `bk` 1-D with `Wk`'s column count, and each `Wk+1` must have
/// as many rows as `Wk` has columns. Any other array is refused ([`ConvertError::UnknownArray`]);
/// entries that are not arrays are ignored and listed.
pub fn convert_arrays(dict: &ArrayDict) -> Result<Converted, ConvertError> {
    convert_arrays_as(dict, Precision::F32)
}

/// How the converter stores weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32, as the book's numpy arrays (181 440 bytes of parameters for the MNIST network).
    #[default]
    F32,
    /// Per-output-channel symmetric int8 with f32 scales and biases
    /// ([`scratchnet::quantize`]): about a quarter of the size. Hidden layers must be
    /// sigmoid (their outputs, in `[0, 1]`, are stored as u8).
    Int8,
    /// [`Int8`](Self::Int8) with each output's constants for cores without FPU
    /// ([`scratchnet::ElementType::I8SoftFloat`]: 16 bytes an output more; the same
    /// numbers, fewer instructions on Cortex-M0/M0+/M3/M23).
    Int8SoftFloat,
    /// [`Int8`](Self::Int8) with the weights of each layer of at least 16 outputs in input
    /// pairs ([`scratchnet::ElementType::I8Pairs`]) when its sums fit the kernel (every
    /// output's `Σ|q|` at most [`scratchnet::PAIR_SUM_LIMIT`]; else rows): on cores with
    /// the DSP extension (Cortex-M4/M7/M33) a pair of zero inputs skips its weights whole,
    /// which an image's background mostly is, and a dense input takes three instructions
    /// for four multiply-adds. The same numbers (the bytes as `int8`'s, reordered); other
    /// cores run those layers with the portable kernel (slower there).
    Int8Dsp,
    /// [`Int8`](Self::Int8) with every layer's weights as halfwords
    /// ([`scratchnet::ElementType::I8Wide`]): twice the weight bytes, the fastest dense
    /// kernel on cores with the DSP extension (Cortex-M4/M7/M33: one `SMLAD` takes two
    /// weights as stored). The same numbers; the core reads it with its feature `wide`.
    Int8Wide,
    /// [`Int8SoftFloat`](Self::Int8SoftFloat) with every layer's weights in output pairs
    /// ([`scratchnet::ElementType::I8OutputPairs`]): twice the weight bytes, for cores
    /// without the DSP extension (Cortex-M0/M0+/M23/M3), where one 32-bit multiply takes two
    /// outputs' weights. The same numbers; cores built with the DSP extension do not read it.
    Int8M0,
}

impl Precision {
    /// Whether the weights are int8 (with or without the soft-float constants).
    pub fn is_int8(self) -> bool {
        matches!(
            self,
            Precision::Int8
                | Precision::Int8SoftFloat
                | Precision::Int8Dsp
                | Precision::Int8Wide
                | Precision::Int8M0
        )
    }
}

/// Whether `int8-dsp` writes a layer in input pairs: at least 16 outputs (fewer run
/// faster as rows: the pairs kernel's blocks of six outputs and its list have fixed costs;
/// measured on the book's 100 × 10, 2 163 → 2 362 instructions as pairs) and sums that fit
/// the kernel.
fn in_pairs(shape: Shape, values: &[i8]) -> bool {
    let inputs = shape.inputs as usize;
    let size = |row: &[i8]| row.iter().map(|q| u32::from(q.unsigned_abs())).sum::<u32>();
    shape.outputs >= 16
        && values
            .chunks_exact(inputs.max(1))
            .all(|row| size(row) <= scratchnet::PAIR_SUM_LIMIT)
}

/// What to convert to: the activations (one per layer; `None`: the book's chapter-3
/// choice, sigmoid hidden layers and softmax last) and the precision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// One activation per layer, softmax only last; `None` for the book's default.
    pub activations: Option<Vec<Activation>>,
    /// f32 or int8 weights.
    pub precision: Precision,
    /// For int8: inputs like the model's (rows of `inputs` values in `[0, 1]`, row-major),
    /// to scale ReLU hidden layers' outputs and to report int8's agreement with f32.
    pub calibration: Option<Vec<f32>>,
}

/// The kind of file a model's weights came in, recognised by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A pickled dict of numpy arrays (the book's `pickle.dump(network.params)`).
    Pickle,
    /// A numpy `.npz` archive (`np.savez` / `np.savez_compressed`).
    Npz,
    /// A `.safetensors` file (PyTorch's `state_dict` of `nn.Linear` layers).
    Safetensors,
    /// A TensorFlow Lite model (`.tflite`), its layers and quantization taken as they are.
    Tflite,
}

impl Source {
    /// Its name, as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            Source::Pickle => "pickle",
            Source::Npz => "npz",
            Source::Safetensors => "safetensors",
            Source::Tflite => "tflite",
        }
    }
}

/// [`convert_arrays`] with the weights stored at `precision`.
pub fn convert_arrays_as(
    dict: &ArrayDict,
    precision: Precision,
) -> Result<Converted, ConvertError> {
    let (chain, ignored_keys) = book_chain(dict)?;
    let options = Options {
        activations: None,
        precision,
        calibration: None,
    };
    build(chain, &options, ignored_keys)
}

/// [`convert_arrays`] with every option: activations, precision, calibration rows.
pub fn convert_arrays_with(dict: &ArrayDict, options: &Options) -> Result<Converted, ConvertError> {
    let (chain, ignored_keys) = book_chain(dict)?;
    build(chain, options, ignored_keys)
}

/// One dense layer's arrays: `W` as `inputs × outputs` (transposed already where the file
/// stores `outputs × inputs`), `B`, and the names they had in the file.
struct LayerArrays {
    w_name: String,
    w: Array,
    b_name: String,
    b: Array,
}

fn found_keys(dict: &ArrayDict) -> String {
    let arrays: Vec<&str> = dict.arrays.iter().map(|(k, _)| k.as_str()).collect();
    arrays.join(", ")
}

/// What to say of an array that is not part of the chain.
fn unknown_array(key: &str, chain: &str) -> ConvertError {
    let lower = key.to_ascii_lowercase();
    let batch_norm = [
        "gamma",
        "beta",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    .iter()
    .any(|p| lower.contains(p));
    let hint = if batch_norm {
        "batch normalization is not run by scratchnet: fold it into the dense layer before \
         it (W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β) and save only the folded weights \
         and biases"
            .to_string()
    } else {
        format!("scratchnet converts a chain of dense layers ({chain}) and nothing else; remove it")
    };
    ConvertError::UnknownArray {
        key: key.into(),
        hint,
    }
}

/// The book's naming: `W1, b1, …, Wn, bn`, `Wk` as `inputs × outputs`.
fn book_chain(dict: &ArrayDict) -> Result<(Vec<LayerArrays>, Vec<String>), ConvertError> {
    let found = || found_keys(dict);
    let index_of = |key: &str| -> Option<usize> {
        let rest = key.strip_prefix('W').or_else(|| key.strip_prefix('b'))?;
        if rest.is_empty() || !rest.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        rest.parse().ok()
    };
    let Some(n) = dict.arrays.iter().filter_map(|(k, _)| index_of(k)).max() else {
        return Err(if dict.arrays.is_empty() && !dict.other_keys.is_empty() {
            ConvertError::Nested {
                found: dict.other_keys.join(", "),
            }
        } else {
            ConvertError::NoLayers { found: found() }
        });
    };
    if n > MAX_LAYERS {
        return Err(ConvertError::TooManyLayers {
            found: n,
            max: MAX_LAYERS,
        });
    }
    let get = |key: String| {
        dict.get(&key)
            .cloned()
            .ok_or_else(|| ConvertError::MissingKey {
                key,
                found: found(),
            })
    };
    let mut chain = Vec::with_capacity(n);
    for k in 1..=n {
        chain.push(LayerArrays {
            w_name: format!("W{k}"),
            w: get(format!("W{k}"))?,
            b_name: format!("b{k}"),
            b: get(format!("b{k}"))?,
        });
    }
    let chain_text = format!("W1, b1, …, W{n}, b{n}");
    if let Some((key, _)) = dict
        .arrays
        .iter()
        .find(|(k, _)| index_of(k).is_none_or(|i| i > n))
    {
        return Err(unknown_array(key, &chain_text));
    }
    Ok((chain, dict.other_keys.clone()))
}

/// PyTorch's naming for a `state_dict` of `nn.Linear` layers: `PREFIX.weight` (outputs ×
/// inputs) and `PREFIX.bias`, layers ordered by the numbers in their prefixes (`0`, `2`, …
/// of an `nn.Sequential`, or `fc1`, `fc2`, …).
fn torch_chain(dict: &ArrayDict) -> Result<(Vec<LayerArrays>, Vec<String>), ConvertError> {
    let scheme = "'<layer>.weight' and '<layer>.bias' of nn.Linear layers ('0.weight', \
                  '2.weight', … of an nn.Sequential, or 'fc1.weight', 'fc2.weight', …)";
    // prefix → (weight, bias)
    let mut layers: Vec<(String, Option<&Array>, Option<&Array>)> = Vec::new();
    for (name, array) in &dict.arrays {
        let (prefix, kind) = name.rsplit_once('.').unwrap_or(("", name.as_str()));
        let lower = name.to_ascii_lowercase();
        if lower.contains("running_") || lower.contains("num_batches_tracked") {
            return Err(unknown_array(name, "the nn.Linear layers"));
        }
        let slot = match layers.iter_mut().find(|(p, _, _)| p == prefix) {
            Some(s) => s,
            None => {
                layers.push((prefix.to_string(), None, None));
                layers.last_mut().expect("just pushed")
            }
        };
        match kind {
            "weight" if array.shape.len() == 2 && !prefix.is_empty() => slot.1 = Some(array),
            "weight" if array.shape.len() == 1 => {
                return Err(unknown_array(
                    &format!("{name} (1-D: a batch-norm layer?)"),
                    "",
                ));
            }
            "bias" if !prefix.is_empty() => slot.2 = Some(array),
            _ => {
                return Err(ConvertError::BadName {
                    name: name.clone(),
                    expected: scheme.into(),
                });
            }
        }
    }
    let mut keyed = Vec::with_capacity(layers.len());
    for (prefix, w, b) in layers {
        let numbers: Vec<u64> = prefix
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap_or(u64::MAX))
            .collect();
        let Some(w) = w else {
            return Err(ConvertError::MissingKey {
                key: format!("{prefix}.weight"),
                found: found_keys(dict),
            });
        };
        keyed.push((numbers, prefix, w, b));
    }
    if keyed.is_empty() {
        return Err(ConvertError::NoLayers {
            found: found_keys(dict),
        });
    }
    if keyed.len() > 1 && keyed.iter().any(|(n, ..)| n.is_empty()) {
        let (_, p, ..) = keyed.iter().find(|(n, ..)| n.is_empty()).expect("found");
        return Err(ConvertError::BadName {
            name: format!("{p}.weight"),
            expected: format!("{scheme}: the layers are ordered by the numbers in their names"),
        });
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = keyed.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(ConvertError::BadName {
            name: format!("{}.weight", w[1].1),
            expected: format!(
                "{scheme}: '{}' and '{}' have the same numbers, so their order is unknown",
                w[0].1, w[1].1
            ),
        });
    }
    if keyed.len() > MAX_LAYERS {
        return Err(ConvertError::TooManyLayers {
            found: keyed.len(),
            max: MAX_LAYERS,
        });
    }
    let mut notes = Vec::new();
    let chain = keyed
        .into_iter()
        .map(|(_, prefix, w, b)| {
            let (outs, ins) = (w.shape[0], w.shape[1]);
            // outputs × inputs → the book's inputs × outputs.
            let data = (0..ins * outs)
                .map(|k| w.data[(k % outs) * ins + k / outs])
                .collect();
            let b = match b {
                Some(b) => b.clone(),
                None => {
                    notes.push(format!(
                        "{prefix}.bias (absent: zeros, as nn.Linear(bias=False))"
                    ));
                    Array {
                        shape: vec![outs],
                        data: vec![0.0; outs],
                    }
                }
            };
            LayerArrays {
                w_name: format!("{prefix}.weight"),
                w: Array {
                    shape: vec![ins, outs],
                    data,
                },
                b_name: format!("{prefix}.bias"),
                b,
            }
        })
        .collect();
    notes.extend(dict.other_keys.iter().cloned());
    Ok((chain, notes))
}

/// The book's chapter-3 activations for `n` layers: sigmoid, …, sigmoid, softmax.
pub fn default_activations(n: usize) -> Vec<Activation> {
    (0..n)
        .map(|k| {
            if k + 1 == n {
                Activation::Softmax
            } else {
                Activation::Sigmoid
            }
        })
        .collect()
}

/// Checks the chain's shapes, applies the activations and precision, and encodes the blob.
fn build(
    chain: Vec<LayerArrays>,
    options: &Options,
    ignored_keys: Vec<String>,
) -> Result<Converted, ConvertError> {
    let n = chain.len();
    let activations = match &options.activations {
        None => default_activations(n),
        Some(a) if a.len() != n => {
            return Err(ConvertError::Activations(format!(
                "{} activations given for {n} layers ({}): give one per layer",
                a.len(),
                chain
                    .iter()
                    .map(|l| l.w_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Some(a) => a.clone(),
    };
    if let Some(k) = activations[..n.saturating_sub(1)]
        .iter()
        .position(|a| *a == Activation::Softmax)
    {
        return Err(ConvertError::Activations(format!(
            "softmax is for the last layer only, not layer {} of {n}",
            k + 1
        )));
    }
    if activations.contains(&Activation::Step) {
        return Err(ConvertError::Activations(
            "step is a perceptron's activation, not a trained network's".into(),
        ));
    }
    if options.precision.is_int8()
        && let Some(k) = activations[..n - 1]
            .iter()
            .position(|a| !matches!(a, Activation::Sigmoid | Activation::Relu))
    {
        return Err(ConvertError::Activations(format!(
            "int8 stores hidden layers' outputs as u8, which hold no negative values: layer {} \
             is {}. Hidden layers must be sigmoid or relu for --quantize int8; convert this \
             network without it (f32)",
            k + 1,
            activations[k].name()
        )));
    }
    let mut layers = Vec::with_capacity(n);
    let mut previous: Option<(usize, &str)> = None;
    for (l, activation) in chain.iter().zip(&activations) {
        let (rows, cols) = match (l.w.shape.as_slice(), previous) {
            (&[r, c], Some((p, _))) if r == p => (r, c),
            (&[r, c], None) => (r, c),
            (s, p) => {
                let expected = match p {
                    Some((p, name)) => {
                        format!("({p}, N) (its inputs must equal {name}'s outputs)")
                    }
                    None => "(inputs, outputs)".into(),
                };
                return Err(ConvertError::BadShape {
                    key: l.w_name.clone(),
                    expected,
                    found: shape_text(s),
                });
            }
        };
        if l.b.shape != [cols] {
            return Err(ConvertError::BadShape {
                key: l.b_name.clone(),
                expected: format!(
                    "({cols},) (the outputs of {} {})",
                    l.w_name,
                    shape_text(&l.w.shape)
                ),
                found: shape_text(&l.b.shape),
            });
        }
        previous = Some((cols, &l.w_name));
        let k = layers.len();
        let too_big = |_| ConvertError::Blob(scratchnet::Error::BadLength { layer: k });
        layers.push((
            Shape {
                inputs: u32::try_from(rows).map_err(too_big)?,
                outputs: u32::try_from(cols).map_err(too_big)?,
            },
            *activation,
            &l.w,
            &l.b,
        ));
    }
    let divisors = match options.precision {
        Precision::F32 => Vec::new(),
        Precision::Int8
        | Precision::Int8SoftFloat
        | Precision::Int8Dsp
        | Precision::Int8Wide
        | Precision::Int8M0 => int8_divisors(&layers, options.calibration.as_deref())?,
    };
    let quantized: Vec<(Vec<i8>, Vec<f32>)> = match options.precision {
        Precision::F32 => Vec::new(),
        Precision::Int8
        | Precision::Int8SoftFloat
        | Precision::Int8Dsp
        | Precision::Int8Wide
        | Precision::Int8M0 => layers
            .iter()
            .map(|(shape, _, w, _)| {
                let mut values = vec![0i8; w.data.len()];
                let mut scales = vec![0.0f32; shape.outputs as usize];
                scratchnet::quantize(&w.data, *shape, &mut values, &mut scales)
                    .map(|()| (values, scales))
                    .map_err(ConvertError::Blob)
            })
            .collect::<Result<_, _>>()?,
    };
    let specs: Vec<LayerSpec<'_>> = layers
        .iter()
        .enumerate()
        .map(|(k, (shape, activation, w, b))| LayerSpec {
            shape: *shape,
            activation: *activation,
            weights: match (quantized.get(k), divisors.get(k)) {
                (Some((values, scales)), Some(&(input_divisor, output_divisor))) => Weights::I8 {
                    values,
                    scales,
                    input_divisor,
                    output_divisor,
                    form: match options.precision {
                        Precision::Int8SoftFloat => I8Form::SoftFloat,
                        Precision::Int8Dsp if in_pairs(*shape, values) => I8Form::Pairs,
                        Precision::Int8Wide => I8Form::Wide,
                        Precision::Int8M0 => I8Form::OutputPairs,
                        _ => I8Form::Rows,
                    },
                },
                _ => Weights::F32(&w.data),
            },
            biases: &b.data,
        })
        .collect();
    let len = scratchnet::encoded_len(&specs).map_err(ConvertError::Blob)?;
    let mut blob = vec![0; len];
    scratchnet::encode(&specs, &mut blob).map_err(ConvertError::Blob)?;
    let (parameters, crc) = {
        let model = scratchnet::Model::from_bytes(&blob).map_err(ConvertError::Blob)?;
        (model.parameter_count(), model.crc())
    };
    let int8_agreement = match (options.precision, options.calibration.as_deref()) {
        (p, Some(rows)) if p.is_int8() => Some(int8_agreement(&layers, &blob, rows)?),
        _ => None,
    };
    Ok(Converted {
        layers: layers.iter().map(|(s, a, _, _)| (*s, *a)).collect(),
        blob,
        parameters,
        crc,
        ignored_keys,
        source: Source::Pickle,
        default_activations: options.activations.is_none(),
        int8_agreement,
    })
}

/// A layer as `build` checked it: shape, activation, W (inputs × outputs), B.
type Checked<'c> = (Shape, Activation, &'c Array, &'c Array);

/// The f32 forward pass of the checked layers on `x`, calling `hidden(k, z)` with each
/// hidden layer's outputs; returns the last layer's values before its activation.
fn forward_f32(
    layers: &[Checked<'_>],
    x: &[f32],
    mut hidden: impl FnMut(usize, &[f32]),
) -> Vec<f32> {
    let mut v = x.to_vec();
    for (k, (shape, activation, w, b)) in layers.iter().enumerate() {
        let outs = shape.outputs as usize;
        let mut a = b.data.clone();
        for (i, &xi) in v.iter().enumerate() {
            for (aj, wij) in a.iter_mut().zip(&w.data[i * outs..(i + 1) * outs]) {
                *aj += xi * wij;
            }
        }
        if k + 1 < layers.len() {
            activation.apply(&mut a);
            hidden(k, &a);
        }
        v = a;
    }
    v
}

/// Each int8 layer's `(input divisor, output divisor)`: the first reads inputs as u8/255,
/// sigmoid writes round(255·sigmoid), ReLU writes round(relu·255/max) with `max` the
/// largest value it gives on the calibration rows, and each layer reads what the one
/// before it wrote.
fn int8_divisors(
    layers: &[Checked<'_>],
    calibration: Option<&[f32]>,
) -> Result<Vec<(f32, f32)>, ConvertError> {
    let n_in = layers.first().map_or(0, |l| l.0.inputs as usize);
    let relu = layers[..layers.len() - 1]
        .iter()
        .any(|l| l.1 == Activation::Relu);
    let mut max = vec![0.0f32; layers.len()];
    match calibration {
        Some(rows) => {
            if rows.is_empty() || n_in == 0 || rows.len() % n_in != 0 {
                return Err(ConvertError::Activations(format!(
                    "the calibration inputs must be rows of {n_in} values"
                )));
            }
            if let Some(v) = rows.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(ConvertError::Activations(format!(
                    "int8 models read their inputs as u8/255, values in [0, 1]; the \
                     calibration inputs hold {v}"
                )));
            }
            for row in rows.chunks_exact(n_in) {
                forward_f32(layers, row, |k, z| {
                    max[k] = z.iter().fold(max[k], |m, &v| m.max(v));
                });
            }
        }
        None if relu => {
            return Err(ConvertError::Activations(
                "ReLU hidden layers' outputs have no fixed range: give --calibrate X.npy \
                 (inputs like the ones the model will see) so that int8 can scale them"
                    .into(),
            ));
        }
        None => {}
    }
    let mut out = Vec::with_capacity(layers.len());
    let mut d_in = 255.0;
    for (k, l) in layers.iter().enumerate() {
        let d_out = match l.1 {
            Activation::Relu if k + 1 < layers.len() && max[k] > 0.0 => 255.0 / max[k],
            _ => 255.0,
        };
        out.push((d_in, d_out));
        d_in = d_out;
    }
    Ok(out)
}

/// On the calibration rows: how many the int8 blob classifies as the f32 layers do.
fn int8_agreement(
    layers: &[Checked<'_>],
    blob: &[u8],
    rows: &[f32],
) -> Result<(usize, usize), ConvertError> {
    let aligned = AlignedBlob::new(blob);
    let model = scratchnet::Model::from_bytes(aligned.bytes()).map_err(ConvertError::Blob)?;
    let n_in = model.inputs();
    let mut scratch = vec![0u8; model.scratch_len()];
    let mut out = vec![0.0; model.outputs()];
    let (mut agree, mut total) = (0, 0);
    for row in rows.chunks_exact(n_in) {
        let want = scratchnet::Classification::argmax(&forward_f32(layers, row, |_, _| {})).class;
        let x: Vec<u8> = row.iter().map(|v| (v * 255.0).round() as u8).collect();
        model
            .logits_u8(&x, &mut scratch, &mut out)
            .map_err(ConvertError::Blob)?;
        agree += usize::from(scratchnet::Classification::argmax(&out).class == want);
        total += 1;
    }
    Ok((agree, total))
}

/// A copy of a blob at a 4-byte-aligned address, as the int8 path needs (its f32 arrays
/// are read in place; firmware keeps blobs aligned in flash).
#[derive(Debug, Clone)]
pub struct AlignedBlob {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBlob {
    /// An aligned copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Self {
            words,
            len: bytes.len(),
        }
    }

    /// The blob's bytes, 4-byte aligned.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }
}

/// The tensors of a `.safetensors` file, widened to f32 (f16, bf16, f32, f64).
fn read_safetensors(bytes: &[u8]) -> Result<ArrayDict, ConvertError> {
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| ConvertError::Container(format!("not a valid .safetensors file: {e}")))?;
    let mut names = st.names();
    names.sort();
    let mut out = ArrayDict::default();
    for name in names {
        let view = st
            .tensor(name)
            .map_err(|e| ConvertError::Container(format!("tensor '{name}': {e}")))?;
        let raw = view.data();
        use safetensors::Dtype;
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(ConvertError::Container(format!(
                    "tensor '{name}' is {other:?}; weights must be F32, F64, F16 or BF16"
                )));
            }
        };
        out.arrays.push((
            name.to_string(),
            Array {
                shape: view.shape().to_vec(),
                data,
            },
        ));
    }
    Ok(out)
}

/// `true` for bytes laid out like a `.safetensors` file: an 8-byte little-endian header
/// length, then a JSON object within the file.
fn is_safetensors(bytes: &[u8]) -> bool {
    bytes.len() > 8
        && bytes[8] == b'{'
        && u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
            .checked_add(8)
            .is_some_and(|end| end <= bytes.len() as u64)
}

/// Converts a model file, recognised by its content: the book's pickle, an `.npz` of the
/// same names, or a `.safetensors` `state_dict` of `nn.Linear` layers.
pub fn convert_file(bytes: &[u8], options: &Options) -> Result<Converted, ConvertError> {
    let (source, (chain, notes)) = if bytes.starts_with(&scratchnet::MAGIC) {
        return Err(ConvertError::WrongInput(
            "this is already a scratchnet model blob (.scnt); convert reads trained weights \
             (a pickle, .npz or .safetensors). `scratchnet inspect` shows a blob"
                .into(),
        ));
    } else if crate::npy::is_npy(bytes) {
        return Err(ConvertError::WrongInput(
            "this is a single .npy array; save the weights together, e.g. \
             np.savez('model.npz', W1=W1, b1=b1, W2=W2, b2=b2)"
                .into(),
        ));
    } else if crate::npy::is_zip(bytes) {
        let dict = crate::npy::read_npz(bytes, "npz")
            .map_err(|e| ConvertError::Container(e.to_string()))?;
        (Source::Npz, book_chain(&dict)?)
    } else if crate::tflite::is_tflite(bytes) {
        return convert_tflite(bytes, options);
    } else if is_safetensors(bytes) {
        (Source::Safetensors, torch_chain(&read_safetensors(bytes)?)?)
    } else if bytes.first() == Some(&0x80) {
        (Source::Pickle, book_chain(&pickle::read_arrays(bytes)?)?)
    } else {
        return Err(ConvertError::WrongInput(
            "not a model file scratchnet reads: expected the book's pickle of W1, b1, … \
             (pickle.dump(network.params), protocol 2 or later), a numpy .npz of the same \
             names, or a PyTorch .safetensors state_dict of nn.Linear layers"
                .into(),
        ));
    };
    let mut c = build(chain, options, notes)?;
    c.source = source;
    Ok(c)
}

/// Converts a `.tflite` MLP ([`crate::tflite::import`]): its layers, weights and
/// quantization as they are (int8 models become TFLite int8 layers, bit-exact with TFLite
/// Micro). The activations and calibration options do not apply and are refused; of the
/// precisions only [`Precision::Int8Wide`] does, which stores the int8 layers' weights as
/// halfwords (the same numbers).
pub fn convert_tflite(bytes: &[u8], options: &Options) -> Result<Converted, ConvertError> {
    let wide = options.precision == Precision::Int8Wide;
    if options.activations.is_some()
        || !(options.precision == Precision::F32 || wide)
        || options.calibration.is_some()
    {
        return Err(ConvertError::WrongInput(
            "--activations, --quantize and --calibrate do not apply to a .tflite: its \
             activations and quantization are the file's (but --quantize int8-wide, which \
             stores its int8 weights as halfwords for the DSP cores' dense kernel)"
                .into(),
        ));
    }
    let imported = crate::tflite::import(bytes)?;
    if imported.layers.len() > MAX_LAYERS {
        return Err(ConvertError::TooManyLayers {
            found: imported.layers.len(),
            max: MAX_LAYERS,
        });
    }
    let specs: Vec<LayerSpec<'_>> = imported
        .layers
        .iter()
        .map(|l| {
            let mut spec = l.spec();
            if let (true, Weights::TfliteI8(t)) = (wide, spec.weights) {
                spec.weights = Weights::TfliteI8Wide(t);
            }
            spec
        })
        .collect();
    if wide
        && !specs
            .iter()
            .any(|s| matches!(s.weights, Weights::TfliteI8Wide(_)))
    {
        return Err(ConvertError::WrongInput(
            "--quantize int8-wide stores an int8 .tflite's weights as halfwords; this one has \
             no int8 layer (its float layers convert as they are without --quantize)"
                .into(),
        ));
    }
    let len = scratchnet::encoded_len(&specs).map_err(ConvertError::Blob)?;
    let mut blob = vec![0; len];
    scratchnet::encode(&specs, &mut blob).map_err(ConvertError::Blob)?;
    let layers = imported
        .layers
        .iter()
        .zip(&specs)
        .map(|(l, s)| {
            let activation = match l {
                crate::tflite::TfliteLayer::I8 { clamp, output, .. }
                    if clamp.0 as i32 == output.1 =>
                {
                    Activation::Relu
                }
                _ => s.activation,
            };
            (s.shape, activation)
        })
        .collect();
    let parameters = specs
        .iter()
        .map(|s| (s.shape.inputs as usize + 1) * s.shape.outputs as usize)
        .sum();
    let crc = u32::from_le_bytes([blob[12], blob[13], blob[14], blob[15]]);
    Ok(Converted {
        blob,
        layers,
        parameters,
        crc,
        ignored_keys: imported.notes,
        source: Source::Tflite,
        default_activations: false,
        int8_agreement: None,
    })
}

/// Reads a pickle's bytes and converts them ([`pickle::read_arrays`], [`convert_arrays`]).
pub fn convert_pickle(pickle_bytes: &[u8]) -> Result<Converted, ConvertError> {
    convert_pickle_as(pickle_bytes, Precision::F32)
}

/// [`convert_pickle`] with the weights stored at `precision`.
pub fn convert_pickle_as(
    pickle_bytes: &[u8],
    precision: Precision,
) -> Result<Converted, ConvertError> {
    convert_arrays_as(&pickle::read_arrays(pickle_bytes)?, precision)
}

/// Writes `bytes` to `path` atomically: into a temporary file beside it, then renamed over
/// it. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ConvertError> {
    use std::io::Write;
    let io = |cause| ConvertError::Io {
        path: path.display().to_string(),
        cause,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(shape: &[usize]) -> Array {
        Array {
            shape: shape.to_vec(),
            data: (0..shape.iter().product::<usize>())
                .map(|i| i as f32 / 8.0)
                .collect(),
        }
    }

    fn dict(entries: &[(&str, &[usize])]) -> ArrayDict {
        ArrayDict {
            arrays: entries
                .iter()
                .map(|(k, s)| (k.to_string(), arr(s)))
                .collect(),
            other_keys: vec!["meta".into()],
        }
    }

    #[test]
    fn a_two_layer_network_ignores_entries_that_are_not_arrays() {
        let d = dict(&[("W1", &[4, 3]), ("b1", &[3]), ("W2", &[3, 2]), ("b2", &[2])]);
        let c = convert_arrays(&d).unwrap();
        assert_eq!(
            c.layers,
            [
                (
                    Shape {
                        inputs: 4,
                        outputs: 3
                    },
                    Activation::Sigmoid
                ),
                (
                    Shape {
                        inputs: 3,
                        outputs: 2
                    },
                    Activation::Softmax
                )
            ]
        );
        assert_eq!(c.parameters, 12 + 3 + 6 + 2);
        assert_eq!(c.ignored_keys, ["meta"]);
        let m = scratchnet::Model::from_bytes(&c.blob).unwrap();
        assert!(m.layer(1).unwrap().weights().iter().eq(arr(&[3, 2]).data));
    }

    #[test]
    fn arrays_outside_the_chain_are_refused_by_name() {
        let with = |extra: &str| {
            convert_arrays(&dict(&[("W1", &[4, 3]), ("b1", &[3]), (extra, &[3])]))
                .unwrap_err()
                .to_string()
        };
        let e = with("extra");
        assert!(
            e.starts_with("'extra' is not a layer's weight or bias"),
            "{e}"
        );
        // Batch norm (the book's MultiLayerNetExtend): say how to fold it.
        for key in ["gamma1", "beta1", "running_mean1"] {
            let e = with(key);
            assert!(e.contains("fold it into the dense layer"), "{key}: {e}");
        }
        // A b3 without W3 is not silently dropped either.
        let e = convert_arrays(&dict(&[("W1", &[4, 3]), ("b1", &[3]), ("b3", &[2])]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing key 'W2'"), "{e}");
    }

    #[test]
    fn shape_errors_name_the_key_and_both_shapes() {
        let e = convert_arrays(&dict(&[
            ("W1", &[4, 3]),
            ("b1", &[3]),
            ("W2", &[5, 2]),
            ("b2", &[2]),
        ]))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "'W2' has shape (5, 2), expected (3, N) (its inputs must equal W1's outputs)"
        );
        let e = convert_arrays(&dict(&[("W1", &[4, 3]), ("b1", &[4])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "'b1' has shape (4,), expected (3,) (the outputs of W1 (4, 3))"
        );
        let e = convert_arrays(&dict(&[("W1", &[4, 3, 1]), ("b1", &[3])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "'W1' has shape (4, 3, 1), expected (inputs, outputs)"
        );
        let e =
            convert_arrays(&dict(&[("W1", &[4, 3]), ("W2", &[3, 2]), ("b2", &[2])])).unwrap_err();
        assert_eq!(e.to_string(), "missing key 'b1' (the file has: W1, W2, b2)");
    }

    #[test]
    fn atomic_write_leaves_nothing_on_failure() {
        let dir = std::env::temp_dir().join(format!("scratchnet-aw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A directory in the way of the rename: the write fails and cleans up.
        let target = dir.join("taken");
        std::fs::create_dir_all(target.join("inner")).unwrap();
        assert!(write_atomically(&target, b"x").is_err());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["taken"]);
        let ok = dir.join("ok.bin");
        write_atomically(&ok, b"abc").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Deterministic pseudo-random weights in [-0.5, 0.5).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// Issue 6: another MLP shape, a 784-100-10 two-layer network (keys W1, b1, W2, b2),
    /// converts and runs on the host with the core's run-time-shaped model; the result is
    /// the plain forward pass computed here by hand, bit for bit.
    #[test]
    fn a_784_100_10_network_converts_and_runs() {
        let (w1, b1) = (values(784 * 100, 1), values(100, 2));
        let (w2, b2) = (values(100 * 10, 3), values(10, 4));
        let pkl = crate::pickle::tests::dict_pickle(&[
            ("W1", &[784, 100], &w1),
            ("b1", &[100], &b1),
            ("W2", &[100, 10], &w2),
            ("b2", &[10], &b2),
        ]);
        let c = convert_pickle(&pkl).unwrap();
        assert_eq!(
            c.layers,
            [
                (
                    Shape {
                        inputs: 784,
                        outputs: 100
                    },
                    Activation::Sigmoid
                ),
                (
                    Shape {
                        inputs: 100,
                        outputs: 10
                    },
                    Activation::Softmax
                )
            ]
        );
        let model = scratchnet::Model::from_bytes(&c.blob).unwrap();
        // The typed three-layer MNIST view refuses it, naming the count.
        assert_eq!(
            scratchnet::Mnist::from_model(&model).unwrap_err(),
            scratchnet::Error::WrongLayerCount {
                expected: 3,
                found: 2
            }
        );
        let image: Vec<u8> = (0..784).map(|i| ((i * 37) % 256) as u8).collect();
        let mut scratch = vec![0.0; model.scratch_len()];
        let mut out = [0.0; 10];
        model.logits_pixels(&image, &mut scratch, &mut out).unwrap();

        let x: Vec<f32> = image.iter().map(|&p| f32::from(p) / 255.0).collect();
        let mut z1 = [0f32; 100];
        for (j, z) in z1.iter_mut().enumerate() {
            let mut a = 0.0;
            for (i, xi) in x.iter().enumerate() {
                if *xi != 0.0 {
                    a += xi * w1[i * 100 + j];
                }
            }
            *z = scratchnet::sigmoid(a + b1[j]);
        }
        let mut want = [0f32; 10];
        for (k, y) in want.iter_mut().enumerate() {
            let mut a = 0.0;
            for (j, zj) in z1.iter().enumerate() {
                a += zj * w2[j * 10 + k];
            }
            *y = a + b2[k];
        }
        assert_eq!(out, want);
    }

    /// Issue 6: the hostile and unusual pickle matrix. Each stream is either converted (and
    /// its W1 read as 0, 1, 2, …) or refused with an error naming the problem.
    #[test]
    fn hostile_and_unusual_pickles() {
        use crate::pickle::tests::{P, Spec, dict_pickle, frombuffer_pickle, reconstruct_pickle};
        let c_f4 = Spec {
            shape: [2, 3],
            f8: false,
            big: false,
            fortran: false,
        };
        let b1 = |mut pkl: Vec<u8>| {
            // Append "b1" (3 zeros) to a one-array dict by splicing a second entry before
            // SETITEMS: both dicts are built the same way.
            let extra = dict_pickle(&[("b1", &[3], &[0.0; 3])]);
            let mut entry = extra[4..extra.len() - 2].to_vec(); // between "}(" and "u."
            if pkl.ends_with(b"s.") {
                entry.push(b's'); // a stream that sets its one item with SETITEM
                let at = pkl.len() - 1;
                pkl.splice(at..at, entry);
            } else {
                let at = pkl.len() - 2;
                pkl.splice(at..at, entry);
            }
            pkl
        };
        let ok: Vec<(&str, Vec<u8>)> = vec![
            (
                "protocol 2 (_codecs.encode)",
                b1(reconstruct_pickle(2, c_f4, false)),
            ),
            ("protocol 3", b1(reconstruct_pickle(3, c_f4, false))),
            ("protocol 4", b1(reconstruct_pickle(4, c_f4, false))),
            (
                "protocol 5 (_frombuffer)",
                b1(frombuffer_pickle(c_f4, false)),
            ),
            ("numpy 2 module path", b1(reconstruct_pickle(4, c_f4, true))),
            (
                "float64, big-endian, Fortran order",
                b1(reconstruct_pickle(
                    3,
                    Spec {
                        f8: true,
                        big: true,
                        fortran: true,
                        ..c_f4
                    },
                    false,
                )),
            ),
        ];
        for (name, pkl) in ok {
            let c = convert_pickle(&pkl).unwrap_or_else(|e| panic!("{name}: {e}"));
            let m = scratchnet::Model::from_bytes(&c.blob).unwrap();
            assert!(
                m.layer(0)
                    .unwrap()
                    .weights()
                    .iter()
                    .eq([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
                "{name}"
            );
        }
        // OrderedDict with an extra array: refused by name (only the chain is converted).
        let mut od = b1(reconstruct_pickle(3, c_f4, false));
        let head = P::default()
            .global("collections", "OrderedDict")
            .op(b")R")
            .0;
        od.splice(2..3, head);
        let extra = dict_pickle(&[("extra", &[1], &[9.0])]);
        let at = od.len() - 2;
        od.splice(at..at, extra[4..extra.len() - 2].iter().copied());
        assert!(
            matches!(convert_pickle(&od), Err(ConvertError::UnknownArray { ref key, .. }) if key == "extra")
        );

        let good = dict_pickle(&[("W1", &[2, 3], &[0.0; 6]), ("b1", &[3], &[0.0; 3])]);
        let mut nan = good.clone();
        let at = nan.len() - 4 - 12; // the first bias value: 3 floats, then "tbu."
        nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        let mut inf = good.clone();
        inf[at + 4..at + 8].copy_from_slice(&f32::INFINITY.to_le_bytes());
        let mut deep = P::default().proto(2).op(b")");
        for _ in 0..10_000 {
            deep = deep.op(&[0x85]);
        }
        let bad: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "missing key",
                dict_pickle(&[("W1", &[2, 3], &[0.0; 6])]),
                "missing key 'b1'",
            ),
            (
                "wrong shape",
                dict_pickle(&[("W1", &[2, 3], &[0.0; 6]), ("b1", &[2], &[0.0; 2])]),
                "'b1' has shape (2,), expected (3,)",
            ),
            (
                "NaN",
                nan,
                "array 'b1' holds a NaN or infinite value at flat index 0",
            ),
            (
                "infinity",
                inf,
                "array 'b1' holds a NaN or infinite value at flat index 1",
            ),
            (
                "truncated before STOP",
                good[..good.len() - 1].to_vec(),
                "pickle is truncated: the STOP opcode",
            ),
            (
                "truncated inside the data",
                good[..good.len() / 2].to_vec(),
                "but only 16 remain",
            ),
            (
                "top level not a dict",
                P::default().proto(2).op(b"]").op(b".").0,
                "top-level object is a list",
            ),
            (
                "os.system",
                P::default().proto(2).global("os", "system").op(b")R.").0,
                "forbidden global os.system",
            ),
            (
                "builtins.eval",
                P::default()
                    .proto(4)
                    .stack_global("builtins", "eval")
                    .op(b")R.")
                    .0,
                "forbidden global builtins.eval",
            ),
            (
                "subprocess.Popen",
                P::default()
                    .proto(3)
                    .global("subprocess", "Popen")
                    .op(b")R.")
                    .0,
                "forbidden global subprocess.Popen",
            ),
            (
                "posix.system",
                P::default().proto(2).global("posix", "system").op(b")R.").0,
                "forbidden global posix.system",
            ),
            ("deep nesting", deep.op(b".").0, "deeper than 100 levels"),
            (
                "huge declared length",
                P::default()
                    .proto(4)
                    .op(b"B")
                    .op(&u32::MAX.to_le_bytes())
                    .op(b"x")
                    .0,
                "declares 4294967295 bytes at byte 2, but only 1 remain",
            ),
        ];
        for (name, pkl, want) in bad {
            let e = convert_pickle(&pkl).unwrap_err().to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
    }
}
