//! XSF structure files as used by aenet: one structure per file.
//!
//! ```text
//! # total energy = -19960.66173260 eV
//! CRYSTAL
//! PRIMVEC
//!   ax ay az
//!   bx by bz
//!   cx cy cz
//! PRIMCOORD
//! N 1
//! Ti x y z fx fy fz
//! ...
//! ```
//!
//! `CRYSTAL` is periodic in 3D (`SLAB`: a, b; `POLYMER`: a; `MOLECULE`: a
//! cell without periodicity). A non-periodic structure is an `ATOMS` block
//! instead: atom lines until a blank line or the end of the file, no cell.
//! Atom lines are `symbol x y z` with optional forces `fx fy fz`; the symbol
//! may be an atomic number. `CONVVEC` blocks are skipped. Lines starting
//! with `#` are comments; `# total energy = X eV` gives the energy label.

use crate::error::{Error, Result};
use crate::io::{has_extension, list_dir, parse_real, parse_species, read_text};
use crate::structure::{Labels, Origin, Structure};
use std::fs;
use std::path::Path;

/// Reads an XSF file, or every `*.xsf` file in a directory in natural
/// order of their names (`structure2` before `structure10`).
pub fn read(path: &Path) -> Result<Vec<Structure>> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![read_file(path)?]);
    }
    let files: Vec<_> = list_dir(path)?
        .into_iter()
        .filter(|p| p.is_file() && has_extension(p, "xsf"))
        .collect();
    if files.is_empty() {
        return Err(Error::file(path, "the directory holds no *.xsf files"));
    }
    files.iter().map(|f| read_file(f)).collect()
}

/// Reads one XSF file.
pub fn read_file(path: &Path) -> Result<Structure> {
    let text = read_text(path)?;
    parse(&text, path)
}

/// Parses the text of one XSF file; `path` is used in origins and errors.
pub fn parse(text: &str, path: &Path) -> Result<Structure> {
    let err = |line: usize, msg: String| Error::parse(path, line, msg);
    let lines: Vec<&str> = text.lines().collect();
    let mut energy: Option<(usize, f64)> = None;
    let mut pbc: Option<[bool; 3]> = None;
    let mut cell: Option<[[f64; 3]; 3]> = None;
    let mut atoms: Option<AtomBlock> = None;
    let mut i = 0;
    while i < lines.len() {
        let no = i + 1;
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(e) = total_energy(comment).map_err(|m| err(no, m))? {
                if let Some((first, _)) = energy {
                    return Err(err(
                        no,
                        format!("a second total energy (the first is on line {first})"),
                    ));
                }
                energy = Some((no, e));
            }
            continue;
        }
        let keyword = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if atoms.is_some() {
            return Err(err(
                no,
                format!("unexpected '{line}' after the atoms; expected one structure per file"),
            ));
        }
        match keyword.as_str() {
            "CRYSTAL" | "SLAB" | "POLYMER" | "MOLECULE" => {
                if pbc.is_some() {
                    return Err(err(
                        no,
                        format!("a second structure type keyword '{keyword}'"),
                    ));
                }
                pbc = Some(match keyword.as_str() {
                    "CRYSTAL" => [true; 3],
                    "SLAB" => [true, true, false],
                    "POLYMER" => [true, false, false],
                    _ => [false; 3],
                });
            }
            "PRIMVEC" | "CONVVEC" => {
                let mut m = [[0.0; 3]; 3];
                for row in &mut m {
                    let (rno, toks) = next_line(&lines, &mut i).ok_or_else(|| {
                        err(
                            lines.len() + 1,
                            format!("the file ends inside {keyword}; expected 3 lattice vectors"),
                        )
                    })?;
                    if toks.len() != 3 {
                        return Err(err(
                            rno,
                            format!(
                                "expected a lattice vector of 3 numbers after {keyword}, found {} fields",
                                toks.len()
                            ),
                        ));
                    }
                    for (d, x) in row.iter_mut().enumerate() {
                        *x = parse_real(toks[d]).map_err(|e| err(rno, e))?;
                    }
                }
                if keyword == "PRIMVEC" {
                    cell = Some(m);
                }
            }
            "PRIMCOORD" => {
                if cell.is_none() {
                    return Err(err(
                        no,
                        "PRIMCOORD before PRIMVEC; expected the cell first".into(),
                    ));
                }
                let (cno, toks) = next_line(&lines, &mut i).ok_or_else(|| {
                    err(
                        lines.len() + 1,
                        "the file ends after PRIMCOORD; expected 'N 1'".into(),
                    )
                })?;
                let n: usize = match toks.first().map(|t| t.parse()) {
                    Some(Ok(n)) if toks.len() <= 2 => n,
                    _ => {
                        return Err(err(
                            cno,
                            format!(
                                "expected 'N 1' (the atom count) after PRIMCOORD, found '{}'",
                                toks.join(" ")
                            ),
                        ));
                    }
                };
                let mut block = AtomBlock::default();
                for k in 0..n {
                    let (ano, toks) = next_line(&lines, &mut i).ok_or_else(|| {
                        err(
                            lines.len() + 1,
                            format!("truncated: the file ends after {k} of {n} atom lines"),
                        )
                    })?;
                    block.push(&toks).map_err(|m| err(ano, m))?;
                }
                atoms = Some(block);
            }
            "ATOMS" => {
                let mut block = AtomBlock::default();
                while i < lines.len() && !lines[i].trim().is_empty() {
                    let toks: Vec<&str> = lines[i].split_whitespace().collect();
                    block.push(&toks).map_err(|m| err(i + 1, m))?;
                    i += 1;
                }
                if block.positions.is_empty() {
                    return Err(err(no, "ATOMS is not followed by atom lines".into()));
                }
                atoms = Some(block);
            }
            _ => {
                return Err(err(
                    no,
                    format!(
                        "unexpected '{line}'; expected CRYSTAL, PRIMVEC, PRIMCOORD, ATOMS or a # comment"
                    ),
                ));
            }
        }
    }
    let Some(atoms) = atoms else {
        return Err(err(
            lines.len() + 1,
            "the file ends without atoms; expected a PRIMCOORD or ATOMS block".into(),
        ));
    };
    let pbc = pbc.unwrap_or([false; 3]);
    if pbc.iter().any(|&p| p) && cell.is_none() {
        return Err(err(
            lines.len() + 1,
            "a periodic structure needs PRIMVEC".into(),
        ));
    }
    let s = Structure {
        species: atoms.species,
        positions: atoms.positions,
        cell,
        pbc,
        labels: Labels {
            energy: energy.map(|(_, e)| e),
            forces: atoms.forces,
            ..Labels::default()
        },
        origin: Origin {
            path: path.to_path_buf(),
            frame: 0,
            line: 1,
        },
    };
    s.validate()?;
    Ok(s)
}

