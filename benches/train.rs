//! Training-step cost on the shared data sets: one step (loss + exact
//! gradient, forces and virial included) over the whole training set
//! against one energy+force+virial prediction of the same structures,
//! computed from scratch and, as training runs them, with each
//! structure's cache filled; epoch time against system size; peak memory
//! per training atom.
//! Run: `cargo bench --bench train`.

use forcefit::loss::{ForceGradient, LossConfig};
use forcefit::model::{Model, Prepared};
use forcefit::train::step::{self, Batch};
use forcefit::{batch, io, model};

mod common;
use common::best_of;
use std::path::Path;

/// Best time of `reps` training steps over `refs` with `config`.
fn step_time(
    reps: usize,
    model: &dyn Model,
    refs: &[&Prepared],
    config: &LossConfig,
    grad: &mut [f64],
) -> f64 {
    best_of(reps, || {
        step::loss_and_gradient(model, &Batch::local(refs), config, |_, _| true, grad)
    })
}

fn ratio(name: &str, dir: &Path) {
    let model = model::load(&dir.join("nep.txt")).expect("model");
    let structures = io::read(&dir.join("train.xyz"), None).expect("data");
    let n_atoms: usize = structures.iter().map(|s| s.n_atoms()).sum();
    let rss0 = common::peak_rss_kib();
    let prepared: Vec<Prepared> = batch::prepare_all(&model, structures).unwrap();
    let refs: Vec<&Prepared> = prepared.iter().collect();
    let mut grad = vec![0.0; model.params().len()];
    let config = LossConfig::default();
    let t_predict = best_of(5, || step::predict(&model, &refs));
    let t_step = step_time(5, &model, &refs, &config, &mut grad);
    let rss1 = common::peak_rss_kib();
    let directional = LossConfig {
        force_gradient: ForceGradient::Directional { epsilon: 1e-5 },
        ..config.clone()
    };
    let t_dir = step_time(3, &model, &refs, &directional, &mut grad);
    println!(
        "{name}: {n_atoms} atoms, {} threads: predict {:.1} ms ({:.0} atoms/s), train step {:.1} ms ({:.0} atoms/s), ratio {:.2}",
        rayon::current_num_threads(),
        t_predict * 1e3,
        n_atoms as f64 / t_predict,
        t_step * 1e3,
        n_atoms as f64 / t_step,
        t_step / t_predict
    );
    println!(
        "{name}: directional force gradient step {:.1} ms, ratio to prediction {:.2}, to the exact step {:.2}",
        t_dir * 1e3,
        t_dir / t_predict,
        t_dir / t_step
    );
    // As training runs it: each structure's cache filled first.
    let t0 = std::time::Instant::now();
    for s in &prepared {
        model.cache_structure(s);
    }
    let t_fill = t0.elapsed().as_secs_f64();
    let rss2 = common::peak_rss_kib();
    let t_predict_cached = best_of(5, || step::predict(&model, &refs));
    let t_step_cached = step_time(5, &model, &refs, &config, &mut grad);
    println!(
        "{name}: with the training cache (filled in {:.1} ms, one thread): predict {:.1} ms, train step {:.1} ms ({:.0} atoms/s)",
        t_fill * 1e3,
        t_predict_cached * 1e3,
        t_step_cached * 1e3,
        n_atoms as f64 / t_step_cached
    );
    if let (Some(a), Some(b)) = (rss1, rss2) {
        println!(
            "{name}: training cache: {:.1} KiB per training atom",
            (b.saturating_sub(a)) as f64 / n_atoms as f64
        );
    }
    if let (Some(a), Some(b)) = (rss0, rss1) {
        println!(
            "{name}: peak memory growth for prepared data + step: {:.1} KiB per training atom",
            (b.saturating_sub(a)) as f64 / n_atoms as f64
        );
    }
}

fn scaling(dir: &Path) {
    let model = model::load(&dir.join("nep.txt")).expect("model");
    let s = io::read(&dir.join("train.xyz"), None)
        .expect("data")
        .remove(0);
    let config = LossConfig::default();
    let mut grad = vec![0.0; model.params().len()];
    for n in 1..=3 {
        let big = common::supercell(&s, n);
        let atoms = big.n_atoms();
        let prepared = batch::prepare_all(&model, vec![big]).unwrap();
        let refs: Vec<&Prepared> = prepared.iter().collect();
        let t = step_time(3, &model, &refs, &config, &mut grad);
        println!(
            "PbTe {n}x{n}x{n}: {atoms} atoms, train step {:.1} ms, {:.2} µs/atom",
            t * 1e3,
            t * 1e6 / atoms as f64
        );
    }
}

fn main() {
    let Some(root) = common::datasets() else {
        return;
    };
    for threads in [1, 2] {
        common::with_threads(threads, || {
            ratio("MoSi2N4", &root.join("mosi2n4"));
            ratio("PbTe", &root.join("pbte"));
        });
    }
    common::with_threads(1, || scaling(&root.join("pbte")));
}
