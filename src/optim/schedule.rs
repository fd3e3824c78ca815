//! Learning-rate schedules: linear warm-up, then cosine or exponential
//! decay from `lr` towards `lr_min` over the planned number of steps, or
//! cosine cycles with warm restarts ([`Restarts`], GNEP's
//! `lr_cos_restart`).

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
    /// Start the warm-up here instead (GNEP's ramp from its stop_lr):
    /// lr_from + (t/warmup_steps)·(lr − lr_from) at step t.
    #[serde(default)]
    pub warmup_from: Option<f64>,
    /// Decay shape.
    pub decay: Decay,
    /// Planned number of steps (the decay ends here).
    pub total_steps: usize,
    /// Exponential decay in stairs of this many steps (deepmd-kit's
    /// default); `None`: smooth.
    #[serde(default)]
    pub decay_steps: Option<usize>,
    /// Cosine cycles with warm restarts instead of one cosine (with
    /// `decay = Cosine`); `None`: one cosine.
    #[serde(default)]
    pub restarts: Option<Restarts>,
}

/// Cosine annealing with warm restarts (Loshchilov & Hutter's SGDR, as
/// GNEP's `lr_cos_restart` has it): after the warm-up, cycle c (from 0)
/// lasts ⌊period·period_factor^c⌋ steps (period for c = 0) and falls by
/// half a cosine from max(lr·decay_factor^c, lr_min) to lr_min; the cycle
/// that reaches the end of the run is cut short there, so that the run
/// still ends at lr_min.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restarts {
    /// Steps of the first cycle (≥ 1).
    pub period: usize,
    /// Each cycle is this many times as long as the one before (≥ 1).
    pub period_factor: f64,
    /// Each cycle's peak is this many times the one before (> 0).
    pub decay_factor: f64,
}

impl Restarts {
    /// Checks the values; the message names the key under `[optimizer]`.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.period == 0 {
            return Err("optimizer.restarts.period must be at least 1 step".into());
        }
        // A factor below 1 shrinks the cycles to nothing (GNEP then loops
        // forever looking for the current cycle).
        if !(self.period_factor.is_finite() && self.period_factor >= 1.0) {
            return Err(format!(
                "optimizer.restarts.period_factor must be at least 1, got {}",
                self.period_factor
            ));
        }
        if !(self.decay_factor.is_finite() && self.decay_factor > 0.0) {
            return Err(format!(
                "optimizer.restarts.decay_factor must be positive, got {}",
                self.decay_factor
            ));
        }
        Ok(())
    }

    /// The cycle holding step `k` of the decay, ending at step `end` (a
    /// real number: the end projected from the clock need not be a whole
    /// step): its index and the fraction of it done.
    fn cycle(&self, k: f64, end: f64) -> (i32, f64) {
        let mut start = 0.0;
        let mut c = 0;
        loop {
            let planned = (self.period as f64 * self.period_factor.powi(c)).floor();
            let len = planned.max(1.0).min(end - start);
            if start + len > k {
                return (c, (k - start) / len);
            }
            start += len;
            c += 1;
        }
    }
}

