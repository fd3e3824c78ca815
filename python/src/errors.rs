//! forcefit's errors as Python exceptions, and the guard that keeps a
//! panic from unwinding into the interpreter (undefined behaviour across
//! the C boundary; pyo3 would turn it into a `PanicException` that
//! `except Exception` does not catch).

use forcefit::Error;
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

create_exception!(
    forcefit,
    InputError,
    PyValueError,
    "Bad input (a file, a structure, a configuration key): the message says where and what."
);

/// The Python exception of a library error: `OSError` when the operating
/// system refused a file, `InputError` for everything the user can fix in
/// their input. The message is the library's, which names the file and
/// line (or the key).
pub fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Io { error, .. } => match error.raw_os_error() {
            Some(code) => PyOSError::new_err((code, message)),
            None => PyOSError::new_err(message),
        },
        _ => InputError::new_err(message),
    }
}

/// An `InputError` with this message.
pub fn input(message: impl Into<String>) -> PyErr {
    InputError::new_err(message.into())
}

/// Runs `f`, turning a library error into its exception and a panic into
/// a `RuntimeError` (a forcefit bug, never the user's input).
pub fn guarded<T>(f: impl FnOnce() -> forcefit::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(to_py),
        Err(panic) => Err(panic_error(panic.as_ref())),
    }
}

/// The exception for a caught panic, with the panic's message.
pub fn panic_error(panic: &(dyn std::any::Any + Send)) -> PyErr {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    PyRuntimeError::new_err(format!(
        "internal error in forcefit (please report it): {what}"
    ))
}
