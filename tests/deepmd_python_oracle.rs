//! forcefit's DeePMD against deepmd-kit itself (its numpy backend, through
//! tests/oracle/deepmd_eval.py), when deepmd-kit is installed: random
//! models with statistics fitted on water frames, written as deepmd-kit
//! YAML; energies, atomic energies, forces (central differences of
//! deepmd-kit's energies), and deepmd-kit's own davg/dstd and energy bias
//! on the same frames; and a model whose davg/dstd vary by slot, whose
//! energy steps where two neighbours swap ranks exactly as deepmd-kit's
//! does. Set FORCEFIT_PYTHON to choose the interpreter.

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

/// The interpreter with deepmd-kit and the frames of water's data_0, or
/// `None` (each said why) when either is missing.
fn python_and_water() -> Option<(String, Vec<Structure>)> {
    let py = python()?;
    let dir = common::shared("datasets/water-deepmd/data_0")?;
    Some((py, forcefit::io::deepmd::read(&dir).unwrap()))
}

#[test]
fn random_models_match_deepmd_kit() {
    let Some((py, water)) = python_and_water() else {
        return;
    };
    assert!(water.len() >= 5);
    for (one_side, dt) in [(true, false), (true, true), (false, false), (false, true)] {
        check_variant(&py, &water, [40, 80], one_side, dt);
    }
    // sel far below the ~25 O and ~50 H neighbours within 5 Å: deepmd-kit
    // keeps the nearest Σsel, then the nearest of each type
    check_variant(&py, &water, [12, 20], true, true);
}

