//! Reading and writing GPUMD's `nep.txt`.
//!
//! Layout: a header (`nep4 N El1 El2 …`, optional `zbl inner outer
//! [factor]`, `cutoff rc_r rc_a [MN_r MN_a [f_r f_a f_zbl]]` or per element
//! `cutoff rc_r,1 rc_a,1 … rc_r,N rc_a,N MN_r MN_a`, `n_max`, `basis_size`,
//! `l_max`, `ANN neurons 0`), then one number per line: the parameters in
//! [`super::Nep`]'s order, `dim` descriptor scales, and for `zbl 0 0` ten
//! flexible-ZBL numbers per element pair. The `zbl` line's factor (newer
//! GPUMD) gives typewise ZBL cutoffs with inner 0, the `cutoff` line's
//! `f_zbl` (older GPUMD) ones with inner = outer / 2; both are written back
//! where they were read. Numbers are written with C's
//! `%15.7e`, like GPUMD, so files are interchangeable.

use super::angular::AngularTerms;
use super::{Nep, NepHyper, TypewiseCutoff, Zbl};
use crate::error::{Error, Result};
use crate::model::Model;
use std::fmt::Write as _;
use std::path::Path;

/// Reads a `nep.txt`; errors name the file and the line.
pub fn read(path: &Path) -> Result<Nep> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, path)
}

/// A cursor over the non-empty lines of the file, with line numbers.
struct Lines<'a> {
    path: &'a Path,
    iter: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
    last_line: usize,
}

impl<'a> Lines<'a> {
    fn error(&self, line: usize, msg: impl Into<String>) -> Error {
        Error::parse(self.path, line, msg)
    }

    /// Next line's tokens and its 1-based number, or an error at end of file.
    fn next(&mut self, expected: &str) -> Result<(usize, Vec<&'a str>)> {
        for (i, line) in self.iter.by_ref() {
            self.last_line = i + 1;
            let tokens: Vec<&str> = line.split_whitespace().collect();
            if !tokens.is_empty() {
                return Ok((i + 1, tokens));
            }
        }
        Err(self.error(
            self.last_line + 1,
            format!("file ends where {expected} was expected"),
        ))
    }

    /// A header line that must start with `keyword` and have one of `counts` tokens.
    fn keyword(
        &mut self,
        keyword: &str,
        counts: &[usize],
        usage: &str,
    ) -> Result<(usize, Vec<&'a str>)> {
        let (line, tokens) = self.next(&format!("the `{keyword}` line"))?;
        if tokens[0] != keyword || !counts.contains(&tokens.len()) {
            return Err(self.error(
                line,
                format!("expected `{usage}`, found `{}`", tokens.join(" ")),
            ));
        }
        Ok((line, tokens))
    }

    fn numbers(&mut self, count: usize, what: &str, out: &mut Vec<f64>) -> Result<()> {
        for i in 0..count {
            let (line, tokens) = self.next(&format!("{what} number {} of {count}", i + 1)).map_err(|_| {
                self.error(
                    self.last_line,
                    format!("file ends after {i} of the {count} {what} the header implies (wrong parameter count?)"),
                )
            })?;
            if tokens.len() != 1 {
                return Err(self.error(
                    line,
                    format!("expected one number ({what}), found `{}`", tokens.join(" ")),
                ));
            }
            out.push(number(tokens[0]).map_err(|m| self.error(line, m))?);
        }
        Ok(())
    }
}

fn number(token: &str) -> std::result::Result<f64, String> {
    match token.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!("number is not finite: {v}")),
        Err(_) => Err(format!("expected a number, found `{token}`")),
    }
}

fn integer(token: &str) -> std::result::Result<usize, String> {
    token
        .parse::<usize>()
        .map_err(|_| format!("expected a non-negative integer, found `{token}`"))
}

/// A radial or angular channel count (`n_max`, `basis_size`), bounded at
/// its own line so that the error points there (the header check repeats
/// the bound for models built in memory).
fn channel(token: &str, what: &str) -> std::result::Result<usize, String> {
    let v = integer(token)?;
    if v > super::MAX_CHANNEL {
        return Err(format!(
            "{what} is {v}, above GPUMD's limit of {}",
            super::MAX_CHANNEL
        ));
    }
    Ok(v)
}

