//! GNEP's own files: `loss.out` in its 10-column layout and, in
//! prediction mode, `descriptor.out`. The `energy_*.out`, `force_*.out`,
//! `virial_*.out` and `stress_*.out` files have the same layout in GNEP
//! as in nep (one `%g` per value, predicted columns first, stress = W/V in
//! GPa), so `metrics::write_gpumd_outputs` writes them.

use super::outputs::{or_zero, rows_in_ev};
use crate::error::Result;
use crate::io;
use crate::metrics::format_g;
use crate::model::Prepared;
use crate::model::nep::Nep;
use crate::train::log::LogRow;
use std::fmt::Write as _;
use std::path::Path;

/// The log in the layout of GNEP's `loss.out` (its `fitness.cu` format
/// `%-8d`, seven `%-13.5f`, `%-15.7f`, `%-13.5f`), one line per epoch:
///
/// `epoch Total-Loss E_train F_train V_train E_test F_test V_test LR Time`
///
/// - `epoch`: epochs completed (1 for the first, as GNEP's 1-based count);
/// - `Total-Loss`: λe·E_train + λf·F_train + λv·V_train with GNEP's
///   lambdas as written (`lambdas`), as GNEP computes it;
/// - RMSEs in eV/atom, eV/Å, eV/atom; 0 where there is no such label or no
///   test set; the test columns repeat the last evaluation between
///   evaluations;
/// - `LR`: the learning rate of the epoch's last step;
/// - `Time`: seconds of training so far (wall time; GNEP sums CPU time).
pub fn to_gnep_loss(rows: &[LogRow], lambdas: [f64; 3]) -> String {
    let mut out = String::new();
    for (r, train, test) in rows_in_ev(rows) {
        let total: f64 = (0..3).map(|i| lambdas[i] * train[i]).sum();
        let _ = writeln!(
            out,
            "{:<8}{:<13.5}{:<13.5}{:<13.5}{:<13.5}{:<13.5}{:<13.5}{:<13.5}{:<15.7}{:<13.5}",
            r.epoch,
            total,
            train[0],
            train[1],
            train[2],
            test[0],
            test[1],
            test[2],
            or_zero(r.lr),
            or_zero(r.time_s)
        );
    }
    out
}

/// Writes GNEP's `loss.out` into `dir`.
pub fn write_loss(dir: &Path, rows: &[LogRow], lambdas: [f64; 3]) -> Result<()> {
    let text = to_gnep_loss(rows, lambdas);
    io::write_atomic(&dir.join("loss.out"), |w| w.write_all(text.as_bytes()))
}

/// GNEP's `descriptor.out` for `structures`: the scaled descriptors
/// q·q_scaler, `%g ` each (GNEP's trailing space), one line per structure
/// with the mean over its atoms (`mode` 1) or one line per atom (`mode`
/// 2).
pub fn write_descriptors(dir: &Path, model: &Nep, structures: &[Prepared], mode: u8) -> Result<()> {
    let dim = model.hyper().dim().max(1);
    let mut out = String::new();
    let mut line = |row: &[f64]| {
        for x in row {
            out.push_str(&format_g(*x));
            out.push(' ');
        }
        out.push('\n');
    };
    for s in structures {
        let d = model.descriptors(s);
        if mode == 1 {
            let n = (d.len() / dim).max(1) as f64;
            let mut mean = vec![0.0; dim];
            for row in d.chunks(dim) {
                mean.iter_mut().zip(row).for_each(|(m, x)| *m += x / n);
            }
            line(&mean);
        } else {
            d.chunks(dim).for_each(&mut line);
        }
    }
    io::write_atomic(&dir.join("descriptor.out"), |w| w.write_all(out.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize, val: Option<[f64; 3]>) -> LogRow {
        LogRow {
            epoch,
            step: 10 * epoch,
            time_s: 1.5 * epoch as f64,
            lr: 9.99e-4,
            loss: 0.1,
            train_rmse: [2.0, 100.0, f64::NAN],
            val_rmse: val,
            val_loss: val.map(|_| 0.2),
            regularization: [0.0; 2],
        }
    }

    #[test]
    fn gnep_loss_has_gnep_s_layout() {
        let text = to_gnep_loss(
            &[row(1, Some([1.0, 2.0, 3.0])), row(2, None)],
            [1.0, 2.0, 0.1],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "1       0.20200      0.00200      0.10000      0.00000      0.00100      0.00200      \
             0.00300      0.0009990      1.50000      "
        );
        assert!(lines[1].starts_with("2       0.20200"));
        assert!(lines[1].contains("0.00100      0.00200      0.00300"));
        for l in lines {
            assert_eq!(l.split_whitespace().count(), 10);
        }
    }
}
