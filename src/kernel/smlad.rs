//! The int8 kernel's passes on a Cortex-M DSP core, in assembly: its five sums, two
//! prepared inputs, row pointers and loop state take all fourteen general registers, which
//! `asm!` blocks inside Rust code cannot have (the compiler keeps some), so each loop is a
//! function of its own. For output-major rows ([`int8`](super::int8)'s layout), three
//! routines, one [`Sweeps`] type, up to eight passes a call: the listed groups of a sparse
//! input (`sweep5`), a dense input's groups widened once to halfword pairs (`dense5`), a
//! longer dense input's groups widened in the routine (`wide5`). For a layer in input
//! pairs (`ElementType::I8Pairs`: a column of words a pair of inputs, two outputs a word),
//! `scratchnet_q8_pairs` over a list of the non-zero pairs that `scratchnet_q8_list`
//! makes, and their driver [`pairs`].
#![allow(unsafe_code)]

use super::int8::{List, ROWS};

/// What the routines read and write besides their arguments: where the sums go, how many
/// passes are left, and what the next pass starts from.
#[repr(C)]
struct Sweep {
    /// Where the next pass's five sums go (moved on by each pass).
    out: *mut i32,
    /// The passes left (at least one when called; counted down).
    passes: u32,
    /// The input pointer each pass starts from (the list, the pairs or the input).
    start: *const u8,
    /// What moves the row pointer from one pass's end to the next pass's row 0: five rows
    /// on, less what the pass's own loads moved it.
    delta: usize,
    /// The inputs past the last full group, zero-padded to a word (0: none).
    tail: u32,
    /// The tail's group as a list entry (`g + 1`).
    tail_entry: u32,
}

/// The sums one call of a routine writes at most: [`CHUNK`]` / `[`ROWS`] passes.
pub(super) const CHUNK: usize = 40;

// The routines below are written for five rows and read the fields at these offsets
// (`ldrd r4, r5, [r0]`, `ldrd r0, r5, [r0, #8]`, `ldrd r5, r4, [r0, #16]`): a change to
// either fails the build here.
const _: () = assert!(ROWS == 5 && CHUNK.is_multiple_of(ROWS));
const _: () = assert!(core::mem::offset_of!(Sweep, passes) == 4);
const _: () = assert!(core::mem::offset_of!(Sweep, start) == 8);
const _: () = assert!(core::mem::offset_of!(Sweep, delta) == 12);
const _: () = assert!(core::mem::offset_of!(Sweep, tail) == 16);
const _: () = assert!(core::mem::offset_of!(Sweep, tail_entry) == 20);

// The end of a pass, shared by the routines: its five sums stored at `sweep.out` (moved
// on), then, while `sweep.passes` (counted down) is not zero, the next pass from label 0
// with r0 = `sweep.start` and the row pointer r2 moved on by `sweep.delta` (five rows on,
// less what the pass's loads moved it); else the return.
macro_rules! next_pass {
    () => {
        concat!(
            "ldr r0, [sp, #36]\n",
            "ldrd r4, r5, [r0]\n",
            "stmia r4!, {{r9, r10, r11, r12, lr}}\n",
            "subs r5, r5, #1\n",
            "strd r4, r5, [r0]\n",
            "beq 9f\n",
            "ldrd r0, r5, [r0, #8]\n",
            "add r2, r2, r5\n",
            "b 0b\n",
            "9:\n",
            "pop {{r4-r11, pc}}\n",
        )
    };
}

// scratchnet_q8_sweep5(list, xb, mb, stride, sweep): for each list entry e (a byte,
// until 0), the input word at xb + 4e is split into halfword pairs (UXTB16, even and odd
// bytes), and for each of the five rows at mb + 4e + k·stride, its weight word too
// (SXTB16), and two SMLADs add the four products to that row's sum. Then the tail word,
// if not zero, the same way; the sums go to sweep.out (`next_pass`: then the next pass).
//
// Registers: r0 list, r1 xb, r2 mb, r3 stride, r4 entry / row pointer, r5 r6 the input
// pairs, r7 r8 the weight word and its pair, r9 r10 r11 r12 lr the five sums.
// Per group: 33 instructions for 20 multiply-adds.
macro_rules! rows5 {
    () => {
        concat!(
            "ldr r7, [r4]\n",
            "sxtb16 r8, r7\n",
            "smlad r9, r5, r8, r9\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad r9, r6, r7, r9\n",
            "ldr r7, [r4, r3]\n",
            "sxtb16 r8, r7\n",
            "smlad r10, r5, r8, r10\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad r10, r6, r7, r10\n",
            "ldr r7, [r4, r3, lsl #1]\n",
            "sxtb16 r8, r7\n",
            "smlad r11, r5, r8, r11\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad r11, r6, r7, r11\n",
            "add r4, r4, r3, lsl #1\n",
            "ldr r7, [r4, r3]\n",
            "sxtb16 r8, r7\n",
            "smlad r12, r5, r8, r12\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad r12, r6, r7, r12\n",
            "ldr r7, [r4, r3, lsl #1]\n",
            "sxtb16 r8, r7\n",
            "smlad lr, r5, r8, lr\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad lr, r6, r7, lr\n",
        )
    };
}

