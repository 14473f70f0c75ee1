//! Chapter 3.4–3.6: networks of layers in sequence, the three-layer network, and the book's
//! MNIST network.

use crate::blob::{ElementType, Model};
use crate::chain::{FromLayers, Layer};
use crate::error::{Error, Result};
use crate::input::{Input, Pixels};
use crate::kernel::affine;
use crate::layer::Dense;
use core::mem::MaybeUninit;

/// A network: layers in sequence whose sizes chain by type ([`Layer`], any depth from 1 to
/// 10, f32 [`Dense`] or int8 [`QDense`](crate::QDense) layers), so a network whose layers do
/// not fit together does not compile.
///
/// ```text
/// Z1 = h1(X·W1 + B1), …, A = Zn-1·Wn + Bn (the logits), Y = σ(A)
/// ```
///
/// Inference needs no heap and cannot fail: the hidden activations live on the stack.
/// [`Network3`] and the book's [`Mnist`] are three-layer f32 networks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Network<L> {
    /// The layers, input first: one layer or a tuple of them.
    pub layers: L,
}

/// A three-layer f32 network `I → H1 → H2 → O` (the book's section 3.4):
///
/// ```text
/// A1 = X·W1 + B1,  Z1 = h1(A1)
/// A2 = Z1·W2 + B2, Z2 = h2(A2)
/// A3 = Z2·W3 + B3, Y  = σ(A3)
/// ```
pub type Network3<'a, const I: usize, const H1: usize, const H2: usize, const O: usize> =
    Network<(Dense<'a, I, H1>, Dense<'a, H1, H2>, Dense<'a, H2, O>)>;

/// The outcome of classifying one input: the most probable class and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Classification {
    /// The index of the largest output (the first one, on ties, like `np.argmax`).
    pub class: usize,
    /// The output at that index: a probability when the output activation is softmax.
    pub probability: f32,
}

impl Classification {
    /// The first index of the largest value, and that value: `np.argmax(y)`, `y[argmax]`.
    pub fn argmax(y: &[f32]) -> Self {
        let mut best = Classification {
            class: 0,
            probability: f32::NEG_INFINITY,
        };
        for (k, &v) in y.iter().enumerate() {
            if v > best.probability {
                best = Classification {
                    class: k,
                    probability: v,
                };
            }
        }
        best
    }
}

impl<L> Network<L> {
    /// A network of `layers` (a tuple of layers whose sizes chain, or one layer).
    pub const fn new(layers: L) -> Self {
        Self { layers }
    }

    /// A typed view of a loaded model. Fails with [`Error::WrongLayerCount`] unless the model
    /// has as many layers as `L`, with [`Error::ShapeMismatch`] (naming the expected and
    /// found shapes) unless each is the type's, with [`Error::UnsupportedElement`] for an
    /// element type the layer's type does not run, and with
    /// [`Error::UnsupportedActivation`] for an int8 hidden layer that is not sigmoid or ReLU.
    pub fn from_model<'a>(model: &Model<'a>) -> Result<Self>
    where
        L: FromLayers<'a>,
    {
        L::from_layers(model.layers()).map(Self::new)
    }

    /// Loads a blob ([`Model::from_bytes`]) and takes its typed view ([`Self::from_model`]).
    pub fn from_blob<'a>(bytes: &'a [u8]) -> Result<Self>
    where
        L: FromLayers<'a>,
    {
        Self::from_model(&Model::from_bytes(bytes)?)
    }

    /// The last layer's values before its activation (the logits) for `x`: `[f32; IN]`,
    /// or `[u8; IN]` read as `v/255` (pixels, the book's `normalize=True`).
    pub fn logits<X>(&self, x: &X) -> L::Logits
    where
        L: Layer<X>,
    {
        *self.layers.logits(x, &mut MaybeUninit::uninit())
    }

    /// `Y = σ(A)`: the network's output (probabilities, when the output is softmax).
    pub fn predict<X, const O: usize>(&self, x: &X) -> [f32; O]
    where
        L: Layer<X, Logits = [f32; O]>,
    {
        *self.predict_into(x, &mut MaybeUninit::uninit())
    }

    /// [`predict`](Self::predict) into `y`, returned there.
    #[inline(always)]
    fn predict_into<'y, X, const O: usize>(
        &self,
        x: &X,
        y: &'y mut MaybeUninit<[f32; O]>,
    ) -> &'y mut [f32; O]
    where
        L: Layer<X, Logits = [f32; O]>,
    {
        let y = self.layers.logits(x, y);
        self.layers.output_activation().apply(y);
        y
    }

    /// The most probable class: `np.argmax(predict(x))`, and its probability.
    pub fn classify<X, const O: usize>(&self, x: &X) -> Classification
    where
        L: Layer<X, Logits = [f32; O]>,
    {
        Classification::argmax(self.predict_into(x, &mut MaybeUninit::uninit()))
    }

    /// [`logits`](Self::logits) of u8 pixels (each `p/255`).
    pub fn logits_pixels<const I: usize, const O: usize>(&self, x: &[u8; I]) -> [f32; O]
    where
        L: Layer<[u8; I], Logits = [f32; O]>,
    {
        self.logits(x)
    }

    /// [`predict`](Self::predict) of u8 pixels (each `p/255`).
    pub fn predict_pixels<const I: usize, const O: usize>(&self, x: &[u8; I]) -> [f32; O]
    where
        L: Layer<[u8; I], Logits = [f32; O]>,
    {
        self.predict(x)
    }

    /// [`classify`](Self::classify) of u8 pixels (each `p/255`).
    pub fn classify_pixels<const I: usize, const O: usize>(&self, x: &[u8; I]) -> Classification
    where
        L: Layer<[u8; I], Logits = [f32; O]>,
    {
        self.classify(x)
    }

    /// Batch inference: `outputs[n] = predict(inputs[n])` into caller-provided slots.
    /// [`Error::BatchMismatch`] (and nothing written) when the lengths differ.
    pub fn predict_batch<X, const O: usize>(
        &self,
        inputs: &[X],
        outputs: &mut [[f32; O]],
    ) -> Result<()>
    where
        L: Layer<X, Logits = [f32; O]>,
    {
        check_batch(inputs.len(), outputs.len())?;
        for (x, y) in inputs.iter().zip(outputs) {
            *y = self.predict(x);
        }
        Ok(())
    }

    /// Batch classification into caller-provided slots (e.g. u8-pixel images).
    /// [`Error::BatchMismatch`] (and nothing written) when the lengths differ.
    pub fn classify_batch<X, const O: usize>(
        &self,
        inputs: &[X],
        outputs: &mut [Classification],
    ) -> Result<()>
    where
        L: Layer<X, Logits = [f32; O]>,
    {
        check_batch(inputs.len(), outputs.len())?;
        for (x, c) in inputs.iter().zip(outputs) {
            *c = self.classify(x);
        }
        Ok(())
    }
}

