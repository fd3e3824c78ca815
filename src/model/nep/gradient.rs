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
//!
//! Per atom, in order: [`Nep::radial_tangent_sums`] and
//! [`Nep::angular_sums_with_tangents`] (the pairs, forward),
//! [`Nep::descriptor_with_tangent`] (q, q̇ and the network's input),
//! [`Nep::network_reverse`] (the network's passes, through
//! [`crate::nn::Perceptron`], giving q̄ and q̇̄), then
//! [`Nep::radial_coefficient_gradient`], [`Nep::angular_sums_reverse`] and
//! [`Nep::angular_coefficient_gradient`]. The buffers live in a per-thread
//! [`Scratch`], so a call allocates nothing once a thread has run one.

use super::angular::N_HARMONICS;
use super::basis::contract;
use super::geometry::{AtomGeometry, Geometry, Pair};
use super::{Nep, NepHyper};
use crate::buffers::zeroed;
use crate::model::{Adjoint, Prepared};
use crate::nn::RowTrace;
use crate::nn::gemm::dot;
use std::cell::RefCell;

/// Array widths of one model.
#[derive(Clone, Copy)]
struct Sizes {
    /// Element types.
    nt: usize,
    /// Radial and angular channels (n_max + 1).
    nr: usize,
    na: usize,
    /// Radial and angular basis functions (basis size + 1).
    kr: usize,
    ka: usize,
    /// Harmonic components per angular pair.
    n_comp: usize,
    /// Descriptor length.
    dim: usize,
}

impl Sizes {
    fn of(h: &NepHyper) -> Self {
        Sizes {
            nt: h.n_types(),
            nr: h.n_max_radial + 1,
            na: h.n_max_angular + 1,
            kr: h.basis_size_radial + 1,
            ka: h.basis_size_angular + 1,
            n_comp: h.angular.n_components(),
            dim: h.dim(),
        }
    }
}

/// Per angular pair of one atom, from the tangent pass: ḋ and Ẏ_c.
#[derive(Default)]
struct PairStore {
    d_dot: Vec<f64>,
    /// n_components per pair.
    y_dot: Vec<f64>,
}

/// The gradient's work buffers, kept per thread from call to call.
#[derive(Default)]
struct Scratch {
    /// Descriptor coefficients gathered per element pair ([pair][n][k],
    /// see [`Nep::gather_coefficients`]) and their gradients.
    c_radial: Vec<f64>,
    c_angular: Vec<f64>,
    gc_radial: Vec<f64>,
    gc_angular: Vec<f64>,
    /// The descriptor and its tangent, unscaled.
    q: Vec<f64>,
    q_dot: Vec<f64>,
    /// The network's input x = σ q and its tangent.
    x: Vec<f64>,
    x_dot: Vec<f64>,
    /// x̄ and ẋ̄ from the network, then scaled in place into q̄ and q̇̄.
    x_bar: Vec<f64>,
    x_dot_bar: Vec<f64>,
    /// The network's hidden layer.
    trace: RowTrace,
    /// Angular sums s[n][c], their tangents and both adjoints.
    sums: Vec<f64>,
    sums_dot: Vec<f64>,
    sums_bar: Vec<f64>,
    sums_dot_bar: Vec<f64>,
    /// Per neighbour type t: D_tk = Σ_j f_k'(r_ij) ḋ_ij (B_tk = Σ_j f_k(r_ij)
    /// is in the geometry).
    deriv_sum: Vec<f64>,
    angular: PairStore,
    /// Per angular pair in the reverse pass: the weights of f_k and f_k'
    /// in each channel's coefficient gradient.
    g: Vec<f64>,
    g_deriv: Vec<f64>,
    /// Atom geometry when the structure's cache has none.
    geometry: Geometry,
}

thread_local! {
    /// The gradient's buffers for the calls on one thread.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Scratch {
    /// Sizes the buffers for `nep` and gathers its coefficients.
    fn prepare(&mut self, nep: &Nep, z: Sizes) {
        nep.gather_coefficients(&mut self.c_radial, &mut self.c_angular);
        zeroed(&mut self.gc_radial, self.c_radial.len());
        zeroed(&mut self.gc_angular, self.c_angular.len());
        for v in [
            &mut self.q,
            &mut self.q_dot,
            &mut self.x,
            &mut self.x_dot,
            &mut self.x_bar,
            &mut self.x_dot_bar,
        ] {
            zeroed(v, z.dim);
        }
        for v in [
            &mut self.sums,
            &mut self.sums_dot,
            &mut self.sums_bar,
            &mut self.sums_dot_bar,
        ] {
            zeroed(v, z.na * N_HARMONICS);
        }
        zeroed(&mut self.deriv_sum, z.nt * z.kr);
        zeroed(&mut self.g, z.na);
        zeroed(&mut self.g_deriv, z.na);
    }
}

