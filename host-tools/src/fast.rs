//! The book's MNIST network on a PC, fast: the same arithmetic as the core's
//! [`Mnist`], bit for bit, arranged for a desktop CPU.
//!
//! The core's kernels are written for a Cortex-M4F (a few registers, no vector unit). Here
//! every layer keeps all of its sums in vector registers (outputs padded to lanes of 8),
//! the exponentials of a layer are computed eight at a time by the core's lane-wise copy
//! of its `exp_table`, the program uses AVX2 when the CPU has it, and a batch is shared
//! among the CPU's cores. Nothing is reordered: each sum adds the same products in the same
//! order as the core (`acc += x·w` with two roundings, bias last; where the core skips a
//! zero input this code may add its ±0 products instead, which changes no bit), and every
//! exponential takes `exp_table`'s own steps, so the results are the core's to the last bit.
//! `tests/fast.rs` checks that on all 10 000 test images, and the lane-wise exponential
//! against `exp_table` on a sample of all f32 (on every f32 with `--ignored`).

use scratchnet::math::{EXP_IS_TABLE, exp};
use scratchnet::{Activation, Classification, Error, MNIST_PIXELS, Mnist, normalize_pixel};

/// The network's activations are not the book's (sigmoid, sigmoid, softmax), which is all
/// [`FastMnist`] computes.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("FastMnist computes the book's sigmoid, sigmoid, softmax; this network has {}, {}, {}",
        .0[0].name(), .0[1].name(), .0[2].name())]
pub struct NotTheBooksActivations(pub [Activation; 3]);

/// What both fast evaluators ([`FastMnist`], [`FastQMnist`]) offer: the core's results for
/// the book's network, bit for bit, computed for a PC.
pub trait Evaluate: sealed::Padded + Sync + Sized {
    /// The logits (output-layer values before softmax) of one image: equal to the core's
    /// `logits_pixels` ([`Mnist`], [`QMnist`](scratchnet::QMnist)) bit
    /// for bit.
    fn logits_pixels(&self, x: &[u8; MNIST_PIXELS]) -> [f32; OUT] {
        let mut y = [0.0; OUTP];
        logits_into(self, x, &mut y);
        let mut out = [0.0; OUT];
        out.copy_from_slice(&y[..OUT]);
        out
    }

    /// The most probable class and its probability: equal to the core's `classify_pixels`
    /// bit for bit.
    fn classify_pixels(&self, x: &[u8; MNIST_PIXELS]) -> Classification {
        let mut c = [Classification::argmax(&[])];
        classify_all(self, core::slice::from_ref(x), &mut c);
        c[0]
    }

    /// [`classify_pixels`](Self::classify_pixels) for every image, the work shared among
    /// the CPU's cores. [`Error::BatchMismatch`] (and nothing written) when the lengths
    /// differ.
    fn classify_batch_pixels(
        &self,
        images: &[[u8; MNIST_PIXELS]],
        outputs: &mut [Classification],
    ) -> Result<(), Error> {
        in_parallel(images, outputs, |images, outputs| {
            classify_all(self, images, outputs)
        })
    }
}

impl Evaluate for FastMnist {}
impl Evaluate for FastQMnist {}

mod sealed {
    /// The one thing an evaluator computes itself: the padded logits of an image (lanes
    /// past the tenth are padding).
    pub trait Padded {
        fn logits_padded(&self, x: &[u8; super::MNIST_PIXELS]) -> [f32; super::OUTP];
    }
}

/// `Ok` for the book's activations: sigmoid, sigmoid, softmax.
fn the_books(activations: [Activation; 3]) -> Result<(), NotTheBooksActivations> {
    if activations
        == [
            Activation::Sigmoid,
            Activation::Sigmoid,
            Activation::Softmax,
        ]
    {
        Ok(())
    } else {
        Err(NotTheBooksActivations(activations))
    }
}

/// Lanes of a vector register (AVX2: 8 × f32).
const LANES: usize = 8;
const H1: usize = 50;
const H2: usize = 100;
const OUT: usize = 10;
/// The widths rounded up to whole lanes.
const H1P: usize = 56;
const H2P: usize = 104;
const OUTP: usize = 16;

