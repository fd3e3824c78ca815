//! The conformance suite every model family passes: forces = −dE/dr and
//! virial = strain derivative (central differences), rotation, translation
//! and permutation invariance, and the vjp term by term (energy, force,
//! virial, all) against central differences, and the site-restricted
//! calls (a partition of the atoms sums to the whole; the sites around an
//! atom give its force and force gradient), on a triclinic bulk cell, a
//! 2-atom triclinic cell far smaller than the cutoff, a non-periodic
//! cluster and a slab. A family's test file calls [`run`] with a small
//! random model of two elements.

use super::common::{
    Rng, assert_predictions_close, check_forces_and_virial, check_vjp, random_structure,
    rel_norm_diff, sum_over_parts, term_adjoints,
};
use forcefit::model::{Adjoint, Model, Prediction};
use forcefit::structure::Structure;

/// Tolerances of a family's checks.
pub struct Tolerances {
    /// Finite-difference step for positions and strain, Å.
    pub h_position: f64,
    /// Forces and virial, relative to the largest component.
    pub forces: f64,
    /// Finite-difference step for parameters.
    pub h_param: f64,
    /// vjp, relative error of the whole gradient.
    pub vjp: f64,
}

/// The structures of the suite for elements `a` and `b`.
pub fn structures(a: &str, b: &str) -> Vec<(&'static str, Structure)> {
    let mut rng = Rng(7);
    let bulk = random_structure(
        &mut rng,
        &[a, b, b, a, a, b, a],
        [[3.9, 0.0, 0.0], [0.8, 4.3, 0.0], [-0.5, 0.7, 4.1]],
        [true; 3],
        1.2,
    );
    let tiny = random_structure(
        &mut rng,
        &[a, b],
        [[2.1, 0.0, 0.0], [0.7, 2.0, 0.0], [0.4, -0.6, 2.3]],
        [true; 3],
        1.1,
    );
    let cluster = random_structure(
        &mut rng,
        &[a, b, a, b, b],
        [[3.4, 0.0, 0.0], [0.0, 3.4, 0.0], [0.0, 0.0, 3.4]],
        [false; 3],
        1.3,
    );
    let slab = random_structure(
        &mut rng,
        &[b, a, a, b, a, b],
        [[3.6, 0.0, 0.0], [1.0, 3.5, 0.0], [0.0, 0.0, 5.0]],
        [true, true, false],
        1.2,
    );
    vec![
        ("triclinic bulk", bulk),
        ("2-atom cell", tiny),
        ("cluster", cluster),
        ("slab", slab),
    ]
}

/// Runs every check of the suite on `model`, which must know `a` and `b`.
pub fn run<M: Model + Clone>(model: &M, a: &str, b: &str, tol: &Tolerances) {
    for (name, s) in structures(a, b) {
        eprintln!("conformance: {name}");
        check_forces_and_virial(model, &s, tol.h_position, tol.forces);
        invariances(model, &s);
        vjp_terms(model, &s, tol);
        sites(model, &s);
    }
}

/// The predictions and vjps of the even and the odd atoms sum to the whole
/// structure's; the sites around atom 0 give its force, and the gradient
/// of a force adjoint on atom 0 alone, exactly (to rounding).
fn sites(model: &dyn Model, s: &Structure) {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let n = s.n_atoms();
    let (_, adj) = term_adjoints(n, 5).pop().expect("the combined adjoint");
    let mut full = Prediction::default();
    model.predict(&prepared, &mut full);
    let mut g_full = vec![0.0; model.params().len()];
    model.vjp(&prepared, &adj, &mut g_full);
    let parts = [(0..n).step_by(2).collect(), (1..n).step_by(2).collect()];
    let (sum, g_sum) = sum_over_parts(model, &prepared, &parts, &adj);
    assert_predictions_close(&sum, &full, 1e-12, "even + odd sites");
    let d = rel_norm_diff(&g_sum, &g_full);
    assert!(d < 1e-12, "vjp of even + odd sites: {d:.2e}");

    let around = prepared.sites_around(&[0]);
    let mut p = Prediction::default();
    model.predict_sites(&prepared, &around, &mut p);
    // Relative to the largest force: the terms of a small one may cancel.
    let scale = full
        .forces
        .iter()
        .flatten()
        .fold(1e-300f64, |m, f| m.max(f.abs()));
    let d = (0..3)
        .map(|k| (p.forces[0][k] - full.forces[0][k]).abs())
        .fold(0.0, f64::max)
        / scale;
    assert!(d < 1e-12, "force on atom 0 from its sites: {d:.2e}");
    let mut one = Adjoint {
        forces: vec![[0.0; 3]; n],
        ..Adjoint::default()
    };
    one.forces[0] = [0.3, -0.7, 0.2];
    let (mut g_sites, mut g_whole) = (vec![0.0; g_full.len()], vec![0.0; g_full.len()]);
    model.vjp_sites(&prepared, &around, &one, &mut g_sites);
    model.vjp(&prepared, &one, &mut g_whole);
    let d = rel_norm_diff(&g_sites, &g_whole);
    assert!(
        d < 1e-12,
        "force gradient of atom 0 from its sites: {d:.2e}"
    );
}

