//! Beyond the book: an int8 layer's integer sums turned back into values, and a hidden
//! layer's sums into the sigmoid table's index, exactly as the f32 formula gives it:
//!
//! ```text
//! A = fl(fl(fl(Σ)·fl(s/d_in)) + B)           value
//! k = min(⌊fl(A + 8)·32⌋, 511), 0 below 0     the entry of the 512-step sigmoid table
//! ```
//!
//! With an FPU that is a few instructions. In soft float (Cortex-M0/M3) each of those
//! operations is a library call — about 670 instructions an output on Cortex-M0, more
//! than its multiply-adds — so there a hidden layer's index is computed in integers
//! ([`HiddenIndex`]): an estimate of `32·(Σ·s/d_in + B + 8)` with a bound on how far both
//! it and the f32 result can be from the real value. When the bound keeps them on the same
//! step, that step is the f32 formula's; otherwise (one hidden output in about 1 300 on the
//! MNIST test images) the f32 formula is computed. The index is therefore the f32 one on every core, bit for bit.

/// `A = Σ·s/d_in + B` in f32 as every int8 layer (and the host) computes it:
/// `fl(fl(Σ)·factor) + B` with `factor = fl(s/d_in)` (worked out once an output on a
/// soft-float core, else where it is used).
#[inline(always)]
pub(crate) fn value_by_factor(sum: i32, factor: f32, b: f32) -> f32 {
    sum as f32 * factor + b
}

/// The sigmoid table's last entry.
const LAST: usize = 511;

/// The table's entry for `a`: `min(⌊(a + 8)·32⌋, 511)` in f32, 0 for a negative value or
/// NaN (what `as` gives). With an FPU, computed so; in soft float (Cortex-M0/M3) from the
/// bits of `a + 8` ([`index_from_bits`]): the same index for every `a`, without the four
/// library calls the multiply, the conversion and its range checks cost there.
#[inline(always)]
pub(crate) fn table_index(a: f32) -> usize {
    if SOFT_FLOAT {
        index_from_bits((a + 8.0).to_bits())
    } else {
        // `as` saturates (negative and NaN → 0), so every input has an entry.
        (((a + 8.0) * 32.0) as usize).min(LAST)
    }
}

/// Whether f32 arithmetic is library calls (an Arm core without FPU, or built for one).
pub(crate) const SOFT_FLOAT: bool = cfg!(all(target_arch = "arm", not(target_abi = "eabihf")));

/// `min(⌊y·32⌋, 511)` for the f32 `y` with bits `b`, 0 for a negative `y`, −0 or NaN,
/// 511 for +∞ — in integers. `y·32` is exact (a power of two scales the exponent only,
/// and an overflow gives ∞ either way), so for a finite `y = m·2^(e−150)` (`m` the 24-bit
/// significand, `e` the biased exponent) the index is `m >> (145 − e)`.
/// `the_table_index_from_bits_is_the_float_one` checks it on every f32 (ignored; a sample
/// always).
#[inline(always)]
fn index_from_bits(b: u32) -> usize {
    if b as i32 <= 0 {
        // +0 and every negative value (NaNs with the sign bit included).
        return 0;
    }
    if b >= 0x7f80_0000 {
        // +∞ → the last entry; NaN → 0, as `as` gives.
        return if b == 0x7f80_0000 { LAST } else { 0 };
    }
    let e = b >> 23;
    let m = if e == 0 {
        b
    } else {
        (b & 0x007f_ffff) | 0x0080_0000
    };
    if e >= 145 {
        LAST
    } else {
        let shift = 145 - e;
        if shift >= 24 {
            0
        } else {
            ((m >> shift) as usize).min(LAST)
        }
    }
}

/// `table_index(value_by_factor(..))`: the f32 formula, out of line for
/// [`HiddenIndex::index_prepared`] on Thumb-1 (taken for about one hidden output in 1 300).
#[cold]
#[inline(never)]
fn by_formula(sum: i32, factor: f32, b: f32) -> usize {
    table_index(value_by_factor(sum, factor, b))
}

/// The sign, biased exponent and 24-bit significand (hidden bit set) of a normal f32, in
/// integers; `None` for zero, subnormals, infinities and NaN.
#[inline(always)]
fn normal_parts(x: f32) -> Option<(bool, i32, u32)> {
    let b = x.to_bits();
    let e = ((b >> 23) & 0xff) as i32;
    (e != 0 && e != 255).then_some((b >> 31 != 0, e, (b & 0x007f_ffff) | 0x0080_0000))
}

