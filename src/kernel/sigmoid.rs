//! The f32 sigmoid `1/(1 + e^(−x))` of a layer's outputs on a Cortex-M core with an FPU, in
//! assembly: [`exp_table`](crate::math::exp_table)'s steps for `e^(−x)`, the same
//! operations in the same order, so the same bits as the Rust [`sigmoid`](crate::sigmoid)
//! (which the host runs).
//!
//! Layout read: the f32 values in place, two at a time (one `VLDM`, one `VSTM`), written
//! back in order. Per value (25.5 instructions, 51 a pair, against 33 for the compiled
//! loop): `t = fl(S + fl(x·(−64/ln 2)))` by one `VMLA` (the
//! shifter `S` = 1.5·2²³ copied in first), `k` from `t`'s bits, the main path's range
//! checked by `ADD`, `CMN`; then `r' = −r` (`r = −x − k·ln 2/64` in three parts) by three
//! `VMLA`s on `x` itself — round to nearest is symmetric, so every step is the Rust one's
//! negated, and the `VNEG` of `x` is saved —, `u = 1/2 + r/6` by `VMLS` on `r'`, `r²`,
//! `p = r + r²·u` by `VNMLS` (`−r' + fl(r²·u)`: the product rounded, then the sum), the
//! table's pair by one `VLDM`, `lo + hi·p` and `hi + …`, `n` added to the exponent field
//! in a core register (both values' `t` and `y` moved by one `VMOV` of two), then `1 + e`
//! and the division. A value off the main path (its `e^(−x)` overflows or is below
//! `2⁻¹²⁶`: `|x| > 86.6`, or NaN) stops the routine before its pair: the caller computes
//! the pair's first value in Rust and calls again for the rest; so does an odd last value.
#![allow(unsafe_code)]

use crate::math::{POW2, SIGMOID_CONSTANTS, exp_table_out_of_line};

