//! The covariance side file of a checkpoint: every block's packed triangle,
//! concatenated in block order, as a 1-D `.npy` of the stored precision,
//! with an FNV-1a checksum of the values' bit patterns that the checkpoint
//! repeats. The layout does not depend on the ranks, so a checkpoint
//! written on any number of ranks resumes on any other: rank 0 writes the
//! file while the blocks' owners send it their blocks piece by piece (no
//! rank holds more than its blocks and one piece), and on resume every
//! rank reads the file through, keeping its own blocks.

use super::Kalman;
use super::storage::{Element, Precision, Triangles, packed_len};
use crate::dist::Comm;
use crate::error::{Error, Result};
use std::io::Read;
use std::ops::Range;
use std::path::Path;

/// Values per piece: bounds what rank 0 holds besides its own blocks (64
/// MiB of float64) and keeps each message below MPI's 2³¹-byte count.
const PIECE: usize = 1 << 23;

/// The file's pieces in order: (block, range of values within the block).
fn pieces(blocks: &[Range<usize>]) -> Vec<(usize, Range<usize>)> {
    let mut out = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        let len = packed_len(block.len());
        let mut at = 0;
        while at < len {
            let end = (at + PIECE).min(len);
            out.push((b, at..end));
            at = end;
        }
    }
    out
}

/// FNV-1a over the bit patterns of the values, word by word.
#[derive(Clone, Copy)]
struct Checksum(u64);

impl Checksum {
    fn new() -> Self {
        Checksum(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, bits: u64) {
        self.0 = (self.0 ^ bits).wrapping_mul(0x0000_0100_0000_01b3);
    }

    /// Adds the values in little-endian `bytes` stored as `precision`.
    fn add_bytes(&mut self, bytes: &[u8], precision: Precision) {
        for c in bytes.chunks_exact(precision.bytes()) {
            self.add(match precision {
                Precision::Float64 => u64::from_le_bytes(c.try_into().expect("8 bytes")),
                Precision::Float32 => u64::from(u32::from_le_bytes(c.try_into().expect("4 bytes"))),
            });
        }
    }
}

/// The pieces of the file as rank 0 receives them, in order. Every rank
/// must take every piece (one gather each when there are several ranks).
struct Pieces<'a> {
    kalman: &'a Kalman,
    comm: &'a dyn Comm,
    plan: Vec<(usize, Range<usize>)>,
    done: usize,
}

impl Pieces<'_> {
    /// The next piece's bytes on rank 0 (empty elsewhere), None after the last.
    fn next(&mut self) -> Option<Vec<u8>> {
        let (b, range) = self.plan.get(self.done)?.clone();
        self.done += 1;
        let k = self.kalman;
        let owner = k.shard.owner[b];
        let mut bytes = Vec::new();
        if owner == k.shard.placement.rank {
            let at = k.offset(b).expect("this rank's block");
            k.p.put(at + range.start..at + range.end, &mut bytes);
        }
        if k.shard.alone() {
            return Some(bytes);
        }
        Some(
            self.comm
                .gather(&bytes)
                .map(|mut all| std::mem::take(&mut all[owner]))
                .unwrap_or_default(),
        )
    }

    /// Takes the pieces not taken yet (a failed write on rank 0 must not
    /// leave the other ranks waiting in a gather).
    fn drain(&mut self) {
        while self.next().is_some() {}
    }
}

/// Writes the covariance file (rank 0) with the blocks of every rank;
/// the checksum on rank 0, None on the others. Collective.
pub(super) fn write(kalman: &Kalman, comm: &dyn Comm, path: &Path) -> Result<Option<u64>> {
    let mut pieces = Pieces {
        kalman,
        comm,
        plan: pieces(&kalman.blocks),
        done: 0,
    };
    if comm.rank() != 0 {
        pieces.drain();
        return Ok(None);
    }
    let total = kalman.blocks.iter().map(|b| packed_len(b.len())).sum();
    let precision = kalman.precision;
    let mut sum = Checksum::new();
    let written = crate::io::write_atomic(path, |w| match precision {
        Precision::Float64 => write_npy::<f64>(w, total, &mut pieces, &mut sum),
        Precision::Float32 => write_npy::<f32>(w, total, &mut pieces, &mut sum),
    });
    pieces.drain();
    written.map(|()| Some(sum.0))
}

