//! The training configuration of a DeePMD model.

/// Placeholder.
#[derive(Debug)]
pub struct DeepmdConfig;
