//! The `forcefit` command line: parses and validates arguments, then calls
//! the library. Errors are printed with their file and line and exit with 2.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use forcefit::dist::World;
use forcefit::dropin::{self, Overrides};
use forcefit::io::{self, Format};
use forcefit::metrics::{ErrorStats, write_gpumd_outputs};
use forcefit::model::AnyModel;
use forcefit::model::{self, Prediction, Prepared};
use forcefit::train::config::{OptimizerKind, TrainConfig};
use forcefit::train::run::{Outcome, RunOptions};
use forcefit::{batch, structure::Structure};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Train and evaluate machine-learning interatomic potentials (NEP, DeePMD se_e2_a, aenet's Behler–Parrinello) on DFT data.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Predict energies, forces and virials; write them as extended XYZ.
    Predict(PredictArgs),
    /// Compare a model's predictions with the labels in the input files.
    Eval(EvalArgs),
    /// Train a NEP model as a TOML configuration describes (see docs/training.md).
    Train(TrainArgs),
    /// GPUMD drop-in: train (or, with `prediction 1`, evaluate) as DIR/nep.in
    /// says, reading DIR/train.xyz and DIR/test.xyz and writing GPUMD's
    /// outputs to DIR (see docs/nep-command.md).
    Nep(NepArgs),
    /// GPUMD GNEP drop-in: train (or, with `prediction 1`, evaluate) as
    /// DIR/gnep.in says: GNEP's gradient-trained NEP (Adam/AdamW, its
    /// learning-rate range and restarts, its MSE loss), reading
    /// DIR/train.xyz and DIR/test.xyz and writing nep.txt, loss.out and
    /// the *_train.out/*_test.out files to DIR (see docs/gnep-command.md).
    Gnep(GnepArgs),
    /// deepmd-kit drop-in: train the se_e2_a model that `dp train INPUT`
    /// would (model, loss prefactors, learning rate, data), writing
    /// model.yaml and lcurve.out (see docs/dp-command.md).
    Dp(DpArgs),
    /// aenet drop-in: train the Behler–Parrinello model that aenet-PyTorch
    /// would from DIR/generate.in (with its .stp setups) and DIR/train.in,
    /// writing the networks under their NETWORKS names and, as asked,
    /// energies.train/test and forces.train/test (see docs/aenet-command.md).
    Aenet(AenetArgs),
    /// Check the directional-derivative force gradient (Smith et al.)
    /// against the exact one over ε, for a model and a random model with its
    /// hyperparameters; writes gradcheck.csv and gradcheck.png.
    Gradcheck(GradcheckArgs),
}

#[derive(Args)]
struct GradcheckArgs {
    /// The model file (nep.txt, deepmd-kit's model.yaml, or aenet's .nn
    /// files: repeat --model for each element), recognised by content.
    #[arg(long, short, required = true)]
    model: Vec<PathBuf>,
    /// Structure file (labels needed: energies and forces).
    data: PathBuf,
    /// Hyperparameters (and data statistics) of the random model, from
    /// this model file (default: --model).
    #[arg(long)]
    random_like: Option<PathBuf>,
    /// Use the first N structures.
    #[arg(long, default_value_t = 5)]
    structures: usize,
    /// Seed of the random model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where gradcheck.csv and gradcheck.png go.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Input format, when it cannot be told from the path.
    #[arg(long)]
    format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
}

