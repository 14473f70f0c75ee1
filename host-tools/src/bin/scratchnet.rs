//! `scratchnet`: get the book's weights onto a microcontroller, and check what you flash.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use scratchnet::{LearningRule, Mnist, Model, Perceptron};
use scratchnet_host::fast::Evaluate as _;
use scratchnet_host::{convert, data, idx};
use std::path::{Path, PathBuf};

/// `print!` that returns the error instead of panicking (a closed pipe, say).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($t)*)?
    }};
}

/// `println!` that returns the error instead of panicking (a closed pipe, say).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)?
    }};
}

/// The book's MNIST network, from pickle to microcontroller.
#[derive(Parser)]
#[command(name = "scratchnet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a trained MLP into a model blob (.scnt), without executing anything in the file.
    ///
    /// The file is recognised by its content: the book's pickle (a dict W1, b1, …, Wn, bn of
    /// float arrays, as pickle.dump(network.params) writes it), a numpy .npz of the same
    /// names (np.savez), or a PyTorch .safetensors state_dict of nn.Linear layers
    /// (0.weight, 0.bias, 2.weight, … or fc1.weight, …).
    Convert {
        /// The trained weights: .pkl, .npz or .safetensors.
        pickle: PathBuf,
        /// The blob to write (written atomically: on error no file is left).
        #[arg(short, long)]
        output: PathBuf,
        /// Store the weights as per-output-channel int8 (with f32 scales) instead of f32;
        /// int8-soft-float adds what cores without FPU (Cortex-M0/M3) would otherwise
        /// compute in emulated f32 at every inference; int8-dsp lays the first layer out
        /// in input pairs for cores with the DSP extension (Cortex-M4/M7/M33), which then
        /// skip zero pairs of inputs (an image's background) whole; int8-wide stores every
        /// weight as a halfword (twice the bytes) for the fastest dense kernel on those cores;
        /// int8-m0 stores two outputs' weights a word (twice the bytes, with the soft-float
        /// constants) for cores without the DSP extension (Cortex-M0/M0+/M23/M3).
        #[arg(long, value_name = "int8|int8-soft-float|int8-dsp|int8-wide|int8-m0")]
        quantize: Option<Quantize>,
        /// One activation per layer, comma-separated, from sigmoid, relu, identity,
        /// softmax (softmax only last), e.g. relu,relu,softmax. Default: the book's
        /// chapter 3, sigmoid hidden layers and softmax last.
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        activations: Option<Vec<ActivationArg>>,
        /// With --quantize int8: inputs like the model's (a .npy, N × inputs, values in
        /// [0, 1] or uint8), to scale ReLU hidden layers and to report how often int8
        /// gives the f32 model's class.
        #[arg(long, value_name = "X.npy", requires = "quantize")]
        calibrate: Option<PathBuf>,
    },
    /// Show a blob's format, layers, statistics, and the flash and RAM inference needs.
    Inspect {
        /// The blob.
        blob: PathBuf,
    },
    /// Classify a data set with the core's own code and report accuracy: by default the
    /// 10 000 MNIST test images; with --inputs, any model on any data.
    Eval {
        /// The blob.
        blob: PathBuf,
        /// Inputs as a .npy, N × inputs: float32/float64 as they are, uint8 read as /255
        /// (the book's normalize=True). Needs --labels as a .npy integer vector.
        #[arg(
            long,
            value_name = "X.npy",
            requires = "labels",
            conflicts_with = "images"
        )]
        inputs: Option<PathBuf>,
        /// Your framework's predictions for the --inputs rows (a .npy integer vector), to
        /// count agreement with.
        #[arg(long, value_name = "R.npy", requires = "inputs")]
        reference: Option<PathBuf>,
        /// MNIST test images (idx3, gzip or plain); default: the data rule.
        #[arg(long)]
        images: Option<PathBuf>,
        /// The labels: with --inputs a .npy integer vector; else MNIST test labels (idx1,
        /// gzip or plain), by default from the data rule.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Also draw the confusion matrix as a heat map with counts (.png or .svg).
        #[arg(long, value_name = "FILE")]
        confusion: Option<PathBuf>,
    },
    /// Classify each row of a .npy of inputs: prints `row class probability`, or writes the
    /// classes as a .npy (int64).
    Predict {
        /// The blob.
        blob: PathBuf,
        /// Inputs as a .npy, N × inputs (float32/float64, or uint8 read as /255).
        #[arg(long, value_name = "X.npy")]
        inputs: PathBuf,
        /// Write the classes here as a .npy instead of printing them.
        #[arg(short, long, value_name = "classes.npy")]
        output: Option<PathBuf>,
    },
    /// Run a model on every row of a .npy and write the output layer's values as a .npy:
    /// int8 for a TFLite int8 model (int8 inputs, taken as given), f32 after the output
    /// activation otherwise (f32 inputs; uint8 inputs for a model converted with
    /// --quantize int8). For diffing against your own framework.
    Run {
        /// The blob (.scnt).
        model: PathBuf,
        /// Inputs as a .npy, N × inputs.
        #[arg(long, value_name = "X.npy")]
        inputs: PathBuf,
        /// Where to write the N × outputs .npy.
        #[arg(short, long, value_name = "Y.npy")]
        output: PathBuf,
    },
    /// Show one test image (terminal, and PNG or SVG), its label, the prediction and the
    /// class probabilities.
    Show {
        /// Index of the test image (0 to 9999).
        #[arg(long)]
        index: usize,
        /// Draw the digit with its label, the prediction and the ten class probabilities
        /// (.png or .svg).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The blob to predict with; default: the book's pickle from the data rule.
        #[arg(long)]
        model: Option<PathBuf>,
        /// MNIST test images; default: the data rule.
        #[arg(long)]
        images: Option<PathBuf>,
        /// MNIST test labels; default: the data rule.
        #[arg(long)]
        labels: Option<PathBuf>,
    },
    /// Plot the activation functions.
    Plot {
        #[command(subcommand)]
        what: PlotWhat,
    },
    /// Truth tables of the gates, and the perceptron learning rule's trace.
    Gates,
}

