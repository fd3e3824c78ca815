//! How close the training passes come to the machine's float64 limit: for
//! each pass, the FLOPs counted from the model's shapes, the time, the
//! achieved GFLOP/s, and that as a share of the float64 GEMM peak this
//! bench measures (`matrixmultiply`'s dgemm on 1,024² matrices: one
//! thread; two threads each multiplying their own pair).
//!
//! Passes:
//!
//! - DeePMD se_e2_a on water (192-atom frames of `water-deepmd/data_0`,
//!   random parameters, statistics fitted on the frames), for deepmd-kit's
//!   water example (embedding [25, 50, 100], axis 16, fitting [240, 240,
//!   240]) and the FEKF paper's model of `examples/benchmarks/water-dp/
//!   input.json` (embedding [25, 25, 25], fitting [50, 50, 50]); both
//!   sel [46, 92], rcut 6, type_one_side, fitting resnet_dt:
//!   - (a) the prediction (energy, forces, virial) of one frame;
//!   - (b) the training step as `forcefit dp` runs it at batch 1: loss
//!     and exact gradient (`step::loss_and_gradient`: a prediction, the
//!     loss, the vjp);
//!   - (c) FEKF's measurements: the energy gradient of one frame
//!     (`step::gradient` with an energy adjoint) and one force update's
//!     gradient (`step::gradient_sites`, force adjoints on 6 atoms, over
//!     the sites around them);
//!
//!   each model also with `precision = "float32"` (rows labelled
//!   "float32": the embedding networks in f32 and the fitting networks'
//!   products in f32, as `forcefit dp` runs deepmd-kit's float32 inputs;
//!   the FLOPs counted as for float64, and the share of peak still
//!   against the float64 peak);
//! - NEP on MoSi2N4 (GPUMD's `nep.txt`), the training step at batch 8
//!   (`examples/benchmarks/mosi2n4-adam.toml`), geometry cached;
//! - BP on TiO2 (`examples/benchmarks/tio2-aenet/forcefit-adamw.toml`'s
//!   model, random parameters), the training step at batch 16, every
//!   structure with forces, descriptors and Jacobians cached.
//!
//! FLOP counts (a multiply-add is 2, every other arithmetic operation 1,
//! tanh 1). A dense layer with a inputs and b outputs costs per row:
//! forward 2ab + 3b (affine with bias, tanh, φ' = 1 − t²; +2b for φ''),
//! tangent ẋW 2ab + b, backward to the input 2ab + b, backward to the
//! parameters 2ab + 3b (+2ab for the input), backward through value and
//! tangent 4ab + 7b (+4ab for both input adjoints); a timestep or a
//! residual adds b per pass. For DeePMD, with R real neighbour rows
//! (within rcut and `sel`), N sites, ng the embedding width, A the axis
//! neurons, T types and P = T·Σsel empty-slot rows (evaluated once per
//! call):
//!
//! - prediction: R·(25 + Σ_emb(forward + tangent) + 8ng + 16ng + 60)
//!   (environment row; G and G' = dG/dR̃₀; GᵀR̃; GR̄ᵀG and GR̄ᵀG'; the
//!   row's gradient with forces and virial) + N·(4ng·T + 4ng + 8ng·A +
//!   16ng·A) (empty slots; D = GR·GR<ᵀ; its adjoint) + Σ_fit (forward +
//!   backward to the input) + P·Σ_emb forward;
//! - vjp: R·(25 + 40 + Σ_emb(forward with φ'' + tangent + backward
//!   through the tangent) + 48ng) (row tangent Ṙ; GR, GṘ, Ḡ and Ḡ') +
//!   N·(8ng·T + 4ng + 24ng·A + 48ng·A) (D, Ḋ; three adjoints of D) +
//!   Σ_fit (forward with φ'' + tangent + backward through the tangent) +
//!   P·Σ_emb (2 forward + backward) (the empty slots' table and their
//!   gradient);
//! - training step: prediction + vjp (the loss itself is O(N)), less
//!   what the vjp takes from the prediction's tape instead of recomputing:
//!   R·(25 + Σ_emb(forward + tangent) + 8ng);
//! - energy gradient: R·(25 + Σ_emb(forward + backward) + 16ng) +
//!   N·(8ng·T + 4ng + 24ng·A) + Σ_fit(forward + backward) + P·Σ_emb(2
//!   forward + backward);
//! - force update: the vjp over the sites around the 6 atoms.
//!
//! NEP (dominant terms, per atom, radial pair and angular pair; nr, na
//! channels, kr, ka basis functions, c harmonic components, d descriptor
//! length, H neurons, T types): prediction T·nr·4kr + 4dH + 5H + 8na·c
//! per atom, 2kr + 30 per radial pair, na(4ka + 6c) + 8c + 30 per
//! angular pair; vjp T·nr·8kr + 12dH + 15H + 20na·c per atom, 2kr + 10
//! per radial pair, 20 + 6c + na(8ka + 12c + 1) per angular pair. BP (per atom of
//! descriptor length d, nr radial and na angular orders, B blocks):
//! prediction 2d + network forward and input adjoint, (2nr + 27) per
//! radial and (6na·B + 24) per angular pair; vjp d + network value,
//! tangent and reverse, (2nr + 20) per radial and (6na·B + 15) per angular
//! pair.
//!
//! Times: with one thread, the on-CPU time of the thread doing the work
//! (`CLOCK_THREAD_CPUTIME_ID`, the clock of `/proc/thread-self/schedstat`
//! read to the nanosecond), the least of the repetitions, so that
//! another process on the machine does not count; with two threads, wall
//! time, least of the repetitions (noisy on a shared machine).
//!
//! Run: `cargo bench --bench flops`. `FORCEFIT_FLOPS_REPS` (default 5)
//! sets the repetitions, `FORCEFIT_FLOPS_CASES` (comma-separated among
//! `water`, `water-f32`, `fekf`, `fekf-f32`, `nep`, `bp`; default all) the
//! cases,
//! `FORCEFIT_FLOPS_PASSES` (words of the pass names, e.g. `training`) the
//! passes, `FORCEFIT_FLOPS_THREADS` (`1`, `2` or `1,2`) the thread counts,
//! and `FORCEFIT_FLOPS_PEAK=0` skips the GEMM peak (for profiling).

