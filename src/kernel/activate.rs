//! An int8 layer's u8 outputs from its sums on a Cortex-M core with an FPU, in assembly:
//! the value `A[j] = fl(B[j] + fl(Σⱼ·fl(s[j]/d_in)))`, then
//!
//! * sigmoid: `z[j] = T[min(⌊(A[j] + 8)·32⌋, 511)]` for the 512-entry table `T` of
//!   `round(255·sigmoid)` (0 for a negative index);
//! * ReLU: `z[j] = min(round(max(A[j], 0)·d_out), 255)`, halves away from zero.
//!
//! Layout read: the chunk's i32 sums, its f32 scales `s` and biases `B`, one each an
//! output, in order; the u8 outputs written in order. Per output: the sum, scale and bias
//! loaded straight into FPU registers (`VLDM` with writeback), the factor by `VDIV`, the
//! value by `VMLA` (product rounded, then the sum: the Rust `sum as f32 * factor + b`).
//! Then the sigmoid's `+ 8` by `VADD` and its index by one fixed-point `VCVT.S32.F32 #5`
//! (`trunc(y·32)` from the exact product, saturated) and `USAT #9` (clamped to
//! `0..=511`): the index `((y·32) as usize).min(511)` gives for every f32 `y` — 9.75
//! instructions an output, four a turn (14 one at a time), against 21 for the compiled loop, which needs a multiply, a
//! conversion and a three-instruction minimum (Rust's `asm!` cannot name an FPU register
//! on these targets, hence a routine). ReLU's `y = fl(A·d_out)` by `VMUL`, then
//! `t = ⌊2y⌋` by `VCVT.S32.F32 #1` (exact, saturated; ≤ 0 for a negative `A`, so no
//! `max` is needed), `USAT #9`, and `(t + 1) >> 1 = ⌊y + ½⌋`, which is `roundf(y)` for
//! `y ≥ 0`, clamped by `USAT #8`: 16 instructions an output, against about 25 for the
//! compiled loop and its call of [`Activation::apply`](crate::Activation::apply).
//! An output layer's f32 values (identity: its logits) by the same steps, stored by
//! `VSTM`: 9 instructions an output against 13.
#![allow(unsafe_code)]

// scratchnet_q8_activate(sums, scales, biases, out, n, table, d_in, d_out): r0 the sums,
// r1 the scales, r2 the biases, r3 the outputs, `d_in` in s0 and `d_out` in s1
// (AAPCS-VFP), `n` (> 0) and `table` on the stack (arguments in registers, not a block on
// the int8 firmware's deepest stack, which is at its 2 KiB): the sigmoid's table, or null
// for ReLU. Registers: r4 (and r12) the index, r5 the count (the sigmoid's: of fours, r12
// the ones before them), r6 the table; s2 the sum, s3 the factor, s6 the value (four a turn
// for the sigmoid: the sums s2–s5, factors s6–s9, values s10–s13), s1 8.0 (the sigmoid has
// no `d_out`).
core::arch::global_asm!(
    ".section .text.scratchnet_q8_activate,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".fpu fpv4-sp-d16",
    ".global scratchnet_q8_activate",
    ".type scratchnet_q8_activate,%function",
    ".p2align 2",
    ".thumb_func",
    // An output's value A = fl(B + fl(Σ·fl(s/d_in))) into s6, the three pointers moved on.
    ".macro scratchnet_q8_activate_value",
    "vldmia r0!, {{s2}}",
    "vcvt.f32.s32 s2, s2",
    "vldmia r1!, {{s3}}",
    "vdiv.f32 s3, s3, s0",
    "vldmia r2!, {{s6}}",
    "vmla.f32 s6, s2, s3",
    ".endm",
    // Two sigmoid outputs from their table indices in r4 and r12 (clamped to 0..=511),
    // stored in order.
    ".macro scratchnet_q8_activate_store2",
    "usat r4, #9, r4",
    "usat r12, #9, r12",
    "ldrb r4, [r6, r4]",
    "ldrb r12, [r6, r12]",
    "strb r4, [r3], #1",
    "strb r12, [r3], #1",
    ".endm",
    "scratchnet_q8_activate:",
    "push {{r4-r6, lr}}",
    // The fifth and sixth arguments, above the 16 bytes just pushed.
    "ldr r5, [sp, #16]",
    "ldr r6, [sp, #20]",
    "cmp r6, #0",
    "beq 2f",
    "vmov.f32 s1, #8.0",
    // Four outputs a turn (r5 the turns); a count's last two bits' outputs first, one at a
    // time (r12 counting them).
    "and r12, r5, #3",
    "lsrs r5, r5, #2",
    "cmp r12, #0",
    "beq 1f",
    "3:",
    "scratchnet_q8_activate_value",
    "vadd.f32 s6, s6, s1",
    "vcvt.s32.f32 s6, s6, #5",
    "vmov r4, s6",
    "usat r4, #9, r4",
    "ldrb r4, [r6, r4]",
    "strb r4, [r3], #1",
    "subs r12, #1",
    "bne 3b",
    "cmp r5, #0",
    "beq 4f",
    "1:",
    "vldmia r0!, {{s2-s5}}",
    "vcvt.f32.s32 s2, s2",
    "vcvt.f32.s32 s3, s3",
    "vcvt.f32.s32 s4, s4",
    "vcvt.f32.s32 s5, s5",
    "vldmia r1!, {{s6-s9}}",
    "vdiv.f32 s6, s6, s0",
    "vdiv.f32 s7, s7, s0",
    "vdiv.f32 s8, s8, s0",
    "vdiv.f32 s9, s9, s0",
    "vldmia r2!, {{s10-s13}}",
    "vmla.f32 s10, s2, s6",
    "vmla.f32 s11, s3, s7",
    "vmla.f32 s12, s4, s8",
    "vmla.f32 s13, s5, s9",
    "vadd.f32 s10, s10, s1",
    "vadd.f32 s11, s11, s1",
    "vadd.f32 s12, s12, s1",
    "vadd.f32 s13, s13, s1",
    "vcvt.s32.f32 s10, s10, #5",
    "vcvt.s32.f32 s11, s11, #5",
    "vcvt.s32.f32 s12, s12, #5",
    "vcvt.s32.f32 s13, s13, #5",
    "vmov r4, r12, s10, s11",
    "scratchnet_q8_activate_store2",
    "vmov r4, r12, s12, s13",
    "scratchnet_q8_activate_store2",
    "subs r5, #1",
    "bne 1b",
    "4:",
    "pop {{r4-r6, pc}}",
    "2:",
    "scratchnet_q8_activate_value",
    "vmul.f32 s6, s6, s1",
    "vcvt.s32.f32 s6, s6, #1",
    "vmov r4, s6",
    "usat r4, #9, r4",
    "adds r4, #1",
    "lsrs r4, #1",
    "usat r4, #8, r4",
    "strb r4, [r3], #1",
    "subs r5, #1",
    "bne 2b",
    "pop {{r4-r6, pc}}",
    ".size scratchnet_q8_activate, . - scratchnet_q8_activate",
    // scratchnet_q8_values(sums, scales, biases, out, n, d_in): the values themselves, f32
    // (an output layer's logits); r3 the f32 outputs, `n` (> 0) on the stack, `d_in` in s0.
    ".global scratchnet_q8_values",
    ".type scratchnet_q8_values,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_q8_values:",
    "ldr r12, [sp]",
    "3:",
    "scratchnet_q8_activate_value",
    "vstmia r3!, {{s6}}",
    "subs r12, #1",
    "bne 3b",
    "bx lr",
    ".size scratchnet_q8_values, . - scratchnet_q8_values",
);

