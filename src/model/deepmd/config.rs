//! `[model]` keys of the DeePMD family (`family = "deepmd"`): deepmd-kit's
//! names for the se_e2_a descriptor and the `ener` fitting, with the
//! fitting's keys prefixed `fitting_`. Defaults are deepmd-kit's own
//! (`deepmd/utils/argcheck.py`: `descrpt_se_a_args`, `fitting_ener`), so
//! that a deepmd-kit input means the same model here; `sel`, when absent,
//! is counted from the training data (deepmd-kit's `"auto"`).

use super::DeepPotHyper;
use crate::nn::{Activation, Precision};
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
    #[serde(default)]
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
    /// What the embedding networks compute in: "float64" (the default) or
    /// "float32". Absent with `init`: the file's descriptor precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// What the fitting networks compute in (float32: weights, values,
    /// products and tanh, as the embeddings; the descriptor they read, the
    /// energies and the gradient sums stay float64). Absent: as
    /// `precision` (with `init` and neither key: the file's fitting
    /// precision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitting_precision: Option<Precision>,
}

impl Default for DeepmdConfig {
    /// deepmd-kit's defaults, `sel` counted from the data.
    fn default() -> Self {
        DeepmdConfig {
            type_map: None,
            rcut: default_rcut(),
            rcut_smth: default_rcut_smth(),
            sel: None,
            neuron: default_neuron(),
            axis_neuron: default_axis_neuron(),
            resnet_dt: false,
            type_one_side: false,
            set_davg_zero: false,
            env_protection: 0.0,
            activation_function: default_activation(),
            fitting_neuron: default_fitting_neuron(),
            fitting_resnet_dt: yes(),
            fitting_activation_function: default_activation(),
            init: None,
            precision: None,
            fitting_precision: None,
        }
    }
}

impl DeepmdConfig {
    /// Sets the precisions this configuration names on `pot` (those it
    /// leaves out stay as they are: a file's, or float64).
    pub fn apply_precisions(&self, pot: &mut super::DeepPot) {
        if let Some(p) = self.precision {
            pot.set_embedding_precision(p);
        }
        if let Some(p) = self.fitting_precision.or(self.precision) {
            pot.set_fitting_precision(p);
        }
    }
}

fn default_rcut() -> f64 {
    6.0
}
fn default_rcut_smth() -> f64 {
    0.5
}
fn default_neuron() -> Vec<usize> {
    vec![10, 20, 40]
}
fn default_axis_neuron() -> usize {
    4
}
fn default_fitting_neuron() -> Vec<usize> {
    vec![120, 120, 120]
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
/// Largest number of neighbour slots per type accepted.
const MAX_SEL: usize = 100_000;

impl DeepmdConfig {
    /// Checks every value; the message names each offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let errors: Vec<String> = self.checks().into_iter().filter_map(|c| c.err()).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn checks(&self) -> Vec<std::result::Result<(), String>> {
        let mut out = vec![positive(self.rcut, "model.rcut")];
        if self.rcut > 20.0 {
            out.push(Err(format!(
                "model.rcut: {} Å is larger than allowed (20 Å)",
                self.rcut
            )));
        }
        if !(self.rcut_smth.is_finite() && self.rcut_smth >= 0.0 && self.rcut_smth < self.rcut) {
            out.push(Err(format!(
                "model.rcut_smth must be in [0, rcut = {}), got {}",
                self.rcut, self.rcut_smth
            )));
        }
        for (key, widths) in [
            ("model.neuron", &self.neuron),
            ("model.fitting_neuron", &self.fitting_neuron),
        ] {
            if widths.is_empty() || widths.len() > MAX_LAYERS {
                out.push(Err(format!(
                    "{key} must list 1 to {MAX_LAYERS} widths, got {widths:?}"
                )));
            }
            if widths.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
                out.push(Err(format!(
                    "{key}: widths must be in 1..={MAX_WIDTH}, got {widths:?}"
                )));
            }
        }
        let ng = self.neuron.last().copied().unwrap_or(0);
        if self.axis_neuron == 0 || self.axis_neuron > ng {
            out.push(Err(format!(
                "model.axis_neuron must be in 1..={ng} (the last embedding width), got {}",
                self.axis_neuron
            )));
        }
        if !(self.env_protection.is_finite() && self.env_protection >= 0.0) {
            out.push(Err(format!(
                "model.env_protection must be a non-negative number, got {}",
                self.env_protection
            )));
        }
        out.push(activation(&self.activation_function, "model.activation_function").map(|_| ()));
        out.push(
            activation(
                &self.fitting_activation_function,
                "model.fitting_activation_function",
            )
            .map(|_| ()),
        );
        if let Some(sel) = &self.sel {
            if sel.iter().any(|&n| n > MAX_SEL) {
                out.push(Err(format!(
                    "model.sel: at most {MAX_SEL} slots per type, got {sel:?}"
                )));
            }
            if let Some(types) = &self.type_map
                && sel.len() != types.len()
            {
                out.push(Err(format!(
                    "model.sel has {} entries for the {} elements of model.type_map",
                    sel.len(),
                    types.len()
                )));
            }
        }
        out
    }

    /// The hyperparameters for training data of elements `species` (in
    /// that order when `type_map` is absent), with the configured `sel`.
    pub fn hyper(&self, species: &[String]) -> std::result::Result<DeepPotHyper, String> {
        let type_map = self.type_map.clone().unwrap_or_else(|| species.to_vec());
        if let Some(s) = species.iter().find(|s| !type_map.contains(s)) {
            return Err(format!(
                "model.type_map: the training data has {s}, which type_map ({}) lacks",
                type_map.join(", ")
            ));
        }
        let sel = self.sel.clone().ok_or_else(|| {
            "model.sel: not given (forcefit counts it from the training data when training)"
                .to_string()
        })?;
        self.hyper_with(type_map, sel)
    }

    /// The hyperparameters of a new model for these elements and slots.
    pub fn hyper_with(
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
