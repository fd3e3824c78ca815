//! GPUMD's `gnep.in` read into a [`TrainConfig`], so that `forcefit gnep
//! DIR` can stand in for GPUMD's gradient-trained `gnep` executable (see
//! `docs/gnep-command.md`, which has the full key table).
//!
//! The format is `nep.in`'s (one keyword per line, `#` comments, each
//! keyword once; [`lines`]). The architecture keywords are `nep.in`'s
//! ([`architecture`]) within GNEP's limits, with GNEP's model: NEP4
//! descriptors (3-body terms only: `l_max` takes one value) and NEP5's
//! per-element output bias, so `model.version = 5`. Training is Adam
//! (AdamW with `weight_decay`) on GNEP's batches, epochs and learning-rate
//! range with GNEP's MSE loss; [`plan`] sets the run from the size of
//! `train.xyz`.

use super::architecture;
use super::lines::{self, Line};
use super::run_files;
use crate::dropin::{Translation, Treatment};
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::model::nep::config::{Cutoff, NepConfig};
use crate::train::config::{Paths, TrainConfig};
use std::collections::BTreeMap;
use std::path::Path;

pub mod plan;

pub use plan::TrainingSet;

/// The page that lists the keywords.
const DOC: &str = "docs/gnep-command.md";

/// A parsed `gnep.in`: the translation, and what else the file says.
#[derive(Clone, Debug)]
pub struct GnepInput {
    /// The training it describes: data from DIR, outputs to DIR.
    pub translation: Translation,
    /// `prediction 1`: evaluate `DIR/nep.txt` on `train.xyz` instead of
    /// training.
    pub prediction: bool,
    /// `output_descriptor`: 0 none, 1 per structure, 2 per atom
    /// (prediction mode only, as in GNEP).
    pub output_descriptor: u8,
    /// GNEP's λe, λf, λv as written, which weigh `loss.out`'s Total-Loss.
    pub lambdas: [f64; 3],
    /// Line of each keyword given.
    lines: BTreeMap<String, usize>,
}

impl std::ops::Deref for GnepInput {
    type Target = Translation;
    fn deref(&self) -> &Translation {
        &self.translation
    }
}

/// `nep.in` keywords that GNEP rejects as invalid: refused with the reason
/// (GNEP would stop at them too, without one).
fn treatment(keyword: &str) -> Option<Treatment> {
    use Treatment::Refused;
    Some(match keyword {
        "version" => Refused(
            "GNEP's model is always NEP4 descriptors with NEP5's per-element output bias (forcefit: model.version = 5)",
        ),
        "model_type" | "mode" | "charge_mode" | "atomic_v" | "vdw" | "charge_vdw" => {
            Refused("GNEP trains potentials only")
        }
        "population" | "generation" | "sigma0" | "initial_para" | "lambda_1" | "lambda_2" => {
            Refused(
                "a setting of nep's evolution strategy; gnep.in uses `epoch`, `start_lr`, `stop_lr` and `weight_decay`",
            )
        }
        "lambda_q"
        | "lambda_z"
        | "fine_tune"
        | "save_potential"
        | "output_interval"
        | "import_q_scaler"
        | "use_typewise_cutoff" => {
            Refused("a nep.in keyword that gnep.in does not have (use `forcefit nep`)")
        }
        "optimizer" => Refused(
            "GNEP trains with Adam (AdamW with `weight_decay`); `forcefit nep` and `forcefit train` offer the other optimizers",
        ),
        _ => return None,
    })
}

/// `gnep.in` keyword for each TOML key the configuration's validation
/// names; longer keys first.
const KEYS: [(&str, &str); 17] = [
    ("model.typewise_cutoff_zbl", "use_typewise_cutoff_zbl"),
    ("model.cutoff", "cutoff"),
    ("model.n_max", "n_max"),
    ("model.basis_size", "basis_size"),
    ("model.l_max", "l_max"),
    ("model.neuron", "neuron"),
    ("model.zbl", "zbl"),
    ("loss.lambda_e", "lambda_e"),
    ("loss.lambda_f", "lambda_f"),
    ("loss.lambda_v", "lambda_v"),
    ("loss.type_weight", "type_weight"),
    ("optimizer.lr_min", "stop_lr"),
    ("optimizer.lr", "start_lr"),
    ("optimizer.weight_decay", "weight_decay"),
    ("optimizer.batch_size", "batch"),
    ("train.epochs", "epoch"),
    ("train.time_limit", "time_limit"),
];

