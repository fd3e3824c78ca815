//! The mutable state of a training run, all of which a checkpoint saves,
//! and its restoration on `--resume` (every array checked against the
//! model it restores).

use super::checkpoint::Checkpoint;
use super::log::{LcurveRow, LogRow};
use super::optimizer::OptimizerState;
use crate::dist::Comm;
use crate::error::{Error, Result};
use crate::model::{AnyModel, Model};
use crate::optim::Kalman;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Everything that changes while a run goes on.
pub struct State {
    /// The model being trained.
    pub model: AnyModel,
    /// The optimizer's state.
    pub optimizer: OptimizerState,
    /// The random generator of batches, force masks and Kalman atoms.
    pub rng: ChaCha8Rng,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps completed.
    pub step: usize,
    /// Learning-rate factor after divergence recoveries.
    pub lr_scale: f64,
    /// Wall time of earlier sessions of this run, s.
    pub elapsed_before: f64,
    /// Parameters of the best model so far.
    pub best_params: Vec<f64>,
    /// Its selection loss.
    pub best_loss: f64,
    /// The epoch it was reached at.
    pub best_epoch: usize,
    /// Divergence recoveries so far.
    pub recoveries: usize,
    /// The per-epoch log.
    pub log: Vec<LogRow>,
    /// The learning-curve lines (`train.lcurve_every`).
    pub lcurve: Vec<LcurveRow>,
}

impl State {
    /// A fresh run of `model` with `optimizer`, batches drawn from `seed`.
    pub fn new(model: AnyModel, optimizer: OptimizerState, seed: u64) -> Self {
        State {
            best_params: model.params().to_vec(),
            model,
            optimizer,
            rng: ChaCha8Rng::seed_from_u64(seed.wrapping_add(1)),
            epoch: 0,
            step: 0,
            lr_scale: 1.0,
            elapsed_before: 0.0,
            best_loss: f64::INFINITY,
            best_epoch: 0,
            recoveries: 0,
            log: Vec::new(),
            lcurve: Vec::new(),
        }
    }

    /// The Kalman filter, for the Kalman optimizers.
    pub fn kalman(&self) -> Option<&Kalman> {
        match &self.optimizer {
            OptimizerState::Kalman(k) => Some(k),
            _ => None,
        }
    }

    /// Writes the checkpoint (and the Kalman side file) atomically: every
    /// rank of `comm` takes part (each sends its Kalman blocks), rank 0
    /// writes.
    pub fn save(
        &self,
        config_text: &str,
        elapsed: f64,
        path: &Path,
        comm: &dyn Comm,
    ) -> Result<()> {
        self.checkpoint(config_text, elapsed)
            .save(path, self.kalman(), comm)
    }

    fn checkpoint(&self, config_text: &str, elapsed: f64) -> Checkpoint {
        let mut c = Checkpoint {
            format: String::new(),
            version: 0,
            config: config_text.to_string(),
            epoch: self.epoch,
            step: self.step,
            lr_scale: self.lr_scale,
            elapsed_s: elapsed,
            rng_seed: self.rng.get_seed(),
            rng_word_pos: self.rng.get_word_pos().to_string(),
            params: self.model.params().to_vec(),
            model_state: self.model.state(),
            optimizer: self.optimizer.light_copy(),
            covariance: None,
            best_params: self.best_params.clone(),
            best_loss: self.best_loss,
            best_epoch: self.best_epoch,
            recoveries: self.recoveries,
            log: self.log.clone(),
            lcurve: self.lcurve.clone(),
        };
        c.stamp();
        c
    }

    /// Continues from checkpoint `c` (read from `path`): every array must
    /// fit the configured model and optimizer, or the field is named.
    pub fn restore(&mut self, c: Checkpoint, path: &Path) -> Result<()> {
        let n = self.model.params().len();
        let bad = |m: String| Error::file(path, format!("cannot resume: {m}"));
        check_params("params", &c.params, n).map_err(bad)?;
        check_params("best_params", &c.best_params, n).map_err(bad)?;
        c.optimizer.check(&self.optimizer, n).map_err(bad)?;
        check_counters(&c).map_err(bad)?;
        self.model
            .restore_state(c.model_state)
            .map_err(|e| bad(format!("model_state: {e}")))?;
        self.model.params_mut().copy_from_slice(&c.params);
        self.optimizer = c.optimizer;
        let pos: u128 = c
            .rng_word_pos
            .parse()
            .map_err(|_| bad("rng_word_pos is not a whole number".into()))?;
        self.rng = ChaCha8Rng::from_seed(c.rng_seed);
        self.rng.set_word_pos(pos);
        self.epoch = c.epoch;
        self.step = c.step;
        self.lr_scale = c.lr_scale;
        self.elapsed_before = c.elapsed_s;
        self.best_params = c.best_params;
        self.best_loss = c.best_loss;
        self.best_epoch = c.best_epoch;
        self.recoveries = c.recoveries;
        self.log = c.log;
        self.lcurve = c.lcurve;
        Ok(())
    }
}

/// A parameter vector from a checkpoint must have the model's length and
/// finite values.
fn check_params(field: &str, values: &[f64], n: usize) -> std::result::Result<(), String> {
    if values.len() != n {
        return Err(format!(
            "{field} has {} values, the configured model has {n} parameters",
            values.len()
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("{field}[{i}] is not finite ({})", values[i]));
    }
    Ok(())
}

/// The scalars of a checkpoint: a learning-rate factor in (0, 1], a finite
/// non-negative wall time, a best loss that is a number, and a best epoch
/// not after the last one.
fn check_counters(c: &Checkpoint) -> std::result::Result<(), String> {
    if !(c.lr_scale.is_finite() && c.lr_scale > 0.0 && c.lr_scale <= 1.0) {
        return Err(format!(
            "lr_scale is {}, expected a factor in (0, 1]",
            c.lr_scale
        ));
    }
    if !(c.elapsed_s.is_finite() && c.elapsed_s >= 0.0) {
        return Err(format!(
            "elapsed_s is {}, expected a non-negative number of seconds",
            c.elapsed_s
        ));
    }
    if c.best_loss.is_nan() || c.best_loss < 0.0 {
        return Err(format!(
            "best_loss is {}, expected a non-negative loss (or none yet)",
            c.best_loss
        ));
    }
    if c.best_epoch > c.epoch {
        return Err(format!(
            "best_epoch {} is after the last completed epoch {}",
            c.best_epoch, c.epoch
        ));
    }
    Ok(())
}
