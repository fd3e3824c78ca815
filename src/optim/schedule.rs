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
    /// Exponential decay in stairs of this many steps (deepmd-kit's
    /// default); `None`: smooth.
    #[serde(default)]
    pub decay_steps: Option<usize>,
}

impl Schedule {
    /// The learning rate at step `t` (0-based), with `time_done` the
    /// fraction of the run's time budget spent (0 without one). The
    /// warm-up counts steps; the decay follows whichever of the planned
    /// steps and the time budget is further along, so that a run with both
    /// anneals to `lr_min` at whichever end comes first. Stairs of
    /// `decay_steps` apply to the step count only.
    pub fn at(&self, t: usize, time_done: f64) -> f64 {
        if t < self.warmup_steps {
            return self.warming(t);
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let mut t = t - self.warmup_steps;
        if let (Decay::Exponential, Some(s)) = (self.decay, self.decay_steps) {
            // lr·r^⌊t/s⌋ with r = (lr_min/lr)^(s/span)
            t -= t % s.max(1);
        }
        self.decayed((t as f64 / span).max(time_done))
    }

    fn warming(&self, t: usize) -> f64 {
        let f = (t + 1) as f64 / self.warmup_steps as f64;
        self.lr * (0.01 + 0.99 * f)
    }

    /// The decay at fraction `x` of its span.
    fn decayed(&self, x: f64) -> f64 {
        let x = x.clamp(0.0, 1.0);
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

/// What ends a run: a number of optimizer steps, wall time, or both
/// (whichever comes first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// This many optimizer steps; `None`: as many as the time allows.
    pub steps: Option<usize>,
    /// This many seconds of wall time.
    pub seconds: Option<f64>,
}

impl Budget {
    /// The planned steps (the schedule's length): `usize::MAX` for a run
    /// planned in time alone, whose decay then follows the clock.
    pub fn total_steps(&self) -> usize {
        self.steps.unwrap_or(usize::MAX)
    }

    /// The fraction of the time budget spent after `now` seconds (0
    /// without one).
    pub fn time_done(&self, now: f64) -> f64 {
        self.seconds.map_or(0.0, |t| now / t)
    }

    /// Whether the run is over at `step` steps and `now` seconds.
    pub fn spent(&self, step: usize, now: f64) -> bool {
        self.steps.is_some_and(|n| step >= n) || self.seconds.is_some_and(|t| now >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Schedule {
        fn at_steps(&self, t: usize) -> f64 {
            self.at(t, 0.0)
        }
    }

    #[test]
    fn shapes() {
        let mut s = Schedule {
            lr: 1e-2,
            lr_min: 1e-4,
            warmup_steps: 10,
            decay: Decay::Cosine,
            total_steps: 110,
            decay_steps: None,
        };
        assert!((s.at_steps(0) - 1e-2 * (0.01 + 0.099)).abs() < 1e-15);
        assert!((s.at_steps(9) - 1e-2).abs() < 1e-15);
        assert!((s.at_steps(10) - 1e-2).abs() < 1e-15);
        assert!((s.at_steps(60) - (1e-4 + 0.5 * (1e-2 - 1e-4))).abs() < 1e-12);
        assert!((s.at_steps(110) - 1e-4).abs() < 1e-15);
        assert!((s.at_steps(500) - 1e-4).abs() < 1e-15);
        s.decay = Decay::Exponential;
        assert!((s.at_steps(60) - 1e-3).abs() < 1e-12);
        s.decay = Decay::None;
        assert_eq!(s.at_steps(100), 1e-2);
    }

    /// A time budget: warm-up by steps, then the decay follows the clock
    /// and reaches lr_min when the budget is spent, whatever the step.
    #[test]
    fn time_budget_anneals_to_its_end() {
        let s = Schedule {
            lr: 1e-2,
            lr_min: 1e-4,
            warmup_steps: 10,
            decay: Decay::Cosine,
            total_steps: usize::MAX,
            decay_steps: None,
        };
        assert_eq!(s.at(9, 0.5), s.at_steps(9));
        assert!((s.at(10, 0.0) - 1e-2).abs() < 1e-15);
        assert!((s.at(1_000_000, 0.5) - (1e-4 + 0.5 * (1e-2 - 1e-4))).abs() < 1e-12);
        assert!((s.at(20, 1.0) - 1e-4).abs() < 1e-15);
        assert!((s.at(20, 3.0) - 1e-4).abs() < 1e-15);
    }

    /// A planned length and a time budget: the decay follows whichever is
    /// further along, and ends at lr_min at the first of the two ends.
    #[test]
    fn steps_and_time_anneal_to_the_first_end() {
        let s = Schedule {
            lr: 1e-2,
            lr_min: 1e-4,
            warmup_steps: 0,
            decay: Decay::Exponential,
            total_steps: 1_000_000,
            decay_steps: Some(5000),
        };
        // Early in the steps, half the time: half-way down in log.
        assert!((s.at(10, 0.5) - 1e-3).abs() < 1e-15);
        // The time runs out long before the steps do.
        assert!((s.at(100, 1.0) - 1e-4).abs() < 1e-15);
        // The steps run out first: the stairs of the step plan.
        assert!((s.at(1_000_000, 0.1) - 1e-4).abs() < 1e-15);
        assert_eq!(s.at(4999, 0.0), 1e-2);
        let budget = Budget {
            steps: Some(100),
            seconds: Some(60.0),
        };
        assert!(!budget.spent(99, 59.9));
        assert!(budget.spent(100, 1.0) && budget.spent(3, 60.0));
        assert_eq!(budget.time_done(30.0), 0.5);
        let time_only = Budget {
            steps: None,
            seconds: Some(60.0),
        };
        assert_eq!(time_only.total_steps(), usize::MAX);
        assert!(!time_only.spent(usize::MAX - 1, 59.0));
    }

    /// deepmd-kit's stepped exponential decay: lr0·r^⌊t/s⌋, r =
    /// (lr_stop/lr0)^(s/T), never below lr_stop.
    #[test]
    fn stepped_exponential_decay() {
        let s = Schedule {
            lr: 1e-3,
            lr_min: 3.51e-8,
            warmup_steps: 0,
            decay: Decay::Exponential,
            total_steps: 100_000,
            decay_steps: Some(2000),
        };
        let r = (3.51e-8f64 / 1e-3).powf(2000.0 / 100_000.0);
        for t in [0, 1999, 2000, 5999, 6000, 99_999, 100_000, 200_000] {
            let expected = (1e-3 * r.powi((t / 2000) as i32)).max(3.51e-8);
            assert!(
                (s.at_steps(t) - expected).abs() < 1e-12 * expected,
                "step {t}: {} vs {expected}",
                s.at_steps(t)
            );
        }
    }
}
