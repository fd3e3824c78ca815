//! Register-blocked products of small matrices for the tile passes
//! ([`super::tiles`]): a tile of a few dozen rows times a layer's weights,
//! with every operand in the L1/L2 cache. `matrixmultiply` packs both
//! operands on every call, which costs as much as the product itself when
//! the inner dimension is a few dozen; here the weights are laid out once
//! per call of the tile passes ([`super::tiles::Packed`]) and the rows are
//! read in place.
//!
//! Column counts are multiples of [`Elem::LANES`] (the packed layouts pad
//! them with zeros), so every column block is whole vectors. The kernels
//! are generic over the [`Vector`] type ([`super::simd`]), and through it
//! over the element (f64, or f32 for DeePMD's float32 embeddings). Sums
//! run in a fixed order that depends on the shapes only.

use super::simd::{Elem, Vector};

/// A row-major matrix in a slice: rows `stride` apart.
#[derive(Clone, Copy)]
pub struct View<'a, T = f64> {
    pub data: &'a [T],
    pub stride: usize,
}

/// The output columns of a product: `n` of them in rows `stride` apart,
/// computed over `padded` columns of the packed operand.
#[derive(Clone, Copy)]
pub struct Cols {
    pub n: usize,
    pub padded: usize,
}

/// c[r][j] = init[j] + Σ_k a[r][k]·b[k][j] for r < m, j < cols.n, k <
/// k_len; `b` is k_len × cols.padded (a multiple of [`Elem::LANES`], zeros past
/// cols.n); `init` is one row of cols.padded (zeros when `None`). Rows of
/// `c` are `ldc` apart; only its first cols.n columns are written.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn mm<V: Vector>(
    m: usize,
    k_len: usize,
    a: View<V::Elem>,
    b: &[V::Elem],
    cols: Cols,
    init: Option<&[V::Elem]>,
    c: &mut [V::Elem],
    ldc: usize,
) {
    let np = cols.padded;
    let lanes = <V::Elem as Elem>::LANES;
    assert!(np.is_multiple_of(lanes) && cols.n <= np && np < cols.n + lanes);
    assert!(b.len() >= k_len * np && init.is_none_or(|v| v.len() >= np));
    assert!(
        m == 0 || (c.len() >= (m - 1) * ldc + cols.n && a.data.len() >= (m - 1) * a.stride + k_len)
    );
    // column blocks outside, rows inside: a block's column panel of b
    // (k_len × NV vectors) is read by every row while it is in the cache
    // (a fitting network's 1600 × 240 weights are not, whole)
    let mut j = 0;
    while j + 4 * V::LANES <= np && V::BLOCK >= 4 {
        mm_cols::<V, 4>(m, k_len, a, b, cols, j, init, c, ldc);
        j += 4 * V::LANES;
    }
    while j + 2 * V::LANES <= np && V::BLOCK >= 2 {
        mm_cols::<V, 2>(m, k_len, a, b, cols, j, init, c, ldc);
        j += 2 * V::LANES;
    }
    while j < np {
        mm_cols::<V, 1>(m, k_len, a, b, cols, j, init, c, ldc);
        j += V::LANES;
    }
}

/// Every row of [`mm`] in the NV-vector column block at j: four rows at a
/// time, then one.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn mm_cols<V: Vector, const NV: usize>(
    m: usize,
    k_len: usize,
    a: View<V::Elem>,
    b: &[V::Elem],
    cols: Cols,
    j: usize,
    init: Option<&[V::Elem]>,
    c: &mut [V::Elem],
    ldc: usize,
) {
    let row = |r: usize| &a.data[r * a.stride..r * a.stride + k_len];
    let mut r = 0;
    while r + 4 <= m {
        let rows = [row(r), row(r + 1), row(r + 2), row(r + 3)];
        mm_block::<V, 4, NV>(&rows, b, cols, j, init, &mut c[r * ldc..], ldc);
        r += 4;
    }
    while r < m {
        mm_block::<V, 1, NV>(&[row(r)], b, cols, j, init, &mut c[r * ldc..], ldc);
        r += 1;
    }
}

