//! The training loop: epochs of shuffled minibatches, one optimizer step
//! per batch, validation, best-model selection, checkpoints, divergence
//! recovery, progress and logs. Deterministic: the same configuration and
//! seed give the same model bit for bit, for any thread count (the time
//! limit aside, which stops at a wall-clock moment).

use super::checkpoint::Checkpoint;
use super::config::TrainConfig;
use super::lcurve::Lcurve;
use super::log::LogRow;
use super::optimizer::{OptimizerState, Recovery, Stepper, Timing, new_optimizer};
use super::prepare::{self, RunData};
use super::progress::{progress_bar, progress_message};
use super::shard::{Evaluated, Shard};
use super::state::State;
use super::step::{self, Batch};
use super::warm::WarmStart;
use crate::batch;
use crate::dist::World;
use crate::error::{Error, Result};
use crate::loss::{self, LossConfig, LossKind, LossParts};
use crate::metrics::{ErrorStats, Summary};
use crate::model::{AnyModel, Model};
use crate::optim::schedule::{Budget, Schedule};
use crate::optim::{Kalman, Placement, Precision};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
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
    /// The ranks the run is spread over (one process by default). Rank 0
    /// alone prints and writes files.
    pub world: World,
    /// Start from the best model and optimizer state of the run in this
    /// directory (warm retraining on new data; see [`super::warm`]).
    pub continue_from: Option<PathBuf>,
}

/// What a finished run produced.
pub struct Outcome {
    /// The best model (by validation loss, or training loss without
    /// validation), as its model file holds it.
    pub model: AnyModel,
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
    /// The training structures with the best model's predictions (on rank
    /// 0; empty on the others), for the output files.
    pub train_set: Evaluated,
    /// The validation structures with the best model's predictions.
    pub validation_set: Evaluated,
    /// Where the time of the Kalman-filter steps went (FEKF/RLEKF only).
    pub kalman: Option<KalmanReport>,
    /// What crossed between ranks (runs on several ranks only).
    pub communication: Option<Communication>,
}

/// The traffic of a run on several ranks.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Communication {
    /// Ranks.
    pub ranks: usize,
    /// Payload bytes each rank contributed to collectives per optimizer
    /// step, this session (reductions, clock, validation, agreement).
    pub bytes_per_step: f64,
    /// Collectives per optimizer step.
    pub collectives_per_step: f64,
}

/// Cost figures of a Kalman-filter run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KalmanReport {
    /// Time split of this session's steps.
    pub timing: Timing,
    /// Covariance blocks (parameters in each).
    pub blocks: Vec<usize>,
    /// Covariance memory (with scratch) of rank 0's blocks, bytes.
    pub covariance_bytes: usize,
    /// How the covariance is stored.
    pub precision: Precision,
    /// Bytes rank 0 sends to the others per update for its blocks
    /// (scalars and parameters; 0 on one rank).
    pub exchange_bytes_per_update: usize,
    /// Kalman updates applied and skipped (non-finite measurements), whole run.
    pub updates: u64,
    /// Skipped measurements.
    pub skipped: u64,
    /// Final memory factor λ.
    pub lambda: f64,
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

/// Errors of the predictions of an evaluated set.
fn summary(set: &Evaluated) -> Summary {
    let mut stats = ErrorStats::new();
    for (s, p) in set.structures.iter().zip(&set.predictions) {
        stats.add(s, p);
    }
    stats.summary()
}

/// Validate every this many epochs when the configuration does not say:
/// validation (a prediction; an epoch costs about 2.5) should cost about a
/// tenth of the training, so that a time budget goes to training.
fn auto_validate_every(train: &Shard, validation: &Shard) -> usize {
    let ratio =
        validation.total_atoms() as f64 / (0.1 * 2.5 * (train.total_atoms() as f64).max(1.0));
    (ratio.ceil() as usize).max(1)
}

