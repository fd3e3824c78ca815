//! A nep.txt written by forcefit loads in calorine's CPUNEP (NEP_CPU) and
//! gives the same energies, forces and virials as `forcefit predict`.
//! Skips with a message when calorine is not installed (`pip install calorine`).

mod common;

use common::nep_cpu::calorine_available;

use std::path::Path;
use std::process::Command;

const SCRIPT: &str = r#"
import json, sys
import numpy as np
from ase.io import read
from calorine.calculators import CPUNEP
model, data = sys.argv[1], sys.argv[2]
out = []
for atoms in read(data, index=":"):
    atoms.calc = CPUNEP(model)
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    w = -atoms.get_stress(voigt=False) * atoms.get_volume()
    out.append({"energy": float(e), "forces": f.tolist(), "virial": w.reshape(9).tolist()})
print(json.dumps(out))
"#;

#[test]
fn forcefit_nep_txt_matches_calorine() {
    if !calorine_available() {
        return;
    }
    let dir = common::TempDir::new("calorine");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/si");
    for (tag, extra) in [("plain", ""), ("zbl", "zbl = 2.2\n")] {
        let out = dir.path().join(tag);
        let config = format!(
            "[data]\ntrain = \"{}\"\n[model]\ncutoff = [4.5, 3.8]\nn_max = [3, 3]\nbasis_size = [5, 5]\nneuron = 8\n{extra}\
             [train]\nepochs = 3\noutput_dir = \"{}\"\n",
            examples.join("train.xyz").display(),
            out.display()
        );
        let config_path = dir.file(&format!("{tag}.toml"), config);
        let exe = env!("CARGO_BIN_EXE_forcefit");
        let o = Command::new(exe)
            .args(["train", "-q", config_path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let model = out.join("nep.txt");
        let test = examples.join("test.xyz");
        let (ours, reference) =
            common::predicted_and_peer(&model, &test, &out.join("predicted.xyz"), SCRIPT);
        assert_eq!(ours.len(), reference.as_array().unwrap().len());
        for (k, (s, r)) in ours.iter().zip(reference.as_array().unwrap()).enumerate() {
            let e = r["energy"].as_f64().unwrap();
            assert!(
                (s.labels.energy.unwrap() - e).abs() < 1e-8 * s.n_atoms() as f64,
                "{tag} structure {k}: energy"
            );
            for (i, f) in r["forces"].as_array().unwrap().iter().enumerate() {
                for a in 0..3 {
                    let x = f[a].as_f64().unwrap();
                    assert!(
                        (s.labels.forces.as_ref().unwrap()[i][a] - x).abs() < 1e-7,
                        "{tag} structure {k} atom {i}"
                    );
                }
            }
            for (c, w) in r["virial"].as_array().unwrap().iter().enumerate() {
                let w = w.as_f64().unwrap();
                assert!(
                    (s.labels.virial.unwrap()[c] - w).abs() < 1e-6,
                    "{tag} structure {k} virial {c}"
                );
            }
        }
    }
}
