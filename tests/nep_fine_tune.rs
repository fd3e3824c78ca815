//! Fine-tuning a foundation model: a random NEP in NEP89's architecture
//! (89 elements: H–Bi and Ac–Pu, GPUMD's list; nep4_zbl, cutoff 6 5,
//! n_max 4 4, basis 8 8, l_max 4 2 1, 80 neurons: 976,331 parameters),
//! reduced to 2 and 3 elements, predicts exactly what the full model
//! predicts on real structures of those elements (`../shared/datasets`),
//! the reduced nep.txt gives the same in calorine's CPUNEP, `forcefit nep`
//! with `fine_tune` trains from it, and wrong architecture keywords and
//! elements the model lacks are errors naming them.

mod common;

use common::nep_cpu::calorine_available;

use common::{Rng, TempDir};
use forcefit::model::nep::angular::AngularTerms;
use forcefit::model::nep::reduce::reduce;
use forcefit::model::nep::{Nep, NepHyper, Zbl, file};
use forcefit::model::{Model, Prediction};
use forcefit::structure::Structure;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// NEP89's elements: Z = 1–83 and 89–94 (GPUMD's `element_map` skips Po–Ra).
fn nep89_species() -> Vec<String> {
    (1..=94u32)
        .filter(|z| !(84..=88).contains(z))
        .map(|z| forcefit::elements::symbol(z).unwrap().to_string())
        .collect()
}

/// The random foundation model, as its nep.txt holds it (8 significant
/// digits), built once: (model, file text).
fn foundation() -> &'static (Nep, String) {
    static MODEL: OnceLock<(Nep, String)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let hyper = NepHyper {
            version: 4,
            species: nep89_species(),
            rc_radial: 6.0,
            rc_angular: 5.0,
            cutoffs: None,
            max_neighbors: Some((200, 100)),
            typewise: None,
            n_max_radial: 4,
            n_max_angular: 4,
            basis_size_radial: 8,
            basis_size_angular: 8,
            angular: AngularTerms::new(4, true, true),
            neurons: 80,
            zbl: Some(Zbl::Universal {
                inner: 1.0,
                outer: 2.0,
                typewise: None,
            }),
        };
        let mut chacha = rand_chacha::ChaCha8Rng::seed_from_u64(89);
        let random = Nep::random(hyper.clone(), &mut chacha).unwrap();
        let mut rng = Rng(89);
        let q_scaler = (0..hyper.dim()).map(|_| rng.range(0.05, 0.5)).collect();
        let model = Nep::new(hyper, random.params().to_vec(), q_scaler).unwrap();
        let text = file::to_string(&model);
        let model = file::parse(&text, Path::new("nep89.txt")).unwrap();
        (model, text)
    })
}

fn dataset(name: &str) -> Option<PathBuf> {
    let path = common::shared(&format!("datasets/{name}/train.xyz"));
    if path.is_none() {
        eprintln!("skipping {name}: ../shared/datasets/{name}/train.xyz is absent");
    }
    path
}

/// The first `n` structures of a data set.
fn structures(path: &Path, n: usize) -> Vec<Structure> {
    let mut all = forcefit::io::read(path, None).unwrap();
    all.truncate(n);
    all
}

fn predict(model: &Nep, s: &Structure) -> Prediction {
    let prepared = model.prepare(s.clone()).unwrap();
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    p
}

fn numbers(p: &Prediction) -> Vec<f64> {
    let mut v = vec![p.energy];
    v.extend(p.forces.iter().flatten());
    v.extend(p.virial);
    v
}

/// Largest |a − b| over the largest |b|.
fn rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    d / b.iter().map(|y| y.abs()).fold(0.0, f64::max)
}

const CASES: [(&str, &[&str]); 2] = [("pbte", &["Pb", "Te"]), ("mosi2n4", &["Mo", "Si", "N"])];

