//! The commands that train: `forcefit train` and the peers' drop-ins
//! (`nep`, `gnep`, `dp`, `aenet`).

use super::set_threads;
use anyhow::{Context, Result};
use clap::Args;
use forcefit::dist::World;
use forcefit::dropin::{self, Overrides};
use forcefit::train::committee;
use forcefit::train::config::{OptimizerKind, TrainConfig};
use forcefit::train::run::{Outcome, RunOptions};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Args)]
pub struct NepArgs {
    /// The directory holding nep.in, train.xyz and (optionally) test.xyz.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

#[derive(Args)]
pub struct GnepArgs {
    /// The directory holding gnep.in, train.xyz and (optionally) test.xyz.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

#[derive(Args)]
pub struct DpArgs {
    /// deepmd-kit's input.json (or .yaml); data paths in it are relative
    /// to the working directory, as for `dp train`.
    input: PathBuf,
    /// forcefit's optimizer instead of the input's (Adam by default;
    /// deepmd-kit's LKF is forcefit's Kalman filter).
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerKind>,
    /// Structures per step (default: the input's batch_size for Adam, 32
    /// for FEKF, 1 for RLEKF).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Stop after this many seconds and write the best model.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Where the outputs go.
    #[arg(long, short, default_value = ".")]
    output_dir: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

#[derive(Args)]
pub struct AenetArgs {
    /// The directory holding generate.in and train.in; the outputs go
    /// here too unless -o says otherwise.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// generate.x's input, if not DIR/generate.in (its SETUPS and FILES
    /// paths are relative to its directory).
    #[arg(long, value_name = "FILE")]
    generate: Option<PathBuf>,
    /// aenet-PyTorch's train.in, if not DIR/train.in.
    #[arg(long, value_name = "FILE")]
    train: Option<PathBuf>,
    /// forcefit's optimizer instead of METHOD's (needed for train.x's
    /// methods: bfgs, lm, ekf, online_sd).
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerKind>,
    /// Structures per step (default: BATCHSIZE for Adam, 32 for FEKF, 1
    /// for RLEKF).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Epochs instead of ITERATIONS.
    #[arg(long)]
    epochs: Option<usize>,
    /// Stop after this many seconds and write the best model.
    #[arg(long)]
    time_limit: Option<f64>,
    /// `forcefit`: Adam/AdamW as METHOD says with its weight decay, on
    /// forcefit's schedule (cosine from 2e-3, 16 structures per step);
    /// `aenet-pytorch`: METHOD's constant learning rate and BATCHSIZE as
    /// written.
    #[arg(long, default_value = "forcefit", value_parser = ["forcefit", "aenet-pytorch"])]
    recipe: String,
    /// Where the outputs go (default: DIR).
    #[arg(long, short)]
    output_dir: Option<PathBuf>,
    #[command(flatten)]
    run: RunFlags,
}

/// Options of the commands that train.
#[derive(Args)]
pub struct RunFlags {
    /// Continue from the checkpoint in the output directory.
    #[arg(long)]
    resume: bool,
    /// Worker threads (default: all cores; overrides train.threads).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// No progress bar or per-validation lines.
    #[arg(long, short)]
    quiet: bool,
    /// Train a committee of K models (seeds seed … seed+K−1) into
    /// member-0/ … member-(K−1)/, for model deviation (overrides
    /// train.committee).
    #[arg(long, value_name = "K")]
    committee: Option<usize>,
    /// Warm retraining: start from the best model and optimizer state of
    /// the run in RUN_DIR (a committee's: each member from its own),
    /// keeping its normalisation, on a short schedule sized to the
    /// structures added since (see docs/active-learning.md).
    #[arg(long, value_name = "RUN_DIR")]
    continue_from: Option<PathBuf>,
}

impl RunFlags {
    fn options(&self, world: &World) -> Result<RunOptions> {
        Ok(RunOptions {
            resume: self.resume,
            stop: stop_on_ctrl_c()?,
            quiet: self.quiet,
            world: world.clone(),
            continue_from: self.continue_from.clone(),
        })
    }