/// The `l_max` line in either form, told apart as NEP_CPU does by the
/// second value: `l_max L3 L4 L5` with L4 = 2 or 0 (q_222) and L5 = 1 or 0
/// (q_1111), GPUMD's older form; or `l_max L3 f222 f1111 [f112 [f123 [f233
/// [f134]]]]` with 0/1 flags. GPUMD's own writer keeps the 2 and still
/// appends the newer flags (`l_max 4 2 0 1`), which GPUMD reads; NEP_CPU
/// would drop them after a 2 and then miscount the parameters, so they are
/// read here in both forms.
fn l_max_line(lines: &mut Lines<'_>) -> Result<AngularTerms> {
    let (line, t) = lines.keyword(
        "l_max",
        &[4, 5, 6, 7, 8],
        "l_max l_max_3body has_q_222 has_q_1111 [has_q_112 [has_q_123 [has_q_233 [has_q_134]]]]",
    )?;
    let values = t[1..]
        .iter()
        .map(|s| integer(s))
        .collect::<std::result::Result<Vec<usize>, String>>()
        .map_err(|m| lines.error(line, m))?;
    let mut terms = AngularTerms::from_gpumd(&values).map_err(|m| lines.error(line, m))?;
    // `l_max 4 0 0` reads the same in both forms; only a 1 says flags.
    terms.flag_line = values[1] == 1 || terms.has_newer();
    Ok(terms)
}

/// The `l_max` line for `terms`: the form it was read in, and the flag
/// form whenever q_112..q_134 are used (the only one NEP_CPU reads them
/// in). Flags after the last one that is on are left off, as GPUMD does.
fn l_max_text(terms: &AngularTerms) -> String {
    let mut values = terms.gpumd_values();
    if terms.flag_line || terms.has_newer() {
        values[1] = terms.four_body as usize;
    }
    let mut text = String::from("l_max");
    for v in values {
        let _ = write!(text, " {v}");
    }
    text
}

/// The `zbl rc_inner rc_outer [factor]` line. `zbl 0 0` marks flexible ZBL,
/// whose parameters follow the descriptor scales; NEP_CPU ignores a factor
/// there, and so does forcefit.
fn zbl_line(lines: &mut Lines<'_>) -> Result<Zbl> {
    let (line, t) = lines.keyword("zbl", &[3, 4], "zbl rc_inner rc_outer [zbl_factor]")?;
    let value = |s: &str| number(s).map_err(|m| lines.error(line, m));
    let inner = value(t[1])?;
    let outer = value(t[2])?;
    let typewise = t.get(3).map(|s| value(s)).transpose()?;
    if inner == 0.0 && outer == 0.0 {
        return Ok(Zbl::Flexible(Vec::new()));
    }
    if let Some(f) = typewise.filter(|&f| f <= 0.0) {
        return Err(lines.error(line, format!("the ZBL factor must be positive, got {f}")));
    }
    Ok(Zbl::Universal {
        inner,
        outer,
        typewise,
    })
}

/// What the `cutoff` line holds.
struct CutoffLine {
    /// One (radial, angular) pair, or one per element.
    rc: Vec<[f64; 2]>,
    max_neighbors: Option<(usize, usize)>,
    typewise: Option<TypewiseCutoff>,
}

/// The `cutoff` line in one of its forms: `cutoff rc_R rc_A MN_R MN_A`
/// (also without the counts), NEP_CPU's per-element `cutoff rc_R,1 rc_A,1 …
/// rc_R,N rc_A,N MN_R MN_A` (2N + 3 tokens; for one element the same as the
/// first), or older GPUMD's typewise `cutoff rc_R rc_A MN_R MN_A f_R f_A
/// f_ZBL` (8 tokens, which current NEP_CPU no longer reads). 8 = 2N + 3
/// has no solution, so the forms cannot be confused.
fn cutoff_line(lines: &mut Lines<'_>, n_types: usize) -> Result<(usize, CutoffLine)> {
    let per_element = 2 * n_types + 3;
    let (line, t) = lines.keyword(
        "cutoff",
        &[3, 5, 8, per_element],
        &format!(
            "cutoff rc_radial rc_angular MN_radial MN_angular`, the per-element \
             `cutoff rc_radial,1 rc_angular,1 … rc_radial,{n_types} rc_angular,{n_types} MN_radial MN_angular` \
             ({per_element} tokens) or `cutoff rc_radial rc_angular MN_radial MN_angular radial_factor angular_factor zbl_factor"
        ),
    )?;
    let num = |s: &str| number(s).map_err(|m| lines.error(line, m));
    let int = |s: &str| integer(s).map_err(|m| lines.error(line, m));
    let n = t.len();
    let mut out = CutoffLine {
        rc: Vec::new(),
        max_neighbors: None,
        typewise: None,
    };
    if n == per_element && n_types > 1 {
        for k in 0..n_types {
            out.rc.push([num(t[1 + 2 * k])?, num(t[2 + 2 * k])?]);
        }
        out.max_neighbors = Some((int(t[n - 2])?, int(t[n - 1])?));
        return Ok((line, out));
    }
    out.rc.push([num(t[1])?, num(t[2])?]);
    if n >= 5 {
        out.max_neighbors = Some((int(t[3])?, int(t[4])?));
    }
    if n == 8 {
        out.typewise = Some(TypewiseCutoff {
            radial: num(t[5])?,
            angular: num(t[6])?,
            zbl: num(t[7])?,
        });
    }
    Ok((line, out))
}

