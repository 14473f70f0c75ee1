//! The kernels: the sums every layer is made of, one file each, with the data layout each
//! reads written beside it. Plain Rust everywhere (f32 here, int8 in `int8`); on Cortex-M
//! cores with an FPU (f32: `vmla`), with the DSP extension (int8: `smlad`) or without it
//! (int8 on Thumb-2 cores such as M3: `mla`; on Thumb-1 cores, M0/M0+: `muls`) a routine
//! in assembly computes the same sums, bit for bit; on Thumb-1 a fifth routine (`index`)
//! turns a sigmoid layer's sums into table indices from the blob's soft-float constants;
//! on FPU cores `activate` turns them into a sigmoid or ReLU layer's u8 outputs,
//! `sigmoid` computes the f32 sigmoid and `softmax` the softmax's exponentials; with the
//! feature `wide`, `wide` runs int8 layers stored as halfwords (a routine on DSP cores,
//! plain Rust elsewhere); `outpairs` runs int8 layers stored in output pairs, two outputs
//! a word (a routine on cores without the DSP extension, plain Rust elsewhere but on DSP
//! cores, which do not read the layout); with `tflite`, `requant_s8` requantizes TFLite
//! layers' sums on Thumb-2 cores. Those eleven files hold the crate's only `unsafe` code.

use crate::input::{Entry, Input};
use crate::params::Params;
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
use core::mem::MaybeUninit;

/// Thumb-1 only: a sigmoid layer's table indices from the blob's soft-float constants.
#[cfg(all(
    target_arch = "arm",
    not(scratchnet_thumb2),
    not(target_abi = "eabihf")
))]
pub(crate) mod index;
pub(crate) mod int8;
#[cfg(all(not(feature = "dsp"), target_arch = "arm", scratchnet_thumb2))]
mod mla;
#[cfg(all(not(feature = "dsp"), target_arch = "arm"))]
mod muls;
/// Weights in output pairs (`ElementType::I8OutputPairs`): not read on DSP cores.
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
pub(crate) mod outpairs;
/// TFLite's int8 requantization on Thumb-2 cores (M3, M4, M7, M33).
#[cfg(all(feature = "tflite", target_arch = "arm", scratchnet_thumb2))]
pub(crate) mod requant_s8;
#[cfg(all(feature = "dsp", target_arch = "arm"))]
mod smlad;
#[cfg(all(feature = "dsp", target_arch = "arm"))]
pub(crate) use smlad::pairs;
#[cfg(feature = "wide")]
pub(crate) mod wide;

/// Keeps the loop it is called in rolled on a DSP core (an empty `asm!` statement, no
/// instruction: see `smlad::rolled`), where the int8 firmware's flash is short; nothing
/// elsewhere.
#[inline(always)]
pub(crate) fn rolled() {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    smlad::rolled();
}
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod activate;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub(crate) use activate::{Activated, activate_u8s, values_f32};
#[cfg(all(target_arch = "arm", target_abi = "eabihf", not(feature = "fast-exp")))]
mod sigmoid;
#[cfg(all(target_arch = "arm", target_abi = "eabihf", not(feature = "fast-exp")))]
pub(crate) use sigmoid::sigmoid_all;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod softmax;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub(crate) use softmax::softmax_exps;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod vmla;

/// Outputs computed per pass of the portable f32 kernel: their sums stay in registers while
/// the weight rows stream past.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
const WIDE: usize = 20;
/// The block for what is left after the wide blocks (e.g. the book's 10 outputs).
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
const NARROW: usize = 10;

/// `a = x·W + b` for a row-major `W` with `a.len()` columns: the one kernel behind every
/// f32 layer, typed ([`Dense`](crate::Dense)) or sized at run time
/// ([`Model`](crate::Model)).
///
/// Every output's sum runs over the non-zero inputs in index order, starting from `+0`,
/// then adds the bias: the same values, bit for bit, as a plain `a[j] += x[i]·W[i][j]`
/// loop. Layout: `W[i][j]` at `i·a.len() + j`, f32; inputs past `W`'s rows are ignored.
pub(crate) fn affine<'x>(
    weights: Params<'_>,
    biases: Params<'_>,
    x: impl Input<'x>,
    a: &mut [f32],
) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    vmla::affine(weights, biases, x, vmla::as_slots(a));
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    {
        match weights.as_f32() {
            Some(w) => sums(w, x, a),
            None => unaligned(weights, x, a),
        }
        add_biases(biases, a);
    }
}

