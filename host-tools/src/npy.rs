//! numpy's `.npy` arrays (read with the `npyz` crate) and `.npz` archives of them (a zip,
//! read with the `zip` crate): weights for the converter, inputs, labels and reference
//! predictions for `eval` and `predict`. Nothing in a file is executed; object arrays,
//! structured arrays and other dtypes are refused by name.

use crate::pickle::{Array, ArrayDict};
use npyz::{DType, NpyFile, Order, TypeChar};
use std::io::Read;

/// What went wrong reading a `.npy` or `.npz`.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {problem}")]
pub struct NpyError {
    /// The file, or the archive member.
    pub what: String,
    /// What is wrong.
    pub problem: String,
}

fn err(what: &str, problem: impl Into<String>) -> NpyError {
    NpyError {
        what: what.into(),
        problem: problem.into(),
    }
}

/// `true` for bytes that start like a `.npy` file.
pub fn is_npy(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x93NUMPY")
}

/// `true` for bytes that start like a zip archive (what `np.savez` writes).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The numbers of a numeric `.npy`, widened to f64, with its shape, in row-major order
/// (Fortran-ordered 2-D arrays are transposed into it).
fn numbers(bytes: &[u8], what: &str) -> Result<(Vec<usize>, Vec<f64>), NpyError> {
    let npy = NpyFile::new(bytes).map_err(|e| err(what, format!("not a valid .npy: {e}")))?;
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| err(what, "a dimension is too large")))
        .collect::<Result<_, _>>()?;
    let fortran = npy.order() == Order::Fortran;
    let DType::Plain(ts) = npy.dtype() else {
        return Err(err(
            what,
            format!(
                "dtype {} is a structured or nested array; save plain numbers",
                npy.dtype().descr()
            ),
        ));
    };
    let count: usize = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| err(what, "too many values"))?;
    // The header promises `count` values: the file must hold them before anything is
    // allocated for them.
    let size = usize::try_from(ts.size_field()).unwrap_or(usize::MAX);
    if count.checked_mul(size).is_none_or(|n| n > bytes.len()) {
        return Err(err(
            what,
            format!("the header promises {count} values of {size} bytes, more than the file holds"),
        ));
    }
    let io = |e: std::io::Error| err(what, format!("cannot read the values: {e}"));
    let values: Vec<f64> = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => npy
            .into_vec::<f32>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Float, 8) => npy.into_vec::<f64>().map_err(io)?,
        (TypeChar::Float, 2) => npy
            .into_vec::<half::f16>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Uint, 1) => npy
            .into_vec::<u8>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Uint, 2) => npy
            .into_vec::<u16>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Uint, 4) => npy
            .into_vec::<u32>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Uint, 8) => npy
            .into_vec::<u64>()
            .map_err(io)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        (TypeChar::Int, 1) => npy
            .into_vec::<i8>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Int, 2) => npy
            .into_vec::<i16>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Int, 4) => npy
            .into_vec::<i32>()
            .map_err(io)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Int, 8) => npy
            .into_vec::<i64>()
            .map_err(io)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        (TypeChar::Object, _) => {
            return Err(err(
                what,
                "dtype 'O' holds Python objects, which are never loaded; save a float array",
            ));
        }
        _ => {
            return Err(err(
                what,
                format!("dtype '{ts}' is not supported (float16/32/64 or integers)"),
            ));
        }
    };
    if values.len() != count {
        return Err(err(what, "the values do not fill the shape"));
    }
    let values = match (fortran, shape.as_slice()) {
        (true, &[rows, cols]) => (0..rows * cols)
            .map(|k| values[(k % cols) * rows + k / cols])
            .collect(),
        (true, s) if s.len() > 2 => {
            return Err(err(what, "Fortran order is supported up to two dimensions"));
        }
        _ => values,
    };
    Ok((shape, values))
}

/// A float array from a `.npy` (float16/32/64; integers are refused as weights).
pub fn read_array(bytes: &[u8], what: &str) -> Result<Array, NpyError> {
    let npy = NpyFile::new(bytes).map_err(|e| err(what, format!("not a valid .npy: {e}")))?;
    if let DType::Plain(ts) = npy.dtype()
        && matches!(ts.type_char(), TypeChar::Int | TypeChar::Uint)
    {
        return Err(err(
            what,
            format!("dtype '{ts}' is an integer array; weights must be floats"),
        ));
    }
    let (shape, values) = numbers(bytes, what)?;
    Ok(Array {
        shape,
        data: values.into_iter().map(|v| v as f32).collect(),
    })
}

