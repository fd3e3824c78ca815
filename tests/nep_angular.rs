//! NEP's angular descriptor beyond l_max 4 and the newer many-body
//! invariants (q_112, q_123, q_233, q_134):
//! - forces = −dE/dr, virial = strain derivative and the parameter vjp by
//!   central differences for 3-body l_max 5, 6, 8 and each new invariant,
//!   and the whole conformance suite with every invariant at once;
//! - both forms of nep.txt's `l_max` line read, written back as read, and
//!   read again unchanged;
//! - energies, forces, virials and descriptors against NEP_CPU (calorine's
//!   CPUNEP, run live) for random models of every form on real PbTe and
//!   MoSi2N4 structures. Skips with a message when ../shared, python3 or
//!   calorine are missing.

mod common;

use common::nep_cpu::{calorine_available, oracle_cases};
mod conformance;

use common::{Rng, check_forces_and_virial, check_vjp, random_structure, rel_max_diff};
use forcefit::model::nep::angular::AngularTerms;
use forcefit::model::nep::{Nep, NepHyper, file};
use forcefit::model::{Model, Prediction};
use forcefit::structure::Structure;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The terms of GPUMD's `l_max` values, spelled as on a flag-form line
/// when the second value is 1 (as nep.txt's reader does).
fn terms(values: &[usize]) -> AngularTerms {
    let mut t = AngularTerms::from_gpumd(values).expect("valid l_max");
    t.flag_line = values.get(1) == Some(&1) || t.has_newer();
    t
}

fn hyper(species: &[&str], angular: AngularTerms, rc: (f64, f64)) -> NepHyper {
    NepHyper {
        version: 4,
        species: species.iter().map(|s| s.to_string()).collect(),
        rc_radial: rc.0,
        rc_angular: rc.1,
        cutoffs: None,
        max_neighbors: Some((200, 100)),
        typewise: None,
        n_max_radial: 4,
        n_max_angular: 3,
        basis_size_radial: 5,
        basis_size_angular: 4,
        angular,
        neurons: 6,
        zbl: None,
    }
}

fn random_model(h: NepHyper, seed: u64) -> Nep {
    let mut rng = Rng(seed);
    let params = (0..h.n_params()).map(|_| rng.range(-0.6, 0.6)).collect();
    let q_scaler = (0..h.dim()).map(|_| rng.range(0.3, 1.5)).collect();
    Nep::new(h, params, q_scaler).expect("valid model")
}

/// A 7-atom triclinic cell smaller than the cutoff in every direction.
fn odd_cell(seed: u64) -> Structure {
    let mut rng = Rng(seed);
    let cell = [[3.9, 0.0, 0.0], [0.8, 4.3, 0.0], [-0.5, 0.7, 4.1]];
    random_structure(
        &mut rng,
        &["Te", "Pb", "Pb", "Te", "Te", "Pb", "Te"],
        cell,
        [true; 3],
        1.2,
    )
}

/// Forces, virial and every term of the vjp by central differences.
fn check_derivatives(values: &[usize], seed: u64) {
    let model = random_model(hyper(&["Te", "Pb"], terms(values), (4.6, 3.7)), seed);
    let s = odd_cell(seed + 10);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
    for (name, adj) in common::term_adjoints(s.n_atoms(), seed + 20) {
        let rel = check_vjp(&model, &s, &adj, 1e-6, 1e-6);
        eprintln!("l_max {values:?}, {name}: vjp relative error {rel:.2e}");
    }
}

#[test]
fn l_max_5_derivatives() {
    check_derivatives(&[5, 0, 0], 1);
}

#[test]
fn l_max_6_derivatives() {
    check_derivatives(&[6, 2, 1], 2);
}

#[test]
fn l_max_8_derivatives() {
    check_derivatives(&[8, 1, 1], 3);
}

#[test]
fn q112_derivatives() {
    check_derivatives(&[2, 0, 0, 1], 4);
}

#[test]
fn q123_derivatives() {
    check_derivatives(&[3, 0, 0, 0, 1], 5);
}

#[test]
fn q233_derivatives() {
    check_derivatives(&[3, 0, 0, 0, 0, 1], 6);
}

#[test]
fn q134_derivatives() {
    check_derivatives(&[4, 0, 0, 0, 0, 0, 1], 7);
}

