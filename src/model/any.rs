//! The family seam, its upper half: the closed enums over the model
//! families that the code above `model/` holds ([`AnyModel`],
//! [`ModelConfig`], [`FamilyState`]), so that nothing in `train/` or
//! `optim/` names a family. Each family implements `model::family::Family`.

use super::bp::{BpConfig, BpModel, BpStats, looks_like_aenet};
use super::deepmd::{DeepPot, DeepPotStats, DeepmdConfig, looks_like_deepmd};
use super::family::{Family, KalmanRecipe, ModelFile};
use super::nep::config::NepConfig;
use super::nep::{Nep, NepState};
use super::{Adjoint, Model, Prediction, Prepared, Tape};
use crate::error::{Error, Result};
use crate::structure::Structure;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A family's data-dependent state in a checkpoint, tagged with the family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyState {
    /// NEP: the descriptor scales.
    Nep(NepState),
    /// DeePMD: davg/dstd and the energy biases.
    Deepmd(DeepPotStats),
    /// BP: descriptor and energy normalisation, free-atom energies.
    Bp(BpStats),
}

impl FamilyState {
    /// The family the state belongs to.
    pub fn family(&self) -> &'static str {
        match self {
            FamilyState::Nep(_) => Nep::NAME,
            FamilyState::Deepmd(_) => DeepPot::NAME,
            FamilyState::Bp(_) => BpModel::NAME,
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
    /// Behler–Parrinello networks with aenet's Chebyshev descriptor.
    Bp(BpConfig),
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Nep(NepConfig::default())
    }
}

/// The families `[model] family` accepts.
pub const FAMILIES: &[&str] = &["nep", "deepmd", "bp"];

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
        if family != "deepmd" {
            float64_only(&mut table, &family).map_err(D::Error::custom)?;
        }
        let given: Vec<String> = table.keys().cloned().collect();
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
            "nep" => {
                let mut config: NepConfig = value.try_into().map_err(keys)?;
                config.explicit = super::nep::config::GivenKeys(given);
                Ok(ModelConfig::Nep(config))
            }
            "deepmd" => Ok(ModelConfig::Deepmd(value.try_into().map_err(keys)?)),
            "bp" => Ok(ModelConfig::Bp(value.try_into().map_err(keys)?)),
            other => Err(D::Error::custom(format!(
                "model.family: unknown family {other:?} (forcefit has {})",
                FAMILIES.join(", ")
            ))),
        }
    }
}

/// `precision` in a family that computes in float64 only: "float64" is
/// accepted (and dropped), anything else refused with what is accepted.
fn float64_only(table: &mut toml::Table, family: &str) -> std::result::Result<(), String> {
    match table.get("precision") {
        None => Ok(()),
        Some(toml::Value::String(s)) if s == "float64" => {
            table.remove("precision");
            Ok(())
        }
        Some(other) => Err(format!(
            "model.precision ({family}): {other} is not available: the {family} family computes in float64 (accepted: \"float64\"); \"float32\" is for family = \"deepmd\", whose networks it runs in float32"
        )),
    }
}

