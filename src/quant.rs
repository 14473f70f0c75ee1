//! Beyond the book: int8 inference. Per-output-channel symmetric weights
//! (`W[i][j] ≈ q[j][i]·s[j]`, `q ∈ [−127, 127]`), u8 activations (`v ≈ a/255`), exact i32
//! accumulation, f32 only where a layer's sums are turned back into values:
//!
//! ```text
//! A[j] = (Σᵢ x[i]·q[j][i]) · s[j]/255 + B[j]     x: u8 pixels, or the previous layer's u8
//! Z[j] = round(255 · sigmoid(A[j]))              hidden layers, by a 512-entry table
//! ```
//!
//! The integer sums are the same on every target; on Cortex-M4/M7/M33 the `dsp` feature
//! computes them with `SMLAD` (two multiply-adds an instruction) instead of plain Rust.

use crate::activation::Activation;
use crate::blob::{Layers, Model, ModelLayer};
use crate::chain::{FromLayers, Layer, next_layer};
use crate::error::{Error, Result, Shape};
use crate::network::Network;
use crate::params::Params;

/// Quantizes row-major `inputs × outputs` f32 weights per output channel:
/// `s[j] = maxᵢ |W[i][j]| / 127` (1 for an all-zero column), `q[j][i] = round(W[i][j]/s[j])`,
/// written output-major into `values` (`outputs × inputs`) and `scales`.
///
/// [`Error::BadLength`] when the slices do not fit the shape, [`Error::NotFinite`] for a
/// NaN or infinite weight.
pub fn quantize(
    weights: &[f32],
    shape: Shape,
    values: &mut [i8],
    scales: &mut [f32],
) -> Result<()> {
    let (n_in, n_out) = (shape.inputs as usize, shape.outputs as usize);
    let n = n_in
        .checked_mul(n_out)
        .ok_or(Error::BadLength { layer: 0 })?;
    if weights.len() != n || values.len() != n || scales.len() != n_out {
        return Err(Error::BadLength { layer: 0 });
    }
    if let Some(index) = weights.iter().position(|w| !w.is_finite()) {
        return Err(Error::NotFinite { layer: 0, index });
    }
    for (j, s) in scales.iter_mut().enumerate() {
        let max = (0..n_in)
            .map(|i| weights[i * n_out + j].abs())
            .fold(0.0f32, f32::max);
        *s = if max > 0.0 { max / 127.0 } else { 1.0 };
        for i in 0..n_in {
            let q = libm::roundf(weights[i * n_out + j] / *s);
            values[j * n_in + i] = q.clamp(-127.0, 127.0) as i8;
        }
    }
    Ok(())
}

/// `round(255 · sigmoid(a))` for `a ∈ [−8, 8)` in steps of 1/32, sampled at each step's
/// middle (generated with Python's `math.exp`; `sigmoid_table_matches_the_function` checks
/// it against [`crate::sigmoid`]).
#[rustfmt::skip]
static SIGMOID_U8: [u8; 512] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5,
    5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7,
    8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12,
    12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16, 17, 17, 18, 19, 19,
    20, 20, 21, 21, 22, 23, 23, 24, 25, 25, 26, 27, 28, 28, 29, 30,
    31, 32, 33, 33, 34, 35, 36, 37, 38, 39, 40, 41, 43, 44, 45, 46,
    47, 48, 50, 51, 52, 53, 55, 56, 57, 59, 60, 62, 63, 65, 66, 68,
    69, 71, 73, 74, 76, 78, 79, 81, 83, 84, 86, 88, 90, 92, 93, 95,
    97, 99, 101, 103, 105, 107, 109, 111, 113, 115, 117, 119, 121, 123, 125, 127,
    128, 130, 132, 134, 136, 138, 140, 142, 144, 146, 148, 150, 152, 154, 156, 158,
    160, 162, 163, 165, 167, 169, 171, 172, 174, 176, 177, 179, 181, 182, 184, 186,
    187, 189, 190, 192, 193, 195, 196, 198, 199, 200, 202, 203, 204, 205, 207, 208,
    209, 210, 211, 212, 214, 215, 216, 217, 218, 219, 220, 221, 222, 222, 223, 224,
    225, 226, 227, 227, 228, 229, 230, 230, 231, 232, 232, 233, 234, 234, 235, 235,
    236, 236, 237, 238, 238, 239, 239, 239, 240, 240, 241, 241, 242, 242, 242, 243,
    243, 243, 244, 244, 244, 245, 245, 245, 246, 246, 246, 246, 247, 247, 247, 247,
    248, 248, 248, 248, 248, 249, 249, 249, 249, 249, 250, 250, 250, 250, 250, 250,
    250, 251, 251, 251, 251, 251, 251, 251, 251, 252, 252, 252, 252, 252, 252, 252,
    252, 252, 252, 252, 253, 253, 253, 253, 253, 253, 253, 253, 253, 253, 253, 253,
    253, 253, 253, 253, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254,
    254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254, 254,
    254, 254, 254, 254, 254, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
];

