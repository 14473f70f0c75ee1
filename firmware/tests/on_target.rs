//! On-target tests, run in QEMU by `cargo test --release` (defmt-test): the same values the
//! host tests assert, computed by the emulated core (every board: `cargo xtask test`). The
//! f32 model's tests run by default, the int8 model's with `--features int8` (both models
//! and the test code do not fit the M0 board's 256 KiB together).
#![no_std]
#![no_main]

use scratchnet_firmware as _;

/// The value, or a test failure naming the error with defmt (an `unwrap` would format it
/// with `core::fmt`, whose float printing alone is 20 KB: the M0 board's flash is 256 KiB).
fn ok<T>(r: scratchnet::Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => defmt::panic!("{}", e),
    }
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

/// Images whose logits are compared with the host's: every test image wherever a board's
/// kernels differ from the host's code (the `VMLA` and `SMLAD` routines on the FPU/DSP
/// boards, the int8 `MULS` routine on M0 and M3), the first 100 for the f32 model on M0
/// and M3, which run the host's portable code (in soft float, 10 000 images would take
/// minutes).
const LOGIT_IMAGES: usize = if cfg!(any(target_abi = "eabihf", feature = "int8")) {
    10_000
} else {
    100
};

/// `logits(image)` for each of the first [`LOGIT_IMAGES`] images equals the host's (read
/// from `host`, 10 little-endian f32 an image), bit for bit.
#[allow(dead_code)] // one of the two model features uses it
fn logits_equal(host: &core::ffi::CStr, logits: impl Fn(&[u8; 784]) -> [f32; 10]) {
    let Some(mut want_file) = scratchnet_firmware::HostFile::open(host) else {
        defmt::panic!("cannot read the host's logits")
    };
    let mut want = [0u8; 40];
    let read = scratchnet_firmware::for_first_images(LOGIT_IMAGES, |n, img| {
        defmt::assert!(
            want_file.read_exact(&mut want),
            "the host's logits end at {}",
            n
        );
        for (k, (g, w)) in logits(img).iter().zip(want.chunks_exact(4)).enumerate() {
            let w = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            defmt::assert_eq!(g.to_bits(), w.to_bits(), "image {} logit {}", n, k);
        }
    });
    defmt::assert!(read, "cannot read the test images from the host");
    defmt::println!("logits equal to the host's on {} images", LOGIT_IMAGES);
}

/// Xorshift32 from `seed`: the tests' pseudo-random weights and inputs.
fn xorshift(mut seed: u32) -> impl FnMut() -> u32 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    }
}

/// The one layer of a blob of `spec` written into `buf` (4-byte aligned).
#[cfg(any(feature = "int8", feature = "tflite"))]
fn one_layer<'b>(spec: scratchnet::LayerSpec<'_>, buf: &'b mut [u8]) -> scratchnet::ModelLayer<'b> {
    let n = ok(scratchnet::encode(&[spec], buf));
    let model = ok(scratchnet::Model::from_bytes(&buf[..n]));
    match model.layer(0) {
        Some(layer) => layer,
        None => defmt::panic!("no layer"),
    }
}

/// The int8 kernel on target against a plain dot product, for an `inputs × outputs` layer
/// (at most 784 × 128, 4 608 weights) with pseudo-random weights (extremes included) and
/// inputs (zero groups, a partial last group): with scale 255 and bias 0 a layer's value is
/// its integer sum exactly. Run as a one-layer `Model` (`logits_u8`: the same `Raw::affine`
/// as a typed `QDense`), shapes at run time: one copy of the code for every shape (a copy a
/// shape took the M0's test build past its 256 KiB of flash).
fn int8_sums_are_exact(inputs: usize, outputs: usize) {
    int8_sums_in(inputs, outputs, scratchnet::I8Form::Rows);
}

/// As [`int8_sums_are_exact`], the layer stored as `form` (rows, input pairs, halfwords).
/// (Out of line: each call's buffer in a frame of its own, for the M0's 16 KiB of RAM.)
#[inline(never)]
fn int8_sums_in(inputs: usize, outputs: usize, form: scratchnet::I8Form) {
    let mut blob = scratchnet_firmware::Aligned([0u8; 5120]);
    int8_sums_with(inputs, outputs, form, &mut blob.0);
}

/// As [`int8_sums_in`], the blob written into `blob` (4-byte aligned).
#[inline(never)]
fn int8_sums_with(inputs: usize, outputs: usize, form: scratchnet::I8Form, blob: &mut [u8]) {
    int8_sums_of(inputs, outputs, form, blob, Inputs::Mixed);
}

/// The inputs of an [`int8_sums_of`] case.
#[derive(Clone, Copy, PartialEq)]
enum Inputs {
    /// 0, 255 and others in turn, 4..8 zero (a skipped group).
    Mixed,
    /// Every input non-zero.
    #[cfg_attr(feature = "dsp", allow(dead_code))]
    Dense,
    /// Every input non-zero but the eight at multiples of `inputs / 8` (where the
    /// output-pairs kernel looks for zeros: a sparse input, for its listing path).
    #[cfg_attr(feature = "dsp", allow(dead_code))]
    SampledZero,
}