#[test]
fn every_invariant_passes_the_conformance_suite() {
    let h = NepHyper {
        n_max_radial: 3,
        n_max_angular: 2,
        basis_size_radial: 4,
        basis_size_angular: 3,
        neurons: 5,
        ..hyper(&["Te", "Pb"], terms(&[8, 1, 1, 1, 1, 1, 1]), (4.4, 3.6))
    };
    let model = random_model(h, 8);
    let tol = conformance::Tolerances {
        h_position: 1e-5,
        forces: 1e-6,
        h_param: 1e-5,
        vjp: 1e-6,
    };
    conformance::run(&model, "Te", "Pb", &tol);
}

/// The forms checked against NEP_CPU: a name and the values of the
/// `l_max` line forcefit must write for them.
const FORMS: &[(&str, &[usize])] = &[
    ("l_max 6, old form", &[6, 2, 0]),
    ("l_max 8, flags 1 1", &[8, 1, 1]),
    ("q_112", &[4, 0, 0, 1]),
    ("q_123", &[3, 1, 0, 0, 1]),
    ("q_233", &[5, 0, 1, 0, 0, 1]),
    ("q_134", &[4, 0, 0, 0, 0, 0, 1]),
    ("all", &[8, 1, 1, 1, 1, 1, 1]),
];

fn line_of(values: &[usize]) -> String {
    let words: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("l_max {}", words.join(" "))
}

fn l_max_line(text: &str) -> &str {
    text.lines()
        .find(|l| l.starts_with("l_max"))
        .expect("an l_max line")
}

#[test]
fn every_l_max_form_round_trips() {
    let dir = common::TempDir::new("nep-angular-round-trip");
    for (i, (name, values)) in FORMS.iter().enumerate() {
        let model = random_model(
            hyper(&["Te", "Pb"], terms(values), (6.0, 5.0)),
            30 + i as u64,
        );
        let first = dir.path().join(format!("first_{i}.txt"));
        file::write(&model, &first).unwrap();
        let text = std::fs::read_to_string(&first).unwrap();
        assert_eq!(l_max_line(&text), line_of(values), "{name}");
        let read = Nep::from_file(&first).unwrap();
        assert_eq!(read.hyper(), model.hyper(), "{name}");
        let second = dir.path().join(format!("second_{i}.txt"));
        file::write(&read, &second).unwrap();
        assert_eq!(std::fs::read_to_string(&second).unwrap(), text, "{name}");
    }
    // GPUMD's writer keeps the 2 of the old form before the newer flags;
    // forcefit reads those flags and writes the flag form NEP_CPU reads.
    let gpumd = random_model(hyper(&["Te", "Pb"], terms(&[4, 2, 0]), (6.0, 5.0)), 40);
    let old = dir.path().join("old.txt");
    file::write(&gpumd, &old).unwrap();
    let text = std::fs::read_to_string(&old).unwrap();
    let with_q112 = random_model(hyper(&["Te", "Pb"], terms(&[4, 1, 0, 1]), (6.0, 5.0)), 40);
    let mut numbers: Vec<String> = with_q112
        .params()
        .iter()
        .map(|x| format!("{x:e}"))
        .collect();
    numbers.extend(with_q112.q_scaler().iter().map(|x| format!("{x:e}")));
    let header: Vec<&str> = text.lines().take_while(|l| !l.starts_with("ANN")).collect();
    let gpumd_text = format!(
        "{}\nANN 6 0\n{}\n",
        header.join("\n").replace("l_max 4 2 0", "l_max 4 2 0 1"),
        numbers.join("\n")
    );
    let path = dir.file("gpumd_q112.txt", gpumd_text);
    let read = Nep::from_file(&path).unwrap();
    assert_eq!(read.hyper().angular, with_q112.hyper().angular);
    let back = dir.path().join("gpumd_back.txt");
    file::write(&read, &back).unwrap();
    assert_eq!(
        l_max_line(&std::fs::read_to_string(&back).unwrap()),
        "l_max 4 1 0 1"
    );
}

