//! deepmd-kit's `input.json` read into a [`TrainConfig`], so that
//! `forcefit dp input.json` trains what `dp train input.json` would: the
//! same se_e2_a model, loss prefactor schedule and learning-rate schedule,
//! with Adam by default (see `docs/dp-command.md` for every key).
//!
//! deepmd-kit's loss (`loss.type = "ener"`, its default
//! `intensive_ener_virial = false`) is pref_e·ΔE²/N + pref_f·mean(ΔF²) +
//! pref_v·mean(ΔV²)/N per frame, with each prefactor moving from its start
//! to its limit value as lr/start_lr falls. forcefit's MSE loss weighs the
//! energy per atom, so pref_e becomes λe = pref_e·N̄ (N̄ the mean atom count
//! of the training frames; exact when every frame has N̄ atoms), likewise
//! λv, and λf = pref_f; the `*_end` weights carry the limit prefactors.
//! The learning rate is deepmd-kit's stepped exponential decay.

mod keys;
mod treatments;

use crate::dropin::Translation;
use crate::error::{Error, Result};
use crate::loss::LossKind;
use crate::model::ModelConfig;
use crate::model::deepmd::DeepmdConfig;
use crate::nn::Precision;
use crate::optim::schedule::Decay;
use crate::train::config::{OptimizerKind, Paths, TrainConfig};
use keys::{MAX_COUNT, Section, Source, Treatment};
use serde_json::Value;
use std::path::{Path, PathBuf};
use treatments::*;

pub use crate::dropin::Overrides;

/// What the training data bring to the mapping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataFacts {
    /// Training structures.
    pub structures: usize,
    /// Mean atoms per training structure.
    pub mean_atoms: f64,
}

/// A parsed deepmd-kit input.
pub type DpInput = Translation;

/// Reads `path` (JSON, or YAML by its extension), loads the training
/// systems it names (paths relative to the working directory, as
/// deepmd-kit resolves them) and maps everything to a configuration.
pub fn read(path: &Path, overrides: &Overrides) -> Result<DpInput> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value = parse_text(&text, path)?;
    let source = Source { path, text: &text };
    // Every key is checked before any data are read; the first pass also
    // names the training systems.
    let unknown = DataFacts {
        structures: 1,
        mean_atoms: 1.0,
    };
    let first = parse(&value, source, unknown, overrides)?;
    let facts = data_facts(&first.config.data.train.list())?;
    parse(&value, source, facts, overrides)
}

/// Maps input text (JSON, or YAML by `path`'s extension) without reading
/// any data: `facts` stand in for the training systems. Used by the fuzz
/// targets and the bad-input tests.
pub fn parse_str(
    text: &str,
    path: &Path,
    facts: DataFacts,
    overrides: &Overrides,
) -> Result<DpInput> {
    let value = parse_text(text, path)?;
    parse(&value, Source { path, text }, facts, overrides)
}

fn parse_text(text: &str, path: &Path) -> Result<Value> {
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml {
        serde_yaml_ng::from_str(text).map_err(|e| {
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            Error::parse(path, line, format!("not valid YAML: {e}"))
        })
    } else {
        serde_json::from_str(text)
            .map_err(|e| Error::parse(path, e.line(), format!("not valid JSON: {e}")))
    }
}

/// A `systems` key: one directory (searched for systems, as deepmd-kit
/// does) or a list of system directories.
fn systems(data: &Section) -> Result<Vec<PathBuf>> {
    let key = data.path("systems");
    match data.get(&["systems"]) {
        Some((Value::String(s), _)) => Ok(vec![PathBuf::from(s)]),
        Some((Value::Array(list), _)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(PathBuf::from)
                    .ok_or_else(|| data.error("systems", format!("expected a path, got {v}")))
            })
            .collect(),
        Some((v, _)) => Err(data.error("systems", format!("expected a path or a list, got {v}"))),
        None => Err(data.error("systems", format!("missing: {key} names the data"))),
    }
}

fn data_facts(systems: &[PathBuf]) -> Result<DataFacts> {
    let mut structures = 0usize;
    let mut atoms = 0usize;
    for p in systems {
        for s in crate::io::read(p, Some(crate::io::Format::Deepmd))? {
            structures += 1;
            atoms += s.n_atoms();
        }
    }
    Ok(DataFacts {
        structures,
        mean_atoms: atoms as f64 / structures.max(1) as f64,
    })
}