/// As [`int8_sums_with`], with the inputs `kind`.
#[inline(never)]
fn int8_sums_of(
    inputs: usize,
    outputs: usize,
    form: scratchnet::I8Form,
    blob: &mut [u8],
    kind: Inputs,
) {
    let mut next = xorshift(0x1234_5678u32 ^ (inputs * 131 + outputs) as u32);
    let mut q = [0i8; 4608];
    let q = &mut q[..inputs * outputs];
    // In input pairs an output's Σ|q| is at most PAIR_SUM_LIMIT: past 259 inputs, weights
    // within ±31 but for a few extremes.
    let small = form == scratchnet::I8Form::Pairs && inputs > 259;
    for (k, v) in q.iter_mut().enumerate() {
        *v = match k % 7 {
            0 if !small || k % 49 == 0 => 127,
            1 if !small || k % 49 == 1 => -127,
            _ if small => next() as i8 >> 2,
            _ => next() as i8,
        }
        .max(-127);
    }
    let mut x = [0u8; 784];
    let x = &mut x[..inputs];
    for (i, v) in x.iter_mut().enumerate() {
        // Inputs 4..8 stay zero (a skipped group); the rest mix 0, 255 and others.
        let step = (inputs / 8).max(1);
        *v = match kind {
            Inputs::SampledZero if i % step == 0 && i < 8 * step => 0,
            Inputs::Dense | Inputs::SampledZero => [255, 1, (next() as u8).max(1)][i % 3],
            Inputs::Mixed if (4..8).contains(&i) => 0,
            Inputs::Mixed => [0, 255, next() as u8][i % 3],
        };
    }
    let spec = scratchnet::LayerSpec {
        shape: scratchnet::Shape {
            inputs: inputs as u32,
            outputs: outputs as u32,
        },
        activation: scratchnet::Activation::Identity,
        weights: scratchnet::Weights::I8 {
            values: q,
            scales: &[255.0; 128][..outputs],
            input_divisor: 255.0,
            output_divisor: 255.0,
            form,
        },
        biases: &[0.0; 128][..outputs],
    };
    let n = ok(scratchnet::encode(&[spec], blob));
    let model = ok(scratchnet::Model::from_bytes(&blob[..n]));
    let mut got = [0.0f32; 128];
    let got = &mut got[..outputs];
    ok(model.logits_u8(x, &mut [], got));
    for (j, g) in got.iter().enumerate() {
        let want: i32 = (0..inputs)
            .map(|i| i32::from(x[i]) * i32::from(q[j * inputs + i]))
            .sum();
        defmt::assert_eq!(*g, want as f32, "{}x{} output {}", inputs, outputs, j);
    }
}

/// Output pairs on an `inputs × outputs` layer with the inputs `kind`.
#[cfg(all(feature = "int8", not(feature = "dsp")))]
#[inline(never)]
fn int8_out_pairs(inputs: usize, outputs: usize, kind: Inputs) {
    let mut blob = scratchnet_firmware::Aligned([0u8; 5120]);
    int8_sums_of(
        inputs,
        outputs,
        scratchnet::I8Form::OutputPairs,
        &mut blob.0,
        kind,
    );
}

/// Input pairs at their limit on target: a 260 × 3 layer whose outputs 0 and 1 have
/// `Σ|q|` = `PAIR_SUM_LIMIT` (259 weights ±127 and one ±3), every input 255: the sums
/// ±255·32 896 = ±8 388 480, the pairs kernel's widest (its odd output recovered from the
/// low 24 bits of 256·O), exact against the plain dot product for both signs.
#[cfg(feature = "dsp")]
#[inline(never)]
fn int8_pairs_at_their_limit() {
    const IN: usize = 260;
    for sign in [1i8, -1] {
        let mut q = [0i8; 3 * IN];
        for (k, v) in q.iter_mut().enumerate() {
            let (j, i) = (k / IN, k % IN);
            *v = match j {
                2 => (i % 5) as i8 - 2,
                _ if i == 100 + j => 3 * sign,
                _ => 127 * sign,
            };
        }
        let x = [255u8; IN];
        let spec = scratchnet::LayerSpec {
            shape: scratchnet::Shape {
                inputs: IN as u32,
                outputs: 3,
            },
            activation: scratchnet::Activation::Identity,
            weights: scratchnet::Weights::I8 {
                values: &q,
                scales: &[255.0; 3],
                input_divisor: 255.0,
                output_divisor: 255.0,
                form: scratchnet::I8Form::Pairs,
            },
            biases: &[0.0; 3],
        };
        let mut blob = scratchnet_firmware::Aligned([0u8; 1152]);
        let n = ok(scratchnet::encode(&[spec], &mut blob.0));
        let model = ok(scratchnet::Model::from_bytes(&blob.0[..n]));
        let mut got = [0.0f32; 3];
        ok(model.logits_u8(&x, &mut [], &mut got));
        for (j, g) in got.iter().enumerate() {
            let want: i32 = (0..IN).map(|i| 255 * i32::from(q[j * IN + i])).sum();
            defmt::assert_eq!(*g, want as f32, "output {}", j);
        }
        defmt::assert_eq!(got[1], f32::from(sign) * 8_388_480.0);
    }
}

