//! The family conformance suite (tests/conformance) on Behler–Parrinello
//! models with aenet's Chebyshev descriptor: two elements (spin-weighted
//! blocks) with tanh and twist networks, and one element with mtanh; the
//! descriptor statistics are fitted to the suite's structures so that the
//! normalisation is exercised, with a nontrivial energy scale and shift.
//! (No cutoff equals a lattice distance of the suite's 2-atom cell: a pair
//! exactly at the cutoff makes the strain difference quotient O(h) wrong.)

mod common;
mod conformance;

use forcefit::model::Model;
use forcefit::model::bp::{BpConfig, BpModel};
use forcefit::nn::Activation;
use rand::SeedableRng;

fn model(species: &[&str], activation: Activation, seed: u64) -> BpModel {
    let config = BpConfig {
        radial_cutoff: 4.3,
        radial_order: 6,
        angular_cutoff: 3.3,
        angular_order: 4,
        hidden: vec![7, 5],
        activation,
        ..BpConfig::default()
    };
    let hyper = config
        .hyper_for(species.iter().map(|s| s.to_string()).collect())
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut m = BpModel::random(hyper, &mut rng).unwrap();
    let b = species.last().unwrap();
    let prepared: Vec<_> = conformance::structures(species[0], b)
        .into_iter()
        .map(|(_, s)| m.prepare(s).unwrap())
        .collect();
    m.fit_statistics(&prepared).unwrap();
    let mut stats = m.stats().clone();
    stats.scale = 0.7;
    stats.shift = -0.3;
    stats.e_atom = (0..species.len()).map(|t| -1.5 - t as f64).collect();
    m.set_stats(stats).unwrap();
    // Biases away from zero, so that every parameter has a gradient.
    for (k, p) in m.params_mut().iter_mut().enumerate() {
        if *p == 0.0 {
            *p = 0.1 * ((k % 7) as f64 - 3.0);
        }
    }
    m
}

const TOLERANCES: conformance::Tolerances = conformance::Tolerances {
    h_position: 1e-5,
    forces: 1e-6,
    h_param: 1e-5,
    vjp: 1e-6,
};

#[test]
fn bp_two_elements_tanh_pass_the_conformance_suite() {
    let m = model(&["Ti", "O"], Activation::Tanh, 31);
    conformance::run(&m, "Ti", "O", &TOLERANCES);
}

#[test]
fn bp_two_elements_twist_pass_the_conformance_suite() {
    let m = model(&["O", "H"], Activation::Twist, 32);
    conformance::run(&m, "O", "H", &TOLERANCES);
}

#[test]
fn bp_one_element_mtanh_passes_the_conformance_suite() {
    let m = model(&["Si"], Activation::Mtanh, 33);
    conformance::run(&m, "Si", "Si", &TOLERANCES);
}
