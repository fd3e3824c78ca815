//! What a run starts from: its data, read and prepared once (a committee's
//! members share it), and each member's model: from `[model] init`, from
//! an earlier run (`--continue-from`), or random with its data statistics
//! fitted to the training set.

use super::config::TrainConfig;
use super::data::{self, DataSets};
use super::shard::Shard;
use super::warm::WarmStart;
use crate::batch;
use crate::dist::World;
use crate::error::{Error, Result};
use crate::model::{AnyModel, Model, Prepared};
use crate::structure::Structure;
use std::sync::Arc;

/// A run's data, prepared for the models of one configuration.
pub struct RunData {
    /// The whole training set, prepared (on every rank: each member fits
    /// its data statistics on all of it, the same everywhere).
    all_train: Arc<Vec<Prepared>>,
    /// This rank's share of the training set.
    pub train: Shard,
    /// This rank's share of the validation set.
    pub validation: Shard,
    /// The hyperparameters the structures were prepared for (species
    /// order, cutoffs): every member must have them.
    hyper: serde_json::Value,
}

/// Reads the data of `config`, builds the first model (as
/// [`RunData::model`] does) and prepares the data for it. A structure that
/// fails on one rank stops every rank.
pub fn start(
    config: &TrainConfig,
    world: &World,
    warm: Option<&WarmStart>,
    quiet: bool,
) -> Result<(RunData, AnyModel)> {
    let data = data::load(config)?;
    world.agree(prepare(config, data, world, warm, quiet))
}

fn prepare(
    config: &TrainConfig,
    data: DataSets,
    world: &World,
    warm: Option<&WarmStart>,
    quiet: bool,
) -> Result<(RunData, AnyModel)> {
    let mut model = unfitted(config, &data.train, warm, quiet)?;
    let validation = Shard::prepare(world, data.validation, &model)?;
    let all_train = Arc::new(batch::prepare_all(&model, data.train)?);
    fit(&mut model, config, &all_train, warm.is_some(), quiet);
    let run_data = RunData {
        train: Shard::from_shared(world, &all_train),
        all_train,
        validation,
        hyper: model.hyper_json(),
    };
    Ok((run_data, model))
}

impl RunData {
    /// The model of `config` (a committee member's: its own seed), fitted to
    /// this data; it must have the hyperparameters the data were prepared for.
    pub fn model(
        &self,
        config: &TrainConfig,
        warm: Option<&WarmStart>,
        quiet: bool,
    ) -> Result<AnyModel> {
        let structures: Vec<Structure> =
            self.all_train.iter().map(|p| p.structure.clone()).collect();
        let mut model = unfitted(config, &structures, warm, quiet)?;
        drop(structures);
        if model.hyper_json() != self.hyper {
            return Err(Error::Invalid(format!(
                "{}: this model's hyperparameters differ from the first member's, \
                 for which the data were prepared",
                warm.map_or_else(|| "train.committee".into(), |w| w.dir.display().to_string())
            )));
        }
        fit(&mut model, config, &self.all_train, warm.is_some(), quiet);
        Ok(model)
    }

    /// Training structures in the whole set.
    pub fn train_len(&self) -> usize {
        self.train.len()
    }
}

/// The model before its data statistics are fitted: the earlier run's
/// best model, the `[model] init` files, or random weights by `train.seed`.
fn unfitted(
    config: &TrainConfig,
    train: &[Structure],
    warm: Option<&WarmStart>,
    quiet: bool,
) -> Result<AnyModel> {
    let m = &config.model;
    let model = match (warm, m.init()) {
        (Some(w), _) => w.model.clone(),
        (None, Some(paths)) => from_init(config, &paths, train, quiet)?,
        (None, None) => {
            let species = m
                .species()
                .map(|s| s.to_vec())
                .unwrap_or_else(|| crate::elements::species_of(train));
            AnyModel::random(m, species, train, config.run.seed)?
        }
    };
    // A weight for an element the model does not have is most likely a typo.
    if let Some(element) = config
        .loss
        .type_weight
        .keys()
        .find(|e| !model.species().contains(e))
    {
        return Err(Error::Invalid(format!(
            "loss.type_weight.{element}: {element} is not an element of the model ({})",
            model.species().join(" ")
        )));
    }
    Ok(model)
}

/// The model of `[model] init`, adapted to the run's elements.
fn from_init(
    config: &TrainConfig,
    paths: &[std::path::PathBuf],
    train: &[Structure],
    quiet: bool,
) -> Result<AnyModel> {
    let m = &config.model;
    let Some(first) = paths.first() else {
        return Err(Error::Invalid("model.init: no files given".into()));
    };
    let model = AnyModel::load(paths)?;
    if model.family() != m.family() {
        return Err(Error::file(
            first,
            format!(
                "model.init is a {} model but model.family is {}",
                model.family(),
                m.family()
            ),
        ));
    }
    let species = crate::elements::species_of(train);
    let (model, note) = model.adapt_init(m, &species, first)?;
    if let Some(note) = note.filter(|_| !quiet) {
        eprintln!("{note}");
    }
    Ok(model)
}

/// Fits a random model's data statistics (descriptor scales, energy
/// references) to the training set; a started model keeps its own, unless
/// the configuration asks to recompute its scales (NEP's `init_rescale`).
fn fit(model: &mut AnyModel, config: &TrainConfig, train: &[Prepared], warm: bool, quiet: bool) {
    let m = &config.model;
    if m.init().is_none() && !warm {
        for note in model.fit_data(train) {
            if !quiet {
                eprintln!("{note}");
            }
        }
    } else if model.rescale_init(m, train) && !quiet {
        eprintln!("descriptor scales recomputed from the training data (model.init_rescale)");
    }
}
