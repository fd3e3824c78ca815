//! NEP's many-body angular invariants as polynomials in the harmonic sums
//! s_c of one radial channel (component layout as in
//! [`super::harmonics`]): 4-body q_222, 5-body q_1111, and the newer
//! 4-body couplings q_112, q_123, q_233, q_134 (NEP_CPU and GPUMD since
//! 2026). Each is a sum of monomials c · s_a s_b s_c (· s_d), held as a
//! table, so that its value, gradient, tangent and Hessian-vector product
//! all come from one generic evaluator and cannot drift apart.

/// One monomial: coefficient and the (2 to 4) components it multiplies.
pub(super) struct Monomial {
    c: f64,
    s: &'static [usize],
}

const fn m(c: f64, s: &'static [usize]) -> Monomial {
    Monomial { c, s }
}

/// The many-body invariants, in the order they follow the 3-body ones in
/// the descriptor (NEP_CPU's find_q).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManyBody {
    /// 4-body, L = 2 ⊗ 2 ⊗ 2.
    Q222,
    /// 5-body, L = 1 ⊗ 1 ⊗ 1 ⊗ 1.
    Q1111,
    /// 4-body, L = 1 ⊗ 1 ⊗ 2.
    Q112,
    /// 4-body, L = 1 ⊗ 2 ⊗ 3.
    Q123,
    /// 4-body, L = 2 ⊗ 3 ⊗ 3.
    Q233,
    /// 4-body, L = 1 ⊗ 3 ⊗ 4.
    Q134,
}

impl ManyBody {
    /// All of them, in descriptor order.
    pub const ALL: [ManyBody; 6] = [
        ManyBody::Q222,
        ManyBody::Q1111,
        ManyBody::Q112,
        ManyBody::Q123,
        ManyBody::Q233,
        ManyBody::Q134,
    ];

    /// GPUMD's name for it.
    pub fn name(self) -> &'static str {
        match self {
            ManyBody::Q222 => "q_222",
            ManyBody::Q1111 => "q_1111",
            ManyBody::Q112 => "q_112",
            ManyBody::Q123 => "q_123",
            ManyBody::Q233 => "q_233",
            ManyBody::Q134 => "q_134",
        }
    }

    /// Highest L whose sums it uses. NEP builds the sums only up to the
    /// 3-body l_max, so a smaller l_max would make it vanish identically.
    pub fn highest_l(self) -> usize {
        match self {
            ManyBody::Q1111 => 1,
            ManyBody::Q222 | ManyBody::Q112 => 2,
            ManyBody::Q123 | ManyBody::Q233 => 3,
            ManyBody::Q134 => 4,
        }
    }

    /// Highest component index + 1 it touches.
    fn n_components(self) -> usize {
        let l = self.highest_l();
        l * (l + 2)
    }

    pub(super) fn monomials(self) -> &'static [Monomial] {
        match self {
            ManyBody::Q222 => Q222,
            ManyBody::Q1111 => Q1111,
            ManyBody::Q112 => Q112,
            ManyBody::Q123 => Q123,
            ManyBody::Q233 => Q233,
            ManyBody::Q134 => Q134,
        }
    }

    /// Value at the sums `s`.
    #[inline]
    pub fn value(self, s: &[f64]) -> f64 {
        self.monomials()
            .iter()
            .map(|t| t.c * t.s.iter().map(|&i| s[i]).product::<f64>())
            .sum()
    }

    /// Accumulates g · ∂q/∂s into `ds`.
    #[inline]
    pub fn backward(self, s: &[f64], g: f64, ds: &mut [f64]) {
        for t in self.monomials() {
            for (k, &a) in t.s.iter().enumerate() {
                let rest: f64 =
                    t.s.iter()
                        .enumerate()
                        .filter(|&(l, _)| l != k)
                        .map(|(_, &b)| s[b])
                        .product();
                ds[a] += g * t.c * rest;
            }
        }
    }

    /// Directional derivative ∇q(s) · ṡ.
    #[inline]
    pub fn tangent(self, s: &[f64], s_dot: &[f64]) -> f64 {
        let mut grad = [0.0; 24];
        self.backward(s, 1.0, &mut grad);
        (0..self.n_components()).map(|c| grad[c] * s_dot[c]).sum()
    }

    /// Accumulates g · ∇²q(s) ṡ into `out`.
    #[inline]
    pub fn hvp(self, s: &[f64], s_dot: &[f64], g: f64, out: &mut [f64]) {
        for t in self.monomials() {
            for (k, &a) in t.s.iter().enumerate() {
                for (l, &b) in t.s.iter().enumerate() {
                    if l == k {
                        continue;
                    }
                    let rest: f64 =
                        t.s.iter()
                            .enumerate()
                            .filter(|&(n, _)| n != k && n != l)
                            .map(|(_, &c)| s[c])
                            .product();
                    out[a] += g * t.c * rest * s_dot[b];
                }
            }
        }
    }
}

