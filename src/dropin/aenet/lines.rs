//! The layer every aenet input file shares: lines without comments, split
//! into tokens, each with its 1-based line number; a cursor that walks the
//! keywords in order and refuses a keyword given twice; values in
//! Fortran's spelling (`0.35d0`, `5.`); and the `key=value` parameter
//! lines of METHOD, FORCES and BASIS. Every error is an
//! [`Error::Parse`] naming the file, the line and the keyword.
//!
//! aenet's rules: keywords are case-insensitive; blank lines and lines
//! starting with `!`, `#` or `%` are comments. Here a token starting with
//! one of those characters also ends its line (aenet's own examples write
//! `O  -432.503149303  ! eV`).

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One line that holds something besides comments.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// Whitespace-separated tokens before any comment.
    pub tokens: Vec<String>,
}

impl Line {
    /// The first token in lower case: the keyword, if the line is one.
    pub fn keyword(&self) -> String {
        self.tokens[0].to_ascii_lowercase()
    }

    /// The tokens after the first, joined by spaces (for messages).
    pub fn rest(&self) -> String {
        self.tokens[1..].join(" ")
    }
}

/// An aenet input file as its non-comment lines.
#[derive(Clone, Debug)]
pub struct Lines {
    /// The file, for errors.
    pub path: PathBuf,
    /// Lines with content, in order.
    pub lines: Vec<Line>,
    /// The number of the file's last line (where a missing keyword is reported).
    pub last: usize,
}

fn is_comment(token: &str) -> bool {
    token.starts_with(['!', '#', '%'])
}

impl Lines {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok(Self::parse(&text, path))
    }

    /// Splits `text`; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Self {
        let mut lines = Vec::new();
        let mut last = 0;
        for (i, raw) in text.lines().enumerate() {
            last = i + 1;
            let tokens: Vec<String> = raw
                .split_whitespace()
                .take_while(|t| !is_comment(t))
                .map(str::to_string)
                .collect();
            if !tokens.is_empty() {
                lines.push(Line {
                    number: i + 1,
                    tokens,
                });
            }
        }
        Lines {
            path: path.to_path_buf(),
            lines,
            last: last.max(1),
        }
    }

    /// An error at `line` about `keyword`.
    pub fn error(&self, line: usize, keyword: &str, msg: impl std::fmt::Display) -> Error {
        Error::parse(
            &self.path,
            line,
            format!("{}: {msg}", keyword.to_ascii_uppercase()),
        )
    }

    /// The error for a required keyword that is absent, at the end of the file.
    pub fn missing(&self, keyword: &str, what: &str) -> Error {
        self.error(
            self.last,
            keyword,
            format!("missing required keyword ({what})"),
        )
    }

    /// A cursor at the first line.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            lines: self,
            at: 0,
            seen: BTreeMap::new(),
        }
    }
}

/// Walks the lines of a file keyword by keyword.
pub struct Cursor<'a> {
    lines: &'a Lines,
    at: usize,
    seen: BTreeMap<String, usize>,
}

