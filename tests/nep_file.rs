//! `nep.txt` reading and writing: byte-exact round trips of GPUMD's files
//! and clear errors for broken ones.

mod common;

use forcefit::model::Model;
use forcefit::model::nep::{Nep, file};
use std::path::Path;

#[test]
fn gpumd_files_round_trip_byte_for_byte() {
    for rel in ["datasets/pbte/nep.txt", "datasets/mosi2n4/nep.txt"] {
        let Some(path) = common::shared(rel) else {
            return;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let model = Nep::from_file(&path).unwrap();
        assert_eq!(
            file::to_string(&model),
            text,
            "{rel} changed on a round trip"
        );
    }
}

#[test]
fn zbl_file_round_trips_semantically() {
    let Some(path) = common::shared("oracle/nep/pbte_zbl_nep.txt") else {
        return;
    };
    let model = Nep::from_file(&path).unwrap();
    let again = file::parse(&file::to_string(&model), Path::new("again.txt")).unwrap();
    assert_eq!(model.hyper(), again.hyper());
    assert_eq!(model.params(), again.params());
    assert_eq!(model.q_scaler(), again.q_scaler());
}

#[test]
fn counts_match_gpumd_header() {
    let Some(path) = common::shared("datasets/pbte/nep.txt") else {
        return;
    };
    let model = Nep::from_file(&path).unwrap();
    // nep4, 2 types, n_max 6 6, basis 6 6, l_max 4 2 0, 30 neurons:
    // dim = 7 + 7·5 = 42; ANN (42+2)·30·2 + 1 = 2641; c = 4·(7·7 + 7·7) = 392.
    assert_eq!(model.hyper().dim(), 42);
    assert_eq!(model.params().len(), 2641 + 392);
}

/// Parses a variant of a small valid file and returns the error text.
fn error_of(text: &str) -> String {
    match file::parse(text, Path::new("bad/nep.txt")) {
        Ok(_) => panic!("parsed a broken file:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// A tiny valid model: 1 type, n_max 0 0, basis 0 0, l_max 1 0 0, 1 neuron.
/// dim = 1 + 1 = 2; ANN (2+2)·1 + 1 = 5; c = 1 + 1 = 2; 7 parameters, 2 scales.
fn tiny(header_first: &str, body_lines: usize) -> String {
    let mut s = format!(
        "{header_first}\ncutoff 5 4 10 10\nn_max 0 0\nbasis_size 0 0\nl_max 1 0 0\nANN 1 0\n"
    );
    for i in 0..body_lines {
        s.push_str(&format!("  {}.0000000e-01\n", i % 9 + 1));
    }
    s
}

#[test]
fn tiny_model_parses() {
    let model = file::parse(&tiny("nep4 1 Si", 9), Path::new("ok.txt")).unwrap();
    assert_eq!(model.params().len(), 7);
}

#[test]
fn wrong_parameter_count_is_reported() {
    let e = error_of(&tiny("nep4 1 Si", 8));
    assert!(
        e.contains("bad/nep.txt") && e.contains("file ends after 1 of the 2 descriptor scales"),
        "{e}"
    );
    let e = error_of(&tiny("nep4 1 Si", 10));
    assert!(
        e.contains("bad/nep.txt:16") && e.contains("wrong parameter count"),
        "{e}"
    );
}

#[test]
fn unsupported_headers_are_reported() {
    let e = error_of(&tiny("nep4_charge1 1 Si", 9));
    assert!(
        e.contains("bad/nep.txt:1") && e.contains("unsupported model `nep4_charge1`"),
        "{e}"
    );
    let e = error_of(&tiny("nep4_dipole 1 Si", 9));
    assert!(e.contains("unsupported model"), "{e}");
    let e = error_of(&tiny("nep4 2 Si", 9));
    assert!(
        e.contains(":1:") && e.contains("announces 2 elements but lists 1"),
        "{e}"
    );
    let e = error_of(&tiny("nep4 1 Qq", 9));
    assert!(e.contains("unknown element symbol \"Qq\""), "{e}");
    let e = error_of(&tiny("nep4 1 Si", 9).replace("ANN 1 0", "ANN 1 4"));
    assert!(e.contains(":6:") && e.contains("one hidden layer"), "{e}");
    let e = error_of(&tiny("nep4 1 Si", 9).replace("l_max 1 0 0", "l_max 9 0 0"));
    assert!(e.contains("l_max 9 is not supported"), "{e}");
    let e = error_of(&tiny("nep4 1 Si", 9).replace("l_max 1 0 0", "l_max 1 2 0"));
    assert!(e.contains("4-body term needs l_max"), "{e}");
    let e = error_of(&tiny("nep4 1 Si", 9).replace("cutoff 5 4 10 10", "cutoff 5 six 10 10"));
    assert!(
        e.contains(":2:") && e.contains("expected a number, found `six`"),
        "{e}"
    );
    let e = error_of(&tiny("nep4 1 Si", 9).replace("cutoff 5 4 10 10", "cutoff 4 5 10 10"));
    assert!(
        e.contains("angular cutoff must be positive and not above the radial cutoff"),
        "{e}"
    );
    let e = error_of(&tiny("nep4 1 Si", 9).replace("n_max 0 0", "nmax 0 0"));
    assert!(e.contains(":3:") && e.contains("expected `n_max"), "{e}");
    let e = error_of(&tiny("nep4_zbl 1 Si", 9));
    assert!(
        e.contains(":2:") && e.contains("expected `zbl rc_inner rc_outer [zbl_factor]`"),
        "{e}"
    );
    let e = error_of(&tiny("nep4 1 Si", 9).replace("  3.0000000e-01", "  nan"));
    assert!(e.contains(":9:") && e.contains("not finite"), "{e}");
    let e = error_of("");
    assert!(
        e.contains("file ends where the `nep4 N elements…` header was expected"),
        "{e}"
    );
}

/// Sizes in the header are bounded before anything is allocated from them.
#[test]
fn huge_header_sizes_are_refused_before_allocating() {
    // Each error points at the line that holds the size.
    for (from, to, line, needle) in [
        (
            "n_max 0 0",
            "n_max 400000000 4",
            "bad/nep.txt:3",
            "n_max (radial) is 400000000",
        ),
        (
            "basis_size 0 0",
            "basis_size 0 99",
            "bad/nep.txt:4",
            "basis_size (angular) is 99",
        ),
        (
            "ANN 1 0",
            "ANN 3000000000 0",
            "bad/nep.txt:6",
            "1 to 200 neurons",
        ),
    ] {
        let e = error_of(&tiny("nep4 1 Si", 9).replace(from, to));
        assert!(e.contains(line) && e.contains(needle), "{e}");
    }
    // The binary says so too (it used to abort on the allocation).
    let dir = common::TempDir::new("nep-huge");
    let model = dir.file(
        "huge.txt",
        tiny("nep4 1 Si", 9).replace("n_max 0 0", "n_max 400000000 4"),
    );
    let data = dir.file("empty.xyz", "");
    let o = common::forcefit(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("huge.txt:3") && err.contains("n_max"), "{err}");
}
