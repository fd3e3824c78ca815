//! GPUMD's loss weights (`[loss] type_weight`, `force_delta`,
//! `lambda_shear`) through forcefit's training paths: the loss of a real
//! model's predictions against a computation by hand, its gradient (exact
//! and directional) against finite differences in the parameters, the
//! neutral weights against today's loss bit for bit, the Kalman filter's
//! force update, and the `[loss]` keys' errors.

mod common;

use common::{Rng, random_structure};
use forcefit::loss::{ForceGradient, LossConfig, LossKind};
use forcefit::model::nep::Nep;
use forcefit::model::{Model, Prediction, Prepared};
use forcefit::optim::{Kalman, KalmanSettings};
use forcefit::structure::Labels;
use forcefit::train::config::TrainConfig;
use forcefit::train::optimizer::fekf::{FekfSettings, FekfStep};
use forcefit::train::step::{self, Batch};
use rand::SeedableRng;
use std::path::Path;

fn model() -> Nep {
    common::random_nep(&["Pb", "Te"], (4, true, false), None, 3)
}

/// Two labelled Pb/Te cells; reference forces are large on some atoms so
/// that `force_delta` matters.
fn batch(model: &Nep) -> Vec<Prepared> {
    let mut rng = Rng(41);
    let cells = [
        [[4.1, 0.0, 0.0], [0.7, 4.3, 0.0], [-0.4, 0.5, 4.2]],
        [[4.6, 0.0, 0.0], [0.0, 4.4, 0.0], [0.3, 0.0, 4.0]],
    ];
    let species: [&[&str]; 2] = [
        &["Pb", "Te", "Pb", "Te", "Te"],
        &["Te", "Pb", "Pb", "Te", "Pb", "Te"],
    ];
    cells
        .iter()
        .zip(species)
        .enumerate()
        .map(|(k, (cell, sp))| {
            let mut s = random_structure(&mut rng, sp, *cell, [true; 3], 1.2);
            let n = sp.len();
            s.labels = Labels {
                energy: Some(rng.range(-4.0, -3.0) * n as f64),
                forces: Some(
                    (0..n)
                        .map(|i| {
                            let scale = if i % 3 == 0 { 8.0 } else { 0.5 };
                            std::array::from_fn(|_| scale * rng.range(-1.0, 1.0))
                        })
                        .collect(),
                ),
                virial: Some(std::array::from_fn(|_| rng.range(-2.0, 2.0))),
                weight: [1.0, 1.7][k],
                config_type: None,
            };
            model.prepare(s).unwrap()
        })
        .collect()
}

fn weighted(kind: LossKind) -> LossConfig {
    LossConfig {
        lambda_e: 0.6,
        lambda_f: 1.1,
        lambda_v: 0.3,
        kind,
        type_weight: [("Pb".to_string(), 2.5), ("Te".to_string(), 0.4)].into(),
        force_delta: 1.5,
        lambda_shear: 0.2,
        ..LossConfig::default()
    }
}

/// GPUMD's weighted loss, written out from its kernels: Σ w_s Σ_i
/// tw_i² δ/(δ+|F_ref,i|) |ΔF_i|² over 3 Σ w_s N_s, and the virial with the
/// shear components ×λs² over 6 Σ w_s.
fn by_hand(config: &LossConfig, data: &[Prepared], predictions: &[Prediction]) -> f64 {
    let (mut e, mut ne, mut f, mut nf, mut v, mut nv) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (s, p) in data.iter().zip(predictions) {
        let s = &s.structure;
        let (w, n) = (s.labels.weight, s.n_atoms() as f64);
        e += w * ((p.energy - s.labels.energy.unwrap()) / n).powi(2);
        ne += w;
        for (i, fr) in s.labels.forces.as_ref().unwrap().iter().enumerate() {
            let tw: f64 = if s.species[i] == "Pb" { 2.5 } else { 0.4 };
            let magnitude = (fr[0] * fr[0] + fr[1] * fr[1] + fr[2] * fr[2]).sqrt();
            for a in 0..3 {
                f += w * tw * tw * 1.5 / (1.5 + magnitude) * (p.forces[i][a] - fr[a]).powi(2);
            }
            nf += 3.0 * w;
        }
        let vr = s.labels.virial.unwrap();
        // Row-major 3×3: xx yy zz are 0 4 8, xy yz zx are 1 5 6.
        for c in [0, 4, 8] {
            v += w * ((p.virial[c] - vr[c]) / n).powi(2);
        }
        for c in [1, 5, 6] {
            v += w * 0.04 * ((p.virial[c] - vr[c]) / n).powi(2);
        }
        nv += 6.0 * w;
    }
    let (e, f, v) = (e / ne, f / nf, v / nv);
    match config.kind {
        LossKind::Mse => 0.6 * e + 1.1 * f + 0.3 * v,
        LossKind::Rmse => 0.6 * e.sqrt() + 1.1 * f.sqrt() + 0.3 * v.sqrt(),
    }
}

