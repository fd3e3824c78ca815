//! DeePMD se_e2_a throughput on the water data set (192 atoms per frame):
//! energy + forces + virial prediction, and the training step's vjp
//! (energy and force adjoints), on 1 and 2 threads, for deepmd-kit's water
//! example size (embedding [25, 50, 100], axis 16, fitting [240, 240, 240])
//! and the small FEKF-paper size (embedding [25, 25, 25], fitting
//! [50, 50, 50], resnet_dt). Statistics are fitted on the frames.
//!
//! Run: `cargo bench --bench deepmd_predict`. With `FORCEFIT_DP_MODEL` set
//! to deepmd-kit model files (`.yaml`/`.json`, comma-separated) those are
//! timed instead of the random models. `FORCEFIT_DP_FRAMES` sets how many
//! frames to time (default 20); `FORCEFIT_DP_VJP=0` skips the vjp (for
//! profiling the prediction alone).

use forcefit::model::deepmd::{DeepPot, DeepmdConfig};
use forcefit::model::{Adjoint, Model, Prepared};
use forcefit::{batch, io};
use rand::SeedableRng;
use rayon::prelude::*;

mod common;

fn random_model(
    name: &str,
    config: &str,
    frames: &[forcefit::structure::Structure],
) -> (String, DeepPot) {
    let config: DeepmdConfig = toml::from_str(config).expect("config");
    let hyper = config.hyper(&[]).expect("hyper");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut model = DeepPot::random(hyper, &mut rng).expect("model");
    let prepared = batch::prepare_all(&model, frames.to_vec()).expect("prepare");
    model.fit_statistics(&prepared);
    (name.to_string(), model)
}

fn bench(name: &str, model: &DeepPot, frames: &[forcefit::structure::Structure]) {
    let n_atoms: usize = frames.iter().map(|s| s.n_atoms()).sum();
    let prepared: Vec<Prepared> = batch::prepare_all(model, frames.to_vec()).expect("prepare");
    let adjoints: Vec<Adjoint> = prepared
        .iter()
        .map(|p| Adjoint {
            energy: 1.0,
            forces: (0..p.structure.n_atoms())
                .map(|i| [0.01 * (i % 7) as f64, -0.02, 0.005])
                .collect(),
            virial: [0.0; 9],
        })
        .collect();
    let n_params = model.params().len();
    println!(
        "{name}: {} parameters, {} frames, {n_atoms} atoms",
        n_params,
        frames.len()
    );
    for threads in [1, 2] {
        common::with_threads(threads, || {
            let _ = batch::predict_all(model, &prepared);
            let predict = common::best_of(3, || batch::predict_all(model, &prepared));
            let skip_vjp = std::env::var("FORCEFIT_DP_VJP").is_ok_and(|v| v == "0");
            let vjp = common::best_of(if skip_vjp { 0 } else { 3 }, || {
                prepared
                    .par_iter()
                    .zip(&adjoints)
                    .map(|(p, a)| {
                        let mut g = vec![0.0; n_params];
                        model.vjp(p, a, &mut g);
                        g[0]
                    })
                    .sum::<f64>()
            });
            println!(
                "  {threads} thread(s): E+F+W {:.3} s ({:.0} atoms/s), vjp {:.3} s ({:.0} atoms/s), vjp/predict {:.2}",
                predict,
                n_atoms as f64 / predict,
                vjp,
                n_atoms as f64 / vjp,
                vjp / predict
            );
        });
    }
}

fn main() {
    let Some(root) = common::datasets() else {
        return;
    };
    let n_frames: usize = std::env::var("FORCEFIT_DP_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut frames = io::read(&root.join("water-deepmd"), None).expect("water frames");
    frames.truncate(n_frames);
    let models: Vec<(String, DeepPot)> = match std::env::var("FORCEFIT_DP_MODEL") {
        Ok(list) => list
            .split(',')
            .map(|p| {
                let path = std::path::Path::new(p.trim());
                (
                    path.display().to_string(),
                    DeepPot::from_file(path).expect("model file"),
                )
            })
            .collect(),
        Err(_) => vec![
            random_model(
                "water example (se_e2_a [25, 50, 100] axis 16, fitting [240, 240, 240])",
                "type_map = [\"O\", \"H\"]\nsel = [46, 92]\nrcut = 6.0\nrcut_smth = 0.5\nneuron = [25, 50, 100]\n\
                 axis_neuron = 16\ntype_one_side = true\nfitting_neuron = [240, 240, 240]",
                &frames,
            ),
            random_model(
                "FEKF size (se_e2_a [25, 25, 25] axis 16, fitting [50, 50, 50], resnet_dt)",
                "type_map = [\"O\", \"H\"]\nsel = [46, 92]\nrcut = 6.0\nrcut_smth = 0.5\nneuron = [25, 25, 25]\n\
                 axis_neuron = 16\nresnet_dt = true\ntype_one_side = true\nfitting_neuron = [50, 50, 50]",
                &frames,
            ),
        ],
    };
    for (name, model) in &models {
        bench(name, model, &frames);
    }
}
