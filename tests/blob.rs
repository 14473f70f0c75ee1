//! The model blob: exact bytes of a tiny model, round trips, and every kind of damage
//! refused with its typed error.

#![allow(clippy::excessive_precision)] // the book's digits, quoted as printed

use scratchnet::{
    Activation, Dense, Error, LayerSpec, Model, Network3, Shape, Weights, encode, encoded_len,
};

/// A one-layer model: 2 inputs, 1 output, identity; W = [[1.0], [-2.0]], B = [0.5].
const TINY_W: [f32; 2] = [1.0, -2.0];
const TINY_B: [f32; 1] = [0.5];

fn tiny() -> [LayerSpec<'static>; 1] {
    [LayerSpec {
        shape: Shape {
            inputs: 2,
            outputs: 1,
        },
        activation: Activation::Identity,
        weights: Weights::F32(&TINY_W),
        biases: &TINY_B,
    }]
}

/// The exact bytes, worked out by hand from the documented layout (CRC from `zlib.crc32`).
const TINY_BYTES: [u8; 44] = [
    b'S', b'C', b'N', b'T', // magic
    0x04, 0x00, // version 4
    0x00, 0x00, // reserved
    0x1c, 0x00, 0x00, 0x00, // payload length 28
    0x05, 0xd9, 0x3e, 0xf3, // CRC-32 of the payload = 0xf33ed905
    0x01, // layer count 1
    0x02, 0x01, 0x00, 0x00, // inputs 2, outputs 1, identity, f32
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // zero padding to offset 32
    0x00, 0x00, 0x80, 0x3f, // W[0][0] = 1.0
    0x00, 0x00, 0x00, 0xc0, // W[1][0] = -2.0
    0x00, 0x00, 0x00, 0x3f, // B[0] = 0.5
];

/// A blob copied to a 16-byte-aligned address, as firmware keeps it (f32 weights and int8
/// scales are read in place).
struct Aligned(Vec<u128>, usize);

impl Aligned {
    fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0u128; bytes.len().div_ceil(16)];
        bytemuck::cast_slice_mut::<u128, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Self(words, bytes.len())
    }

    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u128, u8>(&self.0)[..self.1]
    }
}

/// One layer encoded, or the encoder's error.
fn encode_one(spec: LayerSpec<'_>) -> Result<Vec<u8>, Error> {
    let layers = [spec];
    let mut out = vec![0; encoded_len(&layers)?];
    encode(&layers, &mut out)?;
    Ok(out)
}

fn write(layers: &[LayerSpec<'_>]) -> Vec<u8> {
    let mut out = vec![0; encoded_len(layers).unwrap()];
    let n = encode(layers, &mut out).unwrap();
    assert_eq!(n, out.len());
    out
}

#[test]
fn tiny_model_has_the_documented_bytes() {
    assert_eq!(write(&tiny()), TINY_BYTES);
}

#[test]
fn tiny_model_round_trips() {
    let model = Model::from_bytes(&TINY_BYTES).unwrap();
    assert_eq!(model.len(), 44);
    assert_eq!(model.crc(), 0xf33e_d905);
    assert_eq!(model.parameter_count(), 3);
    let layers: Vec<_> = model.layers().collect();
    let [layer] = layers.as_slice() else {
        panic!("one layer")
    };
    assert_eq!(
        layer.shape(),
        Shape {
            inputs: 2,
            outputs: 1
        }
    );
    assert_eq!(layer.activation(), Activation::Identity);
    assert!(layer.weights().iter().eq(TINY_W));
    assert!(layer.biases().iter().eq(TINY_B));
    let dense = Dense::<2, 1>::from_layer(layer, 0).unwrap();
    let mut y = [0.0];
    dense.forward(&[3.0, 1.0], &mut y);
    assert_eq!(y, [3.0 - 2.0 + 0.5]);
}

/// The book's toy network, written to a blob, gives the book's answer when read back.
#[test]
fn toy_network_round_trips_through_a_blob() {
    let w1 = [0.1, 0.3, 0.5, 0.2, 0.4, 0.6];
    let w2 = [0.1, 0.4, 0.2, 0.5, 0.3, 0.6];
    let w3 = [0.1, 0.3, 0.2, 0.4];
    let spec = |i, o, a, w: &'static [f32], b: &'static [f32]| LayerSpec {
        shape: Shape {
            inputs: i,
            outputs: o,
        },
        activation: a,
        weights: Weights::F32(w),
        biases: b,
    };
    let layers = [
        spec(
            2,
            3,
            Activation::Sigmoid,
            Box::leak(Box::new(w1)),
            &[0.1, 0.2, 0.3],
        ),
        spec(
            3,
            2,
            Activation::Sigmoid,
            Box::leak(Box::new(w2)),
            &[0.1, 0.2],
        ),
        spec(
            2,
            2,
            Activation::Identity,
            Box::leak(Box::new(w3)),
            &[0.1, 0.2],
        ),
    ];
    let blob = write(&layers);
    let net = Network3::<2, 3, 2, 2>::from_blob(&blob).unwrap();
    let y = net.predict(&[1.0, 0.5]);
    assert!((y[0] - 0.316_827_08).abs() < 1e-6, "{y:?}");
    assert!((y[1] - 0.696_279_1).abs() < 1e-6, "{y:?}");

    // A typed view of another shape is refused, naming both shapes.
    let err = Network3::<2, 4, 2, 2>::from_blob(&blob).unwrap_err();
    assert_eq!(
        err,
        Error::ShapeMismatch {
            layer: 0,
            expected: Shape {
                inputs: 2,
                outputs: 4
            },
            found: Shape {
                inputs: 2,
                outputs: 3
            },
        }
    );
    assert_eq!(err.to_string(), "layer 0: expected shape 2×4, found 2×3");
    let err = scratchnet::Mnist::from_blob(&blob).unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { layer: 0, .. }),
        "{err}"
    );
    // And a one-layer blob is not a three-layer network.
    assert_eq!(
        Network3::<2, 3, 2, 2>::from_blob(&TINY_BYTES),
        Err(Error::WrongLayerCount {
            expected: 3,
            found: 1
        })
    );
}

