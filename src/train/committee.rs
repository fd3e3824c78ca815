//! Committees (`[train] committee = K`): K models of one configuration that
//! differ in their seeds (`seed` … `seed`+K−1) and, with `committee_data =
//! "bootstrap"`, in their training structures. Their disagreement on a new
//! structure (the model deviation) says where they need data. The data are
//! read and prepared once; the members train one after another, each into
//! `member-k/` of the output directory with its own outputs and checkpoint,
//! and `committee.json` sums them up.

use super::config::{CommitteeData, TrainConfig};
use super::prepare;
use super::run::{self, Member, Outcome, RunOptions};
use crate::error::{Error, Result};
use crate::metrics::Summary;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// A member's output directory inside the committee's.
pub fn member_dir(dir: &Path, k: usize) -> PathBuf {
    dir.join(format!("member-{k}"))
}

/// Runs what `config` describes, one model or a committee, and writes every
/// output (rank 0): forcefit's files of each model, then what `finish`
/// adds (a drop-in's own files). The outcomes come back without their
/// evaluated structures (they are written).
pub fn run(
    config: &TrainConfig,
    config_text: &str,
    options: &RunOptions,
    finish: &mut dyn FnMut(&Outcome) -> Result<()>,
) -> Result<Vec<Outcome>> {
    if config.run.committee == 1 {
        let outcome = run::run(config, config_text, options)?;
        return Ok(vec![written(outcome, options, finish)?]);
    }
    let options = &run::for_rank(options);
    let k_total = config.run.committee;
    let base = &config.run.output_dir;
    let warm_of = |k: usize| {
        let dir = options.continue_from.as_deref().map(|d| member_dir(d, k));
        run::continued(options, &dir)
    };
    let mut warm = warm_of(0)?;
    let first = member_config(config, 0);
    let (data, first_model) = prepare::start(&first, &options.world, warm.as_ref(), options.quiet)?;
    let mut first_model = Some(first_model);
    let mut outcomes = Vec::with_capacity(k_total);
    for k in 0..k_total {
        let member_config = member_config(config, k);
        if k > 0 {
            warm = warm_of(k)?;
        }
        let model = match first_model.take() {
            Some(m) => m,
            None => data.model(&member_config, warm.as_ref(), options.quiet)?,
        };
        let text = toml::to_string(&member_config).map_err(|e| {
            Error::Invalid(format!("cannot serialise member {k}'s configuration: {e}"))
        })?;
        let member = Member {
            config: &member_config,
            config_text: &text,
            warm: warm.as_ref(),
            sample: (config.run.committee_data == CommitteeData::Bootstrap)
                .then(|| bootstrap(data.train_len(), member_config.run.seed)),
        };
        if !options.quiet {
            eprintln!(
                "committee member {k} of {k_total} (seed {}) → {}",
                member_config.run.seed,
                member_config.run.output_dir.display()
            );
        }
        let member_options = RunOptions {
            // A member not yet started when the run stopped starts afresh.
            resume: options.resume
                && member_config
                    .run
                    .output_dir
                    .join("checkpoint.json")
                    .is_file(),
            ..options.clone()
        };
        let outcome = run::run_member(&member, &member_options, &data, model)?;
        let stopped = outcome.stopped.is_some() || options.stop.load(Ordering::Relaxed);
        outcomes.push(written(outcome, options, finish)?);
        if stopped {
            break;
        }
    }
    if options.world.is_root() {
        write_summary(base, &outcomes)?;
    }
    Ok(outcomes)
}

/// Member k's configuration: seed + k, its own output directory, and the
/// committee's data split made explicit (so that its `forcefit.toml`-style
/// text trains the same member alone).
pub fn member_config(config: &TrainConfig, k: usize) -> TrainConfig {
    let mut c = config.clone();
    c.run.seed = config.run.seed.wrapping_add(k as u64);
    c.run.output_dir = member_dir(&config.run.output_dir, k);
    c.run.committee = 1;
    c.data.split_seed = Some(config.data.split_seed.unwrap_or(config.run.seed));
    c
}

/// A resample with replacement of `n` structures, drawn by `seed`.
fn bootstrap(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xb007_57a9);
    (0..n).map(|_| rng.random_range(0..n.max(1))).collect()
}

/// Writes the outcome's files (rank 0) and drops its evaluated structures.
fn written(
    mut outcome: Outcome,
    options: &RunOptions,
    finish: &mut dyn FnMut(&Outcome) -> Result<()>,
) -> Result<Outcome> {
    if options.world.is_root() {
        super::outputs::write(&outcome)?;
        finish(&outcome)?;
    }
    outcome.train_set = Default::default();
    outcome.validation_set = Default::default();
    Ok(outcome)
}

/// `committee.json`: each member's directory, epochs and errors, and the
/// spread of the members' test errors.
fn write_summary(dir: &Path, outcomes: &[Outcome]) -> Result<()> {
    let members: Vec<serde_json::Value> = outcomes
        .iter()
        .enumerate()
        .map(|(k, o)| {
            serde_json::json!({
                "member": k,
                "dir": format!("member-{k}"),
                "best_epoch": o.best_epoch,
                "epochs": o.epochs,
                "steps": o.steps,
                "stopped": o.stopped,
                "train": o.train,
                "test": o.validation,
            })
        })
        .collect();
    let spread = |f: fn(&Summary) -> Option<f64>| -> Option<[f64; 3]> {
        let values: Vec<f64> = outcomes
            .iter()
            .filter_map(|o| o.validation.as_ref().and_then(f))
            .collect();
        (!values.is_empty()).then(|| {
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let (lo, hi) = values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            [mean, lo, hi]
        })
    };
    let summary = serde_json::json!({
        "members": members,
        "test_energy_rmse_mev_per_atom_mean_min_max": spread(|s| s.energy_rmse_mev_per_atom),
        "test_force_rmse_mev_per_angstrom_mean_min_max": spread(|s| s.force_rmse_mev_per_angstrom),
    });
    let text = serde_json::to_string_pretty(&summary).map_err(|e| Error::Invalid(e.to_string()))?;
    crate::io::write_atomic(&dir.join("committee.json"), |w| {
        w.write_all(text.as_bytes())
    })
}
