//! # scratchnet
//!
//! The neural networks of *Deep Learning from Scratch* (chapters 2 and 3) as a `no_std`,
//! heap-free library that runs unchanged on a Cortex-M microcontroller and on the host.
//!
//! The modules follow the book's chapters; everything is re-exported flat here:
//!
//! 1. **Perceptrons** (ch. 2): [`Perceptron`], the gates [`AND`], [`NAND`], [`OR`] and the
//!    two-layer [`XOR`], and the perceptron [`LearningRule`].
//! 2. **Activations** (ch. 3.2): [`step`], [`sigmoid`], [`relu`], [`identity`] and an
//!    overflow-safe [`softmax`]; [`Activation`] names them for layers.
//! 3. **Layers** (ch. 3.3–3.4): [`Dense`], `A = X·W + B` then `h(A)`.
//! 4. **Networks** (ch. 3.4–3.6): [`Network3`], and the book's MNIST network [`Mnist`]
//!    (784 → 50 → 100 → 10).
//! 5. **The model blob**: [`Model::from_bytes`] validates a blob once (magic, version,
//!    CRC-32, shapes, finiteness) and borrows its parameters in place; [`encode`] writes one.
//!
//! Every exponential goes through [`math`] ([`math::exp`] for the sigmoid,
//! [`math::exp_nonpositive`] for the softmax), so host tests run the same math as the
//! firmware.
//!
//! A complete example: the book's toy network of section 3.4.3, written into a model blob
//! (what `scratchnet convert` makes from a pickle, and what a firmware keeps in flash),
//! loaded back with every check, and run.
//!
//! ```
//! use scratchnet::{Activation, LayerSpec, Network3, Shape, Weights, encode, encoded_len};
//!
//! // W1 is 2×3, W2 3×2, W3 2×2, row-major like the book's numpy arrays.
//! let (w1, b1) = ([0.1, 0.3, 0.5, 0.2, 0.4, 0.6], [0.1, 0.2, 0.3]);
//! let (w2, b2) = ([0.1, 0.4, 0.2, 0.5, 0.3, 0.6], [0.1, 0.2]);
//! let (w3, b3) = ([0.1, 0.3, 0.2, 0.4], [0.1, 0.2]);
//! fn layer<'a>(inputs: u32, outputs: u32, w: &'a [f32], b: &'a [f32], h: Activation) -> LayerSpec<'a> {
//!     LayerSpec { shape: Shape { inputs, outputs }, activation: h, weights: Weights::F32(w), biases: b }
//! }
//! let layers = [
//!     layer(2, 3, &w1, &b1, Activation::Sigmoid),
//!     layer(3, 2, &w2, &b2, Activation::Sigmoid),
//!     layer(2, 2, &w3, &b3, Activation::Identity),
//! ];
//!
//! // The blob: header, CRC-32, layer table, parameters. Kept 16-byte aligned, so the
//! // weights are read in place (on a device: `include_bytes!` into an aligned static).
//! #[repr(align(16))]
//! struct Aligned([u8; 256]);
//! let mut buf = Aligned([0; 256]);
//! let bytes = &mut buf.0;
//! let n = encode(&layers, bytes)?;
//! assert_eq!(n, encoded_len(&layers)?);
//!
//! // Load it: magic, version, CRC-32, shapes and finiteness are checked once. The sizes
//! // are in the type: a blob of other shapes is refused with `Error::ShapeMismatch`.
//! let net = Network3::<2, 3, 2, 2>::from_blob(&bytes[..n])?;
//! let y = net.predict(&[1.0, 0.5]);
//! // The book prints [0.31682708 0.69627909].
//! assert!((y[0] - 0.31682708).abs() < 1e-6 && (y[1] - 0.69627909).abs() < 1e-6);
//! # Ok::<(), scratchnet::Error>(())
//! ```
//!
//! The same network from arrays in code, without a blob:
//!
//! ```
//! use scratchnet::{Activation, Dense, Network};
//!
//! // The book's toy network of section 3.4.3.
//! let w1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]];
//! let w2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]];
//! let w3 = [[0.1, 0.3], [0.2, 0.4]];
//! let net = Network::new((
//!     Dense::new(&w1, &[0.1, 0.2, 0.3], Activation::Sigmoid),
//!     Dense::new(&w2, &[0.1, 0.2], Activation::Sigmoid),
//!     Dense::new(&w3, &[0.1, 0.2], Activation::Identity),
//! ));
//! let y = net.predict(&[1.0, 0.5]);
//! assert!((y[0] - 0.31682708).abs() < 1e-6 && (y[1] - 0.69627909).abs() < 1e-6);
//! ```
#![no_std]
// Unsafe code is denied everywhere but the ten assembly kernels in `kernel` (`vmla`: f32
// on FPU cores, `sigmoid`: an f32 sigmoid layer on FPU cores, `softmax`: the softmax's
// exponentials on FPU cores, `smlad`: int8 on DSP cores, `wide`: int8 layers as halfwords
// on DSP cores (feature `wide`), `requant_s8`: TFLite layers' requantization on Thumb-2
// cores (feature `tflite`),
// `activate`: an int8 sigmoid or ReLU layer's u8 outputs on FPU cores, `mla`: int8 on
// other Thumb-2 cores, `muls`: int8 on Thumb-1 cores, `index`: an int8 sigmoid layer's
// table indices on Thumb-1), whose measured speed needs them.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod activation;
mod blob;
mod chain;
mod crc32;
mod error;
mod input;
mod kernel;
mod layer;
mod learning;
pub mod math;
mod network;
mod params;
mod perceptron;
mod quant;
mod requant;
#[cfg(feature = "tflite")]
pub mod tflite;

pub use activation::{Activation, identity, relu, sigmoid, softmax, step};
#[doc(hidden)]
pub use activation::{sigmoid_fingerprint, softmax_fingerprint};
pub use blob::{
    ElementType, FORMAT_VERSION, HEADER_LEN, I8Form, I8Layout, LayerSpec, Layers, MAGIC,
    MAX_LAYERS, Model, ModelLayer, PAIR_SUM_LIMIT, PARAMS_ALIGN, QuantizedWeights,
    TfliteActivation, TfliteSpec, TfliteWeights, Weights, encode, encoded_len,
};
pub use chain::{FromLayers, Layer};
pub use crc32::crc32;
pub use error::{Error, Result, Shape};
pub use input::{Entry, Input, Pixels, normalize_pixel};
pub use layer::Dense;
pub use learning::{Epoch, LearningRule, Trained, gate_examples};
pub use network::{Classification, MNIST_CLASSES, MNIST_PIXELS, Mnist, Network, Network3};
pub use params::{I32s, Iter as ParamsIter, Params};
pub use perceptron::{
    AND, GATES, Gate, NAND, OR, Perceptron, TRUTH_TABLE_INPUTS, TwoLayerPerceptron, XOR, and, nand,
    or, xor,
};
#[doc(hidden)]
pub use quant::sigmoid_index_check;
pub use quant::{QDense, QMnist, QNetwork3, quantize, sigmoid_u8};
#[cfg(feature = "tflite")]
pub use tflite::TDense;
