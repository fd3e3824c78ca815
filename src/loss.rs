//! The training loss: weighted errors of energy per atom, force components
//! and virial per atom, and the adjoint (∂L/∂E, ∂L/∂F, ∂L/∂W) per
//! structure that [`crate::model::Model::vjp`] carries to the parameters.
//!
//! For a batch, with w_s the structure weights and Δ = prediction − label:
//!
//! - MSE_E = Σ_s w_s (ΔE_s / N_s)² / Σ_s w_s over structures with an energy;
//! - MSE_F = Σ_s w_s Σ_i |ΔF_i|² / Σ_s w_s 3 N_s over the force atoms used
//!   (all of them, or the random fraction chosen for this step);
//! - MSE_W = Σ_s w_s Σ_c (ΔW_c / N_s)² / Σ_s 6 w_s over xx yy zz xy yz zx of
//!   structures with a virial.
//!
//! `kind = Mse`: L = λe MSE_E + λf MSE_F + λv MSE_W. `kind = Rmse` (GPUMD's
//! choice): L = λe √MSE_E + λf √MSE_F + λv √MSE_W, which balances the terms
//! by their current size. Regularisation (λ1 Σ|θ|/n, λ2 Σθ²/n) is added by
//! [`regularization`].
//!
//! GPUMD's per-atom and per-component weights (`type_weight`, `force_delta`,
//! `lambda_shear`) enter the loss, not the reported errors: in L each |ΔF_i|²
//! is multiplied by a_i = w_{t(i)}² · δ/(δ + |F_ref,i|) (the second factor
//! only when δ > 0) and each shear component (xy yz zx) of ΔW² by λs². The
//! denominators stay 3 N and 6 (GPUMD's `gpu_sum_force_error` and
//! `get_rmse_virial` divide by the atom and component counts, not by the
//! sum of the weights), so a weight of 2 on every atom quadruples MSE_F in
//! L. [`LossParts`]' `*_mse` are the unweighted means that are reported
//! (GPUMD reports with `use_weight = false`); `total` is the weighted loss.

use crate::dist::{Comm, Local, exact};
use crate::model::{Adjoint, Prediction};
use crate::structure::Structure;
use std::collections::BTreeMap;

use crate::structure::VIRIAL_COMPONENTS;

/// How the three error terms are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Weighted sum of mean squared errors.
    Mse,
    /// Weighted sum of root mean squared errors (GPUMD).
    Rmse,
}

/// How the force part of the loss gradient is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForceGradient {
    /// The model's exact vector-Jacobian product (`Model::vjp`).
    #[default]
    Exact,
    /// Directional derivatives of ∇θE along the force adjoint (Smith et
    /// al.; `crate::train::directional`) with relative step `epsilon`.
    Directional {
        /// Largest atomic displacement of the step, Å.
        epsilon: f64,
    },
}

/// Loss weights.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossConfig {
    /// Weight of the energy term.
    pub lambda_e: f64,
    /// Weight of the force term.
    pub lambda_f: f64,
    /// Weight of the virial term.
    pub lambda_v: f64,
    /// L1 regularisation weight (on Σ|θ| / n_params).
    pub lambda_1: f64,
    /// L2 regularisation weight (on √(Σθ² / n_params)).
    pub lambda_2: f64,
    /// MSE or RMSE combination.
    pub kind: LossKind,
    /// How the force part of the gradient is computed (the loss value does
    /// not depend on it).
    #[serde(default)]
    pub force_gradient: ForceGradient,
    /// Weights that follow the learning rate, if any (deepmd-kit's start and
    /// limit prefactors); `lambda_*` above are then the start values.
    #[serde(default)]
    pub follow_lr: Option<FollowLr>,
    /// Per-element force weights w_t (GPUMD's `type_weight`): atom i's
    /// squared force error is multiplied by w_{t(i)}² in the loss. Elements
    /// not listed weigh 1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub type_weight: BTreeMap<String, f64>,
    /// GPUMD's `force_delta` δ: with δ > 0, atom i's squared force error is
    /// multiplied by δ/(δ + |F_ref,i|) in the loss. 0: off.
    #[serde(default)]
    pub force_delta: f64,
    /// GPUMD's `lambda_shear` λs: the squared errors of the shear virial
    /// components are multiplied by λs² in the loss.
    #[serde(default = "one")]
    pub lambda_shear: f64,
}