/// [`affine`] into `a`, written whole and returned there (zeroed first here; on a core
/// with an FPU, `vmla::affine_into`, which is not).
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
pub(crate) fn affine_into<'a, 'x, const N: usize>(
    weights: Params<'_>,
    biases: Params<'_>,
    x: impl Input<'x>,
    a: &'a mut MaybeUninit<[f32; N]>,
) -> &'a mut [f32; N] {
    let a = a.write([0.0; N]);
    affine(weights, biases, x, a);
    a
}
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub(crate) use vmla::affine_into;

/// `a[j] = Σᵢ x[i]·W[i][j]` for weights that are not an aligned `&[f32]`, through
/// [`Params`]' rows.
pub(super) fn unaligned<'x>(weights: Params<'_>, x: impl Input<'x>, a: &mut [f32]) {
    a.fill(0.0);
    for (i, &e) in x.entries().iter().enumerate() {
        if !e.is_zero() {
            weights.axpy_row(i * a.len(), e.value(), a);
        }
    }
}

/// `a[j] += b[j]`.
#[inline(always)]
pub(super) fn add_biases(biases: Params<'_>, a: &mut [f32]) {
    // Biases read as a slice on FPU cores (the iterator's `next` was not inlined: about 20
    // instructions an output on Cortex-M4F). The soft-float cores keep the iterator:
    // measured with the slice, M3 f32 2 097 695 instructions against 2 091 649 (M0 3 538 990
    // against 3 541 641).
    match biases.as_f32().filter(|_| cfg!(target_abi = "eabihf")) {
        Some(b) => {
            for (a, b) in a.iter_mut().zip(b) {
                *a += b;
            }
        }
        None => {
            for (a, b) in a.iter_mut().zip(biases.iter()) {
                *a += b;
            }
        }
    }
}

/// `a[j] = Σᵢ x[i]·W[i][j]` over the non-zero inputs in order, [`WIDE`] outputs a pass.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn sums<'x>(w: &[f32], x: impl Input<'x>, a: &mut [f32]) {
    let columns = a.len();
    // Wide blocks first (fewer passes over the inputs), then narrower ones.
    let (wide, rest) = a.split_at_mut(a.len() / WIDE * WIDE);
    blocks::<WIDE>(w, columns, 0, x, wide);
    let (narrow, rest) = rest.split_at_mut(rest.len() / NARROW * NARROW);
    blocks::<NARROW>(w, columns, wide.len(), x, narrow);
    blocks::<1>(w, columns, wide.len() + narrow.len(), x, rest);
}

/// `out[k] = Σᵢ xᵢ·W[i][j0 + k]`, `B` outputs per pass over the inputs.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn blocks<'x, const B: usize>(
    w: &[f32],
    columns: usize,
    j0: usize,
    x: impl Input<'x>,
    out: &mut [f32],
) {
    for (n, out) in out.chunks_exact_mut(B).enumerate() {
        let sums = block::<B>(w, columns, j0 + n * B, x);
        out.copy_from_slice(&sums);
    }
}

/// The sums `Σᵢ xᵢ·W[i][j0 + k]` for `k < B`, over the non-zero `xᵢ` in order.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn block<'x, const B: usize>(w: &[f32], columns: usize, j0: usize, x: impl Input<'x>) -> [f32; B] {
    let mut acc = [0.0f32; B];
    let mut add = |row: &[f32], xi: f32| {
        if let Some(row) = row.get(j0..).and_then(|r| r.first_chunk::<B>()) {
            for (s, wij) in acc.iter_mut().zip(row) {
                *s += xi * wij;
            }
        }
    };
    for (row, &e) in w.chunks_exact(columns).zip(x.entries()) {
        if !e.is_zero() {
            add(row, e.value());
        }
    }
    acc
}