impl<'a> Cursor<'a> {
    /// The next line as a keyword line; a keyword given a second time is
    /// an error (aenet would silently read only one of them).
    pub fn next_keyword(&mut self) -> Result<Option<&'a Line>> {
        let Some(line) = self.lines.lines.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        let keyword = line.keyword();
        if let Some(first) = self.seen.insert(keyword.clone(), line.number) {
            return Err(self.lines.error(
                line.number,
                &keyword,
                format!("given twice (first at line {first})"),
            ));
        }
        Ok(Some(line))
    }

    /// The line after a keyword that takes its parameters on the next
    /// line (METHOD, FORCES, BASIS).
    pub fn parameter_line(&mut self, keyword: &Line, what: &str) -> Result<&'a Line> {
        let line = self.lines.lines.get(self.at).ok_or_else(|| {
            self.lines.error(
                keyword.number,
                &keyword.tokens[0],
                format!("expected {what} on the next line, found the end of the file"),
            )
        })?;
        self.at += 1;
        Ok(line)
    }

    /// The lines of a block: those up to the next line that starts with a
    /// keyword of this file (`is_keyword`, lower case), or the end.
    pub fn block(&mut self, is_keyword: impl Fn(&str) -> bool) -> &'a [Line] {
        let start = self.at;
        while let Some(line) = self.lines.lines.get(self.at) {
            if is_keyword(&line.keyword()) {
                break;
            }
            self.at += 1;
        }
        &self.lines.lines[start..self.at]
    }

    /// The lines up to `end` (which is consumed too), for DESCR … END
    /// DESCR; `None` when `end` never comes.
    pub fn until(&mut self, end: &[&str]) -> Option<&'a [Line]> {
        let start = self.at;
        while let Some(line) = self.lines.lines.get(self.at) {
            self.at += 1;
            let head: Vec<String> = line
                .tokens
                .iter()
                .take(end.len())
                .map(|t| t.to_ascii_lowercase())
                .collect();
            if head == end {
                return Some(&self.lines.lines[start..self.at - 1]);
            }
        }
        None
    }
}

/// A number in Fortran's spelling: `1.5`, `5.`, `0.35d0`, `1E-3`.
pub fn real(token: &str) -> Option<f64> {
    let x: f64 = token.replace(['d', 'D'], "e").parse().ok()?;
    x.is_finite().then_some(x)
}

/// A non-negative whole number.
pub fn count(token: &str) -> Option<usize> {
    token.parse().ok()
}

pub use crate::dropin::Treatment;

/// The verdict on a keyword that has a [`Treatment`]: a warning pushed
/// to `warnings`, or the refusal as an error.
pub fn treat(
    lines: &Lines,
    line: &Line,
    treatment: Treatment,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let keyword = line.tokens[0].to_ascii_uppercase();
    match treatment {
        Treatment::Warned(why) => {
            warnings.push(format!(
                "{}:{}: {keyword}: ignored ({why})",
                lines.path.display(),
                line.number
            ));
            Ok(())
        }
        Treatment::DefaultOnly(default, why) => {
            let value = line.tokens.get(1).and_then(|t| real(t));
            if line.tokens.len() == 2 && value == Some(default) {
                Ok(())
            } else {
                Err(lines.error(
                    line.number,
                    &keyword,
                    format!("only aenet's default {default} is accepted: {why}"),
                ))
            }
        }
        Treatment::Refused(why) => Err(lines.error(line.number, &keyword, why)),
    }
}

/// The error for a keyword this file does not have.
pub fn unknown(lines: &Lines, line: &Line, known: &[&str]) -> Error {
    lines.error(
        line.number,
        &line.tokens[0],
        format!(
            "unknown keyword (this file's keywords: {}; see docs/aenet-command.md)",
            known.join(", ")
        ),
    )
}

/// The one value of a `KEYWORD value` line.
pub fn single<'a>(lines: &Lines, line: &'a Line) -> Result<&'a str> {
    match line.tokens.len() {
        2 => Ok(&line.tokens[1]),
        1 => Err(lines.error(line.number, &line.tokens[0], "expected a value")),
        _ => Err(lines.error(
            line.number,
            &line.tokens[0],
            format!("expected one value, got `{}`", line.rest()),
        )),
    }
}

/// The value of a `KEYWORD x` line as a number.
pub fn single_real(lines: &Lines, line: &Line) -> Result<f64> {
    let token = single(lines, line)?;
    real(token).ok_or_else(|| {
        lines.error(
            line.number,
            &line.tokens[0],
            format!("`{token}` is not a number"),
        )
    })
}

/// The value of a `KEYWORD n` line as a non-negative whole number.
pub fn single_count(lines: &Lines, line: &Line) -> Result<usize> {
    let token = single(lines, line)?;
    count(token).ok_or_else(|| {
        lines.error(
            line.number,
            &line.tokens[0],
            format!("`{token}` is not a non-negative integer"),
        )
    })
}

