//! Site-restricted prediction and vjp (`Model::predict_sites`,
//! `vjp_sites`, `Prepared::sites_around`) and what is built on them: the
//! FEKF force updates over the sites around the chosen atoms, and small
//! batches split over chunks of atoms. On random NEP and DeePMD models in
//! boxes of a few hundred atoms, and, when ../shared is present, GPUMD's
//! PbTe and MoSi2N4 models and deepmd-kit's water model on their data.

mod common;
mod deepmd_common;

use common::{
    Rng, assert_predictions_close, random_structure, rel_max_diff, rel_norm_diff, sum_over_parts,
    term_adjoints,
};
use forcefit::loss::{ForceGradient, LossConfig};
use forcefit::model::{Adjoint, AnyModel, Model, Prediction, Prepared};
use forcefit::optim::{Kalman, KalmanSettings};
use forcefit::structure::Structure;
use forcefit::train::optimizer::fekf::{FekfSettings, FekfStep};
use forcefit::train::step::{self, Batch};
use forcefit::{batch, io, model};
use rand::SeedableRng;

/// A model and a few structures prepared for it.
struct Case {
    name: &'static str,
    model: AnyModel,
    structures: Vec<Prepared>,
}

/// `n` atoms of `species` (cycled) at random in a cube of side `side`,
/// labelled with zero energy and forces so that every loss term is active.
fn random_box(species: &[&str], n: usize, side: f64, min_dist: f64, seed: u64) -> Structure {
    let names: Vec<&str> = (0..n).map(|i| species[i % species.len()]).collect();
    let cell = [[side, 0.0, 0.0], [0.0, side, 0.0], [0.0, 0.0, side]];
    let mut s = random_structure(&mut Rng(seed), &names, cell, [true; 3], min_dist);
    s.labels.energy = Some(0.0);
    s.labels.forces = Some(vec![[0.0; 3]; n]);
    s
}

fn case(name: &'static str, model: AnyModel, structures: Vec<Structure>) -> Case {
    let structures = batch::prepare_all(&model, structures).expect("prepare");
    Case {
        name,
        model,
        structures,
    }
}

/// The first `take` structures of a shared data file with a shared model.
fn shared_case(name: &'static str, model_file: &str, data: &str, take: usize) -> Option<Case> {
    let model = model::load(&common::shared(model_file)?).expect("model");
    let mut structures = io::read(&common::shared(data)?, None).expect("data");
    structures.truncate(take);
    Some(case(name, model, structures))
}

/// Random models (always) and the shared ones (when ../shared is there).
fn cases() -> Vec<Case> {
    let nep = common::random_nep(&["Te", "Pb"], (4, true, true), None, 3);
    let dp = deepmd_common::random_deepmd_with_sel(vec![30, 60], false, true, true, 4);
    let mut cases = vec![
        case(
            "random NEP",
            nep.into(),
            vec![random_box(&["Te", "Pb"], 200, 16.0, 2.0, 1)],
        ),
        case(
            "random DeePMD",
            dp.into(),
            vec![random_box(&["O", "H", "H"], 192, 12.4, 1.0, 2)],
        ),
    ];
    let shared = [
        (
            "PbTe",
            "datasets/pbte/nep.txt",
            "datasets/pbte/train.xyz",
            2,
        ),
        (
            "MoSi2N4",
            "datasets/mosi2n4/nep.txt",
            "datasets/mosi2n4/train.xyz",
            3,
        ),
        (
            "deepmd-kit water",
            "oracle/deepmd/deeppot_sea.yaml",
            "datasets/water-deepmd/data_0",
            2,
        ),
    ];
    for (name, m, data, take) in shared {
        cases.extend(shared_case(name, m, data, take));
    }
    cases
}

/// Up to `k` distinct random atoms of `s`, sorted.
fn some_atoms(s: &Prepared, k: usize, rng: &mut Rng) -> Vec<usize> {
    let n = s.structure.n_atoms();
    let mut atoms: Vec<usize> = (0..k)
        .map(|_| (rng.uniform() * n as f64) as usize)
        .collect();
    atoms.sort_unstable();
    atoms.dedup();
    atoms
}

/// An FEKF-like force adjoint: ±1/18 on the components of `atoms`.
fn force_adjoint(n: usize, atoms: &[usize], rng: &mut Rng) -> Adjoint {
    let mut adj = Adjoint {
        forces: vec![[0.0; 3]; n],
        ..Adjoint::default()
    };
    for &i in atoms {
        adj.forces[i] =
            std::array::from_fn(|_| if rng.uniform() < 0.5 { -1.0 } else { 1.0 } / 18.0);
    }
    adj
}