fn check_batch(inputs: usize, outputs: usize) -> Result<()> {
    if inputs == outputs {
        Ok(())
    } else {
        Err(Error::BatchMismatch { inputs, outputs })
    }
}

/// Inference on a model whose shape is known only at run time. (Here, not beside the
/// format in `blob`: the format knows nothing of inference.)
impl Model<'_> {
    /// The run-time runners' common checks: [`Error::LengthMismatch`] unless the input and
    /// output lengths are the model's, [`Error::BufferTooSmall`] unless the scratch holds
    /// [`scratch_len`](Self::scratch_len) values, which it returns.
    pub(crate) fn check_lengths(&self, x: usize, out: usize, scratch: usize) -> Result<usize> {
        for (found, expected) in [(x, self.inputs()), (out, self.outputs())] {
            if found != expected {
                return Err(Error::LengthMismatch { expected, found });
            }
        }
        let needed = self.scratch_len();
        if scratch < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: scratch,
            });
        }
        Ok(needed)
    }

    /// Runs every layer on inputs `x` (exactly [`inputs`](Self::inputs) f32 values or
    /// [`Pixels`](crate::Pixels)), leaving the last layer's values *before* its activation in `out`.
    ///
    /// For networks whose shape is known only at run time (any number of layers up to
    /// [`MAX_LAYERS`](crate::MAX_LAYERS)); the typed [`Network3`](crate::Network3) computes the same values
    /// bit for bit with the same kernel. Fails with [`Error::BufferTooSmall`] when `scratch`
    /// is shorter than [`scratch_len`](Self::scratch_len), [`Error::LengthMismatch`] when
    /// `x` or `out` have the wrong length, and [`Error::UnsupportedElement`] for an int8
    /// model (run it with [`QNetwork3`](crate::QNetwork3)); nothing else can fail.
    pub fn logits_of<'x, X: Input<'x>>(
        &self,
        x: X,
        scratch: &mut [f32],
        out: &mut [f32],
    ) -> Result<()> {
        let needed = self.check_lengths(x.len(), out.len(), scratch.len())?;
        // int8 layers carry no f32 weights: their kernel is `QDense`'s, not this one.
        if !self.is_f32() {
            let layer = self.layers().position(|l| l.element() != ElementType::F32);
            return Err(Error::UnsupportedElement {
                layer: layer.unwrap_or(0),
            });
        }
        let (front, back) = scratch[..needed].split_at_mut(needed / 2);
        let last = self.layer_count() - 1;
        let Some(first) = self.first_layer() else {
            return Ok(());
        };
        let layers = self.layers_after_first();
        if last == 0 {
            affine(first.weights(), first.biases(), x, out);
            return Ok(());
        }
        let width = first.shape().outputs as usize;
        affine(first.weights(), first.biases(), x, &mut front[..width]);
        first.activation().apply(&mut front[..width]);
        let mut src_is_front = true;
        let mut src_len = width;
        for (k, l) in layers.enumerate().map(|(k, l)| (k + 1, l)) {
            let (src, dst) = if src_is_front {
                (&front[..src_len], &mut back[..])
            } else {
                (&back[..src_len], &mut front[..])
            };
            let x = src;
            if k == last {
                affine(l.weights(), l.biases(), x, out);
            } else {
                let width = l.shape().outputs as usize;
                let dst = &mut dst[..width];
                affine(l.weights(), l.biases(), x, dst);
                l.activation().apply(dst);
                src_len = width;
                src_is_front = !src_is_front;
            }
        }
        Ok(())
    }

    /// [`logits_of`](Self::logits_of) for f32 inputs.
    pub fn logits(&self, x: &[f32], scratch: &mut [f32], out: &mut [f32]) -> Result<()> {
        self.logits_of(x, scratch, out)
    }

    /// [`logits_of`](Self::logits_of) for u8 pixels, normalised by `/255` on the fly.
    pub fn logits_pixels(&self, x: &[u8], scratch: &mut [f32], out: &mut [f32]) -> Result<()> {
        self.logits_of(Pixels(x), scratch, out)
    }

    /// The output layer's activation applied to `out` after [`logits`](Self::logits) (the
    /// probabilities, for softmax), and the first index of the largest.
    pub fn classify_pixels(
        &self,
        x: &[u8],
        scratch: &mut [f32],
        out: &mut [f32],
    ) -> Result<Classification> {
        self.logits_pixels(x, scratch, out)?;
        self.output_activation().apply(out);
        Ok(Classification::argmax(out))
    }
}

