//! Energy, forces and virial of a DeePMD model: the forward pass and the
//! backward pass to positions.
//!
//! Per block of atoms, the neighbour rows are grouped by embedding network
//! so that each network runs as one batch (one matrix product per layer);
//! the fitting networks then run over a chunk of several blocks at once, so
//! that their large weight matrices are laid out for the tile passes once
//! per chunk rather than once per block. The embedding's input is a
//! scalar, so its derivative G' = dG/dR̃₀ comes from one tangent pass with
//! unit input tangent alongside the forward pass, and the traces need not
//! be kept for a backward pass through it:
//! per row R̄ = (1/Σsel)(GR̄ᵀG + e₀ R̃ᵀ GR̄ᵀ G'), env̄ = R̄ / dstd.
//! Empty slots are grouped per (centre type, slot) in a small table of
//! suffix sums ([`PadTable`]), since their rows do not depend on positions.

use super::DeepPot;
use super::env::EnvGeometry;
use super::rows::{self, Quad, Stored};
use super::select::Kept;
use super::tape::DeepTape;
use crate::buffers::zeroed;
use crate::model::{Prediction, Prepared, Tape};
use crate::nn::{KeptTrace, Rows, Stream, Trace, Values};
use std::cell::RefCell;
use std::ops::Range;

/// Atoms per embedding batch: large enough for efficient matrix products,
/// small enough for the rows' traces to stay in cache.
pub(super) const BLOCK: usize = 16;

/// Atoms per fitting batch (a multiple of [`BLOCK`]).
pub(super) const CHUNK: usize = 128;

thread_local! {
    /// Scratch reused by the calls on one thread (`predict` runs on rayon
    /// threads, one structure at a time).
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
}

/// The neighbour rows of one embedding network within a chunk.
#[derive(Default)]
pub(super) struct Group {
    /// Chunk-local centre of each row.
    pub atom: Vec<u32>,
    /// Neighbour atom index.
    pub j: Vec<u32>,
    /// Slot of the neighbour.
    pub slot: Vec<u32>,
    /// Geometry of each row.
    pub geom: Vec<EnvGeometry>,
    /// Normalised rows R̃.
    pub env: Vec<[f64; 4]>,
    /// Embedding input R̃₀ per row.
    pub ss: Vec<f64>,
    /// G and G' = dG/dR̃₀ (rows × ng each).
    pub out: Stored,
}

impl Group {
    fn clear(&mut self) {
        self.atom.clear();
        self.j.clear();
        self.slot.clear();
        self.geom.clear();
        self.env.clear();
        self.ss.clear();
        self.out.clear();
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.atom.len()
    }
}

/// Scratch of one call, reused across calls on a thread.
#[derive(Default)]
pub(super) struct Workspace {
    /// The empty-slot table of the current parameters.
    pub pad: PadTable,
    pub groups: Vec<Group>,
    /// Slots in use per (chunk atom, neighbour type).
    pub n_real: Vec<usize>,
    /// GR per chunk atom, stored [c][k] (4 × ng).
    pub gr: Vec<f64>,
    /// GR̄ per chunk atom, [c][k].
    pub gr_bar: Vec<f64>,
    /// D per chunk atom.
    pub d: Vec<f64>,
    /// D̄ per chunk atom.
    pub d_bar: Vec<f64>,
    /// GRᵀ and GR̄ᵀ per chunk atom, [k][c] ([`rows`]' layout).
    pub gr_t: Vec<Quad>,
    pub gr_bar_t: Vec<Quad>,
    /// Per row of a group, GR̄·G and GR̄·G'.
    pub dots: Vec<(Quad, Quad)>,
    /// Fitting input rows of one type, and their adjoints.
    pub fit_in: Vec<f64>,
    pub fit_bar: Vec<f64>,
    /// Chunk atoms of one type.
    pub fit_atoms: Vec<usize>,
    pub kept: Vec<Kept>,
    pub counts: Vec<usize>,
    pub trace: Trace,
    pub stream: Stream,
    pub ones: Vec<f64>,
    /// Atoms that lost neighbours to `sel`, and how many they lost.
    pub truncated_atoms: usize,
    pub dropped: usize,
}

