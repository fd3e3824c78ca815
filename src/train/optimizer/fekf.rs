//! Training steps of the Extended Kalman Filter optimizers (FEKF: Hu et al.,
//! PPoPP 2024; RLEKF is FEKF with one structure per batch), for any
//! [`Model`]. One step on a minibatch, with one shared filter and the batch
//! reduced before each update ("early reduction"):
//!
//! - energy update: per structure e_k = (E_k^ref − E_k)/N_k with sign s_k;
//!   measurement gradient H = Σ_k w_k s_k ∇θE_k/N_k (one `vjp` per
//!   structure with energy adjoint w_k s_k/N_k), error mean_k(w_k|e_k|)·√bs;
//! - `force_updates` force updates, each on a fresh prediction: per
//!   structure `atoms_per_update` atoms (disjoint across the updates of a
//!   step while the structure has enough atoms), H = Σ_k (w_k/M_k) Σ_c s_c
//!   ∇θF_c over its M_k chosen components, error mean(w|e|)·√bs. The
//!   forces on the chosen atoms depend only on the site energies of them
//!   and their neighbours, so both the prediction and H are computed over
//!   those sites alone ([`Prepared::sites_around`]): the same numbers, to
//!   rounding, at a fraction of the cost in large cells;
//! - an optional virial update the same way on the six components of W/N.
//!
//! The loss's per-atom force weights (`[loss] type_weight`, `force_delta`)
//! and shear weight (`lambda_shear`) scale each measured component: a
//! component whose squared error the loss multiplies by a carries √a in
//! both its H entry and its error, as the prefactors do.
//!
//! Each measurement sums per-structure means in H and takes the batch mean
//! error times √bs, so a full Kalman step corrects 1/√bs of the summed
//! error (the paper's √bs scaling). deepmd-kit additionally divides force
//! gradient and error by the atom count, which only damps updates further
//! for large cells; we leave it out. The prefactors multiply both H and e.
//!
//! Structure weights (`[loss] force_scale`, per-structure weights) are
//! relative, as in the loss, which divides by Σw: each measurement divides
//! H and e by the mean weight of the structures it measures. Weighting
//! then shifts the updates towards some structures without damping all of
//! them.

use crate::dist::{Comm, exact};
use crate::loss::{self, LossConfig, LossParts};
use crate::model::{Adjoint, Model, Prediction, Prepared, Tape};
use crate::optim::kalman::Kalman;
use crate::structure::VIRIAL_COMPONENTS;
// The settings are configuration (config.rs builds and checks them), so
// they are defined there, below the optimizer that is built from it.
pub use crate::train::config::FekfSettings;
use crate::train::step::{self, Batch};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// Where the time of the steps went, s.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Steps timed.
    pub steps: usize,
    /// Predictions.
    pub predict_s: f64,
    /// Measurement gradients (`vjp`).
    pub vjp_s: f64,
    /// Kalman updates.
    pub kalman_s: f64,
}

impl Timing {
    /// Milliseconds per step: prediction, `vjp`, Kalman update.
    pub fn per_step_ms(&self) -> [f64; 3] {
        let n = self.steps.max(1) as f64;
        [self.predict_s, self.vjp_s, self.kalman_s].map(|t| 1e3 * t / n)
    }
}

/// Scratch space reused across steps, and the timing.
pub struct FekfStep {
    grad: Vec<f64>,
    adjoints: Vec<Adjoint>,
    atoms: Vec<Vec<usize>>,
    /// Per structure, the sites of the current force update.
    sites: Vec<Vec<usize>>,
    /// The tapes of the force update's prediction, for its gradient.
    tapes: Vec<Tape>,
    /// Accumulated timing.
    pub timing: Timing,
}

/// The weighted absolute errors of one measurement, per structure of this
/// rank: [Σ w|e|, components, 1, structure weight].
#[derive(Default)]
struct Errors {
    per_structure: Vec<[f64; 4]>,
}

/// One measurement's sums over the whole batch.
struct Totals {
    /// Σ w|e| over the measured components.
    sum: f64,
    /// Components measured.
    count: f64,
    /// Structures measured.
    structures: f64,
    /// Σ of their structure weights.
    weights: f64,
}

