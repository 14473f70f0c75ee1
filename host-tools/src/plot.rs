//! Pictures, drawn with [`plotters`] as PNG or SVG (by the file name's extension): the
//! book's activation plots, softmax as a bar chart, a test digit with its prediction and
//! class probabilities, and a confusion matrix. The font (DejaVu Sans, from the `dejavu`
//! crate) is embedded, so a machine without system fonts draws the same text.
//!
//! Also the digit as text for the terminal ([`ascii_digit`]).

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

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

/// The file formats a picture can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG (RGB, drawn with the embedded font).
    Png,
    /// SVG (text as `<text>` elements in `sans-serif`).
    Svg,
}

impl Format {
    /// The format named by `path`'s extension (`.png` or `.svg`); an error otherwise.
    pub fn of(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(Self::Png),
            Some("svg") => Ok(Self::Svg),
            _ => bail!(
                "{}: a picture's file name must end in .png or .svg",
                path.display()
            ),
        }
    }
}

/// A picture that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the picture on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// A plotters error as an [`anyhow::Error`] (their backend error types differ).
fn pe(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw: {e}")
}

/// The embedded font, registered with plotters once, as `sans-serif`.
fn register_font() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
            && plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold())
                .is_ok()
    });
    if ok {
        Ok(())
    } else {
        bail!("the embedded font could not be loaded")
    }
}

/// The picture's bytes in `format`.
pub fn render(figure: &impl Figure, format: Format) -> Result<Vec<u8>> {
    register_font()?;
    let (w, h) = figure.size();
    match format {
        Format::Png => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(pe)?;
                figure.draw(&root)?;
                root.present().map_err(pe)?;
            }
            let img = image::RgbImage::from_raw(w, h, rgb)
                .context("the picture's buffer has the wrong size")?;
            let mut out = std::io::Cursor::new(Vec::new());
            img.write_to(&mut out, image::ImageFormat::Png)
                .context("cannot encode PNG")?;
            Ok(out.into_inner())
        }
        Format::Svg => {
            let mut s = String::new();
            {
                let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(pe)?;
                figure.draw(&root)?;
                root.present().map_err(pe)?;
            }
            Ok(s.into_bytes())
        }
    }
}

/// Draws `figure` into `path` (format by its extension), written atomically: on error no
/// file is left.
pub fn save(figure: &impl Figure, path: &Path) -> Result<()> {
    let bytes = render(figure, Format::of(path)?)?;
    crate::convert::write_atomically(path, &bytes)?;
    Ok(())
}

const BLUE_: RGBColor = RGBColor(31, 119, 180);
const ORANGE_: RGBColor = RGBColor(255, 127, 14);
const GRID: RGBColor = RGBColor(200, 200, 200);

/// One of the book's activation plots (section 3.2): `y = h(x)` for `x` in
/// `np.arange(-5.0, 5.0, 0.1)`, with the book's `ylim`.
#[derive(Debug, Clone, Copy)]
pub struct Curve {
    /// The short name (used in file names with `--separate`).
    pub name: &'static str,
    /// The title.
    pub title: &'static str,
    /// The function.
    pub f: fn(f32) -> f32,
    /// The y axis' range (`plt.ylim`).
    pub y_range: (f32, f32),
}

/// The book's three figures: step (3-6), sigmoid (3-7) and ReLU (3-9).
pub const BOOK_CURVES: [Curve; 3] = [
    Curve {
        name: "step",
        title: "step function",
        f: scratchnet::step,
        y_range: (-0.1, 1.1),
    },
    Curve {
        name: "sigmoid",
        title: "sigmoid function",
        f: scratchnet::sigmoid,
        y_range: (-0.1, 1.1),
    },
    Curve {
        name: "relu",
        title: "ReLU function",
        f: scratchnet::relu,
        y_range: (-1.0, 5.5),
    },
];

/// `np.arange(-5.0, 5.0, 0.1)`: 100 points, computed in f64 like numpy's (so the 51st is
/// 4.4e-15, not a hair below zero, and the step function jumps where the book's does).
fn book_xs() -> impl Iterator<Item = f32> {
    (0..100).map(|i| (-5.0 + 0.1 * f64::from(i)) as f32)
}

