//! The bad-input catalogue's cases that need the binary (docs/bad-input.md):
//! the issue's four cases, the training-data edge cases and damaged or
//! foreign checkpoints on `--resume`. Each gives exit status 2 and a
//! message naming the file and the field, line or key; none panics.

mod common;

use common::{TempDir, example, forcefit};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const ADAM: &str = "batch_size = 4\nlr = 0.003";

/// Asserts `o` is a refusal (exit 2, no panic) whose stderr holds every
/// needle; `id` is the catalogue row.
#[track_caller]
fn expect_cli(id: &str, o: &Output, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    if std::env::var_os("SHOW_ERRORS").is_some() {
        eprintln!("{id}: {}", e.trim());
    }
    assert!(
        !e.contains("internal error") && !e.contains("panicked"),
        "{id}: {e}"
    );
    assert_eq!(o.status.code(), Some(2), "{id}: {e}");
    for n in needles {
        assert!(e.contains(n), "{id}: message lacks {n:?}: {e}");
    }
}

fn run(args: &[&Path]) -> Output {
    let mut a: Vec<&str> = vec!["train", "-q", "-j", "1"];
    a.extend(args.iter().map(|p| p.to_str().unwrap()));
    forcefit(&a)
}

fn resume(cfg: &Path) -> Output {
    forcefit(&["train", "-q", "-j", "1", "--resume", cfg.to_str().unwrap()])
}

/// A configuration training on `train` (a file in `dir`) with `data` and
/// `train` extra lines.
fn config_on(dir: &TempDir, train: &str, data: &str, train_extra: &str) -> PathBuf {
    dir.file(
        "run.toml",
        format!(
            "[data]\ntrain = \"{train}\"\n{data}\n[model]\n{}\n[optimizer]\n{ADAM}\n\
             [train]\n{train_extra}\noutput_dir = \"{}\"\n",
            common::SI_NEP,
            dir.path().join("out").display()
        ),
    )
}

