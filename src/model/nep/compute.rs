//! Energy, forces, virial and descriptors of one structure.
//!
//! Per atom i, from its [`geometry`](super::geometry): the radial
//! descriptor q_n = Σ_j g_n(r_ij), grouped by neighbour type; the angular
//! sums s_nc = Σ_j g_n(r_ij) Y_c(û_ij); the invariants; the network (E_i,
//! ∂E_i/∂q); ∂E_i/∂q carried back to ∂E_i/∂s; then the pairs again for
//! f_ij = ∂E_i/∂r_ij, giving F_i += f_ij, F_j −= f_ij and W −= r_ij ⊗ f_ij
//! (GPUMD's convention). Visiting only some centres i gives their site
//! energies' share of forces and virial.

use super::angular::N_HARMONICS;
use super::basis::contract;
use super::geometry::{AtomGeometry, Geometry};
use super::{Nep, zbl};
use crate::buffers::zeroed;
use crate::model::{Prediction, Prepared};
use crate::nn::RowTrace;
use crate::nn::gemm::dot;
use std::cell::RefCell;

thread_local! {
    /// The prediction's buffers for the calls on one thread.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Optional per-atom outputs besides the prediction.
#[derive(Default)]
pub(super) struct Extras<'a> {
    /// Scaled descriptors, n_atoms × dim.
    pub descriptors: Option<&'a mut [f64]>,
    /// Hidden-layer activations tanh(W0 q − b0), n_atoms × neurons.
    pub hidden: Option<&'a mut [f64]>,
}

/// Work buffers for one structure, sized once and reused for every atom
/// (and, per thread, from call to call).
#[derive(Default)]
struct Scratch {
    /// Radial coefficients gathered per element pair: [pair][n][k].
    c_radial: Vec<f64>,
    /// Angular coefficients gathered per element pair: [pair][n][k].
    c_angular: Vec<f64>,
    /// Per neighbour type t: a_tk = Σ_n ∂E_i/∂q_n c_nk of the pair (i, t).
    radial_force: Vec<f64>,
    /// Per angular pair of the current atom: g_n(r) then g_n'(r).
    angular_g: Vec<f64>,
    q: Vec<f64>,
    dq: Vec<f64>,
    /// The network's hidden layer of the current atom.
    trace: RowTrace,
    /// Angular sums s[n][c] and their adjoint ∂E/∂s.
    s: Vec<f64>,
    ds: Vec<f64>,
    /// Per harmonic c of one pair: Σ_n ∂E/∂s_nc g_n, and with g_n'.
    b: Vec<f64>,
    bp: Vec<f64>,
    /// Atom geometry when the structure's cache has none.
    geometry: Geometry,
}

impl Nep {
    /// The descriptor coefficients regrouped so that each element pair's
    /// block [n][k] is contiguous (nep.txt interleaves the pairs innermost):
    /// (radial, angular), each indexed [(pair · (n_max + 1) + n) · (basis + 1) + k].
    /// Written into buffers kept from call to call.
    pub(super) fn gather_coefficients(&self, radial: &mut Vec<f64>, angular: &mut Vec<f64>) {
        let h = &self.hyper;
        let nt2 = h.n_types() * h.n_types();
        let gather = |out: &mut Vec<f64>, start: usize, n_max: usize, basis: usize| {
            let (nn, kk) = (n_max + 1, basis + 1);
            out.clear();
            out.resize(nt2 * nn * kk, 0.0);
            for p in 0..nt2 {
                for n in 0..nn {
                    for k in 0..kk {
                        out[(p * nn + n) * kk + k] = self.params[start + (n * kk + k) * nt2 + p];
                    }
                }
            }
        };
        let c0 = h.network().n_params();
        gather(radial, c0, h.n_max_radial, h.basis_size_radial);
        gather(
            angular,
            c0 + h.n_radial_coefficients(),
            h.n_max_angular,
            h.basis_size_angular,
        );
    }

    /// Sizes `w` for this model and gathers its coefficients.
    fn prepare_scratch(&self, w: &mut Scratch) {
        let h = &self.hyper;
        let na = h.n_max_angular + 1;
        self.gather_coefficients(&mut w.c_radial, &mut w.c_angular);
        zeroed(&mut w.radial_force, h.n_types() * (h.basis_size_radial + 1));
        zeroed(&mut w.q, h.dim());
        zeroed(&mut w.dq, h.dim());
        zeroed(&mut w.s, na * N_HARMONICS);
        zeroed(&mut w.ds, na * N_HARMONICS);
        zeroed(&mut w.b, N_HARMONICS);
        zeroed(&mut w.bp, N_HARMONICS);
    }

