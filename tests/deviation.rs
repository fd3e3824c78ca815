//! `forcefit deviation` against numpy and deepmd-kit, for every family:
//! three members (a reference model with perturbed parameters) predict
//! the same frames with `forcefit predict`; tests/deviation/reference.py
//! computes deepmd-kit's definitions from those predictions with numpy,
//! writes the layout with numpy.savetxt and, when deepmd-kit is
//! importable, runs deepmd-kit's own functions and `write_model_devi_out`.

mod common;

use common::{Rng, TempDir, forcefit, random_structure, shared, stderr};
use forcefit::model::{self, Model};
use forcefit::structure::Structure;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const FRAMES: usize = 4;

/// Three members: the model of `files` with its parameters perturbed by
/// about 1% (seeded), each written to its own directory. Returns each
/// member's file paths.
fn members(dir: &Path, files: &[PathBuf]) -> Vec<Vec<PathBuf>> {
    let base = model::load_files(files).unwrap();
    (0..3)
        .map(|k| {
            let mut m = base.clone();
            let mut rng = Rng(17 + k as u64);
            for p in m.params_mut() {
                *p += 0.01 * rng.range(-1.0, 1.0) * (p.abs() + 0.05);
            }
            let out = dir.join(format!("member{k}"));
            std::fs::create_dir_all(&out).unwrap();
            m.write_into(&out).unwrap()
        })
        .collect()
}

