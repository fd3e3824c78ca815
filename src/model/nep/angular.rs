//! Angular building blocks of NEP: the real polynomial harmonics Y_Lk of a
//! unit vector (NEP's unnormalised convention), and the invariants built
//! from their neighbour sums s_Lk = Σ_j g_n(r_ij) Y_Lk(û_ij):
//! 3-body q_L, 4-body q_222 and 5-body q_1111.
//!
//! Layout of the 24 components (L = 1..4), index L² − 1 + k:
//! k = 0 is the m = 0 term, then (Re, Im) pairs for m = 1..L of
//! P_Lm(z) (x + i y)^m.

/// Number of harmonic components for L = 1..4.
pub const N_HARMONICS: usize = 24;

/// Largest 3-body L supported.
pub const MAX_L: usize = 4;

/// Weights of the 3-body invariants, q_L = C[L²−1] s_0² + 2 Σ_{k≥1} C[L²−1+k] s_k².
/// Values from the NEP papers (as tabulated by GPUMD and NEP_CPU).
const C3B: [f64; N_HARMONICS] = [
    0.238732414637843,
    0.119366207318922,
    0.119366207318922,
    0.099471839432435,
    0.596831036594608,
    0.596831036594608,
    0.149207759148652,
    0.149207759148652,
    0.139260575205408,
    0.104445431404056,
    0.104445431404056,
    1.044454314040563,
    1.044454314040563,
    0.174075719006761,
    0.174075719006761,
    0.011190581936149,
    0.223811638722978,
    0.223811638722978,
    0.111905819361489,
    0.111905819361489,
    1.566681471060845,
    1.566681471060845,
    0.195835183882606,
    0.195835183882606,
];

/// Weights of the 4-body invariant built from the L = 2 components.
const C4B: [f64; 5] = [
    -0.007499480826664,
    -0.134990654879954,
    0.067495327439977,
    0.404971964639861,
    -0.809943929279723,
];

/// Weights of the 5-body invariant built from the L = 1 components.
const C5B: [f64; 3] = [0.026596810706114, 0.053193621412227, 0.026596810706114];

/// Number of components for harmonics up to `l_max`: l_max (l_max + 2).
pub fn n_components(l_max: usize) -> usize {
    l_max * (l_max + 2)
}

/// Harmonics Y_Lk(u) for L = 1..=l_max of a unit vector u, into `y`
/// (length ≥ n_components(l_max)).
#[inline]
pub fn harmonics(u: [f64; 3], l_max: usize, y: &mut [f64]) {
    let [x, yy, z] = u;
    let (x2, y2, z2) = (x * x, yy * yy, z * z);
    let xy = x * yy;
    let x2my2 = x2 - y2;
    y[0] = z;
    y[1] = x;
    y[2] = yy;
    if l_max < 2 {
        return;
    }
    y[3] = 3.0 * z2 - 1.0;
    y[4] = x * z;
    y[5] = yy * z;
    y[6] = x2my2;
    y[7] = 2.0 * xy;
    if l_max < 3 {
        return;
    }
    y[8] = (5.0 * z2 - 3.0) * z;
    y[9] = (5.0 * z2 - 1.0) * x;
    y[10] = (5.0 * z2 - 1.0) * yy;
    y[11] = x2my2 * z;
    y[12] = 2.0 * xy * z;
    y[13] = (x2 - 3.0 * y2) * x;
    y[14] = (3.0 * x2 - y2) * yy;
    if l_max < 4 {
        return;
    }
    y[15] = (35.0 * z2 - 30.0) * z2 + 3.0;
    y[16] = (7.0 * z2 - 3.0) * x * z;
    y[17] = (7.0 * z2 - 3.0) * yy * z;
    y[18] = (7.0 * z2 - 1.0) * x2my2;
    y[19] = (7.0 * z2 - 1.0) * 2.0 * xy;
    y[20] = (x2 - 3.0 * y2) * x * z;
    y[21] = (3.0 * x2 - y2) * yy * z;
    y[22] = x2my2 * x2my2 - 4.0 * x2 * y2;
    y[23] = 4.0 * xy * x2my2;
}