/// GNEP's defaults where they differ from forcefit's and nep.in's: the
/// MSE loss with λf = 2, Adam from 1e-3 to 1e-7, 2 structures per step,
/// 50 epochs, the test set evaluated every epoch; a NEP5 with 3-body
/// angular terms only.
fn gnep_defaults(dir: &Path, species: Vec<String>) -> (TrainConfig, NepConfig) {
    let mut config = super::nep_in::gpumd_defaults(dir);
    config.loss.kind = crate::loss::LossKind::Mse;
    config.loss.lambda_f = 2.0;
    config.optimizer.lr = 1e-3;
    config.optimizer.lr_min = 1e-7;
    config.run.validate_every = Some(1);
    let nep = NepConfig {
        species: Some(species),
        version: 5,
        l_max: vec![4, 0, 0],
        ..NepConfig::default()
    };
    (config, nep)
}

/// Parses `gnep.in` text (`path` names it in errors; `dir` holds the data
/// and receives the outputs; `set` is the size of `train.xyz`, which
/// GNEP's epochs count in). The test set is not looked for: see [`read`].
pub fn parse(text: &str, path: &Path, dir: &Path, set: &TrainingSet) -> Result<GnepInput> {
    let (lines, given) = lines::split(text, path)?;
    let species = architecture::species(&lines, path, "gnep.in")?;
    let (mut config, mut nep) = gnep_defaults(dir, species.clone());
    let mut run = plan::GnepRun::default();
    let mut input = GnepInput {
        translation: Translation {
            config: config.clone(),
            warnings: Vec::new(),
            path: path.to_path_buf(),
        },
        prediction: false,
        output_descriptor: 0,
        lambdas: [0.0; 3],
        lines: given.clone(),
    };
    let warnings = &mut input.translation.warnings;
    for line in &lines {
        if line.keyword == "type" {
            continue;
        }
        if let Some(t) = treatment(line.keyword) {
            lines::treat(line, path, Some(t), warnings, DOC)?;
        } else if !(model_line(line, path, &species, &mut nep)?
            || run.keyword(line, path)?
            || architecture::loss_keyword(line, path, &species, &mut config.loss)?)
        {
            match line.keyword {
                "prediction" => input.prediction = flag(line, path, 1)? == 1,
                "output_descriptor" => input.output_descriptor = flag(line, path, 2)? as u8,
                "seed" => {
                    line.count(path, 1..=1)?;
                    config.run.seed = line.parsed(path, 0, "a non-negative integer")?;
                }
                "time_limit" => config.run.time_limit = Some(line.positive(path)?),
                _ => lines::treat(line, path, None, warnings, DOC)?,
            }
        }
    }
    input.lambdas = [
        config.loss.lambda_e,
        config.loss.lambda_f,
        config.loss.lambda_v,
    ];
    config.model = ModelConfig::Nep(nep);
    warnings.extend(run.apply(&mut config, set, &path.display().to_string()));
    config
        .validate()
        .map_err(|msg| lines::validation_error(&msg, path, &given, &KEYS))?;
    input.translation.config = config;
    Ok(input)
}

/// The one parameter, an integer in 0..=`max`.
fn flag(line: &Line, path: &Path, max: usize) -> Result<usize> {
    line.count(path, 1..=1)?;
    let v = line.int(path, 0)?;
    if v > max {
        return Err(line.error(path, format!("must be in 0..={max}, got {v}")));
    }
    Ok(v)
}

