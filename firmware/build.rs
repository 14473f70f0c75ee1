//! Produces the model blob from the book's pickle (never committed), and the MNIST test set
//! as raw bytes the firmware reads over semihosting, with host-tools' library.

use scratchnet_host::assets::{self, write_if_changed};
use scratchnet_host::convert::Precision;
use std::path::{Path, PathBuf};

fn main() {
    if let Err(e) = run() {
        eprintln!("scratchnet-firmware build: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    std::fs::copy(manifest.join("memory.x"), out.join("memory.x")).map_err(|e| e.to_string())?;
    println!("cargo:rustc-link-search={}", out.display());

    assets::write_model(&manifest, &out)?;
    let int8 = assets::write_model_as(&manifest, &out.join("mnist-int8.scnt"), Precision::Int8)?;
    if std::env::var_os("CARGO_FEATURE_CORRUPT_MODEL").is_some() {
        for name in ["mnist.scnt", "mnist-int8.scnt"] {
            let path = out.join(name);
            let mut blob = std::fs::read(&path).map_err(|e| e.to_string())?;
            let at = blob.len() / 2;
            blob[at] ^= 0x08; // one bit of a weight in the middle of layer 1
            write_if_changed(&path, &blob)?;
        }
    }
    let set = assets::test_set(&manifest)?;
    // Without numpy's predictions the demo reports accuracy only; 0xFF is no class.
    let have_reference = set.reference.is_some();
    let reference = set
        .reference
        .unwrap_or_else(|| vec![0xFF; set.labels.len()]);

    // What the int8 model gives on the host (the core's portable integer kernel): the device
    // must reproduce it exactly, with its DSP kernel.
    let f32_blob = std::fs::read(out.join("mnist.scnt")).map_err(|e| e.to_string())?;
    // The f32 model's logits on the host, for the device to reproduce bit for bit.
    if let Ok(net) = scratchnet::Mnist::from_blob(&f32_blob) {
        let logits: Vec<u8> = set.images[..100]
            .iter()
            .flat_map(|img| net.logits_pixels(img))
            .flat_map(f32::to_le_bytes)
            .collect();
        write_if_changed(&out.join("first100-f32-logits.f32le"), &logits)?;
    } else {
        // The corrupt-model build: nothing to compare with.
        write_if_changed(&out.join("first100-f32-logits.f32le"), &[0; 4000])?;
    }
    let qnet = scratchnet::QMnist::from_blob(&int8).map_err(|e| e.to_string())?;
    let (mut int8_correct, mut int8_agree) = (0u32, 0u32);
    let mut int8_logits = Vec::with_capacity(100 * 40);
    for (n, img) in set.images.iter().enumerate() {
        let logits = qnet.logits_pixels(img);
        let class = scratchnet::Classification::argmax(&logits).class;
        int8_correct += u32::from(class == usize::from(set.labels[n]));
        int8_agree += u32::from(class == usize::from(reference[n]));
        if n < 100 {
            int8_logits.extend(logits.iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    write_if_changed(&out.join("first100-int8-logits.f32le"), &int8_logits)?;
    let raw: Vec<u8> = set.images.iter().flatten().copied().collect();
    write_if_changed(&out.join("images.u8"), &raw)?;
    write_if_changed(&out.join("labels.u8"), &set.labels)?;
    write_if_changed(&out.join("reference.u8"), &reference)?;
    // The first 100 images and numpy's predictions for them, embedded for on-target tests.
    write_if_changed(&out.join("first100-images.u8"), &raw[..100 * 784])?;
    write_if_changed(&out.join("first100-reference.u8"), &reference[..100])?;

    let paths = format!(
        "/// The test images on the host (raw 28×28 u8 each), NUL-terminated.\n\
         pub const IMAGES: &core::ffi::CStr = c{:?};\n\
         /// The test labels on the host (one u8 each), NUL-terminated.\n\
         pub const LABELS: &core::ffi::CStr = c{:?};\n\
         /// numpy's predictions on the host (one u8 each), NUL-terminated.\n\
         pub const REFERENCE: &core::ffi::CStr = c{:?};\n\
         /// Number of test images.\n\
         pub const COUNT: usize = {};\n\
         /// Test images the int8 model classifies correctly on the host.\n\
         pub const INT8_CORRECT: u32 = {};\n\
         /// Test images where the int8 model agrees with numpy on the host.\n\
         pub const INT8_AGREE: u32 = {};\n\
         /// Whether numpy's predictions were found (else agreement is not checked).\n\
         pub const HAVE_REFERENCE: bool = {};\n",
        path_str(&out.join("images.u8"))?,
        path_str(&out.join("labels.u8"))?,
        path_str(&out.join("reference.u8"))?,
        set.images.len(),
        int8_correct,
        int8_agree,
        have_reference
    );
    write_if_changed(&out.join("host_paths.rs"), paths.as_bytes())
}

fn path_str(p: &Path) -> Result<String, String> {
    p.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}