/// The book's 784-50-100-10 network (sigmoid, sigmoid, softmax), its weights copied into
/// lane-padded rows.
#[derive(Debug, Clone)]
pub struct FastMnist {
    w1: Vec<[f32; H1P]>,
    b1: [f32; H1P],
    w2: Vec<[f32; H2P]>,
    b2: [f32; H2P],
    w3: Vec<[f32; OUTP]>,
    b3: [f32; OUTP],
}

/// Row-major `rows × N` weights into rows padded to `P` with zeros.
fn padded<const P: usize>(w: scratchnet::Params<'_>, columns: usize) -> Vec<[f32; P]> {
    let values: Vec<f32> = w.iter().collect();
    values
        .chunks_exact(columns)
        .map(|row| {
            let mut r = [0.0; P];
            r[..columns].copy_from_slice(row);
            r
        })
        .collect()
}

/// A bias vector padded to `P` with zeros.
fn padded_bias<const P: usize>(b: scratchnet::Params<'_>) -> [f32; P] {
    let mut r = [0.0; P];
    for (r, b) in r.iter_mut().zip(b.iter()) {
        *r = b;
    }
    r
}

impl FastMnist {
    /// A copy of `net` for fast evaluation (its shape is the type's; its activations must
    /// be the book's).
    pub fn new(net: &Mnist<'_>) -> Result<Self, NotTheBooksActivations> {
        the_books([
            net.layers.0.activation(),
            net.layers.1.activation(),
            net.layers.2.activation(),
        ])?;
        Ok(Self {
            w1: padded(net.layers.0.weights(), H1),
            b1: padded_bias(net.layers.0.biases()),
            w2: padded(net.layers.1.weights(), H2),
            b2: padded_bias(net.layers.1.biases()),
            w3: padded(net.layers.2.weights(), OUT),
            b3: padded_bias(net.layers.2.biases()),
        })
    }

    /// Layer 1's sums `Σ x·W1` over the pixels, four at a time: most runs of four are all
    /// background and skipped at once (a branch on each pixel would mispredict often, as
    /// strokes start and end). The zeros inside a run are added like the others; that
    /// changes no bit (a sum that starts at +0 is never −0, and s + (±0) = s) and keeps the
    /// 56 sums in registers.
    #[inline(always)]
    fn layer1_sums(&self, x: &[u8; MNIST_PIXELS]) -> [f32; H1P] {
        let table = &*PIXELS;
        let mut acc = [0.0f32; H1P];
        for (rows, p2) in self.w1.chunks_exact(2).zip(x.as_chunks::<2>().0) {
            if u16::from_ne_bytes(*p2) != 0 {
                for (row, &p) in rows.iter().zip(p2) {
                    let v = table[usize::from(p)];
                    for (a, w) in acc.iter_mut().zip(row) {
                        *a += v * w;
                    }
                }
            }
        }
        acc
    }
}

impl sealed::Padded for FastMnist {
    /// The three layers; the output lanes past the tenth are padding.
    #[inline(always)]
    fn logits_padded(&self, x: &[u8; MNIST_PIXELS]) -> [f32; OUTP] {
        let mut z1 = self.layer1_sums(x);
        add_bias(&mut z1, &self.b1);
        sigmoid_all(&mut z1);
        // Hidden values are rarely exactly 0; adding their products anyway changes no bit
        // (a sum that starts at +0 is never −0, and s + (±0) = s), and keeps the loop free of
        // branches, so its sums stay in registers.
        let mut z2 = sums(self.w2.iter().zip(z1[..H1].iter().copied()));
        add_bias(&mut z2, &self.b2);
        sigmoid_all(&mut z2);
        let mut y = sums(self.w3.iter().zip(z2[..H2].iter().copied()));
        add_bias(&mut y, &self.b3);
        y
    }
}

