//! The MNIST idx reader (with gzip detection) on arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scratchnet_host::idx;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz");
    if let Ok(bytes) = idx::decompress(data) {
        let _ = idx::parse_images(p, &bytes);
        let _ = idx::parse_labels(p, &bytes);
    }
});