/// Runs the training that `config` describes. `config_text` is the TOML it
/// came from (stored in checkpoints).
pub fn run(config: &TrainConfig, config_text: &str, options: &RunOptions) -> Result<Outcome> {
    let options = &for_rank(options);
    let warm = continued(options, &options.continue_from)?;
    let (data, model) = prepare::start(config, &options.world, warm.as_ref(), options.quiet)?;
    let member = Member {
        config,
        config_text,
        warm: warm.as_ref(),
        sample: None,
    };
    run_member(&member, options, &data, model)
}

/// The options as this rank takes them: rank 0 alone tells the user anything.
pub(super) fn for_rank(options: &RunOptions) -> RunOptions {
    RunOptions {
        quiet: options.quiet || !options.world.is_root(),
        ..options.clone()
    }
}

/// The earlier run in `dir` (`--continue-from`), read on every rank.
pub(super) fn continued(options: &RunOptions, dir: &Option<PathBuf>) -> Result<Option<WarmStart>> {
    let placement = Placement::of(options.world.comm());
    let warm = dir
        .as_deref()
        .map(|d| WarmStart::load(d, placement))
        .transpose();
    options.world.agree(warm)
}

/// One model's run: its configuration (a committee member's has its own
/// seed and output directory), where it starts, and what it trains on.
pub(super) struct Member<'a> {
    pub config: &'a TrainConfig,
    pub config_text: &'a str,
    pub warm: Option<&'a WarmStart>,
    /// A bootstrap member's structures (indices into the training set,
    /// with repeats); `None`: all of them.
    pub sample: Option<Vec<usize>>,
}

/// Trains `model` on `data` as `member` says; the outcome with the best
/// model evaluated on both sets.
pub(super) fn run_member(
    member: &Member,
    options: &RunOptions,
    data: &RunData,
    model: AnyModel,
) -> Result<Outcome> {
    let config = member.config;
    let out_dir = config.run.output_dir.clone();
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    let world = &options.world;
    let (train, validation) = (&data.train, &data.validation);
    // Training calls the model on these structures again and again: let it
    // keep what it can reuse (training set first, within the cache budget).
    for shard in [train, validation] {
        shard
            .local()
            .par_iter()
            .for_each(|s| model.cache_structure(s));
    }
    let placement = Placement::of(world.comm());
    let optimizer = new_optimizer(
        config,
        &model,
        train.len(),
        placement,
        options.resume,
        options.quiet,
    )?;
    let mut state = State::new(model, optimizer, config.run.seed);
    if options.resume {
        let path = checkpoint_path(config);
        let resumed = resume(
            &mut state,
            member.config_text,
            &path,
            placement,
            options.quiet,
        );
        world.agree(resumed)?;
    } else if let Some(w) = member.warm {
        state.optimizer = warm_optimizer(w, &state, options.quiet);
        state.rng = w.rng.clone();
    }
    let mut driver = Driver::new(member, options, [train, validation], &state.model);
    let (before, steps_before) = (world.comm().traffic(), state.step);
    let stopped = driver.train(&mut state)?;
    let communication = (world.size() > 1).then(|| {
        let after = world.comm().traffic();
        let steps = (state.step - steps_before).max(1) as f64;
        Communication {
            ranks: world.size(),
            bytes_per_step: (after.bytes - before.bytes) as f64 / steps,
            collectives_per_step: (after.calls - before.calls) as f64 / steps,
        }
    });
    let kalman = state.kalman().map(|k| KalmanReport {
        timing: driver.stepper.fekf.timing.clone(),
        blocks: k.blocks().iter().map(|b| b.len()).collect(),
        covariance_bytes: Kalman::memory_bytes_on(k.blocks(), k.precision(), k.placement()),
        precision: k.precision(),
        exchange_bytes_per_update: k.bytes_per_update(),
        updates: k.updates,
        skipped: k.skipped,
        lambda: k.lambda,
    });
    let mut best = state.model.clone();
    best.params_mut().copy_from_slice(&state.best_params);
    // Report what the model file will hold (nep.txt keeps 8 significant digits).
    let best = best.as_written()?;
    drop(driver);
    let evaluate = |shard: &Shard| shard.gather(batch::predict_all(&best, shard.local()));
    let (train_set, validation_set) = (evaluate(train), evaluate(validation));
    let train_summary = summary(&train_set);
    let validation_summary = (!validation.is_empty()).then(|| summary(&validation_set));
    Ok(Outcome {
        model: best,
        best_epoch: state.best_epoch,
        epochs: state.epoch,
        steps: state.step,
        stopped,
        train: train_summary,
        validation: validation_summary,
        log: state.log,
        output_dir: out_dir,
        train_set,
        validation_set,
        kalman,
        communication,
    })
}

