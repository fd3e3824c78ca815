//! A committee: every member's prediction of one structure and their
//! model deviation, with deepmd-kit's definitions as `forcefit deviation`
//! computes them ([`forcefit::active::deviation`]).

use crate::errors::guarded;
use crate::model::{self, Threads};
use crate::structure::{self, PredictionArrays};
use forcefit::active::deviation::{self, Options};
use forcefit::active::{Committee, Member};
use forcefit::model::Prediction;
use numpy::{PyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;
use std::path::PathBuf;

/// Two or more models of the same elements.
#[pyclass(module = "forcefit._native", frozen)]
pub struct NativeCommittee {
    committee: Committee,
    threads: Threads,
}

#[pymethods]
impl NativeCommittee {
    /// `models`: each entry the file(s) of one member.
    #[new]
    #[pyo3(signature = (models, threads = None))]
    fn new(py: Python<'_>, models: Vec<Vec<PathBuf>>, threads: Option<usize>) -> PyResult<Self> {
        let threads = Threads::new(threads)?;
        let mut members = Vec::with_capacity(models.len());
        for paths in &models {
            let name = paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(",");
            members.push(Member {
                name,
                model: model::load(py, paths)?,
            });
        }
        let committee = guarded(|| Committee::new(members))?;
        Ok(NativeCommittee { committee, threads })
    }

    /// Members.
    fn __len__(&self) -> usize {
        self.committee.members().len()
    }

    /// The elements of the first member, in its type order.
    #[getter]
    fn species(&self) -> Vec<String> {
        use forcefit::model::Model;
        self.committee.members()[0].model.species().to_vec()
    }

    /// Every member's (energy, per-atom energies, forces, virial), and the
    /// deviation as a dict: `max_devi_v`, `min_devi_v`, `avg_devi_v`,
    /// `max_devi_f`, `min_devi_f`, `avg_devi_f`, `devi_e` and the per-atom
    /// `force_deviation` (relative to |⟨F_i⟩| + `relative` when given).
    #[pyo3(signature = (species, positions, cell, pbc, relative = None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        species: Vec<String>,
        positions: PyReadonlyArray2<'_, f64>,
        cell: Option<PyReadonlyArray2<'_, f64>>,
        pbc: [bool; 3],
        relative: Option<f64>,
    ) -> PyResult<(Vec<PredictionArrays<'py>>, Bound<'py, PyDict>)> {
        let s = structure::from_arrays(species, positions, cell, pbc)?;
        let n = s.n_atoms();
        let members = self.committee.members();
        let (preds, dev) = py.detach(|| {
            guarded(|| {
                self.threads.run(|| {
                    // Members in parallel: a small MD cell alone leaves
                    // threads idle.
                    let preds = members
                        .par_iter()
                        .map(|m| model::predict(&m.model, s.clone()))
                        .collect::<forcefit::Result<Vec<Prediction>>>()?;
                    let refs: Vec<&Prediction> = preds.iter().collect();
                    let options = Options {
                        relative,
                        relative_v: None,
                        atomic: true,
                    };
                    let dev = deviation::frame(&refs, n, &options);
                    Ok((preds, dev))
                })
            })
        })?;
        let out = PyDict::new(py);
        for (key, value) in [
            ("max_devi_v", dev.max_devi_v),
            ("min_devi_v", dev.min_devi_v),
            ("avg_devi_v", dev.avg_devi_v),
            ("max_devi_f", dev.max_devi_f),
            ("min_devi_f", dev.min_devi_f),
            ("avg_devi_f", dev.avg_devi_f),
            ("devi_e", dev.devi_e),
        ] {
            out.set_item(key, value)?;
        }
        out.set_item("force_deviation", PyArray1::from_vec(py, dev.atomic_f))?;
        let arrays = preds
            .into_iter()
            .map(|p| structure::to_arrays(py, p))
            .collect::<PyResult<Vec<_>>>()?;
        Ok((arrays, out))
    }
}
