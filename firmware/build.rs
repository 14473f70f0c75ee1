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
    println!("cargo:rerun-if-changed=build.rs");
    // The board's memory: `cargo xtask demo --board NAME` passes it from its board table
    // (`SCRATCHNET_MEMORY`: FLASH origin, length, RAM origin, length); without it, the
    // default board's, QEMU mps2-an386 (Cortex-M4F): 4 MiB of code memory at 0, 4 MiB of
    // RAM at 0x20000000.
    println!("cargo:rerun-if-env-changed=SCRATCHNET_MEMORY");
    println!("cargo:rerun-if-env-changed=SCRATCHNET_TICK_INSTRUCTIONS");
    let memory =
        std::env::var("SCRATCHNET_MEMORY").unwrap_or_else(|_| "0x00000000 4M 0x20000000 4M".into());
    let [fo, fl, ro, rl] = memory.split_whitespace().collect::<Vec<_>>()[..] else {
        return Err(format!(
            "SCRATCHNET_MEMORY={memory:?}: expected FLASH_ORIGIN FLASH_LENGTH RAM_ORIGIN RAM_LENGTH"
        ));
    };
    let x = format!(
        "/* Written by build.rs (SCRATCHNET_MEMORY, from cargo xtask's board table). */\n\
         MEMORY\n{{\n  FLASH : ORIGIN = {fo}, LENGTH = {fl}\n  RAM   : ORIGIN = {ro}, LENGTH = {rl}\n}}\n"
    );
    write_if_changed(&out.join("memory.x"), x.as_bytes())?;
    // Instructions per SysTick tick under -icount shift=0 (one instruction a nanosecond), as
    // a fraction: 10⁹ / the board's SysTick clock, "40" for 25 MHz, "125/2" for 16 MHz.
    let per_tick = std::env::var("SCRATCHNET_TICK_INSTRUCTIONS").unwrap_or_else(|_| "40".into());
    let (num, den) = per_tick.split_once('/').unwrap_or((&per_tick, "1"));
    let (Ok(num), Ok(den)) = (num.parse::<u32>(), den.parse::<u32>()) else {
        return Err(format!(
            "SCRATCHNET_TICK_INSTRUCTIONS={per_tick:?}: expected a number or a fraction N/D"
        ));
    };
    write_if_changed(
        &out.join("board.rs"),
        format!(
            "/// Instructions per SysTick tick on this board, as a fraction (from build.rs).\n\
             pub const INSTRUCTIONS_PER_TICK: (u32, u32) = ({num}, {den});\n"
        )
        .as_bytes(),
    )?;
    // cortex-m-rt's `device` feature includes `device.x`, where a device crate names its
    // interrupt handlers: the firmware has none (its table, in src/lib.rs, points every
    // entry at the default handler).
    write_if_changed(
        &out.join("device.x"),
        b"/* Written by build.rs: no device interrupt handlers (see __INTERRUPTS in src/lib.rs). */\n",
    )?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rustc-link-arg=-Tdefmt.x");

    assets::write_model(&manifest, &out)?;
    // Cores without FPU (thumbv6m, thumbv7m, thumbv8m.base: no `eabihf`, no DSP extension)
    // get the int8 model in output pairs with its soft-float constants: the same numbers,
    // one multiply for two multiply-adds, fewer emulated f32 operations; cores with the DSP
    // extension (feature `dsp`) its layers of at least 16 outputs in input pairs, whose zero
    // pairs (the images' background) their kernel skips whole.
    let target = std::env::var("TARGET").unwrap_or_default();
    let int8_precision = if target.starts_with("thumb") && !target.ends_with("eabihf") {
        Precision::Int8M0
    } else if std::env::var_os("CARGO_FEATURE_DSP").is_some() {
        Precision::Int8Dsp
    } else {
        Precision::Int8
    };
    let int8 = assets::write_model_as(&manifest, &out.join("mnist-int8.scnt"), int8_precision)?;
    let set = assets::test_set(&manifest)?;
    // Before the damage below: the user binary's default is the book's intact model.
    user_model(&out, &set)?;
    if std::env::var_os("CARGO_FEATURE_CORRUPT_MODEL").is_some() {
        for name in ["mnist.scnt", "mnist-int8.scnt"] {
            let path = out.join(name);
            let mut blob = std::fs::read(&path).map_err(|e| e.to_string())?;
            let at = blob.len() / 2;
            blob[at] ^= 0x08; // one bit of a weight in the middle of layer 1
            write_if_changed(&path, &blob)?;
        }
    }
    // Without numpy's predictions the demo reports accuracy only; 0xFF is no class.
    let have_reference = set.reference.is_some();
    let reference = set
        .reference
        .unwrap_or_else(|| vec![0xFF; set.labels.len()]);

    // What the int8 model gives on the host (the core's portable integer kernel): the device
    // must reproduce it exactly, with its DSP kernel.
    let f32_blob = std::fs::read(out.join("mnist.scnt")).map_err(|e| e.to_string())?;
    // Both models' logits on the host for every test image (the core's portable kernels),
    // for the device to reproduce bit for bit with its own.
    let logits_of = |logits: &dyn Fn(&[u8; 784]) -> [f32; 10]| -> Vec<u8> {
        set.images
            .iter()
            .flat_map(logits)
            .flat_map(f32::to_le_bytes)
            .collect()
    };
    let f32_logits = match scratchnet::Mnist::from_blob(&f32_blob) {
        Ok(net) => logits_of(&|img| net.logits_pixels(img)),
        // The corrupt-model build: nothing to compare with.
        Err(_) => vec![0; set.images.len() * 40],
    };
    write_if_changed(&out.join("f32-logits.f32le"), &f32_logits)?;
    let qnet = scratchnet::QMnist::from_blob(&int8).map_err(|e| e.to_string())?;
    let (mut int8_correct, mut int8_agree) = (0u32, 0u32);
    for (n, img) in set.images.iter().enumerate() {
        let class = scratchnet::Classification::argmax(&qnet.logits_pixels(img)).class;
        int8_correct += u32::from(class == usize::from(set.labels[n]));
        int8_agree += u32::from(class == usize::from(reference[n]));
    }
    write_if_changed(
        &out.join("int8-logits.f32le"),
        &logits_of(&|img| qnet.logits_pixels(img)),
    )?;
    // One file, one path in the firmware's flash (the path is as long as the checkout's):
    // the images, then the labels, then numpy's predictions.
    let test_set: Vec<u8> = set
        .images
        .iter()
        .flatten()
        .chain(&set.labels)
        .chain(&reference)
        .copied()
        .collect();
    write_if_changed(&out.join("test-set.u8"), &test_set)?;
    // numpy's predictions for the first 100 images, embedded for on-target tests (which
    // read the images themselves from test-set.u8 over semihosting).
    write_if_changed(&out.join("first100-reference.u8"), &reference[..100])?;

    let paths = format!(
        "/// The test set on the host, NUL-terminated: the images (raw 28×28 u8 each) from\n\
         /// byte 0, the labels (one u8 each) from [`LABELS_AT`], numpy's predictions (one u8\n\
         /// each) from [`REFERENCE_AT`].\n\
         pub const TEST_SET: &core::ffi::CStr = c{:?};\n\
         /// Where the labels start in [`TEST_SET`].\n\
         pub const LABELS_AT: u64 = {};\n\
         /// Where numpy's predictions start in [`TEST_SET`].\n\
         pub const REFERENCE_AT: u64 = {};\n\
         /// The f32 model's logits on the host, 10 little-endian f32 an image.\n\
         pub const F32_LOGITS: &core::ffi::CStr = c{:?};\n\
         /// The int8 model's logits on the host (its portable kernel), the same way.\n\
         pub const INT8_LOGITS: &core::ffi::CStr = c{:?};\n\
         /// Number of test images.\n\
         pub const COUNT: usize = {};\n\
         /// Test images the int8 model classifies correctly on the host.\n\
         pub const INT8_CORRECT: u32 = {};\n\
         /// Test images where the int8 model agrees with numpy on the host.\n\
         pub const INT8_AGREE: u32 = {};\n\
         /// Whether numpy's predictions were found (else agreement is not checked).\n\
         pub const HAVE_REFERENCE: bool = {};\n\
         /// `scratchnet::math::exp_fingerprint()` computed on the host.\n\
         pub const EXP_FINGERPRINT: u32 = {:#010x};\n\
         /// `scratchnet::sigmoid_fingerprint()` computed on the host.\n\
         pub const SIGMOID_FINGERPRINT: u32 = {:#010x};\n\
         /// `scratchnet::softmax_fingerprint()` computed on the host.\n\
         pub const SOFTMAX_FINGERPRINT: u32 = {:#010x};\n",
        path_str(&out.join("test-set.u8"))?,
        set.images.len() * 784,
        set.images.len() * 785,
        path_str(&out.join("f32-logits.f32le"))?,
        path_str(&out.join("int8-logits.f32le"))?,
        set.images.len(),
        int8_correct,
        int8_agree,
        have_reference,
        scratchnet::math::exp_fingerprint(),
        scratchnet::sigmoid_fingerprint(),
        scratchnet::softmax_fingerprint()
    );
    write_if_changed(&out.join("host_paths.rs"), paths.as_bytes())
}

