//! A data set as one rank holds it: its share of the structures, prepared,
//! and what every rank must know of the whole set (atom counts, which
//! labels occur). Structure i of a set belongs to rank i mod N, so each
//! rank prepares and keeps about 1/N of the structures, and every batch of
//! the whole set becomes each rank's share of it ([`Shard::batch`]).

use super::step::Batch;
use crate::batch;
use crate::dist::World;
use crate::error::Result;
use crate::model::{Model, Prediction, Prepared};
use crate::structure::Structure;
use std::sync::Arc;

/// One rank's share of a data set. Cloning it is cheap: the prepared
/// structures are shared (a committee's members train on one copy).
#[derive(Clone)]
pub struct Shard {
    /// This rank's structures, prepared, in set order.
    local: Arc<Vec<Prepared>>,
    /// Atom count of every structure of the set.
    atoms: Vec<usize>,
    /// On rank 0 of several, the other ranks' structures (unprepared), for
    /// the output files; empty elsewhere.
    others: Vec<Structure>,
    /// Whether any structure of the set has energies, forces, virials.
    presence: [bool; 3],
    world: World,
}

/// A set's structures with the final model's predictions, on rank 0 (empty
/// on the others).
#[derive(Default)]
pub struct Evaluated {
    /// The structures, in set order.
    pub structures: Vec<Structure>,
    /// Their predictions.
    pub predictions: Vec<Prediction>,
}

impl Shard {
    /// This rank's share of `structures`, prepared for `model` (the other
    /// ranks' structures are not prepared here). A structure that cannot be
    /// prepared is an error on its rank only: callers agree on it.
    pub fn prepare(world: &World, structures: Vec<Structure>, model: &dyn Model) -> Result<Shard> {
        let summary = Summary::of(structures.iter());
        let (mine, others) = deal(world, structures, |s| s);
        let local = batch::prepare_all(model, mine)?;
        Ok(summary.into_shard(world, local, others))
    }

    /// This rank's share of a set prepared whole (to fit the models' data
    /// statistics on it): on one rank the set itself, shared; on several,
    /// copies of this rank's structures.
    pub fn from_shared(world: &World, all: &Arc<Vec<Prepared>>) -> Shard {
        let summary = Summary::of(all.iter().map(|p| &p.structure));
        if world.size() == 1 {
            return Shard {
                local: all.clone(),
                atoms: summary.atoms,
                others: Vec::new(),
                presence: summary.presence,
                world: world.clone(),
            };
        }
        let (local, others) = deal(world, all.iter().cloned().collect(), |p| p.structure);
        summary.into_shard(world, local, others)
    }

    /// Structures in the whole set.
    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    /// Whether the whole set is empty.
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    /// This rank's structures.
    pub fn local(&self) -> &[Prepared] {
        &self.local
    }

    /// Atoms in the whole set.
    pub fn total_atoms(&self) -> usize {
        self.atoms.iter().sum()
    }

    /// Whether the set has energies, forces and virials anywhere.
    pub fn presence(&self) -> [bool; 3] {
        self.presence
    }

    /// This rank's share of the batch of structures `indices` (into the
    /// whole set).
    pub fn batch(&self, indices: &[usize]) -> Batch<'_> {
        let (rank, size) = (self.world.rank(), self.world.size());
        let mut structures = Vec::new();
        let mut positions = Vec::new();
        for (position, &i) in indices.iter().enumerate() {
            if i % size == rank {
                structures.push(&self.local[i / size]);
                positions.push(position);
            }
        }
        Batch {
            structures,
            atoms: indices.iter().map(|&i| self.atoms[i]).collect(),
            positions,
            comm: self.world.comm(),
        }
    }

    /// The whole set as one batch.
    pub fn all(&self) -> Batch<'_> {
        let indices: Vec<usize> = (0..self.len()).collect();
        self.batch(&indices)
    }

    /// The set's structures and the predictions `local_predictions` of this
    /// rank's, gathered on rank 0 in set order (empty on the other ranks).
    pub fn gather(&self, local_predictions: Vec<Prediction>) -> Evaluated {
        let size = self.world.size();
        if size == 1 {
            return Evaluated {
                structures: self.local.iter().map(|p| p.structure.clone()).collect(),
                predictions: local_predictions,
            };
        }
        let bytes = encode(&local_predictions);
        let Some(parts) = self.world.comm().gather(&bytes) else {
            return Evaluated::default();
        };
        let mut per_rank: Vec<std::vec::IntoIter<Prediction>> = parts
            .iter()
            .enumerate()
            .map(|(r, b)| {
                let atoms: Vec<usize> = self.atoms.iter().skip(r).step_by(size).copied().collect();
                decode(b, &atoms).into_iter()
            })
            .collect();
        let mut local = self.local.iter();
        let mut others = self.others.iter();
        let mut out = Evaluated::default();
        for i in 0..self.atoms.len() {
            let owner = i % size;
            let structure = if owner == 0 {
                local.next().map(|p| p.structure.clone())
            } else {
                others.next().cloned()
            };
            let prediction = per_rank[owner].next();
            if let (Some(s), Some(p)) = (structure, prediction) {
                out.structures.push(s);
                out.predictions.push(p);
            }
        }
        out
    }
}

