//! End-to-end training on the built-in silicon example: reproducibility
//! (same seed → same nep.txt, for any thread count), exact resumption
//! after SIGKILL, and clear errors for bad configurations.

mod common;

use std::path::{Path, PathBuf};

use common::forcefit;

const ADAM: &str = "batch_size = 4\nlr = 0.003";

/// A small, quick Adam configuration on the example data.
fn config(dir: &Path, epochs: usize, extra: &str) -> PathBuf {
    common::si_config(dir, epochs, ADAM, extra)
}

use common::nep_txt;

#[test]
fn same_seed_gives_the_same_model_for_any_thread_count() {
    let a = common::TempDir::new("train-a");
    let b = common::TempDir::new("train-b");
    let ca = config(a.path(), 4, "");
    let cb = config(b.path(), 4, "");
    let o = forcefit(&["train", "-q", "-j", "1", ca.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = forcefit(&["train", "-q", "-j", "2", cb.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(nep_txt(a.path()), nep_txt(b.path()));
    for f in [
        "loss.csv",
        "energy_train.out",
        "force_test.out",
        "virial_test.out",
        "summary.json",
        "checkpoint.json",
    ] {
        assert!(a.path().join("out").join(f).is_file(), "{f} missing");
    }
    // The written model is a valid nep.txt that reproduces the reported errors.
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(stdout.contains("test set:"), "{stdout}");
    let eval = forcefit(&[
        "eval",
        "--json",
        "-m",
        &a.path().join("out/nep.txt").display().to_string(),
        common::example("test.xyz").to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.path().join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        v["force_rmse_mev_per_angstrom"],
        summary["test"]["force_rmse_mev_per_angstrom"]
    );
}

#[test]
fn resume_after_sigkill_finishes_with_the_same_model() {
    common::resume_after_kill_matches("train", ADAM, 30);
}

#[test]
fn resume_refuses_changed_settings() {
    let dir = common::TempDir::new("train-changed");
    let cfg = config(dir.path(), 2, "");
    assert!(
        forcefit(&["train", "-q", cfg.to_str().unwrap()])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("neuron = 8", "neuron = 9");
    std::fs::write(&cfg, text).unwrap();
    let o = forcefit(&["train", "-q", "--resume", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    // The one key that changed, and nothing else, is named.
    assert!(
        e.contains("checkpoint.json")
            && e.contains("different settings: model.neuron: 8 → 9. Only"),
        "{e}"
    );
}

#[test]
fn bad_configurations_are_reported() {
    let dir = common::TempDir::new("train-bad");
    let run = |extra_model: &str, extra: &str| -> String {
        let text = std::fs::read_to_string(config(dir.path(), 2, extra))
            .unwrap()
            .replace("neuron = 8", &format!("neuron = 8\n{extra_model}"));
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let o = forcefit(&["train", "-q", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "accepted: {extra_model} {extra}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = run("colour = \"red\"", "");
    assert!(
        e.contains("bad.toml") && e.contains("unknown field `colour`"),
        "{e}"
    );
    let e = run("zbl = \"yes\"", "");
    assert!(e.contains("invalid type"), "{e}");
    let e = run("", "time_limit = -3\n");
    assert!(e.contains("train.time_limit"), "{e}");
    // A cutoff shorter than every interatomic distance (Si–Si ≥ 1.9 Å here).
    let text = std::fs::read_to_string(config(dir.path(), 2, ""))
        .unwrap()
        .replace("cutoff = [4.5, 3.8]", "cutoff = [1.5, 1.2]");
    std::fs::write(dir.path().join("short.toml"), text).unwrap();
    let o = forcefit(&[
        "train",
        "-q",
        dir.path().join("short.toml").to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("shorter than the shortest interatomic distance"),
        "{e}"
    );
}

#[test]
fn data_problems_are_reported() {
    let dir = common::TempDir::new("train-data");
    // Training data without forces while lambda_f > 0.
    let no_forces = dir.file(
        "noforce.xyz",
        "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 energy=-8.0 pbc=\"T T T\"\nSi 0 0 0\nSi 1.3 1.3 1.3\n",
    );
    let text = std::fs::read_to_string(config(dir.path(), 2, ""))
        .unwrap()
        .replace(
            &common::example("train.xyz").display().to_string(),
            &no_forces.display().to_string(),
        );
    std::fs::write(dir.path().join("a.toml"), &text).unwrap();
    let o = forcefit(&["train", "-q", dir.path().join("a.toml").to_str().unwrap()]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("lambda_f") && e.contains("have no forces"),
        "{e}"
    );
    // A test set with an element the training set lacks.
    let ge = dir.file(
        "ge.xyz",
        "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:force:R:3 energy=-8.0 pbc=\"T T T\"\nSi 0 0 0 0 0 0\nGe 1.3 1.3 1.3 0 0 0\n",
    );
    let text = std::fs::read_to_string(config(dir.path(), 2, ""))
        .unwrap()
        .replace(
            common::example("test.xyz").to_str().unwrap(),
            &ge.display().to_string(),
        );
    std::fs::write(dir.path().join("b.toml"), &text).unwrap();
    let o = forcefit(&["train", "-q", dir.path().join("b.toml").to_str().unwrap()]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("ge.xyz") && e.contains("element \"Ge\", which the training set lacks"),
        "{e}"
    );
}

/// Trains `epochs` epochs in a fresh directory; returns it and the config.
fn trained(tag: &str, epochs: usize) -> (common::TempDir, PathBuf) {
    let dir = common::TempDir::new(tag);
    let cfg = config(dir.path(), epochs, "");
    let o = forcefit(&["train", "-q", "-j", "1", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (dir, cfg)
}

fn edit_checkpoint(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("out/checkpoint.json");
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut c);
    std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
}

fn resume(cfg: &Path, epochs: usize) -> std::process::Output {
    let text = std::fs::read_to_string(cfg).unwrap();
    let text = text.replace("epochs = 2\n", &format!("epochs = {epochs}\n"));
    std::fs::write(cfg, text).unwrap();
    forcefit(&["train", "-q", "-j", "1", "--resume", cfg.to_str().unwrap()])
}

#[test]
fn version_1_checkpoints_resume_to_the_same_model() {
    let (reference, reference_cfg) = trained("train-v1-reference", 2);
    let (dir, cfg) = trained("train-v1", 2);
    // What forcefit 0.1 wrote: the descriptor scales as `q_scaler`.
    edit_checkpoint(dir.path(), |c| {
        let q = c["model_state"]["nep"]["q_scaler"].take();
        let o = c.as_object_mut().unwrap();
        o.remove("model_state");
        o.insert("q_scaler".into(), q);
        o.insert("version".into(), 1.into());
    });
    for c in [&cfg, &reference_cfg] {
        let o = resume(c, 4);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(nep_txt(dir.path()), nep_txt(reference.path()));
}

#[test]
fn damaged_checkpoints_are_refused_naming_the_field() {
    type Case = (&'static str, fn(&mut serde_json::Value), &'static str);
    let cases: [Case; 4] = [
        (
            "best",
            |c| {
                c["best_params"].as_array_mut().unwrap().pop();
            },
            "best_params has",
        ),
        (
            "adam",
            |c| {
                c["optimizer"]["Adam"]["m"]
                    .as_array_mut()
                    .unwrap()
                    .truncate(3);
            },
            "optimizer (Adam): m has 3",
        ),
        (
            "scales",
            |c| {
                c["model_state"]["nep"]["q_scaler"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            "model_state",
        ),
        (
            "family",
            |c| c["model_state"] = serde_json::json!({ "bp": {} }),
            "checkpoint.json",
        ),
    ];
    for (tag, edit, needle) in cases {
        let (dir, cfg) = trained(&format!("train-damaged-{tag}"), 2);
        edit_checkpoint(dir.path(), edit);
        let o = resume(&cfg, 3);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{tag}: {err}");
        assert!(
            err.contains(needle) && err.contains("checkpoint.json"),
            "{tag}: {err}"
        );
    }
}
