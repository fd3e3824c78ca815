//! The comment (second) line of an extended XYZ frame: `key=value` pairs
//! and the `Properties` column layout.
//!
//! Grammar, following ASE's and GPUMD's readers: pairs are separated by
//! whitespace; spaces around `=` are allowed; a value is bare (up to the
//! next whitespace) or enclosed in `"..."`, `'...'`, `{...}` or `[...]`,
//! where `\` escapes the next character; a key without `=` is a flag that
//! means true. Keys are compared case-insensitively.

use crate::io::{parse_real, voigt_to_full};
use crate::structure::det3;

/// One `key=value` pair as written (value `None` for a bare flag).
#[derive(Debug)]
struct Pair {
    key: String,
    value: Option<String>,
}

/// Splits a comment line into pairs.
fn split_pairs(line: &str) -> Result<Vec<Pair>, String> {
    let chars: Vec<char> = line.chars().collect();
    let n = chars.len();
    let mut i = 0;
    let mut pairs = Vec::new();
    while i < n {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        if chars[i] == '=' {
            return Err(format!("'=' without a key at column {}", i + 1));
        }
        let key = read_token(&chars, &mut i, true)?;
        let mut j = i;
        while j < n && chars[j].is_whitespace() {
            j += 1;
        }
        if j < n && chars[j] == '=' {
            j += 1;
            while j < n && chars[j].is_whitespace() {
                j += 1;
            }
            i = j;
            let value = read_token(&chars, &mut i, false)?;
            pairs.push(Pair {
                key,
                value: Some(value),
            });
        } else {
            pairs.push(Pair { key, value: None });
        }
    }
    Ok(pairs)
}

/// Reads a bare or quoted token starting at `chars[*i]`, advancing `*i`
/// past it. A bare key also stops at `=`.
fn read_token(chars: &[char], i: &mut usize, is_key: bool) -> Result<String, String> {
    let n = chars.len();
    let close = match chars.get(*i) {
        Some('"') => Some('"'),
        Some('\'') => Some('\''),
        Some('{') => Some('}'),
        Some('[') => Some(']'),
        _ => None,
    };
    let mut out = String::new();
    if let Some(close) = close {
        let start = *i;
        *i += 1;
        while *i < n {
            let c = chars[*i];
            *i += 1;
            if c == '\\' && *i < n {
                out.push(chars[*i]);
                *i += 1;
            } else if c == close {
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        return Err(format!(
            "unterminated {} starting at column {} (expected a closing {close})",
            chars[start],
            start + 1
        ));
    }
    while *i < n && !chars[*i].is_whitespace() && !(is_key && chars[*i] == '=') {
        out.push(chars[*i]);
        *i += 1;
    }
    Ok(out)
}

/// The type of a `Properties` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `S`: string.
    Str,
    /// `R`: real.
    Real,
    /// `I`: integer.
    Int,
    /// `L`: logical.
    Logical,
}

/// One property of the atom lines: `name:type:ncols`.
#[derive(Clone, Debug)]
pub(super) struct Property {
    /// The name as written.
    pub name: String,
    /// The column type.
    pub kind: Kind,
    /// Number of columns it spans.
    pub ncols: usize,
    /// Index of its first column on an atom line.
    pub start: usize,
}

/// Parses a `Properties` value such as `species:S:1:pos:R:3:forces:R:3`.
pub(super) fn parse_properties(s: &str) -> Result<Vec<Property>, String> {
    let fields: Vec<&str> = s.split(':').collect();
    if !fields.len().is_multiple_of(3) || s.trim().is_empty() {
        return Err(format!(
            "Properties='{s}' is not a list of name:type:ncols triples ({} fields)",
            fields.len()
        ));
    }
    let mut props: Vec<Property> = Vec::new();
    let mut start = 0;
    for t in fields.chunks(3) {
        let (name, ty, ncols) = (t[0], t[1], t[2]);
        let kind = match ty.to_ascii_uppercase().as_str() {
            "S" => Kind::Str,
            "R" => Kind::Real,
            "I" => Kind::Int,
            "L" => Kind::Logical,
            _ => {
                return Err(format!(
                    "Properties: property '{name}' has unknown type '{ty}' (expected S, R, I or L)"
                ));
            }
        };
        let ncols: usize = match ncols.parse() {
            Ok(k) if k > 0 => k,
            _ => {
                return Err(format!(
                    "Properties: property '{name}' has column count '{ncols}' \
                     (expected a positive integer)"
                ));
            }
        };
        if name.is_empty() {
            return Err(format!("Properties='{s}' has an empty property name"));
        }
        if props.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(format!("Properties: property '{name}' appears twice"));
        }
        props.push(Property {
            name: name.to_string(),
            kind,
            ncols,
            start,
        });
        // Bounded: the atom lines are read into buffers of this width.
        start = start
            .checked_add(ncols)
            .filter(|&n| n <= MAX_COLUMNS)
            .ok_or_else(|| {
                format!(
                    "Properties: property '{name}' makes more than {MAX_COLUMNS} columns per atom line"
                )
            })?;
    }
    Ok(props)
}

