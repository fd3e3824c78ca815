//! VASP readers (OUTCAR, vasprun.xml) against dpdata, the oracle, on every
//! file of ../shared/datasets/vasp; the `convert` command end to end.
//! Skipped (with a message) when ../shared is absent or `python3 -c
//! "import dpdata"` fails.

mod common;

use common::{TempDir, assert_same, forcefit, shared};
use forcefit::io::{self, Format, extxyz, outcar, vasprun};
use forcefit::structure::{Structure, det3};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The files, their dpdata format and frame count (shared/datasets/vasp/README.md).
const FILES: &[(&str, &str, usize)] = &[
    ("OUTCAR.ch4.unconverged", "vasp/outcar", 1),
    ("OUTCAR.h2o.md", "vasp/outcar", 3),
    ("OUTCAR.h2o.md.10", "vasp/outcar", 10),
    ("OUTCAR.ti-aimd", "vasp/outcar", 2),
    ("vasprun.h2o.md.novirial.xml", "vasp/xml", 3),
    ("vasprun.h2o.md.tribox.xml", "vasp/xml", 3),
    ("vasprun.h2o.md.xml", "vasp/xml", 3),
    ("vasprun.ti-aimd.xml", "vasp/xml", 10),
];

/// The hand-written two-step silicon run of the fuzz seeds
/// (fuzz/make_seeds.py): step 1 converged, step 2 reached NELM = 3.
const SI_OUTCAR: &str = include_str!("../fuzz/seeds/outcar/si.OUTCAR");
const SI_VASPRUN: &str = include_str!("../fuzz/seeds/vasprun/si.xml");

/// The cell of both seeds; its third row is fused in the OUTCAR
/// (`-0.250000000-0.125000000`).
const SI_CELL: [[f64; 3]; 3] = [[4.0, 0.0, 0.0], [0.5, 4.0, 0.0], [-0.25, -0.125, 4.0]];

#[test]
fn a_small_outcar_is_read_exactly() {
    let parsed = outcar::parse(SI_OUTCAR, Path::new("OUTCAR")).unwrap();
    assert_eq!(parsed.structures.len(), 1);
    assert_eq!(parsed.skipped.len(), 1);
    assert_eq!(parsed.skipped[0].step, 2);
    assert!(
        parsed.skipped[0].why.contains("NELM = 3"),
        "{:?}",
        parsed.skipped
    );
    let s = &parsed.structures[0];
    assert_eq!(s.species, ["Si", "Si"]);
    assert_eq!(s.cell, Some(SI_CELL));
    assert_eq!(s.pbc, [true; 3]);
    assert_eq!(s.positions[1], [1.3, 1.4, 1.2]);
    assert_eq!(s.labels.forces.as_ref().unwrap()[1], [-0.1, 0.0, 0.0]);
    assert_eq!(s.labels.energy, Some(-8.5));
    // XX YY ZZ XY YZ ZX = 1 2 3 0.1 0.2 0.3 kBar; W = σ V / 1602.1766208.
    let scale = 64.0 / 1602.1766208;
    let want = [1.0, 0.1, 0.3, 0.1, 2.0, 0.2, 0.3, 0.2, 3.0].map(|x| x * scale);
    let w = s.labels.virial.unwrap();
    for k in 0..9 {
        assert!((w[k] - want[k]).abs() < 1e-15, "{k}: {w:?}");
    }
    assert_eq!((s.origin.frame, s.origin.line), (0, 19));
}

#[test]
fn a_small_vasprun_is_read_exactly() {
    let parsed = vasprun::parse(SI_VASPRUN, Path::new("vasprun.xml")).unwrap();
    assert_eq!(parsed.structures.len(), 1);
    assert_eq!(parsed.skipped.len(), 1);
    assert_eq!(parsed.skipped[0].step, 2);
    let s = &parsed.structures[0];
    assert_eq!(s.species, ["Si", "Si"]);
    assert_eq!(s.cell, Some(SI_CELL));
    // Fractional (0.25, 0.25, 0.5) → 0.25 a + 0.25 b + 0.5 c.
    assert_eq!(s.positions[1], [1.0, 1.0 - 0.0625, 2.0]);
    assert_eq!(
        s.labels.energy,
        Some(-8.5),
        "the calculation's, not an scstep's"
    );
    let scale = 64.0 / 1602.1766208;
    let w = s.labels.virial.unwrap();
    assert!((w[2] - 0.3 * scale).abs() < 1e-15 && (w[4] - 2.0 * scale).abs() < 1e-15);
    assert_eq!(s.origin.line, 20);
    // Both readers agree on the same run.
    let o = outcar::parse(SI_OUTCAR, Path::new("OUTCAR")).unwrap();
    assert_eq!(o.structures[0].labels.virial, s.labels.virial);
}

