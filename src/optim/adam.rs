//! Adam (Kingma & Ba) with optional decoupled weight decay (AdamW,
//! Loshchilov & Hutter). The state is plain vectors so checkpoints can
//! store and restore it exactly.

use rayon::prelude::*;
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

    /// One update of `params` with gradient `grad` and learning rate `lr`,
    /// in parallel over blocks of parameters and in the CPU's widest
    /// vectors: every parameter's update is the same chain of IEEE
    /// operations (no fused multiply-adds; division and square root are
    /// correctly rounded at any width), so the result does not depend on
    /// either. Serial, the update of a DeePMD model's 50,000 parameters
    /// took a few percent of a training step, with the other threads idle.
    pub fn step(&mut self, params: &mut [f64], grad: &[f64], lr: f64) {
        self.t += 1;
        let k = Coefficients {
            beta1: self.beta1,
            beta2: self.beta2,
            c1: 1.0 - self.beta1.powi(self.t as i32),
            c2: 1.0 - self.beta2.powi(self.t as i32),
            eps: self.eps,
            weight_decay: self.weight_decay,
            lr,
        };
        let n = params
            .len()
            .min(grad.len())
            .min(self.m.len())
            .min(self.v.len());
        params[..n]
            .par_chunks_mut(BLOCK)
            .zip(grad[..n].par_chunks(BLOCK))
            .zip(self.m[..n].par_chunks_mut(BLOCK))
            .zip(self.v[..n].par_chunks_mut(BLOCK))
            .for_each(|(((p, g), m), v)| k.apply(p, g, m, v));
    }
}

/// Parameters per parallel block of [`Adam::step`]: large enough that a
/// block's work outweighs handing it to a thread.
const BLOCK: usize = 8192;

/// The scalars of one Adam step.
#[derive(Clone, Copy)]
struct Coefficients {
    beta1: f64,
    beta2: f64,
    /// Bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ.
    c1: f64,
    c2: f64,
    eps: f64,
    weight_decay: f64,
    lr: f64,
}

impl Coefficients {
    /// The update of one block, in the best compiled copy for this CPU.
    fn apply(self, p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked above).
                return unsafe { self.apply_avx512(p, g, m, v) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked above).
                return unsafe { self.apply_avx2(p, g, m, v) };
            }
        }
        self.apply_body(p, g, m, v)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn apply_avx512(self, p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]) {
        self.apply_body(p, g, m, v)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn apply_avx2(self, p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]) {
        self.apply_body(p, g, m, v)
    }

    /// m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², p ← p − lr·(m̂/(√v̂ + ε)
    /// + λp).
    #[inline(always)]
    fn apply_body(self, p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]) {
        let k = self;
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = k.beta1 * *m + (1.0 - k.beta1) * g;
            *v = k.beta2 * *v + (1.0 - k.beta2) * g * g;
            let update = (*m / k.c1) / ((*v / k.c2).sqrt() + k.eps);
            *p -= k.lr * (update + k.weight_decay * *p);
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
    fn blocks_and_vectors_give_the_serial_bits() {
        // more than one parallel block, and a length no vector divides
        let n = 3 * BLOCK + 5;
        let wave = |i: usize, f: f64| (i as f64 * f).sin() * 10f64.powi((i % 7) as i32 - 3);
        let grads: Vec<Vec<f64>> = (0..3)
            .map(|s| (0..n).map(|i| wave(i + s, 0.37)).collect())
            .collect();
        let mut adam = Adam::new(n, 0.01);
        let mut p: Vec<f64> = (0..n).map(|i| wave(i, 1.3)).collect();
        let (mut q, mut m, mut v) = (p.clone(), vec![0.0; n], vec![0.0; n]);
        for (t, g) in grads.iter().enumerate() {
            adam.step(&mut p, g, 1e-3);
            let t = t as i32 + 1;
            let k = Coefficients {
                beta1: 0.9,
                beta2: 0.999,
                c1: 1.0 - 0.9f64.powi(t),
                c2: 1.0 - 0.999f64.powi(t),
                eps: 1e-8,
                weight_decay: 0.01,
                lr: 1e-3,
            };
            k.apply_body(&mut q, g, &mut m, &mut v);
        }
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p), bits(&q));
        assert_eq!((bits(&adam.m), bits(&adam.v)), (bits(&m), bits(&v)));
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