/// Maps a parsed input; `facts` describe the training data.
pub fn parse(
    value: &Value,
    source: Source,
    facts: DataFacts,
    overrides: &Overrides,
) -> Result<DpInput> {
    let mut warnings = Vec::new();
    let top = Section::new(source, "", value)?;
    let model = top
        .section("model")?
        .ok_or_else(|| source.error("model", "missing: deepmd-kit's model section"))?;
    let model = model_config(&model, &mut warnings)?;
    let training = top
        .section("training")?
        .ok_or_else(|| source.error("training", "missing: deepmd-kit's training section"))?;
    let plan = training_plan(&training, facts, &mut warnings)?;
    let lr = match top.section("learning_rate")? {
        Some(s) => learning_rate(&s, plan.steps, &mut warnings)?,
        None => LearningRate::deepmd_default(plan.steps),
    };
    let loss = match top.section("loss")? {
        Some(s) => prefactors(&s, &mut warnings)?,
        None => Prefactors::deepmd_default(),
    };
    let optimizer = optimizer_choice(&top, &training, &mut warnings)?;
    top.finish(top_level_treatment, &mut warnings)?;
    let mut config = TrainConfig {
        data: plan.data.clone(),
        model: ModelConfig::Deepmd(model),
        loss: Default::default(),
        optimizer: Default::default(),
        run: Default::default(),
    };
    apply(&mut config, &plan, &lr, &loss, &optimizer, facts, overrides);
    config
        .validate()
        .map_err(|m| Error::file(source.path, format!("{m} (from the deepmd-kit input)")))?;
    Ok(DpInput {
        config,
        warnings,
        path: source.path.to_path_buf(),
    })
}

/// `model`: type_map, the se_e2_a descriptor and the ener fitting.
fn model_config(model: &Section, warnings: &mut Vec<String>) -> Result<DeepmdConfig> {
    let mut c = DeepmdConfig {
        type_map: model.strings(&["type_map"])?,
        ..Default::default()
    };
    if let Some(kind) = model.string(&["type"])?
        && kind != "standard"
    {
        return Err(model.error(
            "type",
            format!(
                "{kind:?} models are not supported: forcefit trains standard se_e2_a + ener models"
            ),
        ));
    }
    let descriptor = model.section("descriptor")?.ok_or_else(|| {
        model.error(
            "descriptor",
            "missing: forcefit trains the se_e2_a descriptor",
        )
    })?;
    descriptor_config(&descriptor, &mut c, warnings)?;
    if let Some(fitting) = model.section("fitting_net")? {
        fitting_config(&fitting, &mut c, warnings)?;
    }
    model.finish(model_treatment, warnings)?;
    Ok(c)
}

/// `model.descriptor`: se_e2_a (se_a) only.
fn descriptor_config(d: &Section, c: &mut DeepmdConfig, warnings: &mut Vec<String>) -> Result<()> {
    let kind = d.string(&["type"])?.unwrap_or_default();
    if kind != "se_e2_a" && kind != "se_a" {
        return Err(d.error(
            "type",
            format!("{kind:?} is not supported: forcefit trains the se_e2_a (se_a) descriptor"),
        ));
    }
    c.sel = sel(d, warnings)?;
    c.rcut = d.number(&["rcut"], c.rcut)?;
    c.rcut_smth = d.number(&["rcut_smth"], c.rcut_smth)?;
    c.neuron = d.counts(&["neuron"])?.unwrap_or(c.neuron.clone());
    c.axis_neuron = d
        .count(&["axis_neuron", "n_axis_neuron"])?
        .unwrap_or(c.axis_neuron);
    c.resnet_dt = d.flag(&["resnet_dt"], c.resnet_dt)?;
    c.type_one_side = d.flag(&["type_one_side"], c.type_one_side)?;
    c.set_davg_zero = d.flag(&["set_davg_zero"], c.set_davg_zero)?;
    c.env_protection = d.number(&["env_protection"], c.env_protection)?;
    if let Some(a) = d.string(&["activation_function"])? {
        c.activation_function = a;
    }
    c.precision = Some(precision(d, warnings)?).filter(|&p| p != Precision::Float64);
    d.finish(network_treatment, warnings)
}

