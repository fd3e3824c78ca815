//! Optimizers over a flat parameter vector: Adam/AdamW with learning-rate
//! schedules (gradient-based), and SNES (GPUMD's derivative-free baseline).

pub mod adam;
pub mod schedule;
pub mod snes;

pub use adam::Adam;
pub use schedule::Schedule;
pub use snes::Snes;
