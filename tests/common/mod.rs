//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/<rel>` next to the repository, or `None` (with a message on
/// stderr) when the shared data are not there.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping: {} not found (the shared data sets live in ../shared)",
            p.display()
        );
        None
    }
}

use forcefit::model::{Model, Prediction};
use forcefit::structure::{Labels, Origin, Structure};

/// A small deterministic generator (splitmix64) so tests need no RNG crate.
pub struct Rng(pub u64);

impl Rng {
    /// Next uniform number in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform number in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
}

/// Random positions in `cell` (rows) for the given species, keeping every
/// pair (images included) at least `min_dist` apart.
pub fn random_structure(
    rng: &mut Rng,
    species: &[&str],
    cell: [[f64; 3]; 3],
    pbc: [bool; 3],
    min_dist: f64,
) -> Structure {
    let mut positions: Vec<[f64; 3]> = Vec::new();
    'atoms: while positions.len() < species.len() {
        let f = [rng.uniform(), rng.uniform(), rng.uniform()];
        let p: [f64; 3] = std::array::from_fn(|k| (0..3).map(|a| f[a] * cell[a][k]).sum());
        for q in &positions {
            for na in -1i32..=1 {
                for nb in -1i32..=1 {
                    for nc in -1i32..=1 {
                        let shift = [na, nb, nc];
                        let mut d2 = 0.0;
                        for k in 0..3 {
                            let s: f64 = (0..3)
                                .map(|a| {
                                    if pbc[a] {
                                        shift[a] as f64 * cell[a][k]
                                    } else {
                                        0.0
                                    }
                                })
                                .sum();
                            d2 += (p[k] - q[k] - s).powi(2);
                        }
                        if d2 < min_dist * min_dist {
                            continue 'atoms;
                        }
                    }
                }
            }
        }
        positions.push(p);
    }
    Structure {
        species: species.iter().map(|s| s.to_string()).collect(),
        positions,
        cell: Some(cell),
        pbc,
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

/// Energy of a structure under a model.
pub fn energy(model: &dyn Model, s: &Structure) -> f64 {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    p.energy
}

/// Checks forces against −dE/dr and the virial against −dE/dε (central
/// differences with step `h`), with tolerance `tol` relative to the
/// largest component.
pub fn check_forces_and_virial(model: &dyn Model, s: &Structure, h: f64, tol: f64) {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    let fmax = p
        .forces
        .iter()
        .flatten()
        .fold(1e-3f64, |m, f| m.max(f.abs()));
    for i in 0..s.n_atoms() {
        for k in 0..3 {
            let (mut plus, mut minus) = (s.clone(), s.clone());
            plus.positions[i][k] += h;
            minus.positions[i][k] -= h;
            let fd = -(energy(model, &plus) - energy(model, &minus)) / (2.0 * h);
            assert!(
                (p.forces[i][k] - fd).abs() < tol * fmax,
                "force on atom {i} axis {k}: analytic {} vs finite difference {fd}",
                p.forces[i][k]
            );
        }
    }
    let wmax = p.virial.iter().fold(1e-3f64, |m, w| m.max(w.abs()));
    for a in 0..3 {
        for b in 0..3 {
            let strained = |eps: f64| {
                let mut t = s.clone();
                let deform = |v: [f64; 3]| {
                    let mut out = v;
                    out[a] += eps * v[b];
                    out
                };
                t.positions = t.positions.iter().map(|&r| deform(r)).collect();
                t.cell = t.cell.map(|c| [deform(c[0]), deform(c[1]), deform(c[2])]);
                energy(model, &t)
            };
            // W_ab = −dE/dε_ba for r → (1 + ε) r
            let fd = -(strained(h) - strained(-h)) / (2.0 * h);
            let analytic = p.virial[b * 3 + a];
            assert!(
                (analytic - fd).abs() < tol * wmax,
                "virial {b}{a}: analytic {analytic} vs strain derivative {fd}"
            );
        }
    }
}
