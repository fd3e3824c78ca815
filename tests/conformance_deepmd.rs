//! The family conformance suite (tests/conformance) on DeePMD se_e2_a
//! models: per-pair embeddings with timesteps, and per-type embeddings
//! without. `sel` holds every neighbour and the statistics are the same
//! for every slot, as deepmd-kit fits them: the suite's small periodic
//! cells have neighbours at exactly equal distances (an atom's own images),
//! whose order rounding decides, so truncation or slot-dependent
//! statistics would make the energy jump under a rotation or a tiny
//! displacement (as in deepmd-kit).

mod common;
mod conformance;
mod deepmd_common;

/// A random model whose statistics have deepmd-kit's form: davg zero and
/// one dstd for the three direction columns (anything else is not
/// rotation invariant, and deepmd-kit never fits it).
fn model(type_one_side: bool, resnet_dt: bool, seed: u64) -> forcefit::model::deepmd::DeepPot {
    let mut m =
        deepmd_common::random_deepmd_with_sel(vec![64, 64], type_one_side, resnet_dt, false, seed);
    let mut stats = m.stats().clone();
    for (avg, std) in stats.davg.chunks_mut(4).zip(stats.dstd.chunks_mut(4)) {
        avg[1..].fill(0.0);
        let s = std[1];
        std[1..].fill(s);
    }
    m.set_stats(stats).unwrap();
    m
}

const TOLERANCES: conformance::Tolerances = conformance::Tolerances {
    h_position: 1e-5,
    forces: 1e-6,
    h_param: 1e-5,
    vjp: 1e-6,
};

#[test]
fn deepmd_pair_embeddings_pass_the_conformance_suite() {
    let model = model(false, true, 21);
    conformance::run(&model, "O", "H", &TOLERANCES);
}

#[test]
fn deepmd_type_embeddings_pass_the_conformance_suite() {
    let model = model(true, false, 22);
    conformance::run(&model, "O", "H", &TOLERANCES);
}
