//! `forcefit nep DIR`, the GPUMD drop-in: real `nep.in` files parse into
//! the right configuration, a tiny training run leaves GPUMD's files,
//! `prediction 1` reproduces GPUMD's own prediction files, and bad input
//! fails with exit code 2 and the file and line named.

mod common;

use common::TempDir;
use forcefit::dropin::gpumd::nep_in as gpumd_input;
use forcefit::model::Model;
use forcefit::model::nep::Nep;
use forcefit::train::config::{OptimizerKind, Paths};
use std::path::Path;
use std::process::{Command, Output};

fn nep(dir: &Path, args: &[&str]) -> Output {
    common::dropin("nep", dir, args)
}

#[test]
fn pbte_nep_in_is_a_prediction_input() {
    let Some(dir) = common::shared("datasets/pbte") else {
        return;
    };
    let input = gpumd_input::read(&dir).unwrap();
    assert!(input.prediction);
    assert!(input.warnings.is_empty(), "{:?}", input.warnings);
    let c = &input.config;
    assert_eq!(
        c.model.as_nep().unwrap().species,
        Some(vec!["Te".into(), "Pb".into()])
    );
    assert_eq!(c.model.as_nep().unwrap().cutoff, [8.0, 4.0]);
    assert_eq!(c.data.train, Paths::One(dir.join("train.xyz")));
    assert_eq!(c.data.test, None);
    // Only `type` is given: nep.txt's other hyperparameters raise nothing.
    let model = Nep::from_file(&dir.join("nep.txt")).unwrap();
    let warnings = input
        .check_model(model.hyper(), &dir.join("nep.txt"))
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    // Explicit values that differ from the model file are reported.
    let text = "type 2 Pb Te\nprediction 1\nn_max 4 4\n";
    let other = gpumd_input::parse(text, Path::new("x/nep.in"), Path::new("x")).unwrap();
    let warnings = other
        .check_model(model.hyper(), Path::new("nep.txt"))
        .unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("x/nep.in:1") && warnings[0].contains("type order"));
    assert!(warnings[1].contains("x/nep.in:3: n_max 4 4 differs from nep.txt's 6 6"));
    let wrong = gpumd_input::parse("type 1 Pb\n", Path::new("x/nep.in"), Path::new("x")).unwrap();
    let e = wrong
        .check_model(model.hyper(), Path::new("nep.txt"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("x/nep.in:1: type: lists Pb but nep.txt"), "{e}");
}

