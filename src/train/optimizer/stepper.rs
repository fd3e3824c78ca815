//! One optimizer step on one batch, whatever the optimizer: Adam/AdamW
//! (exact gradient), the Kalman filters (FEKF/RLEKF) and SNES. The loop
//! in `run` calls [`Stepper::step`] and reads the [`StepReport`]; it holds
//! no optimizer-specific code beyond choosing what to do on divergence.

use super::fekf::{FekfSettings, FekfStep};
use super::state::OptimizerState;
use crate::loss::{self, LossConfig, LossParts};
use crate::model::{AnyModel, Model};
use crate::train::step::{self, Batch};
use rand_chacha::ChaCha8Rng;

/// What one step did.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// Data loss parts of the batch (before the update).
    pub parts: LossParts,
    /// Data loss plus regularisation.
    pub total: f64,
    /// Learning rate used (NaN for optimizers without one).
    pub lr: f64,
    /// Measurements the Kalman filter skipped (non-finite) in this step.
    pub skipped: u64,
    /// Why the step was not taken (non-finite loss or gradient, or a loss
    /// far above the last epoch's): the loop restores the last good state.
    pub diverged: Option<String>,
}

/// Scratch and settings shared by every step of a run.
pub struct Stepper {
    weights: LossConfig,
    fekf_settings: FekfSettings,
    grad: Vec<f64>,
    /// FEKF scratch and its time split.
    pub fekf: FekfStep,
    candidates: Vec<Vec<f64>>,
    /// SNES's copy of the model for evaluating candidates, made at its
    /// first step (the other optimizers need none).
    work: Option<AnyModel>,
}

impl Stepper {
    /// Scratch for `model` with these loss weights and FEKF settings.
    pub fn new(model: &AnyModel, weights: LossConfig, fekf_settings: FekfSettings) -> Self {
        let n = model.params().len();
        Stepper {
            weights,
            fekf_settings,
            grad: vec![0.0; n],
            fekf: FekfStep::new(n),
            candidates: Vec::new(),
            work: None,
        }
    }

    /// One step of `optimizer` on `batch`. `lr` is the scheduled learning
    /// rate, `used(k, i)` whether atom i of structure k has its force in
    /// the loss, `reference` the last epoch's mean loss (a step whose loss
    /// exceeds 100 times it is not taken).
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        optimizer: &mut OptimizerState,
        model: &mut AnyModel,
        batch: &Batch,
        used: impl Fn(usize, usize) -> bool,
        lr: f64,
        reference: f64,
        rng: &mut ChaCha8Rng,
    ) -> StepReport {
        // Weights that follow the learning rate take this step's values.
        let weights = self.weights.at_lr(lr);
        let mut report = match optimizer {
            OptimizerState::Adam(adam) => {
                let parts = step::loss_and_gradient(model, batch, &weights, used, &mut self.grad);
                let total =
                    parts.total + loss::regularization(&weights, model.params(), &mut self.grad);
                let diverged = if !self.grad.iter().all(|g| g.is_finite()) {
                    Some("non-finite gradient".to_string())
                } else {
                    None
                };
                if diverged.is_none() && total.is_finite() && total <= 100.0 * reference {
                    adam.step(model.params_mut(), &self.grad, lr);
                }
                report(parts, total, lr, diverged)
            }
            OptimizerState::Snes(snes) => {
                self.candidates.resize(snes.population(), Vec::new());
                snes.ask(rng, &mut self.candidates);
                let mut fitness = Vec::with_capacity(self.candidates.len());
                let work = self.work.get_or_insert_with(|| model.clone());
                for c in &self.candidates {
                    work.params_mut().copy_from_slice(c);
                    let p = step::loss(work, batch, &weights, &used);
                    let [l1, l2] = loss::regularization_terms(&weights, c);
                    fitness.push(p.total + l1 + l2);
                }
                snes.tell(&fitness);
                model.params_mut().copy_from_slice(&snes.mu);
                let parts = step::loss(model, batch, &weights, &used);
                let [l1, l2] = loss::regularization_terms(&weights, model.params());
                report(parts, parts.total + l1 + l2, f64::NAN, None)
            }
            OptimizerState::Kalman(kalman) => {
                let (parts, skipped) =
                    self.fekf
                        .run(model, kalman, batch, &self.fekf_settings, &weights, rng);
                let mut r = report(parts, parts.total, f64::NAN, None);
                r.skipped = skipped;
                r
            }
        };
        if report.diverged.is_none() {
            if !report.total.is_finite() {
                report.diverged = Some(format!("loss {:.3e}", report.total));
            } else if report.total > 100.0 * reference {
                report.diverged = Some(format!(
                    "loss {:.3e} (epoch reference {reference:.3e})",
                    report.total
                ));
            }
        }
        report
    }
}

fn report(parts: LossParts, total: f64, lr: f64, diverged: Option<String>) -> StepReport {
    StepReport {
        parts,
        total,
        lr,
        skipped: 0,
        diverged,
    }
}
