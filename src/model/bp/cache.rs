//! Per-structure descriptor cache. Positions never change during training,
//! so each atom's Chebyshev descriptor is computed once, the first time a
//! structure is predicted, and its Jacobian the first time forces are
//! needed: a training step then costs a few matrix products and one sparse
//! contraction per atom instead of the O(neighbours²) angular sums.
//!
//! Jacobians take ~8·(N_r + 1 + 6(N_a + 1)) bytes per neighbour pair
//! (~30 KB per atom for aenet's TiO2 example), so their total is bounded
//! by the process's cache budget ([`cache_budget`], default 8 GiB); past
//! it they are recomputed on every use, which is slower but gives the same
//! numbers.

use super::BpModel;
use super::chebyshev::AtomJacobian;
use crate::model::{Prepared, cache_budget};
use std::sync::{Arc, OnceLock};

/// One structure's raw (unnormalised) descriptors and, once computed, their
/// Jacobians, for the descriptor settings `key`.
#[derive(Debug)]
pub struct Descriptors {
    /// The settings these were computed with ([`BpModel::descriptor_key`]).
    key: String,
    /// Start of each atom's descriptor in `values`.
    pub start: Vec<usize>,
    /// All atoms' descriptors, one after the other.
    pub values: Vec<f64>,
    /// Per-atom Jacobians; `None` inside when over budget.
    jacobians: OnceLock<Option<Vec<AtomJacobian>>>,
}

impl Descriptors {
    /// Atom i's descriptor.
    pub fn of(&self, i: usize) -> &[f64] {
        &self.values[self.start[i]..self.start[i + 1]]
    }

    /// The cached Jacobians, computing them on first use (None when the
    /// budget is spent: the caller computes them itself).
    pub fn jacobians(&self, model: &BpModel, s: &Prepared) -> Option<&[AtomJacobian]> {
        self.jacobians
            .get_or_init(|| {
                let spin = model.atom_spins(s);
                let jac: Vec<AtomJacobian> = (0..s.structure.n_atoms())
                    .map(|i| model.atom_jacobian(s, &spin, i))
                    .collect();
                let bytes: usize = jac.iter().map(jacobian_bytes).sum();
                cache_budget::reserve(bytes).then_some(jac)
            })
            .as_deref()
    }
}

impl Drop for Descriptors {
    fn drop(&mut self) {
        if let Some(Some(jac)) = self.jacobians.get() {
            let bytes: usize = jac.iter().map(jacobian_bytes).sum();
            cache_budget::release(bytes);
        }
    }
}

fn jacobian_bytes(j: &AtomJacobian) -> usize {
    4 * (j.radial_pairs.len() + j.angular_pairs.len()) + 8 * (j.radial.len() + j.angular.len())
}

/// The descriptors of `s` for `model`: from the structure's cache when it
/// holds this model's settings, else computed (and cached if the cache is
/// still empty).
pub fn descriptors(model: &BpModel, s: &Prepared) -> Arc<Descriptors> {
    let key = model.descriptor_key();
    let make = || -> Arc<Descriptors> {
        let n = s.structure.n_atoms();
        let mut start = Vec::with_capacity(n + 1);
        start.push(0);
        for i in 0..n {
            start.push(start[i] + model.dim_of(s.types[i]));
        }
        let mut values = vec![0.0; start[n]];
        let spin = model.atom_spins(s);
        for i in 0..n {
            model.atom_descriptor(s, &spin, i, &mut values[start[i]..start[i + 1]], None);
        }
        Arc::new(Descriptors {
            key: key.to_string(),
            start,
            values,
            jacobians: OnceLock::new(),
        })
    };
    let cached = s
        .cache
        .get_or_init(|| make() as Arc<dyn std::any::Any + Send + Sync>);
    match cached.clone().downcast::<Descriptors>() {
        Ok(d) if d.key == key => d,
        _ => make(),
    }
}