/// `round(255 · sigmoid(a))`, within one unit, by table: the u8 activation of a hidden layer.
#[inline]
pub fn sigmoid_u8(a: f32) -> u8 {
    // `as` saturates (negative and NaN → 0), so every input has an entry.
    let k = ((a + 8.0) * 32.0) as usize;
    SIGMOID_U8[k.min(SIGMOID_U8.len() - 1)]
}

/// A hidden layer's u8 output for the value `a`: `round(h(a)·d_out)`, at most 255 —
/// sigmoid by [`sigmoid_u8`] (`d_out` = 255), ReLU computed; any other activation's value
/// is clamped to `[0, 255/d_out]` (typed networks take only sigmoid and ReLU hidden layers).
#[inline]
fn activate_u8(activation: Activation, a: f32, d_out: f32) -> u8 {
    match activation {
        Activation::Sigmoid => sigmoid_u8(a),
        other => {
            let mut v = [a];
            other.apply(&mut v);
            // `as` saturates: negative values and NaN give 0, values past 255 give 255.
            libm::roundf(v[0] * d_out) as u8
        }
    }
}

/// The integer kernel: `acc[j] = Σᵢ x[i]·q[j][i]`, inputs `x` u8 (the book's int8 path) or
/// i8 (`SIGNED`: TFLite's).
pub(crate) mod kernel {
    /// At most this many groups of four inputs (one 32-bit word each, 1 020 inputs) are
    /// listed; a wider layer visits every group.
    const GROUPS: usize = 255;

    /// Outputs computed per pass: their sums stay in registers while each input word
    /// serves all of them.
    pub(super) const ROWS: usize = 5;

