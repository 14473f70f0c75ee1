//! The int8 kernel's passes on a Cortex-M core without the DSP extension: the *terms* both
//! routines read, and the Thumb-1 routine for ARMv6-M (M0/M0+) and ARMv8-M Baseline (M23)
//! — Thumb-1 instructions only, no unaligned access. Thumb-2 cores (M3; M4/M7/M33 built
//! without `dsp`) run [`mla`](super::mla)'s routine over the same terms instead. Layout
//! read: [`int8`](super::int8)'s (output-major rows of `stride` i8), each weight by one
//! `LDRSB`.
//!
//! The non-zero inputs are listed once as terms, two words each: the index `i` and the
//! value `x[i]` (zero- or sign-extended). A pass then takes every term through five rows:
//! `LDRSB` the row's weight, `MULS` by the input, `ADD` to the row's sum (kept in a high
//! register). The rows' addresses are in registers (rows 0–2 of the pass, then, after one
//! `ADDS` of `3·stride` to the index, rows 3–4), so a term costs one `LDM` of its two words,
//! 15 instructions for its five multiply-adds and one `ADDS`; four terms a turn of the loop
//! share its test: 17.5 instructions a term, against about 15 a multiply-add for the plain
//! Rust on Cortex-M0. The sums are exact wrapping i32, the portable kernel's.
#![allow(unsafe_code)]

use core::mem::MaybeUninit;
use core::slice::IterMut;

use super::int8::ROWS;

/// At most this many terms are listed at once (2 KiB of stack, the caller's, left
/// uninitialized: zeroing it took a `memclr` call a layer). An input with
/// more non-zero values is taken a window of terms at a time, listed again for every
/// chunk of outputs.
pub(super) const TERMS: usize = 256;

/// One listed input: its index and its value, extended to 32 bits (`[i, x[i]]`).
pub(super) type Term = [u32; 2];

// The routine below is written for five rows.
const _: () = assert!(ROWS == 5);

