//! The text files of a deviation run: DP-GEN's `model_devi.out` (written
//! and read) and GPUMD's `active.out` (written).
//!
//! `model_devi.out`, as deepmd-kit's `write_model_devi_out`
//! (`deepmd/infer/model_devi.py`) writes it through `numpy.savetxt`: per
//! block (one per input, as `dp model-devi` writes one per system),
//!
//! ```text
//! # <input path>
//! # step      max_devi_v         min_devi_v         ...devi_e             [atm_devi_f(N)      ]
//! ```
//!
//! (`step` padded to 10 characters, every other title to 19), then one row
//! per frame: the step as `%12d`, then `%19.6e` for max_devi_v, min_devi_v,
//! avg_devi_v, max_devi_f, min_devi_f, avg_devi_f, devi_e and, with
//! `--atomic`, every atom's force deviation; no separators.
//!
//! `active.out`, as GPUMD's `active` keyword (src/measure/active.cu):
//! `%20.10e%20.10e` per frame, the time (fs) and σ_f (eV/Å).

use super::deviation::Deviation;
use crate::error::{Error, Result};
use std::io::{self, Write};
use std::path::Path;

/// Titles of the seven value columns, in file order.
pub const COLUMNS: [&str; 7] = [
    "max_devi_v",
    "min_devi_v",
    "avg_devi_v",
    "max_devi_f",
    "min_devi_f",
    "avg_devi_f",
    "devi_e",
];

/// Writes one block: the two header lines and a row per `(step, deviation)`.
/// With `atomic`, every row also holds [`Deviation::atomic_f`].
pub fn write_block<'a>(
    w: &mut dyn Write,
    header: &str,
    rows: impl IntoIterator<Item = (i64, &'a Deviation)>,
    atomic: bool,
) -> io::Result<()> {
    // savetxt puts its comment mark before every line of the header.
    write!(w, "# {header}\n# {:<10}", "step")?;
    for title in COLUMNS {
        write!(w, "{title:<19}")?;
    }
    if atomic {
        write!(w, "{:<19}", "atm_devi_f(N)")?;
    }
    writeln!(w)?;
    let mut line = String::new();
    for (step, d) in rows {
        line.clear();
        line.push_str(&format!("{step:>12}"));
        for x in d.columns() {
            line.push_str(&c_exp(x, 19, 6));
        }
        if atomic {
            for &x in &d.atomic_f {
                line.push_str(&c_exp(x, 19, 6));
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes GPUMD's `active.out` rows: `(time, σ_f)` as `%20.10e%20.10e`.
pub fn write_active_out(
    w: &mut dyn Write,
    rows: impl IntoIterator<Item = (f64, f64)>,
) -> io::Result<()> {
    for (time, sigma) in rows {
        writeln!(w, "{}{}", c_exp(time, 20, 10), c_exp(sigma, 20, 10))?;
    }
    Ok(())
}

/// C's `%{width}.{precision}e`: mantissa with `precision` decimals and an
/// exponent of at least two digits with its sign (`1.500000e-03`), right
/// aligned; `nan`, `inf`, `-inf` as C prints them.
pub fn c_exp(x: f64, width: usize, precision: usize) -> String {
    let body = if x.is_nan() {
        "nan".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        let rust = format!("{x:.precision$e}");
        // Rust writes `1.5e-3`; the exponent is always present.
        let (mantissa, exp) = rust.split_once('e').unwrap_or((&rust, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    };
    format!("{body:>width$}")
}

/// One row of a `model_devi.out` (deepmd-kit's or LAMMPS's layout).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 1-based line in the file.
    pub line: usize,
    /// The step column.
    pub step: i64,
    /// The seven values after the step, in [`COLUMNS`] order.
    pub values: [f64; 7],
}

impl Row {
    /// Column 1 (0-based), what DP-GEN compares with the virial trust levels.
    pub fn max_devi_v(&self) -> f64 {
        self.values[0]
    }

    /// Column 4 (0-based), what DP-GEN compares with the force trust levels.
    pub fn max_devi_f(&self) -> f64 {
        self.values[3]
    }
}

/// Reads every row of a `model_devi.out`, skipping `#` comments and blank
/// lines (as `numpy.loadtxt`, which DP-GEN uses). Per-atom columns after
/// the eighth are allowed and ignored.
pub fn read(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut rows = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        rows.push(parse_row(line, k + 1).map_err(|msg| Error::parse(path, k + 1, msg))?);
    }
    Ok(rows)
}

/// Parses one data line.
fn parse_row(line: &str, no: usize) -> std::result::Result<Row, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() < 8 {
        return Err(format!(
            "expected at least 8 columns (step {}), found {}",
            COLUMNS.join(" "),
            tokens.len()
        ));
    }
    let step = step(tokens[0]).ok_or_else(|| {
        format!(
            "column 1 (step): expected an integer, found '{}'",
            tokens[0]
        )
    })?;
    let mut values = [0.0; 7];
    for (c, v) in values.iter_mut().enumerate() {
        let tok = tokens[c + 1];
        *v = match tok.parse::<f64>() {
            Ok(x) if !x.is_nan() => x,
            _ => {
                return Err(format!(
                    "column {} ({}): expected a number, found '{tok}'",
                    c + 2,
                    COLUMNS[c]
                ));
            }
        };
    }
    Ok(Row {
        line: no,
        step,
        values,
    })
}

/// The step column: an integer, or an integral real (numpy may write one).
fn step(tok: &str) -> Option<i64> {
    tok.parse::<i64>().ok().or_else(|| {
        let x = tok.parse::<f64>().ok()?;
        (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_format() {
        assert_eq!(c_exp(1.5e-3, 19, 6), "       1.500000e-03");
        assert_eq!(c_exp(-0.0, 12, 6), "-0.000000e+00");
        assert_eq!(c_exp(1.0e123, 0, 2), "1.00e+123");
        assert_eq!(c_exp(f64::NAN, 5, 2), "  nan");
        assert_eq!(c_exp(9.9999999, 0, 6), "1.000000e+01");
    }

    #[test]
    fn rows() {
        let r = parse_row("10 1 2 3 4 5 6 7 8 9", 3).unwrap();
        assert_eq!((r.step, r.max_devi_v(), r.max_devi_f()), (10, 1.0, 4.0));
        assert!(parse_row("1 2 3", 1).unwrap_err().contains("at least 8"));
        assert!(
            parse_row("1 2 3 x 5 6 7 8", 1)
                .unwrap_err()
                .contains("avg_devi_v")
        );
        assert!(
            parse_row("1.5 2 3 4 5 6 7 8", 1)
                .unwrap_err()
                .contains("step")
        );
    }
}
