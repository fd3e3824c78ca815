//! The training configuration (`forcefit train CONFIG.toml`): sections
//! `[data]`, `[model]`, `[loss]`, `[optimizer]`, `[train]`. Model keys use
//! GPUMD's `nep.in` names and defaults. Unknown keys and impossible values
//! are errors that name the key. Every key is documented in
//! `docs/training.md`.

use crate::error::{Error, Result};
use crate::loss::{FollowLr, ForceGradient, LossConfig, LossKind};
use crate::model::KalmanRecipe;
pub use crate::model::ModelConfig;
use crate::optim::Precision;
use crate::optim::schedule::{Budget, Decay, Restarts};
use crate::validate::{non_negative, positive};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One path or several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Paths {
    /// A single file or directory.
    One(PathBuf),
    /// Several, concatenated in order.
    Many(Vec<PathBuf>),
}

impl Paths {
    /// The paths as a list.
    pub fn list(&self) -> Vec<PathBuf> {
        match self {
            Paths::One(p) => vec![p.clone()],
            Paths::Many(v) => v.clone(),
        }
    }
}

/// `[data]`: where the structures come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Training structures (files or directories).
    pub train: Paths,
    /// Test (validation) structures; if absent, `validation_fraction` of the
    /// training set is held out.
    #[serde(default)]
    pub test: Option<Paths>,
    /// Fraction of the training structures held out for validation when no
    /// test set is given (0 = none).
    #[serde(default)]
    pub validation_fraction: f64,
    /// File format (extxyz, deepmd, xsf) when it cannot be told from the path.
    #[serde(default)]
    pub format: Option<String>,
    /// Seed of the held-out split (default: `train.seed`), so that runs with
    /// different training seeds can share one split.
    #[serde(default)]
    pub split_seed: Option<u64>,
}

/// `[loss]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossSection {
    /// Energy weight.
    #[serde(default = "one")]
    pub lambda_e: f64,
    /// Force weight.
    #[serde(default = "one")]
    pub lambda_f: f64,
    /// Virial weight.
    #[serde(default = "default_lambda_v")]
    pub lambda_v: f64,
    /// L1 regularisation weight.
    #[serde(default)]
    pub lambda_1: f64,
    /// L2 regularisation weight.
    #[serde(default)]
    pub lambda_2: f64,
    /// "rmse" (sum of root mean squared errors, GPUMD) or "mse".
    #[serde(default = "default_kind")]
    pub kind: LossKind,
    /// Fraction of the atoms whose forces enter each step (chosen at random).
    #[serde(default = "one")]
    pub force_fraction: f64,
    /// Fraction of the training structures (of those with forces) whose
    /// forces enter the loss at all: a fixed draw by the split seed, as
    /// aenet's `forcespercent`; the others train on their energy only (and
    /// cost an energy evaluation). Default 1: every structure.
    #[serde(default = "one")]
    pub force_structures: f64,
    /// Down-weights strongly distorted structures: each training
    /// structure's weight is multiplied by 1 / (1 + F_rms / force_scale),
    /// F_rms the RMS of its reference force components (eV/Å). Absent: off.
    #[serde(default)]
    pub force_scale: Option<f64>,
    /// "exact" (the model's vjp) or "directional" (Smith et al.'s
    /// directional derivatives of the energy gradient) for the force part
    /// of the gradient.
    #[serde(default)]
    pub force_gradient: ForceGradientKind,
    /// Relative step ε of the directional method (largest atomic
    /// displacement, Å).
    #[serde(default = "default_directional_epsilon")]
    pub directional_epsilon: f64,
    /// Energy weight when the learning rate reaches 0: with any `*_end`
    /// given, the weights follow the learning rate, λ = λ_end + (λ −
    /// λ_end)·lr/optimizer.lr (deepmd-kit's start/limit prefactors; Adam
    /// and AdamW only). An absent `*_end` keeps its weight constant.
    #[serde(default)]
    pub lambda_e_end: Option<f64>,
    /// Force weight when the learning rate reaches 0 (see `lambda_e_end`).
    #[serde(default)]
    pub lambda_f_end: Option<f64>,
    /// Virial weight when the learning rate reaches 0 (see `lambda_e_end`).
    #[serde(default)]
    pub lambda_v_end: Option<f64>,
    /// Per-element force weights, `{ Pb = 2.0, Te = 1.0 }` (GPUMD's
    /// `type_weight`): each atom's squared force error is multiplied by
    /// its element's weight squared in the loss; unlisted elements weigh 1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub type_weight: BTreeMap<String, f64>,
    /// GPUMD's `force_delta` δ (eV/Å): with δ > 0 each atom's squared force
    /// error is multiplied by δ/(δ + |F_ref|) in the loss. 0: off.
    #[serde(default)]
    pub force_delta: f64,
    /// GPUMD's `lambda_shear`: the squared shear-virial errors (xy yz zx)
    /// are multiplied by its square in the loss.
    #[serde(default = "one")]
    pub lambda_shear: f64,
}

