//! The training loop: epochs of shuffled minibatches, one optimizer step
//! per batch, validation, best-model selection, checkpoints, divergence
//! recovery, progress and logs. Deterministic: the same configuration and
//! seed give the same model bit for bit, for any thread count (the time
//! limit aside, which stops at a wall-clock moment).

use super::checkpoint::{Checkpoint, OptimizerState};
use super::config::{OptimizerKind, TrainConfig};
use super::data::{self, DataSets};
use super::fekf::{FekfStep, Timing};
use super::log::LogRow;
use super::step;
use crate::batch;
use crate::error::{Error, Result};
use crate::loss::{self, LossConfig, LossKind, LossParts};
use crate::metrics::{ErrorStats, Summary};
use crate::model::nep::angular::AngularTerms;
use crate::model::nep::init::{energy_references, species_of};
use crate::model::nep::{Nep, NepHyper, Zbl};
use crate::model::{Model, Prepared};
use crate::optim::schedule::Schedule;
use crate::optim::{Adam, Kalman, Snes};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How a run is driven from outside.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Continue from `output_dir/checkpoint.json`.
    pub resume: bool,
    /// Set (e.g. by Ctrl-C) to stop after the current step, writing a
    /// checkpoint and every output as at a normal end.
    pub stop: Arc<AtomicBool>,
    /// Hide the progress bar and per-validation lines.
    pub quiet: bool,
}

/// What a finished run produced.
pub struct Outcome {
    /// The best model (by validation loss, or training loss without validation).
    pub model: Nep,
    /// Epoch of the best model.
    pub best_epoch: usize,
    /// Epochs and steps completed.
    pub epochs: usize,
    /// Optimizer steps completed.
    pub steps: usize,
    /// Why the run ended early, if it did.
    pub stopped: Option<String>,
    /// Errors of the best model on the training set.
    pub train: Summary,
    /// Errors of the best model on the validation set, if any.
    pub validation: Option<Summary>,
    /// The per-epoch log.
    pub log: Vec<LogRow>,
    /// Where the outputs were written.
    pub output_dir: PathBuf,
    /// Training data, prepared (for callers writing further outputs).
    pub train_data: Vec<Prepared>,
    /// Validation data, prepared.
    pub validation_data: Vec<Prepared>,
    /// Where the time of the Kalman-filter steps went (FEKF/RLEKF only).
    pub kalman: Option<KalmanReport>,
}

/// Cost figures of a Kalman-filter run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KalmanReport {
    /// Time split of this session's steps.
    pub timing: Timing,
    /// Covariance blocks (parameters in each).
    pub blocks: Vec<usize>,
    /// Covariance memory, bytes.
    pub covariance_bytes: usize,
    /// Kalman updates applied and skipped (non-finite measurements), whole run.
    pub updates: u64,
    /// Skipped measurements.
    pub skipped: u64,
    /// Final memory factor λ.
    pub lambda: f64,
}

/// Builds the model the configuration describes: from `model.init`, or
/// random with descriptor scales and energy offset from the training data.
fn build_model(config: &TrainConfig, data: &DataSets) -> Result<Nep> {
    let m = &config.model;
    if let Some(path) = &m.init {
        return Nep::from_file(path);
    }
    let species = m.species.clone().unwrap_or_else(|| species_of(&data.train));
    let hyper = NepHyper {
        version: m.version,
        species,
        rc_radial: m.cutoff[0],
        rc_angular: m.cutoff[1],
        max_neighbors: Some((1000, 1000)),
        typewise: None,
        n_max_radial: m.n_max[0],
        n_max_angular: m.n_max[1],
        basis_size_radial: m.basis_size[0],
        basis_size_angular: m.basis_size[1],
        angular: AngularTerms {
            l_max: m.l_max[0],
            four_body: m.l_max[1] == 2,
            five_body: m.l_max[2] == 1,
        },
        neurons: m.neuron,
        zbl: m.zbl.map(|outer| Zbl::Universal {
            inner: 0.5 * outer,
            outer,
        }),
    };
    hyper
        .validate()
        .map_err(|e| Error::Invalid(format!("model: {e}")))?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.run.seed);
    Nep::random(hyper, &mut rng)
}

