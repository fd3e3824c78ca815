//! One atomic configuration with its optional DFT labels.
//!
//! Units: Å for lengths, eV for energies, eV/Å for forces; the virial W is
//! in eV with GPUMD's sign, W = -stress · volume, stored row-major 3x3.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;

/// The six independent virial components as GPUMD lists them (xx yy zz
/// xy yz zx): row-major indices into the 3x3 virial.
pub const VIRIAL_COMPONENTS: [usize; 6] = [0, 4, 8, 1, 5, 6];

/// Where a structure came from, for error messages: file, frame, line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Origin {
    /// The file (or directory, for DeePMD systems).
    pub path: PathBuf,
    /// 0-based frame index within the file.
    pub frame: usize,
    /// 1-based line where the frame starts (0 when not a text file).
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: frame {}", self.path.display(), self.frame)?;
        if self.line > 0 {
            write!(f, " (line {})", self.line)?;
        }
        Ok(())
    }
}

/// Reference values attached to a structure (all optional).
#[derive(Clone, Debug, PartialEq)]
pub struct Labels {
    /// Total energy, eV.
    pub energy: Option<f64>,
    /// Forces, eV/Å, one per atom.
    pub forces: Option<Vec<[f64; 3]>>,
    /// Virial W = -stress · volume, eV, row-major 3x3.
    pub virial: Option<[f64; 9]>,
    /// Per-structure weight in the loss (default 1).
    pub weight: f64,
    /// Free-form group name (`config_type=` in extended XYZ).
    pub config_type: Option<String>,
}

impl Default for Labels {
    fn default() -> Self {
        Labels {
            energy: None,
            forces: None,
            virial: None,
            weight: 1.0,
            config_type: None,
        }
    }
}

/// An atomic configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Structure {
    /// Chemical symbol of each atom.
    pub species: Vec<String>,
    /// Cartesian positions, Å.
    pub positions: Vec<[f64; 3]>,
    /// Lattice vectors as rows (a, b, c), Å; `None` for a free cluster.
    pub cell: Option<[[f64; 3]; 3]>,
    /// Periodicity along a, b, c.
    pub pbc: [bool; 3],
    /// DFT labels.
    pub labels: Labels,
    /// Where it was read from.
    pub origin: Origin,
}

impl Structure {
    /// Number of atoms.
    pub fn n_atoms(&self) -> usize {
        self.positions.len()
    }

    /// Cell volume in Å³ (absolute value of the determinant), if there is a cell.
    pub fn volume(&self) -> Option<f64> {
        self.cell.map(|c| det3(&c).abs())
    }

    /// An error about this structure, tagged with its origin.
    pub fn error(&self, msg: impl Into<String>) -> Error {
        Error::Structure {
            origin: self.origin.to_string(),
            msg: msg.into(),
        }
    }

    /// Checks the invariants every reader must guarantee: consistent
    /// lengths, finite numbers, a cell with volume where a direction is
    /// periodic. Readers call this before returning a structure.
    pub fn validate(&self) -> Result<()> {
        let n = self.n_atoms();
        if n == 0 {
            return Err(self.error("structure has no atoms"));
        }
        if self.species.len() != n {
            return Err(self.error(format!(
                "{} species for {} positions",
                self.species.len(),
                n
            )));
        }
        for (i, p) in self.positions.iter().enumerate() {
            if p.iter().any(|x| !x.is_finite()) {
                return Err(self.error(format!("atom {i}: position is not finite: {p:?}")));
            }
        }
        match &self.cell {
            Some(c) => {
                if c.iter().flatten().any(|x| !x.is_finite()) {
                    return Err(self.error("cell has a non-finite component"));
                }
                let v = det3(c).abs();
                let scale = c.iter().map(norm).product::<f64>();
                let flat = v.is_nan() || v <= 1e-8 * scale.max(1e-300);
                if flat && self.pbc.iter().any(|&p| p) {
                    return Err(self.error(format!(
                        "cell has zero volume ({v:.3e} Å³) but the structure is periodic"
                    )));
                }
            }
            None => {
                if self.pbc.iter().any(|&p| p) {
                    return Err(self.error("periodic structure without a cell (Lattice)"));
                }
            }
        }
        let l = &self.labels;
        if let Some(e) = l.energy
            && !e.is_finite()
        {
            return Err(self.error(format!("energy label is not finite: {e}")));
        }
        if let Some(f) = &l.forces {
            if f.len() != n {
                return Err(self.error(format!("{} force rows for {} atoms", f.len(), n)));
            }
            for (i, fi) in f.iter().enumerate() {
                if fi.iter().any(|x| !x.is_finite()) {
                    return Err(self.error(format!("atom {i}: force label is not finite: {fi:?}")));
                }
            }
        }
        if let Some(w) = &l.virial
            && w.iter().any(|x| !x.is_finite())
        {
            return Err(self.error(format!("virial label is not finite: {w:?}")));
        }
        if !l.weight.is_finite() || l.weight < 0.0 {
            return Err(self.error(format!(
                "weight must be a finite non-negative number, got {}",
                l.weight
            )));
        }
        Ok(())
    }
}

/// Determinant of a 3x3 matrix given as rows.
pub fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// Euclidean norm of a 3-vector.
pub fn norm(v: &[f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}
