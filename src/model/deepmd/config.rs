//! The `[model]` configuration of a DeePMD se_e2_a model, with deepmd-kit's
//! key names and defaults (`deepmd/utils/argcheck.py`: `descrpt_se_a_args`,
//! `fitting_ener`); the fitting's keys carry a `fitting_` prefix. The seed
//! is the training run's.

use super::DeepPotHyper;
use crate::nn::Activation;
use serde::{Deserialize, Serialize};

/// A DeePMD se_e2_a + ener configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepmdConfig {
    /// Element of each type; default: the elements of the training data.
    #[serde(default)]
    pub type_map: Option<Vec<String>>,
    /// Cutoff, Å (deepmd-kit default 6).
    #[serde(default = "default_rcut")]
    pub rcut: f64,
    /// Start of the switch, Å (default 0.5).
    #[serde(default = "default_rcut_smth")]
    pub rcut_smth: f64,
    /// Slots per neighbour type, in type_map order (required: forcefit has
    /// no `"auto"`).
    pub sel: Vec<usize>,
    /// Embedding widths (default [10, 20, 40]).
    #[serde(default = "default_neuron")]
    pub neuron: Vec<usize>,
    /// Axis neurons (default 4).
    #[serde(default = "default_axis_neuron")]
    pub axis_neuron: usize,
    /// Timesteps in the embedding (default false).
    #[serde(default)]
    pub resnet_dt: bool,
    /// One embedding per neighbour type (default false: per type pair).
    #[serde(default)]
    pub type_one_side: bool,
    /// Keep davg at zero (default false).
    #[serde(default)]
    pub set_davg_zero: bool,
    /// Protection in 1/(d + p) (default 0).
    #[serde(default)]
    pub env_protection: f64,
    /// Embedding activation (default tanh).
    #[serde(default = "default_activation")]
    pub activation_function: String,
    /// Fitting hidden widths (default [120, 120, 120]).
    #[serde(default = "default_fitting_neuron")]
    pub fitting_neuron: Vec<usize>,
    /// Timesteps in the fitting (default true).
    #[serde(default = "default_true")]
    pub fitting_resnet_dt: bool,
    /// Fitting activation (default tanh).
    #[serde(default = "default_activation")]
    pub fitting_activation_function: String,
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
fn default_activation() -> String {
    "tanh".into()
}
fn default_fitting_neuron() -> Vec<usize> {
    vec![120, 120, 120]
}
fn default_true() -> bool {
    true
}

impl DeepmdConfig {
    /// Checks every key; the message lists each problem with its key.
    pub fn validate(&self) -> Result<(), String> {
        let species = self.type_map.clone().unwrap_or_else(|| {
            // sizes only: stand-in names for as many types as sel has
            (0..self.sel.len()).map(|t| format!("type{t}")).collect()
        });
        self.hyper(&species).map(|_| ())
    }

    /// The hyperparameters for training data whose elements are `species`
    /// (used, in that order, when `type_map` is not given).
    pub fn hyper(&self, species: &[String]) -> Result<DeepPotHyper, String> {
        let mut errors = Vec::new();
        let parse = |key: &str, name: &str, errors: &mut Vec<String>| {
            Activation::parse(name).unwrap_or_else(|| {
                errors.push(format!("{key}: unknown activation function `{name}`"));
                Activation::Tanh
            })
        };
        let activation_function = parse(
            "activation_function",
            &self.activation_function,
            &mut errors,
        );
        let fitting_activation_function = parse(
            "fitting_activation_function",
            &self.fitting_activation_function,
            &mut errors,
        );
        let type_map = self.type_map.clone().unwrap_or_else(|| species.to_vec());
        if let Some(tm) = &self.type_map {
            for s in species {
                if !tm.contains(s) {
                    errors.push(format!(
                        "type_map: the training data has {s}, which type_map lacks"
                    ));
                }
            }
        }
        let hyper = DeepPotHyper {
            type_map,
            rcut: self.rcut,
            rcut_smth: self.rcut_smth,
            sel: self.sel.clone(),
            neuron: self.neuron.clone(),
            axis_neuron: self.axis_neuron,
            resnet_dt: self.resnet_dt,
            type_one_side: self.type_one_side,
            env_protection: self.env_protection,
            set_davg_zero: self.set_davg_zero,
            activation_function,
            fitting_neuron: self.fitting_neuron.clone(),
            fitting_resnet_dt: self.fitting_resnet_dt,
            fitting_activation_function,
        };
        if let Err(e) = hyper.validate() {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(hyper)
        } else {
            Err(errors.join("; "))
        }
    }
}
