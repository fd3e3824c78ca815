//! NEP5 (`nep5`, `nep5_zbl`): NEP4 with one more output bias per element.
//! The family conformance suite checks its forces, virial and exact
//! gradients; NEP_CPU (calorine's CPUNEP) checks its predictions from the
//! nep.txt forcefit writes. The oracle part skips with a message when
//! ../shared, python3 or calorine are missing.

mod common;
mod conformance;

use common::nep_cpu::{
    calorine_available, forcefit_numbers, max_diff, nep_cpu_numbers, oracle_cases,
};
use forcefit::model::Model;
use forcefit::model::nep::{Nep, NepHyper, Zbl, file};

/// `random_nep`'s model made NEP5, with per-element biases well apart.
fn random_nep5(zbl: Option<Zbl>, seed: u64) -> Nep {
    let base = common::random_nep(&["Te", "Pb"], (4, true, false), zbl, seed);
    let hyper = NepHyper {
        version: 5,
        max_neighbors: Some((400, 200)),
        ..base.hyper().clone()
    };
    let net = hyper.network();
    let mut rng = common::Rng(seed + 1);
    let mut params: Vec<f64> = (0..hyper.n_params())
        .map(|_| rng.range(-0.6, 0.6))
        .collect();
    for t in 0..2 {
        params[net.type_bias_index(t).unwrap()] = 0.8 * t as f64 - 0.3;
    }
    Nep::new(hyper, params, base.q_scaler().to_vec()).unwrap()
}

#[test]
fn nep5_passes_the_conformance_suite() {
    let zbl = Some(Zbl::Universal {
        inner: 1.0,
        outer: 2.0,
        typewise: None,
    });
    let tol = conformance::Tolerances {
        h_position: 1e-5,
        forces: 1e-6,
        h_param: 1e-5,
        vjp: 1e-6,
    };
    conformance::run(&random_nep5(zbl, 3), "Te", "Pb", &tol);
}

#[test]
fn nep5_files_match_nep_cpu_and_round_trip() {
    let Some(oracle) = common::shared("oracle/nep/pbte_zbl.json") else {
        return;
    };
    if !calorine_available() {
        return;
    }
    let dir = common::TempDir::new("nep5");
    let zbl = Zbl::Universal {
        inner: 1.0,
        outer: 2.0,
        typewise: None,
    };
    let structures = oracle_cases(&oracle);
    for (tag, zbl) in [("nep5", None), ("nep5_zbl", Some(zbl))] {
        let model = random_nep5(zbl, 9);
        let path = dir.path().join(format!("{tag}.txt"));
        file::write(&model, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&format!("{tag} 2 Te Pb")), "{text}");
        let back = Nep::from_file(&path).unwrap();
        assert_eq!(back.hyper(), model.hyper());
        assert_eq!(back.params().len(), model.params().len());
        let ours = forcefit_numbers(&back, &structures);
        let reference = nep_cpu_numbers(&oracle, &[&path]);
        let d = max_diff(&ours, &reference[0]);
        eprintln!("{tag}: max relative difference to NEP_CPU {d:.2e}");
        assert!(d <= 1e-10, "{tag}: forcefit vs NEP_CPU {d:.2e}");
        // The per-element biases matter: NEP4 with the same numbers differs.
        let as_nep4 = NepHyper {
            version: 4,
            ..back.hyper().clone()
        };
        let mut p4 = back.params().to_vec();
        for t in (0..2).rev() {
            p4.remove(back.hyper().network().type_bias_index(t).unwrap());
        }
        let nep4 = Nep::new(as_nep4, p4, back.q_scaler().to_vec()).unwrap();
        let effect = max_diff(&forcefit_numbers(&nep4, &structures), &ours);
        assert!(
            effect > 1e-3,
            "{tag}: the biases change nothing: {effect:.2e}"
        );
    }
}