/// `sel`: a list, or `"auto"` / `"auto:factor"` (counted from the data).
fn sel(d: &Section, warnings: &mut Vec<String>) -> Result<Option<Vec<usize>>> {
    match d.get(&["sel"]) {
        None => Ok(None),
        Some((Value::String(s), _)) if s == "auto" => Ok(None),
        Some((Value::String(s), _)) if s.starts_with("auto:") => {
            if s != "auto:1.1" {
                warnings.push(format!(
                    "{}: {s:?}: forcefit counts sel from the training data with deepmd-kit's default factor 1.1",
                    d.path("sel")
                ));
            }
            Ok(None)
        }
        Some(_) => d.counts(&["sel"]),
    }
}

/// `precision` of the descriptor or the fitting: "float32" runs its
/// networks in float32 (`[model] precision` and `fitting_precision`);
/// absent, "default" and "float64" are float64 (deepmd-kit's default);
/// the model file holds float64 values either way.
fn precision(s: &Section, warnings: &mut Vec<String>) -> Result<Precision> {
    let Some(p) = s.string(&["precision"])? else {
        return Ok(Precision::Float64);
    };
    match p.as_str() {
        "float64" | "default" => Ok(Precision::Float64),
        "float32" => Ok(Precision::Float32),
        _ => {
            let what = "computed in float64 (float32 is available)";
            warnings.push(format!("{}: {p:?}: {what}", s.path("precision")));
            Ok(Precision::Float64)
        }
    }
}

/// `model.fitting_net`: the ener fitting.
fn fitting_config(f: &Section, c: &mut DeepmdConfig, warnings: &mut Vec<String>) -> Result<()> {
    if let Some(kind) = f.string(&["type"])?
        && kind != "ener"
    {
        return Err(f.error(
            "type",
            format!("{kind:?} is not supported: forcefit fits energies (\"ener\")"),
        ));
    }
    c.fitting_neuron = f
        .counts(&["neuron", "n_neuron"])?
        .unwrap_or(c.fitting_neuron.clone());
    c.fitting_resnet_dt = f.flag(&["resnet_dt"], c.fitting_resnet_dt)?;
    if let Some(a) = f.string(&["activation_function"])? {
        c.fitting_activation_function = a;
    }
    c.fitting_precision = Some(precision(f, warnings)?);
    f.finish(network_treatment, warnings)
}

/// `learning_rate` (type exp).
struct LearningRate {
    start: f64,
    stop: f64,
    decay_steps: Option<usize>,
    warmup: usize,
}

impl LearningRate {
    fn deepmd_default(steps: usize) -> Self {
        LearningRate {
            start: 1e-3,
            stop: 1e-8,
            decay_steps: Some(adjusted_decay_steps(5000, steps)),
            warmup: 0,
        }
    }
}

/// deepmd-kit shortens `decay_steps` when it is not shorter than the
/// decay: to 100, or to total/100 + 1 for runs below 1,000 steps.
fn adjusted_decay_steps(decay_steps: usize, decay_total: usize) -> usize {
    if decay_steps < decay_total {
        decay_steps
    } else if decay_total / 10 > 100 {
        100
    } else {
        decay_total / 100 + 1
    }
}

fn learning_rate(s: &Section, steps: usize, warnings: &mut Vec<String>) -> Result<LearningRate> {
    if let Some(kind) = s.string(&["type"])?
        && kind != "exp"
    {
        return Err(s.error(
            "type",
            format!("{kind:?} is not supported: forcefit follows deepmd-kit's \"exp\" schedule"),
        ));
    }
    let start = s.number(&["start_lr"], 1e-3)?;
    let stop = match s.get(&["stop_lr_ratio"]) {
        Some(_) => start * s.number(&["stop_lr_ratio"], 1.0)?,
        None => s.number(&["stop_lr"], 1e-8)?,
    };
    let warmup = match s.get(&["warmup_ratio"]) {
        Some(_) => (s.number(&["warmup_ratio"], 0.0)? * steps as f64) as usize,
        None => s.count(&["warmup_steps"])?.unwrap_or(0),
    };
    let smooth = s.flag(&["smooth"], false)?;
    let decay_steps = s.count(&["decay_steps"])?.unwrap_or(5000);
    if decay_steps == 0 {
        return Err(s.error("decay_steps", "must be positive"));
    }
    s.finish(
        |key| match key {
            "decay_rate" => Some(Treatment::DefaultOnly(
                "null",
                "give stop_lr instead: forcefit derives the rate from start_lr, stop_lr and numb_steps",
            )),
            "scale_by_worker" => Some(Treatment::Warned("forcefit trains in one process")),
            "warmup_start_factor" => Some(Treatment::Warned(
                "forcefit's warm-up starts from start_lr/100",
            )),
            _ => None,
        },
        warnings,
    )?;
    Ok(LearningRate {
        start,
        stop,
        decay_steps: (!smooth)
            .then(|| adjusted_decay_steps(decay_steps, steps.saturating_sub(warmup))),
        warmup,
    })
}

