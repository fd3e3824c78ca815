//! GPUMD's front ends: `forcefit nep DIR` reads `nep.in` as GPUMD's `nep`
//! does, `forcefit gnep DIR` reads `gnep.in` as GPUMD's gradient-trained
//! `gnep` does; both train on `DIR/train.xyz` (and `DIR/test.xyz`) and
//! write GPUMD's files to DIR.

mod architecture;
mod lines;
pub mod nep_in;
pub mod outputs;

use crate::error::Result;
use crate::model::nep::Nep;
use crate::train::run::{Outcome, RunOptions};
use nep_in::NepInput;
use std::path::Path;

/// Runs what `nep.in` asks for: with `prediction 1`, GPUMD's evaluation
/// of `DIR/nep.txt` (rank 0 alone; no outcome); else the training, then
/// `loss.out` beside forcefit's outputs.
pub fn nep(dir: &Path, input: &NepInput, options: &RunOptions) -> Result<Option<Outcome>> {
    let root = options.world.is_root();
    if input.prediction {
        if !root {
            return Ok(None);
        }
        for w in &input.warnings {
            eprintln!("warning: {w}");
        }
        let model_path = dir.join("nep.txt");
        let model = Nep::from_file(&model_path)?;
        for w in input.check_model(model.hyper(), &model_path)? {
            eprintln!("warning: {w}");
        }
        outputs::predict(&model, &input.config, dir)?;
        return Ok(None);
    }
    let outcome = input.translation.train(options)?;
    if root {
        outputs::write_loss(&outcome.output_dir, &outcome.log)?;
    }
    Ok(Some(outcome))
}
