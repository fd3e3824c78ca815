//! What the VASP readers (OUTCAR, vasprun.xml) share: the stress unit, the
//! virial it becomes, Fortran's fused number fields, and the ionic steps a
//! reader skips.
//!
//! VASP prints the stress in kBar with the sign of a pressure (positive
//! when the cell pushes outwards), which is GPUMD's virial sign: W = σ_VASP
//! · V with σ_VASP converted to eV/Å³ (1 kBar = 0.1 GPa; 1 eV/Å³ =
//! 160.21766208 GPa), as dpdata's `virials` are.

use crate::error::{Error, Result};
use crate::structure::{Structure, det3};
use std::path::Path;

/// kBar per eV/Å³ (CODATA 2014: 1 eV/Å³ = 160.21766208 GPa = 1602.1766208 kBar).
pub const KBAR_PER_EV_PER_A3: f64 = 1602.1766208;

/// An ionic step a reader did not turn into a structure, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// 1-based ionic step, counted as the file counts them.
    pub step: usize,
    /// 1-based line where the step ends (or is cut off).
    pub line: usize,
    /// Why it was skipped.
    pub why: String,
}

/// The structures of a VASP file and the ionic steps left out.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The usable ionic steps, in order; each has passed `validate`.
    pub structures: Vec<Structure>,
    /// Steps left out (unconverged, unlabelled, cut off), in order.
    pub skipped: Vec<Skipped>,
}

impl Parsed {
    /// Prints a warning on stderr for the skipped steps (a run of
    /// consecutive steps skipped for one reason on one line) and returns
    /// the structures; no structure at all is an error (as for every reader).
    pub fn into_structures(self, path: &Path) -> Result<Vec<Structure>> {
        for run in self
            .skipped
            .chunk_by(|a, b| b.step == a.step + 1 && b.why == a.why)
        {
            let (first, last) = (&run[0], &run[run.len() - 1]);
            let steps = if run.len() == 1 {
                format!("ionic step {} (line {})", first.step, first.line)
            } else {
                format!(
                    "ionic steps {}-{} (lines {}-{})",
                    first.step, last.step, first.line, last.line
                )
            };
            eprintln!(
                "warning: {}: {steps} skipped: {}",
                path.display(),
                first.why
            );
        }
        if self.structures.is_empty() {
            return Err(Error::file(
                path,
                format!(
                    "no usable ionic step ({} skipped); expected at least one electronically \
                     converged step with positions, forces and an energy",
                    self.skipped.len()
                ),
            ));
        }
        Ok(self.structures)
    }
}

/// The virial W (eV, row-major) of a stress given in kBar as VASP prints
/// it, for a cell of volume |det(cell)|.
pub fn virial_from_kbar(stress: &[[f64; 3]; 3], cell: &[[f64; 3]; 3]) -> [f64; 9] {
    let scale = det3(cell).abs() / KBAR_PER_EV_PER_A3;
    let mut w = [0.0; 9];
    for (k, x) in w.iter_mut().enumerate() {
        *x = stress[k / 3][k % 3] * scale;
    }
    w
}

/// Cartesian positions of fractional coordinates: r = f · cell (cell rows
/// are the lattice vectors).
pub fn cartesian(fractional: &[f64; 3], cell: &[[f64; 3]; 3]) -> [f64; 3] {
    let mut r = [0.0; 3];
    for (j, x) in r.iter_mut().enumerate() {
        *x = (0..3).map(|i| fractional[i] * cell[i][j]).sum();
    }
    r
}

/// The number fields of a line of Fortran output. Fixed-width formats run
/// a negative number into the one before it when it fills its field
/// (`9.743894238-0.002993463`), so a field is also split before a `-`
/// that follows a digit or a point (never inside an exponent, `1.0E-05`).
pub fn fields(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for tok in line.split_whitespace() {
        let b = tok.as_bytes();
        let mut start = 0;
        for k in 1..b.len() {
            if b[k] == b'-' && (b[k - 1].is_ascii_digit() || b[k - 1] == b'.') {
                out.push(&tok[start..k]);
                start = k;
            }
        }
        out.push(&tok[start..]);
    }
    out
}

/// Parses the first `N` number fields of `line` (more may follow).
pub fn reals<const N: usize>(line: &str, what: &str) -> std::result::Result<[f64; N], String> {
    let f = fields(line);
    if f.len() < N {
        return Err(format!(
            "expected {N} numbers ({what}), found {} fields in '{}'",
            f.len(),
            line.trim()
        ));
    }
    let mut v = [0.0; N];
    for (k, x) in v.iter_mut().enumerate() {
        *x = crate::io::parse_real(f[k]).map_err(|e| format!("{what}, number {}: {e}", k + 1))?;
    }
    Ok(v)
}

/// The element of a POTCAR name (`Sn_d` → `Sn`, `H_GW` → `H`), in
/// canonical case when it names an element.
pub fn element_of_potcar(name: &str) -> String {
    let base = name.split('_').next().unwrap_or(name);
    crate::io::canonical_symbol(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_fields() {
        assert_eq!(
            fields(" 9.743894238-0.002993463  1.0E-05 -3"),
            ["9.743894238", "-0.002993463", "1.0E-05", "-3"]
        );
        assert_eq!(fields("-.151E+02 0.303E+02"), ["-.151E+02", "0.303E+02"]);
        assert_eq!(fields("1.5-2.5-3.5"), ["1.5", "-2.5", "-3.5"]);
    }

    #[test]
    fn potcar_names() {
        assert_eq!(element_of_potcar("Sn_d"), "Sn");
        assert_eq!(element_of_potcar("O"), "O");
        assert_eq!(element_of_potcar("H_h_GW"), "H");
    }

    #[test]
    fn kbar_virial() {
        let cell = [[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]];
        let s = [[1.0, 0.5, 0.0], [0.5, 2.0, 0.0], [0.0, 0.0, -1.0]];
        let w = virial_from_kbar(&s, &cell);
        assert!((w[0] - 1000.0 / KBAR_PER_EV_PER_A3).abs() < 1e-15);
        assert_eq!(w[1], w[3]);
        assert!(w[8] < 0.0);
    }
}
