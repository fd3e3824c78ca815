//! The exact parameter gradient of aE·E + Σ_i γ_i·F_i + Ω:W for NEP.
//!
//! Forces and the virial are sums over pairs of f_ij = ∂E_i/∂r_ij, so
//! Σ_i γ_i·F_i + Ω:W = Σ_pairs δ_ij·f_ij with δ_ij = γ_i − γ_j − Ωᵀ r_ij:
//! per atom, the directional derivative Ė_i of its energy when every
//! neighbour vector moves along δ_ij. The gradient is therefore
//! ∇θ (aE·E_i + Ė_i): one forward pass carrying tangents (ḋ, Ẏ, ṡ, q̇, ż,
//! ḣ) alongside the values, and one reverse pass over both, per atom. No
//! second neighbour sweep over the structure is needed. Restricted to a
//! set of sites, the sum runs over those centres i only: the gradient of
//! their share of the prediction.
//!
//! The pairs' basis functions and harmonics come from the atom's
//! [`geometry`](super::geometry). Radial terms are grouped by neighbour
//! type t, since the coefficients depend on the pair's types only:
//! q_n = Σ_t c_n(ti, t)·B_t and q̇_n = Σ_t c_n(ti, t)·D_t with
//! B_tk = Σ_j f_k(r_ij) and D_tk = Σ_j f_k'(r_ij) ḋ_ij, so the radial
//! coefficients' gradient is q̄_n B_t + q̇̄_n D_t, a few products per
//! neighbour type instead of per pair and channel.

use super::Nep;
use super::angular::N_HARMONICS;
use super::basis::contract;
use super::geometry::Pair;
use crate::model::{Adjoint, Prepared};
use crate::nn::gemm::dot;

/// Per angular pair of one atom, from the tangent pass: ḋ and Ẏ_c.
#[derive(Default)]
struct PairStore {
    d_dot: Vec<f64>,
    /// n_components per pair.
    y_dot: Vec<f64>,
}

impl PairStore {
    fn clear(&mut self) {
        self.d_dot.clear();
        self.y_dot.clear();
    }
}

