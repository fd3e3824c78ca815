//! What a training prediction keeps for the gradient of the same sites
//! ([`crate::model::Tape`]): per chunk of atoms, the neighbour rows
//! (geometry, R̃, G and G'), GR and D, and the embedding's compact trace.
//! (The fitting networks' forward passes are not kept: the gradient's
//! tile sweep per type recomputes them tile by tile.)
//! The gradient's first sweep ([`super::gradient`]) would recompute
//! exactly these (the rows, G and G' do not depend on the adjoint, only
//! their tangents do), so with a tape it only adds the tangents; the
//! gradient is the same to the bit. A tape holds about 1.7 kB per
//! neighbour row for the FEKF paper's model (embedding widths 25; 0.9 kB
//! with float32 embeddings, whose G, G' and trace it keeps as f32), more
//! for wider ones, so tapes draw on the process's [`cache_budget`]: past
//! it a chunk is not kept and its gradient recomputes it.

use super::DeepPot;
use super::compute::{Group, Workspace};
use super::env::EnvGeometry;
use crate::model::Tape;
use crate::model::cache_budget;
use crate::nn::KeptTrace;
use std::sync::Mutex;

/// What a tape keeps of one chunk.
#[derive(Default)]
pub(super) struct ChunkData {
    pub groups: Vec<Group>,
    pub n_real: Vec<usize>,
    /// GR and D as the prediction left them: the scratch's buffers, sized
    /// for a whole chunk, of which the chunk's atoms take the first rows.
    pub gr: Vec<f64>,
    pub d: Vec<f64>,
    /// The embedding's trace per group, for the gradient's replay.
    pub kept: Vec<KeptTrace>,
}

/// One chunk's share of a tape.
pub(super) struct ChunkTape {
    pub data: ChunkData,
    /// Bytes taken from the cache budget.
    bytes: usize,
}

/// Spares kept at most (a step keeps one tape per work item).
const MAX_SPARES: usize = 64;

/// Dropped tapes' buffers, for the next tapes: a chunk's are megabytes,
/// which fresh vectors would have the system map and zero on every
/// training step.
static SPARES: Mutex<Vec<ChunkData>> = Mutex::new(Vec::new());

impl Drop for ChunkTape {
    fn drop(&mut self) {
        cache_budget::release(self.bytes);
        if let Ok(mut spares) = SPARES.lock()
            && spares.len() < MAX_SPARES
        {
            spares.push(std::mem::take(&mut self.data));
        }
    }
}

/// A DeePMD prediction's tape: one entry per chunk of the sites, `None`
/// where the budget had no room.
#[derive(Default)]
pub(super) struct DeepTape {
    /// The sites predicted.
    pub sites: Vec<usize>,
    pub chunks: Vec<Option<ChunkTape>>,
}

impl DeepPot {
    /// Bytes a tape keeps per neighbour row, at most: G, G' and the trace
    /// are in the embedding's precision.
    fn tape_bytes_per_row(&self) -> usize {
        let ng = self.hyper.embedding_width();
        let traced: usize = self.hyper.neuron.iter().map(|w| 2 * w).sum();
        3 * size_of::<u32>()
            + size_of::<EnvGeometry>()
            + size_of::<[f64; 4]>()
            + size_of::<f64>()
            + (2 * ng + traced) * self.precision.bytes()
    }

    /// Bytes a tape keeps per atom: GR and D.
    fn tape_bytes_per_atom(&self) -> usize {
        let (ng, dim) = (self.hyper.embedding_width(), self.hyper.descriptor_dim());
        (4 * ng + dim) * size_of::<f64>()
    }

    /// Reserves room for a chunk of `atoms` atoms and `rows` neighbour
    /// rows: its empty tape, or `None` when the budget has no room.
    pub(super) fn reserve_chunk(&self, atoms: usize, rows: usize) -> Option<ChunkTape> {
        let bytes = rows * self.tape_bytes_per_row() + atoms * self.tape_bytes_per_atom();
        if !cache_budget::reserve(bytes) {
            return None;
        }
        let spare = SPARES.lock().ok().and_then(|mut s| s.pop());
        Some(ChunkTape {
            data: spare.unwrap_or_default(),
            bytes,
        })
    }

    /// Moves the chunk's rows, GR and D (of its `n` atoms) from the
    /// scratch to the tape, leaving the scratch the tape's spare rows,
    /// emptied.
    pub(super) fn keep_chunk(&self, n: usize, ws: &mut Workspace, tape: &mut ChunkTape) {
        let h = &self.hyper;
        let nt = h.n_types();
        let data = &mut tape.data;
        std::mem::swap(&mut data.groups, &mut ws.groups);
        ws.groups.resize_with(h.n_embeddings(), Group::default);
        Self::clear_rows(ws);
        refill(&mut data.n_real, &ws.n_real[..n * nt]);
        // GR and D change hands whole (a copy of them took 1 % of a
        // training step); the scratch gets the tape's old ones, sized
        // for a chunk
        std::mem::swap(&mut data.gr, &mut ws.gr);
        std::mem::swap(&mut data.d, &mut ws.d);
        self.size_atom_buffers(ws);
    }

    /// Puts a kept chunk back into the scratch for the gradient: rows, GR,
    /// D and the slot counts, the embedding's traces into `kept`.
    pub(super) fn restore_chunk(
        &self,
        tape: &mut ChunkTape,
        ws: &mut Workspace,
        kept: &mut [KeptTrace],
    ) {
        let data = &mut tape.data;
        std::mem::swap(&mut ws.groups, &mut data.groups);
        ws.n_real[..data.n_real.len()].copy_from_slice(&data.n_real);
        std::mem::swap(&mut ws.gr, &mut data.gr);
        std::mem::swap(&mut ws.d, &mut data.d);
        for (k, t) in kept.iter_mut().zip(&mut data.kept) {
            std::mem::swap(k, t);
        }
    }

    /// The tape of a prediction: its chunks, or an empty tape when the
    /// budget kept none.
    pub(super) fn into_tape(tape: DeepTape) -> Tape {
        if tape.chunks.iter().all(Option::is_none) {
            Tape::default()
        } else {
            Tape::new(tape)
        }
    }
}

/// `v` becomes a copy of `from`, in its own (recycled) capacity.
fn refill<T: Copy>(v: &mut Vec<T>, from: &[T]) {
    v.clear();
    v.extend_from_slice(from);
}
