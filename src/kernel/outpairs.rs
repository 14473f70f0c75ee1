//! The int8 kernel for weights in output pairs (`ElementType::I8OutputPairs`), for cores
//! without the DSP extension: `acc[j] = Σᵢ x[i]·q[j][i]`, exact i32 sums, inputs u8.
//!
//! Layout read: blocks of eight outputs one after the other, each a record of four words
//! (16 bytes) for every input; word `k` of input `i`'s record in block `b` is the i32
//! `W = (q[j][i] + 128) + 2¹⁶·q[j+1][i]` for `j = 8b + 2k` (a missing output's weight 0).
//!
//! One 32-bit multiply gives two outputs' products: `P = x·W = x·(q[j] + 128) +
//! 2¹⁶·x·q[j+1]`, whose low part `x·(q[j] + 128)` is at most `255·255 < 2¹⁶` and which
//! never wraps (`|P| ≤ 255·(255 + 128·2¹⁶) < 2³¹`). So `P >> 16` (arithmetic) is exactly
//! the odd output's product `x·q[j+1]`, and with
//! `S = ΣP` (wrapping) and `O = Σ(P >> 16)` over the inputs, the even output's sum is
//! `S − (O << 16) − 128·Σx` (wrapping; the true value of `S − (O << 16)` is
//! `Σ x·(q[j] + 128) < 2³¹` for fewer than 33 000 inputs, and the result is exact as
//! wrapping i32 for any count). The odd output's is `O`.
//!
//! On Arm cores without the DSP extension (Cortex-M0/M0+, M23; M3) routines in assembly
//! compute them (on Thumb-2 cores, M3, each word by three instructions instead of four:
//! `MUL`, `ADD`, and `ADD` of the product shifted right by 16; 16 instructions a term, 15
//! an input). A sparse input (more than one zero among eight spread evenly: an image)
//! is listed as terms `[16·i, x[i]]` (and its sum), and each term goes through a block's
//! four words: one `LDM` of the term, one `ADD` of the block's address, two `LDM`s of two
//! words and, a word, `MULS`, `ADD`, `ASRS`, `ADD` — 20 instructions for eight
//! multiply-adds (2.5 each, against 3.5 for `muls`' rows). A dense input (a sigmoid's
//! outputs) is not listed: a pass reads every input by `LDRB` and walks the block's
//! records in order, 19 instructions an input. A block with one or two real pairs (the
//! last, for a count of outputs not a multiple of eight) is taken a pair at a time (7
//! instructions an input or term). Elsewhere plain Rust computes the same sums the same
//! way.
#![allow(unsafe_code)]

/// The outputs of a block: four words, two outputs a word.
const BLOCK: usize = 8;

/// `acc[j] = Σᵢ x[i]·q[j][i]` for weights in output pairs (`rows`: ⌈outputs/8⌉ blocks of
/// `16·x.len()` bytes), handed to `finish` in order, a few at a time. Nothing is handed on
/// if the sizes do not fit (the caller sizes them).
#[inline(always)]
pub(crate) fn matvec(rows: &[u8], x: &[u8], outputs: usize, finish: impl FnMut(&[i32])) {
    let n = x.len();
    let blocks = outputs.div_ceil(BLOCK);
    // Below 2²⁴ inputs: the terms' `16·i` fit 32 bits.
    let fits = n > 0
        && n < 1 << 24
        && (16 * n)
            .checked_mul(blocks)
            .is_some_and(|b| b == rows.len());
    if !fits {
        return;
    }
    #[cfg(all(target_arch = "arm", not(feature = "dsp")))]
    thumb::matvec(rows, x, outputs, finish);
    #[cfg(not(all(target_arch = "arm", not(feature = "dsp"))))]
    portable(rows, x, outputs, finish);
}

/// The two outputs of a word from what was summed over the inputs: `s = ΣP` and
/// `o = Σ(P >> 16)`, `fix = 128·Σx` (see the module documentation).
#[inline(always)]
fn pair(s: i32, o: i32, fix: i32) -> [i32; 2] {
    [s.wrapping_sub(o << 16).wrapping_sub(fix), o]
}

/// Plain Rust, the routines' arithmetic: a block at a time, over the non-zero inputs.
#[cfg(not(all(target_arch = "arm", not(feature = "dsp"))))]
fn portable(rows: &[u8], x: &[u8], outputs: usize, mut finish: impl FnMut(&[i32])) {
    let fix = x
        .iter()
        .fold(0i32, |s, &v| s.wrapping_add(128 * i32::from(v)));
    for (b, block) in rows.chunks_exact(16 * x.len()).enumerate() {
        let mut acc = [[0i32; 2]; 4];
        for (record, &v) in block.as_chunks::<16>().0.iter().zip(x) {
            if v == 0 {
                continue;
            }
            for (acc, w) in acc.iter_mut().zip(record.as_chunks::<4>().0) {
                let p = i32::from(v).wrapping_mul(i32::from_le_bytes(*w));
                *acc = [acc[0].wrapping_add(p), acc[1].wrapping_add(p >> 16)];
            }
        }
        let sums: [i32; BLOCK] =
            core::array::from_fn(|o| pair(acc[o / 2][0], acc[o / 2][1], fix)[o % 2]);
        let n = outputs.saturating_sub(BLOCK * b).min(BLOCK);
        finish(sums.get(..n).unwrap_or(&[]));
    }
}

