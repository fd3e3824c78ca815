//! The library-level cases of the bad-input catalogue (docs/bad-input.md):
//! an id, the input fed to one reader, and what the message must contain
//! (the file, the line or key, the limit or what was expected).

use forcefit::Result;
use forcefit::dropin::deepmd_kit::{DataFacts, Overrides, parse_str};
use forcefit::dropin::gpumd::gnep_in;
use forcefit::dropin::{aenet as aenet_input, gpumd::nep_in as gpumd_input};
use forcefit::io::{deepmd, extxyz, outcar, vasprun, xsf};
use forcefit::model::{AnyModel, ModelFile};
use forcefit::train::checkpoint::Checkpoint;
use forcefit::train::config::TrainConfig;
use std::path::Path;

/// One catalogue row tested through the library.
pub struct Case {
    /// The row's id in docs/bad-input.md.
    pub id: &'static str,
    /// Feeds the input to the reader.
    pub run: fn() -> Result<()>,
    /// What the message must contain.
    pub needles: &'static [&'static str],
}

/// Ids of the rows tested through the binary (tests/bad_input_cli.rs).
pub const CLI_IDS: &[&str] = &[
    "cli-nep-n-max",
    "cli-nep-ann",
    "cli-one-structure-held-out",
    "cli-all-validation",
    "cli-empty-train",
    "cli-no-labels",
    "cli-test-element",
    "cli-batch-larger",
    "cli-zero-epochs",
    "ckpt-best-params-short",
    "ckpt-adam-short",
    "ckpt-adam-negative-v",
    "ckpt-changed-model",
    "ckpt-family",
    "ckpt-truncated",
    "ckpt-version",
    "ckpt-lr-scale",
    "ckpt-q-scaler",
    "ckpt-params-short",
    "ckpt-changed-data",
    "ckpt-kalman-blocks",
];

fn xyz(text: &str) -> Result<()> {
    extxyz::parse(text, Path::new("bad.xyz")).map(|_| ())
}

fn nep(text: &str) -> Result<()> {
    forcefit::model::nep::file::parse(text, Path::new("nep.txt")).map(|_| ())
}

/// A nep.txt header with `n_max` and `ANN` lines as given, one number after.
fn nep_header(n_max: &str, ann: &str) -> String {
    format!(
        "nep4 1 Si\ncutoff 5 4 10 10\nn_max {n_max}\nbasis_size 0 0\nl_max 1 0 0\nANN {ann}\n1\n"
    )
}

/// A valid one-element NEP of 9 numbers; `edit` changes its text.
const TINY_NEP: &str = "nep4 1 Si\ncutoff 5 4 10 10\nn_max 0 0\nbasis_size 0 0\nl_max 1 0 0\nANN 1 0\n\
    0.3\n-0.2\n0.5\n0.7\n0.1\n0.8\n-0.4\n1.0\n1.0\n";

/// An `.npy` v1.0 header with `dict`, padded as numpy pads it.
fn npy(dict: &str, body: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(body);
    out
}

fn f64s(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn npy_f8(shape: &str, values: &[f64]) -> Vec<u8> {
    npy(
        &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"),
        &f64s(values),
    )
}

fn parse_npy(bytes: &[u8]) -> Result<()> {
    deepmd::parse_npy(bytes, Path::new("coord.npy")).map(|_| ())
}

/// A two-atom DeePMD system in a temporary directory; `edit` replaces
/// files (name, contents; empty contents remove the file).
fn system(edit: &[(&str, Vec<u8>)]) -> Result<()> {
    let dir = crate::common::TempDir::new("bad-system");
    let cell = [4.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 4.0];
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("type_map.raw", b"Si\n".to_vec()),
        ("type.raw", b"0 0\n".to_vec()),
        (
            "set.000/coord.npy",
            npy_f8("(1, 6)", &[0.0, 0.0, 0.0, 1.3, 1.4, 1.2]),
        ),
        ("set.000/box.npy", npy_f8("(1, 9)", &cell)),
        ("set.000/energy.npy", npy_f8("(1,)", &[-8.5])),
        (
            "set.000/force.npy",
            npy_f8("(1, 6)", &[0.1, 0.0, 0.0, -0.1, 0.0, 0.0]),
        ),
    ];
    for (name, bytes) in edit {
        files.retain(|(n, _)| n != name);
        if !bytes.is_empty() {
            files.push((name, bytes.clone()));
        }
    }
    for (name, bytes) in &files {
        dir.file(name, bytes);
    }
    deepmd::read(dir.path()).map(|_| ())
}

