//! aenet's structural fingerprint setups (`.stp`): DESCR … END DESCR,
//! ATOM, ENV with its species list, RMIN, and a Chebyshev BASIS with its
//! parameter line. Behler's symmetry functions (`FUNCTIONS` or a BASIS of
//! another type) are refused: forcefit's BP model has the Chebyshev
//! descriptor only.

use super::generate::symbol;
use super::lines::{self, Line, Lines, count, params, real};
use crate::error::Result;
use crate::model::bp::config::MAX_ORDER;

const KEYWORDS: [&str; 7] = [
    "descr",
    "atom",
    "env",
    "rmin",
    "basis",
    "functions",
    "symmfunc",
];

fn is_keyword(k: &str) -> bool {
    KEYWORDS.contains(&k)
}

/// The Chebyshev basis of a setup (aenet's `radial_Rc`, `radial_N`,
/// `angular_Rc`, `angular_N`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Basis {
    /// Radial cutoff, Å.
    pub radial_cutoff: f64,
    /// Highest radial order.
    pub radial_order: usize,
    /// Angular cutoff, Å.
    pub angular_cutoff: f64,
    /// Highest angular order.
    pub angular_order: usize,
}

/// One `.stp` file.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The file's lines (for errors of later checks).
    pub lines: Lines,
    /// ATOM: the central species.
    pub atom: String,
    /// Line of ATOM.
    pub atom_line: usize,
    /// ENV: the environment species in order, each with its line.
    pub env: Vec<(String, usize)>,
    /// Line of ENV.
    pub env_line: usize,
    /// RMIN, Å.
    pub rmin: f64,
    /// The Chebyshev basis.
    pub basis: Basis,
    /// Line of the basis parameters.
    pub basis_line: usize,
}

impl Setup {
    /// The ENV species, in order.
    pub fn env_symbols(&self) -> Vec<String> {
        self.env.iter().map(|(s, _)| s.clone()).collect()
    }
}

/// What the keywords of one file gave, before the required ones are checked.
#[derive(Default)]
struct Found {
    atom: Option<(String, usize)>,
    env: Option<(Vec<(String, usize)>, usize)>,
    rmin: Option<f64>,
    basis: Option<(Basis, usize)>,
}

/// Reads and checks one setup file.
pub fn parse(lines: Lines) -> Result<Setup> {
    let mut f = Found::default();
    let mut cursor = lines.cursor();
    while let Some(line) = cursor.next_keyword()? {
        match line.keyword().as_str() {
            "descr" => {
                if cursor.until(&["end", "descr"]).is_none() {
                    return Err(lines.error(
                        line.number,
                        "descr",
                        "no END DESCR line closes the description",
                    ));
                }
            }
            "atom" => {
                let s = lines::single(&lines, line)?;
                f.atom = Some((symbol(&lines, line.number, "atom", s)?, line.number));
            }
            "env" => f.env = Some((env(&lines, line, cursor.block(is_keyword))?, line.number)),
            "rmin" => f.rmin = Some(rmin(&lines, line)?),
            "basis" => {
                basis_type(&lines, line)?;
                let p = cursor.parameter_line(line, "the Chebyshev parameters")?;
                f.basis = Some((chebyshev(&lines, p)?, p.number));
            }
            "functions" | "symmfunc" => {
                return Err(lines.error(
                    line.number,
                    &line.tokens[0],
                    "Behler symmetry functions are not supported: forcefit's BP model uses aenet's Chebyshev descriptor (BASIS type=Chebyshev)",
                ));
            }
            _ => return Err(lines::unknown(&lines, line, &KEYWORDS[..5])),
        }
    }
    let (atom, atom_line) = f
        .atom
        .ok_or_else(|| lines.missing("atom", "the central species"))?;
    let (env, env_line) = f.env.ok_or_else(|| {
        lines.missing(
            "env",
            "the number of environment species, then one per line",
        )
    })?;
    let rmin = f
        .rmin
        .ok_or_else(|| lines.missing("rmin", "the smallest interatomic distance, Å"))?;
    let (basis, basis_line) = f.basis.ok_or_else(|| {
        lines.missing(
            "basis",
            "`BASIS type=Chebyshev`, then radial_Rc, radial_N, angular_Rc, angular_N",
        )
    })?;
    Ok(Setup {
        lines,
        atom,
        atom_line,
        env,
        env_line,
        rmin,
        basis,
        basis_line,
    })
}

