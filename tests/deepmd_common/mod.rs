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

/// A random se_e2_a model for water (rcut 5 Å from 0.5 Å, sel [40, 80],
/// embedding [8, 16], axis 4, fitting [16, 16]) with davg/dstd and the
/// energy bias fitted on `frames` as deepmd-kit fits them.
pub fn water_model(
    frames: &[forcefit::structure::Structure],
    type_one_side: bool,
    resnet_dt: bool,
    seed: u64,
) -> DeepPot {
    use forcefit::model::Model;
    let config: forcefit::model::deepmd::DeepmdConfig = toml::from_str(&format!(
        "type_map = [\"O\", \"H\"]\nrcut = 5.0\nrcut_smth = 0.5\nsel = [40, 80]\n\
         neuron = [8, 16]\naxis_neuron = 4\nfitting_neuron = [16, 16]\nresnet_dt = {resnet_dt}\n\
         fitting_resnet_dt = {resnet_dt}\ntype_one_side = {type_one_side}"
    ))
    .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut model = DeepPot::random(config.hyper(&[]).unwrap(), &mut rng).unwrap();
    let prepared: Vec<_> = frames
        .iter()
        .map(|s| model.prepare(s.clone()).unwrap())
        .collect();
    model.fit_statistics(&prepared);
    model
}

/// Gives every slot of every neighbour-type block its own davg and dstd
/// (deepmd-kit's layout allows it; its own fitting never writes it): davg
/// moved by up to ±0.2, dstd scaled by 0.5–2, seeded.
pub fn vary_by_slot(model: &mut DeepPot, seed: u64) {
    let mut noise = super::common::Rng(seed);
    let mut stats = model.stats().clone();
    for (avg, std) in stats.davg.iter_mut().zip(&mut stats.dstd) {
        *avg += noise.range(-0.2, 0.2);
        *std *= noise.range(0.5, 2.0);
    }
    model.set_stats(stats).unwrap();
}

/// Per atom, whether moving it by up to `margin`/2 can swap the distance
/// ranks of two neighbours of one type in some atom's slots: with davg/dstd
/// that vary by slot, the energy (deepmd-kit's too) jumps there, so a
/// difference quotient across it measures the jump, not the force. Two
/// distances to one centre change by at most `margin` in all when one atom
/// moves by `margin`/2, so close pairs (gap < `margin`) mark the centre and
/// both neighbours.
pub fn rank_swap_atoms(p: &forcefit::model::Prepared, rcut: f64, margin: f64) -> Vec<bool> {
    let mut marked = vec![false; p.structure.n_atoms()];
    for c in 0..marked.len() {
        let (index, vector) = p.neighbors.of(c);
        let mut ranked: Vec<(usize, f64, usize)> = index
            .iter()
            .zip(vector)
            .map(|(&j, r)| {
                (
                    p.types[j as usize],
                    (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt(),
                    j as usize,
                )
            })
            .filter(|&(_, d, _)| d < rcut)
            .collect();
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for w in ranked.windows(2) {
            if w[0].0 == w[1].0 && w[1].1 - w[0].1 < margin {
                for a in [c, w[0].2, w[1].2] {
                    marked[a] = true;
                }
            }
        }
    }
    marked
}

/// The model with its energy biases zeroed: they move no force, and
/// without them a water frame's energy is a few eV instead of −3·10⁴ eV,
/// which keeps energy differences precise.
pub fn without_bias(mut model: DeepPot) -> DeepPot {
    let mut stats = model.stats().clone();
    stats.bias_atom_e.fill(0.0);
    stats.out_bias.fill(0.0);
    model.set_stats(stats).unwrap();
    model
}
