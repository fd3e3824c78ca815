//! What differs between the f64 and f32 tile passes besides the
//! arithmetic: where their scratch and kept traces live, how values cross
//! the f64 interface, and their activations.

use super::super::fastmath;
use super::{KeptTrace, Stream, Tiles, Values};
use crate::nn::Activation;
use crate::nn::simd::{Elem, Vector};

/// An element type the tile passes run in.
pub(super) trait TileElem: Elem + Vector<Elem = Self> {
    /// Whether this is f64: gradients accumulate in place across tiles
    /// (f32 ones are summed per tile, then added to f64 sums).
    const WIDE: bool;
    /// This type's scratch in `s`.
    fn tiles(s: &mut Stream) -> &mut Tiles<Self>;
    /// A trace kept in this type.
    fn kept(k: &KeptTrace) -> &[Self];
    /// The trace to write in this type (the other type's is emptied, so
    /// that a trace is never replayed by the wrong passes).
    fn kept_mut(k: &mut KeptTrace) -> &mut Vec<Self>;
    /// `v` itself when this is f64.
    fn as_self(v: &[f64]) -> Option<&[Self]>;
    /// `v` itself when this is f64.
    fn as_wide(v: &mut [Self]) -> Option<&mut [f64]>;
    /// `v` itself when this is f64 (read only).
    fn as_f64(v: &[Self]) -> Option<&[f64]>;
    /// A tile's y and ẏ as handed over.
    fn values<'a>(y: &'a [Self], y_dot: &'a [Self]) -> Values<'a>;
    /// φ and φ' (and φ'' when `second`) in place over `z`.
    fn activate(a: Activation, z: &mut [Self], d1: &mut [Self], d2: &mut [Self], second: bool);
}

impl TileElem for f64 {
    const WIDE: bool = true;
    fn tiles(s: &mut Stream) -> &mut Tiles<f64> {
        &mut s.double
    }
    fn kept(k: &KeptTrace) -> &[f64] {
        &k.double
    }
    fn kept_mut(k: &mut KeptTrace) -> &mut Vec<f64> {
        k.single.clear();
        &mut k.double
    }
    #[inline(always)]
    fn as_self(v: &[f64]) -> Option<&[f64]> {
        Some(v)
    }
    #[inline(always)]
    fn as_wide(v: &mut [f64]) -> Option<&mut [f64]> {
        Some(v)
    }
    #[inline(always)]
    fn as_f64(v: &[f64]) -> Option<&[f64]> {
        Some(v)
    }
    fn values<'a>(y: &'a [f64], y_dot: &'a [f64]) -> Values<'a> {
        Values::Double(y, y_dot)
    }
    #[inline(always)]
    fn activate(a: Activation, z: &mut [f64], d1: &mut [f64], d2: &mut [f64], second: bool) {
        if a == Activation::Tanh {
            fastmath::tanh_deriv_kernel(z, d1, if second { d2 } else { &mut [] });
        } else {
            a.apply(z, d1, second.then_some(d2));
        }
    }
}

impl TileElem for f32 {
    const WIDE: bool = false;
    fn tiles(s: &mut Stream) -> &mut Tiles<f32> {
        &mut s.single
    }
    fn kept(k: &KeptTrace) -> &[f32] {
        &k.single
    }
    fn kept_mut(k: &mut KeptTrace) -> &mut Vec<f32> {
        k.double.clear();
        &mut k.single
    }
    #[inline(always)]
    fn as_self(_: &[f64]) -> Option<&[f32]> {
        None
    }
    #[inline(always)]
    fn as_wide(_: &mut [f32]) -> Option<&mut [f64]> {
        None
    }
    #[inline(always)]
    fn as_f64(_: &[f32]) -> Option<&[f64]> {
        None
    }
    fn values<'a>(y: &'a [f32], y_dot: &'a [f32]) -> Values<'a> {
        Values::Single(y, y_dot)
    }
    #[inline(always)]
    fn activate(a: Activation, z: &mut [f32], d1: &mut [f32], d2: &mut [f32], second: bool) {
        if a == Activation::Tanh {
            fastmath::tanh_deriv_kernel_f32(z, d1, if second { d2 } else { &mut [] });
            return;
        }
        // the other activations have only f64 kernels (they are rare in
        // embedding networks): through f64, a block at a time
        const BLOCK: usize = 64;
        let (mut zw, mut d1w, mut d2w) = ([0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
        for start in (0..z.len()).step_by(BLOCK) {
            let n = BLOCK.min(z.len() - start);
            for (w, &v) in zw.iter_mut().zip(&z[start..start + n]) {
                *w = f64::from(v);
            }
            a.apply(&mut zw[..n], &mut d1w[..n], second.then_some(&mut d2w[..n]));
            for k in 0..n {
                z[start + k] = zw[k] as f32;
                d1[start + k] = d1w[k] as f32;
                if second {
                    d2[start + k] = d2w[k] as f32;
                }
            }
        }
    }
}

/// `src` in type `T`: itself for f64, converted into `buf` for f32.
pub(super) fn narrowed<'a, T: TileElem>(src: &'a [f64], buf: &'a mut Vec<T>) -> &'a [T] {
    if let Some(v) = T::as_self(src) {
        return v;
    }
    buf.clear();
    buf.extend(src.iter().map(|&x| T::from_f64(x)));
    buf
}