fn write_npy<T: Element>(
    w: &mut dyn std::io::Write,
    total: usize,
    pieces: &mut Pieces,
    sum: &mut Checksum,
) -> std::io::Result<()> {
    use npyz::WriterBuilder;
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(&[total as u64])
        .writer(w)
        .begin_nd()?;
    let size = std::mem::size_of::<T>();
    while let Some(bytes) = pieces.next() {
        for c in bytes.chunks_exact(size) {
            let x = T::get(c);
            sum.add(x.bits());
            writer.push(&x)?;
        }
    }
    writer.finish()
}

/// Reads this rank's blocks from a file written by [`write`], checking
/// its length, value type and checksum against the checkpoint's.
pub(super) fn read(kalman: &mut Kalman, path: &Path, expected: u64) -> Result<()> {
    check_npy_start(path)?;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file))
        .map_err(|e| Error::file(path, format!("not a covariance file: {e}")))?;
    let total: usize = kalman.blocks.iter().map(|b| packed_len(b.len())).sum();
    // The header's shape is checked before any data are read.
    let shape = npy.shape().to_vec();
    if shape.len() != 1 || usize::try_from(shape[0]).ok() != Some(total) {
        let held = match shape.as_slice() {
            [n] => format!("holds {n} values"),
            _ => format!("has shape {shape:?}"),
        };
        return Err(Error::file(
            path,
            format!("{held}, the checkpoint's blocks need {total}"),
        ));
    }
    let precision = kalman.precision;
    let found = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => format!("{other:?}"),
    };
    if found != precision.npy_type() {
        return Err(Error::file(
            path,
            format!(
                "holds values of type {found}, the checkpoint records {} ({}) covariances",
                precision.name(),
                precision.npy_type()
            ),
        ));
    }
    let mut reader = npy.into_inner();
    let own_total = kalman
        .shard
        .own
        .iter()
        .map(|&b| packed_len(kalman.blocks[b].len()))
        .sum();
    let mut p = Triangles::zeros(precision, own_total);
    let mut sum = Checksum::new();
    let mut bytes = Vec::new();
    let mut offsets = Offsets::default();
    for (b, range) in pieces(&kalman.blocks) {
        bytes.resize(range.len() * precision.bytes(), 0);
        reader.read_exact(&mut bytes).map_err(|e| {
            Error::file(path, format!("ends early ({e}): a damaged covariance file"))
        })?;
        sum.add_bytes(&bytes, precision);
        if let Some(at) = offsets.of(kalman, b) {
            p.set_bytes(at + range.start, &bytes);
        }
    }
    if sum.0 != expected {
        return Err(Error::file(
            path,
            "checksum differs from the checkpoint's: the file belongs to another checkpoint",
        ));
    }
    kalman.p = p;
    kalman.allocate_work();
    Ok(())
}

/// Where this rank's blocks start in its storage, found walking the
/// blocks in order.
#[derive(Default)]
struct Offsets {
    block: Option<usize>,
    at: Option<usize>,
    next: usize,
}

impl Offsets {
    /// The offset of block `b` (`b` never decreasing between calls) if
    /// this rank holds it.
    fn of(&mut self, kalman: &Kalman, b: usize) -> Option<usize> {
        if self.block != Some(b) {
            self.block = Some(b);
            self.at = (kalman.shard.owner[b] == kalman.shard.placement.rank).then_some(self.next);
            if self.at.is_some() {
                self.next += packed_len(kalman.blocks[b].len());
            }
        }
        self.at
    }
}

/// Checks the header of the covariance file before the npy parser reads it.
fn check_npy_start(path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut start = Vec::new();
    file.take(crate::io::npy::MAX_PREFIX as u64)
        .read_to_end(&mut start)
        .map_err(|e| Error::io(path, e))?;
    crate::io::npy::check_header(&start)
        .map_err(|m| Error::file(path, format!("not a covariance file: {m}")))
}