/// A set's items split into this rank's and, on rank 0 of several, the
/// other ranks' structures (for the output files); the rest are dropped.
fn deal<T>(
    world: &World,
    items: Vec<T>,
    structure: impl Fn(T) -> Structure,
) -> (Vec<T>, Vec<Structure>) {
    let keep_others = world.size() > 1 && world.is_root();
    let mut mine = Vec::new();
    let mut others = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if world.owner(i) == world.rank() {
            mine.push(item);
        } else if keep_others {
            others.push(structure(item));
        }
    }
    (mine, others)
}

/// What every rank knows of a whole set.
struct Summary {
    atoms: Vec<usize>,
    presence: [bool; 3],
}

impl Summary {
    fn of<'a>(structures: impl Iterator<Item = &'a Structure>) -> Summary {
        let mut atoms = Vec::new();
        let mut presence = [false; 3];
        for s in structures {
            atoms.push(s.n_atoms());
            let l = &s.labels;
            presence[0] |= l.energy.is_some();
            presence[1] |= l.forces.is_some();
            presence[2] |= l.virial.is_some();
        }
        Summary { atoms, presence }
    }

    fn into_shard(self, world: &World, local: Vec<Prepared>, others: Vec<Structure>) -> Shard {
        Shard {
            local: Arc::new(local),
            atoms: self.atoms,
            others,
            presence: self.presence,
            world: world.clone(),
        }
    }
}

/// Predictions as bytes: per structure energy, atomic energies, forces,
/// virial (f64, little-endian).
fn encode(predictions: &[Prediction]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |x: f64| out.extend_from_slice(&x.to_le_bytes());
    for p in predictions {
        put(p.energy);
        p.atomic_energies.iter().for_each(|&x| put(x));
        p.forces.iter().flatten().for_each(|&x| put(x));
        p.virial.iter().for_each(|&x| put(x));
    }
    out
}

/// The predictions [`encode`] wrote for structures of `atoms` atoms.
fn decode(bytes: &[u8], atoms: &[usize]) -> Vec<Prediction> {
    let mut values = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let mut next = || values.next().unwrap_or(f64::NAN);
    atoms
        .iter()
        .map(|&n| Prediction {
            energy: next(),
            atomic_energies: (0..n).map(|_| next()).collect(),
            forces: (0..n).map(|_| [next(), next(), next()]).collect(),
            virial: std::array::from_fn(|_| next()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_survive_encoding() {
        let p = Prediction {
            energy: -1.5,
            atomic_energies: vec![-0.5, -1.0],
            forces: vec![[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]],
            virial: std::array::from_fn(|i| i as f64),
        };
        let q = Prediction {
            energy: 2.0,
            atomic_energies: vec![2.0],
            forces: vec![[0.5; 3]],
            virial: [0.25; 9],
        };
        let back = decode(&encode(&[p.clone(), q.clone()]), &[2, 1]);
        assert_eq!(back[0].forces, p.forces);
        assert_eq!(back[0].virial, p.virial);
        assert_eq!(back[1].atomic_energies, q.atomic_energies);
        assert_eq!(back[1].energy, q.energy);
    }
}