#[test]
fn an_outcar_cut_after_its_forces_skips_the_last_step() {
    let cut = SI_OUTCAR.rsplit_once("  free  energy   TOTEN").unwrap().0;
    let parsed = outcar::parse(cut, Path::new("OUTCAR")).unwrap();
    assert_eq!(parsed.structures.len(), 1);
    assert_eq!(parsed.skipped.len(), 1);
    assert!(parsed.skipped[0].why.contains("file ends"));
}

/// dpdata's reading of one file as JSON: its arrays, and the unconverged
/// steps its warning lists.
const DPDATA: &str = r#"
import json, re, sys, warnings
import dpdata
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    s = dpdata.LabeledSystem(sys.argv[1], fmt=sys.argv[2])
unconverged = []
for w in caught:
    m = re.search(r"unconverged: \[([0-9, ]*)\]", str(w.message))
    if m:
        unconverged += [int(x) for x in m.group(1).split(",") if x.strip()]
d = s.data
out = {
    "species": [d["atom_names"][t] for t in d["atom_types"]],
    "cells": d["cells"].tolist(),
    "coords": d["coords"].tolist(),
    "energies": d["energies"].tolist(),
    "forces": d["forces"].tolist(),
    "virials": d["virials"].tolist() if "virials" in d else None,
    "unconverged": unconverged,
}
print(json.dumps(out))
"#;

type M3 = [[f64; 3]; 3];

fn m3(v: &Value) -> M3 {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = v[i][j].as_f64().unwrap();
        }
    }
    m
}

fn rows(v: &Value) -> Vec<[f64; 3]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| [0, 1, 2].map(|k| r[k].as_f64().unwrap()))
        .collect()
}

fn mul(a: &M3, b: &M3) -> M3 {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

fn transpose(a: &M3) -> M3 {
    let mut t = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            t[i][j] = a[j][i];
        }
    }
    t
}

fn inverse(a: &M3) -> M3 {
    let d = det3(a);
    let mut inv = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            // Cofactor of a[j][i] over the determinant.
            let (r0, r1) = ((j + 1) % 3, (j + 2) % 3);
            let (c0, c1) = ((i + 1) % 3, (i + 2) % 3);
            inv[i][j] = (a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0]) / d;
        }
    }
    inv
}

/// Every number of a nested JSON array, in order.
fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        _ => vec![v.as_f64().unwrap()],
    }
}

#[track_caller]
fn close(a: f64, b: f64, scale: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-8 * scale.max(1.0),
        "{what}: forcefit {a} vs dpdata {b}"
    );
}

/// Compares one of our structures with dpdata's frame. dpdata rotates
/// every frame so that the cell is lower triangular; forcefit keeps
/// VASP's axes, so ours are rotated by R = cell⁻¹ · cell_dpdata first
/// (checked to be a rotation).
fn compare_frame(s: &Structure, dp: &Value, k: usize, virials: Option<&Value>) {
    let what = format!("{}: frame {k}", s.origin.path.display());
    let cell = s.cell.unwrap();
    let dp_cell = m3(&dp["cells"][k]);
    let r = mul(&inverse(&cell), &dp_cell);
    let rrt = mul(&r, &transpose(&r));
    for i in 0..3 {
        for j in 0..3 {
            let id = if i == j { 1.0 } else { 0.0 };
            close(rrt[i][j], id, 1.0, &format!("{what}: R·Rᵀ[{i}][{j}]"));
        }
    }
    assert!(det3(&r) > 0.0, "{what}: not a proper rotation");
    // The metric C·Cᵀ does not depend on the axes.
    let (g, g_dp) = (
        mul(&cell, &transpose(&cell)),
        mul(&dp_cell, &transpose(&dp_cell)),
    );
    for i in 0..3 {
        for j in 0..3 {
            close(g[i][j], g_dp[i][j], g_dp[i][i], &format!("{what}: metric"));
        }
    }
    let rotate = |v: &[f64; 3]| mul(&[*v, [0.0; 3], [0.0; 3]], &r)[0];
    let coords = rows(&dp["coords"][k]);
    assert_eq!(s.positions.len(), coords.len(), "{what}: atoms");
    for (p, q) in s.positions.iter().zip(&coords) {
        let p = rotate(p);
        for d in 0..3 {
            close(p[d], q[d], q[d].abs(), &format!("{what}: position"));
        }
    }
    let forces = rows(&dp["forces"][k]);
    for (f, q) in s.labels.forces.as_ref().unwrap().iter().zip(&forces) {
        let f = rotate(f);
        for d in 0..3 {
            close(f[d], q[d], q[d].abs(), &format!("{what}: force"));
        }
    }
    let e_dp = dp["energies"][k].as_f64().unwrap();
    close(
        s.labels.energy.unwrap(),
        e_dp,
        e_dp.abs(),
        &format!("{what}: energy"),
    );
    match virials {
        None => assert_eq!(s.labels.virial, None, "{what}: dpdata has no virial"),
        Some(v) => {
            let w = s.labels.virial.expect("a virial, as dpdata has");
            let w = [[w[0], w[1], w[2]], [w[3], w[4], w[5]], [w[6], w[7], w[8]]];
            // W' = Rᵀ W R in dpdata's axes.
            let w = mul(&transpose(&r), &mul(&w, &r));
            let v_dp = m3(&v[k]);
            let scale = v_dp.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
            for i in 0..3 {
                for j in 0..3 {
                    close(w[i][j], v_dp[i][j], scale, &format!("{what}: virial"));
                }
            }
        }
    }
}

