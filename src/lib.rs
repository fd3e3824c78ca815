//! forcefit trains machine-learning interatomic potentials on DFT energies,
//! forces and virials, and writes models that MD engines load directly.
//!
//! Data flows one way: `io` → [`structure::Structure`] → `neighbors` →
//! [`model::Prepared`] → [`model::Model::predict`] → metrics.
#![deny(missing_docs)]

pub mod active;
pub mod batch;
pub mod buffers;
pub mod dist;
pub mod dropin;
pub mod elements;
pub mod error;
pub mod io;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod neighbors;
pub mod nn;
pub mod optim;
pub mod potentials;
pub mod precision;
pub mod structure;
pub mod train;
pub mod validate;

pub use error::{Error, Result};