/// `--activations` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ActivationArg {
    /// 1 / (1 + exp(−x)).
    Sigmoid,
    /// max(0, x).
    Relu,
    /// x.
    Identity,
    /// exp(a_k − max) / Σ exp(a_i − max); the last layer only.
    Softmax,
}

impl From<ActivationArg> for scratchnet::Activation {
    fn from(a: ActivationArg) -> Self {
        match a {
            ActivationArg::Sigmoid => Self::Sigmoid,
            ActivationArg::Relu => Self::Relu,
            ActivationArg::Identity => Self::Identity,
            ActivationArg::Softmax => Self::Softmax,
        }
    }
}

/// `--quantize` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Quantize {
    /// Symmetric int8 weights, one scale per output channel.
    Int8,
    /// int8, with each output's constants for cores without FPU (Cortex-M0/M0+/M3/M23):
    /// 16 bytes an output more, the same numbers in fewer instructions there.
    Int8SoftFloat,
    /// int8, the layers of at least 16 outputs in input pairs for cores with the DSP
    /// extension (Cortex-M4/M7/M33): zero pairs of inputs skipped whole, three instructions
    /// for four multiply-adds; the same numbers.
    Int8Dsp,
    /// int8, every weight stored as a halfword for cores with the DSP extension
    /// (Cortex-M4/M7/M33): twice the weight bytes, the fastest dense kernel; the same
    /// numbers (the core reads it with its feature `wide`).
    Int8Wide,
    /// int8 with the constants for cores without FPU, two outputs' weights a word for cores
    /// without the DSP extension (Cortex-M0/M0+/M23/M3): twice the weight bytes, one multiply for
    /// two multiply-adds; the same numbers.
    #[value(name = "int8-m0")]
    Int8M0,
}

