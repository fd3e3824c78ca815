//! Loading and checking the training and validation structures before any
//! model is built, so that mistakes in the data are reported up front.

use super::config::{DataConfig, TrainConfig};
use crate::error::{Error, Result};
use crate::io::{self, Format};
use crate::structure::Structure;
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// The structures a run trains and validates on.
pub struct DataSets {
    /// Training structures.
    pub train: Vec<Structure>,
    /// Validation (test) structures; may be empty.
    pub validation: Vec<Structure>,
    /// Whether the validation set is a held-out part of the training files.
    pub held_out: bool,
}

fn read_all(paths: &[std::path::PathBuf], format: Option<Format>) -> Result<Vec<Structure>> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(io::read(p, format)?);
    }
    Ok(out)
}

/// Reads the data of `config` and checks it against the model and loss
/// settings: labels the loss needs, elements, cutoffs.
pub fn load(config: &TrainConfig) -> Result<DataSets> {
    let data: &DataConfig = &config.data;
    let format = data
        .format
        .as_deref()
        .map(|f| {
            f.parse::<Format>()
                .map_err(|e| Error::Invalid(format!("data.format: {e}")))
        })
        .transpose()?;
    let train_paths = data.train.list();
    let mut train = read_all(&train_paths, format)?;
    if train.is_empty() {
        return Err(Error::Invalid(format!(
            "data.train: no structures in {}",
            show(&train_paths)
        )));
    }
    let (validation, held_out) = match &data.test {
        Some(t) => (read_all(&t.list(), format)?, false),
        None if data.validation_fraction > 0.0 && train.len() < 2 => {
            return Err(Error::Invalid(format!(
                "data.validation_fraction = {}: the training set ({}) has {} structure, \
                 too few to hold any out; give data.test or set validation_fraction = 0",
                data.validation_fraction,
                show(&train_paths),
                train.len()
            )));
        }
        None if data.validation_fraction > 0.0 => {
            // A fixed permutation by seed: the same split on every run and resume.
            let split_seed = data.split_seed.unwrap_or(config.run.seed);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(split_seed ^ 0x5eed_da7a);
            let mut order: Vec<usize> = (0..train.len()).collect();
            order.shuffle(&mut rng);
            let n_val = ((train.len() as f64 * data.validation_fraction).round() as usize)
                .clamp(1, train.len() - 1);
            let mut keep = vec![true; train.len()];
            for &i in &order[..n_val] {
                keep[i] = false;
            }
            let mut val = Vec::with_capacity(n_val);
            let mut rest = Vec::with_capacity(train.len() - n_val);
            for (s, k) in train.into_iter().zip(keep) {
                if k { rest.push(s) } else { val.push(s) }
            }
            train = rest;
            (val, true)
        }
        None => (Vec::new(), false),
    };
    if config.loss.force_structures < 1.0 {
        let split_seed = data.split_seed.unwrap_or(config.run.seed);
        keep_forces_of(&mut train, config.loss.force_structures, split_seed);
    }
    if let Some(scale) = config.loss.force_scale {
        for s in &mut train {
            if let Some(f) = &s.labels.forces {
                let sum: f64 = f
                    .iter()
                    .map(|v| v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
                    .sum();
                let rms = (sum / (3 * f.len()).max(1) as f64).sqrt();
                s.labels.weight /= 1.0 + rms / scale;
            }
        }
    }
    check_labels(config, &train, &train_paths)?;
    check_species(config, &train, &validation)?;
    check_cutoff(config, &train)?;
    Ok(DataSets {
        train,
        validation,
        held_out,
    })
}

/// Keeps the force labels of round(fraction·n) of the n training
/// structures that have forces, drawn by `seed` (the same draw on every
/// run and resume), and drops the others' (aenet's `forcespercent`).
fn keep_forces_of(train: &mut [Structure], fraction: f64, seed: u64) {
    let mut with: Vec<usize> = (0..train.len())
        .filter(|&i| train[i].labels.forces.is_some())
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xf0ce_5e1e);
    with.shuffle(&mut rng);
    let keep = (with.len() as f64 * fraction).round() as usize;
    for &i in &with[keep.min(with.len())..] {
        train[i].labels.forces = None;
    }
}

fn show(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_labels(
    config: &TrainConfig,
    train: &[Structure],
    paths: &[std::path::PathBuf],
) -> Result<()> {
    let l = &config.loss;
    if l.lambda_f > 0.0 && train.iter().all(|s| s.labels.forces.is_none()) {
        return Err(Error::Invalid(format!(
            "loss.lambda_f is {} but the training data ({}) have no forces: add forces or set lambda_f = 0",
            l.lambda_f,
            show(paths)
        )));
    }
    if l.lambda_e > 0.0 && train.iter().all(|s| s.labels.energy.is_none()) {
        return Err(Error::Invalid(format!(
            "loss.lambda_e is {} but the training data ({}) have no energies: add energies or set lambda_e = 0",
            l.lambda_e,
            show(paths)
        )));
    }
    Ok(())
}

fn check_species(
    config: &TrainConfig,
    train: &[Structure],
    validation: &[Structure],
) -> Result<()> {
    let train_species = crate::elements::species_of(train);
    if let Some(model_species) = config.model.species() {
        for s in train {
            if let Some(sp) = s.species.iter().find(|sp| !model_species.contains(sp)) {
                return Err(s.error(format!(
                    "element {sp:?} is not in the model's element list ({})",
                    model_species.join(", ")
                )));
            }
        }
    }
    for s in validation {
        if let Some(sp) = s.species.iter().find(|sp| !train_species.contains(sp)) {
            return Err(s.error(format!(
                "the test set has element {sp:?}, which the training set lacks (training elements: {})",
                train_species.join(", ")
            )));
        }
    }
    Ok(())
}

/// The radial cutoff must reach beyond the shortest distance somewhere in
/// the data, or the model sees no neighbours at all.
fn check_cutoff(config: &TrainConfig, train: &[Structure]) -> Result<()> {
    let (rc, key) = config.model.cutoff();
    let mut shortest = f64::INFINITY;
    for s in train {
        // A 6 Å search finds the nearest neighbour in any condensed phase.
        let probe = rc.max(6.0);
        let list = crate::neighbors::NeighborList::build(s, probe)?;
        for r in &list.vector {
            shortest = shortest.min((r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt());
        }
        if shortest < rc {
            return Ok(());
        }
    }
    Err(Error::Invalid(format!(
        "{key}: the cutoff {rc} Å is shorter than the shortest interatomic distance in the training data ({}): \
         no atom would have a neighbour",
        if shortest.is_finite() {
            format!("{shortest:.3} Å")
        } else {
            "none within 6 Å".into()
        }
    )))
}
