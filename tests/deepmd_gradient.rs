//! DeePMD's vjp against central differences over every parameter, term
//! by term: energy, forces, virial, and all together.

mod common;
mod deepmd_common;

use common::{Rng, check_vjp, random_structure};
use deepmd_common::{random_deepmd, random_deepmd_with_sel};
use forcefit::model::deepmd::DeepPot;
use forcefit::structure::Structure;

const SPECIES: [&str; 6] = ["O", "H", "H", "O", "H", "H"];

fn check_all(model: &DeepPot, s: &Structure, tag: &str) {
    for (term, adj) in common::term_adjoints(s.n_atoms(), 99) {
        let rel = check_vjp(model, s, &adj, 1e-6, 1e-6);
        eprintln!("{tag} {term}: relative error {rel:.2e}");
    }
}

fn cell() -> [[f64; 3]; 3] {
    [[5.6, 0.0, 0.0], [0.9, 5.1, 0.0], [-0.6, 0.7, 5.3]]
}

#[test]
fn vjp_every_variant_periodic() {
    for (one_side, dt) in [(true, false), (true, true), (false, false), (false, true)] {
        let model = random_deepmd(one_side, dt, false, 31);
        let mut rng = Rng(41);
        let s = random_structure(&mut rng, &SPECIES, cell(), [true; 3], 1.0);
        check_all(&model, &s, &format!("one_side={one_side} resnet_dt={dt}"));
    }
}

#[test]
fn vjp_cluster_with_empty_slots_and_slot_dependent_statistics() {
    let model = random_deepmd_with_sel(vec![8, 12], false, true, true, 32);
    let mut rng = Rng(42);
    let s = random_structure(
        &mut rng,
        &SPECIES,
        [[3.5, 0.0, 0.0], [0.0, 3.5, 0.0], [0.0, 0.0, 3.5]],
        [false; 3],
        1.0,
    );
    check_all(&model, &s, "cluster");
}

#[test]
fn vjp_over_several_blocks() {
    // 40 atoms: more than one block of the vjp and of the prediction
    let model = random_deepmd_with_sel(vec![12, 24], true, true, false, 33);
    let mut rng = Rng(43);
    let species: Vec<&str> = (0..40)
        .map(|i| if i % 3 == 0 { "O" } else { "H" })
        .collect();
    let s = random_structure(
        &mut rng,
        &species,
        [[7.4, 0.0, 0.0], [0.0, 7.1, 0.0], [0.5, 0.0, 7.6]],
        [true; 3],
        1.1,
    );
    check_all(&model, &s, "40 atoms");
}