#[cfg(all(target_arch = "arm", not(feature = "dsp")))]
mod thumb {
    use super::{BLOCK, pair};
    use core::mem::MaybeUninit;

    /// One word's two products (see the module documentation), the word in `w` and the input
    /// in r1: `P = x·W`, `e += P`, `o += P >> 16`. Thumb-1 (M0/M0+, M23): `MULS`, `ADD`, `ASRS`,
    /// `ADD` (a low register's sum by `ADDS`, whose flags nothing reads).
    #[cfg(not(scratchnet_thumb2))]
    macro_rules! mac2 {
        ($w:tt, $e:tt, $o:tt) => {
            concat!(
                "muls ",
                stringify!($w),
                ", r1, ",
                stringify!($w),
                "\n",
                add_to!($e, $w),
                "asrs ",
                stringify!($w),
                ", ",
                stringify!($w),
                ", #16\n",
                add_to!($o, $w),
            )
        };
    }

    /// `e += w` for [`mac2`] on Thumb-1: `ADDS` for a low register, `ADD` for a high one.
    #[cfg(not(scratchnet_thumb2))]
    macro_rules! add_to {
        (r5, $w:tt) => {
            concat!("adds r5, r5, ", stringify!($w), "\n")
        };
        (r6, $w:tt) => {
            concat!("adds r6, r6, ", stringify!($w), "\n")
        };
        (r7, $w:tt) => {
            concat!("adds r7, r7, ", stringify!($w), "\n")
        };
        ($h:tt, $w:tt) => {
            concat!("add ", stringify!($h), ", ", stringify!($w), "\n")
        };
    }

    /// [`mac2`] on Thumb-2 cores without the DSP extension (M3): `MUL`, `ADD`, and `ADD` of the
    /// product shifted right by 16 (three instructions a word, against four).
    #[cfg(scratchnet_thumb2)]
    macro_rules! mac2 {
        ($w:tt, $e:tt, $o:tt) => {
            concat!(
                "mul ",
                stringify!($w),
                ", ",
                stringify!($w),
                ", r1\n",
                "add ",
                stringify!($e),
                ", ",
                stringify!($e),
                ", ",
                stringify!($w),
                "\n",
                "add ",
                stringify!($o),
                ", ",
                stringify!($o),
                ", ",
                stringify!($w),
                ", asr #16",
            )
        };
    }

    /// At most this many terms are listed at once (2 KiB of the caller's stack, left
    /// uninitialized); an input with more non-zero values is taken a window at a time.
    const TERMS: usize = 256;

    /// Blocks whose sums one call of the routine keeps on the stack before they are handed
    /// on (104 outputs: one call a layer of the book's network).
    const GROUP: usize = 13;

    /// One listed input: `16·i` (its record's offset in a block) and its value.
    type Term = [u32; 2];

    /// What the block routine reads, and updates as it goes (`block`, `sums`, `blocks`).
    #[repr(C)]
    struct Job {
        terms: *const Term,
        end: *const Term,
        block: *const u8,
        block_bytes: usize,
        sums: *mut i32,
        blocks: usize,
        fix: u32,
    }

    /// What the listing routine reads, and updates as it goes (`words`, `index`, `slot`,
    /// `sum`).
    #[repr(C)]
    struct ListJob {
        words: *const u32,
        end: *const u32,
        index: u32,
        slot: *mut Term,
        limit: *const Term,
        sum: u32,
    }

