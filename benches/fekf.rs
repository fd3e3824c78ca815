//! Cost of one FEKF step on the shared data sets: time per step split into
//! prediction, measurement gradients (`vjp`) and the Kalman update, with
//! the force updates over whole structures ("full") and over the sites
//! around the chosen atoms ("sites"), against one Adam step (loss and
//! gradient) on the same batch; the mean fraction of a structure's atoms
//! in `sites_around` of 6 atoms; covariance size and peak memory.
//!
//! Cases: GPUMD's models of PbTe and MoSi2N4 (`nep.txt`) and a random
//! DeePMD se_e2_a of the FEKF paper's size on water (rcut 6, rcut_smth
//! 0.5, sel [46, 92], embedding [25, 25, 25], axis 16, fitting [50, 50,
//! 50], statistics fitted on the frames); and 2x2x2 supercells of both
//! (2,000 and 1,536 atoms), where the sites around 6 atoms are a smaller
//! share of the cell. Batches of 1 are split over chunks of atoms, so they
//! also use the second thread.
//!
//! Covariance precision: the Kalman time per update with the covariance
//! stored in float64 and in float32, and the two filters run side by side
//! from the same model over the same batches — how far the float32
//! trajectory drifts from the float64 one (parameters, the gain A, the
//! loss) update after update.
//!
//! Each figure is the fastest of 3 runs. Run: `cargo bench --bench fekf`; `FORCEFIT_THREADS=2` (comma-separated
//! list, default 1,2) sets the thread counts; `FORCEFIT_FEKF_PARTS`
//! (`steps,precision` by default) the parts to run.

use forcefit::loss::{ForceGradient, LossConfig};
use forcefit::model::{AnyModel, Model, ModelConfig, Prepared};
use forcefit::optim::{Kalman, KalmanSettings, Placement, Precision};
use forcefit::train::optimizer::fekf::{FekfSettings, FekfStep, Timing};
use forcefit::train::step::{self, Batch};
use forcefit::{batch, io, model};

mod common;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

/// A model with its prepared data and the filter's block size.
struct Case {
    name: String,
    model: AnyModel,
    prepared: Vec<Prepared>,
    block_size: usize,
}

/// What the timed steps of one run cost.
struct Run {
    /// Wall time per step, s.
    wall: f64,
    timing: Timing,
    /// Kalman updates per step.
    updates: f64,
}

fn nep_case(name: &str, dir: &Path) -> Case {
    let model = model::load(&dir.join("nep.txt")).expect("model");
    let structures = io::read(&dir.join("train.xyz"), None).expect("data");
    let prepared = batch::prepare_all(&model, structures).expect("prepare");
    Case {
        name: name.to_string(),
        model,
        prepared,
        block_size: 10240,
    }
}

/// The FEKF paper's DeePMD size on the first 40 water frames.
fn water_case(root: &Path) -> Case {
    let mut frames = io::read(&root.join("water-deepmd"), None).expect("water frames");
    frames.truncate(40);
    let config: ModelConfig = toml::from_str(
        "family = \"deepmd\"\ntype_map = [\"O\", \"H\"]\nsel = [46, 92]\nrcut = 6.0\n\
         rcut_smth = 0.5\nneuron = [25, 25, 25]\naxis_neuron = 16\nresnet_dt = true\n\
         type_one_side = true\nfitting_neuron = [50, 50, 50]",
    )
    .expect("config");
    let species = vec!["O".to_string(), "H".to_string()];
    let mut model = AnyModel::random(&config, species, &frames, 1).expect("model");
    let prepared = batch::prepare_all(&model, frames).expect("prepare");
    model.fit_data(&prepared);
    Case {
        name: "DeePMD water".to_string(),
        model,
        prepared,
        // deepmd-kit's default kf_blocksize
        block_size: 5120,
    }
}

/// The first `take` structures of `case` replicated n×n×n, for the same
/// model: larger cells, where the sites around 6 atoms are fewer of them.
fn replicated(case: &Case, n: usize, take: usize) -> Case {
    let big: Vec<_> = case.prepared[..take]
        .iter()
        .map(|p| common::supercell(&p.structure, n))
        .collect();
    Case {
        name: format!("{} {n}x{n}x{n}", case.name),
        model: case.model.clone(),
        prepared: batch::prepare_all(&case.model, big).expect("prepare"),
        block_size: case.block_size,
    }
}

fn blocks(case: &Case) -> Vec<std::ops::Range<usize>> {
    let n = case.model.params().len();
    Kalman::blocks_from_groups(&case.model.param_groups(), n, case.block_size)
}

fn kalman_stored(case: &Case, precision: Precision) -> Kalman {
    let blocks = blocks(case);
    let settings = KalmanSettings {
        p0: 1.0,
        lambda0: 0.98,
        nu: 0.9987,
        block_size: case.block_size,
        p_max: Some(1.0),
        noise: None,
    };
    let mut k = Kalman::unallocated(settings, blocks).stored(precision, Placement::default());
    k.restart();
    k
}