unsafe extern "C" {
    fn scratchnet_q8_activate(
        sums: *const i32,
        scales: *const f32,
        biases: *const f32,
        out: *mut u8,
        n: usize,
        table: *const u8,
        d_in: f32,
        d_out: f32,
    );
    fn scratchnet_q8_values(
        sums: *const i32,
        scales: *const f32,
        biases: *const f32,
        out: *mut f32,
        n: usize,
        d_in: f32,
    );
}

/// The activation a layer's outputs go through: the sigmoid by its table, or ReLU (the
/// routine's `table` and `d_out` arguments, worked out once a layer).
#[derive(Clone, Copy)]
pub(crate) struct Activated<'t> {
    /// The sigmoid's table, or `None` for ReLU.
    table: Option<&'t [u8; 512]>,
    /// ReLU's output divisor `d_out` (unused for the sigmoid).
    d_out: f32,
}

impl<'t> Activated<'t> {
    /// The sigmoid: `T[min(⌊(A + 8)·32⌋, 511)]`.
    pub(crate) fn sigmoid(table: &'t [u8; 512]) -> Self {
        Self {
            table: Some(table),
            d_out: 255.0,
        }
    }

    /// ReLU: `min(round(max(A, 0)·d_out), 255)`.
    pub(crate) fn relu(d_out: f32) -> Self {
        Self { table: None, d_out }
    }
}

/// `z[j]` for each of `sums` with its scale `s[j]` and bias `b[j]` (the first `min` of the
/// lengths), through `activated`.
#[inline(always)]
pub(crate) fn activate_u8s(
    sums: &[i32],
    s: &[f32],
    b: &[f32],
    d_in: f32,
    z: &mut [u8],
    activated: Activated<'_>,
) {
    let n = sums.len().min(s.len()).min(b.len()).min(z.len());
    if n == 0 {
        return;
    }
    // SAFETY: the routine reads n > 0 (checked) words from each of `sums`, `s` and `b`
    // (each at least n long), writes n bytes to `z` (at least n long), reads the table (if
    // not null: 512 bytes) at indices 0..=511 (USAT's range), and touches nothing else:
    // r4–r6 saved and restored, s0–s7 caller-saved (AAPCS-VFP).
    unsafe {
        scratchnet_q8_activate(
            sums.as_ptr(),
            s.as_ptr(),
            b.as_ptr(),
            z.as_mut_ptr(),
            n,
            activated.table.map_or(core::ptr::null(), |t| t.as_ptr()),
            d_in,
            activated.d_out,
        )
    };
}

/// `A[j] = fl(B[j] + fl(Σⱼ·fl(s[j]/d_in)))` for each of `sums` with its scale `s[j]` and
/// bias `b[j]` (the first `min` of the lengths), into `a`: an output layer's values, 9
/// instructions an output against 13 for the compiled loop.
#[inline(always)]
pub(crate) fn values_f32(sums: &[i32], s: &[f32], b: &[f32], d_in: f32, a: &mut [f32]) {
    let n = sums.len().min(s.len()).min(b.len()).min(a.len());
    if n == 0 {
        return;
    }
    // SAFETY: the routine reads n > 0 (checked) words from each of `sums`, `s` and `b`
    // (each at least n long), writes n words to `a` (at least n long), and touches nothing
    // else: r0–r3, r12 and s0–s7 are caller-saved (AAPCS-VFP).
    unsafe {
        scratchnet_q8_values(
            sums.as_ptr(),
            s.as_ptr(),
            b.as_ptr(),
            a.as_mut_ptr(),
            n,
            d_in,
        )
    };
}
