//! An int8 sigmoid layer's outputs from its sums on a Cortex-M core with an FPU, in
//! assembly: `z[j] = T[min(⌊(fl(fl(Σⱼ·fl(s[j]/d_in)) + B[j]) + 8)·32⌋, 511)]` for the
//! 512-entry table `T` of `round(255·sigmoid)` (0 for a negative index or NaN).
//!
//! Layout read: the chunk's i32 sums, its f32 scales `s` and biases `B`, one each an
//! output, in order; the u8 outputs written in order. Per output: the sum, scale and bias
//! loaded straight into FPU registers (`VLDM` with writeback), the factor by `VDIV`, the
//! value by `VMLA` (product rounded, then the sum: the Rust `sum as f32 * factor + b`),
//! `+ 8` by `VADD`, then the index by one fixed-point `VCVT.S32.F32 #5` (`trunc(y·32)`
//! from the exact product, saturated; NaN gives 0) and `USAT #9` (clamped to `0..=511`):
//! the index `((y·32) as usize).min(511)` gives for every f32 `y`. 14 instructions an
//! output, against 21 for the compiled loop (which needs a multiply, a conversion and a
//! three-instruction minimum for the index; Rust's `asm!` cannot name an FPU register on
//! these targets, hence a routine).
#![allow(unsafe_code)]

// scratchnet_q8_sigmoid(sums, scales, biases, out, n, d_in, table): r0 the sums, r1 the
// scales, r2 the biases, r3 the outputs, `d_in` in s0 (AAPCS-VFP), `n` (> 0) and `table`
// on the stack (arguments in registers: a 28-byte block of them measured on the int8
// firmware's deepest stack, which is at its 2 KiB). Registers: r4 the index, r5 the
// count, r6 the table; s4 d_in, s5 8.0.
core::arch::global_asm!(
    ".section .text.scratchnet_q8_sigmoid,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".fpu fpv4-sp-d16",
    ".global scratchnet_q8_sigmoid",
    ".type scratchnet_q8_sigmoid,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_q8_sigmoid:",
    "push {{r4-r6, lr}}",
    // The fifth and seventh arguments, above the 16 bytes just pushed.
    "ldr r5, [sp, #16]",
    "ldr r6, [sp, #20]",
    "vmov.f32 s4, s0",
    "vmov.f32 s5, #8.0",
    "1:",
    "vldmia r0!, {{s0}}",
    "vcvt.f32.s32 s0, s0",
    "vldmia r1!, {{s1}}",
    "vdiv.f32 s1, s1, s4",
    "vldmia r2!, {{s2}}",
    "vmla.f32 s2, s0, s1",
    "vadd.f32 s2, s2, s5",
    "vcvt.s32.f32 s2, s2, #5",
    "vmov r4, s2",
    "usat r4, #9, r4",
    "ldrb r4, [r6, r4]",
    "strb r4, [r3], #1",
    "subs r5, #1",
    "bne 1b",
    "pop {{r4-r6, pc}}",
    ".size scratchnet_q8_sigmoid, . - scratchnet_q8_sigmoid",
);

unsafe extern "C" {
    fn scratchnet_q8_sigmoid(
        sums: *const i32,
        scales: *const f32,
        biases: *const f32,
        out: *mut u8,
        n: usize,
        d_in: f32,
        table: *const u8,
    );
}

/// `z[j] = table[index]` for each of `sums` with its scale `s[j]` and bias `b[j]` (the
/// first `min` of the lengths).
#[inline(always)]
pub(crate) fn sigmoid_u8s(
    sums: &[i32],
    s: &[f32],
    b: &[f32],
    d_in: f32,
    z: &mut [u8],
    table: &[u8; 512],
) {
    let n = sums.len().min(s.len()).min(b.len()).min(z.len());
    if n == 0 {
        return;
    }
    // SAFETY: the routine reads n > 0 (checked) words from each of `sums`, `s` and `b`
    // (each at least n long), writes n bytes to `z` (at least n long), reads `table` at
    // indices 0..=511 (USAT's range: its length), and touches nothing else: r4–r6 saved
    // and restored, s0–s5 caller-saved (AAPCS-VFP).
    unsafe {
        scratchnet_q8_sigmoid(
            sums.as_ptr(),
            s.as_ptr(),
            b.as_ptr(),
            z.as_mut_ptr(),
            n,
            d_in,
            table.as_ptr(),
        )
    };
}
