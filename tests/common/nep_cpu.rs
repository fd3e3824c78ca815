//! NEP_CPU (calorine's `CPUNEP`) as a live oracle: its energies, forces
//! and virials for structures and nep.txt files, beside forcefit's.

use super::rel_max_diff;
use forcefit::model::nep::Nep;
use forcefit::model::{Model, Prediction};
use forcefit::structure::Structure;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Energy, forces and virial (W = Σ per-atom virials = −stress · volume,
/// row-major, as in the oracle files) of every case of `cases_json` for
/// each model, by NEP_CPU. It calls calorine's compiled NEP_CPU (`_nepy`,
/// what `CPUNEP` wraps) directly: calorine's Python layer accepts NEP4
/// files only, while NEP_CPU itself also reads nep3 and nep5.
const SCRIPT: &str = r#"
import contextlib, json, sys, tempfile
import numpy as np
import _nepy
from ase import Atoms
cases = json.load(open(sys.argv[1]))["cases"]
out = []
for model in sys.argv[2:]:
    rows = []
    for c in cases:
        a = Atoms(c["symbols"], positions=c["positions"], cell=c["cell"], pbc=c["pbc"])
        n = len(a)
        m = a.get_cell(complete=True).flatten()
        cell = [m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]]
        with tempfile.TemporaryFile("w") as f, contextlib.redirect_stdout(f):
            nepy = _nepy.NEPY(model, n, cell, a.get_chemical_symbols(),
                              list(a.get_positions().T.flatten()), a.get_masses())
        e, f, w = nepy.get_potential_forces_and_virials()
        forces = np.array(f).reshape(3, n).T
        virial = np.array(w).reshape(9, n).sum(axis=1)
        rows.append({"energy": float(np.sum(e)),
                     "forces": forces.reshape(-1).tolist(),
                     "virial": virial.tolist()})
    out.append(rows)
print(json.dumps(out))
"#;

pub fn calorine_available() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import _nepy, calorine.calculators, calorine.nep, ase.io",
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping: python3 with calorine is not available (pip install calorine)");
    }
    ok
}

/// Energy, forces and virial flattened into one comparable triple.
pub type Numbers = (Vec<f64>, Vec<f64>, Vec<f64>);

fn of_prediction(p: &Prediction) -> Numbers {
    (vec![p.energy], p.forces.concat(), p.virial.to_vec())
}

fn of_json(v: &Value) -> Numbers {
    (
        vec![v["energy"].as_f64().unwrap()],
        super::json_numbers(&v["forces"]),
        super::json_numbers(&v["virial"]),
    )
}

pub fn forcefit_numbers(model: &Nep, structures: &[Structure]) -> Vec<Numbers> {
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
pub fn nep_cpu_numbers(cases_json: &Path, models: &[&Path]) -> Vec<Vec<Numbers>> {
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
pub fn max_diff(a: &[Numbers], b: &[Numbers]) -> f64 {
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

/// The structures of an oracle file of ../shared/oracle/nep (its `cases`).
pub fn oracle_cases(path: &Path) -> Vec<Structure> {
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(super::oracle_structure)
        .collect()
}
