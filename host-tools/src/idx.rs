//! The MNIST idx format (`t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`).
//!
//! An idx file is a big-endian header — magic `0x00000803` for images (count, rows,
//! columns) or `0x00000801` for labels (count) — followed by the u8 data. Files may be gzip
//! compressed (detected by the gzip magic).

use std::io::Read;
use std::path::Path;

/// Pixels in one image.
pub const PIXELS: usize = 28 * 28;
/// Largest decompressed file accepted (the 60 000-image training set is 47 MB).
pub const MAX_BYTES: u64 = 64 << 20;

/// What went wrong reading an idx file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdxError {
    /// The file could not be read or decompressed.
    #[error("cannot read {path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause (in the message, so not also a `source()`: printed once).
        cause: std::io::Error,
    },
    /// The magic number is not the one expected.
    #[error("{path}: magic {found:#010x}, expected {expected:#010x} ({what})")]
    BadMagic {
        /// The file.
        path: String,
        /// The magic found.
        found: u32,
        /// The magic expected.
        expected: u32,
        /// What kind of file was expected.
        what: &'static str,
    },
    /// The header or the size disagrees with the data.
    #[error("{path}: {problem}")]
    BadSize {
        /// The file.
        path: String,
        /// What disagrees.
        problem: String,
    },
}

fn read_all(path: &Path) -> Result<Vec<u8>, IdxError> {
    let io = |cause| IdxError::Io {
        path: path.display().to_string(),
        cause,
    };
    let raw = std::fs::read(path).map_err(io)?;
    decompress(&raw).map_err(io)
}

/// The bytes of an idx file, gunzipped when they start with the gzip magic; at most
/// [`MAX_BYTES`].
pub fn decompress(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(raw)
            .take(MAX_BYTES + 1)
            .read_to_end(&mut out)?;
    } else {
        out = raw.to_vec();
    }
    if out.len() as u64 > MAX_BYTES {
        return Err(std::io::Error::other("decompresses to more than 64 MiB"));
    }
    Ok(out)
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    what: &'static str,
    len: usize,
) -> Result<(), IdxError> {
    let name = path.display().to_string();
    if bytes.len() < len {
        return Err(IdxError::BadSize {
            path: name,
            problem: format!(
                "{} bytes is shorter than the {len}-byte header",
                bytes.len()
            ),
        });
    }
    let found = be32(bytes, 0);
    if found != magic {
        return Err(IdxError::BadMagic {
            path: name,
            found,
            expected: magic,
            what,
        });
    }
    Ok(())
}

/// Parses idx3 image bytes (already decompressed): 28 × 28 u8 images.
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<Vec<[u8; PIXELS]>, IdxError> {
    header(path, bytes, 0x0803, "idx3 images", 16)?;
    let (count, rows, cols) = (be32(bytes, 4), be32(bytes, 8), be32(bytes, 12));
    let bad = |problem: String| IdxError::BadSize {
        path: path.display().to_string(),
        problem,
    };
    if (rows, cols) != (28, 28) {
        return Err(bad(format!("images are {rows}×{cols}, not 28×28")));
    }
    let data = &bytes[16..];
    if (count as u64) * (PIXELS as u64) != data.len() as u64 {
        return Err(bad(format!(
            "header says {count} images ({} bytes) but {} data bytes follow",
            count as u64 * PIXELS as u64,
            data.len()
        )));
    }
    Ok(data
        .chunks_exact(PIXELS)
        .map(|c| {
            let mut img = [0; PIXELS];
            img.copy_from_slice(c);
            img
        })
        .collect())
}

/// Parses idx1 label bytes (already decompressed).
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    header(path, bytes, 0x0801, "idx1 labels", 8)?;
    let count = be32(bytes, 4) as usize;
    let data = &bytes[8..];
    if count != data.len() {
        return Err(IdxError::BadSize {
            path: path.display().to_string(),
            problem: format!("header says {count} labels but {} follow", data.len()),
        });
    }
    if let Some(i) = data.iter().position(|&l| l > 9) {
        return Err(IdxError::BadSize {
            path: path.display().to_string(),
            problem: format!("label {i} is {}, not a digit", data[i]),
        });
    }
    Ok(data.to_vec())
}

/// Reads an idx3 image file (gzip or plain).
pub fn read_images(path: &Path) -> Result<Vec<[u8; PIXELS]>, IdxError> {
    parse_images(path, &read_all(path)?)
}

/// Reads an idx1 label file (gzip or plain).
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    parse_labels(path, &read_all(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(count: u32, rows: u32, data_len: usize) -> Vec<u8> {
        let mut b = vec![0, 0, 8, 3];
        for v in [count, rows, 28] {
            b.extend(v.to_be_bytes());
        }
        b.extend((0..data_len).map(|i| i as u8));
        b
    }

    #[test]
    fn reads_images_and_checks_them() {
        let p = Path::new("x");
        let imgs = parse_images(p, &images(2, 28, 2 * PIXELS)).unwrap();
        assert_eq!(imgs.len(), 2);
        assert_eq!(imgs[1][0], (PIXELS % 256) as u8);
        assert!(matches!(
            parse_images(p, &images(3, 28, 2 * PIXELS)),
            Err(IdxError::BadSize { .. })
        ));
        assert!(matches!(
            parse_images(p, &images(2, 27, 2 * PIXELS)),
            Err(IdxError::BadSize { .. })
        ));
        assert!(matches!(
            parse_images(p, &[0, 0, 8, 1, 0, 0, 0, 0]),
            Err(IdxError::BadSize { .. })
        ));
        let mut wrong = images(1, 28, PIXELS);
        wrong[3] = 1;
        let e = parse_images(p, &wrong).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x: magic 0x00000801, expected 0x00000803 (idx3 images)"
        );
    }

    #[test]
    fn reads_labels_and_checks_them() {
        let p = Path::new("y");
        assert_eq!(
            parse_labels(p, &[0, 0, 8, 1, 0, 0, 0, 2, 7, 3]).unwrap(),
            [7, 3]
        );
        assert!(parse_labels(p, &[0, 0, 8, 1, 0, 0, 0, 3, 7, 3]).is_err());
        assert!(parse_labels(p, &[0, 0, 8, 1, 0, 0, 0, 1, 10]).is_err());
        assert!(parse_labels(p, &[0, 0, 8, 3, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn gzip_is_detected() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&[0, 0, 8, 1, 0, 0, 0, 1, 5]).unwrap();
        let gz = enc.finish().unwrap();
        let plain = decompress(&gz).unwrap();
        assert_eq!(parse_labels(Path::new("z"), &plain).unwrap(), [5]);
        assert!(decompress(&[0x1f, 0x8b, 0, 1, 2]).is_err());
    }
}
