//! Learning-rate schedules: linear warm-up, then cosine or exponential
//! decay from `lr` towards `lr_min` over the planned number of steps.

use serde::{Deserialize, Serialize};

/// The decay after warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decay {
    /// Constant learning rate.
    None,
    /// Half a cosine from `lr` to `lr_min`.
    Cosine,
    /// Geometric from `lr` to `lr_min`.
    Exponential,
}

/// A learning-rate schedule over `total_steps` optimizer steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate.
    pub lr_min: f64,
    /// Steps of linear warm-up from lr/100 to lr.
    pub warmup_steps: usize,
    /// Decay shape.
    pub decay: Decay,
    /// Planned number of steps (the decay ends here).
    pub total_steps: usize,
}

impl Schedule {
    /// The learning rate at step `t` (0-based).
    pub fn at(&self, t: usize) -> f64 {
        if t < self.warmup_steps {
            let f = (t + 1) as f64 / self.warmup_steps as f64;
            return self.lr * (0.01 + 0.99 * f);
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let x = ((t - self.warmup_steps) as f64 / span).min(1.0);
        match self.decay {
            Decay::None => self.lr,
            Decay::Cosine => {
                self.lr_min
                    + 0.5 * (self.lr - self.lr_min) * (1.0 + (std::f64::consts::PI * x).cos())
            }
            Decay::Exponential => self.lr * (self.lr_min / self.lr).powf(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let mut s = Schedule {
            lr: 1e-2,
            lr_min: 1e-4,
            warmup_steps: 10,
            decay: Decay::Cosine,
            total_steps: 110,
        };
        assert!((s.at(0) - 1e-2 * (0.01 + 0.099)).abs() < 1e-15);
        assert!((s.at(9) - 1e-2).abs() < 1e-15);
        assert!((s.at(10) - 1e-2).abs() < 1e-15);
        assert!((s.at(60) - (1e-4 + 0.5 * (1e-2 - 1e-4))).abs() < 1e-12);
        assert!((s.at(110) - 1e-4).abs() < 1e-15);
        assert!((s.at(500) - 1e-4).abs() < 1e-15);
        s.decay = Decay::Exponential;
        assert!((s.at(60) - 1e-3).abs() < 1e-12);
        s.decay = Decay::None;
        assert_eq!(s.at(100), 1e-2);
    }
}
