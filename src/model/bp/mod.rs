//! Behler–Parrinello networks with Chebyshev descriptors (aenet).
//!
//! Each atom i of element t has the descriptor x_i of its element's
//! [`Chebyshev`] settings, normalised as aenet does,
//! x̂ = (x − avg_t)/σ_t with σ_t = √(⟨x²⟩_t − avg_t²) over the training
//! atoms of t (a feature with σ ≤ 1e-10 is dropped, as aenet's
//! `stp_normalize`), and the site energy
//!
//! E_i = NN_t(x̂_i)/scale + shift + E_atom[t],
//!
//! with `scale` = 2/(e_max − e_min) and `shift` = (e_max + e_min)/2 from
//! the training set's cohesive energies per atom (aenet's
//! `ts_energy_norm_simple`). Forces and virial come from ∂E_i/∂R_ij of each
//! pair ([`cache`] keeps the descriptors and their Jacobians).
//!
//! Parameters: one network per element in species order, each laid out as
//! [`crate::nn`] describes (per layer w then b), which is aenet's own `W`
//! array of that network.

mod cache;
pub mod chebyshev;
mod compute;
pub mod config;
mod convert;
mod family;
pub mod file;
mod init;
pub mod stats;

pub use chebyshev::Chebyshev;
pub use config::BpConfig;
pub use convert::looks_like_aenet;
pub use stats::BpStats;

use crate::error::{Error, Result};
use crate::model::{Adjoint, Model, Prediction, Prepared};
use crate::nn::Network;
use chebyshev::AtomJacobian;

/// The hyperparameters of a BP model.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BpHyper {
    /// Element symbols in type (aenet ENV) order.
    pub species: Vec<String>,
    /// Each element's descriptor.
    pub descriptors: Vec<Chebyshev>,
    /// aenet's Rc_min, Å (kept for the files).
    pub rc_min: f64,
    /// Each element's network (hidden layers and a one-output last layer).
    #[serde(skip)]
    pub networks: Vec<Network>,
    /// Each element's potential file name.
    pub files: Vec<String>,
    /// Free-atom energies when given (by the configuration or a file);
    /// `None`: fitted to the training energies.
    pub atomic_energies: Option<Vec<f64>>,
}

impl BpHyper {
    /// Whether the descriptor has the spin-weighted blocks.
    pub fn multi(&self) -> bool {
        self.species.len() > 1
    }

    /// Checks the shapes agree.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let n = self.species.len();
        if n == 0 {
            return Err("a BP model needs at least one element".into());
        }
        if self.descriptors.len() != n || self.networks.len() != n || self.files.len() != n {
            return Err(format!(
                "{n} elements but {} descriptors, {} networks and {} file names",
                self.descriptors.len(),
                self.networks.len(),
                self.files.len()
            ));
        }
        for (t, (net, d)) in self.networks.iter().zip(&self.descriptors).enumerate() {
            let el = &self.species[t];
            net.check().map_err(|e| format!("{el} network: {e}"))?;
            if net.n_in() != d.dim(self.multi()) || net.n_out() != 1 {
                return Err(format!(
                    "{el} network: {} inputs and {} outputs, the descriptor has {} features and the energy 1",
                    net.n_in(),
                    net.n_out(),
                    d.dim(self.multi())
                ));
            }
        }
        Ok(())
    }
}

/// A Behler–Parrinello model.
#[derive(Clone, Debug)]
pub struct BpModel {
    hyper: BpHyper,
    stats: BpStats,
    params: Vec<f64>,
    /// Start of each element's network in `params`.
    offsets: Vec<usize>,
    /// 1/σ per element and feature (0 for a dropped feature).
    inv_sigma: Vec<Vec<f64>>,
    /// Largest cutoff.
    cutoff: f64,
    /// Spin of each element.
    spins: Vec<f64>,
    /// The descriptor settings and species order, as text: what a
    /// structure's cached descriptors are checked against (formatted once
    /// here rather than on every prediction).
    key: String,
}