/// `loss` (type ener): the start and limit prefactors.
struct Prefactors {
    start: [f64; 3],
    limit: [f64; 3],
    intensive: bool,
}

impl Prefactors {
    fn deepmd_default() -> Self {
        Prefactors {
            start: [0.02, 1000.0, 0.0],
            limit: [1.0, 1.0, 0.0],
            intensive: false,
        }
    }
}

fn prefactors(s: &Section, warnings: &mut Vec<String>) -> Result<Prefactors> {
    if let Some(kind) = s.string(&["type"])?
        && kind != "ener"
    {
        return Err(s.error(
            "type",
            format!(
                "{kind:?} is not supported: forcefit trains energies, forces and virials (\"ener\")"
            ),
        ));
    }
    if let Some(f) = s.string(&["loss_func"])?
        && f != "mse"
    {
        return Err(s.error("loss_func", format!("{f:?} is not supported: only \"mse\"")));
    }
    let d = Prefactors::deepmd_default();
    let p = Prefactors {
        start: [
            s.number(&["start_pref_e"], d.start[0])?,
            s.number(&["start_pref_f"], d.start[1])?,
            s.number(&["start_pref_v"], d.start[2])?,
        ],
        limit: [
            s.number(&["limit_pref_e"], d.limit[0])?,
            s.number(&["limit_pref_f"], d.limit[1])?,
            s.number(&["limit_pref_v"], d.limit[2])?,
        ],
        intensive: s.flag(&["intensive_ener_virial"], false)?,
    };
    s.finish(loss_treatment, warnings)?;
    Ok(p)
}

/// Which optimizer the input asks for: `optimizer.type` (3.x) or
/// `training.opt_type` (2.x), with deepmd-kit's LKF settings.
struct OptimizerChoice {
    kind: OptimizerKind,
    weight_decay: f64,
    kf_block_size: Option<usize>,
    kf_prefs: Option<[f64; 2]>,
}

fn optimizer_choice(
    top: &Section,
    training: &Section,
    warnings: &mut Vec<String>,
) -> Result<OptimizerChoice> {
    let section = top.section("optimizer")?;
    let (name, holder) = match &section {
        Some(s) => (s.string(&["type"])?, s),
        None => (training.string(&["opt_type"])?, training),
    };
    let name = name.unwrap_or_else(|| "Adam".into());
    let kind = match name.as_str() {
        "Adam" => OptimizerKind::Adam,
        "AdamW" => OptimizerKind::Adamw,
        "LKF" => OptimizerKind::Fekf,
        other => {
            let key = if section.is_some() {
                "type"
            } else {
                "opt_type"
            };
            return Err(holder.error(
                key,
                format!(
                    "{other:?} is not supported: Adam, AdamW or LKF (forcefit's Kalman filter)"
                ),
            ));
        }
    };
    for beta in [("adam_beta1", 0.9), ("adam_beta2", 0.999)] {
        let b = holder.number(&[beta.0], beta.1)?;
        if b != beta.1 {
            return Err(holder.error(
                beta.0,
                format!("{b} is not supported: forcefit's Adam uses {}", beta.1),
            ));
        }
    }
    let weight_decay = holder.number(
        &["weight_decay"],
        if kind == OptimizerKind::Adamw {
            0.001
        } else {
            0.0
        },
    )?;
    let kf_block_size = holder.count(&["kf_blocksize"])?;
    let kf_prefs = kf_prefactors(holder, warnings)?;
    if let Some(s) = &section {
        s.finish(|_| None, warnings)?;
    }
    Ok(OptimizerChoice {
        kind,
        weight_decay,
        kf_block_size,
        kf_prefs,
    })
}

