//! Checkpoints: everything needed to continue a run exactly — parameters,
//! descriptor scales, optimizer state, the random generator's position,
//! the epoch and step counters, the best model so far and the log.
//! Written atomically as versioned JSON (floats round-trip bit for bit).
//! A Kalman filter's covariances, too large for JSON, go to a `.npy` file
//! beside it, named after the step and tied to the JSON by a checksum: the
//! new file is written before the JSON that names it and older ones are
//! removed after, so a crash at any moment leaves a consistent pair. The
//! file holds every block whichever rank held it, in the layout of one
//! process, so a run resumes on any number of ranks.

pub mod resume;

use super::log::{LcurveRow, LogRow};
// A checkpoint's `optimizer` field is one; named here too, where it was defined before.
pub use super::optimizer::OptimizerState;
use crate::dist::Comm;
use crate::error::{Error, Result};
use crate::model::FamilyState;
use crate::optim::{Kalman, Placement};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File format tag and version, checked on load.
const FORMAT: &str = "forcefit-checkpoint";
/// Version 2 holds the family-tagged model state (`model_state`); version 1
/// (NEP only) held `q_scaler` and is upgraded on load.
const VERSION: u32 = 2;

/// Largest covariance a checkpoint may describe, in values (2³² f64 =
/// 32 GiB): checked before the side file is read, so that damaged block
/// ranges cannot ask for more memory than a machine has.
const MAX_COVARIANCE_VALUES: usize = 1 << 32;

/// The Kalman blocks of a checkpoint must tile 0..n in order, without gaps
/// or empty blocks, and their packed covariances must fit the limit.
fn check_tiling(k: &Kalman) -> std::result::Result<(), String> {
    let mut at = 0usize;
    let mut total = 0usize;
    for (i, b) in k.blocks().iter().enumerate() {
        if b.start != at || b.end <= b.start {
            return Err(format!(
                "optimizer (Kalman): block {i} is {}..{}, expected a non-empty range starting at {at}",
                b.start, b.end
            ));
        }
        let n = b.end - b.start;
        total = n
            .checked_mul(n + 1)
            .map(|x| x / 2)
            .and_then(|x| total.checked_add(x))
            .filter(|&t| t <= MAX_COVARIANCE_VALUES)
            .ok_or_else(|| {
                format!(
                    "optimizer (Kalman): the blocks need more than {MAX_COVARIANCE_VALUES} covariance values (damaged block ranges?)"
                )
            })?;
        at = b.end;
    }
    Ok(())
}

/// The side file holding a Kalman filter's covariances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CovarianceFile {
    /// File name, in the checkpoint's directory.
    pub file: String,
    /// Checksum of its values.
    pub checksum: u64,
}

/// A training state on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format tag.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The configuration the run was started with (TOML text), to refuse a
    /// resume with different settings.
    pub config: String,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps completed.
    pub step: usize,
    /// Learning-rate factor after divergence recoveries.
    pub lr_scale: f64,
    /// Wall time spent so far, s.
    pub elapsed_s: f64,
    /// Random generator seed and position (ChaCha8).
    pub rng_seed: [u8; 32],
    /// Word position of the generator, as a decimal string (u128).
    pub rng_word_pos: String,
    /// Current parameters.
    pub params: Vec<f64>,
    /// The model family's data-dependent state (NEP's descriptor scales, …),
    /// tagged with the family.
    pub model_state: FamilyState,
    /// Optimizer state.
    pub optimizer: OptimizerState,
    /// Where the Kalman covariances are, for the Kalman optimizers.
    #[serde(default)]
    pub covariance: Option<CovarianceFile>,
    /// Parameters of the best model so far.
    pub best_params: Vec<f64>,
    /// Its selection loss (+∞ before the first selection).
    #[serde(deserialize_with = "super::log::missing::or_infinity")]
    pub best_loss: f64,
    /// Epoch at which it was reached.
    pub best_epoch: usize,
    /// Divergence recoveries so far.
    pub recoveries: usize,
    /// The log up to here.
    pub log: Vec<LogRow>,
    /// The learning-curve lines up to here (none before they existed).
    #[serde(default)]
    pub lcurve: Vec<LcurveRow>,
}

