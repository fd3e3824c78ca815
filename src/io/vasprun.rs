//! VASP vasprun.xml: every `<calculation>` (ionic step) is a structure.
//!
//! Read, as dpdata reads them:
//!
//! - the species of every atom: the first column (`element`) of
//!   `<atominfo>`'s `<array name="atoms">` rows;
//! - NELM: the first `<i name="NELM">` of the first `<parameters>`;
//! - per `<calculation>`: `<structure>`'s `<varray name="basis">` (cell
//!   rows, Å) and `<varray name="positions">` (fractional), `<varray
//!   name="forces">` (eV/Å), `<varray name="stress">` (kBar, absent in some
//!   runs: then no virial), and the energy `e_fr_energy` of the
//!   calculation's own `<energy>` (the free energy TOTEN, not that of an
//!   `<scstep>`). A calculation with NELM or more `<scstep>`s did not
//!   converge electronically and is skipped with a warning.
//!
//! The file is read as a stream of XML events, so that a long molecular
//! dynamics run never sits in memory as a tree. A file that ends early or
//! is not well-formed XML is an error naming the line.

use super::vasp::{Parsed, Skipped, cartesian, element_of_potcar, fields, virial_from_kbar};
use crate::error::{Error, Result};
use crate::io::parse_real;
use crate::structure::{Labels, Origin, Structure};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::path::Path;

/// Reads every usable ionic step of a vasprun.xml, warning on stderr about
/// the steps it skips.
pub fn read(path: &Path) -> Result<Vec<Structure>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&decode(bytes), path)?.into_structures(path)
}

/// The text of the file: UTF-8, or else ISO-8859-1 (the encoding VASP
/// declares), where every byte is one character.
fn decode(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| char::from(b)).collect())
}

/// Parses the text of a vasprun.xml; `path` is used in origins and errors.
pub fn parse(text: &str, path: &Path) -> Result<Parsed> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut p = Parser {
        path,
        lines: Lines::default(),
        open: Vec::new(),
        content: String::new(),
        parameters_seen: false,
        nelm: None,
        species: Vec::new(),
        row: Vec::new(),
        step: None,
        n_steps: 0,
        out: Parsed::default(),
    };
    loop {
        let at = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let line = p.lines.at(text, reader.error_position() as usize);
                return Err(p.err(line, format!("not well-formed XML: {e}")));
            }
        };
        let line = p.lines.at(text, at);
        match event {
            Event::Start(e) => p.start(&e, line)?,
            Event::Empty(e) => {
                p.start(&e, line)?;
                p.end(line)?;
            }
            Event::End(_) => p.end(line)?,
            Event::Text(t) => p.content.push_str(&t.xml10_content()),
            Event::CData(t) => p.content.push_str(&t.xml10_content()),
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = p.open.last() {
        let eof = text.lines().count().max(1);
        return Err(p.err(
            eof,
            format!(
                "truncated: the file ends inside <{}> (opened at line {}); expected its closing tag",
                open.tag, open.line
            ),
        ));
    }
    if p.species.is_empty() {
        return Err(p.err(
            1,
            "no <atominfo> with an <array name=\"atoms\">; expected the species of the atoms",
        ));
    }
    Ok(p.out)
}

/// An open element: its tag, `name` attribute and line.
struct Open {
    tag: String,
    name: Option<String>,
    line: usize,
}

/// 1-based line numbers of byte offsets, counted incrementally.
#[derive(Default)]
struct Lines {
    offset: usize,
    line: usize,
}