/// One R × NV-vector block of [`mm`]: the accumulators stay in registers
/// over the whole inner dimension.
#[inline(always)]
fn mm_block<V: Vector, const R: usize, const NV: usize>(
    rows: &[&[V::Elem]; R],
    b: &[V::Elem],
    cols: Cols,
    j: usize,
    init: Option<&[V::Elem]>,
    c: &mut [V::Elem],
    ldc: usize,
) {
    let (w, np) = (NV * V::LANES, cols.padded);
    // the last vector of a row may hold columns past cols.n (with four
    // lanes a whole one may: then nothing is stored)
    let keep = cols.n.saturating_sub(j).min(w);
    if keep == 0 {
        return;
    }
    // (no `array::from_fn` here: it is not always inlined, and a call in
    // this loop costs more than the loop)
    let mut start = [V::zero(); NV];
    if let Some(i) = init {
        let i = &i[j..j + w];
        for (v, x) in start.iter_mut().enumerate() {
            // SAFETY: i holds NV·LANES elements.
            *x = unsafe { V::load(i.as_ptr().add(v * V::LANES)) };
        }
    }
    let mut acc = [start; R];
    let k_len = rows[0].len();
    let mut bv = [V::zero(); NV];
    for (k, brow) in b.chunks_exact(np).take(k_len).enumerate() {
        let bs = &brow[j..j + w];
        for (v, x) in bv.iter_mut().enumerate() {
            // SAFETY: bs holds NV·LANES elements.
            *x = unsafe { V::load(bs.as_ptr().add(v * V::LANES)) };
        }
        for q in 0..R {
            let x = V::splat(rows[q][k]);
            for v in 0..NV {
                acc[q][v] = V::madd(x, bv[v], acc[q][v]);
            }
        }
    }
    for q in 0..R {
        let out = &mut c[q * ldc + j..q * ldc + j + keep];
        for v in 0..NV {
            let at = v * V::LANES;
            // SAFETY: out holds `keep` elements; each store stays within.
            unsafe {
                if at + V::LANES <= keep {
                    acc[q][v].store(out.as_mut_ptr().add(at));
                } else if at < keep {
                    acc[q][v].store_first(out.as_mut_ptr().add(at), keep - at);
                }
            }
        }
    }
}

/// g[k][j] += Σ_r a[r][k]·z[r][j] for k < k_len, j < cols.n, r < m: the
/// weight gradient xᵀ·z̄ of a tile, added to `g` (k_len × cols.padded,
/// stride cols.padded; its columns past cols.n get zeros added).
#[inline(always)]
pub fn mm_tn_acc<V: Vector>(
    m: usize,
    k_len: usize,
    a: View<V::Elem>,
    z: View<V::Elem>,
    cols: Cols,
    g: &mut [V::Elem],
) {
    let (np, lanes) = (cols.padded, <V::Elem as Elem>::LANES);
    assert!(
        np.is_multiple_of(lanes) && cols.n <= np && np < cols.n + lanes && g.len() >= k_len * np
    );
    assert!(
        m == 0
            || (a.data.len() >= (m - 1) * a.stride + k_len
                && z.data.len() >= (m - 1) * z.stride + cols.n)
    );
    let mut k = 0;
    while k + 4 <= k_len {
        tn_rows::<V, 4>(m, k, a, z, cols, g);
        k += 4;
    }
    while k < k_len {
        tn_rows::<V, 1>(m, k, a, z, cols, g);
        k += 1;
    }
}

