//! Unit tests of the gnep.in reader.

use super::*;
use crate::loss::LossKind;
use crate::optim::schedule::Restarts;
use crate::train::config::OptimizerKind;

/// 30 structures of 4 atoms each.
const SET: TrainingSet = TrainingSet {
    structures: 30,
    atoms: 120,
};

fn parse_ok(text: &str) -> GnepInput {
    parse(text, Path::new("d/gnep.in"), Path::new("d"), &SET).unwrap()
}

fn error(text: &str) -> String {
    parse(text, Path::new("d/gnep.in"), Path::new("d"), &SET)
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_are_gnep_s() {
    let input = parse_ok("type 2 Mo S\n");
    let c = &input.config;
    let m = c.model.as_nep().unwrap();
    assert!(!input.prediction);
    assert_eq!(input.output_descriptor, 0);
    assert_eq!(m.species, Some(vec!["Mo".to_string(), "S".to_string()]));
    assert_eq!(m.version, 5, "NEP4 descriptors with NEP5's per-type bias");
    assert_eq!(m.cutoff, [8.0, 4.0]);
    assert_eq!((m.n_max, m.basis_size), ([4, 4], [8, 8]));
    assert_eq!(m.l_max, [4, 0, 0], "3-body terms only");
    assert_eq!((m.neuron, m.zbl), (30, None));
    assert_eq!(c.loss.kind, LossKind::Mse);
    // λe and λv times the mean atom count (4), λf = 2.
    assert_eq!(
        (c.loss.lambda_e, c.loss.lambda_f, c.loss.lambda_v),
        (4.0, 2.0, 0.4)
    );
    assert_eq!(input.lambdas, [1.0, 2.0, 0.1]);
    assert_eq!(c.loss.force_scale, None);
    let o = &c.optimizer;
    assert_eq!(o.kind, OptimizerKind::Adam);
    assert_eq!((o.lr, o.lr_min, o.batch_size), (1e-3, 1e-7, Some(2)));
    // One epoch of warm-up: 30 structures in batches of 2.
    assert_eq!((o.warmup_steps, o.restarts), (15, None));
    assert_eq!(o.warmup_from, Some(1e-7), "GNEP's ramp from stop_lr");
    assert_eq!(c.run.epochs, Some(50));
    assert_eq!(c.run.validate_every, Some(1));
    assert_eq!(c.data.train, Paths::One(Path::new("d/train.xyz").into()));
    assert_eq!(input.warnings.len(), 1, "{:?}", input.warnings);
    assert!(input.warnings[0].contains("mean atom count"));
}

#[test]
fn every_keyword_maps() {
    let text = "\
type 2 Mo S  # comment
cutoff 6 3
n_max 6 5
basis_size 10 9
l_max 3
neuron 20
batch 4 1
epoch 7
start_lr 2e-3
stop_lr 1e-6
weight_decay 1e-4
lambda_e 0.5
lambda_f 3
lambda_v 0.2
lambda_shear 2
type_weight 4 1
force_delta 0.5
zbl 2
use_typewise_cutoff_zbl
energy_shift 1
output_descriptor 2
prediction 1
seed 9
time_limit 60
";
    let input = parse_ok(text);
    let c = &input.config;
    let m = c.model.as_nep().unwrap();
    assert!(input.prediction);
    assert_eq!(input.output_descriptor, 2);
    assert_eq!(m.cutoff, [6.0, 3.0]);
    assert_eq!((m.n_max, m.basis_size), ([6, 5], [10, 9]));
    assert_eq!((m.l_max.clone(), m.neuron), (vec![3, 0, 0], 20));
    assert_eq!((m.zbl, m.typewise_cutoff_zbl), (Some(2.0), Some(0.65)));
    let l = &c.loss;
    assert_eq!((l.lambda_e, l.lambda_f, l.lambda_v), (2.0, 3.0, 0.8));
    assert_eq!((l.lambda_shear, l.force_delta), (2.0, 0.5));
    assert_eq!(
        l.type_weight["Mo"], 2.0,
        "√4: GNEP weighs |ΔF|² by w, forcefit by w²"
    );
    assert_eq!(l.type_weight["S"], 1.0);
    let o = &c.optimizer;
    assert_eq!(o.kind, OptimizerKind::Adamw);
    assert_eq!((o.lr, o.lr_min, o.weight_decay), (2e-3, 1e-6, 1e-4));
    assert_eq!((o.batch_size, o.warmup_steps), (Some(4), 8));
    assert_eq!(
        (c.run.epochs, c.run.seed, c.run.time_limit),
        (Some(7), 9, Some(60.0))
    );
    let notes = input.warnings.join("\n");
    assert!(notes.contains("force_delta"), "{notes}");
    assert!(notes.contains("d/gnep.in:20: `energy_shift 1`"), "{notes}");
}

#[test]
fn forcefit_s_force_scale_is_off_unless_asked() {
    let scale = |text: &str| parse_ok(text).translation.config.loss.force_scale;
    assert_eq!(scale("type 1 Si\n"), None);
    assert_eq!(scale("type 1 Si\nforce_scale 1\n"), Some(1.0));
    assert_eq!(scale("type 1 Si\nforce_scale 0\n"), None);
}

#[test]
fn cosine_restarts_count_in_epochs() {
    // 15 steps per epoch: GNEP's defaults 1, 10, 2, 0.8.
    let o = parse_ok("type 1 Si\nlr_cos_restart 1\n")
        .translation
        .config
        .optimizer;
    assert_eq!(o.warmup_steps, 15);
    assert_eq!(
        o.restarts,
        Some(Restarts {
            period: 150,
            period_factor: 2.0,
            decay_factor: 0.8
        })
    );
    let o = parse_ok("type 1 Si\nbatch 10\nlr_cos_restart 1 2 5 1.5 0.5\n")
        .translation
        .config
        .optimizer;
    assert_eq!(o.warmup_steps, 6);
    assert_eq!(
        o.restarts,
        Some(Restarts {
            period: 15,
            period_factor: 1.5,
            decay_factor: 0.5
        })
    );
    let o = parse_ok("type 1 Si\nlr_cos_restart 1 0 5 1.5 0.5\n")
        .translation
        .config
        .optimizer;
    assert_eq!((o.warmup_steps, o.warmup_from), (0, None));
    let o = parse_ok("type 1 Si\nlr_cos_restart 0 2 5 1.5 0.5\n")
        .translation
        .config
        .optimizer;
    assert_eq!((o.warmup_steps, o.restarts), (15, None));
    // The translation round-trips through forcefit.toml.
    let input = parse_ok("type 1 Si\nlr_cos_restart 1\n");
    let text = input.config_text().unwrap();
    assert!(text.contains("[optimizer.restarts]"), "{text}");
    let back = TrainConfig::from_toml(&text, Path::new("forcefit.toml")).unwrap();
    assert_eq!(back.optimizer.restarts, input.config.optimizer.restarts);
}

#[test]
fn refusals_name_the_key_and_line() {
    let cases = [
        (
            "type 1 Si\nversion 4\n",
            "d/gnep.in:2: version: this GPUMD keyword is not supported",
        ),
        ("type 1 Si\ngeneration 10\n", "d/gnep.in:2: generation:"),
        ("type 1 Si\noptimizer fekf\n", "d/gnep.in:2: optimizer:"),
        (
            "type 1 Si\nl_max 4 2\n",
            "d/gnep.in:2: l_max: expected 1 parameter, got 2",
        ),
        (
            "type 1 Si\nl_max 1\n",
            "d/gnep.in:2: l_max: forcefit trains l_max 2..=8",
        ),
        (
            "type 1 Si\nneuron 10 10\n",
            "d/gnep.in:2: neuron: expected 1 parameter",
        ),
        (
            "type 1 Si\ncutoff 6 2\n",
            "d/gnep.in:2: cutoff: the angular cutoff must be at least 2.5",
        ),
        (
            "type 1 Si\nn_max 13 4\n",
            "d/gnep.in:2: n_max: n_max must be at most 12",
        ),
        ("type 1 Si\nbasis_size 8 13\n", "d/gnep.in:2: basis_size:"),
        (
            "type 1 Si\nzbl 3\n",
            "d/gnep.in:2: zbl: the ZBL outer cutoff must be in 1..=2.5",
        ),
        (
            "type 1 Si\nepoch 0\n",
            "d/gnep.in:2: epoch: must be in 1..=10000",
        ),
        ("type 1 Si\nbatch 0\n", "d/gnep.in:2: batch:"),
        (
            "type 1 Si\nprediction 2\n",
            "d/gnep.in:2: prediction: must be in 0..=1",
        ),
        (
            "type 1 Si\noutput_descriptor 3\n",
            "d/gnep.in:2: output_descriptor:",
        ),
        ("type 1 Si\nenergy_shift 2\n", "d/gnep.in:2: energy_shift:"),
        (
            "type 1 Si\nlr_cos_restart 1 2\n",
            "d/gnep.in:2: lr_cos_restart: expected 1 or 5",
        ),
        (
            "type 1 Si\nlr_cos_restart 1 1 10 0.5 0.8\n",
            "d/gnep.in:2: lr_cos_restart: the period factor",
        ),
        (
            "type 1 Si\nstart_lr -1\n",
            "d/gnep.in:2: start_lr: must not be negative",
        ),
        (
            "type 1 Si\nlambda_f x\n",
            "d/gnep.in:2: lambda_f: `x` is not a number",
        ),
        ("type 2 Si C\ntype_weight 1\n", "d/gnep.in:2: type_weight:"),
        (
            "type 1 Si\nfoo 1\n",
            "d/gnep.in:2: unknown keyword `foo` (docs/gnep-command.md",
        ),
        ("type 1 Si\ncutoff 30 4\n", "d/gnep.in:2: cutoff"),
        ("type 1 Si\nuse_typewise_cutoff_zbl 0.6\n", "d/gnep.in:2"),
        (
            "type 1 Si\nzbl 2\nuse_typewise_cutoff_zbl 0.4\n",
            "d/gnep.in:3",
        ),
    ];
    for (text, needle) in cases {
        let e = error(text);
        assert!(e.contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn duplicates_missing_type_and_bad_types_are_errors() {
    let e = error("type 1 Si\nepoch 3\nepoch 4\n");
    assert!(
        e.contains("d/gnep.in:3: epoch: given twice (first on line 2)"),
        "{e}"
    );
    let e = error("epoch 3\n");
    assert!(e.contains("the `type` keyword is missing"), "{e}");
    let e = error("type 2 Si\n");
    assert!(
        e.contains("d/gnep.in:1: type: announces 2 types but lists 1"),
        "{e}"
    );
    let e = error("type 1 Xx\n");
    assert!(e.contains("`Xx` is not an element symbol"), "{e}");
}

#[test]
fn training_set_counts_frames_and_atoms() {
    let dir = std::env::temp_dir().join(format!("gnep-count-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("train.xyz");
    let frame = |n: usize| {
        let mut s = format!("{n}\nLattice=\"1 0 0 0 1 0 0 0 1\" energy=1\n");
        for _ in 0..n {
            s.push_str("Si 0 0 0 0 0 0\n");
        }
        s
    };
    std::fs::write(&path, frame(2) + &frame(3) + "\n").unwrap();
    let set = TrainingSet::count(&path).unwrap();
    assert_eq!((set.structures, set.atoms), (2, 5));
    assert_eq!(set.steps_per_epoch(2), 1);
    assert_eq!(set.steps_per_epoch(1), 2);
    std::fs::write(&path, frame(2) + "3\ncomment\nSi 0 0 0\n").unwrap();
    let e = TrainingSet::count(&path).unwrap_err().to_string();
    assert!(
        e.contains("train.xyz:5: the file ends inside this structure"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
