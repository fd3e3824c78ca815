//! `forcefit dp input.json`, deepmd-kit's drop-in, on a few water frames
//! with a tiny network: it trains from deepmd-kit's own input layout
//! (systems relative to the working directory), writes model.yaml and an
//! lcurve.out with deepmd-kit's header, resumes bit-identically after
//! SIGKILL, and refuses what it does not support with the key named. With
//! deepmd-kit installed (its numpy backend), the model.yaml it writes gives
//! forcefit's energies in deepmd-kit.

mod common;
mod deepmd_common;

use common::TempDir;
use deepmd_common::python::{frame_json, python, run};
use forcefit::structure::Structure;
use std::path::Path;
use std::process::{Command, Output};

/// Writes `frames` as a deepmd/npy system in `dir` (O and H).
fn write_system(dir: &Path, frames: &[Structure]) {
    let type_map = ["O", "H"];
    let types: Vec<String> = frames[0]
        .species
        .iter()
        .map(|s| type_map.iter().position(|t| t == s).unwrap().to_string())
        .collect();
    std::fs::create_dir_all(dir.join("set.000")).unwrap();
    std::fs::write(dir.join("type.raw"), types.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("type_map.raw"), "O\nH\n").unwrap();
    let n = frames.len() as u64;
    let atoms = frames[0].n_atoms() as u64;
    let flat = |f: &dyn Fn(&Structure) -> Vec<f64>| frames.iter().flat_map(f).collect::<Vec<f64>>();
    let set = dir.join("set.000");
    common::npy(
        &set.join("coord.npy"),
        &[n, 3 * atoms],
        &flat(&|s| s.positions.concat()),
    );
    common::npy(
        &set.join("box.npy"),
        &[n, 9],
        &flat(&|s| s.cell.unwrap().concat()),
    );
    common::npy(
        &set.join("energy.npy"),
        &[n],
        &flat(&|s| vec![s.labels.energy.unwrap()]),
    );
    common::npy(
        &set.join("force.npy"),
        &[n, 3 * atoms],
        &flat(&|s| s.labels.forces.clone().unwrap().concat()),
    );
}

/// A run directory with `train/` (6 water frames) and `valid/` (2), or
/// `None` when ../shared is absent.
fn water_run(tag: &str) -> Option<TempDir> {
    let data = common::shared("datasets/water-deepmd/data_3")?;
    let frames = forcefit::io::read(&data, None).unwrap();
    let dir = TempDir::new(tag);
    write_system(&dir.path().join("train"), &frames[..6]);
    write_system(&dir.path().join("valid"), &frames[6..8]);
    Some(dir)
}

/// A deepmd-kit input for the tiny model; `steps` Adam steps of batch 1.
fn input(steps: usize, descriptor: &str) -> String {
    format!(
        r#"{{
  "_comment": "a tiny se_e2_a for tests",
  "model": {{
    "type_map": ["O", "H"],
    "descriptor": {{"type": "{descriptor}", "sel": "auto", "rcut": 3.5, "rcut_smth": 0.5,
                    "neuron": [4, 8], "axis_neuron": 4, "type_one_side": true, "seed": 1}},
    "fitting_net": {{"neuron": [8, 8], "resnet_dt": true, "seed": 1}}
  }},
  "learning_rate": {{"type": "exp", "decay_steps": 20, "start_lr": 0.002, "stop_lr": 1e-5}},
  "loss": {{"type": "ener", "start_pref_e": 0.02, "limit_pref_e": 1,
            "start_pref_f": 1000, "limit_pref_f": 1, "start_pref_v": 0, "limit_pref_v": 0}},
  "training": {{
    "training_data": {{"systems": ["train"], "batch_size": 1}},
    "validation_data": {{"systems": ["valid"], "batch_size": 1, "numb_btch": 2}},
    "numb_steps": {steps}, "seed": 3, "disp_file": "lcurve.out", "disp_freq": 10,
    "save_freq": 6, "save_ckpt": "model.ckpt"
  }}
}}"#
    )
}