/// `[loss] force_gradient`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForceGradientKind {
    /// The model's exact vector-Jacobian product.
    #[default]
    Exact,
    /// Directional derivatives (see `train::directional`).
    Directional,
}

/// Optimizer choice: one name for each, the same in the TOML file, on the
/// command line (`--optimizer`) and in the drop-ins' inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
    /// GPUMD's derivative-free SNES (baseline).
    Snes,
    /// Multi-sample Extended Kalman Filter (Hu et al. 2024).
    Fekf,
    /// Reorganized layer-wise EKF: FEKF with one structure per step.
    Rlekf,
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(name: &str) -> std::result::Result<Self, String> {
        <Self as clap::ValueEnum>::from_str(name, false)
            .map_err(|_| format!("`{name}` is not adam, adamw, fekf, rlekf or snes"))
    }
}

impl OptimizerKind {
    /// Whether this is one of the Kalman-filter optimizers.
    pub fn is_kalman(self) -> bool {
        matches!(self, OptimizerKind::Fekf | OptimizerKind::Rlekf)
    }
}

/// `[optimizer]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// adam, adamw, fekf, rlekf or snes.
    #[serde(rename = "type", default = "default_optimizer")]
    pub kind: OptimizerKind,
    /// Peak learning rate (Adam).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Final learning rate of the decay.
    #[serde(default = "default_lr_min")]
    pub lr_min: f64,
    /// Linear warm-up, in optimizer steps.
    #[serde(default)]
    pub warmup_steps: usize,
    /// The warm-up's starting learning rate (absent: lr/100, reaching lr
    /// at the last warm-up step; given: a line from it at step 0 towards
    /// lr at step `warmup_steps`, GNEP's ramp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_from: Option<f64>,
    /// none, cosine or exponential.
    #[serde(default = "default_decay")]
    pub decay: Decay,
    /// Exponential decay in stairs of this many steps (deepmd-kit's
    /// `decay_steps`: lr·r^⌊t/s⌋); absent: smooth.
    #[serde(default)]
    pub decay_steps: Option<usize>,
    /// Cosine cycles with warm restarts (`[optimizer.restarts]`: `period`
    /// in steps, `period_factor`, `decay_factor`), with `decay = "cosine"`;
    /// absent: one cosine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<Restarts>,
    /// AdamW's decoupled weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Structures per optimizer step (default 8 for Adam, 32 for FEKF, 1
    /// for RLEKF; see [`OptimizerConfig::batch_size`]).
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// SNES population size.
    #[serde(default = "default_population")]
    pub population: usize,
    /// SNES initial spread.
    #[serde(default = "default_sigma0")]
    pub sigma0: f64,
    /// FEKF: largest covariance block, in parameters (default 10,240, or
    /// the family's recipe: see [`TrainConfig::optimizer_as_run`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<usize>,
    /// FEKF: initial covariance diagonal.
    #[serde(default = "one")]
    pub p0: f64,
    /// FEKF: cap on the covariance diagonal against wind-up (default: p0).
    #[serde(default)]
    pub p_max: Option<f64>,
    /// FEKF: initial memory factor (default 0.98; 0.90 above 1024 structures per batch).
    #[serde(default)]
    pub lambda0: Option<f64>,
    /// FEKF: memory-factor decay (default 0.9987; 0.996 above 1024 structures per batch).
    #[serde(default)]
    pub nu: Option<f64>,
    /// FEKF: force updates per step.
    #[serde(default = "default_force_updates")]
    pub force_updates: usize,
    /// FEKF: atoms per structure in each force update.
    #[serde(default = "default_atoms_per_update")]
    pub atoms_per_update: usize,
    /// FEKF: energy-update prefactor.
    #[serde(default = "one")]
    pub pref_e: f64,
    /// FEKF: force-update prefactor.
    #[serde(default = "one")]
    pub pref_f: f64,
    /// FEKF: virial-update prefactor (0: no virial update).
    #[serde(default = "one")]
    pub pref_v: f64,
    /// FEKF: measurement noise r, each update's gain being 1/(r·λ + HᵀPH)
    /// (default: the number of covariance blocks, deepmd-kit's choice).
    /// Smaller values let each update correct more of its error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement_noise: Option<f64>,
    /// FEKF: scale the energy and virial prefactors each step so that the
    /// filter trades energies against forces as `[loss]` does at the
    /// batch's errors (see [`FekfSettings::balance_by_loss`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_by_loss: Option<bool>,
    /// FEKF: refuse covariances larger than this, GiB (default: half the RAM).
    #[serde(default)]
    pub memory_budget: Option<f64>,
    /// FEKF: how the covariance is stored, "float32" or "float64" (the
    /// arithmetic is float64 either way); absent: by its size
    /// ([`OptimizerConfig::precision_for`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariance_precision: Option<Precision>,
}