/// The earlier run's optimizer state when it fits this run's optimizer (a
/// different optimizer, or shape, starts afresh, with a note).
fn warm_optimizer(w: &WarmStart, state: &State, quiet: bool) -> OptimizerState {
    let n = state.model.params().len();
    match w.optimizer.check(&state.optimizer, n) {
        Ok(()) => {
            let mut optimizer = w.optimizer.clone();
            if let (Some(note), false) = (optimizer.adopt_storage(&state.optimizer), quiet) {
                eprintln!("note: {}: {note}", w.dir.display());
            }
            optimizer
        }
        Err(why) => {
            if !quiet {
                eprintln!(
                    "note: {}: the optimizer starts afresh ({why})",
                    w.dir.display()
                );
            }
            state.optimizer.clone()
        }
    }
}

/// Where a run keeps its checkpoint.
fn checkpoint_path(config: &TrainConfig) -> PathBuf {
    config.run.output_dir.join("checkpoint.json")
}

/// Continues `state` from the checkpoint at `path`, refusing one written
/// with settings that may not change.
fn resume(
    state: &mut State,
    config_text: &str,
    path: &std::path::Path,
    placement: Placement,
    quiet: bool,
) -> Result<()> {
    let mut c = Checkpoint::load_on(path, placement)?;
    super::checkpoint::resume::check_same_settings(&c.config, config_text, path)?;
    let note = c.optimizer.adopt_storage(&state.optimizer);
    state.restore(c, path)?;
    if let (Some(note), false) = (note, quiet) {
        eprintln!("note: {}: {note}", path.display());
    }
    if !quiet {
        eprintln!(
            "resuming from {} at epoch {}, step {}",
            path.display(),
            state.epoch,
            state.step
        );
    }
    Ok(())
}

/// How an epoch ended.
enum EpochEnd {
    /// Every batch done (or the budget spent).
    Done,
    /// Stopped from outside (Ctrl-C), with the reason.
    Stopped(String),
}

/// What the loop needs besides the state: settings derived from the
/// configuration, the data, the step machinery and the progress display.
struct Driver<'a> {
    config: &'a TrainConfig,
    config_text: &'a str,
    options: &'a RunOptions,
    world: &'a World,
    train: &'a Shard,
    validation: &'a Shard,
    checkpoint_path: PathBuf,
    /// The training structures of an epoch (shuffled in place each epoch):
    /// the whole set, or a bootstrap member's sample.
    order: Vec<usize>,
    stepper: Stepper,
    schedule: Schedule,
    /// Planned steps and/or seconds: the run ends at the first, and the
    /// schedule anneals to it.
    budget: Budget,
    batch_size: usize,
    validate_every: usize,
    presence: [[bool; 3]; 2],
    weights: LossConfig,
    selection_weights: LossConfig,
    start: Instant,
    /// Seconds of the run at the last [`Driver::tick`], and whether a stop
    /// was asked for then: the same on every rank.
    now: f64,
    stop_asked: bool,
    bar: indicatif::ProgressBar,
    plain_lines: bool,
    last_line: f64,
    /// Mean loss of the last epoch: a step far above it has diverged.
    reference_loss: f64,
    /// The learning-curve file, when asked for.
    lcurve: Option<Lcurve<'a>>,
}

