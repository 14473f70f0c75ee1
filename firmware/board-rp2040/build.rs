//! The int8 model blob and the first test images, for flash; the RP2040's memory map and the
//! linker scripts.
//!
//! The model takes the template's path (`firmware/template`): the int8 `.scnt` named by
//! `SCRATCHNET_MODEL` (`scratchnet convert --quantize int8-m0`, or `int8-soft-float` or
//! `int8`: the same numbers, without the output pairs that take two multiply-adds a
//! `MULS`, or also without the constants that save this FPU-less core emulated f32 work),
//! checked here with the code that runs it (this application needs the book's
//! 784-50-100-10 shape), so a damaged or mismatched model is a build error. Without it, the
//! book's `sample_weight.pkl` is converted to int8 in output pairs with those constants.

use scratchnet_host::assets::{self, write_if_changed};
use scratchnet_host::convert::Precision;
use std::path::PathBuf;

/// Test images embedded in flash.
const IMAGES: usize = 10;

/// The Pico's memory: the 256-byte second-stage boot loader at the start of its 2 MiB of
/// QSPI flash (XIP at 0x10000000), then the program; 264 KiB of striped SRAM.
const MEMORY: &str = "MEMORY {
  BOOT2 : ORIGIN = 0x10000000, LENGTH = 0x100
  FLASH : ORIGIN = 0x10000100, LENGTH = 2048K - 0x100
  RAM   : ORIGIN = 0x20000000, LENGTH = 264K
}
SECTIONS {
  .boot2 ORIGIN(BOOT2) : { KEEP(*(.boot2)); } > BOOT2
} INSERT BEFORE .text;
";

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let result = (|| -> Result<(), String> {
        println!("cargo:rerun-if-env-changed=SCRATCHNET_MODEL");
        println!("cargo:rerun-if-changed=build.rs");
        match std::env::var_os("SCRATCHNET_MODEL").map(PathBuf::from) {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", path.display());
                let blob = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let aligned = scratchnet_host::convert::AlignedBlob::new(&blob);
                scratchnet::QMnist::from_blob(aligned.bytes()).map_err(|e| {
                    format!(
                        "{}: the model is refused (this board runs the book's network in int8): {e}",
                        path.display()
                    )
                })?;
                write_if_changed(&out.join("mnist-int8.scnt"), &blob)?;
            }
            None => {
                assets::write_model_as(&manifest, &out.join("mnist-int8.scnt"), Precision::Int8M0)?;
            }
        }
        let set = assets::test_set(&manifest)?;
        let raw: Vec<u8> = set.images[..IMAGES].iter().flatten().copied().collect();
        write_if_changed(&out.join("images.u8"), &raw)?;
        write_if_changed(&out.join("labels.u8"), &set.labels[..IMAGES])?;
        write_if_changed(&out.join("memory.x"), MEMORY.as_bytes())?;
        println!("cargo:rustc-link-search={}", out.display());
        // cortex-m-rt's and defmt's linker scripts (here, not in .cargo/config.toml, so the
        // folder builds the same inside the repository and copied out of it).
        println!("cargo:rustc-link-arg=-Tlink.x");
        println!("cargo:rustc-link-arg=-Tdefmt.x");
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("scratchnet-rp2040 build: {e}");
        std::process::exit(1);
    }
}