    /// Fills `out` with the share of the site energies of `sites` (energy,
    /// per-atom energies, forces, virial) and, when asked, their scaled
    /// descriptors (rows of n_atoms × dim) and hidden-layer activations
    /// (rows of n_atoms × neurons).
    pub(super) fn compute(
        &self,
        s: &Prepared,
        sites: &[usize],
        out: &mut Prediction,
        extra: Extras<'_>,
    ) {
        crate::model::with_scratch(&SCRATCH, |w| self.compute_in(s, sites, out, extra, w))
    }

    /// [`Nep::compute`] with the buffers given.
    fn compute_in(
        &self,
        s: &Prepared,
        sites: &[usize],
        out: &mut Prediction,
        mut extra: Extras<'_>,
        w: &mut Scratch,
    ) {
        let h = &self.hyper;
        out.reset(s.structure.n_atoms());
        let dim = h.dim();
        let net = h.network();
        self.prepare_scratch(w);
        // Out of `w` for the loop, so that the stages can borrow `w` whole.
        let mut geometry = std::mem::take(&mut w.geometry);
        let mut source = self.geometry(s, &mut geometry);
        for &i in sites {
            let g = source.atom(self, s, i);
            self.descriptor(s.types[i], &g, w);
            if let Some(desc) = extra.descriptors.as_deref_mut() {
                desc[i * dim..(i + 1) * dim].copy_from_slice(&w.q);
            }
            let e_i = net.forward(&self.params, s.types[i], &w.q, &mut w.trace);
            net.descriptor_gradient(&self.params, s.types[i], &w.trace, &mut w.dq);
            if let Some(latent) = extra.hidden.as_deref_mut() {
                latent[i * h.neurons..(i + 1) * h.neurons].copy_from_slice(w.trace.hidden());
            }
            out.atomic_energies[i] += e_i;
            self.pair_forces(i, s.types[i], &g, w, out);
            if h.zbl.is_some() {
                self.zbl_site(s, i, out);
            }
        }
        drop(source);
        w.geometry = geometry;
        out.energy = out.atomic_energies.iter().sum();
    }

    /// The scaled descriptor of an atom of type `ti` into `w.q`, keeping
    /// the angular sums in `w.s` and each angular pair's g_n, g_n' in
    /// `w.angular_g`.
    fn descriptor(&self, ti: usize, g: &AtomGeometry<'_>, w: &mut Scratch) {
        let h = &self.hyper;
        let nt = h.n_types();
        let (nr, na) = (h.n_max_radial + 1, h.n_max_angular + 1);
        let (kr, ka) = (h.basis_size_radial + 1, h.basis_size_angular + 1);
        let terms = h.angular;
        let n_comp = terms.n_components();
        w.q.fill(0.0);
        w.s.fill(0.0);
        // Radial, grouped by neighbour type (the coefficients depend on
        // the pair's types only): q_n = Σ_t Σ_k c_nk(ti, t) B_tk.
        for t in 0..nt {
            let pair = ti * nt + t;
            let sum = &g.radial_sum[t * kr..(t + 1) * kr];
            for n in 0..nr {
                let c = &w.c_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                w.q[n] += dot(c, sum);
            }
        }
        // Angular sums.
        w.angular_g.clear();
        w.angular_g.resize(2 * na * g.angular.len(), 0.0);
        for (p, pair) in g.angular.iter().enumerate() {
            let pt = ti * nt + pair.t as usize;
            let (value, deriv) = g.angular_basis[2 * ka * p..2 * ka * (p + 1)].split_at(ka);
            let y = &g.y[n_comp * p..n_comp * (p + 1)];
            let (gs, gps) = w.angular_g[2 * na * p..2 * na * (p + 1)].split_at_mut(na);
            for n in 0..na {
                let c = &w.c_angular[(pt * na + n) * ka..(pt * na + n + 1) * ka];
                let (gn, gp) = contract(c, value, deriv);
                gs[n] = gn;
                gps[n] = gp;
                let sn = &mut w.s[n * N_HARMONICS..n * N_HARMONICS + n_comp];
                for (acc, yc) in sn.iter_mut().zip(y) {
                    *acc += gn * yc;
                }
            }
        }
        for n in 0..na {
            terms.invariants(&w.s[n * N_HARMONICS..], &mut w.q[nr + n..], na);
        }
        for (q, scale) in w.q.iter_mut().zip(&self.q_scaler) {
            *q *= scale;
        }
    }

