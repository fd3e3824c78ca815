//! The Kalman filter's covariance storage: float32 storage (float64
//! arithmetic) follows the float64 filter closely; the side file records
//! the stored type and a filter of the other type refuses it; conversion
//! rounds once; memory per rank when the blocks are spread over ranks.

mod common;

use forcefit::optim::{Kalman, KalmanSettings, Placement, Precision};
use std::ops::Range;

fn filter(precision: Precision, blocks: Vec<Range<usize>>) -> Kalman {
    let settings = KalmanSettings {
        p0: 1.0,
        lambda0: 0.98,
        nu: 0.9987,
        block_size: 20,
        p_max: Some(1.0),
        noise: None,
    };
    let mut k = Kalman::unallocated(settings, blocks).stored(precision, Placement::default());
    k.restart();
    k
}

const N: usize = 30;

fn blocks() -> Vec<Range<usize>> {
    vec![0..20, 20..N]
}

/// 300 updates on a noisy linear problem, flushed every 6 as training
/// does: the parameters, block 0's covariance and every update's gain.
fn run(precision: Precision) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut kalman = filter(precision, blocks());
    let mut rng = common::Rng(11);
    let truth: Vec<f64> = (0..N).map(|_| rng.range(-1.0, 1.0)).collect();
    let mut w = vec![0.0; N];
    let mut gains = Vec::new();
    for step in 0..300 {
        let h: Vec<f64> = (0..N).map(|_| rng.range(-1.0, 1.0)).collect();
        let y: f64 = h.iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>() + rng.range(-0.01, 0.01);
        let prediction: f64 = h.iter().zip(&w).map(|(a, b)| a * b).sum();
        kalman.update(&mut w, &h, y - prediction).unwrap();
        gains.push(kalman.last_gain());
        if step % 6 == 5 {
            kalman.flush();
        }
    }
    kalman.flush();
    (w, kalman.covariance(0), gains)
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn float32_storage_follows_the_float64_filter() {
    assert_eq!(
        Kalman::new(filter(Precision::Float64, blocks()).settings, blocks()).precision(),
        Precision::Float64,
        "the library's filter stores float64 unless told otherwise"
    );
    let (w64, p64, a64) = run(Precision::Float64);
    let (w32, p32, a32) = run(Precision::Float32);
    let (dw, dp, da) = (
        max_rel_diff(&w32, &w64),
        max_rel_diff(&p32, &p64),
        max_rel_diff(&a32, &a64),
    );
    eprintln!(
        "float32 against float64 after 300 updates: parameters {dw:.1e}, P {dp:.1e}, A {da:.1e}"
    );
    assert!(dw > 0.0, "float32 storage rounds");
    assert!(dw < 1e-7 && dp < 1e-5 && da < 1e-6, "{dw:e} {dp:e} {da:e}");
}

#[test]
fn float32_side_file_round_trips_and_a_float64_filter_refuses_it() {
    let dir = common::TempDir::new("kalman-f32-file");
    let mut kalman = filter(Precision::Float32, blocks());
    let mut w = vec![0.0; N];
    let mut rng = common::Rng(5);
    for _ in 0..20 {
        let h: Vec<f64> = (0..N).map(|_| rng.range(-1.0, 1.0)).collect();
        kalman.update(&mut w, &h, rng.range(-1.0, 1.0)).unwrap();
    }
    kalman.flush();
    let path = dir.path().join("p.npy");
    let sum = kalman.write_covariance(&path).unwrap();
    let values = 20 * 21 / 2 + 10 * 11 / 2;
    let bytes = std::fs::metadata(&path).unwrap().len() as usize;
    assert!(bytes >= 4 * values && bytes < 4 * values + 256, "{bytes}");
    let mut loaded = kalman.without_covariance();
    assert_eq!(loaded.precision(), Precision::Float32);
    loaded.read_covariance(&path, sum).unwrap();
    assert_eq!(loaded, kalman);
    let mut wide = kalman
        .without_covariance()
        .stored(Precision::Float64, Placement::default());
    let e = wide.read_covariance(&path, sum).unwrap_err().to_string();
    assert!(e.contains("<f4") && e.contains("float64"), "{e}");
}

