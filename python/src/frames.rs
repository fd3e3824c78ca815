//! Labelled structures from Python (ASE Atoms with DFT results) written as
//! extended XYZ by forcefit's own writer, so that the training reads them
//! back bit for bit (shortest round-trip numbers, the virial as is).

use crate::errors::{guarded, input};
use crate::structure::from_arrays;
use forcefit::structure::Structure;
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use std::path::PathBuf;

/// One frame: species, positions, cell, pbc, then the labels energy (eV),
/// forces (n×3, eV/Å) and virial (9 values row-major, eV, W = −σV).
type Frame<'py> = (
    Vec<String>,
    PyReadonlyArray2<'py, f64>,
    Option<PyReadonlyArray2<'py, f64>>,
    [bool; 3],
    Option<f64>,
    Option<PyReadonlyArray2<'py, f64>>,
    Option<PyReadonlyArray1<'py, f64>>,
);

/// Writes `frames` to `path` (replacing it). Errors name the frame.
#[pyfunction]
pub fn write_xyz(py: Python<'_>, path: PathBuf, frames: Vec<Frame<'_>>) -> PyResult<()> {
    let mut structures = Vec::with_capacity(frames.len());
    for (k, (species, positions, cell, pbc, energy, forces, virial)) in
        frames.into_iter().enumerate()
    {
        let framed = |e: PyErr| input(format!("structure {k}: {}", e.value(py)));
        let mut s: Structure = from_arrays(species, positions, cell, pbc).map_err(framed)?;
        s.labels.energy = energy;
        if let Some(f) = forces {
            let f = f.as_array();
            if f.shape() != [s.n_atoms(), 3] {
                return Err(input(format!(
                    "structure {k}: forces must have shape ({}, 3), got {:?}",
                    s.n_atoms(),
                    f.shape()
                )));
            }
            s.labels.forces = Some(f.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect());
        }
        if let Some(w) = virial {
            let w = w.as_array();
            if w.len() != 9 {
                return Err(input(format!(
                    "structure {k}: the virial must have 9 values, got {}",
                    w.len()
                )));
            }
            s.labels.virial = Some(std::array::from_fn(|i| w[i]));
        }
        s.origin.frame = k;
        s.validate().map_err(|e| input(e.to_string()))?;
        structures.push(s);
    }
    py.detach(|| guarded(|| forcefit::io::extxyz::write(&path, &structures)))
}