    // scratchnet_i8_out_pairs(job): `job.blocks` passes; pass p adds, for each term [t, x]
    // in [terms, end), x times the four words at block + t (block = job.block on the first
    // pass, then block_bytes more each pass) as `P` to the pair's two sums (`ΣP`,
    // `Σ(P >> 16)`), and writes the block's eight outputs' sums at `job.sums` (then 32
    // bytes more each pass): `ΣP − (Σ(P >> 16) << 16) − fix` and `Σ(P >> 16)` a word.
    //
    // Registers: r0 the term's record, r1 x, r2–r3 words, r4 the term pointer, r5–r12 the
    // four pairs' sums, lr the block. On the stack: the job and the terms' end.
    // Per four terms: 83 instructions for 32 multiply-adds on Thumb-1, 67 on Thumb-2 (a
    // count not a multiple of four enters the first turn where as many are left); about 60 a
    // pass around them.
    core::arch::global_asm!(
        ".section .text.scratchnet_i8_out_pairs,\"ax\",%progbits",
        ".syntax unified",
        ".thumb",
        ".global scratchnet_i8_out_pairs",
        ".type scratchnet_i8_out_pairs,%function",
        ".p2align 2",
        ".thumb_func",
        // A record's four words (at r0, which moves past them) times x (r1) into the four
        // pairs' sums: both block routines' multiply-adds.
        ".macro scratchnet_out_pairs_words",
        "ldm r0!, {{r2, r3}}",
        mac2!(r2, r5, r6),
        mac2!(r3, r7, r8),
        "ldm r0!, {{r2, r3}}",
        mac2!(r2, r9, r10),
        mac2!(r3, r11, r12),
        ".endm",
        ".macro scratchnet_out_pairs_term",
        "ldm r4!, {{r0, r1}}",
        "add r0, lr",
        "scratchnet_out_pairs_words",
        ".endm",
        // One pair's two sums (`e` less `o << 16` less the fix in r1) stored at r2 + `at`.
        ".macro scratchnet_out_pairs_store e, o, at",
        "lsls r3, \\o, #16",
        "subs \\e, \\e, r3",
        "subs \\e, \\e, r1",
        "str \\e, [r2, #\\at]",
        "str \\o, [r2, #\\at + 4]",
        ".endm",
        // The two block routines' shared steps (their jobs' `sums`, `blocks` and `fix` at
        // the same offsets): r4–r11 saved and restored, the sums zeroed, and at a pass's end
        // (r0 the job) the eight outputs written and the passes left counted down (flags
        // set by the count).
        ".macro scratchnet_out_pairs_save",
        "push {{r4-r7, lr}}",
        "mov r4, r8",
        "mov r5, r9",
        "mov r6, r10",
        "mov r7, r11",
        "push {{r4-r7}}",
        ".endm",
        ".macro scratchnet_out_pairs_restore",
        "pop {{r4-r7}}",
        "mov r8, r4",
        "mov r9, r5",
        "mov r10, r6",
        "mov r11, r7",
        "pop {{r4-r7, pc}}",
        ".endm",
        ".macro scratchnet_out_pairs_zero",
        "movs r5, #0",
        "movs r6, #0",
        "movs r7, #0",
        "mov r8, r5",
        "mov r9, r5",
        "mov r10, r5",
        "mov r11, r5",
        "mov r12, r5",
        ".endm",
        ".macro scratchnet_out_pairs_pass_end",
        "ldr r1, [r0, #24]",
        "ldr r2, [r0, #16]",
        "mov r4, r8",
        "scratchnet_out_pairs_store r5, r6, 0",
        "scratchnet_out_pairs_store r7, r4, 8",
        "mov r5, r9",
        "mov r6, r10",
        "scratchnet_out_pairs_store r5, r6, 16",
        "mov r5, r11",
        "mov r6, r12",
        "scratchnet_out_pairs_store r5, r6, 24",
        "adds r2, #32",
        "str r2, [r0, #16]",
        "ldr r1, [r0, #20]",
        "subs r1, #1",
        "str r1, [r0, #20]",
        ".endm",
        "scratchnet_i8_out_pairs:",
        "scratchnet_out_pairs_save",
        "ldr r1, [r0, #4]",
        "push {{r0, r1}}",
        "ldr r1, [r0, #20]",
        "cmp r1, #0",
        "bne 10f",
        "b 90f",
        "10:",
        "ldr r0, [sp, #0]",
        "ldr r4, [r0, #0]",
        "ldr r1, [r0, #8]",
        "mov lr, r1",
        "ldr r1, [sp, #4]",
        "subs r1, r1, r4",
        "scratchnet_out_pairs_zero",
        // (end − terms)/8 terms, four a turn: the first turn entered where as many are left
        // as the count mod 4 (none: no turn).
        "lsrs r1, r1, #4",
        "bcs 12f",
        "beq 30f",
        "lsrs r1, r1, #1",
        "bcs 22f",
        "b 20f",
        "12:",
        "lsrs r1, r1, #1",
        "bcs 21f",
        "b 23f",
        "20:",
        "scratchnet_out_pairs_term",
        "21:",
        "scratchnet_out_pairs_term",
        "22:",
        "scratchnet_out_pairs_term",
        "23:",
        "scratchnet_out_pairs_term",
        "ldr r0, [sp, #4]",
        "cmp r4, r0",
        "bne 20b",
        "30:",
        "ldr r0, [sp, #0]",
        // The next pass's block: block_bytes on.
        "ldr r1, [r0, #8]",
        "ldr r2, [r0, #12]",
        "adds r1, r1, r2",
        "str r1, [r0, #8]",
        "scratchnet_out_pairs_pass_end",
        // (Beyond a conditional branch's reach.)
        "beq 90f",
        "b 10b",
        "90:",
        "add sp, #8",
        "scratchnet_out_pairs_restore",
        ".size scratchnet_i8_out_pairs, . - scratchnet_i8_out_pairs",
    );

