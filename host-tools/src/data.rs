//! Where the data lives: one rule for every tool and test.
//!
//! The data folder is, in order:
//!
//! 1. `$SCRATCHNET_DATA`, when that variable is set (it must then hold the files);
//! 2. otherwise the first of `data/` and `../shared/data/` that exists, looked for in the
//!    current directory and then in each of its parents.
//!
//! The files are never part of the repository.

use std::path::{Path, PathBuf};

/// The book's trained weights.
pub const WEIGHTS: &str = "sample_weight.pkl";
/// The MNIST test images (idx3, gzip).
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
/// The MNIST test labels (idx1, gzip).
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";
/// numpy's argmax for every test image.
pub const REFERENCE_PREDICTIONS: &str = "reference_predictions.u8";
/// numpy's output-layer values before softmax, 10 000 × 10 little-endian f32.
pub const REFERENCE_LOGITS: &str = "reference_logits.f32le";
/// The environment variable that names the data folder.
pub const ENV: &str = "SCRATCHNET_DATA";

/// A data file that could not be found.
#[derive(Debug, thiserror::Error)]
#[error(
    "{file} not found: looked in {looked}. Set {ENV} to the folder that holds the data \
     (see the README's 'Data' section)"
)]
pub struct NotFound {
    /// The file looked for.
    pub file: String,
    /// Where it was looked for.
    pub looked: String,
}

fn candidates_from(start: &Path) -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV) {
        return vec![PathBuf::from(dir)];
    }
    start
        .ancestors()
        .flat_map(|a| [a.join("data"), a.join("../shared/data")])
        .collect()
}

/// The path of `file` under the data rule, searched from the current directory.
pub fn find(file: &str) -> Result<PathBuf, NotFound> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    find_from(&cwd, file)
}

/// The path of `file` under the data rule, searched from `start`.
pub fn find_from(start: &Path, file: &str) -> Result<PathBuf, NotFound> {
    let candidates = candidates_from(start);
    for dir in &candidates {
        let p = dir.join(file);
        if p.is_file() {
            return Ok(p);
        }
    }
    let looked = if std::env::var_os(ENV).is_some() {
        format!("{ENV}={}", candidates[0].display())
    } else {
        format!(
            "data/ and ../shared/data/ in {} and its parents ({ENV} is not set)",
            start.display()
        )
    };
    Err(NotFound {
        file: file.into(),
        looked,
    })
}

/// The variable that makes a missing data file fail a test instead of skipping it
/// (`cargo xtask test` sets it).
pub const REQUIRE_ENV: &str = "SCRATCHNET_REQUIRE_DATA";

/// Every file of the data folder.
pub const ALL: [&str; 5] = [
    WEIGHTS,
    TEST_IMAGES,
    TEST_LABELS,
    REFERENCE_PREDICTIONS,
    REFERENCE_LOGITS,
];

/// For tests and benchmarks that need the data folder: `true` when every file of [`ALL`]
/// is found, else `false` after printing why the caller is skipped. With [`REQUIRE_ENV`]
/// set, a missing file panics with the same message instead, so the checks cannot
/// silently not run.
pub fn present_or_skip() -> bool {
    let Some(e) = ALL.iter().find_map(|f| find(f).err()) else {
        return true;
    };
    if std::env::var_os(REQUIRE_ENV).is_some() {
        panic!("{e} ({REQUIRE_ENV} is set: the data is required)");
    }
    // Straight to stderr: the test harness does not capture this, so the reason shows in
    // a plain `cargo test`.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped (no data): {e}");
    false
}
