//! DeePMD's se_e2_a descriptor with the `ener` fitting, computed exactly as
//! deepmd-kit v3's `deepmd/dpmodel/` computes it.
//!
//! For a centre i of type t_i with Σsel neighbour slots s (blocks of sel[t]
//! slots per neighbour type, filled nearest first, see [`select`]):
//!
//! - R̃_s = (env_s − davg[t_i, s]) / dstd[t_i, s] (4 columns, [`env`]); an
//!   empty slot has env = 0, so R̃_s = −davg/dstd, and deepmd-kit feeds it
//!   through the embedding like any other slot (no mask): it adds a
//!   position-independent term that this code reproduces;
//! - G_s = N_e(R̃_s,0), the embedding network of the neighbour type
//!   (`type_one_side`) or of the (centre, neighbour) pair, width ng;
//! - GR = (1/Σsel) Σ_s G_s ⊗ R̃_s (ng × 4), D = GR · GR<ᵀ with GR< the
//!   first `axis_neuron` rows: D[k·axis + m] = Σ_c GR[k,c] GR[m,c];
//! - E_i = F_{t_i}(D) + bias_atom_e[t_i] + out_bias[t_i].
//!
//! Forces come from dE/dr_ij of each pair: F_i += g_ij, F_j −= g_ij, and
//! the virial W = −Σ r_ij ⊗ g_ij (forcefit's W = −dE/dε).
//!
//! Parameters: the embedding networks in deepmd-kit's collection order
//! (index t_j for `type_one_side`, t_i + n_types·t_j otherwise), then one
//! fitting network per type, each laid out as [`crate::nn`] describes.
//! davg, dstd and the energy biases are data statistics, not trained
//! ([`DeepPotStats`]).

mod compute;
pub mod config;
pub mod env;
mod family;
pub mod file;
mod gradient;
mod init;
mod rows;
pub mod select;
pub mod stats;
mod tape;
mod value;

pub use config::DeepmdConfig;
pub use file::looks_like_deepmd;
pub use stats::DeepPotStats;

use crate::error::{Error, Result};
use crate::model::{Adjoint, Model, Prediction, Prepared, Tape};
use crate::nn::{Activation, Network, Precision};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

/// Most neighbour slots (Σsel) a model may have.
pub const MAX_SLOTS: usize = 20_000;

/// Widest layer a model may have.
pub const MAX_WIDTH: usize = 16_384;

/// The hyperparameters of an se_e2_a + ener model, with deepmd-kit's names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeepPotHyper {
    /// Element symbol of each type index.
    pub type_map: Vec<String>,
    /// Cutoff, Å.
    pub rcut: f64,
    /// Where the switch starts, Å.
    pub rcut_smth: f64,
    /// Slots per neighbour type.
    pub sel: Vec<usize>,
    /// Embedding widths.
    pub neuron: Vec<usize>,
    /// Columns of GR kept for D (the "axis" neurons).
    pub axis_neuron: usize,
    /// Timesteps in the embedding networks.
    pub resnet_dt: bool,
    /// One embedding network per neighbour type (true) or per pair (false).
    pub type_one_side: bool,
    /// Protection p in 1/(d + p).
    pub env_protection: f64,
    /// Keep davg at zero when fitting statistics.
    pub set_davg_zero: bool,
    /// Activation of the embedding networks.
    pub activation_function: Activation,
    /// Hidden widths of the fitting networks.
    pub fitting_neuron: Vec<usize>,
    /// Timesteps in the fitting networks.
    pub fitting_resnet_dt: bool,
    /// Activation of the fitting networks' hidden layers.
    pub fitting_activation_function: Activation,
}

impl DeepPotHyper {
    /// Number of atom types.
    pub fn n_types(&self) -> usize {
        self.type_map.len()
    }

    /// Σsel.
    pub fn n_slots(&self) -> usize {
        self.sel.iter().fold(0usize, |a, &s| a.saturating_add(s))
    }

