//! Register-blocked products of small matrices for the tile passes
//! ([`super::tiles`]): a tile of a few dozen rows times a layer's weights,
//! with every operand in the L1/L2 cache. `matrixmultiply` packs both
//! operands on every call, which costs as much as the product itself when
//! the inner dimension is a few dozen; here the weights are laid out once
//! per call of the tile passes ([`super::tiles::Packed`]) and the rows are
//! read in place.
//!
//! Column counts are multiples of [`LANES`] (the packed layouts pad them
//! with zeros), so every column block is whole vectors. The kernels are
//! generic over the [`Vector`] type: AVX-512 and AVX2 registers with fused
//! multiply-adds, or one f64 with separate multiplies and adds (a software
//! `mul_add` would be slow). Sums run in a fixed order that depends on the
//! shapes only.

/// Columns per vector of the widest copy (AVX-512: eight f64).
pub const LANES: usize = 8;

/// `n` rounded up to whole vectors of the widest copy.
pub fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// Which compiled copy of the tile passes this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 with AVX-512F and FMA.
    Avx512,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// Anything else: no fused multiply-add.
    Portable,
}

impl Isa {
    /// The best copy for this CPU (the detection is cached by std).
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
}

/// A vector of f64 lanes: what the kernels need of a SIMD register.
///
/// # Safety
/// `load` and `store` read and write `LANES` elements from the pointer;
/// implementations for an instruction set may only be used on a CPU that
/// has it (their callers are compiled for it, see [`super::tiles`]).
pub trait Vector: Copy {
    /// f64 per vector.
    const LANES: usize;
    /// Most vectors per column block (accumulators R × this must fit the
    /// register file with room for the loads).
    const BLOCK: usize;
    fn zero() -> Self;
    fn splat(x: f64) -> Self;
    /// # Safety
    /// `p` points at `LANES` readable elements.
    unsafe fn load(p: *const f64) -> Self;
    /// # Safety
    /// `p` points at `LANES` writable elements.
    unsafe fn store(self, p: *mut f64);
    /// The first `n` < LANES lanes from `p`, zeros in the others.
    ///
    /// # Safety
    /// `p` points at `n` readable elements.
    unsafe fn load_first(p: *const f64, n: usize) -> Self;
    /// Writes the first `n` < LANES lanes to `p`.
    ///
    /// # Safety
    /// `p` points at `n` writable elements.
    unsafe fn store_first(self, p: *mut f64, n: usize);
    /// a·b + c (fused where the instruction set has it).
    fn madd(a: Self, b: Self, c: Self) -> Self;
    fn add(a: Self, b: Self) -> Self;
}

