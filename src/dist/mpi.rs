//! The MPI communicator (the `mpi` feature): rsmpi over the system's MPI.
//! Collectives are called from the main thread only (between the rayon
//! sections of a step), so MPI is initialised at the "funneled" level.

use super::{Comm, Traffic, TrafficCounter};
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// `MPI_COMM_WORLD`, and the universe whose drop finalises MPI.
pub struct MpiComm {
    world: SimpleCommunicator,
    bytes: TrafficCounter,
    // Declared last: dropped (MPI_Finalize) after the communicator.
    _universe: Universe,
}

/// Initialises MPI and returns the world communicator.
pub fn world() -> Result<MpiComm> {
    let (universe, level) = mpi::initialize_with_threading(mpi::Threading::Funneled)
        .ok_or_else(|| Error::Invalid("MPI was already initialised".into()))?;
    if level < mpi::Threading::Funneled {
        return Err(Error::Invalid(format!(
            "the MPI library offers thread level {level:?}; forcefit needs Funneled"
        )));
    }
    Ok(MpiComm {
        world: universe.world(),
        bytes: TrafficCounter::default(),
        _universe: universe,
    })
}

impl MpiComm {
    fn all_reduce<T: Equivalence + Copy>(&self, values: &mut [T], op: SystemOperation) {
        if self.world.size() == 1 {
            return;
        }
        self.bytes.add(std::mem::size_of_val(values));
        let send = values.to_vec();
        self.world.all_reduce_into(&send[..], values, op);
    }
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn max_i16(&self, values: &mut [i16]) {
        self.all_reduce(values, SystemOperation::max());
    }
    fn sum_i64(&self, values: &mut [i64]) {
        self.all_reduce(values, SystemOperation::sum());
    }
    fn max_f64(&self, values: &mut [f64]) {
        self.all_reduce(values, SystemOperation::max());
    }
    fn all_gather(&self, local: &[u8]) -> Vec<Vec<u8>> {
        // Never an empty piece: OpenMPI refuses all-empty buffers.
        let local = &framed(local);
        let mut counts = vec![0i32; self.size()];
        self.world
            .all_gather_into(&(local.len() as i32), &mut counts[..]);
        let (displs, mut buffer) = layout(&counts);
        {
            let mut partition = PartitionMut::new(&mut buffer[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(local, &mut partition);
        }
        self.bytes.add(local.len() + 4);
        split(&buffer, &counts, &displs)
    }
    fn gather(&self, local: &[u8]) -> Option<Vec<Vec<u8>>> {
        let local = &framed(local);
        let root = self.world.process_at_rank(0);
        self.bytes.add(local.len() + 4);
        let count = local.len() as i32;
        if self.rank() != 0 {
            root.gather_into(&count);
            root.gather_varcount_into(local);
            return None;
        }
        let mut counts = vec![0i32; self.size()];
        root.gather_into_root(&count, &mut counts[..]);
        let (displs, mut buffer) = layout(&counts);
        {
            let mut partition = PartitionMut::new(&mut buffer[..], &counts[..], &displs[..]);
            root.gather_varcount_into_root(local, &mut partition);
        }
        Some(split(&buffer, &counts, &displs))
    }
    fn traffic(&self) -> Traffic {
        self.bytes.get()
    }
}

/// Displacements of pieces of `counts` bytes laid end to end, and a buffer
/// for them all.
fn layout(counts: &[i32]) -> (Vec<i32>, Vec<u8>) {
    let mut displs = Vec::with_capacity(counts.len());
    let mut total = 0i32;
    for &c in counts {
        displs.push(total);
        total += c;
    }
    (displs, vec![0u8; total as usize])
}

/// `bytes` after a one-byte frame.
fn framed(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.push(1);
    out.extend_from_slice(bytes);
    out
}

/// The pieces of `buffer`, without their frames.
fn split(buffer: &[u8], counts: &[i32], displs: &[i32]) -> Vec<Vec<u8>> {
    counts
        .iter()
        .zip(displs)
        .map(|(&c, &d)| buffer[(d + 1) as usize..(d + c) as usize].to_vec())
        .collect()
}