// scratchnet_f32_sigmoid(a, n, pow2, constants) -> done: r0 the values (f32, in place), r1
// their count, r2 the table of 2^(j/64), r3 the nine constants (loaded to s16–s24:
// −64/ln 2, S, −S, ln 2/64's parts hi, mid, lo, 1/6, 1/2, 1). Returns how many values it
// wrote, from the first: an even number, all n but an odd last one, or up to the pair
// with a value off the main path.
// Registers (value 0, value 1): r4, r3 t's bits; r5, r6 and lr scratch, r8 −(S's bits) −
// 8192, r9 0xff800000, r12 the first value; s0, s1 x, then r', then p and the result;
// s2, s3 t; s4, s5 k; s6, s7 u; s8, s9 r²; s10, s11 and s12, s13 (hi, lo), then y in s11
// and s12.
core::arch::global_asm!(
    ".section .text.scratchnet_f32_sigmoid,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".fpu fpv4-sp-d16",
    ".global scratchnet_f32_sigmoid",
    ".type scratchnet_f32_sigmoid,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_f32_sigmoid:",
    "push {{r4-r6, r8, r9, lr}}",
    "vpush {{s16-s24}}",
    "vldmia r3, {{s16-s24}}",
    "mov r12, r0",
    "movw r8, #0xe000",
    "movt r8, #0xb4bf",
    "movw r9, #0",
    "movt r9, #0xff80",
    // Two values a turn (r1 the turns): an odd last value is left to the caller.
    "lsrs r1, r1, #1",
    "beq 9f",
    "1:",
    "vldmia r0, {{s0, s1}}",
    "vmov.f32 s2, s17",
    "vmov.f32 s3, s17",
    "vmla.f32 s2, s0, s16",
    "vmla.f32 s3, s1, s16",
    "vmov r4, r3, s2, s3",
    // k − 8192 = bits(t) − bits(S) − 8192: the main path is k in −8000..=8191.
    "add r5, r4, r8",
    "cmn r5, #16192",
    "bcc 9f",
    "add r5, r3, r8",
    "cmn r5, #16192",
    "bcc 9f",
    "vadd.f32 s4, s2, s18",
    "vadd.f32 s5, s3, s18",
    "vmla.f32 s0, s4, s19",
    "vmla.f32 s1, s5, s19",
    "vmla.f32 s0, s4, s20",
    "vmla.f32 s1, s5, s20",
    "vmla.f32 s0, s4, s21",
    "vmla.f32 s1, s5, s21",
    "vmov.f32 s6, s23",
    "vmov.f32 s7, s23",
    "vmls.f32 s6, s0, s22",
    "vmls.f32 s7, s1, s22",
    "vmul.f32 s8, s0, s0",
    "vmul.f32 s9, s1, s1",
    "vnmls.f32 s0, s8, s6",
    "vnmls.f32 s1, s9, s7",
    // The table's pairs j = k mod 64 (t's low bits: S's are zero there): (hi, lo) in s10,
    // s11 and s12, s13; y = hi + (lo + hi·p) in s11 and s12, next to each other.
    "and r5, r4, #63",
    "add r5, r2, r5, lsl #3",
    "vldmia r5, {{s10, s11}}",
    "and r6, r3, #63",
    "add r6, r2, r6, lsl #3",
    "vldmia r6, {{s12, s13}}",
    "vmla.f32 s11, s10, s0",
    "vadd.f32 s11, s10, s11",
    "vmla.f32 s13, s12, s1",
    "vadd.f32 s12, s12, s13",
    // y·2ⁿ, n = k >> 6: (k >> 6) << 23 is t's bits 6..15 moved to the exponent field.
    "vmov r5, r6, s11, s12",
    "and lr, r9, r4, lsl #17",
    "add r5, lr",
    "and lr, r9, r3, lsl #17",
    "add r6, lr",
    "vmov s11, s12, r5, r6",
    "vadd.f32 s0, s11, s24",
    "vadd.f32 s1, s12, s24",
    "vdiv.f32 s0, s24, s0",
    "vdiv.f32 s1, s24, s1",
    "vstmia r0!, {{s0, s1}}",
    "subs r1, #1",
    "bne 1b",
    "9:",
    "sub r0, r0, r12",
    "lsrs r0, r0, #2",
    "vpop {{s16-s24}}",
    "pop {{r4-r6, r8, r9, pc}}",
    ".size scratchnet_f32_sigmoid, . - scratchnet_f32_sigmoid",
);

unsafe extern "C" {
    fn scratchnet_f32_sigmoid(
        a: *mut f32,
        n: usize,
        pow2: *const [u32; 2],
        constants: *const f32,
    ) -> usize;
}

/// `a[i] = 1/(1 + e^(−a[i]))` for every value, the Rust [`sigmoid`](crate::sigmoid)'s bits.
#[inline(never)]
pub(crate) fn sigmoid_all(a: &mut [f32]) {
    let mut rest = a;
    while !rest.is_empty() {
        // SAFETY: the routine reads and writes rest[..done] (done ≤ rest.len() > 0, f32s in
        // place), reads rest[done], rest[done + 1] if done + 1 < rest.len() (pairs only),
        // POW2 (64 pairs; j = k mod 64) and SIGMOID_CONSTANTS (nine f32s), and touches
        // nothing else: r4–r9 and s16–s24 saved and restored (AAPCS-VFP).
        let done = unsafe {
            scratchnet_f32_sigmoid(
                rest.as_mut_ptr(),
                rest.len(),
                POW2.as_ptr(),
                SIGMOID_CONSTANTS.as_ptr(),
            )
        };
        // A value off the exponential's main path (or its pair's first, or an odd last
        // one): `sigmoid`'s formula, its exponential by
        // the path `exp_table` takes there (not the whole of `sigmoid` inline: the int8
        // firmware, which links this for the book's toy networks, has not the flash).
        let Some((v, tail)) = rest.get_mut(done..).and_then(|r| r.split_first_mut()) else {
            return;
        };
        *v = 1.0 / (1.0 + exp_table_out_of_line(-*v));
        rest = tail;
    }
}
