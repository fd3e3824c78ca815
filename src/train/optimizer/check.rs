//! The checks a restored optimizer state must pass against the optimizer
//! the configuration builds fresh, before a run resumes from it.

use super::state::OptimizerState;
use crate::optim::Kalman;

impl OptimizerState {
    /// Checks restored state against a model of `n` parameters and
    /// `fresh`, the optimizer the configuration builds: the kind, every
    /// array's length and finiteness, and the hyperparameters a checkpoint
    /// repeats (they come from the configuration, so a difference means a
    /// damaged or foreign file).
    pub fn check(&self, fresh: &OptimizerState, n: usize) -> std::result::Result<(), String> {
        match (self, fresh) {
            (OptimizerState::Adam(a), OptimizerState::Adam(f)) => {
                a.check(n)?;
                same("optimizer (Adam): beta1", a.beta1, f.beta1)?;
                same("optimizer (Adam): beta2", a.beta2, f.beta2)?;
                same("optimizer (Adam): eps", a.eps, f.eps)?;
                same(
                    "optimizer (Adam): weight_decay",
                    a.weight_decay,
                    f.weight_decay,
                )
            }
            (OptimizerState::Snes(s), OptimizerState::Snes(f)) => {
                s.check(n)?;
                if s.population() != f.population() {
                    return Err(format!(
                        "optimizer (SNES): the population is {}, the configuration gives {}",
                        s.population(),
                        f.population()
                    ));
                }
                Ok(())
            }
            (OptimizerState::Kalman(k), OptimizerState::Kalman(f)) => check_kalman(k, f),
            _ => Err(format!(
                "optimizer: the checkpoint holds {} state, the configuration asks for {}",
                self.kind_name(),
                fresh.kind_name()
            )),
        }
    }
}

impl OptimizerState {
    /// Stores a restored Kalman filter's covariance as `fresh` (the
    /// configured optimizer) does, converting it when the checkpoint
    /// recorded another precision (one written before the setting existed,
    /// or under another default); what was converted, to tell the user.
    pub fn adopt_storage(&mut self, fresh: &OptimizerState) -> Option<String> {
        let (OptimizerState::Kalman(k), OptimizerState::Kalman(f)) = (self, fresh) else {
            return None;
        };
        let (from, to) = (k.precision(), f.precision());
        if from == to {
            return None;
        }
        k.convert(to);
        Some(format!(
            "the Kalman covariance was stored as {}; converted to {} (optimizer.covariance_precision)",
            from.name(),
            to.name()
        ))
    }
}

/// A hyperparameter stored in the checkpoint must equal the configured one.
fn same(field: &str, stored: f64, configured: f64) -> std::result::Result<(), String> {
    if stored.to_bits() == configured.to_bits() {
        return Ok(());
    }
    Err(format!(
        "{field} is {stored}, the configuration gives {configured}"
    ))
}

/// A Kalman filter from a checkpoint must have the blocks and settings the
/// configuration gives and a memory factor in (0, 1].
fn check_kalman(k: &Kalman, fresh: &Kalman) -> std::result::Result<(), String> {
    if k.blocks() != fresh.blocks() {
        return Err(format!(
            "optimizer (Kalman): the checkpoint has {} covariance blocks covering {} parameters, \
             the configured model and block_size give {} blocks covering {}",
            k.blocks().len(),
            k.blocks().last().map_or(0, |b| b.end),
            fresh.blocks().len(),
            fresh.blocks().last().map_or(0, |b| b.end)
        ));
    }
    if k.settings != fresh.settings {
        return Err(format!(
            "optimizer (Kalman): settings {:?} differ from the configured {:?}",
            k.settings, fresh.settings
        ));
    }
    if !(k.lambda.is_finite() && k.lambda > 0.0 && k.lambda <= 1.0) {
        return Err(format!(
            "optimizer (Kalman): lambda is {}, expected a memory factor in (0, 1]",
            k.lambda
        ));
    }
    Ok(())
}
