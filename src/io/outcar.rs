//! VASP OUTCAR: every ionic step with positions and forces is a structure.
//!
//! An ionic step ends at its `free  energy   TOTEN  =  E eV` line (the
//! force-consistent energy, as dpdata takes it; the electronic steps print
//! `free energy    TOTEN`, spaced differently). Within a step:
//!
//! - `direct lattice vectors`: the next three lines start with the cell
//!   rows a, b, c (Å); the last such block of the step is its cell;
//! - `FORCE on cell =-STRESS` … `in kB  XX YY ZZ XY YZ ZX`: the stress
//!   (kBar), which becomes the virial (see [`super::vasp`]);
//! - `POSITION   TOTAL-FORCE (eV/Angst)`, a dashed line, then one line
//!   `x y z fx fy fz` per atom (Å, eV/Å);
//! - `Iteration  k(  n)` lines: n counts the electronic steps. A step whose
//!   count reached NELM did not converge and is skipped with a warning
//!   (dpdata's rule).
//!
//! The species come from the header: one `TITEL  = PAW_PBE O 08Apr2002`
//! line per POTCAR (or, when there is none, the `POTCAR:` lines, which
//! VASP prints twice) paired with `ions per type =  2 4`. With `NWRITE =
//! 0` VASP prints positions and forces for a few steps only; the others
//! are skipped. Steps of a machine-learned force field (`ML` in the block
//! titles) are not DFT data and are ignored.

use super::vasp::{Parsed, Skipped, element_of_potcar, reals, virial_from_kbar};
use crate::error::{Error, Result};
use crate::io::read_text;
use crate::structure::{Labels, Origin, Structure};
use std::path::Path;

/// Reads every usable ionic step of an OUTCAR, warning on stderr about the
/// steps it skips.
pub fn read(path: &Path) -> Result<Vec<Structure>> {
    let text = read_text(path)?;
    parse(&text, path)?.into_structures(path)
}

/// Parses the text of an OUTCAR; `path` is used in origins and errors.
pub fn parse(text: &str, path: &Path) -> Result<Parsed> {
    let lines: Vec<&str> = text.lines().collect();
    let mut p = Parser {
        path,
        lines: &lines,
        header: Header::default(),
        step: Step::default(),
        n_steps: 0,
        out: Parsed::default(),
    };
    let mut i = 0;
    while i < lines.len() {
        i = p.line(i)?;
    }
    p.finish();
    Ok(p.out)
}

/// What the header says about the run.
#[derive(Default)]
struct Header {
    /// Elements of the `TITEL` lines, one per POTCAR.
    titel: Vec<String>,
    /// Elements of the `POTCAR:` lines (each POTCAR listed twice).
    potcar: Vec<String>,
    /// `ions per type` counts and their line.
    counts: Option<(usize, Vec<usize>)>,
    nelm: Option<usize>,
    nwrite: Option<usize>,
    /// The species of every atom, once the first atom block needed them.
    species: Option<Vec<String>>,
}

/// The ionic step being read.
#[derive(Default)]
struct Step {
    /// The largest electronic step count of its `Iteration` lines.
    electronic: usize,
    cell: Option<[[f64; 3]; 3]>,
    /// Inside a `FORCE on cell` block, before its `in kB` line.
    in_stress: bool,
    stress: Option<[[f64; 3]; 3]>,
    atoms: Option<Atoms>,
}

/// A `POSITION  TOTAL-FORCE` block.
struct Atoms {
    /// 1-based line of its title.
    line: usize,
    positions: Vec<[f64; 3]>,
    forces: Vec<[f64; 3]>,
}

struct Parser<'a> {
    path: &'a Path,
    lines: &'a [&'a str],
    header: Header,
    step: Step,
    /// Ionic steps ended so far.
    n_steps: usize,
    out: Parsed,
}

