//! The `scratchnet` binary, run as a user runs it: every subcommand, and its error paths.
//! Needs the data (the README's data rule); pickles with faults are derived from the book's.

use assert_cmd::Command;
use scratchnet_host::data;
use std::path::{Path, PathBuf};

fn bin() -> Command {
    Command::cargo_bin("scratchnet").unwrap()
}

fn book_pickle() -> PathBuf {
    data::find(data::WEIGHTS).unwrap_or_else(|e| panic!("{e}"))
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

fn stderr_of_failure(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().get_output().stderr.clone();
    String::from_utf8(out).unwrap()
}

/// The book's pickle with one key renamed (same length, so the stream stays valid).
fn renamed(from: &str, to: &str) -> Vec<u8> {
    let mut b = std::fs::read(book_pickle()).unwrap();
    let pat = [&[b'X', 2, 0, 0, 0][..], from.as_bytes()].concat();
    let at = b.windows(pat.len()).position(|w| w == pat).unwrap();
    b[at + 5..at + 7].copy_from_slice(to.as_bytes());
    b
}

fn no_files_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn convert_inspect_eval() {
    if !data::present_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("mnist.scnt");
    let out = stdout(bin().arg("convert").arg(book_pickle()).arg("-o").arg(&blob));
    assert!(
        out.contains("layers: 784×50 sigmoid, 50×100 sigmoid, 100×10 softmax"),
        "{out}"
    );
    assert!(out.contains("parameters: 45360"), "{out}");
    assert!(out.contains("bytes: 181472"), "{out}");
    assert_eq!(std::fs::metadata(&blob).unwrap().len(), 181_472);

    let out = stdout(bin().arg("inspect").arg(&blob));
    assert!(out.contains("format: scratchnet blob, version 4"), "{out}");
    assert!(out.contains("layer 0: 784×50 sigmoid f32"), "{out}");
    assert!(out.contains("(ok)"), "{out}");
    assert!(out.contains("ram: 640 bytes"), "{out}");

    let out = stdout(bin().arg("eval").arg(&blob));
    assert!(out.contains("accuracy: 0.9352 (9352/10000)\n"), "{out}");
    assert!(out.contains("agreement: 10000/10000\n"), "{out}");

    // A damaged blob: inspect and eval refuse it.
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[1000] ^= 0x40;
    let bad = dir.path().join("bad.scnt");
    std::fs::write(&bad, &bytes).unwrap();
    let err = stderr_of_failure(bin().arg("inspect").arg(&bad));
    assert!(err.contains("blob is damaged: CRC-32"), "{err}");
    let err = stderr_of_failure(bin().arg("eval").arg(&bad));
    assert!(err.contains("blob is damaged"), "{err}");
}

#[test]
fn convert_errors_leave_no_file() {
    if !data::present_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let target = out.join("m.scnt");
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "missing.pkl",
            renamed("b3", "c3"),
            "missing key 'b3' (the file has: b2, W1, b1, W2, W3, c3)",
        ),
        ("renamed.pkl", renamed("b2", "bX"), "missing key 'b2'"),
        (
            "garbage.pkl",
            b"this is not a pickle".to_vec(),
            "not a model file scratchnet reads: expected the book's pickle",
        ),
        (
            "evil.pkl",
            b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.".to_vec(),
            "forbidden global os.system",
        ),
    ];
    for (name, bytes, want) in cases {
        let pkl = dir.path().join(name);
        std::fs::write(&pkl, bytes).unwrap();
        let err = stderr_of_failure(bin().arg("convert").arg(&pkl).arg("-o").arg(&target));
        assert!(err.contains(want), "{name}: {err}");
        no_files_left(&out);
    }
    // Swapping two biases gives a shape error naming the key and both shapes.
    let mut b = renamed("b2", "bT");
    let pat = b"X\x02\x00\x00\x00b3";
    let at = b.windows(pat.len()).position(|w| w == pat).unwrap();
    b[at + 5..at + 7].copy_from_slice(b"b2");
    let pat = b"X\x02\x00\x00\x00bT";
    let at = b.windows(pat.len()).position(|w| w == pat).unwrap();
    b[at + 5..at + 7].copy_from_slice(b"b3");
    let pkl = dir.path().join("swapped.pkl");
    std::fs::write(&pkl, b).unwrap();
    let err = stderr_of_failure(bin().arg("convert").arg(&pkl).arg("-o").arg(&target));
    assert!(
        err.contains("'b2' has shape (10,), expected (100,) (the outputs of W2 (50, 100))"),
        "{err}"
    );
    no_files_left(&out);
    // A missing input file.
    let err = stderr_of_failure(
        bin()
            .arg("convert")
            .arg(dir.path().join("nope.pkl"))
            .arg("-o")
            .arg(&target),
    );
    assert!(err.contains("cannot read"), "{err}");
    no_files_left(&out);
}