impl Schedule {
    /// How far along the decay is by the clock, with `time_done` the
    /// fraction of the time budget spent: all of it for a cosine (or
    /// none), the last [`EXPONENTIAL_TAIL`] of it for an exponential (which
    /// keeps the rate at its step plan's until then).
    pub fn by_clock(&self, time_done: f64) -> f64 {
        match self.decay {
            Decay::Exponential => {
                ((time_done - (1.0 - EXPONENTIAL_TAIL)) / EXPONENTIAL_TAIL).max(0.0)
            }
            Decay::Cosine | Decay::None => time_done,
        }
    }

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
        if let Some(r) = &self.restarts {
            return self.restarted(r, t as f64, span, time_done);
        }
        if let (Decay::Exponential, Some(s)) = (self.decay, self.decay_steps) {
            // lr·r^⌊t/s⌋ with r = (lr_min/lr)^(s/span)
            t -= t % s.max(1);
        }
        self.decayed((t as f64 / span).max(time_done))
    }

    /// Cosine cycles over the decay: step `k` of it, `span` its planned
    /// steps. With a time budget further along than the steps, the end is
    /// projected from the clock (k / time_done steps at the current pace),
    /// so the cycle that holds it is cut short there and the run still
    /// anneals to `lr_min` when the time is spent.
    fn restarted(&self, r: &Restarts, k: f64, span: f64, time_done: f64) -> f64 {
        let by_steps = k / span;
        if by_steps.max(time_done) >= 1.0 {
            return self.lr_min;
        }
        let end = if time_done > by_steps && k > 0.0 {
            k / time_done
        } else {
            span
        };
        let (c, x) = r.cycle(k, end);
        let peak = (self.lr * r.decay_factor.powi(c)).max(self.lr_min);
        self.lr_min + 0.5 * (peak - self.lr_min) * (1.0 + (std::f64::consts::PI * x).cos())
    }

    fn warming(&self, t: usize) -> f64 {
        if let Some(from) = self.warmup_from {
            return from + (t as f64 / self.warmup_steps as f64) * (self.lr - from);
        }
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

/// The share of a time budget in which an exponential decay runs (at the
/// end of the budget). A cosine keeps its rate near the peak for its first
/// part by its shape, so it is spread over the whole budget; an exponential
/// falls fastest at its start, and deepmd-kit's falls 4.5 decades, so
/// spread over a whole 60 s budget it left half the run below 6e-3 of the
/// peak rate. Measured on water with deepmd-kit's long schedule and 60 s
/// (docs/benchmarks.md), force error on data_3: 284 meV/Å over the whole
/// budget, 166 in the last half, 150 in the last quarter, 144 in the last
/// 15 %, 140 in the last 10 %.
pub const EXPONENTIAL_TAIL: f64 = 0.1;

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
            warmup_from: None,
            decay: Decay::Cosine,
            total_steps: 110,
            decay_steps: None,
            restarts: None,
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
            warmup_from: None,
            decay: Decay::Cosine,
            total_steps: usize::MAX,
            decay_steps: None,
            restarts: None,
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
            warmup_from: None,
            decay: Decay::Exponential,
            total_steps: 1_000_000,
            decay_steps: Some(5000),
            restarts: None,
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

    /// By the clock, a cosine spreads over the whole budget and an
    /// exponential runs in its last EXPONENTIAL_TAIL.
    #[test]
    fn exponential_decays_run_in_the_budget_s_tail() {
        let mut s = Schedule {
            lr: 1e-3,
            lr_min: 1e-7,
            warmup_steps: 0,
            warmup_from: None,
            decay: Decay::Cosine,
            total_steps: 1_000_000,
            decay_steps: Some(5000),
            restarts: None,
        };
        assert_eq!(s.by_clock(0.5), 0.5);
        s.decay = Decay::Exponential;
        let tail_start = 1.0 - EXPONENTIAL_TAIL;
        assert_eq!(s.by_clock(0.5), 0.0);
        assert_eq!(s.by_clock(tail_start), 0.0);
        assert!((s.by_clock(1.0) - 1.0).abs() < 1e-12);
        // Half-way through the tail: half-way down in log.
        let half = s.at(10, s.by_clock(1.0 - EXPONENTIAL_TAIL / 2.0));
        assert!((half - 1e-5).abs() < 1e-12, "{half}");
        assert_eq!(s.at(10, s.by_clock(0.5)), 1e-3);
    }

    /// deepmd-kit's stepped exponential decay: lr0·r^⌊t/s⌋, r =
    /// (lr_stop/lr0)^(s/T), never below lr_stop.
    #[test]
    fn stepped_exponential_decay() {
        let s = Schedule {
            lr: 1e-3,
            lr_min: 3.51e-8,
            warmup_steps: 0,
            warmup_from: None,
            decay: Decay::Exponential,
            total_steps: 100_000,
            decay_steps: Some(2000),
            restarts: None,
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

    /// GNEP's `lr_cos_restart` as its fitness.cu computes it (spec §2.3):
    /// the ramp from stop_lr, then integer cycle lengths ⌊P0·f^c⌋, the cycle found
    /// by walking while cum + len ≤ k, the last one cut at the end.
    #[allow(clippy::too_many_arguments)]
    fn gnep_restart_lr(
        s: usize,
        w: usize,
        s_max: usize,
        p0: usize,
        fp: f64,
        fd: f64,
        start: f64,
        stop: f64,
    ) -> f64 {
        if s < w {
            return stop + (s as f64 / w as f64) * (start - stop);
        }
        let (k, total) = (s - w, s_max - w);
        let (mut cum, mut c, mut len) = (0, 0, p0);
        while cum + len <= k {
            cum += len;
            c += 1;
            len = (p0 as f64 * fp.powi(c)) as usize;
        }
        if cum + len > total {
            len = total - cum;
        }
        let x = (k - cum) as f64 / len as f64;
        let peak = (start * fd.powi(c)).max(stop);
        stop + (peak - stop) * 0.5 * (1.0 + (std::f64::consts::PI * x).cos())
    }

    fn restarting(w: usize, total: usize, period: usize, fp: f64, fd: f64) -> Schedule {
        Schedule {
            lr: 1e-3,
            lr_min: 1e-7,
            warmup_steps: w,
            warmup_from: None,
            decay: Decay::Cosine,
            total_steps: total,
            decay_steps: None,
            restarts: Some(Restarts {
                period,
                period_factor: fp,
                decay_factor: fd,
            }),
        }
    }

    #[test]
    fn restarts_follow_gnep_s_formula() {
        // GNEP's defaults (warm-up 1 epoch, 10-epoch first cycle, ×2, ×0.8)
        // with 7 batches per epoch and 50 epochs; and a factor whose cycle
        // lengths are not whole (1.5) with a 3-epoch warm-up.
        for (nb, we, p0e, fp, fd) in [(7, 1, 10, 2.0, 0.8), (3, 3, 4, 1.5, 0.5)] {
            let (w, s_max) = (we * nb, 50 * nb);
            let mut s = restarting(w, s_max, p0e * nb, fp, fd);
            s.warmup_from = Some(1e-7);
            for step in 0..s_max {
                let expected = gnep_restart_lr(step, w, s_max, p0e * nb, fp, fd, 1e-3, 1e-7);
                let got = s.at(step, 0.0);
                assert!(
                    (got - expected).abs() <= 1e-15 + 1e-12 * expected,
                    "step {step}: {got} vs {expected}"
                );
            }
            assert_eq!(s.at(s_max, 0.0), 1e-7);
        }
        // The first cycle restarts at its peak lr·0.8 after 70 steps.
        let s = restarting(7, 350, 70, 2.0, 0.8);
        assert!((s.at(7, 0.0) - 1e-3).abs() < 1e-18);
        assert!((s.at(77, 0.0) - 0.8e-3).abs() < 1e-18);
        assert!((s.at(217, 0.0) - 0.64e-3).abs() < 1e-18);
    }

    /// With a time budget the end is projected from the clock: the cycle
    /// holding it is cut there, and the time's end is lr_min.
    #[test]
    fn restarts_anneal_to_the_time_budget() {
        let s = restarting(0, usize::MAX, 300, 2.0, 0.8);
        // Step 100 at half the time: the run ends near step 200, inside
        // the first cycle, which is cut to 200 steps: half-way down.
        let mid = 1e-7 + 0.5 * (1e-3 - 1e-7);
        assert!((s.at(100, 0.5) - mid).abs() < 1e-15);
        assert_eq!(s.at(100, 1.0), 1e-7);
        // A planned run whose clock is ahead: the same projection.
        let planned = restarting(0, 10_000, 300, 2.0, 0.8);
        assert!((planned.at(100, 0.5) - mid).abs() < 1e-15);
        // Steps ahead of the clock: the plan as without a budget.
        assert_eq!(planned.at(5000, 0.1), planned.at(5000, 0.0));
        // Step 0 with some time spent: the start of the first cycle.
        assert!((s.at(0, 0.3) - 1e-3).abs() < 1e-18);
    }

    #[test]
    fn restarts_are_validated() {
        let ok = Restarts {
            period: 10,
            period_factor: 2.0,
            decay_factor: 0.8,
        };
        assert!(ok.validate().is_ok());
        let bad = [
            Restarts { period: 0, ..ok },
            Restarts {
                period_factor: 0.5,
                ..ok
            },
            Restarts {
                decay_factor: 0.0,
                ..ok
            },
        ];
        for r in bad {
            assert!(r.validate().is_err(), "{r:?}");
        }
    }

    /// GNEP's warm-up: from stop_lr at step 0 up a straight line that
    /// would reach lr at step W.
    #[test]
    fn warmup_from_a_given_rate() {
        let mut s = restarting(10, 100, 30, 2.0, 0.8);
        s.warmup_from = Some(1e-7);
        assert_eq!(s.at(0, 0.0), 1e-7);
        assert!((s.at(5, 0.0) - (1e-7 + 0.5 * (1e-3 - 1e-7))).abs() < 1e-18);
        assert!((s.at(10, 0.0) - 1e-3).abs() < 1e-18);
    }
}
