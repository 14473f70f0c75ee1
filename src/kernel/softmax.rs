//! The softmax's exponentials `e^(aₖ − c)` (`c` the maximum, so never positive) on a
//! Cortex-M core with an FPU, in assembly: [`exp_nonpositive`](crate::math::exp_nonpositive)'s integer steps, the same
//! bits, and their sum in order (`VADD`, from +0, as the Rust loop adds them).
//!
//! Layout read: the f32 values in place, written back in order; `POW2_Q31`, the 64 words
//! of `2^(−j/64)·2³¹`. Per value (49 instructions against ~62 for the compiled loop, whose
//! seven 32-bit constants did not fit its registers): `x = aₖ − c` (`VSUB`), its bits; the
//! range checked by `ADD`, `CMN` (as the Rust); `m`, then `p = m·log₂e` in 64 bits by
//! `UMULL`, `UMLAL`; `z = p >> (149 − e)` by two shifts and an `ORR`; `t`, `u`, `q` and
//! `v` by five `UMULL`s; `v` to an f32 by `CLZ`, shifts and the round bit. Off that path,
//! as the Rust does: `|x| < 2⁻¹⁰` (a shift past 32), a subnormal result, NaN, `x` ≥
//! `−2⁻²⁵` (1, the maximum itself among them) and `x ≤ −104` (0). Only a positive `x`,
//! never a softmax's (`aₖ − max a ≤ 0`), stops the routine: the caller computes it
//! (`exp_table`, `exp_nonpositive`'s value there) and calls again for the rest.
#![allow(unsafe_code)]

use crate::math::{POW2_Q31, exp_table_out_of_line};

