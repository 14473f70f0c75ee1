//! The blob loader on arbitrary bytes: never panics; whatever it accepts runs without panic,
//! through the run-time model (f32, and TFLite int8) and the typed views of every precision,
//! or is refused with its typed error — an int8 blob is never run by the f32 kernel, and
//! only a TFLite int8 blob by `run_i8`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchnet::{Error, Model, Network, Network3, QNetwork3, TDense};

fuzz_target!(|data: &[u8]| {
    // The blob at a 4-byte-aligned address, as firmware keeps it (int8 blobs read their
    // f32 scales in place).
    let aligned = scratchnet_host::convert::AlignedBlob::new(data);
    let Ok(model) = Model::from_bytes(aligned.bytes()) else {
        return;
    };
    if model.inputs() > 1 << 16 || model.scratch_len() > 1 << 17 || model.outputs() > 1 << 16 {
        return;
    }
    let int8 = model
        .layers()
        .any(|l| l.quantized().is_some() || l.tflite().is_some());
    let tflite = model.layers().all(|l| l.tflite().is_some());
    let xi = vec![-3i8; model.inputs()];
    let mut scratch_i = vec![0i8; model.scratch_len()];
    let mut out_i = vec![0i8; model.outputs()];
    match model.run_i8(&xi, &mut scratch_i, &mut out_i) {
        Ok(()) => assert!(tflite, "a model that is not TFLite int8 ran through run_i8"),
        Err(Error::UnsupportedElement { .. }) => assert!(!tflite),
        Err(e) => panic!("a loaded model failed to run: {e}"),
    }
    if let Ok(net) = Network::<(TDense<2, 3>, TDense<3, 2>)>::from_model(&model) {
        let _: [i8; 2] = net.run_i8(&[1, -128]);
    }
    let x = vec![0.5; model.inputs()];
    let mut scratch = vec![0.0; model.scratch_len()];
    let mut out = vec![0.0; model.outputs()];
    match model.logits(&x, &mut scratch, &mut out) {
        Ok(()) => assert!(!int8, "an int8 model ran through the f32 kernel"),
        Err(Error::UnsupportedElement { .. }) => assert!(int8),
        Err(e) => panic!("a loaded model failed to run: {e}"),
    }
    // Wrong lengths are errors, not numbers.
    assert!(model.logits(&x[1..], &mut scratch, &mut out).is_err());
    if let Ok(net) = Network3::<2, 3, 2, 2>::from_model(&model) {
        let _ = net.predict(&[1.0, 0.5]);
        let _ = net.classify_pixels(&[255, 7]);
    }
    if let Ok(net) = QNetwork3::<2, 3, 2, 2>::from_model(&model) {
        let _ = net.classify_pixels(&[255, 7]);
    }
    if let Ok(net) = QNetwork3::<5, 7, 6, 3>::from_model(&model) {
        let _ = net.classify_pixels(&[1, 2, 3, 4, 5]);
    }
});
