//! The f32 kernel on a Cortex-M core with an FPU (ARMv7E-M with FPv4-SP, ARMv8-M Mainline
//! with FPv5-SP: the `eabihf` targets), in assembly.
//!
//! Layout read: `W` row-major f32 (`W[i][j]` at `i·columns + j`, 4-byte aligned, as a
//! blob's weights lie in flash), and a list of *terms* `(byte offset of row i, x[i])` for
//! the non-zero inputs, made here [`CHUNK`] at a time. For each term, a routine loads a
//! block of the row's weights with one `VLDM` and adds `x[i]·W[i][j]` to each of the block's
//! sums with one `VMLA.F32` — the product rounded, then the sum: the same two roundings, in
//! the same order, as `s += x * w` in Rust, so the sums are the portable kernel's bit for
//! bit. The sums stay in FPU registers for the whole list (20 or 10 of them; 32 single
//! registers in all) and go back to memory after it, which is exact, so the next list
//! carries on where this one stopped.
//!
//! Per term: 24.5 instructions for 20 multiply-adds (half of an `LDM` and of a `VMOV` that
//! read two terms, `add`, 2 × `VLDM`, 20 × `VMLA`, and a quarter of the loop's `subs`,
//! `bne`: four terms a turn), 13.5 for 10 (two terms a turn for blocks of 8 and 4, which
//! take less flash so). One call runs a list through every block of the layer. u8 pixels are listed
//! by a routine too (`scratchnet_f32_pixels`: 5 instructions a zero word of four pixels,
//! their values from the `p/255` table), which runs each full list itself.
//!
//! An f32 input with at most one zero in eight is not listed: the second routine reads
//! every `x[i]` where it lies (f32, two at a time) and row `i` at `i·columns` — 24
//! instructions an input for 20 multiply-adds, 13 for 10 (four inputs a turn) — and adds each
//! block's biases to its sums before it stores them (`s + b`, as the caller's loop would
//! after). Its zeros' products are added, which changes no bit (sums start at +0;
//! `s + (±0) = s`).
#![allow(unsafe_code)]

use crate::input::{Entry, Input, PIXEL_VALUES};
use crate::params::Params;
use core::mem::MaybeUninit;

/// Terms gathered before the routines run over them (8 bytes each, on the stack).
const CHUNK: usize = 16;

/// One non-zero input: its row's byte offset in `W` and its value.
#[derive(Clone, Copy)]
#[repr(C)]
struct Term {
    offset: u32,
    x: f32,
}

/// The routines read a term as two words: offset at byte 0, value at byte 4.
const _: () = assert!(core::mem::size_of::<Term>() == 8);
const _: () = assert!(core::mem::offset_of!(Term, x) == 4);

/// `VADD.F32 sA, sA, sB` for each pair: a block's biases added to its sums.
macro_rules! vadd {
    ($($acc:literal $b:literal),*) => {
        concat!($("vadd.f32 s", $acc, ", s", $acc, ", s", $b, "\n",)*)
    };
}

macro_rules! vmla {
    ($x:literal; $($acc:literal $w:literal),*) => {
        concat!($("vmla.f32 s", $acc, ", s", $x, ", s", $w, "\n",)*)
    };
}

/// One term for twenty sums (s0–s19): its row's byte offset in `$o`, its value in `$x`,
/// the row's weights ten at a time in s20–s29.
macro_rules! term20 {
    ($o:literal, $x:literal) => {
        concat!(
            "add r12, r2, ", $o, "\n",
            "vldmia r12!, {{s20-s29}}\n",
            vmla!($x; 0 20, 1 21, 2 22, 3 23, 4 24, 5 25, 6 26, 7 27, 8 28, 9 29),
            "vldmia r12, {{s20-s29}}\n",
            vmla!($x; 10 20, 11 21, 12 22, 13 23, 14 24, 15 25, 16 26, 17 27, 18 28, 19 29),
        )
    };
}

/// One term for ten sums (s0–s9): the weights in s10–s19.
macro_rules! term10 {
    ($o:literal, $x:literal) => {
        concat!(
            "add r12, r2, ", $o, "\n",
            "vldmia r12, {{s10-s19}}\n",
            vmla!($x; 0 10, 1 11, 2 12, 3 13, 4 14, 5 15, 6 16, 7 17, 8 18, 9 19),
        )
    };
}

/// One term for eight sums (s0–s7): the weights in s8–s15.
macro_rules! term8 {
    ($o:literal, $x:literal) => {
        concat!(
            "add r12, r2, ", $o, "\n",
            "vldmia r12, {{s8-s15}}\n",
            vmla!($x; 0 8, 1 9, 2 10, 3 11, 4 12, 5 13, 6 14, 7 15),
        )
    };
}

/// One term for four sums (s0–s3): the weights in s4–s7.
macro_rules! term4 {
    ($o:literal, $x:literal) => {
        concat!(
            "add r12, r2, ", $o, "\n",
            "vldmia r12, {{s4-s7}}\n",
            vmla!($x; 0 4, 1 5, 2 6, 3 7),
        )
    };
}

/// One input of a dense layer for twenty sums: its value in `$x`, its row's weights from
/// r12 (moved on to the next row: by 40 bytes, then by the stride less 40 in r5).
macro_rules! dense20 {
    ($x:literal) => {
        concat!(
            "vldmia r12!, {{s20-s29}}\n",
            vmla!($x; 0 20, 1 21, 2 22, 3 23, 4 24, 5 25, 6 26, 7 27, 8 28, 9 29),
            "vldmia r12, {{s20-s29}}\n",
            vmla!($x; 10 20, 11 21, 12 22, 13 23, 14 24, 15 25, 16 26, 17 27, 18 28, 19 29),
            "add r12, r12, r5\n",
        )
    };
}

