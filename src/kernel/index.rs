//! A hidden int8 sigmoid layer's table indices on Thumb-1 cores (M0/M0+, M23), from the
//! blob's soft-float constants: [`HiddenIndex`](crate::requant)'s usual case in assembly.
//! Layout read: the layer's sums (i32), each output's four constant words
//! `[factor, g | k << 24, c, slack]` (`ElementType::I8SoftFloat`), the 512-byte sigmoid
//! table; written: one u8 an output.
//!
//! For each output, with `a = |Σ|`: when `a < 2²⁰` and `12 ≤ k < 32`,
//! `P = ((a·g₁) >> (k − 12)) + ((a·g₀) >> k)` (`g` split at bit 12: two 32-bit `MULS`),
//! `v = c ± P`, `m = (P >> 18) + slack`, and if `P < 2³⁰` and `(v − m) >> 16` equals
//! `(v + m) >> 16` and lies in `0..512`, that is the index — exactly the Rust estimate's
//! Thumb-1 path (`requant::HiddenIndex::estimate_prepared`). Any other output stops the
//! routine, and the caller works it out in Rust (the estimate's other paths, or the f32
//! formula): 47 instructions an output against ~73 for the compiled loop (M0, whose eight
//! low registers it spilled).
#![allow(unsafe_code)]

use crate::requant::Constants;

// scratchnet_sigmoid_index(sums, end, per, z, table): for each sum in [sums, end) with its
// constants at `per` (16 bytes each) and its byte at `z`, writes table[index] while the
// index is decided (see above); returns the pointer to the first sum it did not decide
// (`end` when it decided all).
//
// Registers: r0 sum pointer, r1 constants pointer, r2–r6 work (r4 a, r5 the sum's sign
// mask, r6 g | k << 24, then k − 12, then k), r7 the output pointer; r9 the end, r10 the
// table.
core::arch::global_asm!(
    ".section .text.scratchnet_sigmoid_index,\"ax\",%progbits",
    ".syntax unified",
    ".thumb",
    ".global scratchnet_sigmoid_index",
    ".type scratchnet_sigmoid_index,%function",
    ".p2align 2",
    ".thumb_func",
    "scratchnet_sigmoid_index:",
    "push {{r4-r7, lr}}",
    "mov r5, r9",
    "mov r6, r10",
    "push {{r5, r6}}",
    // The fifth argument, above the seven saved words.
    "ldr r4, [sp, #28]",
    "mov r10, r4",
    "mov r7, r3",
    "mov r9, r1",
    "mov r1, r2",
    "cmp r0, r9",
    "beq 9f",
    "1:",
    "ldm r0!, {{r4}}",
    // a = |Σ| (r5: 0 or −1, the sign), below 2²⁰.
    "asrs r5, r4, #31",
    "eors r4, r5",
    "subs r4, r4, r5",
    "lsrs r6, r4, #20",
    "bne 8f",
    // g₁ and g₀; 12 ≤ k < 32.
    "ldr r6, [r1, #4]",
    "lsls r2, r6, #8",
    "lsrs r2, r2, #20",
    "lsls r3, r6, #20",
    "lsrs r3, r3, #20",
    "lsrs r6, r6, #24",
    "subs r6, #12",
    "cmp r6, #20",
    "bhs 8f",
    // P = ((a·g₁) >> (k − 12)) + ((a·g₀) >> k), below 2³⁰.
    "muls r2, r4, r2",
    "lsrs r2, r6",
    "muls r3, r4, r3",
    "adds r6, #12",
    "lsrs r3, r6",
    "adds r2, r2, r3",
    "lsrs r3, r2, #30",
    "bne 8f",
    // m = (P >> 18) + slack; v = c ± P.
    "ldr r3, [r1, #12]",
    "lsrs r4, r2, #18",
    "adds r3, r3, r4",
    "eors r2, r5",
    "subs r2, r2, r5",
    "ldr r4, [r1, #8]",
    "adds r2, r2, r4",
    // (v − m) >> 16 = (v + m) >> 16, in 0..512.
    "subs r4, r2, r3",
    "adds r2, r2, r3",
    "asrs r4, r4, #16",
    "asrs r2, r2, #16",
    "cmp r4, r2",
    "bne 8f",
    "lsrs r2, r4, #9",
    "bne 8f",
    "mov r2, r10",
    "ldrb r4, [r2, r4]",
    "strb r4, [r7]",
    "adds r7, #1",
    "adds r1, #16",
    "cmp r0, r9",
    "bne 1b",
    "b 9f",
    // Not decided here: this sum is the caller's.
    "8:",
    "subs r0, #4",
    "9:",
    "pop {{r5, r6}}",
    "mov r9, r5",
    "mov r10, r6",
    "pop {{r4-r7, pc}}",
    ".size scratchnet_sigmoid_index, . - scratchnet_sigmoid_index",
);

unsafe extern "C" {
    fn scratchnet_sigmoid_index(
        sums: *const i32,
        end: *const i32,
        per: *const Constants,
        z: *mut u8,
        table: *const [u8; 512],
    ) -> *const i32;
}

/// `z[k] = table[index of sums[k]]` from the start while the routine decides the index;
/// how many it wrote (fewer than `sums.len()` when the next one is the caller's to work
/// out). The lengths taken are the shortest of `sums`, `per` and `z`.
#[inline(always)]
pub(crate) fn decided(sums: &[i32], per: &[Constants], z: &mut [u8], table: &[u8; 512]) -> usize {
    let n = sums.len().min(per.len()).min(z.len());
    let Some(sums) = sums.get(..n) else {
        return 0;
    };
    // SAFETY: the routine reads the n sums of `sums` (aligned i32, from its start to its
    // end), for the k-th of them the 16 bytes of `per[k]` (k < n ≤ per.len()), and the
    // table at an index it has checked to be below 512; it writes `z[k]` (k < n ≤ z.len())
    // and nothing else; it saves and restores r4–r7, r9 and r10 (AAPCS) and uses 28 bytes of stack.
    // Word loads of aligned words and byte accesses only (no unaligned access).
    let stopped = unsafe {
        scratchnet_sigmoid_index(
            sums.as_ptr(),
            sums.as_ptr_range().end,
            per.as_ptr(),
            z.as_mut_ptr(),
            table,
        )
    };
    ((stopped as usize).saturating_sub(sums.as_ptr() as usize) / 4).min(n)
}
