//! Radial building blocks of NEP: the cosine cutoff function and the
//! Chebyshev basis f_k(r) = ½ (T_k(x) + 1) f_c(r), x = 2 (r/r_c − 1)² − 1,
//! each returned together with its derivative d/dr.

use crate::nn::gemm::dot;
use std::f64::consts::{FRAC_PI_2, PI};

/// Pairs whose basis is evaluated together by [`chebyshev_lanes`].
pub const LANES: usize = 4;

/// The basis of [`LANES`] pairs at once: `value[k][l]` and `deriv[k][l]`
/// (k = 0..value.len()) get f_k(r_l) and f_k'(r_l) for cutoff `rc[l]`.
/// Every r_l must be below its r_c (pad unused lanes with any such pair).
///
/// One pair's cutoff and recurrence are a long chain of dependent
/// multiplications; lanes side by side give the CPU independent work to
/// overlap (and the compiler vectors to fill). Each lane's arithmetic is
/// that of a lone pair, so a value does not depend on its lane or company.
#[inline]
pub fn chebyshev_lanes(
    r: &[f64; LANES],
    rc: &[f64; LANES],
    value: &mut [[f64; LANES]],
    deriv: &mut [[f64; LANES]],
) {
    debug_assert_eq!(value.len(), deriv.len());
    let t = lanes(|l| PI * r[l] / rc[l] - FRAC_PI_2);
    let (sin, cos) = sin_cos_half_turn(&t);
    let y = lanes(|l| r[l] / rc[l] - 1.0);
    let x = lanes(|l| 2.0 * y[l] * y[l] - 1.0);
    // f_c = ½ cos(π r / r_c) + ½ and x = π r / r_c = t + π/2, so
    // cos x = −sin t and sin x = cos t; f_k = a (T_k + 1) and
    // f_k' = b T_k' + c (T_k + 1).
    let fc = lanes(|l| 0.5 - 0.5 * sin[l]);
    let a = lanes(|l| 0.5 * fc[l]);
    let b = lanes(|l| a[l] * 4.0 * y[l] / rc[l]);
    let c = lanes(|l| -0.25 * PI / rc[l] * cos[l]);
    // T_k by the three-term recurrence and T_k' by its derivative,
    // T'_{k+1} = 2 T_k + 2x T'_k − T'_{k−1}.
    let (mut t_prev, mut t_k) = ([1.0; LANES], x);
    let (mut d_prev, mut d_k) = ([0.0; LANES], [1.0; LANES]);
    for (k, (v, dv)) in value.iter_mut().zip(deriv.iter_mut()).enumerate() {
        let (tk, dk) = match k {
            0 => ([1.0; LANES], [0.0; LANES]),
            1 => (x, [1.0; LANES]),
            _ => {
                let t_next = lanes(|l| 2.0 * x[l] * t_k[l] - t_prev[l]);
                let d_next = lanes(|l| 2.0 * t_k[l] + 2.0 * x[l] * d_k[l] - d_prev[l]);
                (t_prev, t_k, d_prev, d_k) = (t_k, t_next, d_k, d_next);
                (t_k, d_k)
            }
        };
        for l in 0..LANES {
            v[l] = a[l] * (tk[l] + 1.0);
            dv[l] = b[l] * dk[l] + c[l] * (tk[l] + 1.0);
        }
    }
}

/// [f(0), …, f(LANES − 1)].
#[inline(always)]
fn lanes(f: impl Fn(usize) -> f64) -> [f64; LANES] {
    std::array::from_fn(f)
}

/// (sin t, cos t) lane by lane for |t| ≤ π/2, by their Taylor series in t²
/// (the first omitted terms, t²³/23! and t²⁴/24!, are below 2e-18 there).
/// The cutoff's argument never leaves [0, π), so none of libm's range
/// reduction is needed.
#[inline]
fn sin_cos_half_turn(t: &[f64; LANES]) -> ([f64; LANES], [f64; LANES]) {
    let z: [f64; LANES] = std::array::from_fn(|l| t[l] * t[l]);
    let series = |coefficients: &[f64]| -> [f64; LANES] {
        let mut acc = [coefficients[coefficients.len() - 1]; LANES];
        for c in coefficients.iter().rev().skip(1) {
            for l in 0..LANES {
                acc[l] = acc[l] * z[l] + c;
            }
        }
        acc
    };
    let s = series(&SIN_TAYLOR);
    (std::array::from_fn(|l| s[l] * t[l]), series(&COS_TAYLOR))
}