fn xsf_text(text: &str) -> Result<()> {
    xsf::parse(text, Path::new("bad.xsf")).map(|_| ())
}

/// The seeds' two-step silicon OUTCAR and vasprun.xml (fuzz/make_seeds.py).
const SI_OUTCAR: &str = include_str!("../../fuzz/seeds/outcar/si.OUTCAR");
const SI_VASPRUN: &str = include_str!("../../fuzz/seeds/vasprun/si.xml");

/// The first `n` lines of `text`.
fn head(text: &str, n: usize) -> String {
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn outcar_text(text: &str) -> Result<()> {
    outcar::parse(text, Path::new("OUTCAR")).map(|_| ())
}

fn vasprun_text(text: &str) -> Result<()> {
    vasprun::parse(text, Path::new("vasprun.xml")).map(|_| ())
}

/// The example configuration with `from` replaced by `to`.
fn toml(from: &str, to: &str) -> Result<()> {
    let base = "[data]\ntrain = \"train.xyz\"\n\n[model]\ncutoff = [5.0, 4.0]\nn_max = [4, 4]\n\
        basis_size = [8, 8]\nneuron = 30\n\n[optimizer]\nbatch_size = 4\n\n[train]\nepochs = 10\n";
    assert!(base.contains(from), "{from} not in the base configuration");
    TrainConfig::from_toml(&base.replace(from, to), Path::new("run.toml")).map(|_| ())
}

fn nep_in(text: &str) -> Result<()> {
    gpumd_input::parse(text, Path::new("d/nep.in"), Path::new("d")).map(|_| ())
}

fn gnep_in(text: &str) -> Result<()> {
    let set = gnep_in::TrainingSet {
        structures: 10,
        atoms: 40,
    };
    gnep_in::parse(text, Path::new("d/gnep.in"), Path::new("d"), &set).map(|_| ())
}

/// A small deepmd-kit input with `from` replaced by `to`.
fn dp(from: &str, to: &str) -> Result<()> {
    let base = r#"{"model": {"type_map": ["Si"],
  "descriptor": {"type": "se_e2_a", "sel": [40], "rcut": 4.5, "rcut_smth": 2.0, "neuron": [4, 8], "axis_neuron": 4},
  "fitting_net": {"neuron": [8, 8]}},
 "training": {"training_data": {"systems": ["data"], "batch_size": 2}, "numb_steps": 10}}"#;
    assert!(base.contains(from), "{from} not in the base input");
    let facts = DataFacts {
        structures: 10,
        mean_atoms: 8.0,
    };
    let text = base.replace(from, to);
    parse_str(&text, Path::new("input.json"), facts, &Overrides::default()).map(|_| ())
}

const GENERATE: &str =
    "OUTPUT x.train\n\nTYPES\n1\nSi -100.0\n\nSETUPS\nSi Si.stp\n\nFILES\n1\na.xsf\n";
const SETUP: &str = "DESCR\n test\nEND DESCR\nATOM Si\nENV 1\nSi\nRMIN 0.35d0\nBASIS type=Chebyshev\n\
    radial_Rc = 4.0  radial_N = 4 angular_Rc = 3.0  angular_N = 2\n";
const TRAIN_IN: &str = "TRAININGSET x.train.ascii\nTESTPERCENT 25\nITERATIONS 3\nMETHOD\nmethod=adam lr=0.001\n\
    NETWORKS\n  Si Si.nn 2 3:tanh 3:tanh\n";

fn generate(from: &str, to: &str) -> Result<()> {
    assert!(GENERATE.contains(from));
    aenet_input::check_generate_in(&GENERATE.replace(from, to), Path::new("generate.in"))
}

fn setup(from: &str, to: &str) -> Result<()> {
    assert!(SETUP.contains(from));
    aenet_input::check_setup(&SETUP.replace(from, to), Path::new("Si.stp"))
}