// Coefficients from the NEP papers, as tabulated by GPUMD and NEP_CPU
// (C4B, C5B, C4B2, C4B_123, C4B_233, C4B_134 there).
const C4B: [f64; 5] = [
    -0.007499480826664,
    -0.134990654879954,
    0.067495327439977,
    0.404971964639861,
    -0.809943929279723,
];
const C5B: [f64; 3] = [0.026596810706114, 0.053193621412227, 0.026596810706114];
const C112: [f64; 5] = [
    0.027493550848847,
    0.164961305093080,
    -0.013746775424423,
    0.041240326273270,
    0.082480652546540,
];
const C123: [f64; 7] = [
    -0.008418146349617,
    -0.016836292699234,
    -0.033672585398469,
    -0.042090731748086,
    -0.067345170796937,
    -0.084181463496172,
    -0.168362926992344,
];
const C233: [f64; 10] = [
    0.008572620635186,
    0.009644198214584,
    0.019288396429168,
    0.025717861905558,
    0.026789439484956,
    0.032147327381947,
    0.038576792858337,
    0.128589309527790,
    0.192883964291685,
    0.321473273819474,
];
const C134: [f64; 10] = [
    0.003645164295772,
    0.004860219061029,
    0.006075273826286,
    0.018225821478859,
    0.024301095305146,
    0.036451642957719,
    0.042526916784005,
    0.072903285915437,
    0.085053833568010,
    0.255161500704030,
];

// Component names: L = 1 is s0 (m 0), s1, s2; L = 2 is s3..s7; L = 3 is
// s8..s14; L = 4 is s15..s23.
const Q222: &[Monomial] = &[
    m(C4B[0], &[3, 3, 3]),
    m(C4B[1], &[3, 4, 4]),
    m(C4B[1], &[3, 5, 5]),
    m(C4B[2], &[3, 6, 6]),
    m(C4B[2], &[3, 7, 7]),
    m(C4B[3], &[6, 5, 5]),
    m(-C4B[3], &[6, 4, 4]),
    m(C4B[4], &[4, 5, 7]),
];

// C0 s0⁴ + C1 s0² (s1² + s2²) + C2 (s1² + s2²)²
const Q1111: &[Monomial] = &[
    m(C5B[0], &[0, 0, 0, 0]),
    m(C5B[1], &[0, 0, 1, 1]),
    m(C5B[1], &[0, 0, 2, 2]),
    m(C5B[2], &[1, 1, 1, 1]),
    m(2.0 * C5B[2], &[1, 1, 2, 2]),
    m(C5B[2], &[2, 2, 2, 2]),
];

const Q112: &[Monomial] = &[
    m(C112[0], &[0, 0, 3]),
    m(C112[1], &[0, 1, 4]),
    m(C112[1], &[0, 2, 5]),
    m(C112[2], &[3, 1, 1]),
    m(C112[2], &[3, 2, 2]),
    m(C112[3], &[6, 1, 1]),
    m(-C112[3], &[6, 2, 2]),
    m(C112[4], &[1, 2, 7]),
];

