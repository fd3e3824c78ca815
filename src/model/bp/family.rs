//! BP as a model family: built from `[model]` (elements in ENV order),
//! fitted to the training data (aenet's descriptor and energy
//! normalisation), saved as aenet's potential files, one per element, in
//! the binary form aenet's predict.x, LAMMPS and ASE interfaces load and
//! the ASCII form aenet-PyTorch writes.

use super::BpModel;
use super::config::BpConfig;
use super::convert;
use crate::error::Result;
use crate::model::bp::BpStats;
use crate::model::family::{Family, KalmanRecipe, ModelFile};
use crate::model::{Model, Prepared};
use crate::structure::Structure;
use rand_chacha::ChaCha8Rng;

impl Family for BpModel {
    const NAME: &'static str = "bp";
    /// BP's losses (aenet's) weigh energies far above forces; the filter
    /// follows the loss only with balanced prefactors (TiO2, 120 s: test E
    /// 25 → 6.0 meV/atom, F 261 → 228 meV/Å, docs/benchmarks.md).
    const KALMAN_RECIPE: KalmanRecipe = KalmanRecipe {
        balance_by_loss: true,
        ..KalmanRecipe::FILTER_DEFAULTS
    };
    type Config = BpConfig;

    fn random_for(
        config: &BpConfig,
        species: Vec<String>,
        _train: &[Structure],
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        let hyper = config.hyper_for(species)?;
        BpModel::random(hyper, rng)
    }

    fn fit_data(&mut self, train: &[Prepared]) -> Vec<String> {
        if let Err(e) = self.fit_statistics(train) {
            return vec![format!("warning: the BP statistics were not fitted: {e}")];
        }
        let h = self.hyper();
        let st = self.stats();
        let e_atom: Vec<String> = h
            .species
            .iter()
            .zip(&st.e_atom)
            .map(|(el, e)| format!("{el} {e:.4}"))
            .collect();
        vec![
            format!(
                "BP (aenet Chebyshev): {} features per atom, {} parameters",
                self.dim_of(0),
                self.params().len()
            ),
            format!(
                "free-atom energies, eV: {}; energy scale {:.6}, shift {:.6} eV/atom",
                e_atom.join(", "),
                st.scale,
                st.shift
            ),
        ]
    }

    type State = BpStats;

    fn state(&self) -> BpStats {
        self.stats().clone()
    }

    fn restore_state(&mut self, state: BpStats) -> Result<()> {
        self.set_stats(state)
    }

    fn to_files(&self) -> Result<Vec<ModelFile>> {
        Ok(convert::to_files(self))
    }

    fn from_files(files: &[ModelFile]) -> Result<Self> {
        convert::from_files(files)
    }

    fn hyper_json(&self) -> serde_json::Value {
        let h = self.hyper();
        let networks: Vec<serde_json::Value> = h
            .networks
            .iter()
            .map(|n| {
                serde_json::json!({
                    "widths": n.layers.iter().map(|l| l.n_out).collect::<Vec<_>>(),
                    "activations": n.layers.iter().map(|l| l.activation.name()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut v = serde_json::to_value(h).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("family".into(), Self::NAME.into());
            o.insert("networks".into(), networks.into());
            o.insert("parameters".into(), self.params().len().into());
        }
        v
    }

    fn with_random_params(&self, rng: &mut ChaCha8Rng) -> Result<Self> {
        let mut random = BpModel::random(self.hyper().clone(), rng)?;
        random.set_stats(self.stats().clone())?;
        Ok(random)
    }

    fn descriptor_dim(&self) -> usize {
        (0..self.hyper().species.len())
            .map(|t| self.dim_of(t))
            .max()
            .unwrap_or(0)
    }

    /// Rows padded with zeros to the longest element's descriptor.
    fn atom_descriptors(&self, s: &Prepared) -> Vec<f64> {
        let dim = self.descriptor_dim();
        let raw = self.descriptors(s);
        let mut out = Vec::with_capacity(dim * s.types.len());
        let mut at = 0;
        for &t in &s.types {
            let d = self.dim_of(t);
            out.extend_from_slice(&raw[at..at + d]);
            out.resize(out.len() + dim - d, 0.0);
            at += d;
        }
        out
    }
}