// scratchnet_f32_softmax_exps(a, n, state, pow2) -> done: r0 the values (f32, in place),
// r1 their count (> 0), r2 the state [c, sum] (two f32: c read, sum read and written
// back), r3 POW2_Q31. Returns how many values it wrote, from the first (all n, or up to
// the first it leaves).
// Registers: r8 0x3d300000 (the range check's addend), r9 and r10 log₂e·2⁶³'s low and
// high words, r11 ln 2·2³², r12 2³²/6; r4 x's bits; r2, r5, r6, r7, lr scratch; s16 c,
// s17 the sum. Frame: [sp] the state, [sp, #4] n.
core::arch::global_asm!(
    ".section .text.scratchnet_f32_softmax_exps,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".fpu fpv4-sp-d16",
    ".global scratchnet_f32_softmax_exps",
    ".type scratchnet_f32_softmax_exps,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_f32_softmax_exps:",
    "push {{r1, r2, r4-r11, lr}}",
    "vpush {{s16, s17}}",
    "vldmia r2, {{s16, s17}}",
    "movw r8, #0",
    "movt r8, #0x3d30",
    "movw r9, #0xf0bb",
    "movt r9, #0x5c17",
    "movw r10, #0x3b29",
    "movt r10, #0xb8aa",
    "movw r11, #0x17f8",
    "movt r11, #0xb172",
    "movw r12, #0xaaab",
    "movt r12, #0x2aaa",
    "1:",
    "vldr s0, [r0]",
    "vsub.f32 s0, s0, s16",
    "vmov r4, s0",
    // The main path, −104 < x < −2⁻²⁵: bits − 0xc2d00000 above 0xf0300000.
    "add r5, r4, r8",
    "cmn r5, #0x0fd00000",
    "bls 8f",
    // m (r5) and e (r6); p = m·hi + ⌊m·lo / 2³²⌋ in r2:r7.
    "ubfx r6, r4, #23, #8",
    "ubfx r5, r4, #0, #23",
    "orr r5, r5, #0x00800000",
    "umull r2, r7, r5, r9",
    "movs r2, #0",
    "umlal r7, r2, r5, r10",
    // z = p >> s, s = 149 − e in 16..=47: f in r7, n in r2. Up to 32 (a register shift by
    // 32 gives 0, as the 64-bit shift's), by two shifts and an `ORR`; past it (|x| <
    // 2⁻¹⁰), the high word alone.
    "rsb r5, r6, #149",
    "subs r6, r6, #117",
    "bmi 7f",
    "lsr r7, r7, r5",
    "lsl lr, r2, r6",
    "orr r7, r7, lr",
    "lsr r2, r2, r5",
    "3:",
    // j = f >> 26 (r5), r = f mod 2²⁶; t = ⌊r·ln 2⌋ (r7); u = 2³¹ − ⌊t/6⌋ (lr);
    // q = t − ⌊t·⌊t·u⌋⌋ (r7); v = pow − ⌊pow·q⌋ (r5).
    "lsr r5, r7, #26",
    "bic r7, r7, #0xfc000000",
    "umull r6, r7, r7, r11",
    "umull r6, lr, r7, r12",
    "rsb lr, lr, #0x80000000",
    "umull r6, lr, r7, lr",
    "umull r6, lr, r7, lr",
    "sub r7, r7, lr",
    "ldr r5, [r3, r5, lsl #2]",
    "umull r6, lr, r5, r7",
    "sub r5, r5, lr",
    // v·2⁻³¹·2⁻ⁿ: normalized, its exponent 126 − (lz + n) (a subnormal below), its
    // mantissa rounded half up (a carry goes on into the exponent).
    "clz r6, r5",
    "lsl r5, r5, r6",
    "add r6, r6, r2",
    "cmp r6, #127",
    "bhs 6f",
    "lsr r7, r5, #8",
    "ubfx r5, r5, #7, #1",
    "add r5, r7, r5",
    "sub r5, r5, r6, lsl #23",
    "add r5, r5, #0x3f000000",
    "2:",
    "vmov s0, r5",
    "vadd.f32 s17, s17, s0",
    "vstmia r0!, {{s0}}",
    "subs r1, #1",
    "bne 1b",
    "b 9f",
    // s past 32: f = hi >> (s − 32), n = 0.
    "7:",
    "rsbs r6, r6, #0",
    "lsr r7, r2, r6",
    "movs r2, #0",
    "b 3b",
    // A subnormal: units of 2⁻¹⁴⁹, v >> (lz + n − 118) (at most 34: a register shift by 32
    // or more gives 0, as `checked_shr`'s `None` does) and its round bit.
    "6:",
    "sub r6, r6, #118",
    "lsr r7, r5, r6",
    "sub r6, r6, #1",
    "lsr r5, r5, r6",
    "and r5, r5, #1",
    "add r5, r7, r5",
    "b 2b",
    // Off the main path (`outside`): NaN gives x; a positive x stops the routine (it is
    // `exp_table`'s, and never a softmax's: aₖ − max ≤ 0); ±0 and −2⁻²⁵ ≤ x give 1; the
    // rest, x ≤ −104, gives 0.
    "8:",
    "lsls r5, r4, #1",
    "beq 4f",
    "cmp r5, #0xff000000",
    "bhi 5f",
    "cmp r4, #0",
    "bge 9f",
    "cmp r5, #0x66000000",
    "bls 4f",
    "movs r5, #0",
    "b 2b",
    "5:",
    "mov r5, r4",
    "b 2b",
    "4:",
    "mov r5, #0x3f800000",
    "b 2b",
    "9:",
    "ldrd r2, r5, [sp, #8]",
    "vstr s17, [r5, #4]",
    "sub r0, r2, r1",
    "vpop {{s16, s17}}",
    "add sp, #8",
    "pop {{r4-r11, pc}}",
    ".size scratchnet_f32_softmax_exps, . - scratchnet_f32_softmax_exps",
);

unsafe extern "C" {
    fn scratchnet_f32_softmax_exps(
        a: *mut f32,
        n: usize,
        state: *mut [f32; 2],
        pow2: *const u32,
    ) -> usize;
}

/// `a[k] = e^(a[k] − c)` by [`exp_nonpositive`](crate::math::exp_nonpositive)'s steps (its bits), and their sum, added in
/// order from +0.
#[inline(always)]
pub(crate) fn softmax_exps(a: &mut [f32], c: f32) -> f32 {
    let mut state = [c, 0.0];
    let mut rest = a;
    while !rest.is_empty() {
        // SAFETY: the routine reads and writes rest[.. done] (done ≤ rest.len() > 0, f32s
        // in place), reads rest[done] if done < rest.len(), `state` (two f32s: it writes
        // the second), POW2_Q31 (64 words; j < 64), and touches nothing else: r4–r11 and
        // s16–s17 saved and restored (AAPCS-VFP).
        let done = unsafe {
            scratchnet_f32_softmax_exps(
                rest.as_mut_ptr(),
                rest.len(),
                &mut state,
                POW2_Q31.as_ptr(),
            )
        };
        // A value the routine leaves (x > 0: `exp_nonpositive`'s value there), and its sum.
        let Some((v, tail)) = rest.get_mut(done..).and_then(|r| r.split_first_mut()) else {
            break;
        };
        *v = exp_table_out_of_line(*v - c);
        state[1] += *v;
        rest = tail;
    }
    state[1]
}