impl Parser<'_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> Error {
        Error::parse(self.path, line, msg)
    }

    /// Handles line `i` (0-based) and returns the index of the next line
    /// to read (blocks consume several).
    fn line(&mut self, i: usize) -> Result<usize> {
        let l = self.lines[i];
        let no = i + 1;
        if l.contains("free  energy   TOTEN") {
            self.end_step(no, l)?;
        } else if l.contains("free  energy ML TOTEN") {
            // A machine-learned step: nothing of it is DFT data.
            self.step = Step::default();
        } else if l.contains("Iteration") && l.trim_start().starts_with('-') {
            if let Some(n) = electronic_count(l) {
                self.step.electronic = self.step.electronic.max(n);
            }
        } else if l.contains("direct lattice vectors") {
            return self.cell(i);
        } else if l.contains("FORCE on cell =-STRESS") && !l.contains("ML") {
            self.step.in_stress = true;
        } else if self.step.in_stress && l.trim_start().starts_with("in kB") {
            self.stress(no, l)?;
        } else if l.contains("TOTAL-FORCE") && l.contains("POSITION") && !l.contains("ML") {
            return self.atoms(i);
        } else if self.n_steps == 0 {
            self.header_line(no, l)?;
        }
        Ok(i + 1)
    }

    /// Collects what the header lines say (before the first ionic step).
    fn header_line(&mut self, no: usize, l: &str) -> Result<()> {
        let err = |msg: String| Error::parse(self.path, no, msg);
        let h = &mut self.header;
        let toks: Vec<&str> = l.split_whitespace().collect();
        if toks.first() == Some(&"TITEL") {
            let name = toks
                .get(3)
                .ok_or_else(|| err("expected 'TITEL = <functional> <element> <date>'".into()))?;
            h.titel.push(element_of_potcar(name));
        } else if toks.first() == Some(&"POTCAR:") {
            let name = toks
                .get(2)
                .ok_or_else(|| err("expected 'POTCAR: <functional> <element> <date>'".into()))?;
            h.potcar.push(element_of_potcar(name));
        } else if l.contains("ions per type =") {
            let counts = ions_per_type(l).map_err(err)?;
            if let Some((first, c)) = &h.counts
                && *c != counts
            {
                return Err(err(format!(
                    "'ions per type' differs from line {first}: {counts:?} vs {c:?}"
                )));
            }
            h.counts = Some((no, counts));
        } else {
            if h.nelm.is_none() {
                h.nelm = integer_after(l, "NELM");
            }
            if h.nwrite.is_none() {
                h.nwrite = integer_after(l, "NWRITE");
            }
        }
        Ok(())
    }

    /// Reads the three cell rows after a `direct lattice vectors` line.
    fn cell(&mut self, i: usize) -> Result<usize> {
        let mut cell = [[0.0; 3]; 3];
        for (d, row) in cell.iter_mut().enumerate() {
            let k = i + 1 + d;
            let line = self.lines.get(k).ok_or_else(|| {
                self.err(
                    self.lines.len() + 1,
                    format!(
                        "the file ends inside the lattice vectors of line {}; expected 3 rows",
                        i + 1
                    ),
                )
            })?;
            *row = reals::<3>(line, "a lattice vector").map_err(|m| self.err(k + 1, m))?;
        }
        self.step.cell = Some(cell);
        Ok(i + 4)
    }

    /// Parses `in kB  XX YY ZZ XY YZ ZX` into the full stress tensor.
    fn stress(&mut self, no: usize, l: &str) -> Result<()> {
        let rest = l.trim_start().trim_start_matches("in kB");
        let [xx, yy, zz, xy, yz, zx] =
            reals::<6>(rest, "the stress XX YY ZZ XY YZ ZX in kB").map_err(|m| self.err(no, m))?;
        self.step.stress = Some([[xx, xy, zx], [xy, yy, yz], [zx, yz, zz]]);
        self.step.in_stress = false;
        Ok(())
    }

    /// Reads a `POSITION  TOTAL-FORCE` block: a dashed line, then one line
    /// per atom.
    fn atoms(&mut self, i: usize) -> Result<usize> {
        let n = self.species(i + 1)?.len();
        let eof = self.lines.len() + 1;
        let truncated = |k: usize| {
            self.err(
                eof,
                format!(
                    "truncated: the file ends inside the POSITION/TOTAL-FORCE block of line {} \
                     after {k} of {n} atom lines",
                    i + 1
                ),
            )
        };
        match self.lines.get(i + 1) {
            None => return Err(truncated(0)),
            Some(l) if l.trim_start().starts_with('-') => {}
            Some(l) => {
                return Err(self.err(
                    i + 2,
                    format!("expected a dashed line after POSITION/TOTAL-FORCE, found '{l}'"),
                ));
            }
        }
        // `n` is bounded by the file's length (see `species`).
        let mut positions = Vec::with_capacity(n);
        let mut forces = Vec::with_capacity(n);
        for k in 0..n {
            let at = i + 2 + k;
            let line = self.lines.get(at).ok_or_else(|| truncated(k))?;
            let what = format!("x y z fx fy fz of atom {} of {n}", k + 1);
            let v = reals::<6>(line, &what).map_err(|m| self.err(at + 1, m))?;
            positions.push([v[0], v[1], v[2]]);
            forces.push([v[3], v[4], v[5]]);
        }
        self.step.atoms = Some(Atoms {
            line: i + 1,
            positions,
            forces,
        });
        Ok(i + 2 + n)
    }

    /// The species of every atom, from the header (worked out once).
    fn species(&mut self, no: usize) -> Result<&[String]> {
        if self.header.species.is_none() {
            let s = species(&self.header, self.lines.len()).map_err(|m| self.err(no, m))?;
            self.header.species = Some(s);
        }
        Ok(self.header.species.as_deref().unwrap_or_default())
    }

    /// Ends the ionic step at its `free  energy   TOTEN` line.
    fn end_step(&mut self, no: usize, l: &str) -> Result<()> {
        self.n_steps += 1;
        let step = std::mem::take(&mut self.step);
        let energy = toten(l).map_err(|m| self.err(no, m))?;
        let skip = |why: String| Skipped {
            step: self.n_steps,
            line: no,
            why,
        };
        let (Some(atoms), Some(cell)) = (step.atoms, step.cell) else {
            if self.header.nwrite == Some(0) {
                self.out.skipped.push(skip(
                    "no positions and forces (NWRITE = 0 prints them for a few steps only)".into(),
                ));
                return Ok(());
            }
            return Err(self.err(
                no,
                format!(
                    "ionic step {} has no POSITION/TOTAL-FORCE block or no 'direct lattice \
                     vectors' before its energy; expected both in every step (only NWRITE = 0 \
                     omits them)",
                    self.n_steps
                ),
            ));
        };
        let nelm = self.header.nelm.ok_or_else(|| {
            self.err(
                no,
                "no NELM in the header; expected 'NELM = N' to tell converged steps",
            )
        })?;
        if step.electronic >= nelm {
            self.out.skipped.push(skip(format!(
                "the electronic loop reached NELM = {nelm} iterations without converging"
            )));
            return Ok(());
        }
        let species = self.species(atoms.line)?.to_vec();
        let s = Structure {
            species,
            positions: atoms.positions,
            cell: Some(cell),
            pbc: [true; 3],
            labels: Labels {
                energy: Some(energy),
                forces: Some(atoms.forces),
                virial: step.stress.map(|s| virial_from_kbar(&s, &cell)),
                ..Labels::default()
            },
            origin: Origin {
                path: self.path.to_path_buf(),
                frame: self.out.structures.len(),
                line: atoms.line,
            },
        };
        s.validate()?;
        self.out.structures.push(s);
        Ok(())
    }

    /// At the end of the file: a step cut off after its forces (an
    /// interrupted run) is skipped with a warning.
    fn finish(&mut self) {
        if let Some(atoms) = &self.step.atoms {
            self.out.skipped.push(Skipped {
                step: self.n_steps + 1,
                line: atoms.line,
                why: "the file ends before its 'free  energy   TOTEN' line (an interrupted run?)"
                    .into(),
            });
        }
    }
}

