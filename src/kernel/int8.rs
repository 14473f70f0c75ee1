//! The int8 kernel: `acc[j] = Σᵢ x[i]·q[j][i]`, exact i32 sums, inputs `x` u8 (the book's
//! int8 path) or i8 (`SIGNED`: TFLite's).
//!
//! Layout read: `q` output-major, one row of `stride` i8 per output (`stride` a multiple of
//! 4, at least the number of inputs, zero past them), so that four inputs and their four
//! weights are one word each; the input as bytes, read a word (four inputs) at a time, or
//! on a DSP core (at most 128 inputs, few all-zero groups) as two words a group: its even
//! and its odd bytes, each widened to a halfword. Or `q` in input pairs (a column of
//! `⌈outputs/2⌉` words a pair of inputs, two outputs a word: `ElementType::I8Pairs`).

/// At most this many groups of four inputs (one 32-bit word each, 1 020 inputs) are
/// listed; a wider layer visits every group.
const GROUPS: usize = 255;

/// The list's buffer for layers of fewer than `4·SMALL` inputs (32 bytes: zeroed inline,
/// larger buffers call `memclr`).
const SMALL: usize = 32;

/// The shared buffer's size in pairs of words: 256 bytes, a large list (`GROUPS + 1`
/// entries) or, on a DSP core, a dense input's groups widened to halfword pairs.
pub(super) const BUF_PAIRS: usize = (GROUPS + 1) / 8;

/// Outputs computed per pass: their sums stay in registers while each input word
/// serves all of them.
pub(super) const ROWS: usize = 5;

/// On a DSP core, a dense input is widened once to halfword pairs for layers of at least
/// this many outputs; fewer passes widen each word in the routine (two instructions a
/// group a pass, against about 14 a group once: measured on the book's 100 × 10, two
/// passes, 1 767 → 1 600).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
const WIDEN_OUTPUTS: usize = 30;

/// The full groups of four inputs that are not all zero, as entries `g + 1` (so
/// `1 ≤ entry ≤` the number of full groups), then a 0. Valid by construction: only
/// [`List::of`] makes one, and the DSP pass relies on it.
pub(super) struct List<'b> {
    entries: &'b [u8],
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    full: usize,
}

impl<'b> List<'b> {
    /// Lists the groups of `full` in `buf`; `None` when there are more than
    /// `buf.len() − 1` (at most [`GROUPS`]).
    // Out of line on DSP cores, where the list and the dense paths share `matvec` (the
    // int8 demo's flash under 64 KiB); inline elsewhere (out of line measured M0 +1 300
    // instructions an inference, though the terms kernel does not call it).
    #[cfg_attr(all(feature = "dsp", target_arch = "arm"), inline(never))]
    #[cfg_attr(not(all(feature = "dsp", target_arch = "arm")), inline(always))]
    pub(super) fn of(full: &[[u8; 4]], buf: &'b mut [u8]) -> Option<Self> {
        if full.len() >= buf.len() || full.len() > GROUPS {
            return None;
        }
        // Written through `get_mut`: no bounds-check panic path (there are at most N − 1
        // entries and N slots, so every write lands).
        let mut count = 0;
        let mut push = |g: usize| {
            if let Some(slot) = buf.get_mut(count) {
                *slot = (g + 1) as u8;
            }
            count += 1;
        };
        // Two groups a test (one `LDRD` and one `ORRS` on Thumb-2): an image's background
        // is mostly pairs of zero words.
        let (twos, last) = full.as_chunks::<2>();
        for (k, two) in twos.iter().enumerate() {
            if *two != [[0; 4]; 2] {
                for (h, w) in two.iter().enumerate() {
                    if *w != [0; 4] {
                        push(2 * k + h);
                    }
                }
            }
        }
        if let [w] = last
            && *w != [0; 4]
        {
            push(full.len() - 1);
        }
        *buf.get_mut(count)? = 0;
        let buf: &'b [u8] = buf;
        Some(Self {
            entries: buf.get(..=count)?,
            #[cfg(all(feature = "dsp", target_arch = "arm"))]
            full: full.len(),
        })
    }

