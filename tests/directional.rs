//! The directional-derivative force gradient (Smith et al.) against the
//! exact force-only `vjp`, on random NEP models and small random cells:
//! best relative error ≤ 1e-7 near ε = 1e-5, larger for big ε (truncation)
//! and tiny ε (rounding).

mod common;

use common::{Rng, random_structure};
use forcefit::model::nep::Nep;
use forcefit::model::{Adjoint, Model, Prediction};
use forcefit::structure::Structure;
use forcefit::train::directional::{self, StepScale};
use forcefit::train::step::Batch;

fn model(species: &[&str], l: (usize, bool, bool), seed: u64) -> Nep {
    common::random_nep(species, l, None, seed)
}

fn cell(species: &[&str], seed: u64) -> Structure {
    let mut rng = Rng(seed);
    let cell = [[3.9, 0.0, 0.0], [0.8, 4.2, 0.0], [-0.5, 0.6, 4.0]];
    random_structure(&mut rng, species, cell, [true; 3], 1.1)
}

fn force_adjoint(n: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| std::array::from_fn(|_| rng.range(-1.0, 1.0)))
        .collect()
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let n: f64 = b.iter().map(|y| y * y).sum();
    (d / n).sqrt()
}

/// Relative error of the directional force gradient for each ε.
fn errors(m: &Nep, s: &Structure, seed: u64, epsilons: &[f64]) -> Vec<f64> {
    let p = m.prepare(s.clone()).unwrap();
    let g = force_adjoint(s.n_atoms(), seed);
    let adj = Adjoint {
        forces: g.clone(),
        ..Adjoint::default()
    };
    let mut exact = vec![0.0; m.params().len()];
    m.vjp(&p, &adj, &mut exact);
    epsilons
        .iter()
        .map(|&eps| {
            let mut dir = vec![0.0; exact.len()];
            directional::force_gradient(m, &p, &g, eps, &mut dir);
            rel(&dir, &exact)
        })
        .collect()
}

fn check(m: &Nep, s: &Structure, seed: u64) {
    let eps = [1e-1, 1e-4, 3e-5, 1e-5, 3e-6, 1e-12];
    let e = errors(m, s, seed, &eps);
    eprintln!("ε {eps:?}\nerror {e:?}");
    let best = e[1..5].iter().copied().fold(f64::INFINITY, f64::min);
    assert!(best <= 1e-7, "best relative error {best:.2e}");
    assert!(e[0] > 10.0 * best, "no truncation error at ε = 0.1: {e:?}");
    assert!(e[5] > 10.0 * best, "no rounding error at ε = 1e-12: {e:?}");
}

#[test]
fn one_species() {
    let m = model(&["Si"], (4, false, false), 1);
    check(&m, &cell(&["Si"; 5], 21), 31);
}

#[test]
fn one_species_four_and_five_body() {
    let m = model(&["Si"], (4, true, true), 5);
    check(&m, &cell(&["Si"; 6], 25), 35);
}

#[test]
fn two_species_with_four_and_five_body() {
    let m = model(&["Te", "Pb"], (4, true, true), 2);
    check(&m, &cell(&["Te", "Pb", "Pb", "Te", "Pb", "Te"], 22), 32);
}

/// The full directional `gradient` (energy and virial exact, forces
/// directional) against the exact `vjp` of a complete adjoint, and the
/// loss proxy against its exact value.
#[test]
fn full_gradient_and_proxy() {
    let m = model(&["Te", "Pb"], (4, true, false), 3);
    let mut s = cell(&["Te", "Pb", "Pb", "Te", "Pb"], 23);
    s.labels.forces = Some(force_adjoint(s.n_atoms(), 99));
    let p = m.prepare(s.clone()).unwrap();
    let g = force_adjoint(s.n_atoms(), 33);
    let adj = Adjoint {
        energy: 0.4,
        forces: g.clone(),
        virial: std::array::from_fn(|c| 0.1 * c as f64 - 0.3),
    };
    let mut exact = vec![0.0; m.params().len()];
    m.vjp(&p, &adj, &mut exact);
    let mut dir = vec![0.0; exact.len()];
    directional::gradient(&m, &p, &adj, 1e-5, &mut dir);
    let e = rel(&dir, &exact);
    assert!(e < 1e-7, "full gradient relative error {e:.2e}");

    let mut pred = Prediction::default();
    m.predict(&p, &mut pred);
    let want = directional::exact_proxy(&p, &g, &pred.forces);
    let got = directional::loss_proxy(&m, &p, &g, 1e-5, StepScale::MaxAdjoint).unwrap();
    assert!(
        (got - want).abs() < 1e-8 * want.abs().max(1.0),
        "{got} vs {want}"
    );
    // A zero adjoint has no force part.
    let zero = vec![[0.0; 3]; s.n_atoms()];
    assert!(directional::step(&zero, 1e-5, StepScale::MaxAdjoint).is_none());
    let mut none = vec![0.0; exact.len()];
    directional::force_gradient(&m, &p, &zero, 1e-5, &mut none);
    assert!(none.iter().all(|&x| x == 0.0));
}

/// `step::loss_and_gradient` takes the directional path when configured:
/// close to the exact gradient, but not bit-identical.
#[test]
fn training_step_uses_the_configured_method() {
    use forcefit::loss::{ForceGradient, LossConfig};
    use forcefit::train::step;
    let m = model(&["Te", "Pb"], (4, true, false), 4);
    let prepared: Vec<_> = (0..3)
        .map(|k| {
            let mut s = cell(&["Te", "Pb", "Pb", "Te", "Pb"], 40 + k);
            s.labels.energy = Some(-3.0);
            s.labels.forces = Some(force_adjoint(s.n_atoms(), 50 + k));
            s.labels.virial = Some(std::array::from_fn(|c| 0.2 * c as f64));
            m.prepare(s).unwrap()
        })
        .collect();
    let batch: Vec<_> = prepared.iter().collect();
    let n = m.params().len();
    let (mut exact, mut dir) = (vec![0.0; n], vec![0.0; n]);
    let config = LossConfig::default();
    let a = step::loss_and_gradient(&m, &Batch::local(&batch), &config, |_, _| true, &mut exact);
    let config = LossConfig {
        force_gradient: ForceGradient::Directional { epsilon: 1e-5 },
        ..config
    };
    let b = step::loss_and_gradient(&m, &Batch::local(&batch), &config, |_, _| true, &mut dir);
    assert_eq!(a, b, "the loss value does not depend on the method");
    let e = rel(&dir, &exact);
    assert!(e < 1e-7 && e > 0.0, "relative difference {e:.2e}");
}
