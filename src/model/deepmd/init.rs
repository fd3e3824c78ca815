//! Random starting parameters, as deepmd-kit's `NativeLayer` draws them:
//! w ~ N(0, 1/(n_in + n_out)), b ~ N(0, 1), idt ~ N(0.1, 0.001²).

use super::{DeepPot, DeepPotHyper, DeepPotStats};
use crate::error::Result;
use crate::nn::{Activation, Layer, Network};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

impl DeepPotHyper {
    /// The embedding networks deepmd-kit builds (every one the same shape).
    pub fn embedding_networks(&self) -> Vec<Network> {
        let net = Network::hidden(1, &self.neuron, self.activation_function, self.resnet_dt);
        vec![net; self.n_embeddings()]
    }

    /// The fitting networks deepmd-kit builds: the hidden stack, then a
    /// linear output layer with a bias.
    pub fn fitting_networks(&self) -> Vec<Network> {
        let dim = self.descriptor_dim();
        let mut net = Network::hidden(
            dim,
            &self.fitting_neuron,
            self.fitting_activation_function,
            self.fitting_resnet_dt,
        );
        net.layers.push(Layer {
            n_in: self.fitting_neuron.last().copied().unwrap_or(dim),
            n_out: 1,
            bias: true,
            timestep: false,
            resnet: false,
            activation: Activation::Identity,
        });
        vec![net; self.n_types()]
    }
}

impl DeepPot {
    /// A model with deepmd-kit-like random parameters and neutral
    /// statistics (davg 0, dstd 1, zero biases): call
    /// [`DeepPot::fit_statistics`] on the training data next.
    pub fn random(hyper: DeepPotHyper, rng: &mut impl Rng) -> Result<Self> {
        hyper.validate().map_err(crate::Error::Invalid)?;
        let embeddings = hyper.embedding_networks();
        let fittings = hyper.fitting_networks();
        let mut params = Vec::new();
        for net in embeddings.iter().chain(&fittings) {
            for layer in &net.layers {
                draw_layer(layer, rng, &mut params);
            }
        }
        let stats = DeepPotStats::neutral(&hyper);
        DeepPot::new(hyper, embeddings, fittings, params, stats)
    }
}

/// Appends one layer's w, b, idt.
fn draw_layer(layer: &Layer, rng: &mut impl Rng, params: &mut Vec<f64>) {
    let scale = 1.0 / ((layer.n_in + layer.n_out) as f64).sqrt();
    let mut normal = || -> f64 { rng.sample(StandardNormal) };
    for _ in 0..layer.n_in * layer.n_out {
        params.push(scale * normal());
    }
    if layer.bias {
        for _ in 0..layer.n_out {
            params.push(normal());
        }
    }
    if layer.timestep {
        for _ in 0..layer.n_out {
            params.push(0.1 + 0.001 * normal());
        }
    }
}