/// Activation curves side by side, one panel each.
#[derive(Debug, Clone)]
pub struct Curves(pub Vec<Curve>);

const PANEL: (u32, u32) = (420, 340);

impl Figure for Curves {
    fn size(&self) -> (u32, u32) {
        (PANEL.0 * self.0.len().max(1) as u32, PANEL.1)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let panels = root.split_evenly((1, self.0.len().max(1)));
        for (c, area) in self.0.iter().zip(&panels) {
            let (y0, y1) = c.y_range;
            let mut chart = ChartBuilder::on(area)
                .caption(c.title, ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(48)
                .build_cartesian_2d(-5.0f32..5.0f32, y0..y1)
                .map_err(pe)?;
            chart
                .configure_mesh()
                .x_desc("x")
                .y_desc("y")
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 16))
                .light_line_style(WHITE)
                .bold_line_style(GRID.mix(0.5))
                .draw()
                .map_err(pe)?;
            chart
                .draw_series(LineSeries::new(
                    book_xs().map(|x| (x, (c.f)(x))),
                    BLUE_.stroke_width(2),
                ))
                .map_err(pe)?
                .label(format!("y = {}(x)", c.name))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE_.stroke_width(2)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", 14))
                .background_style(WHITE.mix(0.8))
                .border_style(GRID)
                .draw()
                .map_err(pe)?;
        }
        Ok(())
    }
}

/// The files `--separate` writes for `path`: `NAME-step.png`, `NAME-sigmoid.png`, …
pub fn separate_paths(path: &Path, curves: &[Curve]) -> Vec<PathBuf> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    curves
        .iter()
        .map(|c| path.with_file_name(format!("{stem}-{}.{ext}", c.name)))
        .collect()
}

/// Bars for values in `[0, 1]` over the indices `0..n`, labelled with their values; the
/// bar at `highlight` in the second colour.
fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    values: &[f32],
    highlight: Option<usize>,
) -> Result<()> {
    let n = values.len().max(1) as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0f32..1.1f32)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc("probability")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE)
        .bold_line_style(GRID.mix(0.5))
        .draw()
        .map_err(pe)?;
    chart
        .draw_series(values.iter().enumerate().map(|(k, &v)| {
            let color = if Some(k) == highlight { ORANGE_ } else { BLUE_ };
            let k = k as i32;
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(k), 0.0),
                    (SegmentValue::Exact(k + 1), v),
                ],
                color.filled(),
            );
            bar.set_margin(0, 0, 6, 6);
            bar
        }))
        .map_err(pe)?;
    let style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    chart
        .draw_series(values.iter().enumerate().map(|(k, &v)| {
            Text::new(
                format!("{v:.3}"),
                (SegmentValue::CenterOf(k as i32), v + 0.01),
                style.clone(),
            )
        }))
        .map_err(pe)?;
    Ok(())
}

/// `softmax(a)` as a bar chart (section 3.5): each output's probability.
#[derive(Debug, Clone)]
pub struct SoftmaxBars {
    /// The inputs `a`.
    pub inputs: Vec<f32>,
}

impl SoftmaxBars {
    /// The bars for `inputs`; an error for no values or a value that is not finite.
    pub fn new(inputs: Vec<f32>) -> Result<Self> {
        if inputs.is_empty() {
            bail!("softmax needs at least one value");
        }
        if let Some(v) = inputs.iter().find(|v| !v.is_finite()) {
            bail!("softmax needs finite values, got {v}");
        }
        Ok(Self { inputs })
    }

    /// `softmax(a)`, computed by the core.
    pub fn probabilities(&self) -> Vec<f32> {
        let mut y = self.inputs.clone();
        scratchnet::softmax(&mut y);
        y
    }
}

impl Figure for SoftmaxBars {
    fn size(&self) -> (u32, u32) {
        ((120 + 70 * self.inputs.len() as u32).max(420), 360)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let a: Vec<String> = self.inputs.iter().map(|v| format!("{v}")).collect();
        let title = format!("softmax([{}])", a.join(", "));
        let y = self.probabilities();
        let best = scratchnet::Classification::argmax(&y).class;
        bars(root, &title, "output k", &y, Some(best))
    }
}