/// RMSEs in meV from loss parts (NaN where there was no such label).
fn rmse_mev(parts: &LossParts, counts: [bool; 3]) -> [f64; 3] {
    let f = |mse: f64, has: bool| if has { mse.sqrt() * 1e3 } else { f64::NAN };
    [
        f(parts.energy_mse, counts[0]),
        f(parts.force_mse, counts[1]),
        f(parts.virial_mse, counts[2]),
    ]
}

fn label_presence(data: &[Prepared]) -> [bool; 3] {
    [
        data.iter().any(|s| s.structure.labels.energy.is_some()),
        data.iter().any(|s| s.structure.labels.forces.is_some()),
        data.iter().any(|s| s.structure.labels.virial.is_some()),
    ]
}

/// Errors of `model` on `data`.
pub fn summarize(model: &dyn Model, data: &[Prepared]) -> Summary {
    let predictions = batch::predict_all(model, data);
    let mut stats = ErrorStats::new();
    for (s, p) in data.iter().zip(&predictions) {
        stats.add(&s.structure, p);
    }
    stats.summary()
}

/// Validate every this many epochs when the configuration does not say:
/// validation (a prediction) should cost about a quarter of the training.
fn auto_validate_every(train: &[Prepared], validation: &[Prepared]) -> usize {
    let atoms = |d: &[Prepared]| d.iter().map(|s| s.structure.n_atoms()).sum::<usize>() as f64;
    let ratio = atoms(validation) / (0.25 * 2.5 * atoms(train).max(1.0));
    (ratio.ceil() as usize).max(1)
}

/// The mutable state of a run, all of which a checkpoint saves.
struct State {
    model: Nep,
    optimizer: OptimizerState,
    rng: ChaCha8Rng,
    epoch: usize,
    step: usize,
    lr_scale: f64,
    elapsed_before: f64,
    best_params: Vec<f64>,
    best_loss: f64,
    best_epoch: usize,
    recoveries: usize,
    log: Vec<LogRow>,
}

impl State {
    fn kalman(&self) -> Option<&Kalman> {
        match &self.optimizer {
            OptimizerState::Kalman(k) => Some(k),
            _ => None,
        }
    }

    fn save(&self, config_text: &str, elapsed: f64, path: &std::path::Path) -> Result<()> {
        self.checkpoint(config_text, elapsed)
            .save(path, self.kalman())
    }

    fn checkpoint(&self, config_text: &str, elapsed: f64) -> Checkpoint {
        let mut c = Checkpoint {
            format: String::new(),
            version: 0,
            config: config_text.to_string(),
            epoch: self.epoch,
            step: self.step,
            lr_scale: self.lr_scale,
            elapsed_s: elapsed,
            rng_seed: self.rng.get_seed(),
            rng_word_pos: self.rng.get_word_pos().to_string(),
            params: self.model.params().to_vec(),
            q_scaler: self.model.q_scaler().to_vec(),
            optimizer: self.optimizer.light_copy(),
            covariance: None,
            best_params: self.best_params.clone(),
            best_loss: self.best_loss,
            best_epoch: self.best_epoch,
            recoveries: self.recoveries,
            log: self.log.clone(),
        };
        c.stamp();
        c
    }

    fn restore(&mut self, c: Checkpoint) -> Result<()> {
        if c.params.len() != self.model.params().len() {
            return Err(Error::Invalid(format!(
                "the checkpoint has {} parameters, the configured model {}",
                c.params.len(),
                self.model.params().len()
            )));
        }
        self.model.params_mut().copy_from_slice(&c.params);
        self.model.set_q_scaler(c.q_scaler)?;
        self.optimizer = c.optimizer;
        let mut rng = ChaCha8Rng::from_seed(c.rng_seed);
        let pos: u128 = c
            .rng_word_pos
            .parse()
            .map_err(|_| Error::Invalid("checkpoint: bad rng_word_pos".into()))?;
        rng.set_word_pos(pos);
        self.rng = rng;
        self.epoch = c.epoch;
        self.step = c.step;
        self.lr_scale = c.lr_scale;
        self.elapsed_before = c.elapsed_s;
        self.best_params = c.best_params;
        self.best_loss = c.best_loss;
        self.best_epoch = c.best_epoch;
        self.recoveries = c.recoveries;
        self.log = c.log;
        Ok(())
    }
}

