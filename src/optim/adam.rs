//! Adam (Kingma & Ba) with optional decoupled weight decay (AdamW,
//! Loshchilov & Hutter). The state is plain vectors so checkpoints can
//! store and restore it exactly.

use serde::{Deserialize, Serialize};

/// Adam's state and hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
    /// Decoupled weight decay per unit learning rate (0: plain Adam).
    pub weight_decay: f64,
    /// Steps taken.
    pub t: u64,
    /// First moments.
    pub m: Vec<f64>,
    /// Second moments.
    pub v: Vec<f64>,
}

impl Adam {
    /// A fresh optimizer for `n` parameters.
    pub fn new(n: usize, weight_decay: f64) -> Self {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            t: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// Checks restored state against a model of `n` parameters.
    pub fn check(&self, n: usize) -> std::result::Result<(), String> {
        if self.m.len() != n || self.v.len() != n {
            return Err(format!(
                "optimizer (Adam): m has {} and v {} values, the model has {n} parameters",
                self.m.len(),
                self.v.len()
            ));
        }
        if let Some(i) = self.m.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "optimizer (Adam): m[{i}] is not finite ({})",
                self.m[i]
            ));
        }
        // A second moment is a running mean of squares: never negative.
        if let Some(i) = self.v.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(format!(
                "optimizer (Adam): v[{i}] is {}, expected a finite non-negative second moment",
                self.v[i]
            ));
        }
        Ok(())
    }

    /// One update of `params` with gradient `grad` and learning rate `lr`.
    pub fn step(&mut self, params: &mut [f64], grad: &[f64], lr: f64) {
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t as i32);
        let c2 = 1.0 - self.beta2.powi(self.t as i32);
        for ((p, g), (m, v)) in params
            .iter_mut()
            .zip(grad)
            .zip(self.m.iter_mut().zip(self.v.iter_mut()))
        {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            let update = (*m / c1) / ((*v / c2).sqrt() + self.eps);
            *p -= lr * (update + self.weight_decay * *p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_the_learning_rate() {
        // With bias correction the first Adam step is −lr·sign(g).
        let mut adam = Adam::new(2, 0.0);
        let mut p = [1.0, -2.0];
        adam.step(&mut p, &[0.3, -5.0], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[1] + 1.9).abs() < 1e-6);
    }

    #[test]
    fn minimises_a_quadratic() {
        let mut adam = Adam::new(3, 0.0);
        let target = [1.0, -3.0, 0.5];
        let mut p = [0.0; 3];
        for _ in 0..3000 {
            let g: Vec<f64> = p.iter().zip(&target).map(|(x, t)| 2.0 * (x - t)).collect();
            adam.step(&mut p, &g, 0.01);
        }
        for (x, t) in p.iter().zip(&target) {
            assert!((x - t).abs() < 1e-3, "{x} vs {t}");
        }
    }
}
