//! The Extended Kalman Filter over a flat parameter vector with a
//! block-diagonal error covariance: the optimizer of RLEKF (Hu et al.,
//! AAAI 2023) and FEKF (Hu et al., PPoPP 2024), as deepmd-kit's `LKF`.
//!
//! Parameters are split into blocks along the model's layers; each block b
//! keeps its own covariance P_b (initially p0·I). One measurement — a
//! gradient H (of a scalar the model predicts) and an error e (label minus
//! prediction of that scalar) — updates every block:
//!
//! ```text
//! A   = 1 / (L·λ + Σ_b H_bᵀ P_b H_b)      (L = number of blocks)
//! K_b = P_b H_b
//! w_b ← w_b + A·e·K_b
//! P_b ← (P_b − A·K_b K_bᵀ) / λ
//! λ   ← ν·λ + 1 − ν
//! ```
//!
//! P_b is stored as its packed lower triangle, so it is symmetric by
//! construction and every pass over it moves half the memory a full matrix
//! would. The filter is memory-bound: the rank-1 updates are deferred,
//! P = c·(B − Σ_r α_r k_r k_rᵀ) with up to [`DEFERRED`] pending terms, so an
//! update reads B once (K = P·H costs one pass plus O(r·n)) and B is
//! rewritten only when the terms are folded in ([`Kalman::flush`], once per
//! training step) — about a third of the memory traffic of applying each
//! update at once. Passes run in parallel over a fixed partition of rows, so
//! results do not depend on the thread count. Nothing is allocated per
//! update.

use crate::error::{Error, Result};
use npyz::WriterBuilder;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Row chunks per block: fixed (not the thread count) so that the order of
/// every floating-point sum is the same on any machine.
const ROW_CHUNKS: usize = 16;

/// Rank-1 updates kept pending before they are folded into the stored
/// covariance.
pub const DEFERRED: usize = 8;

/// The filter's hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KalmanSettings {
    /// Initial covariance diagonal.
    pub p0: f64,
    /// Initial memory factor λ.
    pub lambda0: f64,
    /// Memory-factor decay ν: λ ← νλ + 1 − ν after each update.
    pub nu: f64,
    /// Largest block, in parameters.
    pub block_size: usize,
    /// Cap on the covariance diagonal (None: no cap). With λ < 1 the
    /// variance of a parameter that no measurement excites grows by 1/λ per
    /// update — by e^((1−λ0)/(1−ν)) ≈ 5·10⁶ over the default schedule — and
    /// the first measurement that does excite it then moves it wildly
    /// ("covariance wind-up"). The cap rescales such rows and columns
    /// symmetrically (P ← D P D), which keeps P positive definite.
    #[serde(default)]
    pub p_max: Option<f64>,
}

/// Why an update was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The gradient or the error held NaN or infinity.
    NotFinite,
    /// The gain A or the correction overflowed.
    Overflow,
}

/// One block's scratch space: K = P·H, per-chunk partial sums, row bounds,
/// and the gain vectors k_r of the pending rank-1 updates.
#[derive(Clone, Debug, Default)]
struct Work {
    k: Vec<f64>,
    partial: Vec<f64>,
    rows: Vec<usize>,
    pending: Vec<f64>,
    /// Symmetric rescaling of the next flush (all 1 without wind-up).
    cap: Vec<f64>,
}

