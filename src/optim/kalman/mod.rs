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
//! would; in float64 or float32 ([`Precision`]: half the bytes again, the
//! arithmetic in float64 either way). The filter is memory-bound: the
//! rank-1 updates are deferred, P = c·(B − Σ_r α_r k_r k_rᵀ) with up to
//! [`DEFERRED`] pending terms, so an update reads B once (K = P·H costs one
//! pass plus O(r·n)) and B is rewritten only when the terms are folded in
//! ([`Kalman::flush`], once per training step) — about a third of the
//! memory traffic of applying each update at once. Passes run in parallel
//! over a fixed partition of rows, so results do not depend on the thread
//! count. In a run on several ranks each rank holds and updates only its
//! share of the blocks ([`Placement`], `shard.rs`), with results that do
//! not depend on the rank count either.

mod file;
mod shard;
mod storage;

pub use shard::Placement;
pub use storage::Precision;

use crate::dist::{Comm, Local};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use shard::Shard;
use std::ops::Range;
use std::path::Path;
use storage::{Triangles, Work, packed_len};

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
    /// Measurement noise r: each update's gain is A = 1/(r·λ + HᵀPH).
    /// None: the number of blocks, deepmd-kit's choice, which damps every
    /// update more the finer the covariance is cut.
    #[serde(default)]
    pub noise: Option<f64>,
}

/// Why an update was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The gradient or the error held NaN or infinity.
    NotFinite,
    /// The gain A or the correction overflowed.
    Overflow,
}

/// Per block, hᵀK and max|K| of the current update.
#[derive(Clone, Debug, Default)]
struct Scalars(Vec<[f64; 2]>);

/// Scratch is not state.
impl PartialEq for Scalars {
    fn eq(&self, _: &Self) -> bool {
        true
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
    /// How the covariances are stored (checkpoints before it was recorded
    /// hold float64).
    #[serde(default = "storage::float64")]
    precision: Precision,
    /// The blocks this rank holds.
    #[serde(skip)]
    shard: Shard,
    /// Packed lower triangle B of each block this rank holds, one after
    /// another in block order (on one rank, the layout of the side file).
    #[serde(skip)]
    p: Triangles,
    /// P = scale·(B − Σ_r alphas[r]·k_r k_rᵀ); scale 1 and no terms after a flush.
    #[serde(skip)]
    scale: f64,
    #[serde(skip)]
    alphas: Vec<f64>,
    /// Scratch of each block this rank holds.
    #[serde(skip)]
    work: Vec<Work>,
    #[serde(skip)]
    scalars: Scalars,
    /// A of the last update applied (a diagnostic).
    #[serde(skip)]
    gain: Gain,
}

/// The last gain, a diagnostic that is not state.
#[derive(Clone, Copy, Debug, Default)]
struct Gain(f64);

impl PartialEq for Gain {
    fn eq(&self, _: &Self) -> bool {
        true
    }
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

    /// Bytes the covariances and scratch of `blocks` occupy in float64 on
    /// one rank.
    pub fn memory_bytes(blocks: &[Range<usize>]) -> usize {
        Self::memory_bytes_on(blocks, Precision::Float64, Placement::default())
    }

    /// Bytes the covariances (stored as `precision`) and scratch of the
    /// blocks `placement`'s rank holds occupy.
    pub fn memory_bytes_on(
        blocks: &[Range<usize>],
        precision: Precision,
        placement: Placement,
    ) -> usize {
        let owner = placement.owners(blocks);
        blocks
            .iter()
            .zip(owner)
            .filter(|(_, r)| *r == placement.rank)
            .map(|(b, _)| precision.bytes() * packed_len(b.len()) + Work::bytes(b.len()))
            .sum()
    }

    /// A fresh filter on one process, covariances in float64: P_b = p0·I,
    /// λ = λ0.
    pub fn new(settings: KalmanSettings, blocks: Vec<Range<usize>>) -> Self {
        let mut k = Self::unallocated(settings, blocks);
        k.restart();
        k
    }

    /// A filter over `blocks` with λ = λ0 but no covariances yet:
    /// [`Kalman::restart`] or [`Kalman::read_covariance`] provides them.
    /// One process, float64, unless [`Kalman::stored`] says otherwise.
    pub fn unallocated(settings: KalmanSettings, blocks: Vec<Range<usize>>) -> Self {
        let shard = Shard::new(Placement::default(), &blocks);
        Kalman {
            lambda: settings.lambda0,
            settings,
            blocks,
            updates: 0,
            skipped: 0,
            precision: Precision::Float64,
            shard,
            p: Triangles::default(),
            scale: 1.0,
            alphas: Vec::new(),
            work: Vec::new(),
            scalars: Scalars::default(),
            gain: Gain::default(),
        }
    }