    /// The full groups of four inputs that are not all zero, as entries `g + 1` (so
    /// `1 ≤ entry ≤` the number of full groups), then a 0. Valid by construction: only
    /// [`List::of`] makes one, and the DSP pass relies on it.
    pub(super) struct List<'b> {
        entries: &'b [u8],
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        full: usize,
    }

    impl<'b> List<'b> {
        /// Lists the groups of `full` in `buf`; `None` when there are more than [`GROUPS`].
        #[inline(always)]
        pub(super) fn of(full: &[[u8; 4]], buf: &'b mut [u8; GROUPS + 1]) -> Option<Self> {
            if full.len() > GROUPS {
                return None;
            }
            let mut count = 0;
            for (g, w) in full.iter().enumerate() {
                if *w != [0; 4] {
                    buf[count] = (g + 1) as u8;
                    count += 1;
                }
            }
            buf[count] = 0;
            Some(Self {
                entries: &buf[..=count],
                #[cfg(all(feature = "dsp", target_arch = "arm"))]
                full: full.len(),
            })
        }

        /// The entries and their ending 0.
        pub(super) fn with_end(&self) -> &'b [u8] {
            self.entries
        }

        /// The number of full groups the entries refer to.
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        pub(super) fn full(&self) -> usize {
            self.full
        }
    }

    /// `acc + Σₖ x[k]·w[k]` over the four bytes of `x` (u8, or i8 if `SIGNED`) and `w` (i8),
    /// wrapping as the 32-bit accumulators of TFLite and of `SMLAD` do.
    #[inline(always)]
    fn mac4<const SIGNED: bool>(x: u32, w: u32, acc: i32) -> i32 {
        let (x, w) = (x.to_le_bytes(), w.to_le_bytes());
        let mut acc = acc;
        for k in 0..4 {
            let xk = if SIGNED {
                i32::from(x[k] as i8)
            } else {
                i32::from(x[k])
            };
            acc = acc.wrapping_add(xk * i32::from(w[k] as i8));
        }
        acc
    }

    /// What a portable pass reads: the listed (or all) full groups of the input, the tail
    /// word (the inputs past them, zero-padded), and the rows as words, `sw` a row.
    struct Pass<'a, 'b> {
        list: Option<&'b List<'b>>,
        full: &'a [[u8; 4]],
        tail: u32,
        m: &'a [[u8; 4]],
        sw: usize,
        outputs: usize,
    }

    /// Plain Rust: the sums of rows `first ..` (at most [`ROWS`], below `outputs`); the
    /// rest of the array repeats the last.
    #[inline(never)]
    fn portable<const SIGNED: bool>(p: &Pass<'_, '_>, first: usize) -> [i32; ROWS] {
        let mut s = [0i32; ROWS];
        let n = p.outputs.saturating_sub(first).min(ROWS);
        if n == 0 {
            return s;
        }
        let base: [usize; ROWS] = core::array::from_fn(|k| (first + k.min(n - 1)) * p.sw);
        let w = |i: usize| p.m.get(i).map_or(0, |c| u32::from_le_bytes(*c));
        let mut add = |g: usize, xw: u32| {
            for (s, b) in s.iter_mut().zip(base) {
                *s = mac4::<SIGNED>(xw, w(b + g), *s);
            }
        };
        let word = |g: usize| p.full.get(g).map_or(0, |w| u32::from_le_bytes(*w));
        match p.list {
            Some(list) => {
                for &e in list.with_end() {
                    if let Some(g) = usize::from(e).checked_sub(1) {
                        add(g, word(g));
                    }
                }
            }
            None => {
                for g in 0..p.full.len() {
                    if word(g) != 0 {
                        add(g, word(g));
                    }
                }
            }
        }
        if p.tail != 0 {
            add(p.full.len(), p.tail);
        }
        s
    }

    /// `acc[j] = Σᵢ x[i]·q[j][i]` for output-major rows of `stride` i8 (a multiple of 4, at
    /// least `x.len()`, zero past it), handed to `finish` in order, a few at a time.
    /// Nothing is handed on if the sizes do not fit (the caller sizes them).
    ///
    /// The groups of four inputs that are not all zero are listed once; every pass over
    /// [`ROWS`] outputs then visits only those, and the last partial group. On a DSP core
    /// the passes are [`dsp::Sweeps`](super::dsp::Sweeps) (assembly); elsewhere plain Rust.
    /// Both give the same exact integer sums.
    #[inline(always)]
    pub(crate) fn matvec<const SIGNED: bool>(
        rows: &[u8],
        stride: usize,
        x: &[u8],
        outputs: usize,
        mut finish: impl FnMut(&[i32]),
    ) {
        let (full, rest) = x.as_chunks::<4>();
        // The weights as one slice of 4-byte words; row `j` starts at word `j·sw`.
        let m = rows.as_chunks::<4>().0;
        let sw = stride / 4;
        if !stride.is_multiple_of(4) || stride < x.len() || m.len() < outputs * sw {
            return;
        }
        let mut buf = [0u8; GROUPS + 1];
        let list = List::of(full, &mut buf);
        // The inputs past the last full group, zero-padded to a word.
        let tail = rest
            .iter()
            .rev()
            .fold(0u32, |w, &b| (w << 8) | u32::from(b));
        let pass = Pass {
            list: list.as_ref(),
            full,
            tail,
            m,
            sw,
            outputs,
        };
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        let mut sweeps = list
            .as_ref()
            .and_then(|l| super::dsp::Sweeps::<SIGNED>::new(l, x, tail, rows, stride, outputs));
        let mut j = 0;
        while j < outputs {
            // Fewer than ROWS outputs left: the window moves back over the last ROWS rows
            // (recomputing a few sums), and only the new ones are handed on.
            let start = if outputs >= ROWS {
                j.min(outputs - ROWS)
            } else {
                j
            };
            let plain;
            #[cfg(all(feature = "dsp", target_arch = "arm"))]
            let s = match &mut sweeps {
                Some(sweeps) => sweeps.sweep(start),
                None => {
                    plain = portable::<SIGNED>(&pass, start);
                    &plain
                }
            };
            #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
            let s = {
                plain = portable::<SIGNED>(&pass, start);
                &plain
            };
            let end = (start + ROWS).min(outputs);
            finish(s.get(j - start..end - start).unwrap_or(&[]));
            j = end;
        }
    }
}

