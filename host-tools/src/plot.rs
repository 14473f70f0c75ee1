//! Pictures: a digit in the terminal and as PNG, and the activation functions as PNG or SVG.

use anyhow::{Context, Result, bail};
use image::{GrayImage, Luma, Rgb, RgbImage};
use std::path::Path;

/// A 28 × 28 image as text, two characters a pixel, darker pixels denser.
pub fn ascii_digit(img: &[u8; 784]) -> String {
    const SHADES: &[u8] = b" .:-=+*#%@";
    let mut s = String::with_capacity(28 * 57);
    for row in img.chunks_exact(28) {
        for &p in row {
            let c = SHADES[usize::from(p) * (SHADES.len() - 1) / 255] as char;
            s.push(c);
            s.push(c);
        }
        s.push('\n');
    }
    s
}

fn png_bytes<P: image::PixelWithColorType>(
    img: &image::ImageBuffer<P, Vec<P::Subpixel>>,
) -> Result<Vec<u8>>
where
    [P::Subpixel]: image::EncodableLayout,
{
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .context("cannot encode PNG")?;
    Ok(out.into_inner())
}

/// The image as a PNG, each pixel a `scale × scale` square, white digit on black like
/// the book's `mnist_show.py`.
pub fn digit_png(img: &[u8; 784], scale: u32) -> Result<Vec<u8>> {
    let out = GrayImage::from_fn(28 * scale, 28 * scale, |x, y| {
        Luma([img[(y / scale * 28 + x / scale) as usize]])
    });
    png_bytes(&out)
}

/// One panel of the activation plot.
struct Panel {
    name: &'static str,
    f: fn(f32) -> f32,
    y_min: f32,
    y_max: f32,
}

const PANELS: [Panel; 3] = [
    Panel {
        name: "step",
        f: scratchnet::step,
        y_min: -0.1,
        y_max: 1.1,
    },
    Panel {
        name: "sigmoid",
        f: scratchnet::sigmoid,
        y_min: -0.1,
        y_max: 1.1,
    },
    Panel {
        name: "ReLU",
        f: scratchnet::relu,
        y_min: -1.0,
        y_max: 5.5,
    },
];
const W: u32 = 320;
const H: u32 = 240;
const X_MIN: f32 = -5.0;
const X_MAX: f32 = 5.0;
/// The book's `np.arange(-5.0, 5.0, 0.1)`.
const STEPS: usize = 100;

fn samples(p: &Panel) -> impl Iterator<Item = (f32, f32)> + '_ {
    (0..STEPS).map(move |i| {
        let x = X_MIN + 0.1 * i as f32;
        (x, (p.f)(x))
    })
}

fn to_px(p: &Panel, x: f32, y: f32) -> (f32, f32) {
    let px = (x - X_MIN) / (X_MAX - X_MIN) * (W - 20) as f32 + 10.0;
    let py = (p.y_max - y) / (p.y_max - p.y_min) * (H - 40) as f32 + 30.0;
    (px, py)
}

fn line(img: &mut RgbImage, off: u32, a: (f32, f32), b: (f32, f32), c: Rgb<u8>, thick: i32) {
    let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    for k in 0..=n {
        let t = k as f32 / n as f32;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for dx in -thick / 2..=thick / 2 {
            for dy in -thick / 2..=thick / 2 {
                let (px, py) = (x as i32 + dx, y as i32 + dy);
                if (0..W as i32).contains(&px) && (0..H as i32).contains(&py) {
                    img.put_pixel(off + px as u32, py as u32, c);
                }
            }
        }
    }
}

fn png() -> Result<Vec<u8>> {
    let mut img = RgbImage::from_pixel(W * 3, H, Rgb([255, 255, 255]));
    let axis = Rgb([150, 150, 150]);
    let curve = Rgb([31, 119, 180]);
    for (i, p) in PANELS.iter().enumerate() {
        let off = i as u32 * W;
        line(
            &mut img,
            off,
            to_px(p, X_MIN, 0.0),
            to_px(p, X_MAX, 0.0),
            axis,
            1,
        );
        line(
            &mut img,
            off,
            to_px(p, 0.0, p.y_min),
            to_px(p, 0.0, p.y_max),
            axis,
            1,
        );
        let pts: Vec<_> = samples(p).map(|(x, y)| to_px(p, x, y)).collect();
        for w in pts.windows(2) {
            line(&mut img, off, w[0], w[1], curve, 3);
        }
    }
    png_bytes(&img)
}

fn svg() -> String {
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{H}\" \
         font-family=\"sans-serif\" font-size=\"14\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        W * 3
    );
    for (i, p) in PANELS.iter().enumerate() {
        let off = i as u32 * W;
        s += &format!("<g transform=\"translate({off},0)\">\n");
        s += &format!(
            "<text x=\"{}\" y=\"18\" text-anchor=\"middle\">{}</text>\n",
            W / 2,
            p.name
        );
        let (a, b) = (to_px(p, X_MIN, 0.0), to_px(p, X_MAX, 0.0));
        s += &format!(
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\"/>\n",
            a.0, a.1, b.0, b.1
        );
        let (a, b) = (to_px(p, 0.0, p.y_min), to_px(p, 0.0, p.y_max));
        s += &format!(
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\"/>\n",
            a.0, a.1, b.0, b.1
        );
        let pts: Vec<String> = samples(p)
            .map(|(x, y)| {
                let (px, py) = to_px(p, x, y);
                format!("{px:.1},{py:.1}")
            })
            .collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n</g>\n",
            pts.join(" ")
        );
    }
    s + "</svg>\n"
}

/// Plots step, sigmoid and ReLU on `[-5, 5)` side by side into `path` (`.png` or `.svg`),
/// written atomically.
pub fn activations(path: &Path) -> Result<()> {
    let bytes = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => png()?,
        Some("svg") => svg().into_bytes(),
        _ => bail!(
            "{}: the plot's file name must end in .png or .svg",
            path.display()
        ),
    };
    crate::convert::write_atomically(path, &bytes)?;
    println!("wrote {}", path.display());
    Ok(())
}
