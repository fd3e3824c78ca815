//! Energy, forces and virial of a BP model, and the exact vector-Jacobian
//! product. Per element, the sites' normalised descriptors go through the
//! network as one batch; forces and the force part of the vjp contract the
//! per-pair descriptor Jacobians ([`AtomJacobian`]):
//!
//! - ∂E/∂R_p = (1/scale)·Σ_f ∂NN/∂x̂_f · σ_f⁻¹ · ∂x_f/∂R_p for each pair p
//!   of a site; F_i += ∂E/∂R_p, F_j −= ∂E/∂R_p, W −= R_p ⊗ ∂E/∂R_p;
//! - with the adjoint (aE, aF, aW): Σ_j aF_j·F_j + aW:W
//!   = −Σ_p ∂E/∂R_p·u_p, u_p = aF_j − aF_i + aWᵀR_p, which is the tangent
//!   of the network along ẋ_i = Σ_p ∂x_i/∂R_p·u_p. The parameter gradient
//!   is then one tangent backward pass with ȳ = aE/scale and ẏ̄ = −1/scale.

use super::BpModel;
use super::cache::{self, Descriptors};
use super::chebyshev::AtomJacobian;
use crate::model::{Adjoint, Prediction, Prepared};
use crate::nn::Trace;
use std::borrow::Cow;

/// The sites of one element and their normalised descriptors.
struct Rows {
    t: usize,
    sites: Vec<usize>,
    x: Vec<f64>,
}

impl BpModel {
    /// The sites grouped by element, with normalised descriptors.
    fn rows(&self, s: &Prepared, desc: &Descriptors, sites: &[usize]) -> Vec<Rows> {
        let n_types = self.hyper.species.len();
        let mut groups: Vec<Rows> = (0..n_types)
            .map(|t| Rows {
                t,
                sites: Vec::new(),
                x: Vec::new(),
            })
            .collect();
        for &i in sites {
            let t = s.types[i];
            let g = &mut groups[t];
            g.sites.push(i);
            let (avg, inv) = (&self.stats.avg[t], &self.inv_sigma[t]);
            g.x.extend(
                desc.of(i)
                    .iter()
                    .zip(avg)
                    .zip(inv)
                    .map(|((x, a), k)| (x - a) * k),
            );
        }
        groups.retain(|g| !g.sites.is_empty());
        groups
    }

