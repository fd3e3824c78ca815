//! A large structure (an MD snapshot) is predicted in parallel over its
//! atoms: the result equals the whole-structure prediction and does not
//! depend on the number of threads.

mod common;

use forcefit::batch::predict_one;
use forcefit::model::{Model, Prediction};
use forcefit::structure::{Labels, Origin, Structure};

/// Rocksalt PbTe, `n` conventional cells along each axis, each atom moved
/// by up to 0.1 Å.
fn rocksalt(n: [usize; 3]) -> Structure {
    let a = 6.46;
    let mut rng = common::Rng(7);
    let mut species = Vec::new();
    let mut positions = Vec::new();
    for x in 0..n[0] {
        for y in 0..n[1] {
            for z in 0..n[2] {
                // Pb on the fcc sites, Te half a cell along x from each.
                for b in [
                    [0.0, 0.0, 0.0],
                    [0.0, 0.5, 0.5],
                    [0.5, 0.0, 0.5],
                    [0.5, 0.5, 0.0],
                ] {
                    for (el, shift) in [("Pb", 0.0), ("Te", 0.5)] {
                        let f = [x as f64 + b[0] + shift, y as f64 + b[1], z as f64 + b[2]];
                        species.push(el.to_string());
                        positions.push(f.map(|c| c * a + rng.range(-0.1, 0.1)));
                    }
                }
            }
        }
    }
    Structure {
        species,
        positions,
        cell: Some([
            [n[0] as f64 * a, 0.0, 0.0],
            [0.0, n[1] as f64 * a, 0.0],
            [0.0, 0.0, n[2] as f64 * a],
        ]),
        pbc: [true; 3],
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

#[test]
fn large_structure_is_split_over_threads_with_the_same_result() {
    let model = common::random_nep(&["Pb", "Te"], (4, true, false), None, 11);
    let s = rocksalt([9, 9, 8]);
    assert_eq!(s.n_atoms(), 5184, "above two pieces of 2048 atoms");
    let prepared = model.prepare(s).unwrap();
    let mut whole = Prediction::default();
    model.predict(&prepared, &mut whole);
    let in_pool = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut p = Prediction::default();
        pool.install(|| predict_one(&model, &prepared, &mut p));
        p
    };
    let one = in_pool(1);
    common::assert_predictions_close(&one, &whole, 1e-12, "pieces vs whole");
    for threads in [2, 3] {
        let p = in_pool(threads);
        assert_eq!(
            p.energy.to_bits(),
            one.energy.to_bits(),
            "{threads} threads"
        );
        assert_eq!(p.forces, one.forces, "{threads} threads");
        assert_eq!(p.virial, one.virial, "{threads} threads");
        assert_eq!(p.atomic_energies, one.atomic_energies, "{threads} threads");
    }
}
