//! `cargo xtask dense`: issue #12's dense benchmark on the emulated Cortex-M4F. The host
//! example `dense_bench` writes a model of MLPerf Tiny's anomaly-detection shape (random
//! weights from a fixed seed, dense random inputs) and each of its layers alone, f32, int8,
//! int8 in input pairs (`--quantize int8-dsp`) and int8 as halfwords (`--quantize
//! int8-wide`); each runs as `cargo xtask demo --model` does (the `user` binary: the device's
//! classes must be the host's), and one table gives instructions per inference and per
//! multiply-add, the whole model and every layer.

use crate::boards::BOARDS;
use std::path::{Path, PathBuf};

/// The layer widths (as the example writes them).
const SHAPE: [usize; 11] = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640];

/// Runs one blob with its inputs and labels in the `user` binary; returns its output.
pub(crate) fn run_user(dir: &Path, model: &str, inputs: &str) -> Result<String, String> {
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let labels = model
        .trim_end_matches(".scnt")
        .trim_end_matches("-int8")
        .trim_end_matches("-dsp")
        .trim_end_matches("-wide")
        .to_string()
        + "-y.npy";
    let env = [
        ("SCRATCHNET_USER_MODEL", path(model)),
        ("SCRATCHNET_USER_INPUTS", path(inputs)),
        ("SCRATCHNET_USER_LABELS", path(&labels)),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    BOARDS[0].run_firmware(&["tflite", "wide"], &["--bin", "user"], &env)
}

/// Runs one blob with its inputs and labels; returns (instructions, flash, agreement).
fn run(dir: &Path, model: &str, inputs: &str) -> Result<(f64, String, String), String> {
    let out = run_user(dir, model, inputs)?;
    let get = |key: &str| crate::peers::field(&out, key);
    let instructions = get("instructions_per_inference")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{model}: no cost line"))?;
    Ok((
        instructions,
        get("flash_bytes").unwrap_or_default(),
        get("agreement with the host:").unwrap_or_default(),
    ))
}

/// Runs the host example `name` with `dir` as its argument (it writes its files there).
pub(crate) fn host_example(name: &str, dir: &Path) -> Result<(), String> {
    crate::run(
        &crate::root(),
        "cargo",
        &[
            "run",
            "--release",
            "-p",
            "scratchnet-host",
            "--example",
            name,
            "--",
            &dir.to_string_lossy(),
        ],
    )
}

/// Writes the benchmark's files (the host example) into `target/dense`; returns the folder.
pub(crate) fn write_files() -> Result<PathBuf, String> {
    let dir = crate::root().join("target").join("dense");
    host_example("dense_bench", &dir)?;
    Ok(dir)
}

pub fn dense() -> Result<(), String> {
    crate::setup(crate::Needs::DEMO)?;
    let dir = write_files()?;
    let mut rows = Vec::new();
    type Run = (f64, String, String);
    let mut line = |name: String, macs: usize, runs: [Run; 4]| {
        let cells: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.0} | {:.2} | {}", r.0, r.0 / macs as f64, r.2))
            .collect();
        rows.push(format!("| {name} | {macs} | {} |", cells.join(" | ")));
    };
    // The four forms of a model, as the example writes them.
    let forms = |name: &str| {
        let x8 = format!("{name}-x8.npy");
        Ok::<_, String>([
            run(&dir, &format!("{name}.scnt"), &format!("{name}-x.npy"))?,
            run(&dir, &format!("{name}-int8.scnt"), &x8)?,
            run(&dir, &format!("{name}-dsp.scnt"), &x8)?,
            run(&dir, &format!("{name}-wide.scnt"), &x8)?,
        ])
    };
    let total: usize = SHAPE.windows(2).map(|w| w[0] * w[1]).sum();
    let whole = forms("dense")?;
    let flash: Vec<String> = whole.iter().map(|r| r.1.clone()).collect();
    line(
        "whole model (10 layers, ReLU but the last)".into(),
        total,
        whole,
    );
    for (k, w) in SHAPE.windows(2).enumerate() {
        line(
            format!("layer {} alone ({} → {})", k + 1, w[0], w[1]),
            w[0] * w[1],
            forms(&format!("layer{}", k + 1))?,
        );
    }
    out!(
        "\n| model | multiply-adds | f32 instructions | f32 per MAC | f32 classes = host | int8 instructions | int8 per MAC | int8 classes = host | int8 in pairs | per MAC | classes = host | int8 as halfwords | per MAC | classes = host |"
    );
    out!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        out!("{r}");
    }
    out!(
        "\nwhole-model firmware flash: f32 {} B, int8 {} B, int8 in pairs {} B, int8 as halfwords {} B (QEMU mps2-an386, `user` binary)",
        flash[0],
        flash[1],
        flash[2],
        flash[3]
    );
    Ok(())
}
