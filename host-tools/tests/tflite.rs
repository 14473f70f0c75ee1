//! TensorFlow Lite models: the MLPerf Tiny AD01 model's outputs against TensorFlow Lite
//! Micro's (all 40 inputs, every byte), small `.tflite` MLPs written here (f32 against a
//! plain forward pass; int8 against the `tflite-micro` interpreter when python3 has it),
//! operators refused by name, and hostile FlatBuffers refused without a panic.

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use scratchnet::{Model, Network, TDense};
use scratchnet_host::convert::{AlignedBlob, ConvertError, Options, Precision, convert_file};
use scratchnet_host::{data, npy};
use std::path::PathBuf;

const AD01: &str = "mlperf-tiny-ad01";

/// The AD01 files, or `None` (skipped with a reason; a failure under `SCRATCHNET_REQUIRE_DATA`).
fn ad01() -> Option<(Vec<u8>, Vec<i8>, Vec<i8>)> {
    let files = [
        "ad01_int8.tflite",
        "inputs_int8.npy",
        "tflm_outputs_int8.npy",
    ];
    let paths: Result<Vec<PathBuf>, _> = files
        .iter()
        .map(|f| data::find(&format!("{AD01}/{f}")))
        .collect();
    let paths = match paths {
        Ok(p) => p,
        Err(e) => {
            if std::env::var_os(data::REQUIRE_ENV).is_some() {
                panic!("{e} ({} is set: the data is required)", data::REQUIRE_ENV);
            }
            eprintln!("skipped (no data): {e}");
            return None;
        }
    };
    let read = |p: &PathBuf| std::fs::read(p).unwrap();
    let (_, x) = npy::read_int8(&read(&paths[1]), "inputs").unwrap();
    let (_, y) = npy::read_int8(&read(&paths[2]), "outputs").unwrap();
    Some((read(&paths[0]), x, y))
}

type Ad01<'a> = Network<(
    TDense<'a, 640, 128>,
    TDense<'a, 128, 128>,
    TDense<'a, 128, 128>,
    TDense<'a, 128, 128>,
    TDense<'a, 128, 8>,
    TDense<'a, 8, 128>,
    TDense<'a, 128, 128>,
    TDense<'a, 128, 128>,
    TDense<'a, 128, 128>,
    TDense<'a, 128, 640>,
)>;

#[test]
fn ad01_gives_tflite_micros_outputs_byte_for_byte() {
    let Some((tflite, x, want)) = ad01() else {
        return;
    };
    // As the file has it, and with its weights as halfwords (`--quantize int8-wide`).
    for precision in [Precision::F32, Precision::Int8Wide] {
        let options = Options {
            precision,
            ..Options::default()
        };
        let c = convert_file(&tflite, &options).unwrap();
        assert_eq!(c.layers.len(), 10);
        let blob = AlignedBlob::new(&c.blob);
        let model = Model::from_bytes(blob.bytes()).unwrap();
        let wide = precision == Precision::Int8Wide;
        let element = if wide {
            scratchnet::ElementType::TfliteI8Wide
        } else {
            scratchnet::ElementType::TfliteI8
        };
        assert!(model.layers().all(|l| l.element() == element));
        let net = Ad01::from_model(&model).unwrap();
        let mut scratch = vec![0i8; model.scratch_len()];
        let (mut same, mut same_typed) = (0, 0);
        for (row, want) in x.chunks_exact(640).zip(want.chunks_exact(640)) {
            let mut y = [0i8; 640];
            model.run_i8(row, &mut scratch, &mut y).unwrap();
            same += y.iter().zip(want).filter(|(a, b)| a == b).count();
            let typed: [i8; 640] = net.run_i8(row.try_into().unwrap());
            same_typed += typed.iter().zip(want).filter(|(a, b)| a == b).count();
        }
        assert_eq!(same, 40 * 640, "{precision:?}");
        assert_eq!(same_typed, 40 * 640, "{precision:?}");
    }
}