/// How the neighbour vectors of one centre i move: r_ij along
/// δ_ij = γ_i − γ_j − Ωᵀ r_ij.
struct Motion<'a> {
    /// γ per atom; missing atoms have γ = 0.
    gamma: &'a [[f64; 3]],
    /// Ω, row-major.
    omega: [f64; 9],
    gamma_i: [f64; 3],
}

impl<'a> Motion<'a> {
    fn of(adj: &'a Adjoint, i: usize) -> Self {
        let gamma = &adj.forces[..];
        Motion {
            gamma,
            omega: adj.virial,
            gamma_i: gamma.get(i).copied().unwrap_or([0.0; 3]),
        }
    }

    /// δ_ij and ḋ_ij = û·δ_ij of `pair`, whose unit vector is `u`.
    #[inline]
    fn of_pair(&self, pair: &Pair, u: [f64; 3]) -> ([f64; 3], f64) {
        let (r, omega) = (&pair.r, &self.omega);
        let gamma_j = self.gamma.get(pair.j as usize).copied().unwrap_or([0.0; 3]);
        let delta: [f64; 3] = std::array::from_fn(|b| {
            self.gamma_i[b]
                - gamma_j[b]
                - (omega[b] * r[0] + omega[3 + b] * r[1] + omega[6 + b] * r[2])
        });
        let d_dot = u[0] * delta[0] + u[1] * delta[1] + u[2] * delta[2];
        (delta, d_dot)
    }
}

/// Block `t` of width `k` of `v`.
#[inline]
fn block(v: &[f64], t: usize, k: usize) -> &[f64] {
    &v[t * k..(t + 1) * k]
}

impl Nep {
    /// Accumulates ∇θ [aE·E + Σ γ_i·F_i + Ω:W] of the site energies of
    /// `sites` into `grad`; see the module docs.
    pub(super) fn gradient(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        crate::model::with_scratch(&SCRATCH, |w| self.gradient_in(s, sites, adj, grad, w))
    }

    /// [`Nep::gradient`] with the buffers given.
    fn gradient_in(
        &self,
        s: &Prepared,
        sites: &[usize],
        adj: &Adjoint,
        grad: &mut [f64],
        w: &mut Scratch,
    ) {
        let z = Sizes::of(&self.hyper);
        w.prepare(self, z);
        // Out of `w` for the loop, so that the stages can borrow `w` whole.
        let mut geometry = std::mem::take(&mut w.geometry);
        let mut source = self.geometry(s, &mut geometry);
        for &i in sites {
            let ti = s.types[i];
            let geo = source.atom(self, s, i);
            let motion = Motion::of(adj, i);
            self.radial_tangent_sums(z, &geo, &motion, w);
            self.angular_sums_with_tangents(z, ti, &geo, &motion, w);
            self.descriptor_with_tangent(z, ti, &geo, w);
            self.network_reverse(ti, adj.energy, w, grad);
            self.radial_coefficient_gradient(z, ti, &geo, w);
            self.angular_sums_reverse(z, w);
            self.angular_coefficient_gradient(z, ti, &geo, w);
        }
        drop(source);
        w.geometry = geometry;
        self.scatter_coefficient_gradients(z, w, grad);
    }

    /// D_tk = Σ_{j of type t} f_k'(r_ij) ḋ_ij into `w.deriv_sum`.
    fn radial_tangent_sums(&self, z: Sizes, geo: &AtomGeometry<'_>, m: &Motion, w: &mut Scratch) {
        let kr = z.kr;
        w.deriv_sum.fill(0.0);
        for (p, pair) in geo.radial.iter().enumerate() {
            let (_, d_dot) = m.of_pair(pair, pair.unit());
            let deriv = block(geo.radial_deriv, p, kr);
            let t = pair.t as usize;
            for (acc, f) in w.deriv_sum[t * kr..(t + 1) * kr].iter_mut().zip(deriv) {
                *acc += f * d_dot;
            }
        }
    }

