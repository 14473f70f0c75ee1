//! The int8 kernel's passes on a Cortex-M DSP core, in assembly: its five sums, two
//! prepared inputs, row pointer and loop state take all fourteen general registers, which
//! `asm!` blocks inside Rust code cannot have (the compiler keeps some), so the loop is one
//! function of its own. Layout read: [`int8`](super::int8)'s.
#![allow(unsafe_code)]

use super::int8::{List, ROWS};

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