// One routine per input type: `$ext` widens the input's bytes (UXTB16 for u8, SXTB16
// for i8); the rest is the same.
macro_rules! sweep5 {
    ($name:literal, $ext:literal) => {
        core::arch::global_asm!(concat!(
            ".section .text.",
            $name,
            ",\"ax\",%progbits\n",
            ".syntax unified\n",
            ".thumb\n",
            // Module-level assembly is assembled for the target's base architecture,
            // whatever `-C target-cpu` says, and Armv8-M Mainline (Cortex-M33) has the
            // DSP instructions only as an extension the assembler has no name for:
            // assemble this routine as Armv7E-M, whose Thumb-2 DSP encodings an M33 with
            // the extension executes the same (the default on M4/M7; on M33 the directive
            // also holds for module assembly after it, which assembles the same or fails).
            ".arch armv7e-m\n",
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
            "0:\n",
            "mov r9, #0\n",
            "mov r10, #0\n",
            "mov r11, #0\n",
            "mov r12, #0\n",
            "mov lr, #0\n",
            "ldrb r4, [r0], #1\n",
            "cbz r4, 2f\n",
            "1:\n",
            "ldr r5, [r1, r4, lsl #2]\n",
            "add r4, r2, r4, lsl #2\n",
            $ext,
            " r6, r5, ror #8\n",
            $ext,
            " r5, r5\n",
            rows5!(),
            "ldrb r4, [r0], #1\n",
            "cmp r4, #0\n",
            "bne 1b\n",
            "2:\n",
            "ldr r0, [sp, #36]\n",
            "ldrd r5, r4, [r0, #16]\n",
            "cbz r5, 3f\n",
            "add r4, r2, r4, lsl #2\n",
            $ext,
            " r6, r5, ror #8\n",
            $ext,
            " r5, r5\n",
            rows5!(),
            "3:\n",
            next_pass!(),
            ".size ",
            $name,
            ", . - ",
            $name,
            "\n",
        ));
    };
}
sweep5!("scratchnet_q8_sweep5", "uxtb16");
sweep5!("scratchnet_s8_sweep5", "sxtb16");
// scratchnet_x8_dense5(pairs, end, mb, stride, sweep): for each group g (the pairs from
// `pairs` to `end`, two words each: the group's inputs widened to halfwords, even bytes
// then odd ones), the weight word at mb + 4g + k·stride of each of the five rows k is
// split into halfword pairs (SXTB16) and two SMLADs add its four products to row k's sum.
// Every group is visited, in order: no list to read, no row address to form (rows 0–2
// from r2, rows 3–4 from r4, both moved on by the loads' write-back), no input to widen;
// the sums go to sweep.out (`next_pass`: then the next pass).
//
// Registers: r0 pairs, r1 end, r2 row 0, r3 stride, r4 row 3, r5 r6 the input pairs,
// r7 r8 the weight word and its pair, r9 r10 r11 r12 lr the five sums.
// Per group: 27 instructions for 20 multiply-adds (two groups a turn).
macro_rules! row {
    ($load:literal, $sum:literal) => {
        concat!(
            "ldr r7, ",
            $load,
            "\n",
            "sxtb16 r8, r7\n",
            "smlad ",
            $sum,
            ", r5, r8, ",
            $sum,
            "\n",
            "sxtb16 r7, r7, ror #8\n",
            "smlad ",
            $sum,
            ", r6, r7, ",
            $sum,
            "\n",
        )
    };
}

// The five rows of one group, rows 0–2 from r2, rows 3–4 from r4, both moved on to the
// next group by the last load of each.
macro_rules! rows5_on {
    () => {
        concat!(
            row!("[r2, r3]", "r10"),
            row!("[r2, r3, lsl #1]", "r11"),
            row!("[r2], #4", "r9"),
            row!("[r4, r3]", "lr"),
            row!("[r4], #4", "r12"),
        )
    };
}

core::arch::global_asm!(concat!(
    ".section .text.scratchnet_x8_dense5,\"ax\",%progbits\n",
    ".syntax unified\n",
    ".thumb\n",
    // As for the sweeps above: Armv7E-M's DSP encodings, which an M33 with the extension
    // executes the same.
    ".arch armv7e-m\n",
    ".global scratchnet_x8_dense5\n",
    ".type scratchnet_x8_dense5,%function\n",
    ".p2align 2\n",
    ".thumb_func\n",
    "scratchnet_x8_dense5:\n",
    "push {{r4-r11, lr}}\n",
    "0:\n",
    "mov r9, #0\n",
    "mov r10, #0\n",
    "mov r11, #0\n",
    "mov r12, #0\n",
    "mov lr, #0\n",
    "add r4, r2, r3\n",
    "add r4, r4, r3, lsl #1\n",
    // Two groups a turn; an odd count starts with the second.
    "sub r7, r1, r0\n",
    "tst r7, #8\n",
    "bne 2f\n",
    "1:\n",
    "ldrd r5, r6, [r0], #8\n",
    rows5_on!(),
    "2:\n",
    "ldrd r5, r6, [r0], #8\n",
    rows5_on!(),
    "cmp r0, r1\n",
    "bne 1b\n",
    next_pass!(),
    ".size scratchnet_x8_dense5, . - scratchnet_x8_dense5\n",
));

