//! Energy, forces, virial and descriptors of one structure.
//!
//! Per atom i: accumulate the radial descriptor q_n = Σ_j g_n(r_ij) and the
//! angular sums s_nc = Σ_j g_n(r_ij) Y_c(û_ij); form the invariants; run the
//! network (E_i, ∂E_i/∂q); carry ∂E_i/∂q back to ∂E_i/∂s; then visit the
//! pairs again for f_ij = ∂E_i/∂r_ij, giving F_i += f_ij, F_j −= f_ij and
//! W −= r_ij ⊗ f_ij (GPUMD's convention). Visiting only some centres i
//! gives their site energies' share of forces and virial.

use super::angular::{N_HARMONICS, harmonics, harmonics_grad};
use super::basis::{chebyshev, contract};
use super::{Nep, zbl};
use crate::model::{Prediction, Prepared};

/// Optional per-atom outputs besides the prediction.
#[derive(Default)]
pub(super) struct Extras<'a> {
    /// Scaled descriptors, n_atoms × dim.
    pub descriptors: Option<&'a mut [f64]>,
    /// Hidden-layer activations tanh(W0 q − b0), n_atoms × neurons.
    pub hidden: Option<&'a mut [f64]>,
}

/// Work buffers for one structure, sized once and reused for every atom.
struct Scratch {
    /// Radial coefficients gathered per element pair: [pair][n][k].
    c_radial: Vec<f64>,
    /// Angular coefficients gathered per element pair: [pair][n][k].
    c_angular: Vec<f64>,
    basis: Vec<f64>,
    basis_deriv: Vec<f64>,
    /// Per radial pair of the current atom: g_n'(r) for each channel.
    radial_deriv: Vec<f64>,
    /// Per angular pair of the current atom: g_n(r) then g_n'(r).
    angular_g: Vec<f64>,
    q: Vec<f64>,
    dq: Vec<f64>,
    hidden: Vec<f64>,
    /// Angular sums s[n][c] and their adjoint ∂E/∂s.
    s: Vec<f64>,
    ds: Vec<f64>,
}

impl Nep {
    /// The descriptor coefficients regrouped so that each element pair's
    /// block [n][k] is contiguous (nep.txt interleaves the pairs innermost):
    /// (radial, angular), each indexed [(pair · (n_max + 1) + n) · (basis + 1) + k].
    pub(super) fn gathered_coefficients(&self) -> (Vec<f64>, Vec<f64>) {
        let h = &self.hyper;
        let nt2 = h.n_types() * h.n_types();
        let gather = |start: usize, n_max: usize, basis: usize| {
            let (nn, kk) = (n_max + 1, basis + 1);
            let mut out = vec![0.0; nt2 * nn * kk];
            for p in 0..nt2 {
                for n in 0..nn {
                    for k in 0..kk {
                        out[(p * nn + n) * kk + k] = self.params[start + (n * kk + k) * nt2 + p];
                    }
                }
            }
            out
        };
        let c0 = h.network().n_params();
        let radial = gather(c0, h.n_max_radial, h.basis_size_radial);
        let angular = gather(
            c0 + h.n_radial_coefficients(),
            h.n_max_angular,
            h.basis_size_angular,
        );
        (radial, angular)
    }