// scratchnet_i8_muls5(terms, end, row0, stride, sums, passes, fresh): `passes` passes;
// pass p adds, for each term [i, x] in [terms, end), the five weights at
// row0 + 5p·stride + i + k·stride (k = 0..5, i8) times x to sums[5p + k], written to
// `sums` (5·passes i32): from zero if `fresh` is not 0, else added to what is there.
//
// Registers: r0 i, r1 the pass's row 0, r2 its row 1, r3 x, r4 weight/product, r5 term
// pointer, r6 its row 2, r7 3·stride; the sums in r8–r12; lr the end of the terms. On the
// stack: the sums' pointer, the terms' start, their length in bytes, the passes left,
// `fresh`.
// Per four terms: 70 instructions for twenty multiply-adds (17.5 a term; a count not a
// multiple of four enters the first turn where as many are left); about 48 a pass around
// them.
#[cfg(not(scratchnet_thumb2))]
core::arch::global_asm!(
    ".section .text.scratchnet_i8_muls5,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".global scratchnet_i8_muls5",
    ".type scratchnet_i8_muls5,%function",
    ".p2align 2",
    ".thumb_func",
    // One term through the five rows (the loop takes two a turn).
    ".macro scratchnet_muls5_term",
    "ldm r5!, {{r0, r3}}",
    "ldrsb r4, [r0, r1]",
    "muls r4, r3, r4",
    "add r8, r4",
    "ldrsb r4, [r0, r2]",
    "muls r4, r3, r4",
    "add r9, r4",
    "ldrsb r4, [r0, r6]",
    "muls r4, r3, r4",
    "add r10, r4",
    "adds r0, r0, r7",
    "ldrsb r4, [r0, r1]",
    "muls r4, r3, r4",
    "add r11, r4",
    "ldrsb r4, [r0, r2]",
    "muls r4, r3, r4",
    "add r12, r4",
    ".endm",
    "scratchnet_i8_muls5:",
    "push {{r4-r7, lr}}",
    "mov r4, r8",
    "mov r5, r9",
    "mov r6, r10",
    "mov r7, r11",
    "push {{r4-r7}}",
    "sub sp, #20",
    // The fifth to seventh arguments, above the nine saved words and the five locals.
    "ldr r4, [sp, #64]",
    "str r4, [sp, #16]",
    "ldr r4, [sp, #56]",
    "str r4, [sp, #0]",
    "ldr r4, [sp, #60]",
    "str r4, [sp, #12]",
    "str r0, [sp, #4]",
    "mov lr, r1",
    "subs r0, r1, r0",
    "str r0, [sp, #8]",
    "lsls r7, r3, #1",
    "adds r7, r7, r3",
    "movs r1, r2",
    "adds r2, r1, r3",
    "adds r6, r2, r3",
    "cmp r4, #0",
    "beq 9f",
    "4:",
    // The sums from zero (`fresh`) or from `sums`.
    "ldr r0, [sp, #16]",
    "cmp r0, #0",
    "beq 5f",
    "movs r0, #0",
    "mov r8, r0",
    "mov r9, r0",
    "mov r10, r0",
    "mov r11, r0",
    "mov r12, r0",
    "b 6f",
    "5:",
    "ldr r4, [sp, #0]",
    "ldr r0, [r4, #0]",
    "mov r8, r0",
    "ldr r0, [r4, #4]",
    "mov r9, r0",
    "ldr r0, [r4, #8]",
    "mov r10, r0",
    "ldr r0, [r4, #12]",
    "mov r11, r0",
    "ldr r0, [r4, #16]",
    "mov r12, r0",
    "6:",
    "ldr r5, [sp, #4]",
    // (end − terms)/8 terms, four a turn: the first turn entered where as many are left
    // as the count mod 4 (none: no turn).
    "ldr r0, [sp, #8]",
    "lsrs r0, r0, #4",
    "bcs 7f",
    "beq 3f",
    "lsrs r0, r0, #1",
    "bcs 12f",
    "b 10f",
    "7:",
    "lsrs r0, r0, #1",
    "bcs 11f",
    "b 13f",
    "10:",
    "scratchnet_muls5_term",
    "11:",
    "scratchnet_muls5_term",
    "12:",
    "scratchnet_muls5_term",
    "13:",
    "scratchnet_muls5_term",
    "cmp r5, lr",
    "bne 10b",
    "3:",
    "ldr r4, [sp, #0]",
    "mov r0, r8",
    "str r0, [r4, #0]",
    "mov r0, r9",
    "str r0, [r4, #4]",
    "mov r0, r10",
    "str r0, [r4, #8]",
    "mov r0, r11",
    "str r0, [r4, #12]",
    "mov r0, r12",
    "str r0, [r4, #16]",
    "adds r4, #20",
    "str r4, [sp, #0]",
    // The next pass's rows: 5·stride on (stride = r2 − r1, 3·stride in r7).
    "subs r0, r2, r1",
    "lsls r0, r0, #1",
    "adds r0, r0, r7",
    "adds r1, r1, r0",
    "adds r2, r2, r0",
    "adds r6, r6, r0",
    "ldr r0, [sp, #12]",
    "subs r0, #1",
    "str r0, [sp, #12]",
    "bne 4b",
    "9:",
    "add sp, #20",
    "pop {{r4-r7}}",
    "mov r8, r4",
    "mov r9, r5",
    "mov r10, r6",
    "mov r11, r7",
    "pop {{r4-r7, pc}}",
    ".size scratchnet_i8_muls5, . - scratchnet_i8_muls5",
);

#[cfg(not(scratchnet_thumb2))]
unsafe extern "C" {
    fn scratchnet_i8_muls5(
        terms: *const Term,
        end: *const Term,
        row0: *const u8,
        stride: usize,
        sums: *mut i32,
        passes: usize,
        fresh: u32,
    );
}

