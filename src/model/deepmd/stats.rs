//! The data-dependent arrays that are not trained: the environment-matrix
//! statistics davg/dstd and the energy biases, fitted as deepmd-kit does.
//!
//! davg/dstd (`deepmd/dpmodel/utils/env_mat_stat.py`, `EnvMatStatSe`):
//! per centre type, over every atom of that type and every one of its Σsel
//! slots (empty slots count, as zeros), the raw environment rows give
//! mean_r, std_r of the first column and std_a of the three others pooled;
//! then davg[t, s] = (mean_r, 0, 0, 0) and dstd[t, s] = (std_r, std_a,
//! std_a, std_a) for every slot s. std = √max(⟨x²⟩ − ⟨x⟩², 0), raised to
//! 0.01 when smaller; a type without atoms gets mean 0 and std 0.1
//! (`deepmd/utils/env_mat_stat.py`, `StatItem`). `set_davg_zero` keeps
//! davg at zero.
//!
//! Energy bias (`deepmd/utils/out_stat.py`, `compute_stats_from_redu`, in
//! v3's "set-by-statistic" mode): the per-type energies b minimising
//! Σ_frames (E − Σ_t n_t b_t)², the minimum-norm solution when the type
//! counts are linearly dependent (numpy's `lstsq` with its default
//! rcond = ε·max(frames, types)), stored as the atomic model's out_bias;
//! out_std is the standard deviation of the residual energies. The
//! fitting's own bias_atom_e stays at zero.

use super::{DeepPot, DeepPotHyper};
use crate::model::Prepared;
use serde::{Deserialize, Serialize};

/// The statistics of a model, in deepmd-kit's layouts (row-major).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeepPotStats {
    /// davg[t][s][c]: n_types × Σsel × 4.
    pub davg: Vec<f64>,
    /// dstd[t][s][c]: n_types × Σsel × 4.
    pub dstd: Vec<f64>,
    /// The fitting's bias_atom_e, per type (eV).
    pub bias_atom_e: Vec<f64>,
    /// The atomic model's out_bias, per type (eV).
    pub out_bias: Vec<f64>,
    /// The atomic model's out_std, per type (eV; stored, not used).
    pub out_std: Vec<f64>,
}

impl DeepPotStats {
    /// Zero means, unit deviations, zero biases: what deepmd-kit starts from.
    pub fn neutral(h: &DeepPotHyper) -> Self {
        let n = h.n_types() * h.n_slots() * 4;
        DeepPotStats {
            davg: vec![0.0; n],
            dstd: vec![1.0; n],
            bias_atom_e: vec![0.0; h.n_types()],
            out_bias: vec![0.0; h.n_types()],
            out_std: vec![1.0; h.n_types()],
        }
    }

    /// Checks sizes, finiteness and non-zero deviations.
    pub fn check(&self, h: &DeepPotHyper) -> std::result::Result<(), String> {
        let n = h.n_types() * h.n_slots() * 4;
        let nt = h.n_types();
        for (name, v, len) in [
            ("descriptor davg", &self.davg, n),
            ("descriptor dstd", &self.dstd, n),
            ("fitting bias_atom_e", &self.bias_atom_e, nt),
            ("out_bias", &self.out_bias, nt),
            ("out_std", &self.out_std, nt),
        ] {
            if v.len() != len {
                return Err(format!("{name}: {} values, expected {len}", v.len()));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(format!("{name}: a value is not finite"));
            }
        }
        if self.dstd.contains(&0.0) {
            return Err("descriptor dstd: a deviation is zero".into());
        }
        Ok(())
    }

    /// Whether davg and dstd are the same for every slot of each
    /// (centre type, neighbour-type block): then slot order within a block
    /// does not matter.
    pub fn slot_uniform(&self, h: &DeepPotHyper) -> bool {
        let ns = h.n_slots();
        let mut start = 0;
        for &s in &h.sel {
            for t in 0..h.n_types() {
                let block = |v: &[f64]| {
                    let base = (t * ns + start) * 4;
                    let first = &v[base..base + 4];
                    (1..s).all(|k| &v[base + 4 * k..base + 4 * k + 4] == first)
                };
                if !block(&self.davg) || !block(&self.dstd) {
                    return false;
                }
            }
            start += s;
        }
        true
    }
}

/// Running number, sum and sum of squares (deepmd-kit's `StatItem`).
#[derive(Clone, Copy, Debug, Default)]
struct StatItem {
    number: f64,
    sum: f64,
    squared_sum: f64,
}

impl StatItem {
    fn mean(&self) -> f64 {
        if self.number == 0.0 {
            0.0
        } else {
            self.sum / self.number
        }
    }

    fn std(&self) -> f64 {
        if self.number == 0.0 {
            return 0.1;
        }
        let m = self.sum / self.number;
        let v = (self.squared_sum / self.number - m * m).max(0.0).sqrt();
        if v.abs() < 1e-2 { 1e-2 } else { v }
    }
}

impl DeepPot {
    /// Fits davg/dstd and the energy bias on `train` (see the module docs).
    pub fn fit_statistics(&mut self, train: &[Prepared]) {
        self.fit_descriptor_statistics(train);
        self.fit_energy_bias(train);
    }

