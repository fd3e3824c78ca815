//! NEP forces are −dE/dr and the virial is the strain derivative, checked
//! by central finite differences on random models and small odd cells.

mod common;

use common::{Rng, check_forces_and_virial, random_structure};
use forcefit::model::nep::angular::AngularTerms;
use forcefit::model::nep::{Nep, NepHyper, TypewiseCutoff, Zbl};

fn hyper(species: &[&str], version: u32, l: (usize, bool, bool), zbl: Option<Zbl>) -> NepHyper {
    NepHyper {
        version,
        species: species.iter().map(|s| s.to_string()).collect(),
        rc_radial: 4.6,
        rc_angular: 3.7,
        cutoffs: None,
        max_neighbors: Some((100, 50)),
        typewise: None,
        n_max_radial: 4,
        n_max_angular: 3,
        basis_size_radial: 5,
        basis_size_angular: 4,
        angular: AngularTerms::new(l.0, l.1, l.2),
        neurons: 7,
        zbl,
    }
}

fn random_model(h: NepHyper, seed: u64) -> Nep {
    let mut rng = Rng(seed);
    let params = (0..h.n_params()).map(|_| rng.range(-0.6, 0.6)).collect();
    let q_scaler = (0..h.dim()).map(|_| rng.range(0.3, 1.5)).collect();
    Nep::new(h, params, q_scaler).expect("valid model")
}

/// A 7-atom triclinic cell smaller than the cutoff in every direction.
fn odd_cell(species: &[&str], seed: u64) -> forcefit::structure::Structure {
    let mut rng = Rng(seed);
    let cell = [[3.9, 0.0, 0.0], [0.8, 4.3, 0.0], [-0.5, 0.7, 4.1]];
    random_structure(&mut rng, species, cell, [true, true, true], 1.2)
}

#[test]
fn one_species_three_body() {
    let model = random_model(hyper(&["Si"], 4, (4, false, false), None), 1);
    let s = odd_cell(&["Si"; 5], 11);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn two_species_four_and_five_body() {
    let model = random_model(hyper(&["Te", "Pb"], 4, (4, true, true), None), 2);
    let s = odd_cell(&["Te", "Pb", "Pb", "Te", "Te", "Pb", "Te"], 12);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn three_species_shared_network_low_l() {
    let model = random_model(hyper(&["Mo", "Si", "N"], 3, (2, true, false), None), 3);
    let s = odd_cell(&["Mo", "Si", "N", "N", "Si", "N"], 13);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn universal_zbl_with_typewise_cutoffs() {
    let mut h = hyper(
        &["Mo", "Si", "N"],
        4,
        (4, true, true),
        Some(Zbl::Universal {
            inner: 1.0,
            outer: 2.2,
            typewise: None,
        }),
    );
    h.typewise = Some(TypewiseCutoff {
        radial: 1.6,
        angular: 1.2,
        zbl: 0.9,
    });
    let model = random_model(h, 4);
    // Closer atoms so that the ZBL switching region is sampled.
    let mut rng = Rng(14);
    let cell = [[3.6, 0.0, 0.0], [0.5, 3.8, 0.0], [0.3, -0.4, 4.0]];
    let s = random_structure(
        &mut rng,
        &["Mo", "Si", "N", "N", "Si", "Mo", "N", "N"],
        cell,
        [true; 3],
        0.9,
    );
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn flexible_zbl() {
    let mut rng = Rng(99);
    let mut p = Vec::new();
    for _ in 0..3 {
        p.extend([0.8, 1.9]);
        for _ in 0..4 {
            p.extend([rng.range(0.05, 0.5), rng.range(0.2, 3.0)]);
        }
    }
    let model = random_model(
        hyper(&["Te", "Pb"], 4, (4, true, false), Some(Zbl::Flexible(p))),
        5,
    );
    let mut rng = Rng(15);
    let cell = [[3.5, 0.0, 0.0], [0.0, 3.7, 0.0], [0.9, 0.2, 3.9]];
    let s = random_structure(
        &mut rng,
        &["Te", "Pb", "Pb", "Te", "Te", "Pb"],
        cell,
        [true; 3],
        0.9,
    );
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn slab_and_cluster() {
    let model = random_model(hyper(&["Te", "Pb"], 4, (4, true, true), None), 6);
    let mut rng = Rng(16);
    let cell = [[4.2, 0.0, 0.0], [1.1, 4.0, 0.0], [0.0, 0.0, 30.0]];
    let slab = random_structure(
        &mut rng,
        &["Te", "Pb", "Te", "Pb", "Pb"],
        cell,
        [true, true, false],
        1.3,
    );
    check_forces_and_virial(&model, &slab, 1e-5, 1e-6);
    let mut cluster = random_structure(
        &mut rng,
        &["Te", "Pb", "Te", "Pb"],
        [[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]],
        [false; 3],
        1.5,
    );
    cluster.cell = None;
    check_forces_and_virial(&model, &cluster, 1e-5, 1e-6);
}