    /// The same filter with covariances to be stored as `precision` and
    /// spread as `placement` says; drops any covariances it held
    /// ([`Kalman::restart`] or [`Kalman::read_covariance`] provides them).
    pub fn stored(mut self, precision: Precision, placement: Placement) -> Self {
        self.precision = precision;
        self.shard = Shard::new(placement, &self.blocks);
        self.p = Triangles::default();
        self.work.clear();
        self
    }

    /// How the covariances are stored.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// This rank's place among the ranks holding the blocks.
    pub fn placement(&self) -> Placement {
        self.shard.placement
    }

    /// The blocks this rank holds, in block order.
    pub fn own_blocks(&self) -> &[usize] {
        &self.shard.own
    }

    /// Bytes this rank sends to the others per update (two scalars per
    /// block it holds, and their parameters).
    pub fn bytes_per_update(&self) -> usize {
        self.shard.bytes_per_update(&self.blocks)
    }

    /// A of the last update applied.
    pub fn last_gain(&self) -> f64 {
        self.gain.0
    }

    /// Restarts the filter from P = p0·I and λ = λ0 (keeps the counters).
    pub fn restart(&mut self) {
        self.lambda = self.settings.lambda0;
        self.p = Triangles::zeros(self.precision, self.own_total());
        let mut at = 0;
        for &b in &self.shard.own {
            let n = self.blocks[b].len();
            for i in 0..n {
                self.p.set(at + packed_len(i) + i, self.settings.p0);
            }
            at += packed_len(n);
        }
        self.allocate_work();
    }

    fn allocate_work(&mut self) {
        let blocks = &self.blocks;
        self.work = self
            .shard
            .own
            .iter()
            .map(|&b| Work::new(blocks[b].len()))
            .collect();
        self.scale = 1.0;
        self.alphas = Vec::with_capacity(DEFERRED);
        self.scalars = Scalars(vec![[0.0; 2]; blocks.len()]);
    }

    /// The same settings, blocks, λ, counters, precision and placement
    /// without the covariances (cheap to keep as a snapshot or to
    /// serialise).
    pub fn without_covariance(&self) -> Self {
        Kalman {
            lambda: self.lambda,
            updates: self.updates,
            skipped: self.skipped,
            ..Self::unallocated(self.settings.clone(), self.blocks.clone())
                .stored(self.precision, self.shard.placement)
        }
    }

    /// Whether the covariances (of this rank's blocks) are present.
    pub fn has_covariance(&self) -> bool {
        self.p.len() == self.own_total()
            && self.p.precision() == self.precision
            && self.work.len() == self.shard.own.len()
    }

    /// Values in this rank's packed triangles.
    fn own_total(&self) -> usize {
        self.shard
            .own
            .iter()
            .map(|&b| packed_len(self.blocks[b].len()))
            .sum()
    }

    /// Where block `b` starts in this rank's storage, if this rank holds it.
    fn offset(&self, b: usize) -> Option<usize> {
        let mut at = 0;
        for &o in &self.shard.own {
            if o == b {
                return Some(at);
            }
            at += packed_len(self.blocks[o].len());
        }
        None
    }

    /// Parameter range of each block.
    pub fn blocks(&self) -> &[Range<usize>] {
        &self.blocks
    }

