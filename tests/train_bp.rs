//! Behler–Parrinello networks through the one training stack: Adam and
//! FEKF on the silicon example write aenet potential files (binary and
//! ASCII) that `forcefit eval` loads and that reproduce the run's errors;
//! the same files for any thread count and every optimizer; exact
//! resumption after SIGKILL; energy-only training on a fraction of the
//! structures' forces; the `[model]` keys checked.

mod common;

use common::{SI_BP, TempDir, forcefit, si_config_for};
use serde_json::Value;

fn train(dir: &TempDir, epochs: usize, optimizer: &str, threads: &str, extra: &str) -> Value {
    let cfg = si_config_for(dir.path(), epochs, SI_BP, optimizer, extra);
    let o = forcefit(&["train", "-q", "-j", threads, cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn bytes(dir: &TempDir, name: &str) -> Vec<u8> {
    std::fs::read(dir.path().join("out").join(name)).unwrap_or_else(|_| panic!("{name} written"))
}

fn eval(model: &[&std::path::Path]) -> Value {
    let mut args = vec!["eval".to_string(), "--json".to_string()];
    for m in model {
        args.push("--model".into());
        args.push(m.display().to_string());
    }
    args.push(common::example("test.xyz").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = forcefit(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn adam_training_lowers_the_errors_and_writes_files_eval_reads() {
    let dir = TempDir::new("bp-adam");
    let summary = train(&dir, 12, "lr = 0.01\nbatch_size = 4", "2", "");
    assert_eq!(summary["model"]["family"], "bp");
    let log = std::fs::read_to_string(dir.path().join("out/loss.csv")).unwrap();
    let header: Vec<&str> = log.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "train_force_rmse_mev_per_angstrom")
        .unwrap();
    let force = |line: &str| -> f64 { line.split(',').nth(col).unwrap().parse().unwrap() };
    let rows: Vec<&str> = log.lines().skip(1).collect();
    let (first, last) = (force(rows[0]), force(rows[rows.len() - 1]));
    assert!(last < 0.8 * first, "training force RMSE {first} -> {last}");
    // Binary and ASCII files give the errors the run reported.
    let key = "force_rmse_mev_per_angstrom";
    let reported = summary["test"][key].as_f64().unwrap();
    for name in ["potential.Si.nn", "potential.Si.nn.ascii"] {
        let path = dir.path().join("out").join(name);
        let got = eval(&[&path])[key].as_f64().unwrap();
        assert!(
            (got - reported).abs() <= 1e-9 * reported,
            "{name}: eval {got} vs summary {reported}"
        );
    }
}

#[test]
fn the_same_files_for_any_thread_count_and_every_optimizer_runs() {
    for (tag, optimizer, epochs) in [
        ("adam", "batch_size = 4", 3),
        ("fekf", "type = \"fekf\"\nbatch_size = 8", 2),
        ("snes", "type = \"snes\"\npopulation = 6", 2),
    ] {
        let one = TempDir::new(&format!("bp-j1-{tag}"));
        let two = TempDir::new(&format!("bp-j2-{tag}"));
        train(&one, epochs, optimizer, "1", "");
        train(&two, epochs, optimizer, "2", "");
        for name in ["potential.Si.nn", "potential.Si.nn.ascii"] {
            assert_eq!(bytes(&one, name), bytes(&two, name), "{tag} {name}");
        }
    }
}

#[test]
fn fekf_resume_after_sigkill_finishes_with_the_same_files() {
    common::resume_after_kill_matches_for(
        "bp-fekf",
        SI_BP,
        "potential.Si.nn.ascii",
        "type = \"fekf\"\nbatch_size = 4",
        12,
    );
}

#[test]
fn force_structures_trains_the_others_on_energies_only() {
    let dir = TempDir::new("bp-force-structures");
    let cfg = si_config_for(dir.path(), 2, SI_BP, "batch_size = 4", "");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "[optimizer]",
            "[loss]\nforce_structures = 0.25\n\n[optimizer]",
        ),
    )
    .unwrap();
    let o = forcefit(&["train", "-q", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap(),
    )
    .unwrap();
    let (n, with) = (
        summary["train"]["n_structures"].as_u64().unwrap(),
        summary["train"]["n_with_forces"].as_u64().unwrap(),
    );
    assert_eq!(
        with,
        (n as f64 * 0.25).round() as u64,
        "{n} structures, {with} with forces"
    );
}

#[test]
fn bp_keys_are_checked_and_named() {
    let dir = TempDir::new("bp-keys");
    for (model, needle) in [
        ("family = \"bp\"\nn_max = [4, 4]", "unknown field `n_max`"),
        ("family = \"bp\"\nradial_cutoff = -1", "model.radial_cutoff"),
        ("family = \"bp\"\nradial_order = 1000", "model.radial_order"),
        ("family = \"bp\"\nactivation = \"relu\"", "activation"),
        ("family = \"bp\"\nhidden = [0]", "model.hidden"),
        (
            "family = \"bp\"\n[model.networks.Si]\nhidden = [4]\nactivations = [\"tanh\", \"tanh\"]",
            "model.networks.Si",
        ),
    ] {
        let cfg = si_config_for(dir.path(), 1, model, "batch_size = 4", "");
        let o = forcefit(&["train", "-q", cfg.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{model}: {err}");
        assert!(err.contains(needle), "{model}: {err}");
    }
}