/// Rewrites the CRC after a change, so that the check behind it is what is tested.
fn reseal(mut b: Vec<u8>) -> Vec<u8> {
    let crc = scratchnet::crc32(&b[16..]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn damage_is_refused_with_its_error() {
    let good = TINY_BYTES.to_vec();
    let load = |b: &[u8]| Model::from_bytes(b).map(|_| ());

    assert_eq!(
        load(&good[..10]),
        Err(Error::Truncated {
            needed: 16,
            found: 10
        })
    );
    let mut b = good.clone();
    b[0] = b'X';
    assert_eq!(load(&b), Err(Error::BadMagic));
    let mut b = good.clone();
    b[4] = 3; // version 3: input pairs without the even outputs' offset
    assert_eq!(
        load(&b),
        Err(Error::UnsupportedVersion {
            found: 3,
            supported: 4
        })
    );
    let mut b = good.clone();
    b[6] = 1;
    assert_eq!(load(&b), Err(Error::Malformed));
    assert_eq!(
        load(&good[..43]),
        Err(Error::Truncated {
            needed: 44,
            found: 43
        })
    );
    let mut b = good.clone();
    b.push(0);
    assert_eq!(
        load(&b),
        Err(Error::TrailingBytes {
            expected: 44,
            found: 45
        })
    );
    let mut b = good.clone();
    b[40] ^= 0x01;
    assert_eq!(
        load(&b),
        Err(Error::ChecksumMismatch {
            stored: 0xf33e_d905,
            computed: scratchnet::crc32(&b[16..])
        })
    );
    // Resealed damage behind the CRC: each check still catches it.
    let mut b = good.clone();
    b[16] = 0;
    assert_eq!(
        load(&reseal(b)),
        Err(Error::LayerCount { found: 0, max: 16 })
    );
    let mut b = good.clone();
    b[16] = 17;
    assert_eq!(
        load(&reseal(b)),
        Err(Error::LayerCount { found: 17, max: 16 })
    );
    let mut b = good.clone();
    b[19] = 7; // no such activation
    assert_eq!(load(&reseal(b)), Err(Error::Malformed));
    let mut b = good.clone();
    b[20] = 8; // no such element type (f32 0, int8 1, TFLite int8 2, int8 + constants 3,
    // int8 in pairs 4, int8 as halfwords 5, TFLite int8 as halfwords 6, int8 in output
    // pairs 7)
    assert_eq!(load(&reseal(b)), Err(Error::Malformed));
    let mut b = good.clone();
    b[25] = 1; // padding not zero
    assert_eq!(load(&reseal(b)), Err(Error::Malformed));
    let mut b = good.clone();
    b[17] = 3; // 3 inputs: the parameters no longer fit
    assert_eq!(
        load(&reseal(b)),
        Err(Error::Truncated {
            needed: 48,
            found: 44
        })
    );
    let mut b = good.clone();
    b[17] = 1; // 1 input: the parameters leave bytes over
    assert_eq!(
        load(&reseal(b)),
        Err(Error::TrailingBytes {
            expected: 40,
            found: 44
        })
    );
    let mut b = good.clone();
    b[40..44].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        load(&reseal(b)),
        Err(Error::NotFinite { layer: 0, index: 2 })
    );
    let mut b = good.clone();
    b[17] = 0xff; // an unterminated varint
    b[18] = 0xff;
    b[19] = 0xff;
    b[20] = 0xff;
    b[21] = 0xff;
    assert_eq!(load(&reseal(b)), Err(Error::Malformed));
}

#[test]
fn every_single_bit_flip_and_every_truncation_is_refused() {
    for i in 0..TINY_BYTES.len() * 8 {
        let mut b = TINY_BYTES;
        b[i / 8] ^= 1 << (i % 8);
        assert!(
            Model::from_bytes(&b).is_err(),
            "bit {i} flipped was accepted"
        );
    }
    for n in 0..TINY_BYTES.len() {
        assert!(
            Model::from_bytes(&TINY_BYTES[..n]).is_err(),
            "{n} bytes accepted"
        );
    }
}

#[test]
fn writing_refuses_bad_layers_and_writes_nothing() {
    let mut out = [0xAAu8; 64];
    let mut bad = tiny();
    bad[0].weights = Weights::F32(&[1.0]);
    assert_eq!(encode(&bad, &mut out), Err(Error::BadLength { layer: 0 }));
    let mut bad = tiny();
    bad[0].biases = &[f32::INFINITY];
    assert_eq!(
        encode(&bad, &mut out),
        Err(Error::NotFinite { layer: 0, index: 2 })
    );
    assert_eq!(
        encode(&[], &mut out),
        Err(Error::LayerCount { found: 0, max: 16 })
    );
    let two = [tiny()[0], tiny()[0]];
    assert_eq!(
        encode(&two, &mut out),
        Err(Error::LayersDoNotChain {
            layer: 1,
            previous_outputs: 1,
            inputs: 2
        })
    );
    assert_eq!(
        encode(&tiny(), &mut out[..43]),
        Err(Error::BufferTooSmall {
            needed: 44,
            available: 43
        })
    );
    assert!(
        out.iter().all(|&b| b == 0xAA),
        "a failed encode wrote bytes"
    );
}

#[test]
fn errors_have_clear_messages() {
    assert_eq!(
        Error::ChecksumMismatch {
            stored: 1,
            computed: 2
        }
        .to_string(),
        "blob is damaged: CRC-32 stored 0x00000001, computed 0x00000002"
    );
    assert_eq!(
        Error::BadMagic.to_string(),
        "not a scratchnet blob: magic is not \"SCNT\""
    );
}

/// A model sized at run time computes what the typed network computes, bit for bit, for one,
/// two and three layers.
#[test]
fn run_time_shapes_match_the_typed_network() {
    let w1 = [0.1, 0.3, 0.5, 0.2, 0.4, 0.6];
    let w2 = [0.1, 0.4, 0.2, 0.5, 0.3, 0.6];
    let w3 = [0.1, 0.3, 0.2, 0.4];
    let shape = |inputs, outputs| Shape { inputs, outputs };
    let l1 = LayerSpec {
        shape: shape(2, 3),
        activation: Activation::Sigmoid,
        weights: Weights::F32(&w1),
        biases: &[0.1, 0.2, 0.3],
    };
    let l2 = LayerSpec {
        shape: shape(3, 2),
        activation: Activation::Sigmoid,
        weights: Weights::F32(&w2),
        biases: &[0.1, 0.2],
    };
    let l3 = LayerSpec {
        shape: shape(2, 2),
        activation: Activation::Softmax,
        weights: Weights::F32(&w3),
        biases: &[0.1, 0.2],
    };
    let blob = write(&[l1, l2, l3]);
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(model.scratch_len(), 6);
    let typed = Network3::<2, 3, 2, 2>::from_model(&model).unwrap();
    let mut scratch = [0.0; 6];
    let mut out = [0.0; 2];
    model.logits(&[1.0, 0.5], &mut scratch, &mut out).unwrap();
    assert_eq!(out, typed.logits(&[1.0, 0.5]));
    // The book's toy values before softmax.
    assert!((out[0] - 0.316_827_08).abs() < 1e-6 && (out[1] - 0.696_279_1).abs() < 1e-6);
    let c = model
        .classify_pixels(&[255, 128], &mut scratch, &mut out)
        .unwrap();
    assert_eq!(c, typed.classify_pixels(&[255, 128]));

    // Two layers: the first two of the toy network, by hand.
    let two = write(&[l1, l2]);
    let model = Model::from_bytes(&two).unwrap();
    let mut scratch = [0.0; 6];
    let mut out = [0.0; 2];
    model.logits(&[1.0, 0.5], &mut scratch, &mut out).unwrap();
    let z1 = [0.3f32, 0.7, 1.1].map(scratchnet::sigmoid);
    let a2 = [
        z1[0] * 0.1 + z1[1] * 0.2 + z1[2] * 0.3 + 0.1,
        z1[0] * 0.4 + z1[1] * 0.5 + z1[2] * 0.6 + 0.2,
    ];
    for (g, w) in out.iter().zip(a2) {
        assert!((g - w).abs() < 1e-6, "{out:?} {a2:?}");
    }

    // One layer needs no scratch.
    let model = Model::from_bytes(&TINY_BYTES).unwrap();
    assert_eq!(model.scratch_len(), 0);
    let mut out = [0.0];
    model.logits(&[3.0, 1.0], &mut [], &mut out).unwrap();
    assert_eq!(out, [1.5]);

    // Wrong buffers are errors, not panics.
    assert_eq!(
        model.logits(&[3.0], &mut [], &mut out),
        Err(Error::LengthMismatch {
            expected: 2,
            found: 1
        })
    );
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(
        model.logits(&[1.0, 0.5], &mut [0.0; 5], &mut [0.0; 2]),
        Err(Error::BufferTooSmall {
            needed: 6,
            available: 5
        })
    );
}

/// No plausible wrong numbers: the f32 path refuses an int8 blob, `logits_u8` runs it,
/// and int8 views take sigmoid and ReLU hidden layers (u8 outputs `round(h(A)·d_out)`) but
/// refuse identity, whose negative values a u8 cannot hold.
#[test]
fn int8_models_run_only_where_their_kernel_is_exact() {
    #[allow(clippy::too_many_arguments)]
    fn layer(
        activation: Activation,
        d_in: f32,
        d_out: f32,
        v: &'static [i8],
        s: &'static [f32],
        b: &'static [f32],
    ) -> LayerSpec<'static> {
        LayerSpec {
            shape: Shape {
                inputs: 2,
                outputs: 2,
            },
            activation,
            weights: Weights::I8 {
                values: v,
                scales: s,
                input_divisor: d_in,
                output_divisor: d_out,
                form: scratchnet::I8Form::Rows,
            },
            biases: b,
        }
    }
    // Output-major rows: output 0 = [1, -1], output 1 = [2, -2].
    static Q4: [i8; 4] = [1, -1, 2, -2];
    static S2: [f32; 2] = [0.5, 0.25];
    static B2: [f32; 2] = [0.0, 1.0];
    // By hand, for x = [255, 7]: sums 255 − 7 = 248 and 510 − 14 = 496, so
    // A1 = [248·0.5/255, 496·0.25/255 + 1] = [0.486, 1.486]; ReLU with d_out = 10 stores
    // [round(4.86), round(14.86)] = [5, 15]. Layer 2 reads them as /10: sums 5 − 15 = −10
    // and 10 − 30 = −20, so A2 = [−10·0.5/10, −20·0.25/10 + 1] = [−0.5, 0.5].
    let relu = [
        layer(Activation::Relu, 255.0, 10.0, &Q4, &S2, &B2),
        layer(Activation::Identity, 10.0, 255.0, &Q4, &S2, &B2),
    ];
    let blob = Aligned::new(&write(&relu));
    let model = Model::from_bytes(blob.bytes()).unwrap();
    let mut out = [0.0; 2];
    model.logits_u8(&[255, 7], &mut [0; 4], &mut out).unwrap();
    assert_eq!(out, [-0.5, 0.5]);
    type Two<'a> =
        scratchnet::Network<(scratchnet::QDense<'a, 2, 2>, scratchnet::QDense<'a, 2, 2>)>;
    let net = Two::from_model(&model).unwrap();
    assert_eq!(net.logits(&[255u8, 7]), [-0.5, 0.5]);
    // The f32 path refuses it; wrong lengths and a short scratch are errors.
    assert_eq!(
        model.logits(&[1.0, 0.5], &mut [0.0; 4], &mut out),
        Err(Error::UnsupportedElement { layer: 0 })
    );
    assert_eq!(
        model.logits_u8(&[255], &mut [0; 4], &mut out),
        Err(Error::LengthMismatch {
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        model.logits_u8(&[255, 7], &mut [0; 3], &mut out),
        Err(Error::BufferTooSmall {
            needed: 4,
            available: 3
        })
    );
    // An identity hidden layer: refused by both views.
    let identity = [
        layer(Activation::Identity, 255.0, 10.0, &Q4, &S2, &B2),
        layer(Activation::Identity, 10.0, 255.0, &Q4, &S2, &B2),
    ];
    let blob = Aligned::new(&write(&identity));
    let model = Model::from_bytes(blob.bytes()).unwrap();
    assert_eq!(
        model.logits_u8(&[255, 7], &mut [0; 4], &mut out),
        Err(Error::UnsupportedActivation { layer: 0 })
    );
    assert_eq!(
        Two::from_model(&model),
        Err(Error::UnsupportedActivation { layer: 0 })
    );
    // Sigmoid's outputs come from its table of round(255·sigmoid): another d_out is refused
    // when written and when read.
    assert_eq!(
        encoded_len(&[layer(Activation::Sigmoid, 255.0, 10.0, &Q4, &S2, &B2)]),
        Err(Error::Malformed)
    );
}

/// int8 layers with their soft-float constants (`--quantize int8-soft-float`): four words an
/// output after the divisors — the factor `fl(s/d_in)`, then a sigmoid layer's index
/// constants (all ones and zeros for other activations) — the same logits, and a changed
/// constant refused when the blob is loaded.
#[test]
fn soft_float_constants_are_stored_and_checked() {
    // Output-major rows: output 0 = [1, -1], output 1 = [2, -2]; sigmoid, then identity.
    static Q4: [i8; 4] = [1, -1, 2, -2];
    static S2: [f32; 2] = [0.5, 0.25];
    static B2: [f32; 2] = [0.0, 1.0];
    let layer = |activation, d_in, d_out, soft_float: bool| LayerSpec {
        shape: Shape {
            inputs: 2,
            outputs: 2,
        },
        activation,
        weights: Weights::I8 {
            values: &Q4,
            scales: &S2,
            input_divisor: d_in,
            output_divisor: d_out,
            form: if soft_float {
                scratchnet::I8Form::SoftFloat
            } else {
                scratchnet::I8Form::Rows
            },
        },
        biases: &B2,
    };
    let net = |soft| {
        write(&[
            layer(Activation::Sigmoid, 255.0, 255.0, soft),
            layer(Activation::Identity, 255.0, 255.0, soft),
        ])
    };
    let (plain, soft) = (net(false), net(true));
    // 16 bytes an output more: the constants end each layer's parameters.
    assert_eq!(soft.len(), plain.len() + 4 * 16);
    let model = Model::from_bytes(&soft).unwrap();
    for l in model.layers() {
        assert_eq!(l.element(), scratchnet::ElementType::I8SoftFloat);
    }
    // The last layer's constants are the blob's last 32 bytes: its factors s/255 (worked
    // out here) and no index constants (identity).
    let words: Vec<u32> = soft[soft.len() - 32..]
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
        .collect();
    let factor = |s: f32| (s / 255.0).to_bits();
    assert_eq!(
        words,
        [factor(0.5), u32::MAX, 0, 0, factor(0.25), u32::MAX, 0, 0]
    );
    // The sigmoid layer's: its factors, and index constants (not the "none" words).
    let first = &soft[soft.len() - 96..soft.len() - 64];
    assert_eq!(first[0..4], factor(0.5).to_le_bytes());
    assert_ne!(first[4..8], u32::MAX.to_le_bytes());
    // The same logits as without them (the constants change no number on any core).
    let run = |blob: &[u8]| {
        let blob = Aligned::new(blob);
        let model = Model::from_bytes(blob.bytes()).unwrap();
        let mut out = [0.0; 2];
        model.logits_u8(&[255, 7], &mut [0; 4], &mut out).unwrap();
        out
    };
    assert_eq!(run(&soft), run(&plain));
    // One bit of a stored factor, of an index constant: refused, naming the layer.
    for (at, layer) in [(soft.len() - 32, 1), (soft.len() - 96 + 4, 0)] {
        let mut bad = soft.clone();
        bad[at] ^= 1;
        assert_eq!(
            Model::from_bytes(&reseal(bad)),
            Err(Error::WrongConstants { layer })
        );
    }
}

/// One design for any depth: a typed four-layer f32 network from a blob gives the run-time
/// model's logits bit for bit, and the typed view refuses a blob of another depth or shape.
#[test]
fn typed_networks_of_any_depth_equal_the_run_time_model() {
    use scratchnet::Network;
    // 5 → 4 → 3 → 3 → 2, ReLU, sigmoid, identity, softmax; weights from a small formula.
    let sizes = [5usize, 4, 3, 3, 2];
    let acts = [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Identity,
        Activation::Softmax,
    ];
    let params: Vec<(Vec<f32>, Vec<f32>)> = sizes
        .windows(2)
        .enumerate()
        .map(|(k, p)| {
            let w = (0..p[0] * p[1])
                .map(|i| ((i * 7 + k * 3) % 11) as f32 / 5.0 - 1.0)
                .collect();
            let b = (0..p[1]).map(|j| (j as f32 - 1.0) / 10.0).collect();
            (w, b)
        })
        .collect();
    let specs: Vec<LayerSpec<'_>> = params
        .iter()
        .enumerate()
        .map(|(k, (w, b))| LayerSpec {
            shape: Shape {
                inputs: sizes[k] as u32,
                outputs: sizes[k + 1] as u32,
            },
            activation: acts[k],
            weights: Weights::F32(w),
            biases: b,
        })
        .collect();
    // 16-byte aligned, as the loader reads f32 weights in place.
    let aligned = Aligned::new(&write(&specs));
    let blob = aligned.bytes();
    type Four<'a> = Network<(
        Dense<'a, 5, 4>,
        Dense<'a, 4, 3>,
        Dense<'a, 3, 3>,
        Dense<'a, 3, 2>,
    )>;
    let net = Four::from_blob(blob).unwrap();
    let model = Model::from_bytes(blob).unwrap();
    let mut scratch = vec![0.0; model.scratch_len()];
    for n in 0..20 {
        let x: [f32; 5] = core::array::from_fn(|i| ((n * 5 + i) % 9) as f32 / 4.0 - 1.0);
        let mut want = [0.0; 2];
        model.logits(&x, &mut scratch, &mut want).unwrap();
        assert_eq!(net.logits(&x).map(f32::to_bits), want.map(f32::to_bits));
        // The output layer's activation is applied for predict and classify.
        let mut p = want;
        Activation::Softmax.apply(&mut p);
        assert_eq!(net.predict(&x), p);
        assert_eq!(net.classify(&x), scratchnet::Classification::argmax(&p));
    }
    // Another depth, another shape: refused by name.
    assert_eq!(
        Network3::<5, 4, 3, 2>::from_blob(blob),
        Err(Error::WrongLayerCount {
            expected: 3,
            found: 4
        })
    );
    type Wrong<'a> = Network<(
        Dense<'a, 5, 4>,
        Dense<'a, 4, 3>,
        Dense<'a, 3, 4>,
        Dense<'a, 4, 2>,
    )>;
    assert_eq!(
        Wrong::from_blob(blob),
        Err(Error::ShapeMismatch {
            layer: 2,
            expected: Shape {
                inputs: 3,
                outputs: 4
            },
            found: Shape {
                inputs: 3,
                outputs: 3
            }
        })
    );
}