#[test]
fn the_cli_writes_the_outputs_as_npy() {
    let Some((tflite, x, want)) = ad01() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (m, xi, y) = (
        dir.path().join("m.tflite"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    std::fs::write(&m, &tflite).unwrap();
    std::fs::write(&xi, npy::write(&x, Some(640)).unwrap()).unwrap();
    let blob = dir.path().join("m.scnt");
    let bin = || assert_cmd::Command::cargo_bin("scratchnet").unwrap();
    bin()
        .arg("convert")
        .arg(&m)
        .arg("-o")
        .arg(&blob)
        .assert()
        .success();
    let out = bin().arg("inspect").arg(&blob).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("layer 0: 640×128 int8 (TFLite)"), "{text}");
    assert!(text.contains("input zero point 89"), "{text}");
    bin()
        .arg("run")
        .arg(&blob)
        .arg("--inputs")
        .arg(&xi)
        .arg("-o")
        .arg(&y)
        .assert()
        .success();
    let (width, got) = npy::read_int8(&std::fs::read(&y).unwrap(), "y").unwrap();
    assert_eq!(width, 640);
    assert_eq!(got, want);
    // f32 inputs to an int8 model: refused, nothing written.
    let f = dir.path().join("f.npy");
    std::fs::write(&f, npy::write(&vec![0.5f32; 640], Some(640)).unwrap()).unwrap();
    let y2 = dir.path().join("y2.npy");
    bin()
        .arg("run")
        .arg(&blob)
        .arg("--inputs")
        .arg(&f)
        .arg("-o")
        .arg(&y2)
        .assert()
        .failure();
    assert!(!y2.exists());
}

// ---- Small .tflite files, written here with the flatbuffers builder. ----

struct T {
    shape: Vec<i32>,
    ty: i8,
    buffer: u32,
    scale: Vec<f32>,
    zp: Vec<i64>,
}

struct Op {
    code: i32,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    fused: i8,
}

/// A one-subgraph TFLite model: opcodes are the ops' codes in order of first use.
fn tflite(tensors: &[T], ops: &[Op], io: (i32, i32), buffers: &[Vec<u8>]) -> Vec<u8> {
    let mut b = FlatBufferBuilder::new();
    let mut codes: Vec<i32> = vec![];
    for op in ops {
        if !codes.contains(&op.code) {
            codes.push(op.code);
        }
    }
    let bufs: Vec<_> = buffers
        .iter()
        .map(|d| {
            let v = b.create_vector(d);
            let s = b.start_table();
            b.push_slot_always(4, v);
            b.end_table(s)
        })
        .collect();
    let bufs = b.create_vector(&bufs);
    let ts: Vec<_> = tensors
        .iter()
        .map(|t| {
            let shape = b.create_vector(&t.shape);
            let scale = b.create_vector(&t.scale);
            let zp = b.create_vector(&t.zp);
            let q = b.start_table();
            b.push_slot_always(8, scale);
            b.push_slot_always(10, zp);
            let q = b.end_table(q);
            let s = b.start_table();
            b.push_slot_always(4, shape);
            b.push_slot::<i8>(6, t.ty, 0);
            b.push_slot::<u32>(8, t.buffer, 0);
            b.push_slot_always(12, q);
            b.end_table(s)
        })
        .collect();
    let ts = b.create_vector(&ts);
    let os: Vec<_> = ops
        .iter()
        .map(|op| {
            let ins = b.create_vector(&op.inputs);
            let outs = b.create_vector(&op.outputs);
            // FullyConnectedOptions (union type 8) or SoftmaxOptions (9, beta 1).
            let opts = match op.code {
                9 => {
                    let s = b.start_table();
                    b.push_slot::<i8>(4, op.fused, 0);
                    Some((8u8, b.end_table(s)))
                }
                25 => {
                    let s = b.start_table();
                    b.push_slot::<f32>(4, 1.0, 0.0);
                    Some((9, b.end_table(s)))
                }
                _ => None,
            };
            let s = b.start_table();
            let index = codes.iter().position(|&c| c == op.code).unwrap() as u32;
            b.push_slot::<u32>(4, index, 0);
            b.push_slot_always(6, ins);
            b.push_slot_always(8, outs);
            if let Some((kind, o)) = opts {
                b.push_slot::<u8>(10, kind, 0);
                b.push_slot_always(12, o);
            }
            b.end_table(s)
        })
        .collect();
    let os = b.create_vector(&os);
    let (gi, go) = (b.create_vector(&[io.0]), b.create_vector(&[io.1]));
    let g = b.start_table();
    b.push_slot_always(4, ts);
    b.push_slot_always(6, gi);
    b.push_slot_always(8, go);
    b.push_slot_always(10, os);
    let g = b.end_table(g);
    let gs = b.create_vector(&[g]);
    let cs: Vec<WIPOffset<_>> = codes
        .iter()
        .map(|&c| {
            let s = b.start_table();
            b.push_slot::<i8>(4, c.min(127) as i8, 0);
            b.push_slot::<i32>(10, c, 0);
            b.end_table(s)
        })
        .collect();
    let cs = b.create_vector(&cs);
    let m = b.start_table();
    b.push_slot::<u32>(4, 3, 0);
    b.push_slot_always(6, cs);
    b.push_slot_always(8, gs);
    b.push_slot_always(12, bufs);
    let m = b.end_table(m);
    b.finish(m, Some("TFL3"));
    b.finished_data().to_vec()
}

fn le<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

/// An f32 MLP's file and its parameters (TFLite's `[out, in]` weights).
struct F32Mlp {
    file: Vec<u8>,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
}

/// An f32 3 → 4 → 2 MLP: FULLY_CONNECTED(RELU), FULLY_CONNECTED, then the operator `last`
/// (SOFTMAX, 25, for a supported one).
fn f32_mlp(last: i32) -> F32Mlp {
    let w1: Vec<f32> = (0..12).map(|k| (k as f32 - 5.5) / 7.0).collect(); // [4, 3]
    let b1 = vec![0.1, -0.2, 0.3, 0.0];
    let w2: Vec<f32> = (0..8).map(|k| (3.0 - k as f32) / 5.0).collect(); // [2, 4]
    let b2 = vec![0.05, -0.05];
    let f = |s: Vec<i32>, buffer| T {
        shape: s,
        ty: 0,
        buffer,
        scale: vec![],
        zp: vec![],
    };
    let tensors = [
        f(vec![1, 3], 0),
        f(vec![4, 3], 1),
        f(vec![4], 2),
        f(vec![1, 4], 0),
        f(vec![2, 4], 3),
        f(vec![2], 4),
        f(vec![1, 2], 0),
        f(vec![1, 2], 0),
    ];
    let ops = [
        Op {
            code: 9,
            inputs: vec![0, 1, 2],
            outputs: vec![3],
            fused: 1,
        },
        Op {
            code: 9,
            inputs: vec![3, 4, 5],
            outputs: vec![6],
            fused: 0,
        },
        Op {
            code: last,
            inputs: vec![6],
            outputs: vec![7],
            fused: 0,
        },
    ];
    let bufs = [
        vec![],
        le(&w1, f32::to_le_bytes),
        le(&b1, f32::to_le_bytes),
        le(&w2, f32::to_le_bytes),
        le(&b2, f32::to_le_bytes),
    ];
    let file = tflite(&tensors, &ops, (0, 7), &bufs);
    F32Mlp {
        file,
        w1,
        b1,
        w2,
        b2,
    }
}

#[test]
fn an_f32_tflite_mlp_computes_its_forward_pass() {
    let F32Mlp {
        file,
        w1,
        b1,
        w2,
        b2,
    } = f32_mlp(25);
    // Halfword weights are for int8 layers: a float model asked for them is refused.
    let wide = Options {
        precision: Precision::Int8Wide,
        ..Options::default()
    };
    match convert_file(&file, &wide) {
        Err(ConvertError::WrongInput(m)) => assert!(m.contains("no int8 layer"), "{m}"),
        other => panic!("{:?}", other.map(|c| c.layers)),
    }
    let c = convert_file(&file, &Options::default()).unwrap();
    let blob = AlignedBlob::new(&c.blob);
    let model = Model::from_bytes(blob.bytes()).unwrap();
    let x = [0.5f32, -1.0, 2.0];
    let mut scratch = vec![0.0; model.scratch_len()];
    let mut out = [0.0f32; 2];
    model.logits(&x, &mut scratch, &mut out).unwrap();
    scratchnet::softmax(&mut out);
    // The same in f64 from TFLite's [out, in] weights.
    let h: Vec<f64> = (0..4)
        .map(|j| {
            let a = (0..3)
                .map(|i| f64::from(w1[j * 3 + i]) * f64::from(x[i]))
                .sum::<f64>()
                + f64::from(b1[j]);
            a.max(0.0)
        })
        .collect();
    let a: Vec<f64> = (0..2)
        .map(|j| (0..4).map(|i| f64::from(w2[j * 4 + i]) * h[i]).sum::<f64>() + f64::from(b2[j]))
        .collect();
    let m = a[0].max(a[1]);
    let e: Vec<f64> = a.iter().map(|v| (v - m).exp()).collect();
    for j in 0..2 {
        let want = e[j] / (e[0] + e[1]);
        assert!((f64::from(out[j]) - want).abs() < 1e-6, "{out:?} vs {want}");
    }
}

/// An int8 8 → 5 → 3 MLP, per-channel then per-tensor weights: `Plain`, ReLU then none;
/// `Logistic`, LOGISTIC after both layers (the hidden one feeding the second layer);
/// `Softmax`, ReLU then SOFTMAX.
#[derive(Clone, Copy, Debug)]
enum Tail {
    Plain,
    Logistic,
    Softmax,
    /// `Plain` with f32 in and out: QUANTIZE first, a RESHAPE between the layers,
    /// DEQUANTIZE last.
    Ends,
}

fn int8_mlp(seed: u64) -> Vec<u8> {
    int8_mlp_with(seed, Tail::Plain)
}

fn int8_mlp_with(seed: u64, tail: Tail) -> Vec<u8> {
    let mut r = seed;
    let mut next = |n: i64| {
        r = r
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((r >> 33) as i64 % n) as i32
    };
    let w1: Vec<u8> = (0..40).map(|_| (next(255) - 127) as i8 as u8).collect();
    let b1: Vec<i32> = (0..5).map(|_| next(20001) - 10000).collect();
    let w2: Vec<u8> = (0..15).map(|_| (next(255) - 127) as i8 as u8).collect();
    let b2: Vec<i32> = (0..3).map(|_| next(2001) - 1000).collect();
    let q = |s: Vec<i32>, ty: i8, buffer, scale: Vec<f32>, zp: Vec<i64>| T {
        shape: s,
        ty,
        buffer,
        scale,
        zp,
    };
    let mut tensors = vec![
        q(vec![1, 8], 9, 0, vec![0.05], vec![-3]),
        q(
            vec![5, 8],
            9,
            1,
            vec![0.01, 0.02, 0.015, 0.03, 0.008],
            vec![0; 5],
        ),
        q(
            vec![5],
            2,
            2,
            vec![0.0005, 0.001, 0.00075, 0.0015, 0.0004],
            vec![0; 5],
        ),
        q(vec![1, 5], 9, 0, vec![0.11], vec![-128]),
        q(vec![3, 5], 9, 3, vec![0.021], vec![0]),
        q(vec![3], 2, 4, vec![0.00231], vec![0]),
        q(vec![1, 3], 9, 0, vec![0.07], vec![5]),
    ];
    let op = |code, inputs: Vec<i32>, output: i32, fused| Op {
        code,
        inputs,
        outputs: vec![output],
        fused,
    };
    let (ops, output) = match tail {
        Tail::Plain => (
            vec![op(9, vec![0, 1, 2], 3, 1), op(9, vec![3, 4, 5], 6, 0)],
            6,
        ),
        Tail::Logistic => {
            // 7: the hidden LOGISTIC's output (the second layer's input: its bias scale
            // follows), 8: the final one's.
            tensors.push(q(vec![1, 5], 9, 0, vec![1.0 / 256.0], vec![-128]));
            tensors.push(q(vec![1, 3], 9, 0, vec![1.0 / 256.0], vec![-128]));
            tensors[5].scale = vec![0.021 / 256.0];
            tensors[3].scale = vec![0.06];
            tensors[3].zp = vec![10];
            (
                vec![
                    op(9, vec![0, 1, 2], 3, 0),
                    op(14, vec![3], 7, 0),
                    op(9, vec![7, 4, 5], 6, 0),
                    op(14, vec![6], 8, 0),
                ],
                8,
            )
        }
        Tail::Ends => {
            // 7: the f32 input, 8: the reshaped hidden layer, 9: the f32 output, 10: the
            // reshape's shape.
            tensors.push(q(vec![1, 8], 0, 0, vec![], vec![]));
            tensors.push(q(vec![1, 5], 9, 0, vec![0.11], vec![-128]));
            tensors.push(q(vec![1, 3], 0, 0, vec![], vec![]));
            tensors.push(q(vec![2], 2, 5, vec![], vec![]));
            (
                vec![
                    op(114, vec![7], 0, 0),
                    op(9, vec![0, 1, 2], 3, 1),
                    op(22, vec![3, 10], 8, 0),
                    op(9, vec![8, 4, 5], 6, 0),
                    op(6, vec![6], 9, 0),
                ],
                9,
            )
        }
        Tail::Softmax => {
            tensors.push(q(vec![1, 3], 9, 0, vec![1.0 / 256.0], vec![-128]));
            // Smaller weights and logits within a few units of each other: probabilities
            // that vary (the bias scale follows the weights').
            tensors[4].scale = vec![0.002];
            tensors[5].scale = vec![0.11 * 0.002];
            tensors[6].scale = vec![0.01];
            (
                vec![
                    op(9, vec![0, 1, 2], 3, 1),
                    op(9, vec![3, 4, 5], 6, 0),
                    op(25, vec![6], 7, 0),
                ],
                7,
            )
        }
    };
    let bufs = [
        vec![],
        w1,
        le(&b1, i32::to_le_bytes),
        w2,
        le(&b2, i32::to_le_bytes),
        le(&[1i32, 5], i32::to_le_bytes),
    ];
    let input = if matches!(tail, Tail::Ends) { 7 } else { 0 };
    tflite(&tensors, &ops, (input, output), &bufs)
}

/// The interpreter of the `tflite-micro` Python package, if python3 has it.
fn tflm_outputs(model: &[u8], x: &[i8], width: usize) -> Option<Vec<i8>> {
    let dir = tempfile::tempdir().unwrap();
    let (m, xi, y) = (
        dir.path().join("m.tflite"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    std::fs::write(&m, model).unwrap();
    std::fs::write(&xi, npy::write(x, Some(width)).unwrap()).unwrap();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, numpy as np\n\
        from tflite_micro.python.tflite_micro import runtime\n\
        itp = runtime.Interpreter.from_file(sys.argv[1])\n\
        out = []\n\
        for row in np.load(sys.argv[2]):\n\
        \x20   itp.set_input(row[None, :], 0); itp.invoke(); out.append(itp.get_output(0)[0])\n\
        np.save(sys.argv[3], np.array(out, dtype=np.int8))\n";
    let ok = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&m)
        .arg(&xi)
        .arg(&y)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "skipped (no tflite-micro): `{python}` with numpy and tflite-micro was not found (pip install tflite-micro numpy; PYTHON names the interpreter)"
        );
        return None;
    }
    Some(npy::read_int8(&std::fs::read(&y).unwrap(), "y").unwrap().1)
}

