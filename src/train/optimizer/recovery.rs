//! What the loop does after a diverged step: the optimizer goes back to
//! its last good state, and the user is told what to change when that
//! keeps happening.

use super::state::OptimizerState;

/// How the loop recovers from a diverged step.
pub enum Recovery {
    /// Restored parameters, Kalman filter restarted (its snapshot keeps no
    /// covariance).
    RestartFilter,
    /// Restored parameters and optimizer state; halve the learning rate.
    HalveLearningRate,
}

impl OptimizerState {
    /// Restores `snapshot` after a diverged step and says what else to do.
    pub fn recover(&mut self, snapshot: &OptimizerState) -> Recovery {
        *self = snapshot.clone();
        match self {
            OptimizerState::Kalman(k) => {
                k.restart();
                Recovery::RestartFilter
            }
            _ => Recovery::HalveLearningRate,
        }
    }

    /// What to change when the run keeps diverging.
    pub fn divergence_advice(&self, lr: f64) -> String {
        match self {
            OptimizerState::Kalman(_) => "lower optimizer.p_max or raise optimizer.lambda0".into(),
            OptimizerState::Snes(_) => "lower optimizer.sigma0".into(),
            OptimizerState::Adam(_) => format!("lower optimizer.lr (now {lr:.3e})"),
        }
    }
}