// scratchnet_{q8,s8}_wide5(x, end, mb, stride, sweep): the dense pass for inputs of any
// multiple of four, widening each input word itself (`$ext`: UXTB16 for u8, SXTB16 for
// i8) instead of reading pairs: every group from x to end (none if x = end); the sums go
// to sweep.out (`next_pass`). Registers as in dense5 (r0 the input, r1 its end). Per group: 29
// instructions for 20 multiply-adds (two groups a turn).
macro_rules! wide5 {
    ($name:literal, $ext:literal) => {
        core::arch::global_asm!(concat!(
            ".section .text.",
            $name,
            ",\"ax\",%progbits\n",
            ".syntax unified\n",
            ".thumb\n",
            ".arch armv7e-m\n",
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
            "0:\n",
            "mov r9, #0\n",
            "mov r10, #0\n",
            "mov r11, #0\n",
            "mov r12, #0\n",
            "mov lr, #0\n",
            "add r4, r2, r3\n",
            "add r4, r4, r3, lsl #1\n",
            // Two groups a turn; an odd count starts with the second.
            "subs r7, r1, r0\n",
            "beq 3f\n",
            "tst r7, #4\n",
            "bne 2f\n",
            "1:\n",
            "ldr r5, [r0], #4\n",
            $ext,
            " r6, r5, ror #8\n",
            $ext,
            " r5, r5\n",
            rows5_on!(),
            "2:\n",
            "ldr r5, [r0], #4\n",
            $ext,
            " r6, r5, ror #8\n",
            $ext,
            " r5, r5\n",
            rows5_on!(),
            "cmp r0, r1\n",
            "bne 1b\n",
            "3:\n",
            next_pass!(),
            ".size ",
            $name,
            ", . - ",
            $name,
            "\n",
        ));
    };
}
wide5!("scratchnet_q8_wide5", "uxtb16");
wide5!("scratchnet_s8_wide5", "sxtb16");

/// Every routine's signature: two input pointers (their meaning the routine's), row
/// `first`'s start, the stride, and the sweep's state.
type Routine = unsafe extern "C" fn(*const u8, *const u8, *const u8, usize, *mut Sweep);

unsafe extern "C" {
    fn scratchnet_q8_sweep5(
        list: *const u8,
        xb: *const u8,
        mb: *const u8,
        stride: usize,
        sweep: *mut Sweep,
    );
    fn scratchnet_s8_sweep5(
        list: *const u8,
        xb: *const u8,
        mb: *const u8,
        stride: usize,
        sweep: *mut Sweep,
    );
    fn scratchnet_x8_dense5(
        pairs: *const u8,
        end: *const u8,
        mb: *const u8,
        stride: usize,
        sweep: *mut Sweep,
    );
    fn scratchnet_q8_wide5(
        x: *const u8,
        end: *const u8,
        mb: *const u8,
        stride: usize,
        sweep: *mut Sweep,
    );
    fn scratchnet_s8_wide5(
        x: *const u8,
        end: *const u8,
        mb: *const u8,
        stride: usize,
        sweep: *mut Sweep,
    );
}

/// One layer's sweeps, checked once: the routine chosen for its input (listed groups,
/// widened pairs, or every group in order), what it reads, `outputs` rows of `stride`
/// bytes, and the buffer its sums are written to, up to [`CHUNK`] a call.
pub(super) struct Sweeps<'a> {
    routine: Routine,
    a: *const u8,
    b: *const u8,
    /// Row 0's start, as the routine wants it (4 bytes before for the listed sweeps).
    mb: *const u8,
    stride: usize,
    outputs: usize,
    /// [`Sweep::delta`], [`Sweep::tail`] and [`Sweep::tail_entry`] for this input.
    delta: usize,
    tail: u32,
    tail_entry: u32,
    sums: [core::mem::MaybeUninit<i32>; CHUNK],
    /// The input, its pairs or list, and the rows the pointers are into.
    _borrow: core::marker::PhantomData<&'a [u8]>,
}

/// Whether `outputs` rows of `stride` bytes, each read up to byte `reach` (at most
/// `stride`, a multiple of 4), fit in `rows`, at least [`ROWS`] of them.
#[inline(always)]
fn fits(rows: &[u8], stride: usize, outputs: usize, reach: usize) -> bool {
    outputs >= ROWS
        && stride.is_multiple_of(4)
        && stride >= reach
        && outputs
            .checked_mul(stride)
            .is_some_and(|end| end <= rows.len())
}

impl<'a> Sweeps<'a> {
    /// Sweeps over the listed groups of `x` (u8, or i8 if `SIGNED`) and its tail word.
    /// `None` unless `list` is of `x`'s full groups and the rows fit ([`fits`], read up
    /// to `x.len()`).
    ///
    /// What the routine reads: the list up to its 0 (a `List` ends with its only 0 and its
    /// entries are at most its `full`, checked equal to x.len()/4), input words at
    /// xb + 4e = x + 4(e − 1) for entries 1 ≤ e ≤ x.len()/4, so within x, and weight words
    /// at row_k + 4(e − 1), within the row since 4·(x.len()/4) ≤ stride. The tail entry
    /// reads row_k + 4·(x.len()/4), within the row because it is read only when the tail
    /// word is not zero, so x.len() > 4·(x.len()/4) and the multiple of 4 `stride` ≥
    /// x.len() exceeds that offset by 4 at least.
    #[inline(always)]
    pub(super) fn listed<const SIGNED: bool>(
        list: &List<'a>,
        x: &'a [u8],
        tail: u32,
        rows: &'a [u8],
        stride: usize,
        outputs: usize,
    ) -> Option<Self> {
        // Chosen at compile time: only the routine used is linked.
        let routine: Routine = if SIGNED {
            scratchnet_s8_sweep5
        } else {
            scratchnet_q8_sweep5
        };
        let ok = list.full() == x.len() / 4 && fits(rows, stride, outputs, x.len());
        ok.then(|| Self {
            routine,
            a: list.with_end().as_ptr(),
            b: x.as_ptr().wrapping_sub(4),
            mb: rows.as_ptr().wrapping_sub(4),
            stride,
            outputs,
            // The row pointer stays at row 0 during a pass.
            delta: ROWS * stride,
            tail,
            tail_entry: (x.len() / 4 + 1) as u32,
            sums: [const { core::mem::MaybeUninit::uninit() }; CHUNK],
            _borrow: core::marker::PhantomData,
        })
    }

