//! aenet's inputs read into a [`TrainConfig`](crate::train::config::TrainConfig), so that `forcefit aenet DIR`
//! trains what aenet-PyTorch would from the same `generate.in`, `.stp`
//! setups and `train.in`: the Behler–Parrinello model with aenet's
//! Chebyshev descriptor (`[model] family = "bp"`), its loss, its test
//! split, its weight decay (with forcefit's learning-rate schedule, or
//! METHOD's constant rate with `--recipe aenet-pytorch`), and the same
//! output files (the networks
//! under their NETWORKS names, `energies.*`, `forces.*`). Every keyword is
//! in `docs/aenet-command.md`.
//!
//! aenet-PyTorch's loss per batch is (1−α)·√(mean over structures of
//! (ΔE/N)²) + α·√(Σ_atoms |ΔF|² / N_atoms). forcefit's RMSE loss takes the
//! force RMSE per component, √(Σ|ΔF|² / 3N_atoms), which is 1/√3 of
//! aenet-PyTorch's term: so λe = 1−α and λf = √3·α (`kind = "rmse"`). Both
//! codes normalise energies and forces by the same scale before the loss,
//! so the ratio of the two terms, which is what the weights set, is the
//! same.

mod generate;
mod lines;
mod mapping;
pub mod outputs;
mod setup;
mod train_in;

use crate::dropin::Translation;
use crate::error::Result;
use crate::train::run::{Outcome, RunOptions};
use lines::Lines;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::dropin::Overrides;

/// forcefit's schedule for aenet's inputs (Adam/AdamW as METHOD says, with
/// its weight decay): the peak learning rate, decayed by a cosine to
/// [`RECIPE_LR_MIN`] over the run, and the batch. Measured on the TiO2
/// example (docs/benchmarks.md): aenet-PyTorch's constant 1e-4 with 128
/// structures per step needs ~10,000 epochs for what this reaches in 1,500.
pub const RECIPE_LR: f64 = 2e-3;
/// The learning rate the recipe's cosine ends at.
pub const RECIPE_LR_MIN: f64 = 1e-5;
/// Structures per step of the recipe.
pub const RECIPE_BATCH: usize = 16;

/// Which aenet-PyTorch files to write after training, and what they need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputPlan {
    /// SAVE_ENERGIES: `energies.train` and `energies.test`.
    pub save_energies: bool,
    /// SAVE_FORCES (with force training): `forces.train` and `forces.test`.
    pub save_forces: bool,
    /// TYPES' free-atom energies: the files hold cohesive energies.
    pub atomic_energies: BTreeMap<String, f64>,
    /// Each structure's path as read → as FILES spells it (the files' last column).
    pub names: BTreeMap<PathBuf, String>,
}

/// Parsed aenet inputs: the translation, and the aenet-PyTorch files to
/// write after training.
#[derive(Clone, Debug)]
pub struct AenetInput {
    /// The training they describe (train.in names it in errors).
    pub translation: Translation,
    /// The aenet-PyTorch files to write after training.
    pub outputs: OutputPlan,
}

impl std::ops::Deref for AenetInput {
    type Target = Translation;
    fn deref(&self) -> &Translation {
        &self.translation
    }
}

/// Reads `generate` (generate.x's input), the setups it names and `train`
/// (aenet-PyTorch's train.in), checks them against each other and maps
/// them. SETUPS and FILES paths are relative to generate.in's directory.
/// Nothing here reads a structure: the XSF files are read by the run.
pub fn read(generate: &Path, train: &Path, overrides: &Overrides) -> Result<AenetInput> {
    let g = generate::parse(Lines::read(generate)?)?;
    let t = train_in::parse(Lines::read(train)?)?;
    let dir = generate.parent().unwrap_or(Path::new(""));
    let setups = read_setups(&g, dir)?;
    let mut warnings = g.warnings.clone();
    warnings.extend(t.warnings.iter().cloned());
    let inputs = mapping::Inputs {
        generate: &g,
        setups: &setups,
        train: &t,
    };
    let (config, outputs) = mapping::to_config(&inputs, dir, overrides, &mut warnings)?;
    Ok(AenetInput {
        translation: Translation {
            config,
            warnings,
            path: train.to_path_buf(),
        },
        outputs,
    })
}

/// Trains what the inputs describe and writes aenet-PyTorch's result
/// files beside forcefit's outputs (rank 0), naming them on stdout.
pub fn train(input: &AenetInput, options: &RunOptions) -> Result<Vec<Outcome>> {
    input.translation.train(options, &mut |outcome| {
        let written = outputs::write(outcome, &input.outputs)?;
        if !written.is_empty() {
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            println!("aenet-PyTorch's files: {}", names.join(", "));
        }
        Ok(())
    })
}

/// Parses generate.in text alone (`path` names it in errors): the checks
/// [`read`] makes of that file before it reads the setups. Used by the
/// fuzz targets and the bad-input tests.
pub fn check_generate_in(text: &str, path: &Path) -> Result<()> {
    generate::parse(Lines::parse(text, path)).map(|_| ())
}

/// Parses train.in text alone, as [`read`] does.
pub fn check_train_in(text: &str, path: &Path) -> Result<()> {
    train_in::parse(Lines::parse(text, path)).map(|_| ())
}

/// Parses one descriptor setup (`.stp`) text alone, as [`read`] does.
pub fn check_setup(text: &str, path: &Path) -> Result<()> {
    setup::parse(Lines::parse(text, path)).map(|_| ())
}

/// Each SETUPS file, in order; one that cannot be read is reported at its
/// SETUPS line.
fn read_setups(g: &generate::GenerateIn, dir: &Path) -> Result<Vec<setup::Setup>> {
    g.setups
        .iter()
        .map(|r| {
            let path = dir.join(&r.file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                g.lines
                    .error(r.line, "setups", format!("{}: {e}", path.display()))
            })?;
            setup::parse(Lines::parse(&text, &path))
        })
        .collect()
}

#[cfg(test)]
mod tests;
