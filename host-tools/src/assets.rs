//! Files a firmware build script needs: the model blob converted from the book's pickle, and
//! test images as raw bytes. Used by `firmware/build.rs` and the board's `build.rs`.

use crate::pickle::{Array, ArrayDict};
use crate::{convert, data, idx};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The MNIST test set, as read through the data rule from `start`.
pub struct TestSet {
    /// The images, 28 × 28 u8 each.
    pub images: Vec<[u8; idx::PIXELS]>,
    /// Their labels.
    pub labels: Vec<u8>,
    /// numpy's predictions for them, when the data folder has them
    /// (`scripts/make_reference.py` writes them).
    pub reference: Option<Vec<u8>>,
}

/// Finds `file` by the data rule from `start` and tells cargo to rebuild when it changes.
pub fn find(start: &Path, file: &str) -> Result<PathBuf, String> {
    let p = data::find_from(start, file).map_err(|e| e.to_string())?;
    // Cargo directives for a build script; from a tool with a closed stdout, nothing.
    let _ = writeln!(std::io::stdout(), "cargo:rerun-if-changed={}", p.display());
    Ok(p)
}

/// Converts the book's pickle into `out/mnist.scnt` (and tells cargo when to redo it).
pub fn write_model(start: &Path, out: &Path) -> Result<(), String> {
    write_model_as(start, &out.join("mnist.scnt"), convert::Precision::F32).map(|_| ())
}

/// Converts the book's pickle at `precision` into the file `path`, and returns the blob.
pub fn write_model_as(
    start: &Path,
    path: &Path,
    precision: convert::Precision,
) -> Result<Vec<u8>, String> {
    let _ = writeln!(
        std::io::stdout(),
        "cargo:rerun-if-env-changed={}",
        data::ENV
    );
    let pickle = std::fs::read(find(start, data::WEIGHTS)?).map_err(|e| e.to_string())?;
    let model = convert::convert_pickle_as(&pickle, precision).map_err(|e| e.to_string())?;
    write_if_changed(path, &model.blob)?;
    Ok(model.blob)
}

/// Reads the MNIST test set by the data rule, and numpy's predictions when they are there
/// (a build without them says so on cargo's output and goes on).
pub fn test_set(start: &Path) -> Result<TestSet, String> {
    let images = idx::read_images(&find(start, data::TEST_IMAGES)?).map_err(|e| e.to_string())?;
    let labels = idx::read_labels(&find(start, data::TEST_LABELS)?).map_err(|e| e.to_string())?;
    let reference = match find(start, data::REFERENCE_PREDICTIONS) {
        Ok(p) => Some(std::fs::read(p).map_err(|e| e.to_string())?),
        Err(e) => {
            let _ = writeln!(
                std::io::stdout(),
                "cargo:warning=agreement with numpy will not be checked: {e}"
            );
            None
        }
    };
    if images.len() != labels.len() || reference.as_ref().is_some_and(|r| r.len() != labels.len()) {
        return Err("the test images, labels and reference predictions differ in count".into());
    }
    Ok(TestSet {
        images,
        labels,
        reference,
    })
}

/// Writes `bytes` to `path` unless it already holds them (so cargo does not rebuild).
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// `static const float NAME[N] = { … };` for a C header (the peers' harnesses), eight values
/// a line, each printed with the shortest digits that read back to the same f32.
pub fn c_floats(name: &str, values: &[f32]) -> String {
    use std::fmt::Write as _;
    let mut h = format!("static const float {name}[{}] = {{", values.len());
    for (k, x) in values.iter().enumerate() {
        if k % 8 == 0 {
            h.push_str("\n   ");
        }
        let _ = write!(h, " {x:e}f,");
    }
    h.push_str("\n};\n");
    h
}

/// A C array of integers `ctype name[n]`, 4-byte aligned (a kernel may read it a word at a
/// time), for the peers' harnesses.
pub fn c_ints<T: std::fmt::Display>(ctype: &str, name: &str, values: &[T]) -> String {
    use std::fmt::Write as _;
    let mut h = format!(
        "static const {ctype} {name}[{}] __attribute__((aligned(4))) = {{",
        values.len()
    );
    for (k, x) in values.iter().enumerate() {
        if k % 16 == 0 {
            h.push_str("\n   ");
        }
        let _ = write!(h, " {x},");
    }
    h.push_str("\n};\n");
    h
}

/// Layer `k` (1–3) of the book's pickle: `W{k}` (`inputs × outputs`) and `b{k}`, with
/// `(inputs, outputs)`; an error naming the array that is missing or not 2-D.
pub fn book_layer(arrays: &ArrayDict, k: usize) -> Result<(&Array, &Array, usize, usize), String> {
    let (Some(w), Some(b)) = (arrays.get(&format!("W{k}")), arrays.get(&format!("b{k}"))) else {
        return Err(format!("the pickle has no W{k}/b{k}"));
    };
    let [inputs, outputs] = w.shape[..] else {
        return Err(format!("W{k} is not 2-D"));
    };
    Ok((w, b, inputs, outputs))
}

#[cfg(test)]
mod tests {
    #[test]
    fn c_floats_reads_back_to_the_same_f32() {
        let values = [1.0f32, -0.1, 3.4028235e38, 1e-45, 0.33333334];
        let h = super::c_floats("w", &values);
        assert!(
            h.starts_with("static const float w[5] = {\n    1e0f, -1e-1f,"),
            "{h}"
        );
        let body = &h[h.find('{').unwrap() + 1..h.rfind('}').unwrap()];
        let back: Vec<f32> = body
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.trim_end_matches('f').parse().unwrap())
            .collect();
        assert_eq!(back, values);
    }

    #[test]
    fn c_ints_writes_every_value_in_order() {
        let values: Vec<i32> = (-20..20).map(|v| v * 1_000_003).collect();
        let h = super::c_ints("int32_t", "m", &values);
        assert!(h.starts_with("static const int32_t m[40] __attribute__((aligned(4))) = {"));
        assert!(h.ends_with("\n};\n"));
        let body = &h[h.find('{').unwrap() + 1..h.rfind('}').unwrap()];
        let back: Vec<i32> = body
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(back, values);
    }
}
