//! Optimizers over a flat parameter vector: Adam/AdamW with learning-rate
//! schedules (gradient-based), the block-diagonal Extended Kalman Filter
//! (FEKF/RLEKF), and SNES (GPUMD's derivative-free baseline).

pub mod adam;
pub mod kalman;
pub mod schedule;
pub mod snes;

pub use adam::Adam;
pub use kalman::{Kalman, KalmanSettings, Placement, Precision};
pub use schedule::Schedule;
pub use snes::Snes;