/// One input of a dense layer for ten sums (r5 the stride).
macro_rules! dense10 {
    ($x:literal) => {
        concat!(
            "vldmia r12, {{s10-s19}}\n",
            vmla!($x; 0 10, 1 11, 2 12, 3 13, 4 14, 5 15, 6 16, 7 17, 8 18, 9 19),
            "add r12, r12, r5\n",
        )
    };
}

/// One input of a dense layer for eight sums.
macro_rules! dense8 {
    ($x:literal) => {
        concat!(
            "vldmia r12, {{s8-s15}}\n",
            vmla!($x; 0 8, 1 9, 2 10, 3 11, 4 12, 5 13, 6 14, 7 15),
            "add r12, r12, r5\n",
        )
    };
}

/// One input of a dense layer for four sums.
macro_rules! dense4 {
    ($x:literal) => {
        concat!(
            "vldmia r12, {{s4-s7}}\n",
            vmla!($x; 0 4, 1 5, 2 6, 3 7),
            "add r12, r12, r5\n",
        )
    };
}

/// A dense layer's inputs for one block, two a turn, their values read in pairs into
/// `$a`, `$b` (consecutive single registers; an odd count starts with the second, its
/// value read alone): from the first input (r0) and row 0 at the block's columns (r2), r1
/// inputs.
macro_rules! inputs {
    ($input:ident, $a:literal, $b:literal) => {
        concat!(
            "mov r7, r0\n",
            "mov r12, r2\n",
            "lsrs lr, r1, #1\n",
            "bcc 3f\n",
            "vldmia r7!, {{s",
            $b,
            "}}\n",
            "adds lr, #1\n",
            "b 4f\n",
            "3:\n",
            "vldmia r7!, {{s",
            $a,
            ", s",
            $b,
            "}}\n",
            $input!($a),
            "4:\n",
            $input!($b),
            "subs lr, lr, #1\n",
            "bne 3b\n",
        )
    };
}

/// The terms' loop, two a turn, each turn's two terms read with one `LDM` (offsets in r4
/// and r8, values moved to `$a`, `$b` by one `VMOV`): an odd count starts with the second.
macro_rules! terms {
    ($term:ident, $a:literal, $b:literal) => {
        concat!(
            "mov r0, r7\n",
            "lsrs r1, lr, #1\n",
            "bcc 3f\n",
            "ldmia r0!, {{r8, r9}}\n",
            "vmov s",
            $b,
            ", r9\n",
            "adds r1, #1\n",
            "b 4f\n",
            "3:\n",
            "ldmia r0!, {{r4, r5, r8, r9}}\n",
            "vmov s",
            $a,
            ", s",
            $b,
            ", r5, r9\n",
            $term!("r4", $a),
            "4:\n",
            $term!("r8", $b),
            "subs r1, r1, #1\n",
            "bne 3b\n",
        )
    };
}

/// A loop four steps a turn: `$turns` = ⌈`$count`/4⌉ turns, its first turn entered where
/// `$count` mod 4 steps are left (flags from `$count`'s low two bits, in `$scratch`). A
/// turn is `$load2` (two steps' operands), `$a`, `$b`, `$load2`, `$a`, `$b`; a lone step
/// is `$load1`, then `$b`. `$pre` runs after the flags are set (it must not change them).
macro_rules! by_four {
    ($count:literal, $turns:literal, $scratch:literal, $pre:expr, $load2:expr, $load1:expr,
     $a:expr, $b:expr) => {
        concat!(
            "adds ",
            $turns,
            ", ",
            $count,
            ", #3\n",
            "lsrs ",
            $turns,
            ", ",
            $turns,
            ", #2\n",
            // Bit 1 to C, bit 0 to N.
            "lsls ",
            $scratch,
            ", ",
            $count,
            ", #31\n",
            $pre,
            "bcc 13f\n",
            "bmi 14f\n",
            "b 12f\n",
            "14:\n",
            $load1,
            "b 11f\n",
            "13:\n",
            "bpl 10f\n",
            $load1,
            "b 15f\n",
            "10:\n",
            $load2,
            $a,
            "11:\n",
            $b,
            "12:\n",
            $load2,
            $a,
            "15:\n",
            $b,
            "subs ",
            $turns,
            ", ",
            $turns,
            ", #1\n",
            "bne 10b\n",
        )
    };
}

/// [`terms!`], four a turn (`by_four!`): the loop's `SUBS`, `BNE` a quarter of an
/// instruction a term each.
macro_rules! terms4 {
    ($term:ident, $a:literal, $b:literal) => {
        by_four!(
            "lr",
            "r1",
            "r4",
            "mov r0, r7\n",
            concat!(
                "ldmia r0!, {{r4, r5, r8, r9}}\n",
                "vmov s",
                $a,
                ", s",
                $b,
                ", r5, r9\n"
            ),
            concat!("ldmia r0!, {{r8, r9}}\n", "vmov s", $b, ", r9\n"),
            $term!("r4", $a),
            $term!("r8", $b)
        )
    };
}