/// A hidden sigmoid layer's table index `table_index(fl(fl(Σ)·fl(s/d_in)) + B)`, for soft-float
/// cores: in integers when that is certain to give the same index, by the f32 formula when
/// it is not.
///
/// In units of 2⁻¹⁶ of a table step (`V = 2²¹·(Σ·s/d_in + B + 8)`), it estimates
/// `V ≈ (Σ·g)·2^e + ⌊B·2²¹⌋ + 2²⁴` with `g·2^e` = `s·fl(2²¹/d_in)` to 2⁻²¹ (the
/// significands' product, kept to 24 bits). The f32 formula rounds five times (`u` =
/// 2⁻²⁴ each): its `32·fl(A + 8)` is within `5.1u·|P| + 2.1u·|B| + 1.1` units of `V`
/// (`P` = `Σ·s/d_in·2²¹`), and the estimate within `2.3·2⁻²²·|P| + 4`; the margin
/// `|P|/2¹⁸ + |B|/2²⁰ + 16` is more than twice their sum. The index is the estimate's
/// when both ends of `V ± margin` give the same one (the index is monotonic in `V`).
/// Each output costs two integer products (two `UMULL` on Thumb-2 cores, seven 16-bit
/// `MULS` on Thumb-1 ones) and a few shifts instead of five f32 library calls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HiddenIndex {
    d_in: f32,
    /// The significand and biased exponent of `fl(2²¹/d_in)`; `None` when it is not a
    /// positive normal f32 (every index is then computed by the f32 formula).
    q: Option<(u32, i32)>,
}

impl HiddenIndex {
    /// For a layer whose inputs' divisor is `d_in` (one f32 division per layer).
    #[inline(always)]
    pub(crate) fn new(d_in: f32) -> Self {
        let q = normal_parts(2_097_152.0 / d_in).and_then(|(neg, e, m)| (!neg).then_some((m, e)));
        Self { d_in, q }
    }

    /// `table_index(fl(fl(sum)·fl(s/d_in)) + b)`.
    #[cfg(test)]
    pub(crate) fn index(&self, sum: i32, s: f32, b: f32) -> usize {
        self.index_prepared(self.prepare(s, b), sum, || self.factor(s), b)
    }

    /// The factor `fl(s/d_in)` of an output's value.
    #[inline(always)]
    pub(crate) fn factor(&self, s: f32) -> f32 {
        s / self.d_in
    }

    /// `table_index(fl(fl(sum)·factor()) + b)` for `p = self.prepare(s, b)` and
    /// `factor() = fl(s/d_in)`: [`index`](Self::index) with the output's constants worked
    /// out before (`factor` is called only when the estimate is not certain).
    #[inline(always)]
    pub(crate) fn index_prepared(
        &self,
        p: Prepared,
        sum: i32,
        factor: impl FnOnce() -> f32,
        b: f32,
    ) -> usize {
        self.estimate_prepared(p, sum).unwrap_or_else(|| {
            // Out of line on Thumb-1, whose eight low registers the inlined formula crowds
            // (M0 −1 335 instructions an inference); inline on Thumb-2 (out of line there
            // measured M3 +614).
            if cfg!(scratchnet_thumb2) {
                table_index(value_by_factor(sum, factor(), b))
            } else {
                by_formula(sum, factor(), b)
            }
        })
    }

    /// The index when the integer estimate is certain of it. In 32-bit integer operations
    /// only (ARMv6-M has no 64-bit multiply or shift: those are library calls too).
    #[cfg(test)]
    fn estimate(&self, sum: i32, s: f32, b: f32) -> Option<usize> {
        self.estimate_prepared(self.prepare(s, b), sum)
    }

