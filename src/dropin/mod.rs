//! The peers' front ends: a peer program's own input files translated into
//! forcefit's [`TrainConfig`], and the peer's own output files written
//! after training. One folder per peer: `gpumd` (GPUMD's `nep.in` and
//! `gnep.in`), `deepmd_kit` (deepmd-kit's `input.json`), `aenet` (aenet's
//! `generate.in`, `.stp` setups and aenet-PyTorch's `train.in`).
//!
//! What every drop-in does is here: the [`Translation`] (configuration,
//! notes for the user, source file), how a peer keyword forcefit does not
//! map is treated ([`Treatment`]), the command-line [`Overrides`], and the
//! run ([`Translation::train`]), which writes the translated configuration
//! next to the outputs so that `forcefit train` can repeat it. A drop-in
//! holds no training logic: `train` plans and runs what the configuration
//! says, and a planned length with a time limit anneals to whichever comes
//! first (`train.time_limit`).

pub mod aenet;
pub mod deepmd_kit;
pub mod gpumd;

use crate::error::{Error, Result};
use crate::train::config::{OptimizerKind, TrainConfig};
use crate::train::run::{Outcome, RunOptions};
use std::path::{Path, PathBuf};

/// The name of the translated configuration in the output directory.
pub const CONFIG_FILE: &str = "forcefit.toml";

/// How a drop-in treats a peer keyword it does not map.
#[derive(Clone, Copy, Debug)]
pub enum Treatment<D = f64> {
    /// Accepted with this warning: it changes nothing in forcefit.
    Warned(&'static str),
    /// Accepted when equal to this value (the peer's default, which changes
    /// nothing); otherwise refused for the reason given.
    DefaultOnly(D, &'static str),
    /// Refused for this reason.
    Refused(&'static str),
}

/// Command-line choices that override or complete a peer's input.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--optimizer`: forcefit's optimizer instead of the input's.
    pub optimizer: Option<OptimizerKind>,
    /// `--batch-size`: structures per step.
    pub batch_size: Option<usize>,
    /// `--epochs`: instead of the input's run length.
    pub epochs: Option<usize>,
    /// `--time-limit`, seconds: the run anneals to whichever of its
    /// planned length and this comes first.
    pub time_limit: Option<f64>,
    /// Where the outputs go.
    pub output_dir: PathBuf,
    /// The peer's own recipe as written (learning rate, batch) instead of
    /// forcefit's (aenet: `--recipe aenet-pytorch`).
    pub as_written: bool,
}

/// A peer's input translated into forcefit's configuration.
#[derive(Clone, Debug)]
pub struct Translation {
    /// The training it describes.
    pub config: TrainConfig,
    /// Keywords accepted without effect and choices made for the user, one
    /// message each (printed before the run).
    pub warnings: Vec<String>,
    /// The input file, which names the configuration in errors.
    pub path: PathBuf,
}

impl Translation {
    /// The configuration as TOML, as `forcefit train` reads it (also
    /// stored in checkpoints to check `--resume`).
    pub fn config_text(&self) -> Result<String> {
        toml::to_string(&self.config).map_err(|e| {
            Error::Invalid(format!(
                "{}: cannot serialise the configuration: {e}",
                self.path.display()
            ))
        })
    }

    /// Writes the configuration into the output directory as
    /// [`CONFIG_FILE`], with absolute paths so that `forcefit train` runs
    /// it from anywhere.
    pub fn write_config(&self) -> Result<()> {
        let mut config = self.config.clone();
        let here = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
        config.resolve_paths(&here);
        let text = Translation {
            config,
            warnings: Vec::new(),
            path: self.path.clone(),
        }
        .config_text()?;
        let dir = &self.config.run.output_dir;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let header = format!(
            "# forcefit's translation of {} (`forcefit train` runs it as it is)\n",
            self.path.display()
        );
        crate::io::write_atomic(&dir.join(CONFIG_FILE), |w| {
            w.write_all(header.as_bytes())?;
            w.write_all(text.as_bytes())
        })
    }

    /// Prints the warnings (rank 0), writes the translated configuration
    /// into the output directory (rank 0), trains (one model or a
    /// committee), and writes forcefit's outputs and then what `finish`
    /// adds, the peer's own files, for each model (rank 0).
    pub fn train(
        &self,
        options: &RunOptions,
        finish: &mut dyn FnMut(&Outcome) -> Result<()>,
    ) -> Result<Vec<Outcome>> {
        let text = self.config_text()?;
        if options.world.is_root() {
            for w in &self.warnings {
                eprintln!("warning: {w}");
            }
            self.write_config()?;
        }
        crate::train::committee::run(&self.config, &text, options, finish)
    }
}
