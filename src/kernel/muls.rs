//! The int8 kernel's passes on a Cortex-M core without the DSP extension: the *terms* both
//! routines read, and the Thumb-1 routine for ARMv6-M (M0/M0+) and ARMv8-M Baseline (M23)
//! — Thumb-1 instructions only, no unaligned access. Thumb-2 cores (M3; M4/M7/M33 built
//! without `dsp`) run [`mla`](super::mla)'s routine over the same terms instead. Layout
//! read: [`int8`](super::int8)'s (output-major rows of `stride` i8), each weight by one
//! `LDRSB`.
//!
//! The non-zero inputs are listed once as terms, one word each: `(i << 8) | x[i]`. A pass
//! then takes every term through five rows: `LDRSB` the row's weight, `MULS` by the input,
//! `ADD` to the row's sum (kept in a high register) — 22 instructions a term for five
//! multiply-adds, against about 15 a multiply-add for the plain Rust on Cortex-M0.
//! The sums are exact wrapping i32, the portable kernel's.
#![allow(unsafe_code)]

use super::int8::ROWS;

/// At most this many terms are listed at once (1 KiB of stack, the caller's). An input with more
/// non-zero values is taken a window of terms at a time, listed again on every pass.
pub(super) const TERMS: usize = 256;

// The routine below is written for five rows.
const _: () = assert!(ROWS == 5);

// scratchnet_q8_muls5(terms, end, base, stride, sums): for each term word t in
// [terms, end), x = t & 0xFF (sign-extended for i8 inputs) and p = base + (t >> 8); the
// five rows' weights are the bytes at p + stride, p + 2·stride, …, p + 5·stride; each is
// multiplied by x and added to its sum. The five sums are read from and written back to
// `sums`.
//
// Registers: r0 p, r1 stride, r2 2·stride, r3 x, r4 weight/product, r5 term pointer,
// r6 3·stride, r7 base; the sums in r8–r12; lr the end of the terms.
// Per term: 22 instructions for five multiply-adds.
#[cfg(not(scratchnet_thumb2))]
macro_rules! muls5 {
    ($name:literal, $ext:literal) => {
        core::arch::global_asm!(concat!(
            ".section .text.",
            $name,
            ",\"ax\",%progbits\n",
            ".syntax unified\n",
            ".thumb\n",
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
            "push {{r4-r7, lr}}\n",
            "mov r4, r8\n",
            "mov r5, r9\n",
            "mov r6, r10\n",
            "mov r7, r11\n",
            "push {{r4-r7}}\n",
            // The fifth argument, above the nine saved words.
            "ldr r4, [sp, #36]\n",
            "ldr r5, [r4, #0]\n",
            "mov r8, r5\n",
            "ldr r5, [r4, #4]\n",
            "mov r9, r5\n",
            "ldr r5, [r4, #8]\n",
            "mov r10, r5\n",
            "ldr r5, [r4, #12]\n",
            "mov r11, r5\n",
            "ldr r5, [r4, #16]\n",
            "mov r12, r5\n",
            "mov lr, r1\n",
            "mov r5, r0\n",
            "mov r7, r2\n",
            "mov r1, r3\n",
            "lsls r2, r3, #1\n",
            "adds r6, r2, r1\n",
            "cmp r5, lr\n",
            "beq 2f\n",
            "1:\n",
            "ldm r5!, {{r3}}\n",
            "lsrs r0, r3, #8\n",
            $ext,
            " r3, r3\n",
            "adds r0, r0, r7\n",
            "ldrsb r4, [r0, r1]\n",
            "muls r4, r3, r4\n",
            "add r8, r4\n",
            "ldrsb r4, [r0, r2]\n",
            "muls r4, r3, r4\n",
            "add r9, r4\n",
            "ldrsb r4, [r0, r6]\n",
            "muls r4, r3, r4\n",
            "add r10, r4\n",
            "adds r0, r0, r6\n",
            "ldrsb r4, [r0, r1]\n",
            "muls r4, r3, r4\n",
            "add r11, r4\n",
            "ldrsb r4, [r0, r2]\n",
            "muls r4, r3, r4\n",
            "add r12, r4\n",
            "cmp r5, lr\n",
            "bne 1b\n",
            "2:\n",
            "ldr r4, [sp, #36]\n",
            "mov r5, r8\n",
            "str r5, [r4, #0]\n",
            "mov r5, r9\n",
            "str r5, [r4, #4]\n",
            "mov r5, r10\n",
            "str r5, [r4, #8]\n",
            "mov r5, r11\n",
            "str r5, [r4, #12]\n",
            "mov r5, r12\n",
            "str r5, [r4, #16]\n",
            "pop {{r4-r7}}\n",
            "mov r8, r4\n",
            "mov r9, r5\n",
            "mov r10, r6\n",
            "mov r11, r7\n",
            "pop {{r4-r7, pc}}\n",
            ".size ",
            $name,
            ", . - ",
            $name,
            "\n",
        ));
    };
}
#[cfg(not(scratchnet_thumb2))]
muls5!("scratchnet_q8_muls5", "uxtb");
#[cfg(not(scratchnet_thumb2))]
muls5!("scratchnet_s8_muls5", "sxtb");

#[cfg(not(scratchnet_thumb2))]
unsafe extern "C" {
    fn scratchnet_q8_muls5(
        terms: *const u32,
        end: *const u32,
        base: *const u8,
        stride: usize,
        sums: *mut [i32; ROWS],
    );
    fn scratchnet_s8_muls5(
        terms: *const u32,
        end: *const u32,
        base: *const u8,
        stride: usize,
        sums: *mut [i32; ROWS],
    );
}

