//! The Stillinger–Weber potential for silicon.
//!
//! Reference: F. H. Stillinger and T. A. Weber, "Computer simulation of
//! local order in condensed phases of silicon", Phys. Rev. B 31, 5262
//! (1985).
//!
//! The energy is a sum of pair terms over unordered pairs and of three-body
//! terms over triplets centred on each atom i (each unordered pair of
//! neighbours j < k of i counted once):
//!
//! ```text
//! E = Σ_{i<j} φ2(r_ij) + Σ_i Σ_{j<k} φ3(r_ij, r_ik, θ_jik)
//!
//! φ2(r) = A ε (B (σ/r)^p − (σ/r)^q) exp(σ / (r − aσ))
//! φ3    = λ ε (cos θ_jik − cos θ0)² exp(γσ / (r_ij − aσ)) exp(γσ / (r_ik − aσ))
//! ```
//!
//! for r < aσ (both terms vanish smoothly, with all derivatives, at the
//! cutoff aσ). Silicon (the 1985 fit): ε = 2.1683 eV, σ = 2.0951 Å,
//! a = 1.80 (cutoff 3.77118 Å), λ = 21.0, γ = 1.20, A = 7.049556277,
//! B = 0.6022245584, p = 4, q = 0, cos θ0 = −1/3. The pair minimum, −ε, is
//! at r = 2^{1/6} σ, the diamond bond length at a = 5.431 Å, so diamond
//! has E = −2ε = −4.3366 eV/atom (the three-body term vanishes at the
//! tetrahedral angle, and second neighbours are beyond the cutoff).
//!
//! Per-atom energies: half of each pair term goes to each of its two atoms
//! and the whole triplet term to its centre atom i, so they sum to E.
//!
//! Forces and virial follow the NEP code's convention: atom i's energy E_i
//! depends on the neighbour vectors r_ij = r_j − r_i; with
//! f_ij = ∂E_i/∂r_ij, F_i += f_ij, F_j −= f_ij and W −= r_ij ⊗ f_ij
//! (W = −dE/dε, GPUMD's sign). W is symmetric since E is rotation
//! invariant; the rounding-level asymmetry of the sum is averaged away.

use crate::model::{Model, Prediction, Prepared};

/// Parameters of the Stillinger–Weber functional form (see the module
/// documentation for the equations).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwParameters {
    /// Energy scale ε, eV.
    pub epsilon: f64,
    /// Length scale σ, Å.
    pub sigma: f64,
    /// Reduced cutoff a: terms vanish at r = aσ.
    pub a: f64,
    /// Three-body strength λ.
    pub lambda: f64,
    /// Three-body decay γ.
    pub gamma: f64,
    /// Pair prefactor A.
    pub big_a: f64,
    /// Pair repulsion weight B.
    pub big_b: f64,
    /// Repulsive exponent p.
    pub p: i32,
    /// Attractive exponent q.
    pub q: i32,
    /// Cosine of the ideal bond angle θ0.
    pub cos_theta0: f64,
}

impl SwParameters {
    /// The original silicon parameters of Stillinger and Weber (1985).
    pub const SILICON: SwParameters = SwParameters {
        epsilon: 2.1683,
        sigma: 2.0951,
        a: 1.80,
        lambda: 21.0,
        gamma: 1.20,
        big_a: 7.049556277,
        big_b: 0.6022245584,
        p: 4,
        q: 0,
        cos_theta0: -1.0 / 3.0,
    };

    /// Cutoff radius aσ, Å.
    pub fn cutoff(&self) -> f64 {
        self.a * self.sigma
    }

    /// Pair energy φ2(r) (eV) and its derivative dφ2/dr (eV/Å);
    /// both zero at and beyond the cutoff.
    pub fn two_body(&self, r: f64) -> (f64, f64) {
        let rc = self.cutoff();
        if r >= rc {
            return (0.0, 0.0);
        }
        let s = self.sigma / r;
        let (sp, sq) = (s.powi(self.p), s.powi(self.q));
        let u = self.big_b * sp - sq;
        let du = (-(self.p as f64) * self.big_b * sp + self.q as f64 * sq) / r;
        let x = 1.0 / (r - rc);
        let decay = (self.sigma * x).exp();
        let ddecay = -self.sigma * x * x * decay;
        let scale = self.big_a * self.epsilon;
        (scale * u * decay, scale * (du * decay + u * ddecay))
    }

