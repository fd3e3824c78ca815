//! Which bin offsets can hold neighbours: the stencil of the cell list.
//!
//! Two atoms in bins k = (k_a, k_b, k_c) apart differ by the fractional
//! vector u with u_a in [(k_a - 1) w_a, (k_a + 1) w_a] (w: the bin widths),
//! a parallelepiped in Cartesian space. An offset whose parallelepiped lies
//! entirely beyond the cutoff cannot hold a neighbour and is dropped. For
//! thin or strongly sheared cells this removes the corners of the
//! (2 reach + 1)³ block; with bins finer than the cutoff it shapes the
//! stencil like the cutoff sphere.

/// Offsets are kept unless their closest point is beyond the cutoff by
/// this relative margin, so rounding can only keep extra offsets.
const MARGIN: f64 = 1e-6;

/// The stencil offsets with given offsets along a and b: c offsets
/// `c_low..=c_high`. Offsets are shifted by the reach to be non-negative
/// (t = k + reach).
#[derive(Clone, Copy, Debug)]
pub(super) struct Row {
    /// t along a and b.
    pub ab: [usize; 2],
    /// First t along c.
    pub c_low: usize,
    /// Last t along c (inclusive).
    pub c_high: usize,
}

/// The rows of bin offsets whose bins may hold atoms closer than `cutoff`
/// to an atom of bin 0, in lexicographic order.
///
/// `basis` holds the lattice vectors as rows (Å), `widths` the bins'
/// fractional widths along each axis (0 for a flat non-periodic extent).
/// Along a line of offsets the kept ones are contiguous (the offsets whose
/// box meets the cutoff sphere form a convex set), so each row is found by
/// scanning in from both ends. With `prune` false every offset within the
/// reach is kept (cheaper when the bins hold few atoms).
pub(super) fn stencil(
    basis: &[[f64; 3]; 3],
    widths: [f64; 3],
    reach: [usize; 3],
    cutoff: f64,
    prune: bool,
) -> Vec<Row> {
    let gram: [[f64; 3]; 3] =
        std::array::from_fn(|a| std::array::from_fn(|b| dot(&basis[a], &basis[b])));
    let limit2 = cutoff * cutoff * (1.0 + MARGIN);
    // Every point of a box lies within `radius` of the box's centre.
    let mut radius2: f64 = 0.0;
    for corner in 0..8 {
        let u: [f64; 3] = std::array::from_fn(|a| {
            let sign = if corner >> a & 1 == 1 { 1.0 } else { -1.0 };
            sign * widths[a]
        });
        radius2 = radius2.max(quadratic(&gram, &u));
    }
    let far2 = (cutoff * (1.0 + MARGIN) + radius2.sqrt()).powi(2);
    let keep = |t: [usize; 3]| -> bool {
        if !prune {
            return true;
        }
        let k: [f64; 3] = std::array::from_fn(|a| t[a] as f64 - reach[a] as f64);
        let centre: [f64; 3] = std::array::from_fn(|a| k[a] * widths[a]);
        let centre2 = quadratic(&gram, &centre);
        if centre2 <= limit2 {
            return true;
        }
        if centre2 > far2 {
            return false;
        }
        let low = std::array::from_fn(|a| (k[a] - 1.0) * widths[a]);
        let high = std::array::from_fn(|a| (k[a] + 1.0) * widths[a]);
        min_norm2_in_box(&gram, low, high) <= limit2
    };
    let mut rows = Vec::new();
    for ta in 0..=2 * reach[0] {
        for tb in 0..=2 * reach[1] {
            let Some(c_low) = (0..=2 * reach[2]).find(|&tc| keep([ta, tb, tc])) else {
                continue;
            };
            let c_high = (c_low..=2 * reach[2])
                .rev()
                .find(|&tc| keep([ta, tb, tc]))
                .unwrap_or(c_low);
            rows.push(Row {
                ab: [ta, tb],
                c_low,
                c_high,
            });
        }
    }
    rows
}