fn one() -> f64 {
    1.0
}

/// Whether virial component `c` (an index into the row-major 3×3 virial)
/// is a shear component: anything off the diagonal xx, yy, zz (0, 4, 8).
fn is_shear(c: usize) -> bool {
    !matches!(c, 0 | 4 | 8)
}

/// λ(t) = λ_end + (λ_start − λ_end)·lr(t)/lr_peak for the energy, force and
/// virial weights: deepmd-kit's prefactor schedule, which moves the weight
/// from forces to energies as the learning rate decays.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FollowLr {
    /// λe, λf, λv when the learning rate reaches 0.
    pub end: [f64; 3],
    /// The learning rate at which the weights equal their start values.
    pub lr_peak: f64,
}

impl LossConfig {
    /// The weights in force at learning rate `lr` (these weights when they
    /// do not follow the learning rate, or when `lr` is not a number).
    pub fn at_lr(&self, lr: f64) -> LossConfig {
        let Some(f) = self.follow_lr.filter(|_| lr.is_finite()) else {
            return self.clone();
        };
        let x = lr / f.lr_peak;
        let mix = |start: f64, end: f64| end + (start - end) * x;
        LossConfig {
            lambda_e: mix(self.lambda_e, f.end[0]),
            lambda_f: mix(self.lambda_f, f.end[1]),
            lambda_v: mix(self.lambda_v, f.end[2]),
            follow_lr: None,
            ..self.clone()
        }
    }

    /// The weights at the end of the schedule (learning rate 0): what the
    /// model is finally fitted to, and so what selects the best model.
    pub fn final_weights(&self) -> LossConfig {
        self.at_lr(0.0)
    }

    /// The factor a_i multiplying the squared force error of an atom of
    /// element `species` with reference force `reference` in the loss.
    pub fn force_factor(&self, species: &str, reference: &[f64; 3]) -> f64 {
        let w = self.type_weight.get(species).copied().unwrap_or(1.0);
        let mut a = w * w;
        if self.force_delta > 0.0 {
            let f = (reference[0].powi(2) + reference[1].powi(2) + reference[2].powi(2)).sqrt();
            a *= self.force_delta / (self.force_delta + f);
        }
        a
    }

    /// Whether any atom's force error is weighted (so that the per-atom
    /// factors must be looked up).
    pub fn weights_forces(&self) -> bool {
        self.force_delta > 0.0 || self.type_weight.values().any(|&w| w != 1.0)
    }

    /// The factor multiplying the squared error of virial component `c`
    /// (an index into the 3×3 virial) in the loss: λs² for shear, else 1.
    pub fn virial_factor(&self, c: usize) -> f64 {
        if is_shear(c) {
            self.lambda_shear * self.lambda_shear
        } else {
            1.0
        }
    }
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            lambda_e: 1.0,
            lambda_f: 1.0,
            lambda_v: 0.1,
            lambda_1: 0.0,
            lambda_2: 0.0,
            kind: LossKind::Rmse,
            force_gradient: ForceGradient::Exact,
            follow_lr: None,
            type_weight: BTreeMap::new(),
            force_delta: 0.0,
            lambda_shear: 1.0,
        }
    }
}

/// The parts of a loss evaluation. The means are weighted by the
/// structure weights only (the reported errors); `total` also carries the
/// per-atom and shear weights of [`LossConfig`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossParts {
    /// Mean squared energy error, (eV/atom)².
    pub energy_mse: f64,
    /// Mean squared force-component error, (eV/Å)².
    pub force_mse: f64,
    /// Mean squared virial error, (eV/atom)².
    pub virial_mse: f64,
    /// The combined data loss (without regularisation).
    pub total: f64,
    /// ∂total/∂MSE of the energy, force and virial terms at these errors
    /// (λ for an MSE loss, λ/(2·RMSE) for an RMSE loss, the RMSE carrying
    /// the per-atom and shear weights): what the adjoints are scaled by.
    pub slopes: [f64; 3],
}

