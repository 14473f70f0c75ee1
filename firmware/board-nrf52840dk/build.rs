//! The model blob from the book's pickle, and the first test images, for flash.

use scratchnet_host::assets::{self, write_if_changed};
use std::path::PathBuf;

/// Test images embedded in flash.
const IMAGES: usize = 10;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let result = (|| -> Result<(), String> {
        assets::write_model(&manifest, &out)?;
        let set = assets::test_set(&manifest)?;
        let raw: Vec<u8> = set.images[..IMAGES].iter().flatten().copied().collect();
        write_if_changed(&out.join("images.u8"), &raw)?;
        write_if_changed(&out.join("labels.u8"), &set.labels[..IMAGES])
    })();
    if let Err(e) = result {
        eprintln!("scratchnet-nrf52840dk build: {e}");
        std::process::exit(1);
    }
}