fn predict(model: &dyn Model, s: &Prepared) -> Prediction {
    let mut p = Prediction::default();
    model.predict(s, &mut p);
    p
}

#[test]
fn sites_around_holds_the_atoms_and_their_neighbours_in_order() {
    for c in cases() {
        let s = &c.structures[0];
        let atoms = some_atoms(s, 6, &mut Rng(11));
        let sites = s.sites_around(&atoms);
        assert!(
            sites.windows(2).all(|w| w[0] < w[1]),
            "{}: not sorted",
            c.name
        );
        for &i in &atoms {
            assert!(
                sites.binary_search(&i).is_ok(),
                "{}: atom {i} missing",
                c.name
            );
            for &j in s.neighbors.of(i).0 {
                assert!(sites.binary_search(&(j as usize)).is_ok(), "{}", c.name);
            }
        }
        let fraction = sites.len() as f64 / s.structure.n_atoms() as f64;
        eprintln!(
            "{}: {} of {} atoms ({fraction:.2}) around 6",
            c.name,
            sites.len(),
            s.structure.n_atoms()
        );
    }
}

/// (a) The forces on the chosen atoms and (b) the gradient of a force
/// adjoint on them alone, from the sites around them, equal the whole
/// structure's.
#[test]
fn forces_and_force_gradients_of_chosen_atoms_are_exact_from_their_sites() {
    let mut rng = Rng(5);
    for c in cases() {
        let m = &c.model;
        for s in &c.structures {
            let n = s.structure.n_atoms();
            let atoms = some_atoms(s, 6, &mut rng);
            let sites = s.sites_around(&atoms);
            let full = predict(m, s);
            let mut part = Prediction::default();
            m.predict_sites(s, &sites, &mut part);
            let pick =
                |p: &Prediction| -> Vec<f64> { atoms.iter().flat_map(|&i| p.forces[i]).collect() };
            let d = rel_max_diff(&pick(&part), &pick(&full));
            assert!(
                d < 1e-12,
                "{}: forces on the chosen atoms differ by {d:.2e}",
                c.name
            );

            let adj = force_adjoint(n, &atoms, &mut rng);
            let mut whole = vec![0.0; m.params().len()];
            m.vjp(s, &adj, &mut whole);
            let mut restricted = vec![0.0; whole.len()];
            m.vjp_sites(s, &sites, &adj, &mut restricted);
            let d = rel_norm_diff(&restricted, &whole);
            assert!(d < 1e-12, "{}: force gradient differs by {d:.2e}", c.name);
        }
    }
}

/// (b) at the batch level: the measurement gradient of a force update
/// (`step::gradient_sites`) equals the whole-structure one.
#[test]
fn force_update_gradient_of_a_batch_is_exact_from_the_sites() {
    let mut rng = Rng(8);
    for c in cases() {
        let batch: Vec<&Prepared> = c.structures.iter().collect();
        let atoms: Vec<Vec<usize>> = batch.iter().map(|s| some_atoms(s, 6, &mut rng)).collect();
        let sites: Vec<Vec<usize>> = batch
            .iter()
            .zip(&atoms)
            .map(|(s, a)| s.sites_around(a))
            .collect();
        let adjoints: Vec<Adjoint> = batch
            .iter()
            .zip(&atoms)
            .map(|(s, a)| force_adjoint(s.structure.n_atoms(), a, &mut rng))
            .collect();
        let n = c.model.params().len();
        let (mut whole, mut restricted) = (vec![0.0; n], vec![0.0; n]);
        step::gradient(
            &c.model,
            &Batch::local(&batch),
            &adjoints,
            ForceGradient::Exact,
            &mut whole,
        );
        step::gradient_sites(
            &c.model,
            &Batch::local(&batch),
            &sites,
            &adjoints,
            ForceGradient::Exact,
            &mut restricted,
            Vec::new(),
        );
        // the same from the tapes of the sites' prediction, to the bit
        let b = Batch::local(&batch);
        let mut tapes = Vec::new();
        step::predict_sites(&c.model, &b, &sites, Some(&mut tapes));
        let mut taped = vec![0.0; n];
        let exact = ForceGradient::Exact;
        step::gradient_sites(&c.model, &b, &sites, &adjoints, exact, &mut taped, tapes);
        assert_eq!(taped, restricted, "{}: the taped gradient differs", c.name);
        let d = rel_norm_diff(&restricted, &whole);
        assert!(
            d < 1e-12,
            "{}: measurement gradient differs by {d:.2e}",
            c.name
        );
    }
}

