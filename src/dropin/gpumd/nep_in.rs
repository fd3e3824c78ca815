//! GPUMD's `nep.in` read into a [`TrainConfig`], so that `forcefit nep DIR`
//! can stand in for GPUMD's `nep` executable (see `docs/nep-command.md`).
//!
//! # Format
//!
//! One keyword per line, followed by its parameters, separated by
//! whitespace. Everything from `#` to the end of a line is a comment; blank
//! lines are skipped. Keywords may come in any order, each at most once.
//! Keywords are case-sensitive, as in GPUMD. The data are `DIR/train.xyz`
//! and, if present, `DIR/test.xyz` (without it there is no validation); the
//! outputs go to `DIR`.
//!
//! # Keywords
//!
//! Defaults are GPUMD's documented ones (`cutoff 8 4`, `n_max 4 4`,
//! `basis_size 8 8`, `l_max 4 2 0`, `neuron 30`, `lambda_e 1`,
//! `lambda_f 1`, `lambda_v 0.1`, `batch 1000`, `population 50`,
//! `generation 100000`), except `lambda_1` and `lambda_2` (below).
//!
//! | keyword | status | meaning in forcefit |
//! |---|---|---|
//! | `type N El1 … ElN` | supported, required | `model.type` |
//! | `version 3\|4\|5` | supported | `model.version` (NEP2 is refused; 5 is NEP4 with a per-element output bias, which NEP_CPU reads) |
//! | `cutoff rc_R rc_A` or `cutoff rc_R,1 rc_A,1 … rc_R,N rc_A,N` | supported | `model.cutoff`: one pair, or a pair per element in `type` order (a pair of elements uses the mean) |
//! | `n_max R A`, `basis_size R A` | supported | `model.n_max`, `model.basis_size` |
//! | `l_max L3 [f222 [f1111 [f112 [f123 [f233 [f134]]]]]]` | supported | `model.l_max`; L3 in 2..=8; absent flags at GPUMD's defaults (q_222 on, the rest off); q_222 is on for 1 or 2 (older GPUMD's `l_max_4body`), the other flags are 0 or 1; q_123/q_233 need L3 ≥ 3, q_134 L3 ≥ 4 |
//! | `neuron N [0]` | supported | `model.neuron`; a second hidden layer is refused |
//! | `zbl R` | supported | universal ZBL, outer cutoff R; a `zbl.in` (flexible ZBL) is refused |
//! | `use_typewise_cutoff_zbl [f]` | supported | `model.typewise_cutoff_zbl` (default 0.7, ≥ 0.5); needs `zbl` |
//! | `use_typewise_cutoff [f_R f_A]` | supported (older GPUMD) | `model.typewise_cutoff` (defaults 2.5 2.0); its nep.txt is read by NEP_CPU before December 2025 only |
//! | `type_weight w_1 … w_N`, `force_delta δ`, `lambda_shear λs` | supported | `loss.type_weight` (one per `type` element), `loss.force_delta`, `loss.lambda_shear` |
//! | `fine_tune MODEL.txt [RESTART [flag]]` | supported | `model.init` (reduced to `type`'s elements); RESTART is ignored; flag 1 only (0 is refused); architecture keywords given must agree with the model |
//! | `lambda_1`, `lambda_2` | supported | default 0 (GPUMD: automatic, √(N_par·10⁻⁶/N_types)) |
//! | `lambda_e`, `lambda_f`, `lambda_v` | supported | `loss.*` |
//! | `batch N [0]` | supported | SNES, FEKF, RLEKF: `optimizer.batch_size`; not Adam's (see [`plan`]); effective full batch (`batch N 1`) is refused |
//! | `population N`, `sigma0 X` | supported | SNES population and initial spread (SNES only) |
//! | `generation N` | supported | SNES, FEKF, RLEKF: `train.steps`; Adam: at most min(N, 100000) steps (see [`plan`]) |
//! | `prediction 0\|1` | supported | 1: evaluate `DIR/nep.txt`, no training |
//! | `seed N` | supported | `train.seed` |
//! | `optimizer adam\|adamw\|fekf\|rlekf\|snes` | forcefit only | `optimizer.type` (default adam); for fekf `batch` is the filter's batch (default 8; FEKF's NEP recipe in [`plan`]) |
//! | `lr X`, `lr_min X`, `time_limit S` | forcefit only | `optimizer.lr`, `optimizer.lr_min`, `train.time_limit` (alone: the schedule follows the clock) |
//! | `epochs N`, `batch_size N` | forcefit only | `train.epochs`, `optimizer.batch_size` |
//! | `output_descriptor`, `save_potential`, `checkpoint`, `output_interval`, `lambda_q`, `lambda_z` | warned | no effect on the model; ignored with a warning |
//! | `model_type`/`mode`/`train_mode 0`, `charge_mode 0`, `atomic_v 0`, `lambda_d 0`, `loss_mode 0` | accepted at GPUMD's default | any other value is refused |
//! | `initial_para`, `q_scaler`, `sigma_e`, `sigma_f`, `sigma_s`, `sigma_L1`, `sigma_L2` | refused | error naming the line |
//!
//! Anything else is an unknown keyword. Every error names `nep.in:LINE`.

