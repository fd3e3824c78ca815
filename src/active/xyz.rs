//! Frames written as extended XYZ without any labels: what a committee
//! run produces is not DFT data, so no `energy=`, `forces` or `virial=`
//! that a trainer could mistake for it. GPUMD's `active.xyz` is the model:
//! the deviation goes in the comment line and a per-atom column.

use crate::structure::Structure;
use std::io::{self, Write};

/// Writes one frame: `Lattice`, `Properties=species:S:1:pos:R:3` (plus
/// `column`, one real per atom, when given), `pbc`, then `info` as
/// `key=value` pairs (values must not contain whitespace). Reals are
/// written in shortest round-trip form, as forcefit's extended XYZ writer.
pub fn write_frame(
    w: &mut dyn Write,
    s: &Structure,
    info: &[(&str, String)],
    column: Option<(&str, &[f64])>,
) -> io::Result<()> {
    if let Some((name, values)) = column
        && values.len() != s.n_atoms()
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: {} values of {name} for {} atoms",
                s.origin,
                values.len(),
                s.n_atoms()
            ),
        ));
    }
    let mut c = String::new();
    if let Some(cell) = &s.cell {
        c.push_str(&format!("Lattice=\"{}\" ", reals(cell.iter().flatten())));
    }
    c.push_str("Properties=species:S:1:pos:R:3");
    if let Some((name, _)) = column {
        c.push_str(&format!(":{name}:R:1"));
    }
    let flag = |p: bool| if p { "T" } else { "F" };
    c.push_str(&format!(
        " pbc=\"{} {} {}\"",
        flag(s.pbc[0]),
        flag(s.pbc[1]),
        flag(s.pbc[2])
    ));
    for (key, value) in info {
        c.push_str(&format!(" {key}={value}"));
    }
    writeln!(w, "{}\n{c}", s.n_atoms())?;
    for (i, (species, p)) in s.species.iter().zip(&s.positions).enumerate() {
        write!(w, "{species} {}", reals(p.iter()))?;
        if let Some((_, values)) = column {
            write!(w, " {:?}", values[i])?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// Space-separated shortest round-trip reals.
fn reals<'a>(values: impl Iterator<Item = &'a f64>) -> String {
    values
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}