impl Errors {
    /// Starts the next structure's errors; `weight` is its structure weight.
    fn structure(&mut self, weight: f64) {
        self.per_structure.push([0.0, 0.0, 1.0, weight]);
    }

    fn add(&mut self, weight: f64, e: f64) {
        if let Some(t) = self.per_structure.last_mut() {
            t[0] += weight * e.abs();
            t[1] += 1.0;
        }
    }

    /// The sums over the whole batch (every rank).
    fn total(&self, comm: &dyn Comm) -> Totals {
        let refs: Vec<&[f64]> = self.per_structure.iter().map(|t| t.as_slice()).collect();
        let mut t = [0.0; 4];
        exact::sum(comm, &refs, &mut t);
        Totals {
            sum: t[0],
            count: t[1],
            structures: t[2],
            weights: t[3],
        }
    }
}

/// Whether any structure of the whole batch (every rank) has each label.
fn any_labels(batch: &Batch) -> [bool; 2] {
    let local = |f: fn(&Prepared) -> bool| {
        if batch.structures.iter().any(|s| f(s)) {
            1.0
        } else {
            0.0
        }
    };
    let mut flags = [
        local(|s| s.structure.labels.forces.is_some()),
        local(|s| s.structure.labels.virial.is_some()),
    ];
    batch.comm.max_f64(&mut flags);
    flags.map(|f| f > 0.0)
}

fn sign(e: f64) -> f64 {
    if e < 0.0 { -1.0 } else { 1.0 }
}

impl FekfStep {
    /// Scratch for a model with `n_params` parameters.
    pub fn new(n_params: usize) -> Self {
        FekfStep {
            grad: vec![0.0; n_params],
            adjoints: Vec::new(),
            atoms: Vec::new(),
            sites: Vec::new(),
            tapes: Vec::new(),
            timing: Timing::default(),
        }
    }

    /// One FEKF step on `batch`. Returns the batch loss (under `weights`,
    /// for the log) of the prediction made before the first update, and the
    /// number of measurements the filter skipped in this step.
    pub fn run(
        &mut self,
        model: &mut dyn Model,
        kalman: &mut Kalman,
        batch: &Batch,
        settings: &FekfSettings,
        weights: &LossConfig,
        rng: &mut ChaCha8Rng,
    ) -> (LossParts, u64) {
        self.timing.steps += 1;
        let skipped_before = kalman.skipped;
        let predictions = self.predict(model, batch);
        let pairs: Vec<_> = batch
            .structures
            .iter()
            .map(|s| &s.structure)
            .zip(&predictions)
            .collect();
        let parts = loss::evaluate_on(batch.comm, weights, &pairs, |_, _| true, &mut self.adjoints);
        let balanced;
        let settings = if settings.balance_by_loss {
            balanced = balance_by_loss(settings, &parts);
            &balanced
        } else {
            settings
        };

        if settings.pref_e > 0.0 {
            self.energy_update(model, kalman, batch, &predictions, settings);
        }
        let [with_forces, with_virials] = any_labels(batch);
        if settings.pref_f > 0.0 && settings.force_updates > 0 && with_forces {
            self.choose_atoms(batch, settings, rng);
            for u in 0..settings.force_updates {
                self.force_update(model, kalman, batch, u, settings, weights);
            }
        }
        if settings.pref_v > 0.0 && with_virials {
            self.virial_update(model, kalman, batch, settings, weights);
        }
        let t = Instant::now();
        kalman.flush();
        self.timing.kalman_s += t.elapsed().as_secs_f64();
        (parts, kalman.skipped - skipped_before)
    }

    /// The energy update, on the step's first prediction.
    fn energy_update(
        &mut self,
        model: &mut dyn Model,
        kalman: &mut Kalman,
        batch: &Batch,
        predictions: &[Prediction],
        settings: &FekfSettings,
    ) {
        let mut errors = Errors::default();
        self.reset_adjoints(batch, false);
        let local = batch.structures.iter().zip(predictions);
        for ((s, p), adj) in local.zip(&mut self.adjoints) {
            let labels = &s.structure.labels;
            if let Some(reference) = labels.energy {
                let n = s.structure.n_atoms() as f64;
                let e = (reference - p.energy) / n;
                let w = labels.weight * settings.pref_e;
                adj.energy = w * sign(e) / n;
                errors.structure(labels.weight);
                errors.add(w, e);
            }
        }
        self.measure(model, kalman, batch, &errors, settings, false);
    }

