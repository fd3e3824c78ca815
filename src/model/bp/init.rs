//! A new BP model from `[model]`: the hyperparameters, Glorot-uniform
//! weights and zero biases (tanh networks start near their linear range),
//! and the fit of the data statistics to the training set.

use super::config::BpConfig;
use super::stats::FeatureSums;
use super::{BpHyper, BpModel, BpStats, Chebyshev};
use crate::error::{Error, Result};
use crate::model::Prepared;
use crate::model::energy_reference::energy_references;
use crate::nn::{Activation, Layer, Network};
use rand::Rng;
use rand::RngExt;

impl BpConfig {
    /// The hyperparameters for these elements (in this order).
    pub fn hyper_for(&self, species: Vec<String>) -> Result<BpHyper> {
        self.validate().map_err(Error::Invalid)?;
        let descriptor = Chebyshev {
            radial_cutoff: self.radial_cutoff,
            radial_order: self.radial_order,
            angular_cutoff: self.angular_cutoff,
            angular_order: self.angular_order,
        };
        let dim = descriptor.dim(species.len() > 1);
        let networks = species
            .iter()
            .map(|el| {
                let (hidden, activations) = self.network_of(el);
                network(dim, &hidden, &activations, Activation::Linear)
            })
            .collect();
        let files = species
            .iter()
            .map(|el| {
                self.files
                    .get(el)
                    .cloned()
                    .unwrap_or_else(|| format!("potential.{el}.nn"))
            })
            .collect();
        let atomic_energies = match &self.atomic_energies {
            None => None,
            Some(map) => Some(
                species
                    .iter()
                    .map(|el| {
                        map.get(el).copied().ok_or_else(|| {
                            Error::Invalid(format!("model.atomic_energies has no energy for {el}"))
                        })
                    })
                    .collect::<Result<Vec<f64>>>()?,
            ),
        };
        let n = species.len();
        Ok(BpHyper {
            species,
            descriptors: vec![descriptor; n],
            rc_min: self.rc_min,
            networks,
            files,
            atomic_energies,
        })
    }
}

/// A network with these hidden layers (biases, no residuals) and a
/// one-output last layer with activation `output`.
pub fn network(
    n_in: usize,
    hidden: &[usize],
    activations: &[Activation],
    output: Activation,
) -> Network {
    let mut layers = Vec::with_capacity(hidden.len() + 1);
    let mut width = n_in;
    for (&w, &activation) in hidden.iter().zip(activations).chain([(&1, &output)]) {
        layers.push(Layer {
            n_in: width,
            n_out: w,
            bias: true,
            timestep: false,
            resnet: false,
            activation,
        });
        width = w;
    }
    Network::new(layers)
}

impl BpModel {
    /// Random weights (Glorot uniform), zero biases, neutral statistics.
    pub fn random(hyper: BpHyper, rng: &mut impl Rng) -> Result<Self> {
        let mut params = Vec::new();
        for net in &hyper.networks {
            for layer in &net.layers {
                let a = (6.0 / (layer.n_in + layer.n_out) as f64).sqrt();
                params.extend((0..layer.n_in * layer.n_out).map(|_| rng.random_range(-a..a)));
                params.extend(std::iter::repeat_n(0.0, layer.n_out));
            }
        }
        let dims: Vec<usize> = hyper
            .descriptors
            .iter()
            .map(|d| d.dim(hyper.multi()))
            .collect();
        let mut stats = BpStats::neutral(&dims);
        if let Some(e) = &hyper.atomic_energies {
            stats.e_atom = e.clone();
        }
        BpModel::new(hyper, params, stats)
    }

    /// Fits the descriptor statistics, the free-atom energies (when not
    /// given) and the energy normalisation to the training structures.
    pub fn fit_statistics(&mut self, train: &[Prepared]) -> Result<()> {
        let n_types = self.hyper.species.len();
        let mut sums: Vec<FeatureSums> = (0..n_types)
            .map(|t| FeatureSums::new(self.dim_of(t)))
            .collect();
        for s in train {
            let desc = super::cache::descriptors(self, s);
            for (i, &t) in s.types.iter().enumerate() {
                sums[t].add(desc.of(i));
            }
        }
        let mut stats = self.stats.clone();
        stats.avg.clear();
        stats.sq.clear();
        stats.min.clear();
        stats.max.clear();
        for s in sums {
            let [avg, sq, min, max] = s.finish();
            stats.avg.push(avg);
            stats.sq.push(sq);
            stats.min.push(min);
            stats.max.push(max);
        }
        stats.e_atom = match &self.hyper.atomic_energies {
            Some(e) => e.clone(),
            // Least squares of the energies on the compositions (the
            // minimum-norm solution when they do not fix every element).
            None => energy_references(&self.hyper.species, train).0,
        };
        fit_energy_scale(&mut stats, train);
        self.set_stats(stats)
    }
}

/// aenet's energy normalisation from the cohesive energies per atom:
/// scale = 2/(e_max − e_min), shift = (e_max + e_min)/2 (scale 1 when
/// every structure has the same energy per atom).
fn fit_energy_scale(stats: &mut BpStats, train: &[Prepared]) {
    let (mut lo, mut hi, mut sum, mut count, mut atoms) =
        (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0u64, 0u64);
    for s in train {
        atoms += s.types.len() as u64;
        let Some(e) = s.structure.labels.energy else {
            continue;
        };
        let free: f64 = s.types.iter().map(|&t| stats.e_atom[t]).sum();
        let per_atom = (e - free) / s.types.len().max(1) as f64;
        lo = lo.min(per_atom);
        hi = hi.max(per_atom);
        sum += per_atom;
        count += 1;
    }
    stats.n_atoms = atoms;
    stats.n_structures = train.len() as u64;
    if count == 0 {
        return;
    }
    let spread = hi - lo;
    stats.scale = if spread > 1e-12 { 2.0 / spread } else { 1.0 };
    stats.shift = 0.5 * (hi + lo);
    stats.e_range = [lo, hi, sum / count as f64];
}