    /// The angular sums s_nc = Σ_j g_n Y_c and their tangents
    /// ṡ_nc = Σ_j (g_n' ḋ Y_c + g_n Ẏ_c), keeping each pair's ḋ and Ẏ.
    fn angular_sums_with_tangents(
        &self,
        z: Sizes,
        ti: usize,
        geo: &AtomGeometry<'_>,
        m: &Motion,
        w: &mut Scratch,
    ) {
        let Sizes {
            nt, na, ka, n_comp, ..
        } = z;
        w.sums.fill(0.0);
        w.sums_dot.fill(0.0);
        w.angular.d_dot.clear();
        w.angular.y_dot.clear();
        for (p, pair) in geo.angular.iter().enumerate() {
            let pt = ti * nt + pair.t as usize;
            let u = pair.unit();
            let (dl, d_dot) = m.of_pair(pair, u);
            let (value, deriv) = block(geo.angular_basis, p, 2 * ka).split_at(ka);
            let u_dot: [f64; 3] = std::array::from_fn(|k| (dl[k] - d_dot * u[k]) / pair.d);
            let y = block(geo.y, p, n_comp);
            let y_grad = &geo.y_grad[n_comp * p..n_comp * (p + 1)];
            let start = w.angular.y_dot.len();
            w.angular.y_dot.extend(
                y_grad
                    .iter()
                    .map(|gr| gr[0] * u_dot[0] + gr[1] * u_dot[1] + gr[2] * u_dot[2]),
            );
            let y_dot = &w.angular.y_dot[start..];
            for n in 0..na {
                let c = block(&w.c_angular, pt * na + n, ka);
                let (gn, gp) = contract(c, value, deriv);
                let gp_dot = gp * d_dot;
                let row = n * N_HARMONICS..n * N_HARMONICS + n_comp;
                let (sn, sn_dot) = (&mut w.sums[row.clone()], &mut w.sums_dot[row]);
                for (((s, s_dot), yc), yc_dot) in sn.iter_mut().zip(sn_dot).zip(y).zip(y_dot) {
                    *s += gn * yc;
                    *s_dot += gp_dot * yc + gn * yc_dot;
                }
            }
            w.angular.d_dot.push(d_dot);
        }
    }

    /// q and q̇ (radial from B_t and D_t, angular from the sums' invariants),
    /// and the network's input x = σ q, ẋ = σ q̇.
    fn descriptor_with_tangent(
        &self,
        z: Sizes,
        ti: usize,
        geo: &AtomGeometry<'_>,
        w: &mut Scratch,
    ) {
        let Sizes {
            nt,
            nr,
            na,
            kr,
            dim,
            ..
        } = z;
        let terms = self.hyper.angular;
        w.q.fill(0.0);
        w.q_dot.fill(0.0);
        for t in 0..nt {
            let pair = ti * nt + t;
            let (b, e) = (block(geo.radial_sum, t, kr), block(&w.deriv_sum, t, kr));
            for n in 0..nr {
                let (gn, gp) = contract(block(&w.c_radial, pair * nr + n, kr), b, e);
                w.q[n] += gn;
                w.q_dot[n] += gp;
            }
        }
        for n in 0..na {
            let row = n * N_HARMONICS;
            terms.invariants(&w.sums[row..], &mut w.q[nr + n..], na);
            terms.invariants_tangent(
                &w.sums[row..],
                &w.sums_dot[row..],
                &mut w.q_dot[nr + n..],
                na,
            );
        }
        for d in 0..dim {
            w.x[d] = w.q[d] * self.q_scaler[d];
            w.x_dot[d] = w.q_dot[d] * self.q_scaler[d];
        }
    }

    /// The network of type `ti` forward with its tangent, then reverse for
    /// J = aE·E_i + Ė_i: adds the network's gradient to `grad` and leaves
    /// q̄ and q̇̄ in `w.x_bar` and `w.x_dot_bar`.
    fn network_reverse(&self, ti: usize, a_e: f64, w: &mut Scratch, grad: &mut [f64]) {
        let net = self.hyper.network();
        let (shape, range) = (net.perceptron(), net.perceptron_range(ti));
        let p = &self.params[range.clone()];
        shape.forward(p, &w.x, &mut w.trace);
        shape.tangent(p, &w.x_dot, &mut w.trace);
        shape.backward_tangent(
            p,
            (&w.x, &w.x_dot),
            &w.trace,
            (a_e, 1.0),
            &mut grad[range],
            &mut w.x_bar,
            &mut w.x_dot_bar,
        );
        net.add_bias_gradient(ti, a_e, grad);
        // q̄ = σ x̄
        for ((b, b_dot), scale) in w.x_bar.iter_mut().zip(&mut w.x_dot_bar).zip(&self.q_scaler) {
            *b *= scale;
            *b_dot *= scale;
        }
    }

