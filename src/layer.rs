//! Chapter 3.3–3.4: the dense layer `A = X·W + B`, followed by its activation.

use crate::activation::Activation;
use crate::blob::{Layers, ModelLayer};
use crate::chain::{FromLayers, Layer, next_layer};
use crate::error::{Error, Result, Shape};
use crate::input::Input;
use crate::kernel::{affine, affine_into};
use crate::params::Params;
use core::mem::MaybeUninit;

/// A dense (fully connected) layer with `IN` inputs and `OUT` outputs:
///
/// ```text
/// A = X·W + B        W is IN × OUT (the book's layout), B has OUT values
/// Z = h(A)           h is the layer's activation
/// ```
///
/// The shape is in the type, so layers that do not chain do not compile. Its parameters are
/// borrowed: from arrays in code ([`Dense::new`]) or in place from a model blob
/// ([`Dense::from_layer`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dense<'a, const IN: usize, const OUT: usize> {
    /// `W`, row-major `IN × OUT`; its length is `IN·OUT` (checked on construction).
    weights: Params<'a>,
    /// `B`, `OUT` values (checked on construction).
    biases: Params<'a>,
    activation: Activation,
}

impl<'a, const IN: usize, const OUT: usize> Dense<'a, IN, OUT> {
    /// A layer from weights `W` (`IN` rows of `OUT`), biases `B` and an activation.
    pub const fn new(
        weights: &'a [[f32; OUT]; IN],
        biases: &'a [f32; OUT],
        activation: Activation,
    ) -> Self {
        Self {
            weights: Params::from_f32(weights.as_flattened()),
            biases: Params::from_f32(biases),
            activation,
        }
    }

    /// A typed view of a blob layer; [`Error::ShapeMismatch`] (with `index` as the layer)
    /// when the layer is not `IN × OUT`.
    pub fn from_layer(layer: &ModelLayer<'a>, index: usize) -> Result<Self> {
        let expected = Self::shape();
        let found = layer.shape();
        if found != expected {
            return Err(Error::ShapeMismatch {
                layer: index,
                expected,
                found,
            });
        }
        if layer.element() != crate::ElementType::F32 {
            return Err(Error::UnsupportedElement { layer: index });
        }
        // The blob loader checked these; a typed view re-checks rather than trusts.
        if layer.weights().len() != IN * OUT || layer.biases().len() != OUT {
            return Err(Error::BadLength { layer: index });
        }
        Ok(Self {
            weights: layer.weights(),
            biases: layer.biases(),
            activation: layer.activation(),
        })
    }

    /// The layer's shape, `IN × OUT`.
    pub const fn shape() -> Shape {
        Shape {
            inputs: IN as u32,
            outputs: OUT as u32,
        }
    }

    /// The activation `h`.
    pub const fn activation(&self) -> Activation {
        self.activation
    }

    /// The weights `W` (row-major `IN × OUT`).
    pub const fn weights(&self) -> Params<'a> {
        self.weights
    }

    /// The biases `B`.
    pub const fn biases(&self) -> Params<'a> {
        self.biases
    }

    /// `A = X·W + B` without the activation, for `IN` f32 inputs.
    ///
    /// Each output is summed over the inputs in order, then the bias is added, as numpy's
    /// `np.dot(x, W) + b` does (zero inputs skipped: see [`Input`]).
    pub fn affine(&self, x: &[f32; IN], a: &mut [f32; OUT]) {
        self.affine_of(&x[..], a);
    }

    /// `A = X·W + B` for `IN` u8 pixels, each read as `p / 255` (the book's
    /// `normalize=True`) on the fly.
    pub fn affine_pixels(&self, x: &[u8; IN], a: &mut [f32; OUT]) {
        self.affine_of(crate::input::Pixels(x), a);
    }

    /// [`affine`](Self::affine) for either kind of input; the callers' types fix its length
    /// to `IN`.
    pub(crate) fn affine_of<'x, X: Input<'x>>(&self, x: X, a: &mut [f32; OUT]) {
        affine(self.weights, self.biases, x, a);
    }

    /// `A = X·W + B` into `a` (written whole: not zeroed first where a routine writes it).
    #[inline(always)]
    fn affine_into<'o, 'x, X: Input<'x>>(
        &self,
        x: X,
        a: &'o mut MaybeUninit<[f32; OUT]>,
    ) -> &'o mut [f32; OUT] {
        affine_into(self.weights, self.biases, x, a)
    }

    /// `Z = h(X·W + B)`: the layer's output for inputs `x`.
    pub fn forward(&self, x: &[f32; IN], z: &mut [f32; OUT]) {
        self.affine(x, z);
        self.activation.apply(z);
    }
}