    /// Three-body radial factor exp(γσ / (r − aσ)) and its logarithmic
    /// derivative −γσ / (r − aσ)² (1/Å); (0, 0) at and beyond the cutoff.
    /// The logarithmic derivative stays finite where the factor underflows.
    pub fn three_body_decay(&self, r: f64) -> (f64, f64) {
        let rc = self.cutoff();
        if r >= rc {
            return (0.0, 0.0);
        }
        let x = 1.0 / (r - rc);
        let gs = self.gamma * self.sigma;
        ((gs * x).exp(), -gs * x * x)
    }
}

/// The Stillinger–Weber potential for one element (silicon).
///
/// It has no trainable parameters: [`Model::params`] is empty.
#[derive(Clone, Debug)]
pub struct StillingerWeber {
    species: Vec<String>,
    parameters: SwParameters,
}

impl StillingerWeber {
    /// Silicon with the original 1985 parameters ([`SwParameters::SILICON`]).
    pub fn silicon() -> Self {
        StillingerWeber {
            species: vec!["Si".to_string()],
            parameters: SwParameters::SILICON,
        }
    }

    /// The parameters.
    pub fn parameters(&self) -> &SwParameters {
        &self.parameters
    }
}

impl Default for StillingerWeber {
    fn default() -> Self {
        Self::silicon()
    }
}

/// What the three-body loop needs of one neighbour of the centre atom.
#[derive(Clone, Copy, Debug, Default)]
struct Neighbor {
    /// Unit vector along r_ij.
    unit: [f64; 3],
    /// |r_ij|, Å.
    distance: f64,
    /// exp(γσ / (r − aσ)).
    decay: f64,
    /// d ln(decay) / dr, 1/Å.
    decay_log_deriv: f64,
    /// Accumulated f_ij = ∂E_i/∂r_ij, eV/Å.
    force: [f64; 3],
}

impl Model for StillingerWeber {
    fn species(&self) -> &[String] {
        &self.species
    }

    fn cutoff(&self) -> f64 {
        self.parameters.cutoff()
    }

    fn params(&self) -> &[f64] {
        &[]
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut []
    }

    fn param_groups(&self) -> Vec<std::ops::Range<usize>> {
        Vec::new()
    }

    /// The potential has no trainable parameters: the gradient is empty.
    fn vjp_sites(&self, _s: &Prepared, _: &[usize], _: &crate::model::Adjoint, grad: &mut [f64]) {
        debug_assert!(grad.is_empty());
    }

    fn predict_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        let sw = &self.parameters;
        out.reset(s.structure.n_atoms());
        let list = &s.neighbors;
        let max_neighbors = sites.iter().map(|&i| list.range(i).len()).max();
        let mut near: Vec<Neighbor> = Vec::with_capacity(max_neighbors.unwrap_or(0));
        let three_body_scale = sw.lambda * sw.epsilon;