/// A sigmoid or ReLU int8 layer's u8 outputs on target (on FPU cores by the requantization
/// routine; on M0/M3 the sigmoid in integers, ReLU in f32) against the formula computed
/// here in plain Rust on the value `A = Σ·fl(s/255) + B`: `sigmoid_u8(A)` (the public
/// function and its table), or `roundf(max(A, 0)·d_out)` saturated (`d_out` = 32, so that
/// `A·32` is exact). A 40 × 61 layer with pseudo-random weights and inputs, per-output
/// scales from 0.005 to 0.1, over 24 copies of the layer: 12 with biases stepped so that
/// the values run from far below the outputs' range to far above it (both ends reached,
/// checked), 12 with each bias chosen to put its value on a boundary — the sigmoid
/// table's `−8 + k/32`, ReLU's halves `(m + ½)/32` — where one rounding more or less
/// changes the output (a fused multiply-add in place of the two roundings fails here).
#[cfg(feature = "int8")]
fn int8_activation_is_the_formula(activation: scratchnet::Activation) {
    const IN: usize = 40;
    const OUT: usize = 61;
    let relu = activation == scratchnet::Activation::Relu;
    let d_out = if relu { 32.0 } else { 255.0 };
    let mut next = xorshift(0x51f1_5eed);
    let mut q = [0i8; IN * OUT];
    for v in q.iter_mut() {
        *v = (next() as i8).max(-127);
    }
    let mut x = [0u8; IN];
    for (i, v) in x.iter_mut().enumerate() {
        *v = if i % 5 == 0 { 0 } else { next() as u8 };
    }
    let mut scales = [0.0f32; OUT];
    for (j, s) in scales.iter_mut().enumerate() {
        *s = 0.005 + 0.095 * (j as f32 / (OUT - 1) as f32);
    }
    let sum = |j: usize| -> i32 {
        (0..IN)
            .map(|i| i32::from(x[i]) * i32::from(q[j * IN + i]))
            .sum()
    };
    let (mut low, mut high) = (0, 0);
    for step in 0..24 {
        let mut biases = [0.0f32; OUT];
        for (j, b) in biases.iter_mut().enumerate() {
            *b = if step < 12 {
                -9.0 + 1.5 * step as f32 + (j % 4) as f32 * 0.37
            } else {
                let k = (j * 7 + step * 61) % 512;
                let edge = if relu {
                    (k / 2) as f32 / 32.0 + 1.0 / 64.0
                } else {
                    -8.0 + k as f32 / 32.0
                };
                edge - sum(j) as f32 * (scales[j] / 255.0)
            };
        }
        let spec = scratchnet::LayerSpec {
            shape: scratchnet::Shape {
                inputs: IN as u32,
                outputs: OUT as u32,
            },
            activation,
            weights: scratchnet::Weights::I8 {
                values: &q,
                scales: &scales,
                input_divisor: 255.0,
                output_divisor: d_out,
                form: scratchnet::I8Form::Rows,
            },
            biases: &biases,
        };
        let mut blob = scratchnet_firmware::Aligned([0u8; 3072]);
        let first = one_layer(spec, &mut blob.0);
        let layer = ok(scratchnet::QDense::<IN, OUT>::from_layer(&first, 0));
        let mut got = [0u8; OUT];
        layer.forward_u8(&x, &mut got);
        for (j, g) in got.iter().enumerate() {
            let a = sum(j) as f32 * (scales[j] / 255.0) + biases[j];
            let want = if relu {
                // `as` saturates: past 255 gives 255.
                libm::roundf(if a > 0.0 { a } else { 0.0 } * d_out) as u8
            } else {
                scratchnet::sigmoid_u8(a)
            };
            defmt::assert_eq!(*g, want, "step {} output {}: value {}", step, j, a);
            let (bottom, top) = if relu {
                (0.0, 255.5 / 32.0)
            } else {
                (-8.0, 8.0)
            };
            low += usize::from(a < bottom);
            high += usize::from(a >= top);
        }
    }
    defmt::assert!(low > 0 && high > 0, "the values did not reach both ends");
}

/// The int8 kernel with signed inputs (TFLite's layers) against a plain dot product, for
/// an `IN × OUT` layer (stored as halfwords if `wide`) with pseudo-random weights and inputs
/// (−128, 127 and 0 at every byte of a word, a zero group): with multiplier 2³⁰ and shift `n` a layer's output is
/// `clamp(MBQM(sum, 2³⁰, n))`, computed here from the plain sum by the same public function.
#[cfg(feature = "tflite")]
// (Out of line: each call's buffers in a frame of their own, for the M0's 16 KiB of RAM.)
#[inline(never)]
fn s8_sums_are_exact<const IN: usize, const OUT: usize>(n: i32, wide: bool) {
    let mut next = xorshift(0x9e37_79b9u32 ^ (IN * 131 + OUT) as u32);
    let mut q = [0i8; 4096];
    let q = &mut q[..IN * OUT];
    for v in q.iter_mut() {
        *v = (next() as i8).max(-127);
    }
    let mut x = [0i8; IN];
    for (i, v) in x.iter_mut().enumerate() {
        if !(4..8).contains(&i) {
            *v = [0, -128, 127, next() as i8, next() as i8][i % 5];
        }
    }
    let spec = scratchnet::LayerSpec {
        shape: scratchnet::Shape {
            inputs: IN as u32,
            outputs: OUT as u32,
        },
        activation: scratchnet::Activation::Identity,
        weights: scratchnet::Weights::TfliteI8(scratchnet::TfliteSpec {
            values: q,
            biases: &[0; OUT],
            multipliers: &[1 << 30; OUT],
            shifts: &[n; OUT],
            input_zero_point: 0,
            input_scale: 1.0,
            output_zero_point: 0,
            output_scale: 1.0,
            clamp: (-128, 127),
            activation: scratchnet::TfliteActivation::None,
        }),
        biases: &[],
    };
    // Or stored as halfwords (`TfliteI8Wide`).
    let spec = match (wide, spec.weights) {
        (true, scratchnet::Weights::TfliteI8(t)) => scratchnet::LayerSpec {
            weights: scratchnet::Weights::TfliteI8Wide(t),
            ..spec
        },
        _ => spec,
    };
    let mut blob = scratchnet_firmware::Aligned([0u8; 5120]);
    let first = one_layer(spec, &mut blob.0);
    let layer = ok(scratchnet::tflite::TDense::<IN, OUT>::from_layer(&first, 0));
    let mut got = [0i8; OUT];
    layer.forward_i8(&x, &mut got);
    let mut inside = 0;
    for (j, g) in got.iter().enumerate() {
        let sum: i32 = (0..IN)
            .map(|i| i32::from(x[i]) * i32::from(q[j * IN + i]))
            .sum();
        let want =
            scratchnet::tflite::multiply_by_quantized_multiplier(sum, 1 << 30, n).clamp(-128, 127);
        defmt::assert_eq!(i32::from(*g), want, "{}x{} output {}", IN, OUT, j);
        inside += usize::from(want.abs() < 127);
    }
    // Not every output saturated: the sums were compared, not only their signs.
    defmt::assert!(inside > 0, "{}x{}: every output saturated", IN, OUT);
}