#[test]
fn reduced_model_predicts_what_the_full_one_does() {
    let (full, _) = foundation();
    assert_eq!(full.hyper().n_types(), 89);
    eprintln!("foundation model: {} parameters", full.params().len());
    for (name, kept) in CASES {
        let Some(path) = dataset(name) else { continue };
        let kept: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
        let small = reduce(full, &kept).unwrap();
        assert_eq!(small.hyper().species, kept);
        assert_eq!(small.q_scaler(), full.q_scaler());
        eprintln!("{name}: reduced to {} parameters", small.params().len());
        for (k, s) in structures(&path, 3).iter().enumerate() {
            let (a, b) = (numbers(&predict(&small, s)), numbers(&predict(full, s)));
            let r = rel(&a, &b);
            eprintln!(
                "{name} structure {k} ({} atoms): max relative difference {r:.1e}",
                s.n_atoms()
            );
            assert!(r <= 1e-12, "{name} structure {k}: {r:e}");
        }
        // Another order of the same elements: the same predictions.
        let reversed: Vec<String> = kept.iter().rev().cloned().collect();
        let other = reduce(full, &reversed).unwrap();
        let s = &structures(&path, 1)[0];
        assert!(rel(&numbers(&predict(&other, s)), &numbers(&predict(full, s))) <= 1e-12);
    }
}

const CALORINE: &str = r#"
import json, sys
from ase.io import read
from calorine.calculators import CPUNEP
model, data, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = []
for atoms in read(data, index=":%d" % n):
    atoms.calc = CPUNEP(model)
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    w = -atoms.get_stress(voigt=False) * atoms.get_volume()
    out.append([float(e)] + f.reshape(-1).tolist() + w.reshape(9).tolist())
print(json.dumps(out))
"#;