/// deepmd-kit's LKF energy and force prefactors; forcefit's filter keeps
/// them constant (the start values).
fn kf_prefactors(s: &Section, warnings: &mut Vec<String>) -> Result<Option<[f64; 2]>> {
    let given = [
        "kf_start_pref_e",
        "kf_start_pref_f",
        "kf_limit_pref_e",
        "kf_limit_pref_f",
    ]
    .iter()
    .any(|k| s.get(&[*k]).is_some());
    if !given {
        return Ok(None);
    }
    let start = [
        s.number(&["kf_start_pref_e"], 1.0)?,
        s.number(&["kf_start_pref_f"], 1.0)?,
    ];
    let limit = [
        s.number(&["kf_limit_pref_e"], 1.0)?,
        s.number(&["kf_limit_pref_f"], 1.0)?,
    ];
    if start != limit {
        warnings.push(format!(
            "{}: forcefit's Kalman filter keeps its prefactors constant: using the start values {start:?}",
            s.path("kf_limit_pref_e")
        ));
    }
    Ok(Some(start))
}

/// `training`: data, steps, seed, display and checkpoint frequencies.
struct Plan {
    data: crate::train::config::DataConfig,
    steps: usize,
    epochs: Option<usize>,
    batch: usize,
    seed: Option<u64>,
    lcurve_file: String,
    lcurve_every: usize,
    lcurve_frames: usize,
    save_every: usize,
}

fn training_plan(t: &Section, facts: DataFacts, warnings: &mut Vec<String>) -> Result<Plan> {
    let train = t.section("training_data")?.ok_or_else(|| {
        t.error(
            "training_data",
            "missing: the training systems are given here",
        )
    })?;
    let train_systems = systems(&train)?;
    let batch = batch_size(&train, facts)?;
    train.finish(data_treatment, warnings)?;
    let (test, frames) = match t.section("validation_data")? {
        Some(v) => {
            let s = systems(&v)?;
            let frames =
                batch_size(&v, facts)? * v.bounded_count(&["numb_btch"])?.unwrap_or(1).max(1);
            v.finish(data_treatment, warnings)?;
            (Some(Paths::Many(s)), frames)
        }
        None => (None, 1),
    };
    let epochs = t.bounded_count(&["numb_epoch", "num_epoch"])?;
    let steps = t
        .bounded_count(&[
            "numb_steps",
            "stop_batch",
            "num_steps",
            "numb_step",
            "num_step",
        ])?
        .or_else(|| epochs.map(|e| e.saturating_mul(facts.structures.div_ceil(batch))))
        .ok_or_else(|| t.error("numb_steps", "missing: the number of training steps"))?;
    let plan = Plan {
        data: crate::train::config::DataConfig {
            train: Paths::Many(train_systems),
            test,
            validation_fraction: 0.0,
            format: Some("deepmd".into()),
            split_seed: None,
        },
        steps,
        epochs,
        batch,
        seed: t.count(&["seed"])?.map(|s| s as u64),
        lcurve_file: t
            .string(&["disp_file"])?
            .unwrap_or_else(|| "lcurve.out".into()),
        lcurve_every: t.bounded_count(&["disp_freq"])?.unwrap_or(1000).max(1),
        lcurve_frames: frames,
        save_every: t.bounded_count(&["save_freq"])?.unwrap_or(1000).max(1),
    };
    // Read by optimizer_choice.
    for key in [
        "opt_type",
        "kf_blocksize",
        "kf_start_pref_e",
        "kf_start_pref_f",
        "kf_limit_pref_e",
        "kf_limit_pref_f",
        "weight_decay",
        "adam_beta1",
        "adam_beta2",
    ] {
        t.get(&[key]);
    }
    t.finish(training_treatment, warnings)?;
    Ok(plan)
}

