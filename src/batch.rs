//! Running a model over many structures: preparation (species check and
//! neighbour lists) and prediction, in parallel over structures with rayon,
//! results in input order.

use crate::error::Result;
use crate::model::{Model, Prediction, Prepared};
use crate::structure::Structure;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

/// A progress bar on stderr for `len` items; hidden when stderr is not a
/// terminal or the job is small.
pub fn progress(len: usize, what: &str) -> ProgressBar {
    if len < 200 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let style =
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// Prepares every structure for `model`. The first error (in input order)
/// is returned, naming the structure's file and frame.
pub fn prepare_all(model: &dyn Model, structures: Vec<Structure>) -> Result<Vec<Prepared>> {
    let bar = progress(structures.len(), "neighbors");
    let out: Vec<Result<Prepared>> = structures
        .into_par_iter()
        .map(|s| {
            let p = model.prepare(s);
            bar.inc(1);
            p
        })
        .collect();
    bar.finish_and_clear();
    out.into_iter().collect()
}

/// Predicts every prepared structure.
pub fn predict_all(model: &dyn Model, prepared: &[Prepared]) -> Vec<Prediction> {
    let bar = progress(prepared.len(), "predict");
    let out = prepared
        .par_iter()
        .map_init(Prediction::default, |scratch, s| {
            model.predict(s, scratch);
            bar.inc(1);
            scratch.clone()
        })
        .collect();
    bar.finish_and_clear();
    out
}
