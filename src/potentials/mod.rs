//! Classical interatomic potentials with fixed parameters.
//!
//! They implement the same [`Model`](crate::model::Model) trait as the
//! machine-learning models, with an empty parameter vector, so that every
//! tool that predicts with a model (evaluation, the finite-difference
//! harness, data-set generators) works with them unchanged. Their main use
//! is labelling small reference data sets whose "truth" is known exactly.

pub mod stillinger_weber;

pub use stillinger_weber::{StillingerWeber, SwParameters};
