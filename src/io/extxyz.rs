//! Extended XYZ, as written by ASE and read by GPUMD's `nep`.
//!
//! A frame is a line with the atom count N, a comment line of `key=value`
//! pairs, then N atom lines laid out by `Properties=name:type:ncols:...`
//! (default `species:S:1:pos:R:3`). On the comment line, pairs are separated
//! by whitespace, spaces around `=` are allowed, values are bare or enclosed
//! in `"..."` (also `'...'`, `{...}`, `[...]`; `\` escapes), a key without
//! `=` is a flag meaning true, and keys are case-insensitive (GPUMD's rule;
//! mosi2n4 writes `Energy=`, `Virial=`). Each key forcefit reads may appear
//! once per frame; unknown keys are ignored. forcefit reads:
//!
//! - `Lattice="ax ay az bx by bz cx cy cz"`: cell rows a, b, c (Å);
//! - `pbc="T T T"`: default `T T T` with a Lattice, `F F F` without;
//! - `energy=` (eV);
//! - `virial=`: 9 values row-major (GPUMD: `vxx vxy vxz vyx ... vzz`) or 6
//!   in ASE's Voigt order xx yy zz yz xz xy; eV, W = -stress · V. Neither
//!   GPUMD nor ASE reads 6 values from a file (both want 9); 6 follow
//!   `ase.stress` (Voigt), not GPUMD's `*.out` order xx yy zz xy yz zx;
//! - `stress=`: eV/Å³ with ASE's sign, 9 or 6 values as for the virial;
//!   used as W = -stress · V when no `virial=` is given (GPUMD does the
//!   same), checked against the virial when both are;
//! - `weight=` (default 1) and `config_type=`;
//! - `step=` and `Time=` (kept by [`read_with_info`] for matching frames
//!   to an MD log; ignored when not a number);
//! - columns `pos` (or `positions`), `species` (symbols, or atomic numbers
//!   in an `I` column; `Z` if there is no `species`), `force` or `forces`;
//!   other columns are skipped. Symbols naming an element get canonical
//!   case (`PB` → `Pb`, as ASE does); an atom line must have exactly the
//!   columns Properties declares.
//!
//! The writer emits what ASE turns into a `SinglePointCalculator`: per-atom
//! `forces` and `energies` columns, `energy=`, and `stress=` (ASE keeps
//! `virial=` in `atoms.info`; GPUMD reads `virial=`, so both are written).

mod header;
mod write;

pub use write::{Extras, write, write_frame, write_frame_with};

use self::header::{Header, Kind, Property, parse_header, virial_from_stress};
use crate::error::{Error, Result};
use crate::io::{parse_real, parse_species, read_text};
use crate::structure::{Labels, Origin, Structure};
use std::path::Path;

/// Where a frame sits in an MD trajectory, from its comment line: `step=`
/// (an integer) and `Time=` (any case; GPUMD writes fs). Either is `None`
/// when absent or not a number.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameInfo {
    /// `step=`.
    pub step: Option<i64>,
    /// `Time=`.
    pub time: Option<f64>,
}

impl FrameInfo {
    /// The frame's MD step: `step=`, else `Time=` when it is integral.
    pub fn md_step(&self) -> Option<i64> {
        self.step
            .or_else(|| self.time.and_then(header::integral_real))
    }
}

/// Reads every frame of an extended XYZ file.
pub fn read(path: &Path) -> Result<Vec<Structure>> {
    Ok(read_with_info(path)?.into_iter().map(|(s, _)| s).collect())
}

/// [`read`], keeping each frame's [`FrameInfo`].
pub fn read_with_info(path: &Path) -> Result<Vec<(Structure, FrameInfo)>> {
    let text = read_text(path)?;
    let frames = parse_with_info(&text, path)?;
    if frames.is_empty() {
        return Err(Error::file(
            path,
            "the file holds no structures (expected an atom count on the first line)",
        ));
    }
    Ok(frames)
}

/// Parses extended XYZ text; `path` is only used in origins and errors.
/// Blank lines between frames are skipped; empty text gives no frames.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Structure>> {
    Ok(parse_with_info(text, path)?
        .into_iter()
        .map(|(s, _)| s)
        .collect())
}

