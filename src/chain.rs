//! Chapter 3.4: layers in sequence. One design for a network of any depth in either
//! precision: a [`Layer`] maps an input array to an output array whose sizes are in its
//! types, and a tuple of layers whose types chain is a layer too, so
//! `(Dense<784, 50>, Dense<50, 100>, Dense<100, 10>)` compiles and
//! `(Dense<784, 50>, Dense<40, 10>)` does not.
//!
//! ```text
//! Z1 = h1(X·W1 + B1), Z2 = h2(Z1·W2 + B2), …, A = Zn-1·Wn + Bn, Y = σ(A)
//! ```
//!
//! ```
//! use scratchnet::{Activation::*, Dense, Network};
//! let (w1, w2) = ([[0.5f32; 3]; 2], [[1.0f32; 2]; 3]);
//! let net = Network::new((Dense::new(&w1, &[0.0; 3], Relu), Dense::new(&w2, &[0.0; 2], Softmax)));
//! let c = net.classify(&[1.0, 0.5]); // 2 → 3 → 2
//! assert_eq!(c.class, 0);
//! ```
//!
//! Layers that do not chain do not compile (a 2 → 3 layer, then a 4 → 2 one):
//!
//! ```compile_fail
//! use scratchnet::{Activation::*, Dense, Network};
//! let (w1, w2) = ([[0.5f32; 3]; 2], [[1.0f32; 2]; 4]);
//! let net = Network::new((Dense::new(&w1, &[0.0; 3], Relu), Dense::new(&w2, &[0.0; 2], Softmax)));
//! let c = net.classify(&[1.0, 0.5]);
//! ```
//!
//! Nor does an input of the wrong length (three values for two inputs):
//!
//! ```compile_fail
//! use scratchnet::{Activation::*, Dense, Network};
//! let (w1, w2) = ([[0.5f32; 3]; 2], [[1.0f32; 2]; 3]);
//! let net = Network::new((Dense::new(&w1, &[0.0; 3], Relu), Dense::new(&w2, &[0.0; 2], Softmax)));
//! let c = net.classify(&[1.0, 0.5, 0.25]);
//! ```

use core::mem::MaybeUninit;

use crate::activation::Activation;
use crate::blob::{Layers, ModelLayer};
use crate::error::{Error, Result};

/// A layer, or a chain of layers, reading `X` (`[f32; IN]`, or `[u8; IN]`: pixels or the
/// int8 path's activations, each `v/255`).
///
/// Implemented for [`Dense`](crate::Dense) (f32 or u8 inputs), [`QDense`](crate::QDense)
/// (u8 inputs) and tuples of 2 to 10 layers whose outputs are the next one's inputs.
///
/// A layer writes its output into a slot it is given, whole, and returns it there: a
/// chain's hidden outputs are never zeroed first, nor copied (on the M4F the f32 kernel's
/// routines write every sum of a dense input's layer: the book's network −228 instructions
/// an inference against zeroed arrays, `cargo xtask demo`).
pub trait Layer<X> {
    /// What it gives the next layer: `Z = h(A)` (an array).
    type Output: Copy;
    /// The values before the activation, `A = X·W + B`, as f32 (the logits, for the last
    /// layer).
    type Logits: Copy;
    /// `Z = h(X·W + B)`, written into `z` (whole: it need not be initialized), and
    /// returned there.
    fn forward<'z>(&self, x: &X, z: &'z mut MaybeUninit<Self::Output>) -> &'z mut Self::Output;
    /// The last layer's values before its activation (for a chain: every layer but the
    /// last forward, then the last one's `A`), written into `a` and returned there.
    fn logits<'a>(&self, x: &X, a: &'a mut MaybeUninit<Self::Logits>) -> &'a mut Self::Logits;
    /// The activation of the (last) layer.
    fn output_activation(&self) -> Activation;
}

