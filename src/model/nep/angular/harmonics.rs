//! NEP's real polynomial harmonics Y_Lk of a unit vector for L = 1..=8 and
//! the weights of the 3-body invariants built from them.
//!
//! Layout: component L² − 1 + k of L; k = 0 is the m = 0 term, then
//! (Re, Im) pairs for m = 1..L of P_Lm(z) (x + i y)^m. P_Lm is
//! d^m P_L/dz^m (P_L Legendre) scaled to the integer polynomial whose
//! coefficients have no common factor: NEP's unnormalised convention (its
//! per-component normalisation is folded into the weights [`C3B`]).

/// Largest 3-body L supported (NEP_CPU's and GPUMD's limit).
pub const MAX_L: usize = 8;

/// Number of harmonic components for L = 1..=MAX_L: 3 + 5 + … + 17.
pub const N_HARMONICS: usize = MAX_L * (MAX_L + 2);

/// Number of components for harmonics up to `l_max`: l_max (l_max + 2).
pub const fn n_components(l_max: usize) -> usize {
    l_max * (l_max + 2)
}

/// Coefficients of z^k in P_Lm(z), indexed [L][m][k]; built at compile
/// time from the Legendre polynomials so that no table has to be trusted.
static Z_POLY: [[[f64; MAX_L + 1]; MAX_L + 1]; MAX_L + 1] = z_polynomials();

const fn binomial(n: i64, k: i64) -> i64 {
    let mut r = 1;
    let mut i = 0;
    while i < k {
        r = r * (n - i) / (i + 1);
        i += 1;
    }
    r
}

const fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    if a < 0 { -a } else { a }
}

const fn z_polynomials() -> [[[f64; MAX_L + 1]; MAX_L + 1]; MAX_L + 1] {
    let mut table = [[[0.0; MAX_L + 1]; MAX_L + 1]; MAX_L + 1];
    let mut l = 1;
    while l <= MAX_L {
        // 2^L P_L(z) = Σ_j (−1)^j C(L, j) C(2L − 2j, L) z^(L − 2j): integers.
        let mut p = [0i64; MAX_L + 1];
        let mut j = 0;
        while 2 * j <= l {
            let sign = if j % 2 == 0 { 1 } else { -1 };
            p[l - 2 * j] =
                sign * binomial(l as i64, j as i64) * binomial((2 * l - 2 * j) as i64, l as i64);
            j += 1;
        }
        let mut m = 0;
        while m <= l {
            // p is now ∝ d^m P_L/dz^m, of degree L − m with a positive
            // leading coefficient; divide out the common factor.
            let mut g = 0;
            let mut k = 0;
            while k <= l - m {
                g = gcd(g, p[k]);
                k += 1;
            }
            k = 0;
            while k <= l - m {
                table[l][m][k] = (p[k] / g) as f64;
                k += 1;
            }
            // differentiate
            k = 0;
            while k < l - m {
                p[k] = p[k + 1] * (k as i64 + 1);
                k += 1;
            }
            p[l - m] = 0;
            m += 1;
        }
        l += 1;
    }
    table
}

/// Weights of the 3-body invariants, q_L = C[L²−1] s_0² + 2 Σ_{k≥1} C[L²−1+k] s_k².
/// They equal (2L+1)/(4π) · (L−m)!/(L+m)! · a_Lm² for P_Lm = d^m P_L/dz^m / a_Lm
/// (the addition theorem; checked in the tests), but are NEP's printed
/// values (as tabulated by GPUMD and NEP_CPU) so that the descriptors agree
/// with theirs to the last digit.
pub(super) static C3B: [f64; N_HARMONICS] = [
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
    0.013677377921960,
    0.102580334414698,
    0.102580334414698,
    2.872249363611549,
    2.872249363611549,
    0.119677056817148,
    0.119677056817148,
    2.154187022708661,
    2.154187022708661,
    0.215418702270866,
    0.215418702270866,
    0.004041043476943,
    0.169723826031592,
    0.169723826031592,
    0.106077391269745,
    0.106077391269745,
    0.424309565078979,
    0.424309565078979,
    0.127292869523694,
    0.127292869523694,
    2.80044312952126,
    2.80044312952126,
    0.233370260793438,
    0.233370260793438,
    0.004662742473395,
    0.004079899664221,
    0.004079899664221,
    0.024479397985326,
    0.024479397985326,
    0.012239698992663,
    0.012239698992663,
    0.538546755677165,
    0.538546755677165,
    0.134636688919291,
    0.134636688919291,
    3.500553911901575,
    3.500553911901575,
    0.250039565135827,
    0.250039565135827,
    0.000082569397966,
    0.005944996653579,
    0.005944996653579,
    0.104037441437634,
    0.104037441437634,
    0.762941237209318,
    0.762941237209318,
    0.114441185581398,
    0.114441185581398,
    5.950941650232678,
    5.950941650232678,
    0.141689086910302,
    0.141689086910302,
    4.250672607309055,
    4.250672607309055,
    0.265667037956816,
    0.265667037956816,
];