#[test]
fn mosi2n4_nep_in_is_a_training_input() {
    let Some(dir) = common::shared("datasets/mosi2n4") else {
        return;
    };
    let input = gpumd_input::read(&dir).unwrap();
    assert!(!input.prediction);
    // Only the notes that GPUMD's SNES batch and generation are not Adam's.
    assert_eq!(input.warnings.len(), 2, "{:?}", input.warnings);
    assert!(input.warnings[0].contains("`batch 2000` is SNES's batch"));
    assert!(input.warnings[1].contains("`generation 300000` counts SNES generations"));
    let c = &input.config;
    assert_eq!(
        c.model.as_nep().unwrap().species,
        Some(vec!["Mo".into(), "Si".into(), "N".into()])
    );
    assert_eq!(c.model.as_nep().unwrap().version, 4);
    assert_eq!(c.model.as_nep().unwrap().cutoff, [6.0, 4.0]);
    assert_eq!(c.model.as_nep().unwrap().n_max, [4, 4]);
    assert_eq!(c.model.as_nep().unwrap().basis_size, [12, 12]);
    assert_eq!(c.model.as_nep().unwrap().l_max, [4, 2, 0]);
    assert_eq!(c.model.as_nep().unwrap().neuron, 30);
    assert_eq!(c.model.as_nep().unwrap().zbl, None);
    assert_eq!(
        (c.loss.lambda_e, c.loss.lambda_f, c.loss.lambda_v),
        (1.0, 1.0, 0.1)
    );
    assert_eq!((c.loss.lambda_1, c.loss.lambda_2), (0.0, 0.0));
    // `batch 2000` and `generation 300000` are SNES's: Adam keeps its batch
    // and plans at most 100,000 steps.
    assert_eq!(c.optimizer.batch_size, None);
    assert_eq!(c.optimizer.population, 50);
    assert_eq!(c.optimizer.kind, OptimizerKind::Adam);
    assert_eq!(c.run.steps, Some(100_000));
    assert_eq!(c.run.output_dir, dir);
    assert_eq!(c.data.train, Paths::One(dir.join("train.xyz")));
    assert_eq!(c.data.test, Some(Paths::One(dir.join("test.xyz"))));
    // The hyperparameters it sets are those of GPUMD's model trained from it.
    let model = Nep::from_file(&dir.join("nep.txt")).unwrap();
    let warnings = input
        .check_model(model.hyper(), &dir.join("nep.txt"))
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn tiny_training_run_writes_gpumd_s_files() {
    let dir = TempDir::new("nep-train");
    for name in ["train.xyz", "test.xyz"] {
        std::fs::copy(common::example(name), dir.path().join(name)).unwrap();
    }
    dir.file(
        "nep.in",
        "type 1 Si\ncutoff 4.5 3.8\nn_max 3 3\nbasis_size 5 5\nneuron 8\n\
         batch 8\ngeneration 40\nseed 3\noutput_descriptor 1 # cosmetic\n",
    );
    // DIR defaults to the current directory.
    let o = nep(dir.path(), &["-q", "-j", "1"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let err = common::stderr(&o);
    assert!(
        err.contains("warning:") && err.contains("nep.in:9: `output_descriptor` is ignored"),
        "{err}"
    );
    let model = forcefit::model::load(&dir.path().join("nep.txt")).unwrap();
    assert_eq!(model.cutoff(), 4.5);
    // 60 structures in batches of 8: 8 steps per epoch, 5 epochs.
    let loss = common::columns(&dir.path().join("loss.out"));
    assert_eq!(loss.len(), 5);
    for (i, row) in loss.iter().enumerate() {
        assert_eq!(row.len(), 10, "loss.out line {}", i + 1);
        assert_eq!(row[0], 8.0 * (i + 1) as f64);
        assert!(row[1] > 0.0 && row[4] > 0.0 && row[5] > 0.0);
        assert_eq!((row[2], row[3]), (0.0, 0.0), "no regularisation by default");
    }
    assert!(loss[4][1] < loss[0][1], "the loss decreases: {loss:?}");
    assert!(loss[4][7] > 0.0, "the test set is evaluated at the end");
    assert_eq!(
        common::columns(&dir.path().join("energy_train.out")).len(),
        60
    );
    let force_test = common::columns(&dir.path().join("force_test.out"));
    assert_eq!(force_test.len(), 530);
    assert!(force_test.iter().all(|r| r.len() == 6));
    for name in [
        "virial_train.out",
        "stress_test.out",
        "loss.csv",
        "summary.json",
    ] {
        assert!(dir.path().join(name).is_file(), "{name}");
    }
}

#[test]
fn prediction_reproduces_gpumd_s_files() {
    let Some(shared) = common::shared("datasets/pbte") else {
        return;
    };
    let dir = TempDir::new("nep-predict");
    for name in ["nep.in", "nep.txt", "train.xyz"] {
        std::fs::copy(shared.join(name), dir.path().join(name)).unwrap();
    }
    let o = nep(Path::new("."), &[dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("energy") && out.contains("0.414"), "{out}");
    assert!(!dir.path().join("loss.out").exists());
    // GPUMD computes in float32: agreement to 1e-4 (see gpumd_reproduction.rs).
    for name in ["energy_train.out", "force_train.out"] {
        let ours = common::columns(&dir.path().join(name));
        let gpumd = common::columns(&shared.join(name));
        assert_eq!(ours.len(), gpumd.len(), "{name}: line count");
        for (line, (a, b)) in ours.iter().zip(&gpumd).enumerate() {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-4 * y.abs().max(1.0),
                    "{name} line {}: {x} vs GPUMD's {y}",
                    line + 1
                );
            }
        }
    }
}

#[test]
fn bad_input_exits_with_2_and_names_file_and_line() {
    let cases = [
        ("type 1 Si\nfoo 1\n", "nep.in:2: unknown keyword `foo`"),
        (
            "type 1 Si\n# weights\ntype_weight 1 2\n",
            "nep.in:3: type_weight: expected 1 parameter, got 2",
        ),
        (
            "type 1 Si\nfine_tune a b\n",
            "nep.in:2: fine_tune: ./a not found (the foundation model)",
        ),
        (
            "type 1 Si\nq_scaler 1\n",
            "nep.in:2: q_scaler: this GPUMD keyword is not supported by forcefit",
        ),
        (
            "type 1 Si\ncutoff 5 four\n",
            "nep.in:2: cutoff: `four` is not a number",
        ),
        (
            "type 1 Si\ngeneration 1.5\n",
            "nep.in:2: generation: `1.5` is not a non-negative integer",
        ),
    ];
    for (text, expected) in cases {
        let dir = TempDir::new("nep-bad");
        std::fs::copy(common::example("train.xyz"), dir.path().join("train.xyz")).unwrap();
        dir.file("nep.in", text);
        let o = nep(dir.path(), &[]);
        assert_eq!(o.status.code(), Some(2), "{text:?}");
        let err = common::stderr(&o);
        assert!(err.contains(expected), "{text:?}: {err}");
    }

    let dir = TempDir::new("nep-missing");
    let o = nep(dir.path(), &["."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("nep.in: No such file or directory"),
        "{}",
        common::stderr(&o)
    );
    dir.file("nep.in", "type 1 Si\n");
    let o = nep(dir.path(), &["."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("train.xyz: not found"),
        "{}",
        common::stderr(&o)
    );
    dir.file(
        "train.xyz",
        std::fs::read(common::example("train.xyz")).unwrap(),
    );
    dir.file("nep.in", "type 1 Si\nprediction 1\n");
    let o = nep(dir.path(), &["."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("nep.txt: not found"),
        "{}",
        common::stderr(&o)
    );
}

/// The translated configuration the drop-in writes beside its outputs
/// (`forcefit.toml`, absolute paths) is a complete `forcefit train` input:
/// run from another directory, it trains the same model bit for bit.
#[test]
fn the_written_translation_trains_the_same_model() {
    let dir = TempDir::new("nep-toml");
    for name in ["train.xyz", "test.xyz"] {
        std::fs::copy(common::example(name), dir.path().join(name)).unwrap();
    }
    dir.file(
        "nep.in",
        "type 1 Si\ncutoff 4.5 3.8\nn_max 3 3\nbasis_size 5 5\nneuron 8\nepochs 3\nseed 5\n",
    );
    let o = nep(dir.path(), &["-q", "-j", "1"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let first = std::fs::read_to_string(dir.path().join("nep.txt")).unwrap();
    let toml = dir.path().join("forcefit.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(
        text.starts_with("# forcefit's translation of ./nep.in"),
        "{text}"
    );
    std::fs::remove_file(dir.path().join("nep.txt")).unwrap();
    std::fs::remove_file(dir.path().join("checkpoint.json")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args(["train", "-q", "-j", "1"])
        .arg(&toml)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::stderr(&o));
    let again = std::fs::read_to_string(dir.path().join("nep.txt")).unwrap();
    assert_eq!(
        first, again,
        "the same model from the written configuration"
    );
}