    /// The entries and their ending 0.
    pub(super) fn with_end(&self) -> &'b [u8] {
        self.entries
    }

    /// The number of entries.
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    pub(super) fn len(&self) -> usize {
        self.entries.len() - 1
    }

    /// The number of full groups the entries refer to.
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    pub(super) fn full(&self) -> usize {
        self.full
    }
}

/// `acc + Σₖ x[k]·w[k]` over the four bytes of `x` (u8, or i8 if `SIGNED`) and `w` (i8),
/// wrapping as the 32-bit accumulators of TFLite and of `SMLAD` do.
#[inline(always)]
fn mac4<const SIGNED: bool>(x: u32, w: u32, acc: i32) -> i32 {
    let (x, w) = (x.to_le_bytes(), w.to_le_bytes());
    let mut acc = acc;
    for k in 0..4 {
        let xk = if SIGNED {
            i32::from(x[k] as i8)
        } else {
            i32::from(x[k])
        };
        acc = acc.wrapping_add(xk * i32::from(w[k] as i8));
    }
    acc
}

/// What a portable pass reads: the listed (or all) full groups of the input, the tail
/// word (the inputs past them, zero-padded), and the rows as words, `sw` a row.
struct Pass<'a, 'b> {
    // (Not read on a DSP core, whose plain Rust visits every group.)
    #[cfg_attr(all(feature = "dsp", target_arch = "arm"), allow(dead_code))]
    list: Option<&'b List<'b>>,
    full: &'a [[u8; 4]],
    tail: u32,
    m: &'a [[u8; 4]],
    sw: usize,
    outputs: usize,
    /// The weights are in input pairs (`m` holds a column of `sw` words a pair), not
    /// rows; the input then is `x`.
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    pairs: Option<&'a [u8]>,
}

/// Plain Rust for a layer in input pairs (see `ElementType::I8Pairs`): the sums of
/// outputs `first ..` (at most [`ROWS`], below `outputs`), over the input's non-zero
/// pairs; word `j/2` of pair k's column holds `q[j][2k]` at byte `j & 1`, `q[j][2k+1]`
/// two bytes on (plus 128 for an even `j`).
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
fn pairs_pass<const SIGNED: bool>(p: &Pass<'_, '_>, x: &[u8], first: usize) -> [i32; ROWS] {
    let mut s = [0i32; ROWS];
    let n = p.outputs.saturating_sub(first).min(ROWS);
    let value = |i: usize| {
        let b = x.get(i).copied().unwrap_or(0);
        if SIGNED {
            i32::from(b as i8)
        } else {
            i32::from(b)
        }
    };
    for (k, column) in p.m.chunks_exact(p.sw.max(1)).enumerate() {
        let (x0, x1) = (value(2 * k), value(2 * k + 1));
        if x0 == 0 && x1 == 0 {
            continue;
        }
        for (o, s) in s.iter_mut().take(n).enumerate() {
            let j = first + o;
            if let Some(w) = column.get(j / 2) {
                let offset = if j.is_multiple_of(2) { 0x80 } else { 0 };
                let q = |b: usize| i32::from((w[b] ^ offset) as i8);
                *s = s.wrapping_add(x0 * q(j & 1) + x1 * q((j & 1) + 2));
            }
        }
    }
    s
}

/// Plain Rust on a DSP core, where only layers of fewer than [`ROWS`] outputs come here:
/// the sums of rows `first ..` (at most [`ROWS`], below `outputs`; the rest zero), every
/// group of the input, one row at a time (small code: the int8 firmware's flash).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[inline(never)]
fn portable<const SIGNED: bool>(p: &Pass<'_, '_>, first: usize) -> [i32; ROWS] {
    let mut s = [0i32; ROWS];
    let n = p.outputs.saturating_sub(first).min(ROWS);
    for (k, s) in s.iter_mut().take(n).enumerate() {
        let start = (first + k) * p.sw;
        let row = p.m.get(start..start + p.sw).unwrap_or(&[]);
        let words = p
            .full
            .iter()
            .map(|w| u32::from_le_bytes(*w))
            .chain([p.tail]);
        for (w, x) in row.iter().zip(words) {
            *s = mac4::<SIGNED>(x, u32::from_le_bytes(*w), *s);
        }
    }
    s
}

