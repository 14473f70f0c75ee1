//! Bring your own MLP: networks of other shapes and activations, written by the test itself
//! as numpy's `.npz` (float32 and float64, plain and compressed) and PyTorch's
//! `.safetensors` (f32, f16, bf16), converted, and run with the core's code against an
//! independent plain forward pass in f64. Bad files are refused by name and nothing is
//! written. (The book's pickle, float64 and every other variant, is covered by
//! `convert::tests`.)

use assert_cmd::Command;
use scratchnet::{Activation, Model};
use scratchnet_host::convert::{AlignedBlob, Options, Precision, Source, convert_file};
use scratchnet_host::npy;
use std::io::Write;

/// A deterministic pseudo-random stream in [-1, 1) (a 64-bit LCG's top bits).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// A network: per layer W (inputs × outputs, row-major, f64) and b.
struct Net {
    sizes: Vec<usize>,
    w: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
}

impl Net {
    fn random(sizes: &[usize], seed: u64) -> Self {
        let mut r = Lcg(seed);
        let (mut w, mut b) = (Vec::new(), Vec::new());
        for p in sizes.windows(2) {
            let scale = (2.0 / p[0] as f64).sqrt();
            w.push((0..p[0] * p[1]).map(|_| r.next() * scale).collect());
            b.push((0..p[1]).map(|_| r.next() * 0.1).collect());
        }
        Self {
            sizes: sizes.to_vec(),
            w,
            b,
        }
    }

    /// The plain forward pass in f64: `h(x·W + b)` layer by layer, activations as named
    /// (softmax last).
    fn forward(&self, x: &[f64], hidden: fn(f64) -> f64) -> Vec<f64> {
        let mut v = x.to_vec();
        let n = self.w.len();
        for k in 0..n {
            let (ins, outs) = (self.sizes[k], self.sizes[k + 1]);
            let mut a: Vec<f64> = (0..outs)
                .map(|j| {
                    (0..ins)
                        .map(|i| v[i] * self.w[k][i * outs + j])
                        .sum::<f64>()
                        + self.b[k][j]
                })
                .collect();
            if k + 1 < n {
                a.iter_mut().for_each(|z| *z = hidden(*z));
            } else {
                let m = a.iter().cloned().fold(f64::MIN, f64::max);
                let s: f64 = a.iter().map(|z| (z - m).exp()).sum();
                a.iter_mut().for_each(|z| *z = (*z - m).exp() / s);
            }
            v = a;
        }
        v
    }

    /// `np.savez`: W1, b1, … as .npy members, f64 or f32; deflated when `compressed`.
    fn npz(&self, f32s: bool, compressed: bool) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let method = if compressed {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for k in 0..self.w.len() {
            let outs = self.sizes[k + 1];
            for (name, values, width) in [
                (format!("W{}", k + 1), &self.w[k], Some(outs)),
                (format!("b{}", k + 1), &self.b[k], None),
            ] {
                let bytes = if f32s {
                    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
                    npy::write(&v, width).unwrap()
                } else {
                    npy::write(values, width).unwrap()
                };
                zip.start_file(format!("{name}.npy"), options).unwrap();
                zip.write_all(&bytes).unwrap();
            }
        }
        zip.finish().unwrap().into_inner()
    }