    /// From ∂E_i/∂(scaled q) in `w.dq`: f_ij = ∂E_i/∂r_ij of each pair of
    /// atom i, added to the forces and the virial.
    fn pair_forces(
        &self,
        i: usize,
        ti: usize,
        g: &AtomGeometry<'_>,
        w: &mut Scratch,
        out: &mut Prediction,
    ) {
        let h = &self.hyper;
        let nt = h.n_types();
        let (nr, na) = (h.n_max_radial + 1, h.n_max_angular + 1);
        let kr = h.basis_size_radial + 1;
        let terms = h.angular;
        let n_comp = terms.n_components();
        // dE/d(raw q) = dE/d(scaled q) · scale
        for (d, scale) in w.dq.iter_mut().zip(&self.q_scaler) {
            *d *= scale;
        }
        w.ds.fill(0.0);
        for n in 0..na {
            terms.invariants_backward(
                &w.s[n * N_HARMONICS..],
                &w.dq[nr + n..],
                na,
                &mut w.ds[n * N_HARMONICS..],
            );
        }
        // a_tk = Σ_n ∂E_i/∂q_n c_nk(ti, t): a radial pair's force is
        // (Σ_k a_tk f_k'(r)) û.
        for t in 0..nt {
            let pair = ti * nt + t;
            let a = &mut w.radial_force[t * kr..(t + 1) * kr];
            a.fill(0.0);
            for n in 0..nr {
                let c = &w.c_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                let e = w.dq[n];
                for (a, c) in a.iter_mut().zip(c) {
                    *a += e * c;
                }
            }
        }
        for (p, pair) in g.radial.iter().enumerate() {
            let t = pair.t as usize;
            let fp = &g.radial_deriv[p * kr..(p + 1) * kr];
            let a = dot(&w.radial_force[t * kr..(t + 1) * kr], fp);
            let u = pair.unit();
            add_pair_force(out, i, pair, std::array::from_fn(|k| a * u[k]));
        }
        for (p, pair) in g.angular.iter().enumerate() {
            let (gs, gps) = w.angular_g[2 * na * p..2 * na * (p + 1)].split_at(na);
            let y = &g.y[n_comp * p..n_comp * (p + 1)];
            let y_grad = &g.y_grad[n_comp * p..n_comp * (p + 1)];
            // ∇(g Y) = g' Y û + g/d (∇Y − (û·∇Y) û), through
            // b_c = Σ_n ∂E/∂s_nc g_n and b'_c = Σ_n ∂E/∂s_nc g_n'.
            let (b, bp) = (&mut w.b[..n_comp], &mut w.bp[..n_comp]);
            b.fill(0.0);
            bp.fill(0.0);
            for n in 0..na {
                let ds = &w.ds[n * N_HARMONICS..n * N_HARMONICS + n_comp];
                for ((b, bp), ds) in b.iter_mut().zip(bp.iter_mut()).zip(ds) {
                    *b += ds * gs[n];
                    *bp += ds * gps[n];
                }
            }
            let radial_part = dot(bp, y);
            let mut tangential = [0.0; 3];
            for (b, grad) in b.iter().zip(y_grad) {
                for k in 0..3 {
                    tangential[k] += b * grad[k];
                }
            }
            let u = pair.unit();
            let along = tangential[0] * u[0] + tangential[1] * u[1] + tangential[2] * u[2];
            let inv_d = 1.0 / pair.d;
            let f = std::array::from_fn(|k| {
                radial_part * u[k] + (tangential[k] - along * u[k]) * inv_d
            });
            add_pair_force(out, i, pair, f);
        }
    }

    /// Atom i's half of its ZBL pair energies and their forces. NEP_CPU
    /// evaluates ZBL on its angular neighbour list, built with the largest
    /// angular cutoff (`rc_angular`), not the pair's.
    fn zbl_site(&self, s: &Prepared, i: usize, out: &mut Prediction) {
        let h = &self.hyper;
        let ti = s.types[i];
        let (index, vector) = s.neighbors.of(i);
        for (&j, r) in index.iter().zip(vector) {
            let tj = s.types[j as usize];
            let Some(z) = &self.pairs[ti * h.n_types() + tj].zbl else {
                continue;
            };
            let d = norm(r);
            if d >= h.rc_angular || d >= z.outer {
                continue;
            }
            let (e, de) = zbl::pair(
                d,
                self.atomic_numbers[ti],
                self.atomic_numbers[tj],
                &z.terms,
                z.inner,
                z.outer,
            );
            out.atomic_energies[i] += 0.5 * e;
            let pair = super::geometry::Pair {
                j,
                t: tj as u32,
                d,
                r: *r,
            };
            let u = pair.unit();
            add_pair_force(out, i, &pair, std::array::from_fn(|k| 0.5 * de * u[k]));
        }
    }
}

/// Adds the pair force f_ij = ∂E_i/∂r_ij: F_i += f, F_j −= f, W −= r ⊗ f.
#[inline]
fn add_pair_force(out: &mut Prediction, i: usize, pair: &super::geometry::Pair, f: [f64; 3]) {
    let j = pair.j as usize;
    for k in 0..3 {
        out.forces[i][k] += f[k];
        out.forces[j][k] -= f[k];
    }
    for a in 0..3 {
        for b in 0..3 {
            out.virial[a * 3 + b] -= pair.r[a] * f[b];
        }
    }
}

#[inline]
fn norm(r: &[f64; 3]) -> f64 {
    (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt()
}