impl ModelConfig {
    /// The family's name.
    pub fn family(&self) -> &'static str {
        match self {
            ModelConfig::Nep(_) => Nep::NAME,
            ModelConfig::Deepmd(_) => DeepPot::NAME,
            ModelConfig::Bp(_) => BpModel::NAME,
        }
    }

    /// What the Kalman filter trains this family with by default.
    pub fn kalman_recipe(&self) -> KalmanRecipe {
        match self {
            ModelConfig::Nep(_) => Nep::KALMAN_RECIPE,
            ModelConfig::Deepmd(_) => DeepPot::KALMAN_RECIPE,
            ModelConfig::Bp(_) => BpModel::KALMAN_RECIPE,
        }
    }

    /// Checks every value; the message names the offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self {
            ModelConfig::Nep(c) => c.validate(),
            ModelConfig::Deepmd(c) => c.validate(),
            ModelConfig::Bp(c) => c.validate(),
        }
    }

    /// The NEP settings, if this is a NEP.
    pub fn as_nep(&self) -> Option<&NepConfig> {
        match self {
            ModelConfig::Nep(c) => Some(c),
            ModelConfig::Deepmd(_) | ModelConfig::Bp(_) => None,
        }
    }

    /// The element list, if the configuration fixes it.
    pub fn species(&self) -> Option<&[String]> {
        match self {
            ModelConfig::Nep(c) => c.species.as_deref(),
            ModelConfig::Deepmd(c) => c.type_map.as_deref(),
            ModelConfig::Bp(c) => c.species.as_deref(),
        }
    }

    /// The cutoff (Å) within which an atom must have a neighbour, with the
    /// key that sets it.
    pub fn cutoff(&self) -> (f64, &'static str) {
        match self {
            ModelConfig::Nep(c) => (c.cutoff.max_radial(), "model.cutoff"),
            ModelConfig::Deepmd(c) => (c.rcut, "model.rcut"),
            ModelConfig::Bp(c) => (c.radial_cutoff.max(c.angular_cutoff), "model.radial_cutoff"),
        }
    }

    /// The model file(s) to start from (aenet: one per element), if any.
    pub fn init(&self) -> Option<Vec<PathBuf>> {
        match self {
            ModelConfig::Nep(c) => c.init.clone().map(|p| vec![p]),
            ModelConfig::Deepmd(c) => c.init.clone().map(|p| vec![p]),
            ModelConfig::Bp(c) => c.init.clone(),
        }
    }

    /// Whether an init model's descriptor scales are to be recomputed from
    /// the training data (NEP's `init_rescale`).
    pub fn init_rescale(&self) -> bool {
        matches!(self, ModelConfig::Nep(c) if c.init_rescale)
    }

    /// Mutable access to those paths (to resolve them against the
    /// config's directory).
    pub fn init_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            ModelConfig::Nep(c) => c.init.iter_mut().collect(),
            ModelConfig::Deepmd(c) => c.init.iter_mut().collect(),
            ModelConfig::Bp(c) => c.init.iter_mut().flatten().collect(),
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
    /// A Behler–Parrinello (aenet) model.
    Bp(BpModel),
}

