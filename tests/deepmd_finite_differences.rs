//! DeePMD forces against −dE/dr and the virial against the strain
//! derivative (central differences), for every variant and geometry.

mod common;
mod deepmd_common;

use common::{Rng, check_forces_and_virial, random_structure};
use deepmd_common::{random_deepmd, random_deepmd_with_sel};
use forcefit::model::{Model, Prediction};

const SPECIES: [&str; 8] = ["O", "H", "H", "O", "H", "H", "O", "H"];

fn triclinic() -> [[f64; 3]; 3] {
    [[5.2, 0.0, 0.0], [1.1, 4.8, 0.0], [-0.7, 0.9, 5.0]]
}

#[test]
fn periodic_triclinic_cell_every_variant() {
    for (one_side, dt) in [(true, false), (true, true), (false, false), (false, true)] {
        let model = random_deepmd(one_side, dt, false, 11);
        let mut rng = Rng(21);
        let s = random_structure(&mut rng, &SPECIES, triclinic(), [true; 3], 1.0);
        check_forces_and_virial(&model, &s, 1e-5, 1e-6);
    }
}

#[test]
fn tiny_cell_sees_its_own_images() {
    // a 2-atom cell has dozens of images within rcut: sel must hold them
    let model = random_deepmd_with_sel(vec![40, 40], false, true, false, 12);
    let mut rng = Rng(22);
    let cell = [[2.6, 0.0, 0.0], [0.4, 2.4, 0.0], [0.3, -0.2, 2.8]];
    let s = random_structure(&mut rng, &["O", "H"], cell, [true; 3], 1.0);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn cluster_and_slab() {
    let model = random_deepmd(true, true, false, 13);
    let mut rng = Rng(23);
    let cluster = random_structure(
        &mut rng,
        &SPECIES,
        [[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]],
        [false; 3],
        1.0,
    );
    check_forces_and_virial(&model, &cluster, 1e-5, 1e-6);
    let slab = random_structure(&mut rng, &SPECIES, triclinic(), [true, true, false], 1.0);
    check_forces_and_virial(&model, &slab, 1e-5, 1e-6);
}

#[test]
fn statistics_that_vary_by_slot_sort_neighbours() {
    let model = random_deepmd(false, false, true, 14);
    let mut rng = Rng(24);
    let s = random_structure(&mut rng, &SPECIES, triclinic(), [true; 3], 1.0);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn too_small_sel_drops_the_farthest_without_panicking() {
    // 8 atoms in a 5 Å cell with rcut 4 Å: far more neighbours than sel = [6, 9]
    let model = random_deepmd(true, false, false, 15);
    let mut rng = Rng(25);
    let cell = [[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]];
    let s = random_structure(&mut rng, &SPECIES, cell, [true; 3], 0.9);
    let prepared = model.prepare(s.clone()).unwrap();
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    assert!(p.energy.is_finite());
    // still the gradient of its (piecewise smooth) energy
    check_forces_and_virial(&model, &s, 1e-6, 1e-5);
}
