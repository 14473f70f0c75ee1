//! From the book's pickled weights to a scratchnet model blob.

use crate::pickle::{self, ArrayDict, PickleError};
use scratchnet::{Activation, LayerSpec, MAX_LAYERS, Shape, Weights};
use std::path::Path;

/// What went wrong converting a pickle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The pickle itself could not be read.
    #[error(transparent)]
    Pickle(#[from] PickleError),
    /// A key the network needs is absent.
    #[error("missing key '{key}' (the pickle has: {found})")]
    MissingKey {
        /// The absent key.
        key: String,
        /// The array keys present, comma-separated.
        found: String,
    },
    /// An array has the wrong shape.
    #[error("'{key}' has shape {found}, expected {expected}")]
    BadShape {
        /// The key of the array.
        key: String,
        /// What the chain of layers requires.
        expected: String,
        /// What the pickle holds.
        found: String,
    },
    /// The pickle holds no `W1`.
    #[error("no layers: the pickle has no 'W1' (it has: {found})")]
    NoLayers {
        /// The array keys present, comma-separated.
        found: String,
    },
    /// The core refused the layers.
    #[error("cannot write the blob: {0}")]
    Blob(scratchnet::Error),
    /// Writing the output file failed.
    #[error("cannot write {path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause (in the message, so not also a `source()`: printed once).
        cause: std::io::Error,
    },
}

/// A converted model: the blob and what went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The blob's bytes.
    pub blob: Vec<u8>,
    /// Each layer's shape and activation.
    pub layers: Vec<(Shape, Activation)>,
    /// Weights and biases in all.
    pub parameters: usize,
    /// The blob's CRC-32.
    pub crc: u32,
    /// Keys of the pickle that are not layer parameters, ignored.
    pub ignored_keys: Vec<String>,
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Builds the blob from arrays `W1, b1, …, Wn, bn` (n ≤ 8), the book's naming. Hidden layers
/// get sigmoid and the last layer softmax, as in the book's `predict`.
///
/// Each `Wk` must be 2-D, each `bk` 1-D with `Wk`'s column count, and each `Wk+1` must have
/// as many rows as `Wk` has columns. Other keys are ignored and listed.
pub fn convert_arrays(dict: &ArrayDict) -> Result<Converted, ConvertError> {
    convert_arrays_as(dict, Precision::F32)
}

/// How the converter stores weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32, as the book's numpy arrays (181 440 bytes of parameters for the MNIST network).
    #[default]
    F32,
    /// Per-output-channel symmetric int8 with f32 scales and biases
    /// ([`scratchnet::quantize`]): about a quarter of the size.
    Int8,
}

