//! Training: the loop over epochs and batches, and what it needs.

pub mod checkpoint;
pub mod committee;
pub mod config;
pub mod data;
pub mod directional;
pub mod gradcheck;
pub mod lcurve;
pub mod log;
pub mod optimizer;
pub mod outputs;
pub mod plots;
pub mod prepare;
pub mod progress;
pub mod run;
pub mod shard;
pub mod state;
pub mod step;
pub mod warm;