    /// The estimate's constants for an output with scale `s` and bias `b`: what does not
    /// depend on the sum.
    #[inline(always)]
    pub(crate) fn prepare(&self, s: f32, b: f32) -> Prepared {
        let Some((mq, eq)) = self.q else {
            return Prepared::NONE;
        };
        // A positive normal `s` (the sign bit makes the exponent field 256 or more).
        let es = (s.to_bits() >> 23) as i32;
        let ms = (s.to_bits() & 0x007f_ffff) | 0x0080_0000;
        let neg = !(1..255).contains(&es);
        // `s/d_in` is then normal and below 8 (the error bound holds): s·2²¹/d_in ≈
        // g·2^(es + eq − 276), g ∈ [2²², 2²⁴) the significands' product's top 24 bits.
        let k = 276 - es - eq;
        if neg || k < 0 || es + eq < 150 {
            return Prepared::NONE;
        }
        let g = top24(ms, mq);
        // ⌊|B|·2²¹⌋ (within one unit), below 2³⁰: B = ±m·2^(eb − 150); 0 for ±0 and
        // subnormals (below 2⁻¹⁰⁵ units).
        // (Infinities and NaN have kb = 126: refused with the large values; zeros and
        // subnormals kb = −129: shifted out, as their hidden bit is.)
        let bits = b.to_bits();
        let eb = ((bits >> 23) & 0xff) as i32;
        let mb = (bits & 0x007f_ffff) | 0x0080_0000;
        let kb = eb - 129;
        if kb > 6 {
            return Prepared::NONE;
        }
        let mag = if kb >= 0 {
            mb << kb
        } else {
            mb >> (-kb).min(31)
        } as i32;
        // k ≤ 126 here (es + eq ≥ 150): it fits the top byte, and `gk` is never `NONE`'s.
        let bf = if bits >> 31 != 0 { -mag } else { mag };
        Prepared {
            gk: g | (k as u32) << 24,
            c: bf + (1 << 24),
            slack: (mag >> 20) + 16,
        }
    }

    /// The index when the integer estimate with the constants `p` is certain of it.
    #[inline(always)]
    pub(crate) fn estimate_prepared(&self, p: Prepared, sum: i32) -> Option<usize> {
        let (k, a) = (p.gk >> 24, sum.unsigned_abs());
        // |P| = ⌊|Σ|·g / 2^k⌋ (or one less on Thumb-1) when below 2³⁰ (`u32::MAX` when it
        // does not fit 32 bits). Thumb-1's usual case straight: [`shifted_small`] with both
        // shifts below 32.
        let pm = if !cfg!(scratchnet_thumb2) && a < 1 << 20 && (12..32).contains(&k) {
            let (gh, gl) = ((p.gk << 8) >> 20, (p.gk << 20) >> 20);
            ((a * gh) >> (k - 12)) + ((a * gl) >> k)
        } else if p.gk == Prepared::NONE.gk {
            return None;
        } else {
            wide_product_shifted(a, p.gk & 0x00ff_ffff, k).unwrap_or(u32::MAX)
        };
        if pm >= 1 << 30 {
            return saturated(sum, p.c);
        }
        // |v| < 2³¹: each term is below 2³⁰, 2²⁴ and the margin below 2²⁵.
        let pm = pm as i32;
        let v = if sum < 0 { p.c - pm } else { p.c + pm };
        let margin = (pm >> 18) + p.slack;
        // The index is monotonic in V: the same at both ends, the same between.
        let lo = (v - margin) >> 16;
        if lo == (v + margin) >> 16 && lo as u32 <= LAST as u32 {
            Some(lo as usize)
        } else {
            clamped(v, margin)
        }
    }
}

/// [`HiddenIndex`]'s decision past `|P| = 2³⁰`: with `|B|` below 2²⁹ (`c − 2²⁴ = ±⌊|B|·2²¹⌋`),
/// Σ's sign decides: `|V|` is then above 2²⁹ − 2²⁴ units, far past either end (and far
/// past both errors, 2⁻²⁰ of `|P|`).
#[cold]
fn saturated(sum: i32, c: i32) -> Option<usize> {
    ((c - (1 << 24)).unsigned_abs() < 1 << 29).then_some(if sum < 0 { 0 } else { LAST })
}

/// [`HiddenIndex`]'s decision when `V ± margin` are not on one step inside the table:
/// both ends clamped to it, the index if they agree.
#[cold]
fn clamped(v: i32, margin: i32) -> Option<usize> {
    let step = |v: i32| (v >> 16).clamp(0, LAST as i32) as usize;
    let (lo, hi) = (step(v - margin), step(v + margin));
    (lo == hi).then_some(lo)
}