impl Nep {
    /// Accumulates ∇θ [aE·E + Σ γ_i·F_i + Ω:W] of the site energies of
    /// `sites` into `grad`; see the module docs.
    pub(super) fn gradient(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        let h = &self.hyper;
        let nt = h.n_types();
        let nt2 = nt * nt;
        let (nr, na) = (h.n_max_radial + 1, h.n_max_angular + 1);
        let (kr, ka) = (h.basis_size_radial + 1, h.basis_size_angular + 1);
        let terms = h.angular;
        let n_comp = terms.n_components();
        let dim = h.dim();
        let neurons = h.neurons;
        let net = h.network();
        let (c_radial, c_angular) = self.gathered_coefficients();
        let mut gc_radial = vec![0.0; c_radial.len()];
        let mut gc_angular = vec![0.0; c_angular.len()];
        let a_e = adj.energy;
        let omega = adj.virial;
        let gamma = |i: usize| adj.forces.get(i).copied().unwrap_or([0.0; 3]);

        let mut q = vec![0.0; dim];
        let mut q_dot = vec![0.0; dim];
        let mut x = vec![0.0; dim];
        let mut x_dot = vec![0.0; dim];
        let mut x_bar = vec![0.0; dim];
        let mut x_dot_bar = vec![0.0; dim];
        let mut hidden = vec![0.0; neurons];
        let mut z_dot = vec![0.0; neurons];
        let mut z_bar = vec![0.0; neurons];
        let mut z_dot_bar = vec![0.0; neurons];
        let mut sums = vec![0.0; na * N_HARMONICS];
        let mut sums_dot = vec![0.0; na * N_HARMONICS];
        let mut sums_bar = vec![0.0; na * N_HARMONICS];
        let mut sums_dot_bar = vec![0.0; na * N_HARMONICS];
        // Per neighbour type t: D_tk = Σ_j f_k'(r_ij) ḋ_ij (B_tk = Σ_j f_k(r_ij)
        // is in the geometry).
        let mut deriv_sum = vec![0.0; nt * kr];
        let mut angular = PairStore::default();
        let mut g = vec![0.0; na];
        let mut g_deriv = vec![0.0; na];
        let mut source = self.geometry(s);

        for &i in sites {
            let ti = s.types[i];
            let geo = source.atom(self, s, i);
            let basis_sum = geo.radial_sum;
            q.fill(0.0);
            q_dot.fill(0.0);
            sums.fill(0.0);
            sums_dot.fill(0.0);
            deriv_sum.fill(0.0);
            angular.clear();
            let gamma_i = gamma(i);
            // ḋ_ij = û·δ_ij with δ_ij = γ_i − γ_j − Ωᵀ r_ij.
            let delta = |pair: &Pair| -> [f64; 3] {
                let (r, gamma_j) = (&pair.r, gamma(pair.j as usize));
                std::array::from_fn(|b| {
                    gamma_i[b]
                        - gamma_j[b]
                        - (omega[b] * r[0] + omega[3 + b] * r[1] + omega[6 + b] * r[2])
                })
            };

            for (p, pair) in geo.radial.iter().enumerate() {
                let u = pair.unit();
                let dl = delta(pair);
                let d_dot = u[0] * dl[0] + u[1] * dl[1] + u[2] * dl[2];
                let deriv = &geo.radial_deriv[p * kr..(p + 1) * kr];
                let sum = &mut deriv_sum[pair.t as usize * kr..(pair.t as usize + 1) * kr];
                for (acc, f) in sum.iter_mut().zip(deriv) {
                    *acc += f * d_dot;
                }
            }

            for (p, pair) in geo.angular.iter().enumerate() {
                let pt = ti * nt + pair.t as usize;
                let u = pair.unit();
                let dl = delta(pair);
                let d_dot = u[0] * dl[0] + u[1] * dl[1] + u[2] * dl[2];
                let (value, deriv) = geo.angular_basis[2 * ka * p..2 * ka * (p + 1)].split_at(ka);
                let u_dot: [f64; 3] = std::array::from_fn(|k| (dl[k] - d_dot * u[k]) / pair.d);
                let y = &geo.y[n_comp * p..n_comp * (p + 1)];
                let y_grad = &geo.y_grad[n_comp * p..n_comp * (p + 1)];
                let start = angular.y_dot.len();
                angular.y_dot.extend(
                    y_grad
                        .iter()
                        .map(|gr| gr[0] * u_dot[0] + gr[1] * u_dot[1] + gr[2] * u_dot[2]),
                );
                let y_dot = &angular.y_dot[start..];
                for n in 0..na {
                    let c = &c_angular[(pt * na + n) * ka..(pt * na + n + 1) * ka];
                    let (gn, gp) = contract(c, value, deriv);
                    let gp_dot = gp * d_dot;
                    let row = n * N_HARMONICS..n * N_HARMONICS + n_comp;
                    let (sn, sn_dot) = (&mut sums[row.clone()], &mut sums_dot[row]);
                    for (((s, s_dot), yc), yc_dot) in sn.iter_mut().zip(sn_dot).zip(y).zip(y_dot) {
                        *s += gn * yc;
                        *s_dot += gp_dot * yc + gn * yc_dot;
                    }
                }
                angular.d_dot.push(d_dot);
            }
            // (B_t, D_t) of neighbour type t.
            let type_sums = |t: usize| {
                let k = t * kr..(t + 1) * kr;
                (&basis_sum[k.clone()], &deriv_sum[k])
            };
            for t in 0..nt {
                let pair = ti * nt + t;
                let (b, e) = type_sums(t);
                for n in 0..nr {
                    let c = &c_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                    let (gn, gp) = contract(c, b, e);
                    q[n] += gn;
                    q_dot[n] += gp;
                }
            }
            for n in 0..na {
                let row = n * N_HARMONICS;
                terms.invariants(&sums[row..], &mut q[nr + n..], na);
                terms.invariants_tangent(&sums[row..], &sums_dot[row..], &mut q_dot[nr + n..], na);
            }
            for d in 0..dim {
                x[d] = q[d] * self.q_scaler[d];
                x_dot[d] = q_dot[d] * self.q_scaler[d];
            }

            // Network forward with tangents, then reverse over both.
            let base = net.offset(ti);
            let w_off = base;
            let b_off = base + neurons * dim;
            let v_off = base + neurons * (dim + 1);
            for m in 0..neurons {
                let row = &self.params[w_off + m * dim..w_off + (m + 1) * dim];
                let z: f64 =
                    row.iter().zip(&x).map(|(w, v)| w * v).sum::<f64>() - self.params[b_off + m];
                hidden[m] = z.tanh();
                z_dot[m] = row.iter().zip(&x_dot).map(|(w, v)| w * v).sum();
            }
            x_bar.fill(0.0);
            x_dot_bar.fill(0.0);
            for m in 0..neurons {
                let v = self.params[v_off + m];
                let hm = hidden[m];
                let slope = 1.0 - hm * hm;
                let h_dot = slope * z_dot[m];
                grad[v_off + m] += a_e * hm + h_dot;
                // ḣ = (1 − h²) ż depends on h as well as on ż.
                let h_bar = a_e * v - 2.0 * v * hm * z_dot[m];
                z_bar[m] = h_bar * slope;
                z_dot_bar[m] = v * slope;
                grad[b_off + m] -= z_bar[m];
                let row = &self.params[w_off + m * dim..w_off + (m + 1) * dim];
                let grow = &mut grad[w_off + m * dim..w_off + (m + 1) * dim];
                for d in 0..dim {
                    grow[d] += z_bar[m] * x[d] + z_dot_bar[m] * x_dot[d];
                    x_bar[d] += z_bar[m] * row[d];
                    x_dot_bar[d] += z_dot_bar[m] * row[d];
                }
            }
            grad[net.bias_index()] -= a_e;
            if let Some(k) = net.type_bias_index(ti) {
                grad[k] -= a_e;
            }
            // q̄ = σ x̄ (reuse the x buffers)
            for d in 0..dim {
                x_bar[d] *= self.q_scaler[d];
                x_dot_bar[d] *= self.q_scaler[d];
            }
            let (q_bar, q_dot_bar) = (&x_bar, &x_dot_bar);

            // Radial coefficients: q_n = Σ_t c_n(ti, t)·B_t, q̇_n = Σ_t c_n(ti, t)·D_t.
            for t in 0..nt {
                let pair = ti * nt + t;
                let (b, e) = type_sums(t);
                for n in 0..nr {
                    let (a, a_dot) = (q_bar[n], q_dot_bar[n]);
                    let gc = &mut gc_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                    for k in 0..kr {
                        gc[k] += a * b[k] + a_dot * e[k];
                    }
                }
            }

            // Angular coefficients through s and ṡ.
            sums_bar.fill(0.0);
            sums_dot_bar.fill(0.0);
            for n in 0..na {
                let row = n * N_HARMONICS;
                terms.invariants_backward(&sums[row..], &q_bar[nr + n..], na, &mut sums_bar[row..]);
                terms.invariants_hvp(
                    &sums[row..],
                    &sums_dot[row..],
                    &q_dot_bar[nr + n..],
                    na,
                    &mut sums_bar[row..],
                );
                terms.invariants_backward(
                    &sums[row..],
                    &q_dot_bar[nr + n..],
                    na,
                    &mut sums_dot_bar[row..],
                );
            }
            for (p, (pair, &d_dot)) in geo.angular.iter().zip(&angular.d_dot).enumerate() {
                let pt = ti * nt + pair.t as usize;
                let (value, deriv) = geo.angular_basis[2 * ka * p..2 * ka * (p + 1)].split_at(ka);
                let y = &geo.y[n_comp * p..n_comp * (p + 1)];
                let y_dot = &angular.y_dot[n_comp * p..n_comp * (p + 1)];
                for n in 0..na {
                    let row = n * N_HARMONICS..n * N_HARMONICS + n_comp;
                    let (bar, dot_bar) = (&sums_bar[row.clone()], &sums_dot_bar[row]);
                    g[n] = dot(bar, y) + dot(dot_bar, y_dot);
                    g_deriv[n] = dot(dot_bar, y);
                }
                for b in &mut g_deriv {
                    *b *= d_dot;
                }
                for n in 0..na {
                    let gc = &mut gc_angular[(pt * na + n) * ka..(pt * na + n + 1) * ka];
                    for k in 0..ka {
                        gc[k] += g[n] * value[k] + g_deriv[n] * deriv[k];
                    }
                }
            }
        }

        // Scatter the coefficient gradients back to nep.txt's order.
        let c0 = net.n_params();
        for p in 0..nt2 {
            for n in 0..nr {
                for k in 0..kr {
                    grad[c0 + (n * kr + k) * nt2 + p] += gc_radial[(p * nr + n) * kr + k];
                }
            }
        }
        let c1 = c0 + h.n_radial_coefficients();
        for p in 0..nt2 {
            for n in 0..na {
                for k in 0..ka {
                    grad[c1 + (n * ka + k) * nt2 + p] += gc_angular[(p * na + n) * ka + k];
                }
            }
        }
    }
}