/// A TFLite int8 layer's requantization on target (on Thumb-2 cores by the routine
/// `scratchnet_s8_requant`) against TFLite's `MultiplyByQuantizedMultiplier` computed here
/// by the public function from the plain integer sums: an 8 × 124 layer whose outputs take
/// every shift from −31 to 30 twice, with multipliers 0, 1, 2³⁰, 2³¹ − 1 and
/// pseudo-random ones (each shift with two of them), biases up to ±2²⁰, an output zero
/// point of −7 and a clamp to −100..=90; both ends of the clamp and values inside it
/// reached (checked), and exact halves, which TFLite rounds away from zero (a routine that
/// rounds a negative half up fails here).
#[cfg(feature = "tflite")]
#[inline(never)]
fn s8_requantization_is_tflites() {
    const IN: usize = 8;
    const OUT: usize = 124;
    let mut next = xorshift(0x51ed_270b);
    let mut q = [0i8; IN * OUT];
    for v in q.iter_mut() {
        *v = (next() as i8).max(-127);
    }
    let mut x = [0i8; IN];
    for v in x.iter_mut() {
        *v = next() as i8;
    }
    let (mut b, mut m, mut sh) = ([0i32; OUT], [0i32; OUT], [0i32; OUT]);
    for j in 0..OUT {
        b[j] = (next() as i32) >> 11;
        m[j] = match (j + j / 62) % 5 {
            0 => 0,
            1 => 1,
            2 => 1 << 30,
            3 => i32::MAX,
            _ => (1 << 30) | (next() as i32 & 0x3fff_ffff),
        };
        sh[j] = (j % 62) as i32 - 31;
    }
    // The last four outputs: no weights, multiplier 2³⁰ (so the high multiply gives
    // ⌊(b + 1)/2⌋), and biases and shifts that make it an exact half: −1.5, −1.5, −1.5
    // and 1.5 units of the result, which TFLite rounds away from zero (−2, −2, −2, 2).
    for (k, (bias, shift)) in [(-6, -1), (-12, -2), (-24, -3), (5, -1)]
        .into_iter()
        .enumerate()
    {
        let j = OUT - 4 + k;
        q[j * IN..(j + 1) * IN].fill(0);
        (b[j], m[j], sh[j]) = (bias, 1 << 30, shift);
    }
    let (z, lo, hi) = (-7, -100, 90);
    let spec = scratchnet::LayerSpec {
        shape: scratchnet::Shape {
            inputs: IN as u32,
            outputs: OUT as u32,
        },
        activation: scratchnet::Activation::Identity,
        weights: scratchnet::Weights::TfliteI8(scratchnet::TfliteSpec {
            values: &q,
            biases: &b,
            multipliers: &m,
            shifts: &sh,
            input_zero_point: 0,
            input_scale: 1.0,
            output_zero_point: z,
            output_scale: 1.0,
            clamp: (lo as i8, hi as i8),
            activation: scratchnet::TfliteActivation::None,
        }),
        biases: &[],
    };
    let mut blob = scratchnet_firmware::Aligned([0u8; 3584]);
    let first = one_layer(spec, &mut blob.0);
    let layer = ok(scratchnet::tflite::TDense::<IN, OUT>::from_layer(&first, 0));
    let mut got = [0i8; OUT];
    layer.forward_i8(&x, &mut got);
    let (mut low, mut high, mut inside) = (0, 0, 0);
    for (j, g) in got.iter().enumerate() {
        let sum: i32 = (0..IN)
            .map(|i| i32::from(x[i]) * i32::from(q[j * IN + i]))
            .sum();
        let v = scratchnet::tflite::multiply_by_quantized_multiplier(sum + b[j], m[j], sh[j])
            .wrapping_add(z);
        let want = v.clamp(lo, hi);
        defmt::assert_eq!(i32::from(*g), want, "output {} (shift {})", j, sh[j]);
        low += usize::from(v < lo);
        high += usize::from(v > hi);
        inside += usize::from(lo < v && v < hi);
    }
    defmt::assert!(
        low > 0 && high > 0 && inside > 0,
        "{} {} {}",
        low,
        high,
        inside
    );
}

/// Pseudo-random weights, biases and inputs for [`f32_kernel_is_the_formula`]: values in
/// (-4, 4) with every exponent down to 2^-12 or so, a third of the inputs zero.
fn f32_case(seed: u32, w: &mut [f32], b: &mut [f32], x: &mut [f32], px: &mut [u8]) {
    let mut next = xorshift(seed);
    let mut value = move || {
        let r = next();
        let m = (r >> 8) as f32 / 16_777_216.0;
        let v = m * 4.0 / (1 << ((r >> 4) & 0xf).min(12)) as f32;
        if r & 1 == 0 { v } else { -v }
    };
    w.iter_mut().chain(b.iter_mut()).for_each(|v| *v = value());
    for (i, (v, p)) in x.iter_mut().zip(px.iter_mut()).enumerate() {
        if i % 3 != 1 {
            *v = value();
            *p = (value().to_bits() >> 9) as u8 | 1;
        }
    }
}

