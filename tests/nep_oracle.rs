//! NEP predictions against NEP_CPU's own numbers (../shared/oracle/nep).

mod common;

use forcefit::model::nep::Nep;
use forcefit::model::{Model, Prediction};
use serde_json::Value;

fn check_oracle(file: &str, model_path: &str) {
    let (Some(oracle), Some(model)) = (
        common::shared(&format!("oracle/nep/{file}")),
        common::shared(model_path),
    ) else {
        return;
    };
    let nep = Nep::from_file(&model).expect("model loads");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&oracle).unwrap()).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let structure = common::oracle_structure(case);
        let n = structure.n_atoms();
        let prepared = nep.prepare(structure).expect("prepare");
        let mut p = Prediction::default();
        nep.predict(&prepared, &mut p);

        let e_ref = case["energy"].as_f64().unwrap();
        assert!(
            (p.energy - e_ref).abs() < 1e-9 * n as f64,
            "{file} {name}: energy {} vs {e_ref}",
            p.energy
        );
        for (i, e) in case["atomic_energies"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let e = e.as_f64().unwrap();
            assert!(
                (p.atomic_energies[i] - e).abs() < 1e-9,
                "{file} {name}: atom {i} energy {} vs {e}",
                p.atomic_energies[i]
            );
        }
        for (i, f) in case["forces"].as_array().unwrap().iter().enumerate() {
            let f = common::vec3(f);
            for k in 0..3 {
                assert!(
                    (p.forces[i][k] - f[k]).abs() < 1e-8,
                    "{file} {name}: force {i}/{k} {} vs {}",
                    p.forces[i][k],
                    f[k]
                );
            }
        }
        let w = case["virial"].as_array().unwrap();
        let w: Vec<f64> = if w[0].is_array() {
            w.iter().flat_map(common::vec3).collect()
        } else {
            w.iter().map(|x| x.as_f64().unwrap()).collect()
        };
        for k in 0..9 {
            assert!(
                (p.virial[k] - w[k]).abs() < 1e-7,
                "{file} {name}: virial {k} {} vs {}",
                p.virial[k],
                w[k]
            );
        }
        let desc = nep.descriptors(&prepared);
        let dim = nep.hyper().dim();
        for (i, row) in case["descriptors"].as_array().unwrap().iter().enumerate() {
            for (d, x) in row.as_array().unwrap().iter().enumerate() {
                let x = x.as_f64().unwrap();
                assert!(
                    (desc[i * dim + d] - x).abs() < 1e-10,
                    "{file} {name}: descriptor {i}/{d} {} vs {x}",
                    desc[i * dim + d]
                );
            }
        }
    }
}

#[test]
fn pbte_matches_nep_cpu() {
    check_oracle("pbte.json", "datasets/pbte/nep.txt");
}

#[test]
fn mosi2n4_matches_nep_cpu() {
    check_oracle("mosi2n4.json", "datasets/mosi2n4/nep.txt");
}

#[test]
fn pbte_zbl_matches_nep_cpu() {
    check_oracle("pbte_zbl.json", "oracle/nep/pbte_zbl_nep.txt");
}

/// `forcefit predict --descriptors` writes NEP_CPU's descriptors.
#[test]
fn predict_writes_nep_cpu_descriptors() {
    let (Some(oracle), Some(model)) = (
        common::shared("oracle/nep/pbte.json"),
        common::shared("datasets/pbte/nep.txt"),
    ) else {
        return;
    };
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&oracle).unwrap()).unwrap();
    let case = &data["cases"][0];
    let dir = common::TempDir::new("predict-descriptors");
    let input = dir.path().join("in.xyz");
    forcefit::io::write_atomic(&input, |w| {
        forcefit::io::extxyz::write_frame(w, &common::oracle_structure(case), None)
    })
    .unwrap();
    let out = dir.path().join("d.txt");
    let o = common::forcefit(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        input.to_str().unwrap(),
        "--output",
        dir.path().join("p.xyz").to_str().unwrap(),
        "--descriptors",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let reference = case["descriptors"].as_array().unwrap();
    assert_eq!(rows.len(), reference.len());
    for (i, (row, r)) in rows.iter().zip(reference).enumerate() {
        let fields: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(fields[1], i.to_string());
        let values: Vec<f64> = fields[3..].iter().map(|x| x.parse().unwrap()).collect();
        let r = r.as_array().unwrap();
        assert_eq!(values.len(), r.len());
        for (x, y) in values.iter().zip(r) {
            assert!(
                (x - y.as_f64().unwrap()).abs() < 1e-10,
                "atom {i}: {x} vs {y}"
            );
        }
    }
}
