//! The exact parameter gradient of J = aE·E + Σ_i a_i·F_i + Ω:W.
//!
//! Forces and virial are sums over pairs of g_ij = ∂E/∂r_ij, so the force
//! and virial terms are Σ_pairs g_ij·δ_ij with δ_ij = a_i − a_j − Ωᵀr_ij:
//! the directional derivative Ė of the energy when every neighbour vector
//! moves along its δ_ij. Hence J = Σ_i (aE·E_i + Ė_i), and one forward
//! pass carrying tangents (Ṙ, Ġ = Ṙ₀·G', GṘ, Ḋ, Ė) followed by one reverse
//! pass over values and tangents gives ∇θJ; R̃ and Ṙ depend on geometry
//! only, so nothing flows back to positions. The cost is about twice a
//! force evaluation.
//!
//! Reverse pass per atom: the fitting's tangent vjp (ȳ = aE, ẏ̄ = 1; one
//! tile sweep per type, [`crate::nn::Network::reverse_tiles`]) gives D̄
//! and Ḋ̄; then GR̄ = C(D̄, GR) + C(Ḋ̄, GṘ) and GṘ̄ = C(Ḋ̄, GR) with C the
//! adjoint of D = GR·GR<ᵀ ([`rows::gr_adjoint`]); per row
//! Ḡ = (GR̄ᵀR̃ + GṘ̄ᵀṘ)/Σsel and, for the unit-tangent output G',
//! Ḡ' = Ṙ₀·GṘ̄ᵀR̃/Σsel; empty slots (no tangent) get Ḡ = GR̄ᵀR̃pad/Σsel,
//! summed over the atoms that leave them empty.
//!
//! Per chunk of atoms, in two sweeps over the neighbour rows: the first
//! computes G and G' tile by tile, sums them into GR and GṘ at once and
//! keeps the embedding's compact trace (each layer's φ(z) and ż); after
//! the fitting's reverse pass, the second replays each tile from that
//! trace and runs its reverse pass ([`crate::nn::Network::param_vjp`]).
//! With an energy-only adjoint (Ṙ = 0) every tangent is zero and is not
//! computed: the cost is about that of a prediction.

use super::DeepPot;
use super::compute::{CHUNK, Workspace, in_place_or, scatter_rows};
use super::rows::{self, Quad, RowAdjoints};
use super::tape::DeepTape;
use crate::buffers::zeroed;
use crate::model::{Adjoint, Prepared, Tape};
use crate::nn::{KeptTrace, Rows, Trace, Values};
use std::cell::RefCell;

/// Scratch of the tangent quantities, per chunk.
#[derive(Default)]
struct TangentScratch {
    /// Ṙ per row of each group.
    env_dot: Vec<Vec<[f64; 4]>>,
    /// GṘ and its adjoint per chunk atom, [c][k].
    gr_dot: Vec<f64>,
    gr_dot_bar: Vec<f64>,
    /// The same transposed, [k][c] ([`rows`]' layout).
    gr_dot_t: Vec<Quad>,
    gr_dot_bar_t: Vec<Quad>,
    /// Ḋ and its adjoint per block atom.
    d_dot: Vec<f64>,
    d_dot_bar: Vec<f64>,
    /// Fitting rows of one type, gathered: Ḋ and Ḋ̄.
    fit_in_dot: Vec<f64>,
    fit_bar_dot: Vec<f64>,
    /// Σ GR̄ of the atoms whose first empty slot is (centre type, slot).
    pad_bucket: Vec<f64>,
    /// Per embedding group, the trace of the first sweep that the second
    /// replays.
    kept: Vec<KeptTrace>,
}

thread_local! {
    /// Tangent scratch reused by the calls on one thread.
    static TANGENTS: RefCell<TangentScratch> = RefCell::new(TangentScratch::default());
}