/// The settings that must not change between a run and its resumption.
fn resume_key(text: &str) -> Result<TrainConfig> {
    let mut c: TrainConfig =
        toml::from_str(text).map_err(|e| Error::Invalid(format!("checkpoint config: {e}")))?;
    c.run.epochs = 0;
    c.run.steps = None;
    c.run.time_limit = None;
    c.run.threads = None;
    Ok(c)
}

/// Runs the training that `config` describes. `config_text` is the TOML it
/// came from (stored in checkpoints).
pub fn run(config: &TrainConfig, config_text: &str, options: &RunOptions) -> Result<Outcome> {
    let out_dir = config.run.output_dir.clone();
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    let checkpoint_path = out_dir.join("checkpoint.json");
    let data = data::load(config)?;
    let mut model = build_model(config, &data)?;
    let train_data = batch::prepare_all(&model, data.train)?;
    let validation_data = batch::prepare_all(&model, data.validation)?;
    if config.model.init.is_none() {
        model.scale_descriptors(&train_data);
        let (references, rank) = energy_references(model.species(), &train_data);
        model.set_energy_references(&references);
        model.center_energy(&train_data);
        if !options.quiet {
            let listed: Vec<String> = model
                .species()
                .iter()
                .zip(&references)
                .map(|(s, e)| format!("{s} {e:.4}"))
                .collect();
            let note = if rank < references.len() {
                format!(" (the compositions fix only {rank} combination(s); minimum-norm values)")
            } else {
                String::new()
            };
            eprintln!(
                "per-element energy references, eV: {}{note}",
                listed.join(", ")
            );
        }
        model.set_max_neighbors_from(&train_data);
    }
    let n_params = model.params().len();
    let weights: LossConfig = config.loss.weights();
    let opt = &config.optimizer;
    let optimizer = match opt.kind {
        OptimizerKind::Adam => OptimizerState::Adam(Adam::new(n_params, 0.0)),
        OptimizerKind::Adamw => OptimizerState::Adam(Adam::new(n_params, opt.weight_decay)),
        OptimizerKind::Snes => OptimizerState::Snes(Snes::new(
            model.params().to_vec(),
            opt.sigma0,
            opt.population,
        )),
        OptimizerKind::Fekf | OptimizerKind::Rlekf => {
            OptimizerState::Kalman(new_kalman(config, &model, train_data.len(), options)?)
        }
    };
    let mut state = State {
        best_params: model.params().to_vec(),
        model,
        optimizer,
        rng: ChaCha8Rng::seed_from_u64(config.run.seed.wrapping_add(1)),
        epoch: 0,
        step: 0,
        lr_scale: 1.0,
        elapsed_before: 0.0,
        best_loss: f64::INFINITY,
        best_epoch: 0,
        recoveries: 0,
        log: Vec::new(),
    };
    if options.resume {
        let c = Checkpoint::load(&checkpoint_path)?;
        let (old, new) = (resume_key(&c.config)?, resume_key(config_text)?);
        if old.data != new.data
            || old.model != new.model
            || old.loss != new.loss
            || old.optimizer != new.optimizer
            || old.run.seed != new.run.seed
        {
            return Err(Error::file(
                &checkpoint_path,
                "the checkpoint was written with different [data], [model], [loss], [optimizer] or seed settings; \
                 only the run length (epochs, steps, time_limit) and threads may change on --resume",
            ));
        }
        state.restore(c)?;
        if !options.quiet {
            eprintln!(
                "resuming from {} at epoch {}, step {}",
                checkpoint_path.display(),
                state.epoch,
                state.step
            );
        }
    }

    let batch_size = opt.batch_size().min(train_data.len());
    let steps_per_epoch = train_data.len().div_ceil(batch_size);
    let total_steps = config
        .run
        .steps
        .unwrap_or(config.run.epochs * steps_per_epoch);
    let schedule = Schedule {
        lr: opt.lr,
        lr_min: opt.lr_min,
        warmup_steps: opt.warmup_steps,
        decay: opt.decay,
        total_steps,
    };
    let validate_every = config
        .run
        .validate_every_or(|| auto_validate_every(&train_data, &validation_data));
    let presence_train = label_presence(&train_data);
    let presence_val = label_presence(&validation_data);
    let selection_weights = LossConfig {
        kind: LossKind::Rmse,
        lambda_1: 0.0,
        lambda_2: 0.0,
        ..weights.clone()
    };
    let start = Instant::now();
    let elapsed = |s: &State| s.elapsed_before + start.elapsed().as_secs_f64();
    let bar = if options.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        progress_bar(total_steps)
    };
    bar.set_position(state.step as u64);
    let plain_lines = !options.quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut order: Vec<usize> = (0..train_data.len()).collect();
    let mut grad = vec![0.0; n_params];
    let mut snapshot = (state.model.params().to_vec(), state.optimizer.light_copy());
    let fekf_settings = config.fekf_settings();
    let mut fekf = FekfStep::new(n_params);
    let mut reference_loss = f64::INFINITY;
    let mut stopped = None;
    let mut last_line = f64::NEG_INFINITY;
    let mut candidates: Vec<Vec<f64>> = Vec::new();
    let mut work = state.model.clone();

    'epochs: while state.step < total_steps {
        order.sort_unstable();
        order.shuffle(&mut state.rng);
        let (mut sum_loss, mut sums, mut n_steps) = (0.0, LossParts::default(), 0usize);
        let mut lr = 0.0;
        for chunk in order.chunks(batch_size) {
            if state.step >= total_steps {
                break;
            }
            if options.stop.load(Ordering::Relaxed) {
                stopped = Some("interrupted".to_string());
                break;
            }
            if let Some(limit) = config.run.time_limit
                && elapsed(&state) >= limit
            {
                stopped = Some(format!("time limit of {limit} s reached"));
                break;
            }
            let batch: Vec<&Prepared> = chunk.iter().map(|&i| &train_data[i]).collect();
            let masks = force_masks(&batch, config.loss.force_fraction, &mut state.rng);
            let used = |k: usize, i: usize| masks.as_ref().is_none_or(|m| m[k][i]);
            // The Kalman filters have no learning rate: NaN in loss.csv.
            lr = match state.optimizer {
                OptimizerState::Kalman(_) => f64::NAN,
                _ => schedule.at(state.step) * state.lr_scale,
            };
            let (parts, total) = match &mut state.optimizer {
                OptimizerState::Adam(adam) => {
                    let parts =
                        step::loss_and_gradient(&state.model, &batch, &weights, used, &mut grad);
                    let total = parts.total
                        + loss::regularization(&weights, state.model.params(), &mut grad);
                    if total.is_finite()
                        && grad.iter().all(|g| g.is_finite())
                        && total <= 100.0 * reference_loss
                    {
                        adam.step(state.model.params_mut(), &grad, lr);
                    }
                    (parts, total)
                }
                OptimizerState::Snes(snes) => {
                    candidates.resize(snes.population(), Vec::new());
                    snes.ask(&mut state.rng, &mut candidates);
                    let mut fitness = Vec::with_capacity(candidates.len());
                    for c in &candidates {
                        work.params_mut().copy_from_slice(c);
                        let p = step::loss(&work, &batch, &weights, used);
                        let [l1, l2] = loss::regularization_terms(&weights, c);
                        fitness.push(p.total + l1 + l2);
                    }
                    snes.tell(&fitness);
                    state.model.params_mut().copy_from_slice(&snes.mu);
                    let parts = step::loss(&state.model, &batch, &weights, used);
                    let [l1, l2] = loss::regularization_terms(&weights, state.model.params());
                    (parts, parts.total + l1 + l2)
                }
                OptimizerState::Kalman(kalman) => {
                    let (parts, skipped) = fekf.run(
                        &mut state.model,
                        kalman,
                        &batch,
                        &fekf_settings,
                        &weights,
                        &mut state.rng,
                    );
                    if skipped > 0 {
                        bar.suspend(|| {
                            eprintln!(
                                "warning: step {}: skipped {skipped} Kalman update(s) with a non-finite measurement ({} so far)",
                                state.step, kalman.skipped
                            )
                        });
                    }
                    (parts, parts.total)
                }
            };
            if !total.is_finite() || total > 100.0 * reference_loss {
                state.recoveries += 1;
                if state.recoveries > 20 {
                    let advice = match &state.optimizer {
                        OptimizerState::Kalman(_) => {
                            "lower optimizer.p_max or raise optimizer.lambda0".to_string()
                        }
                        _ => format!("lower optimizer.lr (now {lr:.3e})"),
                    };
                    return Err(Error::Invalid(format!(
                        "training diverged {} times; {advice}",
                        state.recoveries
                    )));
                }
                state.model.params_mut().copy_from_slice(&snapshot.0);
                state.optimizer = snapshot.1.clone();
                if let OptimizerState::Kalman(k) = &mut state.optimizer {
                    // The snapshot keeps no covariance: restart the filter.
                    k.restart();
                    bar.suspend(|| {
                        eprintln!(
                            "warning: loss {total:.3e} at step {} (epoch reference {reference_loss:.3e}): restored the last good parameters and restarted the Kalman filter",
                            state.step
                        )
                    });
                    continue;
                }
                state.lr_scale *= 0.5;
                bar.suspend(|| {
                    eprintln!(
                        "warning: loss {total:.3e} at step {} (epoch reference {reference_loss:.3e}): restored the last good state and halved the learning rate to {:.3e}",
                        state.step,
                        schedule.at(state.step) * state.lr_scale
                    )
                });
                continue;
            }
            sum_loss += total;
            sums.energy_mse += parts.energy_mse;
            sums.force_mse += parts.force_mse;
            sums.virial_mse += parts.virial_mse;
            n_steps += 1;
            state.step += 1;
            bar.inc(1);
        }
        if n_steps == 0 {
            break 'epochs;
        }
        let k = n_steps as f64;
        let mean = LossParts {
            energy_mse: sums.energy_mse / k,
            force_mse: sums.force_mse / k,
            virial_mse: sums.virial_mse / k,
            total: sum_loss / k,
        };
        reference_loss = mean.total;
        let finished = stopped.is_some() || state.step >= total_steps;
        if stopped.is_none() {
            state.epoch += 1;
        }
        let mut row = LogRow {
            epoch: state.epoch,
            step: state.step,
            time_s: elapsed(&state),
            lr,
            loss: mean.total,
            train_rmse: rmse_mev(&mean, presence_train),
            val_rmse: None,
            val_loss: None,
            regularization: loss::regularization_terms(&weights, state.model.params()),
        };
        let selection = if validation_data.is_empty() {
            Some(mean.total)
        } else if state.epoch.is_multiple_of(validate_every) || finished {
            let refs: Vec<&Prepared> = validation_data.iter().collect();
            let parts = step::loss(&state.model, &refs, &selection_weights, |_, _| true);
            row.val_rmse = Some(rmse_mev(&parts, presence_val));
            row.val_loss = Some(parts.total);
            Some(parts.total)
        } else {
            None
        };
        if let Some(sel) = selection
            && sel < state.best_loss
        {
            state.best_loss = sel;
            state.best_epoch = state.epoch;
            state.best_params.copy_from_slice(state.model.params());
        }
        let message = progress_message(&row);
        bar.set_message(message.clone());
        // Without a terminal (logs, nohup), a line every few seconds.
        if plain_lines && (row.time_s - last_line >= 5.0 || finished) {
            last_line = row.time_s;
            eprintln!("{message}");
        }
        state.log.push(row);
        snapshot = (state.model.params().to_vec(), state.optimizer.light_copy());
        if state.epoch.is_multiple_of(config.run.checkpoint_every) || finished {
            state.save(config_text, elapsed(&state), &checkpoint_path)?;
        }
        if finished {
            break;
        }
    }
    bar.finish_and_clear();
    if state.log.last().is_none_or(|r| r.step != state.step) || stopped.is_some() {
        state.save(config_text, elapsed(&state), &checkpoint_path)?;
    }
    let kalman = state.kalman().map(|k| KalmanReport {
        timing: fekf.timing.clone(),
        blocks: k.blocks().iter().map(|b| b.len()).collect(),
        covariance_bytes: Kalman::memory_bytes(k.blocks()),
        updates: k.updates,
        skipped: k.skipped,
        lambda: k.lambda,
    });

    let mut best = state.model.clone();
    best.params_mut().copy_from_slice(&state.best_params);
    // Report what nep.txt will hold: GPUMD's format keeps 8 significant digits.
    let best = crate::model::nep::file::parse(
        &crate::model::nep::file::to_string(&best),
        &out_dir.join("nep.txt"),
    )?;
    let train = summarize(&best, &train_data);
    let validation = (!validation_data.is_empty()).then(|| summarize(&best, &validation_data));
    Ok(Outcome {
        model: best,
        best_epoch: state.best_epoch,
        epochs: state.epoch,
        steps: state.step,
        stopped,
        train,
        validation,
        log: state.log,
        output_dir: out_dir,
        train_data,
        validation_data,
        kalman,
    })
}