/// Rows k..k+K of [`mm_tn_acc`]'s output, column block by column block.
#[inline(always)]
fn tn_rows<V: Vector, const K: usize>(
    m: usize,
    k: usize,
    a: View<V::Elem>,
    z: View<V::Elem>,
    cols: Cols,
    g: &mut [V::Elem],
) {
    let np = cols.padded;
    let mut j = 0;
    while j + 4 * V::LANES <= np && V::BLOCK >= 4 {
        tn_block::<V, K, 4>(m, k, a, z, j, cols, g);
        j += 4 * V::LANES;
    }
    while j + 2 * V::LANES <= np && V::BLOCK >= 2 {
        tn_block::<V, K, 2>(m, k, a, z, j, cols, g);
        j += 2 * V::LANES;
    }
    while j < np {
        tn_block::<V, K, 1>(m, k, a, z, j, cols, g);
        j += V::LANES;
    }
}

/// One K × NV-vector block of [`mm_tn_acc`], summed over the tile's rows
/// in registers, then added to `g`.
#[inline(always)]
fn tn_block<V: Vector, const K: usize, const NV: usize>(
    m: usize,
    k: usize,
    a: View<V::Elem>,
    z: View<V::Elem>,
    j: usize,
    cols: Cols,
    g: &mut [V::Elem],
) {
    let (w, np) = (NV * V::LANES, cols.padded);
    // the last vector of a row may reach past cols.n: read zeros there
    // (with four lanes a whole one may: then nothing is added)
    let keep = cols.n.saturating_sub(j).min(w);
    if keep == 0 {
        return;
    }
    let mut acc = [[V::zero(); NV]; K];
    let mut zv = [V::zero(); NV];
    for r in 0..m {
        let zr = &z.data[r * z.stride + j..r * z.stride + j + keep];
        for (v, x) in zv.iter_mut().enumerate() {
            let at = v * V::LANES;
            // SAFETY: zr holds `keep` elements; each load stays within.
            *x = unsafe {
                if at + V::LANES <= keep {
                    V::load(zr.as_ptr().add(at))
                } else if at < keep {
                    V::load_first(zr.as_ptr().add(at), keep - at)
                } else {
                    V::zero()
                }
            };
        }
        let ar = &a.data[r * a.stride + k..r * a.stride + k + K];
        for q in 0..K {
            let x = V::splat(ar[q]);
            for v in 0..NV {
                acc[q][v] = V::madd(x, zv[v], acc[q][v]);
            }
        }
    }
    for q in 0..K {
        let out = &mut g[(k + q) * np + j..(k + q) * np + j + w];
        for v in 0..NV {
            let p = out.as_mut_ptr();
            // SAFETY: out holds NV·LANES elements.
            unsafe {
                let sum = V::add(V::load(p.add(v * V::LANES)), acc[q][v]);
                sum.store(p.add(v * V::LANES));
            }
        }
    }
}

/// s[j] += Σ_r z[r][j] for j < cols.n, the rows r < m added one after
/// another in order (as a scalar loop would): a tile's bias gradient.
/// `s` is padded to cols.padded; z's rows are z.stride apart.
#[inline(always)]
pub fn col_sums_acc<V: Vector>(m: usize, z: View<V::Elem>, cols: Cols, s: &mut [V::Elem]) {
    let lanes = V::LANES;
    assert!(cols.padded.is_multiple_of(lanes) && cols.n <= cols.padded && s.len() >= cols.padded);
    assert!(m == 0 || z.data.len() >= (m - 1) * z.stride + cols.n);
    let mut j = 0;
    while j < cols.n {
        let keep = (cols.n - j).min(lanes);
        // SAFETY: s holds cols.padded ≥ j + lanes elements.
        let mut acc = unsafe { V::load(s.as_ptr().add(j)) };
        for r in 0..m {
            let p = z.data[r * z.stride + j..][..keep].as_ptr();
            // SAFETY: p holds `keep` elements; each load stays within.
            let v = unsafe {
                if keep == lanes {
                    V::load(p)
                } else {
                    V::load_first(p, keep)
                }
            };
            acc = V::add(acc, v);
        }
        // SAFETY: as for the load.
        unsafe { acc.store(s.as_mut_ptr().add(j)) };
        j += lanes;
    }
}

#[cfg(test)]
mod tests;