    /// Sweeps over every group of an input as `int8::widen` gave them. `None` unless there is
    /// at least one group and the rows fit, read up to four bytes a group.
    ///
    /// What the routine reads: the pairs from `pairs` to their end (at least one, as it
    /// reads a group before it compares), and for group g < pairs.len() the weight word
    /// at row_k + 4g, within the row.
    #[inline(always)]
    pub(super) fn dense(
        pairs: &'a [[u32; 2]],
        rows: &'a [u8],
        stride: usize,
        outputs: usize,
    ) -> Option<Self> {
        let ok = !pairs.is_empty() && fits(rows, stride, outputs, 4 * pairs.len());
        let range = pairs.as_ptr_range();
        ok.then(|| Self {
            routine: scratchnet_x8_dense5,
            a: range.start.cast(),
            b: range.end.cast(),
            mb: rows.as_ptr(),
            stride,
            outputs,
            // A pass's loads move the row pointer on by four bytes a group.
            delta: (ROWS * stride).wrapping_sub(4 * pairs.len()),
            tail: 0,
            tail_entry: 0,
            sums: [const { core::mem::MaybeUninit::uninit() }; CHUNK],
            _borrow: core::marker::PhantomData,
        })
    }

    /// Sweeps over every group of `x` (u8, or i8 if `SIGNED`) in order, widened by the
    /// routine. `None` unless `x.len()` is a multiple of 4 and the rows fit, read up to
    /// `x.len()`.
    ///
    /// What the routine reads: the input words from x to its end (none if it is empty),
    /// and for group g < x.len()/4 the weight word at row_k + 4g, within the row as
    /// x.len() ≤ stride.
    #[inline(always)]
    pub(super) fn wide<const SIGNED: bool>(
        x: &'a [u8],
        rows: &'a [u8],
        stride: usize,
        outputs: usize,
    ) -> Option<Self> {
        let routine: Routine = if SIGNED {
            scratchnet_s8_wide5
        } else {
            scratchnet_q8_wide5
        };
        let range = x.as_ptr_range();
        let ok = x.len().is_multiple_of(4) && fits(rows, stride, outputs, x.len());
        ok.then(|| Self {
            routine,
            a: range.start,
            b: range.end,
            mb: rows.as_ptr(),
            stride,
            outputs,
            // A pass's loads move the row pointer on by the input's length.
            delta: (ROWS * stride).wrapping_sub(x.len()),
            tail: 0,
            tail_entry: 0,
            sums: [const { core::mem::MaybeUninit::uninit() }; CHUNK],
            _borrow: core::marker::PhantomData,
        })
    }

    /// The sums of rows `first ..`, as many passes of [`ROWS`] as fit below `outputs`
    /// and in [`CHUNK`]; none if not one pass does.
    #[inline(always)]
    pub(super) fn sweep(&mut self, first: usize) -> &[i32] {
        let passes = (self.outputs.saturating_sub(first) / ROWS).min(CHUNK / ROWS);
        if passes == 0 {
            return &[];
        }
        let mut state = Sweep {
            out: self.sums.as_mut_ptr().cast(),
            passes: passes as u32,
            start: self.a,
            delta: self.delta,
            tail: self.tail,
            tail_entry: self.tail_entry,
        };
        // SAFETY: the constructor that chose the routine checked what it reads, within the
        // borrowed input, list or pairs, and within rows first ≤ k < first + passes·ROWS ≤
        // outputs of `rows` (written beside each constructor; each pass reads what the
        // first does, `delta` moving it five rows on). Unaligned word loads are allowed on
        // ARMv7E-M while CCR.UNALIGN_TRP is clear (the reset default; the `dsp` feature
        // states it). Every routine writes `passes·ROWS ≤ CHUNK` sums at `state.out`, in
        // `self.sums`, and `state`'s `out` and `passes`, saves and restores r4–r11 (AAPCS)
        // and uses 36 bytes of stack; so the first `passes·ROWS` sums are initialised.
        unsafe {
            (self.routine)(
                self.a,
                self.b,
                self.mb.wrapping_add(first * self.stride),
                self.stride,
                &mut state,
            );
            core::slice::from_raw_parts(self.sums.as_ptr().cast(), passes * ROWS)
        }
    }
}

