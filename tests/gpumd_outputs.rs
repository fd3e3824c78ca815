//! forcefit's GPUMD-layout writers and error metrics against files GPUMD
//! itself wrote (`../shared/datasets/{pbte,mosi2n4}/*_train.out`).
//!
//! No model is involved: GPUMD's predicted columns serve as the
//! "prediction" and its reference columns as the labels. Every number in
//! those files is a 6-digit `%g` value, so writing them back with
//! `format_g` must reproduce the files line for line, and the RMSEs
//! recomputed from the columns must match the ones GPUMD reported (within
//! the 6-digit rounding of the files).

use forcefit::metrics::{EV_PER_CUBIC_ANGSTROM_IN_GPA, ErrorStats, MISSING, write_gpumd_outputs};
use forcefit::model::Prediction;
use forcefit::structure::{Labels, Structure};
use std::path::{Path, PathBuf};

mod common;

fn dataset(name: &str) -> Option<PathBuf> {
    common::shared(&format!("datasets/{name}"))
}

/// Species and cell of each frame of an extended XYZ file.
fn frames(path: &Path) -> Vec<(Vec<String>, [[f64; 3]; 3])> {
    forcefit::io::extxyz::read(path)
        .unwrap()
        .into_iter()
        .map(|s| (s.species, s.cell.unwrap()))
        .collect()
}

fn columns(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(' ').map(|x| x.parse().unwrap()).collect())
        .collect()
}

/// A symmetric row-major 3x3 matrix from GPUMD's xx yy zz xy yz zx.
fn symmetric(v: &[f64], scale: f64) -> [f64; 9] {
    let [xx, yy, zz, xy, yz, zx] = [v[0], v[1], v[2], v[3], v[4], v[5]].map(|x| x * scale);
    [xx, xy, zx, xy, yy, yz, zx, yz, zz]
}

/// Structures and predictions rebuilt from GPUMD's `*_train.out` files.
fn rebuild(dir: &Path) -> Vec<(Structure, Prediction)> {
    let frames = frames(&dir.join("train.xyz"));
    let energy = columns(&dir.join("energy_train.out"));
    let force = columns(&dir.join("force_train.out"));
    let virial = columns(&dir.join("virial_train.out"));
    assert_eq!(energy.len(), frames.len());
    assert_eq!(virial.len(), frames.len());
    let mut rows = force.iter();
    frames
        .into_iter()
        .zip(energy.iter().zip(&virial))
        .map(|((species, cell), (e, v))| {
            let n = species.len();
            let f: Vec<&Vec<f64>> = rows.by_ref().take(n).collect();
            assert_eq!(f.len(), n, "force_train.out ends early");
            let has_virial = v[6] != MISSING;
            let labels = Labels {
                energy: Some(e[1] * n as f64),
                forces: Some(f.iter().map(|r| [r[3], r[4], r[5]]).collect()),
                virial: has_virial.then(|| symmetric(&v[6..], n as f64)),
                ..Labels::default()
            };
            let structure = Structure {
                species,
                positions: vec![[0.0; 3]; n],
                cell: Some(cell),
                pbc: [true; 3],
                labels,
                origin: Default::default(),
            };
            let prediction = Prediction {
                energy: e[0] * n as f64,
                atomic_energies: vec![e[0]; n],
                forces: f.iter().map(|r| [r[0], r[1], r[2]]).collect(),
                virial: symmetric(&v[..6], n as f64),
            };
            (structure, prediction)
        })
        .collect()
}