    // scratchnet_i8_out_pair(terms, end, word, out): for each term [t, x] in [terms, end),
    // x times the word at word + t as `P`; writes `ΣP` and `Σ(P >> 16)` at `out`.
    //
    // Registers: r0 the term's offset, r1 x, r2 the word, r3 `word`, r4 the term pointer,
    // r5–r6 the sums, r7 the end, r12 `out`. 7 instructions a term (two a turn).
    core::arch::global_asm!(
        ".section .text.scratchnet_i8_out_pair,\"ax\",%progbits",
        ".syntax unified",
        ".thumb",
        ".global scratchnet_i8_out_pair",
        ".type scratchnet_i8_out_pair,%function",
        ".p2align 2",
        ".thumb_func",
        ".macro scratchnet_out_pair_term",
        "ldm r4!, {{r0, r1}}",
        "ldr r2, [r0, r3]",
        mac2!(r2, r5, r6),
        ".endm",
        "scratchnet_i8_out_pair:",
        "push {{r4-r7, lr}}",
        "mov r12, r3",
        "mov r3, r2",
        "mov r4, r0",
        "mov r7, r1",
        "movs r5, #0",
        "movs r6, #0",
        "subs r0, r7, r4",
        "lsrs r0, r0, #4",
        "bcs 2f",
        "beq 9f",
        "1:",
        "scratchnet_out_pair_term",
        "2:",
        "scratchnet_out_pair_term",
        "cmp r4, r7",
        "bne 1b",
        "9:",
        "mov r0, r12",
        "str r5, [r0, #0]",
        "str r6, [r0, #4]",
        "pop {{r4-r7, pc}}",
        ".size scratchnet_i8_out_pair, . - scratchnet_i8_out_pair",
    );

    // scratchnet_q8_list16(job): for each word of four u8 inputs in [words, end) (the first
    // one's `16·i` in `index`, then 64 more a word), a term [16·(i + k), x[k]] for each of
    // its non-zero bytes, written at `slot` on, and x added to `sum` — while
    // `slot ≤ limit` (four slots free) before each word that is not all zero. Writes back
    // where it stopped: `words` (`end` when every word was listed), `index`, `slot`, `sum`.
    //
    // Registers: r0 word pointer, r1 end, r2 16·i, r3 slot, r4 the word, r5 16·(i + k), r6
    // x, r7 limit, r8 the sum. A zero word: 6 instructions; a non-zero one: 8, and 5 to 7 a
    // non-zero byte, 3 a zero one.
    core::arch::global_asm!(
        ".section .text.scratchnet_q8_list16,\"ax\",%progbits",
        ".syntax unified",
        ".thumb",
        ".global scratchnet_q8_list16",
        ".type scratchnet_q8_list16,%function",
        ".p2align 2",
        ".thumb_func",
        ".macro scratchnet_list16_byte shift, offset, next",
        "lsls r6, r4, #\\shift",
        "lsrs r6, r6, #24",
        "beq \\next",
        "movs r5, #\\offset",
        "adds r5, r5, r2",
        "stm r3!, {{r5, r6}}",
        "add r8, r6",
        ".endm",
        "scratchnet_q8_list16:",
        "push {{r4-r7, lr}}",
        "mov r4, r8",
        "push {{r0, r4}}",
        "ldr r1, [r0, #4]",
        "ldr r2, [r0, #8]",
        "ldr r3, [r0, #12]",
        "ldr r7, [r0, #16]",
        "ldr r4, [r0, #20]",
        "mov r8, r4",
        "ldr r0, [r0, #0]",
        "cmp r0, r1",
        "beq 9f",
        "1:",
        "ldm r0!, {{r4}}",
        "cmp r4, #0",
        "bne 2f",
        "adds r2, #64",
        "cmp r0, r1",
        "bne 1b",
        "b 9f",
        "2:",
        "cmp r3, r7",
        "bhi 8f",
        "lsls r6, r4, #24",
        "beq 3f",
        "lsrs r6, r6, #24",
        "stm r3!, {{r2, r6}}",
        "add r8, r6",
        "3:",
        "scratchnet_list16_byte 16, 16, 4f",
        "4:",
        "scratchnet_list16_byte 8, 32, 5f",
        "5:",
        "lsrs r6, r4, #24",
        "beq 6f",
        "movs r5, #48",
        "adds r5, r5, r2",
        "stm r3!, {{r5, r6}}",
        "add r8, r6",
        "6:",
        "adds r2, #64",
        "cmp r0, r1",
        "bne 1b",
        "b 9f",
        // No room for this word's terms: it is not listed.
        "8:",
        "subs r0, #4",
        "9:",
        "pop {{r1, r4}}",
        "str r0, [r1, #0]",
        "str r2, [r1, #8]",
        "str r3, [r1, #12]",
        "mov r0, r8",
        "str r0, [r1, #20]",
        "mov r8, r4",
        "pop {{r4-r7, pc}}",
        ".size scratchnet_q8_list16, . - scratchnet_q8_list16",
    );

