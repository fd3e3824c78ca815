//! numpy arrays in, [`Structure`] out; [`Prediction`] in, numpy arrays out.

use crate::errors::{input, to_py};
use forcefit::model::Prediction;
use forcefit::structure::{Origin, Structure};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;
use std::path::PathBuf;

/// One structure as the Python side passes it: `positions` n×3 (Å),
/// `cell` 3×3 with the lattice vectors as rows or `None` for a cluster.
pub fn from_arrays(
    species: Vec<String>,
    positions: PyReadonlyArray2<'_, f64>,
    cell: Option<PyReadonlyArray2<'_, f64>>,
    pbc: [bool; 3],
) -> PyResult<Structure> {
    let positions = positions.as_array();
    if positions.ncols() != 3 {
        return Err(input(format!(
            "positions must have shape (n_atoms, 3), got {:?}",
            positions.shape()
        )));
    }
    let positions: Vec<[f64; 3]> = positions
        .rows()
        .into_iter()
        .map(|r| [r[0], r[1], r[2]])
        .collect();
    let cell = match cell {
        None => None,
        Some(c) => {
            let c = c.as_array();
            if c.shape() != [3, 3] {
                return Err(input(format!(
                    "cell must have shape (3, 3), got {:?}",
                    c.shape()
                )));
            }
            Some([0, 1, 2].map(|i| [c[[i, 0]], c[[i, 1]], c[[i, 2]]]))
        }
    };
    let structure = Structure {
        species,
        positions,
        cell,
        pbc,
        labels: Default::default(),
        origin: Origin {
            path: PathBuf::from("<atoms>"),
            ..Origin::default()
        },
    };
    structure.validate().map_err(to_py)?;
    Ok(structure)
}

/// (energy, per-atom energies (n), forces (n×3), virial (3×3, W = −σV)).
pub type PredictionArrays<'py> = (
    f64,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
);

/// The prediction as numpy arrays.
pub fn to_arrays<'py>(py: Python<'py>, p: Prediction) -> PyResult<PredictionArrays<'py>> {
    let n = p.forces.len();
    let forces: Vec<f64> = p.forces.into_iter().flatten().collect();
    Ok((
        p.energy,
        PyArray1::from_vec(py, p.atomic_energies),
        PyArray1::from_vec(py, forces).reshape([n, 3])?,
        PyArray1::from_vec(py, p.virial.to_vec()).reshape([3, 3])?,
    ))
}