#[derive(Subcommand)]
enum PlotWhat {
    /// Step, sigmoid and ReLU on [-5, 5), like the book's figures 3-6, 3-7 and 3-9.
    Activations {
        /// Output file: .png or .svg.
        #[arg(short, long)]
        output: PathBuf,
        /// One file per function (NAME-step.png, NAME-sigmoid.png, NAME-relu.png) instead
        /// of one picture with three panels.
        #[arg(long)]
        separate: bool,
    },
    /// softmax of the given values as a bar chart (the book's example: 0.3 2.9 4.0).
    Softmax {
        /// The values a_k (e.g. `0.3 2.9 4.0`; a negative one after `--`).
        #[arg(required = true, num_args = 1..)]
        values: Vec<f32>,
        /// Output file: .png or .svg.
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader closed the pipe (`scratchnet eval m.scnt | head -1`): it has what it
        // wanted, so the program ends quietly.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Convert {
            pickle,
            output,
            quantize,
            activations,
            calibrate,
        } => {
            let calibration = match calibrate {
                Some(p) => {
                    Some(scratchnet_host::npy::read_inputs(&read(&p)?, &p.display().to_string())?.1)
                }
                None => None,
            };
            let options = convert::Options {
                calibration,
                precision: match quantize {
                    Some(Quantize::Int8) => convert::Precision::Int8,
                    Some(Quantize::Int8SoftFloat) => convert::Precision::Int8SoftFloat,
                    Some(Quantize::Int8Dsp) => convert::Precision::Int8Dsp,
                    Some(Quantize::Int8Wide) => convert::Precision::Int8Wide,
                    Some(Quantize::Int8M0) => convert::Precision::Int8M0,
                    None => convert::Precision::F32,
                },
                activations: activations.map(|a| a.into_iter().map(Into::into).collect()),
            };
            cmd_convert(&pickle, &output, &options)
        }
        Command::Inspect { blob } => cmd_inspect(&blob),
        Command::Eval {
            blob,
            inputs: Some(inputs),
            labels: Some(labels),
            reference,
            confusion,
            ..
        } => cmd_eval_inputs(
            &blob,
            &inputs,
            &labels,
            reference.as_deref(),
            confusion.as_deref(),
        ),
        Command::Eval {
            blob,
            images,
            labels,
            confusion,
            ..
        } => cmd_eval(&blob, images, labels, confusion.as_deref()),
        Command::Predict {
            blob,
            inputs,
            output,
        } => cmd_predict(&blob, &inputs, output.as_deref()),
        Command::Run {
            model,
            inputs,
            output,
        } => cmd_run(&model, &inputs, &output),
        Command::Show {
            index,
            output,
            model,
            images,
            labels,
        } => cmd_show(index, output, model, images, labels),
        Command::Plot { what } => cmd_plot(what),
        Command::Gates => cmd_gates(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn data_path(given: Option<PathBuf>, file: &str) -> Result<PathBuf> {
    match given {
        Some(p) => Ok(p),
        None => Ok(data::find(file)?),
    }
}

fn cmd_convert(pickle: &Path, output: &Path, options: &convert::Options) -> Result<()> {
    let bytes = read(pickle)?;
    let c = convert::convert_file(&bytes, options)
        .with_context(|| format!("cannot convert {}", pickle.display()))?;
    outln!("read: {} ({})", pickle.display(), c.source.name());
    for key in &c.ignored_keys {
        if c.source == convert::Source::Tflite {
            outln!("note: {key}");
        } else {
            outln!("note: ignoring '{key}' (not an array of the layers)");
        }
    }
    convert::write_atomically(output, &c.blob)?;
    let shapes: Vec<String> = c
        .layers
        .iter()
        .map(|(s, a)| format!("{s} {}", a.name()))
        .collect();
    outln!("layers: {}", shapes.join(", "));
    if c.default_activations {
        outln!(
            "activations: the book's chapter-3 default (sigmoid hidden layers, softmax last); \
             give your network's with --activations, e.g. relu,relu,softmax"
        );
    }
    if let Some((agree, total)) = c.int8_agreement {
        outln!("int8 agrees with the f32 model on {agree}/{total} calibration rows");
    }
    // Which layers `int8-dsp` put in input pairs (read back from the blob it wrote).
    if let (convert::Precision::Int8Dsp, Ok(model)) =
        (options.precision, scratchnet::Model::from_bytes(&c.blob))
    {
        let pairs: Vec<String> = model
            .layers()
            .enumerate()
            .filter(|(_, l)| l.element() == scratchnet::ElementType::I8Pairs)
            .map(|(k, _)| k.to_string())
            .collect();
        let which = if pairs.is_empty() {
            "none".to_string()
        } else {
            pairs.join(", ")
        };
        outln!(
            "input pairs: layers {which} (the others as rows: under 16 outputs, or an output's \
             sum of |q| over {})",
            scratchnet::PAIR_SUM_LIMIT
        );
    }
    outln!("parameters: {}", c.parameters);
    outln!("bytes: {}", c.blob.len());
    outln!("crc32: {:#010x}", c.crc);
    outln!("wrote {}", output.display());
    Ok(())
}

fn cmd_inspect(path: &Path) -> Result<()> {
    let bytes = read(path)?;
    if bytes.len() >= scratchnet::HEADER_LEN && bytes[..4] == scratchnet::MAGIC {
        outln!(
            "format: scratchnet blob, version {}",
            u16::from_le_bytes([bytes[4], bytes[5]])
        );
    }
    let model = match Model::from_bytes(&bytes) {
        Ok(m) => m,
        Err(e @ scratchnet::Error::ChecksumMismatch { .. }) => {
            outln!("crc32: MISMATCH");
            bail!("{}: {e}", path.display());
        }
        Err(e) => bail!("{}: {e}", path.display()),
    };
    outln!("bytes: {} (flash)", model.len());
    outln!("crc32: {:#010x} (ok)", model.crc());
    outln!("parameters: {}", model.parameter_count());
    outln!("layers: {}", model.layers().len());
    let mut activations = 0;
    for (i, l) in model.layers().enumerate() {
        if let Some(t) = l.tflite() {
            let (lo, hi) = t.clamp();
            let fused = match (lo, hi) {
                (-128, 127) => "none".to_string(),
                (lo, 127) if i32::from(lo) == t.output_zero_point() => "ReLU".to_string(),
                (lo, hi) => format!("[{lo}, {hi}]"),
            };
            let then = match l.activation() {
                scratchnet::Activation::Sigmoid => ", then LOGISTIC (a 256-entry table)",
                scratchnet::Activation::Softmax => ", then SOFTMAX (256 tabulated exponentials)",
                _ => "",
            };
            outln!(
                "  layer {i}: {} {}  activation (clamp): {fused}{then}",
                l.shape(),
                l.element().name(),
            );
            outln!(
                "           input zero point {} scale {:e}; output zero point {} scale {:e}",
                t.input_zero_point(),
                t.input_scale(),
                t.output_zero_point(),
                t.output_scale()
            );
            let (_, _, _, smin, smax) = stats(t.shifts.iter().map(|v| v as f32));
            outln!(
                "           requantization: {} multipliers, shifts {smin:+.0} to {smax:+.0}",
                t.multipliers.len()
            );
            activations += l.shape().outputs as usize;
            continue;
        }
        if let Some(q) = l.quantized() {
            let (inputs, outputs) = (l.shape().inputs as usize, l.shape().outputs as usize);
            let values = (0..outputs).flat_map(|j| (0..inputs).map(move |i| q.get(j, i)));
            let (n, mean, std, min, max) = stats(values.map(f32::from));
            let (_, smean, _, smin, smax) = stats(q.scales().iter());
            outln!(
                "  layer {i}: {} {} {}  q: mean {mean:+.2} std {std:.2} min {min:+.0} max {max:+.0} ({n} values)",
                l.shape(),
                l.activation().name(),
                l.element().name(),
            );
            outln!("           scales: mean {smean:.6} min {smin:.6} max {smax:.6}");
            outln!(
                "           inputs read as u8/{}; hidden outputs stored as round(h(A)·{})",
                q.input_divisor(),
                q.output_divisor()
            );
            let (_, bmean, _, bmin, bmax) = stats(l.biases().iter());
            outln!("           B: mean {bmean:+.5} min {bmin:+.5} max {bmax:+.5}");
            let last = i + 1 == model.layers().len();
            activations += l.shape().outputs as usize * if last { 4 } else { 1 };
            continue;
        }
        let (n, mean, std, min, max) = stats(l.weights().iter());
        outln!(
            "  layer {i}: {} {} {}  W: mean {mean:+.5} std {std:.5} min {min:+.5} max {max:+.5} ({n} values)",
            l.shape(),
            l.activation().name(),
            l.element().name(),
        );
        let (_, bmean, _, bmin, bmax) = stats(l.biases().iter());
        outln!("           B: mean {bmean:+.5} min {bmin:+.5} max {bmax:+.5}");
        activations += l.shape().outputs as usize * 4;
    }
    let int8 = model.layers().any(|l| l.quantized().is_some());
    let tflite = model.layers().any(|l| l.tflite().is_some());
    // Halfword layers' kernel widens up to 256 inputs (512 bytes) and sums 64 outputs at a
    // time (256 bytes); the other int8 layouts' lists or widened inputs take 256 bytes.
    let wide = model.layers().any(|l| {
        matches!(
            l.element(),
            scratchnet::ElementType::I8Wide | scratchnet::ElementType::TfliteI8Wide
        )
    });
    // Input pairs' driver (DSP cores): a list of 40 entries of 8 bytes and a window of 52
    // sums.
    let pairs = model
        .layers()
        .any(|l| l.element() == scratchnet::ElementType::I8Pairs);
    // Output pairs' kernel (cores without DSP): a list of up to 256 non-zero inputs of 8
    // bytes and a window of 104 sums.
    let out_pairs = model
        .layers()
        .any(|l| l.element() == scratchnet::ElementType::I8OutputPairs);
    let kernel = if out_pairs {
        "the output-pairs kernel adds about 2.5 KB of stack on a core without DSP, a list of \
         up to 256 non-zero inputs and a window of 104 sums"
    } else if wide {
        "the halfword kernel adds 768 bytes of stack, a chunk of widened inputs and a window \
         of sums"
    } else if pairs {
        "the input-pairs kernel adds 528 bytes of stack on a DSP core, a list of 40 non-zero \
         pairs and a window of 52 sums"
    } else {
        "the kernel adds a 256-byte list of non-zero input groups"
    };
    let what = if tflite {
        activations = model.scratch_len() + model.outputs();
        format!(
            "two buffers of the widest hidden layer, ping-ponged, and the int8 outputs; {kernel}"
        )
    } else if int8 {
        format!("hidden layers' outputs as u8, the last layer's as f32; {kernel}")
    } else {
        "every layer's outputs, f32".to_string()
    };
    outln!(
        "ram: {activations} bytes of activations ({what}); inputs are streamed from their buffer, weights stay in flash"
    );
    Ok(())
}

fn stats(values: impl Iterator<Item = f32>) -> (usize, f64, f64, f32, f32) {
    let (mut n, mut sum, mut sq, mut min, mut max) = (0usize, 0f64, 0f64, f32::MAX, f32::MIN);
    for v in values {
        n += 1;
        sum += f64::from(v);
        sq += f64::from(v) * f64::from(v);
        min = min.min(v);
        max = max.max(v);
    }
    let mean = sum / n.max(1) as f64;
    let var = (sq / n.max(1) as f64 - mean * mean).max(0.0);
    (n, mean, var.sqrt(), min, max)
}

fn load_mnist_set(
    images: Option<PathBuf>,
    labels: Option<PathBuf>,
) -> Result<(Vec<[u8; idx::PIXELS]>, Vec<u8>)> {
    let images = idx::read_images(&data_path(images, data::TEST_IMAGES)?)?;
    let labels = idx::read_labels(&data_path(labels, data::TEST_LABELS)?)?;
    if images.len() != labels.len() {
        bail!("{} images but {} labels", images.len(), labels.len());
    }
    Ok((images, labels))
}

fn cmd_eval(
    path: &Path,
    images: Option<PathBuf>,
    labels: Option<PathBuf>,
    confusion_png: Option<&Path>,
) -> Result<()> {
    // A wrong picture name fails before the work, not after it.
    if let Some(p) = confusion_png {
        scratchnet_host::plot::Format::of(p)?;
    }
    let bytes = read(path)?;
    let net =
        MnistShaped::load(&bytes).with_context(|| format!("cannot load {}", path.display()))?;
    let (images, labels) = load_mnist_set(images, labels)?;
    // numpy's reference outputs belong to the book's weights: compared with only when the
    // model is those weights (f32 or int8) and the data rule finds them.
    let books = is_books_model(&bytes);
    let reference = data::find(data::REFERENCE_PREDICTIONS)
        .ok()
        .filter(|_| books)
        .and_then(|p| std::fs::read(p).ok())
        .filter(|r| r.len() == images.len());
    let ref_logits: Option<Vec<f32>> = data::find(data::REFERENCE_LOGITS)
        .ok()
        .filter(|_| books)
        .and_then(|p| std::fs::read(p).ok())
        .filter(|r| r.len() == images.len() * 40)
        .map(|r| {
            r.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        });

    let bar = indicatif::ProgressBar::new(images.len() as u64);
    let mut confusion = [[0u32; 10]; 10];
    let (mut correct, mut agree, mut max_diff) = (0usize, 0usize, 0f32);
    for (n, (img, &label)) in images.iter().zip(&labels).enumerate() {
        let logits = net.logits_pixels(img);
        let class = scratchnet::Classification::argmax(&logits).class;
        confusion[usize::from(label)][class] += 1;
        correct += usize::from(class == usize::from(label));
        if let Some(r) = &reference {
            agree += usize::from(class == usize::from(r[n]));
        }
        if let Some(r) = &ref_logits {
            for (a, b) in logits.iter().zip(&r[n * 10..n * 10 + 10]) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
        if n % 500 == 0 {
            bar.set_position(n as u64);
        }
    }
    bar.finish_and_clear();
    let total = images.len();
    outln!(
        "accuracy: {:.4} ({correct}/{total})",
        correct as f64 / total as f64
    );
    if reference.is_some() {
        outln!("agreement: {agree}/{total}");
    }
    if ref_logits.is_some() {
        outln!("max |logit - reference|: {max_diff:.3e}");
    }
    outln!("confusion matrix (rows: label, columns: prediction):");
    outln!(
        "      {}",
        (0..10).map(|c| format!("{c:>5}")).collect::<String>()
    );
    for (label, row) in confusion.iter().enumerate() {
        let n: u32 = row.iter().sum();
        outln!(
            "  {label}:  {}   {:.4}",
            row.iter().map(|v| format!("{v:>5}")).collect::<String>(),
            f64::from(row[label]) / f64::from(n.max(1))
        );
    }
    if let Some(out) = confusion_png {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let figure = scratchnet_host::plot::Confusion {
            counts: confusion.iter().map(|r| r.to_vec()).collect(),
            title: format!(
                "{name}: accuracy {:.4} ({correct}/{total})",
                correct as f64 / total as f64
            ),
        };
        scratchnet_host::plot::save(&figure, out)?;
        outln!("wrote {}", out.display());
    }
    Ok(())
}

/// `true` when `bytes` is the blob `scratchnet convert` makes of the book's
/// `sample_weight.pkl` (found by the data rule), f32 or int8 (with or without the
/// soft-float constants).
fn is_books_model(bytes: &[u8]) -> bool {
    let Some(pkl) = data::find(data::WEIGHTS)
        .ok()
        .and_then(|p| std::fs::read(p).ok())
    else {
        return false;
    };
    [
        convert::Precision::F32,
        convert::Precision::Int8,
        convert::Precision::Int8SoftFloat,
        convert::Precision::Int8Dsp,
        convert::Precision::Int8Wide,
        convert::Precision::Int8M0,
    ]
    .into_iter()
    .any(|p| convert::convert_pickle_as(&pkl, p).is_ok_and(|c| c.blob == bytes))
}

/// Any model on rows of values, of any shape and depth, through the core's run-time-shaped
/// [`Model`]: f32 with `logits`, int8 (u8 inputs) with `logits_u8`. What it cannot run it
/// refuses.
struct AnyModel<'a> {
    model: Model<'a>,
    int8: bool,
}

impl<'a> AnyModel<'a> {
    fn load(bytes: &'a [u8]) -> Result<Self> {
        let model = Model::from_bytes(bytes)?;
        if model.layers().any(|l| l.tflite().is_some()) {
            bail!(
                "this is a TFLite int8 model: `scratchnet run MODEL --inputs X.npy -o Y.npy` gives its int8 outputs"
            );
        }
        let int8 = model.layers().any(|l| l.quantized().is_some());
        Ok(Self { model, int8 })
    }

    /// The output layer's values for one row, after its activation (probabilities, for
    /// softmax).
    fn outputs(&self, row: &[f32]) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.model.outputs()];
        if self.int8 {
            // u8 inputs only: each value must be k/255 exactly.
            let mut pixels = vec![0u8; row.len()];
            for (p, &v) in pixels.iter_mut().zip(row) {
                let k = (v * 255.0).round();
                if !(0.0..=255.0).contains(&k) || scratchnet::normalize_pixel(k as u8) != v {
                    bail!(
                        "an int8 model takes u8 inputs (a uint8 .npy, read as /255); {v} is not one"
                    );
                }
                *p = k as u8;
            }
            let mut scratch = vec![0u8; self.model.scratch_len()];
            self.model.logits_u8(&pixels, &mut scratch, &mut out)?;
        } else {
            let mut scratch = vec![0.0; self.model.scratch_len()];
            self.model.logits(row, &mut scratch, &mut out)?;
        }
        if let Some(last) = self.model.layers().last() {
            last.activation().apply(&mut out);
        }
        Ok(out)
    }
}