#[test]
fn small_int8_mlps_and_ad01_on_more_inputs_match_the_tflite_micro_interpreter() {
    let mut cases = vec![];
    for seed in 1..=4 {
        for tail in [Tail::Plain, Tail::Logistic, Tail::Softmax] {
            let c = convert_file(&int8_mlp_with(seed as u64, tail), &Options::default()).unwrap();
            let last = c.layers.last().unwrap().1;
            let want = match tail {
                Tail::Plain | Tail::Ends => scratchnet::Activation::Identity,
                Tail::Logistic => scratchnet::Activation::Sigmoid,
                Tail::Softmax => scratchnet::Activation::Softmax,
            };
            assert_eq!(last, want, "{tail:?}");
            let x: Vec<i8> = (0..8 * 256).map(|k| (k * 37 + seed * 11) as i8).collect();
            cases.push((int8_mlp_with(seed as u64, tail), x, 8));
        }
    }
    if let Some((ad01, _, _)) = ad01() {
        // Dense random inputs across the whole int8 range.
        let x: Vec<i8> = (0..640 * 16)
            .map(|k| ((k * 2_654_435_761u64 as usize) >> 7) as i8)
            .collect();
        cases.push((ad01, x, 640));
    }
    for (file, x, width) in cases {
        let Some(want) = tflm_outputs(&file, &x, width) else {
            return;
        };
        // As the file has it, and with its weights as halfwords (`--quantize int8-wide`).
        let wide = Options {
            precision: Precision::Int8Wide,
            ..Options::default()
        };
        let c = convert_file(&file, &Options::default()).unwrap();
        for options in [Options::default(), wide] {
            let c = convert_file(&file, &options).unwrap();
            let blob = AlignedBlob::new(&c.blob);
            let model = Model::from_bytes(blob.bytes()).unwrap();
            let mut scratch = vec![0i8; model.scratch_len()];
            let mut got = vec![0i8; want.len()];
            for (row, y) in x
                .chunks_exact(width)
                .zip(got.chunks_exact_mut(model.outputs()))
            {
                model.run_i8(row, &mut scratch, y).unwrap();
            }
            assert_eq!(got, want, "{:?} {:?}", options.precision, c.layers);
        }
        let blob = AlignedBlob::new(&c.blob);
        let model = Model::from_bytes(blob.bytes()).unwrap();
        // Not a degenerate case: the outputs vary.
        let mut distinct = want.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() >= 8, "{:?}: {distinct:?}", c.layers);
        if c.layers
            .last()
            .is_some_and(|l| l.1 == scratchnet::Activation::Softmax)
        {
            // Probabilities in 1/256 from −128: each row sums to about 1.
            for row in want.chunks_exact(model.outputs()) {
                let sum: i32 = row.iter().map(|&v| i32::from(v) + 128).sum();
                assert!((250..=260).contains(&sum), "{row:?}");
            }
        }
    }
}

