//! Random starting parameters.