/// [`HiddenIndex`]'s constants for one output (its scale and bias), worked out once: a
/// soft-float core keeps them for every output of a typed layer ([`QDense`](crate::QDense)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prepared {
    /// `g` (bits 0–23) and the shift `k` (bits 24–31); all ones when the integer estimate
    /// does not apply (the f32 formula decides every index).
    gk: u32,
    /// `±⌊|B|·2²¹⌋ + 2²⁴` (`⌊|B|·2²¹⌋` within one unit, below 2³⁰).
    c: i32,
    /// The margin's part that does not depend on the sum: `⌊|B|·2²¹⌋/2²⁰ + 16`.
    slack: i32,
}

impl Prepared {
    /// No estimate: the f32 formula decides.
    pub(crate) const NONE: Self = Self {
        gk: u32::MAX,
        c: 0,
        slack: 0,
    };

    /// As stored after an output's factor (words 1–3 of [`soft_float_words`]).
    #[inline(always)]
    pub(crate) fn from_words(w: &Constants) -> Self {
        Self {
            gk: w[1],
            c: w[2] as i32,
            slack: w[3] as i32,
        }
    }
}

/// The four words a soft-float core reads for each output of an int8 layer stored with its
/// constants ([`ElementType::I8SoftFloat`](crate::ElementType::I8SoftFloat)):
/// `[factor, g | k << 24, c, slack]`, as [`soft_float_words`] gives them.
pub(crate) type Constants = [u32; 4];

/// What a core without FPU reads for an int8 layer's output, stored in the blob by the
/// converter (element type [`I8SoftFloat`](crate::ElementType::I8SoftFloat)) and checked
/// against this function when it is loaded: the factor `fl(s/d_in)` of the output's value
/// (f32 bits), then, for a sigmoid layer, its table index's [`Prepared`] constants
/// (`NONE`'s for any other layer).
pub(crate) fn soft_float_words(s: f32, b: f32, d_in: f32, sigmoid: bool) -> Constants {
    let h = HiddenIndex::new(d_in);
    let p = if sigmoid {
        h.prepare(s, b)
    } else {
        Prepared::NONE
    };
    [h.factor(s).to_bits(), p.gk, p.c as u32, p.slack as u32]
}

/// The top 24 bits of the product of two 24-bit significands (at least 2⁴⁶), at most 2
/// under the exact `⌊m·q / 2²⁴⌋`: `m₁q₁ + ⌊(m₁q₀ + m₀q₁) / 2¹²⌋` from 12-bit halves (low ×
/// low dropped) on every core, so that a layer's constants are the same everywhere (the
/// converter stores them for cores without FPU, and each core checks them when it loads
/// the blob).
#[inline(always)]
fn top24(m: u32, q: u32) -> u32 {
    let (m1, m0, q1, q0) = (m >> 12, m & 0xfff, q >> 12, q & 0xfff);
    m1 * q1 + ((m1 * q0 + m0 * q1) >> 12)
}

/// `⌊a·g / 2^k⌋` when it fits a `u32`, for `g` below 2²⁴: in u64 on Thumb-2 cores (a
/// `UMULL` and a few shifts); on Thumb-1 ones by [`shifted_small`] (at most one less) for
/// the usual `a` below 2²⁰, else from [`mul_wide`]'s halves.
#[inline(always)]
fn wide_product_shifted(a: u32, g: u32, k: u32) -> Option<u32> {
    if cfg!(scratchnet_thumb2) {
        let p = (u64::from(a) * u64::from(g)).checked_shr(k).unwrap_or(0);
        u32::try_from(p).ok()
    } else if a < 1 << 20 && (12..44).contains(&k) {
        Some(shifted_small(a, g, k))
    } else {
        shift_right(mul_wide(a, g), k)
    }
}

/// `⌊a·g / 2^k⌋` or one less, for `a` below 2²⁰, `g` below 2²⁴ and `12 ≤ k < 44`: `g`
/// split at bit 12, so both products fit 32 bits (two `MULS`, no carries), each shifted
/// down (two truncations: at most one unit lost).
#[inline(always)]
fn shifted_small(a: u32, g: u32, k: u32) -> u32 {
    let (gh, gl) = (g >> 12, g & 0xfff);
    ((a * gh) >> (k - 12)) + (a * gl).checked_shr(k).unwrap_or(0)
}