/// One FEKF step with the force updates on sites moves the parameters as
/// the step on whole structures does (to rounding, amplified a little by
/// the filter's updates).
#[test]
fn fekf_step_on_sites_matches_the_step_on_whole_structures() {
    for c in cases() {
        let batch: Vec<&Prepared> = c.structures.iter().collect();
        let start = c.model.params().to_vec();
        let step_with = |sites_only: bool| {
            let mut m = c.model.clone();
            let n = m.params().len();
            let blocks = Kalman::blocks_from_groups(&m.param_groups(), n, 2048);
            let settings = KalmanSettings {
                p0: 1.0,
                lambda0: 0.98,
                nu: 0.9987,
                block_size: 2048,
                p_max: Some(1.0),
                noise: None,
            };
            let mut kalman = Kalman::new(settings, blocks);
            let fekf = FekfSettings {
                pref_e: 1.0,
                pref_f: 1.0,
                pref_v: 1.0,
                force_updates: 3,
                atoms_per_update: 6,
                balance_by_loss: false,
                force_gradient: ForceGradient::Exact,
                sites_only,
            };
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
            let mut state = FekfStep::new(n);
            state.run(
                &mut m,
                &mut kalman,
                &Batch::local(&batch),
                &fekf,
                &LossConfig::default(),
                &mut rng,
            );
            let moved: Vec<f64> = m.params().iter().zip(&start).map(|(a, b)| a - b).collect();
            moved
        };
        let (full, sites) = (step_with(false), step_with(true));
        let d = rel_norm_diff(&sites, &full);
        assert!(d < 1e-10, "{}: parameter steps differ by {d:.2e}", c.name);
    }
}

/// (c) The predictions and vjps of a partition of the atoms (interleaved
/// thirds; contiguous runs of 50) sum to the whole structure's.
#[test]
fn predictions_and_vjps_of_a_partition_sum_to_the_whole() {
    for c in cases() {
        for s in &c.structures {
            let n = s.structure.n_atoms();
            let (_, adj) = term_adjoints(n, 6).pop().expect("combined adjoint");
            let full = predict(&c.model, s);
            let mut g_full = vec![0.0; c.model.params().len()];
            c.model.vjp(s, &adj, &mut g_full);
            let thirds: Vec<Vec<usize>> = (0..3).map(|r| (r..n).step_by(3).collect()).collect();
            let runs: Vec<Vec<usize>> = (0..n)
                .step_by(50)
                .map(|a| (a..(a + 50).min(n)).collect())
                .collect();
            for parts in [thirds, runs] {
                let (sum, g_sum) = sum_over_parts(&c.model, s, &parts, &adj);
                assert_predictions_close(&sum, &full, 1e-12, c.name);
                let d = rel_norm_diff(&g_sum, &g_full);
                assert!(d < 1e-12, "{}: vjp of the parts differs by {d:.2e}", c.name);
            }
        }
    }
}

/// A batch of one structure is split over chunks of atoms: the prediction,
/// loss and gradient are bit-identical on one and two threads, and equal
/// the whole-structure calls to rounding.
#[test]
fn one_structure_batches_are_split_over_atoms_bit_identically_for_any_thread_count() {
    for c in cases() {
        let s = &c.structures[0];
        if s.structure.n_atoms() <= 64 {
            eprintln!("{}: one chunk only, nothing to split", c.name);
            continue;
        }
        let batch = [s];
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let p = step::predict(&c.model, &batch).pop().unwrap();
                let mut g = vec![0.0; c.model.params().len()];
                let parts = step::loss_and_gradient(
                    &c.model,
                    &Batch::local(&batch),
                    &LossConfig::default(),
                    |_, _| true,
                    &mut g,
                );
                (p, parts.total, g)
            })
        };
        let (one, two) = (run(1), run(2));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            one.0, two.0,
            "{}: predictions differ between 1 and 2 threads",
            c.name
        );
        assert_eq!(one.1.to_bits(), two.1.to_bits(), "{}: loss", c.name);
        assert_eq!(
            bits(&one.2),
            bits(&two.2),
            "{}: gradients differ between 1 and 2 threads",
            c.name
        );

        assert_predictions_close(&one.0, &predict(&c.model, s), 1e-12, c.name);
        let mut adjoints = Vec::new();
        let p = predict(&c.model, s);
        forcefit::loss::evaluate(
            &LossConfig::default(),
            &[(&s.structure, &p)],
            |_, _| true,
            &mut adjoints,
        );
        let mut whole = vec![0.0; c.model.params().len()];
        c.model.vjp(s, &adjoints[0], &mut whole);
        let d = rel_norm_diff(&one.2, &whole);
        assert!(d < 1e-12, "{}: split gradient differs by {d:.2e}", c.name);
    }
}