use forcefit::loss::{ForceGradient, LossConfig, LossKind};
use forcefit::model::deepmd::{DeepPot, DeepmdConfig};
use forcefit::model::{Adjoint, AnyModel, Model, ModelConfig, Prepared};
use forcefit::nn::Precision;
use forcefit::structure::Structure;
use forcefit::train::step::{self, Batch};
use forcefit::{batch, io, model};
use rand::SeedableRng;
use std::path::Path;
use std::time::Instant;

mod common;
#[path = "flops/count.rs"]
mod count;

/// On-CPU time of the calling thread so far, s: the clock behind
/// `/proc/thread-self/schedstat`'s first field, read through
/// clock_gettime, which brings it up to date (the file only advances at
/// scheduler ticks, 4 ms here: too coarse for a 10 ms pass).
fn thread_cpu_s() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return f64::NAN;
    }
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Least on-CPU time of `reps` runs of `f` on this thread, s.
fn cpu_best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = thread_cpu_s();
        f();
        best = best.min(thread_cpu_s() - t);
    }
    best
}

/// Least wall time of `reps` runs of `f`, s.
fn wall_best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn reps() -> usize {
    std::env::var("FORCEFIT_FLOPS_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn wanted(case: &str) -> bool {
    match std::env::var("FORCEFIT_FLOPS_CASES") {
        Ok(list) => list.split(',').any(|c| c.trim() == case),
        Err(_) => true,
    }
}

/// C = A·B of two n×n matrices, dgemm.
fn square_gemm(n: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
    let s = n as isize;
    // SAFETY: a, b and c hold n² elements each, addressed row-major.
    unsafe {
        matrixmultiply::dgemm(
            n,
            n,
            n,
            1.0,
            a.as_ptr(),
            s,
            1,
            b.as_ptr(),
            s,
            1,
            0.0,
            c.as_mut_ptr(),
            s,
            1,
        );
    }
}

/// The dgemm peak, GFLOP/s: one thread (on-CPU time), two threads (wall).
fn gemm_peak(reps: usize) -> [f64; 2] {
    let n = 1024;
    let flops = 2.0 * (n * n * n) as f64;
    let a: Vec<f64> = (0..n * n).map(|k| ((k * 7) % 13) as f64 * 0.1).collect();
    let b = a.clone();
    let mut c = vec![0.0; n * n];
    let one = cpu_best(reps, || square_gemm(n, &a, &b, &mut c));
    let two = wall_best(reps, || {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let mut c = vec![0.0; n * n];
                    square_gemm(n, &a, &b, &mut c);
                });
            }
        });
    });
    [flops / one * 1e-9, 2.0 * flops / two * 1e-9]
}

