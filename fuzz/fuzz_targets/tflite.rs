//! The `.tflite` reader on arbitrary bytes: never panics, and what the converter accepts
//! becomes a blob that loads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchnet_host::convert::{AlignedBlob, Options, convert_file};

fuzz_target!(|data: &[u8]| {
    let _ = scratchnet_host::tflite::import(data);
    if let Ok(c) = convert_file(data, &Options::default()) {
        let blob = AlignedBlob::new(&c.blob);
        scratchnet::Model::from_bytes(blob.bytes()).expect("a converted model loads");
    }
});
