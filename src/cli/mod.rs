//! The command handlers of the `forcefit` binary (not part of the
//! library): each file parses one group of commands' arguments and calls
//! the library.

pub mod active;
pub mod convert;
pub mod evaluate;
pub mod training;

use anyhow::{Context, Result, bail};

/// Sets the size of rayon's global pool (`-j`); absent: all cores.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting up the thread pool")?;
    }
    Ok(())
}