/// [`inputs!`], four a turn (`by_four!`).
macro_rules! inputs4 {
    ($input:ident, $a:literal, $b:literal) => {
        by_four!(
            "r1",
            "lr",
            "r12",
            "mov r7, r0\nmov r12, r2\n",
            concat!("vldmia r7!, {{s", $a, ", s", $b, "}}\n"),
            concat!("vldmia r7!, {{s", $b, "}}\n"),
            $input!($a),
            $input!($b)
        )
    };
}

/// Twenty +0.0: the sums of a block that starts afresh are loaded from here.
static ZEROS: [f32; 20] = [0.0; 20];

// scratchnet_f32_vmla(terms, count, w, sums, blocks): r0 the terms, r1 their count (> 0),
// r2 the first column of the first block in row 0, r3 the sums, `blocks` (on the stack):
// the number of blocks of twenty columns times 0x10000, plus 1, 2, 4 if a block of ten,
// of eight, of four columns follows them (in that order).
// Each block: its sums loaded, every term added, the sums stored; then the next block's
// columns. Registers: r7 and lr keep the terms and their count, r6 the blocks left; a
// turn's two terms go to r4, r5 (offset, value) and r8, r9.
core::arch::global_asm!(concat!(
    ".section .text.scratchnet_f32_vmla,\"ax\",%progbits\n",
    ".syntax unified\n",
    ".thumb\n",
    // Module assembly knows no FPU unless told; FPv4-SP's instructions (Cortex-M4F) are
    // encoded the same in FPv5 (M7, M33).
    ".fpu fpv4-sp-d16\n",
    ".global scratchnet_f32_vmla\n",
    ".type scratchnet_f32_vmla,%function\n",
    ".p2align 2\n",
    ".thumb_func\n",
    "scratchnet_f32_vmla:\n",
    "push {{r4, r5, r6, r7, r8, r9, lr}}\n",
    "vpush {{s16-s31}}\n",
    // The fifth argument, above the 28 + 64 bytes just pushed.
    "ldr r6, [sp, #92]\n",
    "mov r7, r0\n",
    "mov lr, r1\n",
    "cmp r6, #0x10000\n",
    "blo 2f\n",
    "1:\n",
    "vldmia r3, {{s0-s19}}\n",
    terms4!(term20, 30, 31),
    "vstmia r3!, {{s0-s19}}\n",
    "adds r2, #80\n",
    "sub r6, r6, #0x10000\n",
    "cmp r6, #0x10000\n",
    "bhs 1b\n",
    "2:\n",
    "tst r6, #1\n",
    "beq 5f\n",
    "vldmia r3, {{s0-s9}}\n",
    terms4!(term10, 20, 21),
    "vstmia r3!, {{s0-s9}}\n",
    "adds r2, #40\n",
    "5:\n",
    "tst r6, #2\n",
    "beq 6f\n",
    "vldmia r3, {{s0-s7}}\n",
    terms!(term8, 16, 17),
    "vstmia r3!, {{s0-s7}}\n",
    "adds r2, #32\n",
    "6:\n",
    "tst r6, #4\n",
    "beq 7f\n",
    "vldmia r3, {{s0-s3}}\n",
    terms!(term4, 8, 9),
    "vstmia r3, {{s0-s3}}\n",
    "7:\n",
    "vpop {{s16-s31}}\n",
    "pop {{r4, r5, r6, r7, r8, r9, pc}}\n",
    ".size scratchnet_f32_vmla, . - scratchnet_f32_vmla\n",
));

// scratchnet_f32_vmla_dense(x, count, w, sums, blocks, stride, bias): as
// scratchnet_f32_vmla, for every input of a dense layer in order instead of a list of
// terms: r0 the inputs (f32, read in place), r1 their count (> 0), `stride` (on the stack)
// a row's bytes; every block's sums start at +0, loaded from ZEROS (its address in r8),
// and end with the block's biases added (`bias`, in r4, moved on a block at a time:
// loaded into the weights' registers, one `VADD` a sum). Per input: 24 instructions for 20
// multiply-adds (13 for 10; four inputs a turn for both), and no list to make.
core::arch::global_asm!(concat!(
    ".section .text.scratchnet_f32_vmla_dense,\"ax\",%progbits\n",
    ".syntax unified\n",
    ".thumb\n",
    ".fpu fpv4-sp-d16\n",
    ".global scratchnet_f32_vmla_dense\n",
    ".type scratchnet_f32_vmla_dense,%function\n",
    ".p2align 2\n",
    ".thumb_func\n",
    "scratchnet_f32_vmla_dense:\n",
    "push {{r4, r5, r6, r7, r8, lr}}\n",
    "vpush {{s16-s31}}\n",
    // The fifth to seventh arguments, above the 24 + 64 bytes just pushed.
    "ldr r6, [sp, #88]\n",
    "ldr r5, [sp, #92]\n",
    "ldr r4, [sp, #96]\n",
    "movw r8, #:lower16:{zeros}\n",
    "movt r8, #:upper16:{zeros}\n",
    // The blocks of twenty move r12 on by 40 bytes in the row: r5 is the rest of the stride.
    "subs r5, #40\n",
    "cmp r6, #0x10000\n",
    "blo 2f\n",
    "1:\n",
    "vldmia r8, {{s0-s19}}\n",
    inputs4!(dense20, 30, 31),
    "vldmia r4!, {{s20-s29}}\n",
    vadd!(0 20, 1 21, 2 22, 3 23, 4 24, 5 25, 6 26, 7 27, 8 28, 9 29),
    "vldmia r4!, {{s20-s29}}\n",
    vadd!(10 20, 11 21, 12 22, 13 23, 14 24, 15 25, 16 26, 17 27, 18 28, 19 29),
    "vstmia r3!, {{s0-s19}}\n",
    "adds r2, #80\n",
    "sub r6, r6, #0x10000\n",
    "cmp r6, #0x10000\n",
    "bhs 1b\n",
    "2:\n",
    "adds r5, #40\n",
    "tst r6, #1\n",
    "beq 5f\n",
    "vldmia r8, {{s0-s9}}\n",
    inputs4!(dense10, 20, 21),
    "vldmia r4!, {{s10-s19}}\n",
    vadd!(0 10, 1 11, 2 12, 3 13, 4 14, 5 15, 6 16, 7 17, 8 18, 9 19),
    "vstmia r3!, {{s0-s9}}\n",
    "adds r2, #40\n",
    "5:\n",
    "tst r6, #2\n",
    "beq 6f\n",
    "vldmia r8, {{s0-s7}}\n",
    inputs4!(dense8, 16, 17),
    "vldmia r4!, {{s8-s15}}\n",
    vadd!(0 8, 1 9, 2 10, 3 11, 4 12, 5 13, 6 14, 7 15),
    "vstmia r3!, {{s0-s7}}\n",
    "adds r2, #32\n",
    "6:\n",
    "tst r6, #4\n",
    "beq 7f\n",
    "vldmia r8, {{s0-s3}}\n",
    inputs!(dense4, 8, 9),
    "vldmia r4, {{s4-s7}}\n",
    vadd!(0 4, 1 5, 2 6, 3 7),
    "vstmia r3, {{s0-s3}}\n",
    "7:\n",
    "vpop {{s16-s31}}\n",
    "pop {{r4, r5, r6, r7, r8, pc}}\n",
    ".size scratchnet_f32_vmla_dense, . - scratchnet_f32_vmla_dense\n",
), zeros = sym ZEROS);

