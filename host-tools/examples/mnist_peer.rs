//! Writes the book's MNIST network and test set for the peers' f32 harness
//! (`peers/mnist_f32.c`, run by `cargo xtask peers`): `mnist.h` (each layer's weights as
//! `inputs × outputs`, the book's and emlearn's layout, and transposed, CMSIS-NN's and
//! CMSIS-DSP's; the biases) and the raw files the harness reads over semihosting:
//! `images.u8` (10 000 × 784 pixels), `labels.u8`, and `reference.u8` (numpy's predictions).
//!
//! `cargo run -p scratchnet-host --example mnist_peer -- OUT_DIR`

use scratchnet_host::assets::{book_layer, c_floats, find, test_set};
use scratchnet_host::data;
use scratchnet_host::pickle::read_arrays;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "mnist".into()));
    if let Err(e) = run(&out) {
        eprintln!("mnist_peer: {e}");
        std::process::exit(1);
    }
}

fn run(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let here = std::env::current_dir().map_err(|e| e.to_string())?;
    let pickle = std::fs::read(find(&here, data::WEIGHTS)?).map_err(|e| e.to_string())?;
    let arrays = read_arrays(&pickle).map_err(|e| e.to_string())?;
    let set = test_set(&here)?;
    let reference = set
        .reference
        .ok_or("numpy's predictions (reference_predictions.u8) are needed")?;
    let mut h = String::from(
        "/* Written by host-tools/examples/mnist_peer.rs: do not edit. */\n#define LAYERS 3\n",
    );
    let mut table = String::from("static const struct layer layers[LAYERS] = {\n");
    for k in 1..=3 {
        let (w, b, inputs, outputs) = book_layer(&arrays, k)?;
        h.push_str(&c_floats(&format!("w{k}"), &w.data));
        let t: Vec<f32> = (0..outputs)
            .flat_map(|j| (0..inputs).map(move |i| (i, j)))
            .map(|(i, j)| w.data[i * outputs + j])
            .collect();
        h.push_str(&c_floats(&format!("wt{k}"), &t));
        h.push_str(&c_floats(&format!("b{k}"), &b.data));
        let _ = writeln!(table, "    {{{inputs}, {outputs}, w{k}, wt{k}, b{k}}},");
    }
    table.push_str("};\n");
    let _ = writeln!(
        h,
        "struct layer {{ int in, out; const float *w, *wt, *b; }};\n{table}#define COUNT {}\n#define MACS {}",
        set.images.len(),
        784 * 50 + 50 * 100 + 100 * 10
    );
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes).map_err(|e| format!("{name}: {e}"))
    };
    write("mnist.h", h.as_bytes())?;
    let images: Vec<u8> = set.images.iter().flatten().copied().collect();
    write("images.u8", &images)?;
    write("labels.u8", &set.labels)?;
    write("reference.u8", &reference)?;
    // A report only: a closed stdout is not an error.
    let _ = writeln!(
        std::io::stdout(),
        "wrote {}: mnist.h, images.u8, labels.u8, reference.u8",
        out.display()
    );
    Ok(())
}
