//! Warm retraining (`--continue-from RUN_DIR`): a new run on new data that
//! starts from an earlier run's best model, exactly as its checkpoint holds
//! it (parameters to the bit, the data statistics it was normalised with),
//! and its optimizer's state (Adam's moments, the Kalman covariance), on a
//! short schedule sized to the structures added since.

use super::checkpoint::Checkpoint;
use super::config::{DEFAULT_EPOCHS, TrainConfig};
use super::optimizer::OptimizerState;
use crate::error::{Error, Result};
use crate::model::{AnyModel, Model};
use crate::optim::Placement;
use crate::optim::schedule::Budget;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// What a run takes from the earlier run it continues.
pub struct WarmStart {
    /// The earlier run's output directory.
    pub dir: PathBuf,
    /// Its best model, with the checkpoint's parameters and state.
    pub model: AnyModel,
    /// Its optimizer's state at the end (covariances included).
    pub optimizer: OptimizerState,
    /// Its random generator where it stopped: with no data added and a
    /// schedule that continues the earlier one, the warm run is the
    /// earlier run continued, bit for bit.
    pub rng: ChaCha8Rng,
    /// Epochs it ran.
    pub epochs: usize,
    /// Structures it trained on.
    pub train_structures: usize,
}

/// Epochs of a warm run per unit of added fraction of the data, in per
/// cent of a fresh run's: the added structures are new to the model, the rest
/// it knows already. Measured on TiO2 (NEP, 90 → 135 structures): 15
/// epochs reach the test force error that training from scratch reaches
/// after 9× the time; 30 epochs gain 1 % more for twice the time
/// (docs/active-learning.md).
const EPOCHS_PER_ADDED_PERCENT: usize = 15;
/// Fewest epochs of a warm run without a length of its own.
const MIN_EPOCHS: usize = 10;

impl WarmStart {
    /// Reads the run in `dir`: its `checkpoint.json` (with this rank's
    /// share of the Kalman covariance file) and `summary.json` (which names
    /// its model files).
    pub fn load(dir: &Path, placement: Placement) -> Result<WarmStart> {
        let path = dir.join("checkpoint.json");
        if !path.is_file() {
            return Err(Error::file(
                dir,
                "--continue-from: no checkpoint.json here; give the output directory of a \
                 finished forcefit run (a committee's: the directory holding member-0/ …)",
            ));
        }
        let c = Checkpoint::load_on(&path, placement)?;
        let summary_path = dir.join("summary.json");
        let summary = read_summary(&summary_path)?;
        let files: Vec<PathBuf> = summary.model_files.iter().map(|f| dir.join(f)).collect();
        let mut model = AnyModel::load(&files)?;
        let n = model.params().len();
        if c.best_params.len() != n {
            return Err(Error::file(
                &path,
                format!(
                    "--continue-from: the checkpoint holds {} parameters, its model files {n}: \
                     they are not from the same run",
                    c.best_params.len()
                ),
            ));
        }
        model.params_mut().copy_from_slice(&c.best_params);
        let pos: u128 = c.rng_word_pos.parse().map_err(|_| {
            Error::file(&path, "--continue-from: rng_word_pos is not a whole number")
        })?;
        let mut rng = ChaCha8Rng::from_seed(c.rng_seed);
        rng.set_word_pos(pos);
        model
            .restore_state(c.model_state)
            .map_err(|e| Error::file(&path, format!("--continue-from: model_state: {e}")))?;
        Ok(WarmStart {
            dir: dir.to_path_buf(),
            model,
            optimizer: c.optimizer,
            rng,
            epochs: c.epoch,
            train_structures: summary.train_structures,
        })
    }

    /// The warm run's length. A configuration that names its length
    /// (`train.epochs`, `steps` or `time_limit`) gets it as written;
    /// otherwise the run is short: epochs in proportion to the fraction of
    /// the `n_train` structures that are new (of a fresh run's
    /// [`DEFAULT_EPOCHS`]), the learning rate annealed over them from its
    /// peak as in any run (a tenth of the peak learned less in the same
    /// time, on TiO2).
    pub fn budget(&self, config: &TrainConfig, steps_per_epoch: usize, n_train: usize) -> Budget {
        let r = &config.run;
        if r.epochs.is_some() || r.steps.is_some() || r.time_limit.is_some() {
            return r.budget(steps_per_epoch);
        }
        let added = n_train.saturating_sub(self.train_structures);
        let epochs =
            (DEFAULT_EPOCHS * EPOCHS_PER_ADDED_PERCENT * added).div_ceil(100 * n_train.max(1));
        Budget {
            steps: Some(epochs.max(MIN_EPOCHS) * steps_per_epoch),
            seconds: None,
        }
    }
}

/// The parts of a run's `summary.json` a warm start needs.
#[derive(serde::Deserialize)]
struct Summary {
    model_files: Vec<String>,
    train_structures: usize,
}

fn read_summary(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::parse(
            path,
            e.line(),
            format!(
                "--continue-from needs the run's model_files and train_structures \
                 (written by forcefit since they were added): {e}"
            ),
        )
    })
}
