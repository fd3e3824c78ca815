//! One evaluation of the loss and its exact gradient over a batch of
//! prepared structures, parallel over structures and, for batches of few
//! structures, over chunks of their atoms too. A batch may be spread over
//! ranks ([`Batch`]): each rank evaluates its structures, and the loss and
//! gradient are exact sums over every rank's work items
//! ([`crate::dist::exact`]). How structures are split into items depends
//! only on the whole batch, so the result does not depend on the number of
//! threads or ranks.

use super::directional;
use crate::dist::{Comm, Local, exact};
use crate::loss::{self, ForceGradient, LossConfig, LossParts};
use crate::model::{Adjoint, Model, Prediction, Prepared};
use rayon::prelude::*;
use std::borrow::Cow;

/// Batches of fewer structures than this are split over chunks of atoms as
/// well, so that small batches (RLEKF's single structure) keep every thread
/// busy.
const FEW_STRUCTURES: usize = 8;

/// Sites per work item when a batch is split over atoms: large enough for
/// a DeePMD model's matrix products and to amortise each call's fixed cost
/// (coefficient tables, a prediction or gradient buffer to reduce).
const SITE_CHUNK: usize = 64;

/// A batch as one rank sees it: its structures of the batch, and what it
/// must know of the whole batch.
pub struct Batch<'a> {
    /// This rank's structures of the batch, in batch order.
    pub structures: Vec<&'a Prepared>,
    /// Atom count of every structure of the whole batch, in batch order
    /// (random draws per structure are made for all of them, so that every
    /// rank's random stream stays the same).
    pub atoms: Vec<usize>,
    /// Position in the whole batch of each of `structures`.
    pub positions: Vec<usize>,
    /// The ranks the batch is spread over.
    pub comm: &'a dyn Comm,
}

impl<'a> Batch<'a> {
    /// A whole batch on this process alone.
    pub fn local(structures: &[&'a Prepared]) -> Self {
        let structures = structures.to_vec();
        Batch {
            atoms: structures.iter().map(|s| s.structure.n_atoms()).collect(),
            positions: (0..structures.len()).collect(),
            structures,
            comm: &Local,
        }
    }

    /// Structures in the whole batch.
    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    /// Whether the whole batch is empty.
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }
}

/// One parallel work item: the site energies `sites` of structure `k`.
struct Item<'a> {
    k: usize,
    /// Position of this chunk among the structure's items.
    part: usize,
    sites: &'a [usize],
}

/// The sites of each structure a call covers: those given, or every atom.
fn site_lists<'a>(batch: &[&Prepared], sites: Option<&'a [Vec<usize>]>) -> Cow<'a, [Vec<usize>]> {
    match sites {
        Some(lists) => {
            assert_eq!(lists.len(), batch.len(), "one site list per structure");
            Cow::Borrowed(lists)
        }
        None => Cow::Owned(batch.iter().map(|s| s.all_sites()).collect()),
    }
}

/// The work items (structure, then chunk): one per structure, or, when
/// `split` and the whole batch has fewer than [`FEW_STRUCTURES`]
/// structures (`batch_len`), chunks of [`SITE_CHUNK`] sites. Every
/// structure has at least one item.
fn items(lists: &[Vec<usize>], split: bool, batch_len: usize) -> Vec<Item<'_>> {
    let split = split && batch_len < FEW_STRUCTURES;
    let mut items = Vec::new();
    for (k, list) in lists.iter().enumerate() {
        if split && list.len() > SITE_CHUNK {
            let chunks = list.chunks(SITE_CHUNK).enumerate();
            items.extend(chunks.map(|(part, sites)| Item { k, part, sites }));
        } else {
            items.push(Item {
                k,
                part: 0,
                sites: list,
            });
        }
    }
    items
}

/// Predictions of a batch, in order.
pub fn predict(model: &dyn Model, batch: &[&Prepared]) -> Vec<Prediction> {
    predict_on(model, batch, batch.len(), None, &[])
}

/// The share of the site energies `sites[k]` of each of this rank's
/// structures k of the batch ([`Model::predict_sites`]), in order.
pub fn predict_sites(model: &dyn Model, batch: &Batch, sites: &[Vec<usize>]) -> Vec<Prediction> {
    predict_on(model, &batch.structures, batch.len(), Some(sites), &[])
}

/// Predictions of a batch of `batch_len` structures (over all ranks) of
/// which `batch` are this rank's, where structure k needs only its energy
/// when `energy_only[k]` (missing entries: everything).
fn predict_on(
    model: &dyn Model,
    batch: &[&Prepared],
    batch_len: usize,
    sites: Option<&[Vec<usize>]>,
    energy_only: &[bool],
) -> Vec<Prediction> {
    let lists = site_lists(batch, sites);
    let items = items(&lists, true, batch_len);
    let parts: Vec<Prediction> = items
        .par_iter()
        .map(|it| {
            let mut p = Prediction::default();
            if energy_only.get(it.k) == Some(&true) {
                model.energies_sites(batch[it.k], it.sites, &mut p);
            } else {
                model.predict_sites(batch[it.k], it.sites, &mut p);
            }
            p
        })
        .collect();
    let mut out: Vec<Prediction> = Vec::with_capacity(batch.len());
    for (it, p) in items.iter().zip(parts) {
        if it.part == 0 {
            out.push(p);
        } else {
            add_prediction(&mut out[it.k], &p);
        }
    }
    for it in items.iter().filter(|it| it.part == 1) {
        // Summed in atom order, as one whole-structure call does.
        let p = &mut out[it.k];
        p.energy = p.atomic_energies.iter().sum();
    }
    out
}