// scratchnet_q8_pairs(state): the sums of an int8 layer in input pairs
// (`ElementType::I8Pairs`) over a list of its non-zero input pairs. A list entry is two
// words: the pair's inputs as halfwords (`x[2k] | x[2k + 1] << 16`, u8) and its column's
// byte offset `k·column`. The window's words are cut into `n6` blocks of three (six
// outputs), then `n4` of two (four outputs) and `n2` of one (two); for each block, its sums are loaded
// from `sums`, every entry adds its products, and the sums are stored back (moved on).
// A word of a column holds two outputs' weights, the even output's plus 128 in bytes 0
// and 2, the odd one's in bytes 1 and 3: an SMLAD of the word as it is adds
// `256·(x[2k]·q[j+1][2k] + x[2k+1]·q[j+1][2k+1]) + x[2k]·(q[j][2k] + 128) + x[2k+1]·(…)`
// to the odd output's sum, and after a UXTB16 (bytes 0 and 2) one more adds the second
// part to the even output's; `pairs` works the two outputs' sums out of them at the end.
//
// Registers in a block: r0 the entries, r1 the turns left, r2 the pair's inputs, r3 the
// block's first word in column 0, r4–r9 the six sums, r10–r12 the three words (r12 the
// column address first), lr the state (throughout the routine). Per entry: 12 instructions for 12 multiply-adds, four entries a
// turn in blocks of six outputs (they were 15 with two SXTB16 a word).
macro_rules! pair_word {
    ($w:literal, $even:literal, $odd:literal) => {
        concat!(
            "smlad ", $odd, ", r2, ", $w, ", ", $odd, "\n", "uxtb16 ", $w, ", ", $w, "\n",
            "smlad ", $even, ", r2, ", $w, ", ", $even, "\n",
        )
    };
}

/// An entry: its pair's inputs into r2, its column's address in this block into r12.
macro_rules! pair_entry {
    () => {
        concat!("ldrd r2, r12, [r0], #8\n", "add r12, r12, r3\n")
    };
}

macro_rules! pair6 {
    () => {
        concat!(
            pair_entry!(),
            "ldm r12, {{r10, r11, r12}}\n",
            pair_word!("r10", "r4", "r5"),
            pair_word!("r11", "r6", "r7"),
            pair_word!("r12", "r8", "r9"),
        )
    };
}

macro_rules! pair4 {
    () => {
        concat!(
            pair_entry!(),
            "ldrd r10, r11, [r12]\n",
            pair_word!("r10", "r4", "r5"),
            pair_word!("r11", "r6", "r7"),
        )
    };
}

macro_rules! pair2 {
    () => {
        concat!(
            "ldrd r2, r12, [r0], #8\n",
            "ldr r10, [r12, r3]\n",
            pair_word!("r10", "r4", "r5"),
        )
    };
}

/// The entries' loop of one block, four a turn (a count not a multiple of four enters the
/// first turn where as many are left: `tbb`): from the state's list and count (r0, r1).
macro_rules! entries {
    ($entry:expr) => {
        concat!(
            "ldrd r0, r1, [lr]\n",
            "and r2, r1, #3\n",
            "adds r1, r1, #3\n",
            "lsrs r1, r1, #2\n",
            "tbb [pc, r2]\n",
            "20:\n",
            ".byte (21f - 20b) / 2, (24f - 20b) / 2, (23f - 20b) / 2, (22f - 20b) / 2\n",
            "21:\n",
            $entry,
            "22:\n",
            $entry,
            "23:\n",
            $entry,
            "24:\n",
            $entry,
            "subs r1, r1, #1\n",
            "bne 21b\n",
        )
    };
}

/// The entries' loop of a narrow block (at most two a window: not unrolled, for flash).
macro_rules! entries1 {
    ($entry:expr) => {
        concat!(
            "ldrd r0, r1, [lr]\n",
            "3:\n",
            $entry,
            "subs r1, r1, #1\n",
            "bne 3b\n",
        )
    };
}

/// The blocks of one width, from label `$top`: each loads its sums (`$regs`) from the
/// state's `sums`, runs the list (`$entries`), stores them (moved on), moves the state's
/// `base` on by `$step` bytes (the block's words), and counts down the state's word at
/// `$count` (at least one on entry). On the window's last list (`fix` not zero) the sums are
/// the outputs' before they are stored (`$fix`).
macro_rules! blocks {
    ($top:literal, $count:literal, $regs:literal, $step:literal, $entries:expr, $fix:expr) => {
        concat!(
            $top,
            ":\n",
            "ldrd r3, r2, [lr, #8]\n",
            "ldm r2, {{",
            $regs,
            "}}\n",
            $entries,
            $fix,
            "ldrd r3, r2, [lr, #8]\n",
            "stmia r2!, {{",
            $regs,
            "}}\n",
            "adds r3, #",
            $step,
            "\n",
            "strd r3, r2, [lr, #8]\n",
            "ldr r1, [lr, #",
            $count,
            "]\n",
            "subs r1, #1\n",
            "str r1, [lr, #",
            $count,
            "]\n",
            "bne ",
            $top,
            "b\n",
        )
    };
}

/// A word's two sums made its outputs' (`$even`, `$odd`; r1 = 128·Σx): the odd one
/// `(o − e) >> 8`, then the even one `e − 128·Σx`.
macro_rules! fix_word {
    ($even:literal, $odd:literal) => {
        concat!(
            "sub ", $odd, ", ", $odd, ", ", $even, "\n", "asr ", $odd, ", ", $odd, ", #8\n",
            "sub ", $even, ", ", $even, ", r1\n",
        )
    };
}