/// `got[j]` is the plain formula `(…(0 + x(0)·W[0][j]) + x(1)·W[1][j] …) + b[j]` over every
/// input, zeros included, bit for bit (one copy for every shape: the M0's flash is small).
fn f32_formula(w: &[f32], b: &[f32], x: &dyn Fn(usize) -> f32, got: &[f32], inputs: usize) {
    let outputs = b.len();
    for (j, g) in got.iter().enumerate() {
        let mut s = 0.0f32;
        for i in 0..inputs {
            s += x(i) * w[i * outputs + j];
        }
        let want = s + b[j];
        defmt::assert_eq!(
            g.to_bits(),
            want.to_bits(),
            "{}x{} output {}",
            inputs,
            outputs,
            j
        );
    }
}

/// The f32 kernel on target (`VMLA` on FPU cores, plain Rust elsewhere) against the plain
/// formula for an `IN × OUT` layer: f32 inputs and u8 pixels.
fn f32_kernel_is_the_formula<const IN: usize, const OUT: usize>() {
    let mut w = [[0.0f32; OUT]; IN];
    let mut b = [0.0f32; OUT];
    let mut x = [0.0f32; IN];
    let mut px = [0u8; IN];
    let seed = 0x9e37_79b9u32 ^ (IN * 977 + OUT) as u32;
    f32_case(seed, w.as_flattened_mut(), &mut b, &mut x, &mut px);
    let layer = scratchnet::Dense::new(&w, &b, scratchnet::Activation::Identity);
    // NaN to start, then each result in turn: the kernel must not read what `got` holds.
    let mut got = [f32::NAN; OUT];
    layer.affine(&x, &mut got);
    f32_formula(w.as_flattened(), &b, &|i| x[i], &got, IN);
    layer.affine_pixels(&px, &mut got);
    f32_formula(
        w.as_flattened(),
        &b,
        &|i| scratchnet::normalize_pixel(px[i]),
        &got,
        IN,
    );
    // Dense f32 inputs (read in place on FPU cores when at most one in eight is zero; the
    // only cores with that path, and the M0's flash has no room for this copy): every
    // input non-zero but x[1] = −0, whose products are added.
    #[cfg(target_abi = "eabihf")]
    for (i, v) in x.iter_mut().enumerate() {
        *v = if i == 1 {
            -0.0
        } else if *v == 0.0 {
            (i as f32 + 1.5) / 7.0
        } else {
            *v
        };
    }
    #[cfg(target_abi = "eabihf")]
    {
        layer.affine(&x, &mut got);
        f32_formula(w.as_flattened(), &b, &|i| x[i], &got, IN);
        // The same through `Layer::logits` into a slot the layer writes whole (not zeroed
        // first: NaNs there to start).
        let mut slot = core::mem::MaybeUninit::new([f32::NAN; OUT]);
        let got = scratchnet::Layer::logits(&layer, &x, &mut slot);
        f32_formula(w.as_flattened(), &b, &|i| x[i], got, IN);
    }
}

#[defmt_test::tests]
mod tests {
    use super::{close, f32_kernel_is_the_formula, int8_sums_are_exact, logits_equal, ok};
    use scratchnet::{Activation, Dense, Error, Model, Network};

    /// The board table's SysTick rate (`SCRATCHNET_TICK_INSTRUCTIONS`) is this board's: a
    /// loop of exactly 200 000 instructions (100 000 × `subs`, `bne`) measures 200 000 to
    /// within one tick. Every cost line depends on it.
    #[test]
    fn systick_counts_instructions() {
        let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
        scratchnet_firmware::cost::start(&mut syst);
        let ((), ticks) = scratchnet_firmware::cost::ticks(|| {
            // SAFETY: a counting loop on r0 alone; no memory, no stack.
            unsafe {
                core::arch::asm!(
                    "2:",
                    "subs r0, #1",
                    "bne 2b",
                    inout("r0") 100_000u32 => _,
                    options(nomem, nostack)
                );
            }
        });
        let (num, den) = scratchnet_firmware::cost::INSTRUCTIONS_PER_TICK;
        let measured = ticks * num / den;
        defmt::assert!(
            measured.abs_diff(200_000) <= num / den + 8,
            "{} ticks = {} instructions, not 200 000: fix this board's tick in xtask/src/boards.rs",
            ticks,
            measured
        );
    }