/// The empty-slot contributions: for centre type t and slot s of block b,
/// the sum over slots s..end(b) of G(R̃pad) ⊗ R̃pad, [c][k], unnormalised.
/// Kept from call to call while what it depends on is unchanged.
#[derive(Default)]
pub(super) struct PadTable {
    pub suffix: Vec<f64>,
    /// R̃ of an empty slot, per (centre type, slot).
    pub env: Vec<[f64; 4]>,
    /// The bits of what the table was built from (the slot layout, the
    /// embedding parameters and the empty slots' rows), and the same of
    /// the current call.
    key: Vec<u64>,
    probe: Vec<u64>,
}

impl DeepPot {
    /// Runs `f` with this thread's scratch, sized for this model (a fresh
    /// one if the thread's is in use).
    pub(super) fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        crate::model::with_scratch(&WORKSPACE, |ws| {
            self.size_workspace(ws);
            f(ws)
        })
    }

    /// Sizes GR, D and their adjoints for [`CHUNK`] atoms (no work when
    /// they are: a tape hands its own back, sized so).
    pub(super) fn size_atom_buffers(&self, ws: &mut Workspace) {
        let h = &self.hyper;
        for v in [&mut ws.gr, &mut ws.gr_bar] {
            v.resize(CHUNK * 4 * h.embedding_width(), 0.0);
        }
        for v in [&mut ws.d, &mut ws.d_bar] {
            v.resize(CHUNK * h.descriptor_dim(), 0.0);
        }
    }

    /// Sizes the scratch for [`CHUNK`] atoms and clears the counters.
    fn size_workspace(&self, ws: &mut Workspace) {
        let h = &self.hyper;
        ws.groups.resize_with(h.n_embeddings(), Group::default);
        ws.n_real.resize(CHUNK * h.n_types(), 0);
        self.size_atom_buffers(ws);
        ws.counts.resize(h.n_types(), 0);
        ws.truncated_atoms = 0;
        ws.dropped = 0;
    }

    /// Empties every group's rows.
    pub(super) fn clear_rows(ws: &mut Workspace) {
        for g in &mut ws.groups {
            g.clear();
        }
    }

    /// The normalised row of an empty slot.
    fn pad_env(&self, ti: usize, slot: usize) -> [f64; 4] {
        let base = (ti * self.hyper.n_slots() + slot) * 4;
        std::array::from_fn(|c| -self.stats.davg[base + c] / self.stats.dstd[base + c])
    }

    /// The (centre type, slot) rows whose empty slots embedding network
    /// `e` evaluates.
    pub(super) fn pad_rows(&self, e: usize) -> Vec<(usize, usize)> {
        let nt = self.hyper.n_types();
        let starts = &self.selector.starts;
        let mut rows = Vec::new();
        for ti in 0..nt {
            for tt in 0..nt {
                if self.embedding_index(ti, tt) == e {
                    rows.extend((starts[tt]..starts[tt + 1]).map(|s| (ti, s)));
                }
            }
        }
        rows
    }

    /// Evaluates every empty-slot row once and sums them per block suffix,
    /// unless the table already holds them: a training step calls the
    /// model on several pieces of a structure with the same parameters,
    /// and the table costs a few hundred embedding rows.
    pub(super) fn pad_table(&self, trace: &mut Trace, table: &mut PadTable) {
        let h = &self.hyper;
        let (nt, ns, ng) = (h.n_types(), h.n_slots(), h.embedding_width());
        let block = 4 * ng;
        table.env.clear();
        for ti in 0..nt {
            for s in 0..ns {
                table.env.push(self.pad_env(ti, s));
            }
        }
        let probe = &mut table.probe;
        probe.clear();
        probe.extend([nt, ns, ng, h.n_embeddings()].map(|v| v as u64));
        probe.extend(self.selector.starts.iter().map(|&v| v as u64));
        let embeddings = &self.params[..self.offsets[h.n_embeddings()]];
        probe.extend(embeddings.iter().map(|x| x.to_bits()));
        probe.extend(table.env.iter().flatten().map(|x| x.to_bits()));
        if table.key == *probe {
            return;
        }
        table.key.clear();
        let env = &table.env;
        let suffix = &mut table.suffix;
        suffix.clear();
        suffix.resize(nt * ns * block, 0.0);
        for e in 0..h.n_embeddings() {
            let rows = self.pad_rows(e);
            let x: Vec<f64> = rows.iter().map(|&(t, s)| env[t * ns + s][0]).collect();
            let p = &self.params[self.net_range(e)];
            self.embeddings[e].forward(p, &x, rows.len(), trace, false);
            let g = trace.output();
            for (r, &(t, s)) in rows.iter().enumerate() {
                let out = &mut suffix[(t * ns + s) * block..(t * ns + s + 1) * block];
                for c in 0..4 {
                    for k in 0..ng {
                        out[c * ng + k] = g[r * ng + k] * env[t * ns + s][c];
                    }
                }
            }
        }
        // suffix sums within each block, last slot first
        for t in 0..nt {
            for b in 0..nt {
                let (lo, hi) = (self.selector.starts[b], self.selector.starts[b + 1]);
                for s in (lo..hi.saturating_sub(1)).rev() {
                    let (head, tail) = suffix.split_at_mut((t * ns + s + 1) * block);
                    let cur = &mut head[(t * ns + s) * block..];
                    for (x, y) in cur.iter_mut().zip(&tail[..block]) {
                        *x += y;
                    }
                }
            }
        }
        std::mem::swap(&mut table.key, &mut table.probe);
    }

    /// Selects the neighbours of the given atoms and appends their rows to
    /// the embedding groups, numbering the atoms from `base` in the chunk.
    pub(super) fn fill_rows(&self, s: &Prepared, atoms: &[usize], base: usize, ws: &mut Workspace) {
        let nt = self.hyper.n_types();
        let ns = self.hyper.n_slots();
        let env = self.env_params();
        for (k, &i) in atoms.iter().enumerate() {
            let a = base + k;
            let ti = s.types[i];
            let lost = self.selector.select(s, i, &mut ws.kept, &mut ws.counts);
            if lost > 0 {
                ws.truncated_atoms += 1;
                ws.dropped += lost;
            }
            ws.n_real[a * nt..(a + 1) * nt].copy_from_slice(&ws.counts);
            for k in &ws.kept {
                let geom = env.geometry(k.r, k.d);
                let raw = geom.value();
                let at = (ti * ns + k.slot as usize) * 4;
                let row: [f64; 4] = std::array::from_fn(|c| {
                    (raw[c] - self.stats.davg[at + c]) / self.stats.dstd[at + c]
                });
                let g = &mut ws.groups[self.embedding_index(ti, k.ty as usize)];
                g.atom.push(a as u32);
                g.j.push(k.j);
                g.slot.push(k.slot);
                g.geom.push(geom);
                g.env.push(row);
                g.ss.push(row[0]);
            }
        }
    }

    /// G, and G' when `tangent`, of the rows not embedded yet, in every
    /// group; with `keep`, each group's trace for the gradient to replay
    /// (every row must then be new).
    pub(super) fn embed(
        &self,
        ws: &mut Workspace,
        tangent: bool,
        mut keep: Option<&mut Vec<KeptTrace>>,
    ) {
        let ng = self.hyper.embedding_width();
        if let Some(k) = keep.as_deref_mut() {
            k.resize_with(self.hyper.n_embeddings(), KeptTrace::default);
        }
        let Workspace {
            groups,
            stream,
            ones,
            ..
        } = ws;
        for (e, g) in groups.iter_mut().enumerate() {
            let from = g.out.len() / ng;
            let rows = g.rows() - from;
            if rows == 0 {
                continue;
            }
            if ones.len() < rows {
                ones.resize(rows, 1.0);
            }
            let input = Rows {
                x: &g.ss[from..],
                x_dot: tangent.then_some(&ones[..rows]),
                rows,
                kept: None,
                precision: self.precision,
            };
            let p = &self.params[self.net_range(e)];
            let out = &mut g.out;
            let trace = keep.as_deref_mut().map(|k| &mut k[e]);
            self.embeddings[e].value_tiles(p, &input, stream, trace, |_, _, v| out.extend(v));
        }
    }

    /// GR (with the empty slots) and D of the chunk's atoms (numbered by
    /// their position in `atoms` in the rows).
    pub(super) fn contract(&self, s: &Prepared, atoms: &[usize], ws: &mut Workspace) {
        let (ng, n) = (self.hyper.embedding_width(), atoms.len());
        zeroed(&mut ws.gr_t, n * ng);
        for g in &ws.groups {
            rows::contract(&mut ws.gr_t, ng, &g.atom, g.out.view(), &g.env);
        }
        rows::untranspose(&ws.gr_t, ng, n, &mut ws.gr);
        self.finish_contract(s, atoms, ws);
    }

    /// GR and D of the chunk's atoms once the rows' G ⊗ R̃ are in GR: the
    /// empty slots, the 1/Σsel and D = GR·GR<ᵀ.
    pub(super) fn finish_contract(&self, s: &Prepared, atoms: &[usize], ws: &mut Workspace) {
        let h = &self.hyper;
        let (nt, ns, ng, axis) = (h.n_types(), h.n_slots(), h.embedding_width(), h.axis_neuron);
        let scale = 1.0 / ns as f64;
        for (a, &i) in atoms.iter().enumerate() {
            let ti = s.types[i];
            let gr = &mut ws.gr[a * 4 * ng..(a + 1) * 4 * ng];
            for tt in 0..nt {
                let used = ws.n_real[a * nt + tt];
                if used < h.sel[tt] {
                    let slot = self.selector.starts[tt] + used;
                    let p =
                        &ws.pad.suffix[(ti * ns + slot) * 4 * ng..(ti * ns + slot + 1) * 4 * ng];
                    for (o, v) in gr.iter_mut().zip(p) {
                        *o += v;
                    }
                }
            }
            for x in gr.iter_mut() {
                *x *= scale;
            }
            let d = &mut ws.d[a * ng * axis..(a + 1) * ng * axis];
            descriptor_from_gr(gr, ng, axis, d);
        }
    }

    /// The forward and backward passes of the site energies of `sites`;
    /// see the module docs. Fills their rows of `descriptors` (n_atoms ×
    /// dim) when given.
    pub(super) fn compute(
        &self,
        s: &Prepared,
        sites: &[usize],
        out: &mut Prediction,
        descriptors: Option<&mut [f64]>,
    ) {
        self.with_workspace(|ws| self.compute_in(s, sites, out, descriptors, ws, None));
    }

    /// [`DeepPot::compute`] keeping what the gradient of the same sites
    /// reuses ([`super::tape`]).
    pub(super) fn compute_taped(
        &self,
        s: &Prepared,
        sites: &[usize],
        out: &mut Prediction,
    ) -> Tape {
        let mut tape = DeepTape {
            sites: sites.to_vec(),
            chunks: Vec::new(),
        };
        self.with_workspace(|ws| self.compute_in(s, sites, out, None, ws, Some(&mut tape)));
        Self::into_tape(tape)
    }

    /// [`DeepPot::compute`] with the scratch given, filling `tape` when
    /// given.
    fn compute_in(
        &self,
        s: &Prepared,
        sites: &[usize],
        out: &mut Prediction,
        mut descriptors: Option<&mut [f64]>,
        ws: &mut Workspace,
        mut tape: Option<&mut DeepTape>,
    ) {
        out.reset(s.structure.n_atoms());
        let dim = self.hyper.descriptor_dim();
        self.pad_table(&mut ws.trace, &mut ws.pad);
        for chunk in sites.chunks(CHUNK) {
            Self::clear_rows(ws);
            let mut chunk_tape = None;
            if tape.is_some() {
                // the whole chunk at once, as the gradient's first sweep
                self.fill_rows(s, chunk, 0, ws);
                let rows = ws.groups.iter().map(Group::rows).sum();
                chunk_tape = self.reserve_chunk(chunk.len(), rows);
                self.embed(ws, true, chunk_tape.as_mut().map(|t| &mut t.data.kept));
            } else {
                for (b, block) in chunk.chunks(BLOCK).enumerate() {
                    self.fill_rows(s, block, b * BLOCK, ws);
                    self.embed(ws, true, None);
                }
            }
            self.contract(s, chunk, ws);
            if let Some(d) = descriptors.as_deref_mut() {
                for (a, &i) in chunk.iter().enumerate() {
                    d[i * dim..(i + 1) * dim].copy_from_slice(&ws.d[a * dim..(a + 1) * dim]);
                }
            }
            self.fit_forward_backward(s, chunk, ws, out);
            self.rows_backward(s, chunk, ws, out);
            if let Some(t) = tape.as_deref_mut() {
                if let Some(k) = chunk_tape.as_mut() {
                    self.keep_chunk(chunk.len(), ws, k);
                }
                t.chunks.push(chunk_tape);
            }
        }
        out.energy = out.atomic_energies.iter().sum();
        self.warn_truncation(s, ws.truncated_atoms, ws.dropped);
    }

    /// Atomic energies and D̄ = dE_i/dD of the block's atoms: per type,
    /// one sweep of its fitting network's tiles, forward and back to the
    /// descriptors.
    fn fit_forward_backward(
        &self,
        s: &Prepared,
        atoms: &[usize],
        ws: &mut Workspace,
        out: &mut Prediction,
    ) {
        let dim = self.hyper.descriptor_dim();
        let first_fit = self.embeddings.len();
        for t in 0..self.hyper.n_types() {
            let run = self.gather_type(s, atoms, t, ws);
            let rows = ws.fit_atoms.len();
            if rows == 0 {
                continue;
            }
            let p = &self.params[self.net_range(first_fit + t)];
            let net = &self.fittings[t];
            let x = run.clone().map_or(&ws.fit_in[..], |r| &ws.d[r]);
            let fit_rows = Rows {
                x,
                x_dot: None,
                rows,
                kept: None,
                precision: self.fitting_precision,
            };
            let bias = self.stats.bias_atom_e[t] + self.stats.out_bias[t];
            let energies = &mut out.atomic_energies;
            let fit_atoms = &ws.fit_atoms;
            let x_bar = in_place_or(&run, &mut ws.d_bar, &mut ws.fit_bar, rows * dim);
            net.reverse_tiles(
                p,
                &fit_rows,
                &mut ws.stream,
                Some(|first: usize, m: usize, y: Values| {
                    for (r, e) in (first..first + m).zip(y.y_f64()) {
                        energies[atoms[fit_atoms[r]]] = e + bias;
                    }
                }),
                |_, _, y_bar, _, _| y_bar.fill(1.0),
                Some(|first: usize, m: usize, xb: &[f64], _: &[f64]| {
                    x_bar[first * dim..(first + m) * dim].copy_from_slice(xb);
                }),
                None,
            );
            if run.is_none() {
                scatter_rows(&ws.fit_atoms, dim, &ws.fit_bar, &mut ws.d_bar);
            }
        }
    }

    /// Collects the chunk atoms of type `t` (`ws.fit_atoms`, positions in
    /// `atoms`). When they are one run of positions (atoms sorted by type,
    /// as DeePMD's data are), their range of D's rows is returned: D and
    /// its adjoints are then read and written in place. Otherwise their D
    /// rows are gathered into `ws.fit_in`.
    pub(super) fn gather_type(
        &self,
        s: &Prepared,
        atoms: &[usize],
        t: usize,
        ws: &mut Workspace,
    ) -> Option<Range<usize>> {
        let dim = self.hyper.descriptor_dim();
        ws.fit_atoms.clear();
        ws.fit_atoms
            .extend((0..atoms.len()).filter(|&a| s.types[atoms[a]] == t));
        if let (Some(&first), Some(&last)) = (ws.fit_atoms.first(), ws.fit_atoms.last())
            && last - first + 1 == ws.fit_atoms.len()
        {
            return Some(first * dim..(last + 1) * dim);
        }
        ws.fit_in.clear();
        for &a in &ws.fit_atoms {
            ws.fit_in.extend_from_slice(&ws.d[a * dim..(a + 1) * dim]);
        }
        None
    }

    /// GRᵀ of the chunk's `n` atoms into `ws.gr_t` (from `ws.gr`) and
    /// GR̄ᵀ = C(D̄, GR) into `ws.gr_bar_t`, C the adjoint of D = GR·GR<ᵀ.
    pub(super) fn gr_bar_t(&self, n: usize, ws: &mut Workspace) {
        let (ng, axis) = (self.hyper.embedding_width(), self.hyper.axis_neuron);
        rows::transpose(&ws.gr, ng, n, &mut ws.gr_t);
        zeroed(&mut ws.gr_bar_t, n * ng);
        let d_bar = &ws.d_bar[..n * ng * axis];
        rows::gr_adjoint(d_bar, &ws.gr_t, ng, axis, &mut ws.gr_bar_t);
    }

    /// GR̄ from D̄, then each row's dE/dr_ij into forces and virial.
    fn rows_backward(
        &self,
        s: &Prepared,
        atoms: &[usize],
        ws: &mut Workspace,
        out: &mut Prediction,
    ) {
        let h = &self.hyper;
        let (ns, ng) = (h.n_slots(), h.embedding_width());
        self.gr_bar_t(atoms.len(), ws);
        let scale = 1.0 / ns as f64;
        for g in &ws.groups {
            rows::row_dots(&ws.gr_bar_t, ng, &g.atom, g.out.view(), &mut ws.dots);
            for (r, &(dot_g, dot_gp)) in ws.dots.iter().enumerate() {
                let i = atoms[g.atom[r] as usize];
                let ti = s.types[i];
                let env = g.env[r];
                let ss_bar: f64 = (0..4).map(|c| env[c] * dot_gp[c]).sum();
                let base = (ti * ns + g.slot[r] as usize) * 4;
                let env_bar: [f64; 4] = std::array::from_fn(|c| {
                    let r_bar = (dot_g[c] + if c == 0 { ss_bar } else { 0.0 }) * scale;
                    r_bar / self.stats.dstd[base + c]
                });
                let geom = &g.geom[r];
                let grad = geom.gradient(env_bar);
                let j = g.j[r] as usize;
                for x in 0..3 {
                    out.forces[i][x] += grad[x];
                    out.forces[j][x] -= grad[x];
                    for y in 0..3 {
                        out.virial[x * 3 + y] -= geom.r[x] * grad[y];
                    }
                }
            }
        }
    }
}

