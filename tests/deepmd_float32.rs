//! DeePMD with `precision = "float32"`: the embedding networks in f32 and
//! the fitting networks' matrix products in f32, everything else in f64.
//! On real water frames its energies, forces, virials and loss gradients
//! agree with the float64 model's to f32 rounding (and differ from them,
//! which shows the f32 passes ran; the fitting's f32 products alone too),
//! its forces are still the energy's gradient, a run gives the same model
//! for any thread count and names both precisions in its file, and the
//! families that compute in float64 only refuse the key.

mod common;
mod deepmd_common;

use common::{SI_BP, SI_DEEPMD, SI_NEP, TempDir, energy, forcefit, rel_max_diff, si_config_for};
use deepmd_common::{water_model, without_bias};
use forcefit::loss::{LossConfig, evaluate};
use forcefit::model::deepmd::DeepPot;
use forcefit::model::{Model, Prediction};
use forcefit::nn::Precision;
use forcefit::structure::Structure;

/// The first frames of the water set, or `None` (skipping, with a note)
/// without it.
fn water() -> Option<Vec<Structure>> {
    let Some(dir) = common::shared("datasets/water-deepmd/data_0") else {
        eprintln!("skipped: ../shared/datasets/water-deepmd is absent");
        return None;
    };
    let frames = forcefit::io::deepmd::read(&dir).unwrap();
    Some(frames.into_iter().take(8).collect())
}

/// A water model (statistics fitted on the first frames) in float64 and
/// the same in float32 (both networks).
fn pair(water: &[Structure], bias: bool) -> (DeepPot, DeepPot) {
    let model = water_model(&water[..3], false, true, 11);
    let wide = if bias { model } else { without_bias(model) };
    let mut narrow = wide.clone();
    narrow.set_embedding_precision(Precision::Float32);
    narrow.set_fitting_precision(Precision::Float32);
    assert_eq!(wide.embedding_precision(), Precision::Float64);
    assert_eq!(wide.fitting_precision(), Precision::Float64);
    (wide, narrow)
}

fn predict(model: &DeepPot, s: &Structure) -> Prediction {
    let mut p = Prediction::default();
    model.predict(&model.prepare(s.clone()).unwrap(), &mut p);
    p
}

#[test]
fn predictions_agree_with_float64_to_float32_rounding() {
    let Some(water) = water() else { return };
    let (wide, narrow) = pair(&water, true);
    for s in &water[3..] {
        let (a, b) = (predict(&narrow, s), predict(&wide, s));
        let de = (a.energy - b.energy).abs() / b.energy.abs();
        let forces = |p: &Prediction| p.forces.concat();
        let df = rel_max_diff(&forces(&a), &forces(&b));
        let dw = rel_max_diff(&a.virial, &b.virial);
        eprintln!(
            "E {:.6} eV: |ΔE| {:.2e} eV ({de:.1e} relative); forces {df:.1e}, virial {dw:.1e} of their largest",
            b.energy,
            (a.energy - b.energy).abs()
        );
        // seen: 1e-12, 1.4e-7, 2.9e-7
        assert!(de < 1e-9 && df < 1e-5 && dw < 1e-5, "{de:e} {df:e} {dw:e}");
        assert_ne!(a.energy, b.energy, "float32 gave float64's bits");
        assert_ne!(forces(&a), forces(&b), "float32 gave float64's bits");
    }
}

/// The fitting networks' f32 products alone (float64 embeddings): the
/// energy moves by about f32's rounding of the fitting's output, forces
/// and the loss gradient by f32's rounding of theirs.
#[test]
fn fitting_products_in_float32_agree_with_float64() {
    let Some(water) = water() else { return };
    let (wide, _) = pair(&water, true);
    let mut narrow = wide.clone();
    narrow.set_fitting_precision(Precision::Float32);
    let s = &water[4];
    let (a, b) = (predict(&narrow, s), predict(&wide, s));
    let de = (a.energy - b.energy).abs() / b.energy.abs();
    let df = rel_max_diff(&a.forces.concat(), &b.forces.concat());
    eprintln!("fitting in float32: ΔE {de:.1e} relative, forces {df:.1e} of their largest");
    assert!(de < 1e-8 && df < 1e-5, "{de:e} {df:e}");
    assert_ne!(
        a.forces.concat(),
        b.forces.concat(),
        "f32 products gave f64's bits"
    );
}

#[test]
fn loss_gradient_agrees_with_float64() {
    let Some(water) = water() else { return };
    let (wide, narrow) = pair(&water, true);
    let frame = &water[5];
    let config = LossConfig::default();
    let gradient = |m: &DeepPot| {
        let prepared = m.prepare(frame.clone()).unwrap();
        let mut p = Prediction::default();
        m.predict(&prepared, &mut p);
        let mut adjoints = Vec::new();
        evaluate(&config, &[(frame, &p)], |_, _| true, &mut adjoints);
        let mut grad = vec![0.0; m.params().len()];
        m.vjp(&prepared, &adjoints[0], &mut grad);
        grad
    };
    let (a, b) = (gradient(&narrow), gradient(&wide));
    let d = rel_max_diff(&a, &b);
    // the embedding networks' part alone (the parameters' first part),
    // which the fitting's larger components would otherwise hide
    let n: usize = wide.embeddings().iter().map(|e| e.n_params()).sum();
    let de = rel_max_diff(&a[..n], &b[..n]);
    eprintln!("loss gradient: {d:.1e} of its largest component, embeddings' {de:.1e}");
    assert!(d < 1e-5 && de < 1e-4, "{d:e} {de:e}");
    assert_ne!(a[..n], b[..n], "float32 gave float64's bits");
}

