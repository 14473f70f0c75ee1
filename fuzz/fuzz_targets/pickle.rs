//! The converter on arbitrary bytes (the book's pickle, .npz and .safetensors, recognised
//! by content, with and without int8): never panics, never runs anything, and whatever
//! converts loads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchnet_host::convert::{Options, Precision, convert_file};

fuzz_target!(|data: &[u8]| {
    for precision in [Precision::F32, Precision::Int8] {
        let options = Options {
            precision,
            ..Options::default()
        };
        if let Ok(converted) = convert_file(data, &options) {
            scratchnet::Model::from_bytes(&converted.blob).unwrap();
        }
    }
});