    /// The radial coefficients' gradient q̄_n B_t + q̇̄_n D_t of each pair
    /// (ti, t).
    fn radial_coefficient_gradient(
        &self,
        z: Sizes,
        ti: usize,
        geo: &AtomGeometry<'_>,
        w: &mut Scratch,
    ) {
        let Sizes { nt, nr, kr, .. } = z;
        let (q_bar, q_dot_bar) = (&w.x_bar, &w.x_dot_bar);
        for t in 0..nt {
            let pair = ti * nt + t;
            let (b, e) = (block(geo.radial_sum, t, kr), block(&w.deriv_sum, t, kr));
            for n in 0..nr {
                let (a, a_dot) = (q_bar[n], q_dot_bar[n]);
                let gc = &mut w.gc_radial[(pair * nr + n) * kr..(pair * nr + n + 1) * kr];
                for k in 0..kr {
                    gc[k] += a * b[k] + a_dot * e[k];
                }
            }
        }
    }

    /// s̄ and ṡ̄ from q̄ and q̇̄ through the invariants (q̇ depends on s
    /// as well as on ṡ, hence the Hessian-vector term).
    fn angular_sums_reverse(&self, z: Sizes, w: &mut Scratch) {
        let Sizes { nr, na, .. } = z;
        let terms = self.hyper.angular;
        let (q_bar, q_dot_bar) = (&w.x_bar, &w.x_dot_bar);
        w.sums_bar.fill(0.0);
        w.sums_dot_bar.fill(0.0);
        for n in 0..na {
            let row = n * N_HARMONICS;
            let (s, s_dot) = (&w.sums[row..], &w.sums_dot[row..]);
            terms.invariants_backward(s, &q_bar[nr + n..], na, &mut w.sums_bar[row..]);
            terms.invariants_hvp(s, s_dot, &q_dot_bar[nr + n..], na, &mut w.sums_bar[row..]);
            terms.invariants_backward(s, &q_dot_bar[nr + n..], na, &mut w.sums_dot_bar[row..]);
        }
    }

    /// The angular coefficients' gradient, pair by pair, from s̄ and ṡ̄.
    fn angular_coefficient_gradient(
        &self,
        z: Sizes,
        ti: usize,
        geo: &AtomGeometry<'_>,
        w: &mut Scratch,
    ) {
        let Sizes {
            nt, na, ka, n_comp, ..
        } = z;
        for (p, (pair, &d_dot)) in geo.angular.iter().zip(&w.angular.d_dot).enumerate() {
            let pt = ti * nt + pair.t as usize;
            let (value, deriv) = block(geo.angular_basis, p, 2 * ka).split_at(ka);
            let y = block(geo.y, p, n_comp);
            let y_dot = block(&w.angular.y_dot, p, n_comp);
            for n in 0..na {
                let row = n * N_HARMONICS..n * N_HARMONICS + n_comp;
                let (bar, dot_bar) = (&w.sums_bar[row.clone()], &w.sums_dot_bar[row]);
                w.g[n] = dot(bar, y) + dot(dot_bar, y_dot);
                w.g_deriv[n] = dot(dot_bar, y);
            }
            for b in &mut w.g_deriv {
                *b *= d_dot;
            }
            for n in 0..na {
                let gc = &mut w.gc_angular[(pt * na + n) * ka..(pt * na + n + 1) * ka];
                for k in 0..ka {
                    gc[k] += w.g[n] * value[k] + w.g_deriv[n] * deriv[k];
                }
            }
        }
    }

    /// Adds the coefficient gradients, gathered per pair, to `grad` in
    /// nep.txt's order.
    fn scatter_coefficient_gradients(&self, z: Sizes, w: &Scratch, grad: &mut [f64]) {
        let h = &self.hyper;
        let nt2 = z.nt * z.nt;
        let scatter = |grad: &mut [f64], start: usize, gc: &[f64], nn: usize, kk: usize| {
            for p in 0..nt2 {
                for n in 0..nn {
                    for k in 0..kk {
                        grad[start + (n * kk + k) * nt2 + p] += gc[(p * nn + n) * kk + k];
                    }
                }
            }
        };
        let c0 = h.network().n_params();
        scatter(grad, c0, &w.gc_radial, z.nr, z.kr);
        let c1 = c0 + h.n_radial_coefficients();
        scatter(grad, c1, &w.gc_angular, z.na, z.ka);
    }
}