#[test]
fn a_pickle_without_w1_has_no_layers() {
    if !data::present_or_skip() {
        return;
    }
    let b = renamed("W1", "XY");
    let dir = tempfile::tempdir().unwrap();
    let pkl = dir.path().join("x.pkl");
    std::fs::write(&pkl, b).unwrap();
    let err = stderr_of_failure(
        bin()
            .arg("convert")
            .arg(&pkl)
            .arg("-o")
            .arg(dir.path().join("o.scnt")),
    );
    assert!(
        err.contains("no layers: the file has no 'W1' (it has: b2, XY, b1, W2, b3, W3)")
            || err.contains("missing key 'W1'"),
        "{err}"
    );
}

#[test]
fn missing_data_files_are_a_clear_error() {
    if !data::present_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("m.scnt");
    stdout(bin().arg("convert").arg(book_pickle()).arg("-o").arg(&blob));
    let err = stderr_of_failure(
        bin()
            .env(data::ENV, dir.path().join("no-such-dir"))
            .arg("eval")
            .arg(&blob),
    );
    assert!(
        err.contains("t10k-images-idx3-ubyte.gz not found: looked in SCRATCHNET_DATA="),
        "{err}"
    );
    let err = stderr_of_failure(
        bin()
            .arg("eval")
            .arg(&blob)
            .arg("--images")
            .arg(dir.path().join("none.gz")),
    );
    assert!(err.contains("cannot read"), "{err}");
    // The cause is said once, not once more as the error's source.
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
    let err = stderr_of_failure(
        bin()
            .args(["plot", "softmax", "1", "-o"])
            .arg(dir.path().join("no-such-dir/s.png")),
    );
    assert!(err.contains("cannot write"), "{err}");
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// The text of an SVG's `<text>` elements, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let inner = t.split_once('>').unwrap().1;
            inner.split("</text>").next().unwrap().trim().to_string()
        })
        .collect()
}