/// [`parse`], keeping each frame's [`FrameInfo`].
pub fn parse_with_info(text: &str, path: &Path) -> Result<Vec<(Structure, FrameInfo)>> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let n_lines = text.lines().count();
    let mut out = Vec::new();
    while let Some((start, count_line)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()) {
        let frame = out.len();
        let ctx = Ctx { path, frame, start };
        let n_atoms: usize = count_line.trim().parse().map_err(|_| {
            ctx.err(
                start,
                format!(
                    "expected the atom count (a non-negative integer) on the first line of a \
                     frame, found '{}'",
                    count_line.trim()
                ),
            )
        })?;
        let Some((comment_no, comment)) = lines.next() else {
            return Err(ctx.err(
                n_lines + 1,
                "the file ends before the comment line of the frame",
            ));
        };
        let header = parse_header(comment).map_err(|e| ctx.err(comment_no, e))?;
        let layout = Layout::new(&header.properties).map_err(|e| ctx.err(comment_no, e))?;
        // The count is untrusted: never reserve more rows than the file has lines.
        let capacity = n_atoms.min(n_lines.saturating_sub(comment_no));
        let mut atoms = Atoms::with_capacity(capacity, layout.force.is_some());
        let mut tokens: Vec<&str> = Vec::with_capacity(layout.n_columns);
        for k in 0..n_atoms {
            let Some((no, line)) = lines.next() else {
                return Err(ctx.err(
                    n_lines + 1,
                    format!("truncated: the file ends after {k} of {n_atoms} atom lines"),
                ));
            };
            tokens.clear();
            tokens.extend(line.split_whitespace());
            layout
                .parse_atom(&tokens, &mut atoms)
                .map_err(|e| ctx.err(no, e))?;
        }
        let info = FrameInfo {
            step: header.step,
            time: header.time,
        };
        let s = assemble(header, atoms, &ctx, comment_no)?;
        s.validate()?;
        out.push((s, info));
    }
    Ok(out)
}

/// Where we are, for error messages.
struct Ctx<'a> {
    path: &'a Path,
    frame: usize,
    start: usize,
}

impl Ctx<'_> {
    /// A parse error at `line`, naming the frame and where it starts.
    fn err(&self, line: usize, msg: impl std::fmt::Display) -> Error {
        Error::parse(
            self.path,
            line,
            format!(
                "frame {} (starting at line {}): {msg}",
                self.frame, self.start
            ),
        )
    }
}

/// Atom data read so far.
struct Atoms {
    species: Vec<String>,
    positions: Vec<[f64; 3]>,
    forces: Option<Vec<[f64; 3]>>,
}

impl Atoms {
    fn with_capacity(n: usize, forces: bool) -> Self {
        Atoms {
            species: Vec::with_capacity(n),
            positions: Vec::with_capacity(n),
            forces: forces.then(|| Vec::with_capacity(n)),
        }
    }
}

/// Which columns of an atom line hold what forcefit needs.
struct Layout<'a> {
    properties: &'a [Property],
    n_columns: usize,
    species: &'a Property,
    pos: &'a Property,
    force: Option<&'a Property>,
}

