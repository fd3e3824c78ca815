//! Training: the loop over epochs and batches, and what it needs.

pub mod aenet_input;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod deepmd_input;
pub mod directional;
pub mod fekf;
pub mod gpumd_input;
pub mod gradcheck;
pub mod lcurve;
pub mod log;
pub mod outputs;
pub mod plots;
pub mod run;
pub mod state;
pub mod step;
pub mod stepper;
