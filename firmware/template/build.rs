//! Embeds your model: the `.scnt` named by `SCRATCHNET_MODEL` (default: `model.scnt` beside
//! this file), checked here with the code that will run it, so a damaged model, or one the
//! firmware cannot run, is a build error and never reaches the board. Writes the sizes the
//! firmware needs as constants, and passes the linker scripts.

use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    println!("cargo:rerun-if-env-changed=SCRATCHNET_MODEL");
    let path = std::env::var_os("SCRATCHNET_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("model.scnt"));
    println!("cargo:rerun-if-changed={}", path.display());
    let blob = std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read the model {}: {e}. Convert yours with `scratchnet convert …` and put \
             it there, or set SCRATCHNET_MODEL",
            path.display()
        )
    })?;
    let model = scratchnet::Model::from_bytes(&blob)
        .map_err(|e| format!("{}: the model is refused: {e}", path.display()))?;
    if model.layers().any(|l| l.quantized().is_some()) {
        return Err(format!(
            "{}: an int8 model; this template runs f32 models (scratchnet::Model)",
            path.display()
        ));
    }
    std::fs::write(out.join("model.scnt"), &blob).map_err(|e| e.to_string())?;
    let info = format!(
        "/// The blob's length in bytes.\npub const LEN: usize = {};\n\
         /// The model's inputs.\npub const INPUTS: usize = {};\n\
         /// The model's outputs.\npub const OUTPUTS: usize = {};\n\
         /// Floats of scratch inference needs.\npub const SCRATCH: usize = {};\n",
        blob.len(),
        model.inputs(),
        model.outputs(),
        model.scratch_len()
    );
    std::fs::write(out.join("model_info.rs"), info).map_err(|e| e.to_string())?;
    // The memory map and cortex-m-rt's linker script.
    std::fs::copy(manifest.join("memory.x"), out.join("memory.x")).map_err(|e| e.to_string())?;
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    Ok(())
}
