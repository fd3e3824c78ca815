//! The learning curve in deepmd-kit's `lcurve.out` layout, so that the
//! plotting scripts of deepmd-kit users read forcefit's runs unchanged.
//!
//! deepmd-kit (3.x, `pt/train/training.py`) writes a header line
//! `# step` (`# {:5s}`), then for each of its sorted loss keys the pair
//! `<key>_val <key>_trn` (`   %11s %11s`; only `_trn` without validation
//! data) and `lr` (`   {:8s}`), a comment line, and then one line per
//! display step: `{step:7d}`, the pairs as `   %11.2e %11.2e`, and
//! `   {lr:8.1e}`. The keys: `rmse` (√loss), `rmse_e` (energy RMSE per
//! atom, eV), `rmse_f` (force RMSE, eV/Å), `rmse_v` (virial RMSE per atom,
//! eV), each present when the loss weighs that label and the data have it.
//! Lines come at step 1 and every `lcurve_every` steps; the training values
//! are those of the step's batch, the validation values those of the next
//! `lcurve_frames` validation structures in turn.

use super::config::TrainConfig;
// The rows are kept in checkpoints with the log, so they are defined there.
pub use super::log::LcurveRow;
use super::optimizer::StepReport;
use super::shard::Shard;
use super::state::State;
use super::step;
use crate::error::{Error, Result};
use crate::io;
use crate::loss::{LossConfig, LossParts};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The learning-curve file of a run and what its lines need.
pub struct Lcurve<'a> {
    columns: Columns,
    path: PathBuf,
    every: usize,
    frames: usize,
    weights: LossConfig,
    validation: &'a Shard,
}

impl<'a> Lcurve<'a> {
    /// The file `train.lcurve_every` asks for, if it does; `weights` are
    /// the run's loss weights.
    pub fn new(
        config: &TrainConfig,
        weights: &LossConfig,
        [train, validation]: [&'a Shard; 2],
    ) -> Option<Self> {
        let every = config.run.lcurve_every?;
        let end = weights.final_weights();
        let has = train.presence();
        let on = |start: f64, end: f64, has: bool| (start > 0.0 || end > 0.0) && has;
        let columns = Columns {
            energy: on(weights.lambda_e, end.lambda_e, has[0]),
            force: on(weights.lambda_f, end.lambda_f, has[1]),
            virial: on(weights.lambda_v, end.lambda_v, has[2]),
            validation: !validation.is_empty(),
        };
        Some(Lcurve {
            columns,
            path: config.run.output_dir.join(&config.run.lcurve_file),
            every,
            frames: config.run.lcurve_frames,
            weights: weights.clone(),
            validation,
        })
    }

    /// Writes the header and the lines of `rows` (a resumed run's, up to its
    /// checkpoint), replacing any earlier file.
    pub fn start(&self, rows: &[LcurveRow]) -> Result<()> {
        let text = self.columns.file(rows);
        io::write_atomic(&self.path, |w| w.write_all(text.as_bytes()))
    }

    /// Whether a line is due after `step` steps.
    pub fn due(&self, step: usize) -> bool {
        step == 1 || step.is_multiple_of(self.every)
    }

    /// The line after the step `report` describes; `state` has counted it.
    pub fn row(&self, state: &State, report: &StepReport) -> LcurveRow {
        let validation = (!self.validation.is_empty()).then(|| {
            let n = self.validation.len();
            let m = self.frames.min(n);
            let first = state.lcurve.len() * m;
            let indices: Vec<usize> = (0..m).map(|j| (first + j) % n).collect();
            let weights = self.weights.at_lr(report.lr);
            let batch = self.validation.batch(&indices);
            values(&step::loss(&state.model, &batch, &weights, |_, _| true))
        });
        LcurveRow {
            step: state.step,
            lr: report.lr,
            train: values(&report.parts),
            validation,
        }
    }

    /// Appends a line to the file.
    pub fn append(&self, row: &LcurveRow) -> Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        f.write_all(self.columns.line(row).as_bytes())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Which of the per-label columns a run writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    /// `rmse_e_*`.
    pub energy: bool,
    /// `rmse_f_*`.
    pub force: bool,
    /// `rmse_v_*`.
    pub virial: bool,
    /// The `_val` columns (a validation set exists).
    pub validation: bool,
}

/// [√loss, E, F, V] of a loss evaluation, eV units.
pub fn values(parts: &LossParts) -> [f64; 4] {
    [
        parts.total.sqrt(),
        parts.energy_mse.sqrt(),
        parts.force_mse.sqrt(),
        parts.virial_mse.sqrt(),
    ]
}

impl Columns {
    /// The column keys in deepmd-kit's (sorted) order, with the index of
    /// each in [`LcurveRow::train`].
    fn keys(&self) -> Vec<(&'static str, usize)> {
        let mut keys = vec![("rmse", 0)];
        for (on, key, i) in [
            (self.energy, "rmse_e", 1),
            (self.force, "rmse_f", 2),
            (self.virial, "rmse_v", 3),
        ] {
            if on {
                keys.push((key, i));
            }
        }
        keys
    }