/// An int8 blob's logits for u8 inputs `x` (the blob copied to an aligned address).
fn logits_u8_of(blob: &[u8], x: &[u8]) -> Vec<f32> {
    let blob = Aligned::new(blob);
    let model = Model::from_bytes(blob.bytes()).unwrap();
    let mut out = vec![0.0; model.outputs()];
    let mut scratch = vec![0u8; model.scratch_len()];
    model.logits_u8(x, &mut scratch, &mut out).unwrap();
    out
}

/// A one-layer int8 blob of `values` (output-major) stored as `form`: identity, scales
/// `0.01 + j/1000`, biases `j/10 − 0.5`, divisors 255.
fn int8_layer_blob(
    inputs: usize,
    outputs: usize,
    values: &[i8],
    form: scratchnet::I8Form,
) -> Vec<u8> {
    let scales: Vec<f32> = (0..outputs).map(|j| 0.01 + j as f32 / 1000.0).collect();
    let biases: Vec<f32> = (0..outputs).map(|j| j as f32 / 10.0 - 0.5).collect();
    write(&[LayerSpec {
        shape: Shape {
            inputs: inputs as u32,
            outputs: outputs as u32,
        },
        activation: Activation::Identity,
        weights: Weights::I8 {
            values,
            scales: &scales,
            input_divisor: 255.0,
            output_divisor: 255.0,
            form,
        },
        biases: &biases,
    }])
}