impl Lines {
    fn at(&mut self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        if offset < self.offset {
            // Only error positions go backwards: count from the start.
            return 1 + text.as_bytes()[..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        }
        self.line += text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.line + 1
    }
}

/// The `<calculation>` being read.
#[derive(Default)]
struct Step {
    line: usize,
    scsteps: usize,
    basis: Vec<[f64; 3]>,
    positions: Vec<[f64; 3]>,
    forces: Vec<[f64; 3]>,
    stress: Option<Vec<[f64; 3]>>,
    energy: Option<f64>,
}

struct Parser<'a> {
    path: &'a Path,
    lines: Lines,
    open: Vec<Open>,
    /// Text of the innermost open element.
    content: String,
    /// Whether the first `<parameters>` has ended (only it holds NELM).
    parameters_seen: bool,
    nelm: Option<usize>,
    species: Vec<String>,
    /// The `<c>` fields of the current `<rc>` row.
    row: Vec<String>,
    step: Option<Step>,
    n_steps: usize,
    out: Parsed,
}

impl Parser<'_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> Error {
        Error::parse(self.path, line, msg)
    }

    /// The tags of the open elements from the root, with `name`s
    /// (`modeling/calculation/varray@forces`), for matching.
    fn at(&self, path: &[&str]) -> bool {
        self.open.len() == path.len()
            && self
                .open
                .iter()
                .zip(path)
                .all(|(o, p)| match p.split_once('@') {
                    Some((tag, name)) => o.tag == tag && o.name.as_deref() == Some(name),
                    None => o.tag == *p,
                })
    }

    fn start(&mut self, e: &BytesStart, line: usize) -> Result<()> {
        let tag = e.name().as_ref().to_string();
        let name = match e.try_get_attribute("name") {
            Ok(a) => a.map(|a| a.value.trim().to_string()),
            Err(err) => return Err(self.err(line, format!("not well-formed XML: {err}"))),
        };
        self.content.clear();
        if tag == "calculation" && self.at(&["modeling"]) {
            self.step = Some(Step {
                line,
                ..Step::default()
            });
        } else if tag == "scstep"
            && let Some(s) = &mut self.step
        {
            s.scsteps += 1;
        }
        self.open.push(Open { tag, name, line });
        Ok(())
    }

    /// Handles the end of the innermost open element.
    fn end(&mut self, line: usize) -> Result<()> {
        let content = std::mem::take(&mut self.content);
        let Some(open) = self.open.last() else {
            return Err(self.err(line, "a closing tag without an opening one"));
        };
        let at = open.line;
        match open.tag.as_str() {
            "v" => self.vector(&content, at)?,
            "i" => self.item(&content, at)?,
            "c" if self.at(&["modeling", "atominfo", "array@atoms", "set", "rc", "c"]) => {
                self.row.push(content.trim().to_string());
            }
            "rc" if self.at(&["modeling", "atominfo", "array@atoms", "set", "rc"]) => {
                let row = std::mem::take(&mut self.row);
                let element = row.first().filter(|e| !e.is_empty()).ok_or_else(|| {
                    self.err(
                        at,
                        "an atoms row without an element; expected <c>El</c> first",
                    )
                })?;
                self.species.push(element_of_potcar(element));
            }
            "parameters" => self.parameters_seen = true,
            "calculation" if self.at(&["modeling", "calculation"]) => self.end_step(line)?,
            _ => {}
        }
        self.open.pop();
        Ok(())
    }

    /// A `<v>` row of three numbers in one of the arrays read.
    fn vector(&mut self, content: &str, line: usize) -> Result<()> {
        const CALC: &str = "calculation";
        let which = if self.at(&[
            "modeling",
            CALC,
            "structure",
            "crystal",
            "varray@basis",
            "v",
        ]) {
            "basis"
        } else if self.at(&["modeling", CALC, "structure", "varray@positions", "v"]) {
            "positions"
        } else if self.at(&["modeling", CALC, "varray@forces", "v"]) {
            "forces"
        } else if self.at(&["modeling", CALC, "varray@stress", "v"]) {
            "stress"
        } else {
            return Ok(());
        };
        let f = fields(content);
        if f.len() != 3 {
            return Err(self.err(
                line,
                format!(
                    "expected 3 numbers in a <v> of {which}, found {} fields",
                    f.len()
                ),
            ));
        }
        let mut v = [0.0; 3];
        for (x, t) in v.iter_mut().zip(&f) {
            *x = parse_real(t).map_err(|e| self.err(line, format!("{which}: {e}")))?;
        }
        let Some(s) = &mut self.step else {
            return Ok(());
        };
        match which {
            "basis" => s.basis.push(v),
            "positions" => s.positions.push(v),
            "forces" => s.forces.push(v),
            _ => s.stress.get_or_insert_with(Vec::new).push(v),
        }
        Ok(())
    }

    /// An `<i>` item: NELM or a calculation's `e_fr_energy`.
    fn item(&mut self, content: &str, line: usize) -> Result<()> {
        let name = self.open.last().and_then(|o| o.name.as_deref());
        let in_parameters = self.open.get(1).is_some_and(|o| o.tag == "parameters");
        if name == Some("NELM") && in_parameters && !self.parameters_seen && self.nelm.is_none() {
            let n = content.trim().parse().map_err(|_| {
                self.err(
                    line,
                    format!("NELM: expected a whole number, found '{}'", content.trim()),
                )
            })?;
            self.nelm = Some(n);
        } else if self.at(&["modeling", "calculation", "energy", "i@e_fr_energy"]) {
            let e = parse_real(content.trim())
                .map_err(|e| self.err(line, format!("e_fr_energy: {e}")))?;
            if let Some(s) = &mut self.step {
                s.energy = Some(e);
            }
        }
        Ok(())
    }

    /// Turns the calculation that ends at `line` into a structure.
    fn end_step(&mut self, line: usize) -> Result<()> {
        let Some(s) = self.step.take() else {
            return Ok(());
        };
        self.n_steps += 1;
        let n = self.species.len();
        let start = s.line;
        let missing = |what: &str| {
            self.err(
                start,
                format!(
                    "the <calculation> of ionic step {} (lines {start}-{line}) {what}",
                    self.n_steps
                ),
            )
        };
        if n == 0 {
            return Err(missing(
                "comes before <atominfo>; expected the species first",
            ));
        }
        let cell: [[f64; 3]; 3] = s
            .basis
            .as_slice()
            .try_into()
            .map_err(|_| missing(&format!("has {} basis rows; expected 3", s.basis.len())))?;
        for (what, rows) in [("positions", &s.positions), ("forces", &s.forces)] {
            if rows.len() != n {
                return Err(missing(&format!(
                    "has {} rows of {what}; expected one per atom ({n})",
                    rows.len()
                )));
            }
        }
        let stress: Option<[[f64; 3]; 3]> =
            match &s.stress {
                None => None,
                Some(rows) => Some(rows.as_slice().try_into().map_err(|_| {
                    missing(&format!("has {} stress rows; expected 3", rows.len()))
                })?),
            };
        let energy = s
            .energy
            .ok_or_else(|| missing("has no e_fr_energy in its <energy>"))?;
        let nelm = self.nelm.ok_or_else(|| {
            missing("comes without NELM: expected <i name=\"NELM\"> in <parameters>")
        })?;
        if s.scsteps >= nelm {
            self.out.skipped.push(Skipped {
                step: self.n_steps,
                line,
                why: format!(
                    "{} electronic steps reached NELM = {nelm} without converging",
                    s.scsteps
                ),
            });
            return Ok(());
        }
        let structure = Structure {
            species: self.species.clone(),
            positions: s.positions.iter().map(|f| cartesian(f, &cell)).collect(),
            cell: Some(cell),
            pbc: [true; 3],
            labels: Labels {
                energy: Some(energy),
                forces: Some(s.forces),
                virial: stress.map(|st| virial_from_kbar(&st, &cell)),
                ..Labels::default()
            },
            origin: Origin {
                path: self.path.to_path_buf(),
                frame: self.out.structures.len(),
                line: start,
            },
        };
        structure.validate()?;
        self.out.structures.push(structure);
        Ok(())
    }
}