    /// What the dense block routine reads, and updates as it goes (`block`, `sums`,
    /// `blocks`).
    #[repr(C)]
    /// (`sums`, `blocks` and `fix` at [`Job`]'s offsets: the routines share their code.)
    struct DenseJob {
        x: *const u8,
        end: *const u8,
        block: *const u8,
        /// `(4 − n mod 4) mod 4`: where the first turn of four inputs is entered.
        skip: usize,
        sums: *mut i32,
        blocks: usize,
        fix: u32,
    }

    // scratchnet_i8_out_pairs_dense(job): as scratchnet_i8_out_pairs, but over every input
    // of [x, end) in order, the records one after the other (no terms: a pass walks its
    // block's records, and the next block follows). Registers: r0 the record, r1 x, r2–r3
    // words, r4 the input pointer (less `skip`), r5–r12 the sums, lr the end. 19
    // instructions an input (four a turn, and three a turn).
    core::arch::global_asm!(
        ".section .text.scratchnet_i8_out_pairs_dense,\"ax\",%progbits",
        ".syntax unified",
        ".thumb",
        ".global scratchnet_i8_out_pairs_dense",
        ".type scratchnet_i8_out_pairs_dense,%function",
        ".p2align 2",
        ".thumb_func",
        ".macro scratchnet_out_pairs_input k",
        "ldrb r1, [r4, #\\k]",
        "scratchnet_out_pairs_words",
        ".endm",
        "scratchnet_i8_out_pairs_dense:",
        "scratchnet_out_pairs_save",
        "push {{r0}}",
        "ldr r1, [r0, #20]",
        "cmp r1, #0",
        "bne 10f",
        "b 90f",
        "10:",
        "ldr r0, [sp, #0]",
        "ldr r4, [r0, #0]",
        "ldr r1, [r0, #4]",
        "mov lr, r1",
        "ldr r1, [r0, #12]",
        "subs r4, r4, r1",
        "ldr r0, [r0, #8]",
        "scratchnet_out_pairs_zero",
        // The first turn entered at input `skip` of four.
        "cmp r1, #2",
        "beq 22f",
        "bhi 23f",
        "cmp r1, #1",
        "beq 21f",
        "20:",
        "scratchnet_out_pairs_input 0",
        "21:",
        "scratchnet_out_pairs_input 1",
        "22:",
        "scratchnet_out_pairs_input 2",
        "23:",
        "scratchnet_out_pairs_input 3",
        "adds r4, #4",
        "cmp r4, lr",
        "bne 20b",
        // The next pass's block: the record after this block's last.
        "mov r3, r0",
        "ldr r0, [sp, #0]",
        "str r3, [r0, #8]",
        "scratchnet_out_pairs_pass_end",
        // (Beyond a conditional branch's reach.)
        "beq 90f",
        "b 10b",
        "90:",
        "add sp, #4",
        "scratchnet_out_pairs_restore",
        ".size scratchnet_i8_out_pairs_dense, . - scratchnet_i8_out_pairs_dense",
    );

    // scratchnet_i8_out_pair_dense(x, end, word, out): for each input of [x, end) (at least
    // one), in order, x times the word at word + 16·i as `P`; writes `ΣP` and `Σ(P >> 16)`
    // at `out`. Registers: r0 the word (less 16·skip), r1 x, r2 the word's value, r3
    // scratch, r4 the input pointer (less skip), r5–r6 the sums, r7 the end, r12 `out`. 7
    // instructions an input (four a turn).
    core::arch::global_asm!(
        ".section .text.scratchnet_i8_out_pair_dense,\"ax\",%progbits",
        ".syntax unified",
        ".thumb",
        ".global scratchnet_i8_out_pair_dense",
        ".type scratchnet_i8_out_pair_dense,%function",
        ".p2align 2",
        ".thumb_func",
        ".macro scratchnet_out_pair_input k",
        "ldrb r1, [r4, #\\k]",
        "ldr r2, [r0, #16 * \\k]",
        mac2!(r2, r5, r6),
        ".endm",
        "scratchnet_i8_out_pair_dense:",
        "push {{r4-r7, lr}}",
        "mov r12, r3",
        "mov r7, r1",
        // skip = (−n) mod 4, n = end − x.
        "subs r3, r0, r1",
        "lsls r3, r3, #30",
        "lsrs r3, r3, #30",
        "subs r4, r0, r3",
        "lsls r1, r3, #4",
        "subs r0, r2, r1",
        "movs r5, #0",
        "movs r6, #0",
        "cmp r3, #2",
        "beq 22f",
        "bhi 23f",
        "cmp r3, #1",
        "beq 21f",
        "20:",
        "scratchnet_out_pair_input 0",
        "21:",
        "scratchnet_out_pair_input 1",
        "22:",
        "scratchnet_out_pair_input 2",
        "23:",
        "scratchnet_out_pair_input 3",
        "adds r4, #4",
        "adds r0, #64",
        "cmp r4, r7",
        "bne 20b",
        "mov r0, r12",
        "str r5, [r0, #0]",
        "str r6, [r0, #4]",
        "pop {{r4-r7, pc}}",
        ".size scratchnet_i8_out_pair_dense, . - scratchnet_i8_out_pair_dense",
    );

