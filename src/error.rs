//! The crate's one error type.

use core::fmt;

/// The shape of a dense layer: `inputs × outputs` (the book's `W` is `IN × OUT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Shape {
    /// Rows of `W`: the length of the layer's input vector.
    pub inputs: u32,
    /// Columns of `W`: the length of the layer's output vector and of `B`.
    pub outputs: u32,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.inputs, self.outputs)
    }
}

/// Everything that can go wrong in scratchnet. Inference itself never fails: all checks
/// happen once, when a model is loaded or built.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The blob ends before the `needed` bytes its header promises (`found` are present).
    Truncated {
        /// Bytes the header (or the fixed header itself) requires.
        needed: usize,
        /// Bytes actually present.
        found: usize,
    },
    /// The blob goes on past the end its header declares.
    TrailingBytes {
        /// Bytes the header declares.
        expected: usize,
        /// Bytes actually present.
        found: usize,
    },
    /// The blob does not start with the magic bytes `SCNT`.
    BadMagic,
    /// The blob's format version is not one this build reads.
    UnsupportedVersion {
        /// The version in the blob.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The CRC-32 over the payload does not match the header: the blob is damaged.
    ChecksumMismatch {
        /// The CRC stored in the header.
        stored: u32,
        /// The CRC computed over the payload.
        computed: u32,
    },
    /// The layer table could not be decoded (postcard error), or a reserved field is not zero.
    Malformed,
    /// The blob declares no layers, or more than [`MAX_LAYERS`](crate::MAX_LAYERS).
    LayerCount {
        /// Layers declared.
        found: usize,
        /// Most layers supported.
        max: usize,
    },
    /// A layer's parameters lie outside the blob, overlap its header, or are misaligned.
    BadSpan {
        /// Index of the layer (0-based).
        layer: usize,
    },
    /// A layer's parameter byte count disagrees with its shape, or a size overflows.
    BadLength {
        /// Index of the layer (0-based).
        layer: usize,
    },
    /// A layer's inputs differ from the previous layer's outputs.
    LayersDoNotChain {
        /// Index of the layer whose inputs do not match (1-based position in the chain).
        layer: usize,
        /// The previous layer's outputs.
        previous_outputs: u32,
        /// This layer's inputs.
        inputs: u32,
    },
    /// A weight or bias is NaN or infinite.
    NotFinite {
        /// Index of the layer (0-based).
        layer: usize,
        /// Index of the value within the weights followed by the biases.
        index: usize,
    },
    /// An int8 layer's parameter is out of its range: for TFLite, a negative multiplier, a
    /// shift outside −31 to 30, a zero point or clamp outside int8, a scale that is not
    /// finite and positive, or a bias that overflows when the input zero point is folded
    /// in; in input pairs, an output's `Σᵢ|q[j][i]|` over [`PAIR_SUM_LIMIT`](crate::PAIR_SUM_LIMIT).
    OutOfRange {
        /// Index of the layer (0-based).
        layer: usize,
    },
    /// A TFLite int8 layer's input zero point or scale differs from the previous layer's
    /// output ones, or a TFLite int8 layer is next to a layer of another element type.
    QuantizationMismatch {
        /// Index of the layer (0-based).
        layer: usize,
    },
    /// An int8 layer's stored constants for cores without FPU are not those its scales,
    /// biases and input divisor give.
    WrongConstants {
        /// Index of the layer (0-based).
        layer: usize,
    },
    /// The model is not the network shape that was asked for.
    ShapeMismatch {
        /// Index of the first layer that differs (or the layer count, when counts differ).
        layer: usize,
        /// The shape the typed view needs.
        expected: Shape,
        /// The shape the blob holds.
        found: Shape,
    },
    /// The typed view needs a different number of layers than the blob holds.
    WrongLayerCount {
        /// Layers the typed view needs.
        expected: usize,
        /// Layers in the blob.
        found: usize,
    },
    /// The element type of a layer's parameters is not supported by this build (a feature
    /// off: `tflite`, `wide`) or by the call (an f32 layer given to an int8 run, …).
    UnsupportedElement {
        /// Index of the layer (0-based).
        layer: usize,
    },
    /// An input or output vector of the wrong length for a run-time-shaped model.
    LengthMismatch {
        /// The length the model needs.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A layer's activation is one this view cannot run (an int8 hidden layer must be
    /// sigmoid or ReLU: its u8 outputs hold no negative values).
    UnsupportedActivation {
        /// The layer (from 0).
        layer: usize,
    },
    /// An output buffer is too small.
    BufferTooSmall {
        /// Bytes (or items) needed.
        needed: usize,
        /// Bytes (or items) available.
        available: usize,
    },
    /// Inputs and outputs of a batch call have different lengths.
    BatchMismatch {
        /// Number of inputs.
        inputs: usize,
        /// Number of output slots.
        outputs: usize,
    },
    /// The perceptron learning rule did not reach the error tolerance γ.
    NotConverged {
        /// Epochs run.
        epochs: u32,
        /// Mean absolute error of the last epoch.
        last_error: f32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, found } => {
                write!(f, "blob truncated: needs {needed} bytes, has {found}")
            }
            Error::TrailingBytes { expected, found } => write!(
                f,
                "blob has trailing bytes: header declares {expected} bytes, found {found}"
            ),
            Error::BadMagic => f.write_str("not a scratchnet blob: magic is not \"SCNT\""),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "blob format version {found} is not supported (this build reads version {supported}: convert the model again with this version's `scratchnet convert`)"
            ),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "blob is damaged: CRC-32 stored {stored:#010x}, computed {computed:#010x}"
            ),
            Error::Malformed => f.write_str("blob layer table is malformed"),
            Error::LayerCount { found, max } => {
                write!(f, "blob declares {found} layers; 1 to {max} are supported")
            }
            Error::BadSpan { layer } => write!(
                f,
                "layer {layer}: parameters lie outside the blob or are misaligned"
            ),
            Error::BadLength { layer } => write!(
                f,
                "layer {layer}: parameter byte count does not match the layer's shape"
            ),
            Error::LayersDoNotChain {
                layer,
                previous_outputs,
                inputs,
            } => write!(
                f,
                "layer {layer} takes {inputs} inputs but the previous layer gives {previous_outputs}"
            ),
            Error::NotFinite { layer, index } => {
                write!(f, "layer {layer}: parameter {index} is NaN or infinite")
            }
            Error::OutOfRange { layer } => write!(
                f,
                "layer {layer}: a quantization parameter is out of range (TFLite: multiplier, shift, zero point, clamp, scale or folded bias; input pairs: an output's sum of |q| over 32 896)"
            ),
            Error::QuantizationMismatch { layer } => write!(
                f,
                "layer {layer}: its input quantization differs from the previous layer's output (or it mixes TFLite int8 with another element type)"
            ),
            Error::WrongConstants { layer } => write!(
                f,
                "layer {layer}: its stored soft-float constants differ from those its scales, biases and input divisor give"
            ),
            Error::ShapeMismatch {
                layer,
                expected,
                found,
            } => write!(f, "layer {layer}: expected shape {expected}, found {found}"),
            Error::WrongLayerCount { expected, found } => {
                write!(
                    f,
                    "expected a {expected}-layer network, the blob has {found} layers"
                )
            }
            Error::UnsupportedElement { layer } => write!(
                f,
                "layer {layer}: element type is not supported by this build or this call \
                 (TFLite layers need the feature `tflite`, layers as halfwords `wide`; f32 and \
                 int8 layers each have their own run function)"
            ),
            Error::LengthMismatch { expected, found } => {
                write!(
                    f,
                    "a vector of {found} values where the model needs {expected}"
                )
            }
            Error::UnsupportedActivation { layer } => write!(
                f,
                "layer {layer}: its activation cannot run here (int8 hidden layers must be sigmoid or ReLU)"
            ),
            Error::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small: needs {needed}, has {available}")
            }
            Error::BatchMismatch { inputs, outputs } => {
                write!(f, "batch has {inputs} inputs but {outputs} output slots")
            }
            Error::NotConverged { epochs, last_error } => write!(
                f,
                "perceptron did not converge in {epochs} epochs (last mean error {last_error})"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
