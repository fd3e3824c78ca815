//! One evaluation of the loss and its exact gradient over a batch of
//! prepared structures, parallel over structures with a reduction in a
//! fixed order: the result does not depend on the number of threads.

use super::directional;
use crate::loss::{self, ForceGradient, LossConfig, LossParts};
use crate::model::{Adjoint, Model, Prediction, Prepared};
use rayon::prelude::*;

/// Structures per parallel work item: the gradient of each chunk is summed
/// sequentially, then the chunks in order, so results are bit-identical
/// for any thread count. One structure per item keeps small batches
/// parallel too.
const CHUNK: usize = 1;

/// Predictions of a batch, in order.
pub fn predict(model: &dyn Model, batch: &[&Prepared]) -> Vec<Prediction> {
    batch
        .par_iter()
        .map(|s| {
            let mut p = Prediction::default();
            model.predict(s, &mut p);
            p
        })
        .collect()
}

/// Predicts a batch and evaluates the loss, filling one adjoint per structure.
fn evaluate(
    model: &dyn Model,
    batch: &[&Prepared],
    config: &LossConfig,
    force_used: impl Fn(usize, usize) -> bool,
    adjoints: &mut Vec<Adjoint>,
) -> LossParts {
    let predictions = predict(model, batch);
    let pairs: Vec<_> = batch
        .iter()
        .map(|s| &s.structure)
        .zip(&predictions)
        .collect();
    loss::evaluate(config, &pairs, force_used, adjoints)
}

/// The data loss of a batch (no gradient).
pub fn loss(
    model: &dyn Model,
    batch: &[&Prepared],
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
    batch: &[&Prepared],
    config: &LossConfig,
    force_used: impl Fn(usize, usize) -> bool,
    grad: &mut [f64],
) -> LossParts {
    let mut adjoints: Vec<Adjoint> = Vec::with_capacity(batch.len());
    let parts = evaluate(model, batch, config, force_used, &mut adjoints);
    gradient(model, batch, &adjoints, config.force_gradient, grad);
    parts
}

/// Σ_s ∇θ [adjoint_s · prediction_s] over a batch (written to `grad`,
/// overwritten): one `vjp` per structure, exact or directional in its force
/// part. Structures with an all-zero adjoint are skipped.
pub fn gradient(
    model: &dyn Model,
    batch: &[&Prepared],
    adjoints: &[Adjoint],
    force_gradient: ForceGradient,
    grad: &mut [f64],
) {
    let n = grad.len();
    let partial: Vec<Vec<f64>> = batch
        .par_chunks(CHUNK)
        .zip(adjoints.par_chunks(CHUNK))
        .map(|(structures, adjs)| {
            let mut g = vec![0.0; n];
            for (s, a) in structures.iter().zip(adjs) {
                if a.energy == 0.0 && a.energy_only() {
                    continue;
                }
                match force_gradient {
                    ForceGradient::Exact => model.vjp(s, a, &mut g),
                    ForceGradient::Directional { epsilon } => {
                        directional::gradient(model, s, a, epsilon, &mut g)
                    }
                }
            }
            g
        })
        .collect();
    grad.fill(0.0);
    for g in &partial {
        for (acc, x) in grad.iter_mut().zip(g) {
            *acc += x;
        }
    }
}
