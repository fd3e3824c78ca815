//! A DeePMD gradient from the tape of its prediction
//! (`predict_sites_taped`, `vjp_sites_taped`, as training calls them)
//! equals the gradient computed afresh, to the bit, in float64 and
//! float32, for whole structures, several chunks and partial site lists;
//! a tape of other sites or an energy-only adjoint is ignored.

mod common;
mod deepmd_common;

use common::{Rng, random_structure};
use deepmd_common::{random_deepmd_with_sel, water_model};
use forcefit::model::deepmd::DeepPot;
use forcefit::model::{Adjoint, Model, Prediction, Prepared};
use forcefit::nn::Precision;

/// Every adjoint the gradient distinguishes: energy only (the tape is not
/// used), forces, virial, all at once.
fn adjoints(n: usize) -> Vec<(&'static str, Adjoint)> {
    let mut all = common::term_adjoints(n, 7);
    let mut sum = Adjoint {
        energy: 0.3,
        ..Adjoint::default()
    };
    for (_, a) in &all {
        if !a.forces.is_empty() {
            sum.forces = a.forces.clone();
        }
        if a.virial != [0.0; 9] {
            sum.virial = a.virial;
        }
    }
    all.push(("all", sum));
    all
}

fn bits(p: &Prediction) -> Vec<u64> {
    let mut v = vec![p.energy.to_bits()];
    v.extend(p.atomic_energies.iter().map(|x| x.to_bits()));
    v.extend(p.forces.concat().iter().map(|x| x.to_bits()));
    v.extend(p.virial.iter().map(|x| x.to_bits()));
    v
}

/// Taped and fresh predictions and gradients of `sites` agree to the bit,
/// and the tape was used (not empty).
fn check(model: &DeepPot, s: &Prepared, sites: &[usize], tag: &str) {
    for (term, adj) in adjoints(s.structure.n_atoms()) {
        let (mut fresh, mut taped) = (Prediction::default(), Prediction::default());
        model.predict_sites(s, sites, &mut fresh);
        let tape = model.predict_sites_taped(s, sites, &mut taped);
        assert!(!tape.is_empty(), "{tag}: the prediction kept no tape");
        assert_eq!(bits(&fresh), bits(&taped), "{tag}: prediction");
        let n = model.params().len();
        let (mut g0, mut g1) = (vec![0.0; n], vec![0.0; n]);
        model.vjp_sites(s, sites, &adj, &mut g0);
        model.vjp_sites_taped(s, sites, &adj, &mut g1, tape);
        assert!(g0.iter().any(|&x| x != 0.0), "{tag} {term}: zero gradient");
        let same = g0.iter().zip(&g1).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{tag} {term}: the taped gradient differs");
    }
}

fn both_precisions(model: DeepPot) -> [(DeepPot, &'static str); 2] {
    let mut narrow = model.clone();
    narrow.set_embedding_precision(Precision::Float32);
    narrow.set_fitting_precision(Precision::Float32);
    [(model, "float64"), (narrow, "float32")]
}

#[test]
fn taped_gradient_equals_fresh_on_synthetic_cells() {
    // 300 atoms: three chunks of the prediction and of the gradient
    let species: Vec<&str> = (0..300)
        .map(|i| if i % 3 == 0 { "O" } else { "H" })
        .collect();
    let s = random_structure(
        &mut Rng(5),
        &species,
        [[14.0, 0.0, 0.0], [0.4, 13.5, 0.0], [0.0, 0.6, 14.2]],
        [true; 3],
        1.0,
    );
    let base = random_deepmd_with_sel(vec![10, 20], false, true, true, 3);
    for (model, precision) in both_precisions(base) {
        let p = model.prepare(s.clone()).unwrap();
        check(
            &model,
            &p,
            &p.all_sites(),
            &format!("{precision}, 300 atoms"),
        );
        let some: Vec<usize> = (40..137).collect();
        check(&model, &p, &some, &format!("{precision}, sites 40..137"));
    }
}

#[test]
fn taped_gradient_equals_fresh_on_water() {
    let Some(dir) = common::shared("datasets/water-deepmd/data_0") else {
        eprintln!("skipped: ../shared/datasets/water-deepmd is absent");
        return;
    };
    let frames = forcefit::io::deepmd::read(&dir).unwrap();
    let base = water_model(&frames[..3], true, false, 17);
    for (model, precision) in both_precisions(base) {
        let p = model.prepare(frames[4].clone()).unwrap();
        // the two work items a 192-atom frame is split into in training
        check(&model, &p, &(0..96).collect::<Vec<_>>(), precision);
        check(&model, &p, &(96..192).collect::<Vec<_>>(), precision);
    }
}

#[test]
fn a_tape_of_other_sites_is_ignored() {
    let species = ["O", "H", "H", "O", "H", "H", "O", "H", "H"];
    let s = random_structure(
        &mut Rng(8),
        &species,
        [[5.0, 0.0, 0.0], [0.0, 5.2, 0.0], [0.0, 0.0, 4.9]],
        [true; 3],
        1.0,
    );
    let model = random_deepmd_with_sel(vec![12, 24], true, false, false, 4);
    let p = model.prepare(s).unwrap();
    let adj = adjoints(9).pop().unwrap().1;
    let mut out = Prediction::default();
    let tape = model.predict_sites_taped(&p, &[0, 1, 2, 3], &mut out);
    assert!(!tape.is_empty());
    let n = model.params().len();
    let (mut g0, mut g1) = (vec![0.0; n], vec![0.0; n]);
    model.vjp_sites(&p, &[4, 5, 6], &adj, &mut g0);
    model.vjp_sites_taped(&p, &[4, 5, 6], &adj, &mut g1, tape);
    assert_eq!(g0, g1);
}
