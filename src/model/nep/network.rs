//! NEP's per-element network: one hidden tanh layer,
//! E_i = Σ_n w1_n tanh(Σ_d w0_nd q_d − b0_n) − b1,
//! with parameters laid out as in `nep.txt`: for each element, w0
//! (neurons × dim, row-major by neuron), b0 (neurons), w1 (neurons);
//! then the shared output bias b1. NEP5 adds one bias per element after
//! its w1, subtracted like b1 (NEP_CPU's `apply_ann_one_layer_nep5`).
//!
//! [`Network`] is the one description of this layout: every other part of
//! the model asks it where a block lies. The passes themselves are
//! [`Perceptron`]'s, shared through [`crate::nn`].

use crate::nn::{Activation, Perceptron, RowTrace};
use std::ops::Range;

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
    /// The shape of one element's network without its output biases.
    pub fn perceptron(&self) -> Perceptron {
        Perceptron {
            n_in: self.dim,
            n_hidden: self.neurons,
            activation: Activation::Tanh,
        }
    }

    /// Parameters of one element's network.
    pub fn per_network(&self) -> usize {
        self.perceptron().n_params() + usize::from(self.typewise_bias)
    }

    /// Index of the own output bias of type `t`'s network (NEP5).
    pub fn type_bias_index(&self, t: usize) -> Option<usize> {
        self.typewise_bias
            .then(|| self.offset(t) + self.perceptron().n_params())
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

    /// Every parameter of type `t`'s network (its own bias included, the
    /// shared one not).
    pub fn range(&self, t: usize) -> Range<usize> {
        self.offset(t)..self.offset(t) + self.per_network()
    }

    /// The perceptron part of type `t`'s network: w0, b0, w1.
    pub fn perceptron_range(&self, t: usize) -> Range<usize> {
        self.offset(t)..self.offset(t) + self.perceptron().n_params()
    }

    /// w0 of type `t`'s network (neurons × dim).
    pub fn weights(&self, t: usize) -> Range<usize> {
        shift(self.perceptron().weights(), self.offset(t))
    }

    /// b0 of type `t`'s network.
    pub fn hidden_biases(&self, t: usize) -> Range<usize> {
        shift(self.perceptron().biases(), self.offset(t))
    }

    /// w1 of type `t`'s network.
    pub fn output_weights(&self, t: usize) -> Range<usize> {
        shift(self.perceptron().outputs(), self.offset(t))
    }

    /// Index of the shared output bias b1.
    pub fn bias_index(&self) -> usize {
        self.per_network() * self.n_networks
    }

    /// Evaluates the network of type `t` on descriptor `q`: returns the
    /// energy, keeping the hidden layer in `trace` (for
    /// [`RowTrace::hidden`] and [`Network::descriptor_gradient`]).
    #[inline]
    pub fn forward(&self, params: &[f64], t: usize, q: &[f64], trace: &mut RowTrace) -> f64 {
        let y = self
            .perceptron()
            .forward(&params[self.perceptron_range(t)], q, trace);
        self.subtract_biases(params, t, y)
    }

    /// dE/dq after [`Network::forward`] on type `t`, into `dq` (dim).
    #[inline]
    pub fn descriptor_gradient(&self, params: &[f64], t: usize, trace: &RowTrace, dq: &mut [f64]) {
        self.perceptron()
            .input_gradient(&params[self.perceptron_range(t)], trace, dq);
    }

    /// The perceptron's output y made an energy: y − own bias − b1.
    #[inline]
    fn subtract_biases(&self, params: &[f64], t: usize, y: f64) -> f64 {
        let own = self.type_bias_index(t).map_or(0.0, |k| params[k]);
        y - own - params[self.bias_index()]
    }

    /// Adds ∂(ȳ·E)/∂(output biases) of type `t`'s network to `grad`.
    #[inline]
    pub fn add_bias_gradient(&self, t: usize, y_bar: f64, grad: &mut [f64]) {
        grad[self.bias_index()] -= y_bar;
        if let Some(k) = self.type_bias_index(t) {
            grad[k] -= y_bar;
        }
    }
}

/// `r` moved by `by`.
fn shift(r: Range<usize>, by: usize) -> Range<usize> {
    r.start + by..r.end + by
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
        let mut dq = vec![0.0; 5];
        let mut trace = RowTrace::default();
        for t in 0..2 {
            net.forward(&params, t, &q, &mut trace);
            net.descriptor_gradient(&params, t, &trace, &mut dq);
            for d in 0..5 {
                let h = 1e-6;
                let (mut qp, mut qm) = (q, q);
                qp[d] += h;
                qm[d] -= h;
                let ep = net.forward(&params, t, &qp, &mut trace);
                let em = net.forward(&params, t, &qm, &mut trace);
                assert!((dq[d] - (ep - em) / (2.0 * h)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn blocks_tile_each_network() {
        let net = Network {
            dim: 3,
            neurons: 2,
            n_networks: 2,
            typewise_bias: true,
        };
        for t in 0..2 {
            let r = net.range(t);
            assert_eq!(net.weights(t).start, r.start);
            assert_eq!(net.weights(t).end, net.hidden_biases(t).start);
            assert_eq!(net.hidden_biases(t).end, net.output_weights(t).start);
            assert_eq!(net.output_weights(t).end, net.perceptron_range(t).end);
            assert_eq!(net.type_bias_index(t), Some(r.end - 1));
        }
        assert_eq!(net.bias_index(), net.range(1).end);
        assert_eq!(net.n_params(), net.bias_index() + 1);
    }
}
