//! The part of NEP's descriptors that depends on positions alone: per atom,
//! the pairs within the radial and the angular cutoffs with their
//! Chebyshev basis values and derivatives and the angular harmonics.
//!
//! Positions never change during training, so a training structure's
//! geometry is computed once and kept in its cache ([`Nep::cache_geometry`]);
//! every later prediction and gradient is then contractions with the
//! coefficients only. Elsewhere (a one-off prediction, a structure over the
//! cache budget) each atom's geometry is computed into a scratch buffer
//! just before use: one code path, the same numbers.

use super::MAX_CHANNEL;
use super::Nep;
use super::angular::{harmonics, harmonics_grad};
use super::basis::{LANES, chebyshev_lanes};
use crate::model::{Prepared, cache_budget};
use std::sync::Arc;

/// One neighbour pair within a cutoff.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pair {
    /// Neighbour atom index.
    pub j: u32,
    /// Its type index.
    pub t: u32,
    /// |r_ij|, Å.
    pub d: f64,
    /// r_ij, Å.
    pub r: [f64; 3],
}

impl Pair {
    /// The unit vector û_ij (one division: the force loops call this for
    /// every pair).
    #[inline]
    pub fn unit(&self) -> [f64; 3] {
        let inv = 1.0 / self.d;
        self.r.map(|x| x * inv)
    }
}

/// One atom's geometry (a view into [`Geometry`]).
pub(super) struct AtomGeometry<'a> {
    /// Per neighbour type t: B_tk = Σ_{j of type t} f_k(r_ij), nt × kr.
    pub radial_sum: &'a [f64],
    /// Pairs within their pair's radial cutoff.
    pub radial: &'a [Pair],
    /// Per radial pair: f_k'(r), kr values.
    pub radial_deriv: &'a [f64],
    /// Pairs within their pair's angular cutoff.
    pub angular: &'a [Pair],
    /// Per angular pair: f_k(r) then f_k'(r), 2 ka values.
    pub angular_basis: &'a [f64],
    /// Per angular pair: Y_c(û), n_comp values.
    pub y: &'a [f64],
    /// Per angular pair: ∂Y_c/∂(x, y, z), n_comp values.
    pub y_grad: &'a [[f64; 3]],
}

/// The geometry of a run of atoms (one atom in a scratch buffer, every
/// atom of a structure in its cache), structure of arrays.
#[derive(Debug, Default)]
pub(super) struct Geometry {
    sizes: Sizes,
    /// Per atom pushed: start of its pairs in `radial` and `angular`.
    radial_start: Vec<usize>,
    angular_start: Vec<usize>,
    radial_sum: Vec<f64>,
    radial: Vec<Pair>,
    radial_deriv: Vec<f64>,
    angular: Vec<Pair>,
    angular_basis: Vec<f64>,
    y: Vec<f64>,
    y_grad: Vec<[f64; 3]>,
}

/// Array widths: element types, radial and angular basis sizes + 1,
/// harmonic components.
#[derive(Clone, Copy, Debug, Default)]
struct Sizes {
    nt: usize,
    kr: usize,
    ka: usize,
    n_comp: usize,
    l_max: usize,
}

/// Pairs of the atom being pushed whose basis waits to be evaluated
/// [`LANES`] at a time ([`chebyshev_lanes`]), with the values of the last
/// evaluation.
struct Lanes {
    /// Pending pairs.
    n: usize,
    r: [f64; LANES],
    rc: [f64; LANES],
    /// Each pair's index among the atom's radial or angular pairs, and its
    /// neighbour's type.
    slot: [usize; LANES],
    t: [usize; LANES],
    value: [[f64; LANES]; MAX_CHANNEL + 1],
    deriv: [[f64; LANES]; MAX_CHANNEL + 1],
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            n: 0,
            r: [0.0; LANES],
            rc: [1.0; LANES],
            slot: [0; LANES],
            t: [0; LANES],
            value: [[0.0; LANES]; MAX_CHANNEL + 1],
            deriv: [[0.0; LANES]; MAX_CHANNEL + 1],
        }
    }
}

impl Lanes {
    /// Adds a pair; true when all lanes are full.
    fn add(&mut self, r: f64, rc: f64, slot: usize, t: usize) -> bool {
        let l = self.n;
        (self.r[l], self.rc[l], self.slot[l], self.t[l]) = (r, rc, slot, t);
        self.n += 1;
        self.n == LANES
    }

    /// f_k and f_k' (k < `k`) of the pending pairs into `value` and
    /// `deriv`, lane by lane; unused lanes hold whatever pair they last held
    /// (or r = 0 < r_c = 1), and are ignored.
    fn evaluate(&mut self, k: usize) {
        if self.n > 0 {
            chebyshev_lanes(
                &self.r,
                &self.rc,
                &mut self.value[..k],
                &mut self.deriv[..k],
            );
        }
    }
}

