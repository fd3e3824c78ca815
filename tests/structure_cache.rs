//! The per-structure cache that training fills (`Model::cache_structure`:
//! NEP's pair geometry) changes no number: predictions, site predictions
//! and vjps with the cache equal those computed from scratch bit for bit,
//! for NEP models with typewise cutoffs and ZBL too, and a cache that
//! holds another model's geometry is not used.

mod common;

use common::{Rng, random_nep, random_structure, term_adjoints};
use forcefit::model::nep::{Nep, TypewiseCutoff, Zbl};
use forcefit::model::{Model, Prediction, Prepared};

/// Everything a model computes on `s`: prediction, the prediction of the
/// first half of the sites, and the vjp of each adjoint term.
fn outputs(model: &dyn Model, s: &Prepared) -> (Prediction, Prediction, Vec<Vec<f64>>) {
    let mut whole = Prediction::default();
    model.predict(s, &mut whole);
    let n = s.structure.n_atoms();
    let half: Vec<usize> = (0..n / 2).collect();
    let mut part = Prediction::default();
    model.predict_sites(s, &half, &mut part);
    let grads = term_adjoints(n, 7)
        .into_iter()
        .map(|(_, adj)| {
            let mut g = vec![0.0; model.params().len()];
            model.vjp(s, &adj, &mut g);
            g
        })
        .collect();
    (whole, part, grads)
}

fn structure(seed: u64) -> forcefit::structure::Structure {
    let species = ["Pb", "Te", "Pb", "Te", "Te", "Pb", "Pb", "Te"].repeat(5);
    let side = 8.5;
    let cell = [[side, 0.0, 0.0], [0.3, side, 0.0], [0.0, -0.4, side]];
    random_structure(&mut Rng(seed), &species, cell, [true; 3], 1.9)
}

fn models() -> Vec<(&'static str, Nep)> {
    let plain = random_nep(&["Pb", "Te"], (4, true, false), None, 3);
    let zbl = random_nep(
        &["Pb", "Te"],
        (4, true, true),
        Some(Zbl::Universal {
            inner: 1.0,
            outer: 2.2,
            typewise: None,
        }),
        4,
    );
    let mut h = plain.hyper().clone();
    h.typewise = Some(TypewiseCutoff {
        radial: 1.4,
        angular: 1.2,
        zbl: 0.0,
    });
    let typewise = Nep::new(h, plain.params().to_vec(), plain.q_scaler().to_vec()).unwrap();
    vec![("plain", plain), ("zbl", zbl), ("typewise", typewise)]
}

#[test]
fn cached_geometry_gives_the_same_bits() {
    for (name, model) in models() {
        for seed in [1, 2] {
            let fresh = model.prepare(structure(seed)).unwrap();
            let cached = fresh.clone();
            model.cache_structure(&cached);
            assert!(cached.cache.get().is_some(), "{name}: nothing cached");
            assert!(fresh.cache.get().is_none());
            let (a, b) = (outputs(&model, &fresh), outputs(&model, &cached));
            assert_eq!(a.0, b.0, "{name}, seed {seed}: prediction");
            assert_eq!(a.1, b.1, "{name}, seed {seed}: site prediction");
            assert_eq!(a.2, b.2, "{name}, seed {seed}: vjp");
        }
    }
}

#[test]
fn another_models_cache_is_not_used() {
    let models = models();
    let (plain, typewise) = (&models[0].1, &models[2].1);
    let s = plain.prepare(structure(5)).unwrap();
    let reference = outputs(typewise, &s);
    // The plain model's geometry (other cutoffs) fills the cache first.
    plain.cache_structure(&s);
    typewise.cache_structure(&s);
    assert_eq!(outputs(typewise, &s), reference);
}
