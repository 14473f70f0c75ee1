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
    assert!(out.contains("format: scratchnet blob, version 1"), "{out}");
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
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let target = out.join("m.scnt");
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "missing.pkl",
            renamed("b3", "c3"),
            "missing key 'b3' (the pickle has: b2, W1, b1, W2, W3, c3)",
        ),
        ("renamed.pkl", renamed("b2", "bX"), "missing key 'b2'"),
        (
            "garbage.pkl",
            b"this is not a pickle".to_vec(),
            "malformed pickle at byte 0: no mark on the stack",
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
        err.contains("'b2' has shape (10,), expected (100,) (the columns of W2 (50, 100))"),
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
        err.contains("no layers: the pickle has no 'W1' (it has: b2, XY, b1, W2, b3, W3)")
            || err.contains("missing key 'W1'"),
        "{err}"
    );
}

#[test]
fn missing_data_files_are_a_clear_error() {
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
}

#[test]
fn show_draws_a_digit() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("d.png");
    let out = stdout(bin().args(["show", "--index", "0", "-o"]).arg(&png));
    assert!(out.contains("image 0: label 7 prediction 7"), "{out}");
    assert!(out.contains("@@"), "{out}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: 280 × 280.
    assert_eq!(&bytes[16..24], &[0, 0, 1, 24, 0, 0, 1, 24]);
    let err = stderr_of_failure(bin().args(["show", "--index", "10000"]));
    assert!(err.contains("out of range"), "{err}");
}

#[test]
fn plot_activations_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.png");
    stdout(bin().args(["plot", "activations", "-o"]).arg(&png));
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    let svg = dir.path().join("a.svg");
    stdout(bin().args(["plot", "activations", "-o"]).arg(&svg));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(text.matches("<polyline").count(), 3);
    assert!(text.contains(">sigmoid<"));
    let err = stderr_of_failure(
        bin()
            .args(["plot", "activations", "-o"])
            .arg(dir.path().join("a.jpg")),
    );
    assert!(err.contains("must end in .png or .svg"), "{err}");
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
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("mnist-int8.scnt");
    let out = stdout(
        bin()
            .arg("convert")
            .arg(book_pickle())
            .args(["--quantize", "int8", "-o"])
            .arg(&blob),
    );
    assert!(out.contains("bytes: 46712"), "{out}");
    let out = stdout(bin().arg("inspect").arg(&blob));
    assert!(out.contains("layer 0: 784×50 sigmoid int8"), "{out}");
    assert!(out.contains("ram: 190 bytes"), "{out}");
    let out = stdout(bin().arg("eval").arg(&blob));
    assert!(out.contains("accuracy: 0.9352 (9352/10000)\n"), "{out}");
    assert!(out.contains("agreement: 9995/10000\n"), "{out}");
    let err = stderr_of_failure(
        bin()
            .arg("convert")
            .arg(book_pickle())
            .args(["--quantize", "int4", "-o"])
            .arg(&blob),
    );
    assert!(err.contains("invalid value 'int4'"), "{err}");
}