impl Geometry {
    /// An empty geometry for `nep`'s settings.
    pub fn new(nep: &Nep) -> Self {
        let mut g = Geometry::default();
        g.reset(nep);
        g
    }

    /// Empties this geometry for `nep`'s settings, keeping the memory (a
    /// scratch buffer serves call after call, whatever the model).
    pub fn reset(&mut self, nep: &Nep) {
        let h = nep.hyper();
        self.sizes = Sizes {
            nt: h.n_types(),
            kr: h.basis_size_radial + 1,
            ka: h.basis_size_angular + 1,
            n_comp: h.angular.n_components(),
            l_max: h.angular.l_max,
        };
        self.radial_start.clear();
        self.radial_start.push(0);
        self.angular_start.clear();
        self.angular_start.push(0);
        self.clear();
    }

    /// Forgets every atom pushed, keeping the memory.
    fn clear(&mut self) {
        self.radial_start.truncate(1);
        self.angular_start.truncate(1);
        self.radial_sum.clear();
        self.radial.clear();
        self.radial_deriv.clear();
        self.angular.clear();
        self.angular_basis.clear();
        self.y.clear();
        self.y_grad.clear();
    }

    /// Appends atom i of `s`.
    fn push(&mut self, nep: &Nep, s: &Prepared, i: usize) {
        let Sizes {
            nt,
            kr,
            ka,
            n_comp,
            l_max,
        } = self.sizes;
        let ti = s.types[i];
        let (index, vector) = s.neighbors.of(i);
        let sum_start = self.radial_sum.len();
        self.radial_sum.resize(sum_start + nt * kr, 0.0);
        let (mut radial, mut angular) = (Lanes::default(), Lanes::default());
        // Sized for every neighbour at once (nearly all are within the
        // radial cutoff, which is the list's) and cut back at the end.
        let radial_end = self.radial.len() + index.len();
        self.radial_deriv.resize(radial_end * kr, 0.0);
        for (&j, r) in index.iter().zip(vector) {
            let tj = s.types[j as usize];
            let settings = &nep.pairs[ti * nt + tj];
            let d = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
            let pair = Pair {
                j,
                t: tj as u32,
                d,
                r: *r,
            };
            if d < settings.rc_radial {
                let slot = self.radial.len();
                self.radial.push(pair);
                if radial.add(d, settings.rc_radial, slot, tj) {
                    self.radial_basis(&mut radial, sum_start);
                }
            }
            if d < settings.rc_angular {
                let slot = self.angular.len();
                self.angular_basis.resize(2 * ka * (slot + 1), 0.0);
                let u = pair.unit();
                let start = self.y.len();
                self.y.resize(start + n_comp, 0.0);
                harmonics(u, l_max, &mut self.y[start..]);
                self.y_grad.resize(start + n_comp, [0.0; 3]);
                harmonics_grad(u, l_max, &mut self.y_grad[start..]);
                self.angular.push(pair);
                if angular.add(d, settings.rc_angular, slot, tj) {
                    self.angular_basis(&mut angular);
                }
            }
        }
        self.radial_basis(&mut radial, sum_start);
        self.angular_basis(&mut angular);
        self.radial_deriv.truncate(self.radial.len() * kr);
        self.radial_start.push(self.radial.len());
        self.angular_start.push(self.angular.len());
    }

    /// Evaluates the radial basis of the pending pairs: f_k' into
    /// `radial_deriv`, f_k added (in pair order) to the atom's sums at
    /// `sum_start`.
    fn radial_basis(&mut self, pending: &mut Lanes, sum_start: usize) {
        let kr = self.sizes.kr;
        pending.evaluate(kr);
        let (value, deriv) = (&pending.value[..kr], &pending.deriv[..kr]);
        for l in 0..pending.n {
            let (slot, t) = (pending.slot[l], pending.t[l]);
            let out = &mut self.radial_deriv[slot * kr..(slot + 1) * kr];
            for (o, d) in out.iter_mut().zip(deriv) {
                *o = d[l];
            }
            let sum = &mut self.radial_sum[sum_start + t * kr..sum_start + (t + 1) * kr];
            for (b, v) in sum.iter_mut().zip(value) {
                *b += v[l];
            }
        }
        pending.n = 0;
    }

    /// Evaluates the angular basis of the pending pairs into
    /// `angular_basis` (f_k then f_k' per pair).
    fn angular_basis(&mut self, pending: &mut Lanes) {
        let ka = self.sizes.ka;
        pending.evaluate(ka);
        let (value, deriv) = (&pending.value[..ka], &pending.deriv[..ka]);
        for l in 0..pending.n {
            let slot = pending.slot[l];
            let out = &mut self.angular_basis[2 * ka * slot..2 * ka * (slot + 1)];
            for (o, v) in out.iter_mut().zip(value.iter().chain(deriv)) {
                *o = v[l];
            }
        }
        pending.n = 0;
    }