// scratchnet_q8_list(words, end, i, slot, limit) (and scratchnet_s8_list, for i8 inputs):
// for each word of four inputs in [words, end), the first input's index `i` (then i + 4 for
// the next word), a term [i + k, x[k]] for each of its non-zero bytes, written at `slot`
// on, x zero-extended (s8: sign-extended) — while `slot ≤ limit` (four slots free) before
// each word that is not all zero. Returns the word pointer where it stopped (`end` when
// every word was listed) in r0 and the next free slot in r1 (a u64).
//
// Registers: r0 word pointer, r1 end, r2 i, r3 slot, r4 the word, r5 i + k, r6 x, r7 limit.
// A zero word: 6 instructions; a non-zero one: 8, and 4 or 5 a non-zero byte, 2 or 3 a zero.
macro_rules! list_routine {
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
            // The fifth argument, above the five saved words.
            "ldr r7, [sp, #20]\n",
            "cmp r0, r1\n",
            "beq 9f\n",
            "1:\n",
            "ldm r0!, {{r4}}\n",
            "cmp r4, #0\n",
            "bne 2f\n",
            "adds r2, #4\n",
            "cmp r0, r1\n",
            "bne 1b\n",
            "b 9f\n",
            "2:\n",
            "cmp r3, r7\n",
            "bhi 8f\n",
            "lsls r6, r4, #24\n",
            "beq 3f\n",
            $ext,
            " r6, r6, #24\n",
            "stm r3!, {{r2, r6}}\n",
            "3:\n",
            "lsls r6, r4, #16\n",
            $ext,
            " r6, r6, #24\n",
            "beq 4f\n",
            "adds r5, r2, #1\n",
            "stm r3!, {{r5, r6}}\n",
            "4:\n",
            "lsls r6, r4, #8\n",
            $ext,
            " r6, r6, #24\n",
            "beq 5f\n",
            "adds r5, r2, #2\n",
            "stm r3!, {{r5, r6}}\n",
            "5:\n",
            $ext,
            " r6, r4, #24\n",
            "beq 6f\n",
            "adds r5, r2, #3\n",
            "stm r3!, {{r5, r6}}\n",
            "6:\n",
            "adds r2, #4\n",
            "cmp r0, r1\n",
            "bne 1b\n",
            "b 9f\n",
            // No room for this word's terms: it is not listed.
            "8:\n",
            "subs r0, #4\n",
            "9:\n",
            "mov r1, r3\n",
            "pop {{r4-r7, pc}}\n",
            ".size ",
            $name,
            ", . - ",
            $name,
            "\n",
        ));
    };
}
list_routine!("scratchnet_q8_list", "lsrs");
list_routine!("scratchnet_s8_list", "asrs");

unsafe extern "C" {
    fn scratchnet_q8_list(
        words: *const u32,
        end: *const u32,
        i: u32,
        slot: *mut Term,
        limit: *const Term,
    ) -> u64;
    fn scratchnet_s8_list(
        words: *const u32,
        end: *const u32,
        i: u32,
        slot: *mut Term,
        limit: *const Term,
    ) -> u64;
}

/// Lists the non-zero inputs of `x` from `from` on as terms `[i, x[i]]` into `buf` (`x[i]`
/// sign-extended if `SIGNED`, else zero-extended),
/// until it is full; returns how many, and where the listing stopped (`x.len()` when
/// every input was seen). The input's aligned words go to the routine above while four
/// slots are free (a word of four zero inputs passed over at once: most of an MNIST
/// image's are), the rest byte by byte here. Out of line, writing through a slot iterator
/// (inlined into the layer's code, with an index, its loop kept the count and the bound on
/// the stack: measured, M0 int8, 78 691 → 76 480 out of line with the slots; the routine
/// → 73 715).
#[inline(never)]
fn list<const SIGNED: bool>(
    x: &[u8],
    from: usize,
    buf: &mut [MaybeUninit<Term>; TERMS],
) -> (usize, usize) {
    let rest = x.get(from..).unwrap_or(&[]);
    let (head, words, tail) = bytemuck::pod_align_to::<u8, u32>(rest);
    // The free slots, in order: a pointer and its end (no index to scale a term).
    let mut slots = buf.iter_mut();
    let stopped = 'scan: {
        for (i, &v) in (from..).zip(head) {
            if !add::<SIGNED>(&mut slots, i, v) {
                break 'scan i;
            }
        }
        let first = from + head.len();
        let (done, left) = listed_words::<SIGNED>(words, first, slots);
        slots = left;
        for (w, word) in words.iter().enumerate().skip(done) {
            if *word != 0 {
                for (k, v) in word.to_ne_bytes().into_iter().enumerate() {
                    let i = first + 4 * w + k;
                    if !add::<SIGNED>(&mut slots, i, v) {
                        break 'scan i;
                    }
                }
            }
        }
        for (i, &v) in (first + 4 * words.len()..).zip(tail) {
            if !add::<SIGNED>(&mut slots, i, v) {
                break 'scan i;
            }
        }
        x.len()
    };
    (TERMS - slots.len(), stopped)
}

/// Adds the input at `i` if it is not zero; false when there is no free slot (and it is not).
#[inline(always)]
fn add<const SIGNED: bool>(slots: &mut IterMut<'_, MaybeUninit<Term>>, i: usize, v: u8) -> bool {
    if v != 0 {
        let Some(slot) = slots.next() else {
            return false;
        };
        let v = if SIGNED {
            i32::from(v as i8) as u32
        } else {
            u32::from(v)
        };
        slot.write([i as u32, v]);
    }
    true
}

