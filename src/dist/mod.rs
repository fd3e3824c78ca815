//! Data-parallel training across processes: the communicator the training
//! loop talks to, exact sums over ranks, and agreement on errors.
//!
//! Every rank holds the same parameters and optimizer state and a shard of
//! the structures. What the ranks combine each step is a sum (gradients,
//! Kalman measurements, loss parts), and [`exact::sum`] makes it the same
//! bits for any number of ranks, so every rank applies the identical update
//! and a run on N ranks equals the run on one. Without the `mpi` feature
//! (or outside `mpirun`) the communicator is [`Local`]: one rank, and the
//! reductions are no-ops.

pub mod exact;
#[cfg(feature = "mpi")]
mod mpi;

use crate::error::{Error, Result};
use std::cell::Cell;
use std::rc::Rc;

/// What the training loop needs from the processes it runs on. Every
/// collective must be called by every rank, in the same order.
pub trait Comm {
    /// This process's rank, 0-based.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Element-wise maximum over ranks, in place.
    fn max_i16(&self, values: &mut [i16]);
    /// Element-wise sum over ranks, in place (wrapping is impossible for
    /// the values [`exact::sum`] sends).
    fn sum_i64(&self, values: &mut [i64]);
    /// Element-wise maximum over ranks, in place.
    fn max_f64(&self, values: &mut [f64]);
    /// Every rank's `local` bytes, in rank order, on every rank.
    fn all_gather(&self, local: &[u8]) -> Vec<Vec<u8>>;
    /// Every rank's `local` bytes, in rank order, on rank 0 (`None` on the
    /// others).
    fn gather(&self, local: &[u8]) -> Option<Vec<Vec<u8>>>;
    /// Payload bytes this rank has contributed to collectives so far, and
    /// the number of collectives.
    fn traffic(&self) -> Traffic;
}

/// One process: every collective is the identity.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

impl Comm for Local {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn max_i16(&self, _: &mut [i16]) {}
    fn sum_i64(&self, _: &mut [i64]) {}
    fn max_f64(&self, _: &mut [f64]) {}
    fn all_gather(&self, local: &[u8]) -> Vec<Vec<u8>> {
        vec![local.to_vec()]
    }
    fn gather(&self, local: &[u8]) -> Option<Vec<Vec<u8>>> {
        Some(vec![local.to_vec()])
    }
    fn traffic(&self) -> Traffic {
        Traffic::default()
    }
}

/// The communicator of a run, shared by the parts of the loop.
#[derive(Clone)]
pub struct World(pub Rc<dyn Comm>);

impl Default for World {
    fn default() -> Self {
        World(Rc::new(Local))
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "World(rank {} of {})", self.0.rank(), self.0.size())
    }
}

impl World {
    /// The processes this one was started with: every rank of `mpirun`
    /// (built with the `mpi` feature), else this process alone. A binary
    /// built without MPI but started by a launcher with several ranks is
    /// refused: each rank would train the whole run and write the same files.
    pub fn from_environment() -> Result<World> {
        let launched = launched_ranks();
        #[cfg(feature = "mpi")]
        if launched.is_some() {
            return mpi::world().map(|c| World(Rc::new(c)));
        }
        match launched {
            Some(n) if n > 1 => Err(Error::Invalid(format!(
                "started as one of {n} MPI ranks, but this forcefit was built without MPI: \
                 build it with `cargo build --release --features mpi`"
            ))),
            _ => Ok(World::default()),
        }
    }

    /// This rank.
    pub fn rank(&self) -> usize {
        self.0.rank()
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// Whether this rank writes files and prints progress.
    pub fn is_root(&self) -> bool {
        self.0.rank() == 0
    }

    /// The communicator.
    pub fn comm(&self) -> &dyn Comm {
        &*self.0
    }

    /// The rank that holds structure `index` of a data set.
    pub fn owner(&self, index: usize) -> usize {
        index % self.size()
    }

    /// `result` on every rank, or, if any rank failed, the error of the
    /// lowest failing rank on every rank: a failure on one rank's shard
    /// stops them all together, and is printed once (by rank 0).
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        if self.size() == 1 {
            return result;
        }
        let message = match &result {
            Ok(_) => Vec::new(),
            Err(e) => format!("{e}").into_bytes(),
        };
        let all = self.0.all_gather(&message);
        match all.iter().position(|m| !m.is_empty()) {
            None => result,
            Some(r) if r == self.rank() => result,
            Some(r) => Err(Error::Invalid(format!(
                "{} (on rank {r})",
                String::from_utf8_lossy(&all[r])
            ))),
        }
    }

    /// The maximum of each value over ranks (the same on every rank).
    pub fn max(&self, mut values: Vec<f64>) -> Vec<f64> {
        self.0.max_f64(&mut values);
        values
    }
}

/// The rank count a launcher (OpenMPI's mpirun, MPICH's hydra, Slurm's
/// srun through PMI) announced, if any; 0 when started through PMIx, which
/// names the rank but not the count.
fn launched_ranks() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
        .or_else(|| std::env::var_os("PMIX_RANK").map(|_| 0))
}

/// What a rank has sent in collectives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Traffic {
    /// Payload bytes.
    pub bytes: u64,
    /// Collective calls.
    pub calls: u64,
}

/// Counts collective traffic (for the MPI communicator).
#[derive(Default)]
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) struct TrafficCounter(Cell<Traffic>);

#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
impl TrafficCounter {
    pub(crate) fn add(&self, bytes: usize) {
        let t = self.0.get();
        self.0.set(Traffic {
            bytes: t.bytes + bytes as u64,
            calls: t.calls + 1,
        });
    }
    pub(crate) fn get(&self) -> Traffic {
        self.0.get()
    }
}
