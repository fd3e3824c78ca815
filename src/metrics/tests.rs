//! Tests of the error statistics on hand-computed cases.

use super::*;
use crate::structure::Labels;

fn structure(species: &[&str], labels: Labels) -> Structure {
    Structure {
        species: species.iter().map(|s| s.to_string()).collect(),
        positions: (0..species.len()).map(|i| [i as f64, 0.0, 0.0]).collect(),
        cell: None,
        pbc: [false; 3],
        labels,
        origin: Default::default(),
    }
}

fn prediction(energy: f64, forces: Vec<[f64; 3]>, virial: [f64; 9]) -> Prediction {
    Prediction {
        energy,
        atomic_energies: vec![energy / forces.len() as f64; forces.len()],
        forces,
        virial,
    }
}

/// Relative comparison for values computed in different orders.
fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() <= 1e-12 * expected.abs().max(1.0))
}

/// Two structures, three atoms:
///
/// S1 = Pb, Te with every label:
///   E: ref -8, pred -7.99 → e1 = +0.01/2 = +0.005 eV/atom
///   F: Pb ref (1, 0, 0) pred (1.03, 0, -0.04) → errors 0.03, 0, -0.04
///      Te ref (0, -1, 0.5) pred equal         → errors 0, 0, 0
///   W: ref diag(2, 2, 2); pred xx 2.02, zz 1.98, xy = yx 0.01, yy 2
///      → per atom xx +0.01, yy 0, zz -0.01, xy +0.005, yz 0, zx 0
/// S2 = Te with energy and forces, no virial:
///   E: ref -4, pred -4.02 → e2 = -0.02 eV/atom
///   F: ref (0.2, 0.2, 0.2) pred (0.2, 0.26, 0.2) → errors 0, 0.06, 0
fn hand_case() -> Vec<(Structure, Prediction)> {
    let s1 = structure(
        &["Pb", "Te"],
        Labels {
            energy: Some(-8.0),
            forces: Some(vec![[1.0, 0.0, 0.0], [0.0, -1.0, 0.5]]),
            virial: Some([2.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0]),
            ..Labels::default()
        },
    );
    let p1 = prediction(
        -7.99,
        vec![[1.03, 0.0, -0.04], [0.0, -1.0, 0.5]],
        [2.02, 0.01, 0.0, 0.01, 2.0, 0.0, 0.0, 0.0, 1.98],
    );
    let s2 = structure(
        &["Te"],
        Labels {
            energy: Some(-4.0),
            forces: Some(vec![[0.2, 0.2, 0.2]]),
            ..Labels::default()
        },
    );
    let p2 = prediction(-4.02, vec![[0.2, 0.26, 0.2]], [0.0; 9]);
    vec![(s1, p1), (s2, p2)]
}

#[test]
fn hand_computed_rmse_and_mae() {
    let mut stats = ErrorStats::new();
    for (s, p) in &hand_case() {
        stats.add(s, p);
    }
    let m = stats.summary();
    assert_eq!(m.n_structures, 2);
    assert_eq!(m.n_atoms, 3);
    assert_eq!(
        (m.n_with_energy, m.n_with_forces, m.n_with_virial),
        (2, 2, 1)
    );
    assert_eq!(m.n_non_finite, 0);

    // Energy: RMSE = sqrt((0.005² + 0.02²) / 2) = sqrt(2.125e-4) eV
    //              = 14.5774 meV/atom; MAE = (0.005 + 0.02) / 2 = 12.5;
    //         mean = (0.005 - 0.02) / 2 = -7.5 meV/atom.
    assert!(close(m.energy_rmse_mev_per_atom, 2.125e-4f64.sqrt() * 1e3));
    assert!(close(m.energy_mae_mev_per_atom, 12.5));
    assert!(close(m.energy_mean_error_mev_per_atom, -7.5));

    // Force: 9 components; squares 9e-4 + 1.6e-3 + 3.6e-3 = 6.1e-3;
    //   RMSE = sqrt(6.1e-3 / 9) = 26.0342 meV/Å;
    //   MAE = (0.03 + 0.04 + 0.06) / 9 = 14.4444 meV/Å.
    assert!(close(
        m.force_rmse_mev_per_angstrom,
        (6.1e-3f64 / 9.0).sqrt() * 1e3
    ));
    assert!(close(m.force_mae_mev_per_angstrom, 0.13 / 9.0 * 1e3));

    // Virial: six components of S1 only; squares 1e-4 + 1e-4 + 2.5e-5 =
    //   2.25e-4; RMSE = sqrt(2.25e-4 / 6) = 6.12372 meV/atom;
    //   MAE = (0.01 + 0.01 + 0.005) / 6 = 4.16667 meV/atom.
    assert!(close(
        m.virial_rmse_mev_per_atom,
        (2.25e-4f64 / 6.0).sqrt() * 1e3
    ));
    assert!(close(m.virial_mae_mev_per_atom, 0.025 / 6.0 * 1e3));
}