/// u8 inputs for a layout's logits test: sparse (zeros in pairs and alone), dense, all zero
/// and all 255.
fn test_inputs(inputs: usize) -> [Vec<u8>; 4] {
    let sparse: Vec<u8> = (0..inputs)
        .map(|i| [0, 0, 255, 0, 9, 0, 0][i % 7])
        .collect();
    let dense: Vec<u8> = (0..inputs).map(|i| (i * 29 % 254 + 1) as u8).collect();
    [sparse, dense, vec![0; inputs], vec![255; inputs]]
}

/// The input-pairs layout (`I8Form::Pairs`): for odd and even shapes, the stored bytes are
/// where the format says (each weight read back by `get` at its `(output, input)`), the
/// logits are the plain rows' bit for bit on sparse, dense, all-zero and all-255 inputs, and
/// a non-zero byte standing for no input or no output is refused.
#[test]
fn input_pairs_are_stored_as_documented_and_give_the_rows_logits() {
    for (inputs, outputs) in [(7usize, 5usize), (8, 6), (13, 3), (50, 53)] {
        let values: Vec<i8> = (0..inputs * outputs)
            .map(|k| ((k * 37 + 11) % 255) as i8)
            .map(|v| v.max(-127))
            .collect();
        let blob = |form| int8_layer_blob(inputs, outputs, &values, form);
        let (rows, pairs) = (
            blob(scratchnet::I8Form::Rows),
            blob(scratchnet::I8Form::Pairs),
        );
        let model = Model::from_bytes(&pairs).unwrap();
        let layer = model.layers().next().unwrap();
        assert_eq!(layer.element(), scratchnet::ElementType::I8Pairs);
        let q = layer.quantized().unwrap();
        assert_eq!(q.layout, scratchnet::I8Layout::Pairs);
        // Column of pair k: ⌈outputs/2⌉ words; input 2k + h of output 2m + g at byte
        // g + 2h of word m, plus 128 for an even output (the format's words, computed
        // here from its description).
        let column = 4 * outputs.div_ceil(2);
        assert_eq!(
            (q.stride, q.rows.len()),
            (column, inputs.div_ceil(2) * column)
        );
        for j in 0..outputs {
            for i in 0..inputs {
                let at = (i / 2) * column + 4 * (j / 2) + (j % 2) + 2 * (i % 2);
                let offset = if j % 2 == 0 { 128 } else { 0 };
                assert_eq!(
                    i32::from(q.rows[at] as u8),
                    (i32::from(values[j * inputs + i]) + offset).rem_euclid(256),
                    "{inputs}x{outputs} ({j}, {i})"
                );
                assert_eq!(q.get(j, i), values[j * inputs + i]);
            }
        }
        let run = |blob: &[u8], x: &[u8]| logits_u8_of(blob, x);
        for x in test_inputs(inputs) {
            assert_eq!(run(&pairs, &x), run(&rows, &x), "{inputs}x{outputs} {x:?}");
        }
        // A padding weight (odd inputs: the last pair's second input, output 0's stored
        // 0x80; odd outputs: a column's last word's second output, stored 0) made 1:
        // refused.
        let start = pairs.len() - q.rows.len() - 4 * (2 * outputs + 2);
        let pad = if inputs % 2 == 1 {
            Some((start + (inputs / 2) * column + 2, 0x80))
        } else if outputs % 2 == 1 {
            Some((start + column - 3, 0))
        } else {
            None
        };
        if let Some((at, zero)) = pad {
            assert_eq!(pairs[at], zero);
            let mut bad = pairs.clone();
            bad[at] = zero + 1;
            assert_eq!(Model::from_bytes(&reseal(bad)), Err(Error::Malformed));
        }
    }
}

