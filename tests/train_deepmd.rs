//! DeePMD se_e2_a through the one training stack: FEKF, Adam and SNES on
//! the silicon example write a deepmd-kit `model.yaml` that `forcefit eval`
//! loads, the same model for any thread count, exact resumption after
//! SIGKILL, and the `[model]` keys of the family checked.

mod common;

use common::{SI_DEEPMD, TempDir, forcefit, model_file, si_config_for};
use serde_json::Value;

fn train(dir: &TempDir, epochs: usize, optimizer: &str, threads: &str) -> Value {
    let cfg = si_config_for(dir.path(), epochs, SI_DEEPMD, optimizer, "");
    let o = forcefit(&["train", "-q", "-j", threads, cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn fekf_training_lowers_the_errors_and_writes_a_model_yaml_that_eval_reads() {
    let dir = TempDir::new("deepmd-fekf");
    let summary = train(&dir, 8, "type = \"fekf\"\nbatch_size = 4", "2");
    assert_eq!(summary["model"]["family"], "deepmd");
    let log = std::fs::read_to_string(dir.path().join("out/loss.csv")).unwrap();
    let header: Vec<&str> = log.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "val_force_rmse_mev_per_angstrom")
        .unwrap();
    let force = |line: &str| -> f64 { line.split(',').nth(col).unwrap().parse().unwrap() };
    let rows: Vec<&str> = log
        .lines()
        .skip(1)
        .filter(|l| !l.split(',').nth(col).unwrap().is_empty())
        .collect();
    let (first, last) = (force(rows[0]), force(rows[rows.len() - 1]));
    assert!(
        last < 0.8 * first,
        "validation force RMSE {first} -> {last}"
    );
    // The written model gives the errors the run reported.
    let model = dir.path().join("out/model.yaml");
    let o = forcefit(&[
        "eval",
        "--json",
        "--model",
        model.to_str().unwrap(),
        common::example("test.xyz").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let eval: Value = serde_json::from_slice(&o.stdout).unwrap();
    let key = "force_rmse_mev_per_angstrom";
    let (a, b) = (
        eval[key].as_f64().unwrap(),
        summary["test"][key].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-9 * b, "eval {a} vs summary {b}");
}

#[test]
fn the_same_model_for_any_thread_count_and_every_optimizer_runs() {
    for (tag, optimizer, epochs) in [
        ("adam", "batch_size = 4", 3),
        ("fekf", "type = \"fekf\"\nbatch_size = 8", 2),
        ("snes", "type = \"snes\"\npopulation = 6", 2),
    ] {
        let one = TempDir::new(&format!("deepmd-j1-{tag}"));
        let two = TempDir::new(&format!("deepmd-j2-{tag}"));
        train(&one, epochs, optimizer, "1");
        train(&two, epochs, optimizer, "2");
        assert_eq!(
            model_file(one.path(), "model.yaml"),
            model_file(two.path(), "model.yaml"),
            "{tag}"
        );
    }
}

#[test]
fn fekf_resume_after_sigkill_finishes_with_the_same_model() {
    common::resume_after_kill_matches_for(
        "deepmd-fekf",
        SI_DEEPMD,
        "model.yaml",
        "type = \"fekf\"\nbatch_size = 4",
        12,
    );
}

#[test]
fn deepmd_keys_are_checked_and_named() {
    let dir = TempDir::new("deepmd-keys");
    for (model, needle) in [
        (
            "family = \"deepmd\"\nn_max = [4, 4]",
            "unknown field `n_max`",
        ),
        (
            "family = \"deepmd\"\nrcut = 4\nrcut_smth = 5",
            "model.rcut_smth",
        ),
        (
            "family = \"deepmd\"\nneuron = [4, 8]\naxis_neuron = 9",
            "model.axis_neuron",
        ),
        (
            "family = \"deepmd\"\nactivation_function = \"swish\"",
            "model.activation_function",
        ),
        (
            "family = \"deepmd\"\nsel = [10, 10]",
            "model.sel has 2 entries",
        ),
    ] {
        let cfg = si_config_for(dir.path(), 1, model, "batch_size = 4", "");
        let o = forcefit(&["train", "-q", cfg.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{model}: {err}");
        assert!(err.contains(needle), "{model}: {err}");
    }
}
