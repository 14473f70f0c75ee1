//! The book's weights quantized to int8, on the 10 000 MNIST test images (needs the data).

use scratchnet::{Mnist, QMnist};
use scratchnet_host::convert::{Precision, convert_pickle, convert_pickle_as};
use scratchnet_host::{data, idx};

fn read(file: &str) -> Vec<u8> {
    std::fs::read(data::find(file).unwrap_or_else(|e| panic!("{e}"))).unwrap()
}

#[test]
fn int8_model_accuracy_and_agreement_with_f32() {
    if !data::present_or_skip() {
        return;
    }
    let pkl = read(data::WEIGHTS);
    let f32_blob = convert_pickle(&pkl).unwrap().blob;
    let int8 = convert_pickle_as(&pkl, Precision::Int8).unwrap();
    let net = Mnist::from_blob(&f32_blob).unwrap();
    let qnet = QMnist::from_blob(&int8.blob).unwrap();
    // An int8 blob is not an f32 network, and the other way round.
    assert!(Mnist::from_blob(&int8.blob).is_err());
    assert!(QMnist::from_blob(&f32_blob).is_err());

    let images = idx::read_images(&data::find(data::TEST_IMAGES).unwrap()).unwrap();
    let labels = idx::read_labels(&data::find(data::TEST_LABELS).unwrap()).unwrap();
    let (mut correct, mut agree) = (0, 0);
    for (img, &label) in images.iter().zip(&labels) {
        let q = qnet.classify_pixels(img).class;
        correct += usize::from(q == usize::from(label));
        agree += usize::from(q == net.classify_pixels(img).class);
    }
    eprintln!(
        "int8: {} bytes, accuracy {correct}/10000, agreement with f32 {agree}/10000",
        int8.blob.len()
    );
    // 50·784 + 100·52 + 10·100 int8 weights, biases and scales as f32, two f32 divisors
    // a layer, 32 bytes of header and layer table.
    assert_eq!(int8.blob.len(), 46_736);
    assert_eq!(correct, 9_352); // measured: the same accuracy as f32 (and numpy)
    assert_eq!(agree, 9_995); // measured: 5 images change class
}

/// The int8 network by the book's formula, written plainly from the blob's layers:
/// `A[j] = (Σᵢ x[i]·q[j][i]) · s[j]/d_in + B[j]`, hidden values `sigmoid_u8(A)` (d_in =
/// d_out = 255 for the book's sigmoid layers).
fn plain_int8_logits(model: &scratchnet::Model<'_>, x: &[u8]) -> Vec<f32> {
    let mut input: Vec<u8> = x.to_vec();
    let layers: Vec<_> = model.layers().collect();
    for (k, layer) in layers.iter().enumerate() {
        let q = layer.quantized().unwrap();
        let scales: Vec<f32> = q.scales().iter().collect();
        let biases: Vec<f32> = layer.biases().iter().collect();
        let values: Vec<f32> = (0..layer.shape().outputs as usize)
            .map(|j| {
                let row = &q.rows[j * q.stride..j * q.stride + input.len()];
                let sum: i32 = row
                    .iter()
                    .zip(&input)
                    .map(|(&w, &x)| i32::from(w) * i32::from(x))
                    .sum();
                sum as f32 * (scales[j] / 255.0) + biases[j]
            })
            .collect();
        if k + 1 == layers.len() {
            return values;
        }
        input = values.into_iter().map(scratchnet::sigmoid_u8).collect();
    }
    unreachable!("a model has at least one layer")
}

#[test]
fn int8_kernel_equals_the_plain_formula_on_every_test_image() {
    if !data::present_or_skip() {
        return;
    }
    let int8 = convert_pickle_as(&read(data::WEIGHTS), Precision::Int8).unwrap();
    let model = scratchnet::Model::from_bytes(&int8.blob).unwrap();
    let qnet = QMnist::from_model(&model).unwrap();
    let images = idx::read_images(&data::find(data::TEST_IMAGES).unwrap()).unwrap();
    for (n, img) in images.iter().enumerate() {
        let want = plain_int8_logits(&model, img);
        let got = qnet.logits_pixels(img);
        assert_eq!(
            got.map(f32::to_bits).to_vec(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "image {n}"
        );
    }
}
