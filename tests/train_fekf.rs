//! The Kalman-filter optimizers (FEKF, RLEKF) end to end on the built-in
//! silicon example: training lowers the validation errors, results do not
//! depend on the thread count, a run killed with SIGKILL resumes exactly
//! (covariance side file included), refusals name the key, and `nep.in`'s
//! `optimizer fekf` maps onto the configuration. Also the `[optimizer]`
//! defaults and range checks of the Kalman keys.

mod common;

use forcefit::dropin::gpumd::nep_in as gpumd_input;
use forcefit::optim::Precision;
use forcefit::train::config::{OptimizerConfig, OptimizerKind, TrainConfig};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::forcefit;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn config(dir: &Path, epochs: usize, optimizer: &str, extra: &str) -> PathBuf {
    common::si_config(dir, epochs, optimizer, extra)
}

const FEKF: &str = "type = \"fekf\"\nbatch_size = 8";

fn train(args: &[&str], config: &Path) -> Output {
    let mut all = vec!["train"];
    all.extend_from_slice(args);
    all.push(config.to_str().unwrap());
    let o = forcefit(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

use common::nep_txt;

fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("out/summary.json")).expect("summary.json");
    serde_json::from_str(&text).unwrap()
}

/// The `checkpoint-kalman-*.npy` files in `out/`.
fn covariance_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("checkpoint-kalman-") && name.ends_with(".npy")
        })
        .collect();
    files.sort();
    files
}