impl<'a> Driver<'a> {
    fn new(
        member: &Member<'a>,
        options: &'a RunOptions,
        [train, validation]: [&'a Shard; 2],
        model: &AnyModel,
    ) -> Self {
        let (config, quiet) = (member.config, options.quiet);
        let opt = &config.optimizer_as_run();
        let batch_size = opt.batch_size().min(train.len()).max(1);
        let steps_per_epoch = train.len().div_ceil(batch_size);
        let budget = match member.warm {
            Some(w) => w.budget(config, steps_per_epoch, train.len()),
            None => config.run.budget(steps_per_epoch),
        };
        let weights = config.loss.weights(opt.lr);
        Driver {
            config,
            config_text: member.config_text,
            order: member
                .sample
                .clone()
                .unwrap_or_else(|| (0..train.len()).collect()),
            options,
            world: &options.world,
            train,
            validation,
            checkpoint_path: checkpoint_path(config),
            stepper: Stepper::new(model, weights.clone(), config.fekf_settings()),
            schedule: Schedule {
                lr: opt.lr,
                lr_min: opt.lr_min,
                warmup_steps: opt.warmup_steps,
                warmup_from: opt.warmup_from,
                decay: opt.decay,
                total_steps: budget.total_steps(),
                decay_steps: opt.decay_steps,
                restarts: opt.restarts,
            },
            budget,
            batch_size,
            validate_every: config
                .run
                .validate_every_or(|| auto_validate_every(train, validation)),
            presence: [train.presence(), validation.presence()],
            selection_weights: LossConfig {
                kind: LossKind::Rmse,
                lambda_1: 0.0,
                lambda_2: 0.0,
                ..weights.final_weights()
            },
            lcurve: Lcurve::new(config, &weights, [train, validation]),
            weights,
            start: Instant::now(),
            now: 0.0,
            stop_asked: false,
            bar: if quiet {
                indicatif::ProgressBar::hidden()
            } else {
                progress_bar(budget.total_steps(), budget.seconds)
            },
            plain_lines: !quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr()),
            last_line: f64::NEG_INFINITY,
            reference_loss: f64::INFINITY,
        }
    }

    /// Reads the clock and the stop flag. Every decision that depends on
    /// them (time limit, time-shaped learning rate, Ctrl-C) must be the
    /// same on every rank, so each rank takes the maximum over ranks.
    fn tick(&mut self, state: &State) {
        let local = vec![
            state.elapsed_before + self.start.elapsed().as_secs_f64(),
            if self.options.stop.load(Ordering::Relaxed) {
                1.0
            } else {
                0.0
            },
        ];
        let agreed = self.world.max(local);
        self.now = agreed[0];
        self.stop_asked = agreed[1] > 0.0;
    }

    /// Saves the checkpoint (rank 0 writes, every rank sends its Kalman
    /// blocks), every rank learning whether it worked.
    fn save(&self, state: &State) -> Result<()> {
        let comm = self.world.comm();
        let written = state.save(self.config_text, self.now, &self.checkpoint_path, comm);
        self.world.agree(written)
    }

    /// Runs a write of rank 0's, every rank learning whether it worked.
    fn on_root(&self, write: impl FnOnce() -> Result<()>) -> Result<()> {
        let written = if self.world.is_root() {
            write()
        } else {
            Ok(())
        };
        self.world.agree(written)
    }

    /// Whether the run's planned length (steps or seconds) is spent.
    fn budget_spent(&self, state: &State) -> bool {
        self.budget.spent(state.step, self.now)
    }

    /// The scheduled learning rate of the next step.
    fn lr(&self, state: &State) -> f64 {
        let by_clock = self.schedule.by_clock(self.budget.time_done(self.now));
        self.schedule.at(state.step, by_clock) * state.lr_scale
    }

