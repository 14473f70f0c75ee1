//! The model blob and the first test images, for flash, and the linker scripts.
//!
//! The model takes the template's path (`firmware/template`): the `.scnt` named by
//! `SCRATCHNET_MODEL`, checked here with the code that runs it (this application needs the
//! book's 784-50-100-10 shape), so a damaged or mismatched model is a build error. Without
//! it, the book's `sample_weight.pkl` is converted.

use scratchnet_host::assets::{self, write_if_changed};
use std::path::PathBuf;

/// Test images embedded in flash.
const IMAGES: usize = 10;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let result = (|| -> Result<(), String> {
        println!("cargo:rerun-if-env-changed=SCRATCHNET_MODEL");
        match std::env::var_os("SCRATCHNET_MODEL").map(PathBuf::from) {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", path.display());
                let blob = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                scratchnet::Mnist::from_blob(&blob)
                    .map_err(|e| format!("{}: the model is refused: {e}", path.display()))?;
                write_if_changed(&out.join("mnist.scnt"), &blob)?;
            }
            None => assets::write_model(&manifest, &out)?,
        }
        let set = assets::test_set(&manifest)?;
        let raw: Vec<u8> = set.images[..IMAGES].iter().flatten().copied().collect();
        write_if_changed(&out.join("images.u8"), &raw)?;
        write_if_changed(&out.join("labels.u8"), &set.labels[..IMAGES])?;
        // cortex-m-rt's and defmt's linker scripts (here, not in .cargo/config.toml, so the
        // folder builds the same inside the repository and copied out of it).
        println!("cargo:rustc-link-arg=-Tlink.x");
        println!("cargo:rustc-link-arg=-Tdefmt.x");
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("scratchnet-nrf52840dk build: {e}");
        std::process::exit(1);
    }
}
