//! The force part of the loss gradient by directional derivatives, for any
//! [`Model`] that has ∇θE (Smith, Lubbers, Thompson & Barros, "Simple and
//! efficient algorithms for training machine learning potentials to force
//! data").
//!
//! With g_i = ∂L/∂F_i the force adjoint of one structure and F = −∂E/∂r,
//!
//! ∇θ Σ_i g_i·F_i = −∇θ (g·∂E/∂r) ≈ −[∇θE(r + ηg) − ∇θE(r − ηg)] / (2η),
//!
//! a central difference along the direction g in configuration space,
//! with η = ε·a0/g0, a0 = 1 Å and g0 = max_i |g_i| (so that no atom moves
//! by more than ε Å; the step is scaled per structure). The error is
//! O(ε²) truncation plus O(u/ε) rounding (u the machine epsilon); ε ≈ 1e-5
//! balances the two in float64.
//!
//! The displaced structures reuse the neighbour pairs of the original: each
//! pair vector becomes r_ij + η s (g_j − g_i), s = ±1, and no list is
//! rebuilt. A pair that would cross the cutoff within the step does not
//! matter, because every model's cutoff functions go to zero smoothly (with
//! their derivatives) at the cutoff: such a pair contributes O(η²) or less
//! to both energies.
//!
//! The virial is not covered by the method (the displacement does not
//! strain the cell). In the directional mode the energy and virial parts
//! of the gradient come from the exact [`Model::vjp`] with the force
//! adjoint zeroed ([`gradient`]), and only the force part is directional.

use crate::model::{Adjoint, Model, Prediction, Prepared};

/// Reference length a0 of the step, Å.
pub const A0: f64 = 1.0;

/// Which scale g0 the step η = ε·a0/g0 uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepScale {
    /// g0 = max_i |g_i| per structure (the method as published).
    MaxAdjoint,
    /// g0 = 1 (in the adjoint's units): no scaling, for comparison.
    Unit,
}

/// The step η = ε·a0/g0 for force adjoint `g`, or `None` when the adjoint
/// is zero (or absent), in which case the force part is zero.
pub fn step(g: &[[f64; 3]], epsilon: f64, scale: StepScale) -> Option<f64> {
    let g0 = g
        .iter()
        .map(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt())
        .fold(0.0, f64::max);
    if g0 == 0.0 || !g0.is_finite() {
        return None;
    }
    Some(match scale {
        StepScale::MaxAdjoint => epsilon * A0 / g0,
        StepScale::Unit => epsilon * A0,
    })
}

/// A copy of `s` with every atom moved by `h·g_i` (missing entries of `g`
/// count as zero) and the pair vectors moved to match, without rebuilding
/// the neighbour list.
pub fn displaced(s: &Prepared, g: &[[f64; 3]], h: f64) -> Prepared {
    let mut d = s.clone();
    d.cache = crate::model::StructureCache::new();
    let at = |i: usize| g.get(i).copied().unwrap_or([0.0; 3]);
    for (i, r) in d.structure.positions.iter_mut().enumerate() {
        let gi = at(i);
        for a in 0..3 {
            r[a] += h * gi[a];
        }
    }
    for i in 0..d.structure.n_atoms() {
        let gi = at(i);
        for p in d.neighbors.range(i) {
            let gj = at(d.neighbors.index[p] as usize);
            let v = &mut d.neighbors.vector[p];
            for a in 0..3 {
                v[a] += h * (gj[a] - gi[a]);
            }
        }
    }
    d
}

/// Accumulates the directional estimate of ∇θ Σ_i g_i·F_i into `grad`
/// for the explicit step `eta` (Å per unit of g).
pub fn force_gradient_with_step(
    model: &dyn Model,
    s: &Prepared,
    g: &[[f64; 3]],
    eta: f64,
    grad: &mut [f64],
) {
    let mut diff = vec![0.0; grad.len()];
    let unit = |e: f64| Adjoint {
        energy: e,
        ..Adjoint::default()
    };
    model.vjp(&displaced(s, g, eta), &unit(1.0), &mut diff);
    model.vjp(&displaced(s, g, -eta), &unit(-1.0), &mut diff);
    let c = -1.0 / (2.0 * eta);
    for (acc, d) in grad.iter_mut().zip(&diff) {
        *acc += c * d;
    }
}