/// The species of every atom: the POTCAR elements paired with `ions per
/// type`. The atom count is bounded by the file's line count, since every
/// atom needs a line of its own in a force block.
fn species(h: &Header, n_lines: usize) -> std::result::Result<Vec<String>, String> {
    let Some((_, counts)) = &h.counts else {
        return Err("no 'ions per type =' line before the first atom block".into());
    };
    let names: &[String] = if !h.titel.is_empty() {
        &h.titel
    } else {
        // VASP lists every POTCAR twice in `POTCAR:` lines.
        let half = h.potcar.len() / 2;
        if h.potcar.is_empty() || h.potcar[..half] != h.potcar[half..] {
            return Err(format!(
                "cannot tell the elements: no TITEL lines, and the POTCAR: lines {:?} are not \
                 one list printed twice",
                h.potcar
            ));
        }
        &h.potcar[..half]
    };
    if names.len() != counts.len() {
        return Err(format!(
            "{} POTCAR elements {names:?} but {} counts in 'ions per type' {counts:?}",
            names.len(),
            counts.len()
        ));
    }
    let mut total = 0usize;
    for &c in counts {
        total = total
            .checked_add(c)
            .filter(|&t| t <= n_lines)
            .ok_or_else(|| {
                format!("'ions per type' {counts:?} is more atoms than the file has lines")
            })?;
    }
    let mut out = Vec::with_capacity(total);
    for (name, &c) in names.iter().zip(counts) {
        out.extend(std::iter::repeat_n(name.clone(), c));
    }
    Ok(out)
}

