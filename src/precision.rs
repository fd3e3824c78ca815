//! The floating-point types forcefit can compute in or store as: one
//! setting shared by the Kalman covariance's storage
//! (`optimizer.covariance_precision`) and DeePMD's embedding networks
//! (`model.precision`).

use serde::{Deserialize, Serialize};

/// float32 or float64, as configurations and deepmd-kit's files name them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 4 bytes per value.
    Float32,
    /// 8 bytes per value.
    #[default]
    Float64,
}

impl Precision {
    /// Bytes per value.
    pub fn bytes(self) -> usize {
        match self {
            Precision::Float32 => 4,
            Precision::Float64 => 8,
        }
    }

    /// The name in configurations and deepmd-kit's files.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Float32 => "float32",
            Precision::Float64 => "float64",
        }
    }
}