/// A test digit beside its ten class probabilities, with its label and the prediction.
#[derive(Debug, Clone)]
pub struct Digit {
    /// The 28 × 28 pixels.
    pub image: [u8; 784],
    /// The test set's label.
    pub label: u8,
    /// The index in the test set.
    pub index: usize,
    /// The network's output for the image (softmax: probabilities).
    pub probabilities: [f32; 10],
}

impl Figure for Digit {
    fn size(&self) -> (u32, u32) {
        (760, 380)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (left, right) = root.split_horizontally(340);
        let c = scratchnet::Classification::argmax(&self.probabilities);
        let verdict = if c.class == usize::from(self.label) {
            "right"
        } else {
            "wrong"
        };
        let title = format!(
            "image {}: label {}, prediction {} ({verdict})",
            self.index, self.label, c.class
        );
        let mut chart = ChartBuilder::on(&left)
            .caption(title, ("sans-serif", 17))
            .margin(14)
            .build_cartesian_2d(0i32..28, 0i32..28)
            .map_err(pe)?;
        // White on black, like the book's mnist_show.py (PIL); row 0 at the top.
        chart
            .draw_series(self.image.iter().enumerate().map(|(k, &p)| {
                let (x, y) = ((k % 28) as i32, 27 - (k / 28) as i32);
                Rectangle::new([(x, y), (x + 1, y + 1)], RGBColor(p, p, p).filled())
            }))
            .map_err(pe)?;
        bars(
            &right,
            &format!("p = {:.4} for class {}", c.probability, c.class),
            "class",
            &self.probabilities,
            Some(c.class),
        )
    }
}

/// A confusion matrix (rows: label, columns: prediction) as a heat map with counts.
#[derive(Debug, Clone)]
pub struct Confusion {
    /// `counts[label][prediction]`, square.
    pub counts: Vec<Vec<u32>>,
    /// A title line above the map (e.g. the model and its accuracy).
    pub title: String,
}

impl Figure for Confusion {
    fn size(&self) -> (u32, u32) {
        let side = (140 + 50 * self.counts.len() as u32).clamp(400, 1600);
        (side, side)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.counts.len();
        if n == 0 || self.counts.iter().any(|r| r.len() != n) {
            bail!("a confusion matrix must be square and not empty");
        }
        let top = n as i32 - 1;
        // Row `label` is drawn at y = top − label, so label 0 is the top row.
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(50)
            .build_cartesian_2d((0i32..top).into_segmented(), (0i32..top).into_segmented())
            .map_err(pe)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("prediction")
            .y_desc("label")
            .x_labels(n)
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(k) => format!("{}", top - k),
                _ => String::new(),
            })
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(pe)?;
        // Colour by the share of the row (so every digit's row reads alike, whatever its count).
        let cell = |label: usize, pred: usize| {
            let row: u32 = self.counts[label].iter().sum();
            let share = f64::from(self.counts[label][pred]) / f64::from(row.max(1));
            // Blues: white to dark blue, on a square-root scale so small counts show.
            let t = share.sqrt();
            let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
            (
                RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0)),
                t > 0.55,
            )
        };
        chart
            .draw_series(
                (0..n)
                    .flat_map(|label| (0..n).map(move |pred| (label, pred)))
                    .map(|(label, pred)| {
                        let (color, _) = cell(label, pred);
                        let (x, y) = (pred as i32, top - label as i32);
                        Rectangle::new(
                            [
                                (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                                (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                            ],
                            color.filled(),
                        )
                    }),
            )
            .map_err(pe)?;
        chart
            .draw_series(
                (0..n)
                    .flat_map(|label| (0..n).map(move |pred| (label, pred)))
                    .map(|(label, pred)| {
                        let (_, dark) = cell(label, pred);
                        let style = TextStyle::from(("sans-serif", 14).into_font())
                            .color(if dark { &WHITE } else { &BLACK })
                            .pos(Pos::new(HPos::Center, VPos::Center));
                        Text::new(
                            format!("{}", self.counts[label][pred]),
                            (
                                SegmentValue::CenterOf(pred as i32),
                                SegmentValue::CenterOf(top - label as i32),
                            ),
                            style,
                        )
                    }),
            )
            .map_err(pe)?;
        Ok(())
    }
}
