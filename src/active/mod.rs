//! Active learning: a committee's model deviation on MD frames (DP-GEN's
//! `model_devi.out`, GPUMD's `active.out`/`active.xyz`) and the choice of
//! frames to label next (DP-GEN's trust levels, farthest-point sampling).
//!
//! Sits above `model` and `io` like prediction: it reads frames, runs the
//! members, and writes the peers' file layouts. See docs/deviation.md.

pub mod committee;
pub mod deviation;
pub mod fps;
pub mod model_devi;
pub mod select;
pub mod xyz;

pub use committee::{Committee, Member};
pub use deviation::{Deviation, Options};

use crate::error::Result;
use crate::io::{self, Format, extxyz::FrameInfo};
use crate::structure::Structure;
use std::path::Path;

/// One frame of a trajectory: the structure and where it sits in the run.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Species, positions, cell, pbc (labels, if any, are not used).
    pub structure: Structure,
    /// `step=` / `Time=` of an extended XYZ frame.
    pub info: FrameInfo,
}

impl Frame {
    /// The MD step of the frame: its `step=`, else an integral `Time=`,
    /// else `index` (its 0-based position in its file).
    pub fn step(&self, index: usize) -> i64 {
        self.info.md_step().unwrap_or(index as i64)
    }

    /// GPUMD's time column: `Time=` when given, else the step.
    pub fn time(&self, index: usize) -> f64 {
        self.info.time.unwrap_or(self.step(index) as f64)
    }
}

/// Reads every frame of `path`; extended XYZ frames keep `step=`/`Time=`.
pub fn read_frames(path: &Path, format: Option<Format>) -> Result<Vec<Frame>> {
    let format = match format {
        Some(f) => f,
        None => io::detect(path)?,
    };
    if format == Format::ExtXyz {
        let frames = io::extxyz::read_with_info(path)?;
        return Ok(frames
            .into_iter()
            .map(|(structure, info)| Frame { structure, info })
            .collect());
    }
    Ok(io::read(path, Some(format))?
        .into_iter()
        .map(|structure| Frame {
            structure,
            info: FrameInfo::default(),
        })
        .collect())
}
