//! Interoperability with ASE's extended XYZ reader and writer. Skipped (with
//! a message) when `python3 -c "import ase"` fails.

mod common;

use common::TempDir;
use forcefit::io::extxyz;
use forcefit::structure::{Labels, Origin, Structure, det3};
use serde_json::Value;

/// Reads every frame with ASE and prints JSON, floats as repr strings so
/// that Rust parses them exactly.
const ASE_READ: &str = r#"
import json, sys
import numpy as np
from ase.io import read

def plain(v):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return repr(float(v))
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v

out = []
for a in read(sys.argv[1], index=':', format='extxyz'):
    results = a.calc.results if a.calc is not None else {}
    out.append({
        'symbols': a.get_chemical_symbols(),
        'positions': plain(a.positions),
        'cell': plain(a.cell.array),
        'pbc': [bool(p) for p in a.pbc],
        'info': {k: plain(v) for k, v in a.info.items()},
        'results': {k: plain(v) for k, v in results.items()},
    })
print(json.dumps(out))
"#;

fn num(v: &Value) -> f64 {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a float string, got {v}"))
        .parse()
        .unwrap()
}

fn nums(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(nums).collect(),
        _ => vec![num(v)],
    }
}

fn frame() -> Structure {
    let w = [
        -5.48333, -3.13919, -1.37872, -3.13919, -6.22341, -3.70387, -1.37872, -3.70387, -0.97838,
    ];
    Structure {
        species: vec!["Mo".into(), "Si".into(), "N".into()],
        positions: vec![
            [0.1 + 0.2, -0.0, 13.93009],
            [1e-20, 1.64842, 2.5],
            [-1.0 / 3.0, 4.0, 7.25],
        ],
        cell: Some([
            [8.72939968, 0.0, 0.0],
            [-4.36470085, 7.5598813, 0.0],
            [0.0, 0.0, 21.98290062],
        ]),
        pbc: [true, true, false],
        labels: Labels {
            energy: Some(-552.154833),
            forces: Some(vec![
                [-0.152371, 0.084897, 1.465678],
                [0.0, -0.0, 1e-12],
                [3.5, -2.25, 1.0 / 7.0],
            ]),
            virial: Some(w),
            weight: 0.25,
            config_type: Some("train 45 \"hot\"".into()),
        },
        origin: Origin::default(),
    }
}