fn train_in(from: &str, to: &str) -> Result<()> {
    assert!(TRAIN_IN.contains(from));
    aenet_input::check_train_in(&TRAIN_IN.replace(from, to), Path::new("train.in"))
}

fn model_file(name: &str, bytes: Vec<u8>) -> Result<()> {
    let file = ModelFile {
        path: name.into(),
        bytes,
    };
    AnyModel::from_model_files(&[file]).map(|_| ())
}

/// The committed fuzz seed model.yaml (a one-epoch se_e2_a on
/// examples/si; its first byte is the fuzz target's format switch) with
/// `from` replaced by `to`.
fn seed_yaml(from: &str, to: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/deepmd_model/model.yaml");
    let bytes = std::fs::read(path).expect("fuzz/seeds/deepmd_model/model.yaml");
    let text = String::from_utf8(bytes[1..].to_vec()).expect("UTF-8");
    assert!(text.contains(from), "{from} not in the seed model");
    text.replacen(from, to, 1).into_bytes()
}

/// The committed aenet ASCII seed (potential.Si.nn.ascii) with its
/// first line (nlayers) replaced by `first`.
fn seed_ascii(first: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/aenet_nn/si.nn.ascii");
    let text = std::fs::read_to_string(path).expect("fuzz/seeds/aenet_nn/si.nn.ascii");
    let rest = text.split_once('\n').expect("lines").1;
    format!("{first}\n{rest}").into_bytes()
}

/// The first record of an aenet binary potential: nlayers = `n`.
fn nn_binary(n: i32) -> Vec<u8> {
    let mut b = 4u32.to_le_bytes().to_vec();
    b.extend(n.to_le_bytes());
    b.extend(4u32.to_le_bytes());
    b
}

fn checkpoint(text: &str) -> Result<()> {
    Checkpoint::parse(text, Path::new("checkpoint.json")).map(|_| ())
}

