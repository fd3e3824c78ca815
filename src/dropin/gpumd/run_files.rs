//! The files beside a keyword file that GPUMD's `nep` and `gnep` read,
//! checked before anything is trained: `train.xyz` always, `test.xyz`
//! when present, `nep.txt` for `prediction 1`, and a `zbl.in` (the
//! flexible ZBL forcefit does not train) refused beside a `zbl` keyword.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// `DIR/train.xyz`, which must exist (`reader` names the peer program,
/// `file` its keyword file, in the message).
pub fn train_xyz(dir: &Path, reader: &str, file: &str) -> Result<PathBuf> {
    let train = dir.join("train.xyz");
    if !train.is_file() {
        return Err(Error::file(
            &train,
            format!(
                "not found: {reader} reads the training structures from train.xyz beside {file}"
            ),
        ));
    }
    Ok(train)
}

/// `DIR/test.xyz` when present.
pub fn test_xyz(dir: &Path) -> Option<PathBuf> {
    Some(dir.join("test.xyz")).filter(|p| p.is_file())
}

/// With `prediction 1`, `DIR/nep.txt` must exist; when training, a
/// `zbl.in` beside the `zbl` keyword of `path` (at `zbl_line`) is refused
/// (`what` says what the peer would make of it).
pub fn check_model_files(
    dir: &Path,
    path: &Path,
    prediction: bool,
    zbl_line: Option<usize>,
    what: &str,
) -> Result<()> {
    if prediction {
        let model = dir.join("nep.txt");
        if !model.is_file() {
            return Err(Error::file(
                &model,
                "not found: `prediction 1` evaluates this model",
            ));
        }
    } else if let Some(line) = zbl_line
        && dir.join("zbl.in").exists()
    {
        return Err(Error::parse(
            path,
            line,
            format!(
                "zbl: zbl.in is present, which makes {what}; forcefit trains the universal ZBL only (remove zbl.in)"
            ),
        ));
    }
    Ok(())
}
