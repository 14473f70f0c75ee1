//! The pickle reader and converter on arbitrary bytes: never panics, never runs anything.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(converted) = scratchnet_host::convert::convert_pickle(data) {
        // Whatever converts must load.
        scratchnet::Model::from_bytes(&converted.blob).unwrap();
    }
});
