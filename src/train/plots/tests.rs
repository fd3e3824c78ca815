//! Tests of the plots: valid PNGs, degenerate data, tick choices.

use super::axes::*;
use super::*;

/// Checks the PNG signature and returns the IHDR width and height.
fn png_dims(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() > 2_000, "{} bytes only", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[8..12], &13u32.to_be_bytes());
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn out(name: &str) -> PathBuf {
    // A fixed directory: reruns overwrite rather than accumulate, and
    // the atomic rename keeps concurrent runs from tearing files.
    let dir = std::env::temp_dir().join("forcefit-plots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn row(epoch: usize, val: bool) -> LogRow {
    let t = epoch as f64;
    LogRow {
        epoch,
        step: 10 * epoch,
        time_s: t,
        lr: 1e-3,
        // Spans six decades: the axis labels every other decade.
        loss: 1e4 * (-t / 7.0).exp(),
        train_rmse: [40.0 / (1.0 + t), 300.0 / (1.0 + t).sqrt(), f64::NAN],
        val_rmse: val.then(|| [45.0 / (1.0 + t), 320.0 / (1.0 + t).sqrt(), f64::NAN]),
        val_loss: val.then(|| 5.5 / (1.0 + t)),
        regularization: [0.0; 2],
    }
}

#[test]
fn loss_curves_png() {
    let rows: Vec<_> = (1..=100).map(|e| row(e, e % 5 == 0)).collect();
    let path = out("loss.png");
    loss_curves(&path, &rows).unwrap();
    assert_eq!(png_dims(&path), LOSS_SIZE);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    assert!(!Path::new(&tmp).exists(), "temporary file left behind");

    // Overfitting: validation errors rise again, into the upper right.
    let rows: Vec<_> = (1..=100)
        .map(|e| {
            let mut r = row(e, true);
            let t = e as f64;
            r.val_rmse = Some([10.0 + (t - 40.0).powi(2) / 50.0, 100.0 + t, 1.0]);
            r
        })
        .collect();
    let path = out("loss-overfit.png");
    loss_curves(&path, &rows).unwrap();
    assert_eq!(png_dims(&path), LOSS_SIZE);
}

#[test]
fn loss_curves_degenerate() {
    // No rows at all.
    let path = out("loss-empty.png");
    loss_curves(&path, &[]).unwrap();
    assert_eq!(png_dims(&path), LOSS_SIZE);
    // One row, all NaN, zero loss, no validation: nothing to draw.
    let mut r = row(0, false);
    r.loss = 0.0;
    r.train_rmse = [f64::NAN; 3];
    let path = out("loss-nan.png");
    loss_curves(&path, &[r.clone()]).unwrap();
    assert_eq!(png_dims(&path), LOSS_SIZE);
    // Constant series over identical epochs (zero-width ranges).
    let mut r2 = row(3, true);
    r2.train_rmse = [2.0, 2.0, f64::INFINITY];
    r2.val_rmse = Some([2.0, f64::NAN, -1.0]);
    let path = out("loss-const.png");
    loss_curves(&path, &[r2.clone(), r2]).unwrap();
    assert_eq!(png_dims(&path), LOSS_SIZE);
}

/// Deterministic pseudo-random scatter around y = x.
fn scatter(n: usize, scale: f64) -> (Vec<f64>, Vec<f64>) {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut gauss = || (0..12).map(|_| next()).sum::<f64>();
    let reference: Vec<f64> = (0..n).map(|_| scale * gauss()).collect();
    let predicted = reference
        .iter()
        .map(|r| r + 0.1 * scale * gauss())
        .collect();
    (reference, predicted)
}

#[test]
fn parity_png() {
    // Energies per atom sit far from zero: labels like -7250.
    let (mut er, mut ep) = scatter(200, 50.0);
    er.iter_mut().chain(&mut ep).for_each(|e| *e -= 7200.0);
    let (fr, fp) = scatter(100_000, 1000.0);
    let panels = [
        Parity {
            title: "energy",
            unit: "meV/atom",
            reference: &er,
            predicted: &ep,
            rmse: 1.44,
        },
        Parity {
            title: "force",
            unit: "meV/Å",
            reference: &fr,
            predicted: &fp,
            rmse: 109.4,
        },
        Parity {
            title: "virial",
            unit: "meV/atom",
            reference: &[],
            predicted: &[],
            rmse: f64::NAN,
        },
    ];
    let path = out("parity.png");
    let start = std::time::Instant::now();
    parity(&path, &panels).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(png_dims(&path), (3 * PARITY_SIDE, PARITY_SIDE));
    // Generous bound: release builds take a fraction of this.
    assert!(elapsed < 20.0, "parity plot took {elapsed} s");
}

#[test]
fn parity_degenerate() {
    let path = out("parity-none.png");
    parity(&path, &[]).unwrap();
    assert_eq!(png_dims(&path), (PARITY_SIDE, PARITY_SIDE));

    let nan = [f64::NAN, 1.0, f64::INFINITY];
    let constant = [3.0; 4];
    let panels = [
        Parity {
            title: "energy",
            unit: "",
            reference: &nan,
            predicted: &[1.0, f64::NAN, 2.0],
            rmse: f64::NAN,
        },
        Parity {
            title: "force",
            unit: "meV/Å",
            reference: &constant,
            predicted: &constant,
            rmse: 0.0,
        },
    ];
    let path = out("parity-degenerate.png");
    parity(&path, &panels).unwrap();
    assert_eq!(png_dims(&path), (2 * PARITY_SIDE, PARITY_SIDE));

    let bad = [Parity {
        title: "energy",
        unit: "eV",
        reference: &[1.0, 2.0],
        predicted: &[1.0],
        rmse: 0.0,
    }];
    assert!(parity(&out("parity-bad.png"), &bad).is_err());
}

#[test]
fn unwritable_path_is_an_error() {
    let path = out("no-such-dir").join("x.png");
    assert!(matches!(loss_curves(&path, &[]), Err(Error::Io { .. })));
}

#[test]
fn ranges_are_never_empty() {
    for r in [
        padded_linear([].into_iter()),
        padded_linear([f64::NAN].into_iter()),
        padded_linear([0.0, 0.0].into_iter()),
        padded_linear([1e300, 1e300].into_iter()),
        padded_linear([-f64::MAX, f64::MAX].into_iter()),
    ] {
        assert!(
            r.start < r.end && r.start.is_finite() && r.end.is_finite(),
            "{r:?}"
        );
    }
    for r in [
        padded_log([].into_iter()),
        padded_log([0.0, -1.0].into_iter()),
        padded_log([5.0].into_iter()),
        padded_log([f64::MIN_POSITIVE, f64::MAX].into_iter()),
    ] {
        assert!(
            r.start > 0.0 && r.start < r.end && r.end.is_finite(),
            "{r:?}"
        );
    }
}

#[test]
fn log_axis_labels_three_to_eight_ticks() {
    for (lo, hi) in [
        (1.05, 1.78),
        (5.5, 9.3),
        (0.06, 0.4),
        (22.0, 270.0),
        (0.3, 30.0),
        (1e-3, 1e4),
        (1e-300, 1e300),
        (1.0, 10.0),
    ] {
        let axis = log_axis(lo..hi);
        let n = axis.bold.len();
        assert!(
            (2..=8).contains(&n),
            "{lo}..{hi}: {n} labels {:?}",
            axis.bold
        );
        let inside = |v: &f64| *v >= axis.range.start - 1e-9 && *v <= axis.range.end + 1e-9;
        assert!(axis.bold.iter().chain(&axis.light).all(inside));
    }
}

#[test]
fn legend_avoids_the_curve() {
    let series = |points: Vec<(f64, f64)>| CurvePanel {
        caption: "",
        y_desc: "",
        series: vec![Series {
            label: "train",
            color: TRAIN_COLOR,
            points,
        }],
    };
    let falling = series((1..=50).map(|e| (e as f64, 100.0 / e as f64)).collect());
    let rising = series((1..=50).map(|e| (e as f64, e as f64)).collect());
    let (x, y) = (0.0..51.0, (0.5f64).log10()..(200f64).log10());
    assert!(matches!(
        legend_corner(&falling, &x, &y),
        SeriesLabelPosition::UpperRight
    ));
    assert!(!matches!(
        legend_corner(&rising, &x, &y),
        SeriesLabelPosition::UpperRight
    ));
}

#[test]
fn subsample_is_even_and_bounded() {
    let v: Vec<usize> = (0..10).collect();
    assert_eq!(subsample(&v, 20), v);
    assert_eq!(subsample(&v, 5), vec![0, 2, 4, 6, 8]);
    assert_eq!(
        subsample(&(0..100_001).collect::<Vec<_>>(), 50_000).len(),
        50_000
    );
}

#[test]
fn number_formats() {
    assert_eq!(format_value(109.43), "109.4");
    assert_eq!(format_value(1.2345), "1.23");
    assert_eq!(format_value(f64::NAN), "n/a");
    assert_eq!(format_value(0.0), "0");
    assert_eq!(format_tick(0.30000000000000004), "0.3");
    assert_eq!(format_tick(250.0), "250");
    assert_eq!(format_tick(-1500.0), "-1500");
    assert_eq!(format_tick(1e-5), "1e-5");
}

#[test]
fn line_plot_png() {
    let path = out("lines.png");
    let lines = [
        Line {
            label: "U".into(),
            points: (1..=9)
                .map(|k| {
                    let e = 10f64.powi(-k);
                    (e, e * e + 1e-16 / e)
                })
                .collect(),
            color: 0,
            thin: false,
        },
        Line {
            label: "skipped points".into(),
            points: vec![(1e-3, 0.0), (f64::NAN, 1.0), (1e-2, 1e-5)],
            color: 1,
            thin: true,
        },
    ];
    line_plot(&path, "test", "ε", "error", &lines).unwrap();
    assert_eq!(png_dims(&path), (1000, 700));
    let empty = out("lines_empty.png");
    line_plot(&empty, "nothing", "x", "y", &[]).unwrap();
    assert_eq!(png_dims(&empty), (1000, 700));
}
