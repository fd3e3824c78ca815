//! GPUMD's output files that forcefit's own outputs do not already cover:
//! `loss.out` from the run's log, and `prediction 1`'s evaluation of a
//! `nep.txt` (the `energy_*.out`, `force_*.out`, `virial_*.out` and
//! `stress_*.out` files themselves are `metrics::write_gpumd_outputs`').

use crate::batch;
use crate::error::Result;
use crate::io;
use crate::metrics::{ErrorStats, write_gpumd_outputs};
use crate::model::nep::Nep;
use crate::model::{Prediction, Prepared};
use crate::structure::Structure;
use crate::train::config::TrainConfig;
use crate::train::log::LogRow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The log in the layout of GPUMD's `loss.out` (as `nep`'s `fitness.cu`
/// writes it: `%-8d` then three `%-11.5f` and six `%-13.5f` fields), one
/// line per epoch:
///
/// `gen L_t L_1 L_2 E_train F_train V_train E_test F_test V_test`
///
/// - `gen`: optimizer steps completed (GPUMD's generation);
/// - `L_t`: the epoch's mean training loss, regularisation included;
/// - `L_1`, `L_2`: the regularisation terms at the end of the epoch;
/// - energy (eV/atom), force (eV/Å) and virial (eV/atom) RMSEs on the
///   training batches of the epoch and on the test set.
///
/// Missing values are written as 0, as GPUMD does (no test set, no virial
/// labels). The test set is not evaluated every epoch: between
/// evaluations its columns repeat the latest one (0 before the first).
pub fn to_gpumd_loss(rows: &[LogRow]) -> String {
    let mut out = String::new();
    for (r, train, test) in rows_in_ev(rows) {
        let _ = writeln!(
            out,
            "{:<8}{:<11.5}{:<11.5}{:<11.5}{:<13.5}{:<13.5}{:<13.5}{:<13.5}{:<13.5}{:<13.5}",
            r.step,
            or_zero(r.loss),
            or_zero(r.regularization[0]),
            or_zero(r.regularization[1]),
            train[0],
            train[1],
            train[2],
            test[0],
            test[1],
            test[2]
        );
    }
    out
}

/// Each row with its training RMSEs and the latest test RMSEs so far (0
/// before the first evaluation), in eV/atom, eV/Å and eV/atom, 0 where a
/// label is missing: the RMSE columns of GPUMD's and GNEP's `loss.out`.
pub(super) fn rows_in_ev(rows: &[LogRow]) -> impl Iterator<Item = (&LogRow, [f64; 3], [f64; 3])> {
    let ev = |x: f64| or_zero(x * 1e-3);
    rows.iter().scan([0.0; 3], move |test, r| {
        if let Some(v) = r.val_rmse {
            *test = v.map(ev);
        }
        Some((r, r.train_rmse.map(ev), *test))
    })
}

/// A value as GPUMD's files write a missing one: 0.
pub(super) fn or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// Writes `loss.out` into `dir`.
pub fn write_loss(dir: &Path, rows: &[LogRow]) -> Result<()> {
    let text = to_gpumd_loss(rows);
    io::write_atomic(&dir.join("loss.out"), |w| w.write_all(text.as_bytes()))
}

/// GPUMD's `prediction 1`: `model` on the training (and
/// test) structures of `config`, written in GPUMD's layout to `dir`; the
/// errors of each set are printed.
pub fn predict(model: &Nep, config: &TrainConfig, dir: &Path) -> Result<()> {
    let mut sets: Vec<(&str, PathBuf)> = config
        .data
        .train
        .list()
        .into_iter()
        .map(|p| ("train", p))
        .collect();
    if let Some(test) = &config.data.test {
        sets.extend(test.list().into_iter().map(|p| ("test", p)));
    }
    for (suffix, path) in sets {
        predict_set(model, suffix, &path, dir)?;
    }
    println!(
        "wrote energy_*.out, force_*.out, virial_*.out and stress_*.out to {}",
        dir.display()
    );
    Ok(())
}

/// `model` on the structures of `path`, written in GPUMD's layout to
/// `dir` as the `*_{suffix}.out` files; the errors are printed. Returns
/// the prepared structures, in file order.
pub fn predict_set(model: &Nep, suffix: &str, path: &Path, dir: &Path) -> Result<Vec<Prepared>> {
    let structures = io::read(path, None)?;
    let prepared = batch::prepare_all(model, structures)?;
    let predictions = batch::predict_all(model, &prepared);
    let items: Vec<(&Structure, &Prediction)> = prepared
        .iter()
        .map(|s| &s.structure)
        .zip(&predictions)
        .collect();
    write_gpumd_outputs(dir, suffix, &items)?;
    let mut stats = ErrorStats::new();
    for (s, p) in &items {
        stats.add(s, p);
    }
    println!("{}:\n{}", path.display(), stats.summary().to_table());
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: usize, val: Option<[f64; 3]>) -> LogRow {
        LogRow {
            epoch: step,
            step,
            time_s: 1.0,
            lr: 1e-3,
            loss: 0.153284,
            train_rmse: [1.89, 106.0, f64::NAN],
            val_rmse: val,
            val_loss: val.map(|_| 0.2),
            regularization: [0.020814, 0.024581],
        }
    }

    #[test]
    fn gpumd_loss_has_gpumd_s_layout() {
        let rows = [
            row(100, None),
            row(200, Some([1.0, 2.0, 3.0])),
            row(300, None),
        ];
        let text = to_gpumd_loss(&rows);
        let lines: Vec<&str> = text.lines().collect();
        // As a line of GPUMD's own loss.out (shared/datasets/pbte/loss.out).
        assert_eq!(
            lines[0],
            "100     0.15328    0.02081    0.02458    0.00189      0.10600      0.00000      \
             0.00000      0.00000      0.00000      "
        );
        assert!(
            lines[1].contains("0.00100      0.00200      0.00300"),
            "{}",
            lines[1]
        );
        assert!(lines[2].ends_with("0.00100      0.00200      0.00300      "));
        for l in lines {
            assert_eq!(l.split_whitespace().count(), 10);
        }
    }
}