fn env(lines: &Lines, keyword: &Line, block: &[Line]) -> Result<Vec<(String, usize)>> {
    let n = lines::single_count(lines, keyword)?;
    if n != block.len() {
        return Err(lines.error(
            keyword.number,
            "env",
            format!("the count says {n} species but {} follow", block.len()),
        ));
    }
    if n == 0 {
        return Err(lines.error(keyword.number, "env", "no environment species"));
    }
    let mut out: Vec<(String, usize)> = Vec::new();
    for e in block {
        let [s] = e.tokens.as_slice() else {
            return Err(lines.error(
                e.number,
                "env",
                format!(
                    "expected one species per line, got `{}`",
                    e.tokens.join(" ")
                ),
            ));
        };
        let s = symbol(lines, e.number, "env", s)?;
        if out.iter().any(|(x, _)| *x == s) {
            return Err(lines.error(e.number, "env", format!("{s} is listed twice")));
        }
        out.push((s, e.number));
    }
    Ok(out)
}

fn rmin(lines: &Lines, line: &Line) -> Result<f64> {
    let r = lines::single_real(lines, line)?;
    if r < 0.0 {
        return Err(lines.error(
            line.number,
            "rmin",
            format!("must not be negative, got {r}"),
        ));
    }
    Ok(r)
}

/// `BASIS type=Chebyshev` (case-insensitive); any other type is refused.
fn basis_type(lines: &Lines, line: &Line) -> Result<()> {
    let p = params(lines, line.number, "basis", &line.tokens[1..])?;
    let kind = p.iter().find(|(k, _)| k == "type").map(|(_, v)| v.as_str());
    match kind {
        Some(t) if t.eq_ignore_ascii_case("chebyshev") => Ok(()),
        Some(t) => Err(lines.error(
            line.number,
            "basis",
            format!("type={t} is not supported: forcefit's BP model has aenet's Chebyshev basis only (Behler symmetry functions are refused)"),
        )),
        None => Err(lines.error(
            line.number,
            "basis",
            "expected `BASIS type=Chebyshev`",
        )),
    }
}

/// `radial_Rc = 6.5  radial_N = 20 angular_Rc = 5.  angular_N = 6`.
fn chebyshev(lines: &Lines, line: &Line) -> Result<Basis> {
    let p = params(lines, line.number, "basis", &line.tokens)?;
    let names = ["radial_rc", "radial_n", "angular_rc", "angular_n"];
    if let Some((k, _)) = p.iter().find(|(k, _)| !names.contains(&k.as_str())) {
        return Err(lines.error(
            line.number,
            "basis",
            format!(
                "unknown Chebyshev parameter `{k}` (radial_Rc, radial_N, angular_Rc, angular_N)"
            ),
        ));
    }
    let get = |name: &str| -> Result<&str> {
        p.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| lines.error(line.number, "basis", format!("missing parameter {name}")))
    };
    let cutoff = |name: &str| -> Result<f64> {
        let v = get(name)?;
        real(v).filter(|x| *x > 0.0).ok_or_else(|| {
            lines.error(
                line.number,
                "basis",
                format!("{name} = {v} is not a positive cutoff, Å"),
            )
        })
    };
    let order = |name: &str| -> Result<usize> {
        let v = get(name)?;
        count(v).filter(|n| *n <= MAX_ORDER).ok_or_else(|| {
            lines.error(
                line.number,
                "basis",
                format!("{name} = {v} is not an order in 0..={MAX_ORDER}"),
            )
        })
    };
    Ok(Basis {
        radial_cutoff: cutoff("radial_Rc")?,
        radial_order: order("radial_N")?,
        angular_cutoff: cutoff("angular_Rc")?,
        angular_order: order("angular_N")?,
    })
}