    #[test]
    fn gate_truth_tables() {
        let t = scratchnet::TRUTH_TABLE_INPUTS;
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::and(a, b)),
            [false, false, false, true]
        );
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::nand(a, b)),
            [true, true, true, false]
        );
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::or(a, b)),
            [false, true, true, true]
        );
        defmt::assert_eq!(
            t.map(|[a, b]| scratchnet::xor(a, b)),
            [false, true, true, false]
        );
    }

    #[test]
    fn learning_rule_epochs() {
        let rule = scratchnet::LearningRule::default();
        let p = scratchnet::Perceptron::new([0.0; 2], 0.0);
        let epochs = |g| {
            rule.train(p, &scratchnet::gate_examples(g))
                .map(|t| t.epochs)
        };
        defmt::assert_eq!(epochs(scratchnet::and), Ok(6));
        defmt::assert_eq!(epochs(scratchnet::or), Ok(4));
        defmt::assert_eq!(epochs(scratchnet::nand), Ok(4));
        defmt::assert!(epochs(scratchnet::xor).is_err());
    }

    #[test]
    fn softmax_values() {
        let mut a = [0.3, 2.9, 4.0];
        scratchnet::softmax(&mut a);
        defmt::assert!(close(a[0], 0.018_211_27, 1e-6));
        defmt::assert!(close(a[1], 0.245_191_81, 1e-6));
        defmt::assert!(close(a[2], 0.736_596_9, 1e-6));
        let mut b = [1010.0, 1000.0, 990.0];
        scratchnet::softmax(&mut b);
        defmt::assert!(b.iter().all(|v| v.is_finite()));
        defmt::assert!(close(b[1], 4.539_787e-5, 1e-9));
        defmt::assert_eq!(scratchnet::sigmoid(0.0), 0.5);
    }

    #[test]
    #[cfg(not(feature = "int8"))]
    fn the_exponentials_are_the_hosts() {
        // exp_table (the sigmoid's) and exp_nonpositive (the softmax's) over 70 657 inputs
        // spread over every f32 and dense in their cold paths' ranges: the same bits as on
        // the host (soft-float library calls on M0 and M3, the FPU elsewhere).
        defmt::assert_eq!(
            scratchnet::math::exp_fingerprint(),
            scratchnet_firmware::host_paths::EXP_FINGERPRINT
        );
    }

    #[test]
    #[cfg(all(not(feature = "int8"), target_abi = "eabihf"))]
    fn the_softmax_is_the_hosts() {
        // softmax over 4 779 layers of 16 values spread over every binade and dense where
        // the FPU cores' routine hands values to Rust: the same bits as on the host.
        defmt::assert_eq!(
            scratchnet::softmax_fingerprint(),
            scratchnet_firmware::host_paths::SOFTMAX_FINGERPRINT
        );
    }

    #[test]
    #[cfg(all(not(feature = "int8"), target_abi = "eabihf"))]
    fn the_sigmoid_layers_are_the_hosts() {
        // Activation::Sigmoid over 71 680 inputs spread over every f32 and dense where the
        // exponential leaves its main path: the same bits as on the host, from the FPU
        // cores' routine. (On M0 and M3 a sigmoid layer is the Rust `sigmoid` over
        // `exp_table`, whose bits the test above checks; the M0's flash has no room here.)
        defmt::assert_eq!(
            scratchnet::sigmoid_fingerprint(),
            scratchnet_firmware::host_paths::SIGMOID_FINGERPRINT
        );
    }

    #[test]
    #[cfg(feature = "int8")]
    fn the_sigmoid_index_routine_is_the_estimate() {
        // Thumb-1 cores only (M0): the assembly's indices against the Rust estimate's on
        // 20 000 hidden outputs (the 10 000 test images' logits check it on real layers).
        match scratchnet::sigmoid_index_check(20_000) {
            Some((wrong, decided)) => {
                defmt::println!("{=u32} of 20000 decided by the routine", decided);
                defmt::assert_eq!(wrong, 0);
                // The rest (no constants, |Σ| ≥ 2²⁰, values past the table's ends, near a
                // step's edge) are the Rust code's: about 28 % of these random outputs.
                defmt::assert!(decided > 10_000, "the routine decided only {}", decided);
            }
            None => defmt::println!("no sigmoid index routine on this core"),
        }
    }

    #[test]
    fn the_books_toy_network() {
        static W1: [[f32; 3]; 2] = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]];
        static W2: [[f32; 2]; 3] = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]];
        static W3: [[f32; 2]; 2] = [[0.1, 0.3], [0.2, 0.4]];
        let net = Network::new((
            Dense::new(&W1, &[0.1, 0.2, 0.3], Activation::Sigmoid),
            Dense::new(&W2, &[0.1, 0.2], Activation::Sigmoid),
            Dense::new(&W3, &[0.1, 0.2], Activation::Identity),
        ));
        let y = net.predict(&[1.0, 0.5]);
        defmt::assert!(close(y[0], 0.316_827_1, 1e-6), "{}", y);
        defmt::assert!(close(y[1], 0.696_279_1, 1e-6), "{}", y);
    }

    #[test]
    #[cfg(not(feature = "int8"))]
    fn first_100_images_match_numpy() {
        use scratchnet_firmware::{FIRST100_REFERENCE, MODEL};
        if !scratchnet_firmware::host_paths::HAVE_REFERENCE {
            defmt::println!("skipped: no reference_predictions.u8 in the data folder");
            return;
        }
        let net = ok(scratchnet::Mnist::from_blob(&MODEL.0));
        let read = scratchnet_firmware::for_first_images(100, |n, img| {
            let c = net.classify_pixels(img);
            defmt::assert_eq!(c.class, usize::from(FIRST100_REFERENCE[n]), "image {}", n);
        });
        defmt::assert!(read);
    }

    #[test]
    #[cfg(not(feature = "int8"))]
    fn f32_logits_equal_the_hosts() {
        // The same core, the same operations in the same order: the device's f32 logits
        // are the host's, bit for bit (so the host tests speak for the firmware's math; on
        // M0 and M3 the float operations are the compiler's soft-float routines, IEEE-exact).
        let net = ok(scratchnet::Mnist::from_blob(&scratchnet_firmware::MODEL.0));
        logits_equal(scratchnet_firmware::host_paths::F32_LOGITS, |img| {
            net.logits_pixels(img)
        });
    }

    #[test]
    #[cfg(feature = "int8")]
    fn int8_kernel_equals_the_hosts_portable_kernel() {
        // The integer sums are exact and the f32 steps after them are the same operations
        // in the same order, so the board's kernel (SMLAD, MULS or portable) gives the host's logits.
        let net = ok(scratchnet::QMnist::from_blob(
            &scratchnet_firmware::MODEL_INT8.0,
        ));
        logits_equal(scratchnet_firmware::host_paths::INT8_LOGITS, |img| {
            net.logits_pixels(img)
        });
    }

    #[test]
    fn int8_kernel_on_odd_shapes() {
        // Five outputs a sweep: 103 and 53 move the last window back, 3 is too few (plain
        // loop), 103 is more than the 100 sums one call of the routine for cores without
        // DSP instructions computes, 103 and 53 more than the 40 of the DSP routines; 7,
        // 50, 13 and 130 inputs end in a partial group, 784, 100 and 128 do not.
        // On a DSP core: 7 inputs (one group of two zero) are listed, 50, 100 and 128 (at
        // most 32 groups: 13, 25, 32) widened to pairs, 784 and 132 (196 and 33 groups)
        // swept in order, 130 (more than 32 groups, a partial one) listed.
        int8_sums_are_exact(7, 103);
        int8_sums_are_exact(13, 3);
        int8_sums_are_exact(50, 53);
        int8_sums_are_exact(784, 5);
        int8_sums_are_exact(100, 10);
        // The paths only the DSP routines have (the M0 board's flash holds the f32 model's
        // tests with five shapes, not eight).
        #[cfg(feature = "dsp")]
        {
            int8_sums_are_exact(128, 8);
            int8_sums_are_exact(130, 5);
            int8_sums_are_exact(132, 6);
        }
    }

    #[test]
    #[cfg(feature = "int8")]
    fn int8_sigmoid_and_relu_layers_on_target() {
        super::int8_activation_is_the_formula(Activation::Sigmoid);
        super::int8_activation_is_the_formula(Activation::Relu);
    }

    #[test]
    #[cfg(feature = "dsp")]
    fn int8_pairs_kernel_on_odd_shapes() {
        // Layers in input pairs (`I8Form::Pairs`) against the plain dot product (the
        // book's 784 × 50 in pairs is the int8 model's first layer on DSP cores, checked
        // on all 10 000 images by `int8_kernel_equals_the_hosts_portable_kernel`). On a DSP
        // core: 5 outputs (three words: a block of three, the last word half padding), 53
        // (27 words: windows of 25 — seven blocks of three, two of two — and 2), 3 (two
        // words: a block of two), 6 and 4; 784 inputs (more non-zero pairs than one list
        // holds), 7 and 13 (a last pair of one input, a partial word), 9 × 2 (a block of
        // one word); the 50-input list made once for both windows of 53 outputs, the
        // 84 × 53's listed again in its second window (40 non-zero pairs: more than one
        // list). DSP cores only: elsewhere the layout runs the plain Rust the host
        // tests check (`input_pairs_are_stored_as_documented_and_give_the_rows_logits`),
        // and the M0's flash has no room for these copies.
        use scratchnet::I8Form::Pairs;
        super::int8_sums_in(7, 5, Pairs);
        super::int8_sums_in(784, 5, Pairs);
        super::int8_sums_in(50, 53, Pairs);
        super::int8_sums_in(13, 3, Pairs);
        super::int8_sums_in(100, 6, Pairs);
        super::int8_sums_in(40, 4, Pairs);
        super::int8_sums_in(9, 2, Pairs);
        super::int8_sums_in(84, 53, Pairs);
        super::int8_pairs_at_their_limit();
    }

    #[test]
    #[cfg(all(feature = "int8", not(feature = "dsp")))]
    fn int8_output_pairs_kernel_on_odd_shapes() {
        // Layers in output pairs (`I8Form::OutputPairs`) against the plain dot product (the
        // book's network in output pairs is the int8 model on M0, checked on all 10 000
        // images by `int8_kernel_equals_the_hosts_portable_kernel`). On a core without DSP
        // the routines `scratchnet_i8_out_pairs` (blocks with three or four real pairs) and
        // `scratchnet_i8_out_pair` (a last block's one or two) over the listed non-zero
        // inputs: 7 × 110 (two groups of blocks, 13 and 1; the last block three pairs), 7 ×
        // 106 (the second group's one block a single pair), 13 × 3 (only the pair routine,
        // twice), 30 × 21, 9 × 70, 50 × 10 (a block and one pair); 270 × 8 and 270 × 3
        // with 262 non-zero inputs (more terms than one list: two windows, the second added
        // to the first's sums, by block and by pair). Dense inputs (every one non-zero:
        // `_dense` routines, no list): 8 × 16, 7 × 21, 13 × 3, 270 × 8 and 270 × 3 (the
        // first turn of four inputs entered at each of its four places), 1 × 9 (one input).
        use super::Inputs::{Dense, SampledZero};
        use scratchnet::I8Form::OutputPairs;
        super::int8_sums_in(7, 110, OutputPairs);
        super::int8_sums_in(7, 106, OutputPairs);
        super::int8_sums_in(13, 3, OutputPairs);
        super::int8_sums_in(30, 21, OutputPairs);
        super::int8_sums_in(9, 70, OutputPairs);
        super::int8_sums_in(50, 10, OutputPairs);
        super::int8_sums_in(1, 9, OutputPairs);
        super::int8_out_pairs(270, 8, SampledZero);
        super::int8_out_pairs(270, 3, SampledZero);
        super::int8_out_pairs(8, 16, Dense);
        super::int8_out_pairs(7, 21, Dense);
        super::int8_out_pairs(13, 3, Dense);
        super::int8_out_pairs(270, 8, Dense);
        super::int8_out_pairs(270, 3, Dense);
    }

    #[test]
    #[cfg(feature = "dsp")]
    fn output_pairs_are_refused_on_dsp_cores() {
        // A DSP core's build has no output-pairs kernel: such a blob is refused as an
        // element type this build does not read, not run.
        let spec = scratchnet::LayerSpec {
            shape: scratchnet::Shape {
                inputs: 3,
                outputs: 2,
            },
            activation: Activation::Identity,
            weights: scratchnet::Weights::I8 {
                values: &[1, -2, 3, 4, 5, -6],
                scales: &[0.5, 0.25],
                input_divisor: 255.0,
                output_divisor: 255.0,
                form: scratchnet::I8Form::OutputPairs,
            },
            biases: &[0.5, -0.5],
        };
        let mut blob = scratchnet_firmware::Aligned([0u8; 256]);
        let n = ok(scratchnet::encode(&[spec], &mut blob.0));
        defmt::assert!(matches!(
            Model::from_bytes(&blob.0[..n]).map(|_| ()),
            Err(Error::UnsupportedElement { layer: 0 })
        ));
    }

    #[test]
    #[cfg(feature = "wide")]
    fn int8_halfword_kernel_on_odd_shapes() {
        // Layers as halfwords (`I8Form::Wide`) against the plain dot product: on a DSP core
        // the routine `scratchnet_w16_blocks`, elsewhere plain Rust. 7 × 5 (a partial group,
        // a partial block), 13 × 3, 40 × 4 (ten groups: a short first turn), 50 × 37, 9 × 70
        // (two windows of outputs); on a DSP core also 300 × 13 (two chunks of inputs) and
        // 784 × 5 (four chunks, with the test's zero group and partial group), whose 13 KB
        // blob the M0's 16 KiB of RAM has no room for.
        use scratchnet::I8Form::Wide;
        super::int8_sums_in(7, 5, Wide);
        super::int8_sums_in(13, 3, Wide);
        super::int8_sums_in(40, 4, Wide);
        super::int8_sums_in(50, 37, Wide);
        super::int8_sums_in(9, 70, Wide);
        #[cfg(feature = "dsp")]
        {
            let mut blob = scratchnet_firmware::Aligned([0u8; 13_312]);
            super::int8_sums_with(300, 13, Wide, &mut blob.0);
            super::int8_sums_with(784, 5, Wide, &mut blob.0);
        }
        // TFLite's layers (signed inputs, sign-extended into the halfwords) as halfwords;
        // 300 × 2 is two chunks of inputs.
        #[cfg(feature = "tflite")]
        {
            super::s8_sums_are_exact::<7, 7>(-8, true);
            super::s8_sums_are_exact::<13, 3>(-9, true);
            #[cfg(feature = "dsp")]
            {
                super::s8_sums_are_exact::<128, 7>(-11, true);
                super::s8_sums_are_exact::<140, 5>(-11, true);
                super::s8_sums_are_exact::<300, 2>(-12, true);
            }
        }
    }

    #[test]
    #[cfg(feature = "tflite")]
    fn s8_requantization_on_target() {
        super::s8_requantization_is_tflites();
    }

    #[test]
    #[cfg(feature = "tflite")]
    fn s8_kernel_on_odd_shapes() {
        // Signed inputs (TFLite's layers), the same shapes' kinds; 600 inputs have more
        // non-zero values than one list of terms holds on the cores without DSP instructions.
        super::s8_sums_are_exact::<7, 7>(-8, false);
        super::s8_sums_are_exact::<13, 3>(-9, false);
        super::s8_sums_are_exact::<50, 53>(-10, false);
        super::s8_sums_are_exact::<600, 6>(-12, false);
        // On a DSP core: 50 and 128 inputs widened to pairs (13 and 32 groups), 600 and
        // 140 swept in order (150 and 35 groups); the last two only there.
        #[cfg(feature = "dsp")]
        {
            super::s8_sums_are_exact::<128, 7>(-11, false);
            super::s8_sums_are_exact::<140, 5>(-11, false);
        }
    }

    #[test]
    fn f32_kernel_on_odd_shapes() {
        // Blocks of 20 columns, then of 10, 8 and 4, and the last few columns; more
        // non-zero inputs than one list of terms holds (16), and fewer. (Few shapes: each
        // is a copy of the kernel, and the M0's flash holds this test binary with 4 KB
        // to spare.)
        f32_kernel_is_the_formula::<7, 7>(); // 4 + 3
        f32_kernel_is_the_formula::<9, 31>(); // 20 + 10 + 1
        f32_kernel_is_the_formula::<18, 58>(); // 2 × 20 + 10 + 8
        f32_kernel_is_the_formula::<25, 44>(); // 2 × 20 + 4, 17 non-zero inputs
        f32_kernel_is_the_formula::<61, 12>(); // 10 + 2, 41 non-zero inputs
    }

    #[test]
    fn a_corrupted_blob_is_refused_not_run() {
        // A small model written here (the books' would not fit the M0 board's RAM as a
        // copy): every check of the loader runs on the device.
        let w = [1.0f32, -2.0, 0.5, 0.25, 3.0, -1.0];
        let spec = [scratchnet::LayerSpec {
            shape: scratchnet::Shape {
                inputs: 3,
                outputs: 2,
            },
            activation: Activation::Softmax,
            weights: scratchnet::Weights::F32(&w),
            biases: &[0.5, -0.5],
        }];
        let mut blob = scratchnet_firmware::Aligned([0u8; 128]);
        let n = ok(scratchnet::encode(&spec, &mut blob.0));
        let copy = &mut blob.0[..n];
        defmt::assert!(Model::from_bytes(copy).is_ok());
        copy[n - 12] ^= 0x10; // one bit of a weight
        let err = Model::from_bytes(copy).map(|_| ()).unwrap_err();
        defmt::assert!(matches!(err, Error::ChecksumMismatch { .. }), "{}", err);
        defmt::assert!(matches!(
            Model::from_bytes(&copy[..n - 4]).map(|_| ()),
            Err(Error::Truncated { .. })
        ));
    }
}