/// `a·g` for `g` below 2²⁴, as (high word, low word): one `UMULL` on Thumb-2 cores, four
/// 16 × 16-bit multiplies on Thumb-1 ones (ARMv6-M has no 64-bit product).
#[inline(always)]
fn mul_wide(a: u32, g: u32) -> (u32, u32) {
    if cfg!(scratchnet_thumb2) {
        let p = u64::from(a) * u64::from(g);
        ((p >> 32) as u32, p as u32)
    } else {
        mul_wide_thumb1(a, g)
    }
}

/// [`mul_wide`] from 16-bit halves.
#[inline(always)]
fn mul_wide_thumb1(a: u32, g: u32) -> (u32, u32) {
    let (a1, a0, g1, g0) = (a >> 16, a & 0xffff, g >> 16, g & 0xffff);
    // a0·g1 < 2²⁴ and a1·g0 < 2³² − 2²⁴·…: their sum fits (a1 < 2¹⁶, g1 < 2⁸).
    let mid = (a0 * g1).wrapping_add(a1 * g0);
    let carry_mid = u32::from(mid < a1 * g0);
    let low = (a0 * g0).wrapping_add(mid << 16);
    let carry = u32::from(low < mid << 16);
    let high = a1 * g1 + (mid >> 16) + (carry_mid << 16) + carry;
    (high, low)
}

