//! The Extended Kalman Filter: exact recursive least squares on linear
//! problems (directly and through an RLEKF energy step on a NEP whose
//! trainable part is linear), positive-definite covariances over long runs,
//! block layout, skipped non-finite measurements, covariance files.

#![allow(clippy::single_range_in_vec_init)] // a list of one block is a list

mod common;

use forcefit::loss::{ForceGradient, LossConfig};
use forcefit::model::{Adjoint, Model};
use forcefit::optim::kalman::Skip;
use forcefit::optim::{Kalman, KalmanSettings};
use forcefit::train::optimizer::fekf::{FekfSettings, FekfStep};
use forcefit::train::step::Batch;
use rand::SeedableRng;

/// Solves the symmetric positive-definite system a·x = b (n×n row-major) by
/// Cholesky; None when a is not positive definite.
fn cholesky_solve(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let l = cholesky(a, n)?;
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Some(x)
}

fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// argmin Σ_k (y_k − h_kᵀw)² + |w − w0|²/p0 by the normal equations.
fn ridge(rows: &[Vec<f64>], y: &[f64], w0: &[f64], p0: f64) -> Vec<f64> {
    let n = w0.len();
    let mut a = vec![0.0; n * n];
    let mut b: Vec<f64> = w0.iter().map(|w| w / p0).collect();
    for i in 0..n {
        a[i * n + i] = 1.0 / p0;
    }
    for (h, yk) in rows.iter().zip(y) {
        for i in 0..n {
            b[i] += h[i] * yk;
            for j in 0..n {
                a[i * n + j] += h[i] * h[j];
            }
        }
    }
    cholesky_solve(&a, &b).expect("normal equations are positive definite")
}

fn settings(p0: f64, lambda0: f64, nu: f64, block_size: usize) -> KalmanSettings {
    KalmanSettings {
        p0,
        lambda0,
        nu,
        block_size,
        p_max: None,
        noise: None,
    }
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn one_pass_with_lambda_one_is_least_squares() {
    let mut rng = common::Rng(3);
    let (n, m, p0) = (40, 300, 10.0);
    let rows: Vec<Vec<f64>> = (0..m)
        .map(|_| (0..n).map(|_| rng.range(-1.0, 1.0)).collect())
        .collect();
    let y: Vec<f64> = (0..m).map(|_| rng.range(-2.0, 2.0)).collect();
    let w0: Vec<f64> = (0..n).map(|_| rng.range(-0.5, 0.5)).collect();
    let mut kalman = Kalman::new(settings(p0, 1.0, 1.0, n), vec![0..n]);
    let mut w = w0.clone();
    for (h, yk) in rows.iter().zip(&y) {
        let prediction: f64 = h.iter().zip(&w).map(|(a, b)| a * b).sum();
        kalman.update(&mut w, h, yk - prediction).unwrap();
    }
    let exact = ridge(&rows, &y, &w0, p0);
    let err = max_rel_diff(&w, &exact);
    assert!(
        err < 1e-11,
        "Kalman vs least squares: relative difference {err:e}"
    );

    // The covariance is the inverse of the normal matrix.
    let p = kalman.covariance(0);
    let mut normal = vec![0.0; n * n];
    for i in 0..n {
        normal[i * n + i] = 1.0 / p0;
        for h in &rows {
            for j in 0..n {
                normal[i * n + j] += h[i] * h[j];
            }
        }
    }
    for j in 0..n {
        let column: Vec<f64> = (0..n).map(|i| p[i * n + j]).collect();
        let product: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|k| normal[i * n + k] * column[k]).sum())
            .collect();
        for (i, x) in product.iter().enumerate() {
            let expected = if i == j { 1.0 } else { 0.0 };
            assert!((x - expected).abs() < 1e-10, "(P·N)[{i}][{j}] = {x}");
        }
    }
}

