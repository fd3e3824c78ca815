//! Per-element cutoffs (GPUMD's `cutoff rc_R,1 rc_A,1 … rc_R,N rc_A,N`,
//! a pair using the mean of its elements' cutoffs), typewise ZBL and older
//! GPUMD's typewise radial/angular cutoffs: finite differences of forces,
//! virial and parameter gradients; predictions equal to NEP_CPU's
//! (calorine's CPUNEP) for models forcefit writes; `forcefit nep` and
//! `forcefit train` runs whose nep.txt NEP_CPU reads; the error messages.
//! The oracle parts skip with a message when ../shared, python3 or
//! calorine are missing.

mod common;
mod conformance;

use common::nep_cpu::{Numbers, calorine_available, forcefit_numbers, max_diff};
use common::{Rng, TempDir, check_forces_and_virial, check_vjp, random_structure};
use forcefit::dropin::gpumd::nep_in as gpumd_input;
use forcefit::model::Model;
use forcefit::model::nep::angular::AngularTerms;
use forcefit::model::nep::config::Cutoff;
use forcefit::model::nep::{Nep, NepHyper, TypewiseCutoff, Zbl, file};
use forcefit::structure::Structure;
use forcefit::train::config::TrainConfig;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------
// Small random models and finite differences.

/// A small NEP4 of `species` with per-element `cutoffs` (None: uniform
/// 4.4/3.6 Å).
fn hyper(species: &[&str], cutoffs: Option<Vec<[f64; 2]>>, zbl: Option<Zbl>) -> NepHyper {
    let mut h = NepHyper {
        version: 4,
        species: species.iter().map(|s| s.to_string()).collect(),
        rc_radial: 4.4,
        rc_angular: 3.6,
        cutoffs: None,
        max_neighbors: None,
        typewise: None,
        n_max_radial: 3,
        n_max_angular: 2,
        basis_size_radial: 4,
        basis_size_angular: 3,
        angular: AngularTerms::new(4, true, true),
        neurons: 5,
        zbl,
    };
    if let Some(c) = cutoffs {
        h.set_element_cutoffs(c);
    }
    h
}

fn random_model(h: NepHyper, seed: u64) -> Nep {
    let mut rng = Rng(seed);
    let params = (0..h.n_params()).map(|_| rng.range(-0.6, 0.6)).collect();
    let q_scaler = (0..h.dim()).map(|_| rng.range(0.3, 1.5)).collect();
    Nep::new(h, params, q_scaler).expect("valid model")
}

fn tolerances() -> conformance::Tolerances {
    conformance::Tolerances {
        h_position: 1e-5,
        forces: 1e-6,
        h_param: 1e-5,
        vjp: 1e-6,
    }
}

fn universal(inner: f64, outer: f64, typewise: Option<f64>) -> Option<Zbl> {
    Some(Zbl::Universal {
        inner,
        outer,
        typewise,
    })
}

#[test]
fn per_element_cutoffs_pass_the_conformance_suite() {
    // Te-Pb pairs use 4.05/3.2 Å, below Te's own: the mean is sampled.
    // No cutoff is 3.6 Å, the slab's period, where the strain steps of
    // the finite differences would cross it.
    let cutoffs = Some(vec![[4.4, 3.5], [3.7, 2.9]]);
    let model = random_model(hyper(&["Te", "Pb"], cutoffs.clone(), None), 21);
    conformance::run(&model, "Te", "Pb", &tolerances());
    let with_zbl = random_model(hyper(&["Te", "Pb"], cutoffs, universal(1.0, 2.0, None)), 22);
    conformance::run(&with_zbl, "Te", "Pb", &tolerances());
}

#[test]
fn typewise_zbl_with_per_element_cutoffs_passes_the_conformance_suite() {
    // 0.7 · (R_cov,i + R_cov,j): Te-Te 1.93, Te-Pb 1.99 Å, Pb-Pb capped at 2.2.
    let h = hyper(
        &["Te", "Pb"],
        Some(vec![[3.8, 3.1], [4.4, 3.6]]),
        universal(1.1, 2.2, Some(0.7)),
    );
    conformance::run(&random_model(h, 23), "Te", "Pb", &tolerances());
}

