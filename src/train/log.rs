//! The per-epoch training log: one row per epoch, written as CSV
//! (`loss.csv`) or in the layout of GPUMD's `loss.out`, and kept in
//! checkpoints so that a resumed run's log is continuous. The rows of the
//! learning curve (`lcurve`, which writes them) are kept there too, so they
//! are defined here, below both the checkpoint and the curve's writer.

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
    /// Learning rate of the last step (NaN for the Kalman filters).
    #[serde(deserialize_with = "missing::number")]
    pub lr: f64,
    /// Mean training loss of the epoch's steps (regularisation included).
    #[serde(deserialize_with = "missing::number")]
    pub loss: f64,
    /// Training RMSEs over the epoch's batches: energy (meV/atom), force
    /// (meV/Å), virial (meV/atom); NaN where the data have no such label.
    #[serde(deserialize_with = "missing::array")]
    pub train_rmse: [f64; 3],
    /// Validation RMSEs, when validated this epoch.
    #[serde(deserialize_with = "missing::optional_array")]
    pub val_rmse: Option<[f64; 3]>,
    /// Validation loss, when validated this epoch.
    pub val_loss: Option<f64>,
    /// The L1 and L2 regularisation terms (included in `loss`) of the
    /// parameters at the end of the epoch; zero without regularisation.
    #[serde(default)]
    pub regularization: [f64; 2],
}

/// One display step: √loss and the energy, force and virial RMSEs (eV
/// units) of the training batch and of the validation structures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LcurveRow {
    /// Steps completed.
    pub step: usize,
    /// Learning rate of the step (NaN for the Kalman filters).
    #[serde(deserialize_with = "missing::number")]
    pub lr: f64,
    /// Training batch: [√loss, E, F, V].
    #[serde(deserialize_with = "missing::array")]
    pub train: [f64; 4],
    /// Validation structures, when there is a validation set.
    #[serde(default, deserialize_with = "missing::optional_array")]
    pub validation: Option<[f64; 4]>,
}

/// JSON has no NaN: serde_json writes NaN as `null`, and these read it
/// back as NaN (checkpoints keep the log).
pub(crate) mod missing {
    use serde::{Deserialize, Deserializer};

    /// A number, `null` meaning NaN.
    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// N numbers, each `null` meaning NaN.
    pub fn array<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[f64; N], D::Error>
    where
        [Option<f64>; N]: Deserialize<'de>,
    {
        Ok(<[Option<f64>; N]>::deserialize(d)?.map(|x| x.unwrap_or(f64::NAN)))
    }

    /// Optionally N numbers, each `null` meaning NaN.
    pub fn optional_array<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Option<[f64; N]>, D::Error>
    where
        [Option<f64>; N]: Deserialize<'de>,
    {
        Ok(Option::<[Option<f64>; N]>::deserialize(d)?.map(|t| t.map(|x| x.unwrap_or(f64::NAN))))
    }

    /// A number, `null` meaning +∞ (a best loss not yet set).
    pub fn or_infinity<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
    }
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
            num(r.lr),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows go into checkpoints as JSON, which has no NaN: missing values
    /// (no virial labels, no learning rate) must survive the round trip.
    #[test]
    fn rows_with_missing_values_round_trip_through_json() {
        let row = LogRow {
            epoch: 3,
            step: 30,
            time_s: 1.5,
            lr: f64::NAN,
            loss: 0.1,
            train_rmse: [1.0, 2.0, f64::NAN],
            val_rmse: Some([f64::NAN, 3.0, 4.0]),
            val_loss: Some(0.2),
            regularization: [0.0, 0.0],
        };
        let text = serde_json::to_string(&row).unwrap();
        let back: LogRow = serde_json::from_str(&text).unwrap();
        assert!(back.lr.is_nan() && back.train_rmse[2].is_nan());
        assert!(back.val_rmse.unwrap()[0].is_nan());
        assert_eq!(back.train_rmse[..2], row.train_rmse[..2]);
    }
}
