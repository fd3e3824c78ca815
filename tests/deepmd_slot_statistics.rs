//! DeePMD models whose davg/dstd differ between the slots of one
//! neighbour-type block (deepmd-kit's layout, n_types × Σsel × 4, allows it
//! and deepmd-kit applies them slot by slot), on real water frames: forces
//! against −dE/dr, the virial against the strain derivative, the vjp and
//! the force-loss gradient against central differences over parameters.
//!
//! Slots are filled nearest first, so with such statistics the energy
//! (deepmd-kit's as well, see deepmd_python_oracle.rs) steps, by 1e-7 to
//! 1e-4 eV in these frames, wherever two neighbours of one type swap
//! distance ranks, and is smooth in between. A difference quotient across a swap measures the jump, not
//! the force (1e-2 eV/Å off for a 1e-5 Å step), so the position steps skip
//! the atoms whose move can swap two ranks, found from the geometry.

mod common;
mod deepmd_common;

use common::{Rng, check_vjp, energy};
use deepmd_common::{rank_swap_atoms, vary_by_slot, water_model, without_bias};
use forcefit::loss::{LossConfig, evaluate};
use forcefit::model::deepmd::DeepPot;
use forcefit::model::{Model, Prediction};
use forcefit::structure::Structure;

/// The four se_e2_a variants: (type_one_side, resnet_dt).
const VARIANTS: [(bool, bool); 4] = [(true, false), (true, true), (false, false), (false, true)];

/// The first frames of the water set, or `None` (skipping) without it.
fn water() -> Option<Vec<Structure>> {
    let dir = common::shared("datasets/water-deepmd/data_0")?;
    let frames = forcefit::io::deepmd::read(&dir).unwrap();
    Some(frames.into_iter().take(24).collect())
}

/// A variant with slot-dependent statistics, its energy biases zeroed (for
/// precise difference quotients).
fn slot_model(water: &[Structure], one_side: bool, resnet_dt: bool) -> DeepPot {
    let seed = 60 + 2 * one_side as u64 + resnet_dt as u64;
    let mut model = water_model(&water[..3], one_side, resnet_dt, seed);
    vary_by_slot(&mut model, seed);
    without_bias(model)
}

fn predict(model: &DeepPot, s: &Structure) -> Prediction {
    let mut p = Prediction::default();
    model.predict(&model.prepare(s.clone()).unwrap(), &mut p);
    p
}

/// Forces of every `stride`-th atom against central differences with step
/// `h`, skipping atoms whose ±h move can swap two ranks; returns how many
/// atoms were skipped.
fn check_forces(model: &DeepPot, s: &Structure, stride: usize, h: f64, tol: f64) -> usize {
    let prepared = model.prepare(s.clone()).unwrap();
    let swaps = rank_swap_atoms(&prepared, model.hyper().rcut, 2.0 * h);
    let p = predict(model, s);
    let fmax = p
        .forces
        .iter()
        .flatten()
        .fold(1e-3f64, |m, f| m.max(f.abs()));
    let mut skipped = 0;
    for i in (0..s.n_atoms()).step_by(stride) {
        if swaps[i] {
            skipped += 1;
            continue;
        }
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
    skipped
}

/// The virial against −dE/dε (step `h`); the frame must have no two ranks
/// that a strain of `h` can swap (distances change by up to h·rcut).
fn check_virial(model: &DeepPot, s: &Structure, h: f64, tol: f64) {
    let p = predict(model, s);
    let wmax = p.virial.iter().fold(1e-3f64, |m, w| m.max(w.abs()));
    for a in 0..3 {
        for b in 0..3 {
            let strained = |eps: f64| {
                let deform = |v: [f64; 3]| {
                    let mut out = v;
                    out[a] += eps * v[b];
                    out
                };
                let mut t = s.clone();
                t.positions = t.positions.iter().map(|&r| deform(r)).collect();
                t.cell = t.cell.map(|c| c.map(deform));
                energy(model, &t)
            };
            let fd = -(strained(h) - strained(-h)) / (2.0 * h);
            let analytic = p.virial[b * 3 + a];
            assert!(
                (analytic - fd).abs() < tol * wmax,
                "virial {b}{a}: analytic {analytic} vs strain derivative {fd}"
            );
        }
    }
}

/// The first frame in which no strain of `h` can swap two ranks.
fn frame_without_close_ranks<'a>(model: &DeepPot, water: &'a [Structure], h: f64) -> &'a Structure {
    let margin = 2.0 * h * model.hyper().rcut;
    water[3..]
        .iter()
        .find(|s| {
            let p = model.prepare((*s).clone()).unwrap();
            !rank_swap_atoms(&p, model.hyper().rcut, margin).contains(&true)
        })
        .expect("a water frame without two neighbour distances within the strain margin")
}