/// The fix-up of a block's words (`$words`: `fix_word!`s) when the state's `fix` (at 28,
/// `128·Σx + 1` on the window's last list, else 0; lr the state) is not zero.
macro_rules! fix {
    ($words:expr) => {
        concat!(
            "ldr r1, [lr, #28]\n",
            "cbz r1, 30f\n",
            "subs r1, #1\n",
            $words,
            "30:\n",
        )
    };
}

core::arch::global_asm!(concat!(
    ".section .text.scratchnet_q8_pairs,\"ax\",%progbits\n",
    ".syntax unified\n",
    ".thumb\n",
    ".arch armv7e-m\n",
    ".global scratchnet_q8_pairs\n",
    ".type scratchnet_q8_pairs,%function\n",
    ".p2align 2\n",
    ".thumb_func\n",
    "scratchnet_q8_pairs:\n",
    "push {{r4-r11, lr}}\n",
    "mov lr, r0\n",
    // Blocks of six outputs.
    "ldr r1, [r0, #16]\n",
    "cmp r1, #0\n",
    "beq 5f\n",
    blocks!(
        "1",
        "16",
        "r4-r9",
        "12",
        entries!(pair6!()),
        fix!(concat!(
            fix_word!("r4", "r5"),
            fix_word!("r6", "r7"),
            fix_word!("r8", "r9")
        ))
    ),
    // Blocks of four.
    "5:\n",
    "ldr r1, [lr, #20]\n",
    "cmp r1, #0\n",
    "beq 8f\n",
    blocks!(
        "6",
        "20",
        "r4-r7",
        "8",
        entries1!(pair4!()),
        fix!(concat!(fix_word!("r4", "r5"), fix_word!("r6", "r7")))
    ),
    // At most one block of two outputs (one word).
    "8:\n",
    "ldr r1, [lr, #24]\n",
    "cmp r1, #0\n",
    "beq 9f\n",
    "ldrd r3, r2, [lr, #8]\n",
    "ldrd r4, r5, [r2]\n",
    entries1!(pair2!()),
    fix!(fix_word!("r4", "r5")),
    "ldr r2, [lr, #12]\n",
    "strd r4, r5, [r2]\n",
    "9:\n",
    "pop {{r4-r11, pc}}\n",
    ".size scratchnet_q8_pairs, . - scratchnet_q8_pairs\n",
));

/// What `scratchnet_q8_pairs` reads (and moves on: `base`, `sums`, the block counts).
#[repr(C)]
struct PairSweep {
    /// The entries: `[x[2k] | x[2k+1] << 16, k·column]`.
    list: *const [u32; 2],
    /// Their number (at least one).
    count: u32,
    /// The current block's first word in column 0.
    base: *const u8,
    /// Where the current block's sums are.
    sums: *mut i32,
    /// Blocks of three words (six outputs), then of two (four outputs), then of one (two
    /// outputs: 0 or 1).
    n6: u32,
    n4: u32,
    n2: u32,
    /// On the window's last list `128·Σx + 1` (`Σx` the listed inputs' sum): the sums are
    /// made the outputs' (`e − 128·Σx`, `(o − e) >> 8`) before they are stored; else 0.
    fix: u32,
}

// The routine reads these offsets (`ldrd r0, r1, [lr]`, `ldrd r3, r2, [lr, #8]`, `[#16]`,
// `[#20]`, `[#24]`, `[#28]`).
const _: () = assert!(core::mem::offset_of!(PairSweep, count) == 4);
const _: () = assert!(core::mem::offset_of!(PairSweep, base) == 8);
const _: () = assert!(core::mem::offset_of!(PairSweep, sums) == 12);
const _: () = assert!(core::mem::offset_of!(PairSweep, n6) == 16);
const _: () = assert!(core::mem::offset_of!(PairSweep, n4) == 20);
const _: () = assert!(core::mem::offset_of!(PairSweep, n2) == 24);
const _: () = assert!(core::mem::offset_of!(PairSweep, fix) == 28);

unsafe extern "C" {
    fn scratchnet_q8_pairs(state: *mut PairSweep);
}

// scratchnet_q8_list(state, p): the entries of an input's non-zero pairs, written from p
// on, two words of the input at a time from state.x to state.end, a zero two-word chunk
// passed over in one test; stops before a chunk when more than `limit` are written (so
// that a chunk's four fit) or at the end; returns where the entries end, and leaves x, off
// and total in the state for the next call. A non-zero word gives its pairs' entries
// (`pair`'s `[x[2k] | x[2k+1] << 16, k·column]`, by two UXTB16 and a PKHBT / PKHTB), each
// stored and kept only if not zero, and USADA8 adds its four bytes to `total`.
//
// Registers: r0 the state, r1 x, r2 end, r3 off (the chunk's first pair's column), r4
// column, r5 p, r6 total, r7 zero, r8 r9 the chunk's words, r10 r11 their even and odd
// bytes, r12 an entry, lr limit. 16 instructions a non-zero word, 7 a zero chunk.
macro_rules! list_word {
    () => {
        concat!(
            "cmp r8, #0\n",
            "beq 3f\n",
            "usada8 r6, r8, r7, r6\n",
            "uxtb16 r10, r8\n",
            "uxtb16 r11, r8, ror #8\n",
            "pkhbt r12, r10, r11, lsl #16\n",
            "strd r12, r3, [r5]\n",
            "lsls r12, r8, #16\n",
            "it ne\n",
            "addne r5, r5, #8\n",
            "pkhtb r10, r11, r10, asr #16\n",
            "add r11, r3, r4\n",
            "strd r10, r11, [r5]\n",
            "lsrs r12, r8, #16\n",
            "it ne\n",
            "addne r5, r5, #8\n",
            "3:\n",
            "add r3, r3, r4, lsl #1\n",
        )
    };
}