#[test]
fn weighted_loss_equals_the_computation_by_hand() {
    let m = model();
    let data = batch(&m);
    let refs: Vec<&Prepared> = data.iter().collect();
    let predictions = step::predict(&m, &refs);
    for kind in [LossKind::Mse, LossKind::Rmse] {
        let config = weighted(kind);
        let parts = step::loss(&m, &Batch::local(&refs), &config, |_, _| true);
        let expected = by_hand(&config, &data, &predictions);
        let rel = (parts.total - expected).abs() / expected;
        eprintln!(
            "{kind:?}: loss {} vs by hand {expected}: {rel:.1e}",
            parts.total
        );
        assert!(rel < 1e-12, "{kind:?}: {} vs {expected}", parts.total);
        // The reported errors are the unweighted ones.
        let plain = step::loss(
            &m,
            &Batch::local(&refs),
            &LossConfig {
                kind,
                ..LossConfig::default()
            },
            |_, _| true,
        );
        assert_eq!(
            (parts.energy_mse, parts.force_mse, parts.virial_mse),
            (plain.energy_mse, plain.force_mse, plain.virial_mse)
        );
        assert!(parts.total != plain.total);
    }
}

/// The gradient of the weighted loss (exact vjp and directional) against
/// central differences of the loss in 40 parameters spread over the
/// networks and the descriptor coefficients.
#[test]
fn weighted_gradient_matches_finite_differences() {
    let m = model();
    let data = batch(&m);
    let refs: Vec<&Prepared> = data.iter().collect();
    let n = m.params().len();
    let picks: Vec<usize> = (0..40).map(|k| k * (n - 1) / 39).collect();
    for kind in [LossKind::Mse, LossKind::Rmse] {
        for force_gradient in [
            ForceGradient::Exact,
            ForceGradient::Directional { epsilon: 1e-5 },
        ] {
            let config = LossConfig {
                force_gradient,
                ..weighted(kind)
            };
            let mut grad = vec![0.0; n];
            step::loss_and_gradient(&m, &Batch::local(&refs), &config, |_, _| true, &mut grad);
            let (mut worst, mut scale) = (0.0f64, 0.0f64);
            for &i in &picks {
                let h = 1e-6 * (1.0 + m.params()[i].abs());
                let at = |x: f64| {
                    let mut p = m.clone();
                    p.params_mut()[i] = x;
                    step::loss(&p, &Batch::local(&refs), &config, |_, _| true).total
                };
                let x = m.params()[i];
                let fd = (at(x + h) - at(x - h)) / (2.0 * h);
                worst = worst.max((grad[i] - fd).abs());
                scale = scale.max(fd.abs());
            }
            let rel = worst / scale;
            eprintln!("{kind:?} {force_gradient:?}: max |∇L − FD| / max |FD| = {rel:.1e}");
            assert!(rel < 1e-6, "{kind:?} {force_gradient:?}: {rel:e}");
        }
    }
}