/// (−1)ⁿ / (2n+1)!, n = 0..=10.
const SIN_TAYLOR: [f64; 11] = taylor(1);
/// (−1)ⁿ / (2n)!, n = 0..=11.
const COS_TAYLOR: [f64; 12] = taylor(0);

/// (−1)ⁿ / (2n + first)! for n = 0..N.
const fn taylor<const N: usize>(first: u32) -> [f64; N] {
    let mut out = [0.0; N];
    let mut factorial = 1.0;
    let mut k = 1;
    while k <= first {
        factorial *= k as f64;
        k += 1;
    }
    let mut n = 0;
    while n < N {
        out[n] = if n % 2 == 0 { 1.0 } else { -1.0 } / factorial;
        factorial *= k as f64 * (k + 1) as f64;
        k += 2;
        n += 1;
    }
    out
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

    /// Every lane against the closed forms T_k(x) = cos(k acos x) and
    /// f_c = ½ cos(π r / r_c) + ½, and against finite differences; a
    /// value does not depend on its lane.
    #[test]
    fn chebyshev_values_and_derivatives() {
        let n = 13;
        let rs = [0.5, 1.9, 3.0, 4.4, 5.99, 1e-3, 2.7, 5.3];
        let rcs = [6.0, 6.0, 6.0, 6.0, 6.0, 5.3, 5.3, 5.3];
        let eval = |r: [f64; LANES], rc: [f64; LANES]| {
            let (mut v, mut d) = (vec![[0.0; LANES]; n], vec![[0.0; LANES]; n]);
            chebyshev_lanes(&r, &rc, &mut v, &mut d);
            (v, d)
        };
        for start in [0, 4] {
            let r: [f64; LANES] = std::array::from_fn(|l| rs[start + l]);
            let rc: [f64; LANES] = std::array::from_fn(|l| rcs[start + l]);
            let (v, d) = eval(r, rc);
            let h = 1e-6;
            let (vp, _) = eval(r.map(|x| x + h), rc);
            let (vm, _) = eval(r.map(|x| x - h), rc);
            // The same pairs in reversed lanes give the same numbers.
            let rev = |a: [f64; LANES]| std::array::from_fn(|l| a[LANES - 1 - l]);
            let (vr, dr) = eval(rev(r), rev(rc));
            for l in 0..LANES {
                let x: f64 = 2.0 * (r[l] / rc[l] - 1.0).powi(2) - 1.0;
                let fc = 0.5 * (PI * r[l] / rc[l]).cos() + 0.5;
                for k in 0..n {
                    let expected = 0.5 * ((k as f64 * x.acos()).cos() + 1.0) * fc;
                    assert!((v[k][l] - expected).abs() < 1e-12, "k = {k}, r = {}", r[l]);
                    let fd = (vp[k][l] - vm[k][l]) / (2.0 * h);
                    assert!(
                        (d[k][l] - fd).abs() < 1e-7,
                        "k = {k}, r = {}: {} vs {fd}",
                        r[l],
                        d[k][l]
                    );
                    assert_eq!(v[k][l].to_bits(), vr[k][LANES - 1 - l].to_bits());
                    assert_eq!(d[k][l].to_bits(), dr[k][LANES - 1 - l].to_bits());
                }
            }
        }
    }

    #[test]
    fn sin_cos_agree_with_libm() {
        for i in 0..=1000 {
            let t = -FRAC_PI_2 + PI * i as f64 / 1000.0;
            let (s, c) = sin_cos_half_turn(&[t; LANES]);
            assert!((s[0] - t.sin()).abs() < 4e-16, "t = {t}");
            assert!((c[0] - t.cos()).abs() < 4e-16, "t = {t}");
        }
    }
}