/// A fresh Kalman filter over the model's layer blocks, after checking its
/// covariance fits the memory budget.
fn new_kalman(
    config: &TrainConfig,
    model: &Nep,
    n_train: usize,
    options: &RunOptions,
) -> Result<Kalman> {
    let opt = &config.optimizer;
    let n = model.params().len();
    let blocks = Kalman::blocks_from_groups(&model.param_groups(), n, opt.block_size);
    let bytes = Kalman::memory_bytes(&blocks);
    let gib = |b: f64| b / (1u64 << 30) as f64;
    let budget = opt
        .memory_budget
        .map(|g| g * (1u64 << 30) as f64)
        .or_else(|| total_memory().map(|m| 0.5 * m));
    if let Some(budget) = budget
        && bytes as f64 > budget
    {
        return Err(Error::Invalid(format!(
            "the Kalman covariance of {n} parameters in blocks of up to {} needs {:.2} GiB, above the memory budget of {:.2} GiB \
             (optimizer.memory_budget; default half the machine's RAM): lower optimizer.block_size — memory grows with its square",
            opt.block_size,
            gib(bytes as f64),
            gib(budget)
        )));
    }
    if !options.quiet {
        let sizes: Vec<String> = blocks.iter().map(|b| b.len().to_string()).collect();
        eprintln!(
            "{}: {n} parameters in {} covariance block(s) [{}], {:.1} MiB",
            if opt.kind == OptimizerKind::Rlekf {
                "RLEKF"
            } else {
                "FEKF"
            },
            blocks.len(),
            sizes.join(", "),
            bytes as f64 / (1u64 << 20) as f64
        );
    }
    let settings = opt.kalman_settings(n_train);
    // On resume the checkpoint brings the covariance: do not build a second.
    Ok(if options.resume {
        Kalman::unallocated(settings, blocks)
    } else {
        Kalman::new(settings, blocks)
    })
}

/// The machine's RAM in bytes (Linux `/proc/meminfo`), if known.
fn total_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// Random force masks for a batch when training on a fraction of forces.
fn force_masks(batch: &[&Prepared], fraction: f64, rng: &mut ChaCha8Rng) -> Option<Vec<Vec<bool>>> {
    (fraction < 1.0).then(|| {
        batch
            .iter()
            .map(|s| {
                (0..s.structure.n_atoms())
                    .map(|_| rng.random::<f64>() < fraction)
                    .collect()
            })
            .collect()
    })
}

fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} steps, eta {eta} | {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

fn progress_message(r: &LogRow) -> String {
    let f = |x: f64| {
        if x.is_finite() {
            format!("{x:.2}")
        } else {
            "-".into()
        }
    };
    let mut s = format!(
        "epoch {} loss {:.4} train E {} F {} V {}",
        r.epoch,
        r.loss,
        f(r.train_rmse[0]),
        f(r.train_rmse[1]),
        f(r.train_rmse[2])
    );
    if let Some(v) = r.val_rmse {
        s.push_str(&format!(" | val E {} F {} V {}", f(v[0]), f(v[1]), f(v[2])));
    }
    s
}
