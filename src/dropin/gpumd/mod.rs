//! GPUMD's front ends: `forcefit nep DIR` reads `nep.in` as GPUMD's `nep`
//! does, `forcefit gnep DIR` reads `gnep.in` as GPUMD's gradient-trained
//! `gnep` does; both train on `DIR/train.xyz` (and `DIR/test.xyz`) and
//! write GPUMD's files to DIR.

mod architecture;
pub mod gnep_in;
pub mod gnep_outputs;
mod lines;
pub mod nep_in;
pub mod outputs;
mod run_files;

use crate::error::Result;
use crate::model::nep::{Nep, NepHyper};
use crate::train::run::{Outcome, RunOptions};
use gnep_in::GnepInput;
use nep_in::NepInput;
use std::path::Path;

/// Runs what `nep.in` asks for: with `prediction 1`, GPUMD's evaluation
/// of `DIR/nep.txt` (rank 0 alone; no outcome); else the training, then
/// `loss.out` beside forcefit's outputs.
pub fn nep(dir: &Path, input: &NepInput, options: &RunOptions) -> Result<Option<Vec<Outcome>>> {
    let root = options.world.is_root();
    if input.prediction {
        if root {
            let model = prediction_model(dir, &input.warnings, |h, p| input.check_model(h, p))?;
            outputs::predict(&model, &input.config, dir)?;
        }
        return Ok(None);
    }
    let outcomes = input.translation.train(options, &mut |outcome| {
        outputs::write_loss(&outcome.output_dir, &outcome.log)
    })?;
    Ok(Some(outcomes))
}

/// Runs what `gnep.in` asks for: with `prediction 1`, GNEP's evaluation
/// of `DIR/nep.txt` on `train.xyz` in file order (the four
/// `*_train.out` files, and `descriptor.out` with `output_descriptor`;
/// rank 0 alone; no outcome); else the training, then GNEP's `loss.out`
/// beside forcefit's outputs (`nep.txt` of the best model, the
/// `*_train.out` and `*_test.out` files).
pub fn gnep(dir: &Path, input: &GnepInput, options: &RunOptions) -> Result<Option<Vec<Outcome>>> {
    let root = options.world.is_root();
    if input.prediction {
        if !root {
            return Ok(None);
        }
        let model = prediction_model(dir, &input.warnings, |h, p| input.check_model(h, p))?;
        let prepared = outputs::predict_set(&model, "train", &dir.join("train.xyz"), dir)?;
        let mut wrote = "energy_train.out, force_train.out, virial_train.out and stress_train.out";
        if input.output_descriptor > 0 {
            gnep_outputs::write_descriptors(dir, &model, &prepared, input.output_descriptor)?;
            wrote = "energy_train.out, force_train.out, virial_train.out, stress_train.out and descriptor.out";
        }
        println!("wrote {wrote} to {}", dir.display());
        return Ok(None);
    }
    let outcomes = input.translation.train(options, &mut |outcome| {
        gnep_outputs::write_loss(&outcome.output_dir, &outcome.log, input.lambdas)
    })?;
    Ok(Some(outcomes))
}

/// `DIR/nep.txt`, the model a `prediction 1` run evaluates, read after the
/// input's warnings are printed and checked against the input (`check`:
/// its elements must match; other differences come back as warnings).
fn prediction_model(
    dir: &Path,
    warnings: &[String],
    check: impl FnOnce(&NepHyper, &Path) -> Result<Vec<String>>,
) -> Result<Nep> {
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let path = dir.join("nep.txt");
    let model = Nep::from_file(&path)?;
    for w in check(model.hyper(), &path)? {
        eprintln!("warning: {w}");
    }
    Ok(model)
}
