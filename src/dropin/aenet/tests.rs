//! The readers and the mapping, on aenet-PyTorch's TiO2 example inputs
//! (from ../shared, skipped when absent) and on small inputs written here.

mod bad;
mod small;

use super::train_in::Method;
use super::*;
use crate::loss::LossKind;
use crate::model::ModelConfig;
use crate::nn::Activation;
use crate::optim::schedule::Decay;
use crate::train::config::{OptimizerKind, TrainConfig};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `shared/<rel>` ($FORCEFIT_SHARED, else ../shared or an ancestor's
/// shared/), or `None` with a message saying the test is skipped.
fn shared(rel: &str) -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut roots: Vec<PathBuf> = std::env::var_os("FORCEFIT_SHARED")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    roots.extend(manifest.ancestors().skip(1).map(|a| a.join("shared")));
    let found = roots.iter().map(|r| r.join(rel)).find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipping: shared/{rel} not found (set FORCEFIT_SHARED to the shared folder)");
    }
    found
}

/// A fresh directory, removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("forcefit-aenet-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub(super) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The TiO2 example's files, with the setups under the names its
/// generate.in gives them.
fn tio2(dir: &TempDir) -> Option<(PathBuf, PathBuf)> {
    let src = shared("datasets/tio2-aenet")?;
    let copy = |from: &str, to: &str| {
        let text = std::fs::read_to_string(src.join(from)).unwrap();
        dir.write(to, &text)
    };
    copy("aenet-pytorch-Ti.fingerprint.stp", "Ti.fingerprint.stp");
    copy("aenet-pytorch-O.fingerprint.stp", "O.fingerprint.stp");
    Some((
        copy("aenet-pytorch-generate.in", "generate.in"),
        copy("aenet-pytorch-train.in", "train.in"),
    ))
}

fn lines_of(path: &Path) -> Lines {
    Lines::read(path).unwrap()
}

#[test]
fn reads_the_tio2_generate_in() {
    let Some(src) = shared("datasets/tio2-aenet/aenet-pytorch-generate.in") else {
        return;
    };
    let g = generate::parse(lines_of(&src)).unwrap();
    let types: Vec<(&str, f64)> = g
        .types
        .iter()
        .map(|t| (t.symbol.as_str(), t.energy))
        .collect();
    assert_eq!(types, [("O", -432.503149303), ("Ti", -1604.604515075)]);
    let setups: Vec<(&str, &str)> = g
        .setups
        .iter()
        .map(|s| (s.symbol.as_str(), s.file.as_str()))
        .collect();
    assert_eq!(
        setups,
        [("Ti", "Ti.fingerprint.stp"), ("O", "O.fingerprint.stp")]
    );
    assert!(g.forces.is_some());
    assert_eq!(g.forces_percent.map(|p| p.0), Some(25.0));
    assert_eq!(g.files.len(), 1000);
    assert_eq!(g.files[0], ("../dir_xsf/structure0001.xsf".to_string(), 17));
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
    assert!(
        g.warnings[0].contains(":1: OUTPUT: ignored"),
        "{:?}",
        g.warnings
    );
}

#[test]
fn reads_the_tio2_setups() {
    for el in ["Ti", "O"] {
        let rel = format!("datasets/tio2-aenet/aenet-pytorch-{el}.fingerprint.stp");
        let Some(src) = shared(&rel) else {
            return;
        };
        let s = setup::parse(lines_of(&src)).unwrap();
        assert_eq!(s.atom, el);
        assert_eq!(s.env_symbols(), ["Ti", "O"]);
        assert_eq!(s.rmin, 0.35);
        assert_eq!(
            s.basis,
            setup::Basis {
                radial_cutoff: 6.5,
                radial_order: 20,
                angular_cutoff: 5.0,
                angular_order: 6,
            }
        );
        assert_eq!(s.basis_line, 14);
    }
}

