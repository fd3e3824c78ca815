//! Starting parameters for training a NEP from data: random weights of a
//! sensible scale, descriptor scaling from the training set (as GPUMD),
//! and an output bias at the mean energy per atom.

use super::{Nep, NepHyper};
use crate::error::Result;
use crate::model::{Model, Prepared};
use crate::structure::Structure;
use rand::{Rng, RngExt};

impl Nep {
    /// A model with random parameters and unit descriptor scales.
    pub fn random(hyper: NepHyper, rng: &mut impl Rng) -> Result<Self> {
        let net = hyper.network();
        let mut params = vec![0.0; hyper.n_params()];
        let dim = net.dim as f64;
        let neurons = net.neurons as f64;
        // Glorot-uniform limits keep tanh away from saturation at the start.
        let a0 = (6.0 / (dim + neurons)).sqrt();
        let a1 = (6.0 / (neurons + 1.0)).sqrt();
        for t in 0..net.n_networks {
            let base = net.offset(t);
            for k in 0..net.neurons * net.dim {
                params[base + k] = rng.random_range(-a0..a0);
            }
            for k in 0..net.neurons {
                params[base + net.neurons * net.dim + k] = rng.random_range(-0.1..0.1);
                params[base + net.neurons * (net.dim + 1) + k] = rng.random_range(-a1..a1);
            }
        }
        for p in params.iter_mut().skip(net.n_params()) {
            *p = rng.random_range(-0.5..0.5);
        }
        let dim = hyper.dim();
        Nep::new(hyper, params, vec![1.0; dim])
    }

    /// Sets q_scaler[d] = 1 / (max q_d − min q_d) over every atom of `data`
    /// (GPUMD's scaling; 1 where a component does not vary), computed with
    /// the current descriptor coefficients.
    pub fn scale_descriptors(&mut self, data: &[Prepared]) {
        let dim = self.hyper.dim();
        let saved = std::mem::replace(&mut self.q_scaler, vec![1.0; dim]);
        let (mut lo, mut hi) = (vec![f64::INFINITY; dim], vec![f64::NEG_INFINITY; dim]);
        for s in data {
            let q = self.descriptors(s);
            for row in q.chunks(dim) {
                for d in 0..dim {
                    lo[d] = lo[d].min(row[d]);
                    hi[d] = hi[d].max(row[d]);
                }
            }
        }
        self.q_scaler = (0..dim)
            .map(|d| {
                let range = hi[d] - lo[d];
                if range.is_finite() && range > 1e-12 {
                    1.0 / range
                } else {
                    1.0
                }
            })
            .collect();
        let _ = saved;
    }

    /// Sets the output bias so that the mean predicted energy per atom over
    /// `data` equals the mean label (the network then learns the rest).
    pub fn center_energy(&mut self, data: &[Prepared]) {
        let (mut diff, mut count) = (0.0, 0.0);
        let mut p = crate::model::Prediction::default();
        for s in data {
            if let Some(e) = s.structure.labels.energy {
                self.predict(s, &mut p);
                diff += (p.energy - e) / s.structure.n_atoms() as f64;
                count += 1.0;
            }
        }
        if count > 0.0 {
            let b1 = self.hyper.network().bias_index();
            self.params[b1] += diff / count;
        }
    }
}

/// Chemical species present in `structures`, sorted by atomic number.
pub fn species_of(structures: &[Structure]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in structures {
        for sp in &s.species {
            if !out.contains(sp) {
                out.push(sp.clone());
            }
        }
    }
    out.sort_by_key(|s| crate::elements::atomic_number(s).unwrap_or(0));
    out
}
