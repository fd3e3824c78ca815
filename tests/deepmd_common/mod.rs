//! Small random DeePMD models for the DeePMD tests.
#![allow(dead_code)]

pub mod python;

use forcefit::model::deepmd::{DeepPot, DeepPotHyper};
use forcefit::nn::Activation;
use rand::SeedableRng;

/// A small se_e2_a model: rcut 4 Å with the switch from 1.5 Å, sel [6, 9],
/// embedding [4, 8] (a doubling residual), axis 3, fitting [6, 6] (a
/// same-width residual), random parameters and random statistics
/// (slot-uniform unless `vary_by_slot`, davg nonzero in every column).
pub fn random_deepmd(
    type_one_side: bool,
    resnet_dt: bool,
    vary_by_slot: bool,
    seed: u64,
) -> DeepPot {
    random_deepmd_with_sel(vec![6, 9], type_one_side, resnet_dt, vary_by_slot, seed)
}

/// [`random_deepmd`] with other `sel`.
pub fn random_deepmd_with_sel(
    sel: Vec<usize>,
    type_one_side: bool,
    resnet_dt: bool,
    vary_by_slot: bool,
    seed: u64,
) -> DeepPot {
    let hyper = DeepPotHyper {
        type_map: vec!["O".into(), "H".into()],
        rcut: 4.0,
        rcut_smth: 1.5,
        sel,
        neuron: vec![4, 8],
        axis_neuron: 3,
        resnet_dt,
        type_one_side,
        env_protection: 0.05,
        set_davg_zero: false,
        activation_function: Activation::Tanh,
        fitting_neuron: vec![6, 6],
        fitting_resnet_dt: resnet_dt,
        fitting_activation_function: Activation::Tanh,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut m = DeepPot::random(hyper, &mut rng).unwrap();
    let mut noise = super::common::Rng(seed ^ 0x5eed);
    let mut stats = m.stats().clone();
    let ns = m.hyper().n_slots();
    for t in 0..2 {
        let base: [f64; 4] = std::array::from_fn(|_| noise.range(-0.1, 0.3));
        let scale: [f64; 4] = std::array::from_fn(|_| noise.range(0.3, 1.2));
        for s in 0..ns {
            for c in 0..4 {
                let k = (t * ns + s) * 4 + c;
                let jitter = if vary_by_slot {
                    noise.range(-0.05, 0.05)
                } else {
                    0.0
                };
                stats.davg[k] = base[c] + jitter;
                stats.dstd[k] = scale[c] + jitter;
            }
        }
        stats.bias_atom_e[t] = noise.range(-2.0, 2.0);
        stats.out_bias[t] = noise.range(-5.0, 5.0);
    }
    m.set_stats(stats).unwrap();
    m
}