#[test]
fn reduced_nep_txt_loads_in_calorine() {
    if !calorine_available() {
        return;
    }
    let (full, _) = foundation();
    let dir = TempDir::new("ft-calorine");
    for (name, kept) in CASES {
        let Some(path) = dataset(name) else { continue };
        let kept: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
        let model_path = dir.path().join(format!("{name}.txt"));
        file::write(&reduce(full, &kept).unwrap(), &model_path).unwrap();
        let n = 2;
        let o = Command::new("python3")
            .args([
                "-c",
                CALORINE,
                model_path.to_str().unwrap(),
                path.to_str().unwrap(),
                &n.to_string(),
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "calorine: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let reference: Vec<Vec<f64>> = serde_json::from_slice(&o.stdout).unwrap();
        for (k, (s, r)) in structures(&path, n).iter().zip(&reference).enumerate() {
            let d = rel(&numbers(&predict(full, s)), r);
            eprintln!("{name} structure {k}: full model vs calorine on the reduced file {d:.1e}");
            assert!(d < 1e-9, "{name} structure {k}: {d:e}");
        }
    }
}

fn run_nep(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forcefit"))
        .args(["nep", "-q", "-j", "2", dir.to_str().unwrap()])
        .output()
        .expect("run forcefit")
}

/// `dir` with the foundation model and the first `n` PbTe structures as
/// train.xyz, or None without the data set.
fn fine_tune_dir(tag: &str, n: usize) -> Option<TempDir> {
    let path = dataset("pbte")?;
    let dir = TempDir::new(tag);
    dir.file("nep89.txt", &foundation().1);
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let mut out = String::new();
    for _ in 0..n {
        let count: usize = lines.next().unwrap().trim().parse().unwrap();
        out.push_str(&format!("{count}\n"));
        for line in lines.by_ref().take(count + 1) {
            out.push_str(line);
            out.push('\n');
        }
    }
    dir.file("train.xyz", out);
    Some(dir)
}

#[test]
fn forcefit_nep_fine_tunes() {
    let Some(dir) = fine_tune_dir("ft-nep", 3) else {
        return;
    };
    dir.file(
        "nep.in",
        "type 2 Pb Te\nfine_tune nep89.txt nep89.restart 1\ncutoff 6 5\ngeneration 2\nbatch 2\n",
    );
    let o = run_nep(dir.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("nep89.restart"), "{err}");
    let trained = Nep::from_file(&dir.path().join("nep.txt")).unwrap();
    let (full, _) = foundation();
    assert_eq!(trained.hyper().species, ["Pb", "Te"]);
    assert_eq!(trained.hyper().neurons, 80);
    assert_eq!(
        trained.q_scaler(),
        full.q_scaler(),
        "q_scaler is the foundation's"
    );
    let start = reduce(full, &["Pb".into(), "Te".into()]).unwrap();
    let moved = rel(trained.params(), start.params());
    eprintln!("fine-tuned 2 steps: parameters moved by {moved:.1e} (relative)");
    assert!(moved > 0.0 && moved < 0.1, "{moved}");
    assert!(dir.path().join("loss.out").is_file());
}

#[test]
fn disagreeing_architecture_is_named() {
    let Some(dir) = fine_tune_dir("ft-arch", 1) else {
        return;
    };
    dir.file(
        "nep.in",
        "type 2 Pb Te\nfine_tune nep89.txt nep89.restart 1\nn_max 4 4\nneuron 30\ncutoff 8 4\n",
    );
    let o = run_nep(dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nep.in:4: neuron: the architecture comes from the foundation model"),
        "{err}"
    );
    assert!(
        err.contains("neuron 30 (line 4) but the model has 80"),
        "{err}"
    );
    assert!(
        err.contains("cutoff 8 4 (line 5) but the model has 6 5"),
        "{err}"
    );
    assert!(!err.contains("n_max"), "{err}");

    // The same through [model] in TOML.
    let config = dir.file(
        "run.toml",
        format!(
            "[data]\ntrain = \"train.xyz\"\n[model]\ninit = \"nep89.txt\"\nneuron = 30\nversion = 4\n[train]\nsteps = 1\noutput_dir = \"{}\"\n",
            dir.path().join("out").display()
        ),
    );
    let o = common::forcefit(&["train", "-q", config.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("model.neuron is 30 but the file has 80"),
        "{err}"
    );
    assert!(!err.contains("model.version"), "{err}");
}

#[test]
fn elements_missing_from_the_foundation_model_are_named() {
    let Some(dir) = fine_tune_dir("ft-missing", 1) else {
        return;
    };
    dir.file("nep.in", "type 2 Pb Po\nfine_tune nep89.txt\n");
    let o = run_nep(dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nep.in:1: type: Po is not an element of the foundation model"),
        "{err}"
    );

    // Training data with an element the model lacks, through [model] init.
    dir.file(
        "po.xyz",
        "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 energy=-3.0 pbc=\"T T T\"\nPo 0 0 0 0 0 0\nTe 2.5 2.5 2.5 0 0 0\n",
    );
    let config = dir.file(
        "run.toml",
        format!(
            "[data]\ntrain = \"po.xyz\"\n[model]\ninit = \"nep89.txt\"\n[train]\nsteps = 1\noutput_dir = \"{}\"\n",
            dir.path().join("out").display()
        ),
    );
    let o = common::forcefit(&["train", "-q", config.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the training data contain Po, which this init model lacks"),
        "{err}"
    );
}

/// `[model] init` in TOML reduces the model to the data's elements and
/// keeps its q_scaler; `init_rescale = true` recomputes it from the data.
#[test]
fn toml_init_keeps_or_rescales_q_scaler() {
    let Some(dir) = fine_tune_dir("ft-toml", 1) else {
        return;
    };
    let (full, _) = foundation();
    for (tag, extra, kept) in [
        ("keep", "", true),
        ("rescale", "init_rescale = true\n", false),
    ] {
        let out = dir.path().join(tag);
        let config = dir.file(
            &format!("{tag}.toml"),
            format!(
                "[data]\ntrain = \"train.xyz\"\n[model]\ninit = \"nep89.txt\"\n{extra}[train]\nsteps = 1\noutput_dir = \"{}\"\n",
                out.display()
            ),
        );
        let o = common::forcefit(&["train", config.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        // Without `type`, the elements keep the file's order (by Z here).
        assert!(
            err.contains("the model of 89 elements reduced to Te Pb"),
            "{err}"
        );
        let trained = Nep::from_file(&out.join("nep.txt")).unwrap();
        assert_eq!(trained.hyper().species, ["Te", "Pb"]);
        assert_eq!(trained.q_scaler() == full.q_scaler(), kept, "{tag}");
    }
    let config = dir.file(
        "bad.toml",
        "[data]\ntrain = \"train.xyz\"\n[model]\ninit_rescale = true\n",
    );
    let o = common::forcefit(&["train", "-q", config.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("model.init_rescale applies with model.init only"),
        "{err}"
    );
}
