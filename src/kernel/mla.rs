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

// scratchnet_i8_mla5(terms, end, row0, stride, sums, passes, fresh): as
// scratchnet_i8_muls5 — `passes` passes; pass p adds, for each term [i, x] in [terms, end),
// the five weights at row0 + 5p·stride + i + k·stride (k = 0..5, i8) times x to
// sums[5p + k], from zero if `fresh` is not 0, else to what is there.
//
// Registers: r0 term pointer, r1 end, r2 3·stride, r3 the pass's row 0, r4 its row 1,
// r5 its row 2, r6 i, r7 x, r12 weight; the sums in r8–r11 and lr. On the stack: the
// sums' pointer, the terms' start, 5·stride, the passes left, `fresh`.
// Per two terms: 26 instructions for ten multiply-adds (an odd term first enters the loop
// at its second half); about 20 a pass around them.
core::arch::global_asm!(
    ".section .text.scratchnet_i8_mla5,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".global scratchnet_i8_mla5",
    ".type scratchnet_i8_mla5,%function",
    ".p2align 2",
    ".thumb_func",
    // One term through the five rows (the loop takes two a turn).
    ".macro scratchnet_mla5_term",
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
    ".endm",
    "scratchnet_i8_mla5:",
    "push {{r4-r11, lr}}",
    "sub sp, #20",
    // The fifth to seventh arguments, above the nine saved words and the five locals.
    "ldr r12, [sp, #64]",
    "str r12, [sp, #16]",
    "ldr r12, [sp, #56]",
    "str r12, [sp, #0]",
    "ldr r12, [sp, #60]",
    "str r12, [sp, #12]",
    "str r0, [sp, #4]",
    "add r4, r2, r3",
    "add r5, r4, r3",
    "add r6, r3, r3, lsl #1",
    "add r7, r6, r3, lsl #1",
    "str r7, [sp, #8]",
    "mov r3, r2",
    "mov r2, r6",
    "cmp r12, #0",
    "beq 9f",
    "4:",
    // The sums from zero (`fresh`) or from `sums`.
    "ldr r12, [sp, #16]",
    "cmp r12, #0",
    "beq 5f",
    "mov r8, #0",
    "mov r9, #0",
    "mov r10, #0",
    "mov r11, #0",
    "mov lr, #0",
    "b 6f",
    "5:",
    "ldr r12, [sp, #0]",
    "ldm r12, {{r8-r11, lr}}",
    "6:",
    "ldr r0, [sp, #4]",
    // (end − terms)/8 terms: an odd number (the first one by the second half), none, even.
    "subs r6, r1, r0",
    "lsrs r6, r6, #4",
    "bcs 2f",
    "beq 3f",
    "1:",
    "scratchnet_mla5_term",
    "2:",
    "scratchnet_mla5_term",
    "cmp r0, r1",
    "bne 1b",
    "3:",
    "ldr r12, [sp, #0]",
    "stm r12!, {{r8-r11, lr}}",
    "str r12, [sp, #0]",
    "ldr r6, [sp, #8]",
    "add r3, r3, r6",
    "add r4, r4, r6",
    "add r5, r5, r6",
    "ldr r6, [sp, #12]",
    "subs r6, r6, #1",
    "str r6, [sp, #12]",
    "bne 4b",
    "9:",
    "add sp, #20",
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
        sums: *mut i32,
        passes: usize,
        fresh: u32,
    );
}