    fn scratch(&self) -> Scratch {
        let h = &self.hyper;
        let na = h.n_max_angular + 1;
        let (kr, ka) = (h.basis_size_radial + 1, h.basis_size_angular + 1);
        let (c_radial, c_angular) = self.gathered_coefficients();
        let kmax = kr.max(ka);
        Scratch {
            c_radial,
            c_angular,
            basis: vec![0.0; kmax],
            basis_deriv: vec![0.0; kmax],
            radial_deriv: Vec::new(),
            angular_g: Vec::new(),
            q: vec![0.0; h.dim()],
            dq: vec![0.0; h.dim()],
            hidden: vec![0.0; h.neurons],
            s: vec![0.0; na * N_HARMONICS],
            ds: vec![0.0; na * N_HARMONICS],
        }
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
        mut extra: Extras<'_>,
    ) {
        let h = &self.hyper;
        let n_atoms = s.structure.n_atoms();
        out.reset(n_atoms);
        let nt = h.n_types();
        let (nr, na) = (h.n_max_radial + 1, h.n_max_angular + 1);
        let (kr, ka) = (h.basis_size_radial + 1, h.basis_size_angular + 1);
        let terms = h.angular;
        let n_comp = terms.n_components();
        let dim = h.dim();
        let net = h.network();
        let mut w = self.scratch();
        let list = &s.neighbors;
        let mut y = [0.0; N_HARMONICS];
        let mut y_grad = [[0.0; 3]; N_HARMONICS];

        for &i in sites {
            let ti = s.types[i];
            let (index, vector) = list.of(i);
            w.q.fill(0.0);
            w.s.fill(0.0);
            w.radial_deriv.clear();
            w.angular_g.clear();

            // Radial descriptor.
            for (&j, r) in index.iter().zip(vector) {
                let pair = ti * nt + s.types[j as usize];
                let rc = self.pairs[pair].rc_radial;
                let d = norm(r);
                if d >= rc {
                    continue;
                }
                chebyshev(d, rc, &mut w.basis[..kr], &mut w.basis_deriv[..kr]);
                for n in 0..nr {
                    let c = &w.c_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                    let (g, gp) = contract(c, &w.basis[..kr], &w.basis_deriv[..kr]);
                    w.q[n] += g;
                    w.radial_deriv.push(gp);
                }
            }

            // Angular sums.
            for (&j, r) in index.iter().zip(vector) {
                let pair = ti * nt + s.types[j as usize];
                let rc = self.pairs[pair].rc_angular;
                let d = norm(r);
                if d >= rc {
                    continue;
                }
                chebyshev(d, rc, &mut w.basis[..ka], &mut w.basis_deriv[..ka]);
                let u = [r[0] / d, r[1] / d, r[2] / d];
                harmonics(u, terms.l_max, &mut y);
                let start = w.angular_g.len();
                w.angular_g.resize(start + 2 * na, 0.0);
                for n in 0..na {
                    let c = &w.c_angular[(pair * na + n) * ka..(pair * na + n + 1) * ka];
                    let (g, gp) = contract(c, &w.basis[..ka], &w.basis_deriv[..ka]);
                    w.angular_g[start + n] = g;
                    w.angular_g[start + na + n] = gp;
                    let sn = &mut w.s[n * N_HARMONICS..n * N_HARMONICS + n_comp];
                    for (acc, yc) in sn.iter_mut().zip(&y[..n_comp]) {
                        *acc += g * yc;
                    }
                }
            }
            for n in 0..na {
                terms.invariants(&w.s[n * N_HARMONICS..], &mut w.q[nr + n..], na);
            }

            for (q, scale) in w.q.iter_mut().zip(&self.q_scaler) {
                *q *= scale;
            }
            if let Some(desc) = extra.descriptors.as_deref_mut() {
                desc[i * dim..(i + 1) * dim].copy_from_slice(&w.q);
            }
            let e_i = net.forward(&self.params, ti, &w.q, &mut w.dq, &mut w.hidden);
            if let Some(latent) = extra.hidden.as_deref_mut() {
                latent[i * h.neurons..(i + 1) * h.neurons].copy_from_slice(&w.hidden);
            }
            out.atomic_energies[i] += e_i;
            // dE/d(raw q) = dE/d(scaled q) · scale
            for (g, scale) in w.dq.iter_mut().zip(&self.q_scaler) {
                *g *= scale;
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

            // Second visit of the pairs: f_ij = ∂E_i/∂r_ij.
            let mut radial_pair = 0;
            let mut angular_pair = 0;
            for (&j, r) in index.iter().zip(vector) {
                let j = j as usize;
                let pair = ti * nt + s.types[j];
                let settings = &self.pairs[pair];
                let d = norm(r);
                let u = [r[0] / d, r[1] / d, r[2] / d];
                let mut f = [0.0; 3];
                if d < settings.rc_radial {
                    let gp = &w.radial_deriv[radial_pair * nr..(radial_pair + 1) * nr];
                    let a: f64 = gp.iter().zip(&w.dq[..nr]).map(|(g, e)| g * e).sum();
                    for k in 0..3 {
                        f[k] += a * u[k];
                    }
                    radial_pair += 1;
                }
                if d < settings.rc_angular {
                    let g = &w.angular_g[angular_pair * 2 * na..(angular_pair * 2 + 1) * na];
                    let gp = &w.angular_g[(angular_pair * 2 + 1) * na..(angular_pair + 1) * 2 * na];
                    harmonics(u, terms.l_max, &mut y);
                    harmonics_grad(u, terms.l_max, &mut y_grad);
                    // ∇(g Y) = g' Y û + g/d (∇Y − (û·∇Y) û)
                    let mut radial_part = 0.0;
                    let mut tangential = [0.0; 3];
                    for c in 0..n_comp {
                        let (mut b, mut bp) = (0.0, 0.0);
                        for n in 0..na {
                            let ds = w.ds[n * N_HARMONICS + c];
                            b += ds * g[n];
                            bp += ds * gp[n];
                        }
                        radial_part += bp * y[c];
                        for k in 0..3 {
                            tangential[k] += b * y_grad[c][k];
                        }
                    }
                    let along = tangential[0] * u[0] + tangential[1] * u[1] + tangential[2] * u[2];
                    for k in 0..3 {
                        f[k] += radial_part * u[k] + (tangential[k] - along * u[k]) / d;
                    }
                    angular_pair += 1;
                }
                // NEP_CPU evaluates ZBL on its angular neighbour list, built with
                // the largest angular cutoff (`rc_angular`), not the pair's.
                if let Some(z) = &settings.zbl
                    && d < h.rc_angular
                    && d < z.outer
                {
                    let (e, de) = zbl::pair(
                        d,
                        self.atomic_numbers[ti],
                        self.atomic_numbers[s.types[j]],
                        &z.terms,
                        z.inner,
                        z.outer,
                    );
                    out.atomic_energies[i] += 0.5 * e;
                    for k in 0..3 {
                        f[k] += 0.5 * de * u[k];
                    }
                }
                for k in 0..3 {
                    out.forces[i][k] += f[k];
                    out.forces[j][k] -= f[k];
                }
                for a in 0..3 {
                    for b in 0..3 {
                        out.virial[a * 3 + b] -= r[a] * f[b];
                    }
                }
            }
        }
        out.energy = out.atomic_energies.iter().sum();
    }
}

#[inline]
fn norm(r: &[f64; 3]) -> f64 {
    (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt()
}