#[test]
fn conversion_rounds_once_and_widening_is_exact() {
    let mut kalman = filter(Precision::Float64, blocks());
    let mut w = vec![0.0; N];
    let mut rng = common::Rng(9);
    for _ in 0..30 {
        let h: Vec<f64> = (0..N).map(|_| rng.range(-1.0, 1.0)).collect();
        kalman.update(&mut w, &h, rng.range(-1.0, 1.0)).unwrap();
    }
    kalman.flush();
    let wide = kalman.covariance(1);
    let mut narrow = kalman.clone();
    narrow.convert(Precision::Float32);
    assert_eq!(narrow.precision(), Precision::Float32);
    let rounded: Vec<f64> = wide.iter().map(|&x| f64::from(x as f32)).collect();
    assert_eq!(narrow.covariance(1), rounded);
    narrow.convert(Precision::Float64);
    assert_eq!(narrow.covariance(1), rounded);
}

#[test]
fn memory_per_rank_falls_with_ranks_and_float32_halves_the_covariance() {
    let blocks = vec![0..1000, 1000..1500, 1500..2500, 2500..2600];
    let on = |p, rank, ranks| Kalman::memory_bytes_on(&blocks, p, Placement { rank, ranks });
    let whole = on(Precision::Float64, 0, 1);
    assert_eq!(whole, Kalman::memory_bytes(&blocks));
    let values: usize = blocks.iter().map(|b| b.len() * (b.len() + 1) / 2).sum();
    assert_eq!(whole - on(Precision::Float32, 0, 1), 4 * values);
    for ranks in [2, 3] {
        let shares: Vec<usize> = (0..ranks)
            .map(|r| on(Precision::Float64, r, ranks))
            .collect();
        assert_eq!(shares.iter().sum::<usize>(), whole, "{ranks} ranks");
        // The two blocks of 1000 go to different ranks.
        assert!(shares.iter().all(|&s| s < 3 * whole / 4), "{shares:?}");
    }
}

/// A checkpoint from before the precision was recorded (no `precision`
/// field: its side file is float64), resumed with `covariance_precision =
/// "float32"`, is converted, with a note.
#[test]
fn an_older_float64_checkpoint_is_converted_on_resume() {
    let dir = common::TempDir::new("kalman-old-checkpoint");
    let pinned = "type = \"fekf\"\nbatch_size = 8\ncovariance_precision = \"float64\"";
    let cfg = common::si_config_for(dir.path(), 2, common::SI_NEP, pinned, "");
    let run = |args: &[&str]| {
        let mut all = vec!["train"];
        all.extend_from_slice(args);
        all.push(cfg.to_str().unwrap());
        let o = common::forcefit(&all);
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        stderr
    };
    run(&["-q"]);
    // Age the checkpoint: no precision recorded (its side file float64),
    // and resume it under float32.
    let path = dir.path().join("out/checkpoint.json");
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let kalman = c["optimizer"]["Kalman"].as_object_mut().unwrap();
    assert_eq!(kalman.remove("precision").unwrap(), "float64");
    let old_config = c["config"].as_str().unwrap().replace("float64", "float32");
    c["config"] = old_config.into();
    std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text
        .replace("float64", "float32")
        .replace("epochs = 2", "epochs = 3");
    std::fs::write(&cfg, text).unwrap();
    let stderr = run(&["--resume"]);
    assert!(
        stderr.contains("stored as float64; converted to float32"),
        "{stderr}"
    );
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(c["epoch"], 3);
    assert_eq!(c["optimizer"]["Kalman"]["precision"], "float32");
}

/// Without `covariance_precision` a covariance is stored in float64 up to
/// 256 MiB (as float64) and in float32 above; a setting wins either way.
#[test]
fn the_default_precision_follows_the_covariance_size() {
    use forcefit::train::config::{FLOAT64_COVARIANCE_UP_TO, OptimizerConfig};
    let auto = OptimizerConfig::default();
    assert_eq!(
        auto.precision_for(FLOAT64_COVARIANCE_UP_TO),
        Precision::Float64
    );
    assert_eq!(
        auto.precision_for(FLOAT64_COVARIANCE_UP_TO + 1),
        Precision::Float32
    );
    for p in [Precision::Float32, Precision::Float64] {
        let set = OptimizerConfig {
            covariance_precision: Some(p),
            ..OptimizerConfig::default()
        };
        assert_eq!(set.precision_for(1), p);
        assert_eq!(set.precision_for(usize::MAX), p);
    }
}