#[test]
fn quantize_reshape_and_dequantize_fold_away() {
    // The same layers with f32 ends and a RESHAPE between them convert to the very blob of
    // the plain int8 model (which the interpreter test checks against TFLite Micro), and the
    // summary says what was folded.
    let plain = convert_file(&int8_mlp(3), &Options::default()).unwrap();
    let ends = convert_file(&int8_mlp_with(3, Tail::Ends), &Options::default()).unwrap();
    assert_eq!(ends.blob, plain.blob);
    let notes = ends.ignored_keys.join("\n");
    assert!(notes.contains("QUANTIZE at the input folded"), "{notes}");
    assert!(notes.contains("q = round(x / 0.05) + -3"), "{notes}");
    assert!(notes.contains("RESHAPE skipped"), "{notes}");
    assert!(notes.contains("DEQUANTIZE at the output folded"), "{notes}");
}

#[test]
fn unsupported_operators_are_refused_by_name() {
    // TANH (28) after the last layer.
    let model = f32_mlp(28).file;
    let err = convert_file(&model, &Options::default()).unwrap_err();
    assert!(matches!(err, ConvertError::Tflite(_)));
    let text = err.to_string();
    assert!(text.contains("TANH is not supported"), "{text}");
    assert!(text.contains("FULLY_CONNECTED"), "{text}");
}

