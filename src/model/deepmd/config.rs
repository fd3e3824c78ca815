//! `[model]` keys of the DeePMD family (`family = "deepmd"`): deepmd-kit's
//! names for the se_e2_a descriptor and the `ener` fitting, with the
//! fitting's keys prefixed `fitting_`. Defaults are deepmd-kit's water
//! example (`examples/water/se_e2_a/input.json`), except `sel`, which is
//! counted from the training data when absent (deepmd-kit's `"auto"`).

use super::DeepPotHyper;
use crate::nn::Activation;
use crate::validate::positive;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// DeePMD se_e2_a + ener settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepmdConfig {
    /// Element symbols in type order (default: the elements of the
    /// training set, by atomic number).
    #[serde(default)]
    pub type_map: Option<Vec<String>>,
    /// Cutoff, Å.
    #[serde(default = "default_rcut")]
    pub rcut: f64,
    /// Where the smooth switch starts, Å.
    #[serde(default = "default_rcut_smth")]
    pub rcut_smth: f64,
    /// Neighbour slots per type (default: the largest count in the
    /// training data × 1.1, rounded up to a multiple of 4, as deepmd-kit's
    /// `"auto"`).
    #[serde(default)]
    pub sel: Option<Vec<usize>>,
    /// Embedding widths.
    #[serde(default = "default_neuron")]
    pub neuron: Vec<usize>,
    /// Columns of GR kept for the descriptor.
    #[serde(default = "default_axis_neuron")]
    pub axis_neuron: usize,
    /// Timesteps in the embedding networks.
    #[serde(default)]
    pub resnet_dt: bool,
    /// One embedding network per neighbour type (true) or per pair.
    #[serde(default = "yes")]
    pub type_one_side: bool,
    /// Keep davg at zero.
    #[serde(default)]
    pub set_davg_zero: bool,
    /// Protection p in 1/(r + p).
    #[serde(default)]
    pub env_protection: f64,
    /// Activation of the embedding networks.
    #[serde(default = "default_activation")]
    pub activation_function: String,
    /// Hidden widths of the fitting networks.
    #[serde(default = "default_fitting_neuron")]
    pub fitting_neuron: Vec<usize>,
    /// Timesteps in the fitting networks.
    #[serde(default = "yes")]
    pub fitting_resnet_dt: bool,
    /// Activation of the fitting networks.
    #[serde(default = "default_activation")]
    pub fitting_activation_function: String,
    /// Start from this deepmd-kit model file instead of random parameters
    /// (its hyperparameters and statistics are used).
    #[serde(default)]
    pub init: Option<PathBuf>,
}

fn default_rcut() -> f64 {
    6.0
}
fn default_rcut_smth() -> f64 {
    0.5
}
fn default_neuron() -> Vec<usize> {
    vec![25, 50, 100]
}
fn default_axis_neuron() -> usize {
    16
}
fn default_fitting_neuron() -> Vec<usize> {
    vec![240, 240, 240]
}
fn default_activation() -> String {
    "tanh".into()
}
fn yes() -> bool {
    true
}

/// Largest network width accepted (deepmd-kit's models use a few hundred).
const MAX_WIDTH: usize = 4096;
/// Largest number of hidden layers accepted.
const MAX_LAYERS: usize = 16;

impl DeepmdConfig {
    /// Checks every value; the message names the offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        positive(self.rcut, "model.rcut")?;
        if self.rcut > 20.0 {
            return Err(format!(
                "model.rcut: {} Å is larger than allowed (20 Å)",
                self.rcut
            ));
        }
        if !(self.rcut_smth.is_finite() && self.rcut_smth >= 0.0 && self.rcut_smth < self.rcut) {
            return Err(format!(
                "model.rcut_smth must be in [0, rcut = {}), got {}",
                self.rcut, self.rcut_smth
            ));
        }
        for (key, widths) in [
            ("model.neuron", &self.neuron),
            ("model.fitting_neuron", &self.fitting_neuron),
        ] {
            if widths.is_empty() || widths.len() > MAX_LAYERS {
                return Err(format!(
                    "{key} must list 1 to {MAX_LAYERS} widths, got {widths:?}"
                ));
            }
            if widths.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
                return Err(format!(
                    "{key}: widths must be in 1..={MAX_WIDTH}, got {widths:?}"
                ));
            }
        }
        let ng = self.neuron.last().copied().unwrap_or(0);
        if self.axis_neuron == 0 || self.axis_neuron > ng {
            return Err(format!(
                "model.axis_neuron must be in 1..={ng} (the last embedding width), got {}",
                self.axis_neuron
            ));
        }
        if !(self.env_protection.is_finite() && self.env_protection >= 0.0) {
            return Err(format!(
                "model.env_protection must be a non-negative number, got {}",
                self.env_protection
            ));
        }
        for (key, name) in [
            ("model.activation_function", &self.activation_function),
            (
                "model.fitting_activation_function",
                &self.fitting_activation_function,
            ),
        ] {
            activation(name, key)?;
        }
        if let (Some(sel), Some(types)) = (&self.sel, &self.type_map)
            && sel.len() != types.len()
        {
            return Err(format!(
                "model.sel has {} entries for the {} elements of model.type_map",
                sel.len(),
                types.len()
            ));
        }
        Ok(())
    }

    /// The hyperparameters of a new model for these elements and slots.
    pub fn hyper(
        &self,
        type_map: Vec<String>,
        sel: Vec<usize>,
    ) -> std::result::Result<DeepPotHyper, String> {
        let hyper = DeepPotHyper {
            type_map,
            rcut: self.rcut,
            rcut_smth: self.rcut_smth,
            sel,
            neuron: self.neuron.clone(),
            axis_neuron: self.axis_neuron,
            resnet_dt: self.resnet_dt,
            type_one_side: self.type_one_side,
            env_protection: self.env_protection,
            set_davg_zero: self.set_davg_zero,
            activation_function: activation(
                &self.activation_function,
                "model.activation_function",
            )?,
            fitting_neuron: self.fitting_neuron.clone(),
            fitting_resnet_dt: self.fitting_resnet_dt,
            fitting_activation_function: activation(
                &self.fitting_activation_function,
                "model.fitting_activation_function",
            )?,
        };
        hyper.validate().map_err(|e| format!("model: {e}"))?;
        Ok(hyper)
    }
}

fn activation(name: &str, key: &str) -> std::result::Result<Activation, String> {
    Activation::parse(name).ok_or_else(|| {
        format!("{key}: unknown activation {name:?} (deepmd-kit's: tanh, relu, relu6, softplus, sigmoid, gelu, linear)")
    })
}

/// deepmd-kit's `"auto"` sel from the largest number of neighbours of each
/// type that any atom has: times 1.1, rounded up to a multiple of 4 (at
/// least 4).
pub fn auto_sel(max_counts: &[usize]) -> Vec<usize> {
    max_counts
        .iter()
        .map(|&n| {
            let scaled = (n as f64 * 1.1) as usize;
            (scaled.div_ceil(4) * 4).max(4)
        })
        .collect()
}
