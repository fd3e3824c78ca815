//! Cell-list (binning) construction of the neighbour list.
//!
//! Atoms are wrapped into the cell along periodic axes and binned in
//! fractional coordinates: along each axis the fractional range ([0, 1)
//! when periodic, the atoms' bounding range when not) is cut into bins whose
//! height, measured perpendicular to the other two axes' plane, is at least
//! cutoff / `BINS_PER_CUTOFF`. Two atoms closer than the cutoff are then at
//! most `reach = ceil(cutoff / bin height)` bins apart along every axis, so
//! each atom visits the (2 reach + 1)³ bins around its own, less those the
//! stencil (`stencil.rs`) proves to be out of range. A periodic axis maps a
//! bin index v outside [0, n) to bin v mod n of the image floor(v / n); a
//! non-periodic one skips it. Cells thinner than the cutoff have one bin
//! along that axis and a reach of several images.
//!
//! Bins are stored c-fastest, so the bins of one stencil row that belong to
//! one image are one contiguous run of the sorted atoms, scanned in one
//! tight loop. That loop writes every candidate into the output and
//! advances the pair count by (r² < cutoff²), which avoids a hard-to-predict
//! branch.
//!
//! Cost: O(N · atoms per stencil) time and O(N + bins) memory. All work
//! arrays are allocated before the per-atom loop; the output is sized from
//! an estimate of the pair count and grows by doubling if that falls short.

use super::stencil::stencil;
use super::{Frame, MAX_IMAGES, MIN_DISTANCE, NeighborList, check_cutoff, too_close, too_thin};
use crate::error::Result;
use crate::structure::Structure;

/// Target number of bins per cutoff length along each axis. One bin per
/// cutoff gives the 27-bin stencil of volume 27 cutoff³; two give 125 bins
/// of 15.6 cutoff³ in all, and visit more runs of fewer atoms. Two was the
/// fastest of 1, 1.5, 2 and 3 on the benchmarks (benches/neighbors.rs).
const BINS_PER_CUTOFF: f64 = 2.0;

/// Offsets of the stencil are pruned (see `stencil.rs`) only when a bin
/// offset stands for at least this many candidate pairs.
const PRUNE_MIN_CANDIDATES: f64 = 64.0;

/// Relative safety margin on bin heights and reaches, so that rounding in
/// the fractional coordinates can never hide a pair at the reach's edge.
const SLACK: f64 = 1e-9;

/// How one axis is cut into bins.
struct AxisBins {
    /// Number of bins along the axis (≥ 1).
    count: usize,
    /// Fractional coordinate where bin 0 starts.
    origin: f64,
    /// Bins per unit of fractional coordinate (0 when all atoms share one
    /// coordinate along a non-periodic axis).
    scale: f64,
    /// Bins on either side of an atom's own bin that may hold neighbours.
    reach: usize,
}

impl AxisBins {
    /// Bin of fractional coordinate `f` (clamped: `f` may round to the
    /// range's upper end).
    fn bin(&self, f: f64) -> usize {
        (((f - self.origin) * self.scale) as usize).min(self.count - 1)
    }
}

/// One bin index along one axis as seen from a neighbouring bin.
#[derive(Clone, Copy)]
struct Step {
    /// Bin index (wrapped into [0, count)) times the axis's stride in the
    /// flattened bin array.
    offset: usize,
    /// Which periodic image the bin belongs to (0 on non-periodic axes).
    image: i64,
    /// image · lattice vector, Å.
    shift: [f64; 3],
}

