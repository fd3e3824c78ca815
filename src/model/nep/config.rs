//! `[model]` keys of the NEP family (`family = "nep"`, the default), with
//! GPUMD's `nep.in` names and defaults.

use super::angular::AngularTerms;
use super::{MAX_CHANNEL, MAX_NEURONS, NepHyper, Zbl};
use crate::validate::positive;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Most angular descriptor components GPUMD trains (and NEP_CPU sizes for).
pub const MAX_DIM_ANGULAR: usize = 90;

/// NEP hyperparameters with GPUMD's names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NepConfig {
    /// Element symbols in type order (default: the elements of the training
    /// set, by atomic number).
    #[serde(default, rename = "type")]
    pub species: Option<Vec<String>>,
    /// NEP version (3 or 4).
    #[serde(default = "default_version")]
    pub version: u32,
    /// Radial and angular cutoffs, Å.
    #[serde(default = "default_cutoff")]
    pub cutoff: [f64; 2],
    /// Radial and angular n_max.
    #[serde(default = "default_n_max")]
    pub n_max: [usize; 2],
    /// Radial and angular Chebyshev basis sizes.
    #[serde(default = "default_basis")]
    pub basis_size: [usize; 2],
    /// GPUMD's `l_max` values: L3 (3-body, up to 8), then q_222 (0, or 1
    /// or 2 for on), q_1111, q_112, q_123, q_233, q_134 (0 or 1); 1 to 7
    /// values, absent ones at GPUMD's defaults (q_222 on, the rest off).
    /// `[4, 2, 0]` is the old three-number form.
    #[serde(default = "default_l_max")]
    pub l_max: Vec<usize>,
    /// Hidden neurons.
    #[serde(default = "default_neuron")]
    pub neuron: usize,
    /// Outer ZBL cutoff (inner = half of it); absent: no ZBL.
    #[serde(default)]
    pub zbl: Option<f64>,
    /// Start from the parameters of this nep.txt instead of random ones
    /// (its hyperparameters must match).
    #[serde(default)]
    pub init: Option<PathBuf>,
}

fn default_version() -> u32 {
    4
}
fn default_cutoff() -> [f64; 2] {
    [8.0, 4.0]
}
fn default_n_max() -> [usize; 2] {
    [4, 4]
}
fn default_basis() -> [usize; 2] {
    [8, 8]
}
fn default_l_max() -> Vec<usize> {
    vec![4, 2, 0]
}
fn default_neuron() -> usize {
    30
}

impl Default for NepConfig {
    fn default() -> Self {
        NepConfig {
            species: None,
            version: default_version(),
            cutoff: default_cutoff(),
            n_max: default_n_max(),
            basis_size: default_basis(),
            l_max: default_l_max(),
            neuron: default_neuron(),
            zbl: None,
            init: None,
        }
    }
}

impl NepConfig {
    /// Checks every value; the message names the offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let m = self;
        if m.version != 3 && m.version != 4 {
            return Err(format!("model.version must be 3 or 4, got {}", m.version));
        }
        positive(m.cutoff[0], "model.cutoff (radial)")?;
        positive(m.cutoff[1], "model.cutoff (angular)")?;
        if m.cutoff[1] > m.cutoff[0] {
            return Err(format!(
                "model.cutoff: the angular cutoff {} must not exceed the radial cutoff {}",
                m.cutoff[1], m.cutoff[0]
            ));
        }
        if m.cutoff[0] > 20.0 {
            return Err(format!(
                "model.cutoff: radial cutoff {} Å is larger than allowed (20 Å)",
                m.cutoff[0]
            ));
        }
        if m.n_max[0] > MAX_CHANNEL || m.n_max[1] > MAX_CHANNEL {
            return Err(format!(
                "model.n_max must be at most {MAX_CHANNEL}, got {:?}",
                m.n_max
            ));
        }
        if m.basis_size[0] > MAX_CHANNEL || m.basis_size[1] > MAX_CHANNEL {
            return Err(format!(
                "model.basis_size must be at most {MAX_CHANNEL}, got {:?}",
                m.basis_size
            ));
        }
        let angular = m.angular()?;
        // GPUMD's limit, and the size of NEP_CPU's fixed descriptor arrays.
        let dim_angular = (m.n_max[1] + 1) * angular.n_invariants();
        if dim_angular > MAX_DIM_ANGULAR {
            return Err(format!(
                "model: {dim_angular} angular descriptors (n_max angular + 1 = {} times {} invariants) exceed GPUMD's limit of {MAX_DIM_ANGULAR}",
                m.n_max[1] + 1,
                angular.n_invariants()
            ));
        }
        if m.neuron == 0 || m.neuron > MAX_NEURONS {
            return Err(format!(
                "model.neuron must be in 1..={MAX_NEURONS}, got {}",
                m.neuron
            ));
        }
        if let Some(z) = m.zbl {
            positive(z, "model.zbl")?;
            if z > m.cutoff[1] {
                return Err(format!(
                    "model.zbl: outer cutoff {z} must not exceed the angular cutoff {}",
                    m.cutoff[1]
                ));
            }
        }
        Ok(())
    }

    /// The angular terms that `l_max` asks for.
    pub fn angular(&self) -> std::result::Result<AngularTerms, String> {
        AngularTerms::from_gpumd(&self.l_max).map_err(|e| format!("model.l_max: {e}"))
    }

    /// The hyperparameters of a new model of these settings and elements.
    pub fn hyper(&self, species: Vec<String>) -> std::result::Result<NepHyper, String> {
        Ok(NepHyper {
            version: self.version,
            species,
            rc_radial: self.cutoff[0],
            rc_angular: self.cutoff[1],
            max_neighbors: Some((1000, 1000)),
            typewise: None,
            n_max_radial: self.n_max[0],
            n_max_angular: self.n_max[1],
            basis_size_radial: self.basis_size[0],
            basis_size_angular: self.basis_size[1],
            angular: self.angular()?,
            neurons: self.neuron,
            zbl: self.zbl.map(|outer| Zbl::Universal {
                inner: 0.5 * outer,
                outer,
                typewise: None,
            }),
        })
    }
}
