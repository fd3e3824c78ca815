//! Cost of one FEKF step on the shared data sets (GPUMD's models as the
//! starting point): time per step split into prediction, measurement
//! gradients (`vjp`) and the Kalman update, against one Adam step (loss and
//! gradient) on the same batch; covariance size and peak memory.
//! Run: `cargo bench --bench fekf`.

use forcefit::loss::{ForceGradient, LossConfig};
use forcefit::model::{Model, Prepared};
use forcefit::optim::{Kalman, KalmanSettings};
use forcefit::train::fekf::{FekfSettings, FekfStep};
use forcefit::train::step;
use forcefit::{batch, io, model};

mod common;
use rand::SeedableRng;
use std::path::Path;
use std::time::Instant;

fn run(name: &str, dir: &Path, batch_size: usize, steps: usize) {
    let mut model = model::load(&dir.join("nep.txt")).expect("model");
    let structures = io::read(&dir.join("train.xyz"), None).expect("data");
    let prepared: Vec<Prepared> = batch::prepare_all(&model, structures).unwrap();
    let n = model.params().len();
    let blocks = Kalman::blocks_from_groups(&model.param_groups(), n, 10240);
    let settings = KalmanSettings {
        p0: 1.0,
        lambda0: 0.98,
        nu: 0.9987,
        block_size: 10240,
        p_max: Some(1.0),
    };
    let mut kalman = Kalman::new(settings, blocks.clone());
    let fekf = FekfSettings {
        pref_e: 1.0,
        pref_f: 1.0,
        pref_v: 1.0,
        force_updates: 4,
        atoms_per_update: 6,
        force_gradient: ForceGradient::Exact,
    };
    let weights = LossConfig::default();
    let mut step_state = FekfStep::new(n);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let batches: Vec<Vec<&Prepared>> = prepared
        .chunks(batch_size)
        .take(steps)
        .map(|c| c.iter().collect())
        .collect();
    let atoms: usize = batches
        .iter()
        .flatten()
        .map(|s| s.structure.n_atoms())
        .sum();
    // One warm-up step, then the timed ones.
    step_state.run(
        &mut model,
        &mut kalman,
        &batches[0],
        &fekf,
        &weights,
        &mut rng,
    );
    step_state.timing = Default::default();
    let t = Instant::now();
    for b in &batches {
        step_state.run(&mut model, &mut kalman, b, &fekf, &weights, &mut rng);
    }
    let wall = t.elapsed().as_secs_f64() / batches.len() as f64;
    let mut grad = vec![0.0; n];
    let t = Instant::now();
    for b in &batches {
        step::loss_and_gradient(&model, b, &weights, |_, _| true, &mut grad);
    }
    let adam = t.elapsed().as_secs_f64() / batches.len() as f64;
    let [p, v, k] = step_state.timing.per_step_ms();
    let updates = kalman.updates as f64 / (batches.len() + 1) as f64;
    println!(
        "{name}: {} threads, batch {batch_size} ({:.0} atoms), {n} parameters in {} block(s), covariance {:.1} MiB",
        rayon::current_num_threads(),
        atoms as f64 / batches.len() as f64,
        blocks.len(),
        Kalman::memory_bytes(&blocks) as f64 / (1u64 << 20) as f64
    );
    println!(
        "{name}:   FEKF step {:.1} ms = prediction {p:.1} + vjp {v:.1} + Kalman {k:.1} ({:.2} ms per update, {updates:.1} updates); Adam step {:.1} ms; FEKF/Adam {:.1}",
        wall * 1e3,
        k / updates,
        adam * 1e3,
        wall / adam
    );
    if let Some(kib) = common::peak_rss_kib() {
        println!(
            "{name}:   peak resident memory so far {:.0} MiB",
            kib as f64 / 1024.0
        );
    }
}

fn main() {
    let Some(root) = common::datasets() else {
        return;
    };
    for threads in [1, 2] {
        common::with_threads(threads, || {
            run("MoSi2N4", &root.join("mosi2n4"), 32, 9);
            run("PbTe", &root.join("pbte"), 8, 3);
        });
    }
}