/// The routine's part of [`list`]: `words` (the first one's first input at index `first`)
/// listed into `slots` while four are free; how many words it listed, and the slots left.
#[inline(always)]
fn listed_words<'b, const SIGNED: bool>(
    words: &[u32],
    first: usize,
    slots: IterMut<'b, MaybeUninit<Term>>,
) -> (usize, IterMut<'b, MaybeUninit<Term>>) {
    let room = slots.into_slice();
    let Some(last4) = room.len().checked_sub(4) else {
        return (0, room.iter_mut());
    };
    if words.is_empty() || first > u32::MAX as usize - 4 * words.len() {
        return (0, room.iter_mut());
    }
    let start = room.as_mut_ptr().cast::<Term>();
    let limit = start.wrapping_add(last4).cast_const();
    // SAFETY: the routine reads the words of `words` (from its start to its end, aligned
    // u32) and writes whole terms (two aligned words) at `start` on, each at a slot no
    // higher than the last of the four it made sure were free (`slot ≤ limit`, the fourth
    // slot from the end of `room`, before each word's at most four terms), so only into
    // `room`; the indices it writes, `first` + 4·words + 3 at most, fit 32 bits (checked
    // above). It saves and restores r4–r7 and uses 20 bytes of stack. Its results are a
    // word pointer in [words, end] and a slot pointer in [start, limit + 4 slots].
    let ret = unsafe {
        let routine = if SIGNED {
            scratchnet_s8_list
        } else {
            scratchnet_q8_list
        };
        routine(
            words.as_ptr(),
            words.as_ptr_range().end,
            first as u32,
            start,
            limit,
        )
    };
    let (word_at, slot_at) = (ret as u32 as usize, (ret >> 32) as usize);
    let done = word_at.saturating_sub(words.as_ptr() as usize) / 4;
    let written = slot_at.saturating_sub(start as usize) / size_of::<Term>();
    (
        done.min(words.len()),
        room.get_mut(written..).unwrap_or(&mut []).iter_mut(),
    )
}

/// Outputs whose sums one call of the routine computes (20 passes), kept on the stack
/// before they are handed on: one call a layer of the book's network.
const CHUNK: usize = 20 * ROWS;
// `all` divides by ROWS as (n·205) >> 10, exact for n below 1024.
const _: () = assert!(ROWS == 5 && CHUNK < 1024);

/// One layer's passes, checked once: the input (u8, or i8 if `SIGNED`), its terms, and
/// `outputs` rows of `stride` bytes.
pub(super) struct Terms<'a, const SIGNED: bool> {
    x: &'a [u8],
    rows: &'a [u8],
    stride: usize,
    outputs: usize,
    buf: &'a mut [MaybeUninit<Term>; TERMS],
    /// The terms listed in `buf` (its first `listed` entries are written), and whether
    /// they are all of the input's.
    listed: usize,
    all: bool,
}

impl<'a, const SIGNED: bool> Terms<'a, SIGNED> {
    /// `None` unless there are at least [`ROWS`] outputs (below 2¹⁶), `stride` is at least
    /// `x.len()` (and below 2¹⁶), and `rows` holds `outputs` rows. The terms are listed in
    /// `buf`.
    #[inline(always)]
    pub(super) fn new(
        x: &'a [u8],
        rows: &'a [u8],
        stride: usize,
        outputs: usize,
        buf: &'a mut [MaybeUninit<Term>; TERMS],
    ) -> Option<Self> {
        // Both below 2¹⁶, so that their product fits (a checked 32-bit product is a 64-bit
        // library call on Thumb-1); wider layers take the plain Rust.
        let fits = outputs >= ROWS
            && stride >= x.len()
            && outputs < 1 << 16
            && stride < 1 << 16
            && outputs * stride <= rows.len();
        if !fits {
            return None;
        }
        let (listed, next) = list::<SIGNED>(x, 0, buf);
        Some(Self {
            x,
            rows,
            stride,
            outputs,
            buf,
            listed,
            all: next == x.len(),
        })
    }