#[test]
fn malformed_l_max_lines_name_file_and_line() {
    let dir = common::TempDir::new("nep-angular-errors");
    let model = random_model(hyper(&["Te", "Pb"], terms(&[4, 2, 0]), (6.0, 5.0)), 50);
    let good = dir.path().join("good.txt");
    file::write(&model, &good).unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    let n = text.lines().position(|l| l.starts_with("l_max")).unwrap() + 1;
    for (line, needle) in [
        ("l_max 4 2", "expected `l_max l_max_3body"),
        ("l_max 4 2 0 0 0 0 0 0", "expected `l_max l_max_3body"),
        ("l_max 9 2 0", "l_max 9 is not supported"),
        ("l_max 4 3 0", "q_222"),
        ("l_max 4 2 2", "q_1111 flag must be 0 or 1"),
        ("l_max 4 1 0 0 7", "q_123 flag must be 0 or 1"),
        (
            "l_max 2 1 0 0 0 1",
            "q_233 term needs l_max (3-body) of at least 3",
        ),
        (
            "l_max 3 0 0 0 0 0 1",
            "q_134 term needs l_max (3-body) of at least 4",
        ),
        ("l_max 99999999999999999999 2 0", "non-negative integer"),
        ("l_max 4 2 0 1", "file ends"),
    ] {
        let path = dir.file("bad.txt", text.replace("l_max 4 2 0", line));
        let e = Nep::from_file(&path).unwrap_err().to_string();
        assert!(e.contains(needle), "{line}: {e}");
        if needle != "file ends" {
            assert!(e.contains(&format!("bad.txt:{n}")), "{line}: {e}");
        }
    }
}

/// Energy, forces, virial (W = −stress · volume, row-major) and scaled
/// descriptors by CPUNEP for each (model, cases file) pair of argv.
const SCRIPT: &str = r#"
import json, sys
import numpy as np
from ase import Atoms
from calorine.calculators import CPUNEP
from calorine.nep import get_descriptors
out = []
for model, cases_json in zip(sys.argv[1::2], sys.argv[2::2]):
    rows = []
    for c in json.load(open(cases_json))["cases"]:
        atoms = Atoms(c["symbols"], positions=c["positions"], cell=c["cell"], pbc=c["pbc"])
        atoms.calc = CPUNEP(model)
        w = -atoms.get_stress(voigt=False) * atoms.get_volume()
        rows.append({"energy": float(atoms.get_potential_energy()),
                     "forces": atoms.get_forces().reshape(-1).tolist(),
                     "virial": w.reshape(9).tolist(),
                     "descriptors": get_descriptors(atoms, model).reshape(-1).tolist()})
    out.append(rows)
print(json.dumps(out))
"#;

/// Energy, forces, virial and descriptors of one structure.
struct Numbers([Vec<f64>; 4]);

fn ours(model: &Nep, s: &Structure) -> Numbers {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    Numbers([
        vec![p.energy],
        p.forces.concat(),
        p.virial.to_vec(),
        model.descriptors(&prepared),
    ])
}

fn of_json(v: &Value) -> Numbers {
    Numbers([
        vec![v["energy"].as_f64().unwrap()],
        common::json_numbers(&v["forces"]),
        common::json_numbers(&v["virial"]),
        common::json_numbers(&v["descriptors"]),
    ])
}

