//! `forcefit select`: DP-GEN's trust levels on a hand-written
//! model_devi.out (the expected classes worked out from DP-GEN's rule in
//! dpgen/generator/run.py, `_select_by_model_devi_standard`), the choice
//! of candidates, farthest-point sampling, and bad input.

mod common;

use common::{TempDir, forcefit, stderr};
use forcefit::active::fps::farthest_points;
use std::path::{Path, PathBuf};

/// (step, max_devi_v, max_devi_f) of each row, on and around the levels
/// f: 0.1 / 0.3, v: 0.01 / 0.02.
const ROWS: [(i64, f64, f64); 10] = [
    (0, 0.005, 0.05),       // accurate
    (10, 0.005, 0.10),      // candidate: f = f_lo counts (f_lo ≤ f)
    (20, 0.005, 0.0999999), // accurate
    (30, 0.005, 0.30),      // failed: f = f_hi (f ≥ f_hi)
    (40, 0.005, 0.2999999), // candidate
    (50, 0.010, 0.05),      // v levels: candidate (v = v_lo); else accurate
    (60, 0.020, 0.05),      // v levels: failed (v = v_hi); else accurate
    (70, 0.030, 0.20),      // candidate: the f window comes first
    (80, 0.030, 0.05),      // v levels: failed; else accurate
    (90, 0.015, 0.50),      // v levels: candidate (v window first); else failed
];

/// A tiny silicon NEP (as in tests/cli.rs), for the descriptors of --fps.
const TINY_MODEL: &str = "nep4 1 Si\ncutoff 5 4 10 10\nn_max 0 0\nbasis_size 0 0\nl_max 1 0 0\nANN 1 0\n\
  3.0000000e-01\n -2.0000000e-01\n  5.0000000e-01\n  7.0000000e-01\n  1.0000000e-01\n  8.0000000e-01\n -4.0000000e-01\n\
  1.0000000e+00\n  1.0000000e+00\n";

fn model_devi_text(rows: &[(i64, f64, f64)]) -> String {
    let mut t = String::from(
        "# frames.xyz\n#       step max_devi_v min_devi_v avg_devi_v max_devi_f ...\n",
    );
    for (step, v, f) in rows {
        t.push_str(&format!("{step:>12} {v:e} 0 0 {f:e} 0 0 0\n"));
    }
    t
}

/// The x of frame k's second atom; frame 7 repeats frame 4's geometry.
fn second_x(k: usize) -> f64 {
    let k = if k == 7 { 4 } else { k };
    1.0 + 0.15 * k as f64
}

/// A labelled Si₂ frame with the geometry of frame `k` and `step=`.
fn frame_text(k: usize, step: i64) -> String {
    format!(
        "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 \
         energy=-1.5 step={step} pbc=\"T T T\"\nSi 0 0 0 0.1 0 0\nSi {} 1.3 1.1 -0.1 0 0\n",
        second_x(k)
    )
}

