//! Neighbour selection into `sel` slots, as deepmd-kit's
//! `build_neighbor_list` + `nlist_distinguish_types`
//! (`deepmd/dpmodel/utils/nlist.py`) do it.
//!
//! deepmd-kit sorts all neighbours within r_c by distance, keeps the
//! nearest Σsel of them, then splits them by type: the nearest sel[t] of
//! type t fill slots start[t]..start[t] + sel[t] in order of distance, the
//! rest of the block is padding. Because se_e2_a sums over slots, the order
//! within a block only matters when davg/dstd differ between the slots of a
//! block (never in files deepmd-kit writes), so the sort is skipped unless
//! something must be dropped or the statistics vary by slot.
//!
//! With such statistics the energy is only piecewise smooth: where two
//! neighbours of one type swap distance ranks they swap normalisations, and
//! the energy steps (deepmd-kit's by the same amount). Forces and virial
//! are the exact gradient on either side; a finite difference whose step
//! straddles a swap measures the step instead.

use crate::model::Prepared;

/// One neighbour given a slot.
#[derive(Clone, Copy, Debug)]
pub struct Kept {
    /// Neighbour atom index.
    pub j: u32,
    /// Slot within the Σsel slots of the centre.
    pub slot: u32,
    /// Neighbour type.
    pub ty: u32,
    /// r_ij, Å.
    pub r: [f64; 3],
    /// |r_ij|, Å.
    pub d: f64,
}

/// Slot layout and selection rules of a model.
#[derive(Clone, Debug)]
pub struct Selector {
    /// sel[t]: slots for neighbours of type t.
    pub sel: Vec<usize>,
    /// First slot of each type's block, and Σsel as a last entry.
    pub starts: Vec<usize>,
    /// r_c, Å.
    pub rcut: f64,
    /// Order each block by distance even when nothing is dropped.
    pub sort_always: bool,
}

impl Selector {
    /// A selector for `sel` slots within `rcut`.
    pub fn new(sel: &[usize], rcut: f64, sort_always: bool) -> Self {
        let mut starts = Vec::with_capacity(sel.len() + 1);
        let mut at = 0;
        starts.push(0);
        for &s in sel {
            at += s;
            starts.push(at);
        }
        Selector {
            sel: sel.to_vec(),
            starts,
            rcut,
            sort_always,
        }
    }

    /// Total number of slots, Σsel (deepmd-kit's `nnei`).
    pub fn n_slots(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }

    /// Selects the neighbours of atom `i`: fills `kept` (in slot order
    /// within each type) and `counts[t]` (slots of type t in use) and
    /// returns how many neighbours within r_c found no slot.
    pub fn select(
        &self,
        s: &Prepared,
        i: usize,
        kept: &mut Vec<Kept>,
        counts: &mut [usize],
    ) -> usize {
        kept.clear();
        counts.fill(0);
        let (index, vector) = s.neighbors.of(i);
        let rc2 = self.rcut * self.rcut;
        for (&j, r) in index.iter().zip(vector) {
            let d2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
            if d2 < rc2 {
                let ty = s.types[j as usize];
                counts[ty] += 1;
                kept.push(Kept {
                    j,
                    slot: 0,
                    ty: ty as u32,
                    r: *r,
                    d: d2.sqrt(),
                });
            }
        }
        let total = kept.len();
        let overflow = total > self.n_slots() || counts.iter().zip(&self.sel).any(|(c, s)| c > s);
        if overflow || self.sort_always {
            kept.sort_by(|a, b| a.d.total_cmp(&b.d));
            kept.truncate(self.n_slots());
        }
        counts.fill(0);
        let sel = &self.sel;
        kept.retain_mut(|k| {
            let t = k.ty as usize;
            if counts[t] < sel[t] {
                k.slot = (self.starts[t] + counts[t]) as u32;
                counts[t] += 1;
                true
            } else {
                false
            }
        });
        total - kept.len()
    }
}
