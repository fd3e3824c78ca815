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

use super::Nep;
use super::angular::{N_HARMONICS, harmonics, harmonics_grad};
use super::basis::{chebyshev, contract};
use crate::model::{Adjoint, Prepared};

/// Per-pair values stored during the forward pass of one atom.
#[derive(Default)]
struct PairStore {
    /// Type-pair index of each stored pair.
    pair_type: Vec<usize>,
    /// ḋ = û·δ of each pair.
    d_dot: Vec<f64>,
    /// Basis values then derivatives, 2·(basis size + 1) per pair.
    basis: Vec<f64>,
    /// Angular pairs only: Y_c then Ẏ_c, 2·n_components per pair.
    harmonics: Vec<f64>,
}

impl PairStore {
    fn clear(&mut self) {
        self.pair_type.clear();
        self.d_dot.clear();
        self.basis.clear();
        self.harmonics.clear();
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
        let mut radial = PairStore::default();
        let mut angular = PairStore::default();
        let mut y_grad = [[0.0; 3]; N_HARMONICS];
        let mut g = vec![0.0; na];
        let mut g_deriv = vec![0.0; na];

        for &i in sites {
            let ti = s.types[i];
            let (index, vector) = s.neighbors.of(i);
            q.fill(0.0);
            q_dot.fill(0.0);
            sums.fill(0.0);
            sums_dot.fill(0.0);
            radial.clear();
            angular.clear();
            let gamma_i = gamma(i);

            for (&j, r) in index.iter().zip(vector) {
                let j = j as usize;
                let pair = ti * nt + s.types[j];
                let d = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
                let settings = &self.pairs[pair];
                if d >= settings.rc_radial && d >= settings.rc_angular {
                    continue;
                }
                let u = [r[0] / d, r[1] / d, r[2] / d];
                // δ_ij = γ_i − γ_j − Ωᵀ r_ij
                let gamma_j = gamma(j);
                let delta: [f64; 3] = std::array::from_fn(|b| {
                    gamma_i[b]
                        - gamma_j[b]
                        - (omega[b] * r[0] + omega[3 + b] * r[1] + omega[6 + b] * r[2])
                });
                let d_dot = u[0] * delta[0] + u[1] * delta[1] + u[2] * delta[2];

                if d < settings.rc_radial {
                    let start = radial.basis.len();
                    radial.basis.resize(start + 2 * kr, 0.0);
                    let (value, deriv) = radial.basis[start..].split_at_mut(kr);
                    chebyshev(d, settings.rc_radial, value, deriv);
                    for n in 0..nr {
                        let c = &c_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                        let (gn, gp) = contract(c, value, deriv);
                        q[n] += gn;
                        q_dot[n] += gp * d_dot;
                    }
                    radial.pair_type.push(pair);
                    radial.d_dot.push(d_dot);
                }

                if d < settings.rc_angular {
                    let start = angular.basis.len();
                    angular.basis.resize(start + 2 * ka, 0.0);
                    let (value, deriv) = angular.basis[start..].split_at_mut(ka);
                    chebyshev(d, settings.rc_angular, value, deriv);
                    let u_dot: [f64; 3] = std::array::from_fn(|k| (delta[k] - d_dot * u[k]) / d);
                    let hstart = angular.harmonics.len();
                    angular.harmonics.resize(hstart + 2 * n_comp, 0.0);
                    let (y, y_dot) = angular.harmonics[hstart..].split_at_mut(n_comp);
                    harmonics(u, terms.l_max, y);
                    harmonics_grad(u, terms.l_max, &mut y_grad);
                    for c in 0..n_comp {
                        y_dot[c] = y_grad[c][0] * u_dot[0]
                            + y_grad[c][1] * u_dot[1]
                            + y_grad[c][2] * u_dot[2];
                    }
                    for n in 0..na {
                        let c = &c_angular[(pair * na + n) * ka..(pair * na + n + 1) * ka];
                        let (gn, gp) = contract(c, value, deriv);
                        let row = n * N_HARMONICS;
                        for c in 0..n_comp {
                            sums[row + c] += gn * y[c];
                            sums_dot[row + c] += gp * d_dot * y[c] + gn * y_dot[c];
                        }
                    }
                    angular.pair_type.push(pair);
                    angular.d_dot.push(d_dot);
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

            // Radial coefficients: q_n = Σ c f_k, q̇_n = Σ c f_k' ḋ.
            for (p, (&pair, &d_dot)) in radial.pair_type.iter().zip(&radial.d_dot).enumerate() {
                let (value, deriv) = radial.basis[2 * kr * p..2 * kr * (p + 1)].split_at(kr);
                for n in 0..nr {
                    let (a, b) = (q_bar[n], q_dot_bar[n] * d_dot);
                    let gc = &mut gc_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                    for k in 0..kr {
                        gc[k] += a * value[k] + b * deriv[k];
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
            for (p, (&pair, &d_dot)) in angular.pair_type.iter().zip(&angular.d_dot).enumerate() {
                let (value, deriv) = angular.basis[2 * ka * p..2 * ka * (p + 1)].split_at(ka);
                let (y, y_dot) =
                    angular.harmonics[2 * n_comp * p..2 * n_comp * (p + 1)].split_at(n_comp);
                for n in 0..na {
                    let row = n * N_HARMONICS;
                    let (mut a, mut b) = (0.0, 0.0);
                    for c in 0..n_comp {
                        a += sums_bar[row + c] * y[c] + sums_dot_bar[row + c] * y_dot[c];
                        b += sums_dot_bar[row + c] * y[c];
                    }
                    b *= d_dot;
                    g[n] = a;
                    g_deriv[n] = b;
                }
                for n in 0..na {
                    let gc = &mut gc_angular[(pair * na + n) * ka..(pair * na + n + 1) * ka];
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
