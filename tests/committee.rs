//! Committees (`train.committee`, `--committee`) and warm retraining
//! (`--continue-from`) through the command line, on the silicon example.

mod common;

use common::{SI_BP, SI_DEEPMD, SI_NEP, TempDir, forcefit, model_file, si_config_for, stderr};
use std::path::Path;

fn train(config: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "-q", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = forcefit(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// Member k of a committee is the run with seed + k, bit for bit, under any
/// thread count: the members share one preparation of the data.
#[test]
fn members_are_the_runs_of_their_seeds_for_any_thread_count() {
    let dir = TempDir::new("committee-members");
    let config = si_config_for(dir.path(), 3, SI_NEP, "type = \"adam\"", "");
    train(&config, &["--committee", "3", "-j", "1"]);
    let out = dir.path().join("out");
    let one_thread: Vec<String> = (0..3)
        .map(|k| read(&out.join(format!("member-{k}/nep.txt"))))
        .collect();
    assert_ne!(one_thread[0], one_thread[1], "members must differ");
    let summary = json(&out.join("committee.json"));
    assert_eq!(summary["members"].as_array().unwrap().len(), 3);

    train(&config, &["--committee", "3", "-j", "2"]);
    for (k, text) in one_thread.iter().enumerate() {
        assert_eq!(
            &read(&out.join(format!("member-{k}/nep.txt"))),
            text,
            "member {k} differs between -j 1 and -j 2"
        );
    }
    // Member 2 alone: the configuration with seed 7 + 2.
    let solo = TempDir::new("committee-solo");
    let text = read(&config).replace("seed = 7", "seed = 9").replace(
        &out.display().to_string(),
        &solo.path().join("out").display().to_string(),
    );
    let solo_config = solo.file("run.toml", text);
    train(&solo_config, &["-j", "2"]);
    assert_eq!(read(&solo.path().join("out/nep.txt")), one_thread[2]);
}

/// Bootstrap members train on resamples: they differ from the members that
/// train on the same structures, and every family trains as a committee.
#[test]
fn bootstrap_committees_of_every_family() {
    for (family, model, file) in [
        ("nep", SI_NEP, "nep.txt"),
        ("deepmd", SI_DEEPMD, "model.yaml"),
        ("bp", SI_BP, "potential.Si.nn.ascii"),
    ] {
        let dir = TempDir::new(&format!("committee-boot-{family}"));
        let same = si_config_for(dir.path(), 2, model, "type = \"adam\"", "committee = 2");
        train(&same, &["-j", "2"]);
        let same_member = read(&dir.path().join("out/member-1").join(file));
        let boot_dir = TempDir::new(&format!("committee-boot-{family}-b"));
        let boot = si_config_for(
            boot_dir.path(),
            2,
            model,
            "type = \"adam\"",
            "committee = 2\ncommittee_data = \"bootstrap\"",
        );
        train(&boot, &["-j", "2"]);
        let boot_member = read(&boot_dir.path().join("out/member-1").join(file));
        assert_ne!(
            same_member, boot_member,
            "{family}: bootstrap changed nothing"
        );
    }
}

/// With no data added and a schedule that continues the earlier one
/// (constant learning rate), a warm run is the earlier run continued: 4 +
/// 4 epochs give the model of 8, bit for bit, for every family (when the
/// best model is the last, as here).
#[test]
fn continuing_without_new_data_is_the_longer_run() {
    let adam = "type = \"adam\"\nlr = 0.001\ndecay = \"none\"";
    // The Kalman filter carries its covariance and memory factor over.
    let fekf = "type = \"fekf\"\nbatch_size = 4";
    for (family, model, file, optimizer) in [
        ("nep", SI_NEP, "nep.txt", adam),
        ("nep-fekf", SI_NEP, "nep.txt", fekf),
        ("deepmd", SI_DEEPMD, "model.yaml", adam),
        ("bp", SI_BP, "potential.Si.nn.ascii", adam),
    ] {
        let extra = "validate_every = 1";
        let long = TempDir::new(&format!("warm-long-{family}"));
        train(
            &si_config_for(long.path(), 8, model, optimizer, extra),
            &["-j", "2"],
        );
        let first = TempDir::new(&format!("warm-first-{family}"));
        train(
            &si_config_for(first.path(), 4, model, optimizer, extra),
            &["-j", "2"],
        );
        let best = json(&first.path().join("out/summary.json"))["best_epoch"].clone();
        assert_eq!(
            best, 4,
            "{family}: the test needs the last epoch to be the best"
        );
        let second = TempDir::new(&format!("warm-second-{family}"));
        let config = si_config_for(second.path(), 4, model, optimizer, extra);
        let from = first.path().join("out");
        train(
            &config,
            &["-j", "2", "--continue-from", from.to_str().unwrap()],
        );
        let best = json(&long.path().join("out/summary.json"))["best_epoch"].clone();
        assert_eq!(
            best, 8,
            "{family}: the test needs the last epoch to be the best"
        );
        assert_eq!(
            model_file(second.path(), file),
            model_file(long.path(), file),
            "{family}: 4 + 4 warm epochs differ from 8"
        );
    }
}

/// Added structures: the warm run trains on them (their error falls), on
/// its short default schedule, and a committee continues member by member.
#[test]
fn continuing_with_added_structures_learns_them() {
    let old = TempDir::new("warm-old");
    // The earlier run knows the first 20 structures of the training file.
    let all = read(&common::example("train.xyz"));
    let frames = split_frames(&all);
    let first20 = old.file("first20.xyz", frames[..20].concat());
    let rest = old.file("rest.xyz", frames[20..].concat());
    let config = |dir: &Path, train: &[&Path], extra: &str| {
        let list: Vec<String> = train
            .iter()
            .map(|p| format!("{:?}", p.display().to_string()))
            .collect();
        let text = format!(
            "[data]\ntrain = [{}]\ntest = {:?}\n\n[model]\n{SI_NEP}\n\n[train]\noutput_dir = {:?}\nseed = 3\ncommittee = 2\n{extra}",
            list.join(", "),
            rest.display().to_string(),
            dir.join("out").display().to_string()
        );
        let path = dir.join("run.toml");
        std::fs::write(&path, text).unwrap();
        path
    };
    train(
        &config(old.path(), &[&first20], "epochs = 20"),
        &["-j", "2"],
    );
    let before = json(&old.path().join("out/committee.json"));
    let new = TempDir::new("warm-new");
    let from = old.path().join("out");
    let out = train(
        &config(new.path(), &[&first20, &rest], ""),
        &["-j", "2", "--continue-from", from.to_str().unwrap()],
    );
    let after = json(&new.path().join("out/committee.json"));
    for k in 0..2 {
        let f = |v: &serde_json::Value| {
            v["members"][k]["test"]["force_rmse_mev_per_angstrom"]
                .as_f64()
                .unwrap()
        };
        assert!(
            f(&after) < 0.9 * f(&before),
            "member {k}: the added structures' force error went from {} to {} meV/Å",
            f(&before),
            f(&after)
        );
        // 40 of 60 structures are new: 0.15 · 300 · 2/3 = 30 epochs.
        assert_eq!(
            after["members"][k]["epochs"],
            30,
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The frames of an extended XYZ text, each with its lines.
fn split_frames(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let n: usize = lines[i].trim().parse().unwrap();
        out.push(lines[i..i + n + 2].join("\n") + "\n");
        i += n + 2;
    }
    out
}

#[test]
fn bad_committee_and_warm_inputs_are_clear_errors() {
    let dir = TempDir::new("committee-bad");
    let config = si_config_for(dir.path(), 2, SI_NEP, "type = \"adam\"", "");
    let path = config.to_str().unwrap();
    let o = forcefit(&["train", "-q", path, "--committee", "0"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("train.committee must be between 1 and 64"),
        "{}",
        stderr(&o)
    );
    let o = forcefit(&[
        "train",
        "-q",
        path,
        "--continue-from",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no checkpoint.json here"),
        "{}",
        stderr(&o)
    );
    // A committee continues from a committee: member-k/ must be there.
    train(&config, &["-j", "2"]);
    let from = dir.path().join("out");
    let other = TempDir::new("committee-bad-2");
    let config2 = si_config_for(other.path(), 2, SI_NEP, "type = \"adam\"", "committee = 2");
    let o = forcefit(&[
        "train",
        "-q",
        config2.to_str().unwrap(),
        "--continue-from",
        from.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("member-0"), "{}", stderr(&o));
}

/// `[model] init` starts a Behler–Parrinello run from aenet files: its first
/// epoch is far better than a random start's.
#[test]
fn bp_starts_from_init_files() {
    let trained = TempDir::new("bp-init-source");
    train(
        &si_config_for(trained.path(), 15, SI_BP, "type = \"adam\"", ""),
        &["-j", "2"],
    );
    let file = trained.path().join("out/potential.Si.nn");
    let first_epoch_force = |dir: &Path| -> f64 {
        let csv = read(&dir.join("out/loss.csv"));
        let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let col = head
            .iter()
            .position(|h| *h == "train_force_rmse_mev_per_angstrom")
            .unwrap();
        csv.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(col)
            .unwrap()
            .parse()
            .unwrap()
    };
    let random = TempDir::new("bp-init-random");
    train(
        &si_config_for(random.path(), 1, SI_BP, "type = \"adam\"", ""),
        &["-j", "2"],
    );
    let started = TempDir::new("bp-init-started");
    let model = format!("{SI_BP}\ninit = [{:?}]", file.display().to_string());
    train(
        &si_config_for(started.path(), 1, &model, "type = \"adam\"", ""),
        &["-j", "2"],
    );
    let (r, s) = (
        first_epoch_force(random.path()),
        first_epoch_force(started.path()),
    );
    assert!(
        s < 0.8 * r,
        "init: first-epoch force RMSE {s} vs random {r}"
    );
}
