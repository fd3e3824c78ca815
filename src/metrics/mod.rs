//! Error metrics of predictions against DFT labels (`forcefit eval`), and
//! the prediction files in GPUMD's layout ([`write_gpumd_outputs`]).
//!
//! Definitions (all unweighted; structure weights only matter for training):
//!
//! - energy: e_s = (E_pred - E_ref) / N_s per structure with an energy
//!   label; RMSE = sqrt(mean e_s²), MAE = mean |e_s|, over structures.
//!   Unlike GPUMD's training loss, the mean error is *not* removed first; it
//!   is reported separately as `energy_mean_error_mev_per_atom`.
//! - force: every Cartesian component of every atom of structures with
//!   force labels, f_pred - f_ref; also split by species.
//! - virial: (W_pred - W_ref) / N_s for the six components xx yy zz xy yz zx
//!   of structures with a virial label (W = -stress · V), as GPUMD counts it.
//!
//! Errors are reported in meV/atom and meV/Å. Sums are kept exactly (see
//! `sum.rs`), so the statistics of a data set are bit-identical however
//! its structures are ordered, split across threads and merged.

mod gpumd;
pub(crate) mod sum;

pub use gpumd::{
    EV_PER_CUBIC_ANGSTROM_IN_GPA, MISSING, VIRIAL_COMPONENTS, format_g, write_gpumd_outputs,
};

use crate::model::Prediction;
use crate::structure::Structure;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use sum::ExactSum;

/// Count, sum of squares and sum of absolute values of one kind of error.
#[derive(Clone, Debug, Default, PartialEq)]
struct Moments {
    count: usize,
    sum_squares: ExactSum,
    sum_abs: ExactSum,
}

impl Moments {
    fn add(&mut self, error: f64) {
        self.count += 1;
        self.sum_squares.add(error * error);
        self.sum_abs.add(error.abs());
    }

    fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum_squares.merge(&other.sum_squares);
        self.sum_abs.merge(&other.sum_abs);
    }

    /// Root mean square in milli-units; `None` without data.
    fn rmse_milli(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.sum_squares.value() / self.count as f64).sqrt() * 1e3)
    }

    /// Mean absolute value in milli-units; `None` without data.
    fn mae_milli(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_abs.value() / self.count as f64 * 1e3)
    }
}

/// Accumulates prediction errors structure by structure.
///
/// Build one per thread, [`add`](Self::add) structures, [`merge`](Self::merge)
/// the partial results and call [`summary`](Self::summary). All sums are
/// exact, so the summary does not depend on the order of adding or merging:
/// a parallel reduction gives the same bits as a sequential loop.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorStats {
    n_structures: usize,
    n_atoms: usize,
    n_with_energy: usize,
    n_with_forces: usize,
    n_with_virial: usize,
    n_non_finite: usize,
    /// Per-atom energy errors, eV/atom.
    energy: Moments,
    /// Signed sum of the per-atom energy errors, for the mean error.
    energy_signed: ExactSum,
    /// Force component errors, eV/Å.
    force: Moments,
    /// Force component errors by species, eV/Å.
    force_by_species: BTreeMap<String, Moments>,
    /// Per-atom virial component errors, eV/atom.
    virial: Moments,
}