/// Weights 1 (listed), δ = 0 and λs = 1 are today's loss: the same loss
/// and gradient to the last bit, and the same Kalman step.
#[test]
fn neutral_weights_reproduce_the_loss_exactly() {
    let m = model();
    let data = batch(&m);
    let refs: Vec<&Prepared> = data.iter().collect();
    for kind in [LossKind::Mse, LossKind::Rmse] {
        let plain = LossConfig {
            kind,
            ..LossConfig::default()
        };
        let neutral = LossConfig {
            type_weight: [("Pb".to_string(), 1.0), ("Te".to_string(), 1.0)].into(),
            force_delta: 0.0,
            lambda_shear: 1.0,
            ..plain.clone()
        };
        let (mut g1, mut g2) = (vec![0.0; m.params().len()], vec![0.0; m.params().len()]);
        let a = step::loss_and_gradient(&m, &Batch::local(&refs), &plain, |_, _| true, &mut g1);
        let b = step::loss_and_gradient(&m, &Batch::local(&refs), &neutral, |_, _| true, &mut g2);
        assert_eq!(a, b);
        assert_eq!(g1, g2);
    }
    let plain = fekf_step(&LossConfig::default(), 1.0);
    let neutral = fekf_step(
        &LossConfig {
            type_weight: [("Pb".to_string(), 1.0)].into(),
            ..LossConfig::default()
        },
        1.0,
    );
    assert_eq!(plain, neutral);
}

/// One FEKF step (force updates only, prefactor `pref_f`) on the batch;
/// the parameters after it.
fn fekf_step(weights: &LossConfig, pref_f: f64) -> Vec<f64> {
    fekf_step_on(weights, pref_f, 0.0, &[1.0, 1.0], false)
}

/// One FEKF step with energy prefactor `pref_e` and force prefactor
/// `pref_f`, the batch's structures weighted by `structure_weights`.
fn fekf_step_on(
    weights: &LossConfig,
    pref_f: f64,
    pref_e: f64,
    structure_weights: &[f64; 2],
    balance_by_loss: bool,
) -> Vec<f64> {
    let mut m = model();
    let mut data = batch(&m);
    for (s, &w) in data.iter_mut().zip(structure_weights) {
        s.structure.labels.weight = w;
    }
    let refs: Vec<&Prepared> = data.iter().collect();
    let n = m.params().len();
    let settings = KalmanSettings {
        p0: 1.0,
        lambda0: 0.98,
        nu: 0.9987,
        block_size: n,
        p_max: None,
        noise: None,
    };
    let one_block = std::iter::once(0..n).collect();
    let mut kalman = Kalman::new(settings, one_block);
    let fekf = FekfSettings {
        pref_e,
        pref_f,
        pref_v: 0.0,
        force_updates: 2,
        atoms_per_update: 3,
        balance_by_loss,
        force_gradient: ForceGradient::Exact,
        sites_only: true,
    };
    let mut step = FekfStep::new(n);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    step.run(
        &mut m,
        &mut kalman,
        &Batch::local(&refs),
        &fekf,
        weights,
        &mut rng,
    );
    m.params().to_vec()
}

/// The Kalman force update scales each atom's measurement by the square
/// root of its loss weight: a type weight c on every element is the force
/// prefactor times c; a weight on one element changes the step.
#[test]
fn fekf_force_update_carries_the_type_weights() {
    let c = 1.7;
    let uniform = LossConfig {
        type_weight: [("Pb".to_string(), c), ("Te".to_string(), c)].into(),
        ..LossConfig::default()
    };
    let a = fekf_step(&uniform, 1.0);
    let b = fekf_step(&LossConfig::default(), c);
    let start = model().params().to_vec();
    let moved: f64 = a.iter().zip(&start).map(|(x, y)| (x - y).abs()).sum();
    let diff: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum();
    eprintln!("uniform type weight vs prefactor: Σ|Δθ| {diff:.1e} of a step of {moved:.1e}");
    assert!(moved > 0.0 && diff <= 1e-12 * moved, "{diff} vs {moved}");
    let one = LossConfig {
        type_weight: [("Pb".to_string(), c)].into(),
        ..LossConfig::default()
    };
    assert_ne!(fekf_step(&one, 1.0), b);
    let delta = LossConfig {
        force_delta: 0.5,
        ..LossConfig::default()
    };
    assert_ne!(
        fekf_step(&delta, 1.0),
        fekf_step(&LossConfig::default(), 1.0)
    );
}