        for &i in sites {
            let (index, vector) = list.of(i);
            near.clear();
            let mut e_i = 0.0;
            for r in vector {
                let d = norm(r);
                let (phi, dphi) = sw.two_body(d);
                let unit = [r[0] / d, r[1] / d, r[2] / d];
                let (decay, decay_log_deriv) = sw.three_body_decay(d);
                e_i += 0.5 * phi;
                near.push(Neighbor {
                    unit,
                    distance: d,
                    decay,
                    decay_log_deriv,
                    force: unit.map(|u| 0.5 * dphi * u),
                });
            }

            for j in 0..near.len() {
                let nj = near[j];
                if nj.decay == 0.0 {
                    continue;
                }
                for k in j + 1..near.len() {
                    let nk = near[k];
                    if nk.decay == 0.0 {
                        continue;
                    }
                    let cos = dot(&nj.unit, &nk.unit);
                    let c = cos - sw.cos_theta0;
                    let g = three_body_scale * nj.decay * nk.decay;
                    let energy = g * c * c;
                    e_i += energy;
                    // ∂cos/∂r_ij = (û_ik − cos û_ij) / r_ij, and likewise for k.
                    let de_dcos = 2.0 * g * c;
                    let (aj, ak) = (de_dcos / nj.distance, de_dcos / nk.distance);
                    let (bj, bk) = (energy * nj.decay_log_deriv, energy * nk.decay_log_deriv);
                    for x in 0..3 {
                        near[j].force[x] += aj * (nk.unit[x] - cos * nj.unit[x]) + bj * nj.unit[x];
                        near[k].force[x] += ak * (nj.unit[x] - cos * nk.unit[x]) + bk * nk.unit[x];
                    }
                }
            }

            out.atomic_energies[i] = e_i;
            for ((&j, r), n) in index.iter().zip(vector).zip(&near) {
                let j = j as usize;
                let f = n.force;
                for x in 0..3 {
                    out.forces[i][x] += f[x];
                    out.forces[j][x] -= f[x];
                }
                for a in 0..3 {
                    for b in 0..3 {
                        out.virial[a * 3 + b] -= r[a] * f[b];
                    }
                }
            }
        }
        // W is symmetric in exact arithmetic; make it so to the last bit, as
        // readers that reorder 9 components (ASE) assume.
        for a in 0..3 {
            for b in a + 1..3 {
                let w = 0.5 * (out.virial[a * 3 + b] + out.virial[b * 3 + a]);
                out.virial[a * 3 + b] = w;
                out.virial[b * 3 + a] = w;
            }
        }
        out.energy = out.atomic_energies.iter().sum();
    }
}

#[inline]
fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
fn norm(r: &[f64; 3]) -> f64 {
    dot(r, r).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences of a scalar function against its analytic derivative.
    fn check_derivative(f: impl Fn(f64) -> (f64, f64), r: f64) {
        let h = 1e-6;
        let fd = (f(r + h).0 - f(r - h).0) / (2.0 * h);
        let (_, analytic) = f(r);
        assert!(
            (analytic - fd).abs() < 1e-7 * analytic.abs().max(1.0),
            "r = {r}: analytic {analytic} vs finite difference {fd}"
        );
    }

    #[test]
    fn kernels_match_finite_differences() {
        let sw = SwParameters::SILICON;
        for r in [1.9, 2.1, 2.35, 2.8, 3.3, 3.7] {
            check_derivative(|r| sw.two_body(r), r);
            check_derivative(
                |r| {
                    let (e, dlog) = sw.three_body_decay(r);
                    (e, e * dlog)
                },
                r,
            );
        }
    }

    #[test]
    fn pair_minimum_is_minus_epsilon_at_two_to_the_sixth_sigma() {
        let sw = SwParameters::SILICON;
        let r0 = 2f64.powf(1.0 / 6.0) * sw.sigma;
        let (e, de) = sw.two_body(r0);
        assert!((e + sw.epsilon).abs() < 1e-6, "φ2(r0) = {e}");
        assert!(de.abs() < 1e-5, "φ2'(r0) = {de}");
    }

    #[test]
    fn kernels_vanish_at_the_cutoff() {
        let sw = SwParameters::SILICON;
        let rc = sw.cutoff();
        assert_eq!(sw.two_body(rc), (0.0, 0.0));
        assert_eq!(sw.three_body_decay(rc + 1.0), (0.0, 0.0));
        let (e, de) = sw.two_body(rc - 1e-3);
        assert!(e.abs() < 1e-200 && de.abs() < 1e-200);
        let (e, dlog) = sw.three_body_decay(rc - 1e-12);
        assert!(e == 0.0 && dlog.is_finite());
    }
}
