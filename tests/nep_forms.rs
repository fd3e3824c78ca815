//! The nep.txt forms besides NEP4 with universal ZBL, which the oracle
//! files of ../shared cover: NEP3 with and without ZBL, and NEP4 with
//! flexible (fitted) ZBL. Each random model is written by forcefit, read
//! back, and predicted by NEP_CPU (calorine's compiled NEP_CPU) and by
//! forcefit. Skips with a message when ../shared, python3 or calorine are
//! missing.

mod common;

use common::nep_cpu::{
    calorine_available, forcefit_numbers, max_diff, nep_cpu_numbers, oracle_cases,
};
use forcefit::model::Model;
use forcefit::model::nep::{Nep, NepHyper, Zbl, file};

/// `random_nep`'s Te/Pb model in another version and ZBL form.
fn model(version: u32, zbl: Option<Zbl>, seed: u64) -> Nep {
    let base = common::random_nep(&["Te", "Pb"], (4, true, false), None, seed);
    let hyper = NepHyper {
        version,
        zbl,
        max_neighbors: Some((400, 200)),
        ..base.hyper().clone()
    };
    let mut rng = common::Rng(seed);
    let params = (0..hyper.n_params())
        .map(|_| rng.range(-0.6, 0.6))
        .collect();
    Nep::new(hyper, params, base.q_scaler().to_vec()).unwrap()
}

/// Fitted ZBL for the three Te/Pb pairs: different switching ranges and
/// screening terms per pair.
fn flexible() -> Zbl {
    let mut p = Vec::new();
    for (k, (inner, outer)) in [(0.8, 1.8), (1.0, 2.2), (0.9, 2.0)].iter().enumerate() {
        p.extend([*inner, *outer]);
        for (a, b) in forcefit::model::nep::zbl::UNIVERSAL {
            p.extend([a * (1.0 + 0.1 * k as f64), b * (1.0 - 0.05 * k as f64)]);
        }
    }
    Zbl::Flexible(p)
}

#[test]
fn nep3_and_flexible_zbl_files_match_nep_cpu() {
    let Some(oracle) = common::shared("oracle/nep/pbte_zbl.json") else {
        return;
    };
    if !calorine_available() {
        return;
    }
    let structures = oracle_cases(&oracle);
    let universal = Zbl::Universal {
        inner: 1.0,
        outer: 2.0,
        typewise: None,
    };
    let dir = common::TempDir::new("nep-forms");
    let forms = [
        ("nep3", model(3, None, 21), "nep3 2 Te Pb"),
        (
            "nep3_zbl",
            model(3, Some(universal), 22),
            "nep3_zbl 2 Te Pb",
        ),
        (
            "nep4_zbl_flexible",
            model(4, Some(flexible()), 23),
            "nep4_zbl 2 Te Pb",
        ),
    ];
    for (tag, m, header) in forms {
        let path = dir.path().join(format!("{tag}.txt"));
        file::write(&m, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(header), "{tag}: {text}");
        let back = Nep::from_file(&path).unwrap();
        assert_eq!(back.hyper().version, m.hyper().version);
        assert_eq!(back.params().len(), m.params().len());
        // Written with 8 significant digits: write → read → write is exact.
        let again = dir.path().join(format!("{tag}-again.txt"));
        file::write(&back, &again).unwrap();
        assert_eq!(std::fs::read_to_string(&again).unwrap(), text, "{tag}");
        let ours = forcefit_numbers(&back, &structures);
        let d = max_diff(&ours, &nep_cpu_numbers(&oracle, &[&path])[0]);
        eprintln!("{tag}: max relative difference to NEP_CPU {d:.2e}");
        assert!(d <= 1e-10, "{tag}: forcefit vs NEP_CPU {d:.2e}");
    }
}