/// A layer, or a chain of layers, that can be viewed from a validated blob's layer table.
pub trait FromLayers<'a>: Sized {
    /// Blob layers it takes.
    const LAYERS: usize;
    /// The view of the next [`LAYERS`](Self::LAYERS) layers of `layers`, the first of them
    /// being the blob's layer `first`: [`Error::ShapeMismatch`] for a wrong shape,
    /// [`Error::UnsupportedElement`] for a wrong element type, [`Error::WrongLayerCount`]
    /// when `layers` ends first.
    fn take(layers: &mut Layers<'a>, first: usize) -> Result<Self>;
    /// Whether it can be a hidden layer (followed by others): an int8 layer's u8 outputs
    /// hold `[0, 1]`, so only sigmoid. [`Error::UnsupportedActivation`] otherwise.
    fn check_hidden(&self, _index: usize) -> Result<()> {
        Ok(())
    }
    /// The view of exactly `layers`: [`Error::WrongLayerCount`] unless there are
    /// [`LAYERS`](Self::LAYERS) of them, then as [`take`](Self::take).
    fn from_layers(mut layers: Layers<'a>) -> Result<Self> {
        if layers.len() != Self::LAYERS {
            return Err(Error::WrongLayerCount {
                expected: Self::LAYERS,
                found: layers.len(),
            });
        }
        Self::take(&mut layers, 0)
    }
}

/// [`Error::ShapeMismatch`] unless `layer` (the blob's layer `index`) is `inputs × outputs`:
/// the typed views' first check.
#[inline(always)]
pub(crate) fn check_shape(
    layer: &ModelLayer<'_>,
    index: usize,
    inputs: usize,
    outputs: usize,
) -> Result<()> {
    let expected = crate::error::Shape {
        inputs: inputs as u32,
        outputs: outputs as u32,
    };
    if layer.shape() == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            layer: index,
            expected,
            found: layer.shape(),
        })
    }
}

/// Runs a chain whose shapes are known only at run time through `scratch`: the hidden
/// layers' outputs (`widths`, one per hidden layer) ping-pong between its two halves. Layer
/// `k` is `layer(k, input, Some(output))` for a hidden layer (the first reads `x`), then
/// `layer(k, input, None)` for the last, which writes where the caller keeps its output.
/// The caller sizes `scratch`: twice the widest hidden layer (a shorter one cuts the
/// widths, never panics).
pub(crate) fn ping_pong<T>(
    x: &[T],
    scratch: &mut [T],
    widths: impl Iterator<Item = usize>,
    mut layer: impl FnMut(usize, &[T], Option<&mut [T]>),
) {
    let half = scratch.len() / 2;
    let (front, back) = scratch.split_at_mut(half);
    // Where the current layer's input is: `x`, then the halves in turn.
    let mut src_in_front: Option<bool> = None;
    let mut src_len = 0;
    let mut k = 0;
    for width in widths {
        let (src, dst): (&[T], &mut [T]) = match src_in_front {
            None => (x, &mut *front),
            Some(true) => (&front[..src_len], &mut *back),
            Some(false) => (&back[..src_len], &mut *front),
        };
        let width = width.min(dst.len());
        layer(k, src, Some(&mut dst[..width]));
        src_len = width;
        src_in_front = Some(src_in_front != Some(true));
        k += 1;
    }
    let src = match src_in_front {
        None => x,
        Some(true) => &front[..src_len],
        Some(false) => &back[..src_len],
    };
    layer(k, src, None);
}

/// The next layer for [`FromLayers::take`] (the blob's layer `first`), or
/// [`Error::WrongLayerCount`].
#[inline(always)]
pub(crate) fn next_layer<'a>(layers: &mut Layers<'a>, first: usize) -> Result<ModelLayer<'a>> {
    layers.next().ok_or(Error::WrongLayerCount {
        expected: first + 1,
        found: first,
    })
}