/// One non-zero word of four pixels in r0 (its first row's offset in r6) listed: room for
/// its four terms, else the list run first (the word in r0, and a pair's second word in
/// r2, kept across the call); then each non-zero byte's term. On to `$next` after.
macro_rules! pixel_word {
    ($next:literal) => {
        concat!(
            "cmp r8, r11\n",
            "bhs 7f\n",
            "3:\n",
            "ands r1, r0, #0xff\n",
            "beq 4f\n",
            "ldr r1, [r9, r1, lsl #2]\n",
            "strd r6, r1, [r8], #8\n",
            "4:\n",
            "ubfx r1, r0, #8, #8\n",
            "cbz r1, 4f\n",
            "ldr r1, [r9, r1, lsl #2]\n",
            "add r12, r6, r7\n",
            "strd r12, r1, [r8], #8\n",
            "4:\n",
            "ubfx r1, r0, #16, #8\n",
            "cbz r1, 4f\n",
            "ldr r1, [r9, r1, lsl #2]\n",
            "add r12, r6, r7, lsl #1\n",
            "strd r12, r1, [r8], #8\n",
            "4:\n",
            "lsrs r1, r0, #24\n",
            "beq ",
            $next,
            "\n",
            "ldr r1, [r9, r1, lsl #2]\n",
            "add r12, r6, r10\n",
            "strd r12, r1, [r8], #8\n",
            "b ",
            $next,
            "\n",
            "7:\n",
            "str r0, [sp, #4]\n",
            "str r2, [sp, #144]\n",
            "add r0, sp, #8\n",
            "sub r1, r8, r0\n",
            "lsrs r1, r1, #3\n",
            "ldr r2, [sp, #136]\n",
            "ldr r3, [sp, #140]\n",
            "bl scratchnet_f32_vmla\n",
            "ldr r0, [sp, #4]\n",
            "ldr r2, [sp, #144]\n",
            "add r8, sp, #8\n",
            "b 3b\n",
        )
    };
}