/// Covariances up to this size in float64, bytes, are stored in float64
/// unless `covariance_precision` says otherwise; larger ones in float32.
/// float32 halves the bytes each update reads (0.70× the Kalman time on
/// DeePMD water, 1.8 GiB), but on small models, where the update is cheap
/// anyway, its rounding let long FEKF runs diverge: NEP on MoSi2N4 (15
/// MiB, measurement noise 0.01) after about 4,700 steps and BP on TiO2
/// (1.7 MiB, balanced prefactors) after 60 epochs, both of which ran to
/// the end in float64.
pub const FLOAT64_COVARIANCE_UP_TO: usize = 256 << 20;

/// Batches above this size get the paper's large-batch λ0 and ν.
const LARGE_BATCH: usize = 1024;

impl OptimizerConfig {
    /// Structures per step: the configured value or the optimizer's default.
    pub fn batch_size(&self) -> usize {
        self.batch_size.unwrap_or(match self.kind {
            OptimizerKind::Fekf => 32,
            OptimizerKind::Rlekf => 1,
            _ => 8,
        })
    }

    /// The largest covariance block, in parameters.
    pub fn block_size(&self) -> usize {
        self.block_size.unwrap_or(DEFAULT_BLOCK_SIZE)
    }

    /// These settings with the unset FEKF ones taken from `recipe`.
    pub fn with_recipe(&self, recipe: &KalmanRecipe) -> OptimizerConfig {
        let mut o = self.clone();
        if o.kind == OptimizerKind::Fekf {
            o.batch_size = o.batch_size.or(recipe.batch_size);
            o.block_size = o.block_size.or(recipe.block_size);
            o.measurement_noise = o.measurement_noise.or(recipe.measurement_noise);
            if recipe.float64_covariance {
                o.covariance_precision = o.covariance_precision.or(Some(Precision::Float64));
            }
            o.balance_by_loss = o.balance_by_loss.or(Some(recipe.balance_by_loss));
        }
        o
    }

    /// How a covariance of `float64_bytes` (stored in float64) is stored:
    /// as configured, else float64 up to [`FLOAT64_COVARIANCE_UP_TO`] and
    /// float32 above.
    pub fn precision_for(&self, float64_bytes: usize) -> Precision {
        self.covariance_precision
            .unwrap_or(if float64_bytes <= FLOAT64_COVARIANCE_UP_TO {
                Precision::Float64
            } else {
                Precision::Float32
            })
    }

    /// The Kalman filter's settings for a training set of `n_train`
    /// structures: the large-batch λ0 and ν apply when the effective batch
    /// (at most the whole set) exceeds 1024.
    pub fn kalman_settings(&self, n_train: usize) -> crate::optim::KalmanSettings {
        let large = self.batch_size().min(n_train) > LARGE_BATCH;
        crate::optim::KalmanSettings {
            p0: self.p0,
            lambda0: self.lambda0.unwrap_or(if large { 0.90 } else { 0.98 }),
            nu: self.nu.unwrap_or(if large { 0.996 } else { 0.9987 }),
            block_size: self.block_size(),
            p_max: Some(self.p_max.unwrap_or(self.p0)),
            noise: self.measurement_noise,
        }
    }
}