#[test]
fn typewise_radial_and_angular_cutoffs_pass_the_conformance_suite() {
    // Older GPUMD's factors: radial 1.4 · ΣR_cov = 3.86–4.09 Å, angular
    // 1.2 · ΣR_cov = 3.31–3.50 Å, all below the global 4.4/3.6.
    let mut h = hyper(&["Te", "Pb"], None, universal(1.0, 2.0, None));
    h.typewise = Some(TypewiseCutoff {
        radial: 1.4,
        angular: 1.2,
        zbl: -1.0,
    });
    conformance::run(&random_model(h, 24), "Te", "Pb", &tolerances());
}

#[test]
fn three_elements_per_element_cutoffs_and_typewise_zbl_gradients() {
    let h = hyper(
        &["Mo", "Si", "N"],
        Some(vec![[4.6, 3.7], [4.0, 3.2], [3.4, 2.6]]),
        universal(1.0, 2.4, Some(0.8)),
    );
    let model = random_model(h, 25);
    let mut rng = Rng(26);
    let cell = [[3.6, 0.0, 0.0], [0.5, 3.8, 0.0], [0.3, -0.4, 4.0]];
    let s = random_structure(
        &mut rng,
        &["Mo", "Si", "N", "N", "Si", "Mo", "N", "N"],
        cell,
        [true; 3],
        0.9,
    );
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
    for (what, adj) in common::term_adjoints(s.n_atoms(), 27) {
        let rel = check_vjp(&model, &s, &adj, 1e-5, 1e-6);
        eprintln!("vjp {what}: relative error {rel:.2e}");
    }
}

/// Descriptors of an isolated Te-Pb dimer at distance `d`.
fn dimer_descriptors(model: &Nep, d: f64) -> Vec<f64> {
    let s = Structure {
        positions: vec![[0.0, 0.0, 0.0], [d, 0.0, 0.0]],
        species: vec!["Te".into(), "Pb".into()],
        cell: None,
        pbc: [false; 3],
        labels: Default::default(),
        origin: Default::default(),
    };
    model.descriptors(&model.prepare(s).unwrap())
}

#[test]
fn a_pair_uses_the_mean_of_its_elements_cutoffs() {
    // Te 4.4/3.6, Pb 3.6/2.9: the Te-Pb pair is cut at 4.0 (radial) and
    // 3.25 (angular), not at Te's or Pb's own cutoffs.
    let model = random_model(
        hyper(&["Te", "Pb"], Some(vec![[4.4, 3.6], [3.6, 2.9]]), None),
        28,
    );
    assert_eq!(model.cutoff(), 4.4);
    // The Te atom's row: radial channels, then angular invariants.
    let (nr, dim) = (model.hyper().n_max_radial + 1, model.hyper().dim());
    let radial = |d: f64| dimer_descriptors(&model, d)[..nr].iter().any(|&q| q != 0.0);
    let angular = |d: f64| {
        dimer_descriptors(&model, d)[nr..dim]
            .iter()
            .any(|&q| q != 0.0)
    };
    assert!(radial(3.99) && !radial(4.01));
    assert!(angular(3.24) && !angular(3.26));
}

// ---------------------------------------------------------------------------
// NEP_CPU (calorine) as the oracle.

// calorine_available, forcefit_numbers, max_diff: tests/common/nep_cpu.rs.
// Here CPUNEP reads the structures from an extended XYZ file.

/// Energy, forces and virial (W = −stress · volume, row-major) of every
/// structure of an extended XYZ file, for each model, by CPUNEP.
const SCRIPT: &str = r#"
import json, sys
from ase.io import read
from calorine.calculators import CPUNEP
frames = read(sys.argv[1], index=":")
out = []
for model in sys.argv[2:]:
    rows = []
    for atoms in frames:
        atoms.calc = CPUNEP(model)
        w = -atoms.get_stress(voigt=False) * atoms.get_volume()
        rows.append({"energy": float(atoms.get_potential_energy()),
                     "forces": atoms.get_forces().reshape(-1).tolist(),
                     "virial": w.reshape(9).tolist()})
    out.append(rows)