/// The next non-blank, non-comment line, split into fields, with its number.
fn next_line<'a>(lines: &[&'a str], i: &mut usize) -> Option<(usize, Vec<&'a str>)> {
    while *i < lines.len() {
        let line = lines[*i].trim();
        *i += 1;
        if !line.is_empty() && !line.starts_with('#') {
            return Some((*i, line.split_whitespace().collect()));
        }
    }
    None
}

/// Parses `total energy = X eV` from a comment (after `#`); other
/// comments give `None`.
fn total_energy(comment: &str) -> std::result::Result<Option<f64>, String> {
    let c = comment.trim();
    let Some((key, value)) = c.split_once('=') else {
        return Ok(None);
    };
    if !key.trim().eq_ignore_ascii_case("total energy") {
        return Ok(None);
    }
    let mut toks = value.split_whitespace();
    let x = toks
        .next()
        .ok_or("'total energy =' without a value; expected '# total energy = X eV'")?;
    let e = parse_real(x).map_err(|e| format!("total energy: {e}"))?;
    match toks.next() {
        None => Ok(Some(e)),
        Some(u) if u.eq_ignore_ascii_case("ev") && toks.next().is_none() => Ok(Some(e)),
        Some(u) => Err(format!("total energy in unit '{u}'; expected eV")),
    }
}

/// Atoms of a PRIMCOORD or ATOMS block.
#[derive(Default)]
struct AtomBlock {
    species: Vec<String>,
    positions: Vec<[f64; 3]>,
    forces: Option<Vec<[f64; 3]>>,
}

impl AtomBlock {
    /// Parses `symbol x y z [fx fy fz]`; all lines must agree on forces.
    fn push(&mut self, toks: &[&str]) -> std::result::Result<(), String> {
        let with_forces = match toks.len() {
            4 => false,
            7 => true,
            k => {
                return Err(format!(
                    "expected an atom line 'symbol x y z [fx fy fz]' (4 or 7 fields), found {k} fields"
                ));
            }
        };
        if !self.positions.is_empty() && with_forces != self.forces.is_some() {
            return Err(format!(
                "this atom line {} forces but the earlier ones {}",
                if with_forces { "has" } else { "has no" },
                if with_forces { "do not" } else { "do" }
            ));
        }
        let sym = parse_species(toks[0])?;
        let v = |k: usize| -> std::result::Result<[f64; 3], String> {
            let mut r = [0.0; 3];
            for (d, x) in r.iter_mut().enumerate() {
                *x = parse_real(toks[k + d]).map_err(|e| format!("field {}: {e}", k + d + 1))?;
            }
            Ok(r)
        };
        self.positions.push(v(1)?);
        if with_forces {
            let f = v(4)?;
            self.forces.get_or_insert_with(Vec::new).push(f);
        }
        self.species.push(sym);
        Ok(())
    }
}