/// The int8 kernel's passes on a Cortex-M DSP core, in assembly: its five sums, two
/// prepared inputs, row pointer and loop state take all fourteen general registers, which
/// `asm!` blocks inside Rust code cannot have (the compiler keeps some), so the loop is one
/// function of its own.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[allow(unsafe_code)]
mod dsp {
    use super::kernel::{List, ROWS};

    /// One sweep's results and the input's last, partial group.
    #[repr(C)]
    struct Sweep {
        /// The five sums (written by the sweep).
        sums: [i32; ROWS],
        /// The inputs past the last full group, zero-padded to a word (0: none).
        tail: u32,
        /// The tail's group as a list entry (`g + 1`).
        tail_entry: u32,
    }

    // The routine below is written for five rows and reads `tail` and `tail_entry` at byte
    // 20 (`ldrd r5, r4, [r0, #20]`): a change to either fails the build here.
    const _: () = assert!(ROWS == 5);
    const _: () = assert!(core::mem::offset_of!(Sweep, tail) == 20);
    const _: () = assert!(core::mem::offset_of!(Sweep, tail_entry) == 24);

    // scratchnet_q8_sweep5(list, xb, mb, stride, sweep): for each list entry e (a byte,
    // until 0), the input word at xb + 4e is split into halfword pairs (UXTB16, even and odd
    // bytes), and for each of the five rows at mb + 4e + k·stride, its weight word too
    // (SXTB16), and two SMLADs add the four products to that row's sum. Then the tail word,
    // if not zero, the same way; the sums go to sweep.sums.
    //
    // Registers: r0 list, r1 xb, r2 mb, r3 stride, r4 entry / row pointer, r5 r6 the input
    // pairs, r7 r8 the weight word and its pair, r9 r10 r11 r12 lr the five sums.
    // Per group: 33 instructions for 20 multiply-adds.
    macro_rules! rows5 {
        () => {
            concat!(
                "ldr r7, [r4]\n",
                "sxtb16 r8, r7\n",
                "smlad r9, r5, r8, r9\n",
                "sxtb16 r7, r7, ror #8\n",
                "smlad r9, r6, r7, r9\n",
                "ldr r7, [r4, r3]\n",
                "sxtb16 r8, r7\n",
                "smlad r10, r5, r8, r10\n",
                "sxtb16 r7, r7, ror #8\n",
                "smlad r10, r6, r7, r10\n",
                "ldr r7, [r4, r3, lsl #1]\n",
                "sxtb16 r8, r7\n",
                "smlad r11, r5, r8, r11\n",
                "sxtb16 r7, r7, ror #8\n",
                "smlad r11, r6, r7, r11\n",
                "add r4, r4, r3, lsl #1\n",
                "ldr r7, [r4, r3]\n",
                "sxtb16 r8, r7\n",
                "smlad r12, r5, r8, r12\n",
                "sxtb16 r7, r7, ror #8\n",
                "smlad r12, r6, r7, r12\n",
                "ldr r7, [r4, r3, lsl #1]\n",
                "sxtb16 r8, r7\n",
                "smlad lr, r5, r8, lr\n",
                "sxtb16 r7, r7, ror #8\n",
                "smlad lr, r6, r7, lr\n",
            )
        };
    }

