//! The library's error type: every error says where it happened (file,
//! line or frame) and what was expected, so that `main` can print it as is.

use std::path::PathBuf;

/// Errors of the forcefit library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said. (Not named `source`: the
        /// message already contains it, and `main` prints error chains.)
        error: std::io::Error,
    },
    /// A text file has a malformed line.
    #[error("{path}:{line}: {msg}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong and what was expected.
        msg: String,
    },
    /// A structure (frame) is inconsistent or unusable.
    #[error("{origin}: {msg}")]
    Structure {
        /// Where the structure came from (file and frame).
        origin: String,
        /// What was wrong.
        msg: String,
    },
    /// A file is wrong as a whole (missing parts, mismatched shapes).
    #[error("{path}: {msg}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// Invalid input not tied to a file (options, arguments).
    #[error("{0}")]
    Invalid(String),
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A parse error at `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }

    /// An error about a whole file or directory.
    pub fn file(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            msg: msg.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error: source,
        }
    }
}