/// One pass: its FLOPs and its times with 1 thread (CPU) and 2 (wall),
/// per step (one frame, or one batch).
struct Row {
    model: String,
    pass: &'static str,
    flops: f64,
    t1: f64,
    t2: f64,
}

/// The thread counts to time (`FORCEFIT_FLOPS_THREADS`, default 1,2).
fn thread_counts() -> Vec<usize> {
    let list = std::env::var("FORCEFIT_FLOPS_THREADS").unwrap_or_else(|_| "1,2".into());
    list.split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect()
}

/// Times `f`, which runs `steps` steps, with one thread (CPU) and two
/// (wall); `None` when `FORCEFIT_FLOPS_PASSES` leaves the pass out.
fn timed(
    model: &str,
    pass: &'static str,
    steps: usize,
    flops: f64,
    f: impl Fn() + Sync,
) -> Option<Row> {
    if let Ok(list) = std::env::var("FORCEFIT_FLOPS_PASSES")
        && !list.split(',').any(|p| pass.contains(p.trim()))
    {
        return None;
    }
    let (reps, threads) = (reps(), thread_counts());
    let per = steps as f64;
    let mut t = [f64::NAN; 2];
    if threads.contains(&1) {
        t[0] = common::with_threads(1, || cpu_best(reps, &f)) / per;
    }
    if threads.contains(&2) {
        t[1] = common::with_threads(2, || wall_best(reps, &f)) / per;
    }
    Some(Row {
        model: model.to_string(),
        pass,
        flops: flops / per,
        t1: t[0],
        t2: t[1],
    })
}

/// deepmd-kit's ener loss as `forcefit dp` translates input.json at its
/// start (prefactors e 0.02 → 3.84 on 192 atoms, f 1000).
fn dp_loss() -> LossConfig {
    LossConfig {
        lambda_e: 3.84,
        lambda_f: 1000.0,
        lambda_v: 0.0,
        kind: LossKind::Mse,
        ..LossConfig::default()
    }
}