/// The rows of a .npy of inputs, checked against the model's input count.
fn read_rows(path: &Path, model: &Model<'_>) -> Result<Vec<f32>> {
    let (width, values) =
        scratchnet_host::npy::read_inputs(&read(path)?, &path.display().to_string())?;
    if width != model.inputs() {
        bail!(
            "{}: rows of {width} values, but the model takes {} inputs",
            path.display(),
            model.inputs()
        );
    }
    Ok(values)
}

fn read_class_vector(path: &Path, rows: usize, what: &str) -> Result<Vec<usize>> {
    let classes = scratchnet_host::npy::read_classes(&read(path)?, &path.display().to_string())?;
    if classes.len() != rows {
        bail!(
            "{}: {} {what}, but the inputs have {rows} rows",
            path.display(),
            classes.len()
        );
    }
    Ok(classes)
}

fn cmd_eval_inputs(
    path: &Path,
    inputs: &Path,
    labels: &Path,
    reference: Option<&Path>,
    confusion_png: Option<&Path>,
) -> Result<()> {
    if let Some(p) = confusion_png {
        scratchnet_host::plot::Format::of(p)?;
    }
    let bytes = read(path)?;
    let net = AnyModel::load(&bytes).with_context(|| format!("cannot load {}", path.display()))?;
    let rows = read_rows(inputs, &net.model)?;
    let n = rows.len() / net.model.inputs().max(1);
    let labels = read_class_vector(labels, n, "labels")?;
    let classes = net.model.outputs();
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        bail!("label {i} is {l}, but the model has {classes} outputs");
    }
    let reference = reference
        .map(|r| read_class_vector(r, n, "predictions"))
        .transpose()?;
    let mut confusion = vec![vec![0u32; classes]; classes];
    let (mut correct, mut agree, mut disagree) = (0usize, 0usize, Vec::new());
    for (k, row) in rows.chunks_exact(net.model.inputs()).enumerate() {
        let class = scratchnet::Classification::argmax(&net.outputs(row)?).class;
        confusion[labels[k]][class] += 1;
        correct += usize::from(class == labels[k]);
        if let Some(r) = &reference {
            if class == r[k] {
                agree += 1;
            } else {
                disagree.push(k);
            }
        }
    }
    outln!(
        "accuracy: {:.4} ({correct}/{n})",
        correct as f64 / n.max(1) as f64
    );
    if reference.is_some() {
        outln!("agreement: {agree}/{n}");
        if !disagree.is_empty() {
            let first: Vec<String> = disagree.iter().take(10).map(usize::to_string).collect();
            outln!("first disagreeing rows: {}", first.join(", "));
        }
    }
    if let Some(out) = confusion_png {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let figure = scratchnet_host::plot::Confusion {
            counts: confusion,
            title: format!(
                "{name}: accuracy {:.4} ({correct}/{n})",
                correct as f64 / n.max(1) as f64
            ),
        };
        scratchnet_host::plot::save(&figure, out)?;
        outln!("wrote {}", out.display());
    }
    Ok(())
}