core::arch::global_asm!(concat!(
    ".section .text.scratchnet_q8_list,\"ax\",%progbits\n",
    ".syntax unified\n",
    ".thumb\n",
    ".arch armv7e-m\n",
    ".global scratchnet_q8_list\n",
    ".type scratchnet_q8_list,%function\n",
    ".p2align 2\n",
    ".thumb_func\n",
    "scratchnet_q8_list:\n",
    "push {{r4-r11, lr}}\n",
    "mov r5, r1\n",
    "ldrd r1, r2, [r0]\n",
    "ldrd r3, r4, [r0, #8]\n",
    "ldrd r6, lr, [r0, #16]\n",
    "movs r7, #0\n",
    "0:\n",
    "cmp r5, lr\n",
    "bhi 9f\n",
    "cmp r1, r2\n",
    "beq 9f\n",
    "1:\n",
    "ldr r9, [r1, #4]\n",
    "ldr r8, [r1], #8\n",
    "orrs r12, r8, r9\n",
    "bne 2f\n",
    "add r3, r3, r4, lsl #2\n",
    "cmp r1, r2\n",
    "bne 1b\n",
    "b 9f\n",
    "2:\n",
    list_word!(),
    "mov r8, r9\n",
    list_word!(),
    "b 0b\n",
    "9:\n",
    "str r1, [r0]\n",
    "str r3, [r0, #8]\n",
    "str r6, [r0, #16]\n",
    "mov r0, r5\n",
    "pop {{r4-r11, pc}}\n",
    ".size scratchnet_q8_list, . - scratchnet_q8_list\n",
));

/// What `scratchnet_q8_list` reads and moves on (`x`, `off`, `total`).
#[repr(C)]
struct Listing {
    /// The next two words of the input to list.
    x: *const u8,
    /// The end of the input's whole two-word chunks.
    end: *const u8,
    /// The column offset of `x`'s first pair.
    off: u32,
    /// A pair's column, in bytes.
    column: u32,
    /// The listed inputs' sum so far.
    total: u32,
    /// The entry past which no chunk is begun: `PAIR_CHUNK − 4` from the list's start.
    limit: *const [u32; 2],
}

// The routine reads these offsets (`ldrd r1, r2, [r0]`, `[r0, #8]`, `[r0, #16]`).
const _: () = assert!(core::mem::offset_of!(Listing, off) == 8);
const _: () = assert!(core::mem::offset_of!(Listing, column) == 12);
const _: () = assert!(core::mem::offset_of!(Listing, total) == 16);
const _: () = assert!(core::mem::offset_of!(Listing, limit) == 20);

unsafe extern "C" {
    fn scratchnet_q8_list(state: *mut Listing, p: *mut [u32; 2]) -> *mut [u32; 2];
}

/// Entries listed before the routine runs over them (8 bytes each, on the stack).
const PAIR_CHUNK: usize = 40;
/// The most words of a column one window covers (its sums on the stack: two a word).
const WINDOW_WORDS: usize = 26;

