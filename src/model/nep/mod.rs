//! NEP (neuroevolution potential), versions 3 and 4, computed exactly as
//! GPUMD and NEP_CPU do: Chebyshev radial functions with trainable
//! per-element-pair coefficients, 3-body (L ≤ 8) and many-body angular
//! invariants, a one-hidden-layer network per element, optional ZBL
//! repulsion.
//!
//! The flat parameter vector has `nep.txt`'s order: the networks
//! ([`network`]), then the radial and the angular descriptor coefficients
//! c[n][k][t_i][t_j]. `q_scaler` and the ZBL settings are fixed, not trained.

pub mod angular;
pub mod basis;
mod compute;
pub mod config;
mod covalent;
mod family;
pub use family::NepState;
pub mod file;
mod geometry;
mod gradient;
pub mod init;
pub mod network;
pub mod reduce;
pub mod zbl;

use crate::elements;
use crate::error::{Error, Result};
use crate::model::{Adjoint, Model, Prediction, Prepared};
use angular::AngularTerms;
use network::Network;

/// The ZBL part of a `nep*_zbl` model.
#[derive(Clone, Debug, PartialEq)]
pub enum Zbl {
    /// Universal ZBL switched off between `inner` and `outer` (Å).
    Universal {
        /// Inner cutoff: below it the full ZBL energy applies.
        inner: f64,
        /// Outer cutoff: beyond it ZBL is zero.
        outer: f64,
        /// Typewise factor from the `zbl` line (`zbl inner outer factor`,
        /// GPUMD's `use_typewise_cutoff_zbl` since late 2025): NEP_CPU then
        /// switches each pair off between 0 and min(factor · (R_cov,i +
        /// R_cov,j), outer). Not the `cutoff` line's older ZBL factor, whose
        /// inner cutoff is half the outer one.
        typewise: Option<f64>,
    },
    /// Fitted ZBL (`zbl 0 0`): for each unordered element pair (t_i ≤ t_j,
    /// in row order) ten numbers: inner, outer, then (a_k, b_k) for k = 1..4.
    Flexible(Vec<f64>),
}

/// Typewise cutoffs (the three extra factors of the `cutoff` line): the
/// cutoff of a pair is min(factor · (R_cov,i + R_cov,j), global cutoff).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TypewiseCutoff {
    /// Factor for the radial cutoff (≤ 0: not typewise).
    pub radial: f64,
    /// Factor for the angular cutoff.
    pub angular: f64,
    /// Factor for the ZBL outer cutoff (≤ 0: not typewise); inner = outer / 2.
    pub zbl: f64,
}

/// Largest n_max and basis_size GPUMD accepts.
pub const MAX_CHANNEL: usize = 19;
/// Largest hidden layer GPUMD accepts.
pub const MAX_NEURONS: usize = 200;
/// More element types than there are element symbols is a damaged file.
const MAX_TYPES: usize = 118;

/// NEP hyperparameters: everything in the header of `nep.txt`.
#[derive(Clone, Debug, PartialEq)]
pub struct NepHyper {
    /// 3 (one network shared by all elements), 4 (one per element) or 5
    /// (one per element, each with its own output bias).
    pub version: u32,
    /// Element symbols in type order.
    pub species: Vec<String>,
    /// Radial cutoff, Å; with per-element cutoffs the largest of them
    /// (NEP_CPU's neighbour-list cutoff).
    pub rc_radial: f64,
    /// Angular cutoff, Å (≤ radial); with per-element cutoffs the largest.
    pub rc_angular: f64,
    /// Per-element (radial, angular) cutoffs in type order (GPUMD's
    /// `cutoff rc_R,1 rc_A,1 … rc_R,N rc_A,N` form); a pair (t1, t2) uses
    /// the mean of its two elements' cutoffs. None: every element has
    /// `rc_radial`, `rc_angular`. Set it with [`NepHyper::set_element_cutoffs`],
    /// which keeps the two maxima above consistent.
    pub cutoffs: Option<Vec<[f64; 2]>>,
    /// GPUMD's neighbour-count hints (MN_radial, MN_angular), kept for output.
    pub max_neighbors: Option<(usize, usize)>,
    /// Typewise cutoff factors, if the `cutoff` line has them.
    pub typewise: Option<TypewiseCutoff>,
    /// Highest radial channel n (n = 0..=n_max_radial).
    pub n_max_radial: usize,
    /// Highest angular channel.
    pub n_max_angular: usize,
    /// Highest Chebyshev order of the radial basis.
    pub basis_size_radial: usize,
    /// Highest Chebyshev order of the angular basis.
    pub basis_size_angular: usize,
    /// Angular invariants (3-body l_max, then the many-body terms).
    pub angular: AngularTerms,
    /// Hidden neurons per network.
    pub neurons: usize,
    /// ZBL repulsion, if any.
    pub zbl: Option<Zbl>,
}