fn cmd_predict(path: &Path, inputs: &Path, output: Option<&Path>) -> Result<()> {
    let bytes = read(path)?;
    let net = AnyModel::load(&bytes).with_context(|| format!("cannot load {}", path.display()))?;
    let rows = read_rows(inputs, &net.model)?;
    let mut classes = Vec::with_capacity(rows.len() / net.model.inputs().max(1));
    for (k, row) in rows.chunks_exact(net.model.inputs()).enumerate() {
        let c = scratchnet::Classification::argmax(&net.outputs(row)?);
        if output.is_none() {
            outln!("{k} {} {:.6}", c.class, c.probability);
        }
        classes.push(c.class as i64);
    }
    if let Some(out) = output {
        let npy = scratchnet_host::npy::write(&classes, None)?;
        convert::write_atomically(out, &npy)?;
        outln!("wrote {} ({} classes)", out.display(), classes.len());
    }
    Ok(())
}

fn cmd_run(path: &Path, inputs: &Path, output: &Path) -> Result<()> {
    let bytes = read(path)?;
    let blob = convert::AlignedBlob::new(&bytes);
    let model = Model::from_bytes(blob.bytes())
        .with_context(|| format!("cannot load {}", path.display()))?;
    let what = inputs.display().to_string();
    let x = read(inputs)?;
    let (n_in, n_out) = (model.inputs(), model.outputs());
    let rows;
    let npy = if model.layers().any(|l| l.tflite().is_some()) {
        let (width, values) = scratchnet_host::npy::read_int8(&x, &what)?;
        if width != n_in {
            bail!("{what}: rows of {width} values, but the model takes {n_in} inputs");
        }
        rows = values.len() / n_in;
        let mut scratch = vec![0i8; model.scratch_len()];
        let mut out = vec![0i8; rows * n_out];
        for (row, y) in values.chunks_exact(n_in).zip(out.chunks_exact_mut(n_out)) {
            model.run_i8(row, &mut scratch, y)?;
        }
        scratchnet_host::npy::write(&out, Some(n_out))?
    } else {
        let net = AnyModel::load(blob.bytes())?;
        let values = read_rows(inputs, &model)?;
        rows = values.len() / n_in;
        let mut out = Vec::with_capacity(rows * n_out);
        for row in values.chunks_exact(n_in) {
            out.extend(net.outputs(row)?);
        }
        scratchnet_host::npy::write(&out, Some(n_out))?
    };
    convert::write_atomically(output, &npy)?;
    outln!("wrote {} ({rows} × {n_out})", output.display());
    Ok(())
}

