//! Behler–Parrinello networks with Chebyshev descriptors (aenet)

pub mod file;