    // One routine per input type: `$ext` widens the input's bytes (UXTB16 for u8, SXTB16
    // for i8); the rest is the same.
    macro_rules! sweep5 {
        ($name:literal, $ext:literal) => {
            core::arch::global_asm!(concat!(
                ".section .text.",
                $name,
                ",\"ax\",%progbits\n",
                ".syntax unified\n",
                ".thumb\n",
                // Module-level assembly is assembled for the target's base architecture,
                // whatever `-C target-cpu` says, and Armv8-M Mainline (Cortex-M33) has the
                // DSP instructions only as an extension the assembler has no name for:
                // assemble this routine as Armv7E-M, whose Thumb-2 DSP encodings an M33 with
                // the extension executes the same (the default on M4/M7; on M33 the directive
                // also holds for module assembly after it, which assembles the same or fails).
                ".arch armv7e-m\n",
                ".global ",
                $name,
                "\n",
                ".type ",
                $name,
                ",%function\n",
                ".p2align 2\n",
                ".thumb_func\n",
                $name,
                ":\n",
                "push {{r4-r11, lr}}\n",
                "mov r9, #0\n",
                "mov r10, #0\n",
                "mov r11, #0\n",
                "mov r12, #0\n",
                "mov lr, #0\n",
                "ldrb r4, [r0], #1\n",
                "cbz r4, 2f\n",
                "1:\n",
                "ldr r5, [r1, r4, lsl #2]\n",
                "add r4, r2, r4, lsl #2\n",
                $ext,
                " r6, r5, ror #8\n",
                $ext,
                " r5, r5\n",
                rows5!(),
                "ldrb r4, [r0], #1\n",
                "cmp r4, #0\n",
                "bne 1b\n",
                "2:\n",
                "ldr r0, [sp, #36]\n",
                "ldrd r5, r4, [r0, #20]\n",
                "cbz r5, 3f\n",
                "add r4, r2, r4, lsl #2\n",
                $ext,
                " r6, r5, ror #8\n",
                $ext,
                " r5, r5\n",
                rows5!(),
                "3:\n",
                "stmia r0, {{r9, r10, r11, r12, lr}}\n",
                "pop {{r4-r11, pc}}\n",
                ".size ",
                $name,
                ", . - ",
                $name,
                "\n",
            ));
        };
    }
    sweep5!("scratchnet_q8_sweep5", "uxtb16");
    sweep5!("scratchnet_s8_sweep5", "sxtb16");

    unsafe extern "C" {
        fn scratchnet_q8_sweep5(
            list: *const u8,
            xb: *const u8,
            mb: *const u8,
            stride: usize,
            sweep: *mut Sweep,
        );
        fn scratchnet_s8_sweep5(
            list: *const u8,
            xb: *const u8,
            mb: *const u8,
            stride: usize,
            sweep: *mut Sweep,
        );
    }

    /// One layer's sweeps, checked once: the list of its input's groups, the input (u8, or
    /// i8 if `SIGNED`), its tail word, and `outputs` rows of `stride` bytes.
    pub(super) struct Sweeps<'a, const SIGNED: bool> {
        list: &'a [u8],
        x: &'a [u8],
        rows: &'a [u8],
        stride: usize,
        outputs: usize,
        state: Sweep,
    }

    impl<'a, const SIGNED: bool> Sweeps<'a, SIGNED> {
        /// `None` unless there are at least [`ROWS`] outputs, `list` is of `x`'s full
        /// groups, `stride` is a multiple of 4 and at least `x.len()`, and `rows` holds
        /// `outputs` rows.
        #[inline(always)]
        pub(super) fn new(
            list: &List<'a>,
            x: &'a [u8],
            tail: u32,
            rows: &'a [u8],
            stride: usize,
            outputs: usize,
        ) -> Option<Self> {
            let fits = outputs >= ROWS
                && list.full() == x.len() / 4
                && stride.is_multiple_of(4)
                && stride >= x.len()
                && outputs
                    .checked_mul(stride)
                    .is_some_and(|end| end <= rows.len());
            fits.then_some(Self {
                list: list.with_end(),
                x,
                rows,
                stride,
                outputs,
                state: Sweep {
                    sums: [0; ROWS],
                    tail,
                    tail_entry: (x.len() / 4 + 1) as u32,
                },
            })
        }

        /// The sums of rows `first .. first + ROWS` over the listed full groups of the
        /// input and its partial last group; all zero past the last output.
        #[inline(always)]
        pub(super) fn sweep(&mut self, first: usize) -> &[i32; ROWS] {
            if first + ROWS > self.outputs {
                self.state.sums = [0; ROWS];
                return &self.state.sums;
            }
            // SAFETY: either routine (they differ only in UXTB16/SXTB16) reads the list up to its 0 (a `List` ends with its only 0
            // and its entries are at most its `full`, checked equal to x.len()/4), input words
            // at xb + 4e = x + 4(e − 1) for entries 1 ≤ e ≤ x.len()/4, so within x, and
            // weight words at row_k + 4(e − 1) for rows first ≤ k < first + ROWS ≤ outputs,
            // within `rows` (checked) since 4·(x.len()/4) ≤ stride. The tail entry reads
            // row_k + 4·(x.len()/4), within the row because it is read only when the tail
            // word is not zero, so x.len() > 4·(x.len()/4) and the multiple of 4 `stride`
            // ≥ x.len() exceeds that offset by 4 at least. Unaligned word loads are allowed
            // on ARMv7E-M while CCR.UNALIGN_TRP is clear (the reset default; the `dsp`
            // feature states it). It writes only `state.sums`, saves and restores r4–r11
            // (AAPCS) and uses 36 bytes of stack.
            unsafe {
                // Chosen at compile time: only the routine used is linked.
                let sweep5 = if SIGNED {
                    scratchnet_s8_sweep5
                } else {
                    scratchnet_q8_sweep5
                };
                sweep5(
                    self.list.as_ptr(),
                    self.x.as_ptr().wrapping_sub(4),
                    self.rows
                        .as_ptr()
                        .wrapping_add(first * self.stride)
                        .wrapping_sub(4),
                    self.stride,
                    &mut self.state,
                );
            }
            &self.state.sums
        }
    }
}