/// With measurement noise r each measurement weighs 1/r against the
/// prior: one pass with λ = 1 is least squares with the prior's variance
/// p0/r.
#[test]
fn measurement_noise_weighs_measurements_against_the_prior() {
    let mut rng = common::Rng(5);
    let (n, m, p0, r) = (30, 200, 2.0, 0.05);
    let rows: Vec<Vec<f64>> = (0..m)
        .map(|_| (0..n).map(|_| rng.range(-1.0, 1.0)).collect())
        .collect();
    let y: Vec<f64> = (0..m).map(|_| rng.range(-2.0, 2.0)).collect();
    let w0: Vec<f64> = (0..n).map(|_| rng.range(-0.5, 0.5)).collect();
    let noisy = KalmanSettings {
        noise: Some(r),
        ..settings(p0, 1.0, 1.0, n)
    };
    let mut kalman = Kalman::new(noisy, vec![0..n]);
    let mut w = w0.clone();
    for (h, yk) in rows.iter().zip(&y) {
        let prediction: f64 = h.iter().zip(&w).map(|(a, b)| a * b).sum();
        kalman.update(&mut w, h, yk - prediction).unwrap();
    }
    let err = max_rel_diff(&w, &ridge(&rows, &y, &w0, p0 / r));
    assert!(err < 1e-10, "relative difference {err:e}");
    let plain = ridge(&rows, &y, &w0, p0);
    assert!(max_rel_diff(&w, &plain) > 1e-3, "the noise changed nothing");
}

/// Without a measurement noise the filter uses the number of blocks
/// (deepmd-kit's choice): setting it to that count changes no bit.
#[test]
fn default_measurement_noise_is_the_number_of_blocks() {
    let mut rng = common::Rng(9);
    let n = 25;
    let blocks = vec![0..10, 10..18, 18..25];
    let run = |noise: Option<f64>, rng: &mut common::Rng| {
        let s = KalmanSettings {
            noise,
            ..settings(1.0, 0.98, 0.9987, 10)
        };
        let mut kalman = Kalman::new(s, blocks.clone());
        let mut w = vec![0.1; n];
        for _ in 0..20 {
            let h: Vec<f64> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
            let e = rng.range(-1.0, 1.0);
            kalman.update(&mut w, &h, e).unwrap();
        }
        w
    };
    let a = run(None, &mut common::Rng(9));
    let b = run(Some(3.0), &mut rng);
    assert_eq!(a, b);
    assert_ne!(a, run(Some(1.0), &mut common::Rng(9)));
}

#[test]
fn covariance_stays_symmetric_positive_definite_over_a_long_run() {
    let mut rng = common::Rng(11);
    let n = 60;
    // Four blocks of 15 with the default forgetting schedule; measurements
    // of very different sizes, some excite only part of the parameters.
    let blocks = Kalman::blocks_from_groups(&[0..15, 15..30, 30..45, 45..60], n, 16);
    assert_eq!(blocks.len(), 4);
    let mut kalman = Kalman::new(settings(1.0, 0.98, 0.9987, 16), blocks);
    let mut w = vec![0.0; n];
    for step in 0..3000 {
        let scale = 10f64.powf(rng.range(-3.0, 2.0));
        let h: Vec<f64> = (0..n)
            .map(|i| {
                if step % 3 == 0 && i >= 30 {
                    0.0
                } else {
                    scale * rng.range(-1.0, 1.0)
                }
            })
            .collect();
        kalman.update(&mut w, &h, rng.range(-1.0, 1.0)).unwrap();
    }
    assert!(kalman.lambda > 0.98 && kalman.lambda < 1.0);
    for b in 0..4 {
        let p = kalman.covariance(b);
        let m = 15;
        for i in 0..m {
            for j in 0..m {
                assert_eq!(p[i * m + j], p[j * m + i]);
            }
        }
        assert!(
            cholesky(&p, m).is_some(),
            "block {b} lost positive definiteness"
        );
    }
    assert!(w.iter().all(|x| x.is_finite()));
}

