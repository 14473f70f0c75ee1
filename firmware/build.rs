//! Produces the model blob from the book's pickle (never committed), and the MNIST test set
//! as raw bytes the firmware reads over semihosting, using host-tools' library.

use scratchnet_host::{convert, data, idx};
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-env-changed={}", data::ENV);
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    std::fs::copy(manifest.join("memory.x"), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());

    let find = |file: &str| -> PathBuf {
        match data::find_from(&manifest, file) {
            Ok(p) => {
                println!("cargo:rerun-if-changed={}", p.display());
                p
            }
            Err(e) => fail(&e.to_string()),
        }
    };
    let pickle = std::fs::read(find(data::WEIGHTS)).unwrap_or_else(|e| fail(&e.to_string()));
    let model = convert::convert_pickle(&pickle).unwrap_or_else(|e| fail(&e.to_string()));
    std::fs::write(out.join("mnist.scnt"), &model.blob).unwrap();

    let images =
        idx::read_images(&find(data::TEST_IMAGES)).unwrap_or_else(|e| fail(&e.to_string()));
    let labels =
        idx::read_labels(&find(data::TEST_LABELS)).unwrap_or_else(|e| fail(&e.to_string()));
    let reference = std::fs::read(find(data::REFERENCE_PREDICTIONS)).unwrap();
    let raw: Vec<u8> = images.iter().flatten().copied().collect();
    write(&out, "images.u8", &raw);
    write(&out, "labels.u8", &labels);
    write(&out, "reference.u8", &reference);
    // The first 100 images, labels and reference predictions, embedded for on-target tests.
    write(&out, "first100-images.u8", &raw[..100 * idx::PIXELS]);
    write(&out, "first100-reference.u8", &reference[..100]);

    let paths = format!(
        "/// The test images on the host (raw 28×28 u8 each, 10 000 of them), NUL-terminated.\n\
         pub const IMAGES: &core::ffi::CStr = c{:?};\n\
         /// The test labels on the host (one u8 each), NUL-terminated.\n\
         pub const LABELS: &core::ffi::CStr = c{:?};\n\
         /// numpy's predictions on the host (one u8 each), NUL-terminated.\n\
         pub const REFERENCE: &core::ffi::CStr = c{:?};\n\
         /// Number of test images.\n\
         pub const COUNT: usize = {};\n",
        path_str(&out.join("images.u8")),
        path_str(&out.join("labels.u8")),
        path_str(&out.join("reference.u8")),
        images.len()
    );
    std::fs::write(out.join("host_paths.rs"), paths).unwrap();
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("OUT_DIR is UTF-8").to_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join(name);
    if std::fs::read(&p).ok().as_deref() != Some(bytes) {
        std::fs::write(p, bytes).unwrap();
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("scratchnet-firmware build: {msg}");
    std::process::exit(1);
}