    /// `save_file(model.state_dict())` of `nn.Sequential(Linear, ReLU, Linear, …)`: weights
    /// outputs × inputs, named `0.weight`, `2.weight`, … in `dtype`.
    fn safetensors(&self, dtype: safetensors::Dtype) -> Vec<u8> {
        let encode = |v: &[f64]| -> Vec<u8> {
            v.iter()
                .flat_map(|&x| match dtype {
                    safetensors::Dtype::F32 => (x as f32).to_le_bytes().to_vec(),
                    safetensors::Dtype::F16 => half::f16::from_f64(x).to_le_bytes().to_vec(),
                    safetensors::Dtype::BF16 => half::bf16::from_f64(x).to_le_bytes().to_vec(),
                    _ => unreachable!(),
                })
                .collect()
        };
        let mut buffers = Vec::new();
        for k in 0..self.w.len() {
            let (ins, outs) = (self.sizes[k], self.sizes[k + 1]);
            let wt: Vec<f64> = (0..outs * ins)
                .map(|m| self.w[k][(m % ins) * outs + m / ins])
                .collect();
            buffers.push((format!("{}.weight", 2 * k), vec![outs, ins], encode(&wt)));
            buffers.push((format!("{}.bias", 2 * k), vec![outs], encode(&self.b[k])));
        }
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = buffers
            .iter()
            .map(|(n, s, d)| {
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(dtype, s.clone(), d).unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }
}

fn relu(x: f64) -> f64 {
    x.max(0.0)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn inputs(n: usize, width: usize, seed: u64) -> Vec<f32> {
    let mut r = Lcg(seed);
    (0..n * width)
        .map(|_| (r.next() * 0.5 + 0.5) as f32)
        .collect()
}

/// The converted model's probabilities on `x` (the core's run-time-shaped `Model`), against
/// the plain f64 pass: within `tolerance` everywhere, and the same class wherever the top
/// two are further apart than that.
fn check(blob: &[u8], net: &Net, hidden: fn(f64) -> f64, x: &[f32], tolerance: f64) {
    let model = Model::from_bytes(blob).unwrap();
    let (ins, outs) = (model.inputs(), model.outputs());
    assert_eq!((ins, outs), (net.sizes[0], *net.sizes.last().unwrap()));
    let mut scratch = vec![0.0; model.scratch_len()];
    let mut same = 0;
    for row in x.chunks_exact(ins) {
        let mut y = vec![0.0; outs];
        model.logits(row, &mut scratch, &mut y).unwrap();
        Activation::Softmax.apply(&mut y);
        let want = net.forward(
            &row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
            hidden,
        );
        for (g, w) in y.iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < tolerance, "{y:?} vs {want:?}");
        }
        let class = scratchnet::Classification::argmax(&y).class;
        let best = (0..outs)
            .max_by(|&a, &b| want[a].total_cmp(&want[b]))
            .unwrap();
        same += usize::from(class == best);
    }
    // Near-ties aside, every row gets the plain pass's class.
    assert!(same >= x.len() / ins - 1, "{same}");
}

#[test]
fn npz_of_float64_and_float32_in_both_layouts() {
    // The book's chapter 5 TwoLayerNet shape (Affine-ReLU-Affine), float64 like numpy's.
    let net = Net::random(&[784, 50, 10], 1);
    let x = inputs(50, 784, 2);
    let relu_softmax = Options {
        activations: Some(vec![Activation::Relu, Activation::Softmax]),
        ..Options::default()
    };
    for (f32s, compressed) in [(false, false), (false, true), (true, false)] {
        let c = convert_file(&net.npz(f32s, compressed), &relu_softmax).unwrap();
        assert_eq!(c.source, Source::Npz);
        assert!(!c.default_activations);
        assert_eq!(
            c.layers.iter().map(|l| l.1).collect::<Vec<_>>(),
            [Activation::Relu, Activation::Softmax]
        );
        check(&c.blob, &net, relu, &x, 1e-5);
    }
    // Without --activations: the book's default, said so (and it is another network).
    let c = convert_file(&net.npz(false, false), &Options::default()).unwrap();
    assert!(c.default_activations);
    assert_eq!(c.layers[0].1, Activation::Sigmoid);
}

#[test]
fn safetensors_of_a_sequential_in_f32_f16_bf16() {
    // Three layers of another input size, ReLU.
    let net = Net::random(&[64, 32, 16, 4], 3);
    let x = inputs(100, 64, 4);
    let options = Options {
        activations: Some(vec![
            Activation::Relu,
            Activation::Relu,
            Activation::Softmax,
        ]),
        ..Options::default()
    };
    let c = convert_file(&net.safetensors(safetensors::Dtype::F32), &options).unwrap();
    assert_eq!(c.source, Source::Safetensors);
    check(&c.blob, &net, relu, &x, 1e-5);
    // Half precision: the weights are rounded to f16/bf16, so the plain pass is taken on
    // the rounded weights' net.
    for (dtype, round) in [
        (
            safetensors::Dtype::F16,
            (|v: f64| half::f16::from_f64(v).to_f64()) as fn(f64) -> f64,
        ),
        (safetensors::Dtype::BF16, |v: f64| {
            half::bf16::from_f64(v).to_f64()
        }),
    ] {
        let c = convert_file(&net.safetensors(dtype), &options).unwrap();
        let rounded = Net {
            sizes: net.sizes.clone(),
            w: net
                .w
                .iter()
                .map(|w| w.iter().map(|&v| round(v)).collect())
                .collect(),
            b: net
                .b
                .iter()
                .map(|b| b.iter().map(|&v| round(v)).collect())
                .collect(),
        };
        check(&c.blob, &rounded, relu, &x, 1e-5);
    }
    // Sigmoid hidden layers (the default) on the same file.
    let c = convert_file(
        &net.safetensors(safetensors::Dtype::F32),
        &Options::default(),
    )
    .unwrap();
    check(&c.blob, &net, sigmoid, &x, 1e-5);
}

fn refused(bytes: &[u8], options: &Options) -> String {
    convert_file(bytes, options).unwrap_err().to_string()
}

#[test]
fn bad_files_are_refused_by_name() {
    let net = Net::random(&[8, 4, 2], 5);
    let default = Options::default();
    // A blob, a single .npy, anything else.
    let blob = convert_file(&net.npz(true, false), &default).unwrap().blob;
    assert!(refused(&blob, &default).contains("already a scratchnet model blob"));
    let one = npy::write(&[1.0f32, 2.0], None).unwrap();
    assert!(refused(&one, &default).contains("a single .npy array"));
    assert!(refused(b"hello", &default).contains("not a model file scratchnet reads"));
    // Shapes that do not chain.
    let mut bad = Net::random(&[8, 4, 2], 6);
    bad.sizes = vec![8, 4, 2];
    bad.w[1] = vec![0.5; 3 * 2];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    for (name, v, w) in [
        ("W1", &bad.w[0], Some(4)),
        ("b1", &bad.b[0], None),
        ("W2", &bad.w[1], Some(2)),
        ("b2", &bad.b[1], None),
    ] {
        zip.start_file(format!("{name}.npy"), o).unwrap();
        zip.write_all(&npy::write(v, w).unwrap()).unwrap();
    }
    let unchained = zip.finish().unwrap().into_inner();
    assert_eq!(
        refused(&unchained, &default),
        "'W2' has shape (3, 2), expected (4, N) (its inputs must equal W1's outputs)"
    );
    // Activations that do not fit.
    let two = net.npz(true, false);
    let with = |a: Vec<Activation>, precision| Options {
        activations: Some(a),
        precision,
        calibration: None,
    };
    assert!(
        refused(&two, &with(vec![Activation::Relu], Precision::F32))
            .contains("1 activations given for 2 layers")
    );
    assert!(
        refused(
            &two,
            &with(
                vec![Activation::Softmax, Activation::Softmax],
                Precision::F32
            )
        )
        .contains("softmax is for the last layer only")
    );
    // int8 with ReLU hidden layers needs inputs to scale their outputs by; identity
    // hidden layers (negative values) cannot be u8 at all.
    let int8 = |a| refused(&two, &with(a, Precision::Int8));
    let e = int8(vec![Activation::Relu, Activation::Softmax]);
    assert!(e.contains("give --calibrate X.npy"), "{e}");
    let e = int8(vec![Activation::Identity, Activation::Softmax]);
    assert!(e.contains("layer 1 is identity"), "{e}");
    // Tensor names outside nn.Linear's scheme, and batch norm.
    let st = |names: &[(&str, Vec<usize>)]| {
        let data: Vec<Vec<u8>> = names
            .iter()
            .map(|(_, s)| vec![0u8; 4 * s.iter().product::<usize>()])
            .collect();
        let views: Vec<_> = names
            .iter()
            .zip(&data)
            .map(|((n, s), d)| {
                (
                    n.to_string(),
                    safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                        .unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    };
    let e = refused(&st(&[("encoder", vec![4, 8])]), &default);
    assert!(
        e.contains("tensor 'encoder' does not fit the scheme"),
        "{e}"
    );
    let e = refused(
        &st(&[("0.weight", vec![4, 8]), ("1.running_mean", vec![4])]),
        &default,
    );
    assert!(e.contains("fold it into the dense layer"), "{e}");
    let e = refused(
        &st(&[("fc.weight", vec![4, 8]), ("out.weight", vec![2, 4])]),
        &default,
    );
    assert!(e.contains("ordered by the numbers in their names"), "{e}");
    assert!(matches!(
        convert_file(&st(&[("0.weight", vec![4, 8])]), &default),
        Ok(c) if c.ignored_keys.iter().any(|k| k.contains("0.bias (absent"))
    ));
}

#[test]
fn the_cli_converts_evaluates_and_predicts_a_users_model() {
    let dir = tempfile::tempdir().unwrap();
    let net = Net::random(&[16, 8, 3], 7);
    let npz = dir.path().join("net.npz");
    std::fs::write(&npz, net.npz(false, true)).unwrap();
    let x = inputs(40, 16, 8);
    let want: Vec<i64> = x
        .chunks_exact(16)
        .map(|r| {
            let y = net.forward(&r.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), relu);
            (0..3).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap() as i64
        })
        .collect();
    let labels: Vec<i64> = want
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < 30 { c } else { (c + 1) % 3 })
        .collect();
    for (name, bytes) in [
        ("X.npy", npy::write(&x, Some(16)).unwrap()),
        ("Y.npy", npy::write(&labels, None).unwrap()),
        ("R.npy", npy::write(&want, None).unwrap()),
    ] {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let scnt = dir.path().join("net.scnt");
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    // `scratchnet ARGS`: its stdout when it succeeds, its stderr when it fails.
    let run = |args: &[&str], ok: bool| {
        let a = Command::cargo_bin("scratchnet")
            .unwrap()
            .args(args)
            .assert();
        let out = if ok { a.success() } else { a.failure() }
            .get_output()
            .clone();
        String::from_utf8(if ok { out.stdout } else { out.stderr }).unwrap()
    };
    let (scnt_s, npz_s) = (scnt.to_string_lossy(), npz.to_string_lossy());
    let out = run(
        &[
            "convert",
            &npz_s,
            "-o",
            &scnt_s,
            "--activations",
            "relu,softmax",
        ],
        true,
    );
    assert!(out.contains("layers: 16×8 relu, 8×3 softmax"), "{out}");
    let (x_npy, y_npy, r_npy) = (p("X.npy"), p("Y.npy"), p("R.npy"));
    let out = run(
        &[
            "eval",
            &scnt_s,
            "--inputs",
            &x_npy,
            "--labels",
            &y_npy,
            "--reference",
            &r_npy,
        ],
        true,
    );
    // 30 of the 40 labels are the plain pass's classes, and every prediction is.
    assert!(out.contains("accuracy: 0.7500 (30/40)"), "{out}");
    assert!(out.contains("agreement: 40/40"), "{out}");
    let classes = p("classes.npy");
    run(
        &["predict", &scnt_s, "--inputs", &x_npy, "-o", &classes],
        true,
    );
    let got = npy::read_classes(&std::fs::read(&classes).unwrap(), "classes").unwrap();
    assert_eq!(got, want.iter().map(|&c| c as usize).collect::<Vec<_>>());
    // Inputs of the wrong width: an error, nothing written.
    std::fs::write(p("bad.npy"), npy::write(&x, Some(8)).unwrap()).unwrap();
    let err = run(
        &[
            "predict",
            &scnt_s,
            "--inputs",
            &p("bad.npy"),
            "-o",
            &p("none.npy"),
        ],
        false,
    );
    assert!(
        err.contains("rows of 8 values, but the model takes 16 inputs"),
        "{err}"
    );
    assert!(!dir.path().join("none.npy").exists());
    // A blob given to convert: refused, nothing written.
    let err = run(&["convert", &scnt_s, "-o", &p("again.scnt")], false);
    assert!(err.contains("already a scratchnet model blob"), "{err}");
    assert!(!dir.path().join("again.scnt").exists());
}

/// int8 with ReLU hidden layers: calibrated divisors, and the core's `logits_u8` equal to
/// the formula written plainly from the blob's layers, bit for bit:
/// `A[j] = (Σᵢ u[i]·q[j][i])·s[j]/d_in + B[j]`, hidden `u = min(round(relu(A)·d_out), 255)`.
#[test]
fn int8_relu_networks_follow_the_formula() {
    let net = Net::random(&[16, 12, 8, 3], 11);
    let x = inputs(200, 16, 12);
    let options = Options {
        activations: Some(vec![
            Activation::Relu,
            Activation::Relu,
            Activation::Softmax,
        ]),
        precision: Precision::Int8,
        calibration: Some(x.clone()),
    };
    let c = convert_file(&net.npz(true, false), &options).unwrap();
    let (agree, total) = c.int8_agreement.unwrap();
    assert_eq!(total, 200);
    assert!(
        agree >= 190,
        "int8 gives the f32 class on only {agree}/200 rows"
    );
    let aligned = AlignedBlob::new(&c.blob);
    let model = Model::from_bytes(aligned.bytes()).unwrap();
    let layers: Vec<_> = model.layers().collect();
    // The first layer reads u8/255; each ReLU layer's output divisor is 255 / its largest
    // calibration output, and the next layer reads with it.
    let q0 = layers[0].quantized().unwrap();
    assert_eq!(q0.input_divisor(), 255.0);
    for k in 1..layers.len() {
        let (prev, this) = (
            layers[k - 1].quantized().unwrap(),
            layers[k].quantized().unwrap(),
        );
        assert_eq!(this.input_divisor(), prev.output_divisor());
        assert!(prev.output_divisor() > 0.0 && prev.output_divisor() != 255.0);
    }
    let mut scratch = vec![0u8; model.scratch_len()];
    for row in x.chunks_exact(16) {
        let u: Vec<u8> = row.iter().map(|v| (v * 255.0).round() as u8).collect();
        let mut got = vec![0.0; 3];
        model.logits_u8(&u, &mut scratch, &mut got).unwrap();
        // The plain formula.
        let mut input = u.clone();
        let mut want = Vec::new();
        for (k, layer) in layers.iter().enumerate() {
            let q = layer.quantized().unwrap();
            let scales: Vec<f32> = q.scales().iter().collect();
            let biases: Vec<f32> = layer.biases().iter().collect();
            let a: Vec<f32> = (0..layer.shape().outputs as usize)
                .map(|j| {
                    let sum: i32 = q.rows[j * q.stride..j * q.stride + input.len()]
                        .iter()
                        .zip(&input)
                        .map(|(&w, &x)| i32::from(w) * i32::from(x))
                        .sum();
                    sum as f32 * (scales[j] / q.input_divisor()) + biases[j]
                })
                .collect();
            if k + 1 == layers.len() {
                want = a;
            } else {
                input = a
                    .iter()
                    .map(|v| (v.max(0.0) * q.output_divisor()).round().min(255.0) as u8)
                    .collect();
            }
        }
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
    // Inputs outside [0, 1] cannot be u8/255: refused.
    let mut bad = x.clone();
    bad[3] = 1.5;
    let e = convert_file(
        &net.npz(true, false),
        &Options {
            calibration: Some(bad),
            ..options
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("values in [0, 1]"), "{e}");
}

/// The book's chapter 5 `TwoLayerNet` as numpy itself pickles it (`pickle.dump(params)`,
/// float64, Affine-ReLU-Affine), with numpy's own predictions for 200 inputs: converted
/// with `--activations relu,softmax`, it gives numpy's class on every input. Needs python3
/// with numpy (`$PYTHON`, else `python3`); skipped with a printed reason without it.
#[test]
fn numpy_pickled_two_layer_net_float64() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import sys, pickle, numpy as np
d = sys.argv[1]
r = np.random.default_rng(0)
p = {'W1': r.normal(0, 0.05, (784, 50)), 'b1': r.normal(0, 0.1, 50),
     'W2': r.normal(0, 0.3, (50, 10)), 'b2': r.normal(0, 0.1, 10)}
pickle.dump(p, open(d + '/net.pkl', 'wb'))
x = r.random((200, 784)).astype(np.float32)
a = np.maximum(x.astype(np.float64) @ p['W1'] + p['b1'], 0) @ p['W2'] + p['b2']
np.save(d + '/x.npy', x)
np.save(d + '/y.npy', np.argmax(a, 1).astype(np.int64))
"#;
    let ran = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(dir.path())
        .output();
    match ran {
        Ok(out) if out.status.success() => {}
        _ => {
            writeln!(
                std::io::stderr(),
                "skipped: {python} with numpy is not available to write the pickle"
            )
            .unwrap();
            return;
        }
    }
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    let options = Options {
        activations: Some(vec![Activation::Relu, Activation::Softmax]),
        ..Options::default()
    };
    let c = convert_file(&read("net.pkl"), &options).unwrap();
    assert_eq!(c.source, Source::Pickle);
    let (width, x) = npy::read_inputs(&read("x.npy"), "x").unwrap();
    assert_eq!(width, 784);
    let want = npy::read_classes(&read("y.npy"), "y").unwrap();
    let model = Model::from_bytes(&c.blob).unwrap();
    let mut scratch = vec![0.0; model.scratch_len()];
    let mut y = vec![0.0; 10];
    let mut same = 0;
    for (row, &w) in x.chunks_exact(784).zip(&want) {
        model.logits(row, &mut scratch, &mut y).unwrap();
        same += usize::from(scratchnet::Classification::argmax(&y).class == w);
    }
    assert_eq!(same, 200, "numpy's class on every input");
}