/// Partial derivatives ∂Y_Lk/∂(x, y, z) of the polynomials in
/// [`harmonics`], treating x, y, z as independent; `grad[c]` for component c.
#[inline]
pub fn harmonics_grad(u: [f64; 3], l_max: usize, grad: &mut [[f64; 3]]) {
    let [x, yy, z] = u;
    let (x2, y2, z2) = (x * x, yy * yy, z * z);
    let xy = x * yy;
    let x2my2 = x2 - y2;
    grad[0] = [0.0, 0.0, 1.0];
    grad[1] = [1.0, 0.0, 0.0];
    grad[2] = [0.0, 1.0, 0.0];
    if l_max < 2 {
        return;
    }
    grad[3] = [0.0, 0.0, 6.0 * z];
    grad[4] = [z, 0.0, x];
    grad[5] = [0.0, z, yy];
    grad[6] = [2.0 * x, -2.0 * yy, 0.0];
    grad[7] = [2.0 * yy, 2.0 * x, 0.0];
    if l_max < 3 {
        return;
    }
    grad[8] = [0.0, 0.0, 15.0 * z2 - 3.0];
    grad[9] = [5.0 * z2 - 1.0, 0.0, 10.0 * z * x];
    grad[10] = [0.0, 5.0 * z2 - 1.0, 10.0 * z * yy];
    grad[11] = [2.0 * x * z, -2.0 * yy * z, x2my2];
    grad[12] = [2.0 * yy * z, 2.0 * x * z, 2.0 * xy];
    grad[13] = [3.0 * x2 - 3.0 * y2, -6.0 * xy, 0.0];
    grad[14] = [6.0 * xy, 3.0 * x2 - 3.0 * y2, 0.0];
    if l_max < 4 {
        return;
    }
    grad[15] = [0.0, 0.0, 140.0 * z2 * z - 60.0 * z];
    grad[16] = [(7.0 * z2 - 3.0) * z, 0.0, (21.0 * z2 - 3.0) * x];
    grad[17] = [0.0, (7.0 * z2 - 3.0) * z, (21.0 * z2 - 3.0) * yy];
    grad[18] = [
        (7.0 * z2 - 1.0) * 2.0 * x,
        -(7.0 * z2 - 1.0) * 2.0 * yy,
        14.0 * z * x2my2,
    ];
    grad[19] = [
        (7.0 * z2 - 1.0) * 2.0 * yy,
        (7.0 * z2 - 1.0) * 2.0 * x,
        28.0 * z * xy,
    ];
    grad[20] = [
        (3.0 * x2 - 3.0 * y2) * z,
        -6.0 * xy * z,
        (x2 - 3.0 * y2) * x,
    ];
    grad[21] = [
        6.0 * xy * z,
        (3.0 * x2 - 3.0 * y2) * z,
        (3.0 * x2 - y2) * yy,
    ];
    grad[22] = [
        4.0 * x * x2my2 - 8.0 * x * y2,
        -4.0 * yy * x2my2 - 8.0 * x2 * yy,
        0.0,
    ];
    grad[23] = [
        4.0 * yy * x2my2 + 8.0 * x2 * yy,
        4.0 * x * x2my2 - 8.0 * x * y2,
        0.0,
    ];
}

/// Which many-body invariants a model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AngularTerms {
    /// Largest L of the 3-body invariants (0..=4).
    pub l_max: usize,
    /// Whether the 4-body invariant q_222 is present (`l_max_4body` = 2).
    pub four_body: bool,
    /// Whether the 5-body invariant q_1111 is present (`l_max_5body` = 1).
    pub five_body: bool,
}

impl AngularTerms {
    /// Number of invariants per radial channel n.
    pub fn n_invariants(&self) -> usize {
        self.l_max + self.four_body as usize + self.five_body as usize
    }

    /// Number of harmonic components the invariants need.
    pub fn n_components(&self) -> usize {
        n_components(self.l_max)
    }