/// P_Lm(z) and dP_Lm/dz from the powers of z. L and m are compile-time
/// constants so that the loop unrolls and the coefficients become
/// immediates; only powers of the polynomial's parity are visited (the
/// others have zero coefficients).
#[inline(always)]
fn p_lm<const L: usize, const M: usize>(z_pow: &[f64; MAX_L + 1]) -> (f64, f64) {
    let (mut p, mut dp) = (0.0, 0.0);
    let mut k = (L - M) % 2;
    while k <= L - M {
        p += Z_POLY[L][M][k] * z_pow[k];
        if k > 0 {
            dp += Z_POLY[L][M][k] * k as f64 * z_pow[k - 1];
        }
        k += 2;
    }
    (p, dp)
}

/// The powers of z and of x + i y that every component is built from.
struct Powers {
    z: [f64; MAX_L + 1],
    re: [f64; MAX_L + 1],
    im: [f64; MAX_L + 1],
}

impl Powers {
    #[inline(always)]
    fn new(u: [f64; 3], l_max: usize) -> Self {
        let [x, y, z] = u;
        let mut p = Powers {
            z: [0.0; MAX_L + 1],
            re: [0.0; MAX_L + 1],
            im: [0.0; MAX_L + 1],
        };
        p.z[0] = 1.0;
        p.re[0] = 1.0;
        for k in 1..=l_max.min(MAX_L) {
            p.z[k] = p.z[k - 1] * z;
            p.re[k] = p.re[k - 1] * x - p.im[k - 1] * y;
            p.im[k] = p.re[k - 1] * y + p.im[k - 1] * x;
        }
        p
    }

    /// Components (L, m) of Y into `y`.
    #[inline(always)]
    fn value<const L: usize, const M: usize>(&self, y: &mut [f64]) {
        let p = p_lm::<L, M>(&self.z).0;
        if M == 0 {
            y[L * L - 1] = p;
        } else {
            y[L * L + 2 * M - 2] = p * self.re[M];
            y[L * L + 2 * M - 1] = p * self.im[M];
        }
    }

    /// Gradients of components (L, m) into `grad`. With w = x + i y:
    /// ∂w^m/∂x = m w^(m−1) and ∂w^m/∂y = i m w^(m−1).
    #[inline(always)]
    fn grad<const L: usize, const M: usize>(&self, grad: &mut [[f64; 3]]) {
        let (p, dp) = p_lm::<L, M>(&self.z);
        if M == 0 {
            grad[L * L - 1] = [0.0, 0.0, dp];
        } else {
            let mf = M as f64;
            let (r1, i1) = (mf * p * self.re[M - 1], mf * p * self.im[M - 1]);
            grad[L * L + 2 * M - 2] = [r1, -i1, dp * self.re[M]];
            grad[L * L + 2 * M - 1] = [i1, r1, dp * self.im[M]];
        }
    }
}

/// Calls `$powers.$f::<L, m>($out)` for every (L, m) with L ≤ l_max: each
/// pair its own straight-line code.
macro_rules! for_each_lm {
    ($l_max:expr, $powers:expr, $f:ident, $out:expr) => {{
        let (l_max, p, out) = ($l_max, $powers, $out);
        for_each_lm!(@l l_max, p, $f, out, 1; 0 1);
        for_each_lm!(@l l_max, p, $f, out, 2; 0 1 2);
        for_each_lm!(@l l_max, p, $f, out, 3; 0 1 2 3);
        for_each_lm!(@l l_max, p, $f, out, 4; 0 1 2 3 4);
        for_each_lm!(@l l_max, p, $f, out, 5; 0 1 2 3 4 5);
        for_each_lm!(@l l_max, p, $f, out, 6; 0 1 2 3 4 5 6);
        for_each_lm!(@l l_max, p, $f, out, 7; 0 1 2 3 4 5 6 7);
        for_each_lm!(@l l_max, p, $f, out, 8; 0 1 2 3 4 5 6 7 8);
    }};
    (@l $l_max:ident, $p:ident, $f:ident, $out:ident, $l:literal; $($m:literal)*) => {
        if $l_max >= $l {
            $($p.$f::<$l, $m>($out);)*
        }
    };
}

/// Harmonics Y_Lk(u) for L = 1..=l_max (≤ [`MAX_L`]) of a unit vector u,
/// into `y` (length ≥ n_components(l_max)).
#[inline]
pub fn harmonics(u: [f64; 3], l_max: usize, y: &mut [f64]) {
    let y = &mut y[..n_components(l_max)];
    for_each_lm!(l_max, &Powers::new(u, l_max), value, y);
}