impl BpModel {
    /// A model from its parts (checked).
    pub fn new(hyper: BpHyper, params: Vec<f64>, stats: BpStats) -> Result<Self> {
        hyper.validate().map_err(Error::Invalid)?;
        let mut offsets = Vec::with_capacity(hyper.networks.len() + 1);
        offsets.push(0);
        for net in &hyper.networks {
            offsets.push(offsets.last().copied().unwrap_or(0) + net.n_params());
        }
        let total = offsets.last().copied().unwrap_or(0);
        if params.len() != total {
            return Err(Error::Invalid(format!(
                "the BP networks have {total} parameters, {} given",
                params.len()
            )));
        }
        offsets.pop();
        let cutoff = hyper
            .descriptors
            .iter()
            .map(Chebyshev::cutoff)
            .fold(0.0, f64::max);
        let spins = chebyshev::spins(hyper.species.len());
        let key = format!("{:?}{:?}", hyper.species, hyper.descriptors);
        let mut model = BpModel {
            hyper,
            stats: BpStats::default(),
            params,
            offsets,
            inv_sigma: Vec::new(),
            cutoff,
            spins,
            key,
        };
        model.set_stats(stats)?;
        Ok(model)
    }

    /// The hyperparameters.
    pub fn hyper(&self) -> &BpHyper {
        &self.hyper
    }

    /// The data statistics.
    pub fn stats(&self) -> &BpStats {
        &self.stats
    }

    /// Replaces the statistics (refused when their shapes do not fit).
    pub fn set_stats(&mut self, stats: BpStats) -> Result<()> {
        let dims: Vec<usize> = (0..self.hyper.species.len())
            .map(|t| self.dim_of(t))
            .collect();
        stats
            .check(&dims, self.hyper.species.len())
            .map_err(Error::Invalid)?;
        self.inv_sigma = stats.inv_sigma();
        self.stats = stats;
        Ok(())
    }

    /// Descriptor length of element t.
    pub fn dim_of(&self, t: usize) -> usize {
        self.hyper.descriptors[t].dim(self.hyper.multi())
    }

    /// What the cached descriptors depend on (settings and species order).
    fn descriptor_key(&self) -> &str {
        &self.key
    }

    /// The spin of every atom of `s`.
    fn atom_spins(&self, s: &Prepared) -> Vec<f64> {
        s.types.iter().map(|&t| self.spins[t]).collect()
    }

    /// Atom i's raw descriptor into `x`, with its Jacobian when asked
    /// (`spin` from [`BpModel::atom_spins`]).
    fn atom_descriptor(
        &self,
        s: &Prepared,
        spin: &[f64],
        i: usize,
        x: &mut [f64],
        jac: Option<&mut AtomJacobian>,
    ) {
        let multi = self.hyper.multi();
        self.hyper.descriptors[s.types[i]].eval(&s.neighbors, i, spin, multi, x, jac);
    }

    /// Atom i's descriptor Jacobian.
    fn atom_jacobian(&self, s: &Prepared, spin: &[f64], i: usize) -> AtomJacobian {
        let mut x = vec![0.0; self.dim_of(s.types[i])];
        let mut jac = AtomJacobian::default();
        self.atom_descriptor(s, spin, i, &mut x, Some(&mut jac));
        jac
    }

    /// The raw (unnormalised) descriptors of every atom, row after row, as
    /// aenet's generate.x computes them.
    pub fn descriptors(&self, s: &Prepared) -> Vec<f64> {
        cache::descriptors(self, s).values.clone()
    }

    /// Element t's network parameters.
    fn net_params(&self, t: usize) -> &[f64] {
        let start = self.offsets[t];
        &self.params[start..start + self.hyper.networks[t].n_params()]
    }
}

impl Model for BpModel {
    fn species(&self) -> &[String] {
        &self.hyper.species
    }

    fn cutoff(&self) -> f64 {
        self.cutoff
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn param_groups(&self) -> Vec<std::ops::Range<usize>> {
        let nets = self.hyper.networks.iter().zip(&self.offsets);
        nets.flat_map(|(net, &base)| net.layer_ranges(base))
            .collect()
    }

    fn predict_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        self.compute(s, sites, out, true);
    }

    fn energies_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        self.compute(s, sites, out, false);
    }

    fn vjp_sites(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        self.gradient(s, sites, adj, grad);
    }
}