/// The arrays of an `.npz` archive (`np.savez` / `np.savez_compressed`), named by their
/// member names without `.npy`, in archive order. Members that are not `.npy` are listed
/// in `other_keys`.
pub fn read_npz(bytes: &[u8], what: &str) -> Result<ArrayDict, NpyError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| err(what, format!("not a readable zip (.npz) archive: {e}")))?;
    let mut out = ArrayDict::default();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| err(what, format!("member {i}: {e}")))?;
        let name = member
            .name()
            .map_err(|e| err(what, format!("member {i}'s name: {e}")))?
            .to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            out.other_keys.push(name);
            continue;
        };
        let label = format!("{what}: {name}");
        // A member's declared size bounds what is read (a zip bomb cannot fill memory).
        const LIMIT: u64 = 1 << 30;
        if member.size() > LIMIT {
            return Err(err(&label, "larger than 1 GiB"));
        }
        let mut data = Vec::with_capacity(member.size() as usize);
        (&mut member)
            .take(LIMIT)
            .read_to_end(&mut data)
            .map_err(|e| err(&label, format!("cannot decompress: {e}")))?;
        out.arrays
            .push((key.to_string(), read_array(&data, &label)?));
    }
    Ok(out)
}

/// An `N × width` matrix of inputs from a `.npy`: float32/float64 as they are, uint8 read
/// as `/255` (the book's `normalize=True`). A 1-D array is one row. Returns the rows'
/// width and the values, row-major.
pub fn read_inputs(bytes: &[u8], what: &str) -> Result<(usize, Vec<f32>), NpyError> {
    let npy = NpyFile::new(bytes).map_err(|e| err(what, format!("not a valid .npy: {e}")))?;
    let byte_pixels = matches!(npy.dtype(), DType::Plain(ts) if ts.type_char() == TypeChar::Uint && ts.size_field() == 1);
    let (shape, values) = numbers(bytes, what)?;
    let width = match shape.as_slice() {
        [w] => *w,
        [_, w] => *w,
        [n, rest @ ..] => rest.iter().product::<usize>().max(usize::from(*n == 0)),
        [] => return Err(err(what, "a scalar, not inputs")),
    };
    let values = values
        .into_iter()
        .map(|v| {
            if byte_pixels {
                scratchnet::normalize_pixel(v as u8)
            } else {
                v as f32
            }
        })
        .collect::<Vec<f32>>();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(err(what, format!("value {i} is not finite")));
    }
    Ok((width, values))
}

/// An `N × width` matrix of int8 values from a `.npy` of dtype int8 exactly (a TFLite int8
/// model's inputs, taken as given). A 1-D array is one row.
pub fn read_int8(bytes: &[u8], what: &str) -> Result<(usize, Vec<i8>), NpyError> {
    let npy = NpyFile::new(bytes).map_err(|e| err(what, format!("not a valid .npy: {e}")))?;
    if !matches!(npy.dtype(), DType::Plain(ts) if ts.type_char() == TypeChar::Int && ts.size_field() == 1)
    {
        return Err(err(
            what,
            format!(
                "dtype {} is not int8: a TFLite int8 model takes int8 inputs, quantized as its input tensor says (q = round(x / scale) + zero_point)",
                npy.dtype().descr()
            ),
        ));
    }
    let (shape, values) = numbers(bytes, what)?;
    let width = match shape.as_slice() {
        [w] | [_, w] => *w,
        _ => return Err(err(what, format!("shape {shape:?} is not N × inputs"))),
    };
    Ok((width, values.into_iter().map(|v| v as i8).collect()))
}

/// A vector of class indices from a `.npy` of integers (any width, signed or not).
pub fn read_classes(bytes: &[u8], what: &str) -> Result<Vec<usize>, NpyError> {
    let npy = NpyFile::new(bytes).map_err(|e| err(what, format!("not a valid .npy: {e}")))?;
    if !matches!(npy.dtype(), DType::Plain(ts) if matches!(ts.type_char(), TypeChar::Int | TypeChar::Uint))
    {
        return Err(err(
            what,
            format!(
                "dtype {} is not an integer class vector",
                npy.dtype().descr()
            ),
        ));
    }
    let (shape, values) = numbers(bytes, what)?;
    if shape.len() != 1 {
        return Err(err(
            what,
            format!("shape {shape:?} is not a vector of class indices"),
        ));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v >= 0.0 && v <= usize::MAX as f64 {
                Ok(v as usize)
            } else {
                Err(err(what, format!("entry {i} is {v}, not a class index")))
            }
        })
        .collect()
}

/// A `.npy` of `values` (little-endian), 1-D when `width` is `None`, else `N × width`.
pub fn write<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    values: &[T],
    width: Option<usize>,
) -> Result<Vec<u8>, NpyError> {
    let shape = match width {
        Some(w) => vec![(values.len() / w.max(1)) as u64, w as u64],
        None => vec![values.len() as u64],
    };
    let mut out = Vec::new();
    {
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut out)
            .begin_nd()
            .map_err(|e| err("output", e.to_string()))?;
        w.extend(values.iter().copied())
            .map_err(|e| err("output", e.to_string()))?;
        w.finish().map_err(|e| err("output", e.to_string()))?;
    }
    Ok(out)
}