print(json.dumps(out))
"#;

fn nep_cpu_numbers(xyz: &Path, models: &[&Path]) -> Vec<Vec<Numbers>> {
    let mut args = vec!["-c", SCRIPT, xyz.to_str().unwrap()];
    args.extend(models.iter().map(|m| m.to_str().unwrap()));
    let o = Command::new("python3").args(&args).output().unwrap();
    assert!(
        o.status.success(),
        "calorine failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let row = |r: &Value| {
        (
            vec![r["energy"].as_f64().unwrap()],
            common::json_numbers(&r["forces"]),
            common::json_numbers(&r["virial"]),
        )
    };
    v.as_array()
        .unwrap()
        .iter()
        .map(|rows| rows.as_array().unwrap().iter().map(row).collect())
        .collect()
}

/// Labels of structures read back from `forcefit predict`'s output.
fn label_numbers(structures: &[Structure]) -> Vec<Numbers> {
    structures
        .iter()
        .map(|s| {
            let l = &s.labels;
            (
                vec![l.energy.unwrap()],
                l.forces.as_ref().unwrap().concat(),
                l.virial.unwrap().to_vec(),
            )
        })
        .collect()
}

/// The first `n` frames of an extended XYZ file, as text.
fn first_frames(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (mut out, mut i) = (String::new(), 0);
    for _ in 0..n {
        let count: usize = lines[i].trim().parse().unwrap();
        for line in &lines[i..i + count + 2] {
            out.push_str(line);
            out.push('\n');
        }
        i += count + 2;
    }
    out
}