#[test]
fn ase_reads_what_we_write() {
    let dir = TempDir::new("ase-read");
    let path = dir.path().join("out.xyz");
    let s = frame();
    let mut cluster = frame();
    cluster.cell = None;
    cluster.pbc = [false; 3];
    cluster.labels.virial = None;
    cluster.labels.weight = 1.0;
    cluster.labels.config_type = None;
    let atomic = [-180.5, -190.25, -1.0 / 3.0];
    forcefit::io::write_atomic(&path, |w| {
        extxyz::write_frame(w, &s, Some(&atomic))?;
        extxyz::write_frame(w, &cluster, None)
    })
    .unwrap();
    let Some(json) = common::python_script("ase", ASE_READ, &[path.to_str().unwrap()]) else {
        return;
    };
    let frames: Value = serde_json::from_str(&json).unwrap();
    let frames = frames.as_array().unwrap();
    assert_eq!(frames.len(), 2);

    let a = &frames[0];
    let symbols: Vec<&str> = a["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["Mo", "Si", "N"]);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let flat3 = |v: &[[f64; 3]]| v.iter().flatten().copied().collect::<Vec<_>>();
    assert_eq!(bits(&nums(&a["positions"])), bits(&flat3(&s.positions)));
    assert_eq!(bits(&nums(&a["cell"])), bits(&flat3(&s.cell.unwrap())));
    assert_eq!(a["pbc"], serde_json::json!([true, true, false]));
    let r = &a["results"];
    assert_eq!(num(&r["energy"]), s.labels.energy.unwrap());
    assert_eq!(
        bits(&nums(&r["forces"])),
        bits(&flat3(s.labels.forces.as_ref().unwrap()))
    );
    assert_eq!(bits(&nums(&r["energies"])), bits(&atomic));
    // ASE's stress is Voigt xx yy zz yz xz xy in eV/Å³; W = -stress * V.
    let w = s.labels.virial.unwrap();
    let vol = det3(&s.cell.unwrap()).abs();
    let stress = nums(&r["stress"]);
    assert_eq!(stress.len(), 6);
    for (k, idx) in [0, 4, 8, 5, 2, 1].into_iter().enumerate() {
        let back = -stress[k] * vol;
        assert!(
            (back - w[idx]).abs() <= 1e-13 * w[idx].abs(),
            "stress {k}: {back} vs {}",
            w[idx]
        );
    }
    let info = &a["info"];
    assert_eq!(
        bits(&nums(&info["virial"])),
        bits(&w),
        "virial is symmetric, so order does not matter"
    );
    assert_eq!(num(&info["weight"]), 0.25);
    assert_eq!(info["config_type"], "train 45 \"hot\"");

    let b = &frames[1];
    assert_eq!(b["pbc"], serde_json::json!([false, false, false]));
    assert_eq!(nums(&b["cell"]), vec![0.0; 9]);
    assert_eq!(num(&b["results"]["energy"]), -552.154833);
    assert!(b["results"].get("stress").is_none());
}

/// Writes frames with ASE's own writer (energy, forces, stress in a
/// SinglePointCalculator; a molecule without cell).
const ASE_WRITE: &str = r#"
import sys
import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

a = Atoms('PbTe', positions=[[0, 0, 0], [3.2, 3.1, 3.0]],
          cell=[[6.5, 0, 0], [0.5, 6.4, 0], [0.2, 0.3, 6.3]], pbc=True)
a.calc = SinglePointCalculator(a, energy=-7.5, forces=[[0.1, -0.2, 0.3], [-0.1, 0.2, -0.3]],
                               stress=[0.01, 0.02, 0.03, 0.004, 0.005, 0.006])
a.info['config_type'] = 'rattled'
m = Atoms('H2O', positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
m.calc = SinglePointCalculator(m, energy=-14.25, forces=np.zeros((3, 3)))
write(sys.argv[1], [a, m], format='extxyz')
"#;

#[test]
fn we_read_what_ase_writes() {
    let dir = TempDir::new("ase-write");
    let path = dir.path().join("ase.xyz");
    if common::python_script("ase", ASE_WRITE, &[path.to_str().unwrap()]).is_none() {
        return;
    }
    let s = extxyz::read(&path).unwrap();
    assert_eq!(s.len(), 2);
    let a = &s[0];
    assert_eq!(a.species, ["Pb", "Te"]);
    assert_eq!(a.pbc, [true; 3]);
    assert_eq!(a.cell.unwrap()[1], [0.5, 6.4, 0.0]);
    assert_eq!(a.positions[1], [3.2, 3.1, 3.0]);
    assert_eq!(a.labels.energy, Some(-7.5));
    assert_eq!(a.labels.forces.as_ref().unwrap()[0], [0.1, -0.2, 0.3]);
    assert_eq!(a.labels.config_type.as_deref(), Some("rattled"));
    // Voigt (xx yy zz yz xz xy) → full, then W = -stress * V.
    let vol = 6.5 * 6.4 * 6.3;
    let sigma = [0.01, 0.006, 0.005, 0.006, 0.02, 0.004, 0.005, 0.004, 0.03];
    let w = a.labels.virial.unwrap();
    for k in 0..9 {
        assert!((w[k] + sigma[k] * vol).abs() < 1e-12, "{k}: {w:?}");
    }
    let m = &s[1];
    assert_eq!(m.species, ["H", "H", "O"]);
    assert_eq!((m.cell, m.pbc), (None, [false; 3]));
    assert_eq!(m.labels.energy, Some(-14.25));
    assert_eq!(m.labels.virial, None);
}