/// `batch_size`: a number, `"auto"` (32 atoms per batch) or `"auto:N"`.
fn batch_size(s: &Section, facts: DataFacts) -> Result<usize> {
    let auto = |atoms: f64| ((atoms / facts.mean_atoms.max(1.0)).ceil() as usize).max(1);
    match s.get(&["batch_size"]) {
        None => Ok(auto(32.0)),
        Some((Value::String(v), _)) => match v.strip_prefix("auto") {
            Some("") => Ok(auto(32.0)),
            Some(rest) => rest
                .strip_prefix(':')
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|n| *n > 0.0 && *n <= MAX_COUNT as f64)
                .map(auto)
                .ok_or_else(|| {
                    s.error(
                        "batch_size",
                        format!(
                            "{v:?}: expected \"auto\" or \"auto:N\" with N at most {MAX_COUNT}"
                        ),
                    )
                }),
            None => Err(s.error(
                "batch_size",
                format!("{v:?}: expected a number, \"auto\" or \"auto:N\""),
            )),
        },
        Some((Value::Array(list), _)) => {
            let sizes = s.counts(&["batch_size"])?.unwrap_or_default();
            match sizes.first() {
                Some(&b) if b > 0 && sizes.iter().all(|&x| x == b) => Ok(b),
                _ => Err(s.error(
                    "batch_size",
                    format!("{list:?}: forcefit batches across systems: give one batch size"),
                )),
            }
        }
        Some(_) => match s.bounded_count(&["batch_size"])? {
            Some(b) if b > 0 => Ok(b),
            _ => Err(s.error("batch_size", "must be a positive integer")),
        },
    }
}

/// Fills the configuration from the parsed sections.
fn apply(
    config: &mut TrainConfig,
    plan: &Plan,
    lr: &LearningRate,
    p: &Prefactors,
    choice: &OptimizerChoice,
    facts: DataFacts,
    overrides: &Overrides,
) {
    let kind = overrides.optimizer.unwrap_or(choice.kind);
    let kalman = kind.is_kalman();
    let o = &mut config.optimizer;
    o.kind =
        if overrides.optimizer.is_none() && choice.kind == OptimizerKind::Fekf && plan.batch == 1 {
            // deepmd-kit's LKF on single frames is RLEKF.
            OptimizerKind::Rlekf
        } else {
            kind
        };
    o.batch_size = match (kalman, overrides.batch_size) {
        (_, Some(b)) => Some(b),
        (false, None) => Some(plan.batch),
        (true, None) if o.kind == OptimizerKind::Rlekf => Some(1),
        // The input's batch describes its Adam recipe: forcefit's default.
        (true, None) => None,
    };
    o.lr = lr.start;
    o.lr_min = lr.stop.min(lr.start);
    o.decay = Decay::Exponential;
    o.decay_steps = lr.decay_steps;
    o.warmup_steps = lr.warmup;
    o.weight_decay = choice.weight_decay;
    if let Some(b) = choice.kf_block_size {
        o.block_size = Some(b.max(1));
    }
    if let Some([e, f]) = choice.kf_prefs {
        o.pref_e = e;
        o.pref_f = f;
    }
    // Per-atom energy and virial weights (see the module docs).
    let n = if p.intensive {
        1.0
    } else {
        facts.mean_atoms.max(1.0)
    };
    let scale = [n, 1.0, n];
    let start: [f64; 3] = std::array::from_fn(|i| p.start[i] * scale[i]);
    let limit: [f64; 3] = std::array::from_fn(|i| p.limit[i] * scale[i]);
    let l = &mut config.loss;
    l.kind = LossKind::Mse;
    if kalman {
        // The filter has no learning rate: the limit weights throughout.
        [l.lambda_e, l.lambda_f, l.lambda_v] = limit;
    } else {
        [l.lambda_e, l.lambda_f, l.lambda_v] = start;
        [l.lambda_e_end, l.lambda_f_end, l.lambda_v_end] = limit.map(Some);
    }
    let batch = config.optimizer_as_run().batch_size();
    let steps_per_epoch = facts.structures.div_ceil(batch).max(1);
    let r = &mut config.run;
    // The same number of structures seen as the input's own recipe.
    let steps = match plan.epochs {
        Some(e) => e.saturating_mul(steps_per_epoch),
        None => plan.steps.saturating_mul(plan.batch).div_ceil(batch),
    };
    r.steps = Some(steps.max(1));
    r.time_limit = overrides.time_limit;
    r.seed = plan.seed.unwrap_or(r.seed);
    r.output_dir = overrides.output_dir.clone();
    r.checkpoint_every =
        (plan.save_every.saturating_mul(plan.batch) / batch / steps_per_epoch).max(1);
    r.lcurve_every = Some(plan.lcurve_every);
    r.lcurve_frames = plan.lcurve_frames;
    r.lcurve_file = plan.lcurve_file.clone();
}

#[cfg(test)]
mod tests;