/// [`normalize_pixel`] of every u8, computed once.
static PIXELS: std::sync::LazyLock<[f32; 256]> =
    std::sync::LazyLock::new(|| core::array::from_fn(|p| normalize_pixel(p as u8)));

/// Defines `$name`, which runs `$body` compiled for AVX2 when the CPU has it and for the
/// baseline otherwise: the same Rust code either way (its helpers are `#[inline(always)]`,
/// so they are compiled into each version); AVX2 only widens the vectors. No fused
/// multiply-add is ever formed: Rust does not contract `a + x·w`, with or without `fma`.
macro_rules! for_each_cpu {
    ($(#[$doc:meta])* fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        fn $name $(<$g: $bound>)? ($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2 $(<$g: $bound>)? ($($arg: $ty),*) $body
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above), the only requirement
                    // of calling a function compiled for it.
                    #[allow(unsafe_code)]
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body
        }
    };
}

for_each_cpu! {
    /// Each image's class: softmax and argmax of its logits.
    fn classify_all<N: sealed::Padded>(net: &N, images: &[[u8; MNIST_PIXELS]], outputs: &mut [Classification]) {
        for (x, c) in images.iter().zip(outputs.iter_mut()) {
            *c = softmax_argmax(net.logits_padded(x));
        }
    }
}

for_each_cpu! {
    /// One image's padded logits.
    fn logits_into<N: sealed::Padded>(net: &N, x: &[u8; MNIST_PIXELS], y: &mut [f32; OUTP]) {
        *y = net.logits_padded(x);
    }
}

for_each_cpu! {
    /// [`exp_lanes`].
    fn exp8(x: &mut [f32; LANES]) {
        exp_lanes(x);
    }
}

/// `Σ x·row` over `(row, x)` in order, lane by lane (`acc += x·w`: a multiply and an add,
/// each rounded), from +0. A local array of its own, so that the sums stay in registers.
#[inline(always)]
fn sums<'r, const P: usize>(terms: impl Iterator<Item = (&'r [f32; P], f32)>) -> [f32; P] {
    let mut acc = [0.0f32; P];
    for (row, x) in terms {
        for (a, w) in acc.iter_mut().zip(row) {
            *a += x * w;
        }
    }
    acc
}

#[inline(always)]
fn add_bias<const P: usize>(acc: &mut [f32; P], b: &[f32; P]) {
    for (a, b) in acc.iter_mut().zip(b) {
        *a += b;
    }
}

/// The book's sigmoid `1 / (1 + exp(−a))` on every lane, as [`scratchnet::sigmoid`].
#[inline(always)]
fn sigmoid_all<const P: usize>(a: &mut [f32; P]) {
    for v in a.iter_mut() {
        *v = -*v;
    }
    exp_all(a);
    for v in a.iter_mut() {
        *v = 1.0 / (1.0 + *v);
    }
}

/// The core's `exp` on every lane: eight at a time by [`exp_lanes`] when that is
/// `exp_table` (the default), one at a time otherwise (the `fast-exp` feature).
#[inline(always)]
fn exp_all<const P: usize>(a: &mut [f32; P]) {
    if EXP_IS_TABLE {
        for chunk in a.as_chunks_mut::<LANES>().0 {
            exp_lanes(chunk);
        }
    } else {
        for v in a.iter_mut() {
            *v = exp(*v);
        }
    }
}

/// The core's [`exp_table`](scratchnet::math::exp_table) on eight lanes at once, equal to
/// it bit for bit (the core's own lane-wise copy, compiled here for the CPU at hand).
#[inline(always)]
fn exp_lanes(x: &mut [f32; LANES]) {
    scratchnet::math::exp_table_lanes(x);
}

/// [`exp_lanes`] for tests: `exp_table` of each value of `x` (the core's `exp` when it is
/// that).
#[doc(hidden)]
pub fn exp8_for_tests(x: [f32; LANES]) -> [f32; LANES] {
    let mut x = x;
    exp8(&mut x);
    x
}