impl NepHyper {
    /// Number of element types.
    pub fn n_types(&self) -> usize {
        self.species.len()
    }

    /// Descriptor length.
    pub fn dim(&self) -> usize {
        self.n_max_radial + 1 + (self.n_max_angular + 1) * self.angular.n_invariants()
    }

    /// The network layout.
    pub fn network(&self) -> Network {
        Network {
            dim: self.dim(),
            neurons: self.neurons,
            n_networks: if self.version == 3 { 1 } else { self.n_types() },
            typewise_bias: self.version == 5,
        }
    }

    /// The (radial, angular) cutoffs of element type `t`.
    pub fn element_cutoffs(&self, t: usize) -> [f64; 2] {
        match &self.cutoffs {
            Some(c) => c[t],
            None => [self.rc_radial, self.rc_angular],
        }
    }

    /// Sets per-element (radial, angular) cutoffs, and `rc_radial`,
    /// `rc_angular` to their maxima. Equal cutoffs for every element are
    /// stored as uniform ones (`cutoffs` None), which is what they mean.
    pub fn set_element_cutoffs(&mut self, cutoffs: Vec<[f64; 2]>) {
        let max = |k: usize| {
            cutoffs
                .iter()
                .map(|c| c[k])
                .fold(f64::NEG_INFINITY, f64::max)
        };
        self.rc_radial = max(0);
        self.rc_angular = max(1);
        let uniform = cutoffs.windows(2).all(|w| w[0] == w[1]);
        self.cutoffs = if uniform { None } else { Some(cutoffs) };
    }

    /// Whether some elements have other cutoffs than others (then
    /// `nep.txt` needs the per-element `cutoff` line).
    pub fn has_element_cutoffs(&self) -> bool {
        self.cutoffs
            .as_ref()
            .is_some_and(|c| c.windows(2).any(|w| w[0] != w[1]))
    }

    /// Number of radial descriptor coefficients.
    pub fn n_radial_coefficients(&self) -> usize {
        self.n_types().pow(2) * (self.n_max_radial + 1) * (self.basis_size_radial + 1)
    }

    /// Number of angular descriptor coefficients.
    pub fn n_angular_coefficients(&self) -> usize {
        self.n_types().pow(2) * (self.n_max_angular + 1) * (self.basis_size_angular + 1)
    }

    /// Total number of trainable parameters.
    pub fn n_params(&self) -> usize {
        self.network().n_params() + self.n_radial_coefficients() + self.n_angular_coefficients()
    }

