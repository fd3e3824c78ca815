//! How the covariance triangles are stored — float64, or float32 to halve
//! the bytes every update reads (the filter is memory-bound) — and the two
//! passes over them: the product K = P·h and the fold of the pending rank-1
//! terms. Both passes accumulate in float64 whatever the storage; float32
//! storage rounds each value once per fold. Passes run in parallel over a
//! fixed partition of rows, so results do not depend on the thread count.

use super::DEFERRED;
use rayon::prelude::*;

/// Row chunks per block: fixed (not the thread count) so that the order of
/// every floating-point sum is the same on any machine.
pub(super) const ROW_CHUNKS: usize = 16;

/// Packed length of an n×n symmetric matrix.
pub(super) fn packed_len(n: usize) -> usize {
    n * (n + 1) / 2
}

/// The floating-point type the covariance values are stored as.
pub use crate::precision::Precision;

impl Precision {
    /// numpy's type string of the values in the side file.
    pub(super) fn npy_type(self) -> &'static str {
        match self {
            Precision::Float32 => "<f4",
            Precision::Float64 => "<f8",
        }
    }
}

/// Checkpoints written before the precision was recorded hold float64.
pub(super) fn float64() -> Precision {
    Precision::Float64
}

/// A stored covariance value: read into float64 for arithmetic, rounded
/// once when written back.
pub(super) trait Element: Copy + Send + Sync + Into<f64> + npyz::AutoSerialize {
    /// The bit pattern (for checksums).
    fn bits(self) -> u64;
    /// Little-endian bytes, as sent between ranks and written to files.
    fn put(self, out: &mut Vec<u8>);
    /// The value of [`Element::put`]'s bytes.
    fn get(bytes: &[u8]) -> Self;
    /// Runs `f` on a row as float64: in place for float64, through
    /// `scratch` (at least as long as the row) for float32.
    fn with_row(row: &mut [Self], scratch: &mut [f64], f: impl FnOnce(&mut [f64]));
}

impl Element for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Self {
        f64::from_le_bytes(bytes.try_into().expect("8 bytes"))
    }
    fn with_row(row: &mut [Self], _: &mut [f64], f: impl FnOnce(&mut [f64])) {
        f(row)
    }
}

impl Element for f32 {
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Self {
        f32::from_le_bytes(bytes.try_into().expect("4 bytes"))
    }
    fn with_row(row: &mut [Self], scratch: &mut [f64], f: impl FnOnce(&mut [f64])) {
        let wide = &mut scratch[..row.len()];
        for (w, x) in wide.iter_mut().zip(row.iter()) {
            *w = f64::from(*x);
        }
        f(wide);
        for (x, w) in row.iter_mut().zip(wide.iter()) {
            *x = *w as f32;
        }
    }
}

/// The packed lower triangles of a rank's blocks, one after another (row i
/// of a block holds B[i][0..=i] at offset i(i+1)/2 from the block's start).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Triangles {
    Float64(Vec<f64>),
    Float32(Vec<f32>),
}

impl Default for Triangles {
    fn default() -> Self {
        Triangles::Float64(Vec::new())
    }
}

/// Runs `$body` with `$v` bound to the stored vector, whatever its type.
macro_rules! each {
    ($t:expr, $v:ident => $body:expr) => {
        match $t {
            Triangles::Float64($v) => $body,
            Triangles::Float32($v) => $body,
        }
    };
}

impl Triangles {
    /// `len` zeros stored as `precision`.
    pub(super) fn zeros(precision: Precision, len: usize) -> Self {
        match precision {
            Precision::Float64 => Triangles::Float64(vec![0.0; len]),
            Precision::Float32 => Triangles::Float32(vec![0.0; len]),
        }
    }

    pub(super) fn precision(&self) -> Precision {
        match self {
            Triangles::Float64(_) => Precision::Float64,
            Triangles::Float32(_) => Precision::Float32,
        }
    }

    pub(super) fn len(&self) -> usize {
        each!(self, v => v.len())
    }

    /// Value `i`, as float64.
    pub(super) fn get(&self, i: usize) -> f64 {
        match self {
            Triangles::Float64(v) => v[i],
            Triangles::Float32(v) => f64::from(v[i]),
        }
    }

    /// Sets value `i` (rounded to the stored type).
    pub(super) fn set(&mut self, i: usize, x: f64) {
        match self {
            Triangles::Float64(v) => v[i] = x,
            Triangles::Float32(v) => v[i] = x as f32,
        }
    }

    /// The same values stored as `precision` (rounded to nearest when
    /// narrowing, exact when widening).
    pub(super) fn converted(&self, precision: Precision) -> Self {
        let mut out = Triangles::zeros(precision, self.len());
        for i in 0..self.len() {
            out.set(i, self.get(i));
        }
        out
    }

    /// Appends values `range` as little-endian bytes.
    pub(super) fn put(&self, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
        each!(self, v => v[range].iter().for_each(|x| x.put(out)))
    }

    /// Overwrites values from `at` with those in little-endian `bytes`.
    pub(super) fn set_bytes(&mut self, at: usize, bytes: &[u8]) {
        let size = self.precision().bytes();
        each!(self, v => {
            for (x, b) in v[at..].iter_mut().zip(bytes.chunks_exact(size)) {
                *x = Element::get(b);
            }
        })
    }

    /// work.k = P·h for the block stored from `at`.
    pub(super) fn product(&self, at: usize, h: &[f64], work: &mut Work) {
        let len = packed_len(h.len());
        each!(self, v => symmetric_product(&v[at..at + len], h, work))
    }

