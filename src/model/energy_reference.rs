//! Per-element energy references fitted by least squares to a training
//! set's energies: where NEP's output biases start, and aenet's atomic
//! energies when the inputs give none. Shared by the families, so that no
//! family reaches into another.

use crate::model::Prepared;

/// Per-element energy references e_t minimising Σ_s (E_s − Σ_t n_st e_t)²
/// over the structures with an energy label, with n_st the number of atoms
/// of element t. When the compositions do not determine every e_t (all
/// structures multiples of one formula, say), the minimum-norm solution is
/// returned. Also returns the number of independent combinations (rank).
pub fn energy_references(species: &[String], data: &[Prepared]) -> (Vec<f64>, usize) {
    let nt = species.len();
    let mut compositions = Vec::new();
    let mut energies = Vec::new();
    for s in data {
        let Some(e) = s.structure.labels.energy else {
            continue;
        };
        let mut counts = vec![0.0; nt];
        for &t in &s.types {
            counts[t] += 1.0;
        }
        compositions.push(counts);
        energies.push(e);
    }
    least_squares_references(nt, &compositions, &energies)
}

/// The minimum-norm least-squares e for energies ≈ compositions · e.
fn least_squares_references(
    nt: usize,
    compositions: &[Vec<f64>],
    energies: &[f64],
) -> (Vec<f64>, usize) {
    let mut a = vec![vec![0.0; nt]; nt];
    let mut b = vec![0.0; nt];
    for (counts, &e) in compositions.iter().zip(energies) {
        for i in 0..nt {
            b[i] += counts[i] * e;
            for j in 0..nt {
                a[i][j] += counts[i] * counts[j];
            }
        }
    }
    // Pseudo-inverse of the small symmetric matrix through its eigenvectors.
    let (values, vectors) = symmetric_eigen(a);
    let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut x = vec![0.0; nt];
    let mut rank = 0;
    for (k, &lambda) in values.iter().enumerate() {
        if lambda.abs() <= 1e-10 * largest || largest == 0.0 {
            continue;
        }
        rank += 1;
        let proj: f64 = (0..nt).map(|i| vectors[i][k] * b[i]).sum();
        for i in 0..nt {
            x[i] += vectors[i][k] * proj / lambda;
        }
    }
    (x, rank)
}

/// Eigenvalues and eigenvectors (as columns) of a small symmetric matrix,
/// by cyclic Jacobi rotations.
fn symmetric_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(i == j)).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k][p], v[k][q]);
                    v[k][p] = c * vkp - s * vkq;
                    v[k][q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_full_rank_and_rank_deficient() {
        // Two elements with reference energies −3 and −5 eV, exact data.
        let comps = vec![vec![2.0, 1.0], vec![1.0, 3.0], vec![4.0, 0.0]];
        let energies: Vec<f64> = comps.iter().map(|c| -3.0 * c[0] - 5.0 * c[1]).collect();
        let (e, rank) = least_squares_references(2, &comps, &energies);
        assert_eq!(rank, 2);
        assert!(
            (e[0] + 3.0).abs() < 1e-10 && (e[1] + 5.0).abs() < 1e-10,
            "{e:?}"
        );
        // One formula unit (1:2) only: e0 + 2 e1 = −13 is all the data say;
        // the minimum-norm solution is (−13/5, −26/5).
        let comps = vec![vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]];
        let energies = vec![-13.0, -26.0, -39.0];
        let (e, rank) = least_squares_references(2, &comps, &energies);
        assert_eq!(rank, 1);
        assert!(
            (e[0] + 2.6).abs() < 1e-10 && (e[1] + 5.2).abs() < 1e-10,
            "{e:?}"
        );
    }

    #[test]
    fn eigen_decomposition_reconstructs_the_matrix() {
        let m = vec![
            vec![4.0, 1.0, -2.0],
            vec![1.0, 3.0, 0.5],
            vec![-2.0, 0.5, 5.0],
        ];
        let (values, vectors) = symmetric_eigen(m.clone());
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3)
                    .map(|k| vectors[i][k] * values[k] * vectors[j][k])
                    .sum();
                assert!((r - m[i][j]).abs() < 1e-12);
            }
        }
    }
}