impl<const IN: usize, const OUT: usize> Layer<[f32; IN]> for Dense<'_, IN, OUT> {
    type Output = [f32; OUT];
    type Logits = [f32; OUT];

    #[inline(always)]
    fn forward<'z>(&self, x: &[f32; IN], z: &'z mut MaybeUninit<[f32; OUT]>) -> &'z mut [f32; OUT] {
        let z = self.affine_into(x.as_slice(), z);
        self.activation.apply(z);
        z
    }

    #[inline(always)]
    fn logits<'a>(&self, x: &[f32; IN], a: &'a mut MaybeUninit<[f32; OUT]>) -> &'a mut [f32; OUT] {
        self.affine_into(x.as_slice(), a)
    }

    fn output_activation(&self) -> Activation {
        self.activation
    }
}

/// u8 inputs, each `p/255`: the book's pixels with `normalize=True`.
impl<const IN: usize, const OUT: usize> Layer<[u8; IN]> for Dense<'_, IN, OUT> {
    type Output = [f32; OUT];
    type Logits = [f32; OUT];

    #[inline(always)]
    fn forward<'z>(&self, x: &[u8; IN], z: &'z mut MaybeUninit<[f32; OUT]>) -> &'z mut [f32; OUT] {
        let z = self.affine_into(crate::input::Pixels(x), z);
        self.activation.apply(z);
        z
    }

    #[inline(always)]
    fn logits<'a>(&self, x: &[u8; IN], a: &'a mut MaybeUninit<[f32; OUT]>) -> &'a mut [f32; OUT] {
        self.affine_into(crate::input::Pixels(x), a)
    }

    fn output_activation(&self) -> Activation {
        self.activation
    }
}

impl<'a, const IN: usize, const OUT: usize> FromLayers<'a> for Dense<'a, IN, OUT> {
    const LAYERS: usize = 1;

    fn take(layers: &mut Layers<'a>, first: usize) -> Result<Self> {
        Self::from_layer(&next_layer(layers, first)?, first)
    }
}

#[cfg(test)]
// Expected values are quoted with the digits the book prints.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    #[test]
    fn affine_is_x_dot_w_plus_b() {
        // Book 3.4.2: X = [1.0, 0.5], W1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], B1 = [0.1, 0.2, 0.3]
        // A1 = [0.3, 0.7, 1.1]
        let w = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]];
        let b = [0.1, 0.2, 0.3];
        let layer = Dense::new(&w, &b, Activation::Sigmoid);
        let mut a = [0.0; 3];
        layer.affine(&[1.0, 0.5], &mut a);
        for (g, w) in a.iter().zip([0.3, 0.7, 1.1]) {
            assert!((g - w).abs() < 1e-6, "{a:?}");
        }
        // Z1 = sigmoid(A1) = [0.57444252, 0.66818777, 0.75026011]
        layer.forward(&[1.0, 0.5], &mut a);
        for (g, w) in a.iter().zip([0.574_442_5, 0.668_187_8, 0.750_260_1]) {
            assert!((g - w).abs() < 1e-6, "{a:?}");
        }
    }

    #[test]
    fn skipping_zero_inputs_changes_nothing() {
        let w = [[1e-3, -2.0], [-7.5, 3.25], [0.5, -0.125]];
        let b = [0.0, -1.0];
        let layer = Dense::new(&w, &b, Activation::Identity);
        let mut a = [0.0; 2];
        layer.affine(&[0.0, 2.0, 0.0], &mut a);
        assert_eq!(a, [0.0 * 1e-3 + 2.0 * -7.5 + 0.0, 2.0 * 3.25 - 1.0]);
    }
}
