//! The optimizer's state: everything of it a checkpoint keeps.

use crate::optim::{Adam, Kalman, Snes};
use serde::{Deserialize, Serialize};

/// Optimizer state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerState {
    /// Adam or AdamW.
    Adam(Adam),
    /// SNES.
    Snes(Snes),
    /// FEKF or RLEKF (covariances in the side file).
    Kalman(Kalman),
}

impl OptimizerState {
    /// The optimizer's name, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            OptimizerState::Adam(_) => "Adam",
            OptimizerState::Snes(_) => "SNES",
            OptimizerState::Kalman(_) => "Kalman-filter",
        }
    }

    /// Whether the optimizer follows the learning-rate schedule.
    pub fn has_learning_rate(&self) -> bool {
        matches!(self, OptimizerState::Adam(_))
    }

    /// A copy without the Kalman covariances (all of it for Adam and SNES):
    /// what a snapshot or the checkpoint JSON keeps.
    pub fn light_copy(&self) -> Self {
        match self {
            OptimizerState::Kalman(k) => OptimizerState::Kalman(k.without_covariance()),
            other => other.clone(),
        }
    }
}
