//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod nep_cpu;

use forcefit::structure::Structure;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `shared/<rel>`: from `$FORCEFIT_SHARED` if set, else `../shared` next
/// to the crate, else the nearest ancestor directory holding
/// `shared/datasets` (so that git worktrees nested deeper find it too).
/// `None`, with a "skipping" message on stderr, when it is absent.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(env) = std::env::var_os("FORCEFIT_SHARED") {
        roots.push(PathBuf::from(env));
    }
    roots.push(manifest.join("..").join("shared"));
    roots.extend(manifest.ancestors().skip(2).map(|a| a.join("shared")));
    for root in &roots {
        if root.join("datasets").is_dir() {
            let p = root.join(rel);
            if p.exists() {
                return Some(p);
            }
        }
    }
    eprintln!(
        "skipping: ../shared not found ({rel} is absent; the shared data sets live in \
         ../shared, or set FORCEFIT_SHARED)"
    );
    None
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `forcefit-io-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("forcefit-io-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `content` to `name` (parent directories created) and returns
    /// the full path.
    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts `r` is an error whose message contains every needle (set
/// `SHOW_ERRORS=1` to print the messages).
#[track_caller]
pub fn assert_err<T: Debug>(r: forcefit::Result<T>, needles: &[&str]) -> String {
    let msg = match r {
        Ok(v) => panic!("expected an error containing {needles:?}, got Ok({v:?})"),
        Err(e) => e.to_string(),
    };
    if std::env::var_os("SHOW_ERRORS").is_some() {
        eprintln!("{msg}");
    }
    for n in needles {
        assert!(msg.contains(n), "error message lacks {n:?}:\n  {msg}");
    }
    msg
}

/// Asserts two structures are identical bit for bit (origin excluded).
#[track_caller]
pub fn assert_same(a: &Structure, b: &Structure) {
    let ctx = format!("{} vs {}", a.origin, b.origin);
    assert_eq!(a.species, b.species, "{ctx}: species");
    assert_eq!(a.pbc, b.pbc, "{ctx}: pbc");
    assert_eq!(bits3(&a.positions), bits3(&b.positions), "{ctx}: positions");
    assert_eq!(
        a.cell.map(|c| bits3(&c)),
        b.cell.map(|c| bits3(&c)),
        "{ctx}: cell"
    );
    let (la, lb) = (&a.labels, &b.labels);
    assert_eq!(
        la.energy.map(f64::to_bits),
        lb.energy.map(f64::to_bits),
        "{ctx}: energy"
    );
    assert_eq!(
        la.forces.as_ref().map(|f| bits3(f)),
        lb.forces.as_ref().map(|f| bits3(f)),
        "{ctx}: forces"
    );
    assert_eq!(
        la.virial.map(|v| v.map(f64::to_bits)),
        lb.virial.map(|v| v.map(f64::to_bits)),
        "{ctx}: virial"
    );
    assert_eq!(la.weight.to_bits(), lb.weight.to_bits(), "{ctx}: weight");
    assert_eq!(la.config_type, lb.config_type, "{ctx}: config_type");
}

fn bits3(v: &[[f64; 3]]) -> Vec<[u64; 3]> {
    v.iter().map(|r| r.map(f64::to_bits)).collect()
}

/// Writes an `.npy` file with the element type's default dtype.
pub fn npy<T: npyz::AutoSerialize + Clone>(path: &Path, shape: &[u64], data: &[T]) {
    use npyz::WriterBuilder;
    let mut buf = Vec::new();
    {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut buf)
            .begin_nd()
            .unwrap();
        w.extend(data.iter().cloned()).unwrap();
        w.finish().unwrap();
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(path, buf).unwrap();
}

use forcefit::model::{Model, Prediction};
use forcefit::structure::{Labels, Origin};

/// A small deterministic generator (splitmix64) so tests need no RNG crate.
pub struct Rng(pub u64);

impl Rng {
    /// Next uniform number in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform number in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
}

/// Random positions in `cell` (rows) for the given species, keeping every
/// pair (images included) at least `min_dist` apart.
pub fn random_structure(
    rng: &mut Rng,
    species: &[&str],
    cell: [[f64; 3]; 3],
    pbc: [bool; 3],
    min_dist: f64,
) -> Structure {
    let mut positions: Vec<[f64; 3]> = Vec::new();
    'atoms: while positions.len() < species.len() {
        let f = [rng.uniform(), rng.uniform(), rng.uniform()];
        let p: [f64; 3] = std::array::from_fn(|k| (0..3).map(|a| f[a] * cell[a][k]).sum());
        for q in &positions {
            for na in -1i32..=1 {
                for nb in -1i32..=1 {
                    for nc in -1i32..=1 {
                        let shift = [na, nb, nc];
                        let mut d2 = 0.0;
                        for k in 0..3 {
                            let s: f64 = (0..3)
                                .map(|a| {
                                    if pbc[a] {
                                        shift[a] as f64 * cell[a][k]
                                    } else {
                                        0.0
                                    }
                                })
                                .sum();
                            d2 += (p[k] - q[k] - s).powi(2);
                        }
                        if d2 < min_dist * min_dist {
                            continue 'atoms;
                        }
                    }
                }
            }
        }
        positions.push(p);
    }
    Structure {
        species: species.iter().map(|s| s.to_string()).collect(),
        positions,
        cell: Some(cell),
        pbc,
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

/// Energy of a structure under a model.
pub fn energy(model: &dyn Model, s: &Structure) -> f64 {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    p.energy
}

/// Checks forces against −dE/dr and the virial against −dE/dε (central
/// differences with step `h`), with tolerance `tol` relative to the
/// largest component.
pub fn check_forces_and_virial(model: &dyn Model, s: &Structure, h: f64, tol: f64) {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    let fmax = p
        .forces
        .iter()
        .flatten()
        .fold(1e-3f64, |m, f| m.max(f.abs()));
    for i in 0..s.n_atoms() {
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
    let wmax = p.virial.iter().fold(1e-3f64, |m, w| m.max(w.abs()));
    for a in 0..3 {
        for b in 0..3 {
            let strained = |eps: f64| {
                let mut t = s.clone();
                let deform = |v: [f64; 3]| {
                    let mut out = v;
                    out[a] += eps * v[b];
                    out
                };
                t.positions = t.positions.iter().map(|&r| deform(r)).collect();
                t.cell = t.cell.map(|c| [deform(c[0]), deform(c[1]), deform(c[2])]);
                energy(model, &t)
            };
            // W_ab = −dE/dε_ba for r → (1 + ε) r
            let fd = -(strained(h) - strained(-h)) / (2.0 * h);
            let analytic = p.virial[b * 3 + a];
            assert!(
                (analytic - fd).abs() < tol * wmax,
                "virial {b}{a}: analytic {analytic} vs strain derivative {fd}"
            );
        }
    }
}

/// Checks `Model::vjp` against central finite differences over every
/// parameter of J(θ) = aE·E + Σ aF_i·F_i + aW:W; returns the relative error
/// ‖g − g_fd‖ / ‖g_fd‖ after asserting it is below `tol`.
pub fn check_vjp<M: Model + Clone>(
    model: &M,
    s: &Structure,
    adj: &forcefit::model::Adjoint,
    h: f64,
    tol: f64,
) -> f64 {
    let prepared = model.prepare(s.clone()).expect("prepare");
    let objective = |m: &M| {
        let mut p = Prediction::default();
        m.predict(&prepared, &mut p);
        let mut j = adj.energy * p.energy;
        for (f, a) in p.forces.iter().zip(&adj.forces) {
            j += f[0] * a[0] + f[1] * a[1] + f[2] * a[2];
        }
        j + p
            .virial
            .iter()
            .zip(&adj.virial)
            .map(|(w, a)| w * a)
            .sum::<f64>()
    };
    let mut grad = vec![0.0; model.params().len()];
    model.vjp(&prepared, adj, &mut grad);
    let mut work = model.clone();
    let (mut diff2, mut norm2) = (0.0, 0.0);
    for k in 0..grad.len() {
        let orig = work.params()[k];
        work.params_mut()[k] = orig + h;
        let plus = objective(&work);
        work.params_mut()[k] = orig - h;
        let minus = objective(&work);
        work.params_mut()[k] = orig;
        let fd = (plus - minus) / (2.0 * h);
        diff2 += (grad[k] - fd).powi(2);
        norm2 += fd * fd;
    }
    assert!(
        norm2 > 0.0,
        "the objective does not depend on the parameters"
    );
    let rel = (diff2 / norm2).sqrt();
    assert!(
        rel < tol,
        "vjp relative error {rel:.3e} (tolerance {tol:.0e})"
    );
    rel
}

/// A JSON array of numbers (oracle files).
pub fn json_numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Adjoints with one part at a time (energy, forces, virial), then all
/// together, with random force and virial parts for `n_atoms` atoms.
pub fn term_adjoints(n_atoms: usize, seed: u64) -> Vec<(&'static str, forcefit::model::Adjoint)> {
    use forcefit::model::Adjoint;
    let mut rng = Rng(seed);
    let forces: Vec<[f64; 3]> = (0..n_atoms)
        .map(|_| {
            [
                rng.range(-1.0, 1.0),
                rng.range(-1.0, 1.0),
                rng.range(-1.0, 1.0),
            ]
        })
        .collect();
    let virial: [f64; 9] = std::array::from_fn(|_| rng.range(-0.5, 0.5));
    vec![
        (
            "energy",
            Adjoint {
                energy: 0.7,
                ..Adjoint::default()
            },
        ),
        (
            "forces",
            Adjoint {
                forces: forces.clone(),
                ..Adjoint::default()
            },
        ),
        (
            "virial",
            Adjoint {
                virial,
                ..Adjoint::default()
            },
        ),
        (
            "all",
            Adjoint {
                energy: -1.3,
                forces,
                virial,
            },
        ),
    ]
}

/// A small NEP4 with random parameters (cutoffs 4.4/3.6 Å, n_max 3 2,
/// basis 4 3, 5 neurons) for gradient tests: `l` = (3-body l_max, 4-body,
/// 5-body).
pub fn random_nep(
    species: &[&str],
    l: (usize, bool, bool),
    zbl: Option<forcefit::model::nep::Zbl>,
    seed: u64,
) -> forcefit::model::nep::Nep {
    use forcefit::model::nep::angular::AngularTerms;
    use forcefit::model::nep::{Nep, NepHyper};
    let h = NepHyper {
        version: 4,
        species: species.iter().map(|s| s.to_string()).collect(),
        rc_radial: 4.4,
        rc_angular: 3.6,
        cutoffs: None,
        max_neighbors: None,
        typewise: None,
        n_max_radial: 3,
        n_max_angular: 2,
        basis_size_radial: 4,
        basis_size_angular: 3,
        angular: AngularTerms::new(l.0, l.1, l.2),
        neurons: 5,
        zbl,
    };
    let mut rng = Rng(seed);
    let params = (0..h.n_params()).map(|_| rng.range(-0.6, 0.6)).collect();
    let q_scaler = (0..h.dim()).map(|_| rng.range(0.3, 1.5)).collect();
    Nep::new(h, params, q_scaler).unwrap()
}

/// A file of the built-in silicon example, `examples/si/<name>`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/si")
        .join(name)
}

/// Runs the `forcefit` binary with `args`, capturing its output.
pub fn forcefit(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args(args)
        .output()
        .expect("run forcefit")
}

/// `forcefit CMD args…` (a drop-in) run in `dir`.
pub fn dropin(cmd: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .arg(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run forcefit")
}

/// A process's stderr as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The whitespace-separated numbers of a text file, a row per line.
pub fn columns(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect()
}

/// `forcefit predict` of `model` on `input` (written to `output` and read
/// back) beside a peer's predictions: the JSON that `python3 -c script
/// model input` prints.
pub fn predicted_and_peer(
    model: &Path,
    input: &Path,
    output: &Path,
    script: &str,
) -> (Vec<Structure>, serde_json::Value) {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let o = forcefit(&[
        "predict",
        "-m",
        &path(model),
        &path(input),
        "-o",
        &path(output),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = std::process::Command::new("python3")
        .args(["-c", script, &path(model), &path(input)])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the peer failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let ours = forcefit::io::read(output, None).unwrap();
    (ours, serde_json::from_slice(&o.stdout).unwrap())
}

/// A small, quick training configuration on the built-in silicon example
/// (written to `dir/run.toml`, outputs in `dir/out`): `optimizer` is the
/// body of `[optimizer]`, `extra` goes to the end of `[train]`.
pub fn si_config(dir: &Path, epochs: usize, optimizer: &str, extra: &str) -> PathBuf {
    si_config_for(dir, epochs, SI_NEP, optimizer, extra)
}

/// The small NEP of [`si_config`] (the body of `[model]`).
pub const SI_NEP: &str = "cutoff = [4.5, 3.8]\nn_max = [3, 3]\nbasis_size = [5, 5]\nneuron = 8";

/// A small Behler–Parrinello model for the silicon example (the body of
/// `[model]`); it writes `potential.Si.nn`.
pub const SI_BP: &str = "family = \"bp\"\nradial_cutoff = 4.5\nradial_order = 6\nangular_cutoff = 3.5\nangular_order = 3\nhidden = [6, 6]";

/// A small DeePMD se_e2_a for the silicon example (the body of `[model]`).
pub const SI_DEEPMD: &str = "family = \"deepmd\"\nrcut = 4.5\nrcut_smth = 2.0\nneuron = [4, 8]\naxis_neuron = 4\nfitting_neuron = [8, 8]";

/// [`si_config`] with `model` as the body of `[model]`.
pub fn si_config_for(
    dir: &Path,
    epochs: usize,
    model: &str,
    optimizer: &str,
    extra: &str,
) -> PathBuf {
    let text = format!(
        "[data]\ntrain = \"{}\"\ntest = \"{}\"\n\n[model]\n{model}\n\n\
         [optimizer]\n{optimizer}\n\n[train]\nepochs = {epochs}\ncheckpoint_every = 1\noutput_dir = \"{}\"\nseed = 7\n{extra}",
        example("train.xyz").display(),
        example("test.xyz").display(),
        dir.join("out").display()
    );
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `forcefit train -q -j 1 config`, kills it (SIGKILL) once
/// `dir/out/checkpoint.json` is from epoch 3 or later, checks that it was
/// killed mid-run (before `epochs` and before nep.txt), and returns the
/// epoch of the checkpoint it left.
pub fn kill_mid_run(config: &Path, dir: &Path, epochs: usize) -> usize {
    let args = ["train", "-q", "-j", "1", config.to_str().unwrap()];
    kill_mid_run_of(&args, Path::new("."), &dir.join("out"), epochs)
}

/// [`kill_mid_run`] for any training command: `forcefit args` run in
/// `cwd`, writing its checkpoint and model to `out`.
pub fn kill_mid_run_of(args: &[&str], cwd: &Path, out: &Path, epochs: usize) -> usize {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = out.join("checkpoint.json");
    let epoch_of = |p: &Path| -> usize {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["epoch"].as_u64())
            .unwrap_or(0) as usize
    };
    let start = std::time::Instant::now();
    while epoch_of(&checkpoint) < 3 {
        assert!(start.elapsed().as_secs() < 120, "no checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let at = epoch_of(&checkpoint);
    assert!(!status.success(), "the run ended before it could be killed");
    assert!(at < epochs, "killed too late (epoch {at})");
    for model in ["nep.txt", "model.yaml", "potential.Si.nn"] {
        assert!(
            !out.join(model).exists(),
            "{model} should only appear at the end"
        );
    }
    at
}

/// `dir/out/nep.txt`, which a finished run must have written.
pub fn nep_txt(dir: &Path) -> String {
    model_file(dir, "nep.txt")
}

/// `dir/out/<name>`, which a finished run must have written.
pub fn model_file(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("out").join(name)).unwrap_or_else(|_| panic!("{name} written"))
}

/// Trains with `optimizer` (the body of `[optimizer]`) on the silicon
/// example for `epochs` epochs twice: uninterrupted on one thread, and
/// killed mid-run then resumed with `--resume` on two threads. Checks that
/// both end with the same nep.txt and the resumed log has every epoch;
/// returns the two run directories (reference, resumed) for further checks.
pub fn resume_after_kill_matches(tag: &str, optimizer: &str, epochs: usize) -> (TempDir, TempDir) {
    resume_after_kill_matches_for(tag, SI_NEP, "nep.txt", optimizer, epochs)
}

/// [`resume_after_kill_matches`] for the model `model` (the body of
/// `[model]`) whose file is `file`.
pub fn resume_after_kill_matches_for(
    tag: &str,
    model: &str,
    file: &str,
    optimizer: &str,
    epochs: usize,
) -> (TempDir, TempDir) {
    let train = |args: &[&str], cfg: &Path| {
        let mut all = vec!["train", "-q"];
        all.extend_from_slice(args);
        all.push(cfg.to_str().unwrap());
        let o = forcefit(&all);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let reference = TempDir::new(&format!("{tag}-ref"));
    train(
        &["-j", "1"],
        &si_config_for(reference.path(), epochs, model, optimizer, ""),
    );

    let killed = TempDir::new(&format!("{tag}-kill"));
    let cfg = si_config_for(killed.path(), epochs, model, optimizer, "");
    let at = kill_mid_run(&cfg, killed.path(), epochs);
    train(&["--resume", "-j", "2"], &cfg);
    assert_eq!(
        model_file(killed.path(), file),
        model_file(reference.path(), file),
        "resumed from epoch {at}"
    );
    let log = std::fs::read_to_string(killed.path().join("out/loss.csv")).unwrap();
    assert_eq!(
        log.lines().count(),
        epochs + 1,
        "one header and {epochs} epochs in the log"
    );
    (reference, killed)
}

/// max_k |a_k − b_k| relative to max_k |b_k| (or to 1e-300 when b is zero).
pub fn rel_max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b.iter().fold(1e-300f64, |m, x| m.max(x.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

/// ‖a − b‖ / ‖b‖ (b must not be zero).
pub fn rel_norm_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| y * y).sum();
    assert!(norm > 0.0, "the reference is zero");
    (diff / norm).sqrt()
}

/// Asserts that two predictions agree within `tol`, each field (energy,
/// atomic energies, forces, virial) relative to its largest component.
#[track_caller]
pub fn assert_predictions_close(a: &Prediction, b: &Prediction, tol: f64, what: &str) {
    let fields = [
        ("energy", vec![a.energy], vec![b.energy]),
        (
            "atomic energies",
            a.atomic_energies.clone(),
            b.atomic_energies.clone(),
        ),
        ("forces", a.forces.concat(), b.forces.concat()),
        ("virial", a.virial.to_vec(), b.virial.to_vec()),
    ];
    for (name, x, y) in fields {
        let d = rel_max_diff(&x, &y);
        assert!(
            d <= tol,
            "{what}: {name} differ by {d:.2e} (tolerance {tol:.0e})"
        );
    }
}

/// The sums of `predict_sites` and of `vjp_sites` (adjoint `adj`) over
/// the site lists `parts`.
pub fn sum_over_parts(
    model: &dyn Model,
    s: &forcefit::model::Prepared,
    parts: &[Vec<usize>],
    adj: &forcefit::model::Adjoint,
) -> (Prediction, Vec<f64>) {
    let n = s.structure.n_atoms();
    let mut sum = Prediction::default();
    sum.reset(n);
    let mut grad = vec![0.0; model.params().len()];
    let mut p = Prediction::default();
    for sites in parts {
        model.predict_sites(s, sites, &mut p);
        sum.energy += p.energy;
        for i in 0..n {
            sum.atomic_energies[i] += p.atomic_energies[i];
            for k in 0..3 {
                sum.forces[i][k] += p.forces[i][k];
            }
        }
        for (w, x) in sum.virial.iter_mut().zip(&p.virial) {
            *w += x;
        }
        model.vjp_sites(s, sites, adj, &mut grad);
    }
    (sum, grad)
}

/// A JSON array of three numbers.
pub fn vec3(v: &serde_json::Value) -> [f64; 3] {
    let a = v.as_array().expect("array");
    [
        a[0].as_f64().unwrap(),
        a[1].as_f64().unwrap(),
        a[2].as_f64().unwrap(),
    ]
}

/// The structure of a `../shared/oracle/nep/*.json` case (`symbols`,
/// `positions`, `cell`, `pbc`).
pub fn oracle_structure(case: &serde_json::Value) -> Structure {
    let cell = case["cell"].as_array().unwrap();
    let pbc: Vec<bool> = case["pbc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_bool().unwrap())
        .collect();
    Structure {
        species: case["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
        positions: case["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(vec3)
            .collect(),
        cell: Some([vec3(&cell[0]), vec3(&cell[1]), vec3(&cell[2])]),
        pbc: [pbc[0], pbc[1], pbc[2]],
        labels: forcefit::structure::Labels::default(),
        origin: forcefit::structure::Origin::default(),
    }
}

/// Whether `python3 -c "import <module>"` works here; a "skipping"
/// message naming the pip package otherwise.
pub fn python_module(module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: python3 with {module} is not available (pip install {module})");
    }
    ok
}

/// Runs a Python `script` with `args` (its `sys.argv[1:]`) and returns its
/// stdout, or `None` (skipping) when python3 or `module` is missing. A
/// failing script fails the test with its stderr.
pub fn python_script(module: &str, script: &str, args: &[&str]) -> Option<String> {
    if !python_module(module) {
        return None;
    }
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}