/// The float32 embeddings' forces against finite differences of the
/// energy. The fitting stays float64 here: its f32 products make the
/// energy rough at f32's rounding of its per-atom outputs, which a
/// difference quotient magnifies past any useful bound (the f32 fitting's
/// forces are checked against float64's above instead).
#[test]
fn forces_are_the_energy_gradient() {
    let Some(water) = water() else { return };
    let (_, mut model) = pair(&water, false);
    model.set_fitting_precision(Precision::Float64);
    let s = &water[4];
    let p = predict(&model, s);
    let fmax = p
        .forces
        .iter()
        .flatten()
        .fold(0.0f64, |m, f| m.max(f.abs()));
    // f32 rounding makes the energy rough at ~1e-7 of its size: a step
    // large enough to see past it
    let h = 1e-3;
    let mut worst: f64 = 0.0;
    for i in (0..s.n_atoms()).step_by(17) {
        for k in 0..3 {
            let (mut plus, mut minus) = (s.clone(), s.clone());
            plus.positions[i][k] += h;
            minus.positions[i][k] -= h;
            let fd = -(energy(&model, &plus) - energy(&model, &minus)) / (2.0 * h);
            worst = worst.max((p.forces[i][k] - fd).abs() / fmax);
        }
    }
    eprintln!("forces against finite differences: {worst:.1e} of the largest force");
    // seen: 2e-5
    assert!(worst < 3e-4, "{worst:e}");
}

#[test]
fn a_float32_run_gives_the_same_model_for_any_thread_count() {
    let model = format!("{SI_DEEPMD}\nprecision = \"float32\"");
    let runs = [("1", TempDir::new("f32-j1")), ("2", TempDir::new("f32-j2"))];
    for (threads, dir) in &runs {
        let cfg = si_config_for(dir.path(), 2, &model, "batch_size = 4", "");
        let o = forcefit(&["train", "-q", "-j", threads, cfg.to_str().unwrap()]);
        assert!(o.status.success(), "{}", common::stderr(&o));
    }
    let text = |d: &TempDir| common::model_file(d.path(), "model.yaml");
    assert_eq!(text(&runs[0].1), text(&runs[1].1));
    // named as the descriptor's and the fitting's precision
    let yaml = text(&runs[0].1);
    assert!(yaml.contains("precision: float32") && !yaml.contains("precision: float64"));
    let read = forcefit::model::load(&runs[0].1.path().join("out/model.yaml")).unwrap();
    let forcefit::model::AnyModel::Deepmd(pot) = read else {
        panic!("not a DeePMD model")
    };
    assert_eq!(pot.embedding_precision(), Precision::Float32);
    assert_eq!(pot.fitting_precision(), Precision::Float32);
    let summary = std::fs::read_to_string(runs[0].1.path().join("out/summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["model"]["precision"], "float32");
    assert_eq!(summary["model"]["fitting_precision"], "float32");
}

#[test]
fn precision_is_refused_where_only_float64_is_computed() {
    let dir = TempDir::new("f32-refused");
    for (family, model) in [("nep", SI_NEP), ("bp", SI_BP)] {
        let with = format!("{model}\nprecision = \"float32\"");
        let cfg = si_config_for(dir.path(), 1, &with, "batch_size = 4", "");
        let o = forcefit(&["train", "-q", cfg.to_str().unwrap()]);
        let err = common::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{family}: {err}");
        for needle in ["model.precision", family, "\"float64\"", "deepmd"] {
            assert!(err.contains(needle), "{family}: {needle:?} not in {err}");
        }
    }
    let with = format!("{SI_DEEPMD}\nprecision = \"float16\"");
    let cfg = si_config_for(dir.path(), 1, &with, "batch_size = 4", "");
    let o = forcefit(&["train", "-q", cfg.to_str().unwrap()]);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("model.precision") && err.contains("float32"),
        "{err}"
    );
}

/// A model drawn like another (committee members, `eval`'s random
/// baseline) keeps its precision.
#[test]
fn random_parameters_keep_the_precision() {
    let mut pot = deepmd_common::random_deepmd(true, true, false, 5);
    pot.set_embedding_precision(Precision::Float32);
    let any = forcefit::model::AnyModel::Deepmd(pot);
    let forcefit::model::AnyModel::Deepmd(drawn) = any.with_random_params(9).unwrap() else {
        panic!("not a DeePMD model")
    };
    assert_eq!(drawn.embedding_precision(), Precision::Float32);
    assert!(
        drawn
            .to_yaml_string()
            .unwrap()
            .contains("precision: float32")
    );
}
