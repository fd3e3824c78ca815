//! The fuzz targets' seeds (fuzz/seeds/<target>/) are valid inputs that
//! the readers accept, so that fuzzing starts deep inside each format
//! rather than at its first line. A seed that stops parsing (a format
//! change) fails here instead of silently weakening the fuzzing.

use forcefit::dropin::deepmd_kit::{DataFacts, Overrides, parse_str};
use forcefit::dropin::{aenet as aenet_input, gpumd::nep_in as gpumd_input};
use forcefit::model::{AnyModel, ModelFile};
use forcefit::train::{checkpoint::Checkpoint, config::TrainConfig};
use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("seeds are UTF-8 text")
}

#[test]
fn structure_seeds_parse() {
    for (p, b) in seeds("extxyz") {
        let frames = forcefit::io::extxyz::parse(text(&b), &p).unwrap();
        assert!(!frames.is_empty(), "{}", p.display());
    }
    for (p, b) in seeds("xsf") {
        forcefit::io::xsf::parse(text(&b), &p).unwrap();
    }
    for (p, b) in seeds("outcar") {
        let parsed = forcefit::io::outcar::parse(text(&b), &p).unwrap();
        assert!(!parsed.structures.is_empty(), "{}", p.display());
    }
    for (p, b) in seeds("vasprun") {
        let parsed = forcefit::io::vasprun::parse(text(&b), &p).unwrap();
        assert!(!parsed.structures.is_empty(), "{}", p.display());
    }
    for (p, b) in seeds("npy") {
        let (shape, data) = forcefit::io::deepmd::parse_npy(&b, &p).unwrap();
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "{}",
            p.display()
        );
    }
}

#[test]
fn model_seeds_load() {
    let load = |p: &Path, bytes: &[u8], name: &str| {
        let file = ModelFile {
            path: name.into(),
            bytes: bytes.to_vec(),
        };
        AnyModel::from_model_files(&[file]).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    for (p, b) in seeds("nep_txt") {
        assert_eq!(load(&p, &b, "nep.txt").family(), "nep");
    }
    // The first byte is the target's format switch (0: YAML).
    for (p, b) in seeds("deepmd_model") {
        assert_eq!(load(&p, &b[1..], "model.yaml").family(), "deepmd");
    }
    for (p, b) in seeds("aenet_nn") {
        assert_eq!(load(&p, &b, "potential.Si.nn").family(), "bp");
    }
}

#[test]
fn input_seeds_parse() {
    for (p, b) in seeds("config_toml") {
        TrainConfig::from_toml(text(&b), &p).unwrap();
    }
    for (p, b) in seeds("nep_in") {
        gpumd_input::parse(text(&b), &p, Path::new(".")).unwrap();
    }
    let facts = DataFacts {
        structures: 1,
        mean_atoms: 8.0,
    };
    for (p, b) in seeds("dp_input") {
        let name = if b[0] % 2 == 1 {
            "input.yaml"
        } else {
            "input.json"
        };
        parse_str(text(&b[1..]), Path::new(name), facts, &Overrides::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    for (p, b) in seeds("aenet_inputs") {
        let t = text(&b[1..]);
        match b[0] % 3 {
            0 => aenet_input::check_generate_in(t, &p),
            1 => aenet_input::check_train_in(t, &p),
            _ => aenet_input::check_setup(t, &p),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    for (p, b) in seeds("checkpoint") {
        Checkpoint::parse(text(&b), &p).unwrap();
    }
}

#[test]
fn the_system_seed_reads_as_a_deepmd_system() {
    let (_, bytes) = seeds("deepmd_system").remove(0);
    let names = [
        "type_map.raw",
        "type.raw",
        "set.000/coord.npy",
        "set.000/box.npy",
        "set.000/energy.npy",
        "set.000/force.npy",
        "set.000/virial.npy",
    ];
    let mut parts = Vec::new();
    let mut rest: &[u8] = &bytes;
    while let Some(i) = rest.windows(8).position(|w| w == b"@@FILE@@") {
        parts.push(&rest[..i]);
        rest = &rest[i + 8..];
    }
    parts.push(rest);
    assert_eq!(parts.len(), names.len());
    let dir = std::env::temp_dir().join(format!("forcefit-seed-system-{}", std::process::id()));
    for (name, part) in names.iter().zip(&parts) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, part).unwrap();
    }
    let frames = forcefit::io::deepmd::read(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let frames = frames.unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].species, ["Si", "Si"]);
}