    /// Embedding width ng (the last of `neuron`).
    pub fn embedding_width(&self) -> usize {
        self.neuron.last().copied().unwrap_or(0)
    }

    /// Descriptor length ng · axis_neuron.
    pub fn descriptor_dim(&self) -> usize {
        self.embedding_width() * self.axis_neuron
    }

    /// Number of embedding networks.
    pub fn n_embeddings(&self) -> usize {
        if self.type_one_side {
            self.n_types()
        } else {
            self.n_types() * self.n_types()
        }
    }

    /// Checks that the hyperparameters describe a model this code computes;
    /// messages name deepmd-kit's key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let mut errors = Vec::new();
        if self.type_map.is_empty() {
            errors.push("type_map: the model has no types".to_string());
        }
        if self.sel.len() != self.type_map.len() {
            errors.push(format!(
                "sel: {} entries for {} types in type_map",
                self.sel.len(),
                self.type_map.len()
            ));
        }
        // bounds the per-call tables (types × slots × 4 × ng) a file can ask for
        if self.n_slots() > MAX_SLOTS {
            errors.push(format!(
                "sel: {} slots in all, at most {MAX_SLOTS}",
                self.n_slots()
            ));
        }
        for (k, t) in self.type_map.iter().enumerate() {
            if self.type_map[..k].contains(t) {
                errors.push(format!("type_map: {t} appears twice"));
            }
        }
        if self.n_slots() == 0 {
            errors.push("sel: no neighbour slots".to_string());
        }
        if !(self.rcut.is_finite() && self.rcut > 0.0) {
            errors.push(format!("rcut: must be positive, got {}", self.rcut));
        }
        if !(self.rcut_smth.is_finite() && self.rcut_smth >= 0.0 && self.rcut_smth < self.rcut) {
            errors.push(format!(
                "rcut_smth: must be in [0, rcut = {}), got {}",
                self.rcut, self.rcut_smth
            ));
        }
        if !(self.env_protection.is_finite() && self.env_protection >= 0.0) {
            errors.push(format!(
                "env_protection: must be ≥ 0, got {}",
                self.env_protection
            ));
        }
        if self.neuron.is_empty() || self.neuron.contains(&0) {
            errors.push("neuron: needs at least one layer, all widths positive".to_string());
        }
        if self.axis_neuron == 0 || self.axis_neuron > self.embedding_width() {
            errors.push(format!(
                "axis_neuron: must be in 1..={} (the last of neuron), got {}",
                self.embedding_width(),
                self.axis_neuron
            ));
        }
        if self.fitting_neuron.contains(&0) {
            errors.push("fitting_neuron: widths must be positive".to_string());
        }
        for (key, widths) in [
            ("neuron", &self.neuron),
            ("fitting_neuron", &self.fitting_neuron),
        ] {
            if widths.iter().any(|&w| w > MAX_WIDTH) {
                errors.push(format!("{key}: widths above {MAX_WIDTH} are not supported"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Prints a warning once per model (the flag clones with its value).
#[derive(Debug, Default)]
struct WarnOnce(AtomicBool);

impl Clone for WarnOnce {
    fn clone(&self) -> Self {
        WarnOnce(AtomicBool::new(self.0.load(Ordering::Relaxed)))
    }
}

impl WarnOnce {
    /// Whether this is the first call.
    fn first(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

/// A DeePMD se_e2_a + ener model.
#[derive(Clone, Debug)]
pub struct DeepPot {
    hyper: DeepPotHyper,
    embeddings: Vec<Network>,
    fittings: Vec<Network>,
    /// Start of each network's parameters (embeddings, then fittings), and
    /// the total as a last entry.
    offsets: Vec<usize>,
    params: Vec<f64>,
    stats: DeepPotStats,
    selector: select::Selector,
    meta: file::Meta,
    /// What the embedding networks compute in.
    precision: Precision,
    /// What the fitting networks compute in.
    fitting_precision: Precision,
    truncation_warned: WarnOnce,
}

impl DeepPot {
    /// Builds a model from its parts, checking every size: `embeddings`
    /// in collection order, one fitting network per type, `params` their
    /// concatenated parameters.
    pub fn new(
        hyper: DeepPotHyper,
        embeddings: Vec<Network>,
        fittings: Vec<Network>,
        params: Vec<f64>,
        stats: DeepPotStats,
    ) -> Result<Self> {
        hyper.validate().map_err(Error::Invalid)?;
        check_networks(&hyper, &embeddings, &fittings).map_err(Error::Invalid)?;
        let mut offsets = vec![0];
        for net in embeddings.iter().chain(&fittings) {
            offsets.push(offsets.last().unwrap_or(&0) + net.n_params());
        }
        let total = *offsets.last().unwrap_or(&0);
        if params.len() != total {
            return Err(Error::Invalid(format!(
                "the networks need {total} parameters, got {}",
                params.len()
            )));
        }
        stats.check(&hyper).map_err(Error::Invalid)?;
        let selector = select::Selector::new(&hyper.sel, hyper.rcut, !stats.slot_uniform(&hyper));
        Ok(DeepPot {
            hyper,
            embeddings,
            fittings,
            offsets,
            params,
            stats,
            selector,
            meta: file::Meta::default(),
            precision: Precision::Float64,
            fitting_precision: Precision::Float64,
            truncation_warned: WarnOnce::default(),
        })
    }

    /// The precision of the embedding networks' passes.
    pub fn embedding_precision(&self) -> Precision {
        self.precision
    }

    /// Runs the embedding networks in `precision` (float32: f32 tile
    /// passes; the environment matrix, the descriptor and every sum stay
    /// f64; so do the empty slots' rows,
    /// evaluated once per call). The model file names it as the
    /// descriptor's precision, as deepmd-kit's files do.
    pub fn set_embedding_precision(&mut self, precision: Precision) {
        self.precision = precision;
        self.meta.descriptor_precision = Some(precision.name().to_string());
    }

    /// The precision of the fitting networks.
    pub fn fitting_precision(&self) -> Precision {
        self.fitting_precision
    }

    /// Runs the fitting networks in `precision` (float32: f32 tile passes,
    /// as the embeddings'; the descriptor they read, the atomic energies,
    /// the descriptor's adjoints and the parameter gradient stay f64). The
    /// model file names it as the fitting's precision, as deepmd-kit's
    /// files do.
    pub fn set_fitting_precision(&mut self, precision: Precision) {
        self.fitting_precision = precision;
        self.meta.fitting_precision = Some(precision.name().to_string());
    }

    /// The hyperparameters.
    pub fn hyper(&self) -> &DeepPotHyper {
        &self.hyper
    }

    /// The embedding networks, in collection order.
    pub fn embeddings(&self) -> &[Network] {
        &self.embeddings
    }

    /// The fitting networks, one per type.
    pub fn fittings(&self) -> &[Network] {
        &self.fittings
    }

    /// The data statistics (davg, dstd, energy biases).
    pub fn stats(&self) -> &DeepPotStats {
        &self.stats
    }

    /// Replaces the data statistics (a checkpoint's), checking their sizes.
    pub fn set_stats(&mut self, stats: DeepPotStats) -> Result<()> {
        stats.check(&self.hyper).map_err(Error::Invalid)?;
        self.selector.sort_always = !stats.slot_uniform(&self.hyper);
        self.stats = stats;
        Ok(())
    }

    /// The environment-matrix cutoffs and protection.
    fn env_params(&self) -> env::EnvParams {
        env::EnvParams {
            rcut: self.hyper.rcut,
            rcut_smth: self.hyper.rcut_smth,
            protection: self.hyper.env_protection,
        }
    }

    /// Index of the embedding network for a (centre, neighbour) type pair.
    fn embedding_index(&self, centre: usize, neighbour: usize) -> usize {
        if self.hyper.type_one_side {
            neighbour
        } else {
            centre + self.hyper.n_types() * neighbour
        }
    }

    /// Parameter range of network `k` (embeddings first, then fittings).
    fn net_range(&self, k: usize) -> std::ops::Range<usize> {
        self.offsets[k]..self.offsets[k + 1]
    }

    /// The descriptor D of every atom, row-major (n_atoms × ng·axis_neuron),
    /// deepmd-kit's `descriptor` output.
    pub fn descriptors(&self, s: &Prepared) -> Vec<f64> {
        let mut out = vec![0.0; s.structure.n_atoms() * self.hyper.descriptor_dim()];
        let mut p = Prediction::default();
        self.compute(s, &s.all_sites(), &mut p, Some(&mut out));
        out
    }

    /// Warns once per model that `atoms` atoms had `dropped` neighbours
    /// within rcut beyond their `sel` slots.
    fn warn_truncation(&self, s: &Prepared, atoms: usize, dropped: usize) {
        if atoms > 0 && self.truncation_warned.first() {
            eprintln!(
                "warning: {}: {atoms} atoms have more neighbours within rcut = {} Å than sel = {:?} \
                 allows; the {dropped} farthest were ignored, as deepmd-kit does. Raise sel \
                 (this warning is shown once per model).",
                s.structure.origin, self.hyper.rcut, self.hyper.sel
            );
        }
    }
}

/// Checks the networks' shapes against the hyperparameters.
fn check_networks(
    h: &DeepPotHyper,
    emb: &[Network],
    fit: &[Network],
) -> std::result::Result<(), String> {
    if emb.len() != h.n_embeddings() {
        return Err(format!(
            "descriptor.embeddings: {} networks, expected {}",
            emb.len(),
            h.n_embeddings()
        ));
    }
    for (k, net) in emb.iter().enumerate() {
        net.check()
            .map_err(|e| format!("descriptor.embeddings.networks[{k}]: {e}"))?;
        if net.n_in() != 1 || net.n_out() != h.embedding_width() {
            return Err(format!(
                "descriptor.embeddings.networks[{k}]: maps {} → {}, expected 1 → {}",
                net.n_in(),
                net.n_out(),
                h.embedding_width()
            ));
        }
    }
    if fit.len() != h.n_types() {
        return Err(format!(
            "fitting.nets: {} networks, expected {}",
            fit.len(),
            h.n_types()
        ));
    }
    for (k, net) in fit.iter().enumerate() {
        net.check()
            .map_err(|e| format!("fitting.nets.networks[{k}]: {e}"))?;
        if net.n_in() != h.descriptor_dim() || net.n_out() != 1 {
            return Err(format!(
                "fitting.nets.networks[{k}]: maps {} → {}, expected {} → 1",
                net.n_in(),
                net.n_out(),
                h.descriptor_dim()
            ));
        }
    }
    Ok(())
}

impl Model for DeepPot {
    fn species(&self) -> &[String] {
        &self.hyper.type_map
    }

    fn cutoff(&self) -> f64 {
        self.hyper.rcut
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn param_groups(&self) -> Vec<std::ops::Range<usize>> {
        let nets = self
            .embeddings
            .iter()
            .chain(&self.fittings)
            .zip(&self.offsets);
        nets.flat_map(|(net, &base)| net.layer_ranges(base))
            .collect()
    }

    fn predict_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        self.compute(s, sites, out, None);
    }

    fn vjp_sites(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]) {
        self.gradient(s, sites, adj, grad, Tape::default());
    }

    fn predict_sites_taped(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) -> Tape {
        self.compute_taped(s, sites, out)
    }

    fn vjp_sites_taped(
        &self,
        s: &Prepared,
        sites: &[usize],
        adj: &Adjoint,
        grad: &mut [f64],
        tape: Tape,
    ) {
        self.gradient(s, sites, adj, grad, tape);
    }
}