#[test]
fn forces_and_virial_every_variant() {
    let Some(water) = water() else { return };
    for (one_side, dt) in VARIANTS {
        let model = slot_model(&water, one_side, dt);
        assert!(!model.stats().slot_uniform(model.hyper()));
        let skipped = check_forces(&model, &water[3], 3, 1e-5, 1e-6);
        // the skipped atoms are a few near-ties, not the frame
        assert!(skipped < 8, "{skipped} of 64 atoms skipped");
        check_virial(
            &model,
            frame_without_close_ranks(&model, &water, 1e-6),
            1e-6,
            1e-6,
        );
        eprintln!(
            "type_one_side={one_side} resnet_dt={dt}: {skipped} atoms near a rank swap skipped"
        );
    }
}

#[test]
fn forces_and_virial_of_a_deepmd_kit_model_file() {
    let Some(water) = water() else { return };
    let Some(path) = common::shared("oracle/deepmd/deeppot_sea.yaml") else {
        return;
    };
    let mut model = DeepPot::from_file(&path).unwrap();
    vary_by_slot(&mut model, 71);
    let model = without_bias(model);
    let skipped = check_forces(&model, &water[4], 4, 1e-5, 1e-6);
    assert!(skipped < 8, "{skipped} of 48 atoms skipped");
    check_virial(
        &model,
        frame_without_close_ranks(&model, &water, 1e-6),
        1e-6,
        1e-6,
    );
}

#[test]
fn vjp_on_a_water_cluster() {
    let Some(water) = water() else { return };
    // a cluster cut from a frame: few atoms, every parameter differenced
    let mut cluster = water[3].clone();
    cluster.positions.truncate(18);
    cluster.species.truncate(18);
    cluster.pbc = [false; 3];
    cluster.cell = None;
    cluster.labels = Default::default();
    for (one_side, dt) in [(true, false), (false, true)] {
        let model = slot_model(&water, one_side, dt);
        for (term, adj) in common::term_adjoints(cluster.n_atoms(), 98) {
            let rel = check_vjp(&model, &cluster, &adj, 1e-6, 1e-6);
            eprintln!("type_one_side={one_side} resnet_dt={dt} {term}: relative error {rel:.2e}");
        }
    }
}

#[test]
fn force_loss_gradient_on_a_labelled_frame() {
    let Some(water) = water() else { return };
    let model = slot_model(&water, false, true);
    let frame = &water[5];
    let prepared = model.prepare(frame.clone()).unwrap();
    let config = LossConfig {
        lambda_e: 0.0,
        ..LossConfig::default()
    };
    let loss = |m: &DeepPot| {
        let mut p = Prediction::default();
        m.predict(&prepared, &mut p);
        let mut adjoints = Vec::new();
        let parts = evaluate(&config, &[(frame, &p)], |_, _| true, &mut adjoints);
        (parts.total, adjoints.pop().unwrap())
    };
    let (_, adj) = loss(&model);
    let mut grad = vec![0.0; model.params().len()];
    model.vjp(&prepared, &adj, &mut grad);
    let gmax = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    // a random sample of parameters: every network, a central difference each
    let mut rng = Rng(73);
    let mut work = model.clone();
    let h = 1e-6;
    for _ in 0..40 {
        let k = (rng.uniform() * grad.len() as f64) as usize;
        let orig = work.params()[k];
        work.params_mut()[k] = orig + h;
        let plus = loss(&work).0;
        work.params_mut()[k] = orig - h;
        let minus = loss(&work).0;
        work.params_mut()[k] = orig;
        let fd = (plus - minus) / (2.0 * h);
        assert!(
            (grad[k] - fd).abs() < 1e-6 * gmax,
            "parameter {k}: gradient {} vs finite difference {fd}",
            grad[k]
        );
    }
}
