//! Writes the book's MNIST network quantized as TensorFlow Lite's post-training int8
//! quantization would, for CMSIS-NN's int8 harness (`peers/mnist_s8.c`, run by
//! `cargo xtask peers`): `mnist_s8.h`, beside the test set that the `mnist_peer` example
//! writes.
//!
//! - input: pixels `p` as `p − 128` (scale 1/255, zero point −128: the `[0, 1]` input);
//! - each FULLY_CONNECTED layer: per-channel symmetric int8 weights (`s[j] = max|W[:, j]|/127`,
//!   the quantization of `scratchnet convert --quantize int8`), int32 biases at scale
//!   `S_in·s[j]`, an int8 output whose scale and zero point come from the f64 pre-activation
//!   range over the first 1 000 test images (0 included), TFLite Micro's per-channel
//!   multipliers and shifts (`QuantizeMultiplier` of `S_in·s[j]/S_out`);
//! - LOGISTIC (hidden layers): TFLite Micro's int8 logistic, tabulated (256 entries;
//!   output scale 1/256, zero point −128);
//! - SOFTMAX (β = 1): `arm_softmax_s8`'s multiplier, shift and `diff_min` as TFLite Micro's
//!   `Prepare` derives them.
//!
//! `cargo run -p scratchnet-host --example mnist_s8_peer -- OUT_DIR`

use scratchnet::tflite::{logistic_table, quantize_multiplier};
use scratchnet_host::assets::{book_layer, c_ints, find, test_set};
use scratchnet_host::data;
use scratchnet_host::pickle::read_arrays;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Test images whose pre-activations set the activation ranges (the representative set).
const CALIBRATION: usize = 1000;

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "mnist".into()));
    if let Err(e) = run(&out) {
        eprintln!("mnist_s8_peer: {e}");
        std::process::exit(1);
    }
}

/// A layer of the book's network: `inputs × outputs` weights (row-major) and biases.
struct Layer {
    inputs: usize,
    outputs: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// TFLite's asymmetric int8 quantization of the range `[lo, hi]` (widened to hold 0):
/// scale `(hi − lo)/255`, zero point `round(−128 − lo/scale)`.
fn asymmetric(lo: f64, hi: f64) -> (f32, i32) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let scale = ((hi - lo) / 255.0) as f32;
    let zero = (-128.0 - lo / f64::from(scale))
        .round()
        .clamp(-128.0, 127.0) as i32;
    (scale, zero)
}

fn run(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let here = std::env::current_dir().map_err(|e| e.to_string())?;
    let pickle = std::fs::read(find(&here, data::WEIGHTS)?).map_err(|e| e.to_string())?;
    let arrays = read_arrays(&pickle).map_err(|e| e.to_string())?;
    let mut layers = Vec::new();
    for k in 1..=3 {
        let (w, b, inputs, outputs) = book_layer(&arrays, k)?;
        layers.push(Layer {
            inputs,
            outputs,
            w: w.data.clone(),
            b: b.data.clone(),
        });
    }
    let set = test_set(&here)?;

    // Each layer's pre-activation range over the representative images, in f64.
    let mut ranges = vec![(0.0f64, 0.0f64); layers.len()];
    for image in set.images.iter().take(CALIBRATION) {
        let mut x: Vec<f64> = image.iter().map(|&p| f64::from(p) / 255.0).collect();
        for (k, l) in layers.iter().enumerate() {
            let mut a: Vec<f64> = l.b.iter().map(|&b| f64::from(b)).collect();
            for (i, &xi) in x.iter().enumerate() {
                for (j, aj) in a.iter_mut().enumerate() {
                    *aj += xi * f64::from(l.w[i * l.outputs + j]);
                }
            }
            for &v in &a {
                ranges[k] = (ranges[k].0.min(v), ranges[k].1.max(v));
            }
            x = a.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        }
    }

    let mut h = String::from(
        "/* Written by host-tools/examples/mnist_s8_peer.rs: do not edit. */\n#include <stdint.h>\n",
    );
    let mut table = String::new();
    // The input's scale and zero point: pixels/255, then each hidden layer's LOGISTIC output.
    let (mut s_in, mut z_in) = (1.0f32 / 255.0, -128);
    let mut softmax = (0, 0, 0);
    for (k, l) in layers.iter().enumerate() {
        let (s_out, z_out) = asymmetric(ranges[k].0, ranges[k].1);
        let (mut q, mut bias, mut mult, mut shift) = (vec![], vec![], vec![], vec![]);
        for j in 0..l.outputs {
            let column = (0..l.inputs).map(|i| l.w[i * l.outputs + j]);
            let max = column.clone().fold(0.0f32, |m, w| m.max(w.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            q.extend(column.map(|w| (w / s).round().clamp(-127.0, 127.0) as i8));
            let bias_scale = f64::from(s_in) * f64::from(s);
            bias.push((f64::from(l.b[j]) / bias_scale).round() as i32);
            let (m, n) = quantize_multiplier(bias_scale / f64::from(s_out))
                .ok_or(format!("layer {k}: no multiplier"))?;
            mult.push(m);
            shift.push(n);
        }
        h.push_str(&c_ints("int8_t", &format!("w{k}"), &q));
        h.push_str(&c_ints("int32_t", &format!("b{k}"), &bias));
        h.push_str(&c_ints("int32_t", &format!("m{k}"), &mult));
        h.push_str(&c_ints("int32_t", &format!("s{k}"), &shift));
        let _ = writeln!(
            table,
            "    {{{}, {}, w{k}, b{k}, m{k}, s{k}, {}, {z_out}}},",
            l.inputs, l.outputs, -z_in
        );
        if k + 1 < layers.len() {
            let lut = logistic_table(s_out, z_out).ok_or(format!("layer {k}: no logistic"))?;
            h.push_str(&c_ints("int8_t", &format!("logistic{k}"), &lut));
            (s_in, z_in) = (1.0 / 256.0, -128);
        } else {
            // PreprocessSoftmaxScaling(β = 1, scale, 5 integer bits) and
            // −CalculateInputRadius(5, shift), as `scratchnet::tflite::softmax_exps`.
            let real = (f64::from(s_out) * f64::from(1u32 << 26)).min(f64::from(i32::MAX));
            let (m, n) = quantize_multiplier(real).ok_or("softmax: no multiplier")?;
            let diff_min = -((31.0 * f64::from(1u32 << 26) / (1i64 << n) as f64).floor() as i32);
            softmax = (m, n, diff_min);
        }
    }
    let _ = write!(
        h,
        "struct s8_layer {{ int32_t in, out; const int8_t *w; const int32_t *b, *mult, *shift; \
         int32_t input_offset, output_offset; }};\n\
         static const struct s8_layer s8_layers[3] = {{\n{table}}};\n\
         static const int8_t *const logistic[2] = {{logistic0, logistic1}};\n\
         #define SOFTMAX_MULT {}\n#define SOFTMAX_SHIFT {}\n#define SOFTMAX_DIFF_MIN {}\n\
         #define COUNT {}\n#define MACS {}\n",
        softmax.0,
        softmax.1,
        softmax.2,
        set.images.len(),
        784 * 50 + 50 * 100 + 100 * 10
    );
    std::fs::write(out.join("mnist_s8.h"), &h).map_err(|e| format!("mnist_s8.h: {e}"))?;
    // A report only: a closed stdout is not an error.
    let _ = writeln!(std::io::stdout(), "wrote {}: mnist_s8.h", out.display());
    Ok(())
}