use super::architecture;
use super::lines;
use super::run_files;
use crate::dropin::{Translation, Treatment};
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::model::nep::NepHyper;
use crate::model::nep::config::NepConfig;
use crate::train::config::{Paths, TrainConfig};
use std::collections::BTreeMap;
use std::path::Path;

mod fine_tune;
mod plan;

/// GPUMD's default batch size.
pub const DEFAULT_BATCH: usize = 1000;
/// GPUMD's default number of generations.
pub const DEFAULT_GENERATION: usize = 100_000;

/// A parsed `nep.in`: the translation, and what else the file says.
#[derive(Clone, Debug)]
pub struct NepInput {
    /// The training it describes: data from DIR, outputs to DIR.
    pub translation: Translation,
    /// `prediction 1`: evaluate `DIR/nep.txt` instead of training.
    pub prediction: bool,
    /// Line of each keyword given.
    lines: BTreeMap<String, usize>,
}

impl std::ops::Deref for NepInput {
    type Target = Translation;
    fn deref(&self) -> &Translation {
        &self.translation
    }
}

fn treatment(keyword: &str) -> Option<Treatment> {
    use Treatment::*;
    Some(match keyword {
        "output_descriptor" => Warned("writes descriptor.out in GPUMD; forcefit does not"),
        "save_potential" | "checkpoint" => Warned(
            "writes time-stamped copies of nep.txt in GPUMD; forcefit keeps checkpoint.json instead",
        ),
        "output_interval" => Warned("forcefit writes one loss.out line per epoch"),
        "lambda_q" | "lambda_z" => Warned("only used by charge models (charge_mode)"),
        "model_type" | "mode" | "train_mode" => DefaultOnly(
            0.0,
            "forcefit trains potentials only (model_type 0), not dipole, polarizability or temperature models",
        ),
        "charge_mode" => DefaultOnly(0.0, "charge models (qNEP) are not supported"),
        "atomic_v" => DefaultOnly(0.0, "atomic tensors are for dipole/polarizability models"),
        "lambda_d" => DefaultOnly(0.0, "energy-difference losses (ediff.in) are not supported"),
        "loss_mode" => DefaultOnly(
            0.0,
            "only GPUMD's default RMSE loss is available here (use `forcefit train` with loss.kind = \"mse\")",
        ),
        "vdw" | "charge_vdw" => DefaultOnly(
            0.0,
            "NEP with a trained van der Waals term is not supported (NEP_CPU, which LAMMPS and calorine use, does not read such models either)",
        ),
        "import_q_scaler" => DefaultOnly(
            0.0,
            "a new run scales the descriptors from its training data as GPUMD does; `--resume` and `fine_tune` keep the scaling of the run or model they continue",
        ),
        "initial_para" => Refused(
            "it is SNES's initial spread of the parameters; forcefit starts from Glorot-scaled weights and per-element energy references (`sigma0` sets SNES's spread)",
        ),
        "q_scaler" => Refused("forcefit scales the descriptors from the training data"),
        "sigma_e" | "sigma_f" | "sigma_s" | "sigma_L1" | "sigma_L2" => {
            Refused("these belong to loss_mode 1, which is not supported")
        }
        _ => return None,
    })
}

