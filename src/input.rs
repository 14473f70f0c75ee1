//! What a layer reads: f32 values, or u8 pixels normalised on the fly.

/// A layer's input vector. Kernels visit only its non-zero entries: a zero input adds
/// `±0` to every sum, which changes no sum (weights are finite), so skipping it is exact.
///
/// Implemented for `&[f32]` and [`Pixels`]; sealed.
pub trait Input<'a>: Copy + 'a + sealed::Sealed {
    /// The stored entry: `f32`, or a `u8` pixel.
    type Entry: Entry;

    /// The entries.
    fn entries(self) -> &'a [Self::Entry];

    /// The number of entries.
    fn len(self) -> usize;

    /// `true` when there are no entries.
    fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// One entry of an [`Input`]; sealed.
pub trait Entry: Copy + sealed::Sealed {
    /// `true` for an entry whose value is exactly zero.
    fn is_zero(self) -> bool;
    /// The entry's value.
    fn value(self) -> f32;
    /// `true` when all four entries are zero (for pixels, one word compared).
    #[doc(hidden)]
    #[inline(always)]
    fn all_zero(quad: &[Self; 4]) -> bool {
        quad.iter().all(|e| e.is_zero())
    }
    /// [`value`](Entry::value), by a table for pixels (the same bits): the FPU kernel lists
    /// inputs by it (a load instead of a conversion and a division: the book's network
    /// −349 instructions an inference on the M4F, `profile` binary; 1 KB of flash).
    #[doc(hidden)]
    #[inline(always)]
    fn listed(self) -> f32 {
        self.value()
    }
    /// The entries as f32 values when that is what they are (a kernel may read them in
    /// place).
    #[doc(hidden)]
    #[inline(always)]
    fn as_f32s(entries: &[Self]) -> Option<&[f32]> {
        let _ = entries;
        None
    }
    /// The entries as u8 pixels when that is what they are (a kernel may list them itself).
    #[doc(hidden)]
    #[inline(always)]
    fn as_pixels(entries: &[Self]) -> Option<&[u8]> {
        let _ = entries;
        None
    }
}

impl Entry for f32 {
    #[inline(always)]
    fn is_zero(self) -> bool {
        self == 0.0
    }
    #[inline(always)]
    fn value(self) -> f32 {
        self
    }
    #[inline(always)]
    fn as_f32s(entries: &[f32]) -> Option<&[f32]> {
        Some(entries)
    }
}

impl Entry for u8 {
    #[inline(always)]
    fn is_zero(self) -> bool {
        self == 0
    }
    #[inline(always)]
    fn value(self) -> f32 {
        normalize_pixel(self)
    }
    #[inline(always)]
    fn listed(self) -> f32 {
        PIXEL_VALUES[usize::from(self)]
    }
    #[inline(always)]
    fn all_zero(quad: &[u8; 4]) -> bool {
        u32::from_ne_bytes(*quad) == 0
    }
    #[inline(always)]
    fn as_pixels(entries: &[u8]) -> Option<&[u8]> {
        Some(entries)
    }
}

/// u8 pixels, read as `p / 255` in f32 like the book's `load_mnist(normalize=True)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixels<'a>(pub &'a [u8]);

/// Normalises a pixel like the book's `load_mnist(normalize=True)`: `p / 255` in f32.
#[inline]
pub fn normalize_pixel(p: u8) -> f32 {
    f32::from(p) / 255.0
}

/// [`normalize_pixel`] of every byte, computed at compile time (the same division, in the
/// same f32 arithmetic).
pub(crate) static PIXEL_VALUES: [f32; 256] = {
    let mut t = [0.0; 256];
    let mut p = 0;
    while p < 256 {
        t[p] = p as f32 / 255.0;
        p += 1;
    }
    t
};

impl<'a> Input<'a> for &'a [f32] {
    type Entry = f32;
    fn entries(self) -> &'a [f32] {
        self
    }
    fn len(self) -> usize {
        <[f32]>::len(self)
    }
}

impl<'a> Input<'a> for Pixels<'a> {
    type Entry = u8;
    fn entries(self) -> &'a [u8] {
        self.0
    }
    fn len(self) -> usize {
        self.0.len()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &[f32] {}
    impl Sealed for super::Pixels<'_> {}
    impl Sealed for f32 {}
    impl Sealed for u8 {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pixel_table_is_the_division() {
        for p in 0..=255u8 {
            // p/255 in f64 rounded once to f32: f64's 53 bits make that the correctly
            // rounded f32 quotient (a double rounding is exact for a division when the wider
            // format has at least 2·24 + 2 bits).
            let want = (f64::from(p) / 255.0) as f32;
            assert_eq!(p.listed().to_bits(), want.to_bits(), "pixel {p}");
            assert_eq!(normalize_pixel(p).to_bits(), want.to_bits(), "pixel {p}");
        }
    }
}