/// Input pairs hold outputs whose `Σᵢ|q[j][i]|` reaches `PAIR_SUM_LIMIT` (32 896): with
/// every input 255 and every weight of one sign, the sums ±255·32 896 = ±8 388 480 (the
/// kernel's widest, just under 2²³) are exact for the even and the odd output — the
/// plain rows' logits, and the hand-computed sum (scale 255 over divisor 255, bias 0: the
/// value is the sum). One more is refused by the encoder (`OutOfRange`) and, stored by
/// hand, by the loader (`Malformed`).
#[test]
fn input_pairs_hold_sums_up_to_their_limit() {
    const INPUTS: usize = 260;
    assert_eq!(scratchnet::PAIR_SUM_LIMIT, 259 * 127 + 3);
    let x = [255u8; INPUTS];
    for sign in [1i8, -1] {
        // Outputs 0 and 1 at the limit (259 weights ±127 and one ±3), output 2 small.
        let mut values = vec![0i8; 3 * INPUTS];
        for j in 0..2 {
            for i in 0..INPUTS {
                values[j * INPUTS + i] = sign * if i == 100 + j { 3 } else { 127 };
            }
        }
        for i in 0..INPUTS {
            values[2 * INPUTS + i] = (i % 5) as i8 - 2;
        }
        let blob = |values: &[i8], form| {
            encode_one(LayerSpec {
                shape: Shape {
                    inputs: INPUTS as u32,
                    outputs: 3,
                },
                activation: Activation::Identity,
                weights: Weights::I8 {
                    values,
                    scales: &[255.0; 3],
                    input_divisor: 255.0,
                    output_divisor: 255.0,
                    form,
                },
                biases: &[0.0; 3],
            })
        };
        let pairs = blob(&values, scratchnet::I8Form::Pairs).unwrap();
        let rows = blob(&values, scratchnet::I8Form::Rows).unwrap();
        let got = logits_u8_of(&pairs, &x);
        let want = f32::from(sign) * 255.0 * 32_896.0;
        assert_eq!(got, logits_u8_of(&rows, &x));
        assert_eq!(&got[..2], &[want, want]);
        // One more on output 1: refused when encoded, and when stored by hand.
        let mut over = values.clone();
        over[INPUTS + 100 + 1] = sign * 4;
        assert_eq!(
            blob(&over, scratchnet::I8Form::Pairs),
            Err(Error::OutOfRange { layer: 0 })
        );
        assert!(blob(&over, scratchnet::I8Form::Rows).is_ok());
        // Input 101 is pair 50's second: output 1's byte 3 of word 0 in column 50.
        let start = pairs.len() - (INPUTS / 2) * 8 - 4 * (2 * 3 + 2);
        let at = start + 50 * 8 + 3;
        assert_eq!(pairs[at] as i8, sign * 3);
        let mut bad = pairs.clone();
        bad[at] = (sign * 4) as u8;
        assert_eq!(Model::from_bytes(&reseal(bad)), Err(Error::Malformed));
    }
}

