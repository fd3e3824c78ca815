//! The ASCII form, read the way `nnASCII2bin.x` reads it: one Fortran
//! list-directed `read(u,*)` per record.
//!
//! - A record starts on a new line and takes as many lines as its values
//!   need (the oracle's `sfparam` spans 10 lines, aenet-PyTorch writes it on
//!   one); values are separated by blanks, tabs or one comma; blank lines
//!   are skipped; `r*v` stands for r copies of v.
//! - Integers are an optional sign and digits. Reals are what Rust parses,
//!   plus Fortran's `D` exponent and exponents without a letter
//!   (`1.0+100`, how `ES24.17` prints |exponent| > 99). Logicals are `T`,
//!   `F`, `.TRUE.`, `True`, …: the first letter after an optional period.
//! - A string is a word (up to a blank, comma or `/`) or is quoted ('…' or
//!   "…", a doubled quote standing for one). As in Fortran, a one-string
//!   record keeps its first word and drops the rest of the line, so
//!   `PyTorch Chebyshev descriptor export` reads as `PyTorch` (what the
//!   oracle's binary holds), and a `/` ends the read, so an unquoted path
//!   `../x` reads as `..`.
//! - Stricter than Fortran, which ignores them or cuts silently: values
//!   left over after a numeric or list record (a sign of a wrong count),
//!   null values (`,,`), strings longer than the binary form holds, and
//!   text after the last record are errors.

use super::layout::{Sink, Source};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// Reads records from the lines of a text.
pub(super) struct Reader<'a> {
    path: &'a Path,
    lines: Vec<&'a str>,
    /// Index of the current line and byte offset in it.
    line: usize,
    pos: usize,
    /// Copies of a repeated value (`r*v`) not used yet.
    pending: Option<(Cow<'a, str>, u64, usize)>,
    /// A comma since the last value (a second one makes a null value).
    comma: bool,
    /// Each record read so far and its first line (1-based).
    starts: Vec<(&'static str, usize)>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a str, path: &'a Path) -> Self {
        Reader {
            path,
            lines: text.lines().collect(),
            line: 0,
            pos: 0,
            pending: None,
            comma: false,
            starts: Vec::new(),
        }
    }

    fn at(&self, line: usize, name: &str, msg: impl Into<String>) -> Error {
        Error::parse(self.path, line, format!("{name}: {}", msg.into()))
    }

    /// Positions at the first value of the next record.
    fn begin(&mut self, name: &'static str) -> Result<()> {
        self.comma = true;
        self.skip_blank_lines();
        if self.line >= self.lines.len() {
            let msg = "the file ends where this record was expected";
            return Err(self.at(self.lines.len() + 1, name, msg));
        }
        self.starts.push((name, self.line + 1));
        Ok(())
    }

    fn skip_blank_lines(&mut self) {
        while self.line < self.lines.len() && self.rest().trim_matches(is_blank).is_empty() {
            self.line += 1;
            self.pos = 0;
        }
    }

    fn rest(&self) -> &'a str {
        self.lines.get(self.line).map_or("", |l| &l[self.pos..])
    }

    /// The next value of the record `name` (value `i` of `n`) and its line.
    fn value(&mut self, name: &str, i: usize, n: usize) -> Result<(Cow<'a, str>, usize)> {
        if let Some((text, left, line)) = self.pending.take() {
            if left > 1 {
                self.pending = Some((text.clone(), left - 1, line));
            }
            return Ok((text, line));
        }
        let short = |r: &Self, line: usize, why: &str| {
            let read = match n {
                1 => "before its value".to_string(),
                _ => format!("after {i} of its {n} values"),
            };
            r.at(line, name, format!("{why} {read}"))
        };
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start_matches(is_blank);
            self.pos += rest.len() - trimmed.len();
            match trimmed.as_bytes().first() {
                None => {
                    self.line += 1;
                    self.pos = 0;
                    if self.line >= self.lines.len() {
                        return Err(short(self, self.line + 1, "the file ends"));
                    }
                }
                Some(b',') if self.comma => {
                    let msg = "an empty value (Fortran null) is not supported";
                    return Err(self.at(self.line + 1, name, msg));
                }
                Some(b',') => {
                    self.comma = true;
                    self.pos += 1;
                }
                Some(b'/') => return Err(short(self, self.line + 1, "a '/' ends the record")),
                Some(_) => return self.token(name),
            }
        }
    }

    /// The value at the current position: an optional repeat count, then
    /// a quoted string or a word.
    fn token(&mut self, name: &str) -> Result<(Cow<'a, str>, usize)> {
        let line = self.line + 1;
        let repeat = self.repeat_count().map_err(|m| self.at(line, name, m))?;
        let rest = self.rest();
        let (text, used) = match rest.as_bytes().first() {
            Some(&q @ (b'\'' | b'"')) => quoted(rest, q).map_err(|m| self.at(line, name, m))?,
            Some(&c) if !is_separator(c as char) => {
                let end = rest.find(is_separator).unwrap_or(rest.len());
                (Cow::Borrowed(&rest[..end]), end)
            }
            _ => {
                let msg = "a repeat count without a value (Fortran null) is not supported";
                return Err(self.at(line, name, msg));
            }
        };
        self.pos += used;
        self.comma = false;
        if repeat > 1 {
            self.pending = Some((text.clone(), repeat - 1, line));
        }
        Ok((text, line))
    }

    /// Consumes `r*` if the current value starts with one; 1 otherwise.
    fn repeat_count(&mut self) -> std::result::Result<u64, String> {
        let rest = self.rest();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !rest[digits..].starts_with('*') {
            return Ok(1);
        }
        match rest[..digits].parse::<u64>() {
            Ok(r) if r > 0 => {
                self.pos += digits + 1;
                Ok(r)
            }
            _ => Err(format!("bad repeat count `{}`", shown(&rest[..digits]))),
        }
    }

    /// Ends the record of `n` values `name`; with `strict`, anything left
    /// on its last line is an error. The next record starts on a new line.
    fn end(&mut self, name: &str, n: usize, strict: bool) -> Result<()> {
        if strict {
            if let Some((_, left, line)) = &self.pending {
                let msg =
                    format!("a repeat count gives more than its {n} values ({left} left over)");
                return Err(self.at(*line, name, msg));
            }
            let rest = self.rest().trim_start_matches(|c| is_blank(c) || c == ',');
            if !rest.is_empty() && !rest.starts_with('/') {
                let msg = format!("unexpected `{}` after its {n} values", shown(rest));
                return Err(self.at(self.line + 1, name, msg));
            }
        }
        self.pending = None;
        self.line += 1;
        self.pos = 0;
        Ok(())
    }

    /// A record of `n` values, each converted by `parse`.
    fn record<T>(
        &mut self,
        name: &'static str,
        n: usize,
        strict: bool,
        parse: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> Result<Vec<T>> {
        self.begin(name)?;
        let mut out = Vec::new();
        for i in 0..n {
            let (text, line) = self.value(name, i, n)?;
            let v = parse(&text).map_err(|m| {
                let which = if n == 1 {
                    String::new()
                } else {
                    format!("value {} of {n}: ", i + 1)
                };
                self.at(line, name, format!("{which}{m}"))
            })?;
            out.push(v);
        }
        self.end(name, n, strict)?;
        Ok(out)
    }
}