/// D[k·axis + m] = Σ_c GR[c][k]·GR[c][m] for GR stored [c][k].
pub(super) fn descriptor_from_gr(gr: &[f64], ng: usize, axis: usize, d: &mut [f64]) {
    for k in 0..ng {
        for m in 0..axis {
            d[k * axis + m] = (0..4).map(|c| gr[c * ng + k] * gr[c * ng + m]).sum();
        }
    }
}

/// Where a type's adjoint rows (`n` values) are written: in place, in
/// `whole`'s `run` (see [`DeepPot::gather_type`]), or into `gathered`,
/// for [`scatter_rows`].
pub(super) fn in_place_or<'a>(
    run: &Option<Range<usize>>,
    whole: &'a mut [f64],
    gathered: &'a mut Vec<f64>,
    n: usize,
) -> &'a mut [f64] {
    match run {
        Some(r) => &mut whole[r.clone()],
        None => {
            gathered.clear();
            gathered.resize(n, 0.0);
            gathered
        }
    }
}

/// Writes gathered rows (`dim` wide, one per entry of `atoms`) to their
/// atoms' rows of `to`.
pub(super) fn scatter_rows(atoms: &[usize], dim: usize, from: &[f64], to: &mut [f64]) {
    for (row, &a) in from.chunks_exact(dim).zip(atoms) {
        to[a * dim..(a + 1) * dim].copy_from_slice(row);
    }
}