/// The DeePMD passes on `frames` for the model `config` describes.
fn deepmd_rows(name: &str, config: &str, frames: &[Structure]) -> Vec<Row> {
    let config: DeepmdConfig = toml::from_str(config).expect("config");
    let hyper = config.hyper(&[]).expect("hyper");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut m = DeepPot::random(hyper, &mut rng).expect("model");
    config.apply_precisions(&mut m);
    let prepared = batch::prepare_all(&m, frames.to_vec()).expect("prepare");
    m.fit_statistics(&prepared);
    let model: &DeepPot = &m;
    let n_params = model.params().len();
    let all: Vec<Vec<usize>> = prepared.iter().map(|p| p.all_sites()).collect();
    // FEKF's force update: 6 atoms, the sites around them
    let chosen = [3usize, 40, 77, 101, 150, 188];
    let around: Vec<Vec<usize>> = prepared.iter().map(|p| p.sites_around(&chosen)).collect();
    let counts = |lists: &[Vec<usize>]| -> Vec<count::DpCounts> {
        prepared
            .iter()
            .zip(lists)
            .map(|(p, s)| count::DpCounts::of(model, p, s))
            .collect()
    };
    let (c_all, c_around) = (counts(&all), counts(&around));
    let sum = |c: &[count::DpCounts], f: fn(&DeepPot, &count::DpCounts) -> f64| -> f64 {
        c.iter().map(|c| f(model, c)).sum()
    };
    let energy_adj = Adjoint {
        energy: 1.0,
        ..Adjoint::default()
    };
    let force_adj: Vec<Adjoint> = prepared
        .iter()
        .map(|p| {
            let mut forces = vec![[0.0; 3]; p.structure.n_atoms()];
            for &i in &chosen {
                forces[i] = [0.3, -0.2, 0.1];
            }
            Adjoint {
                forces,
                ..Adjoint::default()
            }
        })
        .collect();
    let loss = dp_loss();
    let n = prepared.len();
    let mut rows = Vec::new();
    rows.push(timed(
        name,
        "(a) prediction",
        n,
        sum(&c_all, count::dp_predict),
        || {
            for p in &prepared {
                std::hint::black_box(step::predict(model, &[p]));
            }
        },
    ));
    // the vjp runs from the prediction's tape: G and G' are not redone
    let step_flops =
        sum(&c_all, count::dp_predict) + sum(&c_all, count::dp_vjp) - sum(&c_all, count::dp_taped);
    rows.push(timed(name, "(b) training step", n, step_flops, || {
        let mut grad = vec![0.0; n_params];
        for p in &prepared {
            let b = Batch::local(&[p]);
            step::loss_and_gradient(model, &b, &loss, |_, _| true, &mut grad);
        }
    }));
    let fekf_e = sum(&c_all, count::dp_energy_gradient);
    rows.push(timed(name, "(c) FEKF energy gradient", n, fekf_e, || {
        let mut grad = vec![0.0; n_params];
        for p in &prepared {
            let b = Batch::local(&[p]);
            let adj = [energy_adj.clone()];
            step::gradient(model, &b, &adj, ForceGradient::Exact, &mut grad);
        }
    }));
    let fekf_f = sum(&c_around, count::dp_vjp);
    rows.push(timed(
        name,
        "(c) FEKF force gradient (6 atoms)",
        n,
        fekf_f,
        || {
            let mut grad = vec![0.0; n_params];
            for ((p, sites), adj) in prepared.iter().zip(&around).zip(&force_adj) {
                let b = Batch::local(&[p]);
                let (sites, adj) = ([sites.clone()], [adj.clone()]);
                step::gradient_sites(
                    model,
                    &b,
                    &sites,
                    &adj,
                    ForceGradient::Exact,
                    &mut grad,
                    Vec::new(),
                );
            }
        },
    ));
    let sites: f64 = around.iter().map(|s| s.len() as f64).sum::<f64>() / around.len() as f64;
    eprintln!(
        "{name}: {n_params} parameters, {:.0} real neighbour rows per frame, {sites:.0} sites around 6 atoms",
        c_all.iter().map(|c| c.rows).sum::<f64>() / c_all.len() as f64
    );
    rows.into_iter().flatten().collect()
}

/// The training step of a model over batches of its prepared structures,
/// caches filled as training fills them.
fn step_row(
    name: &str,
    model: &AnyModel,
    prepared: &[Prepared],
    batch_size: usize,
    loss: &LossConfig,
    flops: f64,
) -> Option<Row> {
    for s in prepared {
        model.cache_structure(s);
    }
    let refs: Vec<&Prepared> = prepared.iter().collect();
    let n_params = model.params().len();
    let steps = prepared.len().div_ceil(batch_size);
    timed(name, "training step", steps, flops, || {
        let mut grad = vec![0.0; n_params];
        for b in refs.chunks(batch_size) {
            step::loss_and_gradient(model, &Batch::local(b), loss, |_, _| true, &mut grad);
        }
    })
}

/// NEP on MoSi2N4: GPUMD's model, the first 64 training structures in
/// batches of 8.
fn nep_rows(root: &Path) -> Vec<Row> {
    let dir = root.join("mosi2n4");
    let model = model::load(&dir.join("nep.txt")).expect("model");
    let mut structures = io::read(&dir.join("train.xyz"), None).expect("data");
    structures.truncate(64);
    let prepared = batch::prepare_all(&model, structures).expect("prepare");
    let AnyModel::Nep(nep) = &model else {
        panic!("nep.txt is not a NEP")
    };
    let flops: f64 = prepared.iter().map(|s| count::nep_step(nep, s)).sum();
    let name = "NEP MoSi2N4 (64 structures, batch 8)";
    step_row(name, &model, &prepared, 8, &LossConfig::default(), flops)
        .into_iter()
        .collect()
}