/// Layers as halfwords (`I8Form::Wide`, feature `wide`): every weight where the format says
/// (block of four outputs, group of four inputs, word and halfword worked out here from the
/// description), the exact integer sums (scale 255 over divisor 255, bias 0: a value is its
/// sum), and the same logits as the rows layout. Shapes with a partial last group and block,
/// one of more than one window of outputs (64) and more than one chunk of inputs (256).
#[cfg(feature = "wide")]
#[test]
fn halfword_layers_are_stored_as_documented_and_give_exact_sums() {
    for (inputs, outputs) in [
        (1usize, 1usize),
        (7, 5),
        (8, 4),
        (13, 3),
        (50, 53),
        (300, 70),
    ] {
        // Both ends of i8 (−128 too: its halfword is 0xFF80) and values between.
        let values: Vec<i8> = (0..inputs * outputs)
            .map(|k| match k % 5 {
                0 => -128,
                1 => 127,
                _ => ((k * 37 + 11) % 256) as u8 as i8,
            })
            .collect();
        let spec = |form, scales: &[f32], biases: &[f32]| {
            write(&[LayerSpec {
                shape: Shape {
                    inputs: inputs as u32,
                    outputs: outputs as u32,
                },
                activation: Activation::Identity,
                weights: Weights::I8 {
                    values: &values,
                    scales,
                    input_divisor: 255.0,
                    output_divisor: 255.0,
                    form,
                },
                biases,
            }])
        };
        let (ones, zeros) = (vec![255.0; outputs], vec![0.0; outputs]);
        let wide = spec(scratchnet::I8Form::Wide, &ones, &zeros);
        let model = Model::from_bytes(&wide).unwrap();
        let layer = model.layers().next().unwrap();
        assert_eq!(layer.element(), scratchnet::ElementType::I8Wide);
        let q = layer.quantized().unwrap();
        assert_eq!(q.layout, scratchnet::I8Layout::Wide);
        let block = 32 * inputs.div_ceil(4);
        assert_eq!(
            (q.stride, q.rows.len()),
            (block, outputs.div_ceil(4) * block)
        );
        let bytes: &[u8] = bytemuck::cast_slice(q.rows);
        for j in 0..outputs {
            for i in 0..inputs {
                let (o, r) = (j % 4, i % 4);
                let at = (j / 4) * block + 32 * (i / 4) + 4 * (2 * o + r % 2) + 2 * (r / 2);
                let v = values[j * inputs + i];
                assert_eq!(
                    [bytes[at], bytes[at + 1]],
                    i16::from(v).to_le_bytes(),
                    "{inputs}x{outputs} ({j}, {i})"
                );
                assert_eq!(q.get(j, i), v);
            }
        }
        let run = |blob: &[u8], x: &[u8]| logits_u8_of(blob, x);
        // Sparse, dense, all 255 (the largest sums), all zero.
        let sparse: Vec<u8> = (0..inputs)
            .map(|i| [0, 0, 255, 0, 9, 0, 0][i % 7])
            .collect();
        let dense: Vec<u8> = (0..inputs).map(|i| (i * 29 % 254 + 1) as u8).collect();
        for x in [sparse, dense, vec![255; inputs], vec![0; inputs]] {
            let want: Vec<f32> = (0..outputs)
                .map(|j| {
                    (0..inputs)
                        .map(|i| i32::from(x[i]) * i32::from(values[j * inputs + i]))
                        .sum::<i32>() as f32
                })
                .collect();
            assert_eq!(run(&wide, &x), want, "{inputs}x{outputs} {x:?}");
            // Other scales and biases: the rows layout's logits, bit for bit.
            let scales: Vec<f32> = (0..outputs).map(|j| 0.01 + j as f32 / 1000.0).collect();
            let biases: Vec<f32> = (0..outputs).map(|j| j as f32 / 10.0 - 0.5).collect();
            assert_eq!(
                run(&spec(scratchnet::I8Form::Wide, &scales, &biases), &x),
                run(&spec(scratchnet::I8Form::Rows, &scales, &biases), &x),
            );
        }
        // A padding halfword set (a last partial group's fourth input, or a last partial
        // block's fourth output), or a high byte that is not the low byte's sign (a value
        // past i8): refused.
        let start = wide.len() - q.rows.len() - 4 * (2 * outputs + 2);
        let mut damaged = vec![start + 1];
        if inputs % 4 != 0 {
            damaged.push(start + 32 * (inputs / 4) + 6);
        }
        if outputs % 4 != 0 {
            damaged.push(start + (outputs / 4) * block + 24);
        }
        for at in damaged {
            let mut bad = wide.clone();
            bad[at] ^= 0x40;
            assert_eq!(
                Model::from_bytes(&reseal(bad)),
                Err(Error::Malformed),
                "{inputs}x{outputs} byte {at}"
            );
        }
    }
}