/// The book's network quantized to int8 ([`QMnist`](scratchnet::QMnist)), fast on a PC: the
/// same results bit for bit. The integer sums are exact, so they may be formed in any
/// order: here two inputs at a time in 32-bit lanes (weights widened to i16 and interleaved
/// in pairs, the shape of AVX2's `vpmaddwd`). The steps after the sums are the core's f32
/// operations in the core's order (`s/255` computed once per output gives the same value).
#[derive(Debug, Clone)]
pub struct FastQMnist {
    w1: Vec<[[i16; 2]; H1P]>,
    m1: [f32; H1P],
    b1: [f32; H1P],
    w2: Vec<[[i16; 2]; H2P]>,
    m2: [f32; H2P],
    b2: [f32; H2P],
    w3: Vec<[[i16; 2]; OUTP]>,
    m3: [f32; OUTP],
    b3: [f32; OUTP],
}

/// Output-major int8 rows (`stride` apart) as pair rows: entry `[g][j]` holds the weights of
/// inputs `2g` and `2g + 1` for output `j` (zero past the layer's inputs and outputs).
fn pair_rows<const P: usize>(
    layer: &scratchnet::ModelLayer<'_>,
    inputs: usize,
    outputs: usize,
) -> Vec<[[i16; 2]; P]> {
    let mut rows = vec![[[0i16; 2]; P]; inputs.div_ceil(2)];
    let Some(q) = layer.quantized() else {
        return rows;
    };
    // `get` reads either layout (output-major rows, or input pairs).
    for (g, pair) in rows.iter_mut().enumerate() {
        for (j, w) in pair.iter_mut().take(outputs).enumerate() {
            for (h, w) in w.iter_mut().enumerate() {
                if 2 * g + h < inputs {
                    *w = i16::from(q.get(j, 2 * g + h));
                }
            }
        }
    }
    rows
}

/// `s[j]/255` and `B[j]` of an int8 layer, padded with zeros.
fn requant<const P: usize>(layer: &scratchnet::ModelLayer<'_>) -> ([f32; P], [f32; P]) {
    let mut m = [0.0; P];
    if let Some(q) = layer.quantized() {
        // The book's inputs and sigmoid outputs are u8/255 (`FastQMnist::new` checks it).
        for (m, s) in m.iter_mut().zip(q.scales().iter()) {
            *m = s / 255.0;
        }
    }
    (m, padded_bias(layer.biases()))
}

impl FastQMnist {
    /// A copy of an int8 model in the book's shape and activations for fast evaluation
    /// (the same checks as [`QMnist::from_model`](scratchnet::QMnist::from_model)).
    pub fn new(model: &scratchnet::Model<'_>) -> Result<Self, FastError> {
        let net = scratchnet::QMnist::from_model(model)?;
        the_books([
            net.layers.0.activation(),
            net.layers.1.activation(),
            net.layers.2.activation(),
        ])?;
        let layers: Vec<_> = model.layers().collect();
        let [l1, l2, l3] = layers.as_slice() else {
            return Err(Error::WrongLayerCount {
                expected: 3,
                found: model.layers().len(),
            }
            .into());
        };
        // This copy divides by 255 everywhere, as the book's int8 blob does: a layer that
        // reads its inputs with another divisor is not the book's.
        if let Some(layer) = model
            .layers()
            .position(|l| l.quantized().is_some_and(|q| q.input_divisor() != 255.0))
        {
            return Err(Error::UnsupportedElement { layer }.into());
        }
        let (m1, b1) = requant(l1);
        let (m2, b2) = requant(l2);
        let (m3, b3) = requant(l3);
        Ok(Self {
            w1: pair_rows(l1, MNIST_PIXELS, H1),
            m1,
            b1,
            w2: pair_rows(l2, H1, H2),
            m2,
            b2,
            w3: pair_rows(l3, H2, OUT),
            m3,
            b3,
        })
    }
}

