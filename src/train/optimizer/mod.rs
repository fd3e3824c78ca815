//! The optimizer as one unit: its state (Adam/AdamW, SNES or a Kalman
//! filter), its construction from the configuration, one step on a batch
//! and the recovery from a diverged one, the checks a restored state must
//! pass, and the FEKF measurements.
//!
//! The submodules depend only on each other (through their own paths, not
//! this file) and on the lower modules of `train` (`config`, `step`), so
//! that the checkpoint, the run state and the loop can all use the
//! optimizer without any of them being reached back from here.

mod build;
mod check;
pub mod fekf;
mod recovery;
mod state;
pub mod stepper;

pub use build::new_optimizer;
pub use fekf::{FekfSettings, FekfStep, Timing};
pub use recovery::Recovery;
pub use state::OptimizerState;
pub use stepper::{StepReport, Stepper};