/// `⌊(high·2³² + low) / 2^k⌋` when it fits a `u32`.
#[inline(always)]
fn shift_right((high, low): (u32, u32), k: u32) -> Option<u32> {
    if k >= 64 {
        Some(0)
    } else if k >= 32 {
        Some(high >> (k - 32))
    } else if k == 0 {
        (high == 0).then_some(low)
    } else {
        (high >> k == 0).then_some((low >> k) | (high << (32 - k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `index_from_bits` against the f32 formula for the f32 bit patterns `patterns`.
    fn index_from_bits_on(patterns: impl Iterator<Item = u32>) {
        for b in patterns {
            let a = f32::from_bits(b);
            let want = (((a + 8.0) * 32.0) as usize).min(511);
            let got = index_from_bits((a + 8.0).to_bits());
            assert_eq!(got, want, "a = {a:e} ({b:#010x})");
        }
    }

    #[test]
    fn the_table_index_from_bits_is_the_float_one() {
        // Every 997th pattern, and 20 001 patterns around each boundary: a = ±8 (the ends),
        // 0, 8 − 1/32 (the last step), ±∞, the NaNs' first, ±0 (the sign bit), 1e30.
        index_from_bits_on((0..=u32::MAX).step_by(997));
        let edges = [
            -8.0f32,
            8.0,
            0.0,
            8.0 - 1.0 / 32.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
        ];
        for b in edges
            .iter()
            .map(|a| a.to_bits())
            .chain([0x7f80_0001, 0x8000_0000])
        {
            index_from_bits_on(b.saturating_sub(10_000)..=b.saturating_add(10_000));
        }
    }

    /// Every f32: `cargo test --release -p scratchnet every_table_index -- --ignored`.
    #[test]
    #[ignore = "4 294 967 296 values: run in release"]
    fn every_table_index_from_bits_is_the_float_one() {
        index_from_bits_on(0..=u32::MAX);
    }

    /// The f32 formula's index, with an FPU's arithmetic (the host's).
    fn float_index(sum: i32, s: f32, d_in: f32, b: f32) -> usize {
        (((sum as f32 * (s / d_in) + b + 8.0) * 32.0) as usize).min(511)
    }

    /// A small xorshift, for reproducible cases.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// `HiddenIndex` against the f32 formula on `n` cases from `case`; returns how many
    /// the estimate decided (the rest went to the formula).
    fn agree_on(n: usize, mut case: impl FnMut(&mut u64) -> (i32, f32, f32, f32)) -> usize {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let mut decided = 0;
        for _ in 0..n {
            let (sum, s, d_in, b) = case(&mut state);
            let h = HiddenIndex::new(d_in);
            let want = float_index(sum, s, d_in, b);
            assert_eq!(
                h.index(sum, s, b),
                want,
                "sum {sum}, s {s:e}, d_in {d_in}, b {b:e}"
            );
            decided += usize::from(h.estimate(sum, s, b).is_some());
        }
        decided
    }

    #[test]
    fn the_thumb1_products_are_the_wide_ones() {
        // Thumb-1 cores compute these from halves; Thumb-2 cores (and this check) in u64.
        let mut state = 0x2545_f491_4f6c_dd1d;
        for n in 0..1_000_000 {
            let (a, g) = (
                xorshift(&mut state) as u32,
                xorshift(&mut state) as u32 >> 8,
            );
            let (a, g) = match n % 4 {
                0 => (a, g),
                1 => (u32::MAX - (a & 0xff), (1 << 24) - 1 - (g & 0xff)),
                2 => (a & 0xffff, g),
                _ => (a | 0x8000_0000, g | 0x80_0000),
            };
            let p = u64::from(a) * u64::from(g);
            assert_eq!(
                mul_wide_thumb1(a, g),
                ((p >> 32) as u32, p as u32),
                "{a} · {g}"
            );
            // Significands: 24 bits with the top one set.
            let (m, q) = (a >> 8 | 0x80_0000, g | 0x80_0000);
            let exact = (u64::from(m) * u64::from(q)) >> 24;
            let top = u64::from(top24(m, q));
            assert!(top <= exact && exact <= top + 2, "{m} · {q}");
            // Small products, shifted: exact or one below.
            let (a, k) = (a >> 12, 12 + (g & 31));
            let exact = (u64::from(a) * u64::from(g)) >> k;
            let small = u64::from(shifted_small(a, g, k));
            assert!(small <= exact && exact <= small + 1, "{a} · {g} >> {k}");
        }
    }

    #[test]
    fn the_hidden_index_is_the_float_one_on_book_like_layers() {
        // Sums of up to 784 products u8 × i8, scales max|W|/127 for |W| up to 2, biases
        // within ±4, d_in 255: what the book's layers see, and beyond.
        let decided = agree_on(2_000_000, |st| {
            let sum = (xorshift(st) % 50_000_001) as i32 - 25_000_000;
            let sum = sum >> (xorshift(st) % 16);
            let s = (xorshift(st) % 1_000_000 + 1) as f32 * (2.0 / 127.0 / 1e6);
            let b = ((xorshift(st) % 8_000_001) as f32 - 4e6) * 1e-6;
            (sum, s, 255.0, b)
        });
        // The estimate decides nearly every case (the margin is a few 2⁻¹⁶ of a step).
        assert!(decided > 1_990_000, "{decided}");
    }

    #[test]
    fn the_hidden_index_is_the_float_one_at_step_boundaries() {
        // Sums whose value lands within a few ulps of a step's edge: the f32 formula's
        // rounding decides the step, and the estimate must step aside.
        let mut near = 0;
        let decided = agree_on(400_000, |st| {
            let s = (xorshift(st) % 1_000_000 + 1) as f32 * (1.0 / 127.0 / 1e6);
            let c = s / 255.0;
            let sum = (xorshift(st) % 2_000_001) as i32 - 1_000_000;
            // B puts the value on edge k/32 − 8, nudged by a few ulps.
            let k = (xorshift(st) % 512) as f32;
            let edge = k / 32.0 - 8.0;
            let b0 = edge - sum as f32 * c;
            let ulps = (xorshift(st) % 9) as i32 - 4;
            let b = f32::from_bits((b0.to_bits() as i32 + ulps) as u32);
            near += 1;
            (sum, s, 255.0, b)
        });
        assert!(decided < near, "every edge case decided by the estimate");
    }

    #[test]
    fn the_hidden_index_is_the_float_one_on_any_f32s() {
        // Arbitrary bit patterns for s, d_in and B (zeros, subnormals, negative, huge,
        // infinite, NaN) and sums over the whole i32 range.
        agree_on(2_000_000, |st| {
            let r = xorshift(st);
            let sum = r as i32;
            let pick = |st: &mut u64, usual: f32| {
                let r = xorshift(st);
                match r % 4 {
                    0 => f32::from_bits((r >> 32) as u32),
                    1 => usual * ((r >> 40) as f32 / 16_777_216.0 + 0.5),
                    2 => {
                        [0.0, -0.0, f32::INFINITY, f32::NAN, 1e-40, f32::MAX][(r >> 8) as usize % 6]
                    }
                    _ => usual,
                }
            };
            (sum, pick(st, 1e-4), pick(st, 255.0), pick(st, 1.0))
        });
    }
}
