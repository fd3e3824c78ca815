//! The `forcefit` binary end to end: outputs other tools read, and clear
//! errors (exit code 2, file and frame named) for bad input.

mod common;

use forcefit::model::Model;
use std::process::Output;

use common::forcefit;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A tiny valid silicon model (1 type, dim 2, one neuron).
const TINY_MODEL: &str = "nep4 1 Si\ncutoff 5 4 10 10\nn_max 0 0\nbasis_size 0 0\nl_max 1 0 0\nANN 1 0\n\
  3.0000000e-01\n -2.0000000e-01\n  5.0000000e-01\n  7.0000000e-01\n  1.0000000e-01\n  8.0000000e-01\n -4.0000000e-01\n\
  1.0000000e+00\n  1.0000000e+00\n";

const TWO_SI: &str = "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3:force:R:3 energy=-8.5 pbc=\"T T T\"\n\
Si 0 0 0 0.1 0 0\nSi 1.3 1.4 1.2 -0.1 0 0\n";

#[test]
fn help_explains_the_commands() {
    let o = forcefit(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("predict") && text.contains("eval"), "{text}");
    let o = forcefit(&["eval", "--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("--out-dir") && text.contains("--json") && text.contains("--threads"),
        "{text}"
    );
}

#[test]
fn eval_json_is_one_object_with_the_documented_keys() {
    let dir = common::TempDir::new("cli-json");
    let model = dir.file("nep.txt", TINY_MODEL);
    let data = dir.file("si.xyz", TWO_SI);
    let o = forcefit(&[
        "eval",
        "--json",
        "--model",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON object");
    for key in [
        "energy_rmse_mev_per_atom",
        "force_rmse_mev_per_angstrom",
        "virial_rmse_mev_per_atom",
        "n_structures",
        "n_atoms",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {text}");
    }
    assert_eq!(v["n_atoms"], 2);
    assert!(v["virial_rmse_mev_per_atom"].is_null());
}

#[test]
fn predict_writes_extxyz_that_reads_back_with_the_prediction() {
    let dir = common::TempDir::new("cli-predict");
    let model = dir.file("nep.txt", TINY_MODEL);
    let data = dir.file("si.xyz", TWO_SI);
    let out = dir.path().join("out.xyz");
    let o = forcefit(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let frames = forcefit::io::read(&out, None).unwrap();
    assert_eq!(frames.len(), 1);
    let nep = forcefit::model::load(&model).unwrap();
    let input = forcefit::io::read(&data, None).unwrap().remove(0);
    let prepared = nep.prepare(input).unwrap();
    let mut p = forcefit::model::Prediction::default();
    nep.predict(&prepared, &mut p);
    assert_eq!(frames[0].labels.energy, Some(p.energy));
    assert_eq!(frames[0].labels.forces.as_ref(), Some(&p.forces));
    assert_eq!(frames[0].labels.virial, Some(p.virial));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("energies:R:1"), "{text}");
}

#[test]
fn eval_out_dir_writes_gpumd_files() {
    let dir = common::TempDir::new("cli-outdir");
    let model = dir.file("nep.txt", TINY_MODEL);
    let data = dir.file("train.xyz", TWO_SI);
    let out = dir.path().join("outputs");
    let o = forcefit(&[
        "eval",
        "-m",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["energy_train.out", "force_train.out", "virial_train.out"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("force_train.out"))
            .unwrap()
            .lines()
            .count(),
        2
    );
}

#[test]
fn unknown_element_names_file_frame_and_element() {
    let dir = common::TempDir::new("cli-unknown");
    let model = dir.file("nep.txt", TINY_MODEL);
    let data = dir.file("mixed.xyz", TWO_SI.replace("Si 1.3", "Ge 1.3"));
    let o = forcefit(&[
        "eval",
        "-m",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("mixed.xyz")
            && e.contains("frame 0")
            && e.contains("\"Ge\" is not in the model"),
        "{e}"
    );
}

#[test]
fn atoms_too_close_are_refused() {
    let dir = common::TempDir::new("cli-close");
    let model = dir.file("nep.txt", TINY_MODEL);
    let data = dir.file("close.xyz", TWO_SI.replace("Si 1.3 1.4 1.2", "Si 0.05 0 0"));
    let o = forcefit(&[
        "eval",
        "-m",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("close.xyz") && e.contains("closer than 0.1"),
        "{e}"
    );
}

#[test]
fn missing_and_broken_files_are_reported() {
    let dir = common::TempDir::new("cli-missing");
    let data = dir.file("si.xyz", TWO_SI);
    let o = forcefit(&["eval", "-m", "no/such/nep.txt", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/nep.txt"), "{}", stderr(&o));
    let bad = dir.file("bad.txt", TINY_MODEL.replace("ANN 1 0", "ANN x 0"));
    let o = forcefit(&["eval", "-m", bad.to_str().unwrap(), data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.txt:6") && e.contains("`x`"), "{e}");
    let o = forcefit(&[
        "eval",
        "-m",
        bad.to_str().unwrap(),
        "--threads",
        "0",
        data.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// One training structure cannot lose a fraction to validation: a clear
/// error naming the key (this used to panic in the split).
#[test]
fn validation_fraction_of_a_single_structure_is_refused() {
    let dir = common::TempDir::new("cli-one-structure");
    let data = dir.file("one.xyz", TWO_SI);
    let config = dir.file(
        "run.toml",
        format!(
            "[data]\ntrain = \"{}\"\nvalidation_fraction = 0.2\n\n[model]\ncutoff = [3.0, 2.5]\n\n[train]\nepochs = 1\noutput_dir = \"{}\"\n",
            data.display(),
            dir.path().join("out").display()
        ),
    );
    let o = forcefit(&["train", "-q", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("data.validation_fraction"), "{err}");
    assert!(err.contains("1 structure"), "{err}");
    assert!(
        !err.contains("internal error") && !err.contains("panicked"),
        "{err}"
    );
}
