//! NEP's per-element network: one hidden tanh layer,
//! E_i = Σ_n w1_n tanh(Σ_d w0_nd q_d − b0_n) − b1,
//! with parameters laid out as in `nep.txt`: for each element, w0
//! (neurons × dim, row-major by neuron), b0 (neurons), w1 (neurons);
//! then the shared output bias b1. NEP5 adds one bias per element after
//! its w1, subtracted like b1 (NEP_CPU's `apply_ann_one_layer_nep5`).

/// Where the network parameters of each element live in the flat vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    /// Descriptor length (input size).
    pub dim: usize,
    /// Hidden neurons.
    pub neurons: usize,
    /// Number of distinct networks: one per element (NEP4, NEP5) or one
    /// shared (NEP3).
    pub n_networks: usize,
    /// NEP5: each network ends with its own output bias.
    pub typewise_bias: bool,
}

impl Network {
    /// Parameters of one element's network.
    pub fn per_network(&self) -> usize {
        (self.dim + 2) * self.neurons + usize::from(self.typewise_bias)
    }

    /// Index of the own output bias of type `t`'s network (NEP5).
    pub fn type_bias_index(&self, t: usize) -> Option<usize> {
        self.typewise_bias
            .then(|| self.offset(t) + (self.dim + 2) * self.neurons)
    }

    /// Total number of network parameters, including the shared bias.
    pub fn n_params(&self) -> usize {
        self.per_network() * self.n_networks + 1
    }

    /// Offset of the network used by element type `t`.
    pub fn offset(&self, t: usize) -> usize {
        if self.n_networks == 1 {
            0
        } else {
            t * self.per_network()
        }
    }

    /// Index of the shared output bias b1.
    pub fn bias_index(&self) -> usize {
        self.per_network() * self.n_networks
    }

    /// Evaluates the network of type `t` on descriptor `q`: returns the
    /// energy and writes dE/dq into `dq` (overwritten), the hidden
    /// activations into `hidden` (length `neurons`).
    #[inline]
    pub fn forward(
        &self,
        params: &[f64],
        t: usize,
        q: &[f64],
        dq: &mut [f64],
        hidden: &mut [f64],
    ) -> f64 {
        let dim = self.dim;
        let base = self.offset(t);
        let w0 = &params[base..base + self.neurons * dim];
        let b0 = &params[base + self.neurons * dim..base + self.neurons * (dim + 1)];
        let w1 = &params[base + self.neurons * (dim + 1)..base + self.neurons * (dim + 2)];
        dq[..dim].fill(0.0);
        let mut energy = 0.0;
        for n in 0..self.neurons {
            let row = &w0[n * dim..(n + 1) * dim];
            let z: f64 = row.iter().zip(q).map(|(w, x)| w * x).sum();
            let h = (z - b0[n]).tanh();
            hidden[n] = h;
            energy += w1[n] * h;
            let g = w1[n] * (1.0 - h * h);
            for (d, w) in dq[..dim].iter_mut().zip(row) {
                *d += g * w;
            }
        }
        let own = self.type_bias_index(t).map_or(0.0, |k| params[k]);
        energy - own - params[self.bias_index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_wrt_descriptor_matches_finite_differences() {
        let net = Network {
            dim: 5,
            neurons: 4,
            n_networks: 2,
            typewise_bias: true,
        };
        let params: Vec<f64> = (0..net.n_params())
            .map(|i| ((i * 37 + 11) % 23) as f64 / 23.0 - 0.5)
            .collect();
        let q = [0.3, -0.2, 0.8, 0.05, -0.6];
        let (mut dq, mut hidden) = (vec![0.0; 5], vec![0.0; 4]);
        let mut scratch = vec![0.0; 5];
        for t in 0..2 {
            net.forward(&params, t, &q, &mut dq, &mut hidden);
            for d in 0..5 {
                let h = 1e-6;
                let (mut qp, mut qm) = (q, q);
                qp[d] += h;
                qm[d] -= h;
                let ep = net.forward(&params, t, &qp, &mut scratch, &mut hidden);
                let em = net.forward(&params, t, &qm, &mut scratch, &mut hidden);
                assert!((dq[d] - (ep - em) / (2.0 * h)).abs() < 1e-9);
            }
        }
    }
}