fn cmd_plot(what: PlotWhat) -> Result<()> {
    use scratchnet_host::plot::{self, BOOK_CURVES, Curves, SoftmaxBars};
    match what {
        PlotWhat::Activations { output, separate } => {
            if separate {
                plot::Format::of(&output)?;
                for (curve, path) in BOOK_CURVES
                    .iter()
                    .zip(plot::separate_paths(&output, &BOOK_CURVES))
                {
                    plot::save(&Curves(vec![*curve]), &path)?;
                    outln!("wrote {}", path.display());
                }
            } else {
                plot::save(&Curves(BOOK_CURVES.to_vec()), &output)?;
                outln!("wrote {}", output.display());
            }
        }
        PlotWhat::Softmax { values, output } => {
            let bars = SoftmaxBars::new(values)?;
            let y = bars.probabilities();
            plot::save(&bars, &output)?;
            let shown: Vec<String> = y.iter().map(|p| format!("{p:.8}")).collect();
            outln!("softmax: [{}]", shown.join(", "));
            outln!("wrote {}", output.display());
        }
    }
    Ok(())
}

fn cmd_show(
    index: usize,
    output: Option<PathBuf>,
    model: Option<PathBuf>,
    images: Option<PathBuf>,
    labels: Option<PathBuf>,
) -> Result<()> {
    let (images, labels) = load_mnist_set(images, labels)?;
    let Some(img) = images.get(index) else {
        bail!(
            "--index {index} is out of range: there are {} images",
            images.len()
        );
    };
    let blob = match &model {
        Some(p) => read(p)?,
        None => {
            let pkl = data::find(data::WEIGHTS)?;
            convert::convert_pickle(&read(&pkl)?)
                .with_context(|| format!("cannot convert {}", pkl.display()))?
                .blob
        }
    };
    let net = MnistShaped::load(&blob).context("cannot load the model")?;
    let probabilities = net.predict_pixels(img);
    let c = scratchnet::Classification::argmax(&probabilities);
    out!("{}", scratchnet_host::plot::ascii_digit(img));
    outln!(
        "image {index}: label {} prediction {} (p = {:.4})",
        labels[index],
        c.class,
        c.probability
    );
    if let Some(out) = output {
        let figure = scratchnet_host::plot::Digit {
            image: *img,
            label: labels[index],
            index,
            probabilities,
        };
        scratchnet_host::plot::save(&figure, &out)?;
        outln!("wrote {}", out.display());
    }
    Ok(())
}