/// An int8 dense layer with `IN` inputs and `OUT` outputs, borrowed from a blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QDense<'a, const IN: usize, const OUT: usize> {
    raw: Raw<'a>,
}

impl<'a, const IN: usize, const OUT: usize> QDense<'a, IN, OUT> {
    /// A typed view of an int8 blob layer: [`Error::ShapeMismatch`] unless `IN × OUT`,
    /// [`Error::UnsupportedElement`] unless int8, [`Error::BadSpan`] unless the blob lies at
    /// a 4-byte-aligned address (its f32 biases and scales are read in place).
    pub fn from_layer(layer: &ModelLayer<'a>, index: usize) -> Result<Self> {
        crate::chain::check_shape(layer, index, IN, OUT)?;
        Raw::of(layer, index).map(|raw| Self { raw })
    }

    /// The activation.
    pub const fn activation(&self) -> Activation {
        self.raw.activation
    }

    /// The output divisor: a hidden output is stored as `round(h(A)·d_out)`.
    pub fn output_divisor(&self) -> f32 {
        self.raw.output_divisor()
    }

    /// The layer's u8 outputs `round(h(A)·d_out)` for u8 inputs `x` (`d_out`, the blob's
    /// output divisor: 255 for sigmoid, by its table).
    pub fn forward_u8(&self, x: &[u8; IN], z: &mut [u8; OUT]) {
        self.raw.forward_u8(x, z);
    }

    /// The layer's values `A` (before its activation) for u8 inputs `x`.
    pub fn affine(&self, x: &[u8; IN], a: &mut [f32; OUT]) {
        self.raw.affine(x, a);
    }
}

/// A [`QDense`] without its shape in the type, so that every shape shares one copy of
/// the code (the kernel's checks make wrong lengths harmless: no panic, no stray access).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Raw<'a> {
    rows: &'a [u8],
    stride: usize,
    biases: &'a [f32],
    /// The scales (one per output), then the input and output divisors, as stored: the
    /// divisors cost no room in the layer (measured: two more fields made the int8
    /// firmware's model views big enough to be copied with `memcpy`, +1.5 KB of flash).
    scales: &'a [f32],
    activation: Activation,
}

impl<'a> Raw<'a> {
    /// The inputs' divisor (stored after the scales).
    #[inline(always)]
    fn input_divisor(&self) -> f32 {
        let n = self.scales.len();
        self.scales.get(n.wrapping_sub(2)).copied().unwrap_or(255.0)
    }

    /// The outputs' divisor (stored last).
    #[inline(always)]
    fn output_divisor(&self) -> f32 {
        let n = self.scales.len();
        self.scales.get(n.wrapping_sub(1)).copied().unwrap_or(255.0)
    }

    /// The int8 layer `layer` (the blob's layer `index`): [`Error::UnsupportedElement`]
    /// unless int8, [`Error::BadSpan`] unless its f32 arrays are 4-byte aligned.
    /// (Inlined: out of line, its result was copied with `memcpy`, +1 KB of int8 firmware.)
    #[inline(always)]
    fn of(layer: &ModelLayer<'a>, index: usize) -> Result<Self> {
        let q = layer
            .quantized()
            .ok_or(Error::UnsupportedElement { layer: index })?;
        let outputs = layer.shape().outputs as usize;
        if q.rows.len() != q.stride * outputs
            || q.stride < layer.shape().inputs as usize
            || layer.biases().len() != outputs
        {
            return Err(Error::BadLength { layer: index });
        }
        let aligned = |p: Params<'a>| p.as_f32().ok_or(Error::BadSpan { layer: index });
        Ok(Self {
            rows: bytemuck::cast_slice(q.rows),
            stride: q.stride,
            biases: aligned(layer.biases())?,
            scales: aligned(q.scales_and_divisors())?,
            activation: layer.activation(),
        })
    }
}