/// An input a fuzz target found crashing, kept in tests/bad_input/fuzz/.
fn fuzz_input(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad_input/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every library-level case.
pub fn cases() -> Vec<Case> {
    vec![
        // Extended XYZ.
        Case {
            id: "xyz-count",
            run: || xyz("two\ncomment\n"),
            needles: &["bad.xyz:1", "atom count", "'two'"],
        },
        Case {
            id: "xyz-huge-count",
            run: || xyz("99999999999999\nProperties=species:S:1:pos:R:3\nSi 0 0 0\n"),
            needles: &["bad.xyz:", "truncated", "1 of 99999999999999 atom lines"],
        },
        Case {
            id: "xyz-count-overflow",
            run: || xyz("999999999999999999999999\n\nSi 0 0 0\n"),
            needles: &["bad.xyz:1", "atom count"],
        },
        Case {
            id: "xyz-columns",
            run: || xyz("1\nProperties=species:S:1:pos:R:3\nSi 0 0\n"),
            needles: &["bad.xyz:3", "frame 0"],
        },
        Case {
            id: "xyz-nan",
            run: || xyz("1\nProperties=species:S:1:pos:R:3\nSi 0 nan 0\n"),
            needles: &["bad.xyz:3", "finite", "nan"],
        },
        Case {
            id: "xyz-lattice",
            run: || xyz("1\nLattice=\"4 0 0 0 4 0 0 0\"\nSi 0 0 0\n"),
            needles: &["bad.xyz:2", "Lattice"],
        },
        Case {
            id: "xyz-species",
            run: || xyz("1\nProperties=species:S:1:pos:R:3\n1.5 0 0 0\n"),
            needles: &["bad.xyz:3", "element symbol", "'1.5'"],
        },
        Case {
            id: "xyz-properties",
            run: || xyz("1\nProperties=species:S:1:pos:R:99999999999\nSi 0 0 0\n"),
            needles: &["bad.xyz:2", "Properties"],
        },
        Case {
            id: "xyz-columns-huge",
            run: || xyz("1\nProperties=species:S:1:pos:R:3:foo:R:99999999999999\nSi 0 0 0\n"),
            needles: &["bad.xyz:2", "property 'foo'", "more than 10000 columns"],
        },
        Case {
            id: "xyz-columns-overflow",
            run: || {
                xyz("1\nProperties=species:S:1:pos:R:3:a:R:18446744073709551615:b:R:2\nSi 0 0 0\n")
            },
            needles: &["bad.xyz:2", "property 'a'", "columns per atom line"],
        },
        // nep.txt.
        Case {
            id: "nep-n-max",
            run: || nep(&nep_header("400000000 4", "1 0")),
            needles: &["nep.txt:3", "n_max (radial)", "400000000", "limit of 19"],
        },
        Case {
            id: "nep-ann",
            run: || nep(&nep_header("0 0", "3000000000 0")),
            needles: &["nep.txt:6", "3000000000", "1 to 200 neurons"],
        },
        Case {
            id: "nep-basis-size",
            run: || nep(&nep_header("0 0", "1 0").replace("basis_size 0 0", "basis_size 7 99999")),
            needles: &["nep.txt:4", "basis_size (angular)", "limit of 19"],
        },
        Case {
            id: "nep-version",
            run: || nep(&TINY_NEP.replace("nep4", "nep9")),
            needles: &["nep.txt:1", "unsupported model `nep9`"],
        },
        Case {
            id: "nep-element-count",
            run: || nep(&TINY_NEP.replace("nep4 1 Si", "nep4 2 Si")),
            needles: &["nep.txt:1", "announces 2 elements but lists 1"],
        },
        Case {
            id: "nep-huge-element-count",
            run: || nep(&TINY_NEP.replace("nep4 1 Si", "nep4 18446744073709551615 Si")),
            needles: &["nep.txt:1", "elements"],
        },
        Case {
            id: "nep-truncated",
            run: || nep(TINY_NEP.trim_end_matches("1.0\n1.0\n")),
            needles: &["nep.txt:", "file ends after", "descriptor scales"],
        },
        Case {
            id: "nep-extra",
            run: || nep(&format!("{TINY_NEP}2.0\n")),
            needles: &["nep.txt:16", "unexpected `2.0`", "wrong parameter count"],
        },
        Case {
            id: "nep-not-finite",
            run: || nep(&TINY_NEP.replace("\n0.5\n", "\ninf\n")),
            needles: &["nep.txt:9", "not finite"],
        },
        Case {
            id: "nep-cutoff",
            run: || nep(&TINY_NEP.replace("cutoff 5 4", "cutoff 5 x")),
            needles: &["nep.txt:2", "`x`"],
        },
        // DeePMD npy arrays and systems.
        Case {
            id: "npy-magic",
            run: || parse_npy(b"not an npy file at all"),
            needles: &["coord.npy", "not a valid .npy file"],
        },
        Case {
            id: "npy-huge-shape",
            run: || parse_npy(&npy_f8("(1000000000000, 3)", &[1.0, 2.0, 3.0])),
            needles: &["coord.npy", "[1000000000000, 3]", "truncated"],
        },
        Case {
            id: "npy-overflow-shape",
            run: || {
                parse_npy(&npy_f8(
                    "(18446744073709551615, 18446744073709551615)",
                    &[1.0],
                ))
            },
            needles: &["coord.npy", "truncated"],
        },
        Case {
            id: "npy-dtype",
            run: || {
                parse_npy(&npy(
                    "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                    &[0; 8],
                ))
            },
            needles: &["coord.npy", "dtype", "expected float32 or float64"],
        },
        Case {
            id: "npy-fortran",
            run: || {
                parse_npy(&npy(
                    "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }",
                    &f64s(&[1.0]),
                ))
            },
            needles: &["coord.npy", "Fortran-ordered"],
        },
        Case {
            id: "fuzz-npy-header-length",
            run: || parse_npy(&fuzz_input("npy-oom-header-length.npy")),
            needles: &[
                "coord.npy",
                "npy header is 4288151553 bytes",
                "limit of 10000",
            ],
        },
        Case {
            id: "fuzz-npy-nested-header",
            run: || parse_npy(&fuzz_input("system-timeout-coord.npy")),
            needles: &["coord.npy", "nests brackets", "structured dtypes"],
        },
        Case {
            id: "system-type-index",
            run: || system(&[("type.raw", b"0 5\n".to_vec())]),
            needles: &["type.raw:1", "type index 5 is out of range", "1 types"],
        },
        Case {
            id: "system-coord-shape",
            run: || system(&[("set.000/coord.npy", npy_f8("(1, 3)", &[0.0; 3]))]),
            needles: &["coord.npy", "[1, 3]", "natoms*3"],
        },
        Case {
            id: "system-zero-frame-overflow",
            run: || {
                system(&[(
                    "set.000/force.npy",
                    npy_f8("(0, 4294967296, 4294967296)", &[]),
                )])
            },
            needles: &["force.npy", "does not match"],
        },
        Case {
            id: "system-type-map",
            run: || system(&[("type_map.raw", Vec::new())]),
            needles: &["type_map.raw", "missing"],
        },
        Case {
            id: "system-energy-missing",
            run: || system(&[("set.000/energy.npy", Vec::new())]),
            needles: &["energy.npy", "missing"],
        },
        // XSF.
        Case {
            id: "xsf-primcoord-count",
            run: || {
                xsf_text(
                    "CRYSTAL\nPRIMVEC\n4 0 0\n0 4 0\n0 0 4\nPRIMCOORD\n99999999999 1\nSi 0 0 0\n",
                )
            },
            needles: &["bad.xsf:", "99999999999"],
        },
        Case {
            id: "xsf-primvec",
            run: || xsf_text("CRYSTAL\nPRIMVEC\n4 0 0\n0 4\n0 0 4\nPRIMCOORD\n1 1\nSi 0 0 0\n"),
            needles: &["bad.xsf:4"],
        },
        Case {
            id: "xsf-empty",
            run: || xsf_text(""),
            needles: &["bad.xsf"],
        },
        // VASP OUTCAR.
        Case {
            id: "outcar-truncated-forces",
            run: || outcar_text(&head(SI_OUTCAR, 21)),
            needles: &["OUTCAR:22", "truncated", "line 19", "1 of 2 atom lines"],
        },
        Case {
            id: "outcar-force-line",
            run: || outcar_text(&SI_OUTCAR.replacen("1.40000", "1.4OOOO", 1)),
            needles: &["OUTCAR:22", "atom 2 of 2", "1.4OOOO"],
        },
        Case {
            id: "outcar-ions-huge",
            run: || {
                outcar_text(&SI_OUTCAR.replace(
                    "ions per type =               2",
                    "ions per type =   99999999999999",
                ))
            },
            needles: &[
                "OUTCAR:19",
                "99999999999999",
                "more atoms than the file has lines",
            ],
        },
        Case {
            id: "outcar-no-elements",
            run: || {
                outcar_text(
                    &SI_OUTCAR
                        .replace("TITEL", "TITLE")
                        .replacen("POTCAR:", "", 1),
                )
            },
            needles: &["OUTCAR:19", "cannot tell the elements", "TITEL"],
        },
        // VASP vasprun.xml.
        Case {
            id: "vasprun-truncated",
            run: || vasprun_text(&head(SI_VASPRUN, 36)),
            needles: &[
                "vasprun.xml:36",
                "truncated",
                "<varray> (opened at line 35)",
            ],
        },
        Case {
            id: "vasprun-malformed",
            run: || vasprun_text(&SI_VASPRUN.replacen("</structure>", "</structur>", 1)),
            needles: &["vasprun.xml:39", "not well-formed XML", "</structure>"],
        },
        Case {
            id: "vasprun-v-fields",
            run: || vasprun_text(&SI_VASPRUN.replacen("0.10000000       0.00000000", "0.1", 1)),
            needles: &["vasprun.xml:41", "3 numbers", "forces"],
        },
        Case {
            id: "vasprun-forces-missing",
            run: || vasprun_text(&SI_VASPRUN.replacen("name=\"forces\"", "name=\"f\"", 1)),
            needles: &[
                "vasprun.xml:20",
                "ionic step 1",
                "0 rows of forces",
                "one per atom (2)",
            ],
        },
        // The TOML configuration.
        Case {
            id: "toml-unknown-key",
            run: || toml("neuron = 30", "neuron = 30\ncolour = \"red\""),
            needles: &["run.toml:", "unknown field `colour`"],
        },
        Case {
            id: "toml-n-max",
            run: || toml("n_max = [4, 4]", "n_max = [400000000, 4]"),
            needles: &["run.toml", "model.n_max", "at most 19"],
        },
        Case {
            id: "toml-neurons",
            run: || toml("neuron = 30", "neuron = 3000000000"),
            needles: &["run.toml", "model.neuron", "200"],
        },
        Case {
            id: "toml-batch-zero",
            run: || toml("batch_size = 4", "batch_size = 0"),
            needles: &["run.toml", "optimizer.batch_size"],
        },
        Case {
            id: "toml-negative",
            run: || toml("epochs = 10", "epochs = -3"),
            needles: &["run.toml:14", "expected usize", "`epochs = -3`"],
        },
        Case {
            id: "toml-validation-fraction",
            run: || {
                toml(
                    "train = \"train.xyz\"",
                    "train = \"train.xyz\"\nvalidation_fraction = 1.5",
                )
            },
            needles: &["run.toml", "data.validation_fraction", "[0, 1)", "1.5"],
        },
        // GPUMD nep.in.
        Case {
            id: "nepin-n-max",
            run: || nep_in("type 1 Si\nn_max 400000000 4\n"),
            needles: &["d/nep.in:2", "n_max"],
        },
        Case {
            id: "nepin-neuron",
            run: || nep_in("type 1 Si\nneuron 3000000000\n"),
            needles: &["d/nep.in:2", "neuron"],
        },
        Case {
            id: "nepin-batch",
            run: || nep_in("type 1 Si\nbatch -1\n"),
            needles: &["d/nep.in:2", "batch"],
        },
        Case {
            id: "nepin-type-count",
            run: || nep_in("type 99999999999999999999 Si\n"),
            needles: &["d/nep.in:1", "type"],
        },
        Case {
            id: "nepin-unknown",
            run: || nep_in("type 1 Si\ncolour red\n"),
            needles: &["d/nep.in:2", "colour"],
        },
        // GPUMD gnep.in.
        Case {
            id: "gnepin-l-max",
            run: || gnep_in("type 1 Si\nl_max 4 2 0\n"),
            needles: &["d/gnep.in:2", "l_max", "1 parameter"],
        },
        Case {
            id: "gnepin-epoch",
            run: || gnep_in("type 1 Si\nepoch 99999999999\n"),
            needles: &["d/gnep.in:2", "epoch", "1..=10000"],
        },
        Case {
            id: "gnepin-restart",
            run: || gnep_in("type 1 Si\nlr_cos_restart 1 1 10\n"),
            needles: &["d/gnep.in:2", "lr_cos_restart", "1 or 5"],
        },
        Case {
            id: "gnepin-duplicate",
            run: || gnep_in("type 1 Si\nbatch 4\nbatch 8\n"),
            needles: &["d/gnep.in:3", "batch", "given twice"],
        },
        // deepmd-kit input.json.
        Case {
            id: "dp-sel",
            run: || dp("\"sel\": [40]", "\"sel\": [4000000000]"),
            needles: &["input.json", "sel"],
        },
        Case {
            id: "dp-neuron",
            run: || dp("\"neuron\": [4, 8]", "\"neuron\": [4, 800000000]"),
            needles: &["input.json", "neuron"],
        },
        Case {
            id: "dp-batch",
            run: || dp("\"batch_size\": 2", "\"batch_size\": 0"),
            needles: &["input.json", "batch_size"],
        },
        Case {
            id: "dp-steps-huge",
            run: || dp("\"numb_steps\": 10", "\"numb_steps\": 18446744073709551615"),
            needles: &["input.json", "training.numb_steps", "at most 1000000000"],
        },
        Case {
            id: "dp-batch-auto-huge",
            run: || dp("\"batch_size\": 2", "\"batch_size\": \"auto:1e300\""),
            needles: &["input.json", "batch_size", "at most 1000000000"],
        },
        Case {
            id: "dp-save-freq-huge",
            run: || {
                dp(
                    "\"numb_steps\": 10",
                    "\"numb_steps\": 10, \"save_freq\": 18446744073709551615",
                )
            },
            needles: &["input.json", "training.save_freq", "at most 1000000000"],
        },
        Case {
            id: "dp-json",
            run: || dp("\"numb_steps\": 10}}", "\"numb_steps\": 10"),
            needles: &["input.json:", "not valid JSON"],
        },
        Case {
            id: "dp-model-missing",
            run: || dp("\"model\"", "\"modell\""),
            needles: &["input.json", "model"],
        },
        // aenet generate.in, .stp setups, train.in.
        Case {
            id: "aenet-types-count",
            run: || generate("TYPES\n1\n", "TYPES\n99999999999999999999\n"),
            needles: &["generate.in:", "TYPES"],
        },
        Case {
            id: "aenet-files-count",
            run: || generate("FILES\n1\n", "FILES\n4000000000\n"),
            needles: &["generate.in:", "FILES"],
        },
        Case {
            id: "aenet-radial-order",
            run: || setup("radial_N = 4", "radial_N = 4000000000"),
            needles: &["Si.stp:", "radial_N", "0..=100"],
        },
        Case {
            id: "aenet-network-width",
            run: || train_in("3:tanh 3:tanh", "3:tanh 300000000:tanh"),
            needles: &["train.in:", "width must be 1..="],
        },
        Case {
            id: "aenet-network-layers",
            run: || train_in("Si.nn 2 3:tanh", "Si.nn 4000000000 3:tanh"),
            needles: &["train.in:", "hidden layers"],
        },
        // Model files.
        Case {
            id: "model-unknown",
            run: || model_file("model.txt", b"hello world\n".to_vec()),
            needles: &["model.txt:1", "unknown model format", "`hello`"],
        },
        Case {
            id: "deepmd-yaml",
            run: || model_file("model.yaml", b"model: {descriptor: [unclosed\n".to_vec()),
            needles: &["model.yaml:", "YAML"],
        },
        Case {
            id: "deepmd-sel",
            run: || {
                model_file(
                    "model.yaml",
                    seed_yaml("    sel:\n    - 20\n", "    sel:\n    - 4000000000\n"),
                )
            },
            needles: &["model.yaml", "sel", "4000000000"],
        },
        Case {
            id: "deepmd-shape",
            run: || {
                model_file(
                    "model.yaml",
                    seed_yaml("axis_neuron: 2", "axis_neuron: 4000000000"),
                )
            },
            needles: &["model.yaml", "axis_neuron", "4000000000"],
        },
        Case {
            id: "deepmd-values",
            run: || {
                model_file(
                    "model.yaml",
                    seed_yaml(
                        "              - - 0.27295124118287983\n                - 0.7730063718525156\n",
                        "              - - 0.27295124118287983\n",
                    ),
                )
            },
            needles: &["model.yaml", "networks[0].layers[0].@variables", "shape"],
        },
        Case {
            id: "aenet-nn-layers",
            run: || model_file("potential.Si.nn", nn_binary(2_000_000_000)),
            needles: &["potential.Si.nn", "record 1", "nlayers"],
        },
        Case {
            id: "aenet-nn-truncated",
            run: || model_file("potential.Si.nn", nn_binary(3)),
            needles: &["potential.Si.nn", "record 2", "file ends"],
        },
        Case {
            id: "aenet-nn-empty",
            run: || {
                forcefit::model::bp::file::PotentialFile::read(b"", Path::new("potential.Si.nn"))
                    .map(|_| ())
            },
            needles: &["potential.Si.nn", "empty file"],
        },
        Case {
            id: "aenet-ascii-count",
            run: || model_file("potential.Si.nn.ascii", seed_ascii("       2000000000")),
            needles: &["potential.Si.nn.ascii:1", "nlayers", "limit 64"],
        },
        // Checkpoints (the file alone; restoring is tested through the CLI).
        Case {
            id: "ckpt-not-json",
            run: || checkpoint("{\"format\": \"forcefit-checkpoint\",\n \"version\": "),
            needles: &["checkpoint.json:2", "not a forcefit checkpoint"],
        },
        Case {
            id: "ckpt-foreign",
            run: || checkpoint("{\"hello\": 1}"),
            needles: &[
                "checkpoint.json: not a forcefit checkpoint",
                "missing field `format`",
            ],
        },
    ]
}