    /// Applies the flags that change the configuration (`--committee`).
    fn configure(&self, config: &mut TrainConfig) -> Result<()> {
        if let Some(k) = self.committee {
            config.run.committee = k;
            config
                .validate()
                .map_err(|m| anyhow::anyhow!("--committee: {m}"))?;
        }
        Ok(())
    }
}

#[derive(Args)]
pub struct TrainArgs {
    /// The configuration file.
    config: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

pub fn train(args: TrainArgs, world: &World) -> Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let mut config = TrainConfig::from_file(&args.config)?;
    args.run.configure(&mut config)?;
    set_threads(args.run.threads.or(config.run.threads))?;
    let options = args.run.options(world)?;
    let outcomes = committee::run(&config, &text, &options, &mut |_| Ok(()))?;
    report_root(Some(&outcomes), world);
    Ok(())
}

/// A flag that the first Ctrl-C sets (the run stops after the current
/// step and writes everything); a second one exits at once.
fn stop_on_ctrl_c() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C: give up at once.
            std::process::exit(130);
        }
        eprintln!("\nstopping after this step (Ctrl-C again to abort)...");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(stop)
}

/// The written model files of a run, for messages.
fn model_paths(outcome: &Outcome) -> String {
    let names: Vec<String> = match outcome.model.files() {
        Ok(files) => files
            .iter()
            .map(|f| outcome.output_dir.join(&f.path).display().to_string())
            .collect(),
        Err(_) => vec![outcome.output_dir.display().to_string()],
    };
    names.join(", ")
}

/// Prints how a training run ended and the errors of its best model.
fn report(outcome: &Outcome) {
    if let Some(why) = &outcome.stopped {
        eprintln!("stopped early: {why}");
    }
    println!(
        "trained {} epochs ({} steps); best model from epoch {} written to {}",
        outcome.epochs,
        outcome.steps,
        outcome.best_epoch,
        model_paths(outcome)
    );
    println!("\ntraining set:\n{}", outcome.train.to_table());
    if let Some(v) = &outcome.validation {
        println!("test set:\n{}", v.to_table());
    }
    if let Some(k) = &outcome.kalman {
        let [p, v, kf] = k.timing.per_step_ms();
        println!(
            "Kalman filter: {} updates ({} skipped), λ = {:.5}; per step {:.1} ms prediction, {:.1} ms vjp, {:.1} ms Kalman update",
            k.updates, k.skipped, k.lambda, p, v, kf
        );
    }
    if let Some(c) = &outcome.communication {
        println!(
            "MPI: {} ranks, {:.0} bytes in {:.1} collectives per step sent by each rank",
            c.ranks, c.bytes_per_step, c.collectives_per_step
        );
    }
}

pub fn nep(args: NepArgs, world: &World) -> Result<()> {
    let mut input = dropin::gpumd::nep_in::read(&args.dir)?;
    args.run.configure(&mut input.translation.config)?;
    set_threads(args.run.threads)?;
    let outcome = dropin::gpumd::nep(&args.dir, &input, &args.run.options(world)?)?;
    report_root(outcome.as_ref(), world);
    Ok(())
}

pub fn gnep(args: GnepArgs, world: &World) -> Result<()> {
    let mut input = dropin::gpumd::gnep_in::read(&args.dir)?;
    args.run.configure(&mut input.translation.config)?;
    set_threads(args.run.threads)?;
    let outcome = dropin::gpumd::gnep(&args.dir, &input, &args.run.options(world)?)?;
    report_root(outcome.as_ref(), world);
    Ok(())
}

pub fn dp(args: DpArgs, world: &World) -> Result<()> {
    let overrides = Overrides {
        optimizer: args.optimizer,
        batch_size: args.batch_size,
        time_limit: args.time_limit,
        output_dir: args.output_dir.clone(),
        ..Overrides::default()
    };
    let mut input = dropin::deepmd_kit::read(&args.input, &overrides)?;
    args.run.configure(&mut input.config)?;
    set_threads(args.run.threads)?;
    let outcomes = input.train(&args.run.options(world)?, &mut |_| Ok(()))?;
    report_root(Some(&outcomes), world);
    Ok(())
}

pub fn aenet(args: AenetArgs, world: &World) -> Result<()> {
    let generate = args
        .generate
        .unwrap_or_else(|| args.dir.join("generate.in"));
    let train = args.train.unwrap_or_else(|| args.dir.join("train.in"));
    let overrides = Overrides {
        optimizer: args.optimizer,
        batch_size: args.batch_size,
        epochs: args.epochs,
        time_limit: args.time_limit,
        output_dir: args.output_dir.unwrap_or_else(|| args.dir.clone()),
        as_written: args.recipe == "aenet-pytorch",
    };
    let mut input = dropin::aenet::read(&generate, &train, &overrides)?;
    args.run.configure(&mut input.translation.config)?;
    set_threads(args.run.threads)?;
    let outcomes = dropin::aenet::train(&input, &args.run.options(world)?)?;
    report_root(Some(&outcomes), world);
    Ok(())
}

/// Prints how each model's run ended (rank 0; a drop-in's prediction mode
/// has no run).
fn report_root(outcomes: Option<&Vec<Outcome>>, world: &World) {
    let Some(outcomes) = outcomes.filter(|_| world.is_root()) else {
        return;
    };
    for (k, o) in outcomes.iter().enumerate() {
        if outcomes.len() > 1 {
            println!("\ncommittee member {k}:");
        }
        report(o);
    }
}