/// Builds the neighbour list of `s` with a cell list; see the module docs.
pub(super) fn build(s: &Structure, cutoff: f64) -> Result<NeighborList> {
    check_cutoff(cutoff)?;
    let n = s.n_atoms();
    if n > u32::MAX as usize {
        return Err(s.error(format!("{n} atoms: more than a neighbour list can index")));
    }
    let frame = Frame::new(s)?;
    let mut list = NeighborList::empty(cutoff, n);
    if n == 0 {
        return Ok(list);
    }

    // Wrapped Cartesian positions and their fractional coordinates.
    let mut positions = Vec::with_capacity(n); // n x 3, Å
    let mut fractions = Vec::with_capacity(n); // n x 3
    for (i, p) in s.positions.iter().enumerate() {
        if p.iter().any(|x| !x.is_finite()) {
            return Err(s.error(format!("atom {i}: position is not finite: {p:?}")));
        }
        let mut f = frame.fractional(p);
        let mut q = *p;
        for (a, fa) in f.iter_mut().enumerate() {
            let m = fa.floor();
            if frame.periodic[a] && m != 0.0 {
                *fa -= m;
                for (qk, bk) in q.iter_mut().zip(&frame.basis[a]) {
                    *qk -= m * bk;
                }
            }
        }
        positions.push(q);
        fractions.push(f);
    }

    let axes = bin_axes(&frame, &fractions, cutoff);
    let images = periodic_images(&frame, &axes);
    if images > MAX_IMAGES {
        return Err(too_thin(s, cutoff, images));
    }

    // Counting sort of the atoms by flattened bin index a·(nb·nc) + b·nc + c.
    let strides = [axes[1].count * axes[2].count, axes[2].count, 1];
    let n_bins = axes[0].count * strides[0];
    let mut atom_bins = Vec::with_capacity(n); // n x 3 bin indices
    let mut bin_start = vec![0usize; n_bins + 1];
    for f in &fractions {
        let b: [usize; 3] = std::array::from_fn(|a| axes[a].bin(f[a]));
        bin_start[b[0] * strides[0] + b[1] * strides[1] + b[2] + 1] += 1;
        atom_bins.push(b);
    }
    for b in 0..n_bins {
        bin_start[b + 1] += bin_start[b];
    }
    let mut fill = bin_start.clone();
    let mut sorted_index = vec![0u32; n];
    let mut sorted_positions = vec![[0.0; 3]; n];
    for (i, b) in atom_bins.iter().enumerate() {
        let slot = &mut fill[b[0] * strides[0] + b[1] * strides[1] + b[2]];
        sorted_index[*slot] = i as u32;
        sorted_positions[*slot] = positions[i];
        *slot += 1;
    }
    drop(fill);

    // steps[a][t] describes bin t - reach of axis a, t in 0..count + 2 reach.
    let steps: [Vec<Step>; 3] = std::array::from_fn(|a| {
        let AxisBins { count, reach, .. } = axes[a];
        (0..count + 2 * reach)
            .map(|t| {
                let v = t as i64 - reach as i64;
                let image = v.div_euclid(count as i64);
                let bin = v.rem_euclid(count as i64) as usize;
                let shift = if frame.periodic[a] {
                    frame.basis[a].map(|x| image as f64 * x)
                } else {
                    [0.0; 3]
                };
                Step {
                    offset: bin * strides[a],
                    image,
                    shift,
                }
            })
            .collect()
    });

    let estimate = estimate_pairs(&frame, &axes, n, cutoff);
    // Sized, not only reserved: the loop writes candidates in place. Beyond
    // a million pairs the buffers grow by doubling instead.
    let initial = estimate.min(1 << 20);
    list.index.resize(initial, 0);
    list.vector.resize(initial, [0.0; 3]);

    let widths = axes
        .each_ref()
        .map(|a| if a.scale > 0.0 { 1.0 / a.scale } else { 0.0 });
    // Pruning costs up to ~100 ns per offset and saves the distances from
    // every atom to the atoms of the offset's bin, about n² / bins.
    let prune = (n * n) as f64 / n_bins as f64 >= PRUNE_MIN_CANDIDATES;
    let reach = axes.each_ref().map(|a| a.reach);
    let rows = stencil(&frame.basis, widths, reach, cutoff, prune);
    // Valid t along each axis (see `steps`): every t when periodic, only
    // those of bins that exist when not.
    let valid: [std::ops::Range<usize>; 3] = std::array::from_fn(|a| {
        let AxisBins { count, reach, .. } = axes[a];
        if frame.periodic[a] {
            0..count + 2 * reach
        } else {
            reach..count + reach
        }
    });

    let cut2 = cutoff * cutoff;
    let min2 = MIN_DISTANCE * MIN_DISTANCE;
    let [_, _, axis_c] = &axes;
    // index and vector are sized ahead of `filled`, the pairs found.
    let mut filled = 0;
    for i in 0..n {
        let p = positions[i];
        let home = atom_bins[i];
        for row in &rows {
            let ta = home[0] + row.ab[0];
            let tb = home[1] + row.ab[1];
            if !(valid[0].contains(&ta) && valid[1].contains(&tb)) {
                continue;
            }
            let (sa, sb) = (&steps[0][ta], &steps[1][tb]);
            let ab_offset = sa.offset + sb.offset;
            let ab_shift: [f64; 3] = std::array::from_fn(|k| sa.shift[k] + sb.shift[k]);
            let mut tc = (home[2] + row.c_low).max(valid[2].start);
            let c_end = (home[2] + row.c_high).min(valid[2].end - 1);
            // Runs of consecutive c bins of one image are contiguous in the
            // sorted atoms: one run per image of the cell along c.
            while tc <= c_end {
                let sc = &steps[2][tc];
                // Along c the stride is 1: `offset` is the bin index.
                let run_end = c_end.min(tc + (axis_c.count - 1 - sc.offset));
                let first = ab_offset + sc.offset;
                let last = ab_offset + steps[2][run_end].offset;
                tc = run_end + 1;
                // r_ij = q_j + shift - q_i = q_j + d.
                let d: [f64; 3] = std::array::from_fn(|k| (ab_shift[k] + sc.shift[k]) - p[k]);
                let slots = bin_start[first]..bin_start[last + 1];
                // Every candidate is written past the pairs found so far and
                // `filled` advanced only for pairs: no unpredictable branch.
                let end = filled + slots.len();
                if end > list.index.len() {
                    let len = end.max(2 * list.index.len());
                    list.index.resize(len, 0);
                    list.vector.resize(len, [0.0; 3]);
                }
                let out_index = &mut list.index[filled..end];
                let out_vector = &mut list.vector[filled..end];
                let mut hits = 0;
                for (&j, q) in sorted_index[slots.clone()]
                    .iter()
                    .zip(&sorted_positions[slots])
                {
                    let r = [q[0] + d[0], q[1] + d[1], q[2] + d[2]];
                    let r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
                    if r2 < min2 {
                        let own_image = sa.image == 0 && sb.image == 0 && sc.image == 0;
                        if j as usize == i && own_image {
                            continue;
                        }
                        return Err(too_close(s, i, j as usize, r2));
                    }
                    out_index[hits] = j;
                    out_vector[hits] = r;
                    hits += usize::from(r2 < cut2);
                }
                filled += hits;
            }
        }
        list.start.push(filled);
    }
    list.index.truncate(filled);
    list.vector.truncate(filled);
    // Lists are kept for a whole training set: give back a large surplus
    // (a copy, so not for the usual 10% of the estimate).
    if list.index.capacity() > filled + filled / 4 + 1024 {
        list.index.shrink_to_fit();
        list.vector.shrink_to_fit();
    }
    Ok(list)
}

