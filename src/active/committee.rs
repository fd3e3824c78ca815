//! The members of a committee run over frames, a bounded chunk at a time:
//! a long MD trajectory never has all its neighbour lists or all its
//! predictions in memory at once.

use super::Frame;
use super::deviation::{self, Deviation, Options};
use crate::batch;
use crate::error::{Error, Result};
use crate::model::{AnyModel, Model, Prediction};
use crate::structure::Structure;
use rayon::prelude::*;

/// Most atoms prepared and predicted at once (a chunk holds at least one
/// frame): each member's neighbour lists and forces for this many atoms.
const CHUNK_ATOMS: usize = 1 << 16;

/// One committee member: a model and the name it goes by in messages.
pub struct Member {
    /// How the user named it (its file or files).
    pub name: String,
    /// The model.
    pub model: AnyModel,
}

/// Two or more models of the same elements.
pub struct Committee {
    members: Vec<Member>,
}

impl Committee {
    /// Checks there are at least two members and that they all know the
    /// same elements (a frame any member cannot describe has no deviation).
    pub fn new(members: Vec<Member>) -> Result<Self> {
        if members.len() < 2 {
            return Err(Error::Invalid(format!(
                "a committee needs at least 2 models (--model given {} time(s))",
                members.len()
            )));
        }
        let first = &members[0];
        for m in &members[1..] {
            if elements(&m.model) != elements(&first.model) {
                return Err(Error::Invalid(format!(
                    "the committee members know different elements: {} has {} but {} has {}; \
                     every member must know the same elements",
                    first.name,
                    elements(&first.model).join(" "),
                    m.name,
                    elements(&m.model).join(" ")
                )));
            }
        }
        Ok(Committee { members })
    }

    /// The members, in the order given.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The deviation of every frame, in order.
    pub fn deviations(&self, frames: &[Frame], options: &Options) -> Result<Vec<Deviation>> {
        let mut out = Vec::with_capacity(frames.len());
        for chunk in chunks(frames, |f| f.structure.n_atoms()) {
            let mut per_member: Vec<Vec<Prediction>> = Vec::with_capacity(self.members.len());
            for m in &self.members {
                let structures = chunk.iter().map(|f| f.structure.clone()).collect();
                let prepared = batch::prepare_all(&m.model, structures)?;
                per_member.push(batch::predict_all(&m.model, &prepared));
            }
            let devs: Vec<Deviation> = (0..chunk.len())
                .into_par_iter()
                .map(|k| {
                    let preds: Vec<&Prediction> = per_member.iter().map(|p| &p[k]).collect();
                    deviation::frame(&preds, chunk[k].structure.n_atoms(), options)
                })
                .collect();
            out.extend(devs);
        }
        Ok(out)
    }
}

/// The model's elements, sorted (members may list them in any order).
fn elements(model: &AnyModel) -> Vec<String> {
    let mut e = model.species().to_vec();
    e.sort();
    e
}

/// Consecutive pieces of `items` of about [`CHUNK_ATOMS`] atoms (as
/// `n_atoms` counts them).
fn chunks<T>(items: &[T], n_atoms: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let (mut start, mut atoms) = (0, 0);
    for (k, item) in items.iter().enumerate() {
        let n = n_atoms(item);
        if atoms > 0 && atoms + n > CHUNK_ATOMS {
            out.push(&items[start..k]);
            (start, atoms) = (k, 0);
        }
        atoms += n;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// Every structure's mean atom descriptor under `model` (the point it is
/// in farthest-point sampling), computed a chunk at a time.
pub fn mean_descriptors(model: &AnyModel, structures: &[Structure]) -> Result<Vec<Vec<f64>>> {
    let dim = model.descriptor_dim().max(1);
    let mut out = Vec::with_capacity(structures.len());
    for chunk in chunks(structures, Structure::n_atoms) {
        let prepared = batch::prepare_all(model, chunk.to_vec())?;
        let means: Vec<Vec<f64>> = prepared
            .par_iter()
            .map(|s| {
                let d = model.atom_descriptors(s);
                let rows = (d.len() / dim).max(1);
                let mut mean = vec![0.0; dim];
                for row in d.chunks(dim) {
                    mean.iter_mut().zip(row).for_each(|(m, x)| *m += x);
                }
                mean.iter_mut().for_each(|m| *m /= rows as f64);
                mean
            })
            .collect();
        out.extend(means);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_frame_within_the_atom_budget() {
        let sizes = [40_000, 25_000, 10, 70_000, 5];
        let pieces = chunks(&sizes, |&n| n);
        let lengths: Vec<usize> = pieces.iter().map(|p| p.len()).collect();
        // 40,000 + 25,000 + 10 ≤ 65,536; a 70,000-atom frame is alone.
        assert_eq!(lengths, [3, 1, 1]);
        assert!(chunks(&[0usize; 0], |&n| n).is_empty());
    }
}
