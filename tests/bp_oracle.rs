//! The BP family against aenet's own numbers (`../shared/oracle/aenet/`):
//! Chebyshev descriptors computed by aenet's Fortran (water O/H, LMNTO with
//! five species, AuCu), and the aenet-PyTorch TiO2 potential's energies,
//! atomic energies and forces as aenet 2.0.4's predict.x computes them.

mod common;

use forcefit::io;
use forcefit::model::bp::{BpConfig, BpModel};
use forcefit::model::{AnyModel, Model, Prediction};
use rand::SeedableRng;
use std::path::Path;

/// A model with aenet's descriptor settings for `species` (random networks:
/// only the descriptors are compared).
fn descriptor_model(species: &[&str], rc_r: f64, n_r: usize, rc_a: f64, n_a: usize) -> BpModel {
    let config = BpConfig {
        radial_cutoff: rc_r,
        radial_order: n_r,
        angular_cutoff: rc_a,
        angular_order: n_a,
        ..BpConfig::default()
    };
    let hyper = config
        .hyper_for(species.iter().map(|s| s.to_string()).collect())
        .unwrap();
    BpModel::random(hyper, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)).unwrap()
}

fn read_csv(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect()
}

/// Compares forcefit's descriptors of the structure in `structure` with
/// aenet's rows in `reference`, within 1e-10 relative to each row's size.
fn compare(model: &BpModel, structure: &Path, reference: &Path) {
    let s = io::read(structure, None).unwrap().remove(0);
    let p = model.prepare(s).unwrap();
    let ours = model.descriptors(&p);
    let rows = read_csv(reference);
    assert_eq!(rows.len(), p.types.len(), "one row per atom");
    let dim = rows[0].len();
    assert_eq!(ours.len(), rows.len() * dim, "descriptor length");
    for (i, row) in rows.iter().enumerate() {
        let scale = row.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        for (k, &r) in row.iter().enumerate() {
            let v = ours[i * dim + k];
            assert!(
                (v - r).abs() <= 1e-10 * scale,
                "{}: atom {i} feature {k}: forcefit {v:e}, aenet {r:e}",
                reference.display()
            );
        }
    }
}

#[test]
fn water_descriptors_equal_aenet() {
    let Some(dir) = common::shared("oracle/aenet") else {
        return;
    };
    let model = descriptor_model(&["O", "H"], 4.0, 10, 1.5, 3);
    compare(&model, &dir.join("water.xyz"), &dir.join("water_ref.csv"));
}

#[test]
fn five_species_descriptors_equal_aenet() {
    let Some(dir) = common::shared("oracle/aenet") else {
        return;
    };
    let model = descriptor_model(&["Li", "Mo", "Ni", "Ti", "O"], 4.0, 10, 1.5, 3);
    compare(
        &model,
        &dir.join("lmnto_structure001.xsf"),
        &dir.join("lmnto_ref.csv"),
    );
}
/// ../shared does not state the AuCu settings; these (orders 5 and 5,
/// both cutoffs 3.5 Å, ENV order Au, Cu) are the only ones of a scan over
/// orders with 24 features and cutoffs 1.5-8 Å that reproduce aenet's rows.
#[test]
fn gold_copper_descriptors_equal_aenet() {
    let Some(dir) = common::shared("oracle/aenet") else {
        return;
    };
    let model = descriptor_model(&["Au", "Cu"], 3.5, 5, 3.5, 5);
    compare(&model, &dir.join("aucu.xsf"), &dir.join("aucu_ref.csv"));
}

/// Loads the TiO2 potential (binary or ASCII files) and compares every
/// case of tio2_predict.json with predict.x's full-precision numbers.
fn compare_tio2(form: &str) {
    let Some(dir) = common::shared("oracle/aenet/tio2") else {
        return;
    };
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tio2_predict.json")).unwrap())
            .unwrap();
    let files: Vec<_> = ["Ti", "O"]
        .iter()
        .map(|el| dir.join(json["potentials"][el][form].as_str().unwrap()))
        .collect();
    let model = AnyModel::load(&files).unwrap();
    assert_eq!(model.family(), "bp");
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 20);
    for case in cases {
        let name = case["file"].as_str().unwrap();
        let s = io::read(&dir.join("xsf").join(name), None)
            .unwrap()
            .remove(0);
        let p = model.prepare(s).unwrap();
        let mut out = Prediction::default();
        model.predict(&p, &mut out);
        let e = case["energy_full"].as_f64().unwrap();
        assert!(
            (out.energy - e).abs() <= 1e-9 * e.abs(),
            "{name} ({form}): energy {} vs predict.x {e}",
            out.energy
        );
        let atomic = common::json_numbers(&case["atomic_energies_full"]);
        for (i, (a, b)) in out.atomic_energies.iter().zip(&atomic).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs(),
                "{name} ({form}): atom {i} energy {a} vs predict.x {b}"
            );
        }
        let forces: Vec<f64> = case["forces_full"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(common::json_numbers)
            .collect();
        assert_eq!(forces.len(), 3 * out.forces.len());
        for (k, (a, b)) in out.forces.iter().flatten().zip(&forces).enumerate() {
            assert!(
                (a - b).abs() <= 1e-8,
                "{name} ({form}): force component {k}: {a} vs predict.x {b} eV/Å"
            );
        }
    }
}

#[test]
fn tio2_binary_potential_predicts_as_aenet_predict_x() {
    compare_tio2("binary");
}

#[test]
fn tio2_ascii_potential_predicts_as_aenet_predict_x() {
    compare_tio2("ascii");
}

/// A truncated binary potential and one with a wrong weight count are
/// refused by `forcefit predict` with exit status 2 and the record or line
/// named, never a panic.
#[test]
fn damaged_potential_files_are_refused_with_the_record_named() {
    let Some(dir) = common::shared("oracle/aenet/tio2") else {
        return;
    };
    let tmp = common::TempDir::new("bp-damaged");
    let binary = std::fs::read(dir.join("potential.O.nn")).unwrap();
    let cut = tmp.file("potential.O.nn", &binary[..binary.len() / 2]);
    let ascii = std::fs::read_to_string(dir.join("potential.O.nn.ascii")).unwrap();
    let mut lines: Vec<String> = ascii.lines().map(str::to_string).collect();
    lines[2] = "432".into(); // Wsize: one more weight than the layers hold
    let wrong = tmp.file("potential.O.nn.ascii", lines.join("\n") + "\n");
    let xsf = dir.join("xsf").join("structure0001.xsf");
    let out = tmp.path().join("predicted.xyz");
    for (file, needle) in [(&cut, "record"), (&wrong, "potential.O.nn.ascii:3")] {
        let ti = dir.join("potential.Ti.nn");
        let o = common::forcefit(&[
            "predict",
            "-o",
            out.to_str().unwrap(),
            "--model",
            ti.to_str().unwrap(),
            "--model",
            file.to_str().unwrap(),
            xsf.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    }
}