/// `n` labelled frames.
fn frames_text(n: usize, step: impl Fn(usize) -> i64) -> String {
    (0..n).map(|k| frame_text(k, step(k))).collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Case {
    dir: TempDir,
    frames: PathBuf,
    devi: PathBuf,
}

fn case(tag: &str) -> Case {
    let dir = TempDir::new(tag);
    let frames = dir.file("frames.xyz", frames_text(ROWS.len(), |k| 10 * k as i64));
    let devi = dir.file("model_devi.out", model_devi_text(&ROWS));
    Case { dir, frames, devi }
}

fn select(c: &Case, extra: &[&str]) -> std::process::Output {
    let out = c.dir.path().join("candidates.xyz");
    let mut args = vec![
        "select",
        s(&c.frames),
        "--model-devi",
        s(&c.devi),
        "--trust-lo",
        "0.1",
        "--trust-hi",
        "0.3",
        "-o",
        s(&out),
    ];
    args.extend_from_slice(extra);
    forcefit(&args)
}

/// The steps of the written candidates (checking they carry no labels).
fn chosen_steps(c: &Case) -> Vec<i64> {
    let path = c.dir.path().join("candidates.xyz");
    let read = forcefit::io::extxyz::read_with_info(&path).unwrap();
    read.iter()
        .map(|(s, info)| {
            assert!(s.labels.energy.is_none(), "energy label kept");
            assert!(s.labels.forces.is_none() && s.labels.virial.is_none());
            info.step.unwrap()
        })
        .collect()
}

#[test]
fn counts_follow_dpgen_rule_for_forces() {
    let c = case("select-f");
    let o = select(&c, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("candidate :      3 in     10  30.00 %"),
        "{text}"
    );
    assert!(
        text.contains("failed    :      2 in     10  20.00 %"),
        "{text}"
    );
    assert!(
        text.contains("accurate  :      5 in     10  50.00 %"),
        "{text}"
    );
    assert_eq!(chosen_steps(&c), vec![10, 40, 70]);
}

#[test]
fn counts_follow_dpgen_rule_with_virial_levels() {
    let c = case("select-v");
    let o = select(&c, &["--trust-lo-v", "0.01", "--trust-hi-v", "0.02"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("candidate :      5 in     10  50.00 %"),
        "{text}"
    );
    assert!(
        text.contains("failed    :      3 in     10  30.00 %"),
        "{text}"
    );
    assert!(
        text.contains("accurate  :      2 in     10  20.00 %"),
        "{text}"
    );
    assert_eq!(chosen_steps(&c), vec![10, 40, 50, 70, 90]);
}

#[test]
fn max_keeps_the_highest_deviations_and_drops_labels() {
    let c = case("select-max");
    let o = select(&c, &["--max", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Candidates 10 (f 0.1), 40 (0.2999999), 70 (0.2): the two highest.
    assert_eq!(chosen_steps(&c), vec![40, 70]);
    let path = c.dir.path().join("candidates.xyz");
    let read = forcefit::io::read(&path, None).unwrap();
    assert_eq!(read[0].positions[1], [second_x(4), 1.3, 1.1]);
}

#[test]
fn fps_starts_from_the_highest_deviation_or_the_training_set() {
    let c = case("select-fps");
    let model = c.dir.file("nep.txt", TINY_MODEL);
    // Frame 7 repeats frame 4: after 4 (the highest deviation), 1 is farther.
    let o = select(&c, &["--max", "2", "--fps", "--model", s(&model)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(chosen_steps(&c), vec![10, 40]);
    // With frame 4's structure already in the training set, 1 comes first.
    let train = c.dir.file("train.xyz", frame_text(4, 0));
    let o = select(
        &c,
        &[
            "--max",
            "1",
            "--fps",
            "--model",
            s(&model),
            "--train",
            s(&train),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(chosen_steps(&c), vec![10]);
}

#[test]
fn farthest_point_sampling_on_a_square() {
    let p: Vec<Vec<f64>> = [
        [0.0, 0.0],
        [1.0, 0.0],
        [0.0, 1.0],
        [1.0, 1.0],
        [0.5, 0.5],
        [0.1, 0.0],
    ]
    .iter()
    .map(|x| x.to_vec())
    .collect();
    // From (0,0): the opposite corner, then the other corners (ties to
    // the lower index), then the centre, then the point next to (0,0).
    assert_eq!(farthest_points(&p, &[], 0, 6), vec![0, 3, 1, 2, 4, 5]);
    // With the centre already chosen: the corners, then (0.1, 0).
    assert_eq!(
        farthest_points(&p, &[vec![0.5, 0.5]], 3, 5),
        vec![0, 1, 2, 3, 5]
    );
    assert_eq!(farthest_points(&p, &[], 4, 2), vec![4, 0]);
}

#[test]
fn row_count_mismatch_names_the_file() {
    let c = case("select-count");
    std::fs::write(&c.devi, model_devi_text(&ROWS[..9])).unwrap();
    let o = select(&c, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("model_devi.out") && err.contains("has 9 rows but the frames hold 10"),
        "{err}"
    );
}

#[test]
fn malformed_number_names_file_and_line() {
    let c = case("select-number");
    let text = model_devi_text(&ROWS).replacen(" 2.999999e-1 ", " 0.3x ", 1);
    std::fs::write(&c.devi, text).unwrap();
    let o = select(&c, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    // Row of step 40 is on line 7 (two comment lines first).
    assert!(
        err.contains("model_devi.out:7:") && err.contains("column 5 (max_devi_f)"),
        "{err}"
    );
    assert!(err.contains("'0.3x'"), "{err}");
}

#[test]
fn step_mismatch_names_the_line() {
    let c = case("select-step");
    std::fs::write(
        &c.frames,
        frames_text(ROWS.len(), |k| 10 * k as i64 + i64::from(k == 3)),
    )
    .unwrap();
    let o = select(&c, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("model_devi.out:6:") && err.contains("frame 3 has step 31"),
        "{err}"
    );
}

#[test]
fn reads_what_deviation_writes() {
    let c = case("select-roundtrip");
    let a = c.dir.file("a.txt", TINY_MODEL);
    let b = c.dir.file(
        "b.txt",
        TINY_MODEL.replace("3.0000000e-01", "3.3000000e-01"),
    );
    let o = forcefit(&[
        "deviation",
        "-m",
        s(&a),
        "-m",
        s(&b),
        s(&c.frames),
        "-o",
        s(&c.devi),
        "--atomic",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = forcefit::active::model_devi::read(&c.devi).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        (0..10).map(|k| 10 * k).collect::<Vec<_>>()
    );
    let o = select(&c, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("in     10"));
}
