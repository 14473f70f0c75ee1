//! TFLite's int8 requantization on Thumb-2 cores (M3, M4, M7, M33), in assembly: for each
//! of a chunk of sums, `y[j] = clamp(MBQM(Σⱼ + b[j], M[j], n[j]) + z_out, lo, hi)`, the same
//! arithmetic as `tflite::mbqm_checked` (TFLite's `MultiplyByQuantizedMultiplier` for the
//! multipliers `0 ≤ M < 2³¹` and shifts `−31 ≤ n ≤ 30` a blob may hold, checked at load).
//!
//! Layout read: the chunk's i32 sums, then its outputs' i32 biases (the input zero point
//! folded in), multipliers and shifts, one each an output, in order; the i8 outputs written
//! in order. Per output: `acc << max(n, 0)`, one `SMLAL` of `acc·M` onto `2³⁰` (the rounding
//! high multiply `⌊(acc·M + 2³⁰)/2³¹⌋` from the 64-bit sum's two halves), the rounding right
//! shift by `min(max(−n, 0), 31)` (`USAT`) as TFLite rounds (half away from zero: the
//! remainder against half the divisor, one more for a negative value), its `+1` and the
//! zero point in one `ADC`, the clamp by two conditional moves: 31 instructions an output
//! as QEMU counts them (AD01: 55 279 an inference for 1 792 outputs, the calls included)
//! against 43 for the compiled loop, which spilled its pointers.
#![allow(unsafe_code)]

/// What the routine reads: the chunk's arrays, its length, and the layer's output zero
/// point and clamp.
#[repr(C)]
struct Requant {
    sums: *const i32,
    biases: *const i32,
    multipliers: *const i32,
    shifts: *const i32,
    out: *mut i8,
    /// Outputs in the chunk (at least one).
    n: u32,
    zero_point: i32,
    lo: i32,
    hi: i32,
}

// scratchnet_s8_requant(state): the state's nine words into r0–r8 (sums, biases,
// multipliers, shifts, outputs, count, zero point, lo, hi), then per output: r9 the value,
// r10 the shift, r11 the multiplier, then the rounding's divisor; r12 and lr the 64-bit
// product, then the remainder.
core::arch::global_asm!(
    ".section .text.scratchnet_s8_requant,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".global scratchnet_s8_requant",
    ".type scratchnet_s8_requant,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_s8_requant:",
    "push {{r4-r11, lr}}",
    "ldm r0, {{r0-r8}}",
    "1:",
    // acc = Σ + b, shifted left by max(n, 0) (at most 30).
    "ldr r9, [r0], #4",
    "ldr r10, [r1], #4",
    "add r9, r9, r10",
    "ldr r10, [r3], #4",
    "ldr r11, [r2], #4",
    "bic r12, r10, r10, asr #31",
    "lsl r9, r9, r12",
    // high = ⌊(acc·M + 2³⁰)/2³¹⌋: bits 31–62 of the 64-bit sum.
    "mov r12, #0x40000000",
    "mov lr, #0",
    "smlal r12, lr, r9, r11",
    "lsr r12, r12, #31",
    "orr r9, r12, lr, lsl #1",
    // right = min(max(−n, 0), 31); p = 2^right.
    "rsb r10, r10, #0",
    "usat r10, #5, r10",
    "mov r11, #1",
    "lsl r11, r11, r10",
    // remainder = high & (p − 1); rounded up when remainder > (p − 1)/2 + (high < 0), that
    // is when remainder ≥ (p + 1)/2 + (high < 0) (for p = 1 too: remainder 0 < 1).
    "sub r12, r11, #1",
    "and r12, r9, r12",
    "add r11, r11, #1",
    "lsr r11, r11, #1",
    "add r11, r11, r9, lsr #31",
    "asr r9, r9, r10",
    "cmp r12, r11",
    // (high >> right) + the carry (rounded up) + the zero point.
    "adc r9, r9, r6",
    // max(lo), then min(hi) (lo ≤ hi, checked at load).
    "cmp r9, r7",
    "it lt",
    "movlt r9, r7",
    "cmp r9, r8",
    "it gt",
    "movgt r9, r8",
    "strb r9, [r4], #1",
    "subs r5, r5, #1",
    "bne 1b",
    "pop {{r4-r11, pc}}",
    ".size scratchnet_s8_requant, . - scratchnet_s8_requant",
);

unsafe extern "C" {
    fn scratchnet_s8_requant(state: *const Requant);
}

/// `y[j] = clamp(MBQM(sums[j] + b[j], m[j], sh[j]) + zero_point, lo, hi)` for the first
/// `min` of the lengths; the shifts must be within −31..=30 and the multipliers
/// non-negative (a loaded blob's are), and `lo ≤ hi`.
#[inline(always)]
pub(crate) fn requantize(
    sums: &[i32],
    b: &[i32],
    m: &[i32],
    sh: &[i32],
    y: &mut [i8],
    zero_point: i32,
    (lo, hi): (i32, i32),
) {
    let n = sums
        .len()
        .min(b.len())
        .min(m.len())
        .min(sh.len())
        .min(y.len());
    if n == 0 {
        return;
    }
    let state = Requant {
        sums: sums.as_ptr(),
        biases: b.as_ptr(),
        multipliers: m.as_ptr(),
        shifts: sh.as_ptr(),
        out: y.as_mut_ptr(),
        n: n as u32,
        zero_point,
        lo,
        hi,
    };
    // SAFETY: the routine reads `state` and n > 0 (checked) words from each of `sums`, `b`,
    // `m` and `sh` (each at least n long, word-aligned as `&[i32]`s), writes n bytes to `y`
    // (at least n long), and saves and restores r4–r11 (AAPCS); it touches nothing else.
    unsafe { scratchnet_s8_requant(&state) };
}