#[test]
fn per_species_split() {
    let mut stats = ErrorStats::new();
    for (s, p) in &hand_case() {
        stats.add(s, p);
    }
    let m = stats.summary();
    let species: Vec<&str> = m.force_by_species.keys().map(|k| k.as_str()).collect();
    assert_eq!(species, ["Pb", "Te"]);
    // Pb: one atom, errors 0.03, 0, -0.04: RMSE = sqrt(2.5e-3 / 3)
    //   = 28.8675 meV/Å, MAE = 0.07 / 3 = 23.3333 meV/Å.
    let pb = &m.force_by_species["Pb"];
    assert_eq!(pb.n_atoms, 1);
    assert!(close(
        Some(pb.rmse_mev_per_angstrom),
        (2.5e-3f64 / 3.0).sqrt() * 1e3
    ));
    assert!(close(Some(pb.mae_mev_per_angstrom), 0.07 / 3.0 * 1e3));
    // Te: two atoms (S1 and S2), six components, one error 0.06:
    //   RMSE = sqrt(3.6e-3 / 6) = 24.4949 meV/Å, MAE = 0.06 / 6 = 10 meV/Å.
    let te = &m.force_by_species["Te"];
    assert_eq!(te.n_atoms, 2);
    assert!(close(
        Some(te.rmse_mev_per_angstrom),
        (3.6e-3f64 / 6.0).sqrt() * 1e3
    ));
    assert!(close(Some(te.mae_mev_per_angstrom), 10.0));
}

#[test]
fn missing_labels_give_none_never_nan() {
    let bare = structure(&["Si", "Si"], Labels::default());
    let p = prediction(-1.0, vec![[0.1, 0.0, 0.0]; 2], [1.0; 9]);
    let mut stats = ErrorStats::new();
    stats.add(&bare, &p);
    let m = stats.summary();
    assert_eq!((m.n_structures, m.n_atoms), (1, 2));
    assert_eq!(
        (m.n_with_energy, m.n_with_forces, m.n_with_virial),
        (0, 0, 0)
    );
    assert_eq!(m.energy_rmse_mev_per_atom, None);
    assert_eq!(m.energy_mae_mev_per_atom, None);
    assert_eq!(m.energy_mean_error_mev_per_atom, None);
    assert_eq!(m.force_rmse_mev_per_angstrom, None);
    assert_eq!(m.force_mae_mev_per_angstrom, None);
    assert_eq!(m.virial_rmse_mev_per_atom, None);
    assert_eq!(m.virial_mae_mev_per_atom, None);
    assert!(m.force_by_species.is_empty());

    let json = serde_json::to_value(&m).unwrap();
    assert!(json["energy_rmse_mev_per_atom"].is_null());
    assert!(json["virial_mae_mev_per_atom"].is_null());
    assert_eq!(json["n_atoms"], 2);

    // Forces only: energy and virial stay None.
    let forces_only = structure(
        &["Si"],
        Labels {
            forces: Some(vec![[0.0; 3]]),
            ..Labels::default()
        },
    );
    let mut stats = ErrorStats::new();
    stats.add(
        &forces_only,
        &prediction(0.0, vec![[0.0, 0.0, 0.3]], [0.0; 9]),
    );
    let m = stats.summary();
    assert_eq!(m.energy_rmse_mev_per_atom, None);
    assert_eq!(m.virial_rmse_mev_per_atom, None);
    // sqrt(0.09 / 3) = 0.173205 eV/Å; MAE 0.3 / 3 = 0.1 eV/Å.
    assert!(close(m.force_rmse_mev_per_angstrom, 0.03f64.sqrt() * 1e3));
    assert!(close(m.force_mae_mev_per_angstrom, 100.0));

    // Nothing added at all.
    let empty = ErrorStats::new().summary();
    assert_eq!(empty.n_structures, 0);
    assert_eq!(empty.force_rmse_mev_per_angstrom, None);
}