    /// Every output's sum over the input's non-zero values, handed to `finish` in order,
    /// at most [`CHUNK`] at a time: whole passes of [`ROWS`] outputs from the chunk's
    /// first; the layer's last few outputs, if fewer than [`ROWS`] are left, by one more
    /// pass over its last [`ROWS`] rows (a few sums computed again, only the new ones
    /// handed on).
    #[inline(always)]
    pub(super) fn all(&mut self, mut finish: impl FnMut(&[i32])) {
        // Written by the routine (from zero, on a layer's first window) before it is read.
        let mut sums = [const { MaybeUninit::<i32>::uninit() }; CHUNK];
        let mut j = 0;
        while j < self.outputs {
            let n = (self.outputs - j).min(CHUNK);
            // n / ROWS without a division (a library call on Thumb-1): exact for n < 1024.
            let whole = ((n * 205) >> 10) * ROWS;
            let mut last = [0i32; ROWS];
            let Some(out) = sums.get_mut(..whole) else {
                return;
            };
            // One window of terms: the whole passes, then the last one if any; the first
            // window's sums start from zero.
            let mut fresh = true;
            let mut window = |t: &Self| {
                t.run(j, whole / ROWS, out, fresh);
                if whole < n {
                    t.run(t.outputs - ROWS, 1, &mut last, fresh);
                }
                fresh = false;
            };
            if self.all {
                window(self);
            } else {
                // More non-zero inputs than `TERMS`: listed again a window at a time.
                let mut from = 0;
                while from < self.x.len() {
                    let (listed, next) = list::<SIGNED>(self.x, from, self.buf);
                    self.listed = listed;
                    window(self);
                    from = next;
                }
            }
            if fresh {
                // No window ran (it always does: an input of more than `TERMS` values
                // has one): nothing was written.
                return;
            }
            // SAFETY: the first window's call (`fresh`) wrote all `whole` sums of `out`
            // (5·passes of them; `run` calls the routine unless `whole` is 0).
            let out = unsafe { core::slice::from_raw_parts(out.as_ptr().cast::<i32>(), whole) };
            finish(out);
            if whole < n {
                finish(last.get(ROWS - (n - whole)..).unwrap_or(&[]));
            }
            j += n;
        }
    }

    /// Adds the listed terms' products with rows `first .. first + passes·ROWS` to
    /// `sums` (one an output; from zero if `fresh`); nothing unless those rows are
    /// outputs and `sums` holds them.
    #[inline(always)]
    fn run<T>(&self, first: usize, passes: usize, sums: &mut [T], fresh: bool) {
        // `T` is `i32` or `MaybeUninit<i32>`: four bytes an output.
        const { assert!(size_of::<T>() == 4 && align_of::<T>() == 4) };
        if first + passes * ROWS > self.outputs || sums.len() < passes * ROWS || passes == 0 {
            return;
        }
        // The listed terms: written by `list` (its count), never read past.
        let terms = &self.buf[..self.listed.min(TERMS)];
        // SAFETY: the routine (`MULS` on Thumb-1, `MLA` on Thumb-2: the same contract,
        // checked for each by the on-target tests) reads the words of `terms` (a slice of
        // entries `list` wrote, from its start to its end) and, for each term [i, x] and
        // pass p < passes, the bytes at row0 + i + (5p + k)·stride for k = 0..5, with
        // row0 = rows + first·stride, i.e. row first + 5p + k at column i: every term's i
        // is below x.len() ≤ stride (`list` makes terms only of x's indices), and
        // first + 5·passes ≤ outputs (checked above) with outputs·stride ≤ rows.len()
        // (checked in `new`), so each byte is in `rows`. It writes the 5·passes ≤ sums.len()
        // words of `sums` (checked above; 4-byte aligned words, `T` is `i32` or its
        // `MaybeUninit`), reading them first only when not `fresh` (then they were written
        // by the previous window's call), and nothing else; it saves and restores r4–r11
        // (AAPCS) and uses 56 bytes of stack. Byte loads and word loads of aligned words
        // only: no unaligned access (which faults on ARMv6-M).
        unsafe {
            #[cfg(scratchnet_thumb2)]
            let routine = super::mla::scratchnet_i8_mla5;
            #[cfg(not(scratchnet_thumb2))]
            let routine = scratchnet_i8_muls5;
            routine(
                terms.as_ptr().cast::<Term>(),
                terms.as_ptr_range().end.cast::<Term>(),
                self.rows.as_ptr().wrapping_add(first * self.stride),
                self.stride,
                sums.as_mut_ptr().cast::<i32>(),
                passes,
                u32::from(fresh),
            );
        }
    }
}
