//! Configuration parsing and validation.

use super::*;

fn error(text: &str) -> String {
    TrainConfig::from_toml(text, Path::new("run.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_follow_gpumd() {
    let c = TrainConfig::from_toml("[data]\ntrain = \"train.xyz\"\n", Path::new("x.toml")).unwrap();
    assert_eq!(c.model.as_nep().unwrap().cutoff, [8.0, 4.0]);
    assert_eq!(c.model.as_nep().unwrap().n_max, [4, 4]);
    assert_eq!(c.model.as_nep().unwrap().basis_size, [8, 8]);
    assert_eq!(c.model.as_nep().unwrap().l_max, [4, 2, 0]);
    assert_eq!(c.model.as_nep().unwrap().neuron, 30);
    assert_eq!(
        (c.loss.lambda_e, c.loss.lambda_f, c.loss.lambda_v),
        (1.0, 1.0, 0.1)
    );
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    let e = error("[data]\ntrain = \"a.xyz\"\n[model]\ncutof = [6, 4]\n");
    assert!(
        e.contains("run.toml:4") && e.contains("unknown field `cutof`"),
        "{e}"
    );
    let e = error("[data]\ntrain = \"a.xyz\"\n[model]\nneuron = \"many\"\n");
    assert!(
        e.contains("run.toml:4") && e.contains("invalid type"),
        "{e}"
    );
    let e = error("[data]\ntrain = \"a.xyz\"\n[model]\ncutoff = [4, 6]\n");
    assert!(
        e.contains("model.cutoff") && e.contains("must not exceed the radial cutoff"),
        "{e}"
    );
    let e = error("[data]\ntrain = \"a.xyz\"\n[model]\ncutoff = [40, 6]\n");
    assert!(e.contains("larger than allowed"), "{e}");
    let e = error("[data]\ntrain = \"a.xyz\"\n[optimizer]\nlr = -1\n");
    assert!(e.contains("optimizer.lr must be a positive number"), "{e}");
    let e = error("[data]\ntrain = \"a.xyz\"\n[loss]\nforce_fraction = 0\n");
    assert!(e.contains("loss.force_fraction"), "{e}");
    let e = error("[data]\ntrain = \"a.xyz\"\n[loss]\ndirectional_epsilon = 0\n");
    assert!(e.contains("loss.directional_epsilon"), "{e}");
    let e = error("[data]\ntrain = \"a.xyz\"\n[loss]\nforce_gradient = \"fd\"\n");
    assert!(e.contains("`fd`") && e.contains("directional"), "{e}");
    let e = error("[data]\ntrain = \"a.xyz\"\n[optimizer]\ntype = \"sgd\"\n");
    assert!(e.contains("unknown variant `sgd`"), "{e}");
    let e = error("[model]\nneuron = 3\n");
    assert!(e.contains("missing field `data`"), "{e}");
    let e = error("[data]\ntrain = \"a.xyz\"\n[train]\nepochs = 0\n");
    assert!(e.contains("train.epochs"), "{e}");
}

#[test]
fn model_family_defaults_to_nep_and_unknown_families_are_named() {
    let c = TrainConfig::from_toml(
        "[data]\ntrain = \"a.xyz\"\n[model]\nfamily = \"nep\"\nneuron = 12\n",
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(c.model.family(), "nep");
    assert_eq!(c.model.as_nep().unwrap().neuron, 12);
    let e = error("[data]\ntrain = \"a.xyz\"\n[model]\nfamily = \"mace\"\n");
    assert!(
        e.contains("model.family") && e.contains("\"mace\"") && e.contains("nep"),
        "{e}"
    );
    let e = error("[data]\ntrain = \"a.xyz\"\n[model]\nfamily = 3\n");
    assert!(e.contains("model.family must be a string"), "{e}");
    // An unknown key names the family and lists its keys.
    let e = error("[data]\ntrain = \"a.xyz\"\n[model]\nfamily = \"nep\"\nsel = [4]\n");
    assert!(
        e.contains("model (nep)") && e.contains("unknown field `sel`") && e.contains("n_max"),
        "{e}"
    );
}

#[test]
fn model_config_round_trips_through_toml_with_its_family() {
    let c = TrainConfig::from_toml("[data]\ntrain = \"a.xyz\"\n", Path::new("x.toml")).unwrap();
    let text = toml::to_string(&c).unwrap();
    assert!(text.contains("family = \"nep\""), "{text}");
    let back: TrainConfig = toml::from_str(&text).unwrap();
    assert_eq!(back, c);
}
