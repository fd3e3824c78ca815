//! The covariance blocks spread over the ranks of a data-parallel run
//! (as deepmd-kit's LKF spreads them over GPUs): each rank stores and
//! updates a fixed set of blocks, so the covariance memory and the Kalman
//! time per rank fall as 1/N. Per update the ranks exchange two things, by
//! all-gathers whose results do not depend on the rank count:
//!
//! - per block, the scalars hᵀK (and max|K|), which every rank then sums
//!   in block order — the order of the sum on one process;
//! - the updated parameters of each rank's blocks, computed by exactly
//!   one rank with the arithmetic of one process.
//!
//! So the run on N ranks applies the same updates, bit for bit, as on one.

use crate::dist::Comm;
use std::ops::Range;

use super::storage::packed_len;

/// This rank's place among the ranks the blocks are spread over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// This rank, 0-based.
    pub rank: usize,
    /// Number of ranks.
    pub ranks: usize,
}

impl Default for Placement {
    /// One process holding every block.
    fn default() -> Self {
        Placement { rank: 0, ranks: 1 }
    }
}

impl Placement {
    /// The placement on the ranks of `comm`.
    pub fn of(comm: &dyn Comm) -> Self {
        Placement {
            rank: comm.rank(),
            ranks: comm.size(),
        }
    }

    /// The rank that holds each block: largest blocks first (by packed
    /// size, the memory and the time of an update), each to the rank with
    /// the least so far (the lowest such rank on a tie). It depends only
    /// on the blocks and the rank count, so every rank computes the same.
    pub fn owners(self, blocks: &[Range<usize>]) -> Vec<usize> {
        let ranks = self.ranks.max(1);
        let mut order: Vec<usize> = (0..blocks.len()).collect();
        order.sort_by_key(|&b| (std::cmp::Reverse(packed_len(blocks[b].len())), b));
        let mut load = vec![0usize; ranks];
        let mut owner = vec![0; blocks.len()];
        for b in order {
            let r = (0..ranks).min_by_key(|&r| (load[r], r)).unwrap_or(0);
            load[r] += packed_len(blocks[b].len());
            owner[b] = r;
        }
        owner
    }
}

/// Which blocks this rank holds, and the exchange buffers.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Shard {
    pub(super) placement: Placement,
    /// The rank of each block.
    pub(super) owner: Vec<usize>,
    /// The blocks of this rank, in block order.
    pub(super) own: Vec<usize>,
}

impl Shard {
    pub(super) fn new(placement: Placement, blocks: &[Range<usize>]) -> Self {
        let owner = placement.owners(blocks);
        let own = (0..blocks.len())
            .filter(|&b| owner[b] == placement.rank)
            .collect();
        Shard {
            placement,
            owner,
            own,
        }
    }

    /// Whether every block is here (one rank): nothing to exchange.
    pub(super) fn alone(&self) -> bool {
        self.placement.ranks == 1
    }

    /// Every block's scalars, in `scalars` (indexed by block), from the
    /// rank that computed them (this rank's are already in place).
    pub(super) fn share_scalars(&self, comm: &dyn Comm, scalars: &mut [[f64; 2]]) {
        if self.alone() {
            return;
        }
        let mut bytes = Vec::with_capacity(16 * self.own.len());
        for &b in &self.own {
            scalars[b]
                .iter()
                .for_each(|x| bytes.extend(x.to_le_bytes()));
        }
        let all = comm.all_gather(&bytes);
        for (r, piece) in all.iter().enumerate() {
            let mut values = piece.chunks_exact(8).map(read_f64);
            for b in self.blocks_of(r) {
                for x in &mut scalars[b] {
                    *x = values.next().expect("two scalars per block");
                }
            }
        }
    }

    /// Every block's parameters in `params`, from the rank that updated them.
    pub(super) fn share_params(
        &self,
        comm: &dyn Comm,
        blocks: &[Range<usize>],
        params: &mut [f64],
    ) {
        if self.alone() {
            return;
        }
        let mut bytes = Vec::new();
        for &b in &self.own {
            params[blocks[b].clone()]
                .iter()
                .for_each(|x| bytes.extend(x.to_le_bytes()));
        }
        let all = comm.all_gather(&bytes);
        for (r, piece) in all.iter().enumerate() {
            if r == self.placement.rank {
                continue;
            }
            let mut values = piece.chunks_exact(8).map(read_f64);
            for b in self.blocks_of(r) {
                for w in &mut params[blocks[b].clone()] {
                    *w = values.next().expect("a value per parameter");
                }
            }
        }
    }

    /// The blocks of rank `r`, in block order.
    pub(super) fn blocks_of(&self, r: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.owner.len()).filter(move |&b| self.owner[b] == r)
    }

    /// Bytes this rank sends per update: two scalars per block and the
    /// parameters of its blocks (none on one rank).
    pub(super) fn bytes_per_update(&self, blocks: &[Range<usize>]) -> usize {
        if self.alone() {
            return 0;
        }
        self.own.iter().map(|&b| 16 + 8 * blocks[b].len()).sum()
    }
}

fn read_f64(bytes: &[u8]) -> f64 {
    f64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_balanced_by_packed_size_and_cover_every_rank_once() {
        let blocks = vec![0..100, 100..110, 110..210, 210..260, 260..265];
        let owners = Placement { rank: 0, ranks: 2 }.owners(&blocks);
        // 5050 and 5050 go to ranks 0 and 1, then 1275 to 0, 55 and 15 to 1.
        assert_eq!(owners, vec![0, 1, 1, 0, 1]);
        assert_eq!(Placement::default().owners(&blocks), vec![0; 5]);
        let three = Placement { rank: 2, ranks: 3 };
        let shard = Shard::new(three, &blocks);
        // 5050, 5050, then 1275, 55 and 15 to the least loaded, rank 2.
        assert_eq!(shard.own, vec![1, 3, 4]);
        let held: usize = (0..3).map(|r| shard.blocks_of(r).count()).sum();
        assert_eq!(held, blocks.len());
    }
}