/// Scratch is not state: two filters are equal whatever their scratch holds.
impl PartialEq for Work {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Work {
    fn new(n: usize) -> Self {
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
}

/// The filter's state: settings, blocks, covariances and the memory factor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kalman {
    /// Hyperparameters.
    pub settings: KalmanSettings,
    /// Parameter range of each block.
    blocks: Vec<Range<usize>>,
    /// Current memory factor.
    pub lambda: f64,
    /// Updates applied.
    pub updates: u64,
    /// Measurements skipped because they were not finite.
    pub skipped: u64,
    /// Packed lower triangle B of each block's stored covariance (row i
    /// holds B[i][0..=i] at offset i(i+1)/2), the blocks one after another
    /// — the layout of the side file, so loading it needs no copy.
    #[serde(skip)]
    p: Vec<f64>,
    /// P = scale·(B − Σ_r alphas[r]·k_r k_rᵀ); scale 1 and no terms after a flush.
    #[serde(skip)]
    scale: f64,
    #[serde(skip)]
    alphas: Vec<f64>,
    #[serde(skip)]
    work: Vec<Work>,
}

/// Packed length of an n×n symmetric matrix.
fn packed_len(n: usize) -> usize {
    n * (n + 1) / 2
}

impl Kalman {
    /// Blocks from layer-wise parameter groups: consecutive, contiguous groups
    /// are gathered while their total stays within `block_size`; a group
    /// larger than that is cut into chunks of `block_size`. Parameters no
    /// group covers get blocks of their own, so every parameter is trained.
    pub fn blocks_from_groups(
        groups: &[Range<usize>],
        n_params: usize,
        block_size: usize,
    ) -> Vec<Range<usize>> {
        let block_size = block_size.max(1);
        let mut sorted: Vec<Range<usize>> =
            groups.iter().filter(|g| !g.is_empty()).cloned().collect();
        sorted.sort_by_key(|g| g.start);
        // Fill gaps so that the groups tile 0..n_params.
        let mut tiles = Vec::new();
        let mut at = 0;
        for g in sorted {
            let start = g.start.max(at);
            let end = g.end.min(n_params);
            if start >= end {
                continue;
            }
            if start > at {
                tiles.push(at..start);
            }
            tiles.push(start..end);
            at = end;
        }
        if at < n_params {
            tiles.push(at..n_params);
        }
        let mut blocks: Vec<Range<usize>> = Vec::new();
        let mut current: Option<Range<usize>> = None;
        for g in tiles {
            if g.len() > block_size {
                if let Some(c) = current.take() {
                    blocks.push(c);
                }
                let mut s = g.start;
                while s < g.end {
                    let e = (s + block_size).min(g.end);
                    blocks.push(s..e);
                    s = e;
                }
                continue;
            }
            current = match current.take() {
                Some(c) if c.len() + g.len() <= block_size => Some(c.start..g.end),
                Some(c) => {
                    blocks.push(c);
                    Some(g)
                }
                None => Some(g),
            };
        }
        if let Some(c) = current {
            blocks.push(c);
        }
        blocks
    }

    /// Bytes the covariances and scratch of `blocks` occupy.
    pub fn memory_bytes(blocks: &[Range<usize>]) -> usize {
        blocks
            .iter()
            .map(|b| {
                let n = b.len();
                // triangle; K, partial sums, pending gains, cap
                8 * (packed_len(n) + n * (1 + ROW_CHUNKS + DEFERRED + 1))
            })
            .sum()
    }

    /// A fresh filter: P_b = p0·I, λ = λ0.
    pub fn new(settings: KalmanSettings, blocks: Vec<Range<usize>>) -> Self {
        let mut k = Self::unallocated(settings, blocks);
        k.restart();
        k
    }

    /// A filter over `blocks` with λ = λ0 but no covariances yet:
    /// [`Kalman::restart`] or [`Kalman::read_covariance`] provides them.
    pub fn unallocated(settings: KalmanSettings, blocks: Vec<Range<usize>>) -> Self {
        Kalman {
            lambda: settings.lambda0,
            settings,
            blocks,
            updates: 0,
            skipped: 0,
            p: Vec::new(),
            scale: 1.0,
            alphas: Vec::new(),
            work: Vec::new(),
        }
    }

    /// Restarts the filter from P = p0·I and λ = λ0 (keeps the counters).
    pub fn restart(&mut self) {
        self.lambda = self.settings.lambda0;
        self.p = vec![0.0; self.packed_total()];
        let mut at = 0;
        for b in &self.blocks {
            let n = b.len();
            for i in 0..n {
                self.p[at + packed_len(i) + i] = self.settings.p0;
            }
            at += packed_len(n);
        }
        self.allocate_work();
    }

    fn allocate_work(&mut self) {
        self.work = self.blocks.iter().map(|b| Work::new(b.len())).collect();
        self.scale = 1.0;
        self.alphas = Vec::with_capacity(DEFERRED);
    }

    /// The same settings, blocks, λ and counters without the covariances
    /// (cheap to keep as a snapshot or to serialise).
    pub fn without_covariance(&self) -> Self {
        Kalman {
            lambda: self.lambda,
            updates: self.updates,
            skipped: self.skipped,
            ..Self::unallocated(self.settings.clone(), self.blocks.clone())
        }
    }

    /// Whether the covariances are present.
    pub fn has_covariance(&self) -> bool {
        self.p.len() == self.packed_total() && self.work.len() == self.blocks.len()
    }

    /// Values in all packed triangles.
    fn packed_total(&self) -> usize {
        self.blocks.iter().map(|b| packed_len(b.len())).sum()
    }

    /// Parameter range of each block.
    pub fn blocks(&self) -> &[Range<usize>] {
        &self.blocks
    }