/// `forcefit dp ARGS` in `dir`.
fn dp(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .arg("dp")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn trains_and_writes_deepmd_kits_files() {
    let Some(dir) = water_run("dp-run") else {
        return;
    };
    std::fs::write(dir.path().join("input.json"), input(60, "se_e2_a")).unwrap();
    let o = dp(dir.path(), &["-q", "input.json", "-o", "out"]);
    ok(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("training.save_ckpt: ignored"), "{stderr}");
    let out = dir.path().join("out");
    let model = forcefit::model::load(&out.join("model.yaml")).unwrap();
    assert_eq!(model.family(), "deepmd");
    let lcurve = std::fs::read_to_string(out.join("lcurve.out")).unwrap();
    let lines: Vec<&str> = lcurve.lines().collect();
    assert_eq!(
        lines[0],
        "# step       rmse_val    rmse_trn    rmse_e_val  rmse_e_trn    rmse_f_val  rmse_f_trn   lr      "
    );
    assert!(lines[1].starts_with("# If there is no available reference data"));
    let steps: Vec<usize> = lines[2..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps, [1, 10, 20, 30, 40, 50, 60]);
    // lr column: deepmd-kit's stepped decay, 2e-3 at step 1
    assert!(lines[2].ends_with("2.0e-03"), "{}", lines[2]);
    for l in &lines[2..] {
        let numbers: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
        assert_eq!(numbers.len(), 8, "{l}");
        assert!(numbers.iter().all(|x| x.is_finite()), "{l}");
    }
    assert!(out.join("loss.csv").is_file() && out.join("checkpoint.json").is_file());
    check_in_deepmd_kit(&out.join("model.yaml"), &dir.path().join("valid"));
}

/// The descriptor's `precision: float32` runs the embedding networks in
/// float32 and leaves the fitting's at deepmd-kit's default, float64: the
/// run trains, says nothing about precision, and writes a model.yaml that
/// names both, holds float64 values (read back and written again, the
/// same text) and reads back with the same precisions.
#[test]
fn descriptor_float32_trains_and_writes_a_float64_file() {
    let Some(dir) = water_run("dp-float32") else {
        return;
    };
    let text = input(12, "se_e2_a").replace(
        "\"type_one_side\": true,",
        "\"type_one_side\": true, \"precision\": \"float32\",",
    );
    assert!(text.contains("float32"));
    std::fs::write(dir.path().join("input.json"), text).unwrap();
    let o = dp(dir.path(), &["-q", "input.json", "-o", "out"]);
    ok(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("precision"), "{stderr}");
    let path = dir.path().join("out/model.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    assert!(yaml.contains("precision: float32") && yaml.contains("precision: float64"));
    let forcefit::model::AnyModel::Deepmd(pot) = forcefit::model::load(&path).unwrap() else {
        panic!("not a DeePMD model")
    };
    assert_eq!(pot.embedding_precision(), forcefit::nn::Precision::Float32);
    assert_eq!(pot.fitting_precision(), forcefit::nn::Precision::Float64);
    assert_eq!(
        pot.to_yaml_string().unwrap(),
        yaml,
        "values lost in the file"
    );
    let lcurve = std::fs::read_to_string(dir.path().join("out/lcurve.out")).unwrap();
    for l in lcurve.lines().skip(2) {
        assert!(
            l.split_whitespace()
                .all(|x| x.parse::<f64>().unwrap().is_finite()),
            "{l}"
        );
    }
}

#[test]
fn resumes_bit_identically_after_sigkill() {
    let Some(reference) = water_run("dp-ref") else {
        return;
    };
    let killed = water_run("dp-kill").unwrap();
    // 150 epochs of 6 steps: long enough to be killed mid-run.
    for d in [&reference, &killed] {
        std::fs::write(d.path().join("input.json"), input(900, "se_a")).unwrap();
    }
    ok(&dp(
        reference.path(),
        &["-q", "-j", "1", "input.json", "-o", "out"],
    ));
    let args = ["dp", "-q", "-j", "1", "input.json", "-o", "out"];
    let at = common::kill_mid_run_of(&args, killed.path(), &killed.path().join("out"), 150);
    ok(&dp(
        killed.path(),
        &["-q", "-j", "2", "--resume", "input.json", "-o", "out"],
    ));
    for file in ["model.yaml", "lcurve.out"] {
        let read = |d: &TempDir| std::fs::read_to_string(d.path().join("out").join(file)).unwrap();
        assert_eq!(
            read(&killed),
            read(&reference),
            "{file} after resuming from epoch {at}"
        );
    }
}

#[test]
fn unsupported_descriptors_are_refused_with_the_key_named() {
    let dir = TempDir::new("dp-refuse");
    std::fs::write(dir.path().join("input.json"), input(10, "se_atten")).unwrap();
    // No data needed: the input is refused before anything is read.
    let o = dp(dir.path(), &["input.json"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("model.descriptor.type"), "{stderr}");
    assert!(stderr.contains("se_atten"), "{stderr}");
}

/// deepmd-kit's DeepPot (numpy backend) on the model.yaml `forcefit dp`
/// wrote gives forcefit's energies; skipped without deepmd-kit.
fn check_in_deepmd_kit(model_path: &Path, system: &Path) {
    let Some(py) = python() else { return };
    let model = forcefit::model::load(model_path).unwrap();
    let frames = forcefit::io::read(system, None).unwrap();
    let prepared = forcefit::batch::prepare_all(&model, frames).unwrap();
    let ours = forcefit::batch::predict_all(&model, &prepared);
    let request = serde_json::json!({
        "model": model_path,
        "frames": prepared.iter().map(|p| frame_json(&p.structure, &p.types)).collect::<Vec<_>>(),
    });
    let result = run(&py, &request);
    for (p, r) in ours.iter().zip(result["frames"].as_array().unwrap()) {
        let theirs = r["energy"].as_f64().unwrap();
        assert!(
            (p.energy - theirs).abs() < 1e-9 * theirs.abs(),
            "forcefit {} vs deepmd-kit {theirs}",
            p.energy
        );
    }
}
