//! The blob loader on arbitrary bytes: never panics; whatever it accepts runs without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = scratchnet::Model::from_bytes(data) else {
        return;
    };
    if model.inputs() > 1 << 16 || model.scratch_len() > 1 << 17 || model.outputs() > 1 << 16 {
        return;
    }
    let x = vec![0.5; model.inputs()];
    let mut scratch = vec![0.0; model.scratch_len()];
    let mut out = vec![0.0; model.outputs()];
    model.logits(&x, &mut scratch, &mut out).unwrap();
    if let Ok(net) = scratchnet::Network3::<2, 3, 2, 2>::from_model(&model) {
        let _ = net.predict(&[1.0, 0.5]);
    }
});