    /// Block `b`'s covariance as a full row-major matrix (for tests and
    /// diagnostics).
    pub fn covariance(&self, b: usize) -> Vec<f64> {
        let n = self.blocks[b].len();
        let offset: usize = self.blocks[..b].iter().map(|r| packed_len(r.len())).sum();
        let pending = &self.work[b].pending;
        let mut full = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let stored = self.p[offset + packed_len(i) + j];
                let x = with_pending(stored, pending, &self.alphas, self.scale, n, i, j);
                full[i * n + j] = x;
                full[j * n + i] = x;
            }
        }
        full
    }

    /// Folds the pending rank-1 updates into the stored covariances. Called
    /// once per training step, so that checkpoints (taken between steps)
    /// hold the whole state.
    pub fn flush(&mut self) {
        if self.alphas.is_empty() && self.scale == 1.0 && self.settings.p_max.is_none() {
            return;
        }
        let mut rest = self.p.as_mut_slice();
        for work in &mut self.work {
            let n = work.k.len();
            let (p, tail) = std::mem::take(&mut rest).split_at_mut(packed_len(n));
            rest = tail;
            let mut capped = false;
            if let Some(p_max) = self.settings.p_max {
                for i in 0..n {
                    let stored = p[packed_len(i) + i];
                    let d = with_pending(stored, &work.pending, &self.alphas, self.scale, n, i, i);
                    work.cap[i] = if d > p_max { (p_max / d).sqrt() } else { 1.0 };
                    capped |= d > p_max;
                }
            }
            if capped || !self.alphas.is_empty() || self.scale != 1.0 {
                fold_pending(p, work, &self.alphas, self.scale, capped);
            }
        }
        self.alphas.clear();
        self.scale = 1.0;
    }

    /// One measurement: gradient `h` (length of the parameter vector) of the
    /// predicted scalar and error `e` (label minus prediction). Updates
    /// `params` and the covariances, or leaves everything unchanged and
    /// counts the skip when the numbers are not usable.
    pub fn update(
        &mut self,
        params: &mut [f64],
        h: &[f64],
        e: f64,
    ) -> std::result::Result<(), Skip> {
        debug_assert!(self.has_covariance(), "Kalman covariance not loaded");
        if !e.is_finite() || !h.iter().all(|x| x.is_finite()) {
            self.skipped += 1;
            return Err(Skip::NotFinite);
        }
        let mut denominator = self.blocks.len() as f64 * self.lambda;
        let mut at = 0;
        for (block, work) in self.blocks.iter().zip(&mut self.work) {
            let hb = &h[block.clone()];
            let p = &self.p[at..at + packed_len(hb.len())];
            at += p.len();
            symmetric_product(p, hb, work);
            // K = c·(B·h − Σ_r α_r k_r (k_rᵀ h))
            let n = hb.len();
            for (r, alpha) in self.alphas.iter().enumerate() {
                let kr = &work.pending[r * n..(r + 1) * n];
                let d = alpha * kr.iter().zip(hb).map(|(a, b)| a * b).sum::<f64>();
                for (k, x) in work.k.iter_mut().zip(kr) {
                    *k -= d * x;
                }
            }
            for k in &mut work.k {
                *k *= self.scale;
            }
            denominator += hb.iter().zip(&work.k).map(|(a, b)| a * b).sum::<f64>();
        }
        let a = 1.0 / denominator;
        let step = a * e;
        if !(a.is_finite() && a > 0.0 && step.is_finite())
            || self
                .work
                .iter()
                .any(|w| !w.k.iter().all(|k| (k * step).is_finite()))
        {
            self.skipped += 1;
            return Err(Skip::Overflow);
        }
        // P' = (P − a·K Kᵀ)/λ = (c/λ)·(B − Σ − (a/c)·K Kᵀ)
        let r = self.alphas.len();
        for (block, work) in self.blocks.iter().zip(&mut self.work) {
            for (w, k) in params[block.clone()].iter_mut().zip(&work.k) {
                *w += step * k;
            }
            let n = block.len();
            let (k, pending) = (&work.k, &mut work.pending);
            pending[r * n..(r + 1) * n].copy_from_slice(k);
        }
        self.alphas.push(a / self.scale);
        self.scale /= self.lambda;
        if self.alphas.len() == DEFERRED {
            self.flush();
        }
        let nu = self.settings.nu;
        self.lambda = nu * self.lambda + 1.0 - nu;
        self.updates += 1;
        Ok(())
    }

    /// Writes every block's packed covariance, concatenated, as a 1-D
    /// float64 `.npy` file (atomically); returns its checksum.
    pub fn write_covariance(&self, path: &Path) -> Result<u64> {
        assert!(
            self.alphas.is_empty() && self.scale == 1.0,
            "flush the Kalman filter before writing its covariance"
        );
        crate::io::write_atomic(path, |w| {
            let mut writer = npyz::WriteOptions::<f64>::new()
                .default_dtype()
                .shape(&[self.p.len() as u64])
                .writer(w)
                .begin_nd()?;
            writer.extend(self.p.iter().copied())?;
            writer.finish()
        })?;
        Ok(checksum(self.p.iter()))
    }

    /// Reads covariances written by [`Kalman::write_covariance`], checking
    /// the length and checksum against the checkpoint's.
    pub fn read_covariance(&mut self, path: &Path, expected: u64) -> Result<()> {
        check_npy_start(path)?;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let npy = npyz::NpyFile::new(std::io::BufReader::new(file))
            .map_err(|e| Error::file(path, format!("not a covariance file: {e}")))?;
        let total = self.packed_total();
        // The header's shape is checked before its data are allocated.
        let shape = npy.shape().to_vec();
        if shape.len() != 1 || usize::try_from(shape[0]).ok() != Some(total) {
            let held = match shape.as_slice() {
                [n] => format!("holds {n} values"),
                _ => format!("has shape {shape:?}"),
            };
            return Err(Error::file(
                path,
                format!("{held}, the checkpoint's blocks need {total}"),
            ));
        }
        let data: Vec<f64> = npy
            .into_vec()
            .map_err(|e| Error::file(path, format!("not a float64 covariance file: {e}")))?;
        if data.len() != total {
            return Err(Error::file(
                path,
                format!(
                    "holds {} values, the checkpoint's blocks need {total}",
                    data.len()
                ),
            ));
        }
        if checksum(data.iter()) != expected {
            return Err(Error::file(
                path,
                "checksum differs from the checkpoint's: the file belongs to another checkpoint",
            ));
        }
        self.p = data;
        self.allocate_work();
        Ok(())
    }
}