/// What the comment line of a frame says.
#[derive(Debug, Default)]
pub(super) struct Header {
    /// Lattice vectors as rows, Å.
    pub cell: Option<[[f64; 3]; 3]>,
    /// `pbc=` if given.
    pub pbc: Option<[bool; 3]>,
    /// The atom-line layout (`species:S:1:pos:R:3` if not given).
    pub properties: Vec<Property>,
    /// `energy=`, eV.
    pub energy: Option<f64>,
    /// `virial=`, eV, row-major.
    pub virial: Option<[f64; 9]>,
    /// `stress=`, eV/Å³, ASE's sign, row-major.
    pub stress: Option<[f64; 9]>,
    /// `weight=`.
    pub weight: Option<f64>,
    /// `config_type=`.
    pub config_type: Option<String>,
    /// `step=` when it is an integer (MD step of a trajectory frame).
    pub step: Option<i64>,
    /// `Time=` when it is a number (GPUMD's dump_exyz and active.xyz: fs).
    pub time: Option<f64>,
}

/// The keys forcefit reads; each may appear at most once per frame.
/// Most columns an atom line may have (ASE and GPUMD files have a few dozen).
pub(super) const MAX_COLUMNS: usize = 10_000;

const KNOWN_KEYS: [&str; 8] = [
    "lattice",
    "properties",
    "energy",
    "virial",
    "stress",
    "pbc",
    "weight",
    "config_type",
];

/// Parses a comment line. Unknown keys are ignored.
pub(super) fn parse_header(line: &str) -> Result<Header, String> {
    let pairs = split_pairs(line)?;
    let mut h = Header::default();
    let mut seen: Vec<(String, &str)> = Vec::new();
    let mut properties = None;
    for p in &pairs {
        let key = p.key.to_ascii_lowercase();
        if !KNOWN_KEYS.contains(&key.as_str()) {
            frame_position(&mut h, &key, p.value.as_deref());
            continue;
        }
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(format!(
                "key '{}' appears twice (as '{first}' and '{}'); expected it once",
                key, p.key
            ));
        }
        seen.push((key.clone(), &p.key));
        // A bare flag means true, as in ASE.
        let value = p.value.as_deref().unwrap_or("T");
        match key.as_str() {
            "lattice" => {
                let v = reals(&p.key, value, &[9])?;
                let c = [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]];
                h.cell = Some(c);
            }
            "properties" => properties = Some(parse_properties(value)?),
            "energy" => h.energy = Some(reals(&p.key, value, &[1])?[0]),
            "virial" => h.virial = Some(tensor(&p.key, value)?),
            "stress" => h.stress = Some(tensor(&p.key, value)?),
            "pbc" => h.pbc = Some(parse_pbc(&p.key, value)?),
            "weight" => h.weight = Some(reals(&p.key, value, &[1])?[0]),
            "config_type" => h.config_type = Some(value.to_string()),
            _ => {}
        }
    }
    h.properties = match properties {
        Some(p) => p,
        None => parse_properties("species:S:1:pos:R:3")?,
    };
    Ok(h)
}