impl<'a> Layout<'a> {
    fn new(properties: &'a [Property]) -> std::result::Result<Self, String> {
        let find = |names: &[&str]| -> std::result::Result<Option<&'a Property>, String> {
            let found: Vec<&Property> = properties
                .iter()
                .filter(|p| names.iter().any(|n| p.name.eq_ignore_ascii_case(n)))
                .collect();
            match found[..] {
                [] => Ok(None),
                [p] => Ok(Some(p)),
                _ => Err(format!(
                    "Properties has both '{}' and '{}'; expected one of them",
                    found[0].name, found[1].name
                )),
            }
        };
        let pos = find(&["pos", "positions"])?
            .ok_or("Properties has no positions column (expected pos:R:3)")?;
        if pos.kind != Kind::Real || pos.ncols != 3 {
            return Err(format!(
                "Properties: '{}' must be R:3 (three reals)",
                pos.name
            ));
        }
        let species = match find(&["species"])? {
            Some(s) => s,
            None => {
                find(&["Z"])?.ok_or("Properties has no species column (expected species:S:1)")?
            }
        };
        if !matches!(species.kind, Kind::Str | Kind::Int) || species.ncols != 1 {
            return Err(format!(
                "Properties: '{}' must be S:1 (symbols) or I:1 (atomic numbers)",
                species.name
            ));
        }
        let force = find(&["force", "forces"])?;
        if let Some(f) = force
            && (f.kind != Kind::Real || f.ncols != 3)
        {
            return Err(format!(
                "Properties: '{}' must be R:3 (three reals)",
                f.name
            ));
        }
        let n_columns = properties.iter().map(|p| p.ncols).sum();
        Ok(Layout {
            properties,
            n_columns,
            species,
            pos,
            force,
        })
    }

    /// Parses one atom line (already split into tokens) into `atoms`.
    fn parse_atom(&self, tok: &[&str], atoms: &mut Atoms) -> std::result::Result<(), String> {
        if tok.len() != self.n_columns {
            let spec = self
                .properties
                .iter()
                .map(|p| format!("{}:{}", p.name, p.ncols))
                .collect::<Vec<_>>()
                .join(" ");
            let which = if tok.len() < self.n_columns {
                "too few"
            } else {
                "too many"
            };
            return Err(format!(
                "{which} columns: the atom line has {} but Properties declares {} ({spec})",
                tok.len(),
                self.n_columns
            ));
        }
        let sp = tok[self.species.start];
        let symbol = if self.species.kind == Kind::Int {
            match sp.parse::<u32>().ok().and_then(crate::elements::symbol) {
                Some(s) => s.to_string(),
                None => {
                    return Err(format!(
                        "column {} ({}): expected an atomic number 1-118, found '{sp}'",
                        self.species.start + 1,
                        self.species.name
                    ));
                }
            }
        } else {
            parse_species(sp).map_err(|e| {
                format!(
                    "column {} ({}): {e}",
                    self.species.start + 1,
                    self.species.name
                )
            })?
        };
        atoms.species.push(symbol);
        atoms.positions.push(vec3(tok, self.pos)?);
        if let (Some(f), Some(forces)) = (self.force, atoms.forces.as_mut()) {
            forces.push(vec3(tok, f)?);
        }
        Ok(())
    }
}

/// Reads the three real columns of property `p`.
fn vec3(tok: &[&str], p: &Property) -> std::result::Result<[f64; 3], String> {
    let mut v = [0.0; 3];
    for (d, x) in v.iter_mut().enumerate() {
        let col = p.start + d;
        *x = parse_real(tok[col]).map_err(|e| {
            format!(
                "column {} ({} component {} of 3): {e}",
                col + 1,
                p.name,
                d + 1
            )
        })?;
    }
    Ok(v)
}

/// Builds the structure of a frame from its header and atoms.
fn assemble(h: Header, atoms: Atoms, ctx: &Ctx, comment_no: usize) -> Result<Structure> {
    let pbc = h.pbc.unwrap_or([h.cell.is_some(); 3]);
    if pbc.iter().any(|&p| p) && h.cell.is_none() {
        return Err(ctx.err(
            comment_no,
            "the frame is periodic (pbc has T) but has no Lattice; expected Lattice=\"9 numbers\" \
             or pbc=\"F F F\"",
        ));
    }
    let virial = match (h.virial, h.stress, h.cell) {
        (_, Some(_), None) => {
            return Err(ctx.err(
                comment_no,
                "stress is given but there is no Lattice to convert it to a virial \
                 (W = -stress * volume)",
            ));
        }
        (Some(w), Some(s), Some(cell)) => {
            // GPUMD's rule: both may be given if they agree to 1e-3 eV/atom.
            let from_stress = virial_from_stress(&s, &cell);
            let tol = 1e-3 * atoms.positions.len().max(1) as f64;
            if let Some(k) = (0..9).find(|&k| (w[k] - from_stress[k]).abs() > tol) {
                return Err(ctx.err(
                    comment_no,
                    format!(
                        "virial and stress disagree: component {} is {} in virial but \
                         -stress*volume = {}",
                        k + 1,
                        w[k],
                        from_stress[k]
                    ),
                ));
            }
            Some(w)
        }
        (Some(w), None, _) => Some(w),
        (None, Some(s), Some(cell)) => Some(virial_from_stress(&s, &cell)),
        (None, None, _) => None,
    };
    Ok(Structure {
        species: atoms.species,
        positions: atoms.positions,
        cell: h.cell,
        pbc,
        labels: Labels {
            energy: h.energy,
            forces: atoms.forces,
            virial,
            weight: h.weight.unwrap_or(1.0),
            config_type: h.config_type,
        },
        origin: Origin {
            path: ctx.path.to_path_buf(),
            frame: ctx.frame,
            line: ctx.start,
        },
    })
}