    /// Force update `u` of the step, on a fresh prediction.
    fn force_update(
        &mut self,
        model: &mut dyn Model,
        kalman: &mut Kalman,
        batch: &Batch,
        u: usize,
        settings: &FekfSettings,
        weights: &LossConfig,
    ) {
        let predictions = if settings.sites_only {
            let t = Instant::now();
            self.update_sites(batch, u, settings);
            let p = step::predict_sites(model, batch, &self.sites, Some(&mut self.tapes));
            self.timing.predict_s += t.elapsed().as_secs_f64();
            p
        } else {
            self.predict(model, batch)
        };
        self.reset_adjoints(batch, true);
        let mut errors = Errors::default();
        for (k, (s, p)) in batch.structures.iter().zip(&predictions).enumerate() {
            let Some(reference) = &s.structure.labels.forces else {
                continue;
            };
            errors.structure(s.structure.labels.weight);
            let take = self.update_size(k, settings);
            let w = s.structure.labels.weight * settings.pref_f;
            let per_component = w / (3 * take) as f64;
            let adj = &mut self.adjoints[k];
            let species = &s.structure.species;
            for i in update_atoms(&self.atoms[k], take, u) {
                let a = weights.force_factor(&species[i], &reference[i]).sqrt();
                for c in 0..3 {
                    let e = reference[i][c] - p.forces[i][c];
                    adj.forces[i][c] = a * per_component * sign(e);
                    errors.add(a * w, e);
                }
            }
        }
        self.measure(model, kalman, batch, &errors, settings, settings.sites_only);
    }

    /// Atoms of structure `k` in each force update.
    fn update_size(&self, k: usize, settings: &FekfSettings) -> usize {
        settings.atoms_per_update.min(self.atoms[k].len())
    }

    /// The sites of force update `u`: around its atoms in the structures
    /// with force labels, none in the others.
    fn update_sites(&mut self, batch: &Batch, u: usize, settings: &FekfSettings) {
        self.sites.resize_with(batch.structures.len(), Vec::new);
        for (k, s) in batch.structures.iter().enumerate() {
            self.sites[k] = if s.structure.labels.forces.is_some() {
                let take = self.update_size(k, settings);
                let atoms: Vec<usize> = update_atoms(&self.atoms[k], take, u).collect();
                s.sites_around(&atoms)
            } else {
                Vec::new()
            };
        }
    }

    /// The virial update, on a fresh prediction.
    fn virial_update(
        &mut self,
        model: &mut dyn Model,
        kalman: &mut Kalman,
        batch: &Batch,
        settings: &FekfSettings,
        weights: &LossConfig,
    ) {
        let predictions = self.predict(model, batch);
        self.reset_adjoints(batch, false);
        let mut errors = Errors::default();
        let local = batch.structures.iter().zip(&predictions);
        for ((s, p), adj) in local.zip(&mut self.adjoints) {
            let labels = &s.structure.labels;
            let Some(reference) = &labels.virial else {
                continue;
            };
            errors.structure(labels.weight);
            let n = s.structure.n_atoms() as f64;
            let w = labels.weight * settings.pref_v;
            for c in VIRIAL_COMPONENTS {
                let e = (reference[c] - p.virial[c]) / n;
                let w = w * weights.virial_factor(c).sqrt();
                adj.virial[c] = w * sign(e) / (6.0 * n);
                errors.add(w, e);
            }
        }
        self.measure(model, kalman, batch, &errors, settings, false);
    }

    fn predict(&mut self, model: &dyn Model, batch: &Batch) -> Vec<Prediction> {
        let t = Instant::now();
        let p = step::predict_for_loss(model, batch, None);
        self.timing.predict_s += t.elapsed().as_secs_f64();
        p
    }

    /// Zero adjoints for the batch, with zeroed force arrays if `forces`.
    fn reset_adjoints(&mut self, batch: &Batch, forces: bool) {
        self.adjoints
            .resize_with(batch.structures.len(), Adjoint::default);
        for (adj, s) in self.adjoints.iter_mut().zip(&batch.structures) {
            adj.energy = 0.0;
            adj.virial = [0.0; 9];
            adj.forces.clear();
            if forces {
                adj.forces.resize(s.structure.n_atoms(), [0.0; 3]);
            }
        }
    }

