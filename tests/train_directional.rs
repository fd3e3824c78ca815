//! Training with `[loss] force_gradient = "directional"` on the built-in
//! silicon example finishes and reaches the same test force error as the
//! exact gradient with the same seed (within 5 %).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "[data]\ntrain = \"{}\"\ntest = \"{}\"\n\n[model]\ncutoff = [4.5, 3.8]\nn_max = [3, 3]\nbasis_size = [5, 5]\nneuron = 8\n\n\
         [loss]\n{extra}\n[optimizer]\nbatch_size = 4\nlr = 0.003\n\n[train]\nepochs = 8\noutput_dir = \"{}\"\nseed = 11\n",
        common::example("train.xyz").display(),
        common::example("test.xyz").display(),
        dir.join("out").display()
    );
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Trains and returns the test force RMSE from summary.json.
fn train(tag: &str, extra: &str) -> f64 {
    let dir = common::TempDir::new(tag);
    let c = config(dir.path(), extra);
    let o = Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args(["train", "-q", "-j", "2", c.to_str().unwrap()])
        .output()
        .expect("run forcefit");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap(),
    )
    .unwrap();
    summary["test"]["force_rmse_mev_per_angstrom"]
        .as_f64()
        .expect("test force RMSE")
}

#[test]
fn directional_training_matches_exact() {
    let exact = train("dir-exact", "force_gradient = \"exact\"");
    let dir = train(
        "dir-directional",
        "force_gradient = \"directional\"\ndirectional_epsilon = 1e-5",
    );
    eprintln!("test force RMSE: exact {exact:.3} meV/Å, directional {dir:.3} meV/Å");
    assert!(
        (dir - exact).abs() <= 0.05 * exact,
        "exact {exact} vs directional {dir}"
    );
}