/// Parses the text of a `nep.txt`; `path` is only used in error messages.
pub fn parse(text: &str, path: &Path) -> Result<Nep> {
    let mut lines = Lines {
        path,
        iter: text.lines().enumerate().peekable(),
        last_line: 0,
    };
    let (line, tokens) = lines.next("the `nep4 N elements…` header")?;
    let (version, has_zbl) = match tokens[0] {
        "nep3" => (3, false),
        "nep3_zbl" => (3, true),
        "nep4" => (4, false),
        "nep4_zbl" => (4, true),
        "nep5" => (5, false),
        "nep5_zbl" => (5, true),
        other => {
            return Err(lines.error(
                line,
                format!(
                    "unsupported model `{other}`: forcefit reads the potentials nep3, nep4 and nep5, each with or without _zbl \
                     (not dipole, polarizability or charge models)"
                ),
            ));
        }
    };
    let n_types = tokens
        .get(1)
        .ok_or_else(|| lines.error(line, "missing the number of elements"))
        .and_then(|t| integer(t).map_err(|m| lines.error(line, m)))?;
    if n_types == 0 || tokens.len() != 2 + n_types {
        return Err(lines.error(
            line,
            format!(
                "the header announces {n_types} elements but lists {}",
                tokens.len().saturating_sub(2)
            ),
        ));
    }
    let species: Vec<String> = tokens[2..].iter().map(|s| s.to_string()).collect();

    let zbl = if has_zbl {
        Some(zbl_line(&mut lines)?)
    } else {
        None
    };

    let (cut_line, cutoff) = cutoff_line(&mut lines, n_types)?;
    let (line, t) = lines.keyword("n_max", &[3], "n_max n_max_radial n_max_angular")?;
    let n_max_radial = channel(t[1], "n_max (radial)").map_err(|m| lines.error(line, m))?;
    let n_max_angular = channel(t[2], "n_max (angular)").map_err(|m| lines.error(line, m))?;
    let (line, t) = lines.keyword(
        "basis_size",
        &[3],
        "basis_size basis_size_radial basis_size_angular",
    )?;
    let basis_size_radial =
        channel(t[1], "basis_size (radial)").map_err(|m| lines.error(line, m))?;
    let basis_size_angular =
        channel(t[2], "basis_size (angular)").map_err(|m| lines.error(line, m))?;
    let angular = l_max_line(&mut lines)?;
    let (line, t) = lines.keyword("ANN", &[3], "ANN neurons 0")?;
    let neurons = integer(t[1]).map_err(|m| lines.error(line, m))?;
    if t[2] != "0" {
        return Err(lines.error(
            line,
            format!(
                "only one hidden layer is supported (`ANN {} 0`), found `{}`",
                t[1],
                t.join(" ")
            ),
        ));
    }
    let header_end = line;

    let mut hyper = NepHyper {
        version,
        species,
        rc_radial: cutoff.rc[0][0],
        rc_angular: cutoff.rc[0][1],
        cutoffs: None,
        max_neighbors: cutoff.max_neighbors,
        typewise: cutoff.typewise,
        n_max_radial,
        n_max_angular,
        basis_size_radial,
        basis_size_angular,
        angular,
        neurons,
        zbl: zbl.clone(),
    };
    if cutoff.rc.len() > 1 {
        hyper.set_element_cutoffs(cutoff.rc);
    }
    // Checks at the cutoff line what concerns it alone, so that the error
    // points there.
    if hyper.cutoffs.is_some() {
        hyper
            .validate_element_cutoffs()
            .map_err(|m| lines.error(cut_line, m))?;
    }
    if let Some(Zbl::Flexible(_)) = &hyper.zbl {
        // validated after the numbers are read
        hyper.zbl = None;
    }
    hyper.validate().map_err(|m| lines.error(header_end, m))?;

    let mut params = Vec::with_capacity(hyper.n_params());
    lines.numbers(hyper.n_params(), "parameters", &mut params)?;
    let mut q_scaler = Vec::with_capacity(hyper.dim());
    lines.numbers(hyper.dim(), "descriptor scales (q_scaler)", &mut q_scaler)?;
    if let Some(Zbl::Flexible(_)) = zbl {
        let count = 10 * n_types * (n_types + 1) / 2;
        let mut p = Vec::with_capacity(count);
        lines.numbers(count, "flexible ZBL parameters", &mut p)?;
        hyper.zbl = Some(Zbl::Flexible(p));
    } else {
        hyper.zbl = zbl;
    }
    if let Ok((line, tokens)) = lines.next("") {
        return Err(lines.error(
            line,
            format!(
                "unexpected `{}` after the last number the header implies ({} parameters, {} scales): wrong parameter count?",
                tokens.join(" "),
                hyper.n_params(),
                hyper.dim()
            ),
        ));
    }
    Nep::new(hyper, params, q_scaler).map_err(|e| Error::parse(path, header_end, e.to_string()))
}

