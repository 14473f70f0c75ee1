//! The int8 kernel's passes on ARMv7-M and ARMv8-M Mainline cores without the DSP
//! extension (Cortex-M3; M4/M7/M33 built without the `dsp` feature), in Thumb-2 assembly:
//! the terms of [`muls`](super::muls) (non-zero inputs `(i << 8) | x[i]`, one word each)
//! through five rows of [`int8`](super::int8)'s layout (output-major, `stride` i8 a row),
//! each weight by one `LDRSB` (register offset) and one `MLA` (multiply-accumulate) — 16
//! instructions a term for five multiply-adds, against 23 for the Thumb-1 `MULS` routine
//! (which has no multiply-accumulate and fewer registers). Exact wrapping i32 sums.
#![allow(unsafe_code)]

use super::int8::ROWS;

// The routine below is written for five rows.
const _: () = assert!(ROWS == 5);

// scratchnet_q8_mla5(terms, end, base, stride, sums): as scratchnet_q8_muls5 — for each
// term word t in [terms, end), x = t & 0xFF (sign-extended for i8 inputs) and
// p = base + (t >> 8); the five rows' weights are the bytes at p + stride, …,
// p + 5·stride; each is multiplied by x and added to its sum, read from and written back
// to `sums`.
//
// Registers: r0 term pointer, r1 end, r2 base, r3 stride, r4 2·stride, r5 3·stride,
// r6 term then x, r7 p, r12 weight; the sums in r8–r11 and lr.
// Per term: 16 instructions for five multiply-adds.
macro_rules! mla5 {
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
            "push {{r4-r11, lr}}\n",
            // The fifth argument, above the nine saved words.
            "ldr r12, [sp, #36]\n",
            "ldr r8, [r12, #0]\n",
            "ldr r9, [r12, #4]\n",
            "ldr r10, [r12, #8]\n",
            "ldr r11, [r12, #12]\n",
            "ldr lr, [r12, #16]\n",
            "lsls r4, r3, #1\n",
            "adds r5, r4, r3\n",
            "cmp r0, r1\n",
            "beq 2f\n",
            "1:\n",
            "ldr r6, [r0], #4\n",
            "add r7, r2, r6, lsr #8\n",
            $ext,
            " r6, r6\n",
            "ldrsb r12, [r7, r3]\n",
            "mla r8, r12, r6, r8\n",
            "ldrsb r12, [r7, r4]\n",
            "mla r9, r12, r6, r9\n",
            "ldrsb r12, [r7, r5]\n",
            "mla r10, r12, r6, r10\n",
            "add r7, r7, r5\n",
            "ldrsb r12, [r7, r3]\n",
            "mla r11, r12, r6, r11\n",
            "ldrsb r12, [r7, r4]\n",
            "mla lr, r12, r6, lr\n",
            "cmp r0, r1\n",
            "bne 1b\n",
            "2:\n",
            "ldr r12, [sp, #36]\n",
            "str r8, [r12, #0]\n",
            "str r9, [r12, #4]\n",
            "str r10, [r12, #8]\n",
            "str r11, [r12, #12]\n",
            "str lr, [r12, #16]\n",
            "pop {{r4-r11, pc}}\n",
            ".size ",
            $name,
            ", . - ",
            $name,
            "\n",
        ));
    };
}
mla5!("scratchnet_q8_mla5", "uxtb");
mla5!("scratchnet_s8_mla5", "sxtb");

unsafe extern "C" {
    /// u8 inputs. SAFETY: as `muls`' routines (the same arguments, reads and writes).
    pub(super) fn scratchnet_q8_mla5(
        terms: *const u32,
        end: *const u32,
        base: *const u8,
        stride: usize,
        sums: *mut [i32; ROWS],
    );
    /// i8 inputs.
    pub(super) fn scratchnet_s8_mla5(
        terms: *const u32,
        end: *const u32,
        base: *const u8,
        stride: usize,
        sums: *mut [i32; ROWS],
    );
}
