//! What a finished run leaves in its output directory: the best model in
//! its family's file (`nep.txt`, …), `loss.csv`, GPUMD-layout `energy_*.out`, `force_*.out`,
//! `virial_*.out`, `stress_*.out` for the training and test sets,
//! `summary.json`, and the plots `loss.png`, `parity_train.png`, `parity_test.png`.

use super::log;
use super::plots::{self, Parity};
use super::run::Outcome;
use super::shard::Evaluated;
use crate::error::{Error, Result};
use crate::metrics::{Summary, write_gpumd_outputs};
use crate::model::Prediction;
use crate::structure::Structure;
use crate::structure::VIRIAL_COMPONENTS;

/// GPUMD-layout files and a parity plot for one data set.
fn prediction_files(
    outcome: &Outcome,
    data: &Evaluated,
    suffix: &str,
    summary: Option<&Summary>,
) -> Result<()> {
    if data.structures.is_empty() {
        return Ok(());
    }
    let items: Vec<(&Structure, &Prediction)> =
        data.structures.iter().zip(&data.predictions).collect();
    write_gpumd_outputs(&outcome.output_dir, suffix, &items)?;
    // Parity data in meV units (energy and virial per atom).
    let (mut e_ref, mut e_pred, mut f_ref, mut f_pred, mut v_ref, mut v_pred) = Default::default();
    for (s, p) in &items {
        let n = s.n_atoms() as f64;
        if let Some(e) = s.labels.energy {
            push(&mut e_ref, &mut e_pred, e / n * 1e3, p.energy / n * 1e3);
        }
        if let Some(f) = &s.labels.forces {
            for (a, b) in f.iter().zip(&p.forces) {
                for k in 0..3 {
                    push(&mut f_ref, &mut f_pred, a[k] * 1e3, b[k] * 1e3);
                }
            }
        }
        if let Some(w) = &s.labels.virial {
            for &c in &VIRIAL_COMPONENTS {
                push(
                    &mut v_ref,
                    &mut v_pred,
                    w[c] / n * 1e3,
                    p.virial[c] / n * 1e3,
                );
            }
        }
    }
    let nan = f64::NAN;
    let rmse = |f: fn(&Summary) -> Option<f64>| summary.and_then(f).unwrap_or(nan);
    let panels = [
        Parity {
            title: "energy",
            unit: "meV/atom",
            reference: &e_ref,
            predicted: &e_pred,
            rmse: rmse(|s| s.energy_rmse_mev_per_atom),
        },
        Parity {
            title: "force",
            unit: "meV/Å",
            reference: &f_ref,
            predicted: &f_pred,
            rmse: rmse(|s| s.force_rmse_mev_per_angstrom),
        },
        Parity {
            title: "virial",
            unit: "meV/atom",
            reference: &v_ref,
            predicted: &v_pred,
            rmse: rmse(|s| s.virial_rmse_mev_per_atom),
        },
    ];
    plots::parity(
        &outcome.output_dir.join(format!("parity_{suffix}.png")),
        &panels,
    )
}

fn push(a: &mut Vec<f64>, b: &mut Vec<f64>, x: f64, y: f64) {
    a.push(x);
    b.push(y);
}

/// Writes every output of `outcome`.
pub fn write(outcome: &Outcome) -> Result<()> {
    let dir = &outcome.output_dir;
    outcome.model.write_into(dir)?;
    let csv = log::to_csv(&outcome.log);
    crate::io::write_atomic(&dir.join("loss.csv"), |w| w.write_all(csv.as_bytes()))?;
    prediction_files(outcome, &outcome.train_set, "train", Some(&outcome.train))?;
    prediction_files(
        outcome,
        &outcome.validation_set,
        "test",
        outcome.validation.as_ref(),
    )?;
    plots::loss_curves(&dir.join("loss.png"), &outcome.log)?;
    // The files a later run continues from (`--continue-from`): the
    // binary ones where a format has both (aenet's `.nn` beside `.nn.ascii`).
    let model_files: Vec<String> = outcome
        .model
        .files()?
        .iter()
        .map(|f| f.path.display().to_string())
        .filter(|p| !p.ends_with(".ascii"))
        .collect();
    let summary = serde_json::json!({
        "model_files": model_files,
        "train_structures": outcome.train_set.structures.len(),
        "best_epoch": outcome.best_epoch,
        "epochs": outcome.epochs,
        "steps": outcome.steps,
        "stopped": outcome.stopped,
        "train": outcome.train,
        "test": outcome.validation,
        "kalman": outcome.kalman,
        "communication": outcome.communication,
        "model": outcome.model.hyper_json(),
    });
    let text = serde_json::to_string_pretty(&summary).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::io::write_atomic(&dir.join("summary.json"), |w| w.write_all(text.as_bytes()))?;
    Ok(())
}