    /// Checks that the hyperparameters describe a model this code computes.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(3..=5).contains(&self.version) {
            return Err(format!(
                "NEP version {} is not supported (3, 4 and 5 are)",
                self.version
            ));
        }
        if self.species.is_empty() {
            return Err("the model has no elements".into());
        }
        for s in &self.species {
            if elements::atomic_number(s).is_none() {
                return Err(format!("unknown element symbol {s:?}"));
            }
        }
        if !(self.rc_radial.is_finite() && self.rc_radial > 0.0) {
            return Err(format!(
                "radial cutoff must be positive, got {}",
                self.rc_radial
            ));
        }
        if !(self.rc_angular.is_finite()
            && self.rc_angular > 0.0
            && self.rc_angular <= self.rc_radial)
        {
            return Err(format!(
                "angular cutoff must be positive and not above the radial cutoff {}, got {}",
                self.rc_radial, self.rc_angular
            ));
        }
        self.validate_element_cutoffs()?;
        self.angular.validate()?;
        if self.neurons == 0 || self.neurons > MAX_NEURONS {
            return Err(format!(
                "the network needs 1 to {MAX_NEURONS} neurons (GPUMD's limit), got {}",
                self.neurons
            ));
        }
        // Bounded before anything is sized from them: a damaged header
        // must not ask for gigabytes.
        for (name, v) in [
            ("n_max (radial)", self.n_max_radial),
            ("n_max (angular)", self.n_max_angular),
            ("basis_size (radial)", self.basis_size_radial),
            ("basis_size (angular)", self.basis_size_angular),
        ] {
            if v > MAX_CHANNEL {
                return Err(format!(
                    "{name} is {v}, above GPUMD's limit of {MAX_CHANNEL}"
                ));
            }
        }
        if self.n_types() > MAX_TYPES {
            return Err(format!(
                "{} elements, above the {MAX_TYPES} that have a symbol",
                self.n_types()
            ));
        }
        if let Some(t) = &self.typewise {
            for s in &self.species {
                let z = elements::atomic_number(s).unwrap_or(0);
                if (t.radial > 0.0 || t.zbl > 0.0) && covalent::radius(z).is_none() {
                    return Err(format!(
                        "typewise cutoffs need a covalent radius, which {s} lacks"
                    ));
                }
            }
        }
        match &self.zbl {
            Some(Zbl::Universal {
                inner,
                outer,
                typewise,
            }) => {
                if !(*inner >= 0.0 && outer > inner) {
                    return Err(format!(
                        "ZBL cutoffs must satisfy 0 <= inner < outer, got {inner} {outer}"
                    ));
                }
                if let Some(factor) = typewise {
                    self.validate_zbl_factor(*factor)?;
                }
                if *outer > self.rc_angular {
                    return Err(format!(
                        "ZBL outer cutoff {outer} exceeds the angular cutoff {} (GPUMD computes ZBL on the angular neighbours)",
                        self.rc_angular
                    ));
                }
            }
            Some(Zbl::Flexible(p)) => {
                let n = self.n_types() * (self.n_types() + 1) / 2 * 10;
                if p.len() != n {
                    return Err(format!(
                        "flexible ZBL needs {n} parameters, got {}",
                        p.len()
                    ));
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Per-element cutoffs: one positive (radial, angular) pair per
    /// element, angular ≤ radial as GPUMD demands of each element, and the
    /// uniform fields at their maxima. They exclude the `cutoff` line's
    /// typewise factors: that (older) line holds one cutoff pair only.
    fn validate_element_cutoffs(&self) -> std::result::Result<(), String> {
        let Some(cutoffs) = &self.cutoffs else {
            return Ok(());
        };
        if cutoffs.len() != self.n_types() {
            return Err(format!(
                "{} per-element cutoff pairs for {} elements",
                cutoffs.len(),
                self.n_types()
            ));
        }
        for (s, &[r, a]) in self.species.iter().zip(cutoffs) {
            if !(r.is_finite() && a.is_finite() && r > 0.0 && a > 0.0 && a <= r) {
                return Err(format!(
                    "cutoffs of {s}: need 0 < angular <= radial, got radial {r}, angular {a}"
                ));
            }
        }
        let max = |k: usize| {
            cutoffs
                .iter()
                .map(|c| c[k])
                .fold(f64::NEG_INFINITY, f64::max)
        };
        if self.rc_radial != max(0) || self.rc_angular != max(1) {
            return Err(format!(
                "with per-element cutoffs the model's cutoffs must be their maxima ({} {}), got {} {}",
                max(0),
                max(1),
                self.rc_radial,
                self.rc_angular
            ));
        }
        if self.typewise.is_some_and(|t| t.radial > 0.0) {
            return Err(
                "per-element cutoffs cannot be combined with typewise cutoff factors: no nep.txt form holds both"
                    .into(),
            );
        }
        Ok(())
    }

    /// The `zbl` line's typewise factor must be positive (as NEP_CPU
    /// demands), needs covalent radii, and cannot be combined with the
    /// `cutoff` line's ZBL factor: no GPUMD version writes both, and they
    /// disagree on the inner cutoff.
    fn validate_zbl_factor(&self, factor: f64) -> std::result::Result<(), String> {
        if factor <= 0.0 {
            return Err(format!("the ZBL factor must be positive, got {factor}"));
        }
        if self.typewise.is_some_and(|t| t.zbl > 0.0) {
            return Err(
                "a typewise ZBL factor on both the zbl and the cutoff line is ambiguous".into(),
            );
        }
        match self
            .species
            .iter()
            .find(|s| covalent::radius(elements::atomic_number(s).unwrap_or(0)).is_none())
        {
            Some(s) => Err(format!(
                "the typewise ZBL factor needs a covalent radius, which {s} lacks"
            )),
            None => Ok(()),
        }
    }
}

/// Cutoffs and ZBL settings of one ordered element pair.
#[derive(Clone, Debug)]
struct PairSettings {
    rc_radial: f64,
    rc_angular: f64,
    zbl: Option<PairZbl>,
}

/// ZBL switching cutoffs and screening terms of one element pair.
#[derive(Clone, Debug)]
struct PairZbl {
    inner: f64,
    outer: f64,
    terms: [(f64, f64); 4],
}

/// A NEP model: hyperparameters, trainable parameters and descriptor scaling.
#[derive(Clone, Debug)]
pub struct Nep {
    hyper: NepHyper,
    params: Vec<f64>,
    q_scaler: Vec<f64>,
    atomic_numbers: Vec<f64>,
    pairs: Vec<PairSettings>,
}

impl Nep {
    /// Builds a model from its parts, checking every size.
    pub fn new(hyper: NepHyper, params: Vec<f64>, q_scaler: Vec<f64>) -> Result<Self> {
        hyper.validate().map_err(Error::Invalid)?;
        if params.len() != hyper.n_params() {
            return Err(Error::Invalid(format!(
                "NEP needs {} parameters, got {}",
                hyper.n_params(),
                params.len()
            )));
        }
        if q_scaler.len() != hyper.dim() {
            return Err(Error::Invalid(format!(
                "NEP needs {} descriptor scales, got {}",
                hyper.dim(),
                q_scaler.len()
            )));
        }
        let atomic_numbers: Vec<f64> = hyper
            .species
            .iter()
            .map(|s| elements::atomic_number(s).unwrap_or(0) as f64)
            .collect();
        let pairs = pair_settings(&hyper);
        Ok(Nep {
            hyper,
            params,
            q_scaler,
            atomic_numbers,
            pairs,
        })
    }

    /// Reads a `nep.txt` file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        file::read(path)
    }

    /// The hyperparameters.
    pub fn hyper(&self) -> &NepHyper {
        &self.hyper
    }

    /// Descriptor scaling factors (q_scaler), one per descriptor component.
    pub fn q_scaler(&self) -> &[f64] {
        &self.q_scaler
    }

    /// Sets the neighbour-count hints written to `nep.txt` (GPUMD sizes its
    /// neighbour lists from them) to the largest radial and angular counts
    /// in `data` plus a 25 % margin.
    pub fn set_max_neighbors_from(&mut self, data: &[Prepared]) {
        let (mut max_r, mut max_a) = (0usize, 0usize);
        for s in data {
            for i in 0..s.structure.n_atoms() {
                let (index, vector) = s.neighbors.of(i);
                let (mut nr, mut na) = (0, 0);
                for (&j, r) in index.iter().zip(vector) {
                    let pair = &self.pairs[s.types[i] * self.hyper.n_types() + s.types[j as usize]];
                    let d = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
                    nr += usize::from(d < pair.rc_radial);
                    na += usize::from(d < pair.rc_angular);
                }
                max_r = max_r.max(nr);
                max_a = max_a.max(na);
            }
        }
        let margin = |n: usize| (n as f64 * 1.25).ceil() as usize + 1;
        self.hyper.max_neighbors = Some((margin(max_r), margin(max_a)));
    }

    /// Replaces the descriptor scales (length must be `dim`).
    pub fn set_q_scaler(&mut self, q_scaler: Vec<f64>) -> Result<()> {
        if q_scaler.len() != self.hyper.dim() {
            return Err(Error::Invalid(format!(
                "NEP needs {} descriptor scales, got {}",
                self.hyper.dim(),
                q_scaler.len()
            )));
        }
        self.q_scaler = q_scaler;
        Ok(())
    }

    /// The scaled descriptors q · q_scaler of every atom, row-major
    /// (n_atoms × dim), as NEP_CPU's `find_descriptor` reports them.
    pub fn descriptors(&self, s: &Prepared) -> Vec<f64> {
        let mut out = vec![0.0; s.structure.n_atoms() * self.hyper.dim()];
        let mut prediction = Prediction::default();
        let extra = compute::Extras {
            descriptors: Some(&mut out),
            hidden: None,
        };
        self.compute(s, &s.all_sites(), &mut prediction, extra);
        out
    }

    /// The hidden-layer activations tanh(W0 q − b0) of every atom,
    /// row-major (n_atoms × neurons): NEP's "latent space".
    pub fn hidden_activations(&self, s: &Prepared) -> Vec<f64> {
        let mut out = vec![0.0; s.structure.n_atoms() * self.hyper.neurons];
        let mut prediction = Prediction::default();
        let extra = compute::Extras {
            descriptors: None,
            hidden: Some(&mut out),
        };
        self.compute(s, &s.all_sites(), &mut prediction, extra);
        out
    }
}

/// Per-pair cutoffs, resolving per-element cutoffs, typewise factors and
/// ZBL variants.
fn pair_settings(h: &NepHyper) -> Vec<PairSettings> {
    let nt = h.n_types();
    let radius = |t: usize| {
        covalent::radius(elements::atomic_number(&h.species[t]).unwrap_or(0)).unwrap_or(0.0)
    };
    let mut out = Vec::with_capacity(nt * nt);
    for t1 in 0..nt {
        for t2 in 0..nt {
            let sum = radius(t1) + radius(t2);
            // NEP_CPU: rc = (rc[t1] + rc[t2]) * 0.5, for the Chebyshev
            // scaling as well as for the cutoff itself.
            let (c1, c2) = (h.element_cutoffs(t1), h.element_cutoffs(t2));
            let mut rc_radial = (c1[0] + c2[0]) * 0.5;
            let mut rc_angular = (c1[1] + c2[1]) * 0.5;
            if let Some(t) = h.typewise
                && t.radial > 0.0
            {
                rc_radial = (sum * t.radial).min(rc_radial);
                rc_angular = (sum * t.angular).min(rc_angular);
            }
            let zbl = match &h.zbl {
                None => None,
                Some(Zbl::Universal {
                    inner,
                    outer,
                    typewise,
                }) => {
                    let (mut inner, mut outer) = (*inner, *outer);
                    if let Some(t) = h.typewise
                        && t.zbl > 0.0
                    {
                        outer = (sum * t.zbl).min(outer);
                        inner = 0.5 * outer;
                    }
                    if let Some(factor) = typewise {
                        outer = (sum * factor).min(outer);
                        inner = 0.0;
                    }
                    Some(PairZbl {
                        inner,
                        outer,
                        terms: zbl::UNIVERSAL,
                    })
                }
                Some(Zbl::Flexible(p)) => {
                    let (a, b) = (t1.min(t2), t1.max(t2));
                    let index = a * nt - a * a.saturating_sub(1) / 2 + (b - a);
                    let q = &p[10 * index..10 * index + 10];
                    Some(PairZbl {
                        inner: q[0],
                        outer: q[1],
                        terms: [(q[2], q[3]), (q[4], q[5]), (q[6], q[7]), (q[8], q[9])],
                    })
                }
            };
            out.push(PairSettings {
                rc_radial,
                rc_angular,
                zbl,
            });
        }
    }
    out
}

impl Model for Nep {
    fn species(&self) -> &[String] {
        &self.hyper.species
    }

    fn cutoff(&self) -> f64 {
        self.hyper.rc_radial.max(self.hyper.rc_angular)
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn param_groups(&self) -> Vec<std::ops::Range<usize>> {
        let net = self.hyper.network();
        let mut groups = Vec::new();
        for t in 0..net.n_networks {
            // hidden layer (weights and biases), then output weights (and
            // NEP5's own bias)
            let (hidden, all) = (net.hidden_biases(t), net.range(t));
            groups.push(all.start..hidden.end);
            groups.push(hidden.end..all.end);
        }
        let b1 = net.bias_index();
        groups.push(b1..b1 + 1);
        let c0 = b1 + 1;
        let cr = c0 + self.hyper.n_radial_coefficients();
        groups.push(c0..cr);
        groups.push(cr..cr + self.hyper.n_angular_coefficients());
        groups
    }

    fn predict_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        self.compute(s, sites, out, compute::Extras::default());
    }

    fn vjp_sites(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        self.gradient(s, sites, adj, grad);
    }

    fn cache_structure(&self, s: &Prepared) {
        self.cache_geometry(s);
    }
}