/// Adds a partial prediction of the same structure into `acc` (energy
/// aside: the caller sums the atomic energies).
fn add_prediction(acc: &mut Prediction, part: &Prediction) {
    for (a, b) in acc.atomic_energies.iter_mut().zip(&part.atomic_energies) {
        *a += b;
    }
    for (a, b) in acc.forces.iter_mut().zip(&part.forces) {
        for k in 0..3 {
            a[k] += b[k];
        }
    }
    for (a, b) in acc.virial.iter_mut().zip(&part.virial) {
        *a += b;
    }
}

/// Predictions of this rank's structures of a batch for a loss: those
/// without force and virial labels are predicted for their energy only
/// ([`Model::energies_sites`]).
pub fn predict_for_loss(model: &dyn Model, batch: &Batch) -> Vec<Prediction> {
    let energy_only: Vec<bool> = batch
        .structures
        .iter()
        .map(|s| s.structure.labels.forces.is_none() && s.structure.labels.virial.is_none())
        .collect();
    predict_on(model, &batch.structures, batch.len(), None, &energy_only)
}

/// Predicts a batch for the loss and evaluates it, filling one adjoint per
/// structure of this rank.
fn evaluate(
    model: &dyn Model,
    batch: &Batch,
    config: &LossConfig,
    force_used: impl Fn(usize, usize) -> bool,
    adjoints: &mut Vec<Adjoint>,
) -> LossParts {
    let predictions = predict_for_loss(model, batch);
    let pairs: Vec<_> = batch
        .structures
        .iter()
        .map(|s| &s.structure)
        .zip(&predictions)
        .collect();
    loss::evaluate_on(batch.comm, config, &pairs, force_used, adjoints)
}

/// The data loss of a batch (no gradient); `force_used(k, i)` for this
/// rank's structure k.
pub fn loss(
    model: &dyn Model,
    batch: &Batch,
    config: &LossConfig,
    force_used: impl Fn(usize, usize) -> bool,
) -> LossParts {
    evaluate(model, batch, config, force_used, &mut Vec::new())
}

/// The data loss of a batch and its gradient with respect to every
/// parameter (written to `grad`, overwritten). The force part is exact or
/// directional as `config.force_gradient` says.
pub fn loss_and_gradient(
    model: &dyn Model,
    batch: &Batch,
    config: &LossConfig,
    force_used: impl Fn(usize, usize) -> bool,
    grad: &mut [f64],
) -> LossParts {
    let mut adjoints: Vec<Adjoint> = Vec::with_capacity(batch.len());
    let parts = evaluate(model, batch, config, force_used, &mut adjoints);
    gradient(model, batch, &adjoints, config.force_gradient, grad);
    parts
}

/// Σ_s ∇θ [adjoint_s · prediction_s] over a batch, every rank's
/// structures (written to `grad`, overwritten; the same on every rank): one `vjp` per structure, exact or directional in its force
/// part. Structures with an all-zero adjoint are skipped.
pub fn gradient(
    model: &dyn Model,
    batch: &Batch,
    adjoints: &[Adjoint],
    force_gradient: ForceGradient,
    grad: &mut [f64],
) {
    gradient_on(model, batch, None, adjoints, force_gradient, grad);
}

/// [`gradient`] of the partial predictions of [`predict_sites`]: the
/// exact force part is [`Model::vjp_sites`] over `sites[k]`; the
/// directional one differentiates whole structures (it moves atoms, and
/// needs every site energy they touch), ignoring `sites`.
pub fn gradient_sites(
    model: &dyn Model,
    batch: &Batch,
    sites: &[Vec<usize>],
    adjoints: &[Adjoint],
    force_gradient: ForceGradient,
    grad: &mut [f64],
) {
    gradient_on(model, batch, Some(sites), adjoints, force_gradient, grad);
}

fn gradient_on(
    model: &dyn Model,
    batch: &Batch,
    sites: Option<&[Vec<usize>]>,
    adjoints: &[Adjoint],
    force_gradient: ForceGradient,
    grad: &mut [f64],
) {
    let n = grad.len();
    let exact = force_gradient == ForceGradient::Exact;
    let structures = &batch.structures;
    let lists = site_lists(structures, if exact { sites } else { None });
    let items = items(&lists, exact, batch.len());
    let partial: Vec<Option<Vec<f64>>> = items
        .par_iter()
        .map(|it| {
            let (s, a) = (structures[it.k], &adjoints[it.k]);
            if a.energy == 0.0 && a.energy_only() {
                return None;
            }
            let mut g = vec![0.0; n];
            match force_gradient {
                ForceGradient::Exact => model.vjp_sites(s, it.sites, a, &mut g),
                ForceGradient::Directional { epsilon } => {
                    directional::gradient(model, s, a, epsilon, &mut g)
                }
            }
            Some(g)
        })
        .collect();
    let refs: Vec<&[f64]> = partial.iter().flatten().map(|g| g.as_slice()).collect();
    exact::sum(batch.comm, &refs, grad);
}
