//! Training: the loop over epochs and batches, and what it needs.

pub mod aenet_input;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod deepmd_input;
pub mod directional;
pub mod gpumd_input;
pub mod gradcheck;
pub mod lcurve;
pub mod log;
pub mod optimizer;
pub mod outputs;
pub mod plots;
pub mod progress;
pub mod run;
pub mod shard;
pub mod state;
pub mod step;

// The optimizer's pieces lived here before they became `optimizer`;
// these paths stay for the code that names them.
pub use optimizer::{fekf, stepper};