impl DeepPot {
    /// Accumulates ∇θ [aE·E + Σ a_i·F_i + Ω:W] of the site energies of
    /// `sites` into `grad`; see the module docs.
    /// With the tape of a prediction of the same sites (see
    /// [`super::tape`]), its chunks are not recomputed. An energy-only
    /// adjoint ignores it (its trace has no tangents).
    pub(super) fn gradient(
        &self,
        s: &Prepared,
        sites: &[usize],
        adj: &Adjoint,
        grad: &mut [f64],
        tape: Tape,
    ) {
        let mut tape = tape
            .take::<DeepTape>()
            .filter(|t| t.sites == sites && !adj.energy_only())
            .unwrap_or_default();
        self.with_workspace(|ws| {
            crate::model::with_scratch(&TANGENTS, |ts| {
                self.gradient_in(s, sites, adj, grad, ws, ts, &mut tape)
            })
        })
    }

    /// [`DeepPot::gradient`] with the scratch given.
    #[allow(clippy::too_many_arguments)]
    fn gradient_in(
        &self,
        s: &Prepared,
        sites: &[usize],
        adj: &Adjoint,
        grad: &mut [f64],
        ws: &mut Workspace,
        ts: &mut TangentScratch,
        tape: &mut DeepTape,
    ) {
        let h = &self.hyper;
        let (nt, ns, ng) = (h.n_types(), h.n_slots(), h.embedding_width());
        let tangent = !adj.energy_only();
        ts.env_dot.resize_with(h.n_embeddings(), Vec::new);
        ts.kept.resize_with(h.n_embeddings(), KeptTrace::default);
        for v in [&mut ts.gr_dot, &mut ts.gr_dot_bar] {
            v.resize(CHUNK * 4 * ng, 0.0);
        }
        for v in [&mut ts.d_dot, &mut ts.d_dot_bar] {
            v.resize(CHUNK * h.descriptor_dim(), 0.0);
        }
        ts.pad_bucket.clear();
        ts.pad_bucket.resize(nt * ns * 4 * ng, 0.0);
        self.pad_table(&mut ws.trace, &mut ws.pad);
        for (c, chunk) in sites.chunks(CHUNK).enumerate() {
            if let Some(chunk_tape) = tape.chunks.get_mut(c).and_then(Option::as_mut) {
                self.restore_chunk(chunk_tape, ws, &mut ts.kept);
                self.row_tangents(s, chunk, adj, ws, ts);
                self.contract_tangent(chunk.len(), ws, ts);
            } else {
                Self::clear_rows(ws);
                self.fill_rows(s, chunk, 0, ws);
                if tangent {
                    self.row_tangents(s, chunk, adj, ws, ts);
                }
                self.embed_and_contract(chunk.len(), tangent, ws, ts);
                self.finish_contract(s, chunk, ws);
            }
            if tangent {
                self.finish_contract_tangent(chunk.len(), ws, ts);
            }
            self.fit_vjp(s, chunk, adj.energy, tangent, ws, ts, grad);
            self.descriptor_vjp(s, chunk, tangent, ws, ts);
            self.embedding_vjp(tangent, ws, ts, grad);
        }
        self.empty_slot_vjp(&ws.pad.env, &mut ws.trace, &mut ts.pad_bucket, grad);
    }

    /// Ṙ of every row: the environment row's derivative along
    /// δ_ij = a_i − a_j − Ωᵀ r_ij, normalised.
    fn row_tangents(
        &self,
        s: &Prepared,
        atoms: &[usize],
        adj: &Adjoint,
        ws: &mut Workspace,
        ts: &mut TangentScratch,
    ) {
        let ns = self.hyper.n_slots();
        let a = |i: usize| adj.forces.get(i).copied().unwrap_or([0.0; 3]);
        let omega = &adj.virial;
        for (g, env_dot) in ws.groups.iter().zip(&mut ts.env_dot) {
            env_dot.clear();
            for r in 0..g.rows() {
                let i = atoms[g.atom[r] as usize];
                let (ai, aj) = (a(i), a(g.j[r] as usize));
                let geom = &g.geom[r];
                let delta: [f64; 3] = std::array::from_fn(|y| {
                    ai[y] - aj[y] - (0..3).map(|x| omega[x * 3 + y] * geom.r[x]).sum::<f64>()
                });
                let raw = geom.tangent(delta);
                let base = (s.types[i] * ns + g.slot[r] as usize) * 4;
                env_dot.push(std::array::from_fn(|c| raw[c] / self.stats.dstd[base + c]));
            }
        }
    }

