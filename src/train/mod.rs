//! Training: the loop over epochs and batches, and what it needs.

pub mod config;
pub mod log;
pub mod plots;
pub mod step;