    /// Block `b`'s covariance as a full row-major matrix (for tests and
    /// diagnostics); `b` must be one of this rank's blocks.
    pub fn covariance(&self, b: usize) -> Vec<f64> {
        let n = self.blocks[b].len();
        let offset = self.offset(b).expect("a block this rank holds");
        let slot = self.shard.own.iter().position(|&o| o == b).unwrap_or(0);
        let pending = &self.work[slot].pending;
        let mut full = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let stored = self.p.get(offset + packed_len(i) + j);
                let x = with_pending(stored, pending, &self.alphas, self.scale, n, i, j);
                full[i * n + j] = x;
                full[j * n + i] = x;
            }
        }
        full
    }

    /// Stores the (flushed) covariances as `precision` from now on:
    /// rounded to nearest when narrowing, exact when widening.
    pub fn convert(&mut self, precision: Precision) {
        assert!(
            self.alphas.is_empty() && self.scale == 1.0,
            "flush the Kalman filter before converting its covariance"
        );
        if self.has_covariance() {
            self.p = self.p.converted(precision);
        }
        self.precision = precision;
    }

    /// Folds the pending rank-1 updates into the stored covariances. Called
    /// once per training step, so that checkpoints (taken between steps)
    /// hold the whole state.
    pub fn flush(&mut self) {
        if self.alphas.is_empty() && self.scale == 1.0 && self.settings.p_max.is_none() {
            return;
        }
        let mut at = 0;
        for work in &mut self.work {
            let n = work.k.len();
            let mut capped = false;
            if let Some(p_max) = self.settings.p_max {
                for i in 0..n {
                    let stored = self.p.get(at + packed_len(i) + i);
                    let d = with_pending(stored, &work.pending, &self.alphas, self.scale, n, i, i);
                    work.cap[i] = if d > p_max { (p_max / d).sqrt() } else { 1.0 };
                    capped |= d > p_max;
                }
            }
            if capped || !self.alphas.is_empty() || self.scale != 1.0 {
                self.p.fold(at, work, &self.alphas, self.scale, capped);
            }
            at += packed_len(n);
        }
        self.alphas.clear();
        self.scale = 1.0;
    }

    /// One measurement on one process: see [`Kalman::update_on`].
    pub fn update(
        &mut self,
        params: &mut [f64],
        h: &[f64],
        e: f64,
    ) -> std::result::Result<(), Skip> {
        self.update_on(&Local, params, h, e)
    }

    /// One measurement: gradient `h` (length of the parameter vector) of the
    /// predicted scalar and error `e` (label minus prediction), the same on
    /// every rank of `comm` (the ranks of this filter's placement). Updates
    /// `params` (on every rank) and the covariances (each rank its own), or
    /// leaves everything unchanged and counts the skip when the numbers are
    /// not usable.
    pub fn update_on(
        &mut self,
        comm: &dyn Comm,
        params: &mut [f64],
        h: &[f64],
        e: f64,
    ) -> std::result::Result<(), Skip> {
        debug_assert!(self.has_covariance(), "Kalman covariance not loaded");
        assert_eq!(
            comm.size(),
            self.shard.placement.ranks,
            "the Kalman filter is placed on another number of ranks"
        );
        if !e.is_finite() || !h.iter().all(|x| x.is_finite()) {
            self.skipped += 1;
            return Err(Skip::NotFinite);
        }
        self.gains(h);
        self.shard.share_scalars(comm, &mut self.scalars.0);
        // Summed in block order whichever rank computed each term.
        let noise = self.settings.noise.unwrap_or(self.blocks.len() as f64);
        let mut denominator = noise * self.lambda;
        for s in &self.scalars.0 {
            denominator += s[0];
        }
        let a = 1.0 / denominator;
        let step = a * e;
        // k·step overflows for some k exactly when it does for max|k|.
        if !(a.is_finite() && a > 0.0 && step.is_finite())
            || self.scalars.0.iter().any(|s| !(s[1] * step).is_finite())
        {
            self.skipped += 1;
            return Err(Skip::Overflow);
        }
        // P' = (P − a·K Kᵀ)/λ = (c/λ)·(B − Σ − (a/c)·K Kᵀ)
        let r = self.alphas.len();
        for (&b, work) in self.shard.own.iter().zip(&mut self.work) {
            let block = self.blocks[b].clone();
            for (w, k) in params[block.clone()].iter_mut().zip(&work.k) {
                *w += step * k;
            }
            let n = block.len();
            let (k, pending) = (&work.k, &mut work.pending);
            pending[r * n..(r + 1) * n].copy_from_slice(k);
        }
        self.shard.share_params(comm, &self.blocks, params);
        self.gain = Gain(a);
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

    /// K_b = P_b·h_b for this rank's blocks, with their scalars hᵀK and
    /// max|K| (NaN counted as infinite).
    fn gains(&mut self, h: &[f64]) {
        let mut at = 0;
        for (&b, work) in self.shard.own.iter().zip(&mut self.work) {
            let hb = &h[self.blocks[b].clone()];
            self.p.product(at, hb, work);
            at += packed_len(hb.len());
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
            let dot = hb.iter().zip(&work.k).map(|(a, b)| a * b).sum::<f64>();
            let largest = work.k.iter().fold(0.0f64, |m, k| {
                if k.is_nan() {
                    f64::INFINITY
                } else {
                    m.max(k.abs())
                }
            });
            self.scalars.0[b] = [dot, largest];
        }
    }

    /// Writes every block's packed covariance, concatenated, as a 1-D
    /// `.npy` file of the stored precision (atomically); returns its
    /// checksum. One process.
    pub fn write_covariance(&self, path: &Path) -> Result<u64> {
        Ok(self
            .write_covariance_on(&Local, path)?
            .expect("rank 0 writes"))
    }

    /// [`Kalman::write_covariance`] on the ranks of `comm`, each sending
    /// its blocks to rank 0, which writes the file in the layout of one
    /// process; the checksum on rank 0. Every rank must call it.
    pub fn write_covariance_on(&self, comm: &dyn Comm, path: &Path) -> Result<Option<u64>> {
        assert!(
            self.alphas.is_empty() && self.scale == 1.0,
            "flush the Kalman filter before writing its covariance"
        );
        file::write(self, comm, path)
    }

    /// Reads this rank's blocks of the covariances written by
    /// [`Kalman::write_covariance_on`] (on any number of ranks), checking
    /// the length, the value type and the checksum against the
    /// checkpoint's.
    pub fn read_covariance(&mut self, path: &Path, expected: u64) -> Result<()> {
        file::read(self, path, expected)
    }
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
