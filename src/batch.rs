//! Running a model over many structures: preparation (species check and
//! neighbour lists) and prediction, in parallel over structures with rayon,
//! results in input order. A large structure (an MD snapshot) is also
//! predicted in parallel over its atoms: see [`predict_one`].

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
            predict_one(model, s, scratch);
            bar.inc(1);
            scratch.clone()
        })
        .collect();
    bar.finish_and_clear();
    out
}

/// Fewest atoms per parallel piece of one structure; a structure of fewer
/// than two pieces is predicted whole.
const MIN_PIECE: usize = 2048;
/// Pieces predicted at once: bounds the memory of the partial predictions
/// (each holds forces for every atom) to this many copies.
const WAVE: usize = 16;

/// Predicts one structure, in parallel over pieces of its atoms when it is
/// large. Each piece's site energies give their share of the energy,
/// forces and virial ([`Model::predict_sites`]); the shares are summed in
/// piece order, and the pieces depend on the atom count only, so the
/// result does not depend on the number of threads.
pub fn predict_one(model: &dyn Model, s: &Prepared, out: &mut Prediction) {
    let n = s.structure.n_atoms();
    if n < 2 * MIN_PIECE {
        model.predict(s, out);
        return;
    }
    let piece = MIN_PIECE.max(n.div_ceil(256));
    let sites: Vec<usize> = (0..n).collect();
    let pieces: Vec<&[usize]> = sites.chunks(piece).collect();
    out.reset(n);
    for wave in pieces.chunks(WAVE) {
        let parts: Vec<Prediction> = wave
            .par_iter()
            .map(|sites| {
                let mut part = Prediction::default();
                model.predict_sites(s, sites, &mut part);
                part
            })
            .collect();
        for part in &parts {
            for (e, x) in out.atomic_energies.iter_mut().zip(&part.atomic_energies) {
                *e += x;
            }
            for (f, g) in out.forces.iter_mut().zip(&part.forces) {
                for k in 0..3 {
                    f[k] += g[k];
                }
            }
            for (w, v) in out.virial.iter_mut().zip(&part.virial) {
                *w += v;
            }
        }
    }
    out.energy = out.atomic_energies.iter().sum();
}
