//! Chapter 3.3–3.4: the dense layer `A = X·W + B`, followed by its activation.

use crate::activation::Activation;
use crate::blob::Layer;
use crate::error::{Error, Result, Shape};
use crate::params::Params;

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
    pub fn from_layer(layer: &Layer<'a>, index: usize) -> Result<Self> {
        let expected = Self::shape();
        let found = layer.shape();
        if found != expected {
            return Err(Error::ShapeMismatch {
                layer: index,
                expected,
                found,
            });
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

    /// `A = X·W + B` without the activation, for inputs given as an iterator of `IN` values.
    ///
    /// Each output is summed over the inputs in order, then the bias is added, as numpy's
    /// `np.dot(x, W) + b` does. Rows whose input is exactly zero are skipped: they add `±0`,
    /// which leaves every sum unchanged, bit for bit (weights are finite).
    pub fn affine(&self, x: impl IntoIterator<Item = f32>, a: &mut [f32; OUT]) {
        affine(self.weights, self.biases, x.into_iter().take(IN), a);
    }

    /// `Z = h(X·W + B)`: the layer's output for inputs `x`.
    pub fn forward(&self, x: &[f32; IN], z: &mut [f32; OUT]) {
        self.affine(x.iter().copied(), z);
        self.activation.apply(z);
    }
}

/// `a = x·W + b` for a row-major `W` with `a.len()` columns: the one kernel behind every
/// layer, typed ([`Dense`]) or sized at run time ([`Model`](crate::Model)).
///
/// Each output is summed over the inputs in order, then the bias is added. Rows whose input
/// is exactly zero are skipped: they add `±0`, which leaves every sum unchanged.
pub(crate) fn affine(
    weights: Params<'_>,
    biases: Params<'_>,
    x: impl IntoIterator<Item = f32>,
    a: &mut [f32],
) {
    let columns = a.len();
    a.fill(0.0);
    for (i, xi) in x.into_iter().enumerate() {
        if xi != 0.0 {
            weights.axpy_row(i * columns, xi, a);
        }
    }
    for (a, b) in a.iter_mut().zip(biases.iter()) {
        *a += b;
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
        layer.affine([1.0, 0.5], &mut a);
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
        layer.affine([0.0, 2.0, 0.0], &mut a);
        assert_eq!(a, [0.0 * 1e-3 + 2.0 * -7.5 + 0.0, 2.0 * 3.25 - 1.0]);
    }
}