#[test]
fn reads_the_tio2_train_in() {
    let Some(src) = shared("datasets/tio2-aenet/aenet-pytorch-train.in") else {
        return;
    };
    let t = train_in::parse(lines_of(&src)).unwrap();
    assert_eq!(t.test_percent, 10.0);
    assert_eq!(t.iterations, 500);
    assert_eq!(t.batch_size, 128);
    assert_eq!(t.npseed, 1);
    assert_eq!(t.alpha.map(|a| a.0), Some(0.1));
    let adamw = Method::Torch {
        name: "adamw".into(),
        lr: 1e-4,
    };
    assert_eq!(t.method.0, adamw);
    assert_eq!(t.regularization.0, 0.001);
    assert!(t.save_energies && t.save_forces.is_some());
    let nets: Vec<(&str, &str, &[usize])> = t
        .networks
        .iter()
        .map(|n| (n.symbol.as_str(), n.file.as_str(), n.hidden.as_slice()))
        .collect();
    assert_eq!(
        nets,
        [
            ("Ti", "Ti.pytorch.nn", &[5, 5][..]),
            ("O", "O.pytorch.nn", &[5, 5][..])
        ]
    );
    assert!(
        t.networks
            .iter()
            .all(|n| n.activations == [Activation::Tanh; 2])
    );
    let warned: Vec<&str> = t
        .warnings
        .iter()
        .map(|w| w.split(": ").nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        warned,
        [
            "TRAININGSET",
            "ITERWRITE",
            "PHSEED",
            "MEMORY_MODE",
            "VERBOSE"
        ]
    );
}

#[test]
fn maps_the_tio2_inputs() {
    let dir = TempDir::new("tio2");
    let Some((generate, train)) = tio2(&dir) else {
        return;
    };
    let overrides = Overrides {
        output_dir: PathBuf::from("out"),
        ..Default::default()
    };
    let input = read(&generate, &train, &overrides).unwrap();
    let c = &input.config;
    let ModelConfig::Bp(m) = &c.model else {
        panic!("not a BP model: {:?}", c.model)
    };
    assert_eq!(
        m.species.as_deref(),
        Some(&["Ti".to_string(), "O".to_string()][..])
    );
    assert_eq!((m.radial_cutoff, m.radial_order), (6.5, 20));
    assert_eq!((m.angular_cutoff, m.angular_order), (5.0, 6));
    assert_eq!(m.rc_min, 0.35);
    assert_eq!(
        (m.hidden.as_slice(), m.activation),
        (&[5, 5][..], Activation::Tanh)
    );
    assert!(m.networks.is_empty());
    assert_eq!(m.files["Ti"], "Ti.pytorch.nn");
    assert_eq!(m.files["O"], "O.pytorch.nn");
    let e = m.atomic_energies.as_ref().unwrap();
    assert_eq!((e["O"], e["Ti"]), (-432.503149303, -1604.604515075));
    let d = &c.data;
    let files = d.train.list();
    assert_eq!(files.len(), 1000);
    assert_eq!(files[0], dir.0.join("../dir_xsf/structure0001.xsf"));
    assert_eq!(d.format.as_deref(), Some("xsf"));
    assert_eq!((d.validation_fraction, d.split_seed), (0.1, Some(1)));
    let l = &c.loss;
    assert_eq!(l.kind, LossKind::Rmse);
    assert!((l.lambda_e - 0.9).abs() < 1e-15);
    assert!((l.lambda_f - 0.1 * 3f64.sqrt()).abs() < 1e-15);
    assert_eq!(
        (l.lambda_v, l.force_structures, l.lambda_2),
        (0.0, 0.25, 0.0)
    );
    let o = &c.optimizer;
    assert_eq!(o.kind, OptimizerKind::Adamw);
    // forcefit's schedule, METHOD's optimizer and weight decay.
    assert_eq!(
        (o.lr, o.lr_min, o.decay),
        (RECIPE_LR, RECIPE_LR_MIN, Decay::Cosine)
    );
    assert_eq!((o.weight_decay, o.batch_size), (0.001, Some(RECIPE_BATCH)));
    // As written: METHOD's constant rate and BATCHSIZE.
    let written = Overrides {
        as_written: true,
        ..overrides.clone()
    };
    let o = read(&generate, &train, &written)
        .unwrap()
        .translation
        .config
        .optimizer;
    assert_eq!((o.lr, o.lr_min, o.decay), (1e-4, 1e-4, Decay::None));
    assert_eq!((o.weight_decay, o.batch_size), (0.001, Some(128)));
    assert_eq!(
        (c.run.epochs, c.run.steps, c.run.seed),
        (Some(500), None, 1)
    );
    assert_eq!(c.run.output_dir, PathBuf::from("out"));
    assert!(input.outputs.save_energies && input.outputs.save_forces);
    let key = dir.0.join("../dir_xsf/structure7811.xsf");
    assert_eq!(input.outputs.names[&key], "../dir_xsf/structure7811.xsf");
    assert_eq!(input.warnings.len(), 6, "{:#?}", input.warnings);
    // The configuration survives the checkpoint's TOML.
    let text = input.config_text().unwrap();
    assert_eq!(
        &TrainConfig::from_toml(&text, Path::new("c.toml")).unwrap(),
        c
    );
}
