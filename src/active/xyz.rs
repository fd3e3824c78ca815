//! Frames written as extended XYZ without any labels: what a committee
//! run produces is not DFT data, so no `energy=`, `forces` or `virial=`
//! that a trainer could mistake for it. GPUMD's `active.xyz` is the model:
//! the deviation goes in the comment line and a per-atom column.

use crate::io::extxyz::{Extras, write_frame_with};
use crate::structure::{Labels, Structure};
use std::io::{self, Write};

/// Writes one frame with forcefit's extended XYZ writer, its labels
/// dropped: `Lattice`, `Properties=species:S:1:pos:R:3` (plus `column`,
/// one real per atom, when given), `pbc`, then `info` as `key=value` pairs
/// (values must not contain whitespace).
pub fn write_frame(
    w: &mut dyn Write,
    s: &Structure,
    info: &[(&str, String)],
    column: Option<(&str, &[f64])>,
) -> io::Result<()> {
    let bare = Structure {
        labels: Labels::default(),
        ..s.clone()
    };
    let columns: Vec<(&str, &[f64])> = column.into_iter().collect();
    write_frame_with(
        w,
        &bare,
        &Extras {
            info,
            columns: &columns,
        },
    )
}