#[derive(Args)]
struct NepArgs {
    /// The directory holding nep.in, train.xyz and (optionally) test.xyz.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

#[derive(Args)]
struct GnepArgs {
    /// The directory holding gnep.in, train.xyz and (optionally) test.xyz.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

#[derive(Args)]
struct DpArgs {
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
struct AenetArgs {
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
struct RunFlags {
    /// Continue from the checkpoint in the output directory.
    #[arg(long)]
    resume: bool,
    /// Worker threads (default: all cores; overrides train.threads).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// No progress bar or per-validation lines.
    #[arg(long, short)]
    quiet: bool,
}

impl RunFlags {
    fn options(&self, world: &World) -> Result<RunOptions> {
        Ok(RunOptions {
            resume: self.resume,
            stop: stop_on_ctrl_c()?,
            quiet: self.quiet,
            world: world.clone(),
        })
    }
}

#[derive(Args)]
struct TrainArgs {
    /// The configuration file.
    config: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

/// Options shared by every command that reads structures.
#[derive(Args)]
struct Common {
    /// The model file, recognised by content: a GPUMD `nep.txt` (nep3,
    /// nep4, with or without ZBL), deepmd-kit's serialized se_e2_a model
    /// (`.yaml`, or the same dict as `.json`), or aenet potentials (binary
    /// `.nn` or `.nn.ascii`): repeat --model for each element's file.
    #[arg(long, short, required = true)]
    model: Vec<PathBuf>,
    /// Structure files: extended XYZ (.xyz, .extxyz), DeePMD npy systems
    /// (directories with type.raw) or aenet XSF (.xsf files or a directory of them).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Input format, when it cannot be told from the path: extxyz, deepmd or xsf.
    #[arg(long)]
    format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
}

#[derive(Args)]
struct PredictArgs {
    #[command(flatten)]
    common: Common,
    /// Output file (extended XYZ with energy, virial, stress, per-atom energies and forces).
    #[arg(long, short)]
    output: PathBuf,
    /// Also write every atom's descriptor to this text file: one row per
    /// atom (structure index, atom index, element, components).
    #[arg(long)]
    descriptors: Option<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    common: Common,
    /// Print exactly one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write GPUMD-layout energy_*.out, force_*.out, virial_*.out and
    /// stress_*.out here, one set per input named after it (train.xyz → *_train.out).
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

/// Exit status of a panic: a bug in forcefit, never a verdict on the input
/// (bad input is an error naming the file, exit 2).
const INTERNAL_ERROR: i32 = 70;

fn main() {
    // A user sees one line asking for a report, not a Rust backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "forcefit: internal error: {info}\n\
             This is a bug in forcefit, not a problem with your input; please report it \
             with the command line and the input files."
        );
        std::process::exit(INTERNAL_ERROR);
    }));
    let cli = Cli::parse();
    // Under mpirun, one rank of a data-parallel run (see docs/cluster.md).
    let world = match World::from_environment() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let result = match cli.command {
        Command::Train(args) => train(args, &world),
        Command::Nep(args) => nep(args, &world),
        Command::Gnep(args) => gnep(args, &world),
        Command::Dp(args) => dp(args, &world),
        Command::Aenet(args) => aenet(args, &world),
        // The other commands are one process's work: rank 0 does it.
        _ if !world.is_root() => Ok(()),
        Command::Predict(args) => predict(args),
        Command::Eval(args) => eval(args),
        Command::Gradcheck(args) => gradcheck(args),
    };
    if let Err(e) = result {
        // Every rank has the same error (the run agrees on failures of one
        // rank's shard); rank 0 prints it.
        if world.is_root() {
            eprintln!("error: {e:#}");
        }
        drop(world);
        std::process::exit(2);
    }
}

/// Sets the thread count, loads the model and reads and prepares every input.
struct Loaded {
    model: AnyModel,
    /// Prepared structures of each input file, in order.
    inputs: Vec<(PathBuf, Vec<Prepared>)>,
}

fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting up the thread pool")?;
    }
    Ok(())
}

fn load(common: &Common) -> Result<Loaded> {
    set_threads(common.threads)?;
    let model = model::load_files(&common.model)?;
    let mut inputs = Vec::new();
    for path in &common.inputs {
        let structures: Vec<Structure> = io::read(path, common.format)?;
        let prepared = batch::prepare_all(&model, structures)?;
        inputs.push((path.clone(), prepared));
    }
    Ok(Loaded { model, inputs })
}

fn predict(args: PredictArgs) -> Result<()> {
    let loaded = load(&args.common)?;
    let mut frames = Vec::new();
    for (_, prepared) in &loaded.inputs {
        let predictions = batch::predict_all(&loaded.model, prepared);
        for (s, p) in prepared.iter().zip(predictions) {
            frames.push(labelled(&s.structure, p));
        }
    }
    io::write_atomic(&args.output, |w| {
        for (s, energies) in &frames {
            io::extxyz::write_frame(w, s, Some(energies))?;
        }
        Ok(())
    })?;
    eprintln!(
        "wrote {} structures to {}",
        frames.len(),
        args.output.display()
    );
    if let Some(path) = &args.descriptors {
        write_descriptors(path, &loaded)?;
        eprintln!("wrote the descriptors to {}", path.display());
    }
    Ok(())
}