// scratchnet_f32_pixels(px, eights, w, sums, blocks, stride, table): the non-zero pixels of
// `eights` groups of eight u8 pixels from `px` (read a word at a time) listed as terms
// (row offset i·stride, value table[p] = p/255) on this routine's stack, 16 at most, and
// each list run by scratchnet_f32_vmla(list, count, w, sums, blocks) before a word could
// overflow it (13 terms or more) and at the end. Per zero group 7 instructions (two
// `LDR`s, `ORRS`, `BNE`, the offset's `ADD`, the loop's `CMP`, `BNE`); per non-zero word,
// the list's room checked, 2 a byte tested, and 2–3 more a non-zero pixel (its value's
// `LDR`, its offset's `ADD`, one `STRD` of the term).
// Frame: [sp] `blocks` (scratchnet_f32_vmla's fifth argument), [sp, #4] the word across a
// call, [sp, #8 .. #136] the list, [sp, #136] `w`, [sp, #140] `sums`, [sp, #144] the
// group's second word across a call; 148 bytes with the pushed 36, 8-aligned. Registers:
// r4 the next group, r5 the end, r6 the word's row offset, r7 the stride, r8 the list's
// end, r9 the table, r10 3·stride, r11 the list's limit (13 terms); r0 the word, r2 the
// group's second word, r1 a pixel, r12 a byte's offset, r3 scratch.
core::arch::global_asm!(concat!(
    ".section .text.scratchnet_f32_pixels,\"ax\",%progbits\n",
    ".syntax unified\n",
    ".thumb\n",
    ".global scratchnet_f32_pixels\n",
    ".type scratchnet_f32_pixels,%function\n",
    ".p2align 2\n",
    ".thumb_func\n",
    "scratchnet_f32_pixels:\n",
    "push {{r4-r11, lr}}\n",
    "sub sp, #148\n",
    // The fifth to seventh arguments, above the 148 + 36 bytes.
    "ldr r12, [sp, #184]\n",
    "str r12, [sp]\n",
    "ldr r7, [sp, #188]\n",
    "ldr r9, [sp, #192]\n",
    "str r2, [sp, #136]\n",
    "str r3, [sp, #140]\n",
    "mov r4, r0\n",
    "add r5, r0, r1, lsl #3\n",
    "movs r6, #0\n",
    "add r8, sp, #8\n",
    "add r11, sp, #112\n",
    "add r10, r7, r7, lsl #1\n",
    "cmp r4, r5\n",
    "beq 8f\n",
    "1:\n",
    "ldr r0, [r4], #4\n",
    "ldr r2, [r4], #4\n",
    "orrs r3, r0, r2\n",
    "bne 2f\n",
    "add r6, r6, r7, lsl #3\n",
    "cmp r4, r5\n",
    "bne 1b\n",
    "b 8f\n",
    // A group with a non-zero word: its first word, then its second.
    "2:\n",
    "cbz r0, 6f\n",
    pixel_word!("6f"),
    "6:\n",
    "add r6, r6, r7, lsl #2\n",
    "movs r0, r2\n",
    "beq 5f\n",
    pixel_word!("5f"),
    "5:\n",
    "add r6, r6, r7, lsl #2\n",
    "cmp r4, r5\n",
    "bne 1b\n",
    // The end: what is listed, run.
    "8:\n",
    "add r0, sp, #8\n",
    "subs r1, r8, r0\n",
    "beq 9f\n",
    "lsrs r1, r1, #3\n",
    "ldr r2, [sp, #136]\n",
    "ldr r3, [sp, #140]\n",
    "bl scratchnet_f32_vmla\n",
    "9:\n",
    "add sp, #148\n",
    "pop {{r4-r11, pc}}\n",
    ".size scratchnet_f32_pixels, . - scratchnet_f32_pixels\n",
));

// scratchnet_f32_zero(a, n): a[0 .. n] = +0 (f32, n ≥ 0), sixteen a `VSTM` from s0–s15
// (loaded from ZEROS), the last fifteen at most by the bits of n: 3 instructions for
// sixteen values, about 26 for fifty (`memclr` ~90).
core::arch::global_asm!(
    ".section .text.scratchnet_f32_zero,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".fpu fpv4-sp-d16",
    ".global scratchnet_f32_zero",
    ".type scratchnet_f32_zero,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_f32_zero:",
    "movw r2, #:lower16:{zeros}",
    "movt r2, #:upper16:{zeros}",
    "vldmia r2, {{s0-s15}}",
    "subs r1, #16",
    "blo 2f",
    "1:",
    "vstmia r0!, {{s0-s15}}",
    "subs r1, #16",
    "bhs 1b",
    // n mod 16 is r1's low four bits: bit 3 to C and bit 2 to N, then bits 1 and 0.
    "2:",
    "lsls r2, r1, #29",
    "it cs",
    "vstmiacs r0!, {{s0-s7}}",
    "it mi",
    "vstmiami r0!, {{s0-s3}}",
    "lsls r2, r1, #31",
    "it cs",
    "vstmiacs r0!, {{s0-s1}}",
    "it mi",
    "vstmiami r0!, {{s0}}",
    "bx lr",
    ".size scratchnet_f32_zero, . - scratchnet_f32_zero",
    zeros = sym ZEROS,
);

// scratchnet_f32_add(a, b, n): a[j] += b[j] for j < n (f32, one `VADD` each, n ≥ 0): eight a
// turn (two `VLDM`s, eight `VADD`s, one `VSTM`: 13 instructions), then one at a time.
core::arch::global_asm!(
    ".section .text.scratchnet_f32_add,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".fpu fpv4-sp-d16",
    ".global scratchnet_f32_add",
    ".type scratchnet_f32_add,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_f32_add:",
    "subs r2, #8",
    "blo 2f",
    "1:",
    "vldmia r0, {{s0-s7}}",
    "vldmia r1!, {{s8-s15}}",
    "vadd.f32 s0, s0, s8",
    "vadd.f32 s1, s1, s9",
    "vadd.f32 s2, s2, s10",
    "vadd.f32 s3, s3, s11",
    "vadd.f32 s4, s4, s12",
    "vadd.f32 s5, s5, s13",
    "vadd.f32 s6, s6, s14",
    "vadd.f32 s7, s7, s15",
    "vstmia r0!, {{s0-s7}}",
    "subs r2, #8",
    "bhs 1b",
    "2:",
    "adds r2, #8",
    "beq 4f",
    "3:",
    "vldr s0, [r0]",
    "vldmia r1!, {{s1}}",
    "vadd.f32 s0, s0, s1",
    "vstmia r0!, {{s0}}",
    "subs r2, #1",
    "bne 3b",
    "4:",
    "bx lr",
    ".size scratchnet_f32_add, . - scratchnet_f32_add",
);