/// Writes the rebuilt items and returns the output directory.
fn write(items: &[(Structure, Prediction)], tag: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("forcefit-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let refs: Vec<(&Structure, &Prediction)> = items.iter().map(|(s, p)| (s, p)).collect();
    write_gpumd_outputs(&out, "train", &refs).unwrap();
    out
}

fn assert_same_lines(ours: &Path, gpumd: &Path) {
    let a = std::fs::read_to_string(ours).unwrap();
    let b = std::fs::read_to_string(gpumd).unwrap();
    for (k, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        assert_eq!(
            x,
            y,
            "{} line {} differs from GPUMD's",
            ours.display(),
            k + 1
        );
    }
    assert_eq!(a.lines().count(), b.lines().count(), "{}", ours.display());
    assert_eq!(a, b, "{}: line endings differ", ours.display());
}

fn summary_of(items: &[(Structure, Prediction)]) -> forcefit::metrics::Summary {
    let mut stats = ErrorStats::new();
    for (s, p) in items {
        stats.add(s, p);
    }
    stats.summary()
}

#[test]
fn pbte_files_reproduced_and_rmse_matches_gpumd() {
    let Some(dir) = dataset("pbte") else { return };
    let items = rebuild(&dir);
    let out = write(&items, "pbte");
    for name in ["energy_train.out", "force_train.out", "virial_train.out"] {
        assert_same_lines(&out.join(name), &dir.join(name));
    }

    // Stress is recomputed from the 6-digit virials (and forcefit's exact
    // GPa constant), so compare numbers: 6-digit rounding on both sides.
    let ours = columns(&out.join("stress_train.out"));
    let gpumd = columns(&dir.join("stress_train.out"));
    assert_eq!(ours.len(), gpumd.len());
    for (k, (a, b)) in ours.iter().zip(&gpumd).enumerate() {
        assert_eq!(a.len(), 12);
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() <= 2e-5 * y.abs(),
                "stress line {}: {x} vs GPUMD's {y}",
                k + 1
            );
        }
    }
    // And the formula with its sign, on the first structure: stress =
    // (W/N) · N / V · 160.2176634 GPa, V = |det| of the cell.
    let (s, p) = &items[0];
    let v = s.volume().unwrap();
    let expected = p.virial[0] / v * EV_PER_CUBIC_ANGSTROM_IN_GPA;
    assert!((ours[0][0] - expected).abs() <= 1e-5 * expected.abs());
    assert!(ours[0][0] > 0.0 && gpumd[0][0] > 0.0);

    // GPUMD reported train E 0.414 meV/atom and F 39.90 meV/Å; the files'
    // 6-digit values move these by less than 0.005.
    let m = summary_of(&items);
    assert_eq!((m.n_structures, m.n_atoms), (25, 6250));
    assert_eq!(m.n_with_virial, 0);
    assert_eq!(m.virial_rmse_mev_per_atom, None);
    let e = m.energy_rmse_mev_per_atom.unwrap();
    let f = m.force_rmse_mev_per_angstrom.unwrap();
    assert!((e - 0.414).abs() < 0.005, "energy RMSE {e}");
    assert!((f - 39.90).abs() < 0.01, "force RMSE {f}");
    let species: Vec<&String> = m.force_by_species.keys().collect();
    assert_eq!(species, ["Pb", "Te"]);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn mosi2n4_files_reproduced_and_rmse_matches_gpumd() {
    let Some(dir) = dataset("mosi2n4") else {
        return;
    };
    if !dir.join("virial_train.out").is_file() {
        eprintln!("skipping: {} has no virial_train.out", dir.display());
        return;
    }
    let items = rebuild(&dir);
    let out = write(&items, "mosi2n4");
    for name in ["energy_train.out", "force_train.out", "virial_train.out"] {
        assert_same_lines(&out.join(name), &dir.join(name));
    }

    // NEP_CPU on GPUMD's model: train E 3.153 meV/atom, F 97.40 meV/Å,
    // V 53.33 meV/atom (DATA_NOTES.md).
    let m = summary_of(&items);
    assert_eq!((m.n_structures, m.n_atoms), (308, 3143));
    assert_eq!(m.n_with_virial, 308);
    let e = m.energy_rmse_mev_per_atom.unwrap();
    let f = m.force_rmse_mev_per_angstrom.unwrap();
    let v = m.virial_rmse_mev_per_atom.unwrap();
    assert!((e - 3.153).abs() < 0.01, "energy RMSE {e}");
    assert!((f - 97.40).abs() < 0.01, "force RMSE {f}");
    assert!((v - 53.33).abs() < 0.01, "virial RMSE {v}");
    let species: Vec<&String> = m.force_by_species.keys().collect();
    assert_eq!(species, ["Mo", "N", "Si"]);
    std::fs::remove_dir_all(&out).unwrap();
}