    /// Moves the progress bar: seconds of a time budget (the steps done
    /// counted as their share of it when they are further along), or steps.
    fn show_progress(&self, state: &State) {
        self.bar.set_position(match self.budget.seconds {
            Some(t) => {
                let steps_done = state.step as f64 / self.budget.total_steps() as f64;
                (self.now.max(steps_done * t)) as u64
            }
            None => state.step as u64,
        });
    }

    /// Epochs until the budget is spent or the run is stopped; the reason
    /// for an early stop.
    fn train(&mut self, state: &mut State) -> Result<Option<String>> {
        self.tick(state);
        self.show_progress(state);
        if let Some(lc) = &self.lcurve {
            self.on_root(|| lc.start(&state.lcurve))?;
        }
        let mut order = std::mem::take(&mut self.order);
        let mut stopped = None;
        while !self.budget_spent(state) {
            order.sort_unstable();
            order.shuffle(&mut state.rng);
            let (end, sums) = self.epoch(state, &order)?;
            if let EpochEnd::Stopped(why) = end {
                stopped = Some(why);
            }
            let Some(mean) = sums.mean() else { break };
            if self.end_epoch(state, mean, stopped.is_some())? {
                break;
            }
        }
        self.bar.finish_and_clear();
        if state.log.last().is_none_or(|r| r.step != state.step) || stopped.is_some() {
            self.save(state)?;
        }
        Ok(stopped)
    }

    /// The batches of one epoch in `order`.
    fn epoch(&mut self, state: &mut State, order: &[usize]) -> Result<(EpochEnd, EpochSums)> {
        let mut sums = EpochSums::default();
        // The state at the start of the epoch: what a diverged step restores.
        let snapshot = (state.model.params().to_vec(), state.optimizer.light_copy());
        for (k, chunk) in order.chunks(self.batch_size).enumerate() {
            self.tick(state);
            // An epoch starts only when the last row's clock left budget, so
            // its first step is taken whatever the clock says now: the run's
            // last row is then always written at or after its end.
            if k > 0 && self.budget_spent(state) {
                break;
            }
            if self.stop_asked {
                return Ok((EpochEnd::Stopped("interrupted".into()), sums));
            }
            let batch = self.train.batch(chunk);
            let masks = force_masks(&batch, self.config.loss.force_fraction, &mut state.rng);
            let used = |k: usize, i: usize| masks.as_ref().is_none_or(|m| m[k][i]);
            let lr = if state.optimizer.has_learning_rate() {
                self.lr(state)
            } else {
                f64::NAN
            };
            let report = self.stepper.step(
                &mut state.optimizer,
                &mut state.model,
                &batch,
                used,
                lr,
                self.reference_loss,
                &mut state.rng,
            );
            if report.skipped > 0 {
                self.warn(&format!(
                    "step {}: skipped {} Kalman update(s) with a non-finite measurement",
                    state.step, report.skipped
                ));
            }
            if let Some(why) = &report.diverged {
                self.recover(state, &snapshot, why, report.lr)?;
                continue;
            }
            sums.add(&report.parts, report.total, report.lr);
            state.step += 1;
            self.show_progress(state);
            if let Some(lc) = self.lcurve.as_ref().filter(|lc| lc.due(state.step)) {
                let row = lc.row(state, &report);
                self.on_root(|| lc.append(&row))?;
                state.lcurve.push(row);
            }
        }
        Ok((EpochEnd::Done, sums))
    }

    /// Restores the last good state after a diverged step, or gives up
    /// after 20 recoveries.
    fn recover(
        &mut self,
        state: &mut State,
        snapshot: &(Vec<f64>, OptimizerState),
        why: &str,
        lr: f64,
    ) -> Result<()> {
        state.recoveries += 1;
        if state.recoveries > 20 {
            return Err(Error::Invalid(format!(
                "training diverged {} times; {}",
                state.recoveries,
                state.optimizer.divergence_advice(lr)
            )));
        }
        state.model.params_mut().copy_from_slice(&snapshot.0);
        let action = match state.optimizer.recover(&snapshot.1) {
            Recovery::RestartFilter => "restarted the Kalman filter".to_string(),
            Recovery::HalveLearningRate => {
                state.lr_scale *= 0.5;
                format!("halved the learning rate to {:.3e}", self.lr(state))
            }
        };
        self.warn(&format!(
            "step {}: {why}: restored the last good state and {action}",
            state.step
        ));
        Ok(())
    }

