//! Periodic neighbour lists for triclinic cells of any shape and size.
//!
//! For every atom i the list holds each neighbour j (j may equal i in
//! another image) with the vector r_ij = r_j + shift - r_i, |r_ij| < cutoff
//! (strictly), where shift is an integer combination of the periodic lattice
//! vectors. Cells thinner than the cutoff are handled by visiting as many
//! images as the cell's perpendicular heights require, so a 2-atom cell with
//! an 8 Å cutoff sees all of its hundreds of images.
//!
//! [`NeighborList::build`] bins atoms in fractional coordinates (a cell list,
//! `cell_list.rs`, visiting the bin offsets `stencil.rs` keeps) and costs
//! O(N) for large cells; [`brute_force`] (`reference.rs`) checks every pair
//! and every image and is kept as the reference the tests compare against.

mod cell_list;
mod reference;
mod stencil;

pub use reference::brute_force;

use crate::error::{Error, Result};
use crate::structure::{Structure, det3, norm};

/// Atoms closer than this (Å) are rejected as unphysical input.
pub const MIN_DISTANCE: f64 = 0.1;

/// Most periodic images (product over periodic axes of the images visited
/// along each) a build accepts before declaring the cell too thin.
const MAX_IMAGES: f64 = 2.0e6;

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
    /// A list with no pairs yet, for builders to fill atom by atom
    /// (`start` holds the leading 0).
    fn empty(cutoff: f64, n_atoms: usize) -> Self {
        let mut start = Vec::with_capacity(n_atoms + 1);
        start.push(0);
        NeighborList {
            cutoff,
            start,
            index: Vec::new(),
            vector: Vec::new(),
        }
    }

    /// Builds the list of all pairs closer than `cutoff` (Å) with a cell
    /// list: O(N) for large cells, exact for any triclinic cell, any
    /// periodicity and positions outside the cell. The neighbours of each
    /// atom come in a deterministic order (not sorted by distance).
    ///
    /// Errors when `cutoff` is not a finite positive number, when two atoms
    /// are closer than [`MIN_DISTANCE`], when a periodic structure has no
    /// cell or a flat one, or when the cell would need an unreasonable
    /// number of images.
    pub fn build(s: &Structure, cutoff: f64) -> Result<Self> {
        cell_list::build(s, cutoff)
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

/// Rejects cutoffs that are not finite and positive.
fn check_cutoff(cutoff: f64) -> Result<()> {
    if cutoff.is_finite() && cutoff > 0.0 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "neighbour-list cutoff must be a finite positive number of Å, got {cutoff}"
        )))
    }
}

/// The error for two atoms closer than [`MIN_DISTANCE`].
fn too_close(s: &Structure, i: usize, j: usize, r2: f64) -> Error {
    s.error(format!(
        "atoms {i} and {j} are {:.4} Å apart (closer than {MIN_DISTANCE} Å)",
        r2.sqrt()
    ))
}

/// The error for a cell whose images would be too many to visit.
fn too_thin(s: &Structure, cutoff: f64, images: f64) -> Error {
    s.error(format!(
        "cell is too thin for cutoff {cutoff} Å: {images:.3e} periodic images would be needed"
    ))
}

/// Inverse of a 3x3 matrix given as rows.
fn inverse3(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let d = det3(m);
    let mut inv = [[0.0; 3]; 3];
    for (i, row) in inv.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            let (a, b) = ((j + 1) % 3, (j + 2) % 3);
            let (c, e) = ((i + 1) % 3, (i + 2) % 3);
            *x = (m[a][c] * m[b][e] - m[a][e] * m[b][c]) / d;
        }
    }
    inv
}

/// The lattice the atoms are described in: the cell when some axis is
/// periodic, Cartesian axes for a free cluster (whose cell, if any, is
/// irrelevant and may be flat).
struct Frame {
    /// Basis vectors as rows (the cell, or the identity), Å.
    basis: [[f64; 3]; 3],
    /// Inverse of `basis`: fractional = Cartesian · inverse.
    inverse: [[f64; 3]; 3],
    /// |det(basis)|, Å³.
    volume: f64,
    /// Distance between the two faces of the basis cell normal to each
    /// axis (volume / area of the face spanned by the other two), Å.
    heights: [f64; 3],
    /// Periodicity along each axis.
    periodic: [bool; 3],
}

impl Frame {
    /// The frame of `s`; errors on a periodic structure without a usable cell.
    fn new(s: &Structure) -> Result<Self> {
        let periodic = s.pbc;
        let basis = if periodic.iter().any(|&p| p) {
            let Some(cell) = s.cell else {
                return Err(s.error("periodic structure without a cell (Lattice)"));
            };
            if cell.iter().flatten().any(|x| !x.is_finite()) {
                return Err(s.error("cell has a non-finite component"));
            }
            let volume = det3(&cell).abs();
            let scale = cell.iter().map(norm).product::<f64>();
            if volume.is_nan() || volume <= 1e-8 * scale {
                return Err(s.error(format!(
                    "cell has zero volume ({volume:.3e} Å³) but the structure is periodic"
                )));
            }
            cell
        } else {
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        };
        let inverse = inverse3(&basis);
        // Row a of the basis has fractional height 1 along axis a; the
        // reciprocal vector (column a of the inverse) has length 1 / height.
        let heights =
            std::array::from_fn(|a| 1.0 / norm(&[inverse[0][a], inverse[1][a], inverse[2][a]]));
        Ok(Frame {
            basis,
            inverse,
            volume: det3(&basis).abs(),
            heights,
            periodic,
        })
    }

    /// Fractional coordinates of a Cartesian point.
    fn fractional(&self, p: &[f64; 3]) -> [f64; 3] {
        let m = &self.inverse;
        std::array::from_fn(|a| p[0] * m[0][a] + p[1] * m[1][a] + p[2] * m[2][a])
    }
}