/// uᵀ G u.
fn quadratic(gram: &[[f64; 3]; 3], u: &[f64; 3]) -> f64 {
    (0..3)
        .map(|a| (0..3).map(|b| u[a] * gram[a][b] * u[b]).sum::<f64>())
        .sum()
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// min uᵀ G u over the box low ≤ u ≤ high, for a positive-definite Gram
/// matrix G: |x|² of the closest point of the parallelepiped to the origin.
///
/// The minimum of a convex quadratic over a box is the unconstrained
/// minimum over the free coordinates for some choice of which coordinates
/// sit at a bound; all 27 choices are tried and the feasible ones compared.
/// Candidates slightly outside the box are accepted, which can only lower
/// the result.
fn min_norm2_in_box(gram: &[[f64; 3]; 3], low: [f64; 3], high: [f64; 3]) -> f64 {
    let mut best = f64::INFINITY;
    for pattern in 0..27 {
        // 0: coordinate free, 1: at its low bound, 2: at its high bound.
        let state: [usize; 3] = [pattern % 3, pattern / 3 % 3, pattern / 9];
        // A flat range is covered by its bound patterns.
        if (0..3).any(|a| state[a] == 0 && low[a] >= high[a]) {
            continue;
        }
        let mut u = [0.0; 3];
        let mut free = [0usize; 3];
        let mut n_free = 0;
        for a in 0..3 {
            match state[a] {
                0 => {
                    free[n_free] = a;
                    n_free += 1;
                }
                1 => u[a] = low[a],
                _ => u[a] = high[a],
            }
        }
        // G_FF u_F = -G_FX u_X, with u_F = 0 in the right-hand side.
        let rhs = |f: usize| -> f64 { -(0..3).map(|b| gram[f][b] * u[b]).sum::<f64>() };
        match n_free {
            0 => {}
            1 => {
                let f = free[0];
                u[f] = rhs(f) / gram[f][f];
            }
            2 => {
                let (f, g) = (free[0], free[1]);
                let (rf, rg) = (rhs(f), rhs(g));
                let det = gram[f][f] * gram[g][g] - gram[f][g] * gram[g][f];
                // Positive for a valid cell; anything else (NaN) is skipped.
                if det.is_nan() || det <= 0.0 {
                    continue;
                }
                u[f] = (rf * gram[g][g] - gram[f][g] * rg) / det;
                u[g] = (gram[f][f] * rg - gram[g][f] * rf) / det;
            }
            _ => {} // All free: the minimiser is u = 0.
        }
        let feasible = (0..3).all(|a| {
            let tolerance = 1e-9 * (high[a] - low[a]).max(low[a].abs()).max(high[a].abs());
            u[a] >= low[a] - tolerance && u[a] <= high[a] + tolerance
        });
        if feasible {
            best = best.min(quadratic(gram, &u));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense sampling of the box bounds the exact minimum from above.
    #[test]
    fn box_minimum_matches_sampling() {
        let basis = [[3.0, 0.0, 0.0], [2.6, 1.1, 0.0], [1.9, 1.4, 0.7]];
        let gram: [[f64; 3]; 3] =
            std::array::from_fn(|a| std::array::from_fn(|b| dot(&basis[a], &basis[b])));
        let boxes = [
            ([1.0, -2.0, 0.5], [2.0, -1.0, 1.5]),
            ([-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]),
            ([0.5, 0.5, -3.0], [1.5, 1.5, -2.0]),
            ([2.0, 0.0, 0.0], [3.0, 0.0, 0.0]),
        ];
        for (low, high) in boxes {
            let exact = min_norm2_in_box(&gram, low, high);
            let steps = 40;
            let mut sampled = f64::INFINITY;
            for i in 0..=steps {
                for j in 0..=steps {
                    for k in 0..=steps {
                        let u: [f64; 3] = std::array::from_fn(|a| {
                            let s = [i, j, k][a] as f64 / steps as f64;
                            low[a] + s * (high[a] - low[a])
                        });
                        let x: [f64; 3] = std::array::from_fn(|c| {
                            (0..3).map(|a| u[a] * basis[a][c]).sum::<f64>()
                        });
                        sampled = sampled.min(dot(&x, &x));
                    }
                }
            }
            assert!(exact <= sampled + 1e-12, "{exact} > {sampled}");
            assert!(
                exact > sampled - 0.05 * sampled.max(1.0),
                "{exact} vs {sampled}"
            );
        }
    }

    fn gram_of(basis: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
        std::array::from_fn(|a| std::array::from_fn(|b| dot(&basis[a], &basis[b])))
    }

    /// min uᵀ G u over the box by cyclic coordinate descent, an independent
    /// (slow) method: every iterate is in the box, so the result is an
    /// upper bound that converges to the minimum.
    fn descent_min(gram: &[[f64; 3]; 3], low: [f64; 3], high: [f64; 3]) -> f64 {
        let mut u: [f64; 3] = std::array::from_fn(|a| 0.5 * (low[a] + high[a]));
        for _ in 0..20_000 {
            let before = u;
            for a in 0..3 {
                let rest: f64 = (0..3).filter(|&b| b != a).map(|b| gram[a][b] * u[b]).sum();
                u[a] = (-rest / gram[a][a]).clamp(low[a], high[a]);
            }
            if u == before {
                break;
            }
        }
        quadratic(gram, &u)
    }

    /// Every offset whose box comes closer than the cutoff is kept, and
    /// offsets are pruned at all on sheared cells with fine bins.
    #[test]
    fn pruned_offsets_are_out_of_range() {
        // (basis, cutoff): a few thousand offsets each.
        let cases = [
            ([[3.0, 0.0, 0.0], [2.6, 1.1, 0.0], [1.9, 1.4, 0.7]], 2.0),
            ([[2.9, 0.0, 0.0], [0.7, 2.8, 0.0], [0.4, 0.6, 3.1]], 6.0),
            ([[9.0, 0.0, 0.0], [-4.0, 8.0, 0.0], [3.0, -2.0, 7.0]], 12.0),
        ];
        let mut pruned = 0;
        for (basis, cutoff) in &cases {
            let cutoff = *cutoff;
            let gram = gram_of(basis);
            let inverse = super::super::inverse3(basis);
            for bins in [1usize, 2, 3] {
                let widths = [1.0 / bins as f64; 3];
                let reach: [usize; 3] = std::array::from_fn(|a| {
                    let reciprocal = [inverse[0][a], inverse[1][a], inverse[2][a]];
                    let height = 1.0 / dot(&reciprocal, &reciprocal).sqrt();
                    (cutoff * bins as f64 / height).ceil() as usize
                });
                let rows = stencil(basis, widths, reach, cutoff, true);
                let kept = |t: [usize; 3]| {
                    rows.iter()
                        .any(|r| r.ab == [t[0], t[1]] && (r.c_low..=r.c_high).contains(&t[2]))
                };
                for ta in 0..=2 * reach[0] {
                    for tb in 0..=2 * reach[1] {
                        for tc in 0..=2 * reach[2] {
                            let t = [ta, tb, tc];
                            let k: [f64; 3] =
                                std::array::from_fn(|a| t[a] as f64 - reach[a] as f64);
                            let low = std::array::from_fn(|a| (k[a] - 1.0) * widths[a]);
                            let high = std::array::from_fn(|a| (k[a] + 1.0) * widths[a]);
                            let closest = descent_min(&gram, low, high).sqrt();
                            if kept(t) {
                                assert!(closest < cutoff * 1.001, "{t:?} kept at {closest}");
                            } else {
                                assert!(closest > cutoff, "{t:?} pruned at {closest}");
                                pruned += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(pruned > 100, "only {pruned} offsets pruned");
    }
}