#[test]
fn non_finite_predictions_are_counted() {
    let (s, mut p) = hand_case().swap_remove(1);
    p.energy = f64::NAN;
    let mut stats = ErrorStats::new();
    stats.add(&s, &p);
    let m = stats.summary();
    assert_eq!(m.n_non_finite, 1);
    assert!(m.energy_rmse_mev_per_atom.is_some_and(f64::is_nan));
    assert!(m.force_rmse_mev_per_angstrom.is_some_and(f64::is_finite));
    assert!(
        m.to_table()
            .contains("warning: 1 structures have non-finite")
    );
}

/// Deterministic pseudo-random structures of 1-6 atoms of three species,
/// with labels present or not.
fn random_items(count: usize) -> Vec<(Structure, Prediction)> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..count)
        .map(|_| {
            let n = 1 + (next() * 6.0) as usize;
            let species: Vec<&str> = (0..n)
                .map(|_| ["H", "O", "Pb"][(next() * 3.0) as usize])
                .collect();
            let mut vec3 = || [next() - 0.5, next() - 0.5, next() - 0.5];
            let forces: Vec<[f64; 3]> = (0..n).map(|_| vec3()).collect();
            let predicted: Vec<[f64; 3]> = (0..n).map(|_| vec3()).collect();
            let mut virial = [0.0; 9];
            virial.iter_mut().for_each(|w| *w = next() * 10.0);
            let labels = Labels {
                energy: (next() < 0.8).then(|| -3.0 * n as f64 + next()),
                forces: (next() < 0.8).then_some(forces),
                virial: (next() < 0.5).then_some(virial),
                ..Labels::default()
            };
            let s = structure(&species, labels);
            let mut w = [0.0; 9];
            w.iter_mut().for_each(|w| *w = next() * 10.0);
            let p = prediction(-3.0 * n as f64 + next(), predicted, w);
            (s, p)
        })
        .collect()
}

#[test]
fn merge_equals_sequential_bit_for_bit() {
    let items = random_items(200);
    let mut sequential = ErrorStats::new();
    for (s, p) in &items {
        sequential.add(s, p);
    }
    let expected = sequential.summary();
    assert!(expected.virial_rmse_mev_per_atom.is_some());
    assert_eq!(expected.force_by_species.len(), 3);

    // Chunks merged in order, as a parallel reduction would.
    for chunk in [1, 7, 64, 200] {
        let mut merged = ErrorStats::new();
        for part in items.chunks(chunk) {
            let mut partial = ErrorStats::new();
            for (s, p) in part {
                partial.add(s, p);
            }
            merged.merge(partial);
        }
        assert_eq!(merged.summary(), expected, "chunk size {chunk}");
    }

    // The sums are exact, so even a different order gives the same bits.
    let mut reversed = ErrorStats::new();
    for part in items.chunks(13).rev() {
        let mut partial = ErrorStats::new();
        for (s, p) in part.iter().rev() {
            partial.add(s, p);
        }
        reversed.merge(partial);
    }
    assert_eq!(reversed.summary(), expected);
}

#[test]
fn table_has_aligned_rows_and_species() {
    let mut stats = ErrorStats::new();
    for (s, p) in &hand_case() {
        stats.add(s, p);
    }
    let table = stats.summary().to_table();
    // Numbers are the hand-computed values above, rounded to 3 decimals.
    let expected = "\
2 structures, 3 atoms (labels: energy 2, forces 2, virial 1)
                 RMSE          MAE  unit
energy         14.577       12.500  meV/atom
force          26.034       14.444  meV/Å
virial          6.124        4.167  meV/atom

species     atoms   force RMSE    force MAE  unit
Pb              1       28.868       23.333  meV/Å
Te              2       24.495       10.000  meV/Å
";
    assert_eq!(table, expected);

    let mut bare = ErrorStats::new();
    bare.add(
        &structure(&["Si"], Labels::default()),
        &prediction(0.0, vec![[0.0; 3]], [0.0; 9]),
    );
    let table = bare.summary().to_table();
    assert!(table.contains("virial              -            -  meV/atom"));
    assert!(!table.contains("species"));
}