/// The point lists of an SVG's polylines, as (x, y) pairs.
fn polylines(svg: &str) -> Vec<Vec<(f32, f32)>> {
    svg.split("<polyline")
        .skip(1)
        .map(|p| {
            let pts = p
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            pts.split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

#[test]
fn show_draws_a_digit() {
    if !data::present_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("d.png");
    let out = stdout(bin().args(["show", "--index", "0", "-o"]).arg(&png));
    assert!(out.contains("image 0: label 7 prediction 7"), "{out}");
    assert!(out.contains("@@"), "{out}");
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), (760, 380));
    // Test image 8 is a 5 the book's network takes for a 6 (numpy's prediction too).
    let svg = dir.path().join("d.svg");
    stdout(bin().args(["show", "--index", "8", "-o"]).arg(&svg));
    let text = std::fs::read_to_string(&svg).unwrap();
    let texts = svg_texts(&text);
    for t in [
        "image 8: label 5, prediction 6 (wrong)",
        "class",
        "probability",
    ] {
        assert!(texts.iter().any(|x| x == t), "{t}: {texts:?}");
    }
    // The 784 pixels, then the ten bars.
    assert!(text.matches("<rect").count() >= 784 + 10);
    let err = stderr_of_failure(bin().args(["show", "--index", "10000"]));
    assert!(err.contains("out of range"), "{err}");
}

#[test]
fn plot_activations_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.png");
    stdout(bin().args(["plot", "activations", "-o"]).arg(&png));
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), (1260, 340));
    let svg = dir.path().join("a.svg");
    stdout(bin().args(["plot", "activations", "-o"]).arg(&svg));
    let text = std::fs::read_to_string(&svg).unwrap();
    let texts = svg_texts(&text);
    // Titles, axis labels and ticks like the book's figures: x from -5 to 5, y in
    // [-0.1, 1.1] (ReLU: [-1, 5.5]), and a legend.
    for t in [
        "step function",
        "sigmoid function",
        "ReLU function",
        "x",
        "y",
        "-5.0",
        "5.0",
        "1.0",
        "0.0",
        "y = sigmoid(x)",
    ] {
        assert!(texts.iter().any(|x| x == t), "{t}: {texts:?}");
    }
    // Each curve is np.arange(-5.0, 5.0, 0.1): 100 points, x increasing. The step
    // function's points lie on two lines (y = 0, then y = 1 above it), and the sigmoid
    // rises everywhere (pixel rows grow downwards).
    let curves: Vec<_> = polylines(&text)
        .into_iter()
        .filter(|p| p.len() == 100)
        .collect();
    assert_eq!(curves.len(), 3);
    let (step, sigmoid) = (&curves[0], &curves[1]);
    assert!(step.windows(2).all(|w| w[1].0 > w[0].0));
    let mut levels: Vec<f32> = step.iter().map(|p| p.1).collect();
    assert!(levels.windows(2).all(|w| w[1] <= w[0]), "{levels:?}");
    levels.dedup();
    assert_eq!(levels.len(), 2, "{levels:?}");
    assert!(sigmoid.windows(2).all(|w| w[1].1 <= w[0].1));
    let err = stderr_of_failure(
        bin()
            .args(["plot", "activations", "-o"])
            .arg(dir.path().join("a.jpg")),
    );
    assert!(err.contains("must end in .png or .svg"), "{err}");
    assert!(!dir.path().join("a.jpg").exists());
    // --separate: one file per function.
    let out = stdout(
        bin()
            .args(["plot", "activations", "--separate", "-o"])
            .arg(dir.path().join("f.png")),
    );
    for name in ["step", "sigmoid", "relu"] {
        let p = dir.path().join(format!("f-{name}.png"));
        assert_eq!(png_size(&std::fs::read(&p).unwrap()), (420, 340), "{out}");
    }
}

// The expected values are quoted with the digits the book prints.
#[allow(clippy::excessive_precision)]
#[test]
fn plot_softmax_of_the_books_example() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("s.svg");
    let out = stdout(
        bin()
            .args(["plot", "softmax", "0.3", "2.9", "4.0", "-o"])
            .arg(&svg),
    );
    // The book (3.5.1): softmax([0.3, 2.9, 4.0]) = [0.01821127, 0.24519181, 0.73659691].
    let values: Vec<f32> = out
        .lines()
        .find_map(|l| l.strip_prefix("softmax: ["))
        .unwrap()
        .trim_end_matches(']')
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    for (g, w) in values
        .iter()
        .zip([0.018_211_27, 0.245_191_81, 0.736_596_91])
    {
        assert!((g - w).abs() < 1e-7, "{values:?}");
    }
    let texts = svg_texts(&std::fs::read_to_string(&svg).unwrap());
    for t in ["0.018", "0.245", "0.737", "softmax([0.3, 2.9, 4])"] {
        assert!(texts.iter().any(|x| x == t), "{t}: {texts:?}");
    }
    let err = stderr_of_failure(
        bin()
            .args(["plot", "softmax", "1", "NaN", "-o"])
            .arg(dir.path().join("n.png")),
    );
    assert!(err.contains("finite"), "{err}");
    assert!(!dir.path().join("n.png").exists());
}