impl Raw<'_> {
    /// `A[j] = (Σᵢ x[i]·q[j][i]) · s[j]/d_in + B[j]` for each of `outs` in order.
    #[inline(always)]
    fn values<T>(&self, x: &[u8], outs: &mut [T], mut out: impl FnMut(&mut T, f32)) {
        let d_in = self.input_divisor();
        let mut outs = self.scales.iter().zip(self.biases).zip(outs.iter_mut());
        kernel::matvec::<false>(self.rows, self.stride, x, outs.len(), |sums| {
            for (&sum, ((s, b), o)) in sums.iter().zip(&mut outs) {
                out(o, sum as f32 * (s / d_in) + b);
            }
        });
    }

    #[inline(never)]
    fn forward_u8(&self, x: &[u8], z: &mut [u8]) {
        let (activation, d_out) = (self.activation, self.output_divisor());
        self.values(x, z, |z, a| *z = activate_u8(activation, a, d_out));
    }

    #[inline(never)]
    fn affine(&self, x: &[u8], a: &mut [f32]) {
        self.values(x, a, |a, v| *a = v);
    }
}

impl<const IN: usize, const OUT: usize> Layer<[u8; IN]> for QDense<'_, IN, OUT> {
    type Output = [u8; OUT];
    type Logits = [f32; OUT];

    #[inline(always)]
    fn forward(&self, x: &[u8; IN], z: &mut [u8; OUT]) {
        self.forward_u8(x, z);
    }

    #[inline(always)]
    fn logits(&self, x: &[u8; IN], a: &mut [f32; OUT]) {
        self.affine(x, a);
    }

    fn output_activation(&self) -> Activation {
        self.raw.activation
    }
}

impl<'a, const IN: usize, const OUT: usize> FromLayers<'a> for QDense<'a, IN, OUT> {
    const LAYERS: usize = 1;

    fn take(layers: &mut Layers<'a>, first: usize) -> Result<Self> {
        Self::from_layer(&next_layer(layers, first)?, first)
    }

    /// Hidden outputs are u8 (`round(h(A)·d_out)`): sigmoid's and ReLU's values are never
    /// negative, so they fit; identity's would be cut at 0.
    fn check_hidden(&self, index: usize) -> Result<()> {
        if matches!(self.raw.activation, Activation::Sigmoid | Activation::Relu) {
            Ok(())
        } else {
            Err(Error::UnsupportedActivation { layer: index })
        }
    }
}

/// Inference on an int8 model whose shape is known only at run time.
impl Model<'_> {
    /// Runs an int8 model on u8 inputs `x` (each `u / d_in` of the first layer: pixels, or
    /// values in `[0, 1]` as `round(255·v)`), leaving the last layer's values before its
    /// activation in `out`, with the kernel of [`QDense`] (the same numbers bit for bit).
    /// `scratch` holds the hidden layers' u8 outputs: [`scratch_len`](Self::scratch_len)
    /// bytes.
    ///
    /// [`Error::LengthMismatch`] for `x` or `out` of the wrong length,
    /// [`Error::BufferTooSmall`] for a short `scratch`, [`Error::UnsupportedElement`] for an
    /// f32 layer (run it with [`Model::logits`]), [`Error::UnsupportedActivation`] for a
    /// hidden layer that is not sigmoid or ReLU, [`Error::BadSpan`] for a blob that is not
    /// 4-byte aligned; nothing is computed then.
    pub fn logits_u8(&self, x: &[u8], scratch: &mut [u8], out: &mut [f32]) -> Result<()> {
        let needed = self.check_lengths(x.len(), out.len(), scratch.len())?;
        let last = self.layer_count() - 1;
        // Every layer is checked before any is run.
        for (index, layer) in self.layers().enumerate() {
            let raw = Raw::of(&layer, index)?;
            if index != last && !matches!(raw.activation, Activation::Sigmoid | Activation::Relu) {
                return Err(Error::UnsupportedActivation { layer: index });
            }
        }
        let hidden = self.layers().take(last).map(|l| l.shape().outputs as usize);
        let mut raws = self
            .layers()
            .enumerate()
            .filter_map(|(k, l)| Raw::of(&l, k).ok());
        crate::chain::ping_pong(x, &mut scratch[..needed], hidden, |_, src, dst| {
            match (raws.next(), dst) {
                (Some(raw), Some(dst)) => raw.forward_u8(src, dst),
                (Some(raw), None) => raw.affine(src, out),
                (None, _) => {}
            }
        });
        Ok(())
    }
}

