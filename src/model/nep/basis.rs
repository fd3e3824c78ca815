//! Radial building blocks of NEP: the cosine cutoff function and the
//! Chebyshev basis f_k(r) = ½ (T_k(x) + 1) f_c(r), x = 2 (r/r_c − 1)² − 1,
//! each returned together with its derivative d/dr.

use crate::nn::gemm::dot;
use std::f64::consts::PI;

/// Cosine cutoff f_c(r) = ½ cos(π r / r_c) + ½ for r < r_c, else 0,
/// and its derivative. Returns `(f_c, f_c')`.
#[inline]
pub fn cutoff(r: f64, rc: f64) -> (f64, f64) {
    if r < rc {
        let x = PI * r / rc;
        (0.5 * x.cos() + 0.5, -0.5 * PI / rc * x.sin())
    } else {
        (0.0, 0.0)
    }
}

/// Fills `value[k]` and `deriv[k]` (k = 0..value.len()) with the basis
/// functions f_k(r) and f_k'(r) for cutoff `rc`. Both slices must have
/// the same length (basis_size + 1).
#[inline]
pub fn chebyshev(r: f64, rc: f64, value: &mut [f64], deriv: &mut [f64]) {
    debug_assert_eq!(value.len(), deriv.len());
    let (fc, fcp) = cutoff(r, rc);
    let y = r / rc - 1.0;
    let x = 2.0 * y * y - 1.0;
    let dx_dr = 4.0 * y / rc;
    // T_k via the three-term recurrence; T_k' = k U_{k-1} with U the
    // Chebyshev polynomials of the second kind.
    let (mut t_prev, mut t) = (1.0, x);
    let (mut u_prev, mut u) = (0.0, 1.0); // U_{-1}, U_0
    for k in 0..value.len() {
        let (tk, dtk) = match k {
            0 => (1.0, 0.0),
            1 => (x, 1.0),
            _ => {
                let t_next = 2.0 * x * t - t_prev;
                t_prev = t;
                t = t_next;
                let u_next = 2.0 * x * u - u_prev;
                u_prev = u;
                u = u_next;
                (t, k as f64 * u)
            }
        };
        let half = 0.5 * (tk + 1.0);
        value[k] = half * fc;
        deriv[k] = 0.5 * dtk * dx_dr * fc + half * fcp;
    }
}

/// Contracts basis values and derivatives with coefficients:
/// returns (Σ_k c_k f_k, Σ_k c_k f_k'), the radial function g_n and g_n'.
#[inline]
pub fn contract(c: &[f64], value: &[f64], deriv: &[f64]) -> (f64, f64) {
    (dot(c, value), dot(c, deriv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_derivative_matches_finite_difference() {
        let rc = 5.3;
        for &r in &[0.3, 1.7, 2.65, 4.9, 5.29] {
            let h = 1e-6;
            let fd = (cutoff(r + h, rc).0 - cutoff(r - h, rc).0) / (2.0 * h);
            assert!((cutoff(r, rc).1 - fd).abs() < 1e-8, "r = {r}");
        }
        assert_eq!(cutoff(5.3, rc), (0.0, 0.0));
        assert!((cutoff(0.0, rc).0 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn chebyshev_values_and_derivatives() {
        let rc = 6.0;
        let n = 13;
        let (mut v, mut d) = (vec![0.0; n], vec![0.0; n]);
        let (mut vp, mut dp) = (vec![0.0; n], vec![0.0; n]);
        let (mut vm, mut dm) = (vec![0.0; n], vec![0.0; n]);
        for &r in &[0.5, 1.9, 3.0, 4.4, 5.99] {
            chebyshev(r, rc, &mut v, &mut d);
            // T_k(x) = cos(k acos x) for |x| <= 1.
            let x: f64 = 2.0 * (r / rc - 1.0) * (r / rc - 1.0) - 1.0;
            let fc = cutoff(r, rc).0;
            for k in 0..n {
                let expected = 0.5 * ((k as f64 * x.acos()).cos() + 1.0) * fc;
                assert!((v[k] - expected).abs() < 1e-12, "k = {k}, r = {r}");
            }
            let h = 1e-6;
            chebyshev(r + h, rc, &mut vp, &mut dp);
            chebyshev(r - h, rc, &mut vm, &mut dm);
            for k in 0..n {
                let fd = (vp[k] - vm[k]) / (2.0 * h);
                assert!(
                    (d[k] - fd).abs() < 1e-7,
                    "k = {k}, r = {r}: {} vs {fd}",
                    d[k]
                );
            }
        }
    }
}