#[test]
fn eval_draws_the_confusion_matrix() {
    if !data::present_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("m.scnt");
    stdout(bin().arg("convert").arg(book_pickle()).arg("-o").arg(&blob));
    let png = dir.path().join("c.png");
    stdout(bin().arg("eval").arg(&blob).arg("--confusion").arg(&png));
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), (640, 640));
    let svg = dir.path().join("c.svg");
    stdout(bin().arg("eval").arg(&blob).arg("--confusion").arg(&svg));
    let texts = svg_texts(&std::fs::read_to_string(&svg).unwrap());
    // numpy's accuracy for the book's network; the diagonal holds the 9352 right answers
    // (the cells' counts are the last 100 texts).
    for t in [
        "m.scnt: accuracy 0.9352 (9352/10000)",
        "prediction",
        "label",
    ] {
        assert!(texts.iter().any(|x| x == t), "{t}: {texts:?}");
    }
    let cells: Vec<u32> = texts[texts.len() - 100..]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(cells.iter().sum::<u32>(), 10_000);
    assert_eq!((0..10).map(|k| cells[k * 11]).sum::<u32>(), 9352);
    // A bad picture name fails before the evaluation, and writes nothing.
    let err = stderr_of_failure(
        bin()
            .arg("eval")
            .arg(&blob)
            .arg("--confusion")
            .arg(dir.path().join("c.bmp")),
    );
    assert!(err.contains("must end in .png or .svg"), "{err}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    // The reader takes one line and closes the pipe; the program must not panic.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("scratchnet"))
        .arg("gates")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped (closed) here.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(&first, b"truth ta");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn gates_prints_tables_and_the_learning_trace() {
    let out = stdout(bin().arg("gates"));
    assert!(out.contains("   1  1 |  1   0    1   0\n"), "{out}");
    assert!(out.contains("AND converged in 6 epochs"), "{out}");
    assert!(out.contains("OR converged in 4 epochs"), "{out}");
    assert!(out.contains("NAND converged in 4 epochs"), "{out}");
    assert!(
        out.contains("XOR: perceptron did not converge in 1000 epochs"),
        "{out}"
    );
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["convert", "inspect", "eval", "show", "plot", "gates"] {
        let out = stdout(bin().args([sub, "--help"]));
        assert!(out.contains("Usage: scratchnet"), "{sub}: {out}");
    }
}

#[test]
fn convert_quantize_int8_then_inspect_and_eval() {
    if !data::present_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("mnist-int8.scnt");
    // The plain rows; with the constants for cores without FPU (16 bytes for each of the
    // 160 outputs more); the layers of at least 16 outputs in input pairs (the same bytes,
    // reordered, less the second layer's row padding: 200); in output pairs, with the
    // constants (each weight two bytes, blocks of eight outputs: 16 bytes an input for each
    // of 7, 13 and 2 blocks, 101 408, plus the soft-float flavour's 3 896 other bytes): the
    // same results from each.
    for (flavour, bytes, element) in [
        ("int8", 46736, "int8  q:"),
        (
            "int8-soft-float",
            49296,
            "int8 (with soft-float constants)  q:",
        ),
        ("int8-dsp", 46536, "int8 (in input pairs)  q:"),
        (
            "int8-m0",
            105304,
            "int8 (in output pairs, with soft-float constants)  q:",
        ),
    ] {
        let blob = dir.path().join(format!("mnist-{flavour}.scnt"));
        let out = stdout(
            bin()
                .arg("convert")
                .arg(book_pickle())
                .args(["--quantize", flavour, "-o"])
                .arg(&blob),
        );
        assert!(out.contains(&format!("bytes: {bytes}")), "{flavour}: {out}");
        assert_eq!(
            out.contains("input pairs: layers 0, 1 (the others as rows"),
            flavour == "int8-dsp",
            "{out}"
        );
        let out = stdout(bin().arg("inspect").arg(&blob));
        assert!(
            out.contains(&format!("layer 0: 784×50 sigmoid {element}")),
            "{flavour}: {out}"
        );
        assert!(out.contains("ram: 190 bytes"), "{flavour}: {out}");
        if flavour == "int8-dsp" {
            assert!(out.contains("layer 1: 50×100 sigmoid int8 (in input pairs)  q:"));
            assert!(out.contains("layer 2: 100×10 softmax int8  q:"), "{out}");
        }
        let out = stdout(bin().arg("eval").arg(&blob));
        assert!(
            out.contains("accuracy: 0.9352 (9352/10000)\n"),
            "{flavour}: {out}"
        );
        assert!(out.contains("agreement: 9995/10000\n"), "{flavour}: {out}");
    }
    let err = stderr_of_failure(
        bin()
            .arg("convert")
            .arg(book_pickle())
            .args(["--quantize", "int4", "-o"])
            .arg(&blob),
    );
    assert!(err.contains("invalid value 'int4'"), "{err}");
}