/// The configuration a `nep.in` without keywords (but `type`) describes.
pub(super) fn gpumd_defaults(dir: &Path) -> TrainConfig {
    let mut config = TrainConfig {
        data: crate::train::config::DataConfig {
            train: Paths::One(dir.join("train.xyz")),
            test: None,
            validation_fraction: 0.0,
            format: None,
            split_seed: None,
        },
        model: Default::default(),
        loss: Default::default(),
        optimizer: Default::default(),
        run: Default::default(),
    };
    config.run.output_dir = dir.to_path_buf();
    config
}

/// `nep.in` keyword for each TOML key the configuration's validation
/// names; longer keys first so that replacing them is unambiguous. A key
/// that two keywords can set is listed once per keyword, the one used
/// when neither is given first.
const KEYS: [(&str, &str); 23] = [
    ("model.version", "version"),
    ("model.typewise_cutoff_zbl", "use_typewise_cutoff_zbl"),
    ("model.typewise_cutoff", "use_typewise_cutoff"),
    ("model.cutoff", "cutoff"),
    ("model.n_max", "n_max"),
    ("model.basis_size", "basis_size"),
    ("model.l_max", "l_max"),
    ("model.neuron", "neuron"),
    ("model.zbl", "zbl"),
    ("loss.lambda_e", "lambda_e"),
    ("loss.lambda_f", "lambda_f"),
    ("loss.lambda_v", "lambda_v"),
    ("loss.lambda_1", "lambda_1"),
    ("loss.lambda_2", "lambda_2"),
    ("optimizer.lr_min", "lr_min"),
    ("optimizer.lr", "lr"),
    ("optimizer.batch_size", "batch_size"),
    ("optimizer.batch_size", "batch"),
    ("train.epochs", "epochs"),
    ("optimizer.population", "population"),
    ("optimizer.sigma0", "sigma0"),
    ("train.steps", "generation"),
    ("train.time_limit", "time_limit"),
];