/// Chooses the bins along each axis: heights of at least
/// cutoff / `BINS_PER_CUTOFF` where the extent allows, at most about 8
/// bins per atom in total (sparse clusters), and the reach that keeps every
/// pair within the stencil.
fn bin_axes(frame: &Frame, fractions: &[[f64; 3]], cutoff: f64) -> [AxisBins; 3] {
    // Fractional extent along each axis: the unit range when periodic, the
    // atoms' bounding range when not.
    let mut low = [0.0; 3];
    let mut extent = [1.0; 3];
    for a in 0..3 {
        if !frame.periodic[a] {
            let (lo, hi) = fractions
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), f| {
                    (lo.min(f[a]), hi.max(f[a]))
                });
            low[a] = lo;
            extent[a] = hi - lo;
        }
    }
    let target = cutoff / BINS_PER_CUTOFF * (1.0 + SLACK);
    let max_bins = 8 * fractions.len() + 64;
    let mut counts: [usize; 3] = std::array::from_fn(|a| {
        let fits = (extent[a] * frame.heights[a] / target).floor();
        // Clamped before the cast so that huge extents cannot overflow.
        fits.clamp(1.0, max_bins as f64) as usize
    });
    while counts.iter().product::<usize>() > max_bins {
        let largest = (0..3).max_by_key(|&a| counts[a]).unwrap_or(0);
        counts[largest] = counts[largest].div_ceil(2);
    }
    std::array::from_fn(|a| {
        let count = counts[a];
        let scale = if extent[a] > 0.0 {
            count as f64 / extent[a]
        } else {
            0.0
        };
        // Bins of height heights[a] / scale; pairs span < cutoff.
        let needed = (cutoff * scale / frame.heights[a] * (1.0 + SLACK)).ceil();
        let reach = if frame.periodic[a] {
            // A cell so thin that this overflows fails the image check.
            needed.min(1e12) as usize
        } else {
            (needed as usize).min(count - 1)
        };
        AxisBins {
            count,
            origin: low[a],
            scale,
            reach,
        }
    })
}

/// Expected number of pairs (plus 10%), from the mean density in the bins
/// and the cutoff sphere's volume, bounded by the atom images the stencil
/// holds.
fn estimate_pairs(frame: &Frame, axes: &[AxisBins; 3], n: usize, cutoff: f64) -> usize {
    let n_bins: usize = axes.iter().map(|a| a.count).product();
    // A bin's fractional width along each axis, but no thicker than the
    // cutoff sphere along flat or thin non-periodic extents.
    let widths = (0..3).map(|a| {
        let sphere_width = 2.0 * cutoff / frame.heights[a];
        (1.0 / axes[a].scale).min(sphere_width)
    });
    let bin_volume = frame.volume * widths.product::<f64>();
    let sphere = 4.0 / 3.0 * std::f64::consts::PI * cutoff.powi(3);
    let mean = n as f64 / n_bins as f64 * sphere / bin_volume;
    let per_atom = mean.min(n as f64 * periodic_images(frame, axes));
    (1.1 * per_atom * n as f64) as usize + 16
}

/// Number of periodic images of the cell the stencil reaches into: the
/// product over periodic axes of ceil((2 reach + 1) / count).
fn periodic_images(frame: &Frame, axes: &[AxisBins; 3]) -> f64 {
    (0..3)
        .filter(|&a| frame.periodic[a])
        .map(|a| ((2 * axes[a].reach + 1) as f64 / axes[a].count as f64).ceil())
        .product()
}