/// `FRAMES` random frames of `species`, each with `step=` (0, 50, ...).
fn frames(dir: &Path, species: &[&str], min_dist: f64) -> PathBuf {
    let mut rng = Rng(5);
    let mut text = Vec::new();
    for k in 0..FRAMES {
        let a = 7.0 + 0.2 * k as f64;
        let cell = [[a, 0.0, 0.0], [0.3, a, 0.0], [0.0, 0.2, a]];
        let s = random_structure(&mut rng, species, cell, [true; 3], min_dist);
        let mut one = Vec::new();
        forcefit::io::extxyz::write_frame(&mut one, &s, None).unwrap();
        let one = String::from_utf8(one).unwrap();
        let (count, rest) = one.split_once('\n').unwrap();
        let (comment, atoms) = rest.split_once('\n').unwrap();
        text.push(format!("{count}\n{comment} step={}\n{atoms}", 50 * k));
    }
    let path = dir.join("frames.xyz");
    std::fs::write(&path, text.concat()).unwrap();
    path
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Each member's predictions for the frames, from `forcefit predict`.
fn predictions(dir: &Path, members: &[Vec<PathBuf>], frames: &Path) -> Vec<Vec<Structure>> {
    members
        .iter()
        .enumerate()
        .map(|(k, files)| {
            let out = dir.join(format!("predicted{k}.xyz"));
            let mut args = vec!["predict".to_string()];
            for f in files {
                args.extend(["--model".to_string(), s(f)]);
            }
            args.extend([s(frames), "-o".into(), s(&out)]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = forcefit(&args);
            assert!(o.status.success(), "{}", stderr(&o));
            forcefit::io::read(&out, None).unwrap()
        })
        .collect()
}

/// Runs the reference script; its JSON answer.
fn reference(dir: &Path, preds: &[Vec<Structure>], header: &str, extra: &Value) -> Value {
    let field = |f: &dyn Fn(&Structure) -> Value| -> Value {
        preds
            .iter()
            .map(|m| m.iter().map(f).collect::<Value>())
            .collect()
    };
    let mut input = json!({
        "energies": field(&|s| json!(s.labels.energy.unwrap())),
        "forces": field(&|s| json!(s.labels.forces.clone().unwrap())),
        "virials": field(&|s| json!(s.labels.virial.unwrap().to_vec())),
        "steps": (0..FRAMES).map(|k| 50 * k).collect::<Vec<_>>(),
        "header": header,
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let json_path = dir.join("predictions.json");
    std::fs::write(&json_path, input.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/deviation/reference.py");
    let o = std::process::Command::new("python3")
        .args([
            script,
            json_path,
            dir.join("numpy.out"),
            dir.join("deepmd.out"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "reference.py: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The numbers of a model_devi.out, a row per data line.
fn rows(path: &Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect()
}

/// `ours` (printed to 7 significant digits) against full-precision values.
fn assert_rows_close(ours: &[Vec<f64>], reference: &Value, what: &str) {
    let reference: Vec<Vec<f64>> = serde_json::from_value(reference.clone()).unwrap();
    assert_eq!(ours.len(), reference.len(), "{what}: row count");
    for (r, (a, b)) in ours.iter().zip(&reference).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: columns of row {r}");
        for (c, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 6e-7 * y.abs() + 1e-300,
                "{what}: row {r} column {c}: {x} vs {y}"
            );
        }
    }
}

/// One family: deviation files against numpy's and deepmd-kit's.
fn check_family(tag: &str, files: &[PathBuf], species: &[&str], min_dist: f64) {
    if !common::python_module("numpy") {
        return;
    }
    let dir = TempDir::new(tag);
    let members = members(dir.path(), files);
    let frames = frames(dir.path(), species, min_dist);
    let preds = predictions(dir.path(), &members, &frames);
    let member_args: Vec<String> = members
        .iter()
        .flat_map(|files| {
            let joined: Vec<String> = files.iter().map(|f| s(f)).collect();
            ["--model".to_string(), joined.join(",")]
        })
        .collect();
    let runs = [
        (
            "--atomic",
            json!({"relative": null, "relative_v": null, "atomic": true}),
        ),
        (
            "--relative=0.5",
            json!({"relative": 0.5, "relative_v": 0.2, "atomic": false}),
        ),
    ];
    for (flag, extra) in runs {
        let out = dir.path().join("model_devi.out");
        let active = dir.path().join("active.out");
        let xyz = dir.path().join("devi.xyz");
        let mut args: Vec<String> = vec!["deviation".into()];
        args.extend(member_args.iter().cloned());
        args.extend([s(&frames), "-o".into(), s(&out), flag.into()]);
        if flag != "--atomic" {
            args.push("--relative-v=0.2".into());
        }
        args.extend(["--gpumd".into(), s(&active), "--frames-out".into(), s(&xyz)]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = forcefit(&args);
        assert!(o.status.success(), "{tag} {flag}: {}", stderr(&o));
        let want = reference(dir.path(), &preds, &s(&frames), &extra);
        let ours = std::fs::read_to_string(&out).unwrap();
        let numpy = std::fs::read_to_string(dir.path().join("numpy.out")).unwrap();
        assert_eq!(ours, numpy, "{tag} {flag}: layout against numpy.savetxt");
        assert_rows_close(&rows(&out), &want["rows"], &format!("{tag} {flag} numpy"));
        if want["deepmd"].as_bool().unwrap() {
            let deepmd = std::fs::read_to_string(dir.path().join("deepmd.out")).unwrap();
            assert_eq!(
                ours, deepmd,
                "{tag} {flag}: byte for byte against deepmd-kit"
            );
            let what = format!("{tag} {flag} deepmd-kit");
            assert_rows_close(&rows(&out), &want["deepmd_rows"], &what);
            std::fs::remove_file(dir.path().join("deepmd.out")).unwrap();
        } else {
            eprintln!("note: deepmd-kit is not importable; compared with numpy only");
        }
        check_active_out(&active, &want["uncertainty"]);
        check_frames_out(&xyz, &rows(&out), flag == "--atomic");
    }
}

/// GPUMD's active.out: `%20.10e%20.10e`, the step (no Time=) and σ_f.
fn check_active_out(path: &Path, uncertainty: &Value) {
    let text = std::fs::read_to_string(path).unwrap();
    let sigma: Vec<f64> = serde_json::from_value(uncertainty.clone()).unwrap();
    assert_eq!(text.lines().count(), FRAMES);
    for (k, line) in text.lines().enumerate() {
        assert_eq!(line.len(), 40, "{line:?}");
        let t: f64 = line[..20].trim().parse().unwrap();
        let u: f64 = line[20..].trim().parse().unwrap();
        assert_eq!(t, (50 * k) as f64);
        assert!(
            (u - sigma[k]).abs() <= 1e-10 * sigma[k],
            "{u} vs {}",
            sigma[k]
        );
    }
}

/// The frames file: no labels, the step, the scalars and, per atom, the
/// force deviation of model_devi.out.
fn check_frames_out(path: &Path, rows: &[Vec<f64>], atomic: bool) {
    let read = forcefit::io::extxyz::read_with_info(path).unwrap();
    assert_eq!(read.len(), FRAMES);
    for (k, (s, info)) in read.iter().enumerate() {
        assert_eq!(info.step, Some(50 * k as i64));
        assert!(s.labels.energy.is_none() && s.labels.forces.is_none());
        assert!(s.labels.virial.is_none());
    }
    let text = std::fs::read_to_string(path).unwrap();
    let comments: Vec<&str> = text.lines().filter(|l| l.contains("Properties=")).collect();
    for (k, c) in comments.iter().enumerate() {
        assert!(c.contains(":force_deviation:R:1"), "{c}");
        let key = c.split("max_devi_f=").nth(1).unwrap();
        let value: f64 = key.split_whitespace().next().unwrap().parse().unwrap();
        assert!(
            (value - rows[k][4]).abs() <= 6e-7 * value,
            "{value} vs {}",
            rows[k][4]
        );
    }
    if atomic {
        let atoms = text.lines().filter(|l| l.split_whitespace().count() == 5);
        let eps: Vec<f64> = atoms
            .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
            .collect();
        let want: Vec<f64> = rows.iter().flat_map(|r| r[8..].to_vec()).collect();
        assert_eq!(eps.len(), want.len());
        for (a, b) in eps.iter().zip(&want) {
            assert!((a - b).abs() <= 6e-7 * b, "{a} vs {b}");
        }
    }
}

#[test]
fn nep_committee_matches_numpy_and_deepmd_kit() {
    let Some(nep) = shared("oracle/nep/pbte_zbl_nep.txt") else {
        return;
    };
    let species = ["Pb", "Te", "Pb", "Te", "Pb", "Te", "Te", "Pb"];
    check_family("devi-nep", &[nep], &species, 2.4);
}

#[test]
fn deepmd_committee_matches_numpy_and_deepmd_kit() {
    let Some(yaml) = shared("oracle/deepmd/deeppot_sea.yaml") else {
        return;
    };
    let species = ["O", "H", "H", "O", "H", "H", "O", "H"];
    check_family("devi-deepmd", &[yaml], &species, 0.9);
}

#[test]
fn bp_committee_matches_numpy_and_deepmd_kit() {
    let (Some(ti), Some(o)) = (
        shared("oracle/aenet/tio2/potential.Ti.nn"),
        shared("oracle/aenet/tio2/potential.O.nn"),
    ) else {
        return;
    };
    let species = ["Ti", "O", "O", "Ti", "O", "O", "Ti", "O"];
    check_family("devi-bp", &[ti, o], &species, 1.6);
}

#[test]
fn members_with_different_elements_are_refused() {
    let (Some(nep), Some(yaml)) = (
        shared("oracle/nep/pbte_zbl_nep.txt"),
        shared("oracle/deepmd/deeppot_sea.yaml"),
    ) else {
        return;
    };
    let dir = TempDir::new("devi-elements");
    let frames = frames(dir.path(), &["Pb", "Te"], 2.4);
    let o = forcefit(&["deviation", "-m", &s(&nep), "-m", &s(&yaml), &s(&frames)]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "pbte_zbl_nep.txt",
        "Pb Te",
        "deeppot_sea.yaml",
        "H O",
        "same elements",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    let o = forcefit(&["deviation", "-m", &s(&nep), &s(&frames)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("at least 2 models"), "{}", stderr(&o));
}

#[test]
fn frames_keep_step_and_time_keys() {
    use forcefit::io::extxyz::parse_with_info;
    let frame = |info: &str| format!("1\nProperties=species:S:1:pos:R:3 {info}\nSi 0 0 0\n");
    let text = [
        frame("step=12"),
        frame("Time=1000.00000000"),
        frame("time=0.5"),
        frame("step=abc"),
        frame("STEP=7 Time=3.0"),
    ]
    .concat();
    let read = parse_with_info(&text, Path::new("t.xyz")).unwrap();
    let steps: Vec<Option<i64>> = read.iter().map(|(_, i)| i.md_step()).collect();
    assert_eq!(steps, [Some(12), Some(1000), None, None, Some(7)]);
    assert_eq!(read[2].1.time, Some(0.5));
}
