//! The family seam: what the training driver, the CLI and the checkpoints
//! see of a model family (NEP, DeePMD, …). [`Family`] is what each family
//! implements; [`AnyModel`] and [`ModelConfig`] are the closed enums over
//! the families that the code above `model/` holds, so that nothing in
//! `train/` or `optim/` names a family.

use super::deepmd::{DeepPot, DeepPotStats, DeepmdConfig, looks_like_deepmd};
use super::nep::Nep;
use super::nep::config::NepConfig;
use super::{Adjoint, Model, Prediction, Prepared};
use crate::error::{Error, Result};
use crate::structure::Structure;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What every model family provides besides [`Model`].
pub trait Family: Model + Clone + Sized {
    /// The family's name in `[model] family = "…"` and in checkpoints.
    const NAME: &'static str;
    /// File name of the trained model in an output directory.
    const FILE_NAME: &'static str;

    /// The family's `[model]` settings.
    type Config;
    /// A new model with random weights for these elements (the training
    /// structures give what the settings leave to the data, such as
    /// DeePMD's neighbour slots).
    fn random_for(
        config: &Self::Config,
        species: Vec<String>,
        train: &[Structure],
        rng: &mut ChaCha8Rng,
    ) -> Result<Self>;
    /// Fits the data-dependent state that is not trained (descriptor
    /// scales, energy references, …) to the training set; returns lines
    /// worth telling the user.
    fn fit_data(&mut self, train: &[Prepared]) -> Vec<String>;
    /// That state, for a checkpoint.
    fn state(&self) -> FamilyState;
    /// Restores the state a checkpoint saved (refused when it does not fit).
    fn restore_state(&mut self, state: FamilyState) -> Result<()>;
    /// The model file's contents.
    fn to_file_text(&self) -> Result<String>;
    /// Reads the model file's contents (`path` names it in errors).
    fn from_file_text(text: &str, path: &Path) -> Result<Self>;
    /// Hyperparameters, for reports.
    fn hyper_json(&self) -> serde_json::Value;
    /// The same model (hyperparameters and data-dependent state) with
    /// random weights.
    fn with_random_params(&self, rng: &mut ChaCha8Rng) -> Result<Self>;
    /// Length of one atom's descriptor.
    fn descriptor_dim(&self) -> usize;
    /// The descriptors of every atom, row-major (n_atoms × dim), as the
    /// family's reference code reports them.
    fn atom_descriptors(&self, s: &Prepared) -> Vec<f64>;
}

/// A family's data-dependent state in a checkpoint, tagged with the family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyState {
    /// NEP: the descriptor scales.
    Nep {
        /// q_scaler, one per descriptor component.
        q_scaler: Vec<f64>,
    },
    /// DeePMD: davg/dstd and the energy biases.
    Deepmd(DeepPotStats),
}

impl FamilyState {
    /// The family the state belongs to.
    pub fn family(&self) -> &'static str {
        match self {
            FamilyState::Nep { .. } => Nep::NAME,
            FamilyState::Deepmd(_) => DeepPot::NAME,
        }
    }
}

/// `[model]`: `family = "nep"` (the default) or another family's name, then
/// that family's own keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum ModelConfig {
    /// NEP (GPUMD's names and defaults).
    Nep(NepConfig),
    /// DeePMD se_e2_a (deepmd-kit's names).
    Deepmd(DeepmdConfig),
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Nep(NepConfig::default())
    }
}

/// The families `[model] family` accepts.
pub const FAMILIES: &[&str] = &["nep", "deepmd"];

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(d)?;
        let family = match table.remove("family") {
            None => "nep".to_string(),
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "model.family must be a string (one of {}), got {other}",
                    FAMILIES.join(", ")
                )));
            }
        };
        let value = toml::Value::Table(table);
        // toml's message ends with "in `key`" when a value is wrong.
        let keys = |e: toml::de::Error| {
            let text = e.to_string();
            match text.trim_end().rsplit_once("\nin `") {
                Some((message, key)) => D::Error::custom(format!(
                    "model.{} ({family}): {message}",
                    key.trim_end_matches('`')
                )),
                None => D::Error::custom(format!("model ({family}): {}", text.trim_end())),
            }
        };
        match family.as_str() {
            "nep" => Ok(ModelConfig::Nep(value.try_into().map_err(keys)?)),
            "deepmd" => Ok(ModelConfig::Deepmd(value.try_into().map_err(keys)?)),
            other => Err(D::Error::custom(format!(
                "model.family: unknown family {other:?} (forcefit has {})",
                FAMILIES.join(", ")
            ))),
        }
    }
}