    /// Computes the invariants of one radial channel from its sums `s`,
    /// writing invariant `i` to `q[i * stride]` (NEP orders the angular
    /// descriptor as [invariant][channel]).
    #[inline]
    pub fn invariants(&self, s: &[f64], q: &mut [f64], stride: usize) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let mut sum = 0.0;
            for k in 1..2 * l + 1 {
                sum += C3B[start + k] * s[start + k] * s[start + k];
            }
            q[(l - 1) * stride] = C3B[start] * s[start] * s[start] + 2.0 * sum;
        }
        let mut i = self.l_max;
        if self.four_body {
            q[i * stride] = C4B[0] * s[3] * s[3] * s[3]
                + C4B[1] * s[3] * (s[4] * s[4] + s[5] * s[5])
                + C4B[2] * s[3] * (s[6] * s[6] + s[7] * s[7])
                + C4B[3] * s[6] * (s[5] * s[5] - s[4] * s[4])
                + C4B[4] * s[4] * s[5] * s[7];
            i += 1;
        }
        if self.five_body {
            let s0_sq = s[0] * s[0];
            let s12_sq = s[1] * s[1] + s[2] * s[2];
            q[i * stride] =
                C5B[0] * s0_sq * s0_sq + C5B[1] * s0_sq * s12_sq + C5B[2] * s12_sq * s12_sq;
        }
    }

    /// Chain rule through the invariants: given dE/dq for one channel
    /// (`dq[i * stride]` for invariant i), accumulates dE/ds into `ds`.
    #[inline]
    pub fn invariants_backward(&self, s: &[f64], dq: &[f64], stride: usize, ds: &mut [f64]) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let g = dq[(l - 1) * stride];
            ds[start] += g * 2.0 * C3B[start] * s[start];
            for k in 1..2 * l + 1 {
                ds[start + k] += g * 4.0 * C3B[start + k] * s[start + k];
            }
        }
        let mut i = self.l_max;
        if self.four_body {
            let g = dq[i * stride];
            ds[3] += g
                * (3.0 * C4B[0] * s[3] * s[3]
                    + C4B[1] * (s[4] * s[4] + s[5] * s[5])
                    + C4B[2] * (s[6] * s[6] + s[7] * s[7]));
            ds[4] += g
                * (2.0 * C4B[1] * s[3] * s[4] - 2.0 * C4B[3] * s[6] * s[4] + C4B[4] * s[5] * s[7]);
            ds[5] += g
                * (2.0 * C4B[1] * s[3] * s[5] + 2.0 * C4B[3] * s[6] * s[5] + C4B[4] * s[4] * s[7]);
            ds[6] += g * (2.0 * C4B[2] * s[3] * s[6] + C4B[3] * (s[5] * s[5] - s[4] * s[4]));
            ds[7] += g * (2.0 * C4B[2] * s[3] * s[7] + C4B[4] * s[4] * s[5]);
            i += 1;
        }
        if self.five_body {
            let g = dq[i * stride];
            let s0_sq = s[0] * s[0];
            let s12_sq = s[1] * s[1] + s[2] * s[2];
            ds[0] += g * (4.0 * C5B[0] * s0_sq * s[0] + 2.0 * C5B[1] * s[0] * s12_sq);
            let common = 2.0 * C5B[1] * s0_sq + 4.0 * C5B[2] * s12_sq;
            ds[1] += g * common * s[1];
            ds[2] += g * common * s[2];
        }
    }
}

