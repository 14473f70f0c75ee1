//! Writes issue #12's dense benchmark: a model of MLPerf Tiny's anomaly-detection shape
//! (640-128-128-128-128-8-128-128-128-128-640, ReLU but the last layer, 264 192
//! multiply-adds) with random weights from a fixed seed, dense random inputs, and each of
//! its layers alone (for per-layer costs), as f32 and int8 blobs with `.npy` inputs and
//! labels for `cargo xtask demo --model`. `cargo xtask dense` runs it and them.
//!
//! ```text
//! cargo run -p scratchnet-host --example dense_bench -- OUT_DIR
//! ```
//!
//! It also writes `dense.h`, the whole model as C arrays for the peers' harness
//! (`peers/fc_f32.c`, run by `cargo xtask peers`): each layer's weights as `inputs × outputs`
//! (emlearn's layout, and ours) and transposed (CMSIS-NN's and CMSIS-DSP's), biases, the
//! input rows as f32 and the float64 classes.
//!
//! Weights are uniform in ±√(6/fan-in) (He's, so ReLU activations stay near 1), biases in
//! ±0.1; inputs are bytes 1..=255 (none zero: nothing for the kernels to skip), read as
//! `u/255`. Labels are the class (argmax) of a float64 forward pass of the same weights:
//! the device's classes are checked against the host's, and their agreement with float64 is
//! the accuracy line.

use scratchnet::Activation;
use scratchnet_host::assets::c_floats;
use scratchnet_host::convert::{Options, Precision, convert_arrays_with};
use scratchnet_host::npy;
use scratchnet_host::pickle::{Array, ArrayDict};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The layer widths.
const SHAPE: [usize; 11] = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640];
/// Input rows.
const ROWS: usize = 16;

/// xorshift64*: a fixed stream, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [−a, a).
    fn uniform(&mut self, a: f64) -> f32 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((2.0 * u - 1.0) * a) as f32
    }
    /// A byte in 1..=255.
    fn byte(&mut self) -> u8 {
        (self.next() % 255 + 1) as u8
    }
}

/// One layer: `W` (inputs × outputs, row-major) and `b`.
struct Layer {
    inputs: usize,
    outputs: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// The float64 forward pass: ReLU after every layer but the last.
fn forward(layers: &[&Layer], x: &[f32]) -> Vec<f64> {
    let mut v: Vec<f64> = x.iter().map(|&x| f64::from(x)).collect();
    for (k, l) in layers.iter().enumerate() {
        let mut a: Vec<f64> = l.b.iter().map(|&b| f64::from(b)).collect();
        for (i, xi) in v.iter().enumerate() {
            for (j, aj) in a.iter_mut().enumerate() {
                *aj += xi * f64::from(l.w[i * l.outputs + j]);
            }
        }
        if k + 1 < layers.len() {
            a.iter_mut().for_each(|a| *a = a.max(0.0));
        }
        v = a;
    }
    v
}

fn argmax(v: &[f64]) -> u32 {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = j;
        }
    }
    best as u32
}

/// Writes `name`.scnt (f32), `name`-int8.scnt, `name`-dsp.scnt (int8, layers in input pairs
/// where they fit), `name`-wide.scnt (int8 as halfwords), `name`-x.npy (f32 rows), `name`-x8.npy
/// (u8 rows), `name`-y.npy (float64 classes) for `layers` run on `inputs` rows of bytes.
fn write_model(out: &Path, name: &str, layers: &[&Layer], inputs: &[u8]) -> Result<(), String> {
    let width = layers[0].inputs;
    let x: Vec<f32> = inputs.iter().map(|&u| f32::from(u) / 255.0).collect();
    let labels: Vec<u32> = x
        .chunks(width)
        .map(|r| argmax(&forward(layers, r)))
        .collect();
    let mut dict = ArrayDict::default();
    for (k, l) in layers.iter().enumerate() {
        dict.arrays.push((
            format!("W{}", k + 1),
            Array {
                shape: vec![l.inputs, l.outputs],
                data: l.w.clone(),
            },
        ));
        dict.arrays.push((
            format!("b{}", k + 1),
            Array {
                shape: vec![l.outputs],
                data: l.b.clone(),
            },
        ));
    }
    let mut activations = vec![Activation::Relu; layers.len() - 1];
    activations.push(Activation::Identity);
    let mut options = Options {
        activations: Some(activations),
        precision: Precision::F32,
        calibration: None,
    };
    let write = |file: String, bytes: &[u8]| {
        std::fs::write(out.join(&file), bytes).map_err(|e| format!("{file}: {e}"))
    };
    let f32_blob = convert_arrays_with(&dict, &options).map_err(|e| e.to_string())?;
    write(format!("{name}.scnt"), &f32_blob.blob)?;
    options.precision = Precision::Int8;
    options.calibration = Some(x.clone());
    let int8_blob = convert_arrays_with(&dict, &options).map_err(|e| e.to_string())?;
    write(format!("{name}-int8.scnt"), &int8_blob.blob)?;
    // The same with the layers of at least 16 outputs whose sums fit in input pairs.
    options.precision = Precision::Int8Dsp;
    let dsp_blob = convert_arrays_with(&dict, &options).map_err(|e| e.to_string())?;
    write(format!("{name}-dsp.scnt"), &dsp_blob.blob)?;
    // The same int8 model with every weight a halfword (the DSP cores' dense kernel).
    options.precision = Precision::Int8Wide;
    let wide_blob = convert_arrays_with(&dict, &options).map_err(|e| e.to_string())?;
    write(format!("{name}-wide.scnt"), &wide_blob.blob)?;
    let npy_err = |e: npy::NpyError| e.to_string();
    write(
        format!("{name}-x.npy"),
        &npy::write(&x, Some(width)).map_err(npy_err)?,
    )?;
    write(
        format!("{name}-x8.npy"),
        &npy::write(inputs, Some(width)).map_err(npy_err)?,
    )?;
    write(
        format!("{name}-y.npy"),
        &npy::write(&labels, None).map_err(npy_err)?,
    )?;
    Ok(())
}