#[test]
fn blocks_gather_layers_and_split_large_ones() {
    // Gathered while the sum fits, a large group cut into block_size chunks,
    // gaps and a tail no group covers get blocks of their own.
    let groups = [0..3, 3..5, 5..9, 9..30, 30..31, 33..35];
    let blocks = Kalman::blocks_from_groups(&groups, 40, 8);
    assert_eq!(
        blocks,
        vec![0..5, 5..9, 9..17, 17..25, 25..30, 30..35, 35..40]
    );
    let covered: usize = blocks.iter().map(|b| b.len()).sum();
    assert_eq!(covered, 40);
    // A NEP's layer groups in one block at the default size.
    let nep = common::random_nep(&["Si", "O"], (4, true, false), None, 1);
    let n = nep.params().len();
    assert_eq!(
        Kalman::blocks_from_groups(&nep.param_groups(), n, 10240),
        vec![0..n]
    );
    // Memory: packed triangle plus scratch.
    assert_eq!(Kalman::memory_bytes(&[0..100]), 8 * (5050 + 100 * 26));
}

#[test]
fn non_finite_measurements_are_skipped_and_counted() {
    let mut kalman = Kalman::new(settings(1.0, 0.98, 0.9987, 8), vec![0..4]);
    let mut w = vec![0.5; 4];
    let before = (w.clone(), kalman.clone());
    assert_eq!(
        kalman.update(&mut w, &[1.0, f64::NAN, 0.0, 0.0], 0.1),
        Err(Skip::NotFinite)
    );
    assert_eq!(
        kalman.update(&mut w, &[1.0; 4], f64::INFINITY),
        Err(Skip::NotFinite)
    );
    assert_eq!(
        kalman.update(&mut w, &[1e200; 4], 1e200),
        Err(Skip::Overflow)
    );
    assert_eq!(kalman.skipped, 3);
    assert_eq!(w, before.0);
    assert_eq!(kalman.covariance(0), before.1.covariance(0));
    assert_eq!(kalman.lambda, before.1.lambda);
    // A zero gradient is a valid (if useless) measurement: no NaN.
    kalman.update(&mut w, &[0.0; 4], 1.0).unwrap();
    assert!(w.iter().all(|x| x.is_finite()));
}