impl AngularTerms {
    /// Directional derivative of the invariants along `ds_dot`:
    /// q̇_i = ∇q_i(s) · ṡ, written to `q_dot[i * stride]`.
    #[inline]
    pub fn invariants_tangent(&self, s: &[f64], s_dot: &[f64], q_dot: &mut [f64], stride: usize) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let mut sum = 0.0;
            for k in 1..2 * l + 1 {
                sum += C3B[start + k] * s[start + k] * s_dot[start + k];
            }
            q_dot[(l - 1) * stride] = 2.0 * C3B[start] * s[start] * s_dot[start] + 4.0 * sum;
        }
        // Many-body terms: their gradient (one invariant at a time) dotted with ṡ.
        for i in self.l_max..self.n_invariants() {
            let mut unit = [0.0; MAX_L + 2];
            unit[i] = 1.0;
            let mut grad = [0.0; N_HARMONICS];
            self.invariants_backward(s, &unit, 1, &mut grad);
            q_dot[i * stride] = (0..8).map(|c| grad[c] * s_dot[c]).sum();
        }
    }

    /// Hessian-vector product of the invariants: accumulates
    /// Σ_i dq_i (∇²q_i(s) ṡ) into `out` (the derivative of
    /// [`invariants_backward`](Self::invariants_backward) along ṡ).
    #[inline]
    pub fn invariants_hvp(
        &self,
        s: &[f64],
        s_dot: &[f64],
        dq: &[f64],
        stride: usize,
        out: &mut [f64],
    ) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let g = dq[(l - 1) * stride];
            out[start] += g * 2.0 * C3B[start] * s_dot[start];
            for k in 1..2 * l + 1 {
                out[start + k] += g * 4.0 * C3B[start + k] * s_dot[start + k];
            }
        }
        let mut i = self.l_max;
        if self.four_body {
            let g = dq[i * stride];
            let (s3, s4, s5, s6, s7) = (s[3], s[4], s[5], s[6], s[7]);
            let (t3, t4, t5, t6, t7) = (s_dot[3], s_dot[4], s_dot[5], s_dot[6], s_dot[7]);
            out[3] += g
                * (6.0 * C4B[0] * s3 * t3
                    + 2.0 * C4B[1] * (s4 * t4 + s5 * t5)
                    + 2.0 * C4B[2] * (s6 * t6 + s7 * t7));
            out[4] += g
                * (2.0 * C4B[1] * (t3 * s4 + s3 * t4) - 2.0 * C4B[3] * (t6 * s4 + s6 * t4)
                    + C4B[4] * (t5 * s7 + s5 * t7));
            out[5] += g
                * (2.0 * C4B[1] * (t3 * s5 + s3 * t5)
                    + 2.0 * C4B[3] * (t6 * s5 + s6 * t5)
                    + C4B[4] * (t4 * s7 + s4 * t7));
            out[6] += g * (2.0 * C4B[2] * (t3 * s6 + s3 * t6) + 2.0 * C4B[3] * (s5 * t5 - s4 * t4));
            out[7] += g * (2.0 * C4B[2] * (t3 * s7 + s3 * t7) + C4B[4] * (t4 * s5 + s4 * t5));
            i += 1;
        }
        if self.five_body {
            let g = dq[i * stride];
            let a = s[0] * s[0];
            let b = s[1] * s[1] + s[2] * s[2];
            let a_dot = 2.0 * s[0] * s_dot[0];
            let b_dot = 2.0 * (s[1] * s_dot[1] + s[2] * s_dot[2]);
            out[0] +=
                g * (12.0 * C5B[0] * a * s_dot[0] + 2.0 * C5B[1] * (s_dot[0] * b + s[0] * b_dot));
            let common = 2.0 * C5B[1] * a + 4.0 * C5B[2] * b;
            let common_dot = 2.0 * C5B[1] * a_dot + 4.0 * C5B[2] * b_dot;
            out[1] += g * (common_dot * s[1] + common * s_dot[1]);
            out[2] += g * (common_dot * s[2] + common * s_dot[2]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: [f64; 3]) -> [f64; 3] {
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        [v[0] / n, v[1] / n, v[2] / n]
    }

    #[test]
    fn harmonic_gradients_match_finite_differences() {
        // The polynomials are differentiated as functions of independent
        // x, y, z, so the check perturbs one coordinate at a time.
        let u = unit([0.3, -0.7, 0.55]);
        let mut grad = [[0.0; 3]; N_HARMONICS];
        harmonics_grad(u, 4, &mut grad);
        let (mut yp, mut ym) = ([0.0; N_HARMONICS], [0.0; N_HARMONICS]);
        let h = 1e-6;
        for d in 0..3 {
            let (mut up, mut um) = (u, u);
            up[d] += h;
            um[d] -= h;
            harmonics(up, 4, &mut yp);
            harmonics(um, 4, &mut ym);
            for c in 0..N_HARMONICS {
                let fd = (yp[c] - ym[c]) / (2.0 * h);
                assert!((grad[c][d] - fd).abs() < 1e-8, "component {c}, axis {d}");
            }
        }
    }

    #[test]
    fn three_body_invariants_are_rotation_invariant() {
        // q_L of a set of unit vectors must not change under rotation.
        let dirs = [
            unit([1.0, 0.2, -0.3]),
            unit([-0.4, 0.9, 0.1]),
            unit([0.2, -0.1, 1.0]),
        ];
        let weights = [0.7, -0.3, 1.2];
        let terms = AngularTerms {
            l_max: 4,
            four_body: true,
            five_body: true,
        };
        let q_of = |rot: &dyn Fn([f64; 3]) -> [f64; 3]| {
            let mut s = [0.0; N_HARMONICS];
            let mut y = [0.0; N_HARMONICS];
            for (d, w) in dirs.iter().zip(weights) {
                harmonics(rot(*d), 4, &mut y);
                for c in 0..N_HARMONICS {
                    s[c] += w * y[c];
                }
            }
            let mut q = [0.0; 6];
            terms.invariants(&s, &mut q, 1);
            q
        };
        let (c, sn) = (0.6f64.cos(), 0.6f64.sin());
        let (c2, s2) = (1.1f64.cos(), 1.1f64.sin());
        let rotate = |v: [f64; 3]| {
            // about z, then about x
            let a = [c * v[0] - sn * v[1], sn * v[0] + c * v[1], v[2]];
            [a[0], c2 * a[1] - s2 * a[2], s2 * a[1] + c2 * a[2]]
        };
        let q0 = q_of(&|v| v);
        let q1 = q_of(&rotate);
        for i in 0..6 {
            assert!(
                (q0[i] - q1[i]).abs() < 1e-12 * (1.0 + q0[i].abs()),
                "invariant {i}: {} vs {}",
                q0[i],
                q1[i]
            );
        }
    }

    #[test]
    fn invariant_backward_matches_finite_differences() {
        let terms = AngularTerms {
            l_max: 4,
            four_body: true,
            five_body: true,
        };
        let s: Vec<f64> = (0..N_HARMONICS)
            .map(|i| ((i * 7 + 3) % 11) as f64 * 0.13 - 0.6)
            .collect();
        let dq = [0.3, -1.1, 0.7, 0.25, -0.8, 1.3];
        let mut ds = vec![0.0; N_HARMONICS];
        terms.invariants_backward(&s, &dq, 1, &mut ds);
        let energy = |s: &[f64]| {
            let mut q = [0.0; 6];
            terms.invariants(s, &mut q, 1);
            q.iter().zip(dq).map(|(a, b)| a * b).sum::<f64>()
        };
        let h = 1e-6;
        for c in 0..N_HARMONICS {
            let (mut sp, mut sm) = (s.clone(), s.clone());
            sp[c] += h;
            sm[c] -= h;
            let fd = (energy(&sp) - energy(&sm)) / (2.0 * h);
            assert!(
                (ds[c] - fd).abs() < 1e-8,
                "component {c}: {} vs {fd}",
                ds[c]
            );
        }
    }

    #[test]
    fn tangent_and_hessian_vector_product_match_finite_differences() {
        let terms = AngularTerms {
            l_max: 4,
            four_body: true,
            five_body: true,
        };
        let s: Vec<f64> = (0..N_HARMONICS)
            .map(|i| ((i * 5 + 1) % 13) as f64 * 0.11 - 0.7)
            .collect();
        let s_dot: Vec<f64> = (0..N_HARMONICS)
            .map(|i| ((i * 3 + 2) % 7) as f64 * 0.2 - 0.6)
            .collect();
        let dq = [0.3, -1.1, 0.7, 0.25, -0.8, 1.3];
        let h = 1e-6;
        let shifted =
            |t: f64| -> Vec<f64> { s.iter().zip(&s_dot).map(|(a, b)| a + t * b).collect() };
        // tangent of q
        let mut q_dot = [0.0; 6];
        terms.invariants_tangent(&s, &s_dot, &mut q_dot, 1);
        let (mut qp, mut qm) = ([0.0; 6], [0.0; 6]);
        terms.invariants(&shifted(h), &mut qp, 1);
        terms.invariants(&shifted(-h), &mut qm, 1);
        for i in 0..6 {
            let fd = (qp[i] - qm[i]) / (2.0 * h);
            assert!(
                (q_dot[i] - fd).abs() < 1e-8,
                "invariant {i}: {} vs {fd}",
                q_dot[i]
            );
        }
        // derivative of the backward pass along ṡ
        let mut hvp = vec![0.0; N_HARMONICS];
        terms.invariants_hvp(&s, &s_dot, &dq, 1, &mut hvp);
        let (mut gp, mut gm) = (vec![0.0; N_HARMONICS], vec![0.0; N_HARMONICS]);
        terms.invariants_backward(&shifted(h), &dq, 1, &mut gp);
        terms.invariants_backward(&shifted(-h), &dq, 1, &mut gm);
        for c in 0..N_HARMONICS {
            let fd = (gp[c] - gm[c]) / (2.0 * h);
            assert!(
                (hvp[c] - fd).abs() < 1e-8,
                "component {c}: {} vs {fd}",
                hvp[c]
            );
        }
    }
}
