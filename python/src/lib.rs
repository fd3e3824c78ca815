//! `forcefit._native`: the forcefit library seen from Python. It holds no
//! logic of its own: it converts numpy arrays to [`forcefit::structure::Structure`]
//! and back, releases the GIL around the library's calls, and turns the
//! library's errors (and any panic) into Python exceptions. The public
//! Python API (`forcefit.Calculator`, `Committee`, `train`) is the pure
//! Python package `python/forcefit/` built over this module.

mod committee;
mod errors;
mod frames;
mod model;
mod structure;
mod training;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<errors::InputError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<model::NativeModel>()?;
    m.add_class::<committee::NativeCommittee>()?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    m.add_function(wrap_pyfunction!(training::json_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(frames::write_xyz, m)?)?;
    Ok(())
}
