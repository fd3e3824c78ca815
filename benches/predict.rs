//! Prediction throughput (energy + forces + virial) of the NEP models on the
//! shared data sets, with 1 and 2 threads; neighbour-list time separately.
//! Run: `cargo bench --bench predict`.

use forcefit::model::{Prediction, Prepared};
use forcefit::{batch, io, model};
use std::time::Instant;

mod common;

fn bench(root: &std::path::Path, name: &str, model_path: &str, data: &[&str]) {
    let model_path = root.join(model_path);
    if !model_path.exists() {
        eprintln!("skipping {name}: {} not found", model_path.display());
        return;
    }
    let model = model::load(&model_path).expect("model");
    let mut structures = Vec::new();
    for d in data {
        structures.extend(io::read(&root.join(d), None).expect("data"));
    }
    let n_atoms: usize = structures.iter().map(|s| s.n_atoms()).sum();
    for threads in [1, 2] {
        common::with_threads(threads, || {
            let t = Instant::now();
            let prepared: Vec<Prepared> = batch::prepare_all(&model, structures.clone()).unwrap();
            let t_neighbors = t.elapsed().as_secs_f64();
            // warm-up, then the best of seven
            let _ = batch::predict_all(&model, &prepared);
            let best = common::best_of(7, || -> Vec<Prediction> {
                batch::predict_all(&model, &prepared)
            });
            println!(
                "{name:<10} {threads} thread(s): {n_atoms} atoms, neighbours {:.3} s ({:.0} atoms/s), \
                 E+F+W {:.3} s ({:.0} atoms/s)",
                t_neighbors,
                n_atoms as f64 / t_neighbors,
                best,
                n_atoms as f64 / best
            );
        });
    }
}

fn main() {
    let Some(root) = common::datasets() else {
        return;
    };
    bench(&root, "PbTe", "pbte/nep.txt", &["pbte/train.xyz"]);
    bench(
        &root,
        "MoSi2N4",
        "mosi2n4/nep.txt",
        &["mosi2n4/train.xyz", "mosi2n4/test.xyz"],
    );
}
