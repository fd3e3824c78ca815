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
use crate::model::{Adjoint, Model, Prediction, Prepared, Tape};
use rayon::prelude::*;
use std::borrow::Cow;
use std::cell::RefCell;

/// Batches of fewer structures than this are split over chunks of atoms as
/// well, so that small batches (RLEKF's single structure) keep every thread
/// busy.
const FEW_STRUCTURES: usize = 8;

/// Sites per work item when a batch is split over atoms, about: large
/// enough for a DeePMD model's matrix products and to amortise each call's
/// fixed cost (coefficient tables, packing the fitting networks' weights,
/// a prediction or gradient buffer to reduce).
const SITE_CHUNK: usize = 96;

/// The number of work items of a structure with `n` sites when it is
/// split: about n / [`SITE_CHUNK`], rounded up to an even number so that
/// two threads get equal shares (192 atoms: 2 items of 96, not 64, 64, 64
/// on two threads, which leaves one thread idle for a third of the time).
/// It depends on `n` alone, never on the thread count, so that results
/// are the same for any number of threads.
fn parts(n: usize) -> usize {
    let k = n.div_ceil(SITE_CHUNK);
    k + k % 2
}

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
/// structures (`batch_len`), [`parts`] chunks of equal size (to one
/// site). Every structure has at least one item.
fn items(lists: &[Vec<usize>], split: bool, batch_len: usize) -> Vec<Item<'_>> {
    let split = split && batch_len < FEW_STRUCTURES;
    let mut items = Vec::new();
    for (k, list) in lists.iter().enumerate() {
        if split && list.len() > SITE_CHUNK {
            let size = list.len().div_ceil(parts(list.len()));
            let chunks = list.chunks(size).enumerate();
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
    predict_on(model, batch, batch.len(), None, &[], None)
}

/// The share of the site energies `sites[k]` of each of this rank's
/// structures k of the batch ([`Model::predict_sites`]), in order; with
/// `tapes`, their tapes for [`gradient_sites`] of the same sites (see
/// [`predict_on`]).
pub fn predict_sites(
    model: &dyn Model,
    batch: &Batch,
    sites: &[Vec<usize>],
    tapes: Option<&mut Vec<Tape>>,
) -> Vec<Prediction> {
    let structures = &batch.structures;
    predict_on(model, structures, batch.len(), Some(sites), &[], tapes)
}

/// Predictions of a batch of `batch_len` structures (over all ranks) of
/// which `batch` are this rank's, where structure k needs only its energy
/// when `energy_only[k]` (missing entries: everything). With `tapes`,
/// each work item's tape ([`Model::predict_sites_taped`]) goes there, in
/// item order, for [`gradient_on`], when the whole batch has fewer than
/// [`FEW_STRUCTURES`] structures (its items are then chunks of about
/// [`SITE_CHUNK`] atoms; a larger batch's tapes would hold the rows of
/// every structure at once, and it gets none).
fn predict_on(
    model: &dyn Model,
    batch: &[&Prepared],
    batch_len: usize,
    sites: Option<&[Vec<usize>]>,
    energy_only: &[bool],
    tapes: Option<&mut Vec<Tape>>,
) -> Vec<Prediction> {
    let lists = site_lists(batch, sites);
    let items = items(&lists, true, batch_len);
    let taped = tapes.is_some() && batch_len < FEW_STRUCTURES;
    let (parts, item_tapes): (Vec<Prediction>, Vec<Tape>) = items
        .par_iter()
        .map(|it| {
            let mut p = Prediction::default();
            let mut tape = Tape::default();
            if energy_only.get(it.k) == Some(&true) {
                model.energies_sites(batch[it.k], it.sites, &mut p);
            } else if taped {
                tape = model.predict_sites_taped(batch[it.k], it.sites, &mut p);
            } else {
                model.predict_sites(batch[it.k], it.sites, &mut p);
            }
            (p, tape)
        })
        .unzip();
    if let Some(t) = tapes {
        *t = item_tapes;
    }
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
/// ([`Model::energies_sites`]); with `tapes`, the others' tapes for their
/// gradient (see [`predict_on`]).
pub fn predict_for_loss(
    model: &dyn Model,
    batch: &Batch,
    tapes: Option<&mut Vec<Tape>>,
) -> Vec<Prediction> {
    let energy_only: Vec<bool> = batch
        .structures
        .iter()
        .map(|s| s.structure.labels.forces.is_none() && s.structure.labels.virial.is_none())
        .collect();
    predict_on(
        model,
        &batch.structures,
        batch.len(),
        None,
        &energy_only,
        tapes,
    )
}

/// Predicts a batch for the loss and evaluates it, filling one adjoint per
/// structure of this rank (and the tapes, when given).
fn evaluate(
    model: &dyn Model,
    batch: &Batch,
    config: &LossConfig,
    force_used: impl Fn(usize, usize) -> bool,
    adjoints: &mut Vec<Adjoint>,
    tapes: Option<&mut Vec<Tape>>,
) -> LossParts {
    let predictions = predict_for_loss(model, batch, tapes);
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
    evaluate(model, batch, config, force_used, &mut Vec::new(), None)
}

/// The data loss of a batch and its gradient with respect to every
/// parameter (written to `grad`, overwritten). The force part is exact or
/// directional as `config.force_gradient` says. An exact gradient is
/// taken from the tapes of the predictions (see [`predict_on`]).
pub fn loss_and_gradient(
    model: &dyn Model,
    batch: &Batch,
    config: &LossConfig,
    force_used: impl Fn(usize, usize) -> bool,
    grad: &mut [f64],
) -> LossParts {
    let mut adjoints: Vec<Adjoint> = Vec::with_capacity(batch.len());
    let mut tapes = Vec::new();
    // a directional gradient moves atoms: it has no use for a tape
    let exact = config.force_gradient == ForceGradient::Exact;
    let tape_slot = exact.then_some(&mut tapes);
    let parts = evaluate(model, batch, config, force_used, &mut adjoints, tape_slot);
    let force_gradient = config.force_gradient;
    gradient_on(model, batch, None, &adjoints, force_gradient, grad, tapes);
    parts
}

/// Σ_s ∇θ [adjoint_s · prediction_s] over a batch, every rank's
/// structures (written to `grad`, overwritten; the same on every rank):
/// one `vjp` per work item, exact or directional in its force part; the
/// items of a structure are added in order, the structures exactly
/// ([`exact::sum`]). Structures with an all-zero adjoint are skipped.
pub fn gradient(
    model: &dyn Model,
    batch: &Batch,
    adjoints: &[Adjoint],
    force_gradient: ForceGradient,
    grad: &mut [f64],
) {
    gradient_on(
        model,
        batch,
        None,
        adjoints,
        force_gradient,
        grad,
        Vec::new(),
    );
}

/// [`gradient`] of the partial predictions of [`predict_sites`]: the
/// exact force part is [`Model::vjp_sites`] over `sites[k]` (from the
/// prediction's `tapes`, when not empty); the directional one
/// differentiates whole structures (it moves atoms, and needs every site
/// energy they touch), ignoring `sites` and the tapes.
pub fn gradient_sites(
    model: &dyn Model,
    batch: &Batch,
    sites: &[Vec<usize>],
    adjoints: &[Adjoint],
    force_gradient: ForceGradient,
    grad: &mut [f64],
    tapes: Vec<Tape>,
) {
    gradient_on(
        model,
        batch,
        Some(sites),
        adjoints,
        force_gradient,
        grad,
        tapes,
    );
}

/// The gradient of [`gradient`] and [`gradient_sites`]; `tapes` are those
/// of the prediction of the same items (exact gradients only), or empty.
fn gradient_on(
    model: &dyn Model,
    batch: &Batch,
    sites: Option<&[Vec<usize>]>,
    adjoints: &[Adjoint],
    force_gradient: ForceGradient,
    grad: &mut [f64],
    mut tapes: Vec<Tape>,
) {
    let n = grad.len();
    let exact = force_gradient == ForceGradient::Exact;
    let structures = &batch.structures;
    let lists = site_lists(structures, if exact { sites } else { None });
    let items = items(&lists, exact, batch.len());
    if !exact || tapes.len() != items.len() {
        tapes.clear();
        tapes.resize_with(items.len(), Tape::default);
    }
    crate::model::with_scratch(&ITEM_GRADIENTS, |buffers| {
        buffers.resize_with(items.len(), Vec::new);
        let used: Vec<bool> = items
            .par_iter()
            .zip(buffers.par_iter_mut())
            .zip(tapes.into_par_iter())
            .map(|((it, g), tape)| {
                let (s, a) = (structures[it.k], &adjoints[it.k]);
                if a.energy == 0.0 && a.energy_only() {
                    return false;
                }
                g.clear();
                g.resize(n, 0.0);
                match force_gradient {
                    ForceGradient::Exact => model.vjp_sites_taped(s, it.sites, a, g, tape),
                    ForceGradient::Directional { epsilon } => {
                        directional::gradient(model, s, a, epsilon, g)
                    }
                }
                true
            })
            .collect();
        let per_structure = fold_parts(&items, &used, buffers);
        let refs: Vec<&[f64]> = per_structure
            .iter()
            .map(|&i| buffers[i].as_slice())
            .collect();
        exact::sum(batch.comm, &refs, grad);
    });
}

thread_local! {
    /// The work items' gradient buffers, kept from step to step on the
    /// calling thread (a fresh vector per item would be mapped and zeroed
    /// by the system every step: a model's size per item).
    static ITEM_GRADIENTS: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

/// Adds the gradients of each structure's later parts to its first, in
/// part order (plain additions: a structure is split the same way on any
/// number of threads or ranks, so this order is fixed too), and returns
/// the buffer index of each structure's sum, skipping unused ones.
fn fold_parts(items: &[Item], used: &[bool], buffers: &mut [Vec<f64>]) -> Vec<usize> {
    let mut firsts = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let k = items[start].k;
        let end = start + items[start..].iter().take_while(|it| it.k == k).count();
        // the parts of a structure share its adjoint: all used or none
        if used[start] {
            let (head, tail) = buffers.split_at_mut(start + 1);
            let first = &mut head[start];
            for part in &tail[..end - start - 1] {
                for (a, b) in first.iter_mut().zip(part) {
                    *a += b;
                }
            }
            firsts.push(start);
        }
        start = end;
    }
    firsts
}
