//! Starting parameters for training a NEP from data: random weights of a
//! sensible scale, descriptor scaling from the training set (as GPUMD),
//! and an output bias at the mean energy per atom.

use super::{Nep, NepHyper};
use crate::error::Result;
use crate::model::{Model, Prepared};
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
            for p in &mut params[net.weights(t)] {
                *p = rng.random_range(-a0..a0);
            }
            // b0 and w1 drawn neuron by neuron, interleaved as always, so
            // that a seed keeps giving the same model.
            for (b, v) in net.hidden_biases(t).zip(net.output_weights(t)) {
                params[b] = rng.random_range(-0.1..0.1);
                params[v] = rng.random_range(-a1..a1);
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
        // Descriptors are measured unscaled.
        self.q_scaler = vec![1.0; dim];
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

impl Nep {
    /// Builds the per-element energy references into the starting network:
    /// in each element's network (NEP4) hidden neuron 0 becomes a constant
    /// tanh(2) with output weight (e_t − ē)/tanh(2), and the output bias
    /// carries ē, so every atom starts at its element's reference and the
    /// network learns the remainder. The neuron stays trainable. NEP3 shares
    /// one network, so only the mean ē is used there.
    pub fn set_energy_references(&mut self, references: &[f64]) {
        let net = self.hyper.network();
        let mean = references.iter().sum::<f64>() / references.len().max(1) as f64;
        if net.n_networks == references.len() && net.n_networks > 1 {
            let level = 2f64.tanh();
            for (t, e) in references.iter().enumerate() {
                // neuron 0: w0 row 0, b0[0] and w1[0]
                let w0 = net.weights(t).start;
                self.params[w0..w0 + net.dim].fill(0.0);
                self.params[net.hidden_biases(t).start] = -2.0;
                self.params[net.output_weights(t).start] = (e - mean) / level;
            }
        }
        self.params[net.bias_index()] = -mean;
    }
}