    /// The first sweep: G and G' of every row, tile by tile, summed at once
    /// into GR = Σ_rows G ⊗ R̃ and GṘ = Σ_rows (Ṙ₀ G' ⊗ R̃ + G ⊗ Ṙ) (before
    /// the empty slots and the 1/Σsel) and not kept; the embedding's trace
    /// is, for the second sweep.
    fn embed_and_contract(
        &self,
        n: usize,
        tangent: bool,
        ws: &mut Workspace,
        ts: &mut TangentScratch,
    ) {
        let ng = self.hyper.embedding_width();
        let Workspace {
            groups,
            gr,
            gr_t,
            stream,
            ones,
            ..
        } = ws;
        zeroed(gr_t, n * ng);
        zeroed(&mut ts.gr_dot_t, n * ng);
        let (gr_dot_t, kept) = (&mut ts.gr_dot_t, &mut ts.kept);
        for (e, g) in groups.iter().enumerate() {
            let rows = g.rows();
            if rows == 0 {
                continue;
            }
            if ones.len() < rows {
                ones.resize(rows, 1.0);
            }
            let env_dot = &ts.env_dot[e];
            let consume = |first: usize, m: usize, out: Values| {
                let (atom, env) = (&g.atom[first..first + m], &g.env[first..first + m]);
                rows::contract(gr_t, ng, atom, out, env);
                if tangent {
                    let env_dot = &env_dot[first..first + m];
                    rows::contract_tangent(gr_dot_t, ng, atom, out, env, env_dot);
                }
            };
            let p = &self.params[self.net_range(e)];
            let rows = Rows {
                x: &g.ss,
                x_dot: tangent.then_some(&ones[..rows]),
                rows,
                kept: None,
                precision: self.precision,
            };
            let keep = Some(&mut kept[e]);
            self.embeddings[e].value_tiles(p, &rows, stream, keep, consume);
        }
        rows::untranspose(gr_t, ng, n, gr);
        rows::untranspose(&ts.gr_dot_t, ng, n, &mut ts.gr_dot);
    }

    /// GṘ = Σ_rows (Ṙ₀ G' ⊗ R̃ + G ⊗ Ṙ) of a chunk whose G and G' are
    /// already in its rows (from a tape), in the first sweep's order.
    fn contract_tangent(&self, n: usize, ws: &Workspace, ts: &mut TangentScratch) {
        let ng = self.hyper.embedding_width();
        let gr_dot_t = &mut ts.gr_dot_t;
        zeroed(gr_dot_t, n * ng);
        for (g, env_dot) in ws.groups.iter().zip(&ts.env_dot) {
            rows::contract_tangent(gr_dot_t, ng, &g.atom, g.out.view(), &g.env, env_dot);
        }
        rows::untranspose(gr_dot_t, ng, n, &mut ts.gr_dot);
    }

    /// GṘ's 1/Σsel and Ḋ of the chunk's atoms.
    fn finish_contract_tangent(&self, n_atoms: usize, ws: &mut Workspace, ts: &mut TangentScratch) {
        let h = &self.hyper;
        let (ng, axis) = (h.embedding_width(), h.axis_neuron);
        let scale = 1.0 / h.n_slots() as f64;
        for a in 0..n_atoms {
            let gr = &ws.gr[a * 4 * ng..(a + 1) * 4 * ng];
            let gr_dot = &mut ts.gr_dot[a * 4 * ng..(a + 1) * 4 * ng];
            for x in gr_dot.iter_mut() {
                *x *= scale;
            }
            let d_dot = &mut ts.d_dot[a * ng * axis..(a + 1) * ng * axis];
            // Ḋ[k, m] = Σ_c GṘ[c][k] GR[c][m] + GR[c][k] GṘ[c][m]
            for k in 0..ng {
                for m in 0..axis {
                    d_dot[k * axis + m] = (0..4)
                        .map(|c| {
                            gr_dot[c * ng + k] * gr[c * ng + m]
                                + gr[c * ng + k] * gr_dot[c * ng + m]
                        })
                        .sum();
                }
            }
        }
    }

