//! DeePMD se_e2_a as a model family: built from `[model]` (with `sel`
//! counted from the training data when absent), fitted to the training
//! data (davg/dstd and the energy bias, as deepmd-kit), saved as
//! deepmd-kit's `model.yaml`.

use super::config::{DeepmdConfig, auto_sel};
use super::{DeepPot, file};
use crate::error::{Error, Result};
use crate::model::deepmd::DeepPotStats;
use crate::model::family::{Family, ModelFile};
use crate::model::{Model, Prepared};
use crate::neighbors::NeighborList;
use crate::structure::Structure;
use rand_chacha::ChaCha8Rng;

impl Family for DeepPot {
    const NAME: &'static str = "deepmd";
    type Config = DeepmdConfig;

    fn random_for(
        config: &DeepmdConfig,
        species: Vec<String>,
        train: &[Structure],
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        let sel = match &config.sel {
            Some(sel) if sel.len() == species.len() => sel.clone(),
            Some(sel) => {
                return Err(Error::Invalid(format!(
                    "model.sel has {} entries for the {} elements ({})",
                    sel.len(),
                    species.len(),
                    species.join(", ")
                )));
            }
            None => auto_sel(&max_neighbor_counts(&species, train, config.rcut)?),
        };
        let hyper = config.hyper_with(species, sel).map_err(Error::Invalid)?;
        let mut pot = DeepPot::random(hyper, rng)?;
        config.apply_precisions(&mut pot);
        Ok(pot)
    }

    fn fit_data(&mut self, train: &[Prepared]) -> Vec<String> {
        self.fit_statistics(train);
        let h = self.hyper();
        let bias: Vec<String> = h
            .type_map
            .iter()
            .zip(&self.stats().out_bias)
            .map(|(t, b)| format!("{t} {b:.4}"))
            .collect();
        vec![
            format!(
                "DeePMD se_e2_a: sel {:?}, {} parameters",
                h.sel,
                self.params().len()
            ),
            format!("per-type energy bias, eV: {}", bias.join(", ")),
        ]
    }

    type State = DeepPotStats;

    fn state(&self) -> DeepPotStats {
        self.stats().clone()
    }

    fn restore_state(&mut self, state: DeepPotStats) -> Result<()> {
        self.set_stats(state)
    }

    fn to_files(&self) -> Result<Vec<ModelFile>> {
        Ok(vec![ModelFile::text("model.yaml", self.to_yaml_string()?)])
    }

    fn from_files(files: &[ModelFile]) -> Result<Self> {
        let (text, path) = ModelFile::single_text(files, Self::NAME)?;
        file::parse(text, path)
    }

    fn hyper_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.hyper()).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("family".into(), Self::NAME.into());
            o.insert("parameters".into(), self.params().len().into());
            // named only when not the default, so that float64 reports are
            // as they were
            if self.embedding_precision() != crate::nn::Precision::Float64 {
                o.insert("precision".into(), self.embedding_precision().name().into());
            }
            if self.fitting_precision() != crate::nn::Precision::Float64 {
                let p = self.fitting_precision().name();
                o.insert("fitting_precision".into(), p.into());
            }
        }
        v
    }

    fn with_random_params(&self, rng: &mut ChaCha8Rng) -> Result<Self> {
        let mut random = DeepPot::random(self.hyper().clone(), rng)?;
        random.set_stats(self.stats().clone())?;
        random.precision = self.precision;
        random.meta.descriptor_precision = self.meta.descriptor_precision.clone();
        random.fitting_precision = self.fitting_precision;
        random.meta.fitting_precision = self.meta.fitting_precision.clone();
        Ok(random)
    }

    fn descriptor_dim(&self) -> usize {
        self.hyper().descriptor_dim()
    }

    fn atom_descriptors(&self, s: &Prepared) -> Vec<f64> {
        self.descriptors(s)
    }
}

/// The largest number of neighbours of each type within `rcut` that any
/// atom of `train` has (elements outside `species` are left to the data
/// checks).
fn max_neighbor_counts(species: &[String], train: &[Structure], rcut: f64) -> Result<Vec<usize>> {
    let mut max = vec![0usize; species.len()];
    let mut counts = vec![0usize; species.len()];
    for s in train {
        let types: Vec<Option<usize>> = s
            .species
            .iter()
            .map(|sp| species.iter().position(|t| t == sp))
            .collect();
        let list = NeighborList::build(s, rcut)?;
        for i in 0..s.n_atoms() {
            counts.fill(0);
            let (index, vector) = list.of(i);
            for (&j, r) in index.iter().zip(vector) {
                let d2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
                if let (true, Some(t)) = (d2 < rcut * rcut, types[j as usize]) {
                    counts[t] += 1;
                }
            }
            for (m, &c) in max.iter_mut().zip(&counts) {
                *m = (*m).max(c);
            }
        }
    }
    Ok(max)
}
