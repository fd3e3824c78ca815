//! `forcefit gnep DIR`, the GPUMD GNEP drop-in: a tiny training run leaves
//! GNEP's files in GNEP's layouts (loss.out's 10 columns, a nep5 nep.txt
//! that NEP_CPU reads with the energies and forces of `forcefit predict`),
//! `prediction 1` writes the four `*_train.out` files and descriptor.out,
//! and bad input fails with exit code 2 and the file and line named.

mod common;

use common::TempDir;
use forcefit::model::nep::Nep;
use std::path::Path;
use std::process::Output;

fn gnep(dir: &Path, args: &[&str]) -> Output {
    common::dropin("gnep", dir, args)
}

/// The silicon example with a small GNEP input: 60 structures in batches
/// of 8 (8 steps per epoch), 4 epochs, cosine restarts.
const SI_GNEP: &str = "type 1 Si\ncutoff 4.5 3.8\nn_max 3 3\nbasis_size 5 5\nl_max 4\n\
                       neuron 8\nbatch 8\nepoch 4\nlr_cos_restart 1 1 1 2 0.8\n";

fn si_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    for name in ["train.xyz", "test.xyz"] {
        std::fs::copy(common::example(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn training_then_prediction_write_gnep_s_files() {
    let dir = si_dir("gnep-train");
    dir.file("gnep.in", SI_GNEP);
    let o = gnep(dir.path(), &["-q", "-j", "1"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let loss = common::columns(&dir.path().join("loss.out"));
    assert_eq!(loss.len(), 4);
    for (i, row) in loss.iter().enumerate() {
        assert_eq!(row.len(), 10, "loss.out line {}", i + 1);
        assert_eq!(row[0], (i + 1) as f64, "1-based epochs");
        // Total-Loss = λe E + λf F + λv V with GNEP's lambdas (1, 2, 0.1).
        let total = row[2] + 2.0 * row[3] + 0.1 * row[4];
        assert!((row[1] - total).abs() < 2e-5, "{row:?}");
        assert!(
            row[5] > 0.0 && row[6] > 0.0 && row[7] > 0.0,
            "tested every epoch"
        );
        assert!(row[8] > 0.0 && row[9] > 0.0, "learning rate and time");
    }
    assert!(
        loss[3][3] < loss[0][3],
        "the force error decreases: {loss:?}"
    );
    let text = std::fs::read_to_string(dir.path().join("nep.txt")).unwrap();
    assert!(text.starts_with("nep5 1 Si"), "{text}");
    assert!(text.contains("\nl_max 4 0 0\n"), "3-body terms only");
    let model = Nep::from_file(&dir.path().join("nep.txt")).unwrap();
    assert_eq!(model.hyper().dim(), 4 + 4 * 4);
    assert_eq!(
        common::columns(&dir.path().join("energy_train.out")).len(),
        60
    );
    assert_eq!(
        common::columns(&dir.path().join("force_test.out")).len(),
        530
    );
    let toml = std::fs::read_to_string(dir.path().join("forcefit.toml")).unwrap();
    assert!(
        toml.contains("[optimizer.restarts]\nperiod = 8\n"),
        "{toml}"
    );

    // Prediction mode on the trained model: train.xyz only.
    for name in ["energy_train.out", "force_train.out", "force_test.out"] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    dir.file(
        "gnep.in",
        format!("{SI_GNEP}prediction 1\noutput_descriptor 2\n"),
    );
    let o = gnep(Path::new("."), &[dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let shapes = [
        ("energy_train.out", 60, 2),
        ("force_train.out", 1356, 6),
        ("virial_train.out", 60, 12),
        ("stress_train.out", 60, 12),
        ("descriptor.out", 1356, 20),
    ];
    for (name, rows, cols) in shapes {
        let c = common::columns(&dir.path().join(name));
        assert_eq!(c.len(), rows, "{name}");
        assert!(c.iter().all(|r| r.len() == cols), "{name}");
    }
    assert!(
        !dir.path().join("force_test.out").exists(),
        "GNEP predicts train.xyz only"
    );
    dir.file(
        "gnep.in",
        format!("{SI_GNEP}prediction 1\noutput_descriptor 1\n"),
    );
    let o = gnep(dir.path(), &[]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(
        common::columns(&dir.path().join("descriptor.out")).len(),
        60
    );
    let line = std::fs::read_to_string(dir.path().join("descriptor.out")).unwrap();
    assert!(
        line.lines().all(|l| l.ends_with(' ')),
        "GNEP's trailing space"
    );
    nep_cpu_agrees(dir.path());
}

/// NEP_CPU (calorine's compiled `_nepy`, which reads nep5; calorine's
/// Python layer reads nep4 only) on the written nep.txt gives the
/// energies and forces of `forcefit predict`.
const NEP_CPU: &str = r#"
import contextlib, json, sys, tempfile
import numpy as np
import _nepy
from ase.io import read
out = []
for a in read(sys.argv[2], index=":"):
    n = len(a)
    m = a.get_cell(complete=True).flatten()
    cell = [m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]]
    with tempfile.TemporaryFile("w") as f, contextlib.redirect_stdout(f):
        nepy = _nepy.NEPY(sys.argv[1], n, cell, a.get_chemical_symbols(),
                          list(a.get_positions().T.flatten()), a.get_masses())
    e, f, w = nepy.get_potential_forces_and_virials()
    out.append({"energy": float(np.sum(e)),
                "forces": np.array(f).reshape(3, n).T.reshape(-1).tolist()})
print(json.dumps(out))
"#;

fn nep_cpu_agrees(dir: &Path) {
    if !common::nep_cpu::calorine_available() {
        return;
    }
    let (model, test) = (dir.join("nep.txt"), dir.join("test.xyz"));
    let (ours, reference) =
        common::predicted_and_peer(&model, &test, &dir.join("predicted.xyz"), NEP_CPU);
    let reference = reference.as_array().unwrap();
    assert_eq!(ours.len(), reference.len());
    for (k, (s, r)) in ours.iter().zip(reference).enumerate() {
        let e = r["energy"].as_f64().unwrap();
        let ours_e = s.labels.energy.unwrap();
        assert!(
            (ours_e - e).abs() <= 1e-8 * e.abs(),
            "structure {k}: {ours_e} vs {e}"
        );
        let f: Vec<f64> = s.labels.forces.as_ref().unwrap().concat();
        let diff = common::rel_max_diff(&f, &common::json_numbers(&r["forces"]));
        assert!(diff < 1e-8, "structure {k}: forces differ by {diff:e}");
    }
}

#[test]
fn bad_input_exits_with_2_and_names_file_and_line() {
    let cases = [
        ("type 1 Si\nfoo 1\n", "gnep.in:2: unknown keyword `foo`"),
        (
            "type 1 Si\nl_max 4 2 0\n",
            "gnep.in:2: l_max: expected 1 parameter, got 3",
        ),
        (
            "type 1 Si\nepoch 3\n\nepoch 4\n",
            "gnep.in:4: epoch: given twice (first on line 2)",
        ),
        (
            "type 1 Si\nversion 4\n",
            "gnep.in:2: version: this GPUMD keyword is not supported",
        ),
        ("cutoff 5 4\n", "gnep.in: the `type` keyword is missing"),
    ];
    for (text, expected) in cases {
        let dir = si_dir("gnep-bad");
        dir.file("gnep.in", text);
        let o = gnep(dir.path(), &[]);
        assert_eq!(o.status.code(), Some(2), "{text:?}");
        let err = common::stderr(&o);
        assert!(err.contains(expected), "{text:?}: {err}");
    }
    let dir = TempDir::new("gnep-missing");
    dir.file("gnep.in", "type 1 Si\n");
    let o = gnep(dir.path(), &["."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("train.xyz: not found"),
        "{}",
        common::stderr(&o)
    );
    let dir = si_dir("gnep-no-model");
    dir.file("gnep.in", "type 1 Si\nprediction 1\n");
    let o = gnep(dir.path(), &["."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("nep.txt: not found"),
        "{}",
        common::stderr(&o)
    );
}