/// `acc[j] = Σᵢ x[i]·q[j][i]` for an int8 layer in input pairs (`column` bytes a pair,
/// `4·⌈outputs/2⌉`; u8 inputs), handed to `finish` in order, a window of outputs at a
/// time; nothing if the sizes do not fit.
///
/// For each window of at most [`WINDOW_WORDS`] words of the columns, the input's non-zero
/// pairs are listed [`PAIR_CHUNK`] at a time (each word of the input is two pairs), the
/// routine adds each list's products to the window's sums, and on the last list it makes
/// each word's two sums its outputs': with `Σx` the inputs' sum, the even one `e − 128·Σx`,
/// the odd one `(o − e) >> 8` (exact: the layer's check keeps the odd output's sum within
/// ±2²³).
#[inline(never)]
pub(crate) fn pairs(
    rows: &[u8],
    column: usize,
    x: &[u8],
    outputs: usize,
    finish: &mut dyn FnMut(&[i32]),
) {
    let words = outputs.div_ceil(2);
    let pairs = x.len().div_ceil(2);
    if column != 4 * words || pairs.checked_mul(column) != Some(rows.len()) {
        return;
    }
    let (full, rest) = x.as_chunks::<4>();
    let tail = rest
        .iter()
        .rev()
        .fold(0u32, |w, &b| (w << 8) | u32::from(b));
    // Written before it is read (the routine reads the first `n`): not zeroed.
    let mut list = [const { core::mem::MaybeUninit::<[u32; 2]>::uninit() }; PAIR_CHUNK];
    let mut n = 0;
    // The sum of the listed pairs' inputs (all the input's non-zero ones).
    let mut total = 0u32;
    // Whether `list` holds every entry of the input (none run before the last list): the
    // next windows run it again without listing (a dense input of up to 64 values).
    let mut whole = false;
    let mut done = 0;
    while done < words {
        // A window of at most WINDOW_WORDS words: blocks of three, then one of two or one.
        let ww = (words - done).min(WINDOW_WORDS);
        let (n6, n4, n2) = (ww / 3, usize::from(ww % 3 == 2), usize::from(ww % 3 == 1));
        // Zeroed sixteen words a `VSTM` on an FPU core (`memclr`: ~60 instructions).
        #[cfg(target_abi = "eabihf")]
        let mut zeros = [const { core::mem::MaybeUninit::<f32>::uninit() }; 2 * WINDOW_WORDS];
        #[cfg(target_abi = "eabihf")]
        let sums: &mut [i32] = bytemuck::cast_slice_mut(super::vmla::zero(&mut zeros));
        #[cfg(not(target_abi = "eabihf"))]
        let sums = &mut [0i32; 2 * WINDOW_WORDS][..];
        let base = rows.as_ptr().wrapping_add(4 * done);
        let run = |list: &[core::mem::MaybeUninit<[u32; 2]>; PAIR_CHUNK],
                   n: usize,
                   sums: &mut [i32],
                   fix: u32| {
            let mut state = PairSweep {
                list: list.as_ptr().cast(),
                count: n as u32,
                base,
                sums: sums.as_mut_ptr(),
                n6: n6 as u32,
                n4: n4 as u32,
                n2: n2 as u32,
                fix,
            };
            // SAFETY: `n` (1 to PAIR_CHUNK) entries are read, written below (from index 0
            // on, `n` counting them; in an earlier window when `whole`), each `[xp, k·column]` for a pair k < ⌈x.len()/2⌉
            // (made from the input's words; or `[0, 0]`, pair 0), and for each the
            // words base + k·column + 4w, w < ww = 3·n6 + 2·n4 + n2 ≤ words − done: within
            // column k of `rows` (checked: ⌈x.len()/2⌉ columns of `column` = 4·words
            // bytes), read as words (unaligned loads are allowed on ARMv7E-M while
            // CCR.UNALIGN_TRP is clear, the reset default). It reads and writes
            // sums[.. 2·ww] (2·ww ≤ 2·WINDOW_WORDS, its length), writes only `state` besides, saves and
            // restores r4–r11 (AAPCS).
            unsafe { scratchnet_q8_pairs(&mut state) };
        };
        if !whole {
            let mut ran = false;
            // Input word g holds pairs 2g (bytes 0–1) and 2g + 1 (bytes 2–3), whose columns
            // start at `off` = 2g·column and `off + column`: the routine lists the input's
            // two-word chunks (an image's background is mostly pairs of zero words), a list
            // at a time, then one more chunk: the last full word, if any, and the tail (a
            // zero word after it if there is no last word).
            let (twos, last) = full.as_chunks::<2>();
            let extra = [match last {
                [w] => [*w, tail.to_le_bytes()],
                _ => [tail.to_le_bytes(), [0; 4]],
            }];
            let start = list.as_mut_ptr().cast::<[u32; 2]>();
            let mut state = Listing {
                x: core::ptr::null(),
                end: core::ptr::null(),
                off: 0,
                column: column as u32,
                total: 0,
                limit: start.wrapping_add(PAIR_CHUNK - 4),
            };
            n = 0;
            for range in [twos.as_ptr_range(), extra.as_ptr_range()] {
                (state.x, state.end) = (range.start.cast(), range.end.cast());
                loop {
                    // SAFETY: the routine reads words from `state.x` to `state.end` (whole
                    // two-word chunks of `x`, or `extra`; unaligned word loads are allowed on
                    // ARMv7E-M while CCR.UNALIGN_TRP is clear, the reset default), and writes
                    // entries from `start + n` on (n ≤ PAIR_CHUNK): a chunk is begun only
                    // while at most `limit` = PAIR_CHUNK − 4 entries are written, and writes
                    // at most four (each stored at the next place, then kept or not), so none
                    // past `list`'s PAIR_CHUNK; it writes `state`'s `x`, `off` and `total`
                    // besides, and saves and restores r4–r11 (AAPCS). It returns where its
                    // entries end, within `list` and at or after `start + n`.
                    let end = unsafe { scratchnet_q8_list(&mut state, start.add(n)) };
                    // SAFETY: both in `list` (above).
                    n = unsafe { end.offset_from(start) } as usize;
                    if state.x == state.end {
                        break;
                    }
                    run(&list, n, sums, 0);
                    (n, ran) = (0, true);
                }
            }
            total = state.total;
            whole = !ran;
        }
        // The last list (an entry of zeros if none is left: it adds nothing) makes the sums
        // the outputs'.
        if n == 0 {
            // SAFETY: n = 0 < PAIR_CHUNK.
            unsafe { list.get_unchecked_mut(0) }.write([0, 0]);
            n = 1;
        }
        run(&list, n, sums, total.wrapping_mul(128) | 1);
        let real = (outputs - 2 * done).min(2 * ww);
        finish(sums.get(..real).unwrap_or(&[]));
        done += ww;
    }
}

/// An empty assembly statement: no instruction, but a loop that holds one is not unrolled
/// (LLVM's Arm unrolling leaves loops with calls alone, and an `asm!` statement is one).
/// For the requantization loops, whose unrolled copies (eight of each) took the int8
/// firmware past 64 KiB of flash.
#[inline(always)]
pub(crate) fn rolled() {
    // SAFETY: no instruction, no operand: touches nothing.
    unsafe { core::arch::asm!("", options(nomem, nostack, preserves_flags)) };
}
