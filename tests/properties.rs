//! Properties of the blob over random models (proptest): write → read round trips, every
//! single-bit flip refused (exhaustively, per generated blob), every truncation refused.

use proptest::prelude::*;
use scratchnet::{Activation, Error, LayerSpec, Model, Shape, Weights, encode, encoded_len};

/// A random chain of 1 to 4 layers of widths 1 to 6, with finite parameters.
fn layers() -> impl Strategy<Value = Vec<(Shape, Activation, Vec<f32>, Vec<f32>)>> {
    prop::collection::vec(1u32..=6, 2..=5).prop_flat_map(|widths| {
        let shapes: Vec<Shape> = widths
            .windows(2)
            .map(|w| Shape {
                inputs: w[0],
                outputs: w[1],
            })
            .collect();
        shapes
            .into_iter()
            .map(|s| {
                let n = (s.inputs * s.outputs) as usize;
                (
                    Just(s),
                    prop::sample::select(vec![
                        Activation::Identity,
                        Activation::Step,
                        Activation::Sigmoid,
                        Activation::Relu,
                        Activation::Softmax,
                    ]),
                    prop::collection::vec(-1e3f32..1e3, n),
                    prop::collection::vec(-1e3f32..1e3, s.outputs as usize),
                )
            })
            .collect::<Vec<_>>()
    })
}

fn blob(layers: &[(Shape, Activation, Vec<f32>, Vec<f32>)]) -> Vec<u8> {
    let specs: Vec<LayerSpec<'_>> = layers
        .iter()
        .map(|(shape, activation, w, b)| LayerSpec {
            shape: *shape,
            activation: *activation,
            weights: Weights::F32(w),
            biases: b,
        })
        .collect();
    let mut out = vec![0; encoded_len(&specs).unwrap()];
    encode(&specs, &mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn write_then_read_round_trips(layers in layers()) {
        let bytes = blob(&layers);
        let model = Model::from_bytes(&bytes).unwrap();
        prop_assert_eq!(model.layers().len(), layers.len());
        for (l, (shape, activation, w, b)) in model.layers().zip(&layers) {
            prop_assert_eq!(l.shape(), *shape);
            prop_assert_eq!(l.activation(), *activation);
            prop_assert!(l.weights().iter().eq(w.iter().copied()));
            prop_assert!(l.biases().iter().eq(b.iter().copied()));
        }
        prop_assert_eq!(bytes.len() % 4, 0);
    }

    #[test]
    fn every_bit_flip_and_truncation_is_refused(layers in layers()) {
        let bytes = blob(&layers);
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            prop_assert!(Model::from_bytes(&b).is_err(), "bit {} flipped was accepted", i);
        }
        for n in 0..bytes.len() {
            let r = Model::from_bytes(&bytes[..n]).map(|_| ());
            prop_assert!(matches!(r, Err(Error::Truncated { .. })), "{} bytes: {:?}", n, r);
        }
    }
}