/// The unconverged steps a reader skipped.
fn unconverged(path: &Path, format: &str) -> Vec<usize> {
    let text = std::fs::read_to_string(path).unwrap();
    let parsed = match format {
        "vasp/outcar" => outcar::parse(&text, path).unwrap(),
        _ => vasprun::parse(&text, path).unwrap(),
    };
    parsed
        .skipped
        .iter()
        .filter(|s| s.why.contains("NELM"))
        .map(|s| s.step)
        .collect()
}

#[test]
fn every_vasp_file_reads_as_dpdata_reads_it() {
    let Some(dir) = shared("datasets/vasp") else {
        return;
    };
    for &(name, format, frames) in FILES {
        let path = dir.join(name);
        let ours = io::read(&path, None).unwrap();
        assert_eq!(ours.len(), frames, "{name}: frames (README)");
        let Some(json) = common::python_script("dpdata", DPDATA, &[path.to_str().unwrap(), format])
        else {
            return;
        };
        let dp: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            ours.len(),
            dp["energies"].as_array().unwrap().len(),
            "{name}"
        );
        let species: Vec<&str> = dp["species"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let virials = (!dp["virials"].is_null()).then_some(&dp["virials"]);
        for (k, s) in ours.iter().enumerate() {
            assert_eq!(s.species, species, "{name}: species");
            assert_eq!(s.origin.frame, k);
            compare_frame(s, &dp, k, virials);
        }
        let skipped = unconverged(&path, format);
        let dp_skipped: Vec<usize> = dp["unconverged"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(skipped, dp_skipped, "{name}: unconverged steps");
    }
}

#[test]
fn unconverged_and_unlabelled_steps_are_skipped_and_reported() {
    let Some(dir) = shared("datasets/vasp") else {
        return;
    };
    let path = dir.join("OUTCAR.ch4.unconverged");
    let parsed = outcar::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    let steps: Vec<usize> = parsed.skipped.iter().map(|s| s.step).collect();
    assert_eq!(steps, [1, 2]);
    assert!(parsed.skipped[0].why.contains("NELM = 15"));
    assert_eq!(parsed.structures[0].labels.energy, Some(-23.94708651));
    assert_eq!(parsed.structures[0].species, ["H", "H", "H", "H", "C"]);
    // NWRITE = 0: steps 2-9 print no positions.
    let path = dir.join("OUTCAR.ti-aimd");
    let parsed = outcar::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    let steps: Vec<usize> = parsed.skipped.iter().map(|s| s.step).collect();
    assert_eq!(steps, (2..=9).collect::<Vec<_>>());
    // The binary names the file and the steps on stderr.
    let out = TempDir::new("vasp-warn");
    let o = forcefit(&[
        "convert",
        dir.join("OUTCAR.ch4.unconverged").to_str().unwrap(),
        "-o",
        out.path().join("ch4.xyz").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("OUTCAR.ch4.unconverged") && err.contains("ionic steps 1-2"),
        "{err}"
    );
}

#[test]
fn outcar_and_vasprun_of_one_run_agree() {
    // OUTCAR.ti-aimd (NWRITE = 0) holds the first and last of the ten
    // steps of vasprun.ti-aimd.xml; the OUTCAR prints fewer digits.
    let Some(dir) = shared("datasets/vasp") else {
        return;
    };
    let o = outcar::read(&dir.join("OUTCAR.ti-aimd")).unwrap();
    let x = vasprun::read(&dir.join("vasprun.ti-aimd.xml")).unwrap();
    for (a, b) in [(&o[0], &x[0]), (&o[1], &x[9])] {
        assert_eq!(a.labels.energy, b.labels.energy);
        assert_eq!(a.species, b.species);
        let (wa, wb) = (a.labels.virial.unwrap(), b.labels.virial.unwrap());
        for k in 0..9 {
            assert!((wa[k] - wb[k]).abs() < 1e-4, "virial {k}: {wa:?} vs {wb:?}");
        }
        let fa = a.labels.forces.as_ref().unwrap();
        let fb = b.labels.forces.as_ref().unwrap();
        for (p, q) in fa.iter().zip(fb) {
            for d in 0..3 {
                assert!((p[d] - q[d]).abs() < 2e-6, "{p:?} vs {q:?}");
            }
        }
    }
}

#[test]
fn formats_are_detected_by_name_and_content() {
    let Some(dir) = shared("datasets/vasp") else {
        return;
    };
    for &(name, format, _) in FILES {
        let want = if format == "vasp/outcar" {
            Format::Outcar
        } else {
            Format::Vasprun
        };
        assert_eq!(io::detect(&dir.join(name)).unwrap(), want, "{name}");
    }
    let tmp = TempDir::new("vasp-detect");
    let xml = std::fs::read(dir.join("vasprun.h2o.md.xml")).unwrap();
    let renamed = tmp.file("run1.xml", &xml);
    assert_eq!(io::detect(&renamed).unwrap(), Format::Vasprun);
    let other = tmp.file("other.xml", "<?xml version=\"1.0\"?>\n<root/>\n");
    assert!(io::detect(&other).is_err());
    assert_eq!("vasp/xml".parse::<Format>().unwrap(), Format::Vasprun);
    assert_eq!("OUTCAR".parse::<Format>().unwrap(), Format::Outcar);
    assert_eq!(Format::Vasprun.to_string(), "vasprun");
}

/// ASE's reading of an extended XYZ file: energy, forces, stress, virial.
const ASE_READ: &str = r#"
import json, sys
from ase.io import read
out = []
for a in read(sys.argv[1], index=":", format="extxyz"):
    r = a.calc.results
    out.append({"energy": r["energy"], "forces": r["forces"].tolist(),
                "stress": r["stress"].tolist() if "stress" in r else None,
                "virial": a.info["virial"].tolist() if "virial" in a.info else None})
print(json.dumps(out))
"#;

#[test]
fn convert_writes_what_forcefit_and_ase_read_back() {
    let Some(dir) = shared("datasets/vasp") else {
        return;
    };
    let tmp = TempDir::new("vasp-convert");
    let inputs: Vec<PathBuf> = ["OUTCAR.h2o.md", "vasprun.h2o.md.novirial.xml"]
        .iter()
        .map(|n| dir.join(n))
        .collect();
    let out = tmp.path().join("out.xyz");
    let o = forcefit(&[
        "convert",
        inputs[0].to_str().unwrap(),
        inputs[1].to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("wrote 6 structures") && stdout.contains("OUTCAR.h2o.md"),
        "{stdout}"
    );
    let expected = io::read_all(&inputs, None).unwrap();
    assert_eq!(expected.counts[0].1, 3);
    let back = extxyz::read(&out).unwrap();
    assert_eq!(back.len(), expected.structures.len());
    for (a, b) in back.iter().zip(&expected.structures) {
        assert_same(a, b);
    }
    let Some(json) = common::python_script("ase", ASE_READ, &[out.to_str().unwrap()]) else {
        return;
    };
    let ase: Value = serde_json::from_str(&json).unwrap();
    for (a, s) in ase.as_array().unwrap().iter().zip(&expected.structures) {
        assert_eq!(a["energy"].as_f64(), s.labels.energy);
        assert_eq!(rows(&a["forces"]), *s.labels.forces.as_ref().unwrap());
        let Some(w) = s.labels.virial else {
            assert!(a["stress"].is_null() && a["virial"].is_null());
            continue;
        };
        let virial: Vec<f64> = flat(&a["virial"]);
        assert_eq!(virial, w);
        // ASE's stress (Voigt xx yy zz yz xz xy, eV/Å³) is -W / V.
        let vol = det3(&s.cell.unwrap()).abs();
        let stress = flat(&a["stress"]);
        for (k, idx) in [0, 4, 8, 5, 2, 1].into_iter().enumerate() {
            close(-stress[k] * vol, w[idx], w[idx].abs(), "ASE stress");
        }
    }
}
