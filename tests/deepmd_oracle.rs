//! deepmd-kit's own reference numbers for its se_e2_a test model
//! (`../shared/oracle/deepmd/deeppot_sea.yaml` and
//! `deeppot-testcase.yaml`): atomic energies, energy, forces, virial and
//! descriptors, periodic and not.

mod common;

use forcefit::model::deepmd::DeepPot;
use forcefit::model::{Model, Prediction};
use forcefit::structure::{Labels, Origin, Structure};
use serde_json::Value;

/// Asserts |a − b| ≤ 1e-10·|b| or ≤ 1e-12; returns the relative error.
fn close(a: f64, b: f64, what: &str) -> f64 {
    let err = (a - b).abs();
    assert!(
        err <= 1e-10 * b.abs() || err <= 1e-12,
        "{what}: forcefit {a:.17e} vs deepmd-kit {b:.17e}"
    );
    err / b.abs().max(1e-300)
}

fn structure(case: &Value, type_map: &[String]) -> Structure {
    let coord = common::json_numbers(&case["coord"]);
    let species = case["atype"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| type_map[t.as_u64().unwrap() as usize].clone())
        .collect();
    let (cell, pbc) = match &case["box"] {
        Value::Null => (None, [false; 3]),
        b => {
            let b = common::json_numbers(b);
            (
                Some([[b[0], b[1], b[2]], [b[3], b[4], b[5]], [b[6], b[7], b[8]]]),
                [true; 3],
            )
        }
    };
    Structure {
        species,
        positions: coord.chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
        cell,
        pbc,
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

#[test]
fn matches_deepmd_kit_reference_values() {
    let (Some(model_path), Some(case_path)) = (
        common::shared("oracle/deepmd/deeppot_sea.yaml"),
        common::shared("oracle/deepmd/deeppot-testcase.yaml"),
    ) else {
        return;
    };
    let model = DeepPot::from_file(&model_path).expect("read the model");
    let text = std::fs::read_to_string(case_path).unwrap();
    let cases: Value = serde_yaml_ng::from_str(&text).unwrap();
    let type_map = model.species().to_vec();
    let mut worst: f64 = 0.0;
    for (k, case) in cases["results"].as_array().unwrap().iter().enumerate() {
        let s = structure(case, &type_map);
        let prepared = model.prepare(s).unwrap();
        let mut p = Prediction::default();
        model.predict(&prepared, &mut p);
        let ae = common::json_numbers(&case["atomic_energy"]);
        for (i, e) in ae.iter().enumerate() {
            worst = worst.max(close(
                p.atomic_energies[i],
                *e,
                &format!("case {k} atomic energy {i}"),
            ));
        }
        worst = worst.max(close(
            p.energy,
            ae.iter().sum(),
            &format!("case {k} energy"),
        ));
        let f = common::json_numbers(&case["force"]);
        for (i, fi) in f.chunks(3).enumerate() {
            for x in 0..3 {
                worst = worst.max(close(
                    p.forces[i][x],
                    fi[x],
                    &format!("case {k} force {i} {x}"),
                ));
            }
        }
        let av = common::json_numbers(&case["atomic_virial"]);
        let mut virial = [0.0; 9];
        for a in av.chunks(9) {
            for c in 0..9 {
                virial[c] += a[c];
            }
        }
        for c in 0..9 {
            worst = worst.max(close(
                p.virial[c],
                virial[c],
                &format!("case {k} virial {c}"),
            ));
        }
        if let Some(d) = case.get("descriptor") {
            let d = common::json_numbers(d);
            let ours = model.descriptors(&prepared);
            assert_eq!(ours.len(), d.len());
            for (c, (a, b)) in ours.iter().zip(&d).enumerate() {
                worst = worst.max(close(*a, *b, &format!("case {k} descriptor {c}")));
            }
        }
    }
    eprintln!("deepmd-kit oracle: worst relative error {worst:.2e}");
}
