//! forcefit's DeePMD against deepmd-kit itself (its numpy backend, through
//! tests/oracle/deepmd_eval.py), when deepmd-kit is installed: random
//! models with statistics fitted on water frames, written as deepmd-kit
//! YAML; energies, atomic energies, forces (central differences of
//! deepmd-kit's energies), and deepmd-kit's own davg/dstd and energy bias
//! on the same frames. Set FORCEFIT_PYTHON to choose the interpreter.

mod common;
mod deepmd_common;

use deepmd_common::python::{frame_json, python, run};

use forcefit::model::deepmd::{DeepPot, DeepmdConfig};
use forcefit::model::{Model, Prediction, Prepared};
use forcefit::structure::Structure;
use rand::SeedableRng;
use serde_json::json;

fn close(a: f64, b: f64, tol: f64, what: &str) -> f64 {
    let err = (a - b).abs() / b.abs().max(1e-2);
    assert!(
        err < tol,
        "{what}: forcefit {a:.15e} vs deepmd-kit {b:.15e}"
    );
    err
}

fn check_variant(py: &str, water: &[Structure], sel: [usize; 2], one_side: bool, resnet_dt: bool) {
    let config: DeepmdConfig = toml::from_str(&format!(
        "type_map = [\"O\", \"H\"]\nrcut = 5.0\nrcut_smth = 0.5\nsel = [{}, {}]\nneuron = [8, 16]\naxis_neuron = 4\n\
         fitting_neuron = [16, 16]\nresnet_dt = {resnet_dt}\nfitting_resnet_dt = {resnet_dt}\ntype_one_side = {one_side}",
        sel[0], sel[1]
    ))
    .unwrap();
    let hyper = config.hyper(&[]).unwrap();
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(7 + one_side as u64 * 2 + resnet_dt as u64);
    let mut model = DeepPot::random(hyper, &mut rng).unwrap();
    let stats_frames: Vec<Prepared> = water[..3]
        .iter()
        .map(|s| model.prepare(s.clone()).unwrap())
        .collect();
    model.fit_statistics(&stats_frames);
    // a periodic frame, another one, and a cluster cut from the first
    let mut cluster = water[0].clone();
    cluster.positions.truncate(24);
    cluster.species.truncate(24);
    cluster.pbc = [false; 3];
    cluster.cell = None;
    cluster.labels = Default::default();
    let eval: Vec<Prepared> = [water[3].clone(), water[4].clone(), cluster]
        .into_iter()
        .map(|s| model.prepare(s).unwrap())
        .collect();
    let dir = common::TempDir::new("deepmd-python");
    let path = dir.path().join("model.yaml");
    model.write(&path).unwrap();
    let request = json!({
        "model": path,
        "frames": eval.iter().map(|p| frame_json(&p.structure, &p.types)).collect::<Vec<_>>(),
        "fd_forces": {"frame": 0, "atoms": [0, 1, 100], "step": 1e-4},
        "stats": {
            "frames": stats_frames.iter().map(|p| frame_json(&p.structure, &p.types)).collect::<Vec<_>>(),
            "energies": stats_frames.iter().map(|p| p.structure.labels.energy.unwrap()).collect::<Vec<_>>(),
        },
    });
    let result = run(py, &request);
    let tag = format!("sel={sel:?} type_one_side={one_side} resnet_dt={resnet_dt}");
    let mut worst: f64 = 0.0;
    let mut predictions = Vec::new();
    for (k, (p, r)) in eval
        .iter()
        .zip(result["frames"].as_array().unwrap())
        .enumerate()
    {
        let mut pred = Prediction::default();
        model.predict(p, &mut pred);
        worst = worst.max(close(
            pred.energy,
            r["energy"].as_f64().unwrap(),
            1e-10,
            &format!("{tag} frame {k} energy"),
        ));
        for (i, e) in common::json_numbers(&r["atomic_energy"]).iter().enumerate() {
            worst = worst.max(close(
                pred.atomic_energies[i],
                *e,
                1e-10,
                &format!("{tag} frame {k} atom {i}"),
            ));
        }
        predictions.push(pred);
    }
    let fmax = predictions[0]
        .forces
        .iter()
        .flatten()
        .fold(1.0f64, |m, f| m.max(f.abs()));
    for (a, fd) in [0, 1, 100]
        .iter()
        .zip(result["fd_forces"].as_array().unwrap())
    {
        for (x, f) in common::json_numbers(fd).iter().enumerate() {
            let ours = predictions[0].forces[*a][x];
            assert!(
                (ours - f).abs() < 1e-6 * fmax,
                "{tag} force {a} {x}: {ours} vs deepmd-kit's energy difference {f}"
            );
        }
    }
    let st = model.stats();
    for (name, ours, theirs) in [
        ("davg", &st.davg, &result["davg"]),
        ("dstd", &st.dstd, &result["dstd"]),
    ] {
        for (k, (a, b)) in ours.iter().zip(common::json_numbers(theirs)).enumerate() {
            worst = worst.max(close(*a, b, 1e-10, &format!("{tag} {name}[{k}]")));
        }
    }
    for (t, b) in common::json_numbers(&result["out_bias"]).iter().enumerate() {
        close(st.out_bias[t], *b, 1e-9, &format!("{tag} out_bias[{t}]"));
    }
    for (t, b) in common::json_numbers(&result["out_std"]).iter().enumerate() {
        assert!(
            (st.out_std[t] - b).abs() < 1e-8 * b.abs().max(1.0),
            "{tag} out_std[{t}]"
        );
    }
    eprintln!("{tag}: worst relative difference from deepmd-kit {worst:.2e}");
}

#[test]
fn random_models_match_deepmd_kit() {
    let Some(py) = python() else { return };
    let Some(dir) = common::shared("datasets/water-deepmd/data_0") else {
        return;
    };
    let water = forcefit::io::deepmd::read(&dir).unwrap();
    assert!(water.len() >= 5);
    for (one_side, dt) in [(true, false), (true, true), (false, false), (false, true)] {
        check_variant(&py, &water, [40, 80], one_side, dt);
    }
    // sel far below the ~25 O and ~50 H neighbours within 5 Å: deepmd-kit
    // keeps the nearest Σsel, then the nearest of each type
    check_variant(&py, &water, [12, 20], true, true);
}