/// `Layer` and `FromLayers` for a tuple: `chain!(first; next previous, …; [indices] last)`,
/// each `next` reading what its `previous` gives.
macro_rules! chain {
    ($first:ident; $($n:ident $p:ident),+; [$($i:tt)+] $last:tt) => {
        impl<X, $first: Layer<X>, $($n,)+> Layer<X> for ($first, $($n,)+)
        where
            $($n: Layer<$p::Output>,)+
        {
            type Output = chain!(@output $($n)+);
            type Logits = chain!(@logits $($n)+);

            #[inline(always)]
            fn forward<'z>(
                &self,
                x: &X,
                z: &'z mut MaybeUninit<Self::Output>,
            ) -> &'z mut Self::Output {
                chain!(@run self x z forward [$($i)+])
            }

            #[inline(always)]
            fn logits<'a>(
                &self,
                x: &X,
                a: &'a mut MaybeUninit<Self::Logits>,
            ) -> &'a mut Self::Logits {
                chain!(@run self x a logits [$($i)+])
            }

            fn output_activation(&self) -> Activation {
                self.$last.output_activation()
            }
        }

        impl<'a, $first: FromLayers<'a>, $($n: FromLayers<'a>,)+> FromLayers<'a>
            for ($first, $($n,)+)
        {
            const LAYERS: usize = $first::LAYERS $(+ $n::LAYERS)+;

            fn take(layers: &mut Layers<'a>, first: usize) -> Result<Self> {
                let mut index = first;
                let chain = (
                    { let l = $first::take(layers, index)?; index += $first::LAYERS; l },
                    $({ let l = $n::take(layers, index)?; index += $n::LAYERS; l },)+
                );
                let _ = index;
                // Every part but the last is followed by another.
                let mut index = first;
                chain!(@hidden chain index [$($i)+] $last; $first $($n)+);
                let _ = index;
                Ok(chain)
            }
        }
    };
    (@output $a:ident $($rest:ident)+) => { chain!(@output $($rest)+) };
    (@output $a:ident) => { $a::Output };
    (@logits $a:ident $($rest:ident)+) => { chain!(@logits $($rest)+) };
    (@logits $a:ident) => { $a::Logits };
    // Each part but the last forwards into an array the next part reads (not zeroed
    // first: each layer writes its output whole).
    (@run $s:ident $x:ident $out:ident $f:ident [$first:tt $($i:tt)+]) => {{
        let mut z = MaybeUninit::uninit();
        let z = $s.$first.forward($x, &mut z);
        chain!(@step $s z $out $f [$($i)+])
    }};
    (@step $s:ident $prev:ident $out:ident $f:ident [$i:tt $($rest:tt)+]) => {{
        let mut z = MaybeUninit::uninit();
        let z = $s.$i.forward($prev, &mut z);
        chain!(@step $s z $out $f [$($rest)+])
    }};
    (@step $s:ident $prev:ident $out:ident $f:ident [$i:tt]) => {
        $s.$i.$f($prev, $out)
    };
    (@hidden $c:ident $index:ident [$i:tt $($rest:tt)+] $last:tt; $L:ident $($more:ident)+) => {
        $c.$i.check_hidden($index)?;
        $index += $L::LAYERS;
        chain!(@hidden $c $index [$($rest)+] $last; $($more)+);
    };
    (@hidden $c:ident $index:ident [$i:tt] $last:tt; $L:ident) => {};
}

chain!(A; B A; [0 1] 1);
chain!(A; B A, C B; [0 1 2] 2);
chain!(A; B A, C B, D C; [0 1 2 3] 3);
chain!(A; B A, C B, D C, E D; [0 1 2 3 4] 4);
chain!(A; B A, C B, D C, E D, F E; [0 1 2 3 4 5] 5);
chain!(A; B A, C B, D C, E D, F E, G F; [0 1 2 3 4 5 6] 6);
chain!(A; B A, C B, D C, E D, F E, G F, H G; [0 1 2 3 4 5 6 7] 7);
chain!(A; B A, C B, D C, E D, F E, G F, H G, I H; [0 1 2 3 4 5 6 7 8] 8);
chain!(A; B A, C B, D C, E D, F E, G F, H G, I H, J I; [0 1 2 3 4 5 6 7 8 9] 9);