/// One structure's share of a batch's loss, in the order [`part`] names:
/// the weighted squared-error sums (energy, force, virial; force and virial
/// again with the per-atom and shear weights of the loss) and the
/// denominators of the three means. An array, as the ranks sum it.
type Sums = [f64; 8];

/// The entries of [`Sums`].
mod part {
    pub const ENERGY: usize = 0;
    pub const FORCE: usize = 1;
    pub const VIRIAL: usize = 2;
    pub const FORCE_LOSS: usize = 3;
    pub const VIRIAL_LOSS: usize = 4;
    pub const ENERGY_NORM: usize = 5;
    pub const FORCE_NORM: usize = 6;
    pub const VIRIAL_NORM: usize = 7;
}

/// The sums of structure `k` of a batch; `factor(i)` is atom i's force
/// weight.
fn structure_sums(
    config: &LossConfig,
    s: &Structure,
    p: &Prediction,
    factor: impl Fn(usize) -> f64,
    force_used: impl Fn(usize) -> bool,
) -> Sums {
    let (w, n) = (s.labels.weight, s.n_atoms() as f64);
    let mut t: Sums = [0.0; 8];
    if let Some(e) = s.labels.energy {
        t[part::ENERGY] = w * ((p.energy - e) / n).powi(2);
        t[part::ENERGY_NORM] = w;
    }
    if let Some(f) = &s.labels.forces {
        for (i, (fp, fr)) in p.forces.iter().zip(f).enumerate() {
            if force_used(i) {
                let d2 =
                    (fp[0] - fr[0]).powi(2) + (fp[1] - fr[1]).powi(2) + (fp[2] - fr[2]).powi(2);
                t[part::FORCE] += w * d2;
                t[part::FORCE_LOSS] += w * factor(i) * d2;
                t[part::FORCE_NORM] += 3.0 * w;
            }
        }
    }
    if let Some(v) = &s.labels.virial {
        for &c in &VIRIAL_COMPONENTS {
            let d2 = ((p.virial[c] - v[c]) / n).powi(2);
            t[part::VIRIAL] += w * d2;
            t[part::VIRIAL_LOSS] += w * config.virial_factor(c) * d2;
        }
        t[part::VIRIAL_NORM] = 6.0 * w;
    }
    t
}

/// Evaluates the loss of a batch and fills one adjoint per structure.
///
/// `force_used(s, i)` says whether atom i of structure s counts in the force
/// term (for training on a fraction of forces); pass `|_, _| true` for all.
pub fn evaluate(
    config: &LossConfig,
    batch: &[(&Structure, &Prediction)],
    force_used: impl Fn(usize, usize) -> bool,
    adjoints: &mut Vec<Adjoint>,
) -> LossParts {
    evaluate_on(&Local, config, batch, force_used, adjoints)
}