/// Any model that reads a 28×28 image and gives 10 classes: the book's 784-50-100-10
/// network through the typed [`Mnist`] (what the firmware runs), other depths and widths
/// (e.g. 784-100-10) through the core's run-time-shaped [`Model`], with the same kernel.
enum MnistShaped<'a> {
    /// With the host's fast copy when its activations are the book's (the same results).
    Typed(Mnist<'a>, Option<Box<scratchnet_host::fast::FastMnist>>),
    Quantized(scratchnet::QMnist<'a>),
    RunTime(Box<Model<'a>>),
}

impl<'a> MnistShaped<'a> {
    fn load(bytes: &'a [u8]) -> Result<Self> {
        let model = Model::from_bytes(bytes)?;
        if model.layers().any(|l| l.tflite().is_some()) {
            bail!(
                "this is a TFLite int8 model: `scratchnet run MODEL --inputs X.npy -o Y.npy` gives its int8 outputs"
            );
        }
        if let Ok(net) = Mnist::from_model(&model) {
            let fast = scratchnet_host::fast::FastMnist::new(&net)
                .ok()
                .map(Box::new);
            return Ok(Self::Typed(net, fast));
        }
        if let Ok(net) = scratchnet::QMnist::from_model(&model) {
            return Ok(Self::Quantized(net));
        }
        if model.layers().any(|l| l.quantized().is_some()) {
            bail!("int8 models are supported in the book's 784-50-100-10 shape only");
        }
        if model.inputs() != scratchnet::MNIST_PIXELS
            || model.outputs() != scratchnet::MNIST_CLASSES
        {
            bail!(
                "the model maps {} inputs to {} outputs; MNIST needs 784 inputs and 10 outputs \
                 (any number of hidden layers, up to {} layers in all)",
                model.inputs(),
                model.outputs(),
                scratchnet::MAX_LAYERS
            );
        }
        Ok(Self::RunTime(Box::new(model)))
    }

    fn logits_pixels(&self, img: &[u8; 784]) -> [f32; 10] {
        match self {
            Self::Typed(_, Some(fast)) => fast.logits_pixels(img),
            Self::Typed(net, None) => net.logits_pixels(img),
            Self::Quantized(net) => net.logits_pixels(img),
            Self::RunTime(model) => {
                let mut scratch = vec![0.0; model.scratch_len()];
                let mut out = [0.0; 10];
                // Cannot fail: the lengths were checked in `load`.
                let _ = model.logits_pixels(img, &mut scratch, &mut out);
                out
            }
        }
    }

    /// The network's output: the logits through the output layer's activation.
    fn predict_pixels(&self, img: &[u8; 784]) -> [f32; 10] {
        let mut y = self.logits_pixels(img);
        let output = match self {
            Self::Typed(net, _) => net.layers.2.activation(),
            Self::Quantized(net) => net.layers.2.activation(),
            Self::RunTime(model) => model
                .last_layer()
                .map_or(scratchnet::Activation::Identity, |l| l.activation()),
        };
        output.apply(&mut y);
        y
    }
}

fn bit(b: bool) -> u8 {
    u8::from(b)
}

fn cmd_gates() -> Result<()> {
    outln!("truth tables (x1 x2 -> y):");
    outln!("  x1 x2 | AND NAND OR XOR");
    for [a, b] in scratchnet::TRUTH_TABLE_INPUTS {
        outln!(
            "   {}  {} |  {}   {}    {}   {}",
            bit(a),
            bit(b),
            bit(scratchnet::and(a, b)),
            bit(scratchnet::nand(a, b)),
            bit(scratchnet::or(a, b)),
            bit(scratchnet::xor(a, b))
        );
    }
    let rule = LearningRule::default();
    outln!(
        "\nperceptron learning rule: r = {}, γ = {}, at most {} epochs, from w = 0",
        rule.rate,
        rule.tolerance,
        rule.max_epochs
    );
    for (name, gate) in scratchnet::GATES {
        outln!("{name}:");
        // Every epoch for the gates that converge; the first 8 for XOR.
        let mut shown = Vec::new();
        let result = rule.train_traced(
            Perceptron::new([0.0; 2], 0.0),
            &scratchnet::gate_examples(gate),
            |e| {
                if shown.len() < 8 {
                    shown.push(*e);
                }
            },
        );
        for e in shown {
            outln!(
                "  epoch {:>4}: error {:.2}  w0 (bias) {:+.1}  w1 {:+.1}  w2 {:+.1}",
                e.epoch,
                e.error,
                e.perceptron.bias,
                e.perceptron.weights[0],
                e.perceptron.weights[1]
            );
        }
        match result {
            Ok(t) => outln!("  {name} converged in {} epochs", t.epochs),
            Err(e) => outln!("  ... {name}: {e}"),
        }
    }
    Ok(())
}
