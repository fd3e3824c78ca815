//! Unit tests of the nep.in reader.

use super::*;
use crate::train::config::OptimizerKind;
use std::path::PathBuf;

fn parse_ok(text: &str) -> NepInput {
    parse(text, Path::new("d/nep.in"), Path::new("d")).unwrap()
}

fn error(text: &str) -> String {
    parse(text, Path::new("d/nep.in"), Path::new("d"))
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_are_gpumd_s() {
    let input = parse_ok("type 1 Si\n");
    let c = &input.config;
    assert!(!input.prediction);
    assert_eq!(
        c.model.as_nep().unwrap().species,
        Some(vec!["Si".to_string()])
    );
    assert_eq!(c.model.as_nep().unwrap().version, 4);
    assert_eq!(c.model.as_nep().unwrap().cutoff, [8.0, 4.0]);
    assert_eq!(c.model.as_nep().unwrap().n_max, [4, 4]);
    assert_eq!(c.model.as_nep().unwrap().basis_size, [8, 8]);
    assert_eq!(c.model.as_nep().unwrap().l_max, [4, 2, 0]);
    assert_eq!(c.model.as_nep().unwrap().neuron, 30);
    assert_eq!(c.model.as_nep().unwrap().zbl, None);
    assert_eq!(
        (c.loss.lambda_e, c.loss.lambda_f, c.loss.lambda_v),
        (1.0, 1.0, 0.1)
    );
    assert_eq!((c.loss.lambda_1, c.loss.lambda_2), (0.0, 0.0));
    assert_eq!(
        c.optimizer.batch_size, None,
        "GPUMD's batch is SNES's: Adam keeps its own"
    );
    assert_eq!(c.optimizer.population, 50);
    assert_eq!(c.optimizer.kind, OptimizerKind::Adam);
    assert_eq!(c.run.steps, Some(100_000));
    assert_eq!(c.run.output_dir, PathBuf::from("d"));
    assert_eq!(c.data.train, Paths::One(PathBuf::from("d/train.xyz")));
    assert_eq!(c.data.test, None);
}

#[test]
fn every_supported_keyword_maps() {
    let input = parse_ok(
        "# comment line\n\
         type 2 Pb Te   # trailing comment\n\
         version 3\ncutoff 6 4.5\nn_max 5 3\nbasis_size 10 7\nl_max 4 1\nneuron 12 0\n\
         zbl 2\nlambda_1 0.01\nlambda_2 0.02\nlambda_e 2\nlambda_f 3\nlambda_v 0\n\
         batch 16 0\npopulation 20\nsigma0 0.05\ngeneration 77\nseed 9\nprediction 0\n\
         optimizer snes\nlr 0.01\nlr_min 0.001\ntime_limit 60\n\
         model_type 0\nforce_delta 0\nlambda_shear 1\ntype_weight 1 1.0\n\
         output_descriptor 1\n",
    );
    let c = &input.config;
    assert_eq!(c.model.as_nep().unwrap().version, 3);
    assert_eq!(c.model.as_nep().unwrap().cutoff, [6.0, 4.5]);
    assert_eq!(c.model.as_nep().unwrap().n_max, [5, 3]);
    assert_eq!(c.model.as_nep().unwrap().basis_size, [10, 7]);
    assert_eq!(c.model.as_nep().unwrap().l_max, [4, 2, 0]);
    assert_eq!(c.model.as_nep().unwrap().neuron, 12);
    assert_eq!(c.model.as_nep().unwrap().zbl, Some(2.0));
    assert_eq!(
        (
            c.loss.lambda_1,
            c.loss.lambda_2,
            c.loss.lambda_e,
            c.loss.lambda_f,
            c.loss.lambda_v
        ),
        (0.01, 0.02, 2.0, 3.0, 0.0)
    );
    assert_eq!(c.optimizer.batch_size, Some(16));
    assert_eq!(c.optimizer.population, 20);
    assert_eq!(c.optimizer.sigma0, 0.05);
    assert_eq!(c.optimizer.kind, OptimizerKind::Snes);
    assert_eq!((c.optimizer.lr, c.optimizer.lr_min), (0.01, 0.001));
    assert_eq!(c.run.steps, Some(77));
    assert_eq!(c.run.seed, 9);
    assert_eq!(c.run.time_limit, Some(60.0));
    assert_eq!(input.warnings.len(), 1);
    assert!(
        input.warnings[0].contains("d/nep.in:29")
            && input.warnings[0].contains("output_descriptor")
    );
    assert_eq!(input.line_of("zbl"), Some(9));
}

#[test]
fn l_max_and_cutoff_forms() {
    assert_eq!(
        parse_ok("type 1 Si\nl_max 4\n")
            .config
            .model
            .as_nep()
            .unwrap()
            .l_max,
        [4, 2, 0]
    );
    assert_eq!(
        parse_ok("type 1 Si\nl_max 4 2 1\n")
            .config
            .model
            .as_nep()
            .unwrap()
            .l_max,
        [4, 2, 1]
    );
    assert_eq!(
        parse_ok("type 1 Si\nl_max 4 2 1 0 0\n")
            .config
            .model
            .as_nep()
            .unwrap()
            .l_max,
        [4, 2, 1]
    );
    let same = parse_ok("type 2 Pb Te\ncutoff 7 4 7 4\n");
    assert_eq!(same.config.model.as_nep().unwrap().cutoff, [7.0, 4.0]);
    let per_element = parse_ok("type 2 Pb Te\ncutoff 7 4 6 4\n");
    let table = [
        ("Pb".to_string(), [7.0, 4.0]),
        ("Te".to_string(), [6.0, 4.0]),
    ];
    assert_eq!(
        per_element.config.model.as_nep().unwrap().cutoff,
        crate::model::nep::config::Cutoff::PerElement(table.into_iter().collect())
    );
    let e = error("type 1 Si\ncutoff 7 4 6\n");
    assert!(
        e.contains("d/nep.in:2: cutoff: expected 2 parameters"),
        "{e}"
    );
    let newer = parse_ok("type 1 Si\nl_max 8 1 0 1 0 0 1\n");
    assert_eq!(
        newer.config.model.as_nep().unwrap().l_max,
        [8, 2, 0, 1, 0, 0, 1]
    );
    let e = error("type 1 Si\nl_max 1\n");
    assert!(
        e.contains("d/nep.in:2: l_max: the 3-body l_max must be in 2..=8"),
        "{e}"
    );
    let e = error("type 1 Si\nl_max 9 2 0\n");
    assert!(e.contains("must be in 2..=8"), "{e}");
    let e = error("type 1 Si\nl_max 3 2 0 0 0 0 1\n");
    assert!(
        e.contains("d/nep.in:2: l_max: the q_134 term needs l_max"),
        "{e}"
    );
    let e = error("type 1 Si\nl_max 4 2 0 0 0 0 0 0\n");
    assert!(e.contains("d/nep.in:2: l_max:"), "{e}");
    let e = error("type 1 Si\nl_max 4 2 3\n");
    assert!(e.contains("q_1111 flag must be 0 or 1"), "{e}");
}

#[test]
fn errors_name_the_line() {
    let cases = [
        (
            "type 1 Si\ncutof 6 4\n",
            "d/nep.in:2: unknown keyword `cutof`",
        ),
        (
            "type 1 Si\n\nlambda_shear -1\n",
            "d/nep.in:3: lambda_shear: must not be negative",
        ),
        (
            "type 1 Si\nuse_typewise_cutoff 2\n",
            "d/nep.in:2: use_typewise_cutoff: expected 0 or 2 parameters, got 1",
        ),
        (
            "type 1 Si\nfine_tune a b 2\n",
            "d/nep.in:2: fine_tune: the descriptor flag must be 0 or 1",
        ),
        (
            "type 1 Si\nmodel_type 1\n",
            "d/nep.in:2: model_type: only GPUMD's default 0",
        ),
        (
            "type 1 Si\nneuron many\n",
            "d/nep.in:2: neuron: `many` is not a non-negative integer",
        ),
        (
            "type 1 Si\nneuron 10 10\n",
            "d/nep.in:2: neuron: a second hidden layer",
        ),
        (
            "type 1 Si\nlambda_e -1\n",
            "d/nep.in:2: lambda_e: must not be negative",
        ),
        (
            "type 1 Si\nlambda_v x\n",
            "d/nep.in:2: lambda_v: `x` is not a number",
        ),
        (
            "type 1 Si\nn_max 4\n",
            "d/nep.in:2: n_max: expected 2 parameters, got 1",
        ),
        (
            "type 1 Si\nbatch 10 1\n",
            "d/nep.in:2: batch: effective full batch",
        ),
        // A key that `batch` (SNES) and `batch_size` can set: the error
        // names the keyword the file gave.
        (
            "type 1 Si\noptimizer snes\n\nbatch 0\n",
            "d/nep.in:4: batch must be at least 1",
        ),
        (
            "type 1 Si\nbatch_size 0\n",
            "d/nep.in:2: batch_size must be at least 1",
        ),
        (
            "type 1 Si\nversion 2\n",
            "d/nep.in:2: version: forcefit trains NEP3, NEP4 and NEP5",
        ),
        (
            "type 1 Si\nprediction 2\n",
            "d/nep.in:2: prediction: must be 0",
        ),
        (
            "type 1 Si\noptimizer sgd\n",
            "d/nep.in:2: optimizer: `sgd` is not adam",
        ),
        ("type 2\n", "d/nep.in:1: type: expected the number"),
        (
            "type 3 Si Ge\n",
            "d/nep.in:1: type: announces 3 types but lists 2",
        ),
        ("type 1 Xx\n", "d/nep.in:1: type: `Xx` is not an element"),
        (
            "type 1 Si\nn_max 4 4\nn_max 5 5\n",
            "d/nep.in:3: n_max: given twice (first on line 2)",
        ),
        ("n_max 4 4\n", "d/nep.in: the `type` keyword is missing"),
        // Checks of the whole configuration come back at the keyword's line.
        (
            "type 1 Si\ncutoff 4 6\n",
            "d/nep.in:2: cutoff: the angular cutoff 6",
        ),
        (
            "type 1 Si\n\ngeneration 0\n",
            "d/nep.in:3: generation must be at least 1",
        ),
        (
            "type 1 Si\nn_max 30 4\n",
            "d/nep.in:2: n_max must be at most 19",
        ),
        (
            "type 1 Si\nlr 0.001\nlr_min 0.01\n",
            "d/nep.in:3: lr_min 0.01 exceeds lr 0.001",
        ),
        (
            "type 1 Si\npopulation 1\n",
            "d/nep.in:2: population must be at least 2",
        ),
    ];
    for (text, expected) in cases {
        let e = error(text);
        assert!(e.contains(expected), "{text:?}: {e}");
    }
}

#[test]
fn config_text_round_trips() {
    let input = parse_ok("type 2 Pb Te\nzbl 2\ncutoff 6 4\ngeneration 10\n");
    let text = input.config_text().unwrap();
    let back: TrainConfig = toml::from_str(&text).unwrap();
    assert_eq!(back, input.config);
}

#[test]
fn loss_weights_map() {
    let input = parse_ok("type 2 Pb Te\ntype_weight 2 0.5\nforce_delta 1.5\nlambda_shear 0.3\n");
    let l = &input.config.loss;
    assert_eq!(l.type_weight.get("Pb"), Some(&2.0));
    assert_eq!(l.type_weight.get("Te"), Some(&0.5));
    assert_eq!((l.force_delta, l.lambda_shear), (1.5, 0.3));
    let weights = l.weights(1e-3);
    assert_eq!((weights.force_delta, weights.lambda_shear), (1.5, 0.3));
    assert_eq!(weights.type_weight, l.type_weight);
    // Without the keywords: GPUMD's defaults, which leave the loss as it was.
    let plain = parse_ok("type 2 Pb Te\n").translation.config.loss;
    assert!(plain.type_weight.is_empty());
    assert_eq!((plain.force_delta, plain.lambda_shear), (0.0, 1.0));
    for (text, expected) in [
        (
            "type 2 Pb Te\n\ntype_weight 1 2 3\n",
            "d/nep.in:3: type_weight: expected 2 parameters, got 3",
        ),
        (
            "type 2 Pb Te\ntype_weight 1\n",
            "d/nep.in:2: type_weight: expected 2 parameters, got 1",
        ),
        (
            "type 2 Pb Te\ntype_weight 1 -2\n",
            "d/nep.in:2: type_weight: the weight of Te is negative",
        ),
        (
            "type 2 Pb Te\ntype_weight 1 x\n",
            "d/nep.in:2: type_weight: `x` is not a number",
        ),
        (
            "type 1 Si\nforce_delta -0.1\n",
            "d/nep.in:2: force_delta: must not be negative",
        ),
        (
            "type 1 Si\nforce_delta 1 2\n",
            "d/nep.in:2: force_delta: expected 1 parameter, got 2",
        ),
    ] {
        let e = error(text);
        assert!(e.contains(expected), "{text:?}: {e}");
    }
}

#[test]
fn fine_tune_maps_to_init() {
    let input = parse_ok("type 2 Pb Te\nfine_tune nep89.txt nep89.restart\n");
    let m = input.config.model.as_nep().unwrap();
    assert_eq!(m.init, Some(PathBuf::from("d/nep89.txt")));
    assert!(input.warnings.iter().any(|w| w.contains("nep89.restart")));
    assert!(input.warnings.iter().any(|w| w.contains("flag 0")));
    let input = parse_ok("type 2 Pb Te\nfine_tune nep89.txt nep89.restart 1\n");
    assert!(input.warnings.iter().all(|w| !w.contains("flag 0")));
    let input = parse_ok("type 2 Pb Te\nfine_tune nep89.txt\n");
    assert!(input.warnings.iter().all(|w| !w.contains("restart")));
    let e = error("type 1 Si\nfine_tune a b 0\n");
    assert!(
        e.contains("d/nep.in:2: fine_tune: descriptor flag 0"),
        "{e}"
    );
    let e = error("type 1 Si\nfine_tune\n");
    assert!(e.contains("d/nep.in:2: fine_tune: expected 1 to 3"), "{e}");
}
