//! generate.x's input (`generate.in`), as aenet-PyTorch's modified
//! generate.x reads it: TYPES (species and free-atom energies), SETUPS
//! (one fingerprint setup per species), FILES (the XSF structures), and
//! aenet-PyTorch's FORCES and FORCESPERCENT.

use super::lines::{self, Line, Lines, Treatment, count, real, treat};
use crate::error::Result;

/// The keywords of generate.in this reader handles.
const KEYWORDS: [&str; 9] = [
    "types",
    "setups",
    "files",
    "forces",
    "forcespercent",
    "output",
    "timing",
    "debug",
    "verbosity",
];

fn is_keyword(k: &str) -> bool {
    KEYWORDS.contains(&k)
}

fn treatment(keyword: &str) -> Option<Treatment> {
    use Treatment::*;
    Some(match keyword {
        "output" => Warned(
            "forcefit writes no generate.x training-set file: it reads the XSF files of FILES itself",
        ),
        "timing" | "debug" | "verbosity" => Warned("forcefit has no such output"),
        _ => return None,
    })
}

/// One species of TYPES.
#[derive(Clone, Debug, PartialEq)]
pub struct Species {
    /// Chemical symbol.
    pub symbol: String,
    /// Free-atom energy, eV: subtracted from every total energy, so that
    /// the networks learn cohesive energies.
    pub energy: f64,
    /// Its line.
    pub line: usize,
}

/// One line of SETUPS.
#[derive(Clone, Debug, PartialEq)]
pub struct SetupRef {
    /// The species.
    pub symbol: String,
    /// The `.stp` file, as written (relative to generate.in's directory).
    pub file: String,
    /// Its line.
    pub line: usize,
}

/// generate.in, read and checked on its own.
#[derive(Clone, Debug)]
pub struct GenerateIn {
    /// The file's lines (errors of later checks point into them).
    pub lines: Lines,
    /// TYPES, in the file's order.
    pub types: Vec<Species>,
    /// SETUPS, one per species of TYPES.
    pub setups: Vec<SetupRef>,
    /// Line of `forces`, if given: aenet-PyTorch writes the force data.
    pub forces: Option<usize>,
    /// FORCESPERCENT and its line, if given.
    pub forces_percent: Option<(f64, usize)>,
    /// FILES: XSF paths as written (relative to generate.in's directory),
    /// each with its line.
    pub files: Vec<(String, usize)>,
    /// Keywords accepted without effect.
    pub warnings: Vec<String>,
}

impl GenerateIn {
    /// The symbols of TYPES.
    pub fn symbols(&self) -> Vec<String> {
        self.types.iter().map(|t| t.symbol.clone()).collect()
    }
}

/// Reads and checks generate.in: every keyword known, TYPES and FILES
/// counts that agree with their lists, one setup per species.
pub fn parse(lines: Lines) -> Result<GenerateIn> {
    let mut types_ = Vec::new();
    let mut setups_ = Vec::new();
    let mut files_ = Vec::new();
    let mut forces = None;
    let mut forces_percent = None;
    let mut warnings = Vec::new();
    let mut seen = [None::<usize>; 3];
    let mut cursor = lines.cursor();
    while let Some(line) = cursor.next_keyword()? {
        match line.keyword().as_str() {
            "types" => {
                seen[0] = Some(line.number);
                types_ = types(&lines, line, cursor.block(is_keyword))?;
            }
            "setups" => {
                seen[1] = Some(line.number);
                setups_ = setups(&lines, line, cursor.block(is_keyword))?;
            }
            "files" => {
                seen[2] = Some(line.number);
                files_ = files(&lines, line, cursor.block(is_keyword))?;
            }
            "forces" => {
                lines::flag(&lines, line)?;
                forces = Some(line.number);
            }
            "forcespercent" => forces_percent = Some((percent(&lines, line)?, line.number)),
            other => match treatment(other) {
                Some(t) => treat(&lines, line, t, &mut warnings)?,
                None => return Err(lines::unknown(&lines, line, &KEYWORDS)),
            },
        }
    }
    let required = [
        ("types", "the species and their free-atom energies"),
        ("setups", "one fingerprint setup file per species"),
        ("files", "the number of XSF structures, then their paths"),
    ];
    for ((keyword, what), at) in required.iter().zip(seen) {
        if at.is_none() {
            return Err(lines.missing(keyword, what));
        }
    }
    check_setups(&lines, &types_, &setups_, seen[1].unwrap_or(0))?;
    Ok(GenerateIn {
        lines,
        types: types_,
        setups: setups_,
        forces,
        forces_percent,
        files: files_,
        warnings,
    })
}

fn percent(lines: &Lines, line: &Line) -> Result<f64> {
    let p = lines::single_real(lines, line)?;
    if !(0.0..=100.0).contains(&p) {
        return Err(lines.error(
            line.number,
            &line.tokens[0],
            format!("{p} is not a percentage in [0, 100]"),
        ));
    }
    Ok(p)
}