/// Checks the header of the covariance file before the npy parser reads it.
fn check_npy_start(path: &Path) -> Result<()> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut start = Vec::new();
    file.take(crate::io::npy::MAX_PREFIX as u64)
        .read_to_end(&mut start)
        .map_err(|e| Error::io(path, e))?;
    crate::io::npy::check_header(&start)
        .map_err(|m| Error::file(path, format!("not a covariance file: {m}")))
}

/// P[i][j] = c·(B[i][j] − Σ_r α_r k_r[i] k_r[j]): a stored value with the
/// pending rank-1 terms applied (`pending` holds k_r at r·n).
fn with_pending(
    stored: f64,
    pending: &[f64],
    alphas: &[f64],
    scale: f64,
    n: usize,
    i: usize,
    j: usize,
) -> f64 {
    let mut x = stored;
    for (r, alpha) in alphas.iter().enumerate() {
        x -= alpha * (pending[r * n + i] * pending[r * n + j]);
    }
    scale * x
}

/// FNV-1a over the bit patterns of the values, word by word.
fn checksum<'a>(values: impl Iterator<Item = &'a f64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        h = (h ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// work.k = P·h for packed symmetric P, in parallel over row chunks: chunk
/// c adds row i's lower part to k[i] and its mirror image to k[j < i] in
/// its own partial vector; the partial vectors are then summed in order.
fn symmetric_product(p: &[f64], h: &[f64], work: &mut Work) {
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
                let mut acc = row[i] * hi;
                for ((x, pj), hj) in part[..i].iter_mut().zip(&row[..i]).zip(&h[..i]) {
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

/// B ← c·(B − Σ_r α_r k_r k_rᵀ) on the packed lower triangle, in parallel
/// over the same row chunks as the product.
fn fold_pending(p: &mut [f64], work: &Work, alphas: &[f64], scale: f64, capped: bool) {
    let rows = &work.rows;
    let n = work.k.len();
    let pending = &work.pending;
    let cap = &work.cap;
    rayon::scope(|scope| {
        let mut rest = p;
        for c in 0..rows.len() - 1 {
            let (r0, r1) = (rows[c], rows[c + 1]);
            let (chunk, tail) = rest.split_at_mut(packed_len(r1) - packed_len(r0));
            rest = tail;
            scope.spawn(move |_| {
                let mut beta = [0.0; DEFERRED];
                let mut at = 0;
                for i in r0..r1 {
                    let row = &mut chunk[at..at + i + 1];
                    at += i + 1;
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
                    if capped {
                        let ci = scale * cap[i];
                        for (x, cj) in row.iter_mut().zip(cap) {
                            *x *= ci * cj;
                        }
                    } else if scale != 1.0 {
                        row.iter_mut().for_each(|x| *x *= scale);
                    }
                }
            });
        }
    });
}