fn predict(model: &dyn Model, s: &Structure) -> Prediction {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    p
}

#[track_caller]
fn close(a: f64, b: f64, scale: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * scale.max(1.0), "{what}: {a} vs {b}");
}

/// Energy, atomic energies and forces under a rotation, a translation and
/// a permutation of the atoms.
fn invariances(model: &dyn Model, s: &Structure) {
    let p = predict(model, s);
    let e_scale = p.energy.abs();
    let f_scale = p
        .forces
        .iter()
        .flatten()
        .fold(0.0f64, |m, f| m.max(f.abs()));
    // A proper rotation about an oblique axis, applied to positions and cell.
    let (c, sn) = (0.6f64.cos(), 0.6f64.sin());
    let u = [1.0 / 3f64.sqrt(); 3];
    let rot: [[f64; 3]; 3] = std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let cross = match (i, j) {
                (0, 1) => -u[2],
                (0, 2) => u[1],
                (1, 0) => u[2],
                (1, 2) => -u[0],
                (2, 0) => -u[1],
                (2, 1) => u[0],
                _ => 0.0,
            };
            let delta = if i == j { 1.0 } else { 0.0 };
            c * delta + sn * cross + (1.0 - c) * u[i] * u[j]
        })
    });
    let apply = |v: [f64; 3]| -> [f64; 3] {
        std::array::from_fn(|i| (0..3).map(|j| rot[i][j] * v[j]).sum())
    };
    let mut rotated = s.clone();
    rotated.positions = s.positions.iter().map(|&r| apply(r)).collect();
    rotated.cell = s.cell.map(|cell| cell.map(apply));
    let pr = predict(model, &rotated);
    close(pr.energy, p.energy, e_scale, "energy after rotation");
    for (fr, f) in pr.forces.iter().zip(&p.forces) {
        let expected = apply(*f);
        for k in 0..3 {
            close(fr[k], expected[k], f_scale, "force after rotation");
        }
    }
    let mut moved = s.clone();
    for r in &mut moved.positions {
        r[0] += 0.37;
        r[1] -= 1.21;
        r[2] += 0.05;
    }
    close(
        predict(model, &moved).energy,
        p.energy,
        e_scale,
        "energy after translation",
    );
    // Reversing the atom order permutes atomic energies and forces.
    let mut permuted = s.clone();
    permuted.positions.reverse();
    permuted.species.reverse();
    let pp = predict(model, &permuted);
    close(pp.energy, p.energy, e_scale, "energy after permutation");
    let n = s.n_atoms();
    for i in 0..n {
        close(
            pp.atomic_energies[n - 1 - i],
            p.atomic_energies[i],
            e_scale,
            "atomic energy after permutation",
        );
        for k in 0..3 {
            close(
                pp.forces[n - 1 - i][k],
                p.forces[i][k],
                f_scale,
                "force after permutation",
            );
        }
    }
}

/// The vjp against central differences for an energy-only, a force-only, a
/// virial-only and a combined adjoint.
fn vjp_terms<M: Model + Clone>(model: &M, s: &Structure, tol: &Tolerances) {
    for (name, adj) in term_adjoints(s.n_atoms(), 99) {
        eprintln!("  vjp: {name}");
        check_vjp(model, s, &adj, tol.h_param, tol.vjp);
    }
}