impl ErrorStats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the errors of one structure: its energy, forces and virial when
    /// it has those labels. A structure without atoms is only counted.
    ///
    /// # Panics
    ///
    /// If the prediction does not have one force per atom (a prediction
    /// made for another structure: a bug in the caller, not bad input).
    pub fn add(&mut self, s: &Structure, p: &Prediction) {
        let n = s.n_atoms();
        assert_eq!(
            p.forces.len(),
            n,
            "{}: prediction has {} forces for {} atoms",
            s.origin,
            p.forces.len(),
            n
        );
        self.n_structures += 1;
        self.n_atoms += n;
        let finite = p.energy.is_finite()
            && p.forces.iter().flatten().all(|x| x.is_finite())
            && p.virial.iter().all(|x| x.is_finite());
        if !finite {
            self.n_non_finite += 1;
        }
        if n == 0 {
            return;
        }
        let labels = &s.labels;
        if let Some(e) = labels.energy {
            self.n_with_energy += 1;
            let error = (p.energy - e) / n as f64;
            self.energy.add(error);
            self.energy_signed.add(error);
        }
        if let Some(reference) = &labels.forces {
            self.n_with_forces += 1;
            for ((species, f), r) in s.species.iter().zip(&p.forces).zip(reference) {
                if !self.force_by_species.contains_key(species) {
                    let fresh = Moments::default();
                    self.force_by_species.insert(species.clone(), fresh);
                }
                if let Some(by_species) = self.force_by_species.get_mut(species) {
                    for c in 0..3 {
                        let error = f[c] - r[c];
                        self.force.add(error);
                        by_species.add(error);
                    }
                }
            }
        }
        if let Some(w) = &labels.virial {
            self.n_with_virial += 1;
            for &c in &VIRIAL_COMPONENTS {
                self.virial.add((p.virial[c] - w[c]) / n as f64);
            }
        }
    }

    /// Adds everything `other` accumulated. Exact, so merging in any order
    /// or grouping gives the same summary as adding sequentially.
    pub fn merge(&mut self, other: ErrorStats) {
        self.n_structures += other.n_structures;
        self.n_atoms += other.n_atoms;
        self.n_with_energy += other.n_with_energy;
        self.n_with_forces += other.n_with_forces;
        self.n_with_virial += other.n_with_virial;
        self.n_non_finite += other.n_non_finite;
        self.energy.merge(&other.energy);
        self.energy_signed.merge(&other.energy_signed);
        self.force.merge(&other.force);
        self.virial.merge(&other.virial);
        for (species, m) in other.force_by_species {
            match self.force_by_species.get_mut(&species) {
                Some(mine) => mine.merge(&m),
                None => {
                    self.force_by_species.insert(species, m);
                }
            }
        }
    }

    /// RMSE and MAE of everything added so far.
    pub fn summary(&self) -> Summary {
        let energy_mean = (self.energy.count > 0)
            .then(|| self.energy_signed.value() / self.energy.count as f64 * 1e3);
        let force_by_species = self
            .force_by_species
            .iter()
            .filter_map(|(species, m)| {
                Some((
                    species.clone(),
                    SpeciesForceErrors {
                        n_atoms: m.count / 3,
                        rmse_mev_per_angstrom: m.rmse_milli()?,
                        mae_mev_per_angstrom: m.mae_milli()?,
                    },
                ))
            })
            .collect();
        Summary {
            n_structures: self.n_structures,
            n_atoms: self.n_atoms,
            n_with_energy: self.n_with_energy,
            n_with_forces: self.n_with_forces,
            n_with_virial: self.n_with_virial,
            n_non_finite: self.n_non_finite,
            energy_rmse_mev_per_atom: self.energy.rmse_milli(),
            energy_mae_mev_per_atom: self.energy.mae_milli(),
            energy_mean_error_mev_per_atom: energy_mean,
            force_rmse_mev_per_angstrom: self.force.rmse_milli(),
            force_mae_mev_per_angstrom: self.force.mae_milli(),
            virial_rmse_mev_per_atom: self.virial.rmse_milli(),
            virial_mae_mev_per_atom: self.virial.mae_milli(),
            force_by_species,
        }
    }
}

/// Force errors of the atoms of one species.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpeciesForceErrors {
    /// Atoms of this species in structures with force labels.
    pub n_atoms: usize,
    /// RMSE over their force components, meV/Å.
    pub rmse_mev_per_angstrom: f64,
    /// MAE over their force components, meV/Å.
    pub mae_mev_per_angstrom: f64,
}