const Q123: &[Monomial] = &[
    m(C123[0], &[10, 2, 6]),
    m(-C123[0], &[10, 1, 7]),
    m(-C123[0], &[2, 7, 9]),
    m(-C123[0], &[1, 6, 9]),
    m(C123[1], &[10, 2, 3]),
    m(C123[1], &[0, 3, 8]),
    m(C123[1], &[1, 3, 9]),
    m(-C123[2], &[2, 5, 8]),
    m(-C123[2], &[1, 4, 8]),
    m(C123[3], &[14, 2, 6]),
    m(-C123[3], &[13, 2, 7]),
    m(C123[3], &[1, 13, 6]),
    m(C123[3], &[1, 14, 7]),
    m(C123[4], &[10, 0, 5]),
    m(C123[4], &[0, 4, 9]),
    m(C123[5], &[0, 11, 6]),
    m(C123[5], &[0, 12, 7]),
    m(C123[6], &[12, 2, 4]),
    m(-C123[6], &[11, 2, 5]),
    m(C123[6], &[1, 11, 4]),
    m(C123[6], &[1, 12, 5]),
];

const Q233: &[Monomial] = &[
    m(C233[0], &[3, 8, 8]),
    m(C233[1], &[10, 10, 3]),
    m(C233[1], &[3, 9, 9]),
    m(-C233[2], &[10, 10, 6]),
    m(C233[2], &[6, 9, 9]),
    m(C233[3], &[4, 8, 9]),
    m(C233[3], &[10, 5, 8]),
    m(-C233[4], &[13, 13, 3]),
    m(-C233[4], &[14, 14, 3]),
    m(-C233[5], &[14, 7, 9]),
    m(-C233[5], &[13, 6, 9]),
    m(-C233[5], &[10, 14, 6]),
    m(C233[5], &[10, 13, 7]),
    m(C233[6], &[10, 7, 9]),
    m(-C233[7], &[11, 6, 8]),
    m(-C233[7], &[12, 7, 8]),
    m(C233[8], &[11, 4, 9]),
    m(C233[8], &[12, 5, 9]),
    m(C233[8], &[10, 12, 4]),
    m(-C233[8], &[10, 11, 5]),
    m(C233[9], &[12, 14, 4]),
    m(C233[9], &[11, 14, 5]),
    m(C233[9], &[13, 11, 4]),
    m(-C233[9], &[13, 12, 5]),
];

const Q134: &[Monomial] = &[
    m(-C134[0], &[10, 15, 2]),
    m(-C134[0], &[1, 15, 9]),
    m(C134[1], &[0, 15, 8]),
    m(-C134[2], &[1, 13, 18]),
    m(-C134[2], &[1, 14, 19]),
    m(-C134[2], &[2, 14, 18]),
    m(C134[2], &[2, 13, 19]),
    m(-C134[3], &[10, 18, 2]),
    m(C134[3], &[1, 10, 19]),
    m(C134[3], &[1, 18, 9]),
    m(C134[3], &[2, 19, 9]),
    m(C134[4], &[1, 16, 8]),
    m(C134[4], &[2, 17, 8]),
    m(C134[5], &[0, 10, 17]),
    m(C134[5], &[0, 16, 9]),
    m(-C134[5], &[1, 11, 16]),
    m(-C134[5], &[1, 12, 17]),
    m(-C134[5], &[2, 12, 16]),
    m(C134[5], &[2, 11, 17]),
    m(C134[6], &[1, 13, 22]),
    m(C134[6], &[1, 14, 23]),
    m(-C134[6], &[2, 14, 22]),
    m(C134[6], &[2, 13, 23]),
    m(C134[7], &[0, 11, 18]),
    m(C134[7], &[0, 12, 19]),
    m(C134[8], &[0, 13, 20]),
    m(C134[8], &[0, 14, 21]),
    m(C134[9], &[1, 11, 20]),
    m(C134[9], &[1, 12, 21]),
    m(-C134[9], &[2, 12, 20]),
    m(C134[9], &[2, 11, 21]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monomials_stay_within_their_highest_l() {
        for kind in ManyBody::ALL {
            for t in kind.monomials() {
                assert!(t.s.iter().all(|&i| i < kind.n_components()), "{kind:?}");
            }
        }
    }
}