/// One f64: the portable kernels (no fused multiply-add: a software one
/// would be slow).
impl Vector for f64 {
    const LANES: usize = 1;
    const BLOCK: usize = 8;
    #[inline(always)]
    fn zero() -> Self {
        0.0
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller's contract.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller's contract.
        unsafe { *p = self }
    }
    #[inline(always)]
    unsafe fn load_first(_: *const f64, _: usize) -> Self {
        0.0
    }
    #[inline(always)]
    unsafe fn store_first(self, _: *mut f64, _: usize) {}
    #[inline(always)]
    fn madd(a: Self, b: Self, c: Self) -> Self {
        c + a * b
    }
    #[inline(always)]
    fn add(a: Self, b: Self) -> Self {
        a + b
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Vector;
    use std::arch::x86_64::*;

    /// Eight lanes (AVX-512F).
    #[derive(Clone, Copy)]
    pub struct Avx512(__m512d);

    /// Four lanes (AVX2 with FMA).
    #[derive(Clone, Copy)]
    pub struct Avx2(__m256d);

    // SAFETY (both impls): the intrinsics need their instruction set,
    // which the callers are compiled for (the trait's contract).
    impl Vector for Avx512 {
        const LANES: usize = 8;
        const BLOCK: usize = 4;
        #[inline(always)]
        fn zero() -> Self {
            Avx512(unsafe { _mm512_setzero_pd() })
        }
        #[inline(always)]
        fn splat(x: f64) -> Self {
            Avx512(unsafe { _mm512_set1_pd(x) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            Avx512(unsafe { _mm512_loadu_pd(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64) {
            unsafe { _mm512_storeu_pd(p, self.0) }
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f64, n: usize) -> Self {
            Avx512(unsafe { _mm512_maskz_loadu_pd(((1u32 << n) - 1) as __mmask8, p) })
        }
        #[inline(always)]
        unsafe fn store_first(self, p: *mut f64, n: usize) {
            unsafe { _mm512_mask_storeu_pd(p, ((1u32 << n) - 1) as __mmask8, self.0) }
        }
        #[inline(always)]
        fn madd(a: Self, b: Self, c: Self) -> Self {
            Avx512(unsafe { _mm512_fmadd_pd(a.0, b.0, c.0) })
        }
        #[inline(always)]
        fn add(a: Self, b: Self) -> Self {
            Avx512(unsafe { _mm512_add_pd(a.0, b.0) })
        }
    }

    /// The AVX2 mask of the first `n` of four lanes (sign bits set).
    #[inline(always)]
    fn first_lanes(n: usize) -> __m256i {
        let n = n as i64;
        unsafe {
            _mm256_set_epi64x(
                -i64::from(n > 3),
                -i64::from(n > 2),
                -i64::from(n > 1),
                -i64::from(n > 0),
            )
        }
    }

    impl Vector for Avx2 {
        const LANES: usize = 4;
        const BLOCK: usize = 2;
        #[inline(always)]
        fn zero() -> Self {
            Avx2(unsafe { _mm256_setzero_pd() })
        }
        #[inline(always)]
        fn splat(x: f64) -> Self {
            Avx2(unsafe { _mm256_set1_pd(x) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            Avx2(unsafe { _mm256_loadu_pd(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64) {
            unsafe { _mm256_storeu_pd(p, self.0) }
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f64, n: usize) -> Self {
            Avx2(unsafe { _mm256_maskload_pd(p, first_lanes(n)) })
        }
        #[inline(always)]
        unsafe fn store_first(self, p: *mut f64, n: usize) {
            unsafe { _mm256_maskstore_pd(p, first_lanes(n), self.0) }
        }
        #[inline(always)]
        fn madd(a: Self, b: Self, c: Self) -> Self {
            Avx2(unsafe { _mm256_fmadd_pd(a.0, b.0, c.0) })
        }
        #[inline(always)]
        fn add(a: Self, b: Self) -> Self {
            Avx2(unsafe { _mm256_add_pd(a.0, b.0) })
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512};

/// A row-major matrix in a slice: rows `stride` apart.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f64],
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
/// k_len; `b` is k_len × cols.padded (a multiple of [`LANES`], zeros past
/// cols.n); `init` is one row of cols.padded (zeros when `None`). Rows of
/// `c` are `ldc` apart; only its first cols.n columns are written.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn mm<V: Vector>(
    m: usize,
    k_len: usize,
    a: View,
    b: &[f64],
    cols: Cols,
    init: Option<&[f64]>,
    c: &mut [f64],
    ldc: usize,
) {
    let np = cols.padded;
    assert!(np.is_multiple_of(LANES) && cols.n <= np && np < cols.n + LANES);
    assert!(b.len() >= k_len * np && init.is_none_or(|v| v.len() >= np));
    assert!(
        m == 0 || (c.len() >= (m - 1) * ldc + cols.n && a.data.len() >= (m - 1) * a.stride + k_len)
    );
    let mut r = 0;
    while r + 4 <= m {
        mm_rows::<V, 4>(r, k_len, a, b, cols, init, c, ldc);
        r += 4;
    }
    while r < m {
        mm_rows::<V, 1>(r, k_len, a, b, cols, init, c, ldc);
        r += 1;
    }
}

/// Rows r..r+R of [`mm`], column block by column block.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn mm_rows<V: Vector, const R: usize>(
    r: usize,
    k_len: usize,
    a: View,
    b: &[f64],
    cols: Cols,
    init: Option<&[f64]>,
    c: &mut [f64],
    ldc: usize,
) {
    let np = cols.padded;
    let mut rows: [&[f64]; R] = [&[]; R];
    for (q, row) in rows.iter_mut().enumerate() {
        let at = (r + q) * a.stride;
        *row = &a.data[at..at + k_len];
    }
    let mut j = 0;
    let c = &mut c[r * ldc..];
    while j + 4 * V::LANES <= np && V::BLOCK >= 4 {
        mm_block::<V, R, 4>(&rows, b, cols, j, init, c, ldc);
        j += 4 * V::LANES;
    }
    while j + 2 * V::LANES <= np && V::BLOCK >= 2 {
        mm_block::<V, R, 2>(&rows, b, cols, j, init, c, ldc);
        j += 2 * V::LANES;
    }
    while j < np {
        mm_block::<V, R, 1>(&rows, b, cols, j, init, c, ldc);
        j += V::LANES;
    }
}

/// One R × NV-vector block of [`mm`]: the accumulators stay in registers
/// over the whole inner dimension.
#[inline(always)]
fn mm_block<V: Vector, const R: usize, const NV: usize>(
    rows: &[&[f64]; R],
    b: &[f64],
    cols: Cols,
    j: usize,
    init: Option<&[f64]>,
    c: &mut [f64],
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
pub fn mm_tn_acc<V: Vector>(m: usize, k_len: usize, a: View, z: View, cols: Cols, g: &mut [f64]) {
    let np = cols.padded;
    assert!(
        np.is_multiple_of(LANES) && cols.n <= np && np < cols.n + LANES && g.len() >= k_len * np
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
    a: View,
    z: View,
    cols: Cols,
    g: &mut [f64],
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
    a: View,
    z: View,
    j: usize,
    cols: Cols,
    g: &mut [f64],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_loops_for_odd_shapes() {
        let (m, k, np) = (7, 5, 24);
        let a: Vec<f64> = (0..m * 6).map(|i| (i % 11) as f64 * 0.25 - 1.0).collect();
        let b: Vec<f64> = (0..k * np).map(|i| (i % 7) as f64 * 0.5 - 1.5).collect();
        let init: Vec<f64> = (0..np).map(|j| j as f64).collect();
        let mut c = vec![0.0; m * 32];
        let av = View {
            data: &a,
            stride: 6,
        };
        let cols = Cols { n: np, padded: np };
        mm::<f64>(m, k, av, &b, cols, Some(&init), &mut c, 32);
        for r in 0..m {
            for j in 0..np {
                let s: f64 = (0..k).map(|q| a[r * 6 + q] * b[q * np + j]).sum();
                assert!((c[r * 32 + j] - s - init[j]).abs() < 1e-12);
            }
        }
        let mut g = vec![1.0; k * np];
        let zv = View {
            data: &c,
            stride: 32,
        };
        mm_tn_acc::<f64>(m, k, av, zv, cols, &mut g);
        for q in 0..k {
            for j in 0..np {
                let s: f64 = (0..m).map(|r| a[r * 6 + q] * c[r * 32 + j]).sum();
                assert!((g[q * np + j] - 1.0 - s).abs() < 1e-9);
            }
        }
    }
}
