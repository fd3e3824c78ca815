//! The `forcefit` command line: parses and validates arguments, then calls
//! the library. Errors are printed with their file and line and exit with 2.

mod cli;

use clap::{Parser, Subcommand};
use cli::active::{self, DeviationArgs, SelectArgs};
use cli::convert::{self, ConvertArgs};
use cli::evaluate::{self, EvalArgs, GradcheckArgs, PredictArgs};
use cli::training::{self, AenetArgs, DpArgs, GnepArgs, NepArgs, TrainArgs};
use forcefit::dist::World;

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
    /// Committee model deviation of MD frames: every --model member on
    /// every frame, written as DP-GEN's / deepmd-kit's model_devi.out, and
    /// on request GPUMD's active.out and the frames with their per-atom
    /// deviation (see docs/deviation.md).
    Deviation(DeviationArgs),
    /// DP-GEN's trust levels on a model_devi.out: counts the accurate,
    /// candidate and failed frames and writes up to --max candidates
    /// (highest deviation, or farthest-point sampling with --fps) as
    /// extended XYZ without labels (see docs/deviation.md).
    Select(SelectArgs),
    /// Convert structure files (VASP OUTCAR and vasprun.xml, DeePMD
    /// systems, XSF, extended XYZ) to one extended XYZ file with energies,
    /// forces and virials as GPUMD and ASE read them (see docs/convert.md).
    Convert(ConvertArgs),
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
        Command::Train(args) => training::train(args, &world),
        Command::Nep(args) => training::nep(args, &world),
        Command::Gnep(args) => training::gnep(args, &world),
        Command::Dp(args) => training::dp(args, &world),
        Command::Aenet(args) => training::aenet(args, &world),
        // The other commands are one process's work: rank 0 does it.
        _ if !world.is_root() => Ok(()),
        Command::Predict(args) => evaluate::predict(args),
        Command::Eval(args) => evaluate::eval(args),
        Command::Gradcheck(args) => evaluate::gradcheck(args),
        Command::Deviation(args) => active::deviation(args),
        Command::Select(args) => active::select(args),
        Command::Convert(args) => convert::convert(args),
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