/// C's `%.{precision}e`: mantissa, `e`, sign and at least two exponent digits.
pub fn format_exp(x: f64, precision: usize) -> String {
    let s = format!("{x:.precision$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s, // inf / NaN
    }
}

/// The text of a `nep.txt` for `model`, byte-compatible with GPUMD's writer.
pub fn to_string(model: &Nep) -> String {
    let h = model.hyper();
    let mut out = String::new();
    let zbl_suffix = if h.zbl.is_some() { "_zbl" } else { "" };
    let _ = write!(out, "nep{}{} {} ", h.version, zbl_suffix, h.n_types());
    for s in &h.species {
        let _ = write!(out, "{s} ");
    }
    out.push('\n');
    match &h.zbl {
        Some(Zbl::Universal {
            inner,
            outer,
            typewise,
        }) => {
            let _ = write!(out, "zbl {inner} {outer}");
            if let Some(factor) = typewise {
                let _ = write!(out, " {factor}");
            }
            out.push('\n');
        }
        Some(Zbl::Flexible(_)) => out.push_str("zbl 0 0\n"),
        None => {}
    }
    if h.has_element_cutoffs() {
        // NEP_CPU tells this form by its token count, so the neighbour
        // counts cannot be left out; GPUMD ignores them on reading.
        out.push_str("cutoff");
        for t in 0..h.n_types() {
            let [r, a] = h.element_cutoffs(t);
            let _ = write!(out, " {r} {a}");
        }
        let (a, b) = h.max_neighbors.unwrap_or((1000, 1000));
        let _ = write!(out, " {a} {b}");
    } else {
        let _ = write!(out, "cutoff {} {}", h.rc_radial, h.rc_angular);
        if let Some((a, b)) = h.max_neighbors {
            let _ = write!(out, " {a} {b}");
            if let Some(t) = h.typewise {
                let _ = write!(out, " {} {} {}", t.radial, t.angular, t.zbl);
            }
        }
    }
    out.push('\n');
    let _ = writeln!(out, "n_max {} {}", h.n_max_radial, h.n_max_angular);
    let _ = writeln!(
        out,
        "basis_size {} {}",
        h.basis_size_radial, h.basis_size_angular
    );
    let _ = writeln!(out, "{}", l_max_text(&h.angular));
    let _ = writeln!(out, "ANN {} 0", h.neurons);
    let mut number = |x: f64| {
        let _ = writeln!(out, "{:>15}", format_exp(x, 7));
    };
    model.params().iter().for_each(|&x| number(x));
    model.q_scaler().iter().for_each(|&x| number(x));
    if let Some(Zbl::Flexible(p)) = &h.zbl {
        p.iter().for_each(|&x| number(x));
    }
    out
}

/// Writes `model` to `path` atomically (temporary file, then rename).
pub fn write(model: &Nep, path: &Path) -> Result<()> {
    let text = to_string(model);
    crate::io::write_atomic(path, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::{format_exp, parse};
    use std::path::Path;

    #[test]
    fn malformed_zbl_lines_name_file_and_line() {
        for (line, needle) in [
            (
                "zbl 2.0",
                "expected `zbl rc_inner rc_outer [zbl_factor]`, found `zbl 2.0`",
            ),
            ("zbl 2.0 4.0 x", "expected a number, found `x`"),
            ("zbl 2.0 4.0 0.7 9", "found `zbl 2.0 4.0 0.7 9`"),
            ("zbl 2.0 4.0 -0.7", "the ZBL factor must be positive"),
        ] {
            let text = format!("nep4_zbl 1 Si\n\n{line}\ncutoff 5 4\n");
            let err = parse(&text, Path::new("dir/nep.txt"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("dir/nep.txt:3: "), "{line}: {err}");
            assert!(err.contains(needle), "{line}: {err}");
        }
    }

    #[test]
    fn c_style_exponents() {
        // Expected strings from C's printf("%15.7e").
        assert_eq!(
            format!("{:>15}", format_exp(0.26159573, 7)),
            "  2.6159573e-01"
        );
        assert_eq!(
            format!("{:>15}", format_exp(-24.156071, 7)),
            " -2.4156071e+01"
        );
        assert_eq!(format!("{:>15}", format_exp(0.0, 7)), "  0.0000000e+00");
        assert_eq!(format_exp(1.5e-123, 7), "1.5000000e-123");
    }
}