/// Structure weights are relative, as in the loss: weighting every
/// structure by c leaves the Kalman step as it is (each measurement is
/// divided by the mean weight of its structures), while unequal weights
/// change it.
#[test]
fn fekf_structure_weights_are_relative() {
    let plain = LossConfig::default();
    let start = model().params().to_vec();
    let a = fekf_step_on(&plain, 1.0, 1.0, &[1.0, 1.0], false);
    let b = fekf_step_on(&plain, 1.0, 1.0, &[0.3, 0.3], false);
    let moved: f64 = a.iter().zip(&start).map(|(x, y)| (x - y).abs()).sum();
    let diff: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum();
    eprintln!("uniform structure weight 0.3 vs 1: Σ|Δθ| {diff:.1e} of a step of {moved:.1e}");
    assert!(moved > 0.0 && diff <= 1e-12 * moved, "{diff} vs {moved}");
    let c = fekf_step_on(&plain, 1.0, 1.0, &[0.3, 1.0], false);
    let changed: f64 = a.iter().zip(&c).map(|(x, y)| (x - y).abs()).sum();
    assert!(changed > 1e-3 * moved, "{changed} vs {moved}");
}

/// Balanced prefactors scale the energy prefactor by √(w_e/w_f): for an
/// MSE loss λ_e/λ_f, so λ_e = 4λ_f balances to the step with pref_e = 2,
/// and equal weights change nothing; an RMSE loss weighs by the batch's
/// errors, which changes the step.
#[test]
fn fekf_balanced_prefactors_follow_the_loss_weights() {
    let mse = |lambda_e: f64| LossConfig {
        kind: LossKind::Mse,
        lambda_e,
        lambda_f: 1.0,
        lambda_v: 0.0,
        ..LossConfig::default()
    };
    let w = &[1.0, 1.0];
    assert_eq!(
        fekf_step_on(&mse(1.0), 1.0, 1.0, w, true),
        fekf_step_on(&mse(1.0), 1.0, 1.0, w, false)
    );
    assert_eq!(
        fekf_step_on(&mse(4.0), 1.0, 1.0, w, true),
        fekf_step_on(&mse(4.0), 1.0, 2.0, w, false)
    );
    let rmse = LossConfig {
        kind: LossKind::Rmse,
        ..mse(1.0)
    };
    assert_ne!(
        fekf_step_on(&rmse, 1.0, 1.0, w, true),
        fekf_step_on(&rmse, 1.0, 1.0, w, false)
    );
}

fn config_error(loss: &str) -> String {
    let text = format!("[data]\ntrain = \"a.xyz\"\n\n[loss]\n{loss}\n");
    TrainConfig::from_toml(&text, Path::new("run.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn loss_keys_are_read_and_checked() {
    let text = "[data]\ntrain = \"a.xyz\"\n\n[loss]\ntype_weight = { Pb = 2.0, Te = 1.0 }\nforce_delta = 0.5\nlambda_shear = 0.0\n";
    let c = TrainConfig::from_toml(text, Path::new("run.toml")).unwrap();
    let w = c.loss.weights(1e-3);
    assert_eq!(w.type_weight.get("Pb"), Some(&2.0));
    assert_eq!((w.force_delta, w.lambda_shear), (0.5, 0.0));
    for (loss, expected) in [
        (
            "type_weight = { Pb = 2.0, Xx = 1.0 }",
            "loss.type_weight.Xx: \"Xx\" is not an element symbol",
        ),
        (
            "type_weight = { Pb = -1.0 }",
            "loss.type_weight.Pb must be a non-negative number",
        ),
        (
            "force_delta = -1",
            "loss.force_delta must be a non-negative",
        ),
        (
            "lambda_shear = -0.5",
            "loss.lambda_shear must be a non-negative",
        ),
    ] {
        let e = config_error(loss);
        assert!(e.contains(expected), "{loss}: {e}");
    }
}

/// A weight for an element the run's model lacks is refused at the start
/// (most likely a typo), naming the key.
#[test]
fn weight_for_an_absent_element_is_an_error() {
    let dir = common::TempDir::new("lw-absent");
    let config = common::si_config(dir.path(), 1, "", "");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace(
        "[optimizer]",
        "[loss]\ntype_weight = { Ge = 2.0 }\n\n[optimizer]",
    );
    std::fs::write(&config, text).unwrap();
    let o = common::forcefit(&["train", "-q", config.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("loss.type_weight.Ge: Ge is not an element of the model (Si)"),
        "{err}"
    );
}