    /// The k-th atom pushed.
    pub fn atom(&self, k: usize) -> AtomGeometry<'_> {
        let Sizes {
            nt, kr, ka, n_comp, ..
        } = self.sizes;
        let (r0, r1) = (self.radial_start[k], self.radial_start[k + 1]);
        let (a0, a1) = (self.angular_start[k], self.angular_start[k + 1]);
        AtomGeometry {
            radial_sum: &self.radial_sum[k * nt * kr..(k + 1) * nt * kr],
            radial: &self.radial[r0..r1],
            radial_deriv: &self.radial_deriv[r0 * kr..r1 * kr],
            angular: &self.angular[a0..a1],
            angular_basis: &self.angular_basis[2 * ka * a0..2 * ka * a1],
            y: &self.y[n_comp * a0..n_comp * a1],
            y_grad: &self.y_grad[n_comp * a0..n_comp * a1],
        }
    }

    /// Heap bytes held.
    fn bytes(&self) -> usize {
        use std::mem::size_of;
        size_of::<Pair>() * (self.radial.capacity() + self.angular.capacity())
            + size_of::<f64>()
                * (self.radial_sum.capacity()
                    + self.radial_deriv.capacity()
                    + self.angular_basis.capacity()
                    + self.y.capacity())
            + size_of::<[f64; 3]>() * self.y_grad.capacity()
            + size_of::<usize>() * (self.radial_start.capacity() + self.angular_start.capacity())
    }
}

/// What a structure's cache holds for NEP: the settings it was computed
/// for ([`Nep::geometry_key`]) and its geometry, or `None` when it did not
/// fit in the cache budget.
struct Cached {
    key: Vec<u64>,
    geometry: Option<Geometry>,
    bytes: usize,
}

impl Drop for Cached {
    fn drop(&mut self) {
        if self.geometry.is_some() {
            cache_budget::release(self.bytes);
        }
    }
}

/// Where the atoms' geometry of one call comes from.
pub(super) enum Source<'g> {
    /// The structure's cache: every atom, computed once.
    Cached(Arc<dyn std::any::Any + Send + Sync>),
    /// Computed atom by atom into the caller's buffer.
    Scratch(&'g mut Geometry),
}

impl Source<'_> {
    /// Atom i's geometry.
    pub fn atom<'a>(&'a mut self, nep: &Nep, s: &Prepared, i: usize) -> AtomGeometry<'a> {
        match self {
            Source::Cached(any) => cached(any).expect("checked in Nep::geometry").1.atom(i),
            Source::Scratch(g) => {
                g.clear();
                g.push(nep, s, i);
                g.atom(0)
            }
        }
    }
}

/// The geometry in a cache entry, if the entry is NEP's and holds one,
/// with the key it was computed for.
fn cached(any: &Arc<dyn std::any::Any + Send + Sync>) -> Option<(&[u64], &Geometry)> {
    let entry = any.downcast_ref::<Cached>()?;
    Some((&entry.key, entry.geometry.as_ref()?))
}

impl Nep {
    /// What the geometry depends on besides positions: the per-pair
    /// cutoffs, the basis sizes and the harmonics' L.
    pub(super) fn geometry_key(&self) -> Vec<u64> {
        self.geometry_key_parts().collect()
    }

    /// [`Nep::geometry_key`] one number at a time (compared on every call,
    /// so without building the vector).
    fn geometry_key_parts(&self) -> impl Iterator<Item = u64> + '_ {
        let h = self.hyper();
        [
            h.basis_size_radial as u64,
            h.basis_size_angular as u64,
            h.angular.l_max as u64,
        ]
        .into_iter()
        .chain(
            self.pairs
                .iter()
                .flat_map(|p| [p.rc_radial.to_bits(), p.rc_angular.to_bits()]),
        )
    }

    /// The geometry source for one call on `s`: the cache when it holds
    /// this model's geometry, else `buffer`, emptied for this model.
    pub(super) fn geometry<'g>(&self, s: &Prepared, buffer: &'g mut Geometry) -> Source<'g> {
        if let Some(any) = s.cache.get()
            && cached(any).is_some_and(|(key, _)| key.iter().copied().eq(self.geometry_key_parts()))
        {
            return Source::Cached(any.clone());
        }
        buffer.reset(self);
        Source::Scratch(buffer)
    }

    /// Computes the geometry of every atom of `s` into its cache, if the
    /// cache is empty and the budget allows.
    pub(super) fn cache_geometry(&self, s: &Prepared) {
        s.cache.get_or_init(|| {
            let mut g = Geometry::new(self);
            for i in 0..s.structure.n_atoms() {
                g.push(self, s, i);
            }
            let bytes = g.bytes();
            let geometry = cache_budget::reserve(bytes).then_some(g);
            Arc::new(Cached {
                key: self.geometry_key(),
                geometry,
                bytes,
            })
        });
    }
}
