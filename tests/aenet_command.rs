//! `forcefit aenet`, the aenet / aenet-PyTorch drop-in, on eight TiO2
//! structures of ../shared with tiny Chebyshev orders and networks: it
//! trains from aenet's own three inputs (under other names, through
//! `--generate` and `--train`), writes the networks under their NETWORKS
//! names (which `forcefit predict` loads back) and aenet-PyTorch's
//! energies.* and forces.* in its column layout; a bad input exits with
//! status 2 naming the file, line and keyword.

mod common;

use common::{TempDir, forcefit};
use std::path::{Path, PathBuf};

/// Eight 6-atom structures of the TiO2 set.
const STRUCTURES: [&str; 8] = [
    "structure1067.xsf",
    "structure1073.xsf",
    "structure1081.xsf",
    "structure1100.xsf",
    "structure1107.xsf",
    "structure1111.xsf",
    "structure1117.xsf",
    "structure1119.xsf",
];

fn generate_in(files: &[PathBuf]) -> String {
    let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    format!(
        "OUTPUT TiO.train\n\nTYPES\n2\nO   -432.503149303  ! eV\nTi -1604.604515075  ! eV\n\n\
         SETUPS\nTi  Ti.stp\nO   O.stp\n\nforces\nforcespercent 50\n\nFILES\n{}\n{}\n",
        list.len(),
        list.join("\n")
    )
}

fn stp(el: &str) -> String {
    format!(
        "DESCR\n tiny test setup for {el}\nEND DESCR\n\nATOM {el}\n\nENV 2\nTi\nO\n\nRMIN 0.75d0\n\n\
         BASIS type=Chebyshev\nradial_Rc = 4.0  radial_N = 4 angular_Rc = 3.0  angular_N = 2\n"
    )
}

/// aenet-PyTorch's train.in with `o_network` as O's NETWORKS line.
fn train_in(o_network: &str) -> String {
    format!(
        "TRAININGSET TiO.train.ascii\nTESTPERCENT 25\nITERATIONS  3\nITERWRITE   1\nBATCHSIZE   2\n\n\
         NPSEED 1\nPHSEED 2\n\nFORCES\nalpha=0.1\n\nMEMORY_MODE cpu\n\nSAVE_ENERGIES\nSAVE_FORCES\n\n\
         METHOD\nmethod=adamw   lr=0.001\n\nREGULARIZATION 0.001\n\nNETWORKS\n\
         ! atom   network         hidden\n  Ti     Ti.test.nn    2    3:tanh    3:tanh\n{o_network}\n"
    )
}

const O_NETWORK: &str = "  O       O.test.nn    1    4:twist";

/// A run directory with the three inputs (as `aenet-*.in`) pointing at
/// `files`.
fn run_dir(tag: &str, files: &[PathBuf], o_network: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.file("aenet-generate.in", generate_in(files));
    dir.file("Ti.stp", stp("Ti"));
    dir.file("O.stp", stp("O"));
    dir.file("aenet-train.in", train_in(o_network));
    dir
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `forcefit aenet DIR --generate … --train … -o DIR/out`.
fn aenet(dir: &Path) -> std::process::Output {
    let g = dir.join("aenet-generate.in");
    let t = dir.join("aenet-train.in");
    let out = dir.join("out");
    forcefit(&[
        "aenet",
        path_str(dir),
        "--generate",
        path_str(&g),
        "--train",
        path_str(&t),
        "-o",
        path_str(&out),
        "-q",
        "-j",
        "1",
    ])
}

/// The columns of aenet-PyTorch's `energies.*` line: `{:12d}    {: 12.6f}
/// {: 12.6f}  {: 12.6f}  {: 12.6f}      {path}` (76 characters before the path).
#[track_caller]
fn check_energy_line(line: &str) {
    assert!(line.len() > 76, "{line:?}");
    let n: usize = line[..12].trim().parse().unwrap();
    let mut values = Vec::new();
    for k in 0..4 {
        let at = 16 + 14 * k;
        let field = &line[at..at + 12];
        assert_eq!(field.split('.').nth(1).map(str::len), Some(6), "{line:?}");
        values.push(field.trim().parse::<f64>().unwrap());
        let gap = if k < 3 { "  " } else { "      " };
        assert_eq!(&line[at + 12..at + 12 + gap.len()], gap, "{line:?}");
    }
    assert_eq!(&line[12..16], "    ", "{line:?}");
    assert!((values[0] / n as f64 - values[2]).abs() < 2e-6, "{line:?}");
    assert!((values[1] / n as f64 - values[3]).abs() < 2e-6, "{line:?}");
    assert!(line[76..].ends_with(".xsf"), "{line:?}");
}

/// Structures in a `forces.*` file; every atom line has 8 fields and a
/// structure header is followed by as many atom lines as it announces.
fn force_structures(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut k = 0;
    let mut count = 0;
    while k < lines.len() {
        let head: Vec<&str> = lines[k].split_whitespace().collect();
        assert_eq!((head.len(), head[0]), (4, "#"), "{}", lines[k]);
        let n: usize = head[1].parse().unwrap();
        for (i, line) in lines[k + 1..k + 1 + n].iter().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 8, "{line}");
            assert_eq!(f[0], i.to_string());
            assert!(line.ends_with(' '));
        }
        k += 1 + n;
        count += 1;
    }
    count
}