/// Lists the non-zero inputs of `x` from `from` on as terms `(i << 8) | x[i]` into `buf`,
/// until it is full; returns how many, and where the listing stopped (`x.len()` when
/// every input was seen). Aligned words of four zero inputs are passed over a word at a
/// time (most of an MNIST image's are).
#[inline(always)]
fn list(x: &[u8], from: usize, buf: &mut [u32; TERMS]) -> (usize, usize) {
    let mut n = 0;
    let rest = x.get(from..).unwrap_or(&[]);
    let (head, words, tail) = bytemuck::pod_align_to::<u8, u32>(rest);
    // Adds the input at `i` if it is not zero; false when `buf` is full (and it is not).
    let mut add = |i: usize, v: u8| {
        if v != 0 {
            if n == TERMS {
                return false;
            }
            buf[n] = ((i as u32) << 8) | u32::from(v);
            n += 1;
        }
        true
    };
    for (i, &v) in (from..).zip(head) {
        if !add(i, v) {
            return (n, i);
        }
    }
    let first = from + head.len();
    for (w, word) in words.iter().enumerate() {
        if *word != 0 {
            for (k, v) in word.to_ne_bytes().into_iter().enumerate() {
                let i = first + 4 * w + k;
                if !add(i, v) {
                    return (n, i);
                }
            }
        }
    }
    for (i, &v) in (first + 4 * words.len()..).zip(tail) {
        if !add(i, v) {
            return (n, i);
        }
    }
    (n, x.len())
}

/// One layer's passes, checked once: the input (u8, or i8 if `SIGNED`), its terms, and
/// `outputs` rows of `stride` bytes.
pub(super) struct Terms<'a, const SIGNED: bool> {
    x: &'a [u8],
    rows: &'a [u8],
    stride: usize,
    outputs: usize,
    buf: &'a mut [u32; TERMS],
    /// The terms listed in `buf`, and whether they are all of the input's.
    listed: usize,
    all: bool,
    sums: [i32; ROWS],
}

impl<'a, const SIGNED: bool> Terms<'a, SIGNED> {
    /// `None` unless there are at least [`ROWS`] outputs, `stride` is at least `x.len()`
    /// (below 2²⁴, so that an index fits a term), and `rows` holds `outputs` rows. The
    /// terms are listed in `buf`.
    #[inline(always)]
    pub(super) fn new(
        x: &'a [u8],
        rows: &'a [u8],
        stride: usize,
        outputs: usize,
        buf: &'a mut [u32; TERMS],
    ) -> Option<Self> {
        let fits = outputs >= ROWS
            && stride >= x.len()
            && stride < 1 << 24
            && outputs
                .checked_mul(stride)
                .is_some_and(|end| end <= rows.len());
        if !fits {
            return None;
        }
        let (listed, next) = list(x, 0, buf);
        Some(Self {
            x,
            rows,
            stride,
            outputs,
            buf,
            listed,
            all: next == x.len(),
            sums: [0; ROWS],
        })
    }

    /// The sums of rows `first .. first + ROWS` over the input's non-zero values; all
    /// zero past the last output.
    #[inline(always)]
    pub(super) fn sweep(&mut self, first: usize) -> &[i32; ROWS] {
        self.sums = [0; ROWS];
        if first + ROWS > self.outputs {
            return &self.sums;
        }
        if self.all {
            self.run(first);
        } else {
            let mut from = 0;
            while from < self.x.len() {
                let (listed, next) = list(self.x, from, self.buf);
                self.listed = listed;
                self.run(first);
                from = next;
            }
        }
        &self.sums
    }

    /// Adds the listed terms' products with rows `first .. first + ROWS` to the sums.
    #[inline(always)]
    fn run(&mut self, first: usize) {
        let terms = &self.buf[..self.listed.min(TERMS)];
        // SAFETY: the routine (any of the four: `MULS` or `MLA`, each with UXTB or SXTB;
        // the same contract, checked for each by the on-target tests) reads the words of
        // `terms` (a slice, from its start to its end) and, for each, the bytes at
        // base + i + k·stride for k = 1..=5, with base = rows + (first − 1)·stride, i.e.
        // row first + k − 1 at column i: every term's i is below x.len() ≤ stride
        // (`list` makes terms only of x's indices), and first + ROWS ≤ outputs (checked
        // above) with outputs·stride ≤ rows.len() (checked in `new`), so each byte is in
        // `rows`. It writes only `self.sums`, saves and restores r4–r11 (AAPCS), and uses
        // 36 bytes of stack. Byte loads and word loads of the aligned `u32` terms only:
        // no unaligned access (which faults on ARMv6-M).
        unsafe {
            // Thumb-2 cores (M3; M4/M7/M33 without `dsp`): `MLA`, 16 instructions a term.
            #[cfg(scratchnet_thumb2)]
            let routine = if SIGNED {
                super::mla::scratchnet_s8_mla5
            } else {
                super::mla::scratchnet_q8_mla5
            };
            #[cfg(not(scratchnet_thumb2))]
            let routine = if SIGNED {
                scratchnet_s8_muls5
            } else {
                scratchnet_q8_muls5
            };
            routine(
                terms.as_ptr(),
                terms.as_ptr_range().end,
                self.rows
                    .as_ptr()
                    .wrapping_add(first * self.stride)
                    .wrapping_sub(self.stride),
                self.stride,
                &mut self.sums,
            );
        }
    }
}
