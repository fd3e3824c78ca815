//! A loaded model of any family and what Python asks of it: predictions
//! and descriptors of one structure, computed with the GIL released.

use crate::errors::{guarded, input};
use crate::structure::{self, PredictionArrays};
use forcefit::batch;
use forcefit::model::{self, AnyModel, Model, Prediction};
use forcefit::structure::Structure;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;
use std::path::PathBuf;

/// Where the work of a handle runs: its own rayon pool when the user gave
/// a thread count (so that two calculators with different counts do not
/// fight over rayon's global pool), else the global pool.
pub struct Threads(Option<rayon::ThreadPool>);

impl Threads {
    /// A pool of `n` threads, or the global pool for `None`.
    pub fn new(n: Option<usize>) -> PyResult<Self> {
        match n {
            None => Ok(Threads(None)),
            Some(0) => Err(input("threads must be at least 1")),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map(|p| Threads(Some(p)))
                .map_err(|e| input(format!("cannot start {n} threads: {e}"))),
        }
    }

    /// Runs `f` in this pool.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.0 {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

/// A model read from its file(s), recognised by content.
#[pyclass(module = "forcefit._native", frozen)]
pub struct NativeModel {
    pub model: AnyModel,
    pub threads: Threads,
    paths: Vec<PathBuf>,
}

/// Reads the model's files (aenet: one per element).
pub fn load(py: Python<'_>, paths: &[PathBuf]) -> PyResult<AnyModel> {
    py.detach(|| guarded(|| model::load_files(paths)))
}

/// Prepares `s` for `model` and predicts it, in parallel over atoms when
/// it is large ([`batch::predict_one`]).
pub fn predict(model: &AnyModel, s: Structure) -> forcefit::Result<Prediction> {
    let prepared = model.prepare(s)?;
    let mut out = Prediction::default();
    batch::predict_one(model, &prepared, &mut out);
    Ok(out)
}

#[pymethods]
impl NativeModel {
    #[new]
    #[pyo3(signature = (paths, threads = None))]
    fn new(py: Python<'_>, paths: Vec<PathBuf>, threads: Option<usize>) -> PyResult<Self> {
        let threads = Threads::new(threads)?;
        Ok(NativeModel {
            model: load(py, &paths)?,
            threads,
            paths,
        })
    }

    /// The elements the model knows, in its type order.
    #[getter]
    fn species(&self) -> Vec<String> {
        self.model.species().to_vec()
    }

    /// The largest cutoff, Å.
    #[getter]
    fn cutoff(&self) -> f64 {
        self.model.cutoff()
    }

    /// "nep", "deepmd" or "bp".
    #[getter]
    fn family(&self) -> &'static str {
        self.model.family()
    }

    /// The files the model was read from.
    #[getter]
    fn paths(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }

    /// Descriptor components per atom.
    #[getter]
    fn descriptor_dim(&self) -> usize {
        self.model.descriptor_dim()
    }

    /// (energy, per-atom energies, forces, virial) of one structure.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        species: Vec<String>,
        positions: PyReadonlyArray2<'_, f64>,
        cell: Option<PyReadonlyArray2<'_, f64>>,
        pbc: [bool; 3],
    ) -> PyResult<PredictionArrays<'py>> {
        let s = structure::from_arrays(species, positions, cell, pbc)?;
        let p = py.detach(|| guarded(|| self.threads.run(|| predict(&self.model, s))))?;
        structure::to_arrays(py, p)
    }

    /// The descriptors of every atom, n_atoms × descriptor_dim (the
    /// numbers `forcefit predict --descriptors` writes).
    fn descriptors<'py>(
        &self,
        py: Python<'py>,
        species: Vec<String>,
        positions: PyReadonlyArray2<'_, f64>,
        cell: Option<PyReadonlyArray2<'_, f64>>,
        pbc: [bool; 3],
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let s = structure::from_arrays(species, positions, cell, pbc)?;
        let n = s.n_atoms();
        let d = py.detach(|| {
            guarded(|| {
                self.threads.run(|| {
                    let prepared = self.model.prepare(s)?;
                    Ok(self.model.atom_descriptors(&prepared))
                })
            })
        })?;
        // A row per atom, as `forcefit predict --descriptors` writes them.
        let dim = self.model.descriptor_dim().max(1);
        let rows = d.len() / dim;
        debug_assert_eq!(rows, n);
        PyArray1::from_vec(py, d).reshape([rows, dim])
    }
}