fn settings(sites_only: bool) -> FekfSettings {
    FekfSettings {
        pref_e: 1.0,
        pref_f: 1.0,
        pref_v: 1.0,
        force_updates: 4,
        atoms_per_update: 6,
        balance_by_loss: false,
        force_gradient: ForceGradient::Exact,
        sites_only,
    }
}

/// One warm-up step, then the timed steps over `batches`, from the case's
/// model and a fresh filter.
fn run(case: &Case, batches: &[Vec<&Prepared>], sites_only: bool) -> Run {
    run_stored(case, batches, sites_only, Precision::Float64)
}

fn run_stored(
    case: &Case,
    batches: &[Vec<&Prepared>],
    sites_only: bool,
    precision: Precision,
) -> Run {
    let mut model = case.model.clone();
    let mut kalman = kalman_stored(case, precision);
    let fekf = settings(sites_only);
    let weights = LossConfig::default();
    let mut state = FekfStep::new(model.params().len());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let first = &batches[0];
    state.run(
        &mut model,
        &mut kalman,
        &Batch::local(first),
        &fekf,
        &weights,
        &mut rng,
    );
    state.timing = Default::default();
    let updates_before = kalman.updates;
    let t = Instant::now();
    for b in batches {
        state.run(
            &mut model,
            &mut kalman,
            &Batch::local(b),
            &fekf,
            &weights,
            &mut rng,
        );
    }
    let steps = batches.len() as f64;
    Run {
        wall: t.elapsed().as_secs_f64() / steps,
        timing: state.timing,
        updates: (kalman.updates - updates_before) as f64 / steps,
    }
}

/// Mean over the structures of |sites_around(6 random atoms)| / atoms.
fn site_fraction(prepared: &[Prepared]) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let sum: f64 = prepared
        .iter()
        .map(|s| {
            let n = s.structure.n_atoms();
            let mut atoms: Vec<usize> = (0..6.min(n)).map(|_| rng.random_range(0..n)).collect();
            atoms.sort_unstable();
            atoms.dedup();
            s.sites_around(&atoms).len() as f64 / n as f64
        })
        .sum();
    sum / prepared.len() as f64
}

fn adam_step(case: &Case, batches: &[Vec<&Prepared>]) -> f64 {
    let weights = LossConfig::default();
    let mut grad = vec![0.0; case.model.params().len()];
    let t = Instant::now();
    for b in batches {
        step::loss_and_gradient(
            &case.model,
            &Batch::local(b),
            &weights,
            |_, _| true,
            &mut grad,
        );
    }
    t.elapsed().as_secs_f64() / batches.len() as f64
}

/// Timed runs of each kind per measurement.
const REPEATS: usize = 3;

fn faster(a: Run, b: Run) -> Run {
    if b.wall < a.wall { b } else { a }
}

fn split(r: &Run) -> String {
    let [p, v, k] = r.timing.per_step_ms();
    format!(
        "{:.1} ms = prediction {p:.1} + vjp {v:.1} + Kalman {k:.1}",
        r.wall * 1e3
    )
}

fn bench(case: &Case, batch_size: usize, steps: usize) {
    let batches: Vec<Vec<&Prepared>> = case
        .prepared
        .chunks(batch_size)
        .take(steps)
        .map(|c| c.iter().collect())
        .collect();
    let atoms: usize = batches
        .iter()
        .flatten()
        .map(|s| s.structure.n_atoms())
        .sum();
    let n = case.model.params().len();
    let blocks = blocks(case);
    println!(
        "{}: {} threads, batch {batch_size} ({:.0} atoms), {n} parameters in {} block(s), covariance {:.1} MiB",
        case.name,
        rayon::current_num_threads(),
        atoms as f64 / batches.len() as f64,
        blocks.len(),
        Kalman::memory_bytes(&blocks) as f64 / (1u64 << 20) as f64
    );
    // Alternating repetitions, the fastest of each kept: the machine is
    // shared, and a slow spell should not fall on one side only.
    let (mut full, mut sites) = (run(case, &batches, false), run(case, &batches, true));
    for _ in 1..REPEATS {
        full = faster(full, run(case, &batches, false));
        sites = faster(sites, run(case, &batches, true));
    }
    let adam = (0..REPEATS)
        .map(|_| adam_step(case, &batches))
        .fold(f64::INFINITY, f64::min);
    println!("  full  FEKF step {}", split(&full));
    println!("  sites FEKF step {}", split(&sites));
    println!(
        "  {:.1} updates per step ({:.2} ms per Kalman update); sites/full {:.2}; Adam step {:.1} ms; FEKF(sites)/Adam {:.1}",
        sites.updates,
        sites.timing.per_step_ms()[2] / sites.updates,
        sites.wall / full.wall,
        adam * 1e3,
        sites.wall / adam
    );
    if let Some(kib) = common::peak_rss_kib() {
        println!(
            "  peak resident memory so far {:.0} MiB",
            kib as f64 / 1024.0
        );
    }
}