/// Error metrics of a data set (see the module documentation for the
/// definitions). A metric without data is `None` (JSON `null`). If some
/// prediction was not finite (`n_non_finite > 0`) the affected metrics are
/// NaN or infinite, which `serde_json` also writes as `null`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Structures added.
    pub n_structures: usize,
    /// Atoms in those structures.
    pub n_atoms: usize,
    /// Structures with an energy label.
    pub n_with_energy: usize,
    /// Structures with force labels.
    pub n_with_forces: usize,
    /// Structures with a virial label.
    pub n_with_virial: usize,
    /// Structures whose prediction had a NaN or infinite value.
    pub n_non_finite: usize,
    /// RMSE of (E_pred - E_ref)/N over structures, meV/atom.
    pub energy_rmse_mev_per_atom: Option<f64>,
    /// MAE of (E_pred - E_ref)/N over structures, meV/atom.
    pub energy_mae_mev_per_atom: Option<f64>,
    /// Mean of (E_pred - E_ref)/N over structures (the energy shift GPUMD
    /// removes before its energy RMSE), meV/atom.
    pub energy_mean_error_mev_per_atom: Option<f64>,
    /// RMSE over all force components, meV/Å.
    pub force_rmse_mev_per_angstrom: Option<f64>,
    /// MAE over all force components, meV/Å.
    pub force_mae_mev_per_angstrom: Option<f64>,
    /// RMSE of (W_pred - W_ref)/N over the six components, meV/atom.
    pub virial_rmse_mev_per_atom: Option<f64>,
    /// MAE of (W_pred - W_ref)/N over the six components, meV/atom.
    pub virial_mae_mev_per_atom: Option<f64>,
    /// Force errors by species, sorted by symbol.
    pub force_by_species: BTreeMap<String, SpeciesForceErrors>,
}

impl Summary {
    /// A readable, aligned text table: energy, force and virial RMSE/MAE,
    /// then the force errors by species. `-` marks a metric without data.
    pub fn to_table(&self) -> String {
        fn number(x: Option<f64>) -> String {
            x.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{} structures, {} atoms (labels: energy {}, forces {}, virial {})",
            self.n_structures,
            self.n_atoms,
            self.n_with_energy,
            self.n_with_forces,
            self.n_with_virial
        );
        if self.n_non_finite > 0 {
            let _ = writeln!(
                out,
                "warning: {} structures have non-finite predictions",
                self.n_non_finite
            );
        }
        let _ = writeln!(out, "{:<8} {:>12} {:>12}  unit", "", "RMSE", "MAE");
        let rows = [
            (
                "energy",
                self.energy_rmse_mev_per_atom,
                self.energy_mae_mev_per_atom,
                "meV/atom",
            ),
            (
                "force",
                self.force_rmse_mev_per_angstrom,
                self.force_mae_mev_per_angstrom,
                "meV/Å",
            ),
            (
                "virial",
                self.virial_rmse_mev_per_atom,
                self.virial_mae_mev_per_atom,
                "meV/atom",
            ),
        ];
        for (name, rmse, mae, unit) in rows {
            let _ = writeln!(
                out,
                "{name:<8} {:>12} {:>12}  {unit}",
                number(rmse),
                number(mae)
            );
        }
        if !self.force_by_species.is_empty() {
            let width = self
                .force_by_species
                .keys()
                .map(|k| k.chars().count())
                .chain(["species".len()])
                .max()
                .unwrap_or(0);
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<width$} {:>9} {:>12} {:>12}  unit",
                "species", "atoms", "force RMSE", "force MAE"
            );
            for (species, e) in &self.force_by_species {
                let _ = writeln!(
                    out,
                    "{species:<width$} {:>9} {:>12} {:>12}  meV/Å",
                    e.n_atoms,
                    number(Some(e.rmse_mev_per_angstrom)),
                    number(Some(e.mae_mev_per_angstrom))
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
