//! SNES, the separable natural evolution strategy (Schaul, Glasmachers &
//! Schmidhuber 2011) that GPUMD's `nep` uses: a Gaussian search
//! distribution N(μ, diag σ²) over the parameters, updated from the
//! fitness ranking of a sampled population.
//!
//! As in GPUMD: μ starts uniform in [−0.5, 0.5] (or at given parameters),
//! σ at 0.1, utilities u_k = max(0, ln(P/2 + 1) − ln k) normalised minus
//! 1/P, learning rates η_μ = 1 and η_σ = (3 + ln n)/(5 √n)/2. Unlike GPUMD,
//! the ranking is global rather than per element.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// SNES state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snes {
    /// Mean of the search distribution (the current best guess).
    pub mu: Vec<f64>,
    /// Per-parameter standard deviation.
    pub sigma: Vec<f64>,
    /// Rank-based utilities, best first.
    utility: Vec<f64>,
    /// Learning rate of σ.
    eta_sigma: f64,
    /// The standard-normal samples of the current population (P × n).
    samples: Vec<f64>,
}

impl Snes {
    /// A search distribution centred on `mu` with spread `sigma0`, for a
    /// population of `population` candidates.
    pub fn new(mu: Vec<f64>, sigma0: f64, population: usize) -> Self {
        let n = mu.len().max(1) as f64;
        let p = population.max(2);
        let raw: Vec<f64> = (0..p)
            .map(|k| ((p as f64) * 0.5 + 1.0).ln() - ((k + 1) as f64).ln())
            .map(|u| u.max(0.0))
            .collect();
        let sum: f64 = raw.iter().sum();
        let utility = raw.iter().map(|u| u / sum - 1.0 / p as f64).collect();
        Snes {
            sigma: vec![sigma0; mu.len()],
            samples: vec![0.0; p * mu.len()],
            mu,
            utility,
            eta_sigma: (3.0 + n.ln()) / (5.0 * n.sqrt()) / 2.0,
        }
    }

    /// Checks restored state against a model of `n` parameters.
    pub fn check(&self, n: usize) -> std::result::Result<(), String> {
        let p = self.utility.len();
        if self.mu.len() != n || self.sigma.len() != n || self.samples.len() != p * n || p < 2 {
            return Err(format!(
                "optimizer (SNES): mu has {}, sigma {}, samples {} values; the model has {n} parameters and the population is {p}",
                self.mu.len(),
                self.sigma.len(),
                self.samples.len()
            ));
        }
        if !self.sigma.iter().chain(&self.mu).all(|v| v.is_finite()) {
            return Err("optimizer (SNES): mu or sigma has a non-finite value".into());
        }
        Ok(())
    }

    /// Population size.
    pub fn population(&self) -> usize {
        self.utility.len()
    }

    /// Samples a new population; candidate k is written to `out[k]`.
    pub fn ask(&mut self, rng: &mut impl Rng, out: &mut [Vec<f64>]) {
        let n = self.mu.len();
        for (k, candidate) in out.iter_mut().enumerate().take(self.population()) {
            candidate.resize(n, 0.0);
            for v in 0..n {
                let z: f64 = rng.sample(StandardNormal);
                self.samples[k * n + v] = z;
                candidate[v] = self.mu[v] + self.sigma[v] * z;
            }
        }
    }

    /// Updates μ and σ from the fitness (lower is better) of the population
    /// last sampled by [`ask`](Self::ask).
    pub fn tell(&mut self, fitness: &[f64]) {
        let n = self.mu.len();
        let mut order: Vec<usize> = (0..self.population()).collect();
        order.sort_by(|&a, &b| fitness[a].total_cmp(&fitness[b]));
        for v in 0..n {
            let (mut grad_mu, mut grad_sigma) = (0.0, 0.0);
            for (rank, &k) in order.iter().enumerate() {
                let z = self.samples[k * n + v];
                grad_mu += self.utility[rank] * z;
                grad_sigma += self.utility[rank] * (z * z - 1.0);
            }
            self.mu[v] += self.sigma[v] * grad_mu;
            self.sigma[v] *= (self.eta_sigma * grad_sigma).exp();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn utilities_sum_to_zero_and_favour_the_best() {
        let s = Snes::new(vec![0.0; 10], 0.1, 50);
        assert!(s.utility.iter().sum::<f64>().abs() < 1e-12);
        assert!(s.utility[0] > s.utility[1] && s.utility[49] < 0.0);
    }

    #[test]
    fn minimises_a_quadratic() {
        let target = [0.3, -0.2, 0.15, 0.4];
        let mut snes = Snes::new(vec![0.0; 4], 0.1, 20);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut pop = vec![Vec::new(); 20];
        for _ in 0..400 {
            snes.ask(&mut rng, &mut pop);
            let f: Vec<f64> = pop
                .iter()
                .map(|c| c.iter().zip(&target).map(|(x, t)| (x - t).powi(2)).sum())
                .collect();
            snes.tell(&f);
        }
        for (m, t) in snes.mu.iter().zip(&target) {
            assert!((m - t).abs() < 1e-3, "{m} vs {t}");
        }
    }
}