/// CPUNEP's numbers, per (model, cases file) pair.
fn nep_cpu(pairs: &[(&Path, &Path)]) -> Vec<Vec<Numbers>> {
    let mut args = vec!["-c".to_string(), SCRIPT.to_string()];
    for (m, c) in pairs {
        args.push(m.display().to_string());
        args.push(c.display().to_string());
    }
    let o = Command::new("python3").args(&args).output().unwrap();
    assert!(
        o.status.success(),
        "calorine failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|rows| rows.as_array().unwrap().iter().map(of_json).collect())
        .collect()
}

/// A data set's oracle cases: (cases file, structures, species).
fn dataset(name: &str) -> Option<(std::path::PathBuf, Vec<Structure>, Vec<&'static str>)> {
    let path = common::shared(&format!("oracle/nep/{name}.json"))?;
    let structures = oracle_cases(&path);
    let species = if name == "pbte" {
        vec!["Pb", "Te"]
    } else {
        vec!["Mo", "Si", "N"]
    };
    Some((path, structures, species))
}

#[test]
fn every_form_matches_nep_cpu() {
    let (Some(pbte), Some(mosi2n4)) = (dataset("pbte"), dataset("mosi2n4")) else {
        return;
    };
    if !calorine_available() {
        return;
    }
    let dir = common::TempDir::new("nep-angular-oracle");
    // (form, data set, model file, forcefit's numbers)
    let mut runs = Vec::new();
    for (i, (name, values)) in FORMS.iter().enumerate() {
        for (set, (cases, structures, species)) in [("PbTe", &pbte), ("MoSi2N4", &mosi2n4)] {
            let h = hyper(species, terms(values), (6.0, 5.0));
            let mut model = random_model(h, 60 + i as u64);
            // GPUMD's scaling keeps the descriptors O(1), so that the
            // networks are neither saturated nor linear.
            let prepared: Vec<_> = structures
                .iter()
                .map(|s| model.prepare(s.clone()).unwrap())
                .collect();
            model.scale_descriptors(&prepared);
            let path = dir.path().join(format!("{i}_{set}_nep.txt"));
            file::write(&model, &path).unwrap();
            // Compare the model as written (%15.7e), as NEP_CPU reads it.
            let model = Nep::from_file(&path).unwrap();
            let numbers: Vec<Numbers> = structures.iter().map(|s| ours(&model, s)).collect();
            runs.push((*name, set, path, cases.clone(), numbers));
        }
    }
    let pairs: Vec<(&Path, &Path)> = runs
        .iter()
        .map(|(_, _, m, c, _)| (m.as_path(), c.as_path()))
        .collect();
    let reference = nep_cpu(&pairs);
    let mut worst = 0.0f64;
    for ((name, set, _, _, numbers), theirs) in runs.iter().zip(&reference) {
        let mut field = [0.0f64; 4];
        for (a, b) in numbers.iter().zip(theirs) {
            for k in 0..4 {
                field[k] = field[k].max(rel_max_diff(&a.0[k], &b.0[k]));
            }
        }
        eprintln!(
            "{name} on {set}: max relative difference to NEP_CPU: energy {:.1e}, forces {:.1e}, \
             virial {:.1e}, descriptors {:.1e}",
            field[0], field[1], field[2], field[3]
        );
        worst = worst.max(field.into_iter().fold(0.0, f64::max));
        assert!(
            field.iter().all(|&d| d <= 1e-10),
            "{name} on {set}: {field:?}"
        );
    }
    eprintln!("largest relative difference over every form: {worst:.1e}");
}

#[test]
fn model_l_max_takes_gpumd_s_forms() {
    use forcefit::train::config::TrainConfig;
    let config = |l_max: &str, n_max: &str| {
        let text =
            format!("[data]\ntrain = \"train.xyz\"\n[model]\nl_max = {l_max}\nn_max = {n_max}\n");
        TrainConfig::from_toml(&text, Path::new("run.toml"))
    };
    let angular = |l_max: &str| {
        let c = config(l_max, "[4, 4]").unwrap_or_else(|e| panic!("{l_max}: {e}"));
        c.model.as_nep().unwrap().angular().unwrap()
    };
    // The old three numbers keep their meaning; 1 is the newer 4-body flag.
    assert_eq!(angular("[4, 2, 0]"), AngularTerms::new(4, true, false));
    assert_eq!(angular("[4, 1, 0]"), AngularTerms::new(4, true, false));
    assert_eq!(angular("[4, 0, 1]"), AngularTerms::new(4, false, true));
    // GPUMD's defaults for absent values: q_222 on, the rest off.
    assert_eq!(angular("[8]"), AngularTerms::new(8, true, false));
    let all = angular("[8, 1, 1, 1, 1, 1, 1]");
    assert_eq!(all.n_invariants(), 14);
    assert_eq!(all.gpumd_values(), [8, 2, 1, 1, 1, 1, 1]);
    assert!(angular("[3, 0, 0, 0, 1]").q123);
    for (l_max, n_max, needle) in [
        (
            "[9, 2, 0]",
            "[4, 4]",
            "model.l_max: l_max 9 is not supported",
        ),
        ("[]", "[4, 4]", "model.l_max: expected 1 to 7 values"),
        ("[4, 2, 0, 0, 0, 0, 0, 0]", "[4, 4]", "1 to 7 values"),
        ("[4, 3, 0]", "[4, 4]", "model.l_max: the q_222"),
        ("[3, 2, 0, 0, 0, 0, 1]", "[4, 4]", "q_134 term needs l_max"),
        // 10 · 14 = 140 angular components, above GPUMD's 90.
        (
            "[8, 1, 1, 1, 1, 1, 1]",
            "[4, 9]",
            "exceed GPUMD's limit of 90",
        ),
    ] {
        let e = config(l_max, n_max).unwrap_err().to_string();
        assert!(e.contains(needle), "{l_max}: {e}");
    }
}
