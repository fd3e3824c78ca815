//! Writing extended XYZ that both GPUMD and ASE read back.
//!
//! Numbers are written with Rust's shortest round-trip formatting (`{:?}`
//! of f64: `0.1`, `1e-20`, `-0.0`), so reading a file back gives
//! bit-identical values. Keys follow ASE's spelling (`Lattice`,
//! `Properties`, lowercase others), since ASE's reader is case-sensitive;
//! GPUMD's is not.
//!
//! ASE (`ase.io.extxyz`) puts `energy=`, `stress=` and the per-atom
//! `forces` and `energies` columns into a `SinglePointCalculator`; it
//! reshapes 9-value `stress`/`virial` in Fortran (column) order, which
//! equals our row-major order for the symmetric tensors of DFT data. The
//! virial stays in `atoms.info["virial"]`, which is what GPUMD reads.

use crate::error::Result;
use crate::structure::{Structure, det3};
use std::io::{self, Write};
use std::path::Path;

/// Writes one frame. `atomic_energies` (eV, one per atom), if given, is
/// written as an `energies:R:1` column (ASE's name for per-atom energies).
///
/// Fails with `InvalidInput` on values that could not be read back:
/// non-finite numbers, mismatched lengths, or species / `config_type`
/// containing whitespace or line breaks where they would break the line.
pub fn write_frame(
    w: &mut dyn Write,
    s: &Structure,
    atomic_energies: Option<&[f64]>,
) -> io::Result<()> {
    let energies = atomic_energies.map(|e| [("energies", e)]);
    let extras = Extras {
        info: &[],
        columns: energies.as_ref().map_or(&[], |c| c.as_slice()),
    };
    write_frame_with(w, s, &extras)
}

/// What a frame carries besides the structure and its labels.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras<'a> {
    /// `key=value` pairs appended to the comment line (values without
    /// whitespace).
    pub info: &'a [(&'a str, String)],
    /// Per-atom real columns, `name:R:1`, one value per atom each.
    pub columns: &'a [(&'a str, &'a [f64])],
}

/// [`write_frame`] with any extra info pairs and per-atom columns (a
/// committee's `force_deviation`, GPUMD's `active.xyz` layout), checked
/// as the rest.
pub fn write_frame_with(w: &mut dyn Write, s: &Structure, extras: &Extras<'_>) -> io::Result<()> {
    check(s, extras.columns)?;
    let mut c = String::with_capacity(256);
    if let Some(cell) = &s.cell {
        c.push_str("Lattice=\"");
        push_reals(&mut c, cell.iter().flatten());
        c.push_str("\" ");
    }
    c.push_str("Properties=species:S:1:pos:R:3");
    if s.labels.forces.is_some() {
        c.push_str(":forces:R:3");
    }
    for (name, _) in extras.columns {
        c.push_str(&format!(":{name}:R:1"));
    }
    if let Some(e) = s.labels.energy {
        c.push_str(&format!(" energy={e:?}"));
    }
    if let Some(v) = &s.labels.virial {
        c.push_str(" virial=\"");
        push_reals(&mut c, v.iter());
        c.push('"');
        if let Some(cell) = &s.cell {
            let vol = det3(cell).abs();
            if vol > 0.0 {
                // ASE's stress: sigma = -W / V (eV/Å³).
                let stress = v.map(|x| -x / vol);
                c.push_str(" stress=\"");
                push_reals(&mut c, stress.iter());
                c.push('"');
            }
        }
    }
    let flag = |p: bool| if p { "T" } else { "F" };
    c.push_str(&format!(
        " pbc=\"{} {} {}\"",
        flag(s.pbc[0]),
        flag(s.pbc[1]),
        flag(s.pbc[2])
    ));
    if s.labels.weight != 1.0 {
        c.push_str(&format!(" weight={:?}", s.labels.weight));
    }
    if let Some(t) = &s.labels.config_type {
        c.push_str(" config_type=");
        c.push_str(&quote(t));
    }
    for (key, value) in extras.info {
        c.push_str(&format!(" {key}={value}"));
    }
    writeln!(w, "{}", s.n_atoms())?;
    writeln!(w, "{c}")?;
    let mut line = String::with_capacity(128);
    for i in 0..s.n_atoms() {
        line.clear();
        line.push_str(&s.species[i]);
        line.push(' ');
        push_reals(&mut line, s.positions[i].iter());
        if let Some(f) = &s.labels.forces {
            line.push(' ');
            push_reals(&mut line, f[i].iter());
        }
        for (_, values) in extras.columns {
            line.push_str(&format!(" {:?}", values[i]));
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes all structures to `path` atomically (temporary file + rename).
pub fn write(path: &Path, structures: &[Structure]) -> Result<()> {
    crate::io::write_atomic(path, |w| {
        for s in structures {
            write_frame(w, s, None)?;
        }
        Ok(())
    })
}

/// Rejects what would make an unreadable or ambiguous file.
fn check(s: &Structure, columns: &[(&str, &[f64])]) -> io::Result<()> {
    let bad = |msg: String| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    let n = s.n_atoms();
    let origin = &s.origin;
    if s.species.len() != n {
        return bad(format!(
            "{origin}: {} species for {n} atoms",
            s.species.len()
        ));
    }
    if let Some(sp) = s
        .species
        .iter()
        .find(|x| x.is_empty() || x.chars().any(char::is_whitespace))
    {
        return bad(format!(
            "{origin}: species '{sp}' is empty or has whitespace"
        ));
    }
    if let Some(f) = &s.labels.forces
        && f.len() != n
    {
        return bad(format!("{origin}: {} force rows for {n} atoms", f.len()));
    }
    if let Some((name, e)) = columns.iter().find(|(_, e)| e.len() != n) {
        return bad(format!(
            "{origin}: {} values of {name} for {n} atoms",
            e.len()
        ));
    }
    if s.cell.is_none() && s.pbc.iter().any(|&p| p) {
        return bad(format!("{origin}: periodic structure without a cell"));
    }
    if let Some(t) = &s.labels.config_type
        && t.contains(['\n', '\r'])
    {
        return bad(format!("{origin}: config_type contains a line break"));
    }
    let mut all = s
        .positions
        .iter()
        .flatten()
        .chain(s.cell.iter().flatten().flatten())
        .chain(s.labels.energy.iter())
        .chain(s.labels.forces.iter().flatten().flatten())
        .chain(s.labels.virial.iter().flatten())
        .chain(columns.iter().flat_map(|(_, e)| e.iter()))
        .chain(std::iter::once(&s.labels.weight));
    if all.any(|x| !x.is_finite()) {
        return bad(format!("{origin}: a value to write is not finite"));
    }
    Ok(())
}

/// Appends space-separated shortest round-trip reals.
fn push_reals<'a>(out: &mut String, values: impl Iterator<Item = &'a f64>) {
    use std::fmt::Write as _;
    for (k, x) in values.enumerate() {
        if k > 0 {
            out.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{x:?}");
    }
}

/// A value as a bare word when safe, otherwise double-quoted with `"` and
/// `\` escaped.
fn quote(v: &str) -> String {
    let special = |c: char| c.is_whitespace() || "\"'{}[]=\\".contains(c);
    if !v.is_empty() && !v.chars().any(special) {
        return v.to_string();
    }
    let mut q = String::with_capacity(v.len() + 2);
    q.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}