impl Source for Reader<'_> {
    fn ints(&mut self, name: &'static str, n: usize) -> Result<Vec<i32>> {
        self.record(name, n, true, parse_int)
    }

    fn reals(&mut self, name: &'static str, n: usize) -> Result<Vec<f64>> {
        self.record(name, n, true, parse_real)
    }

    fn strings(&mut self, name: &'static str, n: usize, len: usize) -> Result<Vec<String>> {
        let parse = |t: &str| {
            let t = t.trim_end_matches(' ');
            if t.len() > len {
                Err(format!(
                    "`{}` is {} bytes long; the binary form holds {len}",
                    shown(t),
                    t.len()
                ))
            } else {
                Ok(t.to_string())
            }
        };
        self.record(name, n, n > 1, parse)
    }

    fn logical(&mut self, name: &'static str) -> Result<bool> {
        Ok(self.record(name, 1, true, parse_logical)?[0])
    }

    fn error(&self, name: &str, msg: String) -> Error {
        let line = self.starts.iter().rev().find(|(n, _)| *n == name);
        self.at(line.map_or(0, |&(_, l)| l), name, msg)
    }

    fn finish(&mut self) -> Result<()> {
        self.skip_blank_lines();
        if self.line >= self.lines.len() {
            return Ok(());
        }
        let last = self.starts.last().map_or("?", |&(n, _)| n);
        let msg = format!(
            "unexpected `{}` after the last record ({last})",
            shown(self.rest().trim_matches(is_blank))
        );
        Err(Error::parse(self.path, self.line + 1, msg))
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0c')
}