/// An architecture keyword as GNEP reads it: `nep.in`'s, with one `l_max`
/// value (3-body terms only), one `neuron` value, the typewise ZBL factor
/// 0.65 by default, and GNEP's limits; `false` if `line` is not one.
fn model_line(line: &Line, path: &Path, species: &[String], nep: &mut NepConfig) -> Result<bool> {
    match line.keyword {
        "l_max" => {
            line.count(path, 1..=1)?;
            let l = line.int(path, 0)?;
            // GNEP allows 0..=8; forcefit's NEP (like GPUMD's nep) needs
            // the 3-body sums up to at least l = 2.
            if !(2..=8).contains(&l) {
                return Err(line.error(
                    path,
                    format!("forcefit trains l_max 2..=8 (GNEP allows 0..=8), got {l}"),
                ));
            }
            nep.l_max = vec![l, 0, 0];
        }
        "use_typewise_cutoff_zbl" => {
            line.count(path, 0..=1)?;
            let f = match line.args.is_empty() {
                true => 0.65,
                false => line.real(path, 0)?,
            };
            nep.typewise_cutoff_zbl = Some(f);
        }
        "neuron" => {
            line.count(path, 1..=1)?;
            architecture::model_keyword(line, path, species, nep)?;
        }
        "cutoff" | "n_max" | "basis_size" | "zbl" => {
            architecture::model_keyword(line, path, species, nep)?;
            gnep_limits(line, path, nep)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// GNEP's own limits, which are not nep's: the angular cutoff ≥ 2.5 Å (nep:
/// 3), n_max ≤ 12 and 8, basis_size ≤ 16 and 12, the ZBL outer cutoff in
/// 1..=2.5 Å.
fn gnep_limits(line: &Line, path: &Path, nep: &NepConfig) -> Result<()> {
    let too = |what: &str| Err(line.error(path, format!("{what} (GNEP's limit)")));
    match line.keyword {
        "cutoff" => {
            let pairs: Vec<[f64; 2]> = match &nep.cutoff {
                Cutoff::Uniform(c) => vec![*c],
                Cutoff::PerElement(t) => t.values().copied().collect(),
            };
            if pairs.iter().any(|c| c[1] < 2.5) {
                return too("the angular cutoff must be at least 2.5 Å");
            }
        }
        "n_max" if nep.n_max[0] > 12 || nep.n_max[1] > 8 => {
            return too("n_max must be at most 12 (radial) and 8 (angular)");
        }
        "basis_size" if nep.basis_size[0] > 16 || nep.basis_size[1] > 12 => {
            return too("basis_size must be at most 16 (radial) and 12 (angular)");
        }
        "zbl" if !nep.zbl.is_some_and(|z| (1.0..=2.5).contains(&z)) => {
            return too("the ZBL outer cutoff must be in 1..=2.5 Å");
        }
        _ => {}
    }
    Ok(())
}

/// Reads `DIR/gnep.in` and checks that the files it implies exist:
/// `train.xyz` (always; its size sets the epoch's steps), `nep.txt`
/// (prediction). `test.xyz` is used when present (training only, as in
/// GNEP). A `zbl.in` beside a `zbl` keyword (flexible ZBL) is refused.
pub fn read(dir: &Path) -> Result<GnepInput> {
    let path = dir.join("gnep.in");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let train = run_files::train_xyz(dir, "GNEP", "gnep.in")?;
    let set = TrainingSet::count(&train)?;
    let mut input = parse(&text, &path, dir, &set)?;
    if let Some(test) = run_files::test_xyz(dir).filter(|_| !input.prediction) {
        input.translation.config.data.test = Some(Paths::One(test));
    }
    if !input.prediction && dir.join("gnep.restart").exists() {
        input.translation.warnings.push(format!(
            "{}: gnep.restart is not read (GNEP would start from it); forcefit starts afresh, \
             `--resume` continues from checkpoint.json",
            dir.display()
        ));
    }
    run_files::check_model_files(
        dir,
        &path,
        input.prediction,
        input.line_of("zbl"),
        "GNEP use a flexible ZBL",
    )?;
    Ok(input)
}

impl GnepInput {
    /// Line of a keyword, if given.
    pub fn line_of(&self, keyword: &str) -> Option<usize> {
        self.lines.get(keyword).copied()
    }

    /// Checks `nep.txt` (prediction mode) against `gnep.in`: see
    /// [`architecture::check_model`].
    pub fn check_model(
        &self,
        hyper: &crate::model::nep::NepHyper,
        model_path: &Path,
    ) -> Result<Vec<String>> {
        architecture::check_model(&self.translation, &|k| self.line_of(k), hyper, model_path)
    }
}

#[cfg(test)]
mod tests;
