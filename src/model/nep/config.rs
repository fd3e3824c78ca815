//! `[model]` keys of the NEP family (`family = "nep"`, the default), with
//! GPUMD's `nep.in` names and defaults.

use super::angular::AngularTerms;
use super::{MAX_CHANNEL, MAX_NEURONS, NepHyper, Zbl};
use crate::validate::positive;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// l_max for the 3-body, 4-body (0 or 2) and 5-body (0 or 1) terms.
    #[serde(default = "default_l_max")]
    pub l_max: [usize; 3],
    /// Hidden neurons.
    #[serde(default = "default_neuron")]
    pub neuron: usize,
    /// Outer ZBL cutoff (inner = half of it); absent: no ZBL.
    #[serde(default)]
    pub zbl: Option<f64>,
    /// Start from this nep.txt instead of random parameters: its
    /// architecture is used, and it is reduced to the run's elements when
    /// it has more (fine-tuning a foundation model).
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// With `init`: recompute q_scaler from the training data instead of
    /// keeping the file's (GPUMD's fine-tuning keeps it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init_rescale: bool,
    /// The keys the `[model]` table set (serde's defaults hide which were
    /// given): with `init`, those of the architecture must agree with it.
    #[serde(skip)]
    pub explicit: GivenKeys,
}

/// Keys given in a TOML table. How a setting was written is not part of
/// the settings: two configurations with the same values are equal (a
/// resumed run compares them) whichever keys spelled out the defaults.
#[derive(Clone, Debug, Default)]
pub struct GivenKeys(pub Vec<String>);

impl PartialEq for GivenKeys {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl GivenKeys {
    /// Whether `key` was given.
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|k| k == key)
    }
}

/// The architecture keys, which `init`'s model fixes.
pub const ARCHITECTURE_KEYS: [&str; 7] = [
    "version",
    "cutoff",
    "n_max",
    "basis_size",
    "l_max",
    "neuron",
    "zbl",
];

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
fn default_l_max() -> [usize; 3] {
    [4, 2, 0]
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
            init_rescale: false,
            explicit: GivenKeys::default(),
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
        if m.l_max[0] > 4 || !(m.l_max[1] == 0 || m.l_max[1] == 2) || m.l_max[2] > 1 {
            return Err(format!(
                "model.l_max must be [0..=4, 0 or 2, 0 or 1], got {:?}",
                m.l_max
            ));
        }
        if m.l_max[1] == 2 && m.l_max[0] < 2 {
            return Err("model.l_max: the 4-body term needs a 3-body l_max of at least 2".into());
        }
        if m.neuron == 0 || m.neuron > MAX_NEURONS {
            return Err(format!(
                "model.neuron must be in 1..={MAX_NEURONS}, got {}",
                m.neuron
            ));
        }
        if m.init_rescale && m.init.is_none() {
            return Err("model.init_rescale applies with model.init only".into());
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

    /// For each architecture key (nep.in's keyword, which is also the TOML
    /// key), these settings' value and `hyper`'s, in nep.in's notation.
    pub fn architecture(&self, hyper: &NepHyper) -> [(&'static str, String, String); 7] {
        let (m, a) = (self, &hyper.angular);
        let zbl = match &hyper.zbl {
            Some(Zbl::Universal { outer, .. }) => format!("{outer}"),
            Some(Zbl::Flexible(_)) => "flexible".into(),
            None => "none".into(),
        };
        [
            ("version", m.version.to_string(), hyper.version.to_string()),
            (
                "cutoff",
                format!("{} {}", m.cutoff[0], m.cutoff[1]),
                format!("{} {}", hyper.rc_radial, hyper.rc_angular),
            ),
            (
                "n_max",
                format!("{} {}", m.n_max[0], m.n_max[1]),
                format!("{} {}", hyper.n_max_radial, hyper.n_max_angular),
            ),
            (
                "basis_size",
                format!("{} {}", m.basis_size[0], m.basis_size[1]),
                format!("{} {}", hyper.basis_size_radial, hyper.basis_size_angular),
            ),
            (
                "l_max",
                format!("{} {} {}", m.l_max[0], m.l_max[1], m.l_max[2]),
                format!(
                    "{} {} {}",
                    a.l_max,
                    if a.four_body { 2 } else { 0 },
                    usize::from(a.five_body)
                ),
            ),
            ("neuron", m.neuron.to_string(), hyper.neurons.to_string()),
            ("zbl", m.zbl.map_or("none".into(), |z| format!("{z}")), zbl),
        ]
    }

    /// The architecture keys that `given` says were set and that disagree
    /// with `hyper`: (key, this value, hyper's value).
    pub fn disagreements(
        &self,
        hyper: &NepHyper,
        given: impl Fn(&str) -> bool,
    ) -> Vec<(&'static str, String, String)> {
        self.architecture(hyper)
            .into_iter()
            .filter(|(key, ours, theirs)| given(key) && ours != theirs)
            .collect()
    }

    /// The hyperparameters of a new model of these settings and elements.
    pub fn hyper(&self, species: Vec<String>) -> NepHyper {
        NepHyper {
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
            angular: AngularTerms {
                l_max: self.l_max[0],
                four_body: self.l_max[1] == 2,
                five_body: self.l_max[2] == 1,
            },
            neurons: self.neuron,
            zbl: self.zbl.map(|outer| Zbl::Universal {
                inner: 0.5 * outer,
                outer,
                typewise: None,
            }),
        }
    }
}