/// Partial derivatives ∂Y_Lk/∂(x, y, z) of the polynomials in
/// [`harmonics`], treating x, y, z as independent; `grad[c]` for component c.
#[inline]
pub fn harmonics_grad(u: [f64; 3], l_max: usize, grad: &mut [[f64; 3]]) {
    let grad = &mut grad[..n_components(l_max)];
    for_each_lm!(l_max, &Powers::new(u, l_max), grad, grad);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: [f64; 3]) -> [f64; 3] {
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        [v[0] / n, v[1] / n, v[2] / n]
    }

    /// The harmonics up to L = 4 as forcefit wrote them out by hand before
    /// the generic form: the generic polynomials must reproduce them.
    fn by_hand(u: [f64; 3]) -> [f64; 24] {
        let [x, y, z] = u;
        let (x2, y2, z2) = (x * x, y * y, z * z);
        let (xy, d) = (x * y, x * x - y * y);
        [
            z,
            x,
            y,
            3.0 * z2 - 1.0,
            x * z,
            y * z,
            d,
            2.0 * xy,
            (5.0 * z2 - 3.0) * z,
            (5.0 * z2 - 1.0) * x,
            (5.0 * z2 - 1.0) * y,
            d * z,
            2.0 * xy * z,
            (x2 - 3.0 * y2) * x,
            (3.0 * x2 - y2) * y,
            (35.0 * z2 - 30.0) * z2 + 3.0,
            (7.0 * z2 - 3.0) * x * z,
            (7.0 * z2 - 3.0) * y * z,
            (7.0 * z2 - 1.0) * d,
            (7.0 * z2 - 1.0) * 2.0 * xy,
            (x2 - 3.0 * y2) * x * z,
            (3.0 * x2 - y2) * y * z,
            d * d - 4.0 * x2 * y2,
            4.0 * xy * d,
        ]
    }

    #[test]
    fn generic_harmonics_reproduce_the_hand_written_ones() {
        let u = unit([0.3, -0.7, 0.55]);
        let mut y = [0.0; N_HARMONICS];
        harmonics(u, 4, &mut y);
        for (c, want) in by_hand(u).iter().enumerate() {
            assert!(
                (y[c] - want).abs() < 1e-14,
                "component {c}: {} vs {want}",
                y[c]
            );
        }
        // Spot checks of the L = 8 polynomials against NEP's printed ones.
        assert_eq!(
            Z_POLY[8][0],
            [35.0, 0.0, -1260.0, 0.0, 6930.0, 0.0, -12012.0, 0.0, 6435.0]
        );
        assert_eq!(
            Z_POLY[7][1][..7],
            [-5.0, 0.0, 135.0, 0.0, -495.0, 0.0, 429.0]
        );
        assert_eq!(Z_POLY[8][6][..3], [-1.0, 0.0, 15.0]);
    }

    #[test]
    fn harmonic_gradients_match_finite_differences() {
        // The polynomials are differentiated as functions of independent
        // x, y, z, so the check perturbs one coordinate at a time.
        let u = unit([0.3, -0.7, 0.55]);
        let mut grad = [[0.0; 3]; N_HARMONICS];
        harmonics_grad(u, MAX_L, &mut grad);
        let (mut yp, mut ym) = ([0.0; N_HARMONICS], [0.0; N_HARMONICS]);
        let h = 1e-6;
        for d in 0..3 {
            let (mut up, mut um) = (u, u);
            up[d] += h;
            um[d] -= h;
            harmonics(up, MAX_L, &mut yp);
            harmonics(um, MAX_L, &mut ym);
            for c in 0..N_HARMONICS {
                let fd = (yp[c] - ym[c]) / (2.0 * h);
                let tol = 1e-7 * (1.0 + fd.abs());
                assert!((grad[c][d] - fd).abs() < tol, "component {c}, axis {d}");
            }
        }
    }

    fn legendre(l: usize, t: f64) -> f64 {
        let (mut p0, mut p1) = (1.0, t);
        if l == 0 {
            return p0;
        }
        for n in 1..l {
            let p2 = ((2 * n + 1) as f64 * t * p1 - n as f64 * p0) / (n + 1) as f64;
            p0 = p1;
            p1 = p2;
        }
        p1
    }

    #[test]
    fn weights_satisfy_the_addition_theorem() {
        // Σ_k C_k Y_k(u) Y_k(v) (Re and Im pairs counted twice) equals
        // (2L+1)/(4π) P_L(u·v) for every pair of directions: this fixes
        // each weight, so all 80 of NEP's are checked.
        let dirs = [
            unit([1.0, 0.2, -0.3]),
            unit([-0.4, 0.9, 0.1]),
            unit([0.2, -0.1, 1.0]),
            unit([0.7, 0.7, 0.2]),
        ];
        let mut ya = [0.0; N_HARMONICS];
        let mut yb = [0.0; N_HARMONICS];
        for a in &dirs {
            for b in &dirs {
                harmonics(*a, MAX_L, &mut ya);
                harmonics(*b, MAX_L, &mut yb);
                let cos = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
                for l in 1..=MAX_L {
                    let base = l * l - 1;
                    let mut sum = C3B[base] * ya[base] * yb[base];
                    for k in 1..=2 * l {
                        sum += 2.0 * C3B[base + k] * ya[base + k] * yb[base + k];
                    }
                    let want = (2 * l + 1) as f64 / (4.0 * std::f64::consts::PI) * legendre(l, cos);
                    // NEP prints the weights to 15 decimals; |Y_80| reaches 128.
                    assert!((sum - want).abs() < 1e-10, "L = {l}: {sum} vs {want}");
                }
            }
        }
    }
}
