//! The int8 kernel for layers stored as halfwords (`ElementType::I8Wide`, feature `wide`):
//! `acc[j] = Σᵢ x[i]·q[j][i]`, exact i32 sums (wrapping, as `SMLAD`'s), inputs `x` u8 (the
//! book's int8 path) or i8 (`SIGNED`: TFLite's).
//!
//! Layout read: `q` in blocks of four outputs (`block` bytes each, `32·⌈inputs/4⌉`), each
//! a run of groups of four inputs, eight words a group: output `o`'s weights of inputs
//! `4g + 0` and `4g + 2` as the two halfwords of word `2o`, of `4g + 1` and `4g + 3` as
//! those of word `2o + 1` (the padding zero). The input is widened once (a chunk of
//! [`CHUNK`] groups at a time) to the same two halfword pairs a group: bytes 0 and 2, bytes
//! 1 and 3. On a DSP core one `SMLAD` then adds two products from words as loaded, with no
//! `SXTB16`: `scratchnet_w16_blocks` (assembly) runs a chunk for the blocks of a window of
//! outputs, their four sums in registers, a group in 11 instructions for 16 multiply-adds
//! (two `LDM`s of the four outputs' eight words, an `LDRD` of the input's two pairs, eight
//! `SMLAD`s), four groups a turn. Elsewhere plain Rust, the same integer sums.
#![cfg_attr(all(feature = "dsp", target_arch = "arm"), allow(unsafe_code))]

#[cfg(all(feature = "dsp", target_arch = "arm"))]
use core::mem::MaybeUninit;

/// Groups of four inputs widened at a time: 256 inputs, 512 bytes on the stack.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
const CHUNK: usize = 64;

/// Outputs whose sums one window holds (a multiple of four: whole blocks), 256 bytes.
const WINDOW: usize = 64;

/// The input's group `g` (four u8 inputs, zero past `x`) as a little-endian word.
#[inline(always)]
fn group(x: &[u8], g: usize) -> u32 {
    match x.get(4 * g..4 * g + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => {
            let b = |i: usize| x.get(4 * g + i).copied().unwrap_or(0);
            u32::from_le_bytes([b(0), b(1), b(2), b(3)])
        }
    }
}

/// A group's word as its two halfword pairs: inputs 0 and 2, inputs 1 and 3, each zero- or
/// sign-extended (`SIGNED`) into its halfword.
#[inline(always)]
fn widened<const SIGNED: bool>(w: u32) -> [u32; 2] {
    if SIGNED {
        // Each byte shifted to the top of an i32, then arithmetically down.
        let even = ((((w << 24) as i32) >> 24) as u32 & 0xffff)
            | ((((w << 8) as i32) >> 8) as u32 & 0xffff_0000);
        let odd =
            ((((w << 16) as i32) >> 24) as u32 & 0xffff) | (((w as i32) >> 8) as u32 & 0xffff_0000);
        [even, odd]
    } else {
        [w & 0x00ff_00ff, (w >> 8) & 0x00ff_00ff]
    }
}

/// Whether `rows` holds the blocks of a layer of `inputs` inputs and `outputs` outputs, with
/// `block` bytes a block (checked before anything is read).
#[inline(always)]
fn fits(rows: &[u8], block: usize, inputs: usize, outputs: usize) -> bool {
    block == 32 * inputs.div_ceil(4) && outputs.div_ceil(4).checked_mul(block) == Some(rows.len())
}

/// `acc[j] = Σᵢ x[i]·q[j][i]` for a layer as halfwords (`block` bytes a block of four
/// outputs; see the module documentation), handed to `finish` in order, a window of
/// [`WINDOW`] outputs at a time; nothing if the sizes do not fit.
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
pub(crate) fn matvec<const SIGNED: bool>(
    rows: &[u8],
    block: usize,
    x: &[u8],
    outputs: usize,
    mut finish: impl FnMut(&[i32]),
) {
    if !fits(rows, block, x.len(), outputs) {
        return;
    }
    let halves = |w: &[u8; 4]| {
        let v = u32::from_le_bytes(*w);
        (i32::from(v as i16), i32::from((v >> 16) as i16))
    };
    let mut sums = [0i32; WINDOW];
    for (window, blocks) in rows.chunks(block * (WINDOW / 4)).enumerate() {
        for (b, block) in blocks.chunks_exact(block).enumerate() {
            let mut acc = [0i32; 4];
            for (g, words) in block.as_chunks::<32>().0.iter().enumerate() {
                let [even, odd] = widened::<SIGNED>(group(x, g));
                let (x0, x2) = halves(&even.to_le_bytes());
                let (x1, x3) = halves(&odd.to_le_bytes());
                // Each output's two words (no index to check: no panic path).
                for (acc, w) in acc.iter_mut().zip(words.as_chunks::<8>().0) {
                    let (q0, q2) = halves(&[w[0], w[1], w[2], w[3]]);
                    let (q1, q3) = halves(&[w[4], w[5], w[6], w[7]]);
                    *acc = acc
                        .wrapping_add(x0 * q0 + x2 * q2)
                        .wrapping_add(x1 * q1 + x3 * q3);
                }
            }
            if let Some(s) = sums.get_mut(4 * b..4 * b + 4) {
                s.copy_from_slice(&acc);
            }
        }
        let first = window * WINDOW;
        let n = (outputs - first).min(WINDOW);
        finish(sums.get(..n).unwrap_or(&[]));
    }
}

