//! Chapter 3.6: the book's MNIST network from a model blob, on the host — the same code
//! the firmware runs.
//!
//! Make the blob from the book's `sample_weight.pkl` with the `scratchnet` CLI of this
//! repository, then run the example on the MNIST test images:
//!
//! ```sh
//! cargo run --release -p scratchnet-host -- convert sample_weight.pkl -o mnist.scnt
//! cargo run --release --example mnist -- mnist.scnt t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz
//! ```

use scratchnet::Mnist;
use std::io::Read;

fn read(path: &str) -> Result<Vec<u8>, String> {
    let raw = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format!("{path}: {e}"))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [blob, images, labels] = args.as_slice() else {
        return Err("usage: mnist MODEL.scnt IMAGES-idx3[.gz] LABELS-idx1[.gz]".into());
    };
    let blob = read(blob)?;
    // Validates once (magic, version, CRC-32, shapes); the weights are read in place.
    let net = Mnist::from_blob(&blob).map_err(|e| format!("the model: {e}"))?;
    let (images, labels) = (read(images)?, read(labels)?);
    // idx files: a 16-byte header before the images, 8 bytes before the labels.
    let (Some(pixels), Some(labels)) = (images.get(16..), labels.get(8..)) else {
        return Err("the idx files are too short".into());
    };
    let images = pixels.as_chunks::<784>().0;
    if images.len() != labels.len() {
        return Err(format!("{} images, {} labels", images.len(), labels.len()));
    }
    let mut correct = 0;
    for (image, &label) in images.iter().zip(labels) {
        // u8 pixels, divided by 255 on the fly like the book's normalize=True.
        correct += usize::from(net.classify_pixels(image).class == usize::from(label));
    }
    println!(
        "accuracy: {:.4} ({correct}/{})",
        correct as f64 / images.len() as f64,
        images.len()
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