/// `[train]`: the loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopConfig {
    /// Passes over the training set (ignored when `steps` is set; default
    /// 300, or, with `time_limit` alone, as many as the time allows).
    #[serde(default)]
    pub epochs: Option<usize>,
    /// Total optimizer steps (GPUMD's `generation`); overrides `epochs`.
    #[serde(default)]
    pub steps: Option<usize>,
    /// Stop after this many seconds of wall time and write every output.
    /// With `epochs` or `steps` too, the run ends at whichever comes first,
    /// and the learning rate anneals to that end.
    #[serde(default)]
    pub time_limit: Option<f64>,
    /// Random seed (initial parameters, shuffling, force fractions, SNES).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Output directory.
    #[serde(default = "default_output")]
    pub output_dir: PathBuf,
    /// Write a checkpoint every this many epochs (and on Ctrl-C).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Evaluate the validation set every this many epochs (default: so
    /// that validation costs about a quarter of the training time).
    #[serde(default)]
    pub validate_every: Option<usize>,
    /// Worker threads (default: all cores).
    #[serde(default)]
    pub threads: Option<usize>,
    /// Write a learning-curve line (deepmd-kit's `lcurve.out` layout) every
    /// this many steps, and at step 1; absent: no such file.
    #[serde(default)]
    pub lcurve_every: Option<usize>,
    /// Validation structures evaluated for each learning-curve line (taken
    /// in turn from the validation set, as deepmd-kit's `numb_btch`).
    #[serde(default = "default_lcurve_frames")]
    pub lcurve_frames: usize,
    /// Learning-curve file name in the output directory.
    #[serde(default = "default_lcurve_file")]
    pub lcurve_file: String,
    /// Members of a committee (model deviation for active learning): K > 1
    /// trains K models that differ in their seeds (`seed` … `seed`+K−1),
    /// into `member-0/` … `member-(K−1)/` of the output directory.
    #[serde(default = "default_committee")]
    pub committee: usize,
    /// What a committee's members train on: the same structures, or each
    /// its own bootstrap resample of them.
    #[serde(default)]
    pub committee_data: CommitteeData,
}

/// `[train] committee_data`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitteeData {
    /// Every member on the whole training set.
    #[default]
    Same,
    /// Member k on a resample with replacement of the training set, drawn
    /// by its seed (as many draws as structures).
    Bootstrap,
}

impl LoopConfig {
    /// What ends the run: `steps`, else `epochs` (else [`DEFAULT_EPOCHS`]
    /// when there is no `time_limit`), and the `time_limit`, whichever
    /// comes first. The learning-rate schedule anneals to that end.
    pub fn budget(&self, steps_per_epoch: usize) -> Budget {
        let steps = match (self.steps, self.epochs, self.time_limit) {
            (Some(n), _, _) => Some(n),
            (None, Some(e), _) => Some(e.saturating_mul(steps_per_epoch)),
            (None, None, Some(_)) => None,
            (None, None, None) => Some(DEFAULT_EPOCHS.saturating_mul(steps_per_epoch)),
        };
        Budget {
            steps,
            seconds: self.time_limit,
        }
    }
}

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// `[data]`
    pub data: DataConfig,
    /// `[model]`
    #[serde(default)]
    pub model: ModelConfig,
    /// `[loss]`
    #[serde(default)]
    pub loss: LossSection,
    /// `[optimizer]`
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// `[train]`
    #[serde(default, rename = "train")]
    pub run: LoopConfig,
}

fn one() -> f64 {
    1.0
}
fn default_directional_epsilon() -> f64 {
    1e-5
}
fn default_lambda_v() -> f64 {
    0.1
}
fn default_kind() -> LossKind {
    LossKind::Rmse
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam
}
fn default_lr() -> f64 {
    2e-3
}
fn default_lr_min() -> f64 {
    2e-5
}
fn default_decay() -> Decay {
    Decay::Cosine
}
/// FEKF's covariance blocks unless set (deepmd-kit's `kf_blocksize`).
const DEFAULT_BLOCK_SIZE: usize = 10240;
fn default_force_updates() -> usize {
    4
}
fn default_atoms_per_update() -> usize {
    6
}
fn default_population() -> usize {
    50
}
fn default_sigma0() -> f64 {
    0.1
}
/// Epochs of a run that names no length.
pub const DEFAULT_EPOCHS: usize = 300;
fn default_seed() -> u64 {
    42
}
fn default_output() -> PathBuf {
    PathBuf::from("forcefit-out")
}
fn default_checkpoint_every() -> usize {
    10
}
fn default_lcurve_frames() -> usize {
    1
}
fn default_lcurve_file() -> String {
    "lcurve.out".into()
}
fn default_committee() -> usize {
    1
}

