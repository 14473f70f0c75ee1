//! The book's weights quantized to int8, on the 10 000 MNIST test images (needs the data).

use scratchnet::{Mnist, QMnist};
use scratchnet_host::convert::{Precision, convert_pickle, convert_pickle_as};
use scratchnet_host::{data, idx};

fn read(file: &str) -> Vec<u8> {
    std::fs::read(data::find(file).unwrap_or_else(|e| panic!("{e}"))).unwrap()
}

#[test]
fn int8_model_accuracy_and_agreement_with_f32() {
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
    // 50·784 + 100·52 + 10·100 int8 weights, biases and scales as f32, 32 bytes of header
    // and layer table.
    assert_eq!(int8.blob.len(), 46_712);
    assert_eq!(correct, 9_352); // measured: the same accuracy as f32 (and numpy)
    assert_eq!(agree, 9_995); // measured: 5 images change class
}