    /// A warning, printed once (by rank 0) above the progress bar.
    fn warn(&self, message: &str) {
        if self.world.is_root() {
            self.bar.suspend(|| eprintln!("warning: {message}"));
        }
    }

    /// Logs the epoch, validates, keeps the best model, checkpoints;
    /// whether the run is finished (stopped, or its budget spent at the
    /// row's time, so the last row is validated and checkpointed).
    fn end_epoch(&mut self, state: &mut State, mean: EpochMean, stopped: bool) -> Result<bool> {
        self.reference_loss = mean.parts.total;
        self.tick(state);
        let finished = stopped || self.budget_spent(state);
        if !stopped {
            state.epoch += 1;
        }
        let mut row = LogRow {
            epoch: state.epoch,
            step: state.step,
            time_s: self.now,
            lr: mean.lr,
            loss: mean.parts.total,
            train_rmse: rmse_mev(&mean.parts, self.presence[0]),
            val_rmse: None,
            val_loss: None,
            regularization: loss::regularization_terms(&self.weights, state.model.params()),
        };
        let selection = if self.validation.is_empty() {
            Some(mean.parts.total)
        } else if state.epoch.is_multiple_of(self.validate_every) || finished {
            let all = self.validation.all();
            let parts = step::loss(&state.model, &all, &self.selection_weights, |_, _| true);
            row.val_rmse = Some(rmse_mev(&parts, self.presence[1]));
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
        self.bar.set_message(message.clone());
        // Without a terminal (logs, nohup), a line every few seconds.
        if self.plain_lines && (row.time_s - self.last_line >= 5.0 || finished) {
            self.last_line = row.time_s;
            eprintln!("{message}");
        }
        state.log.push(row);
        if state.epoch.is_multiple_of(self.config.run.checkpoint_every) || finished {
            self.save(state)?;
        }
        Ok(finished)
    }
}

/// Sums over the steps of an epoch.
#[derive(Default)]
struct EpochSums {
    energy: f64,
    force: f64,
    virial: f64,
    total: f64,
    lr: f64,
    steps: usize,
}

/// Means over the steps of an epoch.
struct EpochMean {
    parts: LossParts,
    /// Learning rate of the last step.
    lr: f64,
}

impl EpochSums {
    fn add(&mut self, parts: &LossParts, total: f64, lr: f64) {
        self.energy += parts.energy_mse;
        self.force += parts.force_mse;
        self.virial += parts.virial_mse;
        self.total += total;
        self.lr = lr;
        self.steps += 1;
    }

    fn mean(&self) -> Option<EpochMean> {
        (self.steps > 0).then(|| {
            let k = self.steps as f64;
            EpochMean {
                parts: LossParts {
                    energy_mse: self.energy / k,
                    force_mse: self.force / k,
                    virial_mse: self.virial / k,
                    total: self.total / k,
                    // a step's slopes, not an epoch's
                    slopes: [0.0; 3],
                },
                lr: self.lr,
            }
        })
    }
}

/// Random force masks for this rank's structures of a batch when training
/// on a fraction of forces. The draws are made for every structure of the
/// whole batch, so that every rank's random stream stays the same.
fn force_masks(batch: &Batch, fraction: f64, rng: &mut ChaCha8Rng) -> Option<Vec<Vec<bool>>> {
    (fraction < 1.0).then(|| {
        let all: Vec<Vec<bool>> = batch
            .atoms
            .iter()
            .map(|&n| (0..n).map(|_| rng.random::<f64>() < fraction).collect())
            .collect();
        batch.positions.iter().map(|&p| all[p].clone()).collect()
    })
}
