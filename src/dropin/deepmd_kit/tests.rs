use super::*;

/// deepmd-kit's `examples/water/se_e2_a/input_torch.json` as shipped in
/// ../shared (paths aside).
const WATER: &str = r#"{
  "model": {
    "type_map": ["O", "H"],
    "descriptor": {
      "type": "se_e2_a", "sel": [46, 92], "rcut_smth": 0.50, "rcut": 6.00,
      "neuron": [25, 50, 100], "resnet_dt": false, "axis_neuron": 16,
      "type_one_side": true, "seed": 1, "_comment": " that's all"
    },
    "fitting_net": {
      "neuron": [240, 240, 240], "resnet_dt": true, "seed": 1,
      "_comment": " that's all"
    },
    "data_stat_nbatch": 20,
    "_comment": " that's all"
  },
  "learning_rate": {
    "type": "exp", "decay_steps": 5000, "start_lr": 0.001, "stop_lr": 3.51e-8,
    "_comment": "that's all"
  },
  "loss": {
    "type": "ener", "start_pref_e": 0.02, "limit_pref_e": 1,
    "start_pref_f": 1000, "limit_pref_f": 1, "_comment": " that's all"
  },
  "training": {
    "stat_file": "./se_e2_a.hdf5",
    "training_data": {
      "systems": ["../data/data_0", "../data/data_1", "../data/data_2"],
      "batch_size": 1, "_comment": "that's all"
    },
    "validation_data": {
      "systems": ["../data/data_3"], "batch_size": 1, "numb_btch": 3,
      "_comment": "that's all"
    },
    "numb_steps": 100000, "seed": 10, "disp_file": "lcurve.out",
    "disp_freq": 100, "save_freq": 10000, "_comment": "that's all"
  },
  "_comment": "that's all"
}"#;

const FACTS: DataFacts = DataFacts {
    structures: 300,
    mean_atoms: 192.0,
};

fn parse_with(text: &str, overrides: &Overrides) -> Result<DpInput> {
    let path = Path::new("input.json");
    let value = parse_text(text, path)?;
    parse(&value, Source { path, text }, FACTS, overrides)
}

