//! `fine_tune MODEL.txt [RESTART [flag]]`: start from a foundation model
//! (GPUMD's NEP89 or any nep.txt), reduced to the elements of `type`; in
//! forcefit terms `[model] init = MODEL.txt` (see `model::nep::reduce`).
//!
//! GPUMD reads the foundation model's parameters from RESTART (its SNES
//! state, means and spreads) and only the header and q_scaler from
//! MODEL.txt; forcefit's optimizers need no spreads, so the parameters come
//! from MODEL.txt and RESTART is ignored with a note. The flag (GPUMD's
//! `fine_tune_descriptor`, default 0) says whether SNES may change the
//! descriptor coefficients (1) or keeps them fixed (0, their spread set to
//! zero). forcefit trains every parameter: flag 1 is what it does; an
//! explicit 0 is refused, and without the flag a warning says so.

use super::NepInput;
use crate::dropin::gpumd::lines::Line;
use crate::error::{Error, Result};
use crate::model::nep::Nep;
use std::path::{Path, PathBuf};

/// The foundation model's path (relative to `dir`, where GPUMD runs), with
/// notes for stderr about what forcefit does differently.
pub(super) fn parse(
    line: &Line,
    path: &Path,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<PathBuf> {
    line.count(path, 1..=3)?;
    let here = format!("{}:{}", path.display(), line.number);
    if let Some(restart) = line.args.get(1) {
        warnings.push(format!(
            "{here}: fine_tune: `{restart}` (GPUMD's SNES restart file) is ignored: forcefit starts from the parameters in {} and needs no restart file",
            line.args[0]
        ));
    }
    match line.args.get(2) {
        None => warnings.push(format!(
            "{here}: fine_tune: GPUMD's default (descriptor flag 0) keeps the descriptor coefficients fixed; forcefit trains them with the networks (flag 1)"
        )),
        Some(&"1") => {}
        Some(&"0") => {
            return Err(line.error(
                path,
                "descriptor flag 0 keeps the descriptor coefficients fixed, and forcefit cannot hold parameters fixed: use 1 (train them too)",
            ));
        }
        Some(other) => {
            return Err(line.error(
                path,
                format!("the descriptor flag must be 0 or 1, got `{other}`"),
            ));
        }
    }
    Ok(dir.join(line.args[0]))
}

/// With `fine_tune`: the foundation model must exist, have every element
/// of `type`, and agree with every architecture keyword `nep.in` gives
/// (all disagreements are listed, at the line of the first).
pub(super) fn check(input: &NepInput) -> Result<()> {
    let Some(m) = input.config.model.as_nep() else {
        return Ok(());
    };
    let Some(model_path) = &m.init else {
        return Ok(());
    };
    let line = input.line_of("fine_tune").unwrap_or(0);
    if !model_path.is_file() {
        return Err(Error::parse(
            &input.path,
            line,
            format!(
                "fine_tune: {} not found (the foundation model)",
                model_path.display()
            ),
        ));
    }
    let nep = Nep::from_file(model_path)?;
    let hyper = nep.hyper();
    let species = m.species.as_deref().unwrap_or_default();
    if let Some(s) = species.iter().find(|s| !hyper.species.contains(s)) {
        return Err(Error::parse(
            &input.path,
            input.line_of("type").unwrap_or(0),
            format!(
                "type: {s} is not an element of the foundation model {} (it has {})",
                model_path.display(),
                hyper.species.join(" ")
            ),
        ));
    }
    let bad = m.disagreements(hyper, |k| input.line_of(k).is_some());
    if let Some((first, _, _)) = bad.iter().min_by_key(|(k, _, _)| input.line_of(k)) {
        let list: Vec<String> = bad
            .iter()
            .map(|(k, ours, theirs)| {
                format!(
                    "{k} {ours} (line {}) but the model has {theirs}",
                    input.line_of(k).unwrap_or(0)
                )
            })
            .collect();
        return Err(Error::parse(
            &input.path,
            input.line_of(first).unwrap_or(0),
            format!(
                "{first}: the architecture comes from the foundation model {} (fine_tune), which disagrees: {}; remove these keywords or make them agree",
                model_path.display(),
                list.join("; ")
            ),
        ));
    }
    Ok(())
}
