//! The shared data sets (`../shared/datasets`) read completely, with counts
//! and a few values checked against the raw files and GPUMD's own outputs.
//! Each test skips with a message when the data are absent.

mod common;

use common::shared;
use forcefit::io::{self, Format};
use forcefit::structure::Structure;
use std::collections::BTreeMap;

fn total_atoms(s: &[Structure]) -> usize {
    s.iter().map(Structure::n_atoms).sum()
}

fn species_counts(s: &Structure) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for x in &s.species {
        *m.entry(x.as_str()).or_default() += 1;
    }
    m
}

/// Rows of numbers of a GPUMD `*.out` file.
fn table(path: &std::path::Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-3)
}

#[test]
fn pbte() {
    let Some(p) = shared("datasets/pbte/train.xyz") else {
        return;
    };
    let s = io::read(&p, None).unwrap();
    assert_eq!(s.len(), 25);
    assert!(s.iter().all(|x| x.n_atoms() == 250));
    assert!(
        s.iter()
            .all(|x| x.labels.energy.is_some() && x.labels.forces.is_some())
    );
    assert!(s.iter().all(|x| x.labels.virial.is_none()));
    let a = &s[0];
    assert_eq!(a.labels.energy, Some(-937.191));
    assert_eq!(a.species[0], "Te");
    assert_eq!(a.positions[0], [3.391217, 3.024926, 3.37478]);
    assert_eq!(
        a.labels.forces.as_ref().unwrap()[0],
        [0.07834588, 0.3368932, -0.1323393]
    );
    assert_eq!(a.cell.unwrap()[0], [0.0, 16.42598, 16.42598]);
    assert_eq!(a.labels.config_type.as_deref(), Some("nep2xyz"));
    assert_eq!((a.origin.frame, a.origin.line), (0, 1));
    assert_eq!((s[1].origin.frame, s[1].origin.line), (1, 253));
    // GPUMD's energy_train.out: target energy per atom in column 2.
    let e = table(&p.with_file_name("energy_train.out"));
    for (x, row) in s.iter().zip(&e) {
        assert!(close(x.labels.energy.unwrap() / 250.0, row[1], 1e-5));
    }
}

#[test]
fn mosi2n4_train() {
    let Some(p) = shared("datasets/mosi2n4/train.xyz") else {
        return;
    };
    let s = io::read(&p, None).unwrap();
    assert_eq!(s.len(), 308);
    assert_eq!(total_atoms(&s), 3143);
    assert!(s.iter().all(|x| x.labels.virial.is_some()
        && x.labels.energy.is_some()
        && x.labels.forces.is_some()));
    let a = &s[0];
    assert_eq!(a.n_atoms(), 63);
    assert_eq!(a.labels.energy, Some(-552.154833));
    assert_eq!(a.labels.virial.unwrap()[0], -5.48333);
    assert_eq!(a.labels.virial.unwrap()[5], -3.70387);
    assert_eq!(a.labels.config_type.as_deref(), Some("train-45"));
    assert_eq!(a.labels.weight, 1.0);
    assert_eq!(a.cell.unwrap()[1], [-4.36470085, 7.5598813, 0.0]);
    assert_eq!(
        species_counts(a),
        BTreeMap::from([("Mo", 9), ("N", 36), ("Si", 18)])
    );
    // GPUMD's virial_train.out: target virial per atom in columns 7-12, in
    // the order xx yy zz xy yz zx — confirms row-major storage and sign.
    let v = table(&p.with_file_name("virial_train.out"));
    let e = table(&p.with_file_name("energy_train.out"));
    assert_eq!(v.len(), s.len());
    for ((x, vrow), erow) in s.iter().zip(&v).zip(&e) {
        let n = x.n_atoms() as f64;
        let w = x.labels.virial.unwrap();
        for (k, idx) in [0, 4, 8, 1, 5, 6].into_iter().enumerate() {
            assert!(
                close(w[idx] / n, vrow[6 + k], 2e-5),
                "{}: virial {k}: {} vs {}",
                x.origin,
                w[idx] / n,
                vrow[6 + k]
            );
        }
        assert!(close(x.labels.energy.unwrap() / n, erow[1], 1e-5));
    }
}

