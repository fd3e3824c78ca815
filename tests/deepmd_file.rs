//! deepmd-kit model files: YAML and JSON round trips, and refusals that
//! name the key.

mod common;
mod deepmd_common;

use common::{TempDir, assert_err};
use forcefit::model::deepmd::{DeepPot, looks_like_deepmd};
use forcefit::model::{Model, Prediction};

fn oracle_text() -> Option<String> {
    let p = common::shared("oracle/deepmd/deeppot_sea.yaml")?;
    Some(std::fs::read_to_string(p).unwrap())
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_same_model(a: &DeepPot, b: &DeepPot) {
    assert_eq!(a.hyper(), b.hyper());
    assert_eq!(a.embeddings(), b.embeddings());
    assert_eq!(a.fittings(), b.fittings());
    assert_eq!(bits(a.params()), bits(b.params()), "parameters");
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(bits(&sa.davg), bits(&sb.davg), "davg");
    assert_eq!(bits(&sa.dstd), bits(&sb.dstd), "dstd");
    assert_eq!(bits(&sa.bias_atom_e), bits(&sb.bias_atom_e), "bias_atom_e");
    assert_eq!(bits(&sa.out_bias), bits(&sb.out_bias), "out_bias");
    assert_eq!(bits(&sa.out_std), bits(&sb.out_std), "out_std");
}

#[test]
fn yaml_and_json_round_trips_keep_every_array() {
    let Some(text) = oracle_text() else { return };
    assert!(looks_like_deepmd(&text));
    let dir = TempDir::new("deepmd-file");
    let original = DeepPot::from_file(&dir.file("a.yaml", &text)).unwrap();
    let yaml = dir.path().join("b.yaml");
    original.write(&yaml).unwrap();
    let again = DeepPot::from_file(&yaml).unwrap();
    assert_same_model(&original, &again);
    // writing what was read gives the same text
    assert_eq!(
        original.to_yaml_string().unwrap(),
        again.to_yaml_string().unwrap()
    );
    let json = dir.path().join("c.json");
    original.write(&json).unwrap();
    let json_text = std::fs::read_to_string(&json).unwrap();
    assert!(looks_like_deepmd(&json_text));
    let from_json = DeepPot::from_file(&json).unwrap();
    assert_same_model(&original, &from_json);
    // and the arrays are those of the source file, value by value
    let source: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    let written: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    let arrays = |v: &serde_json::Value| {
        let mut out = Vec::new();
        collect_arrays(v, &mut out);
        out
    };
    assert_eq!(arrays(&source["model"]), arrays(&written["model"]));
}

/// Every `value` of an np.ndarray dict, in key order.
fn collect_arrays(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("@class").and_then(|c| c.as_str()) == Some("np.ndarray") {
                out.push(m["value"].clone());
            } else {
                for x in m.values() {
                    collect_arrays(x, out);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_arrays(x, out)),
        _ => {}
    }
}

#[test]
fn predictions_survive_the_round_trip() {
    let Some(text) = oracle_text() else { return };
    let dir = TempDir::new("deepmd-file-predict");
    let a = DeepPot::from_file(&dir.file("a.yaml", &text)).unwrap();
    let path = dir.path().join("b.json");
    a.write(&path).unwrap();
    let b = DeepPot::from_file(&path).unwrap();
    let mut rng = common::Rng(3);
    let cell = [[7.0, 0.0, 0.0], [0.5, 6.5, 0.0], [0.3, -0.4, 7.2]];
    let s = common::random_structure(
        &mut rng,
        &["O", "H", "H", "O", "H", "H"],
        cell,
        [true; 3],
        0.9,
    );
    let (pa, pb) = (a.prepare(s.clone()).unwrap(), b.prepare(s).unwrap());
    let (mut x, mut y) = (Prediction::default(), Prediction::default());
    a.predict(&pa, &mut x);
    b.predict(&pb, &mut y);
    assert_eq!(x, y);
}

#[test]
fn bad_files_are_refused_naming_the_key() {
    let Some(text) = oracle_text() else { return };
    let dir = TempDir::new("deepmd-file-bad");
    let read = |name: &str, t: &str| DeepPot::from_file(&dir.file(name, t));
    // a missing key
    let t = text.replacen("    rcut_smth: 0.5\n", "", 2);
    assert_err(
        read("missing.yaml", &t),
        &["missing.yaml", "model.descriptor", "rcut_smth"],
    );
    // another descriptor
    let t = text.replace("    type: se_e2_a\n", "    type: se_e2_r\n");
    assert_err(
        read("se_r.yaml", &t),
        &["model.descriptor.type", "se_e2_r", "not supported"],
    );
    // a wrong array shape: sel no longer matches davg
    let t = text.replacen("      - 46\n", "      - 40\n", 2);
    assert_err(
        read("shape.yaml", &t),
        &["model.descriptor.@variables.davg", "shape"],
    );
    // frame parameters
    let t = text.replace("    numb_fparam: 0\n", "    numb_fparam: 2\n");
    assert_err(
        read("fparam.yaml", &t),
        &["model.fitting.numb_fparam", "not supported"],
    );
    // exclusions
    let t = text.replace(
        "  pair_exclude_types: []\n",
        "  pair_exclude_types: [[0, 1]]\n",
    );
    assert_err(
        read("excl.yaml", &t),
        &["model.pair_exclude_types", "not supported"],
    );
    // unknown activation
    let t = text.replacen("activation_function: tanh", "activation_function: swish", 1);
    assert_err(read("act.yaml", &t), &["activation_function", "swish"]);
    // not YAML at all
    assert_err(
        read("junk.yaml", "model: [unclosed"),
        &["junk.yaml", "YAML"],
    );
    assert!(!looks_like_deepmd("nep4 2 Si O\ncutoff 5 4\n"));
}

#[test]
fn an_element_outside_the_type_map_is_an_error() {
    let Some(text) = oracle_text() else { return };
    let dir = TempDir::new("deepmd-file-elem");
    let m = DeepPot::from_file(&dir.file("a.yaml", &text)).unwrap();
    let mut rng = common::Rng(5);
    let s = common::random_structure(
        &mut rng,
        &["O", "C"],
        [[6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.0, 0.0, 6.0]],
        [true; 3],
        1.0,
    );
    assert_err(m.prepare(s), &["element \"C\"", "O, H"]);
}

#[test]
fn random_models_of_every_variant_round_trip() {
    let dir = TempDir::new("deepmd-file-random");
    for (one_side, dt) in [(true, false), (false, true)] {
        let m = deepmd_common::random_deepmd(one_side, dt, true, 71);
        let path = dir.path().join(format!("m-{one_side}-{dt}.yaml"));
        m.write(&path).unwrap();
        assert!(looks_like_deepmd(&std::fs::read_to_string(&path).unwrap()));
        let back = DeepPot::from_file(&path).unwrap();
        assert_same_model(&m, &back);
    }
}