/// Same-type neighbour pairs of any atom within rcut − 1 Å (so that the
/// switch leaves them weight), closest in distance first: (gap, nearer
/// neighbour, unit vector from the centre to it).
fn close_ranks(p: &Prepared, rcut: f64) -> Vec<(f64, usize, [f64; 3])> {
    let mut pairs = Vec::new();
    for c in 0..p.structure.n_atoms() {
        let (index, vector) = p.neighbors.of(c);
        let mut ranked: Vec<(usize, f64, usize, [f64; 3])> = index
            .iter()
            .zip(vector)
            .map(|(&j, r)| {
                let d = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
                (p.types[j as usize], d, j as usize, r.map(|x| x / d))
            })
            .filter(|&(_, d, _, _)| d < rcut - 1.0)
            .collect();
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for w in ranked.windows(2).filter(|w| w[0].0 == w[1].0) {
            pairs.push((w[1].1 - w[0].1, w[0].2, w[0].3));
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    pairs
}

/// Eight frames that move one atom radially away from a centre across the
/// distance of the next neighbour of its type, so that the two swap slots
/// between the fourth and fifth, where forcefit's energy steps by more
/// than 1e-8 eV beyond what its forces account for.
fn line_across_a_swap(model: &DeepPot, p: &Prepared) -> Vec<Structure> {
    for (gap, j, u) in close_ranks(p, model.hyper().rcut).into_iter().take(20) {
        let line: Vec<Structure> = (0..8)
            .map(|k| {
                let mut s = p.structure.clone();
                let t = (k as f64 + 0.5) * gap / 4.0;
                (0..3).for_each(|x| s.positions[j][x] += t * u[x]);
                s
            })
            .collect();
        let points: Vec<(f64, f64)> = line
            .iter()
            .map(|s| {
                let mut pred = Prediction::default();
                model.predict(&model.prepare(s.clone()).unwrap(), &mut pred);
                let along = (0..3).map(|x| pred.forces[j][x] * u[x]).sum::<f64>();
                (pred.energy, along)
            })
            .collect();
        // energy change minus the work of the forces (trapezoid rule)
        let step = points[4].0 - points[3].0 + 0.5 * (points[3].1 + points[4].1) * gap / 4.0;
        if step.abs() > 1e-8 {
            return line;
        }
    }
    panic!("no rank swap with a visible energy step among the 20 closest pairs");
}

#[test]
fn slot_dependent_statistics_match_deepmd_kit() {
    let Some((py, water)) = python_and_water() else {
        return;
    };
    let mut model = deepmd_common::water_model(&water[..3], false, true, 81);
    deepmd_common::vary_by_slot(&mut model, 81);
    let model = deepmd_common::without_bias(model);
    let prepared = model.prepare(water[3].clone()).unwrap();
    let line = line_across_a_swap(&model, &prepared);
    // atoms no 1e-4 Å step can swap ranks around, for deepmd-kit's quotients
    let swaps = deepmd_common::rank_swap_atoms(&prepared, model.hyper().rcut, 2e-4);
    let atoms: Vec<usize> = (0..swaps.len())
        .filter(|&i| !swaps[i])
        .step_by(37)
        .collect();
    let dir = common::TempDir::new("deepmd-slots");
    let path = dir.path().join("model.yaml");
    model.write(&path).unwrap();
    let frames: Vec<_> = std::iter::once(&prepared.structure)
        .chain(&line)
        .map(|s| frame_json(s, &prepared.types))
        .collect();
    let request = json!({
        "model": path,
        "frames": frames,
        "fd_forces": {"frame": 0, "atoms": atoms, "step": 1e-4},
    });
    let result = run(&py, &request);
    let theirs: Vec<f64> = result["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["energy"].as_f64().unwrap())
        .collect();
    let mut base = Prediction::default();
    model.predict(&prepared, &mut base);
    close(base.energy, theirs[0], 1e-10, "energy");
    let atomic = common::json_numbers(&result["frames"][0]["atomic_energy"]);
    for (i, e) in atomic.iter().enumerate() {
        close(base.atomic_energies[i], *e, 1e-10, &format!("atom {i}"));
    }
    // the step across the swap is deepmd-kit's too
    for (k, s) in line.iter().enumerate().skip(1) {
        let ours = common::energy(&model, s) - common::energy(&model, &line[0]);
        let dp = theirs[k + 1] - theirs[1];
        assert!(
            (ours - dp).abs() < 1e-9,
            "line point {k}: forcefit's energy change {ours:e} vs deepmd-kit's {dp:e}"
        );
    }
    let fmax = base
        .forces
        .iter()
        .flatten()
        .fold(1.0f64, |m, f| m.max(f.abs()));
    for (&a, fd) in atoms.iter().zip(result["fd_forces"].as_array().unwrap()) {
        for (x, f) in common::json_numbers(fd).iter().enumerate() {
            let ours = base.forces[a][x];
            assert!(
                (ours - f).abs() < 1e-6 * fmax,
                "force {a} {x}: {ours} vs deepmd-kit's energy difference {f}"
            );
        }
    }
}

/// A model with both precisions float32 (f32 embeddings, f32 fitting
/// products) against deepmd-kit evaluating the same file in float32:
/// atomic energies agree to f32's rounding of the networks' output (the
/// codes round differently: deepmd-kit's fitting activations are f32
/// too). That deepmd-kit did compute in float32 shows in the float64
/// prediction of the same parameters, as far from its values (seen: 1e-7
/// of the output for both).
#[test]
fn float32_model_matches_deepmd_kit_in_float32() {
    let Some((py, water)) = python_and_water() else {
        return;
    };
    let wide = deepmd_common::water_model(&water[..3], false, true, 23);
    let mut narrow = wide.clone();
    narrow.set_embedding_precision(forcefit::nn::Precision::Float32);
    narrow.set_fitting_precision(forcefit::nn::Precision::Float32);
    let frames: Vec<Prepared> = water[3..6]
        .iter()
        .map(|s| narrow.prepare(s.clone()).unwrap())
        .collect();
    let dir = common::TempDir::new("deepmd-float32");
    let path = dir.path().join("model.yaml");
    narrow.write(&path).unwrap();
    let request = json!({
        "model": path,
        "frames": frames.iter().map(|p| frame_json(&p.structure, &p.types)).collect::<Vec<_>>(),
    });
    let result = run(&py, &request);
    for (k, (p, r)) in frames
        .iter()
        .zip(result["frames"].as_array().unwrap())
        .enumerate()
    {
        let theirs = common::json_numbers(&r["atomic_energy"]);
        let (mut ours, mut ours64) = (Prediction::default(), Prediction::default());
        narrow.predict(p, &mut ours);
        wide.predict(p, &mut ours64);
        // atomic energies hold the bias (~ -90 eV for O): compare what the
        // networks add to it, whose size sets f32's rounding
        let bias = &narrow.stats().out_bias;
        let net = |e: f64, i: usize| e - bias[p.types[i]];
        let scale = theirs
            .iter()
            .enumerate()
            .fold(0.0f64, |m, (i, &e)| m.max(net(e, i).abs()));
        let worst = |pred: &Prediction| {
            theirs
                .iter()
                .enumerate()
                .map(|(i, &e)| (pred.atomic_energies[i] - e).abs() / scale)
                .fold(0.0f64, f64::max)
        };
        let (d32, d64) = (worst(&ours), worst(&ours64));
        eprintln!(
            "frame {k}: atomic energies against deepmd-kit's float32, float32 {d32:.1e}, float64 {d64:.1e} of the largest network output ({scale:.3} eV)"
        );
        assert!(d32 < 1e-5, "frame {k}: {d32:e}");
        assert!(d64 > 1e-9, "frame {k}: deepmd-kit computed in float64");
    }
}