impl ModelConfig {
    /// The family's name.
    pub fn family(&self) -> &'static str {
        match self {
            ModelConfig::Nep(_) => Nep::NAME,
            ModelConfig::Deepmd(_) => DeepPot::NAME,
        }
    }

    /// Checks every value; the message names the offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self {
            ModelConfig::Nep(c) => c.validate(),
            ModelConfig::Deepmd(c) => c.validate(),
        }
    }

    /// The NEP settings, if this is a NEP.
    pub fn as_nep(&self) -> Option<&NepConfig> {
        match self {
            ModelConfig::Nep(c) => Some(c),
            ModelConfig::Deepmd(_) => None,
        }
    }

    /// The element list, if the configuration fixes it.
    pub fn species(&self) -> Option<&[String]> {
        match self {
            ModelConfig::Nep(c) => c.species.as_deref(),
            ModelConfig::Deepmd(c) => c.type_map.as_deref(),
        }
    }

    /// The cutoff (Å) within which an atom must have a neighbour, with the
    /// key that sets it.
    pub fn cutoff(&self) -> (f64, &'static str) {
        match self {
            ModelConfig::Nep(c) => (c.cutoff[0], "model.cutoff"),
            ModelConfig::Deepmd(c) => (c.rcut, "model.rcut"),
        }
    }

    /// The model file to start from, if any.
    pub fn init(&self) -> Option<&Path> {
        match self {
            ModelConfig::Nep(c) => c.init.as_deref(),
            ModelConfig::Deepmd(c) => c.init.as_deref(),
        }
    }

    /// Mutable access to that path (to resolve it against the config's directory).
    pub fn init_mut(&mut self) -> Option<&mut PathBuf> {
        match self {
            ModelConfig::Nep(c) => c.init.as_mut(),
            ModelConfig::Deepmd(c) => c.init.as_mut(),
        }
    }
}

/// A model of any family: what the training driver and the CLI hold.
// A run holds one model (and a few clones), so the variants' sizes matter not.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum AnyModel {
    /// A NEP.
    Nep(Nep),
    /// A DeePMD se_e2_a model.
    Deepmd(DeepPot),
}

/// Runs `$body` with `$m` bound to the family's model.
macro_rules! each {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            AnyModel::Nep($m) => $body,
            AnyModel::Deepmd($m) => $body,
        }
    };
}

impl Model for AnyModel {
    fn species(&self) -> &[String] {
        each!(self, m => m.species())
    }
    fn cutoff(&self) -> f64 {
        each!(self, m => m.cutoff())
    }
    fn params(&self) -> &[f64] {
        each!(self, m => m.params())
    }
    fn params_mut(&mut self) -> &mut [f64] {
        each!(self, m => m.params_mut())
    }
    fn param_groups(&self) -> Vec<std::ops::Range<usize>> {
        each!(self, m => m.param_groups())
    }
    fn predict_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        each!(self, m => m.predict_sites(s, sites, out))
    }
    fn vjp_sites(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        each!(self, m => m.vjp_sites(s, sites, adj, grad))
    }
    fn prepare(&self, structure: Structure) -> Result<Prepared> {
        each!(self, m => m.prepare(structure))
    }
}

