//! The committed silicon example data (`examples/si/*.xyz`) read back,
//! have the counts the README announces, and carry labels equal to a fresh
//! Stillinger–Weber prediction, so the files stay consistent with the code.
//! After changing the potential, regenerate them with
//! `cargo run --release --example make_si_dataset`.

mod common;

use forcefit::io;
use forcefit::model::{Model, Prediction};
use forcefit::potentials::StillingerWeber;
use std::collections::BTreeMap;

const TOLERANCE: f64 = 1e-9;

/// Reads `name`, checks the counts per config_type, and compares every
/// label with the potential's prediction.
fn check(name: &str, n_structures: usize, n_atoms: usize, kinds: &[(&str, usize)]) {
    let path = common::example(name);
    let structures = io::read(&path, None).expect("read the example data");
    assert_eq!(structures.len(), n_structures, "{name}: structures");
    let atoms: usize = structures.iter().map(|s| s.n_atoms()).sum();
    assert_eq!(atoms, n_atoms, "{name}: atoms");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &structures {
        *counts
            .entry(s.labels.config_type.as_deref().expect("config_type"))
            .or_default() += 1;
    }
    let want: BTreeMap<&str, usize> = kinds.iter().copied().collect();
    assert_eq!(counts, want, "{name}: config_type counts");

    let model = StillingerWeber::silicon();
    let mut p = Prediction::default();
    for s in &structures {
        let labels = s.labels.clone();
        let prepared = model.prepare(s.clone()).expect("prepare");
        model.predict(&prepared, &mut p);
        let at = &s.origin;
        let energy = labels.energy.expect("energy label");
        assert!(
            (energy - p.energy).abs() < TOLERANCE,
            "{at}: energy {energy} vs SW {}",
            p.energy
        );
        let forces = labels.forces.expect("force labels");
        for (i, (f, g)) in forces.iter().zip(&p.forces).enumerate() {
            for k in 0..3 {
                assert!(
                    (f[k] - g[k]).abs() < TOLERANCE,
                    "{at}: force on atom {i}: {f:?} vs SW {g:?}"
                );
            }
        }
        let virial = labels.virial.expect("virial label");
        for (k, (w, v)) in virial.iter().zip(&p.virial).enumerate() {
            assert!((w - v).abs() < TOLERANCE, "{at}: virial {k}: {w} vs SW {v}");
        }
        // Every pair at least 1.9 Å apart, as the generator promises.
        let close = forcefit::neighbors::NeighborList::build(s, 1.9).expect("neighbours");
        assert_eq!(close.n_pairs(), 0, "{at}: atoms closer than 1.9 Å");
    }
}

#[test]
fn training_set_matches_the_potential() {
    let kinds = [
        ("hot", 10),
        ("primitive", 8),
        ("rattled", 18),
        ("strained", 14),
        ("triclinic", 6),
        ("vacancy", 4),
    ];
    check("train.xyz", 60, 1356, &kinds);
}

#[test]
fn test_set_matches_the_potential() {
    let kinds = [
        ("hot", 3),
        ("primitive", 2),
        ("rattled", 6),
        ("strained", 5),
        ("triclinic", 2),
        ("vacancy", 2),
    ];
    check("test.xyz", 20, 530, &kinds);
}

#[test]
fn example_files_stay_small() {
    let bytes: u64 = ["train.xyz", "test.xyz", "README.md"]
        .iter()
        .map(|n| {
            std::fs::metadata(common::example(n))
                .expect("example file")
                .len()
        })
        .sum();
    assert!(bytes < 400 * 1024, "examples/si holds {bytes} bytes");
}
