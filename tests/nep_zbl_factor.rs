//! The typewise ZBL factor on a `zbl` line (`zbl 2.0 4.0 0.7`): forcefit
//! reads it into the model NEP_CPU (calorine's CPUNEP) builds, and writes it
//! back so that NEP_CPU reads the same model. Skips with a message when
//! ../shared, python3 or calorine are missing.

mod common;

use common::rel_max_diff;
use forcefit::model::nep::{Nep, Zbl, file};
use forcefit::model::{Model, Prediction};
use forcefit::structure::Structure;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Energy, forces and virial (W = −stress · volume, row-major, as in the
/// oracle files) of every case of `cases_json` for each model, by CPUNEP.
const SCRIPT: &str = r#"
import json, sys
import numpy as np
from ase import Atoms
from calorine.calculators import CPUNEP
cases = json.load(open(sys.argv[1]))["cases"]
out = []
for model in sys.argv[2:]:
    rows = []
    for c in cases:
        atoms = Atoms(c["symbols"], positions=c["positions"], cell=c["cell"], pbc=c["pbc"])
        atoms.calc = CPUNEP(model)
        w = -atoms.get_stress(voigt=False) * atoms.get_volume()
        rows.append({"energy": float(atoms.get_potential_energy()),
                     "forces": atoms.get_forces().reshape(-1).tolist(),
                     "virial": w.reshape(9).tolist()})
    out.append(rows)
print(json.dumps(out))
"#;

fn calorine_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import calorine.calculators, ase"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping: python3 with calorine is not available (pip install calorine)");
    }
    ok
}

/// Energy, forces and virial flattened into one comparable triple.
type Numbers = (Vec<f64>, Vec<f64>, Vec<f64>);

fn of_prediction(p: &Prediction) -> Numbers {
    (vec![p.energy], p.forces.concat(), p.virial.to_vec())
}

fn of_json(v: &Value) -> Numbers {
    (
        vec![v["energy"].as_f64().unwrap()],
        common::json_numbers(&v["forces"]),
        common::json_numbers(&v["virial"]),
    )
}

fn forcefit_numbers(model: &Nep, structures: &[Structure]) -> Vec<Numbers> {
    structures
        .iter()
        .map(|s| {
            let prepared = model.prepare(s.clone()).expect("prepare");
            let mut p = Prediction::default();
            model.predict(&prepared, &mut p);
            of_prediction(&p)
        })
        .collect()
}

/// CPUNEP's numbers for the cases of `cases_json`, one list per model.
fn nep_cpu_numbers(cases_json: &Path, models: &[&Path]) -> Vec<Vec<Numbers>> {
    let mut args = vec!["-c", SCRIPT, cases_json.to_str().unwrap()];
    args.extend(models.iter().map(|m| m.to_str().unwrap()));
    let o = Command::new("python3").args(&args).output().unwrap();
    assert!(
        o.status.success(),
        "calorine failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|rows| rows.as_array().unwrap().iter().map(of_json).collect())
        .collect()
}

/// The largest relative difference of energy, forces and virial over all
/// cases, each field relative to its largest component.
fn max_diff(a: &[Numbers], b: &[Numbers]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            rel_max_diff(&x.0, &y.0)
                .max(rel_max_diff(&x.1, &y.1))
                .max(rel_max_diff(&x.2, &y.2))
        })
        .fold(0.0, f64::max)
}

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

    let data: Value = serde_json::from_str(&std::fs::read_to_string(&oracle).unwrap()).unwrap();
    let structures: Vec<Structure> = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(common::oracle_structure)
        .collect();
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
