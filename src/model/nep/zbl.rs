//! The Ziegler-Biersack-Littmark screened Coulomb repulsion that NEP adds
//! at short range: φ(r) = Z_i Z_j e²/(4πε₀ r) Σ_k a_k exp(−b_k r / a),
//! a = 0.46848 Å / (Z_i^0.23 + Z_j^0.23), switched off smoothly between
//! an inner and an outer cutoff. Flexible ZBL replaces the universal
//! (a_k, b_k) and cutoffs by fitted values per element pair.

use std::f64::consts::PI;

/// e²/(4πε₀) in eV·Å, as used by GPUMD.
const COULOMB: f64 = 14.399645;

/// 1 / 0.46848 Å, the inverse of the universal screening length prefactor.
const INV_SCREENING: f64 = 2.134563;

/// The universal ZBL (a_k, b_k) pairs.
pub const UNIVERSAL: [(f64, f64); 4] = [
    (0.18175, 3.1998),
    (0.50986, 0.94229),
    (0.28022, 0.4029),
    (0.02817, 0.20162),
];

/// Switching function: 1 below `inner`, ½(1 + cos(π (r − inner)/(outer − inner)))
/// between, 0 beyond `outer`. Returns (value, derivative).
#[inline]
fn switch(r: f64, inner: f64, outer: f64) -> (f64, f64) {
    if r < inner {
        (1.0, 0.0)
    } else if r < outer {
        let k = PI / (outer - inner);
        let x = k * (r - inner);
        (0.5 * x.cos() + 0.5, -0.5 * k * x.sin())
    } else {
        (0.0, 0.0)
    }
}

/// Pair energy φ(r) and dφ/dr for atomic numbers `zi`, `zj`, screening
/// terms `terms` and switching cutoffs `inner`, `outer`.
#[inline]
pub fn pair(r: f64, zi: f64, zj: f64, terms: &[(f64, f64)], inner: f64, outer: f64) -> (f64, f64) {
    let a_inv = (zi.powf(0.23) + zj.powf(0.23)) * INV_SCREENING;
    let zz = COULOMB * zi * zj;
    let x = r * a_inv;
    let (mut screen, mut screen_deriv) = (0.0, 0.0);
    for &(a, b) in terms {
        let e = a * (-b * x).exp();
        screen += e;
        screen_deriv -= b * e;
    }
    let coulomb = zz / r;
    let energy = coulomb * screen;
    let deriv = coulomb * (screen_deriv * a_inv - screen / r);
    let (fc, fcp) = switch(r, inner, outer);
    (energy * fc, deriv * fc + energy * fcp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivative_matches_finite_differences() {
        let flexible = [(0.2, 3.0), (0.5, 1.0), (0.25, 0.4), (0.05, 0.2)];
        for terms in [&UNIVERSAL[..], &flexible[..]] {
            for &r in &[0.5, 1.0, 1.3, 1.75, 2.2, 2.49] {
                let h = 1e-6;
                let (_, d) = pair(r, 52.0, 82.0, terms, 1.0, 2.5);
                let fd = (pair(r + h, 52.0, 82.0, terms, 1.0, 2.5).0
                    - pair(r - h, 52.0, 82.0, terms, 1.0, 2.5).0)
                    / (2.0 * h);
                assert!(
                    (d - fd).abs() < 1e-6 * (1.0 + d.abs()),
                    "r = {r}: {d} vs {fd}"
                );
            }
        }
        assert_eq!(pair(2.5, 1.0, 1.0, &UNIVERSAL, 1.0, 2.5), (0.0, 0.0));
    }

    #[test]
    fn matches_textbook_universal_screening() {
        // Below the inner cutoff the pair energy is the bare ZBL formula,
        // written out here independently: Z1 Z2 e²/(4πε₀ r) φ(r/a).
        let (z1, z2, r) = (14.0f64, 7.0f64, 0.8f64);
        let a = 0.46848 / (z1.powf(0.23) + z2.powf(0.23));
        let x = r / a;
        let phi = 0.18175 * (-3.1998 * x).exp()
            + 0.50986 * (-0.94229 * x).exp()
            + 0.28022 * (-0.4029 * x).exp()
            + 0.02817 * (-0.20162 * x).exp();
        let expected = 14.399645 * z1 * z2 / r * phi;
        let (e, _) = pair(r, z1, z2, &UNIVERSAL, 1.0, 2.0);
        assert!((e - expected).abs() < 1e-5 * expected, "{e} vs {expected}");
    }
}