/// Plain Rust: the sums of rows `first ..` (at most [`ROWS`], below `outputs`); the
/// rest of the array repeats the last.
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
#[inline(never)]
fn portable<const SIGNED: bool>(p: &Pass<'_, '_>, first: usize) -> [i32; ROWS] {
    if let Some(x) = p.pairs {
        return pairs_pass::<SIGNED>(p, x, first);
    }
    let mut s = [0i32; ROWS];
    let n = p.outputs.saturating_sub(first).min(ROWS);
    if n == 0 {
        return s;
    }
    let base: [usize; ROWS] = core::array::from_fn(|k| (first + k.min(n - 1)) * p.sw);
    let w = |i: usize| p.m.get(i).map_or(0, |c| u32::from_le_bytes(*c));
    let mut add = |g: usize, xw: u32| {
        for (s, b) in s.iter_mut().zip(base) {
            *s = mac4::<SIGNED>(xw, w(b + g), *s);
        }
    };
    let word = |g: usize| p.full.get(g).map_or(0, |w| u32::from_le_bytes(*w));
    match p.list {
        Some(list) => {
            for &e in list.with_end() {
                if let Some(g) = usize::from(e).checked_sub(1) {
                    add(g, word(g));
                }
            }
        }
        None => {
            for g in 0..p.full.len() {
                if word(g) != 0 {
                    add(g, word(g));
                }
            }
        }
    }
    if p.tail != 0 {
        add(p.full.len(), p.tail);
    }
    s
}