/// Accumulates the directional estimate of ∇θ Σ_i g_i·F_i into `grad`,
/// with g = `forces_adjoint` and η = ε·a0/max_i|g_i|. Does nothing when g
/// is zero or empty.
pub fn force_gradient(
    model: &dyn Model,
    s: &Prepared,
    forces_adjoint: &[[f64; 3]],
    epsilon: f64,
    grad: &mut [f64],
) {
    if let Some(eta) = step(forces_adjoint, epsilon, StepScale::MaxAdjoint) {
        force_gradient_with_step(model, s, forces_adjoint, eta, grad);
    }
}

/// The energy and virial parts of the gradient, exactly: [`Model::vjp`]
/// with the force adjoint zeroed. The directional method cannot give the
/// virial part (it moves atoms, it does not strain the cell).
pub(crate) fn virial_part(model: &dyn Model, s: &Prepared, adj: &Adjoint, grad: &mut [f64]) {
    if adj.energy != 0.0 || adj.virial != [0.0; 9] {
        let exact = Adjoint {
            energy: adj.energy,
            forces: Vec::new(),
            virial: adj.virial,
        };
        model.vjp(s, &exact, grad);
    }
}

/// Accumulates ∇θ[aE·E + Σ aF_i·F_i + aW:W] into `grad`: the energy and
/// virial parts exactly, the force part by directional derivatives with
/// relative step `epsilon`. The drop-in for [`Model::vjp`] in the
/// directional training mode.
pub fn gradient(model: &dyn Model, s: &Prepared, adj: &Adjoint, epsilon: f64, grad: &mut [f64]) {
    virial_part(model, s, adj, grad);
    force_gradient(model, s, &adj.forces, epsilon, grad);
}

/// The paper's error proxy for the force loss,
///
/// L̃ = −[E(r + ηg) − E(r − ηg)] / (4η) − ½ Σ_i g_i·f_i,
///
/// with f the reference (label) forces of `s` (zero when absent). Our
/// reading: the first term is the directional estimate of ½ Σ g_i·F_i
/// (F the predicted forces), so L̃ estimates ½ Σ g_i·(F_i − f_i), which is
/// exactly the force term of an MSE loss when g = ∂L/∂F (L = λ Σ w|ΔF|²/n
/// gives g = 2λwΔF/n). [`exact_proxy`] is the same quantity from the
/// predicted forces; the difference measures the directional error in
/// the loss value. `None` when g is zero.
pub fn loss_proxy(
    model: &dyn Model,
    s: &Prepared,
    forces_adjoint: &[[f64; 3]],
    epsilon: f64,
    scale: StepScale,
) -> Option<f64> {
    let eta = step(forces_adjoint, epsilon, scale)?;
    let mut p = Prediction::default();
    model.predict(&displaced(s, forces_adjoint, eta), &mut p);
    let plus = p.energy;
    model.predict(&displaced(s, forces_adjoint, -eta), &mut p);
    let minus = p.energy;
    let labels = label_dot(s, forces_adjoint);
    Some(-(plus - minus) / (4.0 * eta) - 0.5 * labels)
}

/// ½ Σ_i g_i·(F_i − f_i) from the predicted forces `forces`: the exact value
/// that [`loss_proxy`] estimates.
pub fn exact_proxy(s: &Prepared, forces_adjoint: &[[f64; 3]], forces: &[[f64; 3]]) -> f64 {
    let predicted: f64 = forces_adjoint
        .iter()
        .zip(forces)
        .map(|(g, f)| g[0] * f[0] + g[1] * f[1] + g[2] * f[2])
        .sum();
    0.5 * (predicted - label_dot(s, forces_adjoint))
}

/// Σ_i g_i·f_i over the label forces of `s` (zero without labels).
fn label_dot(s: &Prepared, g: &[[f64; 3]]) -> f64 {
    s.structure.labels.forces.as_ref().map_or(0.0, |f| {
        g.iter()
            .zip(f)
            .map(|(g, f)| g[0] * f[0] + g[1] * f[1] + g[2] * f[2])
            .sum()
    })
}