/// The first `n` structures of the data set `train`, then every case of
/// the oracle file `cases` (among them a 2-atom triclinic cell far smaller
/// than the cutoffs and a rattled, sheared cell), written to `dir` as one
/// extended XYZ file that forcefit and ASE both read.
fn structures_file(dir: &TempDir, train: &Path, n: usize, cases: &Path) -> PathBuf {
    let head = dir.file("head.xyz", first_frames(train, n));
    let mut structures = forcefit::io::read(&head, None).unwrap();
    let oracle: Value = serde_json::from_str(&std::fs::read_to_string(cases).unwrap()).unwrap();
    structures.extend(
        oracle["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(common::oracle_structure),
    );
    let path = dir.path().join("structures.xyz");
    forcefit::io::extxyz::write(&path, &structures).unwrap();
    path
}

/// `text` (a nep.txt) with its `cutoff` line replaced by `cutoff`, and, if
/// given, a `zbl` line added after the header (which becomes `nep4_zbl`).
fn variant(text: &str, cutoff: &str, zbl: Option<&str>) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if let (0, Some(z)) = (i, zbl)
            && !line.starts_with("nep4_zbl")
        {
            out.push_str(&line.replacen("nep4", "nep4_zbl", 1));
            out.push('\n');
            out.push_str(z);
        } else if line.starts_with("zbl ") {
            out.push_str(zbl.unwrap_or(line));
        } else if line.starts_with("cutoff ") {
            out.push_str(cutoff);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Each variant of a real model: read by forcefit, written by forcefit,
/// predicted by NEP_CPU from the written file on real structures (from
/// `xyz`), against forcefit's own predictions. Returns the largest
/// deviation; asserts it is ≤ 1e-10 and that the cutoffs matter.
fn check_against_nep_cpu(
    dir: &TempDir,
    tag: &str,
    base: &str,
    variants: &[(&str, &str, Option<&str>)],
    xyz: &Path,
) -> f64 {
    let structures = forcefit::io::read(xyz, None).unwrap();
    let uniform_cutoff = base.lines().find(|l| l.starts_with("cutoff ")).unwrap();
    let mut models = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    for (name, cutoff, zbl) in variants {
        let text = variant(base, cutoff, *zbl);
        let model = file::parse(&text, Path::new(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(model.hyper().has_element_cutoffs(), "{name}");
        let written = dir.path().join(format!("{tag}-{name}-nep.txt"));
        file::write(&model, &written).unwrap();
        let written_text = std::fs::read_to_string(&written).unwrap();
        assert!(
            written_text.lines().any(|l| l == *cutoff),
            "{name}: forcefit writes `{cutoff}`:\n{}",
            &written_text[..200]
        );
        models.push(model);
        paths.push(written);
    }
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let reference = nep_cpu_numbers(xyz, &refs);
    let mut worst: f64 = 0.0;
    for ((model, theirs), (name, _, zbl)) in models.iter().zip(&reference).zip(variants) {
        // The same model with the file's own (uniform) cutoffs.
        let uniform = file::parse(&variant(base, uniform_cutoff, *zbl), Path::new(name)).unwrap();
        let ours_uniform = forcefit_numbers(&uniform, &structures);
        let ours = forcefit_numbers(model, &structures);
        let diff = max_diff(&ours, theirs);
        let effect = max_diff(&ours_uniform, &ours);
        eprintln!(
            "{tag} {name}: max relative difference to NEP_CPU {diff:.2e} ({} structures); \
             per-element vs uniform {effect:.2e}",
            structures.len()
        );
        assert!(
            diff <= 1e-10,
            "{tag} {name}: forcefit vs NEP_CPU {diff:.2e}"
        );
        assert!(effect > 1e-3, "{tag} {name}: the cutoffs barely matter");
        worst = worst.max(diff);
    }
    worst
}

#[test]
fn per_element_cutoffs_match_nep_cpu_on_mosi2n4() {
    let (Some(model), Some(train), Some(cases)) = (
        common::shared("datasets/mosi2n4/nep.txt"),
        common::shared("datasets/mosi2n4/train.xyz"),
        common::shared("oracle/nep/mosi2n4.json"),
    ) else {
        return;
    };
    if !calorine_available() {
        return;
    }
    let dir = TempDir::new("nep-cutoffs-mosi2n4");
    // 2D slabs of the training set, then the oracle file's cases.
    let xyz = structures_file(&dir, &train, 6, &cases);
    let base = std::fs::read_to_string(&model).unwrap();
    let cutoff = "cutoff 6 4 5 3.5 4.5 3 102 33";
    check_against_nep_cpu(
        &dir,
        "MoSi2N4",
        &base,
        &[
            ("plain", cutoff, None),
            ("zbl", cutoff, Some("zbl 1.5 3")),
            ("typewise-zbl", cutoff, Some("zbl 1.5 3 0.7")),
        ],
        &xyz,
    );
}

#[test]
fn per_element_cutoffs_match_nep_cpu_on_pbte() {
    let (Some(model), Some(train), Some(cases)) = (
        common::shared("oracle/nep/pbte_zbl_nep.txt"),
        common::shared("datasets/pbte/train.xyz"),
        common::shared("oracle/nep/pbte_zbl.json"),
    ) else {
        return;
    };
    if !calorine_available() {
        return;
    }
    let dir = TempDir::new("nep-cutoffs-pbte");
    let xyz = structures_file(&dir, &train, 2, &cases);
    let base = std::fs::read_to_string(&model).unwrap();
    // Te 8/4, Pb 6/3.5: Te-Pb pairs at 7/3.75.
    let cutoff = "cutoff 8 4 6 3.5 73 8";
    check_against_nep_cpu(
        &dir,
        "PbTe",
        &base,
        &[
            ("zbl", cutoff, None),
            ("typewise-zbl", cutoff, Some("zbl 2 4 0.7")),
        ],
        &xyz,
    );
}

// ---------------------------------------------------------------------------
// Training runs whose nep.txt NEP_CPU reads.

/// `forcefit predict` with `model` on `xyz`, against NEP_CPU on the same.
fn predict_matches_nep_cpu(dir: &Path, model: &Path, xyz: &Path) -> f64 {
    let predicted = dir.join("predicted.xyz");
    let o = common::forcefit(&[
        "predict",
        "-m",
        model.to_str().unwrap(),
        xyz.to_str().unwrap(),
        "-o",
        predicted.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = label_numbers(&forcefit::io::read(&predicted, None).unwrap());
    let theirs = &nep_cpu_numbers(xyz, &[model])[0];
    // predict writes round-trip numbers: the comparison is exact.
    let diff = max_diff(&ours, theirs);
    eprintln!(
        "{}: forcefit predict vs NEP_CPU {diff:.2e}",
        model.display()
    );
    assert!(diff <= 1e-10, "{}: {diff:.2e}", model.display());
    diff
}

fn line_starting<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no `{start}` line in\n{text}"))
}

#[test]
fn forcefit_nep_trains_per_element_cutoffs_and_typewise_zbl() {
    let Some(train) = common::shared("datasets/mosi2n4/train.xyz") else {
        return;
    };
    let dir = TempDir::new("nep-cutoffs-train");
    dir.file("train.xyz", first_frames(&train, 8));
    dir.file(
        "nep.in",
        "type 3 Mo Si N\ncutoff 5 4 4.5 3.5 4 3\nzbl 2\nuse_typewise_cutoff_zbl\n\
         n_max 3 3\nbasis_size 5 5\nneuron 8\nbatch 4\ngeneration 2\nseed 5\n",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args(["nep", "-q", "-j", "1", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model_path = dir.path().join("nep.txt");
    let text = std::fs::read_to_string(&model_path).unwrap();
    assert_eq!(line_starting(&text, "zbl "), "zbl 1 2 0.7");
    let cutoff = line_starting(&text, "cutoff ");
    assert!(cutoff.starts_with("cutoff 5 4 4.5 3.5 4 3 "), "{cutoff}");
    assert_eq!(cutoff.split_whitespace().count(), 9, "{cutoff}");
    let model = Nep::from_file(&model_path).unwrap();
    assert_eq!(model.hyper().element_cutoffs(2), [4.0, 3.0]);
    if calorine_available() {
        predict_matches_nep_cpu(dir.path(), &model_path, &dir.path().join("train.xyz"));
    }
}

/// `forcefit train` on the first 8 MoSi2N4 structures with `model` as the
/// body of `[model]`; returns the directory and the nep.txt text.
fn train_toml(tag: &str, model: &str) -> Option<(TempDir, String)> {
    let train = common::shared("datasets/mosi2n4/train.xyz")?;
    let dir = TempDir::new(tag);
    dir.file("train.xyz", first_frames(&train, 8));
    let config = dir.file(
        "run.toml",
        format!(
            "[data]\ntrain = \"train.xyz\"\n[model]\nn_max = [3, 3]\nbasis_size = [5, 5]\nneuron = 8\n{model}\n\
             [train]\nepochs = 2\noutput_dir = \"out\"\n"
        ),
    );
    let o = common::forcefit(&["train", "-q", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.path().join("out/nep.txt")).unwrap();
    Some((dir, text))
}

#[test]
fn forcefit_train_with_a_cutoff_table() {
    let Some((dir, text)) = train_toml(
        "nep-cutoffs-toml",
        "cutoff = { Mo = [5, 4], Si = [4.5, 3.5], N = [4, 3] }\nzbl = 2.0\ntypewise_cutoff_zbl = 0.8",
    ) else {
        return;
    };
    // Type order is by atomic number (N, Si, Mo); the table is by symbol.
    assert!(text.starts_with("nep4_zbl 3 N Si Mo"), "{}", &text[..40]);
    assert_eq!(line_starting(&text, "zbl "), "zbl 1 2 0.8");
    assert!(line_starting(&text, "cutoff ").starts_with("cutoff 4 3 4.5 3.5 5 4 "));
    // summary.json lists the cutoffs as model.cutoff reads.
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        summary["model"]["cutoff"]["Mo"],
        serde_json::json!([5.0, 4.0])
    );
    if calorine_available() {
        let model = dir.path().join("out/nep.txt");
        predict_matches_nep_cpu(dir.path(), &model, &dir.path().join("train.xyz"));
    }
}

#[test]
fn forcefit_train_with_older_typewise_cutoffs() {
    // Written as older GPUMD's 8-token cutoff line, which current NEP_CPU
    // (calorine 4.1) refuses: checked by forcefit reading it back only.
    let Some((dir, text)) = train_toml(
        "nep-cutoffs-typewise",
        "cutoff = [5, 4]\ntypewise_cutoff = [2.5, 2.0]",
    ) else {
        return;
    };
    let cutoff = line_starting(&text, "cutoff ");
    let tokens: Vec<&str> = cutoff.split_whitespace().collect();
    assert_eq!(tokens.len(), 8, "{cutoff}");
    assert_eq!(&tokens[5..], ["2.5", "2", "-1"], "{cutoff}");
    let model = Nep::from_file(&dir.path().join("out/nep.txt")).unwrap();
    assert_eq!(
        model.hyper().typewise,
        Some(TypewiseCutoff {
            radial: 2.5,
            angular: 2.0,
            zbl: -1.0
        })
    );
}

// ---------------------------------------------------------------------------
// Errors.

#[test]
fn nep_txt_cutoff_line_errors_name_file_and_line() {
    let header = "nep4 3 Mo Si N\n";
    let rest = "n_max 4 4\nbasis_size 12 12\nl_max 4 2 0\nANN 30 0\n";
    for (cutoff, needle) in [
        (
            "cutoff 6 4 5 3.5 102 33",
            "dir/nep.txt:2: expected `cutoff rc_radial rc_angular MN_radial MN_angular`, the per-element",
        ),
        // (8 tokens would be older GPUMD's typewise form.)
        ("cutoff 6 4 5 3.5 4.5 3 102 33 1", "(9 tokens)"),
        (
            "cutoff 6 4 3 3.5 4.5 3 102 33",
            "dir/nep.txt:2: cutoffs of Si: need 0 < angular <= radial, got radial 3, angular 3.5",
        ),
        (
            "cutoff 6 4 5 x 4.5 3 102 33",
            "dir/nep.txt:2: expected a number, found `x`",
        ),
    ] {
        let text = format!("{header}{cutoff}\n{rest}");
        let err = file::parse(&text, Path::new("dir/nep.txt"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{cutoff}: {err}");
    }
}

fn nep_in_error(text: &str) -> String {
    gpumd_input::parse(text, Path::new("d/nep.in"), Path::new("d"))
        .unwrap_err()
        .to_string()
}

#[test]
fn nep_in_cutoff_and_typewise_errors_name_the_line() {
    for (text, needle) in [
        (
            "type 2 Pb Te\ncutoff 7 4 3 4\n",
            "d/nep.in:2: cutoff: the angular cutoff of Te 4 must not exceed the radial cutoff 3",
        ),
        (
            "type 2 Pb Te\ncutoff 7 4 6\n",
            "d/nep.in:2: cutoff: expected 2 parameters (radial and angular cutoff) or 2 per type (4), got 3",
        ),
        (
            "type 1 Si\nzbl 2\nuse_typewise_cutoff_zbl 0.4\n",
            "d/nep.in:3: use_typewise_cutoff_zbl must be at least 0.5 (GPUMD's limit), got 0.4",
        ),
        (
            "type 1 Si\nuse_typewise_cutoff_zbl\n",
            "d/nep.in:2: use_typewise_cutoff_zbl needs ZBL (zbl)",
        ),
        (
            "type 1 Si\nuse_typewise_cutoff 2 2.5\n",
            "d/nep.in:2: use_typewise_cutoff: the radial factor 2 must not be below the angular factor 2.5",
        ),
        (
            "type 1 Si\nuse_typewise_cutoff 2 1\n",
            "d/nep.in:2: use_typewise_cutoff: the angular factor must be at least 1.5",
        ),
        (
            "type 2 Pb Te\ncutoff 7 4 6 4\nuse_typewise_cutoff\n",
            "use_typewise_cutoff cannot be combined with per-element cutoff",
        ),
        (
            "type 1 Si\nzbl 2\nuse_typewise_cutoff\nuse_typewise_cutoff_zbl\n",
            "no NEP_CPU version reads a nep.txt with both",
        ),
    ] {
        let err = nep_in_error(text);
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn nep_in_reads_per_element_cutoffs_and_typewise_factors() {
    let input = gpumd_input::parse(
        "type 2 Pb Te\ncutoff 7 4 6 3.5\nzbl 2\nuse_typewise_cutoff_zbl\n",
        Path::new("d/nep.in"),
        Path::new("d"),
    )
    .unwrap();
    let m = input.config.model.as_nep().unwrap();
    let table = [
        ("Pb".to_string(), [7.0, 4.0]),
        ("Te".to_string(), [6.0, 3.5]),
    ];
    assert_eq!(m.cutoff, Cutoff::PerElement(table.into_iter().collect()));
    assert_eq!(m.typewise_cutoff_zbl, Some(0.7));
    let h = m.hyper(vec!["Pb".into(), "Te".into()]).unwrap();
    assert_eq!((h.rc_radial, h.rc_angular), (7.0, 4.0));
    assert_eq!(h.element_cutoffs(1), [6.0, 3.5]);
    let older = gpumd_input::parse(
        "type 1 Si\nuse_typewise_cutoff\n",
        Path::new("d/nep.in"),
        Path::new("d"),
    )
    .unwrap();
    assert_eq!(
        older.config.model.as_nep().unwrap().typewise_cutoff,
        Some([2.5, 2.0])
    );
    // `prediction 1`: per-element cutoffs are compared with nep.txt's.
    let same = gpumd_input::parse(
        "type 2 Pb Te\nprediction 1\ncutoff 7 4 6 3.5\n",
        Path::new("d/nep.in"),
        Path::new("d"),
    )
    .unwrap();
    assert!(
        same.check_model(&h, Path::new("nep.txt"))
            .unwrap()
            .is_empty()
    );
    let other = gpumd_input::parse(
        "type 2 Pb Te\nprediction 1\ncutoff 7 4 6 3\n",
        Path::new("d/nep.in"),
        Path::new("d"),
    )
    .unwrap();
    let warnings = other.check_model(&h, Path::new("nep.txt")).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("d/nep.in:3: cutoff 7 4 6 3 differs from nep.txt's 7 4 6 3.5"),
        "{warnings:?}"
    );
    // The configuration survives the TOML round trip of checkpoints.
    let text = input.config_text().unwrap();
    let again = TrainConfig::from_toml(&text, Path::new("run.toml")).unwrap();
    assert_eq!(again.model.as_nep(), Some(m));
}

#[test]
fn toml_cutoff_table_errors_name_the_key() {
    let base = "[data]\ntrain = \"t.xyz\"\n[model]\n";
    for (model, needle) in [
        (
            "cutoff = { Mo = [5, 6] }",
            "model.cutoff: the angular cutoff of Mo 6 must not exceed the radial cutoff 5",
        ),
        (
            "type = [\"Mo\", \"Si\"]\ncutoff = { Mo = [5, 4] }",
            "model.cutoff has no cutoffs for Si",
        ),
        (
            "type = [\"Mo\"]\ncutoff = { Mo = [5, 4], Si = [5, 4] }",
            "model.cutoff: Si is not in model.type",
        ),
        (
            "cutoff = { Xx = [5, 4] }",
            "\"Xx\" is not an element symbol",
        ),
        ("cutoff = 5", "[radial, angular] or a table"),
        (
            "typewise_cutoff_zbl = 0.7",
            "model.typewise_cutoff_zbl needs ZBL",
        ),
    ] {
        let text = format!("{base}{model}\n");
        let err = TrainConfig::from_toml(&text, Path::new("run.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{model}: {err}");
    }
    // An element of the data without cutoffs is found when the model is built.
    let m = TrainConfig::from_toml(
        &format!("{base}cutoff = {{ Mo = [5, 4] }}\n"),
        Path::new("run.toml"),
    )
    .unwrap();
    let err = m
        .model
        .as_nep()
        .unwrap()
        .hyper(vec!["N".into(), "Mo".into()])
        .unwrap_err();
    assert!(err.contains("no cutoffs for N"), "{err}");
}
