//! What a finished run leaves in its output directory: `nep.txt` (the best
//! model), `loss.csv`, GPUMD-layout `energy_*.out`, `force_*.out`,
//! `virial_*.out`, `stress_*.out` for the training and test sets,
//! `summary.json`, and the plots.

use super::log;
use super::run::Outcome;
use crate::batch;
use crate::error::{Error, Result};
use crate::metrics::write_gpumd_outputs;
use crate::model::nep::file;
use crate::model::{Prediction, Prepared};
use crate::structure::Structure;

fn gpumd_files(outcome: &Outcome, data: &[Prepared], suffix: &str) -> Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let predictions = batch::predict_all(&outcome.model, data);
    let items: Vec<(&Structure, &Prediction)> = data
        .iter()
        .map(|s| &s.structure)
        .zip(&predictions)
        .collect();
    write_gpumd_outputs(&outcome.output_dir, suffix, &items)
}

/// Writes every output of `outcome`.
pub fn write(outcome: &Outcome) -> Result<()> {
    let dir = &outcome.output_dir;
    file::write(&outcome.model, &dir.join("nep.txt"))?;
    let csv = log::to_csv(&outcome.log);
    crate::io::write_atomic(&dir.join("loss.csv"), |w| w.write_all(csv.as_bytes()))?;
    gpumd_files(outcome, &outcome.train_data, "train")?;
    gpumd_files(outcome, &outcome.validation_data, "test")?;
    let summary = serde_json::json!({
        "best_epoch": outcome.best_epoch,
        "epochs": outcome.epochs,
        "steps": outcome.steps,
        "stopped": outcome.stopped,
        "train": outcome.train,
        "test": outcome.validation,
    });
    let text = serde_json::to_string_pretty(&summary).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::io::write_atomic(&dir.join("summary.json"), |w| w.write_all(text.as_bytes()))?;
    Ok(())
}