unsafe extern "C" {
    fn scratchnet_f32_zero(a: *mut f32, n: usize);
    fn scratchnet_f32_add(a: *mut f32, b: *const f32, n: usize);
    fn scratchnet_f32_pixels(
        px: *const u8,
        eights: usize,
        w: *const f32,
        sums: *mut f32,
        blocks: u32,
        stride: u32,
        table: *const f32,
    );
    fn scratchnet_f32_vmla_dense(
        x: *const f32,
        count: usize,
        w: *const f32,
        sums: *mut f32,
        blocks: u32,
        stride: u32,
        bias: *const f32,
    );
    fn scratchnet_f32_vmla(
        terms: *const Term,
        count: usize,
        w: *const f32,
        sums: *mut f32,
        blocks: u32,
    );
}

/// `a` as slots to write (which `affine` does only with f32 values).
#[inline(always)]
pub(super) fn as_slots(a: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: `MaybeUninit<f32>` has `f32`'s layout, and the one user, `affine`, writes
    // only f32 values through it (never an uninitialized one): `a` stays initialized.
    unsafe { &mut *(core::ptr::from_mut(a) as *mut [MaybeUninit<f32>]) }
}

/// `a = x·W + b` (the kernel's [`affine`](super::affine)) into `a`, written whole and
/// returned there: not zeroed first where a routine writes every sum (a dense input's).
#[inline(always)]
pub(crate) fn affine_into<'a, 'x, const N: usize>(
    weights: Params<'_>,
    biases: Params<'_>,
    x: impl Input<'x>,
    a: &'a mut MaybeUninit<[f32; N]>,
) -> &'a mut [f32; N] {
    // SAFETY: `[MaybeUninit<f32>; N]` has the layout of `MaybeUninit<[f32; N]>`, and a
    // reference to uninitialized `MaybeUninit`s is valid.
    let slots = unsafe { &mut *a.as_mut_ptr().cast::<[MaybeUninit<f32>; N]>() };
    affine(weights, biases, x, slots);
    // SAFETY: `affine` writes every one of its `a`.
    unsafe { a.assume_init_mut() }
}

/// `a = x·W + b`, every one of `a` written: `a[j] = Σᵢ x[i]·W[i][j]` over the non-zero
/// inputs in order, then `a[j] += b[j]` (by the dense routine, where it reads the inputs
/// in place).
pub(super) fn affine<'x>(
    weights: Params<'_>,
    biases: Params<'_>,
    x: impl Input<'x>,
    a: &mut [MaybeUninit<f32>],
) {
    let added = match weights.as_f32() {
        Some(w) => sums(w, x, a, biases.as_f32().unwrap_or(&[])),
        None => {
            super::unaligned(weights, x, zero(a));
            false
        }
    };
    if !added {
        // SAFETY: `sums` and `zero` write every one of `a`.
        let a = unsafe { &mut *(core::ptr::from_mut(a) as *mut [f32]) };
        add_biases(biases, a);
    }
}

/// `a`, every value written +0, as initialized (sixteen a `VSTM`; also the int8 halfword
/// kernel's sums, whose zero has the same bits).
pub(super) fn zero(a: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    // SAFETY: the routine writes a[.. a.len()] (4-byte-aligned f32 slots) and reads
    // ZEROS[.. 16]; it uses s0–s15, r0–r2 only (caller-saved).
    unsafe { scratchnet_f32_zero(a.as_mut_ptr().cast(), a.len()) };
    // SAFETY: every element was written just above; `MaybeUninit<f32>` has `f32`'s layout.
    unsafe { &mut *(core::ptr::from_mut(a) as *mut [f32]) }
}

/// `a[j] += b[j]` for every bias (`b` as long as `a`, else through `Params`' iterator).
fn add_biases(biases: Params<'_>, a: &mut [f32]) {
    match biases.as_f32().filter(|b| b.len() == a.len()) {
        // SAFETY: the routine reads b[.. n] and reads and writes a[.. n], n = a.len() =
        // b.len() (checked), 4-byte-aligned f32s; it uses s0–s15, r0–r2 only.
        Some(b) => unsafe { scratchnet_f32_add(a.as_mut_ptr(), b.as_ptr(), a.len()) },
        None => super::add_biases(biases, a),
    }
}

/// `a[j] = Σᵢ x[i]·W[i][j]` over the non-zero inputs in order, for `W` with `a.len()`
/// columns (rows past `W`'s end, and inputs past `W`'s rows, are not read), written into
/// every one of `a`; then, if `b` has `a.len()` biases and the layer's inputs were read in
/// place, `a[j] += b[j]` too (by the routine): `true` then, `false` if the biases are still
/// to add.
#[inline(always)]
fn sums<'x, X: Input<'x>>(w: &[f32], x: X, a: &mut [MaybeUninit<f32>], b: &[f32]) -> bool {
    let columns = a.len();
    let Some(rows) = w.len().checked_div(columns).filter(|&r| r > 0) else {
        zero(a);
        return false;
    };
    let stride = 4 * columns as u32;
    let plan = Plan::of(columns);
    let entries = x.entries().get(..rows).unwrap_or(x.entries());
    // f32 inputs with few zeros (at most one in eight: a sigmoid's outputs) are read in
    // place, every one of them: a zero adds ±0 to sums that start at +0, which changes no
    // bit, and listing the inputs cost more than it skips. Which path is a matter of speed
    // only (the same bits either way), so the zeros are counted on eight inputs spread
    // evenly, and one at most means dense (a ReLU's outputs, or an image's pixels, have
    // many more): the book's network −146 instructions an inference on the M4F against
    // counting every fourth input (`cargo xtask demo`).
    if let Some(xs) = X::Entry::as_f32s(entries) {
        // (Fewer than eight inputs: dense, whatever they are.)
        let step = xs.len() / 8;
        let zeros = match xs.get(..=7 * step) {
            Some(head) if step > 0 => (0..8)
                .filter(|&k| head[k * step].to_bits() << 1 == 0)
                .count(),
            _ => 0,
        };
        let dense = zeros <= 1;
        if dense && !xs.is_empty() && b.len() == columns {
            return run_dense(w, xs, a, b, plan);
        }
    }
    // The terms' sums carry on from one list to the next: they start at +0.
    let a = zero(a);
    // u8 pixels: their whole words listed and run by a routine.
    if let Some(px) = X::Entry::as_pixels(entries) {
        run_pixels(w, px, a, plan);
        return false;
    }
    run_terms::<X::Entry>(w, entries, a, plan, stride);
    false
}

