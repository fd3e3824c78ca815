//! NEP as a model family: built from `[model]`, fitted to the training
//! data (descriptor scales, per-element energy references, neighbour-count
//! hints), saved as `nep.txt`.

use super::config::NepConfig;
use super::{Nep, file};
use crate::error::Result;
use crate::model::energy_reference::energy_references;
use crate::model::family::{Family, KalmanRecipe, ModelFile};
use crate::model::{Model, Prepared};
use crate::structure::Structure;
use rand_chacha::ChaCha8Rng;

impl Family for Nep {
    const NAME: &'static str = "nep";
    /// Measured on MoSi2N4 with GPUMD's nep.in (docs/benchmarks.md, "FEKF's
    /// NEP recipe"): 8 structures per step, blocks of 1,024 parameters, a
    /// measurement noise of 0.01 that lets each update correct far more of
    /// its error than deepmd-kit's (the number of blocks), and the
    /// covariance in float64 (15 MiB; in float32 this little noise let the
    /// filter diverge after about 4,700 steps). In 150 s on two threads:
    /// test F 107.9 meV/Å, where Adam reached 119.2 and the filter's
    /// defaults 166.
    const KALMAN_RECIPE: KalmanRecipe = KalmanRecipe {
        batch_size: Some(8),
        block_size: Some(1024),
        measurement_noise: Some(0.01),
        float64_covariance: true,
        balance_by_loss: false,
    };
    type Config = NepConfig;

    fn random_for(
        config: &NepConfig,
        species: Vec<String>,
        _train: &[Structure],
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        let hyper = config
            .hyper(species)
            .map_err(|e| crate::Error::Invalid(format!("model: {e}")))?;
        hyper
            .validate()
            .map_err(|e| crate::Error::Invalid(format!("model: {e}")))?;
        Nep::random(hyper, rng)
    }

    fn fit_data(&mut self, train: &[Prepared]) -> Vec<String> {
        self.scale_descriptors(train);
        let (references, rank) = energy_references(self.species(), train);
        self.set_energy_references(&references);
        self.center_energy(train);
        self.set_max_neighbors_from(train);
        let listed: Vec<String> = self
            .species()
            .iter()
            .zip(&references)
            .map(|(s, e)| format!("{s} {e:.4}"))
            .collect();
        let note = if rank < references.len() {
            format!(" (the compositions fix only {rank} combination(s); minimum-norm values)")
        } else {
            String::new()
        };
        vec![format!(
            "per-element energy references, eV: {}{note}",
            listed.join(", ")
        )]
    }

    type State = NepState;

    fn state(&self) -> NepState {
        NepState {
            q_scaler: self.q_scaler().to_vec(),
        }
    }

    fn restore_state(&mut self, state: NepState) -> Result<()> {
        self.set_q_scaler(state.q_scaler)
    }

    fn to_files(&self) -> Result<Vec<ModelFile>> {
        Ok(vec![ModelFile::text("nep.txt", file::to_string(self))])
    }

    fn from_files(files: &[ModelFile]) -> Result<Self> {
        let (text, path) = ModelFile::single_text(files, Self::NAME)?;
        file::parse(text, path)
    }

    fn hyper_json(&self) -> serde_json::Value {
        let h = self.hyper();
        // As `model.cutoff` reads: a pair, or a pair per element.
        let cutoff = if h.has_element_cutoffs() {
            let per_element: serde_json::Map<String, serde_json::Value> = (0..h.n_types())
                .map(|t| {
                    (
                        h.species[t].clone(),
                        serde_json::json!(h.element_cutoffs(t)),
                    )
                })
                .collect();
            serde_json::Value::Object(per_element)
        } else {
            serde_json::json!([h.rc_radial, h.rc_angular])
        };
        serde_json::json!({
            "family": Self::NAME,
            "version": h.version,
            "type": h.species,
            "cutoff": cutoff,
            "n_max": [h.n_max_radial, h.n_max_angular],
            "basis_size": [h.basis_size_radial, h.basis_size_angular],
            "l_max": h.angular.gpumd_values(),
            "neuron": h.neurons,
            "zbl": h.zbl.is_some(),
            "parameters": self.params().len(),
        })
    }

    fn descriptor_dim(&self) -> usize {
        self.hyper().dim()
    }

    fn atom_descriptors(&self, s: &Prepared) -> Vec<f64> {
        self.descriptors(s)
    }

    fn with_random_params(&self, rng: &mut ChaCha8Rng) -> Result<Self> {
        let random = Nep::random(self.hyper().clone(), rng)?;
        // The random weights with this model's descriptor scales: unit
        // scales would saturate the network on unscaled descriptors.
        Nep::new(
            self.hyper().clone(),
            random.params().to_vec(),
            self.q_scaler().to_vec(),
        )
    }
}

/// NEP's data-dependent state in a checkpoint: the descriptor scales.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NepState {
    /// q_scaler, one per descriptor component.
    pub q_scaler: Vec<f64>,
}
