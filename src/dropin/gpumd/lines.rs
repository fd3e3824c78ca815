//! GPUMD's keyword files (`nep.in`, `gnep.in`): one keyword per line with
//! its parameters, `#` to the end of a line a comment, blank lines
//! skipped, each keyword at most once; and the verdict on a keyword that a
//! drop-in does not map.

use crate::dropin::Treatment;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// The keyword lines of `text` (`path` names it in errors) and the line of
/// each keyword; a keyword given twice is an error.
pub fn split<'a>(text: &'a str, path: &Path) -> Result<(Vec<Line<'a>>, BTreeMap<String, usize>)> {
    let mut lines: Vec<Line> = Vec::new();
    let mut given: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or("");
        let mut tokens = content.split_whitespace();
        let Some(keyword) = tokens.next() else {
            continue;
        };
        let line = Line {
            number: i + 1,
            keyword,
            args: tokens.collect(),
        };
        if let Some(first) = given.insert(keyword.to_string(), line.number) {
            return Err(line.error(path, format!("given twice (first on line {first})")));
        }
        lines.push(line);
    }
    Ok((lines, given))
}

/// One keyword line.
pub struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// The keyword (first token).
    pub keyword: &'a str,
    /// Its parameters.
    pub args: Vec<&'a str>,
}

impl Line<'_> {
    /// An error at this line, naming the keyword.
    pub fn error(&self, path: &Path, msg: impl std::fmt::Display) -> Error {
        Error::parse(path, self.number, format!("{}: {msg}", self.keyword))
    }

    /// Checks that the number of parameters is in `allowed`.
    pub fn count(&self, path: &Path, allowed: std::ops::RangeInclusive<usize>) -> Result<()> {
        if allowed.contains(&self.args.len()) {
            return Ok(());
        }
        let (lo, hi) = (*allowed.start(), *allowed.end());
        let expected = match (lo == hi, hi) {
            (true, 1) => "1 parameter".to_string(),
            (true, _) => format!("{lo} parameters"),
            (false, _) => format!("{lo} to {hi} parameters"),
        };
        Err(self.error(
            path,
            format!("expected {expected}, got {}", self.args.len()),
        ))
    }

    /// Parameter `i` parsed as `T` (`kind` names `T` in the error).
    pub fn parsed<T: FromStr>(&self, path: &Path, i: usize, kind: &str) -> Result<T> {
        let token = self.args.get(i).copied().unwrap_or("");
        token
            .parse()
            .map_err(|_| self.error(path, format!("`{token}` is not {kind}")))
    }

    /// Parameter `i` as a non-negative integer.
    pub fn int(&self, path: &Path, i: usize) -> Result<usize> {
        self.parsed(path, i, "a non-negative integer")
    }

    /// Parameter `i` as a finite number.
    pub fn real(&self, path: &Path, i: usize) -> Result<f64> {
        let x: f64 = self.parsed(path, i, "a number")?;
        if x.is_finite() {
            Ok(x)
        } else {
            Err(self.error(path, format!("`{}` is not a finite number", self.args[i])))
        }
    }

    /// The one parameter, a number ≥ 0.
    pub fn non_negative(&self, path: &Path) -> Result<f64> {
        self.count(path, 1..=1)?;
        let x = self.real(path, 0)?;
        if x < 0.0 {
            return Err(self.error(path, format!("must not be negative, got {x}")));
        }
        Ok(x)
    }

    /// The one parameter, a number > 0.
    pub fn positive(&self, path: &Path) -> Result<f64> {
        let x = self.non_negative(path)?;
        if x == 0.0 {
            return Err(self.error(path, "must be positive, got 0"));
        }
        Ok(x)
    }
}

/// The verdict on a keyword a drop-in does not map: a warning pushed to
/// `warnings`, a check against the peer's default, or a refusal; `None`
/// (no treatment) is an unknown keyword, `doc` the page that lists them.
pub fn treat(
    line: &Line,
    path: &Path,
    treatment: Option<Treatment>,
    warnings: &mut Vec<String>,
    doc: &str,
) -> Result<()> {
    match treatment {
        Some(Treatment::Warned(why)) => warnings.push(format!(
            "{}:{}: `{}` is ignored: {why}",
            path.display(),
            line.number,
            line.keyword
        )),
        Some(Treatment::DefaultOnly(default, why)) => check_default(line, path, default, why)?,
        Some(Treatment::Refused(why)) => {
            return Err(line.error(
                path,
                format!("this GPUMD keyword is not supported by forcefit: {why}"),
            ));
        }
        None => {
            return Err(Error::parse(
                path,
                line.number,
                format!(
                    "unknown keyword `{}` ({doc} lists the keywords forcefit reads)",
                    line.keyword
                ),
            ));
        }
    }
    Ok(())
}

/// A keyword accepted only at `default`, refused otherwise for `why`.
fn check_default(line: &Line, path: &Path, default: f64, why: &str) -> Result<()> {
    line.count(path, 1..=1)?;
    if line.real(path, 0)? != default {
        return Err(line.error(
            path,
            format!("only GPUMD's default {default} is accepted: {why}"),
        ));
    }
    Ok(())
}

/// A validation message of `TrainConfig::validate` in the keyword file's
/// words (`keys`: the keyword for each TOML key, longer keys first; a key
/// two keywords set listed once per keyword, the default one first), at the
/// line of the first keyword it names (or the whole file).
pub fn validation_error(
    msg: &str,
    path: &Path,
    lines: &BTreeMap<String, usize>,
    keys: &[(&str, &str)],
) -> Error {
    let mut text = msg.to_string();
    let mut first: Option<(usize, usize)> = None; // (position in msg, line)
    for &(key, keyword) in keys {
        if let Some(pos) = text.find(key) {
            // The keyword the file gave, of those that set this key.
            let keyword = keys
                .iter()
                .find(|(k, w)| *k == key && lines.contains_key(*w))
                .map_or(keyword, |(_, w)| *w);
            if let Some(&line) = lines.get(keyword)
                && first.is_none_or(|(p, _)| pos < p)
            {
                first = Some((pos, line));
            }
            text = text.replace(key, keyword);
        }
    }
    match first {
        Some((_, line)) => Error::parse(path, line, text),
        None => Error::file(path, text),
    }
}