/// [`evaluate`] of a batch spread over the ranks of `comm`: `batch` is
/// this rank's share; the loss is the whole batch's (the same on every
/// rank, for any split), the adjoints those of this rank's structures.
pub fn evaluate_on(
    comm: &dyn Comm,
    config: &LossConfig,
    batch: &[(&Structure, &Prediction)],
    force_used: impl Fn(usize, usize) -> bool,
    adjoints: &mut Vec<Adjoint>,
) -> LossParts {
    let weighted = config.weights_forces();
    // a_i of every atom with a force label (empty: all 1).
    let factors: Vec<Vec<f64>> = batch
        .iter()
        .map(|(s, _)| match (&s.labels.forces, weighted) {
            (Some(f), true) => s
                .species
                .iter()
                .zip(f)
                .map(|(el, fr)| config.force_factor(el, fr))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let factor = |k: usize, i: usize| factors[k].get(i).copied().unwrap_or(1.0);
    let per_structure: Vec<Sums> = batch
        .iter()
        .enumerate()
        .map(|(k, (s, p))| structure_sums(config, s, p, |i| factor(k, i), |i| force_used(k, i)))
        .collect();
    let refs: Vec<&[f64]> = per_structure.iter().map(|a| a.as_slice()).collect();
    let mut t: Sums = [0.0; 8];
    exact::sum(comm, &refs, &mut t);
    let mean = |sum: f64, norm: f64| if norm > 0.0 { sum / norm } else { 0.0 };
    let mut parts = LossParts {
        energy_mse: mean(t[part::ENERGY], t[part::ENERGY_NORM]),
        force_mse: mean(t[part::FORCE], t[part::FORCE_NORM]),
        virial_mse: mean(t[part::VIRIAL], t[part::VIRIAL_NORM]),
        total: 0.0,
        slopes: [0.0; 3],
    };
    let (mse_e, mse_f, mse_v) = (
        parts.energy_mse,
        mean(t[part::FORCE_LOSS], t[part::FORCE_NORM]),
        mean(t[part::VIRIAL_LOSS], t[part::VIRIAL_NORM]),
    );
    // d(term)/d(MSE): λ for MSE, λ / (2 √MSE) for RMSE.
    let (scale_e, scale_f, scale_v) = match config.kind {
        LossKind::Mse => {
            parts.total =
                config.lambda_e * mse_e + config.lambda_f * mse_f + config.lambda_v * mse_v;
            (config.lambda_e, config.lambda_f, config.lambda_v)
        }
        LossKind::Rmse => {
            let (re, rf, rv) = (mse_e.sqrt(), mse_f.sqrt(), mse_v.sqrt());
            parts.total = config.lambda_e * re + config.lambda_f * rf + config.lambda_v * rv;
            let d = |lambda: f64, r: f64| if r > 0.0 { lambda / (2.0 * r) } else { 0.0 };
            (
                d(config.lambda_e, re),
                d(config.lambda_f, rf),
                d(config.lambda_v, rv),
            )
        }
    };
    parts.slopes = [scale_e, scale_f, scale_v];
    adjoints.resize_with(batch.len(), Adjoint::default);
    for (k, ((s, p), adj)) in batch.iter().zip(adjoints.iter_mut()).enumerate() {
        let (w, n) = (s.labels.weight, s.n_atoms() as f64);
        adj.energy = 0.0;
        adj.virial = [0.0; 9];
        adj.forces.clear();
        if let Some(e) = s.labels.energy
            && t[part::ENERGY_NORM] > 0.0
        {
            adj.energy = scale_e * 2.0 * w * (p.energy - e) / (n * n) / t[part::ENERGY_NORM];
        }
        if let Some(f) = &s.labels.forces
            && t[part::FORCE_NORM] > 0.0
        {
            let c = scale_f * 2.0 * w / t[part::FORCE_NORM];
            adj.forces
                .extend(p.forces.iter().zip(f).enumerate().map(|(i, (fp, fr))| {
                    if force_used(k, i) {
                        let c = c * factor(k, i);
                        [
                            c * (fp[0] - fr[0]),
                            c * (fp[1] - fr[1]),
                            c * (fp[2] - fr[2]),
                        ]
                    } else {
                        [0.0; 3]
                    }
                }));
        }
        if let Some(v) = &s.labels.virial
            && t[part::VIRIAL_NORM] > 0.0
        {
            let c = scale_v * 2.0 * w / (n * n) / t[part::VIRIAL_NORM];
            for &comp in &VIRIAL_COMPONENTS {
                adj.virial[comp] = c * config.virial_factor(comp) * (p.virial[comp] - v[comp]);
            }
        }
    }
    parts
}

/// Mean absolute value and root mean square of the parameters.
fn parameter_norms(params: &[f64]) -> (f64, f64) {
    let n = params.len().max(1) as f64;
    let l1: f64 = params.iter().map(|x| x.abs()).sum();
    let rms = (params.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
    (l1 / n, rms)
}

/// The two regularisation terms, [λ1 Σ|θ|/n, λ2 √(Σθ²/n)], whose sum
/// [`regularization`] adds to the loss (GPUMD's `L_1` and `L_2` columns).
pub fn regularization_terms(config: &LossConfig, params: &[f64]) -> [f64; 2] {
    let (mean_abs, rms) = parameter_norms(params);
    [config.lambda_1 * mean_abs, config.lambda_2 * rms]
}

/// Adds GPUMD's regularisation λ1 Σ|θ|/n + λ2 √(Σθ²/n) to the loss and
/// its gradient to `grad`; returns the regularisation value.
pub fn regularization(config: &LossConfig, params: &[f64], grad: &mut [f64]) -> f64 {
    if config.lambda_1 == 0.0 && config.lambda_2 == 0.0 {
        return 0.0;
    }
    let n = params.len().max(1) as f64;
    let (mean_abs, rms) = parameter_norms(params);
    for (g, &x) in grad.iter_mut().zip(params) {
        if x != 0.0 {
            *g += config.lambda_1 * x.signum() / n;
        }
        if rms > 0.0 {
            *g += config.lambda_2 * x / (n * rms);
        }
    }
    config.lambda_1 * mean_abs + config.lambda_2 * rms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::{Labels, Origin};

    fn structure(
        n: usize,
        energy: Option<f64>,
        forces: bool,
        virial: bool,
        weight: f64,
    ) -> Structure {
        Structure {
            species: vec!["Si".into(); n],
            positions: vec![[0.0; 3]; n],
            cell: None,
            pbc: [false; 3],
            labels: Labels {
                energy,
                forces: forces.then(|| (0..n).map(|i| [0.1 * i as f64, -0.2, 0.3]).collect()),
                virial: virial.then(|| std::array::from_fn(|c| 0.05 * c as f64 - 0.2)),
                weight,
                config_type: None,
            },
            origin: Origin::default(),
        }
    }

    fn prediction(n: usize, shift: f64) -> Prediction {
        Prediction {
            energy: -3.0 * n as f64 + shift,
            atomic_energies: vec![0.0; n],
            forces: (0..n)
                .map(|i| [0.3 - 0.1 * i as f64, shift, -0.4])
                .collect(),
            virial: std::array::from_fn(|c| 0.3 - 0.07 * c as f64 + shift),
        }
    }

    /// The adjoint is the derivative of the loss with respect to every
    /// predicted number (central differences), for both combinations.
    #[test]
    fn adjoint_matches_finite_differences() {
        let structures = [
            structure(3, Some(-9.5), true, true, 1.0),
            structure(2, Some(-6.2), true, false, 2.5),
            structure(4, None, true, true, 0.5),
            structure(1, Some(-2.9), false, true, 1.0),
        ];
        let predictions: Vec<Prediction> = [0.2, -0.4, 0.1, 0.3]
            .iter()
            .enumerate()
            .map(|(k, &s)| prediction(structures[k].n_atoms(), s))
            .collect();
        let used = |k: usize, i: usize| !(k == 2 && i == 1);
        for kind in [LossKind::Mse, LossKind::Rmse] {
            let config = LossConfig {
                lambda_e: 1.3,
                lambda_f: 0.7,
                lambda_v: 0.4,
                kind,
                ..LossConfig::default()
            };
            assert_adjoint_matches_fd(&config, &structures, &predictions, used);
        }
    }

    /// Every component of the loss adjoint (energy, forces, virial) of
    /// `config` on the batch against central differences of the loss.
    fn assert_adjoint_matches_fd(
        config: &LossConfig,
        structures: &[Structure],
        predictions: &[Prediction],
        used: impl Fn(usize, usize) -> bool + Copy,
    ) {
        let kind = config.kind;
        let loss_of = |preds: &[Prediction]| {
            let batch: Vec<(&Structure, &Prediction)> = structures.iter().zip(preds).collect();
            evaluate(config, &batch, used, &mut Vec::new()).total
        };
        let batch: Vec<(&Structure, &Prediction)> = structures.iter().zip(predictions).collect();
        let mut adjoints = Vec::new();
        evaluate(config, &batch, used, &mut adjoints);
        let h = 1e-6;
        let check = |analytic: f64, perturb: &dyn Fn(&mut Vec<Prediction>, f64)| {
            let (mut plus, mut minus) = (predictions.to_vec(), predictions.to_vec());
            perturb(&mut plus, h);
            perturb(&mut minus, -h);
            let fd = (loss_of(&plus) - loss_of(&minus)) / (2.0 * h);
            assert!(
                (analytic - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                "{kind:?}: {analytic} vs {fd}"
            );
        };
        for k in 0..structures.len() {
            check(adjoints[k].energy, &|p, d| p[k].energy += d);
            for i in 0..structures[k].n_atoms() {
                for a in 0..3 {
                    let analytic = adjoints[k].forces.get(i).map_or(0.0, |f| f[a]);
                    check(analytic, &|p, d| p[k].forces[i][a] += d);
                }
            }
            for c in 0..9 {
                check(adjoints[k].virial[c], &|p, d| p[k].virial[c] += d);
            }
        }
    }

    /// Structures of two elements (Pb on even atoms, Te on odd ones).
    fn mixed(structures: &mut [Structure]) {
        for s in structures {
            for (i, sp) in s.species.iter_mut().enumerate() {
                *sp = if i % 2 == 0 { "Pb" } else { "Te" }.into();
            }
        }
    }

    fn weighted_config(kind: LossKind) -> LossConfig {
        LossConfig {
            lambda_e: 1.3,
            lambda_f: 0.7,
            lambda_v: 0.4,
            kind,
            type_weight: [("Pb".to_string(), 2.0), ("Te".to_string(), 0.5)].into(),
            force_delta: 0.8,
            lambda_shear: 0.3,
            ..LossConfig::default()
        }
    }

    /// The per-atom and shear weights: the loss by hand, its adjoint by
    /// finite differences, and the unweighted reported means.
    #[test]
    fn weighted_loss_by_hand_and_adjoint() {
        let mut structures = [
            structure(3, Some(-9.5), true, true, 1.0),
            structure(2, Some(-6.2), true, true, 2.5),
        ];
        mixed(&mut structures);
        let predictions: Vec<Prediction> = [0.2, -0.4]
            .iter()
            .enumerate()
            .map(|(k, &s)| prediction(structures[k].n_atoms(), s))
            .collect();
        let batch: Vec<(&Structure, &Prediction)> = structures.iter().zip(&predictions).collect();
        // By hand: a_i = w² δ/(δ + |F_ref|), shear components × λs².
        let (mut sf, mut sf_plain, mut nf, mut sv, mut sv_plain, mut nv) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (s, p) in &batch {
            let w = s.labels.weight;
            let n = s.n_atoms() as f64;
            for (i, (fp, fr)) in p
                .forces
                .iter()
                .zip(s.labels.forces.as_ref().unwrap())
                .enumerate()
            {
                let tw: f64 = if i % 2 == 0 { 2.0 } else { 0.5 };
                let norm = (fr[0] * fr[0] + fr[1] * fr[1] + fr[2] * fr[2]).sqrt();
                let d2: f64 = (0..3).map(|a| (fp[a] - fr[a]).powi(2)).sum();
                sf += w * tw * tw * 0.8 / (0.8 + norm) * d2;
                sf_plain += w * d2;
                nf += 3.0 * w;
            }
            let v = s.labels.virial.unwrap();
            // xx yy zz xy yz zx of the row-major 3×3 virial.
            for (c, shear) in [
                (0, false),
                (4, false),
                (8, false),
                (1, true),
                (5, true),
                (6, true),
            ] {
                let d2 = ((p.virial[c] - v[c]) / n).powi(2);
                sv += w * if shear { 0.09 } else { 1.0 } * d2;
                sv_plain += w * d2;
            }
            nv += 6.0 * w;
        }
        let se: f64 = batch
            .iter()
            .map(|(s, p)| {
                let n = s.n_atoms() as f64;
                s.labels.weight * ((p.energy - s.labels.energy.unwrap()) / n).powi(2)
            })
            .sum::<f64>()
            / 3.5;
        for kind in [LossKind::Mse, LossKind::Rmse] {
            let config = weighted_config(kind);
            let parts = evaluate(&config, &batch, |_, _| true, &mut Vec::new());
            let expected = match kind {
                LossKind::Mse => 1.3 * se + 0.7 * sf / nf + 0.4 * sv / nv,
                LossKind::Rmse => 1.3 * se.sqrt() + 0.7 * (sf / nf).sqrt() + 0.4 * (sv / nv).sqrt(),
            };
            assert!(
                (parts.total - expected).abs() < 1e-13 * expected,
                "{kind:?}: {} vs {expected}",
                parts.total
            );
            // Reported errors stay unweighted.
            assert!((parts.force_mse - sf_plain / nf).abs() < 1e-15);
            assert!((parts.virial_mse - sv_plain / nv).abs() < 1e-15);
            assert!((parts.energy_mse - se).abs() < 1e-15);
        }
        // The adjoint of the weighted loss, by central differences.
        for kind in [LossKind::Mse, LossKind::Rmse] {
            let config = weighted_config(kind);
            assert_adjoint_matches_fd(&config, &structures, &predictions, |_, _| true);
        }
    }

    /// Weights 1, δ = 0 and λs = 1, set explicitly, give today's loss bit
    /// for bit (and so does a type_weight table of ones).
    #[test]
    fn neutral_weights_change_nothing() {
        let mut structures = [
            structure(3, Some(-9.5), true, true, 1.0),
            structure(4, None, true, true, 0.5),
        ];
        mixed(&mut structures);
        let predictions: Vec<Prediction> = [0.2, 0.1]
            .iter()
            .enumerate()
            .map(|(k, &s)| prediction(structures[k].n_atoms(), s))
            .collect();
        let batch: Vec<(&Structure, &Prediction)> = structures.iter().zip(&predictions).collect();
        for kind in [LossKind::Mse, LossKind::Rmse] {
            let plain = LossConfig {
                kind,
                ..LossConfig::default()
            };
            let neutral = LossConfig {
                type_weight: [("Pb".to_string(), 1.0), ("Te".to_string(), 1.0)].into(),
                force_delta: 0.0,
                lambda_shear: 1.0,
                ..plain.clone()
            };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let pa = evaluate(&plain, &batch, |_, _| true, &mut a);
            let pb = evaluate(&neutral, &batch, |_, _| true, &mut b);
            assert_eq!(pa, pb);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(
                    (x.energy, &x.forces, x.virial),
                    (y.energy, &y.forces, y.virial)
                );
            }
        }
    }

    #[test]
    fn regularization_gradient() {
        let config = LossConfig {
            lambda_1: 0.3,
            lambda_2: 0.2,
            ..LossConfig::default()
        };
        let params = [0.5, -1.2, 0.05, 2.0];
        let mut grad = [0.0; 4];
        let value = regularization(&config, &params, &mut grad);
        let expected = 0.3 * 3.75 / 4.0 + 0.2 * ((0.25 + 1.44 + 0.0025 + 4.0) / 4.0f64).sqrt();
        assert!((value - expected).abs() < 1e-12);
        for k in 0..4 {
            let h = 1e-6;
            let (mut p, mut m) = (params, params);
            p[k] += h;
            m[k] -= h;
            let fd = (regularization(&config, &p, &mut [0.0; 4])
                - regularization(&config, &m, &mut [0.0; 4]))
                / (2.0 * h);
            assert!((grad[k] - fd).abs() < 1e-8);
        }
    }
}
