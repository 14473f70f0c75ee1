//! The host's fast evaluator (`scratchnet_host::fast`) against the core, bit for bit: on
//! all 10 000 test images (needs the data; see the README's data rule), and its eight-lane
//! exponential against the core's `exp_table`.

use scratchnet::{Activation, Classification, Mnist};
use scratchnet_host::fast::{
    Evaluate, FastError, FastMnist, FastQMnist, NotTheBooksActivations, exp8_for_tests,
};
use scratchnet_host::{convert, data, idx};

fn book() -> Vec<u8> {
    let pkl = std::fs::read(data::find(data::WEIGHTS).unwrap_or_else(|e| panic!("{e}"))).unwrap();
    convert::convert_pickle(&pkl).unwrap().blob
}

/// `fast` gives the core's logits, classes and probabilities (`logits`, `classify`) on every
/// test image, bit for bit, one image at a time and as a batch.
fn equals_the_core(
    fast: &impl Evaluate,
    logits: impl Fn(&[u8; 784]) -> [f32; 10],
    classify: impl Fn(&[u8; 784]) -> Classification,
) {
    let images = idx::read_images(&data::find(data::TEST_IMAGES).unwrap()).unwrap();
    assert_eq!(images.len(), 10_000);
    let mut batch = vec![Classification::argmax(&[0.0]); images.len()];
    fast.classify_batch_pixels(&images, &mut batch).unwrap();
    for (n, img) in images.iter().enumerate() {
        assert_eq!(
            fast.logits_pixels(img).map(f32::to_bits),
            logits(img).map(f32::to_bits),
            "image {n}"
        );
        let want = classify(img);
        for got in [fast.classify_pixels(img), batch[n]] {
            assert_eq!(got.class, want.class, "image {n}");
            assert_eq!(
                got.probability.to_bits(),
                want.probability.to_bits(),
                "image {n}"
            );
        }
    }
}

#[test]
fn fast_evaluation_equals_the_core_on_every_test_image() {
    if !data::present_or_skip() {
        return;
    }
    let blob = book();
    let net = Mnist::from_blob(&blob).unwrap();
    let fast = FastMnist::new(&net).unwrap();
    equals_the_core(&fast, |x| net.logits_pixels(x), |x| net.classify_pixels(x));
}

#[test]
fn fast_int8_evaluation_equals_the_core_on_every_test_image() {
    if !data::present_or_skip() {
        return;
    }
    let pkl = std::fs::read(data::find(data::WEIGHTS).unwrap()).unwrap();
    let blob = convert::convert_pickle_as(&pkl, convert::Precision::Int8)
        .unwrap()
        .blob;
    let model = scratchnet::Model::from_bytes(&blob).unwrap();
    let net = scratchnet::QMnist::from_model(&model).unwrap();
    let fast = FastQMnist::new(&model).unwrap();
    equals_the_core(&fast, |x| net.logits_pixels(x), |x| net.classify_pixels(x));
    // An f32 model is not an int8 one: the core's own refusal.
    let f32_blob = book();
    let f32_model = scratchnet::Model::from_bytes(&f32_blob).unwrap();
    assert_eq!(
        FastQMnist::new(&f32_model).unwrap_err(),
        FastError::Model(scratchnet::Error::UnsupportedElement { layer: 0 })
    );
}

#[test]
fn batch_lengths_must_match() {
    if !data::present_or_skip() {
        return;
    }
    let blob = book();
    let fast = FastMnist::new(&Mnist::from_blob(&blob).unwrap()).unwrap();
    let mut out = [Classification::argmax(&[0.0]); 1];
    assert_eq!(
        fast.classify_batch_pixels(&[[0; 784], [0; 784]], &mut out),
        Err(scratchnet::Error::BatchMismatch {
            inputs: 2,
            outputs: 1
        })
    );
}

#[test]
fn other_activations_are_refused() {
    let spec = |inputs: u32, outputs: u32, activation, w: &'static [f32], b: &'static [f32]| {
        scratchnet::LayerSpec {
            shape: scratchnet::Shape { inputs, outputs },
            activation,
            weights: scratchnet::Weights::F32(w),
            biases: b,
        }
    };
    static W1: [f32; 784 * 50] = [0.0; 784 * 50];
    static W2: [f32; 5000] = [0.0; 5000];
    static W3: [f32; 1000] = [0.0; 1000];
    static B: [f32; 100] = [0.0; 100];
    let layers = [
        spec(784, 50, Activation::Relu, &W1, &B[..50]),
        spec(50, 100, Activation::Sigmoid, &W2, &B),
        spec(100, 10, Activation::Softmax, &W3, &B[..10]),
    ];
    let mut blob = vec![0u8; scratchnet::encoded_len(&layers).unwrap()];
    scratchnet::encode(&layers, &mut blob).unwrap();
    let net = Mnist::from_blob(&blob).unwrap();
    let err = FastMnist::new(&net).unwrap_err();
    assert_eq!(
        err,
        NotTheBooksActivations([Activation::Relu, Activation::Sigmoid, Activation::Softmax])
    );
    assert_eq!(
        err.to_string(),
        "FastMnist computes the book's sigmoid, sigmoid, softmax; this network has relu, sigmoid, softmax"
    );
}

/// `exp8_for_tests` equals `exp_table` (the core's exp) on the f32 values whose bits are
/// `start, start + step, …`: NaN, infinities, subnormals and both signs included.
fn exp8_matches(start: u64, step: u64) {
    let mut bits = start;
    let mut lanes = [0.0f32; 8];
    while bits <= u64::from(u32::MAX) {
        for (l, lane) in lanes.iter_mut().enumerate() {
            *lane = f32::from_bits(((bits + l as u64 * step) & 0xffff_ffff) as u32);
        }
        let got = exp8_for_tests(lanes);
        for (x, g) in lanes.iter().zip(got) {
            let want = scratchnet::math::exp_table(*x);
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "exp({x:e}) [bits {:#010x}]: {g:e} vs exp_table {want:e}",
                x.to_bits()
            );
        }
        bits += 8 * step;
    }
}

#[test]
fn eight_lane_exp_equals_the_cores_on_a_sample_of_all_f32() {
    // 2^32 / 97 ≈ 44 million values, every region of the range.
    exp8_matches(0, 97);
    // Every value within 4 096 patterns of the ends of exp_table's main path (k = −125·64
    // at x ≈ −86.64, k = 128·64 − 1 at x ≈ 88.72; both signs), eight neighbours to a call,
    // so that lanes on and off the path share calls.
    for t in [0x42ad_4925u32, 0x42b1_70a4] {
        for sign in [0, 0x8000_0000] {
            for start in (t - 4096..t + 4096).step_by(3) {
                let lanes: [f32; 8] =
                    core::array::from_fn(|l| f32::from_bits((start + l as u32) | sign));
                let got = exp8_for_tests(lanes);
                for (x, g) in lanes.iter().zip(got) {
                    assert_eq!(
                        g.to_bits(),
                        scratchnet::math::exp_table(*x).to_bits(),
                        "{x:e}"
                    );
                }
            }
        }
    }
}

/// Every f32 (about a minute in release): `cargo test -p scratchnet-host --release --test
/// fast -- --ignored`.
#[test]
#[ignore]
fn eight_lane_exp_equals_the_cores_on_every_f32() {
    exp8_matches(0, 1);
}