/// Parses `nep.in` text (`path` names it in errors; `dir` holds the data
/// and receives the outputs). The test set is not looked for: see [`read`].
pub fn parse(text: &str, path: &Path, dir: &Path) -> Result<NepInput> {
    let (lines, given) = lines::split(text, path)?;
    let species = architecture::species(&lines, path, "nep.in")?;

    let mut config = gpumd_defaults(dir);
    let mut nep = NepConfig {
        species: Some(species.clone()),
        ..NepConfig::default()
    };
    let mut prediction = false;
    let mut warnings = Vec::new();
    let mut gpumd_run = plan::GpumdRun::default();
    for line in &lines {
        if architecture::model_keyword(line, path, &species, &mut nep)?
            || architecture::loss_keyword(line, path, &species, &mut config.loss)?
        {
            continue;
        }
        match line.keyword {
            "type" => {}
            "prediction" => {
                line.count(path, 1..=1)?;
                prediction = match line.int(path, 0)? {
                    0 => false,
                    1 => true,
                    v => {
                        return Err(
                            line.error(path, format!("must be 0 (train) or 1 (predict), got {v}"))
                        );
                    }
                };
            }
            "fine_tune" => nep.init = Some(fine_tune::parse(line, path, dir, &mut warnings)?),
            "lambda_1" => config.loss.lambda_1 = line.non_negative(path)?,
            "lambda_2" => config.loss.lambda_2 = line.non_negative(path)?,
            "batch" => {
                line.count(path, 1..=2)?;
                gpumd_run.batch = Some((line.int(path, 0)?, line.number));
                if line.args.len() == 2 && line.int(path, 1)? != 0 {
                    return Err(line.error(
                        path,
                        "effective full batch (second parameter 1) is not supported",
                    ));
                }
            }
            "population" => {
                line.count(path, 1..=1)?;
                config.optimizer.population = line.int(path, 0)?;
            }
            "sigma0" => config.optimizer.sigma0 = line.positive(path)?,
            "generation" => {
                line.count(path, 1..=1)?;
                gpumd_run.generation = Some((line.int(path, 0)?, line.number));
            }
            "epochs" => {
                line.count(path, 1..=1)?;
                config.run.epochs = Some(line.int(path, 0)?);
            }
            "force_scale" => {
                gpumd_run.force_scale = Some(line.non_negative(path)?);
            }
            "batch_size" => {
                line.count(path, 1..=1)?;
                config.optimizer.batch_size = Some(line.int(path, 0)?);
            }
            "seed" => {
                line.count(path, 1..=1)?;
                config.run.seed = line.parsed(path, 0, "a non-negative integer")?;
            }
            "optimizer" => {
                line.count(path, 1..=1)?;
                config.optimizer.kind = line.args[0].parse().map_err(|e| line.error(path, e))?;
            }
            "lr" => config.optimizer.lr = line.positive(path)?,
            "lr_min" => config.optimizer.lr_min = line.non_negative(path)?,
            "time_limit" => config.run.time_limit = Some(line.positive(path)?),
            other => lines::treat(
                line,
                path,
                treatment(other),
                &mut warnings,
                "docs/nep-command.md",
            )?,
        }
    }
    config.model = ModelConfig::Nep(nep);
    warnings.extend(plan::apply(
        &mut config,
        &gpumd_run,
        &path.display().to_string(),
    ));
    config
        .validate()
        .map_err(|msg| lines::validation_error(&msg, path, &given, &KEYS))?;
    Ok(NepInput {
        translation: Translation {
            config,
            warnings,
            path: path.to_path_buf(),
        },
        prediction,
        lines: given,
    })
}

/// Reads `DIR/nep.in` and checks that the files it implies exist:
/// `train.xyz` (always), `nep.txt` (prediction). `test.xyz` is used when
/// present. A `zbl.in` beside a `zbl` keyword (GPUMD's flexible ZBL) is
/// refused.
pub fn read(dir: &Path) -> Result<NepInput> {
    let path = dir.join("nep.in");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let mut input = parse(&text, &path, dir)?;
    run_files::train_xyz(dir, "GPUMD's nep", "nep.in")?;
    if let Some(test) = run_files::test_xyz(dir) {
        input.translation.config.data.test = Some(Paths::One(test));
    }
    if !input.prediction {
        fine_tune::check(&input)?;
    }
    run_files::check_model_files(
        dir,
        &path,
        input.prediction,
        input.line_of("zbl"),
        "GPUMD train a flexible ZBL",
    )?;
    Ok(input)
}

impl NepInput {
    /// Line of a keyword, if given.
    pub fn line_of(&self, keyword: &str) -> Option<usize> {
        self.lines.get(keyword).copied()
    }

    /// In prediction mode the model is `nep.txt` as it is: checks it
    /// against `nep.in`. Different elements are an error; hyperparameters
    /// that `nep.in` sets explicitly to other values than `nep.txt` has
    /// come back as warnings (GPUMD would refuse or misread the file;
    /// forcefit uses `nep.txt`'s header).
    pub fn check_model(&self, hyper: &NepHyper, model_path: &Path) -> Result<Vec<String>> {
        architecture::check_model(&self.translation, &|k| self.line_of(k), hyper, model_path)
    }
}

#[cfg(test)]
mod tests;