    /// Folds the pending terms into the block stored from `at` (see
    /// [`fold_pending`]).
    pub(super) fn fold(
        &mut self,
        at: usize,
        work: &mut Work,
        alphas: &[f64],
        scale: f64,
        capped: bool,
    ) {
        let len = packed_len(work.k.len());
        each!(self, v => fold_pending(&mut v[at..at + len], work, alphas, scale, capped))
    }
}

/// One block's scratch space: K = P·h, per-chunk partial sums (also the
/// float64 rows of a fold over float32 storage), row bounds, and the gain
/// vectors k_r of the pending rank-1 updates.
#[derive(Clone, Debug, Default)]
pub(super) struct Work {
    pub(super) k: Vec<f64>,
    partial: Vec<f64>,
    rows: Vec<usize>,
    pub(super) pending: Vec<f64>,
    /// Symmetric rescaling of the next flush (all 1 without wind-up).
    pub(super) cap: Vec<f64>,
}

/// Scratch is not state: two filters are equal whatever their scratch holds.
impl PartialEq for Work {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Work {
    pub(super) fn new(n: usize) -> Self {
        // Chunk c holds rows rows[c]..rows[c+1], with about equal numbers of
        // packed elements: the boundary of chunk c sits at n·√(c/C).
        let chunks = ROW_CHUNKS.min(n.max(1));
        let mut rows: Vec<usize> = (0..=chunks)
            .map(|c| ((n as f64) * (c as f64 / chunks as f64).sqrt()).round() as usize)
            .collect();
        rows[chunks] = n;
        rows.dedup();
        Work {
            k: vec![0.0; n],
            partial: vec![0.0; (rows.len() - 1) * n],
            rows,
            pending: vec![0.0; DEFERRED * n],
            cap: vec![1.0; n],
        }
    }

    /// Bytes of scratch for a block of n parameters.
    pub(super) fn bytes(n: usize) -> usize {
        // K, partial sums, pending gains, cap
        8 * n * (1 + ROW_CHUNKS + DEFERRED + 1)
    }
}

/// work.k = P·h for packed symmetric P, in parallel over row chunks: chunk
/// c adds row i's lower part to k[i] and its mirror image to k[j < i] in
/// its own partial vector; the partial vectors are then summed in order.
fn symmetric_product<T: Element>(p: &[T], h: &[f64], work: &mut Work) {
    let n = h.len();
    let rows = &work.rows;
    work.partial
        .par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(c, part)| {
            let (r0, r1) = (rows[c], rows[c + 1]);
            part[..r1].fill(0.0);
            for i in r0..r1 {
                let row = &p[packed_len(i)..packed_len(i) + i + 1];
                let hi = h[i];
                let mut acc = row[i].into() * hi;
                for ((x, pj), hj) in part[..i].iter_mut().zip(&row[..i]).zip(&h[..i]) {
                    let pj: f64 = (*pj).into();
                    acc += pj * hj;
                    *x += pj * hi;
                }
                part[i] += acc;
            }
        });
    let partial = &work.partial;
    let chunks = rows.len() - 1;
    work.k.par_chunks_mut(256).enumerate().for_each(|(q, k)| {
        let j0 = q * 256;
        for (dj, kj) in k.iter_mut().enumerate() {
            let j = j0 + dj;
            *kj = (0..chunks)
                .filter(|&c| rows[c + 1] > j)
                .map(|c| partial[c * n + j])
                .sum();
        }
    });
}

/// B ← c·(B − Σ_r α_r k_r k_rᵀ) on the packed lower triangle (and the
/// wind-up cap's D·B·D when `capped`), in parallel over the same row chunks
/// as the product.
fn fold_pending<T: Element>(
    p: &mut [T],
    work: &mut Work,
    alphas: &[f64],
    scale: f64,
    capped: bool,
) {
    let n = work.k.len();
    let (rows, pending, cap) = (&work.rows, &work.pending, &work.cap);
    let mut scratch = work.partial.chunks_mut(n.max(1));
    rayon::scope(|scope| {
        let mut rest = p;
        for c in 0..rows.len() - 1 {
            let (r0, r1) = (rows[c], rows[c + 1]);
            let (chunk, tail) = rest.split_at_mut(packed_len(r1) - packed_len(r0));
            rest = tail;
            let wide = scratch.next().expect("a scratch row per chunk");
            scope.spawn(move |_| {
                let mut at = 0;
                for i in r0..r1 {
                    let row = &mut chunk[at..at + i + 1];
                    at += i + 1;
                    T::with_row(row, wide, |row| {
                        fold_row(row, i, n, pending, alphas, scale, capped.then_some(cap))
                    });
                }
            });
        }
    });
}

/// Row i of the fold, in float64.
fn fold_row(
    row: &mut [f64],
    i: usize,
    n: usize,
    pending: &[f64],
    alphas: &[f64],
    scale: f64,
    cap: Option<&Vec<f64>>,
) {
    let mut beta = [0.0; DEFERRED];
    for (r, alpha) in alphas.iter().enumerate() {
        beta[r] = alpha * pending[r * n + i];
    }
    // One pass per term over a row that stays in cache.
    for (r, b) in beta[..alphas.len()].iter().enumerate() {
        let kr = &pending[r * n..r * n + i + 1];
        for (x, kj) in row.iter_mut().zip(kr) {
            *x -= b * kj;
        }
    }
    if let Some(cap) = cap {
        let ci = scale * cap[i];
        for (x, cj) in row.iter_mut().zip(cap) {
            *x *= ci * cj;
        }
    } else if scale != 1.0 {
        row.iter_mut().for_each(|x| *x *= scale);
    }
}
