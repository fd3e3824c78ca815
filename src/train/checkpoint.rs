//! Checkpoints: everything needed to continue a run exactly — parameters,
//! descriptor scales, optimizer state, the random generator's position,
//! the epoch and step counters, the best model so far and the log.
//! Written atomically as versioned JSON (floats round-trip bit for bit).

use super::log::LogRow;
use crate::error::{Error, Result};
use crate::optim::{Adam, Snes};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File format tag and version, checked on load.
const FORMAT: &str = "forcefit-checkpoint";
const VERSION: u32 = 1;

/// Optimizer state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerState {
    /// Adam or AdamW.
    Adam(Adam),
    /// SNES.
    Snes(Snes),
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
    /// Descriptor scales.
    pub q_scaler: Vec<f64>,
    /// Optimizer state.
    pub optimizer: OptimizerState,
    /// Parameters of the best model so far.
    pub best_params: Vec<f64>,
    /// Its selection loss.
    pub best_loss: f64,
    /// Epoch at which it was reached.
    pub best_epoch: usize,
    /// Divergence recoveries so far.
    pub recoveries: usize,
    /// The log up to here.
    pub log: Vec<LogRow>,
}

impl Checkpoint {
    /// Stamps format and version.
    pub fn stamp(&mut self) {
        self.format = FORMAT.into();
        self.version = VERSION;
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(self).map_err(|e| Error::file(path, e.to_string()))?;
        crate::io::write_atomic(path, |w| w.write_all(text.as_bytes()))
    }

    /// Reads a checkpoint, checking its format and version.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let c: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| Error::parse(path, e.line(), format!("not a forcefit checkpoint: {e}")))?;
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
