//! The data statistics of a BP model that are fitted, not trained: each
//! element's descriptor mean and mean square (aenet's `sfval_avg` and
//! `sfval_cov`, with `sfval_min`/`sfval_max` kept for the files), the
//! energy normalisation (`scale`, `shift`) and the free-atom energies,
//! plus the training-set summary aenet writes into its potential files.

use serde::{Deserialize, Serialize};

/// Features with a spread at or below this are dropped (aenet).
const MIN_SIGMA: f64 = 1e-10;

/// A BP model's fitted statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BpStats {
    /// Per element: mean of each descriptor feature.
    pub avg: Vec<Vec<f64>>,
    /// Per element: mean square of each feature (aenet's "cov").
    pub sq: Vec<Vec<f64>>,
    /// Per element: smallest value of each feature.
    pub min: Vec<Vec<f64>>,
    /// Per element: largest value of each feature.
    pub max: Vec<Vec<f64>>,
    /// Energy scale: the networks fit scale·(E − N·shift − ΣE_atom).
    pub scale: f64,
    /// Energy shift per atom, eV.
    pub shift: f64,
    /// Free-atom energy of each element, eV.
    pub e_atom: Vec<f64>,
    /// Atoms in the training set.
    pub n_atoms: u64,
    /// Structures in the training set.
    pub n_structures: u64,
    /// Smallest, largest and mean cohesive energy per atom, eV.
    pub e_range: [f64; 3],
}

impl BpStats {
    /// Statistics that change nothing: mean 0, mean square 1, scale 1,
    /// shift 0, E_atom 0.
    pub fn neutral(dims: &[usize]) -> Self {
        BpStats {
            avg: dims.iter().map(|&d| vec![0.0; d]).collect(),
            sq: dims.iter().map(|&d| vec![1.0; d]).collect(),
            min: dims.iter().map(|&d| vec![0.0; d]).collect(),
            max: dims.iter().map(|&d| vec![0.0; d]).collect(),
            scale: 1.0,
            shift: 0.0,
            e_atom: vec![0.0; dims.len()],
            n_atoms: 0,
            n_structures: 0,
            e_range: [0.0; 3],
        }
    }

    /// Checks the shapes against the descriptor lengths and every value.
    pub fn check(&self, dims: &[usize], n_types: usize) -> Result<(), String> {
        for (name, v) in [
            ("avg", &self.avg),
            ("sq", &self.sq),
            ("min", &self.min),
            ("max", &self.max),
        ] {
            let lens: Vec<usize> = v.iter().map(Vec::len).collect();
            if lens != dims {
                return Err(format!(
                    "descriptor statistics {name}: lengths {lens:?}, the model's descriptors have {dims:?}"
                ));
            }
            if v.iter().flatten().any(|x| !x.is_finite()) {
                return Err(format!(
                    "descriptor statistics {name}: a value is not finite"
                ));
            }
        }
        if self.e_atom.len() != n_types {
            return Err(format!(
                "{} free-atom energies for {n_types} elements",
                self.e_atom.len()
            ));
        }
        let finite = [self.scale, self.shift]
            .iter()
            .chain(&self.e_atom)
            .chain(&self.e_range)
            .all(|x| x.is_finite());
        if !finite || self.scale == 0.0 {
            return Err(format!(
                "energy normalisation: scale {} (must be finite, nonzero), shift {}, E_atom {:?}",
                self.scale, self.shift, self.e_atom
            ));
        }
        Ok(())
    }

    /// 1/σ per element and feature, σ = √(⟨x²⟩ − avg²), 0 for a dropped
    /// feature.
    pub fn inv_sigma(&self) -> Vec<Vec<f64>> {
        self.avg
            .iter()
            .zip(&self.sq)
            .map(|(avg, sq)| {
                avg.iter()
                    .zip(sq)
                    .map(|(a, q)| {
                        let s = (q - a * a).sqrt();
                        if s > MIN_SIGMA { 1.0 / s } else { 0.0 }
                    })
                    .collect()
            })
            .collect()
    }
}

/// Running per-feature sums of one element's descriptors.
#[derive(Clone, Debug)]
pub struct FeatureSums {
    count: u64,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

impl FeatureSums {
    /// Empty sums for `dim` features.
    pub fn new(dim: usize) -> Self {
        FeatureSums {
            count: 0,
            sum: vec![0.0; dim],
            sum_sq: vec![0.0; dim],
            min: vec![f64::INFINITY; dim],
            max: vec![f64::NEG_INFINITY; dim],
        }
    }

    /// Adds one atom's descriptor.
    pub fn add(&mut self, x: &[f64]) {
        self.count += 1;
        for (k, &v) in x.iter().enumerate() {
            self.sum[k] += v;
            self.sum_sq[k] += v * v;
            self.min[k] = self.min[k].min(v);
            self.max[k] = self.max[k].max(v);
        }
    }

    /// (avg, ⟨x²⟩, min, max); an element without atoms gets 0, 1, 0, 0.
    pub fn finish(self) -> [Vec<f64>; 4] {
        let d = self.sum.len();
        if self.count == 0 {
            return [vec![0.0; d], vec![1.0; d], vec![0.0; d], vec![0.0; d]];
        }
        let n = self.count as f64;
        [
            self.sum.iter().map(|s| s / n).collect(),
            self.sum_sq.iter().map(|s| s / n).collect(),
            self.min,
            self.max,
        ]
    }
}