/// What `scratchnet_w16_blocks` reads (it writes the sums only).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[repr(C)]
struct Blocks {
    /// The widened chunk: two words a group.
    x: *const [u32; 2],
    /// Its turns of four groups, the first one short if the groups are not a multiple of
    /// four (at least one).
    turns: u32,
    /// The groups' count mod 4: where the first turn enters.
    entry: u32,
    /// What moves the weight pointer from a block's chunk end to the next block's chunk.
    skip: usize,
    /// The end of the window's sums: the last block's ends there.
    end: *mut i32,
    /// The first block's first word in this chunk.
    w: *const u8,
    /// The first block's four sums (read, then written back; the next block's follow).
    sums: *mut i32,
}

// The routine reads these offsets (`ldrd r0, r1, [lr]`, `[lr, #8]`, `ldrd r1, r8, [lr, #12]`,
// `[lr, #20]`, `[lr, #24]`).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
const _: () = {
    assert!(core::mem::offset_of!(Blocks, turns) == 4);
    assert!(core::mem::offset_of!(Blocks, entry) == 8);
    assert!(core::mem::offset_of!(Blocks, skip) == 12);
    assert!(core::mem::offset_of!(Blocks, end) == 16);
    assert!(core::mem::offset_of!(Blocks, w) == 20);
    assert!(core::mem::offset_of!(Blocks, sums) == 24);
};

// One group for the block's four outputs: the input's two pairs (r8, r9), then two outputs'
// four words at a time (r10–r12, lr), one SMLAD each.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! group4 {
    () => {
        concat!(
            "ldrd r8, r9, [r0], #8\n",
            "ldmia r2!, {{r10, r11, r12, lr}}\n",
            "smlad r4, r8, r10, r4\n",
            "smlad r4, r9, r11, r4\n",
            "smlad r5, r8, r12, r5\n",
            "smlad r5, r9, lr, r5\n",
            "ldmia r2!, {{r10, r11, r12, lr}}\n",
            "smlad r6, r8, r10, r6\n",
            "smlad r6, r9, r11, r6\n",
            "smlad r7, r8, r12, r7\n",
            "smlad r7, r9, lr, r7\n",
        )
    };
}

// scratchnet_w16_blocks(state): for each block, its four sums (r4–r7) from r3 (`sums`
// first), the chunk's groups four a turn (a count not a multiple of four enters the first
// turn where as many are left: `tbb`), the sums stored back (r3 moved on), the weight
// pointer (r2) moved on by `skip` to the next block's chunk; until r3 reaches `end`.
// 10 instructions a block besides its groups.
//
// Registers: r0 the widened input, r1 the turns left, r2 the weights, r3 the sums, r4–r7
// the block's sums, r8 the entry, then with r9 the input's pairs, r10–r12 lr the weights'
// words (lr the state between blocks).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
core::arch::global_asm!(concat!(
    ".section .text.scratchnet_w16_blocks,\"ax\",%progbits\n",
    ".syntax unified\n",
    ".thumb\n",
    ".arch armv7e-m\n",
    ".global scratchnet_w16_blocks\n",
    ".type scratchnet_w16_blocks,%function\n",
    ".p2align 2\n",
    ".thumb_func\n",
    "scratchnet_w16_blocks:\n",
    "push {{r4-r11, lr}}\n",
    "push {{r0}}\n",
    "mov lr, r0\n",
    "ldrd r2, r3, [lr, #20]\n",
    "1:\n",
    "ldm r3, {{r4-r7}}\n",
    "ldrd r0, r1, [lr]\n",
    "ldr r8, [lr, #8]\n",
    "tbb [pc, r8]\n",
    "2:\n",
    ".byte (10f - 2b) / 2, (13f - 2b) / 2, (12f - 2b) / 2, (11f - 2b) / 2\n",
    "10:\n",
    group4!(),
    "11:\n",
    group4!(),
    "12:\n",
    group4!(),
    "13:\n",
    group4!(),
    "subs r1, #1\n",
    "bne 10b\n",
    "stmia r3!, {{r4-r7}}\n",
    "ldr lr, [sp]\n",
    "ldrd r1, r8, [lr, #12]\n",
    "add r2, r2, r1\n",
    "cmp r3, r8\n",
    "bne 1b\n",
    "pop {{r0}}\n",
    "pop {{r4-r11, pc}}\n",
    ".size scratchnet_w16_blocks, . - scratchnet_w16_blocks\n",
));