/// The counts after `ions per type =`.
fn ions_per_type(l: &str) -> std::result::Result<Vec<usize>, String> {
    let (_, rest) = l.split_once('=').unwrap_or((l, ""));
    let counts = rest
        .split_whitespace()
        .map(|t| t.parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| format!("expected 'ions per type = N1 N2 ...', found '{}'", l.trim()))?;
    if counts.is_empty() || counts.contains(&0) {
        return Err(format!(
            "expected positive atom counts after 'ions per type =', found '{}'",
            rest.trim()
        ));
    }
    Ok(counts)
}

/// The electronic step count n of `--- Iteration  k(  n) ---`.
fn electronic_count(l: &str) -> Option<usize> {
    let rest = &l[l.find("Iteration")?..];
    let inner = rest.split_once('(')?.1.split_once(')')?.0;
    inner.trim().parse().ok()
}

/// The integer of `KEY = N` (`NELM   =     60;` → 60), if `l` has one;
/// `KEY` must not be the start of a longer name (`NELMIN`).
fn integer_after(l: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(k) = l[from..].find(key) {
        let after = &l[from + k + key.len()..];
        if let Some(v) = after.trim_start().strip_prefix('=') {
            let digits: String = v
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
        from += k + key.len();
    }
    None
}

/// The energy of `free  energy   TOTEN  =   -28.38622624 eV`.
fn toten(l: &str) -> std::result::Result<f64, String> {
    let value = l.split_once('=').map(|(_, v)| v).unwrap_or("");
    let tok = value.split_whitespace().next().unwrap_or("");
    crate::io::parse_real(tok).map_err(|e| format!("free energy TOTEN: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_counts() {
        assert_eq!(
            integer_after("   NELM   =     60;   NELMIN=  4", "NELM"),
            Some(60)
        );
        assert_eq!(integer_after("   NELMIN=  4; NELM = 7", "NELM"), Some(7));
        assert_eq!(integer_after("   NELMIN=  4", "NELM"), None);
        assert_eq!(
            electronic_count("------ Iteration      2(  15)  ------"),
            Some(15)
        );
        assert_eq!(ions_per_type("   ions per type =   4   1").unwrap(), [4, 1]);
        assert!(ions_per_type("   ions per type =   4   x").is_err());
        assert_eq!(
            toten("  free  energy   TOTEN  =       -23.96537837 eV").unwrap(),
            -23.96537837
        );
    }
}