    unsafe extern "C" {
        fn scratchnet_i8_out_pairs(job: *mut Job);
        fn scratchnet_i8_out_pairs_dense(job: *mut DenseJob);
        fn scratchnet_i8_out_pair_dense(
            x: *const u8,
            end: *const u8,
            word: *const u8,
            out: *mut [i32; 2],
        );
        fn scratchnet_i8_out_pair(
            terms: *const Term,
            end: *const Term,
            word: *const u8,
            out: *mut [i32; 2],
        );
        fn scratchnet_q8_list16(job: *mut ListJob);
    }

    /// Adds the input at `i` if it is not zero (and its value to `sum`); false when there is
    /// no free slot (and it is not).
    #[inline(always)]
    fn add(
        slots: &mut core::slice::IterMut<'_, MaybeUninit<Term>>,
        sum: &mut u32,
        i: usize,
        v: u8,
    ) -> bool {
        if v != 0 {
            let Some(slot) = slots.next() else {
                return false;
            };
            slot.write([16 * i as u32, u32::from(v)]);
            *sum += u32::from(v);
        }
        true
    }

    /// Lists the non-zero inputs of `x` from `from` on as terms `[16·i, x[i]]` into `buf`
    /// until it is full; returns how many, where the listing stopped (`x.len()` when every
    /// input was seen) and `128·Σx` over them. The input's aligned words go to the routine
    /// while four slots are free, the rest byte by byte here.
    #[inline(never)]
    fn list(x: &[u8], from: usize, buf: &mut [MaybeUninit<Term>; TERMS]) -> (usize, usize, u32) {
        let rest = x.get(from..).unwrap_or(&[]);
        let (head, words, tail) = bytemuck::pod_align_to::<u8, u32>(rest);
        let mut slots = buf.iter_mut();
        let mut sum = 0u32;
        let stopped = 'scan: {
            for (i, &v) in (from..).zip(head) {
                if !add(&mut slots, &mut sum, i, v) {
                    break 'scan i;
                }
            }
            let first = from + head.len();
            // The routine's part: the aligned words while four slots are free.
            let room = slots.into_slice();
            let mut done = 0;
            let mut written = 0;
            if let Some(last4) = room.len().checked_sub(4)
                && !words.is_empty()
            {
                let start = room.as_mut_ptr().cast::<Term>();
                let mut job = ListJob {
                    words: words.as_ptr(),
                    end: words.as_ptr_range().end,
                    index: 16 * first as u32,
                    slot: start,
                    limit: start.wrapping_add(last4).cast_const(),
                    sum: 0,
                };
                // SAFETY: the routine reads the words of `words` (from its start to its end,
                // aligned u32) and writes whole terms (two aligned words) at `start` on, each
                // at a slot no higher than the last of the four it made sure were free
                // (`slot ≤ limit`, the fourth slot from the end of `room`, before each
                // word's at most four terms), so only into `room`; the offsets it writes,
                // 16·(first + 4·words + 3) at most, fit 32 bits (the caller's inputs are
                // below 2²⁴). It writes back `job`'s fields and nothing else, saves and
                // restores r4–r8 and uses 28 bytes of stack. Its results are a word pointer
                // in [words, end] and a slot pointer in [start, limit + 4 slots].
                unsafe { scratchnet_q8_list16(&mut job) };
                done = (job.words as usize).saturating_sub(words.as_ptr() as usize) / 4;
                written = (job.slot as usize).saturating_sub(start as usize) / size_of::<Term>();
                sum = sum.wrapping_add(job.sum);
            }
            slots = room.get_mut(written..).unwrap_or(&mut []).iter_mut();
            for (w, word) in words.iter().enumerate().skip(done) {
                if *word != 0 {
                    for (k, v) in word.to_ne_bytes().into_iter().enumerate() {
                        let i = first + 4 * w + k;
                        if !add(&mut slots, &mut sum, i, v) {
                            break 'scan i;
                        }
                    }
                }
            }
            for (i, &v) in (first + 4 * words.len()..).zip(tail) {
                if !add(&mut slots, &mut sum, i, v) {
                    break 'scan i;
                }
            }
            x.len()
        };
        (TERMS - slots.len(), stopped, sum.wrapping_mul(128))
    }

    /// The sums of blocks `b0 .. b0 + count` over the listed `terms` (offsets below
    /// `16·x.len()`, checked by the caller's `fits`: `rows` holds every block), written to
    /// `out` (8 a block; of the last block of one or two real pairs, those pairs' 2 or 4) if
    /// `fresh`, else added to what a fresh call wrote there.
    #[inline(never)]
    fn run(
        rows: &[u8],
        terms: &[Term],
        block: usize,
        (b0, count, pairs_last): (usize, usize, usize),
        fix: u32,
        out: &mut [MaybeUninit<i32>; BLOCK * GROUP],
        fresh: bool,
    ) {
        // Every block but a last one of one or two real pairs by the block routine.
        let whole = if pairs_last <= 2 { count - 1 } else { count };
        let first = rows.as_ptr().wrapping_add(b0 * block);
        let mut part = [0i32; BLOCK];
        let (start, end) = (terms.as_ptr(), terms.as_ptr_range().end);
        for b in 0..whole {
            let (sums, passes) = if fresh {
                (out.as_mut_ptr().cast::<i32>(), whole)
            } else {
                (part.as_mut_ptr(), 1)
            };
            let mut job = Job {
                terms: start,
                end,
                block: first.wrapping_add(b * block),
                block_bytes: block,
                sums,
                blocks: passes,
                fix,
            };
            // SAFETY: the routine reads the terms' words (`terms`, from its start to its
            // end), and for each of them and each pass p < `passes` the 16 bytes at
            // job.block + p·block + t (t = 16·i, i < x.len(): a record of block
            // b0 + b + p < b0 + count ≤ the layer's blocks, all within `rows`, as the
            // caller's `fits` checked); it writes 8·passes words at `sums` (`out`, 8·whole ≤
            // 8·GROUP words, or `part`'s 8), aligned i32, and `job`'s fields, nothing else;
            // it saves and restores r4–r11 and uses 44 bytes of stack. Word loads of aligned
            // words only (`rows` is a blob's aligned section, `terms` u32 pairs).
            unsafe { scratchnet_i8_out_pairs(&mut job) };
            if fresh {
                break;
            }
            for (o, p) in out.iter_mut().skip(BLOCK * b).zip(part) {
                // SAFETY: not fresh: the fresh call wrote this block's eight sums.
                o.write(unsafe { o.assume_init() }.wrapping_add(p));
            }
        }
        // The last block's one or two pairs, a pair at a time.
        if whole < count {
            let base = first.wrapping_add(whole * block);
            for k in 0..pairs_last {
                let mut acc = [0i32; 2];
                // SAFETY: the routine reads the terms' words and, for each, the word at
                // base + 4k + t: word k < pairs_last ≤ 4 of a record of the layer's last
                // block (in `rows`); it writes the two words of `acc`, saves and restores
                // r4–r7 and uses 20 bytes of stack.
                unsafe { scratchnet_i8_out_pair(start, end, base.wrapping_add(4 * k), &mut acc) };
                let [e, o] = pair(acc[0], acc[1], fix as i32);
                let at = BLOCK * whole + 2 * k;
                if let Some([a, b]) = out.get_mut(at..at + 2) {
                    if fresh {
                        a.write(e);
                        b.write(o);
                    } else {
                        // SAFETY: not fresh: the fresh call wrote this pair's two sums.
                        let (s, t) = unsafe { (a.assume_init(), b.assume_init()) };
                        a.write(s.wrapping_add(e));
                        b.write(t.wrapping_add(o));
                    }
                }
            }
        }
    }

    /// Whether `x` is taken as dense: at most one zero among eight inputs spread evenly (a
    /// sigmoid's outputs; an image's pixels or a ReLU's outputs have many more). A matter of
    /// speed only: both paths give the same sums.
    #[inline(always)]
    fn is_dense(x: &[u8]) -> bool {
        let step = x.len() / 8;
        match x.get(..=7 * step) {
            Some(head) if step > 0 => (0..8).filter(|&k| head[k * step] == 0).count() <= 1,
            // (Fewer than eight inputs: dense, whatever they are.)
            _ => true,
        }
    }

    /// The sums of a dense input (every input, no list): [`GROUP`] blocks a time, handed
    /// on (sizes checked by the caller: `x` not empty, below 2²⁴ inputs, `rows` holding
    /// ⌈outputs/8⌉ blocks of `16·x.len()` bytes).
    #[inline(always)]
    fn dense(rows: &[u8], x: &[u8], outputs: usize, mut finish: impl FnMut(&[i32])) {
        let block = 16 * x.len();
        let blocks = outputs.div_ceil(BLOCK);
        let fix = 128 * x.iter().fold(0u32, |s, &v| s + u32::from(v));
        let (start, end) = (x.as_ptr(), x.as_ptr_range().end);
        let mut sums = [const { MaybeUninit::<i32>::uninit() }; BLOCK * GROUP];
        let mut b0 = 0;
        while b0 < blocks {
            let count = (blocks - b0).min(GROUP);
            let last_outputs = outputs - BLOCK * (b0 + count - 1);
            let pairs_last = last_outputs.min(BLOCK).div_ceil(2);
            let whole = if pairs_last <= 2 { count - 1 } else { count };
            let first = rows.as_ptr().wrapping_add(b0 * block);
            let mut job = DenseJob {
                x: start,
                end,
                block: first,
                sums: sums.as_mut_ptr().cast::<i32>(),
                blocks: whole,
                fix,
                skip: x.len().wrapping_neg() % 4,
            };
            // SAFETY: the routine reads the inputs of `x` (from its start to its end: at
            // least one) and, for each pass p < whole, the 16·x.len() bytes of block
            // b0 + p < b0 + count ≤ the layer's blocks (in `rows`, as the caller checked),
            // in order; it writes 8·whole ≤ 8·GROUP words at `sums` (aligned i32) and the
            // job's fields, nothing else; it saves and restores r4–r11 and uses 40 bytes of
            // stack. Byte loads and word loads of aligned words only.
            unsafe { scratchnet_i8_out_pairs_dense(&mut job) };
            // A last block's one or two real pairs, a pair at a time.
            if whole < count {
                let base = first.wrapping_add(whole * block);
                for k in 0..pairs_last {
                    let mut acc = [0i32; 2];
                    // SAFETY: the routine reads the inputs of `x` and, for input i, the word
                    // at base + 4k + 16·i: word k < pairs_last ≤ 2 of record i of the
                    // layer's last block (in `rows`); it writes the two words of `acc`,
                    // saves and restores r4–r7 and uses 20 bytes of stack.
                    unsafe {
                        scratchnet_i8_out_pair_dense(start, end, base.wrapping_add(4 * k), &mut acc)
                    };
                    let at = BLOCK * whole + 2 * k;
                    if let Some([a, b]) = sums.get_mut(at..at + 2) {
                        let [e, o] = pair(acc[0], acc[1], fix as i32);
                        a.write(e);
                        b.write(o);
                    }
                }
            }
            let n = (outputs - BLOCK * b0).min(BLOCK * count);
            // SAFETY: the routines wrote the first 8 sums of every block the block routine
            // ran, and the last block's real pairs' sums: the first n (n ≤ 8·whole +
            // 2·pairs_last, n ≤ 8·GROUP).
            let written = unsafe { core::slice::from_raw_parts(sums.as_ptr().cast::<i32>(), n) };
            finish(written);
            b0 += count;
        }
    }

    /// The layer's sums, [`GROUP`] blocks a time (sizes checked by the caller): a dense
    /// input's by [`dense`], else over the listed non-zero inputs.
    #[inline(always)]
    pub(super) fn matvec(rows: &[u8], x: &[u8], outputs: usize, mut finish: impl FnMut(&[i32])) {
        if is_dense(x) {
            dense(rows, x, outputs, &mut finish);
        } else {
            sparse(rows, x, outputs, &mut finish);
        }
    }

    /// The sums over the listed non-zero inputs, [`GROUP`] blocks a time, handed on (sizes
    /// checked by the caller). Inline, as [`dense`]: their buffers share the caller's frame
    /// (out of line, one path's frame sat under the other's buffers: +2 KB of stack).
    #[inline(always)]
    fn sparse(rows: &[u8], x: &[u8], outputs: usize, mut finish: impl FnMut(&[i32])) {
        let block = 16 * x.len();
        let blocks = outputs.div_ceil(BLOCK);
        let mut buf = [const { MaybeUninit::<Term>::uninit() }; TERMS];
        // Written by each group's fresh call before they are read (uninitialized: zeroing
        // them was a `memclr` call a layer, ~290 instructions on M0).
        let mut sums = [const { MaybeUninit::<i32>::uninit() }; BLOCK * GROUP];
        let mut b0 = 0;
        let mut listed = None;
        while b0 < blocks {
            let count = (blocks - b0).min(GROUP);
            // The real pairs of this group's last block.
            let last_outputs = outputs - BLOCK * (b0 + count - 1);
            let pairs_last = if b0 + count == blocks {
                last_outputs.min(BLOCK).div_ceil(2)
            } else {
                4
            };
            let mut from = 0;
            let mut fresh = true;
            while fresh || from < x.len() {
                // A whole input's terms are listed once for every group.
                let (n, next, fix) = match listed {
                    Some(l) => l,
                    None => list(x, from, &mut buf),
                };
                if from == 0 && next == x.len() {
                    listed = Some((n, next, fix));
                }
                // SAFETY: `list` wrote the first `n` ≤ TERMS entries of `buf`.
                let terms = unsafe {
                    core::slice::from_raw_parts(buf.as_ptr().cast::<Term>(), n.min(TERMS))
                };
                run(
                    rows,
                    terms,
                    block,
                    (b0, count, pairs_last),
                    fix,
                    &mut sums,
                    fresh,
                );
                fresh = false;
                if next <= from && next < x.len() {
                    // No progress (cannot happen: a window lists at least one input).
                    return;
                }
                from = next;
            }
            let n = (outputs - BLOCK * b0).min(BLOCK * count);
            // SAFETY: the fresh call wrote the first 8 sums of every block it ran, and of a
            // last block of one or two real pairs, those pairs' sums: the group's first n
            // (n ≤ 8·count − 8 + 2·pairs_last) are written (n ≤ 8·GROUP).
            let written = unsafe { core::slice::from_raw_parts(sums.as_ptr().cast::<i32>(), n) };
            finish(written);
            b0 += count;
        }
    }
}
