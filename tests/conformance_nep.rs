//! The family conformance suite (tests/conformance) on a NEP with 4- and
//! 5-body terms and ZBL.

mod common;
mod conformance;

use forcefit::model::nep::Zbl;

#[test]
fn nep_passes_the_conformance_suite() {
    let zbl = Some(Zbl::Universal {
        inner: 1.0,
        outer: 2.0,
        typewise: None,
    });
    let model = common::random_nep(&["Te", "Pb"], (4, true, true), zbl, 5);
    let tol = conformance::Tolerances {
        h_position: 1e-5,
        forces: 1e-6,
        h_param: 1e-5,
        vjp: 1e-6,
    };
    conformance::run(&model, "Te", "Pb", &tol);
}