/// A three-layer int8 network `I → H1 → H2 → O`, the int8 counterpart of
/// [`Network3`](crate::Network3): u8 pixels in, f32 logits out, u8 activations between.
/// Inference needs `H1 + H2` bytes and 4·O bytes of activations, and cannot fail; its
/// hidden layers must be sigmoid or ReLU ([`Error::UnsupportedActivation`] otherwise).
pub type QNetwork3<'a, const I: usize, const H1: usize, const H2: usize, const O: usize> =
    Network<(QDense<'a, I, H1>, QDense<'a, H1, H2>, QDense<'a, H2, O>)>;

/// The book's MNIST network quantized to int8 (`scratchnet convert --quantize int8`).
pub type QMnist<'a> = QNetwork3<'a, 784, 50, 100, 10>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_table_matches_the_function() {
        for k in 0..512 {
            let a = -8.0 + (k as f32 + 0.5) / 32.0;
            let want = 255.0 * crate::sigmoid(a);
            let got = f32::from(sigmoid_u8(a));
            assert!((got - want).abs() <= 0.5 + 1e-3, "a = {a}: {got} vs {want}");
        }
        assert_eq!(sigmoid_u8(-100.0), 0);
        assert_eq!(sigmoid_u8(100.0), 255);
        assert_eq!(sigmoid_u8(f32::NAN), 0);
        // Between samples the table is within one unit of the function.
        for n in 0..16_000 {
            let a = -8.0 + n as f32 / 1000.0;
            let d = (f32::from(sigmoid_u8(a)) - 255.0 * crate::sigmoid(a)).abs();
            assert!(d <= 1.5, "a = {a}: off by {d}");
        }
    }

    #[test]
    fn quantization_is_per_output_channel() {
        // W (2 × 2, row-major): column 0 = [1.0, -0.5], column 1 = [0.0, 0.0].
        let w = [1.0, 0.0, -0.5, 0.0];
        let mut q = [0i8; 4];
        let mut s = [0.0; 2];
        let shape = Shape {
            inputs: 2,
            outputs: 2,
        };
        quantize(&w, shape, &mut q, &mut s).unwrap();
        assert_eq!(s, [1.0 / 127.0, 1.0]);
        assert_eq!(q, [127, -64, 0, 0]); // output-major; -0.5·127 = -63.5 rounds to -64
        assert_eq!(
            quantize(&[f32::NAN, 0.0, 0.0, 0.0], shape, &mut q, &mut s),
            Err(Error::NotFinite { layer: 0, index: 0 })
        );
        assert_eq!(
            quantize(&w[..3], shape, &mut q, &mut s),
            Err(Error::BadLength { layer: 0 })
        );
    }

    #[test]
    fn the_kernel_is_an_exact_integer_dot_product() {
        // 3 outputs × 6 inputs (stride 8), inputs with a zero group and a partial group.
        let x = [0u8, 0, 0, 0, 255, 7];
        let q: [i8; 24] = [
            1, 2, 3, 4, -128, 127, 0, 0, //
            -1, -2, -3, -4, 100, -100, 0, 0, //
            5, 5, 5, 5, 5, 5, 0, 0,
        ];
        let rows: &[u8] = bytemuck::cast_slice(&q);
        let mut got = [0i32; 3];
        let mut j = 0;
        kernel::matvec::<false>(rows, 8, &x, 3, |sums| {
            for &s in sums {
                got[j] = s;
                j += 1;
            }
        });
        let want = [255 * -128 + 7 * 127, 255 * 100 + 7 * -100, 255 * 5 + 7 * 5];
        assert_eq!(got, want);
    }
}