/// Adds `x[i]·W[i][j]` for every non-zero entry, in order, to the sums `a`, [`CHUNK`]
/// terms a list. (Out of line: its list is on the stack only while it runs.)
#[inline(never)]
fn run_terms<E: Entry>(w: &[f32], entries: &[E], a: &mut [f32], plan: Plan, stride: u32) {
    // Written before it is read (the routine and `run` read the first `n`): not zeroed.
    let mut list = [const { MaybeUninit::<Term>::uninit() }; CHUNK];
    let mut n = 0;
    let mut offset = 0u32;
    // Adds entry `e` (at row byte offset `offset`) to the list if it is not zero; runs the
    // list when full.
    macro_rules! push {
        ($e:expr) => {
            if !$e.is_zero() {
                // SAFETY: n < CHUNK: it starts at 0 and goes back to 0 when it reaches CHUNK.
                *unsafe { list.get_unchecked_mut(n) } = MaybeUninit::new(Term {
                    offset,
                    x: $e.listed(),
                });
                n += 1;
                if n == CHUNK {
                    run(w, &list, CHUNK, a, plan);
                    n = 0;
                }
            }
            offset = offset.wrapping_add(stride);
        };
    }
    // Four entries at a time: most of an image's pixels are zero, whole words of them.
    let (quads, rest) = entries.as_chunks::<4>();
    for quad in quads {
        if E::all_zero(quad) {
            offset = offset.wrapping_add(4 * stride);
        } else {
            for &e in quad {
                push!(e);
            }
        }
    }
    for &e in rest {
        push!(e);
    }
    run(w, &list, n, a, plan);
}

/// How a layer's columns are cut: blocks of 20, then at most one each of 10, 8 and 4 (the
/// routine's `blocks` argument), covering the first `done` columns; the rest (three at
/// most) are added in Rust.
#[derive(Clone, Copy)]
struct Plan {
    blocks: u32,
    done: usize,
}

impl Plan {
    /// The plan for `columns` columns (all in Rust past 2¹⁶ blocks of 20).
    fn of(columns: usize) -> Self {
        let wide = columns / 20;
        if wide >= 0x10000 {
            return Self { blocks: 0, done: 0 };
        }
        let mut left = columns % 20;
        let mut blocks = (wide as u32) << 16;
        for (width, flag) in [(10, 1), (8, 2), (4, 4)] {
            if left >= width {
                left -= width;
                blocks |= flag;
            }
        }
        Self {
            blocks,
            done: columns - left,
        }
    }
}

/// `a[j] = Σᵢ x[i]·W[i][j] + b[j]`, the sums over every input in order, the columns cut
/// by `plan` (`Plan::of(a.len())`; `x` at most `w`'s rows, `b` as long as `a`): `true`, or
/// `false` with the biases still to add if `x` or `b` does not fit. Every one of `a` is
/// written.
#[inline(never)]
fn run_dense(w: &[f32], x: &[f32], a: &mut [MaybeUninit<f32>], b: &[f32], plan: Plan) -> bool {
    let columns = a.len();
    if x.is_empty() || x.len() > w.len() / columns.max(1) || b.len() != columns {
        zero(a);
        return false;
    }
    let done = plan.done;
    if done > 0 {
        // SAFETY: the routine reads x[.. x.len()] (at least one, checked) in place, and
        // ZEROS[.. width] for each block (width ≤ 20, its length), and
        // for each i < x.len() ≤ w.len()/columns (checked) W[i][j .. j + width] at
        // w + 4·(i·columns + j) (`stride` = 4·columns bytes a row, below 2²³ as `Plan::of`
        // plans no block past 2¹⁶ of them) for the blocks of the plan (`Plan::of(a.len())`,
        // as the one caller, `sums`, makes it), one after the other from j = 0, below
        // `done` ≤ columns = a.len(): within `w`, 4-byte-aligned f32s; and b[.. done]
        // (b.len() = columns, checked). It writes a[.. done] only, and saves
        // the callee-saved registers it uses (r4–r8, s16–s31: AAPCS-VFP).
        unsafe {
            scratchnet_f32_vmla_dense(
                x.as_ptr(),
                x.len(),
                w.as_ptr(),
                a.as_mut_ptr().cast(),
                plan.blocks,
                4 * columns as u32,
                b.as_ptr(),
            );
        }
    }
    let rest = zero(a.get_mut(done..).unwrap_or(&mut []));
    if rest.is_empty() {
        return true;
    }
    for (&xi, row) in x.iter().zip(w.chunks_exact(columns)) {
        for (s, wij) in rest.iter_mut().zip(row.get(done..).unwrap_or(&[])) {
            *s += xi * wij;
        }
    }
    for (s, bj) in rest.iter_mut().zip(b.get(done..).unwrap_or(&[])) {
        *s += bj;
    }
    true
}