impl sealed::Padded for FastQMnist {
    #[inline(always)]
    fn logits_padded(&self, x: &[u8; MNIST_PIXELS]) -> [f32; OUTP] {
        // Layer 1: pairs of pixels, all-background pairs skipped (the sums are exact
        // integers, so the zeros inside a pair cost nothing but time).
        let mut acc = [0i32; H1P];
        for (row, p) in self.w1.iter().zip(x.as_chunks::<2>().0) {
            if u16::from_ne_bytes(*p) != 0 {
                madd(&mut acc, [i16::from(p[0]), i16::from(p[1])], row);
            }
        }
        let z1 = hidden(&acc, &self.m1, &self.b1);
        let mut acc = [0i32; H2P];
        for (row, p) in self.w2.iter().zip(z1[..H1].as_chunks::<2>().0) {
            madd(&mut acc, [i16::from(p[0]), i16::from(p[1])], row);
        }
        let z2 = hidden(&acc, &self.m2, &self.b2);
        let mut acc = [0i32; OUTP];
        for (row, p) in self.w3.iter().zip(z2[..H2].as_chunks::<2>().0) {
            madd(&mut acc, [i16::from(p[0]), i16::from(p[1])], row);
        }
        let mut y = [0.0f32; OUTP];
        for (((y, &a), m), b) in y.iter_mut().zip(&acc).zip(&self.m3).zip(&self.b3) {
            *y = a as f32 * m + b;
        }
        y
    }
}

/// `acc[j] += x₀·w[j][0] + x₁·w[j][1]` in 32-bit lanes (exact: |x·w| < 2¹⁵).
#[inline(always)]
fn madd<const P: usize>(acc: &mut [i32; P], x: [i16; 2], w: &[[i16; 2]; P]) {
    for (a, w) in acc.iter_mut().zip(w) {
        *a += i32::from(x[0]) * i32::from(w[0]) + i32::from(x[1]) * i32::from(w[1]);
    }
}

/// A hidden layer's u8 activations from its sums: `sigmoid_u8(sum·(s/255) + B)`, as the
/// core's `QDense::forward_u8`.
#[inline(always)]
fn hidden<const P: usize>(acc: &[i32; P], m: &[f32; P], b: &[f32; P]) -> [u8; P] {
    let mut a = [0.0f32; P];
    for (((a, &s), m), b) in a.iter_mut().zip(acc).zip(m).zip(b) {
        *a = s as f32 * m + b;
    }
    a.map(scratchnet::sigmoid_u8)
}

/// Softmax and argmax of padded logits, in the core's order ([`scratchnet::softmax`],
/// [`Classification::argmax`]).
#[inline(always)]
fn softmax_argmax(mut y: [f32; OUTP]) -> Classification {
    let c = y[..OUT]
        .iter()
        .fold(f32::NEG_INFINITY, |c, &v| if v > c { v } else { c });
    for v in y.iter_mut() {
        *v = scratchnet::math::exp_nonpositive(*v - c);
    }
    let mut sum = 0.0;
    for v in &y[..OUT] {
        sum += v;
    }
    for v in y.iter_mut() {
        *v /= sum;
    }
    Classification::argmax(&y[..OUT])
}

/// `work` on parts of a batch, one part per CPU core, in scoped threads.
/// [`Error::BatchMismatch`] (and nothing written) when the lengths differ.
fn in_parallel<X: Sync, Y: Send>(
    inputs: &[X],
    outputs: &mut [Y],
    work: impl Fn(&[X], &mut [Y]) + Sync,
) -> Result<(), Error> {
    if inputs.len() != outputs.len() {
        return Err(Error::BatchMismatch {
            inputs: inputs.len(),
            outputs: outputs.len(),
        });
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = inputs.len().div_ceil(threads).max(1);
    let work = &work;
    std::thread::scope(|s| {
        for (inputs, outputs) in inputs.chunks(chunk).zip(outputs.chunks_mut(chunk)) {
            s.spawn(move || work(inputs, outputs));
        }
    });
    Ok(())
}

/// Why a fast copy cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum FastError {
    /// The model is not the book's shape or not int8 (the core's own refusal).
    #[error(transparent)]
    Model(#[from] Error),
    /// The activations are not the book's.
    #[error(transparent)]
    Activations(#[from] NotTheBooksActivations),
}
