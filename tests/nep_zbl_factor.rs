//! The typewise ZBL factor on a `zbl` line (`zbl 2.0 4.0 0.7`): forcefit
//! reads it into the model NEP_CPU (calorine's CPUNEP) builds, and writes it
//! back so that NEP_CPU reads the same model. Skips with a message when
//! ../shared, python3 or calorine are missing.

mod common;

use common::nep_cpu::{
    calorine_available, forcefit_numbers, max_diff, nep_cpu_numbers, oracle_cases,
};
use forcefit::model::nep::{Nep, Zbl, file};

#[test]
fn zbl_line_factor_matches_nep_cpu_and_round_trips() {
    let (Some(oracle), Some(plain)) = (
        common::shared("oracle/nep/pbte_zbl.json"),
        common::shared("oracle/nep/pbte_zbl_nep.txt"),
    ) else {
        return;
    };
    if !calorine_available() {
        return;
    }
    let dir = common::TempDir::new("nep-zbl-factor");
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(text.lines().any(|l| l.trim() == "zbl 2.0 4.0"));
    let with_factor = text.replacen("zbl 2.0 4.0", "zbl 2.0 4.0 0.7", 1);
    let factor_path = dir.file("factor_nep.txt", &with_factor);

    let model = Nep::from_file(&factor_path).expect("the factor model loads");
    assert!(matches!(
        model.hyper().zbl,
        Some(Zbl::Universal {
            typewise: Some(f),
            ..
        }) if f == 0.7
    ));
    let written = dir.path().join("written_nep.txt");
    file::write(&model, &written).unwrap();
    let written_text = std::fs::read_to_string(&written).unwrap();
    assert!(
        written_text.lines().any(|l| l == "zbl 2 4 0.7"),
        "{written_text}"
    );

    let structures = oracle_cases(&oracle);
    let ours = forcefit_numbers(&model, &structures);
    let ours_plain = forcefit_numbers(&Nep::from_file(&plain).unwrap(), &structures);
    let reference = nep_cpu_numbers(&oracle, &[&factor_path, &written]);

    let read = max_diff(&ours, &reference[0]);
    let round_trip = max_diff(&ours, &reference[1]);
    let effect = max_diff(&ours_plain, &ours);
    eprintln!(
        "max relative difference to NEP_CPU: read {read:.2e}, written {round_trip:.2e}; \
         factor vs none {effect:.2e}"
    );
    assert!(
        read <= 1e-10,
        "forcefit vs NEP_CPU on the factor file: {read:.2e}"
    );
    assert!(
        round_trip <= 1e-10,
        "NEP_CPU on forcefit's written file: {round_trip:.2e}"
    );
    assert!(
        effect > 1e-3,
        "the factor barely changes the prediction: {effect:.2e}"
    );
}
