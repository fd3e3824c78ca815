//! The exact NEP gradient (`Model::vjp`) against central finite differences
//! over all parameters, term by term (energy, forces, virial) and combined,
//! for 1, 2 and 3 species, 4-/5-body terms and ZBL.

mod common;

use common::{Rng, check_vjp, random_structure};
use forcefit::model::Model;
use forcefit::model::nep::{Nep, TypewiseCutoff, Zbl};
use forcefit::structure::Structure;

fn model(species: &[&str], l: (usize, bool, bool), zbl: Option<Zbl>, seed: u64) -> Nep {
    common::random_nep(species, l, zbl, seed)
}

fn cell(species: &[&str], seed: u64) -> Structure {
    let mut rng = Rng(seed);
    let cell = [[3.9, 0.0, 0.0], [0.8, 4.2, 0.0], [-0.5, 0.6, 4.0]];
    random_structure(&mut rng, species, cell, [true; 3], 1.1)
}

fn check_all(m: &Nep, s: &Structure, seed: u64) {
    for (name, adj) in common::term_adjoints(s.n_atoms(), seed) {
        let rel = check_vjp(m, s, &adj, 1e-6, 1e-6);
        eprintln!("{name}: relative error {rel:.2e}");
    }
}

#[test]
fn one_species() {
    let m = model(&["Si"], (4, false, false), None, 1);
    check_all(&m, &cell(&["Si"; 5], 21), 31);
}

#[test]
fn two_species_with_four_and_five_body() {
    let m = model(&["Te", "Pb"], (4, true, true), None, 2);
    check_all(&m, &cell(&["Te", "Pb", "Pb", "Te", "Pb", "Te"], 22), 32);
}

#[test]
fn three_species_low_l_four_body() {
    let m = model(&["Mo", "Si", "N"], (2, true, false), None, 3);
    check_all(&m, &cell(&["Mo", "Si", "N", "N", "Si", "N", "Mo"], 23), 33);
}

#[test]
fn zbl_and_typewise_cutoffs() {
    let mut m = model(
        &["Mo", "Si", "N"],
        (4, true, true),
        Some(Zbl::Universal {
            inner: 1.0,
            outer: 2.0,
            typewise: None,
        }),
        4,
    );
    let mut h = m.hyper().clone();
    h.typewise = Some(TypewiseCutoff {
        radial: 1.5,
        angular: 1.2,
        zbl: 0.8,
    });
    m = Nep::new(h, m.params().to_vec(), m.q_scaler().to_vec()).unwrap();
    let mut rng = Rng(24);
    let cell = [[3.6, 0.0, 0.0], [0.5, 3.8, 0.0], [0.3, -0.4, 4.0]];
    let s = random_structure(
        &mut rng,
        &["Mo", "Si", "N", "N", "Si", "Mo", "N"],
        cell,
        [true; 3],
        0.9,
    );
    check_all(&m, &s, 34);
}