impl AnyModel {
    /// A new model with random weights as `config` describes it.
    pub fn random(
        config: &ModelConfig,
        species: Vec<String>,
        train: &[Structure],
        seed: u64,
    ) -> Result<Self> {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(match config {
            ModelConfig::Nep(c) => AnyModel::Nep(Nep::random_for(c, species, train, &mut rng)?),
            ModelConfig::Deepmd(c) => {
                AnyModel::Deepmd(DeepPot::random_for(c, species, train, &mut rng)?)
            }
        })
    }

    /// Loads a model file, recognising its family by content.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let first = text.split_whitespace().next().unwrap_or("");
        if first.starts_with("nep") {
            return Ok(AnyModel::Nep(Nep::from_file_text(&text, path)?));
        }
        if looks_like_deepmd(&text) {
            return Ok(AnyModel::Deepmd(DeepPot::from_file_text(&text, path)?));
        }
        Err(Error::parse(
            path,
            1,
            format!(
                "unknown model format (first word `{}`): forcefit reads GPUMD's nep.txt (first word nep3, nep4, nep4_zbl, …) \
                 and deepmd-kit's serialized models (.yaml or .json with a `model` holding a `descriptor`)",
                first.chars().take(40).collect::<String>()
            ),
        ))
    }

    /// The family's name.
    pub fn family(&self) -> &'static str {
        match self {
            AnyModel::Nep(_) => Nep::NAME,
            AnyModel::Deepmd(_) => DeepPot::NAME,
        }
    }

    /// File name of the model in an output directory (`nep.txt`, …).
    pub fn file_name(&self) -> &'static str {
        match self {
            AnyModel::Nep(_) => Nep::FILE_NAME,
            AnyModel::Deepmd(_) => DeepPot::FILE_NAME,
        }
    }

    /// See [`Family::fit_data`].
    pub fn fit_data(&mut self, train: &[Prepared]) -> Vec<String> {
        each!(self, m => m.fit_data(train))
    }

    /// See [`Family::state`].
    pub fn state(&self) -> FamilyState {
        each!(self, m => m.state())
    }

    /// See [`Family::restore_state`]; a state of another family is refused.
    pub fn restore_state(&mut self, state: FamilyState) -> Result<()> {
        if state.family() != self.family() {
            return Err(Error::Invalid(format!(
                "the checkpoint holds a {} model, the configuration a {} model",
                state.family(),
                self.family()
            )));
        }
        each!(self, m => m.restore_state(state))
    }

    /// Writes the model file to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = each!(self, m => m.to_file_text())?;
        crate::io::write_atomic(path, |w| w.write_all(text.as_bytes()))
    }

    /// The model as its file holds it (a format may round numbers, as
    /// nep.txt's 8 significant digits do): what a user of the file gets.
    pub fn as_written(&self) -> Result<Self> {
        let path = Path::new(self.file_name());
        Ok(each!(self, m => {
            let text = m.to_file_text()?;
            let read = Family::from_file_text(&text, path)?;
            Self::from_same(m, read)
        }))
    }

    /// See [`Family::hyper_json`].
    pub fn hyper_json(&self) -> serde_json::Value {
        each!(self, m => m.hyper_json())
    }

    /// See [`Family::descriptor_dim`].
    pub fn descriptor_dim(&self) -> usize {
        each!(self, m => m.descriptor_dim())
    }

    /// See [`Family::atom_descriptors`].
    pub fn atom_descriptors(&self, s: &Prepared) -> Vec<f64> {
        each!(self, m => m.atom_descriptors(s))
    }

    /// See [`Family::with_random_params`].
    pub fn with_random_params(&self, seed: u64) -> Result<Self> {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(each!(self, m => Self::from_same(m, m.with_random_params(&mut rng)?)))
    }

    /// Wraps a model of the same family as `_like` (type inference helper
    /// for [`each!`]).
    fn from_same<F: Into<AnyModel>>(_like: &F, model: F) -> Self {
        model.into()
    }
}

impl From<Nep> for AnyModel {
    fn from(m: Nep) -> Self {
        AnyModel::Nep(m)
    }
}

impl From<DeepPot> for AnyModel {
    fn from(m: DeepPot) -> Self {
        AnyModel::Deepmd(m)
    }
}
