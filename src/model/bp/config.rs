//! `[model]` keys of the Behler–Parrinello family (`family = "bp"`):
//! aenet's Chebyshev descriptor (the `BASIS type=Chebyshev` line of an
//! aenet `.stp` file) and one network per element. The defaults are the
//! aenet-PyTorch TiO2 example's descriptor with a somewhat wider network.

use crate::nn::Activation;
use crate::validate::positive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Most Chebyshev order a descriptor may have.
pub const MAX_ORDER: usize = 100;

/// Widest hidden layer a network may have.
pub const MAX_WIDTH: usize = 10_000;

/// Most hidden layers a network may have.
pub const MAX_LAYERS: usize = 32;

/// Behler–Parrinello settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BpConfig {
    /// Element symbols in type order; the order of aenet's `ENV` list, which
    /// fixes each element's weight ("spin") in the descriptor (default: the
    /// elements of the training set, by atomic number).
    #[serde(default)]
    pub species: Option<Vec<String>>,
    /// Radial cutoff, Å (aenet's `radial_Rc`).
    #[serde(default = "default_radial_cutoff")]
    pub radial_cutoff: f64,
    /// Highest radial Chebyshev order (aenet's `radial_N`): orders 0..=N.
    #[serde(default = "default_radial_order")]
    pub radial_order: usize,
    /// Angular cutoff, Å (aenet's `angular_Rc`).
    #[serde(default = "default_angular_cutoff")]
    pub angular_cutoff: f64,
    /// Highest angular Chebyshev order (aenet's `angular_N`).
    #[serde(default = "default_angular_order")]
    pub angular_order: usize,
    /// aenet's `RMIN`, Å: written to the potential files (aenet sizes its
    /// neighbour lists with it); it changes no prediction.
    #[serde(default = "default_rc_min")]
    pub rc_min: f64,
    /// Hidden-layer widths of every element's network.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers (tanh, sigmoid, mtanh, twist,
    /// linear); the output layer is linear, as in aenet.
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Per-element networks that differ from `hidden`/`activation`.
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkSpec>,
    /// Free-atom reference energies E_atom, eV (aenet's `TYPES` block); the
    /// networks learn the rest. Absent: fitted to the training energies by
    /// least squares (one energy per element).
    #[serde(default)]
    pub atomic_energies: Option<BTreeMap<String, f64>>,
    /// Potential file name of each element (default `potential.<El>.nn`).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// aenet potential files to start from, one per element (`.nn` or
    /// `.nn.ascii`), instead of random networks; their networks and
    /// descriptor scaling are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<Vec<PathBuf>>,
}

/// One element's network: hidden widths and one activation per hidden layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Hidden-layer widths.
    pub hidden: Vec<usize>,
    /// One activation per hidden layer.
    pub activations: Vec<Activation>,
}

impl Default for BpConfig {
    fn default() -> Self {
        BpConfig {
            species: None,
            radial_cutoff: default_radial_cutoff(),
            radial_order: default_radial_order(),
            angular_cutoff: default_angular_cutoff(),
            angular_order: default_angular_order(),
            rc_min: default_rc_min(),
            hidden: default_hidden(),
            activation: default_activation(),
            networks: BTreeMap::new(),
            atomic_energies: None,
            files: BTreeMap::new(),
            init: None,
        }
    }
}

fn default_radial_cutoff() -> f64 {
    6.5
}
fn default_radial_order() -> usize {
    20
}
fn default_angular_cutoff() -> f64 {
    5.0
}
fn default_angular_order() -> usize {
    6
}
fn default_rc_min() -> f64 {
    0.5
}
fn default_hidden() -> Vec<usize> {
    vec![10, 10]
}
fn default_activation() -> Activation {
    Activation::Tanh
}

/// The activations aenet's networks can have (its codes 0-4).
pub const AENET_ACTIVATIONS: [Activation; 5] = [
    Activation::Linear,
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Mtanh,
    Activation::Twist,
];

impl BpConfig {
    /// Checks every value; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        positive(self.radial_cutoff, "model.radial_cutoff")?;
        positive(self.angular_cutoff, "model.angular_cutoff")?;
        if !(self.rc_min.is_finite() && self.rc_min >= 0.0) {
            return Err(format!("model.rc_min must be ≥ 0 Å, got {}", self.rc_min));
        }
        for (key, order) in [
            ("model.radial_order", self.radial_order),
            ("model.angular_order", self.angular_order),
        ] {
            if order > MAX_ORDER {
                return Err(format!("{key} must be at most {MAX_ORDER}, got {order}"));
            }
        }
        check_network("model", &self.hidden, &[self.activation])?;
        for (element, spec) in &self.networks {
            let key = format!("model.networks.{element}");
            if spec.activations.len() != spec.hidden.len() {
                return Err(format!(
                    "{key}: {} hidden layers but {} activations",
                    spec.hidden.len(),
                    spec.activations.len()
                ));
            }
            check_network(&key, &spec.hidden, &spec.activations)?;
        }
        if let Some(e) = &self.atomic_energies
            && let Some((el, v)) = e.iter().find(|(_, v)| !v.is_finite())
        {
            return Err(format!(
                "model.atomic_energies.{el} must be finite, got {v}"
            ));
        }
        Ok(())
    }

    /// The network of `element`: (hidden widths, one activation each).
    pub fn network_of(&self, element: &str) -> (Vec<usize>, Vec<Activation>) {
        match self.networks.get(element) {
            Some(spec) => (spec.hidden.clone(), spec.activations.clone()),
            None => (
                self.hidden.clone(),
                vec![self.activation; self.hidden.len()],
            ),
        }
    }
}

fn check_network(key: &str, hidden: &[usize], activations: &[Activation]) -> Result<(), String> {
    if hidden.len() > MAX_LAYERS {
        return Err(format!(
            "{key}.hidden: at most {MAX_LAYERS} hidden layers, got {}",
            hidden.len()
        ));
    }
    if let Some(w) = hidden.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
        return Err(format!(
            "{key}.hidden: widths must be 1..={MAX_WIDTH}, got {w}"
        ));
    }
    if let Some(a) = activations.iter().find(|a| !AENET_ACTIVATIONS.contains(a)) {
        return Err(format!(
            "{key}: activation {:?} is not one of aenet's (linear, tanh, sigmoid, mtanh, twist)",
            a.name()
        ));
    }
    Ok(())
}