    /// davg/dstd from the environment matrices of `train`.
    pub fn fit_descriptor_statistics(&mut self, train: &[Prepared]) {
        let h = &self.hyper;
        let (nt, ns) = (h.n_types(), h.n_slots());
        let env = self.env_params();
        let mut radial = vec![StatItem::default(); nt];
        let mut angular = vec![StatItem::default(); nt];
        let mut kept = Vec::new();
        let mut counts = vec![0; nt];
        for s in train {
            let (mut atoms, mut dropped) = (0, 0);
            for i in 0..s.structure.n_atoms() {
                let t = s.types[i];
                let lost = self.selector.select(s, i, &mut kept, &mut counts);
                atoms += usize::from(lost > 0);
                dropped += lost;
                radial[t].number += ns as f64;
                angular[t].number += 3.0 * ns as f64;
                for k in &kept {
                    let row = env.geometry(k.r, k.d).value();
                    radial[t].sum += row[0];
                    radial[t].squared_sum += row[0] * row[0];
                    for v in &row[1..] {
                        angular[t].sum += v;
                        angular[t].squared_sum += v * v;
                    }
                }
            }
            self.warn_truncation(s, atoms, dropped);
        }
        let set_davg_zero = h.set_davg_zero;
        for t in 0..nt {
            let mean = if set_davg_zero { 0.0 } else { radial[t].mean() };
            let (sr, sa) = (radial[t].std(), angular[t].std());
            for slot in 0..ns {
                let base = (t * ns + slot) * 4;
                self.stats.davg[base..base + 4].copy_from_slice(&[mean, 0.0, 0.0, 0.0]);
                self.stats.dstd[base..base + 4].copy_from_slice(&[sr, sa, sa, sa]);
            }
        }
        self.selector.sort_always = false;
    }

    /// out_bias (and out_std) by least squares of the labelled energies on
    /// the type counts; bias_atom_e is reset to zero. Leaves the biases as
    /// they are when no structure has an energy.
    pub fn fit_energy_bias(&mut self, train: &[Prepared]) {
        let nt = self.hyper.n_types();
        let mut counts = Vec::new();
        let mut energies = Vec::new();
        for s in train {
            if let Some(e) = s.structure.labels.energy {
                let start = counts.len();
                counts.resize(start + nt, 0.0);
                for &t in &s.types {
                    counts[start + t] += 1.0;
                }
                energies.push(e);
            }
        }
        if energies.is_empty() {
            return;
        }
        let nf = energies.len();
        let bias = lstsq_min_norm(&counts, nf, nt, &energies);
        let residual: Vec<f64> = (0..nf)
            .map(|f| energies[f] - (0..nt).map(|t| counts[f * nt + t] * bias[t]).sum::<f64>())
            .collect();
        let mean = residual.iter().sum::<f64>() / nf as f64;
        let var = residual.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / nf as f64;
        self.stats.out_bias = bias;
        self.stats.out_std = vec![var.sqrt(); nt];
        self.stats.bias_atom_e = vec![0.0; nt];
    }
}

/// The minimum-norm least-squares solution of a·x = b (a: m × n,
/// row-major) by a one-sided Jacobi SVD, dropping singular values below
/// ε·max(m, n)·σ_max as numpy's `lstsq` does by default.
pub fn lstsq_min_norm(a: &[f64], m: usize, n: usize, b: &[f64]) -> Vec<f64> {
    let mut u = a[..m * n].to_vec();
    let mut v = vec![0.0; n * n];
    for k in 0..n {
        v[k * n + k] = 1.0;
    }
    let col_dot =
        |u: &[f64], p: usize, q: usize| (0..m).map(|i| u[i * n + p] * u[i * n + q]).sum::<f64>();
    for _sweep in 0..100 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let (alpha, beta, gamma) =
                    (col_dot(&u, p, p), col_dot(&u, q, q), col_dot(&u, p, q));
                if gamma == 0.0 || gamma.abs() <= f64::EPSILON * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for (mat, rows) in [(&mut u, m), (&mut v, n)] {
                    for i in 0..rows {
                        let (x, y) = (mat[i * n + p], mat[i * n + q]);
                        mat[i * n + p] = c * x - s * y;
                        mat[i * n + q] = s * x + c * y;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let sigma: Vec<f64> = (0..n).map(|k| col_dot(&u, k, k).sqrt()).collect();
    let sigma_max = sigma.iter().fold(0.0f64, |a, &s| a.max(s));
    let cutoff = f64::EPSILON * m.max(n) as f64 * sigma_max;
    let mut x = vec![0.0; n];
    for k in 0..n {
        if sigma[k] > cutoff && sigma[k] > 0.0 {
            // (u_kᵀ b)/σ_k² with u_k unnormalised (= σ_k · unit vector)
            let coef = (0..m).map(|i| u[i * n + k] * b[i]).sum::<f64>() / (sigma[k] * sigma[k]);
            for (j, xj) in x.iter_mut().enumerate() {
                *xj += v[j * n + k] * coef;
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::lstsq_min_norm;

    #[test]
    fn least_squares_full_rank_and_rank_deficient() {
        // full rank: exact solution of a consistent system
        let a = [2.0, 1.0, 0.5, 1.0, 3.0, 1.0, 0.0, 1.0, 4.0, 1.0, 1.0, 1.0];
        let x0 = [0.3, -1.2, 2.5];
        let b: Vec<f64> = (0..4)
            .map(|i| (0..3).map(|j| a[i * 3 + j] * x0[j]).sum())
            .collect();
        let x = lstsq_min_norm(&a, 4, 3, &b);
        for j in 0..3 {
            assert!((x[j] - x0[j]).abs() < 1e-12, "{x:?}");
        }
        // proportional columns (water's 1:2 O:H): x1 + 2 x2 = 1, minimum norm (0.2, 0.4)
        let a = [1.0, 2.0, 2.0, 4.0, 3.0, 6.0];
        let x = lstsq_min_norm(&a, 3, 2, &[1.0, 2.0, 3.0]);
        assert!(
            (x[0] - 0.2).abs() < 1e-14 && (x[1] - 0.4).abs() < 1e-14,
            "{x:?}"
        );
    }
}