/// Pixels in one MNIST image (28 × 28).
pub const MNIST_PIXELS: usize = 784;
/// MNIST classes (the digits 0–9).
pub const MNIST_CLASSES: usize = 10;

/// The book's MNIST network (`ch03/neuralnet_mnist.py`): 784 → 50 → 100 → 10 with sigmoid,
/// sigmoid and softmax. Load it from a blob with [`Network::from_blob`]:
///
/// ```no_run
/// # fn f(blob: &[u8]) -> Result<(), scratchnet::Error> {
/// let net = scratchnet::Mnist::from_blob(blob)?;
/// let image = [0u8; 784];
/// let c = net.classify_pixels(&image);
/// # Ok(()) }
/// ```
pub type Mnist<'a> = Network3<'a, MNIST_PIXELS, 50, 100, MNIST_CLASSES>;

#[cfg(test)]
// Expected values are quoted with the digits the book prints.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;
    use crate::activation::Activation::{Identity, Sigmoid};
    use crate::input::normalize_pixel;

    const W1: [[f32; 3]; 2] = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]];
    const B1: [f32; 3] = [0.1, 0.2, 0.3];
    const W2: [[f32; 2]; 3] = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]];
    const B2: [f32; 2] = [0.1, 0.2];
    const W3: [[f32; 2]; 2] = [[0.1, 0.3], [0.2, 0.4]];
    const B3: [f32; 2] = [0.1, 0.2];

    /// The book's `init_network()` of section 3.4.3.
    const TOY: Network3<'static, 2, 3, 2, 2> = Network::new((
        Dense::new(&W1, &B1, Sigmoid),
        Dense::new(&W2, &B2, Sigmoid),
        Dense::new(&W3, &B3, Identity),
    ));

    #[test]
    fn the_books_toy_network() {
        let y = TOY.predict(&[1.0, 0.5]);
        let want = [0.316_827_08, 0.696_279_09];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{y:?}");
        }
        assert_eq!(TOY.classify(&[1.0, 0.5]).class, 1);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        let c = Classification::argmax(&[0.1, 0.4, 0.4, 0.1]);
        assert_eq!((c.class, c.probability), (1, 0.4));
    }

    #[test]
    fn batch_lengths_must_match() {
        let mut out = [[0.0; 2]; 1];
        assert_eq!(
            TOY.predict_batch(&[[1.0, 0.5], [0.0, 0.0]], &mut out),
            Err(Error::BatchMismatch {
                inputs: 2,
                outputs: 1
            })
        );
        assert_eq!(out, [[0.0; 2]]);
        let mut out = [[0.0; 2]; 2];
        TOY.predict_batch(&[[1.0, 0.5], [0.0, 0.0]], &mut out)
            .unwrap();
        assert_eq!(out[0], TOY.predict(&[1.0, 0.5]));
        assert_eq!(out[1], TOY.predict(&[0.0, 0.0]));
    }

    #[test]
    fn pixels_are_divided_by_255() {
        assert_eq!(normalize_pixel(255), 1.0);
        assert_eq!(normalize_pixel(0), 0.0);
        assert_eq!(normalize_pixel(51), 51.0f32 / 255.0);
    }
}