fn parse_text_ok(text: &str) -> DpInput {
    parse_with(text, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn error_of(text: &str) -> String {
    match parse_with(text, &Overrides::default()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

fn deepmd(input: &DpInput) -> &DeepmdConfig {
    match &input.config.model {
        ModelConfig::Deepmd(c) => c,
        other => panic!("not a deepmd model: {other:?}"),
    }
}

#[test]
fn the_water_example_maps_to_the_same_training() {
    let input = parse_text_ok(WATER);
    let m = deepmd(&input);
    assert_eq!(
        m.type_map.as_deref(),
        Some(&["O".to_string(), "H".to_string()][..])
    );
    assert_eq!(m.sel, Some(vec![46, 92]));
    assert_eq!((m.rcut, m.rcut_smth), (6.0, 0.5));
    assert_eq!(m.neuron, vec![25, 50, 100]);
    assert_eq!(m.axis_neuron, 16);
    assert!(m.type_one_side && !m.resnet_dt && m.fitting_resnet_dt);
    assert_eq!(m.fitting_neuron, vec![240, 240, 240]);
    let c = &input.config;
    assert_eq!(c.optimizer.kind, OptimizerKind::Adam);
    assert_eq!(c.optimizer.batch_size, Some(1));
    assert_eq!((c.optimizer.lr, c.optimizer.lr_min), (1e-3, 3.51e-8));
    assert_eq!(c.optimizer.decay, Decay::Exponential);
    assert_eq!(c.optimizer.decay_steps, Some(5000));
    assert_eq!(c.loss.kind, LossKind::Mse);
    // pref_e·ΔE²/N = (pref_e·N)·(ΔE/N)²
    assert!((c.loss.lambda_e - 0.02 * 192.0).abs() < 1e-12);
    assert_eq!(c.loss.lambda_e_end, Some(192.0));
    assert_eq!((c.loss.lambda_f, c.loss.lambda_f_end), (1000.0, Some(1.0)));
    assert_eq!((c.loss.lambda_v, c.loss.lambda_v_end), (0.0, Some(0.0)));
    assert_eq!(c.run.steps, Some(100_000));
    assert_eq!(c.run.seed, 10);
    assert_eq!(c.run.lcurve_every, Some(100));
    assert_eq!(c.run.lcurve_frames, 3);
    assert_eq!(c.run.lcurve_file, "lcurve.out");
    assert_eq!(c.run.checkpoint_every, 10000 / 300);
    assert_eq!(
        c.data.train.list(),
        ["../data/data_0", "../data/data_1", "../data/data_2"].map(PathBuf::from)
    );
    let warned = input.warnings.join("\n");
    for key in [
        "model.descriptor.seed",
        "model.data_stat_nbatch",
        "training.stat_file",
    ] {
        assert!(warned.contains(key), "no warning for {key}: {warned}");
    }
}

#[test]
fn loss_weights_follow_deepmd_kits_prefactors() {
    let c = parse_text_ok(WATER).config;
    let w = c.loss.weights(c.optimizer.lr);
    // pref = limit + (start − limit)·lr/start_lr
    let at = w.at_lr(0.5e-3);
    assert!((at.lambda_f - (1.0 + 999.0 * 0.5)).abs() < 1e-9);
    assert!((at.lambda_e - 192.0 * (1.0 + (0.02 - 1.0) * 0.5)).abs() < 1e-9);
    assert_eq!(w.final_weights().lambda_f, 1.0);
}

#[test]
fn kalman_filters_take_forcefits_batch_and_the_same_data_budget() {
    let overrides = Overrides {
        optimizer: Some(OptimizerKind::Fekf),
        ..Default::default()
    };
    let c = parse_with(WATER, &overrides).unwrap().config;
    assert_eq!(c.optimizer.kind, OptimizerKind::Fekf);
    assert_eq!(c.optimizer.batch_size(), 32);
    assert_eq!(c.run.steps, Some(100_000usize.div_ceil(32)));
    assert_eq!(c.loss.lambda_e_end, None);
    assert_eq!((c.loss.lambda_e, c.loss.lambda_f), (192.0, 1.0));
    let overrides = Overrides {
        optimizer: Some(OptimizerKind::Fekf),
        batch_size: Some(8),
        ..Default::default()
    };
    assert_eq!(
        parse_with(WATER, &overrides)
            .unwrap()
            .config
            .optimizer
            .batch_size(),
        8
    );
}

#[test]
fn deepmd_kits_lkf_is_the_kalman_filter() {
    let text = WATER.replace(
        r#""learning_rate": {"#,
        r#""optimizer": {"type": "LKF", "kf_blocksize": 2048},
  "learning_rate": {"#,
    );
    let c = parse_text_ok(&text).config;
    // batch 1: deepmd-kit's LKF is RLEKF
    assert_eq!(c.optimizer.kind, OptimizerKind::Rlekf);
    assert_eq!(c.optimizer.block_size, Some(2048));
    let text = WATER.replace(r#""training": {"#, r#""training": {"opt_type": "LKF","#);
    assert_eq!(
        parse_text_ok(&text).config.optimizer.kind,
        OptimizerKind::Rlekf
    );
}

#[test]
fn unsupported_descriptors_are_refused_naming_the_key_and_line() {
    let text = WATER.replace(r#""type": "se_e2_a""#, r#""type": "se_atten""#);
    let e = error_of(&text);
    assert!(e.contains("input.json:5"), "{e}");
    assert!(e.contains("model.descriptor.type"), "{e}");
    assert!(e.contains("se_atten"), "{e}");
}

#[test]
fn unsupported_features_are_refused_naming_the_key() {
    for (from, to, key) in [
        (
            r#""resnet_dt": true,"#,
            r#""resnet_dt": true, "numb_fparam": 2,"#,
            "model.fitting_net.numb_fparam",
        ),
        (
            r#""type": "ener","#,
            r#""type": "ener", "use_huber": true,"#,
            "loss.use_huber",
        ),
        (
            r#""numb_steps""#,
            r#""enable_ema": true, "numb_steps""#,
            "training.enable_ema",
        ),
        (
            r#""type": "exp","#,
            r#""type": "exp", "decay_rate": 0.95,"#,
            "learning_rate.decay_rate",
        ),
        (
            r#""data_stat_nbatch": 20,"#,
            r#""spin": {"use_spin": [true]},"#,
            "model.spin",
        ),
        (
            r#""type": "exp","#,
            r#""type": "cosine","#,
            "learning_rate.type",
        ),
    ] {
        assert!(WATER.contains(from), "{from}");
        let e = error_of(&WATER.replacen(from, to, 1));
        assert!(e.contains(key), "{key}: {e}");
    }
}

#[test]
fn keys_at_their_default_and_comments_are_accepted() {
    let text = WATER.replace(
        r#""resnet_dt": true,"#,
        r#""resnet_dt": true, "numb_fparam": 0, "trainable": true, "_note": 1,"#,
    );
    parse_text_ok(&text);
}

#[test]
fn unknown_keys_are_errors() {
    let e = error_of(&WATER.replace(r#""disp_freq""#, r#""disp_frq": 5, "disp_freq""#));
    assert!(e.contains("training.disp_frq"), "{e}");
    assert!(e.contains("unknown"), "{e}");
}

#[test]
fn decay_steps_are_shortened_as_deepmd_kit_does() {
    let short = WATER.replace(r#""numb_steps": 100000"#, r#""numb_steps": 300"#);
    assert_eq!(parse_text_ok(&short).config.optimizer.decay_steps, Some(4));
    let mid = WATER.replace(r#""numb_steps": 100000"#, r#""numb_steps": 4000"#);
    assert_eq!(parse_text_ok(&mid).config.optimizer.decay_steps, Some(100));
}

#[test]
fn batch_size_auto_and_sel_auto() {
    let text = WATER
        .replace(
            r#""batch_size": 1, "_comment""#,
            r#""batch_size": "auto:400", "_comment""#,
        )
        .replace(r#""sel": [46, 92]"#, r#""sel": "auto""#);
    let input = parse_text_ok(&text);
    assert_eq!(input.config.optimizer.batch_size, Some(3));
    assert_eq!(deepmd(&input).sel, None);
}

#[test]
fn yaml_inputs_read_the_same() {
    let value: Value = serde_json::from_str(WATER).unwrap();
    let yaml = serde_yaml_ng::to_string(&value).unwrap();
    let path = Path::new("input.yaml");
    let parsed = parse_text(&yaml, path).unwrap();
    let from_yaml = parse(
        &parsed,
        Source { path, text: &yaml },
        FACTS,
        &Overrides::default(),
    )
    .unwrap()
    .config;
    assert_eq!(from_yaml, parse_text_ok(WATER).config);
}

#[test]
fn each_network_takes_its_own_precision() {
    use crate::nn::Precision::{Float32, Float64};
    // absent: deepmd-kit's default, float64 for both
    let m = deepmd(&parse_text_ok(WATER)).clone();
    assert_eq!((m.precision, m.fitting_precision), (None, Some(Float64)));
    let fitting = WATER.replace(
        r#""resnet_dt": true,"#,
        r#""resnet_dt": true, "precision": "float32","#,
    );
    let input = parse_text_ok(&fitting);
    let m = deepmd(&input);
    assert_eq!((m.precision, m.fitting_precision), (None, Some(Float32)));
    assert!(input.warnings.iter().all(|w| !w.contains("precision")));
    let both = fitting.replace(
        r#""resnet_dt": false,"#,
        r#""resnet_dt": false, "precision": "float32","#,
    );
    let m = deepmd(&parse_text_ok(&both)).clone();
    assert_eq!(
        (m.precision, m.fitting_precision),
        (Some(Float32), Some(Float32))
    );
    let odd = WATER.replace(
        r#""resnet_dt": true,"#,
        r#""resnet_dt": true, "precision": "bfloat16","#,
    );
    let input = parse_text_ok(&odd);
    assert_eq!(deepmd(&input).fitting_precision, Some(Float64));
    let warned = input.warnings.join("\n");
    assert!(
        warned.contains("fitting_net.precision") && warned.contains("float64"),
        "{warned}"
    );
}
