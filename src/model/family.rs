//! The family seam, its lower half: [`Family`], what each model family
//! (NEP, DeePMD, …) implements besides [`Model`], and the [`ModelFile`]s it
//! reads and writes. The closed enums over the families live above the
//! families, in `model::any`, so that a family never reaches back to them.

use super::{Model, Prepared};
use crate::error::{Error, Result};
use crate::structure::Structure;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// What every model family provides besides [`Model`].
pub trait Family: Model + Clone + Sized {
    /// The family's name in `[model] family = "…"` and in checkpoints.
    const NAME: &'static str;
    /// What the Kalman filter (FEKF) trains this family's models best
    /// with, as measured (docs/benchmarks.md); `[optimizer]` settings the
    /// user gives win over it.
    const KALMAN_RECIPE: KalmanRecipe = KalmanRecipe::FILTER_DEFAULTS;

    /// The family's `[model]` settings.
    type Config;
    /// A new model with random weights for these elements (the training
    /// structures give what the settings leave to the data, such as
    /// DeePMD's neighbour slots).
    fn random_for(
        config: &Self::Config,
        species: Vec<String>,
        train: &[Structure],
        rng: &mut ChaCha8Rng,
    ) -> Result<Self>;
    /// Fits the data-dependent state that is not trained (descriptor
    /// scales, energy references, …) to the training set; returns lines
    /// worth telling the user.
    fn fit_data(&mut self, train: &[Prepared]) -> Vec<String>;
    /// The data-dependent state a checkpoint keeps.
    type State;
    /// That state, for a checkpoint.
    fn state(&self) -> Self::State;
    /// Restores the state a checkpoint saved (refused when it does not fit).
    fn restore_state(&mut self, state: Self::State) -> Result<()>;
    /// The model's files (one for most families, one per element for
    /// aenet's), named as in an output directory.
    fn to_files(&self) -> Result<Vec<ModelFile>>;
    /// Reads the model from its files (their names appear in errors).
    fn from_files(files: &[ModelFile]) -> Result<Self>;
    /// Hyperparameters, for reports.
    fn hyper_json(&self) -> serde_json::Value;
    /// The same model (hyperparameters and data-dependent state) with
    /// random weights.
    fn with_random_params(&self, rng: &mut ChaCha8Rng) -> Result<Self>;
    /// Length of one atom's descriptor.
    fn descriptor_dim(&self) -> usize;
    /// The descriptors of every atom, row-major (n_atoms × dim), as the
    /// family's reference code reports them.
    fn atom_descriptors(&self, s: &Prepared) -> Vec<f64>;
}

/// A family's FEKF settings where they differ from the filter's own
/// defaults (`None`/`false`: the filter's default). The filter's defaults
/// are deepmd-kit's; on some families other settings win by far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KalmanRecipe {
    /// Structures per filter step.
    pub batch_size: Option<usize>,
    /// Largest covariance block, in parameters.
    pub block_size: Option<usize>,
    /// Measurement noise r.
    pub measurement_noise: Option<f64>,
    /// Store the covariance in float64 whatever its size.
    pub float64_covariance: bool,
    /// Energy and virial prefactors balanced against forces as the loss
    /// weighs them.
    pub balance_by_loss: bool,
}

impl KalmanRecipe {
    /// No change to the filter's defaults.
    pub const FILTER_DEFAULTS: KalmanRecipe = KalmanRecipe {
        batch_size: None,
        block_size: None,
        measurement_noise: None,
        float64_covariance: false,
        balance_by_loss: false,
    };
}

/// One model file: its path (or name in an output directory) and contents.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// Where it is (or its name in an output directory).
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl ModelFile {
    /// A text file named `name`.
    pub fn text(name: &str, text: String) -> Self {
        ModelFile {
            path: PathBuf::from(name),
            bytes: text.into_bytes(),
        }
    }

    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Ok(ModelFile {
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// The text of the one file a single-file family reads.
    pub fn single_text<'a>(files: &'a [ModelFile], family: &str) -> Result<(&'a str, &'a Path)> {
        let [file] = files else {
            return Err(Error::Invalid(format!(
                "a {family} model is one file, {} given",
                files.len()
            )));
        };
        let text = std::str::from_utf8(&file.bytes).map_err(|e| Error::File {
            path: file.path.clone(),
            msg: format!("not a text file (byte {} is not UTF-8)", e.valid_up_to()),
        })?;
        Ok((text, &file.path))
    }
}