    /// The two header lines.
    pub fn header(&self) -> String {
        let mut out = format!("# {:<5}", "step");
        for (key, _) in self.keys() {
            if self.validation {
                let _ = write!(
                    out,
                    "   {:>11} {:>11}",
                    format!("{key}_val"),
                    format!("{key}_trn")
                );
            } else {
                let _ = write!(out, "   {:>11}", format!("{key}_trn"));
            }
        }
        let _ = writeln!(out, "   {:<8}", "lr");
        out.push_str(
            "# If there is no available reference data, rmse_*_{val,trn} will print nan\n",
        );
        out
    }

    /// One data line.
    pub fn line(&self, row: &LcurveRow) -> String {
        let mut out = format!("{:7}", row.step);
        for (_, i) in self.keys() {
            let trn = c_exp(row.train[i], 2);
            match (self.validation, &row.validation) {
                (true, Some(v)) => {
                    let _ = write!(out, "   {:>11} {:>11}", c_exp(v[i], 2), trn);
                }
                (true, None) => {
                    let _ = write!(out, "   {:>11} {:>11}", "nan", trn);
                }
                (false, _) => {
                    let _ = write!(out, "   {trn:>11}");
                }
            }
        }
        let _ = writeln!(out, "   {:>8}", c_exp(row.lr, 1));
        out
    }

    /// The whole file for these rows.
    pub fn file(&self, rows: &[LcurveRow]) -> String {
        let mut out = self.header();
        for r in rows {
            out.push_str(&self.line(r));
        }
        out
    }
}

/// `x` as C's and Python's `%.{digits}e`: a two-digit (at least) signed
/// exponent, `nan`/`inf` for non-finite values.
fn c_exp(x: f64, digits: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let s = format!("{x:.digits$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_python_formats_them() {
        // Python: "%11.2e" % 27.3 == "   2.73e+01"; "%8.1e" % 0.001 == " 1.0e-03"
        assert_eq!(c_exp(27.3, 2), "2.73e+01");
        assert_eq!(c_exp(0.001, 1), "1.0e-03");
        assert_eq!(c_exp(0.0, 2), "0.00e+00");
        assert_eq!(c_exp(-1.5e-120, 2), "-1.50e-120");
        assert_eq!(c_exp(f64::NAN, 2), "nan");
    }

    /// Checkpoints keep the rows as JSON, where NaN (the Kalman filters'
    /// learning rate, absent labels) is `null`: it must read back as NaN.
    #[test]
    fn rows_survive_a_checkpoint_with_nan() {
        let row = LcurveRow {
            step: 7,
            lr: f64::NAN,
            train: [1.0, 2.0, 3.0, f64::NAN],
            validation: Some([4.0, f64::NAN, 5.0, 6.0]),
        };
        let text = serde_json::to_string(&row).unwrap();
        let back: LcurveRow = serde_json::from_str(&text).unwrap();
        assert!(back.lr.is_nan() && back.train[3].is_nan());
        assert_eq!(&back.train[..3], &[1.0, 2.0, 3.0]);
        let v = back.validation.unwrap();
        assert!(v[1].is_nan() && v[0] == 4.0 && v[3] == 6.0);
        let none: LcurveRow =
            serde_json::from_str(r#"{"step": 1, "lr": 0.1, "train": [1, 2, 3, 4]}"#).unwrap();
        assert_eq!(none.validation, None);
    }

    /// The layout of a deepmd-kit 3.2 `lcurve.out` (water, energy and
    /// forces, with validation), as `dp --pt train` wrote it here.
    #[test]
    fn layout_matches_deepmd_kit() {
        let columns = Columns {
            energy: true,
            force: true,
            virial: false,
            validation: true,
        };
        let expected_header = "# step       rmse_val    rmse_trn    rmse_e_val  rmse_e_trn    rmse_f_val  rmse_f_trn   lr      \n\
            # If there is no available reference data, rmse_*_{val,trn} will print nan\n";
        assert_eq!(columns.header(), expected_header);
        let row = LcurveRow {
            step: 1,
            lr: 1e-3,
            train: [24.2, 1.76, 0.758, f64::NAN],
            validation: Some([27.3, 1.70, 0.856, f64::NAN]),
        };
        assert_eq!(
            columns.line(&row),
            "      1      2.73e+01    2.42e+01      1.70e+00    1.76e+00      8.56e-01    7.58e-01    1.0e-03\n"
        );
    }
}