    /// The fitting networks' vjp (through the tangent when `tangent`):
    /// parameter gradients, D̄ and Ḋ̄, per type in one sweep of its
    /// network's tiles (the forward pass recomputed tile by tile).
    #[allow(clippy::too_many_arguments)]
    fn fit_vjp(
        &self,
        s: &Prepared,
        atoms: &[usize],
        a_energy: f64,
        tangent: bool,
        ws: &mut Workspace,
        ts: &mut TangentScratch,
        grad: &mut [f64],
    ) {
        let dim = self.hyper.descriptor_dim();
        let first_fit = self.embeddings.len();
        for t in 0..self.hyper.n_types() {
            let run = self.gather_type(s, atoms, t, ws);
            let rows = ws.fit_atoms.len();
            if rows == 0 {
                continue;
            }
            let range = self.net_range(first_fit + t);
            let (p, net) = (&self.params[range.clone()], &self.fittings[t]);
            let x = run.clone().map_or(&ws.fit_in[..], |r| &ws.d[r]);
            let x_dot = match (&run, tangent) {
                (_, false) => None,
                (Some(r), true) => Some(&ts.d_dot[r.clone()]),
                (None, true) => {
                    ts.fit_in_dot.clear();
                    for &a in &ws.fit_atoms {
                        ts.fit_in_dot
                            .extend_from_slice(&ts.d_dot[a * dim..(a + 1) * dim]);
                    }
                    Some(&ts.fit_in_dot[..])
                }
            };
            let fit_rows = Rows {
                x,
                x_dot,
                rows,
                kept: None,
                precision: self.fitting_precision,
            };
            let x_bar = in_place_or(&run, &mut ws.d_bar, &mut ws.fit_bar, rows * dim);
            let n = if tangent { rows * dim } else { 0 };
            let x_dot_bar = in_place_or(&run, &mut ts.d_dot_bar, &mut ts.fit_bar_dot, n);
            net.reverse_tiles(
                p,
                &fit_rows,
                &mut ws.stream,
                None::<fn(usize, usize, Values)>,
                |_, _, y_bar, y_dot_bar, _| {
                    y_bar.fill(a_energy);
                    if tangent {
                        y_dot_bar.fill(1.0);
                    }
                },
                Some(|first: usize, m: usize, xb: &[f64], xdb: &[f64]| {
                    let to = first * dim..(first + m) * dim;
                    x_bar[to.clone()].copy_from_slice(xb);
                    if tangent {
                        x_dot_bar[to].copy_from_slice(xdb);
                    }
                }),
                Some(&mut grad[range]),
            );
            if run.is_none() {
                scatter_rows(&ws.fit_atoms, dim, &ws.fit_bar, &mut ws.d_bar);
                if tangent {
                    scatter_rows(&ws.fit_atoms, dim, &ts.fit_bar_dot, &mut ts.d_dot_bar);
                }
            }
        }
    }

    /// GR̄ and, when `tangent`, GṘ̄ of the chunk's atoms; their empty
    /// slots' share of GR̄ goes to the bucket of their first empty slot.
    fn descriptor_vjp(
        &self,
        s: &Prepared,
        atoms: &[usize],
        tangent: bool,
        ws: &mut Workspace,
        ts: &mut TangentScratch,
    ) {
        let h = &self.hyper;
        let (nt, ns, ng, axis) = (h.n_types(), h.n_slots(), h.embedding_width(), h.axis_neuron);
        let n = atoms.len();
        self.gr_bar_t(n, ws);
        if tangent {
            let d_dot_bar = &ts.d_dot_bar[..n * ng * axis];
            rows::transpose(&ts.gr_dot, ng, n, &mut ts.gr_dot_t);
            rows::gr_adjoint(d_dot_bar, &ts.gr_dot_t, ng, axis, &mut ws.gr_bar_t);
            zeroed(&mut ts.gr_dot_bar_t, n * ng);
            rows::gr_adjoint(d_dot_bar, &ws.gr_t, ng, axis, &mut ts.gr_dot_bar_t);
            rows::untranspose(&ts.gr_dot_bar_t, ng, n, &mut ts.gr_dot_bar);
        }
        rows::untranspose(&ws.gr_bar_t, ng, n, &mut ws.gr_bar);
        for (a, &i) in atoms.iter().enumerate() {
            let gr_bar = &ws.gr_bar[a * 4 * ng..(a + 1) * 4 * ng];
            let ti = s.types[i];
            for tt in 0..nt {
                let used = ws.n_real[a * nt + tt];
                if used < h.sel[tt] {
                    let slot = self.selector.starts[tt] + used;
                    let bucket = &mut ts.pad_bucket
                        [(ti * ns + slot) * 4 * ng..(ti * ns + slot + 1) * 4 * ng];
                    for (b, g) in bucket.iter_mut().zip(gr_bar.iter()) {
                        *b += g;
                    }
                }
            }
        }
    }

