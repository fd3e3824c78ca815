//! Periodic neighbour lists for triclinic cells of any shape and size.
//!
//! For every atom i the list holds each neighbour j (j may equal i in
//! another image) with the vector r_ij = r_j + shift - r_i, |r_ij| < cutoff.
//! Cells thinner than the cutoff are handled by looping over as many images
//! as the cell's perpendicular heights require, so a 2-atom cell with an
//! 8 Å cutoff sees all of its hundreds of images.

use crate::error::Result;
use crate::structure::{Structure, det3};

/// Atoms closer than this (Å) are rejected as unphysical input.
pub const MIN_DISTANCE: f64 = 0.1;

/// Compressed neighbour list: the neighbours of atom i are
/// `index[start[i]..start[i + 1]]` with vectors `vector[..]` (Å).
#[derive(Clone, Debug, Default)]
pub struct NeighborList {
    cutoff: f64,
    start: Vec<usize>,
    /// Neighbour atom index j of each pair.
    pub index: Vec<u32>,
    /// r_ij = r_j + shift - r_i of each pair, Å.
    pub vector: Vec<[f64; 3]>,
}

impl NeighborList {
    /// Builds the list of all pairs closer than `cutoff`.
    ///
    /// Errors when two atoms are closer than [`MIN_DISTANCE`], or when the
    /// cell would need an unreasonable number of images.
    pub fn build(s: &Structure, cutoff: f64) -> Result<Self> {
        brute_force(s, cutoff)
    }

    /// The cutoff radius the list was built with, Å.
    pub fn cutoff(&self) -> f64 {
        self.cutoff
    }

    /// Number of atoms.
    pub fn n_atoms(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Total number of (i, j) pairs.
    pub fn n_pairs(&self) -> usize {
        self.index.len()
    }

    /// Range of atom i's pairs in `index` and `vector`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.start[i]..self.start[i + 1]
    }

    /// Neighbour indices and vectors of atom i.
    pub fn of(&self, i: usize) -> (&[u32], &[[f64; 3]]) {
        let r = self.range(i);
        (&self.index[r.clone()], &self.vector[r])
    }
}

/// Inverse of a 3x3 matrix given as rows.
#[allow(clippy::needless_range_loop)]
fn inverse3(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let d = det3(m);
    let mut inv = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let (a, b) = ((j + 1) % 3, (j + 2) % 3);
            let (c, e) = ((i + 1) % 3, (i + 2) % 3);
            inv[i][j] = (m[a][c] * m[b][e] - m[a][e] * m[b][c]) / d;
        }
    }
    inv
}

/// Reference implementation: every pair, every image within reach.
/// O(N² · images); the tests compare faster builds against it.
#[allow(clippy::needless_range_loop)]
pub fn brute_force(s: &Structure, cutoff: f64) -> Result<NeighborList> {
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
                return Err(s.error(format!(
                    "cell is too thin for cutoff {cutoff} Å: {count} periodic images would be needed"
                )));
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
    let mut list = NeighborList {
        cutoff,
        start: Vec::with_capacity(n + 1),
        index: Vec::new(),
        vector: Vec::new(),
    };
    list.start.push(0);
    for i in 0..n {
        for j in 0..n {
            let mut d = [0.0; 3];
            for k in 0..3 {
                d[k] = s.positions[j][k] - s.positions[i][k];
            }
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
                                return Err(s.error(format!(
                                    "atoms {i} and {j} are {:.4} Å apart (closer than {MIN_DISTANCE} Å)",
                                    r2.sqrt()
                                )));
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
