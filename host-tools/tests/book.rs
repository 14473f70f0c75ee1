//! The book's weights and the MNIST test set, end to end on the host (needs the data; see
//! the README's data rule).

use scratchnet::Mnist;
use scratchnet_host::{convert, data, idx};

fn read(file: &str) -> Vec<u8> {
    let path = data::find(file).unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(path).unwrap()
}

#[test]
fn book_weights_reach_numpys_accuracy_and_agree_on_every_image() {
    if !data::present_or_skip() {
        return;
    }
    let converted = convert::convert_pickle(&read(data::WEIGHTS)).unwrap();
    assert_eq!(
        converted.parameters,
        784 * 50 + 50 + 50 * 100 + 100 + 100 * 10 + 10
    );
    let net = Mnist::from_blob(&converted.blob).unwrap();
    let model = scratchnet::Model::from_bytes(&converted.blob).unwrap();
    let mut scratch = vec![0.0; model.scratch_len()];
    // The same blob one byte off alignment: its weights cannot be viewed as &[f32], so the
    // core falls back to its plain kernel (a[j] += x·w, one value at a time from the bytes).
    let mut shifted = vec![0u8; converted.blob.len() + 1];
    shifted[1..].copy_from_slice(&converted.blob);
    let plain = Mnist::from_blob(&shifted[1..]).unwrap();
    assert!(
        net.layers.0.weights().as_f32().is_some(),
        "the blob is aligned: fast kernel"
    );
    assert!(
        plain.layers.0.weights().as_f32().is_none(),
        "misaligned: plain kernel"
    );
    let images = idx::read_images(&data::find(data::TEST_IMAGES).unwrap()).unwrap();
    let labels = idx::read_labels(&data::find(data::TEST_LABELS).unwrap()).unwrap();
    let reference = read(data::REFERENCE_PREDICTIONS);
    let ref_logits: Vec<f32> = read(data::REFERENCE_LOGITS)
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(
        (images.len(), labels.len(), reference.len()),
        (10_000, 10_000, 10_000)
    );

    let mut correct = 0;
    let mut agree = 0;
    let mut max_diff = 0f32;
    for (n, img) in images.iter().enumerate() {
        let logits = net.logits_pixels(img);
        let c = net.classify_pixels(img);
        // The run-time-shaped path gives the same logits, bit for bit.
        let mut dynamic = [0.0; 10];
        model
            .logits_pixels(img, &mut scratch, &mut dynamic)
            .unwrap();
        assert_eq!(dynamic, logits, "image {n}");
        // The optimized kernel (blocked, zero-skipping) equals the plain one, bit for bit.
        assert_eq!(plain.logits_pixels(img), logits, "image {n}");
        correct += usize::from(c.class == usize::from(labels[n]));
        agree += usize::from(c.class == usize::from(reference[n]));
        for (a, b) in logits.iter().zip(&ref_logits[n * 10..n * 10 + 10]) {
            max_diff = max_diff.max((a - b).abs());
        }
    }
    eprintln!("accuracy {correct}/10000, agreement {agree}/10000, max |logit - ref| {max_diff:e}");
    assert_eq!(correct, 9352);
    assert_eq!(agree, 10_000);
    // Measured: 4.3e-6 with exp_table (as with libm's expf), 4.7e-3 with micromath's (feature
    // fast-exp).
    let tolerance = if scratchnet::math::EXP_IS_TABLE {
        1e-5
    } else {
        1e-2
    };
    assert!(max_diff < tolerance, "{max_diff}");
}