/// BP on TiO2: the recipe's model with random weights, the first 160
/// structures in batches of 16.
fn bp_rows(root: &Path) -> Vec<Row> {
    let mut frames = io::read(&root.join("tio2-aenet/xsf"), None).expect("TiO2 frames");
    frames.truncate(160);
    let config: ModelConfig = toml::from_str(
        "family = \"bp\"\nspecies = [\"Ti\", \"O\"]\nradial_cutoff = 6.5\nradial_order = 20\n\
         angular_cutoff = 5.0\nangular_order = 6\nrc_min = 0.35\nhidden = [5, 5]\n\
         activation = \"tanh\"",
    )
    .expect("config");
    let species = vec!["Ti".to_string(), "O".to_string()];
    let mut model = AnyModel::random(&config, species, &frames, 1).expect("model");
    let prepared = batch::prepare_all(&model, frames).expect("prepare");
    model.fit_data(&prepared);
    let AnyModel::Bp(bp) = &model else {
        panic!("not a BP model")
    };
    let flops: f64 = prepared.iter().map(|s| count::bp_step(bp, s)).sum();
    let loss = LossConfig {
        lambda_e: 0.9,
        lambda_f: 0.173_205_080_756_887_7,
        lambda_v: 0.0,
        ..LossConfig::default()
    };
    let name = "BP TiO2 (160 structures, batch 16)";
    step_row(name, &model, &prepared, 16, &loss, flops)
        .into_iter()
        .collect()
}

/// Prints the table, percentages against `peak` (1 and 2 threads).
fn print_table(rows: &[Row], peak: [f64; 2]) {
    println!(
        "| model | pass | MFLOP | 1 thread ms | GFLOP/s | % peak | 2 threads ms | GFLOP/s | % peak |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let g1 = r.flops / r.t1 * 1e-9;
        let g2 = r.flops / r.t2 * 1e-9;
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.1} | {:.0} % | {:.2} | {:.1} | {:.0} % |",
            r.model,
            r.pass,
            r.flops * 1e-6,
            r.t1 * 1e3,
            g1,
            100.0 * g1 / peak[0],
            r.t2 * 1e3,
            g2,
            100.0 * g2 / peak[1]
        );
    }
}

const WATER: &str = "type_map = [\"O\", \"H\"]\nsel = [46, 92]\nrcut = 6.0\nrcut_smth = 0.5\n\
    neuron = [25, 50, 100]\naxis_neuron = 16\ntype_one_side = true\nfitting_neuron = [240, 240, 240]";
const FEKF: &str = "type_map = [\"O\", \"H\"]\nsel = [46, 92]\nrcut = 6.0\nrcut_smth = 0.5\n\
    neuron = [25, 25, 25]\naxis_neuron = 16\ntype_one_side = true\nfitting_neuron = [50, 50, 50]";

fn main() {
    let Some(root) = common::datasets() else {
        return;
    };
    // FORCEFIT_FLOPS_PEAK=0 skips the peak (for profiling the passes alone)
    let skip_peak = std::env::var("FORCEFIT_FLOPS_PEAK").is_ok_and(|v| v == "0");
    let peak = if skip_peak {
        [f64::NAN; 2]
    } else {
        gemm_peak(reps())
    };
    println!(
        "float64 GEMM peak (matrixmultiply dgemm, 1024²): 1 thread {:.1} GFLOP/s (on-CPU time), 2 threads {:.1} GFLOP/s (wall)",
        peak[0], peak[1]
    );
    let mut frames = io::read(&root.join("water-deepmd/data_0"), None).expect("water frames");
    frames.truncate(4);
    let mut rows = Vec::new();
    for (case, name, config) in [
        ("water", "DeePMD water example [25,50,100]/[240]×3", WATER),
        ("fekf", "DeePMD input.json [25,25,25]/[50]×3", FEKF),
    ] {
        for precision in [Precision::Float64, Precision::Float32] {
            let (case, name, config) = match precision {
                Precision::Float64 => (case.to_string(), name.to_string(), config.to_string()),
                Precision::Float32 => (
                    format!("{case}-f32"),
                    format!("{name} float32"),
                    format!("{config}\nprecision = \"float32\""),
                ),
            };
            if wanted(&case) {
                rows.extend(deepmd_rows(&name, &config, &frames));
            }
        }
    }
    if wanted("nep") {
        rows.extend(nep_rows(&root));
    }
    if wanted("bp") {
        rows.extend(bp_rows(&root));
    }
    print_table(&rows, peak);
}