/// Every atom's descriptor, one text row per atom.
fn write_descriptors(path: &Path, loaded: &Loaded) -> Result<()> {
    let dim = loaded.model.descriptor_dim();
    io::write_atomic(path, |w| {
        writeln!(
            w,
            "# structure atom element descriptor[0..{dim}] ({} model)",
            loaded.model.family()
        )?;
        let structures = loaded.inputs.iter().flat_map(|(_, p)| p);
        for (k, s) in structures.enumerate() {
            let d = loaded.model.atom_descriptors(s);
            for (i, row) in d.chunks(dim.max(1)).enumerate() {
                write!(w, "{k} {i} {}", s.structure.species[i])?;
                for x in row {
                    write!(w, " {x:e}")?;
                }
                writeln!(w)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let loaded = load(&args.common)?;
    let mut total = ErrorStats::new();
    let mut per_file = Vec::new();
    for (path, prepared) in &loaded.inputs {
        let predictions = batch::predict_all(&loaded.model, prepared);
        let mut stats = ErrorStats::new();
        for (s, p) in prepared.iter().zip(&predictions) {
            stats.add(&s.structure, p);
        }
        if let Some(dir) = &args.out_dir {
            let items: Vec<(&Structure, &Prediction)> = prepared
                .iter()
                .map(|s| &s.structure)
                .zip(&predictions)
                .collect();
            write_gpumd_outputs(dir, &suffix(path), &items)?;
        }
        total.merge(stats.clone());
        per_file.push((path, stats));
    }
    let summary = total.summary();
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        if per_file.len() > 1 {
            for (path, stats) in &per_file {
                println!("{}:\n{}", path.display(), stats.summary().to_table());
            }
            println!("all inputs:");
        }
        println!("{}", summary.to_table());
    }
    Ok(())
}

/// GPUMD-style file suffix for an input: its file stem (train.xyz → train).
fn suffix(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into())
}

/// The structure with its labels replaced by the prediction, and the
/// per-atom energies for the `energies` column.
fn labelled(s: &Structure, p: Prediction) -> (Structure, Vec<f64>) {
    let mut out = s.clone();
    out.labels.energy = Some(p.energy);
    out.labels.forces = Some(p.forces);
    out.labels.virial = Some(p.virial);
    (out, p.atomic_energies)
}

fn train(args: TrainArgs, world: &World) -> Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let config = TrainConfig::from_file(&args.config)?;
    set_threads(args.run.threads.or(config.run.threads))?;
    let options = args.run.options(world)?;
    let outcome = forcefit::train::run::run(&config, &text, &options)?;
    if world.is_root() {
        forcefit::train::outputs::write(&outcome)?;
        report(&outcome);
    }
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

fn nep(args: NepArgs, world: &World) -> Result<()> {
    let input = dropin::gpumd::nep_in::read(&args.dir)?;
    set_threads(args.run.threads)?;
    let outcome = dropin::gpumd::nep(&args.dir, &input, &args.run.options(world)?)?;
    report_root(outcome.as_ref(), world);
    Ok(())
}

fn gnep(args: GnepArgs, world: &World) -> Result<()> {
    let input = dropin::gpumd::gnep_in::read(&args.dir)?;
    set_threads(args.run.threads)?;
    let outcome = dropin::gpumd::gnep(&args.dir, &input, &args.run.options(world)?)?;
    report_root(outcome.as_ref(), world);
    Ok(())
}

fn dp(args: DpArgs, world: &World) -> Result<()> {
    let overrides = Overrides {
        optimizer: args.optimizer,
        batch_size: args.batch_size,
        time_limit: args.time_limit,
        output_dir: args.output_dir.clone(),
        ..Overrides::default()
    };
    let input = dropin::deepmd_kit::read(&args.input, &overrides)?;
    set_threads(args.run.threads)?;
    let outcome = input.train(&args.run.options(world)?)?;
    report_root(Some(&outcome), world);
    Ok(())
}

fn aenet(args: AenetArgs, world: &World) -> Result<()> {
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
    let input = dropin::aenet::read(&generate, &train, &overrides)?;
    set_threads(args.run.threads)?;
    let outcome = dropin::aenet::train(&input, &args.run.options(world)?)?;
    report_root(Some(&outcome), world);
    Ok(())
}

/// Prints how a run ended (rank 0; a drop-in's prediction mode has no run).
fn report_root(outcome: Option<&Outcome>, world: &World) {
    if let Some(o) = outcome.filter(|_| world.is_root()) {
        report(o);
    }
}

fn gradcheck(args: GradcheckArgs) -> Result<()> {
    use forcefit::train::gradcheck;
    set_threads(args.threads)?;
    if args.structures == 0 {
        bail!("--structures must be at least 1");
    }
    let mut structures: Vec<Structure> = io::read(&args.data, args.format)?;
    structures.truncate(args.structures);
    let mut trained = model::load_files(&args.model)?;
    let like = match &args.random_like {
        Some(p) => model::load(p)?,
        None => trained.clone(),
    };
    // Random weights with the file's data-dependent state (NEP's descriptor
    // scales: unit scales would saturate the network).
    let mut random = like.with_random_params(args.seed)?;
    let options = gradcheck::Options::default();
    let mut report = gradcheck::Report::default();
    let data = batch::prepare_all(&trained, structures.clone())?;
    gradcheck::check("trained", &mut trained, &data, &options, &mut report)?;
    let data = batch::prepare_all(&random, structures)?;
    gradcheck::check("random", &mut random, &data, &options, &mut report)?;
    print!("{}", gradcheck::table(&report));
    gradcheck::write(&report, &args.out_dir)?;
    eprintln!(
        "wrote gradcheck.csv and gradcheck.png to {}",
        args.out_dir.display()
    );
    Ok(())
}