/// Adds `p/255·W[i][j]` for every non-zero pixel `p = px[i]`, in order, to the sums `a`
/// (+0 to start): the whole words of pixels by the listing routine, which runs each full
/// list through the blocks itself; the last pixels (fewer than four) and the columns past
/// the plan's in Rust, in the same order.
#[inline(never)]
fn run_pixels(w: &[f32], px: &[u8], a: &mut [f32], plan: Plan) {
    let columns = a.len();
    let (eights, tail) = px.as_chunks::<8>();
    let done = plan.done;
    if done > 0 && !eights.is_empty() && px.len() <= w.len() / columns.max(1) {
        // SAFETY: the routine reads eights.len() > 0 groups of pixels from `px`
        // (8·eights.len() ≤ px.len() bytes, read a word at a time: unaligned loads are allowed on these
        // cores while CCR.UNALIGN_TRP is clear, the reset default), PIXEL_VALUES at
        // indices 1..=255, and lists terms whose offsets are 4·i·columns for those pixels'
        // rows i < px.len() ≤ w.len()/columns (checked), on its own stack (16 terms), which
        // it runs through `scratchnet_f32_vmla` with `w`, `a` and `plan.blocks`: the same
        // contract as `run` (reads and writes a[.. done], reads W's rows within `w`). It
        // saves and restores r4–r11 (AAPCS).
        unsafe {
            scratchnet_f32_pixels(
                px.as_ptr(),
                eights.len(),
                w.as_ptr(),
                a.as_mut_ptr(),
                plan.blocks,
                4 * columns as u32,
                PIXEL_VALUES.as_ptr(),
            );
        }
        // The columns past the plan's, for the words' pixels, in order.
        if let Some(rest) = a.get_mut(done..).filter(|r| !r.is_empty()) {
            for (i, &p) in eights.as_flattened().iter().enumerate() {
                if p != 0 {
                    let row = w.get(i * columns + done..).unwrap_or(&[]);
                    for (s, wij) in rest.iter_mut().zip(row) {
                        *s += p.listed() * wij;
                    }
                }
            }
        }
    } else if !eights.is_empty() {
        // No block for the routine (fewer than four columns), or more pixels than rows:
        // every pixel in Rust.
        return list_pixels(w, px, a, plan, 0);
    }
    list_pixels(w, tail, a, plan, 8 * eights.len());
}

/// Adds the non-zero pixels of `px` (pixel `first + k` of the input) to the sums `a`
/// through the terms routine, in order. (Out of line: its list is on the stack only while
/// it runs, not under the routine's.)
#[inline(never)]
fn list_pixels(w: &[f32], px: &[u8], a: &mut [f32], plan: Plan, first: usize) {
    let columns = a.len();
    let rows = w.len() / columns.max(1);
    let mut list = [const { MaybeUninit::<Term>::uninit() }; CHUNK];
    let mut n = 0;
    for (i, &p) in px.iter().enumerate() {
        let row = first + i;
        if p != 0 && row < rows {
            list[n % CHUNK] = MaybeUninit::new(Term {
                offset: (4 * row * columns) as u32,
                x: p.listed(),
            });
            n += 1;
            if n == CHUNK {
                run(w, &list, CHUNK, a, plan);
                n = 0;
            }
        }
    }
    run(w, &list, n, a, plan);
}

/// Adds the products of the first `n` terms of `list` (written there: `n` ≤ [`CHUNK`]) to
/// the sums `a` as `plan` cuts its columns.
#[inline(never)]
fn run(w: &[f32], list: &[MaybeUninit<Term>; CHUNK], n: usize, a: &mut [f32], plan: Plan) {
    let n = n.min(CHUNK);
    if n == 0 {
        return;
    }
    // SAFETY: the caller wrote `list[..n]` (`sums` writes terms from index 0 on and passes
    // their count); `Term` is plain data.
    let terms: &[Term] = unsafe { core::slice::from_raw_parts(list.as_ptr().cast(), n) };
    let done = plan.done;
    if done > 0 {
        // SAFETY: every term's offset is 4·i·columns for a row i < w.len()/columns (made so
        // in `sums`), and the routine reads W[i][j .. j + width] for the blocks of the
        // plan, one after the other from j = 0, below `done` ≤ columns = a.len() (checked
        // by `Plan::of`): within `w`, 4-byte-aligned f32s (a `&[f32]`). It reads
        // `terms.len() > 0` terms (8 bytes each, `#[repr(C)]`), reads and writes
        // a[.. done] only, and saves the callee-saved registers it uses (r4–r9, s16–s31:
        // AAPCS-VFP).
        unsafe {
            scratchnet_f32_vmla(
                terms.as_ptr(),
                terms.len(),
                w.as_ptr(),
                a.as_mut_ptr(),
                plan.blocks,
            );
        }
    }
    let rest = a.get_mut(done..).unwrap_or(&mut []);
    if rest.is_empty() {
        return;
    }
    for t in terms {
        let row = w.get(t.offset as usize / 4 + done..).unwrap_or(&[]);
        for (s, wij) in rest.iter_mut().zip(row) {
            *s += t.x * wij;
        }
    }
}