    /// The embedding networks' vjp over the chunk's rows (through G' when
    /// `tangent`), tile by tile with the rows' adjoints Ḡ and Ḡ'.
    fn embedding_vjp(
        &self,
        tangent: bool,
        ws: &mut Workspace,
        ts: &TangentScratch,
        grad: &mut [f64],
    ) {
        let ng = self.hyper.embedding_width();
        let scale = 1.0 / self.hyper.n_slots() as f64;
        let (gr_bar, gr_dot_bar) = (&ws.gr_bar, &ts.gr_dot_bar);
        for (e, g) in ws.groups.iter().enumerate() {
            let rows = g.rows();
            if rows == 0 {
                continue;
            }
            if ws.ones.len() < rows {
                ws.ones.resize(rows, 1.0);
            }
            let env_dot = &ts.env_dot[e];
            let bars = |first: usize, m: usize, gb: &mut [f64], gpb: &mut [f64], _: usize| {
                let adj = RowAdjoints {
                    ng,
                    gr_bar,
                    gr_dot_bar,
                    env: &g.env[first..first + m],
                    env_dot: tangent.then(|| &env_dot[first..first + m]),
                    scale,
                };
                rows::row_bars(&adj, &g.atom[first..first + m], gb, gpb);
            };
            let range = self.net_range(e);
            let x_dot = tangent.then_some(&ws.ones[..rows]);
            let vjp_rows = Rows {
                x: &g.ss,
                x_dot,
                rows,
                kept: Some(&ts.kept[e]),
                precision: self.precision,
            };
            let p = &self.params[range.clone()];
            self.embeddings[e].param_vjp(p, &vjp_rows, &mut ws.stream, bars, &mut grad[range]);
        }
    }

    /// The empty slots' share: an atom whose block b has its first empty
    /// slot at s leaves slots s..end(b) empty, so slot s' collects the
    /// buckets of every s ≤ s' in its block (a prefix sum).
    fn empty_slot_vjp(
        &self,
        pad_env: &[[f64; 4]],
        trace: &mut Trace,
        bucket: &mut [f64],
        grad: &mut [f64],
    ) {
        let h = &self.hyper;
        let (nt, ns, ng) = (h.n_types(), h.n_slots(), h.embedding_width());
        let block = 4 * ng;
        for t in 0..nt {
            for b in 0..nt {
                let (lo, hi) = (self.selector.starts[b], self.selector.starts[b + 1]);
                for s in lo + 1..hi {
                    let (head, tail) = bucket.split_at_mut((t * ns + s) * block);
                    let prev = &head[(t * ns + s - 1) * block..];
                    for (x, y) in tail[..block].iter_mut().zip(prev) {
                        *x += y;
                    }
                }
            }
        }
        let scale = 1.0 / ns as f64;
        let mut g_bar = Vec::new();
        for e in 0..h.n_embeddings() {
            let rows = self.pad_rows(e);
            g_bar.clear();
            g_bar.resize(rows.len() * ng, 0.0);
            let mut any = false;
            for (r, &(t, s)) in rows.iter().enumerate() {
                let acc = &bucket[(t * ns + s) * block..(t * ns + s + 1) * block];
                let env = pad_env[t * ns + s];
                for c in 0..4 {
                    for k in 0..ng {
                        g_bar[r * ng + k] += acc[c * ng + k] * env[c] * scale;
                    }
                }
                any |= acc.iter().any(|&x| x != 0.0);
            }
            if !any {
                continue;
            }
            let x: Vec<f64> = rows.iter().map(|&(t, s)| pad_env[t * ns + s][0]).collect();
            let range = self.net_range(e);
            let p = &self.params[range.clone()];
            self.embeddings[e].forward(p, &x, rows.len(), trace, false);
            self.embeddings[e].backward(p, &x, trace, &g_bar, None, Some(&mut grad[range]));
        }
    }
}
