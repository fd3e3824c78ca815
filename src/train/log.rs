//! The per-epoch training log: one row per epoch, written as CSV
//! (`loss.csv`) and kept in checkpoints so that a resumed run's log is
//! continuous.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One epoch of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps completed.
    pub step: usize,
    /// Wall time since the start of training, s (continues across resumes).
    pub time_s: f64,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Mean training loss of the epoch's steps (regularisation included).
    pub loss: f64,
    /// Training RMSEs over the epoch's batches: energy (meV/atom), force
    /// (meV/Å), virial (meV/atom); NaN where the data have no such label.
    pub train_rmse: [f64; 3],
    /// Validation RMSEs, when validated this epoch.
    pub val_rmse: Option<[f64; 3]>,
    /// Validation loss, when validated this epoch.
    pub val_loss: Option<f64>,
}

/// The CSV header matching [`to_csv`].
pub const CSV_HEADER: &str = "epoch,step,time_s,lr,loss,train_energy_rmse_mev_per_atom,train_force_rmse_mev_per_angstrom,train_virial_rmse_mev_per_atom,val_energy_rmse_mev_per_atom,val_force_rmse_mev_per_angstrom,val_virial_rmse_mev_per_atom,val_loss";

/// The log as CSV text (empty fields where there is no value).
pub fn to_csv(rows: &[LogRow]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x}")
        } else {
            String::new()
        }
    };
    for r in rows {
        let _ = write!(
            out,
            "{},{},{:.3},{},{}",
            r.epoch,
            r.step,
            r.time_s,
            r.lr,
            num(r.loss)
        );
        for x in r.train_rmse {
            let _ = write!(out, ",{}", num(x));
        }
        match r.val_rmse {
            Some(v) => v.iter().for_each(|x| {
                let _ = write!(out, ",{}", num(*x));
            }),
            None => out.push_str(",,,"),
        }
        let _ = writeln!(out, ",{}", r.val_loss.map(num).unwrap_or_default());
    }
    out
}