/// Kalman time per update with float64 and float32 storage.
fn precision_speed(case: &Case, batch_size: usize, steps: usize) {
    let batches = batches(case, batch_size, steps);
    let blocks = blocks(case);
    let mut line = format!(
        "{}: {} threads, batch {batch_size}, Kalman ms per update:",
        case.name,
        rayon::current_num_threads()
    );
    let mut both = [f64::INFINITY; 2];
    // Alternating repetitions, the fastest of each kept.
    for _ in 0..REPEATS {
        for (t, p) in both
            .iter_mut()
            .zip([Precision::Float64, Precision::Float32])
        {
            let r = run_stored(case, &batches, true, p);
            *t = t.min(r.timing.per_step_ms()[2] / r.updates);
        }
    }
    for (t, p) in both.iter().zip([Precision::Float64, Precision::Float32]) {
        let mib =
            Kalman::memory_bytes_on(&blocks, p, Placement::default()) as f64 / (1u64 << 20) as f64;
        line += &format!(" {} {t:.1} ({mib:.0} MiB)", p.name());
    }
    println!("{line}; float32/float64 {:.2}", both[1] / both[0]);
}

/// The float32 filter's drift from the float64 one over `steps` steps.
fn precision_drift(case: &Case, batch_size: usize, steps: usize) {
    let batches = batches(case, batch_size, steps);
    let fekf = settings(true);
    let weights = LossConfig::default();
    let start = case.model.params().to_vec();
    let runs = [Precision::Float64, Precision::Float32].map(|p| {
        (
            case.model.clone(),
            kalman_stored(case, p),
            FekfStep::new(start.len()),
            ChaCha8Rng::seed_from_u64(1),
        )
    });
    let [mut wide, mut narrow] = runs;
    let norm = |x: &[f64], y: &[f64]| {
        x.iter()
            .zip(y)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    };
    println!(
        "{}: batch {batch_size}, float32 against float64 storage (from the same model, same batches)",
        case.name
    );
    println!(
        "  updates | |θ32 − θ64| / |θ64 − θ0| | |A32/A64 − 1| (last update) | loss32/loss64 − 1"
    );
    for (s, b) in batches.iter().enumerate() {
        let mut losses = [0.0; 2];
        for (r, loss) in [&mut wide, &mut narrow].into_iter().zip(&mut losses) {
            let (model, kalman, state, rng) = r;
            let (parts, _) = state.run(model, kalman, &Batch::local(b), &fekf, &weights, rng);
            *loss = parts.total;
        }
        let (w, n) = (wide.0.params(), narrow.0.params());
        let moved = norm(w, &start).max(f64::MIN_POSITIVE);
        let gain = (narrow.1.last_gain() / wide.1.last_gain() - 1.0).abs();
        if s < 4 || (s + 1) % 5 == 0 {
            println!(
                "  {:7} | {:.2e} | {:.2e} | {:+.2e}",
                wide.1.updates,
                norm(n, w) / moved,
                gain,
                losses[1] / losses[0] - 1.0
            );
        }
    }
}

fn batches(case: &Case, batch_size: usize, steps: usize) -> Vec<Vec<&Prepared>> {
    case.prepared
        .chunks(batch_size)
        .cycle()
        .take(steps)
        .map(|c| c.iter().collect())
        .collect()
}

fn main() {
    let Some(root) = common::datasets() else {
        return;
    };
    let parts = std::env::var("FORCEFIT_FEKF_PARTS").unwrap_or_else(|_| "steps,precision".into());
    let threads: Vec<usize> = std::env::var("FORCEFIT_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|t| t.trim().parse().expect("FORCEFIT_THREADS: thread counts"))
        .collect();
    let (mosi2n4, pbte, water) = (
        nep_case("NEP MoSi2N4", &root.join("mosi2n4")),
        nep_case("NEP PbTe", &root.join("pbte")),
        water_case(&root),
    );
    let (pbte_big, water_big) = (replicated(&pbte, 2, 4), replicated(&water, 2, 4));
    let cases = [mosi2n4, pbte, pbte_big, water, water_big];
    for case in &cases {
        println!(
            "{}: {} structures, mean fraction of atoms in sites_around(6 atoms) {:.3}",
            case.name,
            case.prepared.len(),
            site_fraction(&case.prepared)
        );
    }
    for &t in threads.iter().filter(|_| parts.contains("steps")) {
        common::with_threads(t, || {
            bench(&cases[0], 32, 9);
            bench(&cases[1], 8, 3);
            bench(&cases[1], 1, 8);
            bench(&cases[2], 1, 4);
            bench(&cases[3], 4, 4);
            bench(&cases[3], 1, 8);
            bench(&cases[4], 1, 4);
        });
    }
    if !parts.contains("precision") {
        return;
    }
    for &t in &threads {
        common::with_threads(t, || {
            precision_speed(&cases[1], 8, 3);
            precision_speed(&cases[3], 1, 4);
        });
    }
    common::with_threads(*threads.last().unwrap_or(&1), || {
        precision_drift(&cases[1], 8, 40);
        precision_drift(&cases[3], 4, 40);
    });
}