/// The count on the first line of a block (TYPES, FILES) and the entries
/// after it; the count must equal the number of entries.
fn counted<'a>(lines: &Lines, keyword: &Line, block: &'a [Line], what: &str) -> Result<&'a [Line]> {
    let name = &keyword.tokens[0];
    let (n, entries) = match keyword.tokens.len() {
        // aenet puts the count on the next line.
        1 => {
            let first = block.first().ok_or_else(|| {
                lines.error(
                    keyword.number,
                    name,
                    format!("expected the number of {what} on the next line"),
                )
            })?;
            let n = match first.tokens.as_slice() {
                [t] => count(t),
                _ => None,
            };
            let n = n.ok_or_else(|| {
                lines.error(
                    first.number,
                    name,
                    format!(
                        "expected the number of {what}, got `{}`",
                        first.tokens.join(" ")
                    ),
                )
            })?;
            (n, &block[1..])
        }
        _ => {
            return Err(lines.error(
                keyword.number,
                name,
                format!(
                    "expected nothing after the keyword (the number of {what} goes on the next line), got `{}`",
                    keyword.rest()
                ),
            ));
        }
    };
    if n != entries.len() {
        return Err(lines.error(
            keyword.number,
            name,
            format!(
                "the count says {n} {what} but {} follow{}",
                entries.len(),
                if entries.len() == 1 { "s" } else { "" }
            ),
        ));
    }
    if n == 0 {
        return Err(lines.error(keyword.number, name, format!("no {what}")));
    }
    Ok(entries)
}

/// A chemical symbol, or an error at `line`.
pub fn symbol(lines: &Lines, line: usize, keyword: &str, token: &str) -> Result<String> {
    match crate::elements::atomic_number(token) {
        Some(_) => Ok(token.to_string()),
        None => Err(lines.error(
            line,
            keyword,
            format!("`{token}` is not a chemical symbol (such as Ti or O)"),
        )),
    }
}

fn types(lines: &Lines, keyword: &Line, block: &[Line]) -> Result<Vec<Species>> {
    let entries = counted(lines, keyword, block, "species")?;
    let mut out: Vec<Species> = Vec::new();
    for e in entries {
        // aenet reads two values; anything after them is ignored, as in
        // its documentation's `O  -433.23448532  | eV`.
        let [sym, energy, ..] = e.tokens.as_slice() else {
            return Err(lines.error(
                e.number,
                "types",
                format!("expected `symbol energy`, got `{}`", e.tokens.join(" ")),
            ));
        };
        let symbol = symbol(lines, e.number, "types", sym)?;
        let energy = real(energy).ok_or_else(|| {
            lines.error(
                e.number,
                "types",
                format!("`{energy}` is not a number (the free-atom energy of {symbol}, eV)"),
            )
        })?;
        if let Some(first) = out.iter().find(|s| s.symbol == symbol) {
            return Err(lines.error(
                e.number,
                "types",
                format!("{symbol} is listed twice (first at line {})", first.line),
            ));
        }
        out.push(Species {
            symbol,
            energy,
            line: e.number,
        });
    }
    Ok(out)
}

fn setups(lines: &Lines, keyword: &Line, block: &[Line]) -> Result<Vec<SetupRef>> {
    lines::flag(lines, keyword)?;
    let mut out: Vec<SetupRef> = Vec::new();
    for e in block {
        let [sym, file] = e.tokens.as_slice() else {
            return Err(lines.error(
                e.number,
                "setups",
                format!("expected `symbol setup-file`, got `{}`", e.tokens.join(" ")),
            ));
        };
        let symbol = symbol(lines, e.number, "setups", sym)?;
        if let Some(first) = out.iter().find(|s| s.symbol == symbol) {
            return Err(lines.error(
                e.number,
                "setups",
                format!("{symbol} has two setups (first at line {})", first.line),
            ));
        }
        out.push(SetupRef {
            symbol,
            file: file.clone(),
            line: e.number,
        });
    }
    Ok(out)
}

fn files(lines: &Lines, keyword: &Line, block: &[Line]) -> Result<Vec<(String, usize)>> {
    let entries = counted(lines, keyword, block, "structure files")?;
    entries
        .iter()
        .map(|e| match e.tokens.as_slice() {
            [path] => Ok((path.clone(), e.number)),
            _ => Err(lines.error(
                e.number,
                "files",
                format!(
                    "expected one XSF path per line, got `{}`",
                    e.tokens.join(" ")
                ),
            )),
        })
        .collect()
}

/// Every SETUPS species is in TYPES and every TYPES species has a setup.
fn check_setups(
    lines: &Lines,
    types: &[Species],
    setups: &[SetupRef],
    setups_line: usize,
) -> Result<()> {
    let symbols: Vec<&str> = types.iter().map(|t| t.symbol.as_str()).collect();
    for s in setups {
        if !symbols.contains(&s.symbol.as_str()) {
            return Err(lines.error(
                s.line,
                "setups",
                format!("{} is not in TYPES ({})", s.symbol, symbols.join(", ")),
            ));
        }
    }
    for t in types {
        if !setups.iter().any(|s| s.symbol == t.symbol) {
            return Err(lines.error(
                setups_line,
                "setups",
                format!(
                    "no setup file for {} (every TYPES species needs one)",
                    t.symbol
                ),
            ));
        }
    }
    Ok(())
}
