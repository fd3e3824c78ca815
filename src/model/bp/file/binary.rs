//! The binary form, gfortran sequential unformatted as aenet writes it:
//! each record is its byte count (u32 little-endian), the payload, and the
//! same count again. Integers are int32 and reals f64, both little-endian;
//! the logical is 4 bytes (nonzero is true, written as 1); strings are
//! blank-padded to fixed lengths. Both markers of every record must equal
//! the size its fields imply. The limits keep every record below 2 GiB, so
//! gfortran's split records (negative markers) cannot occur; a file that
//! has them fails the marker check.

use super::layout::{Sink, Source};
use crate::error::{Error, Result};
use std::path::Path;

/// Reads records from the bytes of a whole file.
pub(super) struct Reader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
    /// The records begun so far; record k (1-based) is `names[k - 1]`.
    names: Vec<&'static str>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8], path: &'a Path) -> Self {
        Reader {
            path,
            bytes,
            pos: 0,
            names: Vec::new(),
        }
    }

    /// An error about the record being read.
    fn fail(&self, msg: String) -> Error {
        let name = self.names.last().copied().unwrap_or("?");
        Error::file(
            self.path,
            format!("record {} ({name}): {msg}", self.names.len()),
        )
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn marker(&mut self, which: &str) -> Result<u32> {
        match self.take(4) {
            Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            None => Err(self.fail(format!(
                "the file ends (at byte {}) where the {which} record marker should be",
                self.bytes.len()
            ))),
        }
    }

    /// The payload of the next record, `n` items of `item` bytes, with
    /// both markers checked.
    fn record(&mut self, name: &'static str, n: usize, item: usize) -> Result<&'a [u8]> {
        self.names.push(name);
        let Some(size) = n.checked_mul(item) else {
            return Err(self.fail(format!("{n} items of {item} bytes overflow")));
        };
        let open = self.marker("opening")?;
        if u64::from(open) != size as u64 {
            return Err(self.fail(format!("expected {size} bytes, the marker says {open}")));
        }
        let left = self.bytes.len() - self.pos;
        let Some(payload) = self.take(size) else {
            return Err(self.fail(format!(
                "the file ends {left} bytes into the {size}-byte record"
            )));
        };
        let close = self.marker("closing")?;
        if close != open {
            return Err(self.fail(format!(
                "the closing record marker says {close} bytes, the opening one {open}"
            )));
        }
        Ok(payload)
    }
}

impl Source for Reader<'_> {
    fn ints(&mut self, name: &'static str, n: usize) -> Result<Vec<i32>> {
        let payload = self.record(name, n, 4)?;
        let int = |b: &[u8]| i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        Ok(payload.chunks_exact(4).map(int).collect())
    }

    fn reals(&mut self, name: &'static str, n: usize) -> Result<Vec<f64>> {
        let payload = self.record(name, n, 8)?;
        let real = |b: &[u8]| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        Ok(payload.chunks_exact(8).map(real).collect())
    }

    fn strings(&mut self, name: &'static str, n: usize, len: usize) -> Result<Vec<String>> {
        let payload = self.record(name, n, len)?;
        let mut out = Vec::with_capacity(n);
        for (i, chunk) in payload.chunks_exact(len).enumerate() {
            let text = std::str::from_utf8(chunk).map_err(|e| {
                let which = if n == 1 {
                    String::new()
                } else {
                    format!("entry {}: ", i + 1)
                };
                self.fail(format!(
                    "{which}not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                ))
            })?;
            out.push(text.trim_end_matches(' ').to_string());
        }
        Ok(out)
    }

    fn logical(&mut self, name: &'static str) -> Result<bool> {
        Ok(self.ints(name, 1)?[0] != 0)
    }

    fn error(&self, name: &str, msg: String) -> Error {
        let number = self
            .names
            .iter()
            .rposition(|n| *n == name)
            .map_or(0, |k| k + 1);
        Error::file(self.path, format!("record {number} ({name}): {msg}"))
    }

    fn finish(&mut self) -> Result<()> {
        let extra = self.bytes.len() - self.pos;
        if extra == 0 {
            return Ok(());
        }
        let name = self.names.last().copied().unwrap_or("?");
        Err(Error::file(
            self.path,
            format!(
                "{extra} bytes follow the last record ({}, {name}) at byte {}",
                self.names.len(),
                self.pos
            ),
        ))
    }
}

/// Builds the bytes of a file record by record.
#[derive(Default)]
pub(super) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(super) fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// One record of `size` bytes whose payload `fill` appends.
    fn record(&mut self, size: usize, fill: impl FnOnce(&mut Vec<u8>)) {
        let marker = u32::try_from(size).unwrap_or(u32::MAX).to_le_bytes();
        self.bytes.extend_from_slice(&marker);
        fill(&mut self.bytes);
        self.bytes.extend_from_slice(&marker);
    }
}

impl Sink for Writer {
    fn ints(&mut self, values: &[i32]) {
        self.record(4 * values.len(), |out| {
            values
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        });
    }

    fn reals(&mut self, values: &[f64]) {
        self.record(8 * values.len(), |out| {
            values
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        });
    }

    fn strings(&mut self, values: &[&str], len: usize) {
        self.record(len * values.len(), |out| {
            for s in values {
                let kept = fitting(s, len);
                out.extend_from_slice(kept.as_bytes());
                out.resize(out.len() + len - kept.len(), b' ');
            }
        });
    }

    fn logical(&mut self, value: bool) {
        self.ints(&[i32::from(value)]);
    }
}

/// The longest prefix of `s` that fits in `len` bytes without splitting a
/// character: what a fixed-length Fortran string can hold.
fn fitting(s: &str, len: usize) -> &str {
    let mut end = s.len().min(len);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