fn is_separator(c: char) -> bool {
    is_blank(c) || c == ',' || c == '/'
}

/// The string quoted by `q` at the start of `s` and the bytes it takes.
fn quoted(s: &str, q: u8) -> std::result::Result<(Cow<'_, str>, usize), String> {
    let q = q as char;
    let mut text = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c != q {
            text.push(c);
        } else if chars.peek().is_some_and(|&(_, d)| d == q) {
            text.push(q);
            chars.next();
        } else {
            let end = i + 1;
            if s[end..].starts_with(|c: char| !is_separator(c)) {
                return Err(format!(
                    "text right after the closing quote in `{}`",
                    shown(s)
                ));
            }
            return Ok((Cow::Owned(text), end));
        }
    }
    Err(format!("unterminated quoted string `{}`", shown(s)))
}

/// At most 40 characters of `s`, for messages.
fn shown(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn parse_int(t: &str) -> std::result::Result<i32, String> {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected an integer, found `{}`", shown(t)));
    }
    t.parse()
        .map_err(|_| format!("{} is outside the int32 range", shown(t)))
}

/// A Fortran real: Rust's syntax plus `D` exponents and `1.0+100`.
fn parse_real(t: &str) -> std::result::Result<f64, String> {
    if let Ok(x) = t.parse() {
        return Ok(x);
    }
    let mut s = t.replace(['d', 'D'], "e");
    if !s.contains(['e', 'E']) {
        let sign = s.char_indices().skip(1).find(|&(i, c)| {
            matches!(c, '+' | '-') && s[..i].ends_with(|p: char| p.is_ascii_digit() || p == '.')
        });
        if let Some((i, _)) = sign {
            s.insert(i, 'e');
        }
    }
    s.parse()
        .map_err(|_| format!("expected a real number, found `{}`", shown(t)))
}

fn parse_logical(t: &str) -> std::result::Result<bool, String> {
    match t.strip_prefix('.').unwrap_or(t).bytes().next() {
        Some(b'T' | b't') => Ok(true),
        Some(b'F' | b'f') => Ok(false),
        _ => Err(format!("expected a logical (T or F), found `{}`", shown(t))),
    }
}

/// Builds the text one record per line: the layout aenet-PyTorch writes
/// and reads (it reads every record from a single line), which Fortran's
/// list-directed reads take as well.
#[derive(Default)]
pub(super) struct Writer {
    text: String,
}

impl Writer {
    pub(super) fn finish(self) -> String {
        self.text
    }

    fn line<T>(&mut self, values: &[T], mut item: impl FnMut(&mut String, &T)) {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.text.push(' ');
            }
            item(&mut self.text, v);
        }
        self.text.push('\n');
    }
}

impl Sink for Writer {
    fn ints(&mut self, values: &[i32]) {
        self.line(values, |out, v| {
            let _ = write!(out, "{v:>17}");
        });
    }

    fn reals(&mut self, values: &[f64]) {
        self.line(values, |out, &v| {
            let _ = write!(out, "{:>24}", real(v));
        });
    }

    fn strings(&mut self, values: &[&str], _len: usize) {
        self.line(values, |out, s| out.push_str(&word(s)));
    }

    fn logical(&mut self, value: bool) {
        self.text.push_str(if value { "T\n" } else { "F\n" });
    }
}

/// `x` with 17 significant digits (enough to read back the same double)
/// and a Fortran-style exponent, e.g. `-1.5491944553803055E-01`.
fn real(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let s = format!("{x:.16e}");
    match s.split_once('e').map(|(m, e)| (m, e.parse::<i32>())) {
        Some((mantissa, Ok(exp))) => format!("{mantissa}E{exp:+03}"),
        _ => s,
    }
}

/// `s` as a list-directed read gets it back: bare when it is one plain
/// word, else double-quoted (line breaks, which no line can hold, become
/// blanks).
fn word(s: &str) -> Cow<'_, str> {
    let special = |c: char| is_separator(c) || matches!(c, '\'' | '"' | '\n');
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let repeat_like = digits > 0 && s[digits..].starts_with('*');
    if !s.is_empty() && !s.contains(special) && !repeat_like {
        return Cow::Borrowed(s);
    }
    let body = s.replace(['\n', '\r'], " ").replace('"', "\"\"");
    Cow::Owned(format!("\"{body}\""))
}