#[cfg(all(feature = "dsp", target_arch = "arm"))]
unsafe extern "C" {
    fn scratchnet_w16_blocks(state: *mut Blocks);
}

/// `acc[j] = Σᵢ x[i]·q[j][i]` for a layer as halfwords (`block` bytes a block of four
/// outputs; see the module documentation), handed to `finish` in order, a window of
/// [`WINDOW`] outputs at a time; nothing if the sizes do not fit or the weights are not
/// word-aligned (a blob at a word-aligned address has them so).
///
/// For each window, each chunk of the input (widened once if the input is one chunk, else
/// again for each window) runs through the window's blocks in `scratchnet_w16_blocks`.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[inline(never)]
pub(crate) fn matvec<const SIGNED: bool>(
    rows: &[u8],
    block: usize,
    x: &[u8],
    outputs: usize,
    finish: &mut dyn FnMut(&[i32]),
) {
    if !fits(rows, block, x.len(), outputs) || !rows.as_ptr().cast::<u32>().is_aligned() {
        return;
    }
    let groups = x.len().div_ceil(4);
    let blocks = outputs.div_ceil(4);
    // Written before the routine reads them: not zeroed.
    let mut wide = [const { MaybeUninit::<[u32; 2]>::uninit() }; CHUNK];
    // Groups `first..first + n` into `wide[..n]`: the full ones, then the last partial one.
    let (full, rest) = x.as_chunks::<4>();
    let widen = |wide: &mut [MaybeUninit<[u32; 2]>; CHUNK], first: usize, n: usize| {
        let full = full.get(first..).unwrap_or(&[]);
        for (slot, g) in wide.iter_mut().take(n).zip(full) {
            slot.write(widened::<SIGNED>(u32::from_le_bytes(*g)));
            super::rolled();
        }
        if !rest.is_empty()
            && let Some(slot) = wide.get_mut(full.len()).filter(|_| full.len() < n)
        {
            slot.write(widened::<SIGNED>(group(x, groups - 1)));
        }
    };
    let one_chunk = groups <= CHUNK;
    if one_chunk {
        widen(&mut wide, 0, groups);
    }
    let mut done = 0;
    while done < blocks {
        let nb = (blocks - done).min(WINDOW / 4);
        // Zeroed sixteen words a `VSTM` on an FPU core (`memclr`: ~115 instructions).
        #[cfg(target_abi = "eabihf")]
        let mut zeros = [const { MaybeUninit::<f32>::uninit() }; WINDOW];
        #[cfg(target_abi = "eabihf")]
        let sums: &mut [i32] = bytemuck::cast_slice_mut(super::vmla::zero(&mut zeros));
        #[cfg(not(target_abi = "eabihf"))]
        let sums = &mut [0i32; WINDOW];
        let mut first = 0;
        while first < groups {
            let n = (groups - first).min(CHUNK);
            if !one_chunk {
                widen(&mut wide, first, n);
            }
            let mut state = Blocks {
                x: wide.as_ptr().cast(),
                turns: n.div_ceil(4) as u32,
                entry: (n % 4) as u32,
                skip: block - 32 * n,
                end: sums.as_mut_ptr().wrapping_add(4 * nb),
                w: rows.as_ptr().wrapping_add(done * block + 32 * first),
                sums: sums.as_mut_ptr(),
            };
            // SAFETY: the routine reads `wide[..n]`, written above for this chunk (n ≥ 1,
            // n ≤ CHUNK: `turns` ≥ 1, `entry` < 4, the table's size), and for each of the `nb` blocks `done..done + nb` (all below
            // `blocks` = ⌈outputs/4⌉) the `32·n` bytes of groups `first..first + n` (all
            // below ⌈inputs/4⌉) of that block: within `rows` (checked: ⌈outputs/4⌉ blocks of
            // `block` = 32·⌈inputs/4⌉ bytes), word-aligned (checked; `block` and 32 are
            // multiples of 4) as `LDM` needs. It reads and writes `sums[..4·nb]` (4·nb ≤
            // WINDOW), writes nothing else, and saves and restores r4–r11 (AAPCS).
            unsafe { scratchnet_w16_blocks(&mut state) };
            first += n;
        }
        let n = (outputs - 4 * done).min(4 * nb);
        finish(sums.get(..n).unwrap_or(&[]));
        done += nb;
    }
}
