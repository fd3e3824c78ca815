//! GNEP's run keywords (`batch`, `epoch`, `start_lr`, `stop_lr`,
//! `weight_decay`, `lr_cos_restart`, `force_delta`, `energy_shift`) and
//! what they become in forcefit, which needs the size of `train.xyz`:
//! GNEP counts its warm-up and restart periods in epochs of
//! ⌈N_structures / batch⌉ steps, and weighs energies and virials by the
//! atom count (see [`GnepRun::apply`]).

use super::super::lines::Line;
use crate::error::{Error, Result};
use crate::optim::schedule::Restarts;
use crate::train::config::{OptimizerKind, TrainConfig};
use std::io::BufRead;
use std::path::Path;

/// The size of a training set, read cheaply from an extended-XYZ file's
/// atom-count lines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainingSet {
    /// Structures.
    pub structures: usize,
    /// Atoms over all structures.
    pub atoms: usize,
}

impl TrainingSet {
    /// Counts the frames and atoms of the extended-XYZ file `path` by its
    /// count lines alone (the full reader's errors come with training).
    pub fn count(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut lines = std::io::BufReader::new(file).lines().enumerate();
        let mut set = TrainingSet {
            structures: 0,
            atoms: 0,
        };
        while let Some((i, line)) = lines.next() {
            let line = line.map_err(|e| Error::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let n: usize = line.trim().parse().map_err(|_| {
                Error::parse(path, i + 1, "expected the number of atoms of a structure")
            })?;
            // The comment line and n atom lines.
            if lines.nth(n).is_none() {
                return Err(Error::parse(
                    path,
                    i + 1,
                    "the file ends inside this structure",
                ));
            }
            set.structures += 1;
            set.atoms += n;
        }
        if set.structures == 0 {
            return Err(Error::file(path, "no structures"));
        }
        Ok(set)
    }

    /// Mean atoms per structure.
    pub fn mean_atoms(&self) -> f64 {
        self.atoms as f64 / self.structures.max(1) as f64
    }

    /// Optimizer steps per epoch with `batch` structures per step: GNEP's
    /// number of batches ⌈N / batch⌉.
    pub fn steps_per_epoch(&self, batch: usize) -> usize {
        self.structures
            .div_ceil(batch.clamp(1, self.structures.max(1)))
    }
}

/// `lr_cos_restart 1 [warmup period factor decay]`, periods in epochs.
#[derive(Clone, Copy, Debug)]
struct CosRestart {
    warmup_epochs: usize,
    period_epochs: usize,
    period_factor: f64,
    decay_factor: f64,
}

/// GNEP's run keywords as read, at GNEP's defaults.
pub struct GnepRun {
    batch: usize,
    epochs: usize,
    lr: f64,
    lr_min: f64,
    weight_decay: f64,
    restart: Option<CosRestart>,
    force_delta: f64,
    energy_shift: Option<(usize, usize)>,
    force_scale: Option<f64>,
}

impl Default for GnepRun {
    fn default() -> Self {
        GnepRun {
            batch: 2,
            epochs: 50,
            lr: 1e-3,
            lr_min: 1e-7,
            weight_decay: 0.0,
            restart: None,
            force_delta: 0.0,
            energy_shift: None,
            force_scale: None,
        }
    }
}

impl GnepRun {
    /// Reads a run keyword; `false` if `line` is not one.
    pub fn keyword(&mut self, line: &Line, path: &Path) -> Result<bool> {
        match line.keyword {
            "batch" => {
                line.count(path, 1..=2)?;
                self.batch = line.int(path, 0)?;
                if self.batch == 0 {
                    return Err(line.error(path, "the batch size must be at least 1"));
                }
                // GNEP parses `use_full_batch` and never uses it.
                if line.args.len() == 2 && line.int(path, 1)? > 1 {
                    return Err(line.error(path, "the second parameter must be 0 or 1"));
                }
            }
            "epoch" => {
                line.count(path, 1..=1)?;
                self.epochs = line.int(path, 0)?;
                if !(1..=10_000).contains(&self.epochs) {
                    // GNEP accepts 0, which trains and writes nothing.
                    return Err(
                        line.error(path, format!("must be in 1..=10000, got {}", self.epochs))
                    );
                }
            }
            "start_lr" => self.lr = line.positive(path)?,
            "stop_lr" => self.lr_min = line.non_negative(path)?,
            "weight_decay" => self.weight_decay = line.non_negative(path)?,
            // GNEP takes any value and uses it only when positive.
            "force_delta" => {
                line.count(path, 1..=1)?;
                self.force_delta = line.real(path, 0)?.max(0.0);
            }
            "energy_shift" => {
                line.count(path, 1..=1)?;
                let v = line.int(path, 0)?;
                if v > 1 {
                    return Err(line.error(path, format!("must be 0 or 1, got {v}")));
                }
                self.energy_shift = Some((v, line.number));
            }
            "lr_cos_restart" => self.restart = cos_restart(line, path)?,
            // forcefit only: structure weights 1/(1 + F_rms/X); off as in GNEP.
            "force_scale" => self.force_scale = Some(line.non_negative(path)?).filter(|&x| x > 0.0),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Sets the optimizer, run length, schedule and loss weights of
    /// `config` for the training set `set`; returns notes for the user
    /// (`where_` names gnep.in in them).
    pub fn apply(&self, config: &mut TrainConfig, set: &TrainingSet, where_: &str) -> Vec<String> {
        let mut notes = Vec::new();
        let per_epoch = set.steps_per_epoch(self.batch);
        let opt = &mut config.optimizer;
        opt.batch_size = Some(self.batch);
        opt.lr = self.lr;
        opt.lr_min = self.lr_min;
        if self.weight_decay > 0.0 {
            opt.kind = OptimizerKind::Adamw;
            opt.weight_decay = self.weight_decay;
        }
        // GNEP warms up for one epoch, or for lr_cos_restart's epochs.
        let warmup = self.restart.map_or(1, |r| r.warmup_epochs);
        opt.warmup_steps = warmup * per_epoch;
        // GNEP's ramp starts at stop_lr.
        opt.warmup_from = (opt.warmup_steps > 0).then_some(self.lr_min);
        opt.restarts = self.restart.map(|r| Restarts {
            period: r.period_epochs * per_epoch,
            period_factor: r.period_factor,
            decay_factor: r.decay_factor,
        });
        config.run.epochs = Some(self.epochs);
        let loss = &mut config.loss;
        loss.force_scale = self.force_scale;
        // GNEP's gradient is that of Σ_c N_c ΔE_c² (ΔE per atom): forcefit's
        // per-atom MSE times the atom count; likewise the virials.
        let n = set.mean_atoms();
        notes.push(format!(
            "{where_}: GNEP weighs each structure's energy and virial errors by its atom count; \
             forcefit's MSE loss is per atom, so lambda_e and lambda_v are multiplied by the mean \
             atom count of train.xyz ({n:.4}): {} and {}",
            loss.lambda_e * n,
            loss.lambda_v * n
        ));
        loss.lambda_e *= n;
        loss.lambda_v *= n;
        // GNEP multiplies |ΔF|² by the type weight, forcefit by its square.
        for w in loss.type_weight.values_mut() {
            *w = w.sqrt();
        }
        if self.force_delta > 0.0 {
            loss.force_delta = self.force_delta;
            notes.push(format!(
                "{where_}: force_delta: GNEP multiplies each |ΔF|² by √(δ/(δ+|F|)), forcefit by δ/(δ+|F|)"
            ));
        }
        if let Some((v, line)) = self.energy_shift {
            notes.push(format!(
                "{where_}:{line}: `energy_shift {v}`: forcefit always starts from per-element energy \
                 references fitted to train.xyz by least squares (GNEP's energy_shift 1 shifts the \
                 output bias by a similar estimate)"
            ));
        }
        notes
    }
}

/// `lr_cos_restart enable [warmup_epochs initial_period_epochs
/// period_factor decay_factor]` (GNEP's defaults 1, 10, 2, 0.8).
fn cos_restart(line: &Line, path: &Path) -> Result<Option<CosRestart>> {
    if line.args.len() != 1 && line.args.len() != 5 {
        return Err(line.error(
            path,
            format!("expected 1 or 5 parameters, got {}", line.args.len()),
        ));
    }
    let enable = line.int(path, 0)?;
    if enable > 1 {
        return Err(line.error(path, format!("enable must be 0 or 1, got {enable}")));
    }
    let mut r = CosRestart {
        warmup_epochs: 1,
        period_epochs: 10,
        period_factor: 2.0,
        decay_factor: 0.8,
    };
    if line.args.len() == 5 {
        r.warmup_epochs = line.int(path, 1)?;
        r.period_epochs = line.int(path, 2)?;
        r.period_factor = line.real(path, 3)?;
        r.decay_factor = line.real(path, 4)?;
    }
    if r.period_epochs == 0 {
        return Err(line.error(path, "the initial period must be at least 1 epoch"));
    }
    // GNEP takes any positive factor, but one below 1 shrinks the cycles
    // to nothing and GNEP then never finds the current one.
    if r.period_factor < 1.0 {
        return Err(line.error(
            path,
            format!(
                "the period factor must be at least 1, got {}",
                r.period_factor
            ),
        ));
    }
    if r.decay_factor <= 0.0 {
        return Err(line.error(
            path,
            format!("the decay factor must be positive, got {}", r.decay_factor),
        ));
    }
    Ok((enable == 1).then_some(r))
}