impl Default for LossSection {
    fn default() -> Self {
        LossSection {
            lambda_e: 1.0,
            lambda_f: 1.0,
            lambda_v: default_lambda_v(),
            lambda_1: 0.0,
            lambda_2: 0.0,
            kind: default_kind(),
            force_fraction: 1.0,
            force_structures: 1.0,
            force_scale: None,
            force_gradient: ForceGradientKind::Exact,
            directional_epsilon: default_directional_epsilon(),
            lambda_e_end: None,
            lambda_f_end: None,
            lambda_v_end: None,
            type_weight: BTreeMap::new(),
            force_delta: 0.0,
            lambda_shear: 1.0,
        }
    }
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig {
            kind: default_optimizer(),
            lr: default_lr(),
            lr_min: default_lr_min(),
            warmup_steps: 0,
            warmup_from: None,
            decay: default_decay(),
            decay_steps: None,
            restarts: None,
            weight_decay: 0.0,
            batch_size: None,
            population: default_population(),
            sigma0: default_sigma0(),
            block_size: None,
            p0: 1.0,
            p_max: None,
            lambda0: None,
            nu: None,
            force_updates: default_force_updates(),
            atoms_per_update: default_atoms_per_update(),
            pref_e: 1.0,
            pref_f: 1.0,
            pref_v: 1.0,
            measurement_noise: None,
            balance_by_loss: None,
            memory_budget: None,
            covariance_precision: None,
        }
    }
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            epochs: None,
            steps: None,
            time_limit: None,
            seed: default_seed(),
            output_dir: default_output(),
            checkpoint_every: default_checkpoint_every(),
            validate_every: None,
            threads: None,
            lcurve_every: None,
            lcurve_frames: default_lcurve_frames(),
            lcurve_file: default_lcurve_file(),
            committee: default_committee(),
            committee_data: CommitteeData::Same,
        }
    }
}

impl LossSection {
    /// Whether the weights follow the learning rate (a `*_end` is given).
    pub fn follows_lr(&self) -> bool {
        self.lambda_e_end.is_some() || self.lambda_f_end.is_some() || self.lambda_v_end.is_some()
    }

    /// The loss weights as the loss module takes them; `lr_peak` is the
    /// learning rate at which weights that follow it take their start values.
    pub fn weights(&self, lr_peak: f64) -> LossConfig {
        let follow_lr = self.follows_lr().then(|| FollowLr {
            end: [
                self.lambda_e_end.unwrap_or(self.lambda_e),
                self.lambda_f_end.unwrap_or(self.lambda_f),
                self.lambda_v_end.unwrap_or(self.lambda_v),
            ],
            lr_peak,
        });
        LossConfig {
            follow_lr,
            lambda_e: self.lambda_e,
            lambda_f: self.lambda_f,
            lambda_v: self.lambda_v,
            lambda_1: self.lambda_1,
            lambda_2: self.lambda_2,
            kind: self.kind,
            force_gradient: match self.force_gradient {
                ForceGradientKind::Exact => ForceGradient::Exact,
                ForceGradientKind::Directional => ForceGradient::Directional {
                    epsilon: self.directional_epsilon,
                },
            },
            type_weight: self.type_weight.clone(),
            force_delta: self.force_delta,
            lambda_shear: self.lambda_shear,
        }
    }
}

impl LoopConfig {
    /// `validate_every`, or `auto()` when not set.
    pub fn validate_every_or(&self, auto: impl FnOnce() -> usize) -> usize {
        self.validate_every.unwrap_or_else(auto)
    }
}

impl TrainConfig {
    /// `[optimizer]` as the run uses it: with FEKF, what it leaves unset
    /// comes from the model family's recipe ([`KalmanRecipe`]), so that a
    /// NEP trained by `forcefit train` gets the settings that `forcefit nep`
    /// gets.
    pub fn optimizer_as_run(&self) -> OptimizerConfig {
        self.optimizer.with_recipe(&self.model.kalman_recipe())
    }