#[test]
fn mosi2n4_test() {
    let Some(p) = shared("datasets/mosi2n4/test.xyz") else {
        return;
    };
    let s = io::read(&p, Some(Format::ExtXyz)).unwrap();
    assert_eq!(s.len(), 827);
    assert_eq!(total_atoms(&s), 30632);
    assert!(s.iter().all(|x| x.labels.virial.is_some()));
    assert_eq!(s[0].labels.energy, Some(-546.751439));
    assert_eq!(s[0].labels.virial.unwrap()[5], 8.21947);
}

#[test]
fn water_deepmd() {
    let Some(p) = shared("datasets/water-deepmd") else {
        return;
    };
    assert_eq!(io::detect(&p).unwrap(), Format::Deepmd);
    let s = io::read(&p, None).unwrap();
    assert_eq!(s.len(), 400);
    assert!(s.iter().all(|x| x.n_atoms() == 192));
    assert!(
        s.iter()
            .all(|x| x.labels.energy.is_some() && x.labels.forces.is_some())
    );
    assert_eq!(
        species_counts(&s[0]),
        BTreeMap::from([("H", 128), ("O", 64)])
    );
    // data_0, data_1 (two sets), data_2, data_3; 80 frames per set.
    let sets: Vec<String> = s
        .iter()
        .step_by(80)
        .map(|x| {
            let c: Vec<_> = x.origin.path.components().rev().take(2).collect();
            format!(
                "{}/{}",
                c[1].as_os_str().to_string_lossy(),
                c[0].as_os_str().to_string_lossy()
            )
        })
        .collect();
    assert_eq!(
        sets,
        [
            "data_0/set.000",
            "data_1/set.000",
            "data_1/set.001",
            "data_2/set.000",
            "data_3/set.000"
        ]
    );
    assert_eq!(s[80 + 85].origin.frame, 85);
    // Values as stored (float32, widened exactly).
    assert_eq!(s[0].labels.energy, Some(-29943.90625));
    assert_eq!(s[0].positions[0][0], 7.538785934448242);
    assert_eq!(s[0].cell.unwrap()[0][0], 12.444661140441895);
    assert_eq!(
        s[399].labels.forces.as_ref().unwrap()[191][2],
        -0.13043823838233948
    );
}

#[test]
fn tio2_aenet() {
    let Some(p) = shared("datasets/tio2-aenet/xsf") else {
        return;
    };
    assert_eq!(io::detect(&p).unwrap(), Format::Xsf);
    let s = io::read(&p, None).unwrap();
    assert_eq!(s.len(), 1000);
    assert!(
        s.iter()
            .all(|x| x.labels.energy.is_some() && x.labels.forces.is_some())
    );
    assert!(s.iter().all(|x| x.pbc == [true; 3]));
    let sizes = s.iter().map(Structure::n_atoms);
    assert_eq!((sizes.clone().min(), sizes.max()), (Some(6), Some(95)));
    let a = &s[0];
    assert!(a.origin.path.ends_with("structure0001.xsf"));
    assert_eq!(a.labels.energy, Some(-19960.66173260));
    assert_eq!(a.n_atoms(), 24);
    assert_eq!(species_counts(a), BTreeMap::from([("O", 16), ("Ti", 8)]));
    assert_eq!(
        a.labels.forces.as_ref().unwrap()[0],
        [0.07592985, -0.40427630, 0.69417754]
    );
    assert_eq!(a.cell.unwrap()[2], [0.0, 0.0, 4.64899994]);
    assert_eq!(total_atoms(&s), 13977 + 7308);
}

#[test]
fn ta_snap() {
    let Some(p) = shared("datasets/ta-snap/ta.xyz") else {
        return;
    };
    let s = io::read(&p, None).unwrap();
    assert_eq!(s.len(), 363);
    assert_eq!(total_atoms(&s), 4224);
    let sizes = s.iter().map(Structure::n_atoms);
    assert_eq!((sizes.clone().min(), sizes.max()), (Some(2), Some(100)));
    assert!(
        s.iter()
            .all(|x| x.labels.forces.is_some() && x.labels.virial.is_none())
    );
    let a = &s[0];
    assert_eq!(a.labels.energy, Some(-754.0221));
    assert_eq!(a.labels.config_type.as_deref(), Some("Displaced_A15"));
    assert_eq!(a.positions[0], [10.59872, 10.5966, 0.05505]);
    assert!(s.iter().all(|x| x.species.iter().all(|e| e == "Ta")));
}
