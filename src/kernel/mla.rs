//! The int8 kernel's passes on ARMv7-M and ARMv8-M Mainline cores without the DSP
//! extension (Cortex-M3; M4/M7/M33 built without the `dsp` feature), in Thumb-2 assembly:
//! the terms of [`muls`](super::muls) (non-zero inputs as `[i, x[i]]`, two words each)
//! through five rows of [`int8`](super::int8)'s layout (output-major, `stride` i8 a row),
//! each weight by one `LDRSB` (register offset) and one `MLA` (multiply-accumulate): one
//! `LDRD` of the term, ten instructions for its five multiply-adds and one `ADD` (rows 3
//! and 4 of the pass), two terms a turn of the loop — 13 instructions a term, against 18
//! for the Thumb-1 `MULS` routine (which has no multiply-accumulate and fewer registers).
//! Exact wrapping i32 sums.
#![allow(unsafe_code)]

use super::int8::ROWS;
use super::muls::Term;

// The routine below is written for five rows.
const _: () = assert!(ROWS == 5);

// scratchnet_i8_mla5(terms, end, row0, stride, sums): as scratchnet_i8_muls5 — for each
// term [i, x] in [terms, end), the five weights at row0 + i + k·stride (k = 0..5, i8) are
// multiplied by x and added to the five sums, read from and written back to `sums`.
//
// Registers: r0 term pointer, r1 end, r2 3·stride, r3 row0, r4 row0 + stride,
// r5 row0 + 2·stride, r6 i, r7 x, r12 weight; the sums in r8–r11 and lr.
// Per two terms: 26 instructions for ten multiply-adds (an odd term first enters the loop
// at its second half).
core::arch::global_asm!(
    ".section .text.scratchnet_i8_mla5,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".global scratchnet_i8_mla5",
    ".type scratchnet_i8_mla5,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_i8_mla5:",
    "push {{r4-r11, lr}}",
    // The fifth argument, above the nine saved words.
    "ldr r12, [sp, #36]",
    "ldr r8, [r12, #0]",
    "ldr r9, [r12, #4]",
    "ldr r10, [r12, #8]",
    "ldr r11, [r12, #12]",
    "ldr lr, [r12, #16]",
    "add r4, r2, r3",
    "add r5, r4, r3",
    "add r6, r3, r3, lsl #1",
    "mov r3, r2",
    "mov r2, r6",
    // (end − terms)/8 terms: an odd number (the first one by the second half), none, even.
    "subs r6, r1, r0",
    "lsrs r6, r6, #4",
    "bcs 2f",
    "beq 3f",
    "1:",
    "ldrd r6, r7, [r0], #8",
    "ldrsb r12, [r6, r3]",
    "mla r8, r12, r7, r8",
    "ldrsb r12, [r6, r4]",
    "mla r9, r12, r7, r9",
    "ldrsb r12, [r6, r5]",
    "mla r10, r12, r7, r10",
    "add r6, r6, r2",
    "ldrsb r12, [r6, r3]",
    "mla r11, r12, r7, r11",
    "ldrsb r12, [r6, r4]",
    "mla lr, r12, r7, lr",
    "2:",
    "ldrd r6, r7, [r0], #8",
    "ldrsb r12, [r6, r3]",
    "mla r8, r12, r7, r8",
    "ldrsb r12, [r6, r4]",
    "mla r9, r12, r7, r9",
    "ldrsb r12, [r6, r5]",
    "mla r10, r12, r7, r10",
    "add r6, r6, r2",
    "ldrsb r12, [r6, r3]",
    "mla r11, r12, r7, r11",
    "ldrsb r12, [r6, r4]",
    "mla lr, r12, r7, lr",
    "cmp r0, r1",
    "bne 1b",
    "3:",
    "ldr r12, [sp, #36]",
    "str r8, [r12, #0]",
    "str r9, [r12, #4]",
    "str r10, [r12, #8]",
    "str r11, [r12, #12]",
    "str lr, [r12, #16]",
    "pop {{r4-r11, pc}}",
    ".size scratchnet_i8_mla5, . - scratchnet_i8_mla5",
);

unsafe extern "C" {
    /// SAFETY: as `muls`' routine (the same arguments, reads and writes).
    pub(super) fn scratchnet_i8_mla5(
        terms: *const Term,
        end: *const Term,
        row0: *const u8,
        stride: usize,
        sums: *mut [i32; ROWS],
    );
}