    /// What each FEKF step measures: an update is on when both its `[loss]`
    /// weight and its `[optimizer]` prefactor are positive.
    pub fn fekf_settings(&self) -> FekfSettings {
        let (o, l) = (&self.optimizer_as_run(), &self.loss);
        let on = |lambda: f64, pref: f64| if lambda > 0.0 { pref } else { 0.0 };
        FekfSettings {
            pref_e: on(l.lambda_e, o.pref_e),
            pref_f: on(l.lambda_f, o.pref_f),
            pref_v: on(l.lambda_v, o.pref_v),
            force_updates: o.force_updates,
            atoms_per_update: o.atoms_per_update,
            balance_by_loss: o.balance_by_loss.unwrap_or(false),
            force_gradient: l.weights(o.lr).force_gradient,
            sites_only: true,
        }
    }

    /// Reads and validates a TOML file; relative data, init and output
    /// paths are taken relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut config = Self::from_toml(&text, path)?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Parses and validates TOML text (`path` only names the source in errors).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let config: TrainConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            let line = model_key_line(text, line, e.message()).unwrap_or(line);
            Error::parse(path, line, with_line_text(text, line, e.message()))
        })?;
        config.validate().map_err(|m| Error::file(path, m))?;
        Ok(config)
    }

    /// Takes relative data, init and output paths as relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let fix_all = |paths: &mut Paths| match paths {
            Paths::One(p) => fix(p),
            Paths::Many(v) => v.iter_mut().for_each(fix),
        };
        fix_all(&mut self.data.train);
        if let Some(t) = &mut self.data.test {
            fix_all(t);
        }
        for p in self.model.init_mut() {
            fix(p);
        }
        fix(&mut self.run.output_dir);
    }
}

/// What each FEKF step measures, from `[optimizer]` and `[loss]`
/// ([`TrainConfig::fekf_settings`]); the measurements are in
/// `optimizer::fekf`.
#[derive(Clone, Debug, PartialEq)]
pub struct FekfSettings {
    /// Energy-update prefactor (0: no energy update).
    pub pref_e: f64,
    /// Force-update prefactor (0: no force updates).
    pub pref_f: f64,
    /// Virial-update prefactor (0: no virial update).
    pub pref_v: f64,
    /// Force updates per step.
    pub force_updates: usize,
    /// Atoms per structure in each force update.
    pub atoms_per_update: usize,
    /// Whether each step multiplies `pref_e` and `pref_v` by
    /// √(w_e/w_f) and √(w_v/w_f), w_k = ∂L/∂MSE_k the weight the loss
    /// gives the squared errors at the batch's errors (λ_k for an MSE
    /// loss, λ_k/(2·RMSE_k) for an RMSE loss). A prefactor squared is its
    /// measurement's weight in the least-squares problem the filter
    /// solves, so the filter then weighs energies against forces as the
    /// loss does.
    pub balance_by_loss: bool,
    /// How the force part of a `vjp` is computed.
    pub force_gradient: ForceGradient,
    /// Whether force updates predict and differentiate only the sites
    /// around the chosen atoms (false: whole structures, the same update
    /// to rounding; kept to compare the two).
    pub sites_only: bool,
}

/// The `[model]` section is read as a whole (its `family` decides which
/// keys it takes), so toml points its errors at the section header: the
/// line of the key the message names, searched from `header` to the next
/// section.
/// The TOML parser's message, followed by the offending line (which names
/// the key) when the message is about a value alone.
fn with_line_text(text: &str, line: usize, message: &str) -> String {
    let quoted = line
        .checked_sub(1)
        .and_then(|i| text.lines().nth(i))
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().count() <= 80 && !message.contains(*l));
    match quoted {
        Some(l) => format!("{message} (in `{l}`)"),
        None => message.to_string(),
    }
}

fn model_key_line(text: &str, header: usize, message: &str) -> Option<usize> {
    let key = match message.strip_prefix("model.") {
        Some(rest) => rest.split([' ', ':']).next()?,
        None => message.split("unknown field `").nth(1)?.split('`').next()?,
    };
    let lines = text.lines().enumerate().skip(header);
    for (i, line) in lines {
        let line = line.trim_start();
        if line.starts_with('[') {
            return None;
        }
        if let Some(rest) = line.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    None
}

mod validate;

#[cfg(test)]
mod tests;