fn path_str(p: &Path) -> Result<String, String> {
    p.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

/// The user's model for the `user` binary (`cargo xtask demo --model M.scnt --inputs X.npy
/// --labels Y.npy` sets these variables): the blob, the inputs as raw f32, the labels and
/// the host's predictions as u32, and their sizes. Without them: the book's f32 model on
/// the first 100 test images.
fn user_model(out: &Path, set: &assets::TestSet) -> Result<(), String> {
    let var = |name: &str| {
        println!("cargo:rerun-if-env-changed={name}");
        std::env::var_os(name).map(PathBuf::from)
    };
    let read = |p: &Path| {
        println!("cargo:rerun-if-changed={}", p.display());
        std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let (blob, inputs, labels) = match (
        var("SCRATCHNET_USER_MODEL"),
        var("SCRATCHNET_USER_INPUTS"),
        var("SCRATCHNET_USER_LABELS"),
    ) {
        (Some(m), Some(x), Some(y)) if is_tflite_blob(&read(&m)?) => {
            return tflite_model(out, &read(&m)?, &read(&x)?, &read(&y)?);
        }
        (Some(m), Some(x), Some(y)) => {
            let (width, values) =
                scratchnet_host::npy::read_inputs(&read(&x)?, &x.display().to_string())
                    .map_err(|e| e.to_string())?;
            let labels = scratchnet_host::npy::read_classes(&read(&y)?, &y.display().to_string())
                .map_err(|e| e.to_string())?;
            let blob = read(&m)?;
            let model_inputs = scratchnet::Model::from_bytes(&blob)
                .map_err(|e| format!("{}: {e}", m.display()))?
                .inputs();
            if width != model_inputs {
                return Err(format!(
                    "{}: rows of {width} values, but the model takes {model_inputs} inputs",
                    x.display(),
                ));
            }
            // Output pairs are the layout of cores without the DSP extension: a DSP core's
            // build does not read them (the device would refuse the model).
            let dsp = std::env::var_os("CARGO_FEATURE_DSP").is_some();
            if dsp
                && let Some(layer) = scratchnet::Model::from_bytes(&blob)
                    .map_err(|e| format!("{}: {e}", m.display()))?
                    .layers()
                    .position(|l| l.element() == scratchnet::ElementType::I8OutputPairs)
            {
                return Err(format!(
                    "{}: layer {layer} is int8 in output pairs (`--quantize int8-m0`), the \
                     layout of cores without the DSP extension, which this board's build (with \
                     it) does not read: convert the model with --quantize int8-dsp (or int8) \
                     for this board",
                    m.display(),
                ));
            }
            (blob, values, labels)
        }
        (None, None, None) => {
            let blob = std::fs::read(out.join("mnist.scnt")).map_err(|e| e.to_string())?;
            let values = set.images[..100]
                .iter()
                .flatten()
                .map(|&p| scratchnet::normalize_pixel(p))
                .collect();
            let labels = set.labels[..100].iter().map(|&l| usize::from(l)).collect();
            (blob, values, labels)
        }
        _ => {
            return Err(
                "SCRATCHNET_USER_MODEL, SCRATCHNET_USER_INPUTS and SCRATCHNET_USER_LABELS go together"
                    .into(),
            );
        }
    };
    let aligned = scratchnet_host::convert::AlignedBlob::new(&blob);
    let model = scratchnet::Model::from_bytes(aligned.bytes()).map_err(|e| e.to_string())?;
    let int8 = model.layers().any(|l| l.quantized().is_some());
    let (n_in, n_out) = (model.inputs(), model.outputs());
    let rows = inputs.len() / n_in;
    if labels.len() != rows {
        return Err(format!("{} labels for {rows} input rows", labels.len()));
    }
    // An int8 model reads u8 inputs (u/255): the rows must be such values.
    let bytes: Vec<u8> = inputs.iter().map(|v| (v * 255.0).round() as u8).collect();
    if int8
        && let Some(v) = inputs
            .iter()
            .zip(&bytes)
            .find(|(v, u)| scratchnet::normalize_pixel(**u) != **v)
    {
        return Err(format!(
            "an int8 model takes u8 inputs (a uint8 .npy, read as /255); {} is not one",
            v.0
        ));
    }
    // The host's predictions, with the core's code: the device must reproduce them.
    let mut scratch = vec![0.0; model.scratch_len()];
    let mut scratch8 = vec![0u8; model.scratch_len()];
    let mut y = vec![0.0; n_out];
    let (mut host, mut correct) = (Vec::with_capacity(rows), 0u32);
    for ((row, row8), &label) in inputs
        .chunks_exact(n_in)
        .zip(bytes.chunks_exact(n_in))
        .zip(&labels)
    {
        if int8 {
            model.logits_u8(row8, &mut scratch8, &mut y)
        } else {
            model.logits(row, &mut scratch, &mut y)
        }
        .map_err(|e| e.to_string())?;
        if let Some(l) = model.layers().last() {
            l.activation().apply(&mut y);
        }
        let class = scratchnet::Classification::argmax(&y).class;
        correct += u32::from(class == label);
        host.push(class as u32);
    }
    let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    write_if_changed(&out.join("user.scnt"), &blob)?;
    let raw: Vec<u8> = if int8 {
        bytes
    } else {
        inputs.iter().flat_map(|v| v.to_le_bytes()).collect()
    };
    write_if_changed(&out.join("user-inputs.f32le"), &raw)?;
    let labels: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
    write_if_changed(&out.join("user-labels.u32le"), &u32s(&labels))?;
    write_if_changed(&out.join("user-host.u32le"), &u32s(&host))?;
    let kind = if int8 { Kind::Int8 } else { Kind::F32 };
    user_paths(
        out,
        kind,
        rows,
        (n_in, n_out),
        model.scratch_len(),
        blob.len(),
        correct as usize,
    )
}

/// What the `user` binary runs.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    F32,
    Int8,
    Tflite,
}

/// Writes `user_paths.rs`, the `user` binary's sizes and host files (`user-inputs.f32le`,
/// `user-labels.u32le`, `user-host.u32le`: f32 or u8 rows, u32 labels and classes; for a
/// TFLite model int8 rows, reference and host outputs). `correct`: rows the host classifies
/// correctly, or, for TFLite, output bytes equal to the reference.
fn user_paths(
    out: &Path,
    kind: Kind,
    rows: usize,
    (n_in, n_out): (usize, usize),
    scratch: usize,
    model_len: usize,
    correct: usize,
) -> Result<(), String> {
    let (tflite, int8) = (kind == Kind::Tflite, kind == Kind::Int8);
    let paths = format!(
        "/// Whether the model is TFLite int8 (int8 inputs and outputs, `run_i8`).\n\
         pub const TFLITE: bool = {tflite};\n\
         /// Whether the model is int8 (inputs u8, `logits_u8`) rather than f32.\n\
         pub const INT8: bool = {int8};\n\
         /// The inputs on the host (`INPUTS` a row: little-endian f32, u8 for int8, i8 for\n\
         /// TFLite), NUL-terminated.\n\
         pub const INPUTS_FILE: &core::ffi::CStr = c{:?};\n\
         /// The labels on the host (u32 each; TFLite: the reference int8 outputs),\n\
         /// NUL-terminated.\n\
         pub const LABELS_FILE: &core::ffi::CStr = c{:?};\n\
         /// The host's predictions (u32 each; TFLite: its int8 outputs), NUL-terminated.\n\
         pub const HOST_FILE: &core::ffi::CStr = c{:?};\n\
         /// Rows of inputs.\n\
         pub const ROWS: usize = {rows};\n\
         /// The model's inputs.\n\
         pub const INPUTS: usize = {n_in};\n\
         /// The model's outputs.\n\
         pub const OUTPUTS: usize = {n_out};\n\
         /// Values of scratch the run-time model needs.\n\
         pub const SCRATCH: usize = {scratch};\n\
         /// The blob's length in bytes.\n\
         pub const MODEL_LEN: usize = {model_len};\n\
         /// Rows the host classifies correctly (TFLite: output bytes equal to the reference).\n\
         pub const HOST_CORRECT: u32 = {correct};\n",
        path_str(&out.join("user-inputs.f32le"))?,
        path_str(&out.join("user-labels.u32le"))?,
        path_str(&out.join("user-host.u32le"))?,
    );
    write_if_changed(&out.join("user_paths.rs"), paths.as_bytes())
}

/// Whether a blob holds TFLite int8 layers.
fn is_tflite_blob(blob: &[u8]) -> bool {
    let aligned = scratchnet_host::convert::AlignedBlob::new(blob);
    scratchnet::Model::from_bytes(aligned.bytes())
        .is_ok_and(|m| m.layers().any(|l| l.tflite().is_some()))
}

/// A TFLite int8 model: int8 inputs as given, and the reference outputs (e.g. TFLite
/// Micro's) in place of labels; the host's outputs with the core's code.
fn tflite_model(out: &Path, blob: &[u8], x: &[u8], reference: &[u8]) -> Result<(), String> {
    let aligned = scratchnet_host::convert::AlignedBlob::new(blob);
    let model = scratchnet::Model::from_bytes(aligned.bytes()).map_err(|e| e.to_string())?;
    let (n_in, n_out) = (model.inputs(), model.outputs());
    let (width, inputs) =
        scratchnet_host::npy::read_int8(x, "--inputs").map_err(|e| e.to_string())?;
    let (rwidth, want) =
        scratchnet_host::npy::read_int8(reference, "--labels (the reference outputs)")
            .map_err(|e| e.to_string())?;
    if width != n_in || rwidth != n_out || inputs.len() / n_in != want.len() / n_out {
        return Err(format!(
            "a TFLite model takes N × {n_in} int8 inputs and N × {n_out} int8 reference outputs (as --labels); got N × {width} and N × {rwidth}"
        ));
    }
    let rows = inputs.len() / n_in;
    let mut scratch = vec![0i8; model.scratch_len()];
    let mut host = vec![0i8; rows * n_out];
    for (row, y) in inputs.chunks_exact(n_in).zip(host.chunks_exact_mut(n_out)) {
        model
            .run_i8(row, &mut scratch, y)
            .map_err(|e| e.to_string())?;
    }
    let host_equal = host.iter().zip(&want).filter(|(a, b)| a == b).count();
    let bytes = |v: &[i8]| v.iter().map(|&b| b as u8).collect::<Vec<u8>>();
    write_if_changed(&out.join("user.scnt"), blob)?;
    write_if_changed(&out.join("user-inputs.f32le"), &bytes(&inputs))?;
    write_if_changed(&out.join("user-labels.u32le"), &bytes(&want))?;
    write_if_changed(&out.join("user-host.u32le"), &bytes(&host))?;
    user_paths(
        out,
        Kind::Tflite,
        rows,
        (n_in, n_out),
        model.scratch_len(),
        blob.len(),
        host_equal,
    )
}