/// The first `n` frames of the example's training set.
fn frames(n: usize) -> String {
    let text = std::fs::read_to_string(example("train.xyz")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut at = 0;
    for _ in 0..n {
        let atoms: usize = lines[at].trim().parse().unwrap();
        for l in &lines[at..at + atoms + 2] {
            out.push_str(l);
            out.push('\n');
        }
        at += atoms + 2;
    }
    out
}

/// nep.txt with `n_max` and `ANN` lines as given.
fn nep_header(n_max: &str, ann: &str) -> String {
    format!(
        "nep4 1 Si\ncutoff 5 4 10 10\nn_max {n_max}\nbasis_size 0 0\nl_max 1 0 0\nANN {ann}\n1\n"
    )
}

#[test]
fn issue_case_huge_nep_header_sizes() {
    let dir = TempDir::new("cli-bad-nep");
    for (id, text, needles) in [
        (
            "cli-nep-n-max",
            nep_header("400000000 4", "1 0"),
            &["nep.txt:3", "n_max (radial) is 400000000", "limit of 19"][..],
        ),
        (
            "cli-nep-ann",
            nep_header("0 0", "3000000000 0"),
            &["nep.txt:6", "1 to 200 neurons", "3000000000"][..],
        ),
    ] {
        let model = dir.file("nep.txt", text);
        let o = forcefit(&[
            "eval",
            "-m",
            model.to_str().unwrap(),
            example("test.xyz").to_str().unwrap(),
        ]);
        expect_cli(id, &o, needles);
    }
}

#[test]
fn issue_case_one_structure_with_a_validation_fraction() {
    let dir = TempDir::new("cli-one");
    dir.file("one.xyz", frames(1));
    let cfg = config_on(&dir, "one.xyz", "validation_fraction = 0.2", "epochs = 2");
    expect_cli(
        "cli-one-structure-held-out",
        &run(&[&cfg]),
        &[
            "data.validation_fraction = 0.2",
            "one.xyz",
            "has 1 structure",
        ],
    );
}

#[test]
fn all_structures_in_validation_is_refused() {
    let dir = TempDir::new("cli-allval");
    dir.file("two.xyz", frames(2));
    let cfg = config_on(&dir, "two.xyz", "validation_fraction = 1.0", "epochs = 2");
    expect_cli(
        "cli-all-validation",
        &run(&[&cfg]),
        &[
            "run.toml",
            "data.validation_fraction must be in [0, 1), got 1",
        ],
    );
    // Just below 1, one structure still trains (documented): it runs.
    let cfg = config_on(&dir, "two.xyz", "validation_fraction = 0.99", "epochs = 1");
    let o = run(&[&cfg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn an_empty_training_file_is_refused() {
    let dir = TempDir::new("cli-empty");
    dir.file("empty.xyz", "");
    let cfg = config_on(&dir, "empty.xyz", "", "epochs = 2");
    expect_cli(
        "cli-empty-train",
        &run(&[&cfg]),
        &["empty.xyz", "holds no structures"],
    );
}

#[test]
fn training_data_without_labels_is_refused() {
    let dir = TempDir::new("cli-nolabel");
    dir.file(
        "nolabel.xyz",
        "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nSi 0 0 0\nSi 1.3 1.4 1.2\n",
    );
    let cfg = config_on(&dir, "nolabel.xyz", "", "epochs = 2");
    expect_cli(
        "cli-no-labels",
        &run(&[&cfg]),
        &["loss.lambda_f", "nolabel.xyz", "no forces"],
    );
}

#[test]
fn a_test_set_with_an_element_the_model_lacks_is_refused() {
    let dir = TempDir::new("cli-ge");
    dir.file(
        "ge.xyz",
        "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3:force:R:3 energy=-8.5\n\
         Si 0 0 0 0 0 0\nGe 1.3 1.4 1.2 0 0 0\n",
    );
    let train = example("train.xyz");
    let cfg = config_on(
        &dir,
        train.to_str().unwrap(),
        "test = \"ge.xyz\"",
        "epochs = 2",
    );
    expect_cli(
        "cli-test-element",
        &run(&[&cfg]),
        &[
            "ge.xyz",
            "frame 0",
            "element \"Ge\"",
            "training elements: Si",
        ],
    );
}

#[test]
fn a_batch_larger_than_the_data_is_the_whole_set() {
    // Documented behaviour: one step per epoch over all the structures.
    let dir = TempDir::new("cli-bigbatch");
    dir.file("five.xyz", frames(5));
    let cfg = dir.file(
        "run.toml",
        format!(
            "[data]\ntrain = \"five.xyz\"\n[model]\n{}\n[optimizer]\nbatch_size = 1000\n\
             [train]\nepochs = 3\noutput_dir = \"{}\"\n",
            common::SI_NEP,
            dir.path().join("out").display()
        ),
    );
    let o = forcefit(&["train", "-j", "1", cfg.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("trained 3 epochs (3 steps)"),
        "cli-batch-larger: {out}"
    );
}

#[test]
fn zero_epochs_is_refused() {
    let dir = TempDir::new("cli-zero");
    let train = example("train.xyz");
    let cfg = config_on(&dir, train.to_str().unwrap(), "", "epochs = 0");
    expect_cli(
        "cli-zero-epochs",
        &run(&[&cfg]),
        &["run.toml", "train.epochs must be at least 1"],
    );
}

/// A finished two-epoch run of the small example model in a fresh
/// directory: (dir, config, checkpoint JSON).
fn trained(tag: &str, model: &str, optimizer: &str) -> (TempDir, PathBuf, Value) {
    let dir = TempDir::new(tag);
    let cfg = common::si_config_for(dir.path(), 2, model, optimizer, "");
    let o = run(&[&cfg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.path().join("out/checkpoint.json")).unwrap();
    (dir, cfg, serde_json::from_str(&text).unwrap())
}

fn write_checkpoint(dir: &TempDir, c: &Value) {
    dir.file("out/checkpoint.json", serde_json::to_string(c).unwrap());
}

/// Shortens the array at `pointer` by three values.
fn shorten(c: &mut Value, pointer: &str) {
    let a = c.pointer_mut(pointer).unwrap().as_array_mut().unwrap();
    let n = a.len();
    a.truncate(n - 3);
}

#[test]
fn issue_case_best_params_shorter_than_the_model() {
    let (dir, cfg, mut c) = trained("ckpt-best", common::SI_NEP, ADAM);
    shorten(&mut c, "/best_params");
    write_checkpoint(&dir, &c);
    expect_cli(
        "ckpt-best-params-short",
        &resume(&cfg),
        &[
            "checkpoint.json",
            "cannot resume",
            "best_params has",
            "values, the configured model has",
        ],
    );
}

#[test]
fn issue_case_adam_state_shorter_than_the_model() {
    let (dir, cfg, c) = trained("ckpt-adam", common::SI_NEP, ADAM);
    let mut short = c.clone();
    shorten(&mut short, "/optimizer/Adam/m");
    shorten(&mut short, "/optimizer/Adam/v");
    write_checkpoint(&dir, &short);
    expect_cli(
        "ckpt-adam-short",
        &resume(&cfg),
        &[
            "checkpoint.json",
            "optimizer (Adam): m has",
            "the model has",
        ],
    );
    let mut negative = c.clone();
    negative["optimizer"]["Adam"]["v"][0] = (-1.0).into();
    write_checkpoint(&dir, &negative);
    expect_cli(
        "ckpt-adam-negative-v",
        &resume(&cfg),
        &[
            "checkpoint.json",
            "optimizer (Adam): v[0] is -1",
            "non-negative",
        ],
    );
    let mut params = c;
    shorten(&mut params, "/params");
    write_checkpoint(&dir, &params);
    expect_cli(
        "ckpt-params-short",
        &resume(&cfg),
        &[
            "checkpoint.json",
            "params has",
            "values, the configured model has",
        ],
    );
}

#[test]
fn a_checkpoint_of_another_configuration_names_what_changed() {
    let (dir, cfg, _) = trained("ckpt-changed", common::SI_NEP, ADAM);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("neuron = 8", "neuron = 9")).unwrap();
    expect_cli(
        "ckpt-changed-model",
        &resume(&cfg),
        &[
            "checkpoint.json",
            "different settings: model.neuron: 8 → 9. Only",
        ],
    );
    let other = dir.file("other.xyz", frames(5));
    let train = example("train.xyz").display().to_string();
    std::fs::write(
        &cfg,
        text.replace(&train, other.to_str().unwrap())
            .replace("batch_size = 4", "batch_size = 5"),
    )
    .unwrap();
    expect_cli(
        "ckpt-changed-data",
        &resume(&cfg),
        &["data.train:", "other.xyz", "optimizer.batch_size: 4 → 5"],
    );
}

#[test]
fn a_checkpoint_of_another_family_is_refused() {
    let (_bp_dir, _, bp) = trained("ckpt-bp", common::SI_BP, ADAM);
    let (dir, cfg, mut c) = trained("ckpt-nep", common::SI_NEP, ADAM);
    c["model_state"] = bp["model_state"].clone();
    write_checkpoint(&dir, &c);
    expect_cli(
        "ckpt-family",
        &resume(&cfg),
        &[
            "checkpoint.json",
            "model_state",
            "bp model, the configuration a nep model",
        ],
    );
}

#[test]
fn damaged_checkpoint_files_are_refused() {
    let (dir, cfg, c) = trained("ckpt-damaged", common::SI_NEP, ADAM);
    let text = serde_json::to_string(&c).unwrap();
    dir.file("out/checkpoint.json", &text[..text.len() / 2]);
    expect_cli(
        "ckpt-truncated",
        &resume(&cfg),
        &["checkpoint.json:1", "not a forcefit checkpoint"],
    );
    let mut v = c.clone();
    v["version"] = 7.into();
    write_checkpoint(&dir, &v);
    expect_cli(
        "ckpt-version",
        &resume(&cfg),
        &["checkpoint.json", "version 7 is not supported"],
    );
    let mut v = c.clone();
    v["lr_scale"] = 5.0.into();
    write_checkpoint(&dir, &v);
    expect_cli(
        "ckpt-lr-scale",
        &resume(&cfg),
        &["checkpoint.json", "lr_scale is 5"],
    );
    let mut v = c;
    shorten(&mut v, "/model_state/nep/q_scaler");
    write_checkpoint(&dir, &v);
    expect_cli(
        "ckpt-q-scaler",
        &resume(&cfg),
        &["checkpoint.json", "model_state", "descriptor scales"],
    );
}

#[test]
fn a_kalman_checkpoint_with_damaged_blocks_is_refused() {
    let (dir, cfg, mut c) = trained(
        "ckpt-kalman",
        common::SI_NEP,
        "type = \"fekf\"\nbatch_size = 8",
    );
    c["optimizer"]["Kalman"]["blocks"][0]["end"] = 4_294_967_296u64.into();
    write_checkpoint(&dir, &c);
    expect_cli(
        "ckpt-kalman-blocks",
        &resume(&cfg),
        &["checkpoint.json", "optimizer (Kalman)", "4294967296"],
    );
}
