//! Farthest-point sampling: a diverse subset of points (here, structures
//! as the mean of their atoms' descriptors), as calorine's
//! `select_structures` and PyNEP's `FarthestPointSample` do it.
//!
//! Points already selected (the training set) count as chosen from the
//! start; each step then picks the point whose Euclidean distance to its
//! nearest chosen point is largest. Ties go to the lowest index, so the
//! result is deterministic.

/// Picks up to `n` indices into `points`, in the order picked. `start`
/// holds the points already selected; when it is empty the first pick is
/// `first` (and then the farthest from it, and so on).
pub fn farthest_points(
    points: &[Vec<f64>],
    start: &[Vec<f64>],
    first: usize,
    n: usize,
) -> Vec<usize> {
    let n = n.min(points.len());
    let mut picked = Vec::with_capacity(n);
    if n == 0 {
        return picked;
    }
    // Distance of every point to its nearest chosen point.
    let mut nearest: Vec<f64> = points
        .iter()
        .map(|p| {
            start
                .iter()
                .map(|s| distance(p, s))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let mut taken = vec![false; points.len()];
    while picked.len() < n {
        let next = if start.is_empty() && picked.is_empty() {
            first.min(points.len() - 1)
        } else {
            farthest(&nearest, &taken)
        };
        picked.push(next);
        taken[next] = true;
        for (d, p) in nearest.iter_mut().zip(points) {
            *d = d.min(distance(p, &points[next]));
        }
    }
    picked
}

/// The untaken index with the largest distance (lowest index on ties).
fn farthest(nearest: &[f64], taken: &[bool]) -> usize {
    let mut best: Option<usize> = None;
    for (i, &d) in nearest.iter().enumerate() {
        if taken[i] {
            continue;
        }
        if best.is_none_or(|b| d > nearest[b]) {
            best = Some(i);
        }
    }
    best.unwrap_or(0)
}

/// Euclidean distance.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_from_the_first_then_farthest() {
        let p: Vec<Vec<f64>> = [0.0, 1.0, 10.0, 4.0, 6.0]
            .iter()
            .map(|&x| vec![x])
            .collect();
        assert_eq!(farthest_points(&p, &[], 0, 5), vec![0, 2, 3, 4, 1]);
        assert_eq!(farthest_points(&p, &[], 0, 2), vec![0, 2]);
        // Ties go to the lower index: 4 before 6 (both 4 from 0 and 10).
        let start = vec![vec![0.0], vec![10.0]];
        assert_eq!(farthest_points(&p, &start, 3, 3), vec![3, 4, 1]);
    }
}
