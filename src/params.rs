//! Read-only f32 parameters, wherever they live.

/// A read-only array of f32 parameters: either native `f32`s (for networks written in
/// code) or little-endian bytes borrowed in place from a model blob in flash.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params<'a>(Repr<'a>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Repr<'a> {
    F32(&'a [f32]),
    /// Length is a multiple of 4 (checked where constructed).
    LeBytes(&'a [u8]),
}

impl<'a> Params<'a> {
    /// Parameters held as native `f32`s.
    pub const fn from_f32(values: &'a [f32]) -> Self {
        Self(Repr::F32(values))
    }

    /// Parameters stored as little-endian `f32` bytes; `None` unless the length is a
    /// multiple of 4.
    ///
    /// On a little-endian target, bytes at a 4-byte-aligned address (as in a blob placed at
    /// an aligned address in flash) are viewed in place as `&[f32]`, so kernels load each
    /// weight with one instruction; otherwise each value is assembled from its bytes.
    pub fn from_le_bytes(bytes: &'a [u8]) -> Option<Self> {
        if !bytes.len().is_multiple_of(4) {
            return None;
        }
        if cfg!(target_endian = "little")
            && let Ok(values) = bytemuck::try_cast_slice::<u8, f32>(bytes)
        {
            return Some(Self(Repr::F32(values)));
        }
        Some(Self(Repr::LeBytes(bytes)))
    }

    /// The first `n` values (all of them when there are fewer).
    pub(crate) fn prefix(&self, n: usize) -> Self {
        match self.0 {
            Repr::F32(v) => Self(Repr::F32(&v[..n.min(v.len())])),
            Repr::LeBytes(b) => Self(Repr::LeBytes(&b[..(4 * n).min(b.len())])),
        }
    }

    /// The values as a native `f32` slice, when they are held (or could be viewed in place)
    /// as one: then the fast kernel runs; otherwise the plain one.
    pub fn as_f32(&self) -> Option<&'a [f32]> {
        match self.0 {
            Repr::F32(v) => Some(v),
            Repr::LeBytes(_) => None,
        }
    }

    /// The number of `f32` values.
    pub const fn len(&self) -> usize {
        match self.0 {
            Repr::F32(v) => v.len(),
            Repr::LeBytes(b) => b.len() / 4,
        }
    }

    /// `true` when there are no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th value, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<f32> {
        match self.0 {
            Repr::F32(v) => v.get(i).copied(),
            Repr::LeBytes(b) => b.as_chunks::<4>().0.get(i).map(le_f32),
        }
    }

    /// The values in order.
    pub fn iter(&self) -> Iter<'a> {
        Iter(match self.0 {
            Repr::F32(v) => IterRepr::F32(v.iter()),
            Repr::LeBytes(b) => IterRepr::LeBytes(b.as_chunks::<4>().0.iter()),
        })
    }

    /// Accumulates `acc[j] += x · P[j]` for the row `P` of `acc.len()` values starting at
    /// value `start`: the inner loop of `A = X·W`. Values past the end count as absent.
    #[inline]
    pub(crate) fn axpy_row(&self, start: usize, x: f32, acc: &mut [f32]) {
        match self.0 {
            Repr::F32(v) => {
                let row = v.get(start..).unwrap_or(&[]);
                for (a, w) in acc.iter_mut().zip(row) {
                    *a += x * w;
                }
            }
            Repr::LeBytes(b) => {
                let row = b.get(4 * start..).unwrap_or(&[]);
                for (a, w) in acc.iter_mut().zip(row.as_chunks::<4>().0) {
                    *a += x * le_f32(w);
                }
            }
        }
    }
}

#[inline(always)]
fn le_f32(b: &[u8; 4]) -> f32 {
    f32::from_le_bytes(*b)
}

/// Iterator over the values of [`Params`].
#[derive(Debug, Clone)]
pub struct Iter<'a>(IterRepr<'a>);

#[derive(Debug, Clone)]
enum IterRepr<'a> {
    F32(core::slice::Iter<'a, f32>),
    LeBytes(core::slice::Iter<'a, [u8; 4]>),
}

impl Iterator for Iter<'_> {
    type Item = f32;

    // Out of line: inlined into the blob's finiteness check, it was unrolled there (+1 KB of
    // firmware, measured), and that check runs once per load.
    #[inline(never)]
    fn next(&mut self) -> Option<f32> {
        match &mut self.0 {
            IterRepr::F32(it) => it.next().copied(),
            IterRepr::LeBytes(it) => it.next().map(le_f32),
        }
    }
}

/// A read-only array of little-endian `i32`s borrowed from a model blob (a TFLite int8
/// layer's biases, multipliers and shifts), viewed in place as `&[i32]` when aligned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct I32s<'a>(&'a [u8]);

impl<'a> I32s<'a> {
    /// No values.
    pub const EMPTY: Self = Self(&[]);

    /// `None` unless the length is a multiple of 4.
    pub fn from_le_bytes(bytes: &'a [u8]) -> Option<Self> {
        bytes.len().is_multiple_of(4).then_some(Self(bytes))
    }

    /// The number of values.
    pub const fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// `true` when there are no values.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `i`-th value, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<i32> {
        self.0
            .as_chunks::<4>()
            .0
            .get(i)
            .map(|b| i32::from_le_bytes(*b))
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = i32> + 'a {
        self.0
            .as_chunks::<4>()
            .0
            .iter()
            .map(|b| i32::from_le_bytes(*b))
    }

    /// The values as a native `&[i32]`: `Some` on a little-endian target when the bytes lie
    /// at a 4-byte-aligned address.
    pub fn as_i32(&self) -> Option<&'a [i32]> {
        if cfg!(target_endian = "little") {
            bytemuck::try_cast_slice(self.0).ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_floats_read_the_same() {
        let v = [1.5f32, -2.0, 0.25];
        let mut b = [0u8; 12];
        for (c, x) in b.chunks_exact_mut(4).zip(v) {
            c.copy_from_slice(&x.to_le_bytes());
        }
        let p = Params::from_le_bytes(&b).unwrap();
        let q = Params::from_f32(&v);
        assert_eq!(p.len(), 3);
        assert!(p.iter().eq(q.iter()));
        assert_eq!(p.get(2), Some(0.25));
        assert_eq!(p.get(3), None);
        assert!(Params::from_le_bytes(&b[..5]).is_none());
        let mut acc = [1.0, 1.0];
        p.axpy_row(1, 2.0, &mut acc);
        assert_eq!(acc, [-3.0, 1.5]);
    }
}