/// `acc[j] = Σᵢ x[i]·q[j][i]` for output-major rows of `stride` i8 (a multiple of 4, at
/// least `x.len()`, zero past it) — or, if `pairs`, for the columns of input pairs
/// (`stride` = `4·⌈outputs/2⌉` bytes a pair; see `ElementType::I8Pairs`) — handed to
/// `finish` in order, a few at a time. Nothing is handed on if the sizes do not fit (the
/// caller sizes them).
///
/// In pairs: elsewhere than on a DSP core [`ROWS`] outputs a pass of plain Rust over the
/// non-zero pairs (a DSP core's caller calls `smlad::pairs` instead, the non-zero pairs
/// listed, six outputs a block in assembly: nothing is handed on here).
///
/// The groups of four inputs that are not all zero are listed once; every pass over
/// [`ROWS`] outputs then visits only those, and the last partial group. On a DSP core
/// the passes are `smlad::Sweeps` (assembly), and an input with few all-zero groups is
/// not listed: every group is read in order, widened once to halfword pairs ([`widen`]'s
/// layout) when there are at most 128 inputs; on other Cortex-M cores `muls::Terms`
/// (assembly over the non-zero inputs one by one); elsewhere plain Rust. All give the
/// same exact integer sums.
// Out of line on DSP cores, where its callers pass `finish` as `&mut dyn FnMut` (called a
// few times a layer): one copy for every layer function, its buffers in a frame of its
// own (the pairs kernel's frame is another, not added to it). Inline elsewhere, with the
// caller's closure (M0/M3: measured ~110 instructions an inference and 3.4 KB of flash
// less than through a pointer).
#[cfg_attr(all(feature = "dsp", target_arch = "arm"), inline(never))]
#[cfg_attr(not(all(feature = "dsp", target_arch = "arm")), inline(always))]
pub(crate) fn matvec<const SIGNED: bool>(
    rows: &[u8],
    stride: usize,
    pairs: bool,
    x: &[u8],
    outputs: usize,
    mut finish: impl FnMut(&[i32]),
) {
    // In input pairs (`stride` a pair's column, `4·⌈outputs/2⌉` bytes): on a DSP core the
    // caller calls the pairs routine's driver (`smlad::pairs`) instead, so that its frame
    // is not under this one's (nothing handed on here); elsewhere the plain Rust passes
    // below.
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    if pairs {
        return;
    }
    let (full, rest) = x.as_chunks::<4>();
    // The weights as one slice of 4-byte words; row `j` starts at word `j·sw` (or the
    // column of pair k at word `k·sw`).
    let m = rows.as_chunks::<4>().0;
    let sw = stride / 4;
    let fits = if pairs {
        stride == 4 * outputs.div_ceil(2) && x.len().div_ceil(2) * sw == m.len()
    } else {
        stride.is_multiple_of(4) && stride >= x.len() && m.len() >= outputs * sw
    };
    if !fits {
        return;
    }
    // On a core without DSP instructions, the assembly's terms (when the shapes fit),
    // every output in one go; else the groups are listed for the plain Rust.
    #[cfg(all(not(feature = "dsp"), target_arch = "arm"))]
    let mut terms = [const { core::mem::MaybeUninit::uninit() }; super::muls::TERMS];
    #[cfg(all(not(feature = "dsp"), target_arch = "arm"))]
    if !pairs
        && let Some(mut terms) =
            super::muls::Terms::<SIGNED>::new(x, rows, stride, outputs, &mut terms)
    {
        terms.all(finish);
        return;
    }
    // One 256-byte buffer, assigned where it is used: a dense input's widened pairs (on a
    // DSP core), or the list of a large input's groups; and a small buffer for a small
    // input's list. Only what is used is zeroed (measured on the M4F, int8 MNIST: 256
    // bytes zeroed for every layer cost ~190 instructions an inference more).
    let (mut buf, mut small): ([[u32; 2]; BUF_PAIRS], [u8; SMALL]);
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    let (list, pairs): (Option<List<'_>>, &[[u32; 2]]) =
        if x.len() <= 4 * BUF_PAIRS && outputs >= WIDEN_OUTPUTS {
            buf = [[0; 2]; BUF_PAIRS];
            match widen::<SIGNED>(full, (!rest.is_empty()).then(|| word(rest)), &mut buf) {
                Some(groups) => (None, buf.get(..groups).unwrap_or(&[])),
                None if full.len() < SMALL => {
                    small = [0; SMALL];
                    (List::of(full, &mut small), &[])
                }
                None => (List::of(full, bytemuck::cast_slice_mut(&mut buf)), &[]),
            }
        } else if rest.is_empty() && few_zero_groups(full) {
            // Every group in order, widened in the routine (no list to make).
            (None, &[])
        } else if full.len() < SMALL {
            small = [0; SMALL];
            (List::of(full, &mut small), &[])
        } else {
            buf = [[0; 2]; BUF_PAIRS];
            (List::of(full, bytemuck::cast_slice_mut(&mut buf)), &[])
        };
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    let list = if full.len() < SMALL {
        small = [0; SMALL];
        List::of(full, &mut small)
    } else {
        buf = [[0; 2]; BUF_PAIRS];
        List::of(full, bytemuck::cast_slice_mut(&mut buf))
    };
    let tail = word(rest);
    // On a DSP core: the widened pairs of a dense input of at most 128 values; else an
    // input of whole groups with few of them zero, every group in order (a listed group
    // costs 33 instructions a pass, one in order 30 — 29 since the routine takes two a turn;
    // the threshold is the measured one); else the listed groups.
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    let mut sweeps = {
        use super::smlad::Sweeps;
        match &list {
            _ if !pairs.is_empty() => Sweeps::dense(pairs, rows, stride, outputs),
            Some(l) if !rest.is_empty() || l.len() * 33 < full.len() * 30 => {
                Sweeps::listed::<SIGNED>(l, x, tail, rows, stride, outputs)
            }
            // Few all-zero groups, or too many groups to list (over 1 020 inputs): every
            // group in order, if they are all whole.
            _ if rest.is_empty() => Sweeps::wide::<SIGNED>(x, rows, stride, outputs),
            _ => None,
        }
    };
    let pass = Pass {
        list: list.as_ref(),
        full,
        tail,
        m,
        sw,
        outputs,
        #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
        pairs: pairs.then_some(x),
    };
    let mut j = 0;
    while j < outputs {
        // Fewer than ROWS outputs left: the window moves back over the last ROWS rows
        // (recomputing a few sums), and only the new ones are handed on.
        let start = if outputs >= ROWS {
            j.min(outputs - ROWS)
        } else {
            j
        };
        let plain;
        // On a DSP core, up to `smlad::CHUNK / ROWS` passes in one call.
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        let s: &[i32] = match &mut sweeps {
            Some(sweeps) => sweeps.sweep(start),
            None => {
                plain = portable::<SIGNED>(&pass, start);
                &plain
            }
        };
        #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
        let s = {
            plain = portable::<SIGNED>(&pass, start);
            &plain
        };
        let end = (start + s.len()).min(outputs);
        // (A sweep of no pass: the sizes do not fit, nothing more to hand on.)
        #[cfg(all(feature = "dsp", target_arch = "arm"))]
        if end <= j {
            return;
        }
        finish(s.get(j - start..end - start).unwrap_or(&[]));
        j = end;
    }
}

/// Whether at most about one in seven of the groups is all zero, the threshold at which
/// [`widen`] takes an input as dense (counted without making a list: 4 instructions a
/// group against `List::of`'s 12).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[inline(never)]
fn few_zero_groups(full: &[[u8; 4]]) -> bool {
    let mut zeros = 0;
    for w in full {
        zeros += usize::from(*w == [0; 4]);
        super::rolled();
    }
    zeros * 33 <= full.len() * 5
}

/// The bytes `rest` (at most four) as a word, zero-padded: the inputs past the last full
/// group.
#[inline(always)]
fn word(rest: &[u8]) -> u32 {
    rest.iter()
        .rev()
        .fold(0u32, |w, &b| (w << 8) | u32::from(b))
}

/// The input's full groups of four and its `tail` word (the rest, zero-padded), each
/// widened to two halfword pairs (bytes 0 and 2, bytes 1 and 3; zero- or sign-extended as
/// `SIGNED` says), written into `buf`; their number. `None` unless there are one to
/// [`BUF_PAIRS`] groups and at most about one in seven is all zero (with more, listing the
/// others costs less: a listed group takes 33 instructions a pass, a widened one 28 — 27
/// since the routine takes two a turn; the threshold is the measured one).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[inline(never)]
fn widen<const SIGNED: bool>(
    full: &[[u8; 4]],
    tail: Option<u32>,
    buf: &mut [[u32; 2]; BUF_PAIRS],
) -> Option<usize> {
    let groups = full.len() + usize::from(tail.is_some());
    if !(1..=BUF_PAIRS).contains(&groups) {
        return None;
    }
    let pair = |w: u32| {
        if SIGNED {
            // Bytes 0 and 2, then 1 and 3, each sign-extended into its halfword (shifted to
            // the top of an i32, then arithmetically down).
            let even = ((((w << 24) as i32) >> 24) as u32 & 0xffff)
                | ((((w << 8) as i32) >> 8) as u32 & 0xffff_0000);
            let odd = ((((w << 16) as i32) >> 24) as u32 & 0xffff)
                | (((w as i32) >> 8) as u32 & 0xffff_0000);
            [even, odd]
        } else {
            [w & 0x00ff_00ff, (w >> 8) & 0x00ff_00ff]
        }
    };
    let mut zeros = 0;
    for (p, g) in buf.iter_mut().zip(full) {
        let w = u32::from_le_bytes(*g);
        zeros += usize::from(w == 0);
        *p = pair(w);
        super::rolled();
    }
    if let (Some(w), Some(p)) = (tail, buf.get_mut(full.len())) {
        zeros += usize::from(w == 0);
        *p = pair(w);
    }
    (zeros * 33 <= groups * 5).then_some(groups)
}