#[test]
fn covariance_file_round_trips_and_refuses_a_foreign_file() {
    let dir = common::TempDir::new("kalman-file");
    let mut kalman = Kalman::new(settings(1.0, 0.98, 0.9987, 5), vec![0..5, 5..7]);
    let mut w = vec![0.0; 7];
    let mut rng = common::Rng(5);
    for _ in 0..20 {
        let h: Vec<f64> = (0..7).map(|_| rng.range(-1.0, 1.0)).collect();
        kalman.update(&mut w, &h, rng.range(-1.0, 1.0)).unwrap();
    }
    kalman.flush();
    let path = dir.path().join("p.npy");
    let sum = kalman.write_covariance(&path).unwrap();
    let mut loaded = kalman.without_covariance();
    assert!(!loaded.has_covariance());
    loaded.read_covariance(&path, sum).unwrap();
    assert_eq!(loaded, kalman);
    let e = loaded
        .read_covariance(&path, sum ^ 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum") && e.contains("p.npy"), "{e}");
    let mut other = Kalman::new(settings(1.0, 0.98, 0.9987, 5), vec![0..5]);
    let e = other.read_covariance(&path, sum).unwrap_err().to_string();
    assert!(
        e.contains("holds 18 values") && e.contains("need 15"),
        "{e}"
    );
}

/// RLEKF energy updates on a one-element NEP whose output layer (the only
/// part the filter trains) is linear in its parameters: one pass with λ = 1
/// is the least-squares fit of the per-atom energies.
#[test]
fn rlekf_energy_pass_on_a_linear_layer_is_least_squares() {
    let teacher = common::random_nep(&["Si"], (4, true, false), None, 21);
    let mut model = common::random_nep(&["Si"], (4, true, false), None, 22);
    let mut rng = common::Rng(9);
    let mut data = Vec::new();
    for k in 0..24 {
        let n_atoms = 6 + k % 5;
        let l = 5.5 + 0.1 * (k % 4) as f64;
        let cell = [[l, 0.0, 0.0], [0.3, l, 0.0], [0.0, 0.2, l]];
        let mut s = common::random_structure(&mut rng, &vec!["Si"; n_atoms], cell, [true; 3], 1.8);
        s.labels.energy = Some(common::energy(&teacher, &s) + rng.range(-0.05, 0.05));
        data.push(model.prepare(s).unwrap());
    }
    // The output weights and the output bias follow each other in the layout.
    let groups = model.param_groups();
    let (output, bias) = (groups[1].clone(), groups[2].clone());
    assert_eq!(output.end, bias.start);
    let block = output.start..bias.end;
    let n = block.len();

    // Rows h_k = ∇(E_k/N_k) on the block, and the frozen rest c_k.
    let w0: Vec<f64> = model.params()[block.clone()].to_vec();
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for s in &data {
        let n_atoms = s.structure.n_atoms() as f64;
        let mut g = vec![0.0; model.params().len()];
        let adj = Adjoint {
            energy: 1.0 / n_atoms,
            ..Default::default()
        };
        model.vjp(s, &adj, &mut g);
        let h = g[block.clone()].to_vec();
        let per_atom = common::energy(&model, &s.structure) / n_atoms;
        let rest = per_atom - h.iter().zip(&w0).map(|(a, b)| a * b).sum::<f64>();
        targets.push(s.structure.labels.energy.unwrap() / n_atoms - rest);
        rows.push(h);
    }
    let p0 = 100.0;
    let exact = ridge(&rows, &targets, &w0, p0);

    let mut kalman = Kalman::new(settings(p0, 1.0, 1.0, 10240), vec![block.clone()]);
    let fekf = FekfSettings {
        pref_e: 1.0,
        pref_f: 0.0,
        pref_v: 0.0,
        force_updates: 0,
        atoms_per_update: 6,
        balance_by_loss: false,
        force_gradient: ForceGradient::Exact,
        sites_only: true,
    };
    let mut step = FekfStep::new(model.params().len());
    let mut chacha = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let frozen = model.params().to_vec();
    for s in &data {
        step.run(
            &mut model,
            &mut kalman,
            &Batch::local(&[s]),
            &fekf,
            &LossConfig::default(),
            &mut chacha,
        );
    }
    let w = &model.params()[block.clone()];
    let err = max_rel_diff(w, &exact);
    assert!(
        err < 1e-9,
        "RLEKF vs least squares: relative difference {err:e}"
    );
    assert!(err.is_finite() && n == 6);
    // Nothing outside the block moved.
    for (i, (a, b)) in model.params().iter().zip(&frozen).enumerate() {
        if !block.contains(&i) {
            assert_eq!(a, b, "parameter {i} outside the filter's blocks changed");
        }
    }
}

/// With λ < 1 the variance of a parameter no measurement excites grows
/// without bound; the cap holds it at p_max and keeps P positive definite.
#[test]
fn wind_up_cap_bounds_unexcited_variances() {
    let n = 12;
    let run = |p_max: Option<f64>| {
        let mut kalman = Kalman::new(
            KalmanSettings {
                p_max,
                ..settings(1.0, 0.98, 0.9987, n)
            },
            vec![0..n],
        );
        let mut rng = common::Rng(17);
        let mut w = vec![0.0; n];
        for step in 0..2000 {
            // Parameter 11 is never measured; parameter 10 only rarely.
            let h: Vec<f64> = (0..n)
                .map(|i| match i {
                    11 => 0.0,
                    10 if step % 500 != 499 => 0.0,
                    _ => rng.range(-1.0, 1.0),
                })
                .collect();
            kalman.update(&mut w, &h, rng.range(-0.1, 0.1)).unwrap();
            if step % 6 == 5 {
                kalman.flush();
            }
        }
        kalman.flush();
        (kalman.covariance(0), w)
    };
    let (free, _) = run(None);
    assert!(
        free[11 * n + 11] > 1e3,
        "no wind-up without the cap: {}",
        free[11 * n + 11]
    );
    let (capped, w) = run(Some(1.0));
    for i in 0..n {
        assert!(
            capped[i * n + i] <= 1.0 + 1e-12,
            "P[{i}][{i}] = {}",
            capped[i * n + i]
        );
    }
    assert!(
        cholesky(&capped, n).is_some(),
        "the capped covariance is not positive definite"
    );
    assert!(w.iter().all(|x| x.is_finite()));
}