impl Checkpoint {
    /// Stamps format and version.
    pub fn stamp(&mut self) {
        self.format = FORMAT.into();
        self.version = VERSION;
    }

    /// Writes the checkpoint atomically; `kalman` (the live filter, whose
    /// covariances the JSON does not hold) goes to the side file first,
    /// every rank of `comm` sending its blocks. Every rank must call it;
    /// rank 0 writes.
    pub fn save(&mut self, path: &Path, kalman: Option<&Kalman>, comm: &dyn Comm) -> Result<()> {
        let prefix = side_prefix(path);
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Some(k) = kalman {
            let file = format!("{prefix}{}.npy", self.step);
            let Some(checksum) = k.write_covariance_on(comm, &dir.join(&file))? else {
                return Ok(());
            };
            self.covariance = Some(CovarianceFile { file, checksum });
        }
        if comm.rank() != 0 {
            return Ok(());
        }
        let text = serde_json::to_string(self).map_err(|e| Error::file(path, e.to_string()))?;
        crate::io::write_atomic(path, |w| w.write_all(text.as_bytes()))?;
        // Older side files are now unreferenced; failing to remove one is harmless.
        let keep = self.covariance.as_ref().map(|c| c.file.as_str());
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&prefix)
                    && name.ends_with(".npy")
                    && Some(name.as_str()) != keep
                {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Reads a checkpoint, checking its format and version.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_on(path, Placement::default())
    }

    /// Reads a checkpoint for the rank of `placement`, which keeps its
    /// share of a Kalman filter's blocks (the file may have been written
    /// on any number of ranks).
    pub fn load_on(path: &Path, placement: Placement) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut c = Self::parse(&text, path)?;
        if let OptimizerState::Kalman(k) = &mut c.optimizer {
            let side = c.covariance.as_ref().ok_or_else(|| {
                Error::file(
                    path,
                    "a Kalman-filter checkpoint without its covariance file",
                )
            })?;
            check_tiling(k).map_err(|m| Error::file(path, m))?;
            // Blocks checked: this rank's share of them can be worked out.
            *k = k.without_covariance().stored(k.precision(), placement);
            let dir = path.parent().unwrap_or(Path::new("."));
            k.read_covariance(&dir.join(&side.file), side.checksum)?;
        }
        Ok(c)
    }

    /// Parses checkpoint JSON (`path` names it in errors), checking its
    /// format and version; a Kalman filter's covariances are not read.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let not_ours = |e: serde_json::Error| match e.line() {
            0 => Error::file(path, format!("not a forcefit checkpoint: {e}")),
            line => Error::parse(path, line, format!("not a forcefit checkpoint: {e}")),
        };
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(not_ours)?;
        upgrade_v1(&mut value);
        let c: Checkpoint = serde_json::from_value(value).map_err(not_ours)?;
        if c.format != FORMAT || c.version != VERSION {
            return Err(Error::file(
                path,
                format!(
                    "checkpoint format {} version {} is not supported (expected {FORMAT} {VERSION})",
                    c.format, c.version
                ),
            ));
        }
        Ok(c)
    }
}

/// Version 1 (NEP only) stored the descriptor scales as `q_scaler`; version
/// 2 stores them as the NEP family's state. Everything else is unchanged.
fn upgrade_v1(value: &mut serde_json::Value) {
    let Some(object) = value.as_object_mut() else {
        return;
    };
    let is_v1 = object.get("format").and_then(|f| f.as_str()) == Some(FORMAT)
        && object.get("version").and_then(|v| v.as_u64()) == Some(1);
    if let (true, Some(q_scaler)) = (is_v1, object.remove("q_scaler")) {
        object.insert(
            "model_state".into(),
            serde_json::json!({ "nep": { "q_scaler": q_scaler } }),
        );
        object.insert("version".into(), VERSION.into());
    }
}

/// Side files of `checkpoint.json` are `checkpoint-kalman-<step>.npy`.
fn side_prefix(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    format!("{}-kalman-", stem.unwrap_or_else(|| "checkpoint".into()))
}