    /// Per structure of this rank, a random order of up to `force_updates
    /// × atoms_per_update` distinct atoms (partial Fisher–Yates). The draws
    /// are made for every structure of the whole batch, in batch order, so
    /// that each rank's random stream stays the one of a single process.
    fn choose_atoms(&mut self, batch: &Batch, settings: &FekfSettings, rng: &mut ChaCha8Rng) {
        let wanted = settings.force_updates * settings.atoms_per_update;
        self.atoms.resize_with(batch.structures.len(), Vec::new);
        let mut local = batch.positions.iter().zip(self.atoms.iter_mut()).peekable();
        let mut draw = Vec::new();
        for (position, &n) in batch.atoms.iter().enumerate() {
            draw.clear();
            draw.extend(0..n);
            let m = wanted.min(n);
            for a in 0..m {
                let b = rng.random_range(a..n);
                draw.swap(a, b);
            }
            draw.truncate(m);
            if let Some((_, chosen)) = local.next_if(|(p, _)| **p == position) {
                chosen.clone_from(&draw);
            }
        }
    }

    /// The measurement gradient of the current adjoints (over the current
    /// update's sites if `on_sites`), and one Kalman update with error
    /// mean(w|e|)·√structures, both divided by the measured structures'
    /// mean weight (module docs).
    fn measure(
        &mut self,
        model: &mut dyn Model,
        kalman: &mut Kalman,
        batch: &Batch,
        errors: &Errors,
        settings: &FekfSettings,
        on_sites: bool,
    ) {
        // the tapes of a force update's prediction, released either way
        let tapes = std::mem::take(&mut self.tapes);
        let Totals {
            sum,
            count,
            structures,
            weights,
        } = errors.total(batch.comm);
        if count == 0.0 || weights <= 0.0 {
            return;
        }
        let t = Instant::now();
        let (adjoints, fg, grad) = (&self.adjoints, settings.force_gradient, &mut self.grad);
        if on_sites {
            step::gradient_sites(&*model, batch, &self.sites, adjoints, fg, grad, tapes);
        } else {
            step::gradient(&*model, batch, adjoints, fg, grad);
        }
        self.timing.vjp_s += t.elapsed().as_secs_f64();
        let relative = structures / weights;
        if relative != 1.0 {
            grad.iter_mut().for_each(|h| *h *= relative);
        }
        let error = relative * sum / count * structures.sqrt();
        let t = Instant::now();
        // A skipped update is counted in the filter; the caller reports it.
        let _ = kalman.update_on(batch.comm, model.params_mut(), &self.grad, error);
        self.timing.kalman_s += t.elapsed().as_secs_f64();
    }
}

/// The largest factor [`balance_by_loss`] gives a prefactor: an RMSE
/// loss's weight 1/(2·RMSE) grows without bound as a batch's error
/// vanishes. 16 is the largest fixed energy prefactor tried on TiO2's BP
/// (where it gave the best energies).
const BALANCE_CAP: f64 = 16.0;

/// `settings` with the energy and virial prefactors balanced against the
/// force prefactor as the loss weighs them at the batch's errors (its
/// [`LossParts::slopes`]; [`FekfSettings::balance_by_loss`]); unchanged
/// when the batch has no force error to compare with.
fn balance_by_loss(settings: &FekfSettings, parts: &LossParts) -> FekfSettings {
    let [w_e, w_f, w_v] = parts.slopes;
    let mut s = settings.clone();
    if w_f > 0.0 {
        let factor = |w: f64| (w / w_f).sqrt().min(BALANCE_CAP);
        s.pref_e *= factor(w_e);
        s.pref_v *= factor(w_v);
    }
    s
}

/// The `take` atoms of force update `u` among a structure's `chosen` ones
/// (disjoint across updates while there are enough, then wrapping round).
fn update_atoms(chosen: &[usize], take: usize, u: usize) -> impl Iterator<Item = usize> + '_ {
    (0..take).map(move |a| chosen[(u * take + a) % chosen.len()])
}
