//! Stillinger–Weber silicon: forces and virial are the derivatives of the
//! energy (central finite differences on random small cells, a slab and a
//! cluster), the published diamond cohesive energy and lattice constant,
//! and the triplet counting against a hand-written trimer energy.

mod common;

use common::{Rng, assert_err, check_forces_and_virial, energy, random_structure};
use forcefit::model::{Model, Prediction};
use forcefit::potentials::{StillingerWeber, SwParameters};
use forcefit::structure::{Labels, Origin, Structure};

fn silicon(positions: Vec<[f64; 3]>, cell: Option<[[f64; 3]; 3]>, pbc: [bool; 3]) -> Structure {
    Structure {
        species: vec!["Si".to_string(); positions.len()],
        positions,
        cell,
        pbc,
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

/// The 8-atom conventional diamond cell with lattice constant `a`.
fn diamond(a: f64) -> Structure {
    let fcc = [
        [0.0, 0.0, 0.0],
        [0.0, 0.5, 0.5],
        [0.5, 0.0, 0.5],
        [0.5, 0.5, 0.0],
    ];
    let mut positions = Vec::new();
    for shift in [[0.0; 3], [0.25; 3]] {
        for f in fcc {
            positions.push(std::array::from_fn(|k| (f[k] + shift[k]) * a));
        }
    }
    let cell = [[a, 0.0, 0.0], [0.0, a, 0.0], [0.0, 0.0, a]];
    silicon(positions, Some(cell), [true; 3])
}

fn predict(model: &StillingerWeber, s: &Structure) -> Prediction {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    p
}

#[test]
fn forces_and_virial_in_cells_smaller_than_the_cutoff() {
    let model = StillingerWeber::silicon();
    let mut rng = Rng(1);
    // 2 atoms in a triclinic cell: every atom sees dozens of its own images.
    let cell = [[2.9, 0.0, 0.0], [0.4, 3.1, 0.0], [-0.3, 0.5, 3.0]];
    let s = random_structure(&mut rng, &["Si"; 2], cell, [true; 3], 1.9);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
    // 5 atoms in a cell a little larger than the cutoff's half.
    let cell = [[3.9, 0.0, 0.0], [0.8, 4.3, 0.0], [-0.5, 0.7, 4.1]];
    for seed in [2, 3] {
        let mut rng = Rng(seed);
        let s = random_structure(&mut rng, &["Si"; 5], cell, [true; 3], 2.0);
        check_forces_and_virial(&model, &s, 1e-5, 1e-6);
    }
}

#[test]
fn forces_and_virial_in_a_rattled_strained_crystal() {
    let model = StillingerWeber::silicon();
    let mut rng = Rng(4);
    let mut s = diamond(5.431);
    for p in &mut s.positions {
        for x in p.iter_mut() {
            *x += rng.range(-0.2, 0.2);
        }
    }
    let c = s.cell.as_mut().expect("cell");
    c[1][0] += 0.3;
    c[2][2] *= 0.97;
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn forces_and_virial_in_a_slab_and_a_cluster() {
    let model = StillingerWeber::silicon();
    let mut rng = Rng(5);
    // Periodic in x and y, open along z: atoms within 6 Å of each other in z.
    let cell = [[4.2, 0.0, 0.0], [1.1, 4.0, 0.0], [0.0, 0.0, 6.0]];
    let slab = random_structure(&mut rng, &["Si"; 6], cell, [true, true, false], 2.0);
    check_forces_and_virial(&model, &slab, 1e-5, 1e-6);
    let box5 = [[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]];
    let mut cluster = random_structure(&mut rng, &["Si"; 6], box5, [false; 3], 2.0);
    cluster.cell = None;
    check_forces_and_virial(&model, &cluster, 1e-5, 1e-6);
}

#[test]
fn diamond_has_the_published_cohesive_energy_and_no_forces() {
    let model = StillingerWeber::silicon();
    let p = predict(&model, &diamond(5.431));
    let per_atom = p.energy / 8.0;
    assert!(
        (per_atom + 4.3366).abs() < 1e-3,
        "E = {per_atom} eV/atom, published −4.3366"
    );
    for e in &p.atomic_energies {
        assert!((e - per_atom).abs() < 1e-12, "atomic energy {e}");
    }
    for f in p.forces.iter().flatten() {
        assert!(f.abs() < 1e-10, "force component {f}");
    }
    // At the minimum the virial (pressure) nearly vanishes; it is diagonal.
    for a in 0..3 {
        for b in 0..3 {
            let w = p.virial[a * 3 + b];
            let bound = if a == b { 1e-2 } else { 1e-10 };
            assert!(w.abs() < bound, "virial {a}{b} = {w}");
        }
    }
}

#[test]
fn diamond_energy_is_lowest_near_the_experimental_lattice_constant() {
    let model = StillingerWeber::silicon();
    let e = |a: f64| energy(&model, &diamond(a)) / 8.0;
    let e0 = e(5.431);
    assert!(e(5.40) > e0, "E(5.40) = {} ≤ E(5.431) = {e0}", e(5.40));
    assert!(e(5.46) > e0, "E(5.46) = {} ≤ E(5.431) = {e0}", e(5.46));
}

#[test]
fn trimer_energy_matches_the_formula_term_by_term() {
    let model = StillingerWeber::silicon();
    let sw = SwParameters::SILICON;
    let positions = vec![[0.0, 0.0, 0.0], [2.3, 0.1, -0.2], [0.4, 2.5, 0.3]];
    let s = silicon(positions.clone(), None, [false; 3]);
    let p = predict(&model, &s);

    let dist = |a: usize, b: usize| {
        let d: [f64; 3] = std::array::from_fn(|k| positions[b][k] - positions[a][k]);
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    };
    let rc = sw.a * sw.sigma;
    let phi2 = |r: f64| {
        let s = sw.sigma / r;
        sw.big_a * sw.epsilon * (sw.big_b * s.powi(4) - 1.0) * (sw.sigma / (r - rc)).exp()
    };
    // Angle at `i` between j and k, by the law of cosines.
    let phi3 = |i: usize, j: usize, k: usize| {
        let (rij, rik, rjk) = (dist(i, j), dist(i, k), dist(j, k));
        let cos = (rij * rij + rik * rik - rjk * rjk) / (2.0 * rij * rik);
        let radial =
            (sw.gamma * sw.sigma / (rij - rc)).exp() * (sw.gamma * sw.sigma / (rik - rc)).exp();
        sw.lambda * sw.epsilon * (cos + 1.0 / 3.0).powi(2) * radial
    };
    let pairs = [phi2(dist(0, 1)), phi2(dist(0, 2)), phi2(dist(1, 2))];
    let expected = [
        0.5 * (pairs[0] + pairs[1]) + phi3(0, 1, 2),
        0.5 * (pairs[0] + pairs[2]) + phi3(1, 0, 2),
        0.5 * (pairs[1] + pairs[2]) + phi3(2, 0, 1),
    ];
    for (got, want) in p.atomic_energies.iter().zip(&expected) {
        assert!((got - want).abs() < 1e-12, "atomic energy {got} vs {want}");
    }
    let total: f64 = expected.iter().sum();
    assert!((p.energy - total).abs() < 1e-12);
    check_forces_and_virial(&model, &s, 1e-5, 1e-6);
}

#[test]
fn invariant_under_rotation_translation_and_permutation() {
    let model = StillingerWeber::silicon();
    let mut rng = Rng(7);
    let cell = [[3.9, 0.0, 0.0], [0.8, 4.3, 0.0], [-0.5, 0.7, 4.1]];
    let s = random_structure(&mut rng, &["Si"; 5], cell, [true; 3], 2.0);
    let p = predict(&model, &s);

    // Rotation by 0.7 rad about z, a shift, and the atoms reversed.
    let (c, sn) = (0.7f64.cos(), 0.7f64.sin());
    let rot = |v: [f64; 3]| [c * v[0] - sn * v[1], sn * v[0] + c * v[1], v[2]];
    let mut t = s.clone();
    t.cell = s.cell.map(|m| m.map(rot));
    t.positions = s.positions.iter().rev().map(|&r| rot(r)).collect();
    for r in &mut t.positions {
        r[0] += 1.3;
        r[2] -= 0.4;
    }
    let q = predict(&model, &t);
    assert!((p.energy - q.energy).abs() < 1e-10 * p.energy.abs().max(1.0));
    let n = s.n_atoms();
    for i in 0..n {
        let want = rot(p.forces[i]);
        let got = q.forces[n - 1 - i];
        for k in 0..3 {
            assert!(
                (want[k] - got[k]).abs() < 1e-9,
                "force {i}: {got:?} vs {want:?}"
            );
        }
        assert!((p.atomic_energies[i] - q.atomic_energies[n - 1 - i]).abs() < 1e-10);
    }
    let sum: f64 = p.atomic_energies.iter().sum();
    assert!((sum - p.energy).abs() < 1e-12);
    for a in 0..3 {
        for b in 0..3 {
            let (wab, wba) = (p.virial[a * 3 + b], p.virial[b * 3 + a]);
            assert_eq!(wab, wba, "virial {a}{b} vs {b}{a}");
        }
    }
}

#[test]
fn no_parameters_and_only_silicon() {
    let mut model = StillingerWeber::silicon();
    assert!(model.params().is_empty());
    assert!(model.params_mut().is_empty());
    assert!(model.param_groups().is_empty());
    assert_eq!(model.species(), ["Si"]);
    assert!((model.cutoff() - 1.8 * 2.0951).abs() < 1e-12);
    let mut s = diamond(5.431);
    s.species[3] = "Ge".to_string();
    assert_err(model.prepare(s), &["atom 3", "Ge", "not in the model"]);
}