/// loss.csv as (header, rows).
fn loss_csv(dir: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(dir.join("out/loss.csv")).expect("loss.csv");
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        // An empty field is a missing value (FEKF has no learning rate).
        .map(|l| {
            l.split(',')
                .map(|x| {
                    if x.is_empty() {
                        f64::NAN
                    } else {
                        x.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn fekf_training_lowers_the_validation_errors() {
    let dir = common::TempDir::new("fekf-train");
    // Validated after every epoch, so that the first row has errors.
    let cfg = config(dir.path(), 5, FEKF, "validate_every = 1\n");
    let o = train(&["-q", "-j", "2"], &cfg);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(stdout.contains("Kalman filter:"), "{stdout}");
    assert!(!nep_txt(dir.path()).is_empty());

    let (header, rows) = loss_csv(dir.path());
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let energy = column("val_energy_rmse_mev_per_atom");
    let force = column("val_force_rmse_mev_per_angstrom");
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter().all(|r| r[column("lr")].is_nan()),
        "FEKF has no learning rate"
    );
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    assert!(
        last[force] < 0.8 * first[force],
        "validation force RMSE {} → {}",
        first[force],
        last[force]
    );
    assert!(
        last[energy] < 0.8 * first[energy],
        "validation energy RMSE {} → {}",
        first[energy],
        last[energy]
    );

    let kalman = &summary(dir.path())["kalman"];
    assert!(
        kalman.is_object(),
        "summary.json lacks \"kalman\": {kalman}"
    );
    assert!(kalman["updates"].as_u64().unwrap() > 0, "{kalman}");
    assert_eq!(kalman["skipped"].as_u64(), Some(0), "{kalman}");
    assert_eq!(kalman["timing"]["steps"].as_u64(), Some(5 * 8), "{kalman}");
    // 60 structures in batches of 8: 8 steps per epoch, each one energy,
    // four force and one virial update.
    assert_eq!(kalman["updates"].as_u64(), Some(5 * 8 * 6), "{kalman}");
}

#[test]
fn fekf_gives_the_same_model_for_any_thread_count() {
    let a = common::TempDir::new("fekf-j1");
    let b = common::TempDir::new("fekf-j2");
    train(&["-q", "-j", "1"], &config(a.path(), 3, FEKF, ""));
    train(&["-q", "-j", "2"], &config(b.path(), 3, FEKF, ""));
    assert_eq!(nep_txt(a.path()), nep_txt(b.path()));
}

#[test]
fn fekf_resume_after_sigkill_finishes_with_the_same_model() {
    // Pinned to float64: the file is read back as float64 below.
    let fekf = &format!("{FEKF}\ncovariance_precision = \"float64\"");
    let (reference, killed) = common::resume_after_kill_matches("fekf", fekf, 30);
    let checkpoint = killed.path().join("out/checkpoint.json");

    // Exactly one covariance file is left, the one checkpoint.json names,
    // and it equals the uninterrupted run's.
    let files = covariance_files(killed.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    let named = json["covariance"]["file"].as_str().unwrap();
    assert_eq!(files[0].file_name().unwrap().to_str(), Some(named));
    let steps = json["step"].as_u64().unwrap();
    assert_eq!(named, format!("checkpoint-kalman-{steps}.npy"));
    let reference_files = covariance_files(reference.path());
    assert_eq!(reference_files.len(), 1, "{reference_files:?}");
    assert_eq!(
        std::fs::read(&files[0]).unwrap(),
        std::fs::read(&reference_files[0]).unwrap(),
        "the covariances differ from the uninterrupted run's"
    );

    // A plain 1-D float64 .npy holding the packed lower triangle of each
    // block, concatenated.
    let blocks: Vec<u64> = summary(killed.path())["kalman"]["blocks"]
        .as_array()
        .expect("summary.json kalman.blocks")
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    assert!(!blocks.is_empty());
    let expected: u64 = blocks.iter().map(|n| n * (n + 1) / 2).sum();
    let npy = npyz::NpyFile::new(std::io::BufReader::new(
        std::fs::File::open(&files[0]).unwrap(),
    ))
    .unwrap();
    assert_eq!(npy.shape(), &[expected]);
    let values: Vec<f64> = npy.into_vec().unwrap();
    assert_eq!(values.len() as u64, expected);
    assert!(values.iter().all(|x| x.is_finite()));
    // Diagonal elements of a covariance are positive.
    let mut at = 0;
    for n in blocks {
        let n = n as usize;
        for i in 0..n {
            let d = values[at + i * (i + 1) / 2 + i];
            assert!(d > 0.0, "diagonal element {i} of a block is {d}");
        }
        at += n * (n + 1) / 2;
    }
}

/// The filter folds its deferred rank-1 updates into the covariance before
/// a checkpoint, whatever the number of updates since the last fold: with
/// 7 structures per step there are 9 steps (54 updates) per epoch.
#[test]
fn fekf_checkpoints_after_any_number_of_updates() {
    let dir = common::TempDir::new("fekf-b7");
    let cfg = config(dir.path(), 1, "type = \"fekf\"\nbatch_size = 7", "");
    train(&["-q", "-j", "1"], &cfg);
    assert_eq!(covariance_files(dir.path()).len(), 1);
    assert_eq!(summary(dir.path())["kalman"]["updates"].as_u64(), Some(54));
}

#[test]
fn rlekf_runs_and_bad_kalman_settings_are_refused() {
    let dir = common::TempDir::new("rlekf");
    let o = train(
        &["-q", "-j", "2"],
        &config(dir.path(), 1, "type = \"rlekf\"", ""),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Kalman filter:"));
    assert!(dir.path().join("out/nep.txt").is_file());
    let kalman = &summary(dir.path())["kalman"];
    // One structure per step: 60 steps in the epoch.
    assert_eq!(kalman["timing"]["steps"].as_u64(), Some(60), "{kalman}");
    assert_eq!(kalman["skipped"].as_u64(), Some(0), "{kalman}");

    let refused = |optimizer: &str, extra_loss: &str| -> String {
        let cfg = config(dir.path(), 1, optimizer, "");
        let text = std::fs::read_to_string(&cfg).unwrap() + extra_loss;
        std::fs::write(&cfg, text).unwrap();
        let o = forcefit(&["train", "-q", cfg.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "accepted: {optimizer} {extra_loss}"
        );
        stderr(&o)
    };
    let e = refused("type = \"rlekf\"\nbatch_size = 4", "");
    assert!(e.contains("optimizer.batch_size"), "{e}");
    let e = refused(FEKF, "\n[loss]\nlambda_1 = 0.1\n");
    assert!(e.contains("lambda_1"), "{e}");
    let e = refused(&format!("{FEKF}\nmemory_budget = 1e-6"), "");
    assert!(
        e.contains("memory budget") && e.contains("block_size"),
        "{e}"
    );
}

#[test]
fn nep_in_selects_fekf() {
    let parse = |text: &str| {
        gpumd_input::parse(text, Path::new("d/nep.in"), Path::new("d")).map(|i| i.translation)
    };
    let c = parse("type 1 Si\noptimizer fekf\n").unwrap().config;
    assert_eq!(c.optimizer.kind, OptimizerKind::Fekf);
    // NEP's recipe for the filter, not GPUMD's batch 1000
    let o = c.optimizer_as_run();
    assert_eq!(o.batch_size(), 8);
    assert_eq!(o.block_size(), 1024);
    assert_eq!(o.measurement_noise, Some(0.01));
    assert_eq!(o.covariance_precision, Some(Precision::Float64));
    assert_eq!(c.loss.force_scale, Some(1.0));
    let c = parse("type 1 Si\nbatch 16\noptimizer fekf\n")
        .unwrap()
        .config;
    assert_eq!(c.optimizer.kind, OptimizerKind::Fekf);
    assert_eq!(c.optimizer.batch_size(), 16);
    let c = parse("type 1 Si\noptimizer rlekf\n").unwrap().config;
    assert_eq!(c.optimizer.kind, OptimizerKind::Rlekf);
    assert_eq!(c.optimizer.batch_size(), 1);
    let e = parse("type 1 Si\noptimizer bogus\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("d/nep.in:2") && e.contains("`bogus`") && e.contains("fekf"),
        "{e}"
    );

    // A tiny `forcefit nep` run with FEKF: 60 structures in batches of 8,
    // 16 steps = 2 epochs.
    let dir = common::TempDir::new("nep-fekf");
    for name in ["train.xyz", "test.xyz"] {
        std::fs::copy(common::example(name), dir.path().join(name)).unwrap();
    }
    dir.file(
        "nep.in",
        "type 1 Si\ncutoff 4.5 3.8\nn_max 3 3\nbasis_size 5 5\nneuron 8\n\
         optimizer fekf\nbatch 8\ngeneration 16\nseed 3\n",
    );
    let o = forcefit(&["nep", "-q", "-j", "1", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Kalman filter:"));
    assert!(dir.path().join("nep.txt").is_file());
    let loss = std::fs::read_to_string(dir.path().join("loss.out")).unwrap();
    assert_eq!(loss.lines().count(), 2, "{loss}");
}

/// The run's `[optimizer]` for `family` with `optimizer` given.
fn as_run(family: &str, optimizer: &str) -> OptimizerConfig {
    let text = format!(
        "[data]\ntrain = \"train.xyz\"\n[model]\nfamily = \"{family}\"\n[optimizer]\n{optimizer}\n"
    );
    TrainConfig::from_toml(&text, Path::new("run.toml"))
        .unwrap()
        .optimizer_as_run()
}

#[test]
fn fekf_defaults_follow_the_family_recipe() {
    // NEP: the recipe `forcefit nep` measured on MoSi2N4.
    let o = as_run("nep", "type = \"fekf\"");
    assert_eq!((o.batch_size(), o.block_size()), (8, 1024));
    assert_eq!(o.measurement_noise, Some(0.01));
    assert_eq!(o.covariance_precision, Some(Precision::Float64));
    assert_eq!(o.balance_by_loss, Some(false));
    let k = o.kalman_settings(usize::MAX);
    assert_eq!((k.block_size, k.noise), (1024, Some(0.01)));
    // DeePMD: the filter's own (deepmd-kit's) defaults.
    let o = as_run("deepmd", "type = \"fekf\"");
    assert_eq!((o.batch_size(), o.block_size()), (32, 10240));
    assert_eq!((o.measurement_noise, o.covariance_precision), (None, None));
    // BP: balanced prefactors.
    let o = as_run("bp", "type = \"fekf\"");
    assert_eq!(o.balance_by_loss, Some(true));
    assert_eq!((o.batch_size(), o.measurement_noise), (32, None));
    // What the user sets wins.
    let o = as_run(
        "nep",
        "type = \"fekf\"\nbatch_size = 4\nblock_size = 2048\nmeasurement_noise = 1.0\n\
         covariance_precision = \"float32\"",
    );
    assert_eq!((o.batch_size(), o.block_size()), (4, 2048));
    assert_eq!(o.measurement_noise, Some(1.0));
    assert_eq!(o.covariance_precision, Some(Precision::Float32));
    let o = as_run("bp", "type = \"fekf\"\nbalance_by_loss = false");
    assert_eq!(o.balance_by_loss, Some(false));
    // Other optimizers are untouched.
    let o = as_run("nep", "type = \"rlekf\"");
    assert_eq!(
        (o.batch_size(), o.block_size, o.measurement_noise),
        (1, None, None)
    );
    let o = as_run("nep", "type = \"adam\"");
    assert_eq!(o.batch_size(), 8);
}

fn parse_config(optimizer: &str) -> forcefit::Result<TrainConfig> {
    let text = format!("[data]\ntrain = \"train.xyz\"\n\n[optimizer]\n{optimizer}\n");
    TrainConfig::from_toml(&text, Path::new("run.toml"))
}

#[test]
fn kalman_defaults_depend_on_optimizer_and_batch_size() {
    // The filter's own defaults (deepmd-kit's), before a family's recipe.
    let c = parse_config("type = \"fekf\"").unwrap();
    assert_eq!(c.optimizer.batch_size, None);
    assert_eq!(c.optimizer.batch_size(), 32);
    let k = c.optimizer.kalman_settings(usize::MAX);
    assert_eq!(
        (k.p0, k.lambda0, k.nu, k.block_size),
        (1.0, 0.98, 0.9987, 10240)
    );
    let o = &c.optimizer;
    assert_eq!((o.force_updates, o.atoms_per_update), (4, 6));
    assert_eq!((o.pref_e, o.pref_f, o.pref_v), (1.0, 1.0, 1.0));
    assert_eq!(o.memory_budget, None);

    assert_eq!(
        parse_config("type = \"rlekf\"")
            .unwrap()
            .optimizer
            .batch_size(),
        1
    );
    assert_eq!(
        parse_config("type = \"adam\"")
            .unwrap()
            .optimizer
            .batch_size(),
        8
    );
    assert_eq!(parse_config("").unwrap().optimizer.batch_size(), 8);

    // Large batches get the paper's λ0 and ν ...
    let k = parse_config("type = \"fekf\"\nbatch_size = 2048")
        .unwrap()
        .optimizer
        .kalman_settings(usize::MAX);
    assert_eq!((k.lambda0, k.nu), (0.90, 0.996));
    // ... up to and including 1024 the small-batch ones ...
    let k = parse_config("type = \"fekf\"\nbatch_size = 1024")
        .unwrap()
        .optimizer
        .kalman_settings(usize::MAX);
    assert_eq!((k.lambda0, k.nu), (0.98, 0.9987));
    // ... and explicit values win.
    let k = parse_config("type = \"fekf\"\nbatch_size = 2048\nlambda0 = 0.95\nnu = 0.999")
        .unwrap()
        .optimizer
        .kalman_settings(usize::MAX);
    assert_eq!((k.lambda0, k.nu), (0.95, 0.999));
    // The effective batch counts: 2048 on 300 structures is a batch of 300.
    let k = parse_config("type = \"fekf\"\nbatch_size = 2048")
        .unwrap()
        .optimizer
        .kalman_settings(300);
    assert_eq!((k.lambda0, k.nu), (0.98, 0.9987));

    // An update is on when both its prefactor and its [loss] weight are.
    let text = "[data]\ntrain = \"t.xyz\"\n[loss]\nlambda_v = 0\n[optimizer]\ntype = \"fekf\"\npref_e = 0.5\n";
    let s = TrainConfig::from_toml(text, Path::new("run.toml"))
        .unwrap()
        .fekf_settings();
    assert_eq!((s.pref_e, s.pref_f, s.pref_v), (0.5, 1.0, 0.0));
}

#[test]
fn kalman_settings_out_of_range_are_refused() {
    common::assert_err(
        parse_config("type = \"fekf\"\nlambda0 = 1.5"),
        &["run.toml", "optimizer.lambda0", "(0, 1]"],
    );
    common::assert_err(
        parse_config("type = \"fekf\"\nnu = 0"),
        &["optimizer.nu", "(0, 1]"],
    );
    common::assert_err(
        parse_config("type = \"fekf\"\natoms_per_update = 0"),
        &["optimizer.atoms_per_update"],
    );
    common::assert_err(
        parse_config("type = \"fekf\"\nblock_size = 0"),
        &["optimizer.block_size"],
    );
    common::assert_err(parse_config("type = \"fekf\"\np0 = -1"), &["optimizer.p0"]);
    common::assert_err(
        parse_config("type = \"rlekf\"\nbatch_size = 4"),
        &["optimizer.batch_size", "fekf"],
    );
    common::assert_err(
        parse_config("type = \"fekf\"\npref_e = 0\npref_f = 0\npref_v = 0"),
        &["measure nothing"],
    );
    common::assert_err(
        TrainConfig::from_toml(
            "[data]\ntrain = \"t.xyz\"\n[loss]\nforce_fraction = 0.5\n[optimizer]\ntype = \"fekf\"\n",
            Path::new("run.toml"),
        ),
        &["loss.force_fraction"],
    );
}