#[test]
fn hostile_flatbuffers_are_refused_without_a_panic() {
    let file = int8_mlp(7);
    assert!(convert_file(&file, &Options::default()).is_ok());
    // Every truncation.
    for n in 0..file.len() {
        assert!(
            convert_file(&file[..n], &Options::default()).is_err(),
            "{n} bytes"
        );
    }
    // Every byte changed: refused or read, never a panic.
    for i in 0..file.len() {
        for v in [0x00, 0xff, 0x80, 0x7f] {
            let mut b = file.clone();
            b[i] = v;
            let _ = convert_file(&b, &Options::default());
        }
    }
    // The root offset past the end; a vector claiming 2³² − 16 elements.
    let mut b = file.clone();
    b[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(convert_file(&b, &Options::default()).is_err());
    let mut huge = file.clone();
    let n = huge.len() as u32;
    let mut refused = 0;
    for i in (8..huge.len() - 4).step_by(4) {
        let v = u32::from_le_bytes(huge[i..i + 4].try_into().unwrap());
        if (1..64).contains(&v) {
            huge[i..i + 4].copy_from_slice(&(u32::MAX - 15).to_le_bytes());
            refused += usize::from(convert_file(&huge, &Options::default()).is_err());
            huge[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    assert!(refused > 0 && n > 0);
    // A table whose vtable offset points at itself (a cycle).
    let mut b = file.clone();
    let root = u32::from_le_bytes(b[0..4].try_into().unwrap()) as usize;
    b[root..root + 4].copy_from_slice(&0i32.to_le_bytes());
    assert!(convert_file(&b, &Options::default()).is_err());
}