/// Keeps `step=` and `Time=` (the first of each) for the commands that
/// match frames to an MD log. They were ignored before and other programs
/// write them freely, so a value that is not a number is still ignored.
fn frame_position(h: &mut Header, key: &str, value: Option<&str>) {
    let Some(v) = value.map(str::trim) else {
        return;
    };
    match key {
        "step" if h.step.is_none() => h.step = integral(v),
        "time" if h.time.is_none() => h.time = v.parse::<f64>().ok().filter(|t| t.is_finite()),
        _ => {}
    }
}

/// An integer written as such or as an integral real (`100`, `100.0`).
fn integral(v: &str) -> Option<i64> {
    v.parse::<i64>()
        .ok()
        .or_else(|| integral_real(v.parse::<f64>().ok()?))
}

/// `x` as an integer when it is one (and exactly representable).
pub(super) fn integral_real(x: f64) -> Option<i64> {
    (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
}

/// Parses a whitespace- or comma-separated list of reals whose length is
/// one of `counts`.
fn reals(key: &str, value: &str, counts: &[usize]) -> Result<Vec<f64>, String> {
    let toks: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    if !counts.contains(&toks.len()) {
        let want = counts
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(format!(
            "{key}=\"{value}\" has {} value(s), expected {want}",
            toks.len()
        ));
    }
    let single = toks.len() == 1;
    toks.iter()
        .enumerate()
        .map(|(i, t)| {
            parse_real(t).map_err(|e| match single {
                true => format!("{key}: {e}"),
                false => format!("{key}, value {}: {e}", i + 1),
            })
        })
        .collect()
}

/// A 3x3 tensor given as 9 values (row-major) or 6 in Voigt order
/// (xx yy zz yz xz xy, ASE's order).
fn tensor(key: &str, value: &str) -> Result<[f64; 9], String> {
    let v = reals(key, value, &[9, 6])?;
    Ok(if v.len() == 6 {
        voigt_to_full(&[v[0], v[1], v[2], v[3], v[4], v[5]])
    } else {
        [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]]
    })
}

/// Parses `pbc="T T F"` (T/F/True/False, any case); one value applies to
/// all three directions.
fn parse_pbc(key: &str, value: &str) -> Result<[bool; 3], String> {
    let flags: Vec<bool> = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| match t.to_ascii_lowercase().as_str() {
            "t" | "true" => Ok(true),
            "f" | "false" => Ok(false),
            _ => Err(format!(
                "{key}=\"{value}\": '{t}' is not a logical (expected T, F, True or False)"
            )),
        })
        .collect::<Result<_, _>>()?;
    match flags[..] {
        [p] => Ok([p; 3]),
        [a, b, c] => Ok([a, b, c]),
        _ => Err(format!(
            "{key}=\"{value}\" has {} value(s), expected 3",
            flags.len()
        )),
    }
}

/// Virial from stress, W = -stress · V (V = |det cell|).
pub(super) fn virial_from_stress(stress: &[f64; 9], cell: &[[f64; 3]; 3]) -> [f64; 9] {
    let v = det3(cell).abs();
    stress.map(|s| -s * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs() {
        let p = split_pairs(r#"a=1 b = "x y" flag c={1 2} d='q\'t' e=[3] f= g"#).unwrap();
        let got: Vec<(&str, Option<&str>)> = p
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Some("1")),
                ("b", Some("x y")),
                ("flag", None),
                ("c", Some("1 2")),
                ("d", Some("q't")),
                ("e", Some("3")),
                ("f", Some("g")),
            ]
        );
        assert!(split_pairs("a=\"1 2").unwrap_err().contains("unterminated"));
        assert!(split_pairs("=1").unwrap_err().contains("without a key"));
    }

    #[test]
    fn voigt() {
        let t = tensor("stress", "1 2 3 4 5 6").unwrap();
        assert_eq!(t, [1.0, 6.0, 5.0, 6.0, 2.0, 4.0, 5.0, 4.0, 3.0]);
    }
}
