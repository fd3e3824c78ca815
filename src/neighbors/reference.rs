//! The brute-force reference: every pair of atoms, every image within reach.

use super::{MIN_DISTANCE, NeighborList, check_cutoff, inverse3, too_close, too_thin};
use crate::error::Result;
use crate::structure::{Structure, det3};

/// Reference implementation: every pair, every image within reach.
/// O(N² · images); the tests compare [`NeighborList::build`] against it.
pub fn brute_force(s: &Structure, cutoff: f64) -> Result<NeighborList> {
    check_cutoff(cutoff)?;
    let n = s.n_atoms();
    let (cell, images) = match s.cell {
        Some(c) => {
            let vol = det3(&c).abs();
            let mut images = [0i64; 3];
            for d in 0..3 {
                if s.pbc[d] {
                    let a = c[(d + 1) % 3];
                    let b = c[(d + 2) % 3];
                    let cross = [
                        a[1] * b[2] - a[2] * b[1],
                        a[2] * b[0] - a[0] * b[2],
                        a[0] * b[1] - a[1] * b[0],
                    ];
                    let height = vol / crate::structure::norm(&cross);
                    // +1: differences are wrapped to [-0.5, 0.5] of a cell.
                    images[d] = (cutoff / height).ceil() as i64 + 1;
                }
            }
            let count: i64 = images.iter().map(|k| 2 * k + 1).product();
            if count > 2_000_000 {
                return Err(too_thin(s, cutoff, count as f64));
            }
            (c, images)
        }
        None => ([[0.0; 3]; 3], [0; 3]),
    };
    let inv = if s.cell.is_some() && s.pbc.iter().any(|&p| p) {
        Some(inverse3(&cell))
    } else {
        None
    };
    let cut2 = cutoff * cutoff;
    let mut list = NeighborList::empty(cutoff, n);
    for i in 0..n {
        for j in 0..n {
            let mut d: [f64; 3] = std::array::from_fn(|k| s.positions[j][k] - s.positions[i][k]);
            // Wrap the difference into the cell around zero along periodic axes.
            if let Some(inv) = &inv {
                let mut f = [0.0; 3];
                for a in 0..3 {
                    f[a] = (0..3).map(|k| d[k] * inv[k][a]).sum();
                }
                for a in 0..3 {
                    if s.pbc[a] {
                        let shift = f[a].round();
                        for k in 0..3 {
                            d[k] -= shift * cell[a][k];
                        }
                    }
                }
            }
            for na in -images[0]..=images[0] {
                for nb in -images[1]..=images[1] {
                    for nc in -images[2]..=images[2] {
                        if i == j && na == 0 && nb == 0 && nc == 0 {
                            continue;
                        }
                        let mut r = d;
                        for k in 0..3 {
                            r[k] += na as f64 * cell[0][k]
                                + nb as f64 * cell[1][k]
                                + nc as f64 * cell[2][k];
                        }
                        let r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
                        if r2 < cut2 {
                            if r2 < MIN_DISTANCE * MIN_DISTANCE {
                                return Err(too_close(s, i, j, r2));
                            }
                            list.index.push(j as u32);
                            list.vector.push(r);
                        }
                    }
                }
            }
        }
        list.start.push(list.index.len());
    }
    Ok(list)
}