    /// The Jacobians of `s`: cached, or computed for the atoms needed.
    fn jacobians<'a>(
        &self,
        s: &Prepared,
        desc: &'a Descriptors,
        sites: &[usize],
    ) -> Cow<'a, [AtomJacobian]> {
        if let Some(j) = desc.jacobians(self, s) {
            return Cow::Borrowed(j);
        }
        let spin = self.atom_spins(s);
        let mut all = vec![AtomJacobian::default(); s.structure.n_atoms()];
        for &i in sites {
            all[i] = self.atom_jacobian(s, &spin, i);
        }
        Cow::Owned(all)
    }

    /// Prediction of the site energies `sites`; forces and virial only
    /// when `forces`.
    pub(super) fn compute(
        &self,
        s: &Prepared,
        sites: &[usize],
        out: &mut Prediction,
        forces: bool,
    ) {
        out.reset(s.structure.n_atoms());
        if sites.is_empty() {
            return;
        }
        let desc = cache::descriptors(self, s);
        let jac = forces.then(|| self.jacobians(s, &desc, sites));
        let mut trace = Trace::default();
        let mut scratch = Vec::new();
        for rows in self.rows(s, &desc, sites) {
            let (t, n) = (rows.t, rows.sites.len());
            let net = &self.hyper.networks[t];
            let p = self.net_params(t);
            net.forward(p, &rows.x, n, &mut trace, false);
            let base = self.stats.shift + self.stats.e_atom[t];
            for (&i, nn) in rows.sites.iter().zip(trace.output()) {
                out.atomic_energies[i] = nn / self.stats.scale + base;
            }
            let Some(jac) = &jac else { continue };
            let dim = self.dim_of(t);
            let mut g = vec![0.0; n * dim];
            net.backward(p, &rows.x, &mut trace, &vec![1.0; n], Some(&mut g), None);
            for (r, &i) in rows.sites.iter().enumerate() {
                let gi = &mut g[r * dim..(r + 1) * dim];
                for (v, k) in gi.iter_mut().zip(&self.inv_sigma[t]) {
                    *v *= k / self.stats.scale;
                }
                self.pair_gradients(s, i, gi, &jac[i], &mut scratch, |p, v| {
                    let j = s.neighbors.index[p] as usize;
                    let rp = s.neighbors.vector[p];
                    for a in 0..3 {
                        out.forces[i][a] += v[a];
                        out.forces[j][a] -= v[a];
                        for b in 0..3 {
                            out.virial[3 * a + b] -= rp[a] * v[b];
                        }
                    }
                });
            }
        }
        out.energy = sites.iter().map(|&i| out.atomic_energies[i]).sum();
    }

    /// Calls `f(p, ∂E/∂R_p)` for every pair p of atom i, given
    /// g = ∂E_i/∂x_i (raw features).
    fn pair_gradients(
        &self,
        s: &Prepared,
        i: usize,
        g: &[f64],
        jac: &AtomJacobian,
        folded: &mut Vec<f64>,
        mut f: impl FnMut(usize, [f64; 3]),
    ) {
        let d = &self.hyper.descriptors[s.types[i]];
        let (nr, na, multi) = (d.n_radial(), d.n_angular(), self.hyper.multi());
        let (rw, aw) = (nr + na, 2 * nr + na);
        // The weighted block's coefficients differ by the neighbour's spin
        // only: fold them into one vector per spin (nr each).
        let spins = if multi { &self.spins[..] } else { &[0.0][..] };
        folded.clear();
        for &sj in spins {
            folded.extend((0..nr).map(|n| g[n] + if multi { sj * g[rw + n] } else { 0.0 }));
        }
        for (e, &p) in jac.radial_pairs.iter().enumerate() {
            let p = p as usize;
            let dphi = &jac.radial[e * nr..(e + 1) * nr];
            let t = if multi {
                s.types[s.neighbors.index[p] as usize]
            } else {
                0
            };
            let coefficients = &folded[t * nr..(t + 1) * nr];
            let c: f64 = coefficients.iter().zip(dphi).map(|(a, b)| a * b).sum();
            let r = s.neighbors.vector[p];
            f(p, [c * r[0], c * r[1], c * r[2]]);
        }
        let blocks = if multi { 2 } else { 1 };
        let width = 3 * na * blocks;
        let ga = &g[nr..nr + na];
        let gw = if multi { &g[aw..aw + na] } else { &g[nr..nr] };
        for (e, &p) in jac.angular_pairs.iter().enumerate() {
            let gv = &jac.angular[e * width..(e + 1) * width];
            let mut v = [0.0; 3];
            for (n, q) in gv[..3 * na].chunks_exact(3).enumerate() {
                v[0] += ga[n] * q[0];
                v[1] += ga[n] * q[1];
                v[2] += ga[n] * q[2];
            }
            for (n, q) in gv[3 * na..].chunks_exact(3).enumerate() {
                v[0] += gw[n] * q[0];
                v[1] += gw[n] * q[1];
                v[2] += gw[n] * q[2];
            }
            f(p as usize, v);
        }
    }

    /// ẋ_i = Σ_p ∂x_i/∂R_p·u_p (raw features) into `x_dot`.
    fn descriptor_tangent(
        &self,
        s: &Prepared,
        i: usize,
        jac: &AtomJacobian,
        u: impl Fn(usize) -> [f64; 3],
        by_spin: &mut Vec<f64>,
        x_dot: &mut [f64],
    ) {
        let d = &self.hyper.descriptors[s.types[i]];
        let (nr, na, multi) = (d.n_radial(), d.n_angular(), self.hyper.multi());
        let (rw, aw) = (nr + na, 2 * nr + na);
        x_dot.fill(0.0);
        // Radial: the plain block gets Σ_p proj_p·dφ_p, the weighted one
        // Σ_p s_j·proj_p·dφ_p; accumulated per neighbour spin, combined after.
        let n_spins = if multi { self.spins.len() } else { 1 };
        by_spin.clear();
        by_spin.resize(n_spins * nr, 0.0);
        for (e, &p) in jac.radial_pairs.iter().enumerate() {
            let p = p as usize;
            let (r, up) = (s.neighbors.vector[p], u(p));
            let proj = r[0] * up[0] + r[1] * up[1] + r[2] * up[2];
            let dphi = &jac.radial[e * nr..(e + 1) * nr];
            let t = if multi {
                s.types[s.neighbors.index[p] as usize]
            } else {
                0
            };
            for (acc, dp) in by_spin[t * nr..(t + 1) * nr].iter_mut().zip(dphi) {
                *acc += dp * proj;
            }
        }
        for (t, sums) in by_spin.chunks_exact(nr).enumerate() {
            for n in 0..nr {
                x_dot[n] += sums[n];
                if multi {
                    x_dot[rw + n] += self.spins[t] * sums[n];
                }
            }
        }
        let width = 3 * na * if multi { 2 } else { 1 };
        for (e, &p) in jac.angular_pairs.iter().enumerate() {
            let up = u(p as usize);
            let gv = &jac.angular[e * width..(e + 1) * width];
            for (n, q) in gv.chunks_exact(3).enumerate() {
                // n < na: the plain block; beyond, the weighted one.
                let k = if n < na { nr + n } else { aw + n - na };
                x_dot[k] += q[0] * up[0] + q[1] * up[1] + q[2] * up[2];
            }
        }
    }

    /// Accumulates ∇θ of aE·Σ_sites E_i + Σ aF·F + aW:W into `grad`.
    pub(super) fn gradient(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        if sites.is_empty() {
            return;
        }
        let desc = cache::descriptors(self, s);
        let tangent = !adj.energy_only();
        let jac = tangent.then(|| self.jacobians(s, &desc, sites));
        let af = |i: usize| adj.forces.get(i).copied().unwrap_or([0.0; 3]);
        let u = |i: usize, p: usize| -> [f64; 3] {
            let (j, r) = (s.neighbors.index[p] as usize, s.neighbors.vector[p]);
            let (fi, fj) = (af(i), af(j));
            std::array::from_fn(|b| {
                let w = adj.virial[b] * r[0] + adj.virial[3 + b] * r[1] + adj.virial[6 + b] * r[2];
                fj[b] - fi[b] + w
            })
        };
        let mut trace = Trace::default();
        let mut scratch = Vec::new();
        let inv_scale = 1.0 / self.stats.scale;
        for rows in self.rows(s, &desc, sites) {
            let (t, n) = (rows.t, rows.sites.len());
            let net = &self.hyper.networks[t];
            let p = self.net_params(t);
            let start = self.offsets[t];
            let g = &mut grad[start..start + net.n_params()];
            let y_bar = vec![adj.energy * inv_scale; n];
            let Some(jac) = &jac else {
                net.forward(p, &rows.x, n, &mut trace, false);
                net.backward(p, &rows.x, &mut trace, &y_bar, None, Some(g));
                continue;
            };
            let dim = self.dim_of(t);
            let mut x_dot = vec![0.0; n * dim];
            for (r, &i) in rows.sites.iter().enumerate() {
                let xd = &mut x_dot[r * dim..(r + 1) * dim];
                self.descriptor_tangent(s, i, &jac[i], |p| u(i, p), &mut scratch, xd);
                for (v, k) in xd.iter_mut().zip(&self.inv_sigma[t]) {
                    *v *= k;
                }
            }
            net.forward(p, &rows.x, n, &mut trace, true);
            net.tangent(p, &x_dot, &mut trace);
            let y_dot_bar = vec![-inv_scale; n];
            net.backward_tangent(
                p, &rows.x, &x_dot, &mut trace, &y_bar, &y_dot_bar, g, None, None,
            );
        }
    }
}