/// [`convert_arrays`] with the weights stored at `precision`.
pub fn convert_arrays_as(
    dict: &ArrayDict,
    precision: Precision,
) -> Result<Converted, ConvertError> {
    let found = || {
        dict.arrays
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let index_of = |key: &str| -> Option<usize> {
        let rest = key.strip_prefix('W').or_else(|| key.strip_prefix('b'))?;
        let k: usize = rest.parse().ok()?;
        (1..=MAX_LAYERS).contains(&k).then_some(k)
    };
    let n = dict
        .arrays
        .iter()
        .filter_map(|(k, _)| index_of(k))
        .max()
        .ok_or_else(|| ConvertError::NoLayers { found: found() })?;
    let get = |key: String| {
        dict.get(&key).ok_or_else(|| ConvertError::MissingKey {
            key,
            found: found(),
        })
    };
    let mut layers = Vec::with_capacity(n);
    let mut previous: Option<usize> = None;
    for k in 1..=n {
        let w = get(format!("W{k}"))?;
        let b = get(format!("b{k}"))?;
        let (rows, cols) = match (w.shape.as_slice(), previous) {
            (&[r, c], Some(p)) if r == p => (r, c),
            (&[r, c], None) => (r, c),
            (s, p) => {
                let expected = match p {
                    Some(p) => format!("({p}, N) (its rows must equal W{}'s columns)", k - 1),
                    None => "(inputs, outputs)".into(),
                };
                return Err(ConvertError::BadShape {
                    key: format!("W{k}"),
                    expected,
                    found: shape_text(s),
                });
            }
        };
        if b.shape != [cols] {
            return Err(ConvertError::BadShape {
                key: format!("b{k}"),
                expected: format!("({cols},) (the columns of W{k} {})", shape_text(&w.shape)),
                found: shape_text(&b.shape),
            });
        }
        previous = Some(cols);
        let too_big = |_| ConvertError::Blob(scratchnet::Error::BadLength { layer: k - 1 });
        layers.push((
            Shape {
                inputs: u32::try_from(rows).map_err(too_big)?,
                outputs: u32::try_from(cols).map_err(too_big)?,
            },
            if k == n {
                Activation::Softmax
            } else {
                Activation::Sigmoid
            },
            w,
            b,
        ));
    }
    let quantized: Vec<(Vec<i8>, Vec<f32>)> = match precision {
        Precision::F32 => Vec::new(),
        Precision::Int8 => layers
            .iter()
            .map(|(shape, _, w, _)| {
                let mut values = vec![0i8; w.data.len()];
                let mut scales = vec![0.0f32; shape.outputs as usize];
                scratchnet::quantize(&w.data, *shape, &mut values, &mut scales)
                    .map(|()| (values, scales))
                    .map_err(ConvertError::Blob)
            })
            .collect::<Result<_, _>>()?,
    };
    let specs: Vec<LayerSpec<'_>> = layers
        .iter()
        .enumerate()
        .map(|(k, (shape, activation, w, b))| LayerSpec {
            shape: *shape,
            activation: *activation,
            weights: match quantized.get(k) {
                Some((values, scales)) => Weights::I8 { values, scales },
                None => Weights::F32(&w.data),
            },
            biases: &b.data,
        })
        .collect();
    let len = scratchnet::encoded_len(&specs).map_err(ConvertError::Blob)?;
    let mut blob = vec![0; len];
    scratchnet::encode(&specs, &mut blob).map_err(ConvertError::Blob)?;
    let (parameters, crc) = {
        let model = scratchnet::Model::from_bytes(&blob).map_err(ConvertError::Blob)?;
        (model.parameter_count(), model.crc())
    };
    let used: Vec<String> = (1..=n)
        .flat_map(|k| [format!("W{k}"), format!("b{k}")])
        .collect();
    let ignored_keys = dict
        .arrays
        .iter()
        .map(|(k, _)| k.clone())
        .chain(dict.other_keys.iter().cloned())
        .filter(|k| !used.contains(k))
        .collect();
    Ok(Converted {
        layers: layers.iter().map(|(s, a, _, _)| (*s, *a)).collect(),
        blob,
        parameters,
        crc,
        ignored_keys,
    })
}

/// Reads a pickle's bytes and converts them ([`pickle::read_arrays`], [`convert_arrays`]).
pub fn convert_pickle(pickle_bytes: &[u8]) -> Result<Converted, ConvertError> {
    convert_pickle_as(pickle_bytes, Precision::F32)
}

/// [`convert_pickle`] with the weights stored at `precision`.
pub fn convert_pickle_as(
    pickle_bytes: &[u8],
    precision: Precision,
) -> Result<Converted, ConvertError> {
    convert_arrays_as(&pickle::read_arrays(pickle_bytes)?, precision)
}

/// Writes `bytes` to `path` atomically: into a temporary file beside it, then renamed over
/// it. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ConvertError> {
    use std::io::Write;
    let io = |cause| ConvertError::Io {
        path: path.display().to_string(),
        cause,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::Array;

    fn arr(shape: &[usize]) -> Array {
        Array {
            shape: shape.to_vec(),
            data: (0..shape.iter().product::<usize>())
                .map(|i| i as f32 / 8.0)
                .collect(),
        }
    }

    fn dict(entries: &[(&str, &[usize])]) -> ArrayDict {
        ArrayDict {
            arrays: entries
                .iter()
                .map(|(k, s)| (k.to_string(), arr(s)))
                .collect(),
            other_keys: vec!["meta".into()],
        }
    }

    #[test]
    fn a_two_layer_network_with_extra_keys() {
        let d = dict(&[
            ("W1", &[4, 3]),
            ("b1", &[3]),
            ("W2", &[3, 2]),
            ("b2", &[2]),
            ("extra", &[7]),
        ]);
        let c = convert_arrays(&d).unwrap();
        assert_eq!(
            c.layers,
            [
                (
                    Shape {
                        inputs: 4,
                        outputs: 3
                    },
                    Activation::Sigmoid
                ),
                (
                    Shape {
                        inputs: 3,
                        outputs: 2
                    },
                    Activation::Softmax
                )
            ]
        );
        assert_eq!(c.parameters, 12 + 3 + 6 + 2);
        assert_eq!(c.ignored_keys, ["extra", "meta"]);
        let m = scratchnet::Model::from_bytes(&c.blob).unwrap();
        assert!(m.layers()[1].weights().iter().eq(arr(&[3, 2]).data));
    }

    #[test]
    fn shape_errors_name_the_key_and_both_shapes() {
        let e = convert_arrays(&dict(&[
            ("W1", &[4, 3]),
            ("b1", &[3]),
            ("W2", &[5, 2]),
            ("b2", &[2]),
        ]))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "'W2' has shape (5, 2), expected (3, N) (its rows must equal W1's columns)"
        );
        let e = convert_arrays(&dict(&[("W1", &[4, 3]), ("b1", &[4])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "'b1' has shape (4,), expected (3,) (the columns of W1 (4, 3))"
        );
        let e = convert_arrays(&dict(&[("W1", &[4, 3, 1]), ("b1", &[3])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "'W1' has shape (4, 3, 1), expected (inputs, outputs)"
        );
        let e =
            convert_arrays(&dict(&[("W1", &[4, 3]), ("W2", &[3, 2]), ("b2", &[2])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "missing key 'b1' (the pickle has: W1, W2, b2)"
        );
    }

    #[test]
    fn atomic_write_leaves_nothing_on_failure() {
        let dir = std::env::temp_dir().join(format!("scratchnet-aw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A directory in the way of the rename: the write fails and cleans up.
        let target = dir.join("taken");
        std::fs::create_dir_all(target.join("inner")).unwrap();
        assert!(write_atomically(&target, b"x").is_err());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["taken"]);
        let ok = dir.join("ok.bin");
        write_atomically(&ok, b"abc").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Deterministic pseudo-random weights in [-0.5, 0.5).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// Issue 6: another MLP shape, a 784-100-10 two-layer network (keys W1, b1, W2, b2),
    /// converts and runs on the host with the core's run-time-shaped model; the result is
    /// the plain forward pass computed here by hand, bit for bit.
    #[test]
    fn a_784_100_10_network_converts_and_runs() {
        let (w1, b1) = (values(784 * 100, 1), values(100, 2));
        let (w2, b2) = (values(100 * 10, 3), values(10, 4));
        let pkl = crate::pickle::tests::dict_pickle(&[
            ("W1", &[784, 100], &w1),
            ("b1", &[100], &b1),
            ("W2", &[100, 10], &w2),
            ("b2", &[10], &b2),
        ]);
        let c = convert_pickle(&pkl).unwrap();
        assert_eq!(
            c.layers,
            [
                (
                    Shape {
                        inputs: 784,
                        outputs: 100
                    },
                    Activation::Sigmoid
                ),
                (
                    Shape {
                        inputs: 100,
                        outputs: 10
                    },
                    Activation::Softmax
                )
            ]
        );
        let model = scratchnet::Model::from_bytes(&c.blob).unwrap();
        // The typed three-layer MNIST view refuses it, naming the count.
        assert_eq!(
            scratchnet::Mnist::from_model(&model).unwrap_err(),
            scratchnet::Error::WrongLayerCount {
                expected: 3,
                found: 2
            }
        );
        let image: Vec<u8> = (0..784).map(|i| ((i * 37) % 256) as u8).collect();
        let mut scratch = vec![0.0; model.scratch_len()];
        let mut out = [0.0; 10];
        model.logits_pixels(&image, &mut scratch, &mut out).unwrap();

        let x: Vec<f32> = image.iter().map(|&p| f32::from(p) / 255.0).collect();
        let mut z1 = [0f32; 100];
        for (j, z) in z1.iter_mut().enumerate() {
            let mut a = 0.0;
            for (i, xi) in x.iter().enumerate() {
                if *xi != 0.0 {
                    a += xi * w1[i * 100 + j];
                }
            }
            *z = scratchnet::sigmoid(a + b1[j]);
        }
        let mut want = [0f32; 10];
        for (k, y) in want.iter_mut().enumerate() {
            let mut a = 0.0;
            for (j, zj) in z1.iter().enumerate() {
                a += zj * w2[j * 10 + k];
            }
            *y = a + b2[k];
        }
        assert_eq!(out, want);
    }

    /// Issue 6: the hostile and unusual pickle matrix. Each stream is either converted (and
    /// its W1 read as 0, 1, 2, …) or refused with an error naming the problem.
    #[test]
    fn hostile_and_unusual_pickles() {
        use crate::pickle::tests::{P, Spec, dict_pickle, frombuffer_pickle, reconstruct_pickle};
        let c_f4 = Spec {
            shape: [2, 3],
            f8: false,
            big: false,
            fortran: false,
        };
        let b1 = |mut pkl: Vec<u8>| {
            // Append "b1" (3 zeros) to a one-array dict by splicing a second entry before
            // SETITEMS: both dicts are built the same way.
            let extra = dict_pickle(&[("b1", &[3], &[0.0; 3])]);
            let mut entry = extra[4..extra.len() - 2].to_vec(); // between "}(" and "u."
            if pkl.ends_with(b"s.") {
                entry.push(b's'); // a stream that sets its one item with SETITEM
                let at = pkl.len() - 1;
                pkl.splice(at..at, entry);
            } else {
                let at = pkl.len() - 2;
                pkl.splice(at..at, entry);
            }
            pkl
        };
        let ok: Vec<(&str, Vec<u8>)> = vec![
            (
                "protocol 2 (_codecs.encode)",
                b1(reconstruct_pickle(2, c_f4, false)),
            ),
            ("protocol 3", b1(reconstruct_pickle(3, c_f4, false))),
            ("protocol 4", b1(reconstruct_pickle(4, c_f4, false))),
            (
                "protocol 5 (_frombuffer)",
                b1(frombuffer_pickle(c_f4, false)),
            ),
            ("numpy 2 module path", b1(reconstruct_pickle(4, c_f4, true))),
            (
                "float64, big-endian, Fortran order",
                b1(reconstruct_pickle(
                    3,
                    Spec {
                        f8: true,
                        big: true,
                        fortran: true,
                        ..c_f4
                    },
                    false,
                )),
            ),
        ];
        for (name, pkl) in ok {
            let c = convert_pickle(&pkl).unwrap_or_else(|e| panic!("{name}: {e}"));
            let m = scratchnet::Model::from_bytes(&c.blob).unwrap();
            assert!(
                m.layers()[0]
                    .weights()
                    .iter()
                    .eq([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
                "{name}"
            );
        }
        // OrderedDict with an extra key: converted, the key ignored.
        let mut od = b1(reconstruct_pickle(3, c_f4, false));
        let head = P::default()
            .global("collections", "OrderedDict")
            .op(b")R")
            .0;
        od.splice(2..3, head);
        let extra = dict_pickle(&[("extra", &[1], &[9.0])]);
        let at = od.len() - 2;
        od.splice(at..at, extra[4..extra.len() - 2].iter().copied());
        assert_eq!(convert_pickle(&od).unwrap().ignored_keys, ["extra"]);

        let good = dict_pickle(&[("W1", &[2, 3], &[0.0; 6]), ("b1", &[3], &[0.0; 3])]);
        let mut nan = good.clone();
        let at = nan.len() - 4 - 12; // the first bias value: 3 floats, then "tbu."
        nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        let mut inf = good.clone();
        inf[at + 4..at + 8].copy_from_slice(&f32::INFINITY.to_le_bytes());
        let mut deep = P::default().proto(2).op(b")");
        for _ in 0..10_000 {
            deep = deep.op(&[0x85]);
        }
        let bad: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "missing key",
                dict_pickle(&[("W1", &[2, 3], &[0.0; 6])]),
                "missing key 'b1'",
            ),
            (
                "wrong shape",
                dict_pickle(&[("W1", &[2, 3], &[0.0; 6]), ("b1", &[2], &[0.0; 2])]),
                "'b1' has shape (2,), expected (3,)",
            ),
            (
                "NaN",
                nan,
                "array 'b1' holds a NaN or infinite value at flat index 0",
            ),
            (
                "infinity",
                inf,
                "array 'b1' holds a NaN or infinite value at flat index 1",
            ),
            (
                "truncated before STOP",
                good[..good.len() - 1].to_vec(),
                "pickle is truncated: the STOP opcode",
            ),
            (
                "truncated inside the data",
                good[..good.len() / 2].to_vec(),
                "but only 16 remain",
            ),
            (
                "top level not a dict",
                P::default().proto(2).op(b"]").op(b".").0,
                "top-level object is a list",
            ),
            (
                "os.system",
                P::default().proto(2).global("os", "system").op(b")R.").0,
                "forbidden global os.system",
            ),
            (
                "builtins.eval",
                P::default()
                    .proto(4)
                    .stack_global("builtins", "eval")
                    .op(b")R.")
                    .0,
                "forbidden global builtins.eval",
            ),
            (
                "subprocess.Popen",
                P::default()
                    .proto(3)
                    .global("subprocess", "Popen")
                    .op(b")R.")
                    .0,
                "forbidden global subprocess.Popen",
            ),
            (
                "posix.system",
                P::default().proto(2).global("posix", "system").op(b")R.").0,
                "forbidden global posix.system",
            ),
            ("deep nesting", deep.op(b".").0, "deeper than 100 levels"),
            (
                "huge declared length",
                P::default()
                    .proto(4)
                    .op(b"B")
                    .op(&u32::MAX.to_le_bytes())
                    .op(b"x")
                    .0,
                "declares 4294967295 bytes at byte 2, but only 1 remain",
            ),
        ];
        for (name, pkl, want) in bad {
            let e = convert_pickle(&pkl).unwrap_err().to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
    }
}