#[test]
fn the_layout_check_accepts_aenet_pytorchs_own_file() {
    let Some(p) = common::shared("datasets/tio2-aenet/aenet-pytorch-energies.test") else {
        return;
    };
    let text = std::fs::read_to_string(p).unwrap();
    text.lines().for_each(check_energy_line);
}

#[test]
fn trains_and_writes_aenet_pytorchs_files() {
    let Some(xsf) = common::shared("datasets/tio2-aenet/xsf") else {
        return;
    };
    let files: Vec<PathBuf> = STRUCTURES.iter().map(|s| xsf.join(s)).collect();
    let dir = run_dir("aenet-run", &files, O_NETWORK);
    let o = aenet(dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("PHSEED: ignored"), "{stderr}");
    let out = dir.path().join("out");
    for name in [
        "Ti.test.nn",
        "O.test.nn",
        "Ti.test.nn.ascii",
        "O.test.nn.ascii",
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let pred = out.join("pred.xyz");
    let p = forcefit(&[
        "predict",
        "--model",
        path_str(&out.join("Ti.test.nn")),
        "--model",
        path_str(&out.join("O.test.nn")),
        path_str(&files[0]),
        "-o",
        path_str(&pred),
    ]);
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
    // 8 structures, 25 % held out: 2 test, 6 train, forces of 3 of those.
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let test = read("energies.test");
    assert_eq!(test.lines().count(), 2, "{test}");
    test.lines().for_each(check_energy_line);
    let train = read("energies.train");
    assert_eq!(train.lines().count(), 6, "{train}");
    train.lines().for_each(check_energy_line);
    let written: Vec<&str> = train
        .lines()
        .chain(test.lines())
        .map(|l| &l[76..])
        .collect();
    for f in &files {
        assert!(written.contains(&path_str(f)), "{f:?} not in {written:?}");
    }
    assert_eq!(force_structures(&read("forces.train")), 3);
    assert_eq!(force_structures(&read("forces.test")), 2);
}

#[test]
fn a_bad_input_exits_with_2_naming_the_keyword() {
    let dir = run_dir(
        "aenet-bad",
        &[PathBuf::from("a.xsf")],
        "  O  O.test.nn  1  4:relu",
    );
    let o = aenet(dir.path());
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("aenet-train.in:26: NETWORKS: `4:relu`: aenet has no activation `relu`"),
        "{stderr}"
    );
}

#[test]
fn dir_alone_reads_generate_in_and_train_in() {
    let dir = TempDir::new("aenet-dir");
    dir.file("generate.in", generate_in(&[PathBuf::from("a.xsf")]));
    dir.file("Ti.stp", stp("Ti"));
    dir.file("O.stp", stp("O"));
    dir.file(
        "train.in",
        train_in(O_NETWORK).replace("MEMORY_MODE", "MEMORYMODE"),
    );
    let o = forcefit(&["aenet", path_str(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("train.in:13: MEMORYMODE: unknown keyword"),
        "{stderr}"
    );
}

#[test]
fn an_xsf_with_an_element_not_in_types_names_the_file_and_atom() {
    let dir = TempDir::new("aenet-cu");
    let cu = dir.file(
        "cu.xsf",
        "# total energy = -10.0 eV\n\nCRYSTAL\nPRIMVEC\n 4.0 0.0 0.0\n 0.0 4.0 0.0\n 0.0 0.0 4.0\n\
         PRIMCOORD\n2 1\nTi 0.0 0.0 0.0 0.0 0.0 0.0\nCu 2.0 2.0 2.0 0.0 0.0 0.0\n",
    );
    let mut files = vec![cu.clone()];
    files.extend((0..3).map(|k| {
        dir.file(
            &format!("ti{k}.xsf"),
            std::fs::read_to_string(&cu).unwrap().replace("Cu", "O"),
        )
    }));
    dir.file("aenet-generate.in", generate_in(&files));
    dir.file("Ti.stp", stp("Ti"));
    dir.file("O.stp", stp("O"));
    dir.file("aenet-train.in", train_in(O_NETWORK));
    let o = aenet(dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cu.xsf") && stderr.contains("Cu"),
        "{stderr}"
    );
}