/// Output pairs (`I8Form::OutputPairs`): each block of eight outputs a record of four words
/// an input, word `k` holding outputs `8b + 2k` (its weight plus 128, low halfword) and
/// `8b + 2k + 1` (sign-extended, high halfword) — the format's bytes, computed here from
/// its description —, read back by `get`, giving the rows' logits exactly (sparse, dense,
/// all-zero and all-255 inputs, weights at both ends of i8, −128 included), and a blob whose
/// padding or halfword bytes are not what the kernel reads refused.
#[test]
fn output_pairs_are_stored_as_documented_and_give_the_rows_logits() {
    for (inputs, outputs) in [
        (7usize, 5usize),
        (8, 6),
        (13, 3),
        (50, 53),
        (300, 16),
        (1, 9),
    ] {
        let values: Vec<i8> = (0..inputs * outputs)
            .map(|k| match k % 11 {
                0 => 127,
                1 => -128,
                2 => -127,
                _ => ((k * 37 + 11) % 256) as u8 as i8,
            })
            .collect();
        let blob = |form| int8_layer_blob(inputs, outputs, &values, form);
        let (rows, pairs) = (
            blob(scratchnet::I8Form::Rows),
            blob(scratchnet::I8Form::OutputPairs),
        );
        let model = Model::from_bytes(&pairs).unwrap();
        let layer = model.layers().next().unwrap();
        assert_eq!(layer.element(), scratchnet::ElementType::I8OutputPairs);
        let q = layer.quantized().unwrap();
        assert_eq!(q.layout, scratchnet::I8Layout::OutputPairs);
        let block = 16 * inputs;
        assert_eq!(
            (q.stride, q.rows.len()),
            (block, outputs.div_ceil(8) * block)
        );
        for b in 0..outputs.div_ceil(8) {
            for i in 0..inputs {
                for k in 0..4 {
                    let at = b * block + 16 * i + 4 * k;
                    let word = i32::from_le_bytes(
                        q.rows[at..at + 4]
                            .iter()
                            .map(|&v| v as u8)
                            .collect::<Vec<_>>()
                            .try_into()
                            .unwrap(),
                    );
                    let (j, weight) = (8 * b + 2 * k, |j: usize| {
                        if j < outputs {
                            i32::from(values[j * inputs + i])
                        } else {
                            0
                        }
                    });
                    assert_eq!(
                        word,
                        weight(j) + 128 + 65536 * weight(j + 1),
                        "{inputs}x{outputs} block {b} input {i} word {k}"
                    );
                }
            }
        }
        for j in 0..outputs {
            for i in 0..inputs {
                assert_eq!(q.get(j, i), values[j * inputs + i]);
            }
        }
        let run = |blob: &[u8], x: &[u8]| logits_u8_of(blob, x);
        for x in test_inputs(inputs) {
            assert_eq!(run(&pairs, &x), run(&rows, &x), "{inputs}x{outputs} {x:?}");
        }
        // Bytes the kernel would misread, made so one at a time: refused.
        let start = pairs.len() - q.rows.len() - 4 * (6 * outputs + 2);
        let mut bad_bytes = vec![
            (start + 1, 1u8),               // a low halfword's high byte
            (start + 3, !pairs[start + 3]), // a high halfword not the sign extension
        ];
        if outputs % 8 != 0 {
            // The last block's first missing output (even: 0x80; odd: 0).
            let last = outputs.div_ceil(8) - 1;
            let o = outputs % 8;
            let at = start + last * block + 2 * o;
            assert_eq!(pairs[at], if o % 2 == 0 { 0x80 } else { 0 });
            bad_bytes.push((at, pairs[at] ^ 1));
        }
        for (at, v) in bad_bytes {
            let mut bad = pairs.clone();
            bad[at] = v;
            assert_eq!(
                Model::from_bytes(&reseal(bad)),
                Err(Error::Malformed),
                "{inputs}x{outputs} byte {at}"
            );
        }
    }
}