/// Runs `$body` with `$m` bound to the family's model.
macro_rules! each {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            AnyModel::Nep($m) => $body,
            AnyModel::Deepmd($m) => $body,
            AnyModel::Bp($m) => $body,
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
    fn energies_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        each!(self, m => m.energies_sites(s, sites, out))
    }
    fn vjp_sites(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        each!(self, m => m.vjp_sites(s, sites, adj, grad))
    }
    fn predict_sites_taped(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) -> Tape {
        each!(self, m => m.predict_sites_taped(s, sites, out))
    }
    fn vjp_sites_taped(
        &self,
        s: &Prepared,
        sites: &[usize],
        adj: &Adjoint,
        grad: &mut [f64],
        tape: Tape,
    ) {
        each!(self, m => m.vjp_sites_taped(s, sites, adj, grad, tape))
    }
    fn prepare(&self, structure: Structure) -> Result<Prepared> {
        each!(self, m => m.prepare(structure))
    }
    fn cache_structure(&self, s: &Prepared) {
        each!(self, m => m.cache_structure(s))
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
            ModelConfig::Bp(c) => AnyModel::Bp(BpModel::random_for(c, species, train, &mut rng)?),
        })
    }

    /// Loads a model from its file (or, for aenet, one file per element),
    /// recognising the family by content.
    pub fn load(paths: &[PathBuf]) -> Result<Self> {
        let files = paths
            .iter()
            .map(|p| ModelFile::read(p))
            .collect::<Result<Vec<_>>>()?;
        Self::from_model_files(&files)
    }

    /// [`AnyModel::load`] for files already in memory.
    pub fn from_model_files(files: &[ModelFile]) -> Result<Self> {
        let Some(first) = files.first() else {
            return Err(Error::Invalid("no model file given".into()));
        };
        if files.iter().all(|f| looks_like_aenet(&f.bytes)) {
            return Ok(AnyModel::Bp(BpModel::from_files(files)?));
        }
        if let Some(odd) = files
            .iter()
            .find(|f| !looks_like_aenet(&f.bytes))
            .filter(|_| files.len() > 1)
        {
            return Err(Error::file(
                &odd.path,
                format!(
                    "{} model files given, but only aenet potentials (one .nn per element) come in several files, and this is not one",
                    files.len()
                ),
            ));
        }
        let text = String::from_utf8_lossy(&first.bytes);
        let word = text.split_whitespace().next().unwrap_or("");
        if word.starts_with("nep") {
            return Ok(AnyModel::Nep(Nep::from_files(files)?));
        }
        let deepmd_name = first
            .path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        // By name too, so that a damaged model.yaml gets the YAML reader's
        // message (with its line) rather than "unknown format".
        if looks_like_deepmd(&text) || deepmd_name {
            return Ok(AnyModel::Deepmd(DeepPot::from_files(files)?));
        }
        Err(Error::parse(
            &first.path,
            1,
            format!(
                "unknown model format (first word `{}`): forcefit reads GPUMD's nep.txt (first word nep3, nep4, nep4_zbl, …), \
                 deepmd-kit's serialized models (.yaml or .json with a `model` holding a `descriptor`) \
                 and aenet's potential files (binary .nn or .nn.ascii, one per element)",
                word.chars().take(40).collect::<String>()
            ),
        ))
    }

    /// Fits a model read from `[model] init` (at `path`) to the run:
    /// `data_species` are the training data's elements. NEP: the
    /// architecture keys `[model]` sets must agree with the file, and a
    /// model of more elements is reduced to the run's (fine-tuning, see
    /// [`super::nep::reduce`]). Other families are used as they are.
    /// Also returns a note for the user when the model was changed.
    pub fn adapt_init(
        self,
        config: &ModelConfig,
        data_species: &[String],
        path: &Path,
    ) -> Result<(Self, Option<String>)> {
        match (self, config) {
            (AnyModel::Nep(nep), ModelConfig::Nep(c)) => {
                let before = nep.hyper().species.clone();
                let nep = super::nep::reduce::for_run(nep, c, data_species, path)?;
                let note = super::nep::reduce::note(&before, &nep.hyper().species);
                Ok((AnyModel::Nep(nep), note))
            }
            (AnyModel::Deepmd(mut pot), ModelConfig::Deepmd(c)) => {
                c.apply_precisions(&mut pot);
                Ok((AnyModel::Deepmd(pot), None))
            }
            (model, _) => Ok((model, None)),
        }
    }

    /// Recomputes the descriptor scales from `train` where `[model]` asks
    /// for it on an init model (NEP's `init_rescale`); returns whether it did.
    pub fn rescale_init(&mut self, config: &ModelConfig, train: &[Prepared]) -> bool {
        match (self, config) {
            (AnyModel::Nep(nep), ModelConfig::Nep(c)) if c.init_rescale => {
                nep.scale_descriptors(train);
                true
            }
            _ => false,
        }
    }

    /// The family's name.
    pub fn family(&self) -> &'static str {
        match self {
            AnyModel::Nep(_) => Nep::NAME,
            AnyModel::Deepmd(_) => DeepPot::NAME,
            AnyModel::Bp(_) => BpModel::NAME,
        }
    }

    /// See [`Family::fit_data`].
    pub fn fit_data(&mut self, train: &[Prepared]) -> Vec<String> {
        each!(self, m => m.fit_data(train))
    }

    /// See [`Family::state`].
    pub fn state(&self) -> FamilyState {
        match self {
            AnyModel::Nep(m) => FamilyState::Nep(m.state()),
            AnyModel::Deepmd(m) => FamilyState::Deepmd(m.state()),
            AnyModel::Bp(m) => FamilyState::Bp(m.state()),
        }
    }

    /// See [`Family::restore_state`]; a state of another family is refused.
    pub fn restore_state(&mut self, state: FamilyState) -> Result<()> {
        match (self, state) {
            (AnyModel::Nep(m), FamilyState::Nep(s)) => m.restore_state(s),
            (AnyModel::Deepmd(m), FamilyState::Deepmd(s)) => m.restore_state(s),
            (AnyModel::Bp(m), FamilyState::Bp(s)) => m.restore_state(s),
            (m, s) => Err(Error::Invalid(format!(
                "the checkpoint holds a {} model, the configuration a {} model",
                s.family(),
                m.family()
            ))),
        }
    }

    /// The model's files, named as in an output directory.
    pub fn files(&self) -> Result<Vec<ModelFile>> {
        each!(self, m => m.to_files())
    }

    /// Writes the model's files into `dir` atomically; returns their paths.
    pub fn write_into(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for file in self.files()? {
            let path = dir.join(&file.path);
            crate::io::write_atomic(&path, |w| w.write_all(&file.bytes))?;
            written.push(path);
        }
        Ok(written)
    }

    /// The model as its files hold it (a format may round numbers, as
    /// nep.txt's 8 significant digits do): what a user of the files gets.
    pub fn as_written(&self) -> Result<Self> {
        Ok(each!(self, m => {
            let read = Family::from_files(&m.to_files()?)?;
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

impl From<BpModel> for AnyModel {
    fn from(m: BpModel) -> Self {
        AnyModel::Bp(m)
    }
}