/// A flag keyword: present means on; it takes no value.
pub fn flag(lines: &Lines, line: &Line) -> Result<bool> {
    if line.tokens.len() > 1 {
        return Err(lines.error(
            line.number,
            &line.tokens[0],
            format!("takes no value, got `{}`", line.rest()),
        ));
    }
    Ok(true)
}

/// `key=value` pairs of `tokens` (spaces around `=` allowed, as in
/// `radial_Rc = 6.5`); keys in lower case, in order. `keyword` names the
/// block in errors.
pub fn params(
    lines: &Lines,
    number: usize,
    keyword: &str,
    tokens: &[String],
) -> Result<Vec<(String, String)>> {
    // Glue `a = b`, `a= b` and `a =b` into `a=b`.
    let mut glued: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let mut p = tokens[i].clone();
        i += 1;
        while i < tokens.len() {
            let complete = p.contains('=') && !p.starts_with('=') && !p.ends_with('=');
            let joins = p.contains('=') || tokens[i].starts_with('=');
            if complete || !joins {
                break;
            }
            p.push_str(&tokens[i]);
            i += 1;
        }
        glued.push(p);
    }
    glued
        .iter()
        .map(|g| match g.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() && !v.contains('=') => {
                Ok((k.to_ascii_lowercase(), v.to_string()))
            }
            _ => Err(lines.error(
                number,
                keyword,
                format!("`{g}` is not a `name=value` parameter"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Lines {
        Lines::parse(text, Path::new("x.in"))
    }

    #[test]
    fn comments_and_blank_lines_are_dropped() {
        let l = lines("! head\n\nTYPES\n# c\n%c\nO -432.5 ! eV\n  Ti 1.0d0");
        let got: Vec<(usize, Vec<String>)> = l
            .lines
            .iter()
            .map(|x| (x.number, x.tokens.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, vec!["TYPES".to_string()]),
                (6, vec!["O".into(), "-432.5".into()]),
                (7, vec!["Ti".into(), "1.0d0".into()]),
            ]
        );
        assert_eq!(l.last, 7);
    }

    #[test]
    fn fortran_numbers() {
        assert_eq!(real("0.35d0"), Some(0.35));
        assert_eq!(real("5."), Some(5.0));
        assert_eq!(real("1D-3"), Some(1e-3));
        assert_eq!(real("abc"), None);
        assert_eq!(real("inf"), None);
        assert_eq!(count("20"), Some(20));
        assert_eq!(count("-1"), None);
    }

    #[test]
    fn parameters_with_and_without_spaces() {
        let l = lines("x");
        let tokens = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let p = params(
            &l,
            1,
            "basis",
            &tokens("radial_Rc = 6.5  radial_N= 20 angular_Rc =5. angular_N=6"),
        )
        .unwrap();
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        let values: Vec<&str> = p.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(keys, ["radial_rc", "radial_n", "angular_rc", "angular_n"]);
        assert_eq!(values, ["6.5", "20", "5.", "6"]);
        let p = params(&l, 1, "method", &tokens("method=adamw   lr=0.0001")).unwrap();
        assert_eq!(p[1], ("lr".to_string(), "0.0001".to_string()));
        let e = params(&l, 3, "method", &tokens("adamw lr=1")).unwrap_err();
        assert!(e.to_string().starts_with("x.in:3: METHOD: `adamw`"), "{e}");
        assert!(params(&l, 1, "m", &tokens("a = = b")).is_err());
        assert!(params(&l, 1, "m", &tokens("a =")).is_err());
    }

    #[test]
    fn a_keyword_twice_is_an_error() {
        let l = lines("ITERATIONS 5\nBATCHSIZE 2\niterations 6");
        let mut c = l.cursor();
        c.next_keyword().unwrap();
        c.next_keyword().unwrap();
        let e = c.next_keyword().unwrap_err().to_string();
        assert_eq!(e, "x.in:3: ITERATIONS: given twice (first at line 1)");
    }
}
