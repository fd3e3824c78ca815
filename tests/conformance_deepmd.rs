//! The family conformance suite (tests/conformance) on DeePMD se_e2_a
//! models: per-pair embeddings with timesteps, and per-type embeddings
//! without, both with slot-dependent statistics.

mod common;
mod conformance;
mod deepmd_common;

const TOLERANCES: conformance::Tolerances = conformance::Tolerances {
    h_position: 1e-5,
    forces: 1e-6,
    h_param: 1e-5,
    vjp: 1e-6,
};

#[test]
fn deepmd_pair_embeddings_pass_the_conformance_suite() {
    let model = deepmd_common::random_deepmd(false, true, true, 21);
    conformance::run(&model, "O", "H", &TOLERANCES);
}

#[test]
fn deepmd_type_embeddings_pass_the_conformance_suite() {
    let model = deepmd_common::random_deepmd(true, false, true, 22);
    conformance::run(&model, "O", "H", &TOLERANCES);
}