/// `dense.h`: the model, inputs and float64 classes as C arrays.
fn write_header(out: &Path, layers: &[Layer], inputs: &[u8]) -> Result<(), String> {
    use std::fmt::Write;
    let mut h = String::from("/* Written by host-tools/examples/dense_bench.rs: do not edit. */\n");
    let width = SHAPE[0];
    let x: Vec<f32> = inputs.iter().map(|&u| f32::from(u) / 255.0).collect();
    let all: Vec<&Layer> = layers.iter().collect();
    let classes: Vec<String> = x
        .chunks(width)
        .map(|r| argmax(&forward(&all, r)).to_string())
        .collect();
    let macs: usize = layers.iter().map(|l| l.inputs * l.outputs).sum();
    let _ = writeln!(
        h,
        "#define LAYERS {}\n#define ROWS {ROWS}\n#define IN {width}\n#define OUT {}\n#define MACS {macs}",
        layers.len(),
        SHAPE[SHAPE.len() - 1]
    );
    for (k, l) in layers.iter().enumerate() {
        h.push_str(&c_floats(&format!("w{k}"), &l.w));
        let t: Vec<f32> = (0..l.outputs)
            .flat_map(|j| (0..l.inputs).map(move |i| (i, j)))
            .map(|(i, j)| l.w[i * l.outputs + j])
            .collect();
        h.push_str(&c_floats(&format!("wt{k}"), &t));
        h.push_str(&c_floats(&format!("b{k}"), &l.b));
    }
    let _ = writeln!(
        h,
        "struct layer {{ int in, out; const float *w, *wt, *b; }};"
    );
    let _ = writeln!(h, "static const struct layer layers[LAYERS] = {{");
    for (k, l) in layers.iter().enumerate() {
        let _ = writeln!(h, "    {{{}, {}, w{k}, wt{k}, b{k}}},", l.inputs, l.outputs);
    }
    h.push_str("};\n");
    h.push_str(&c_floats("inputs", &x));
    let _ = writeln!(
        h,
        "static const unsigned short classes[ROWS] = {{{}}};",
        classes.join(", ")
    );
    std::fs::write(out.join("dense.h"), h).map_err(|e| format!("dense.h: {e}"))
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "dense".into()));
    if let Err(e) = run(&out) {
        eprintln!("dense_bench: {e}");
        std::process::exit(1);
    }
}

fn run(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut rng = Rng(0x5eed_0000_0000_0012);
    let layers: Vec<Layer> = SHAPE
        .windows(2)
        .map(|io| {
            let a = (6.0 / io[0] as f64).sqrt();
            Layer {
                inputs: io[0],
                outputs: io[1],
                w: (0..io[0] * io[1]).map(|_| rng.uniform(a)).collect(),
                b: (0..io[1]).map(|_| rng.uniform(0.1)).collect(),
            }
        })
        .collect();
    let all: Vec<&Layer> = layers.iter().collect();
    let inputs: Vec<u8> = (0..ROWS * SHAPE[0]).map(|_| rng.byte()).collect();
    write_model(out, "dense", &all, &inputs)?;
    write_header(out, &layers, &inputs)?;
    for (k, l) in layers.iter().enumerate() {
        let inputs: Vec<u8> = (0..ROWS * l.inputs).map(|_| rng.byte()).collect();
        write_model(out, &format!("layer{}", k + 1), &[l], &inputs)?;
    }
    // A report only: a closed stdout is not an error.
    let _ = writeln!(
        std::io::stdout(),
        "wrote {}: dense(.scnt, -int8.scnt, -dsp.scnt, -wide.scnt, -x.npy, -x8.npy, -y.npy) and layer1 … layer{} the same",
        out.display(),
        layers.len()
    );
    Ok(())
}
