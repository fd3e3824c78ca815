//! Extended XYZ reader: accepted dialects and the error catalogue.

mod common;

use common::{TempDir, assert_err};
use forcefit::io::extxyz;
use std::path::Path;

fn parse(text: &str) -> forcefit::Result<Vec<forcefit::structure::Structure>> {
    extxyz::parse(text, Path::new("mem.xyz"))
}

const CUBE: &str = r#"Lattice="4 0 0 0 4 0 0 0 4""#;

#[test]
fn reads_gpumd_style_frames() {
    let text = format!(
        "2\n{CUBE} Properties=species:S:1:pos:R:3:force:R:3 energy=-1.5 \
         virial=\"1 2 3 2 5 6 3 6 9\" weight=2.5 config_type=bulk pbc=\"T T T\"\n\
         Pb 0.0 0.0 0.0 0.1 0.2 0.3\n\
         Te 2.0 2.0 2.0 -0.1 -0.2 -0.3\n\
         1\n{CUBE} Properties=species:S:1:pos:R:3 energy=-2\n\
         Te 1 1 1\n"
    );
    let s = parse(&text).unwrap();
    assert_eq!(s.len(), 2);
    let a = &s[0];
    assert_eq!(a.species, ["Pb", "Te"]);
    assert_eq!(a.positions[1], [2.0, 2.0, 2.0]);
    assert_eq!(
        a.cell,
        Some([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]])
    );
    assert_eq!(a.pbc, [true; 3]);
    assert_eq!(a.labels.energy, Some(-1.5));
    assert_eq!(a.labels.forces.as_ref().unwrap()[1], [-0.1, -0.2, -0.3]);
    assert_eq!(
        a.labels.virial,
        Some([1.0, 2.0, 3.0, 2.0, 5.0, 6.0, 3.0, 6.0, 9.0])
    );
    assert_eq!(a.labels.weight, 2.5);
    assert_eq!(a.labels.config_type.as_deref(), Some("bulk"));
    assert_eq!(a.origin.path, Path::new("mem.xyz"));
    assert_eq!((a.origin.frame, a.origin.line), (0, 1));
    let b = &s[1];
    assert_eq!((b.origin.frame, b.origin.line), (1, 5));
    assert_eq!(b.labels.forces, None);
    assert_eq!(b.labels.virial, None);
    assert_eq!(b.labels.weight, 1.0);
    assert_eq!(b.labels.config_type, None);
}

#[test]
fn keys_are_case_insensitive_and_spaced() {
    let text = "1\nLATTICE = \"3 0 0 0 3 0 0 0 3\" PROPERTIES=SPECIES:s:1:POS:r:3:FORCES:R:3 \
                Energy =  -7.25 Virial= \" 1 0 0 0 1 0 0 0 1 \" Config_Type=\"a b\" Weight=0.5 \
                PBC=\"t T true\"\nSi 0 0 0 1 2 3\n";
    let s = &parse(text).unwrap()[0];
    assert_eq!(s.labels.energy, Some(-7.25));
    assert_eq!(s.labels.forces, Some(vec![[1.0, 2.0, 3.0]]));
    assert_eq!(s.labels.virial.unwrap()[4], 1.0);
    assert_eq!(s.labels.config_type.as_deref(), Some("a b"));
    assert_eq!(s.labels.weight, 0.5);
}

#[test]
fn bare_flags_and_unknown_keys_are_ignored() {
    let text = format!(
        "1\n{CUBE} have_energy Properties=species:S:1:pos:R:3 source=A15_1.json \
         time=3 tags={{1 2}} energy=1\nTa 0 0 0\n"
    );
    assert_eq!(parse(&text).unwrap()[0].labels.energy, Some(1.0));
}

#[test]
fn other_columns_are_skipped() {
    let text = format!(
        "2\n{CUBE} Properties=id:I:1:species:S:1:vel:R:3:positions:R:3:fixed:L:1:Force:R:3\n\
         7 O 9 9 9 0.5 0.5 0.5 T 1 1 1\n\
         8 H 9 9 9 1.5 0.5 0.5 F 2 2 2\n"
    );
    let s = &parse(&text).unwrap()[0];
    assert_eq!(s.species, ["O", "H"]);
    assert_eq!(s.positions, vec![[0.5, 0.5, 0.5], [1.5, 0.5, 0.5]]);
    assert_eq!(s.labels.forces, Some(vec![[1.0; 3], [2.0; 3]]));
}

#[test]
fn atomic_numbers_as_species() {
    let text = format!(
        "2\n{CUBE} Properties=species:I:1:pos:R:3\n8 0 0 0\n1 1 0 0\n\
         2\n{CUBE} Properties=Z:I:1:pos:R:3\n82 0 0 0\n52 1 0 0\n\
         2\n{CUBE} Properties=species:S:1:pos:R:3\n73 0 0 0\nta 1 0 0\n"
    );
    let s = parse(&text).unwrap();
    assert_eq!(s[0].species, ["O", "H"]);
    assert_eq!(s[1].species, ["Pb", "Te"]);
    assert_eq!(s[2].species, ["Ta", "Ta"]);
}

#[test]
fn plain_xyz_defaults() {
    let s = &parse("2\nwater molecule\nO 0 0 0\nH 0.96 0 0\n").unwrap()[0];
    assert_eq!(s.cell, None);
    assert_eq!(s.pbc, [false; 3]);
    assert_eq!(s.labels.energy, None);
    assert_eq!(s.species, ["O", "H"]);
}

#[test]
fn pbc_variants() {
    let frame = |pbc: &str| format!("1\n{CUBE} {pbc}\nH 0 0 0\n");
    let pbc = |p: &str| parse(&frame(p)).unwrap()[0].pbc;
    assert_eq!(pbc(""), [true; 3]);
    assert_eq!(pbc("pbc=\"T T F\""), [true, true, false]);
    assert_eq!(pbc("pbc=\"True false TRUE\""), [true, false, true]);
    assert_eq!(pbc("pbc=F"), [false; 3]);
    assert_eq!(pbc("pbc=[T,F,F]"), [true, false, false]);
    // A cell with no periodicity is kept.
    let s = &parse(&frame("pbc=\"F F F\"")).unwrap()[0];
    assert!(s.cell.is_some());
    // No Lattice: non-periodic by default.
    let s = &parse("1\npbc=\"F F F\"\nH 0 0 0\n").unwrap()[0];
    assert_eq!((s.cell, s.pbc), (None, [false; 3]));
}

#[test]
fn virial_in_voigt_order() {
    // xx yy zz yz xz xy
    let text = format!("1\n{CUBE} virial=\"1 2 3 4 5 6\"\nH 0 0 0\n");
    let w = parse(&text).unwrap()[0].labels.virial.unwrap();
    assert_eq!(w, [1.0, 6.0, 5.0, 6.0, 2.0, 4.0, 5.0, 4.0, 3.0]);
}

#[test]
fn stress_becomes_virial() {
    // Volume 2*4*5 = 40 Å³; W = -stress * V.
    let lat = r#"Lattice="2 0 0 0 4 0 0 0 5""#;
    let text = format!(
        "1\n{lat} stress=\"0.1 0 0 0 -0.2 0.05 0 0.05 0.3\"\nH 0 0 0\n\
         1\n{lat} Stress=\"0.1 -0.2 0.3 0.05 0 0\"\nH 0 0 0\n"
    );
    let s = parse(&text).unwrap();
    let want = [-4.0, -0.0, -0.0, -0.0, 8.0, -2.0, -0.0, -2.0, -12.0];
    for f in &s {
        let w = f.labels.virial.unwrap();
        for k in 0..9 {
            assert!((w[k] - want[k]).abs() < 1e-12, "{w:?}");
        }
    }
}

#[test]
fn stress_and_virial_together() {
    let lat = r#"Lattice="2 0 0 0 4 0 0 0 5""#;
    let ok = format!(
        "1\n{lat} virial=\"-4 0 0 0 8 0 0 0 -12\" stress=\"0.1 0 0 0 -0.2 0 0 0 0.3\"\nH 0 0 0\n"
    );
    assert_eq!(parse(&ok).unwrap()[0].labels.virial.unwrap()[4], 8.0);
    let bad = format!(
        "1\n{lat} virial=\"-4 0 0 0 8 0 0 0 -12\" stress=\"0.1 0 0 0 0.2 0 0 0 0.3\"\nH 0 0 0\n"
    );
    assert_err(
        parse(&bad),
        &["mem.xyz:2", "frame 0", "virial and stress disagree"],
    );
}

#[test]
fn blank_lines_between_frames_and_crlf() {
    let text = "\n1\r\nenergy=1\r\nH 0 0 0\r\n\n\n1\nenergy=2\nH 0 0 0\n\n";
    let s = parse(text).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].origin.line, 2);
    assert_eq!(s[1].origin.line, 7);
    assert_eq!(s[1].labels.energy, Some(2.0));
}

#[test]
fn fortran_exponents_and_full_precision() {
    let text = "1\nenergy=-1.5D+02\nH 0.1000000000000000055511151231257827 1e-20 -0.0\n";
    let s = &parse(text).unwrap()[0];
    assert_eq!(s.labels.energy, Some(-150.0));
    assert_eq!(s.positions[0][0], 0.1);
    assert_eq!(s.positions[0][1], 1e-20);
    assert!(s.positions[0][2].is_sign_negative());
}

#[test]
fn read_from_file_and_empty_file() {
    let dir = TempDir::new("xyz-read");
    let p = dir.file("a.xyz", "1\nenergy=3\nH 0 0 0\n");
    let s = extxyz::read(&p).unwrap();
    assert_eq!(s[0].origin.path, p);
    let e = dir.file("empty.xyz", "\n\n");
    assert_err(extxyz::read(&e), &["empty.xyz", "no structures"]);
    let missing = dir.path().join("missing.xyz");
    assert_err(extxyz::read(&missing), &["missing.xyz"]);
    let bin = dir.file("bin.xyz", b"1\nenergy=3\nH 0 0 \xff\n");
    assert_err(extxyz::read(&bin), &["bin.xyz:3", "not UTF-8"]);
}

// ---- error catalogue: file name, line (and frame), and what was expected ----

#[test]
fn error_truncated_frame() {
    let text = format!("1\n{CUBE}\nH 0 0 0\n3\n{CUBE}\nH 0 0 0\nH 1 1 1\n");
    assert_err(
        parse(&text),
        &[
            "mem.xyz:8",
            "frame 1",
            "line 4",
            "truncated",
            "2 of 3 atom lines",
        ],
    );
}

#[test]
fn error_huge_atom_count_is_just_truncation() {
    let text = "18446744073709551615\n\nH 0 0 0\n";
    assert_err(
        parse(text),
        &["mem.xyz:4", "truncated", "1 of 18446744073709551615"],
    );
    let text = "18446744073709551616\n\nH 0 0 0\n";
    assert_err(parse(text), &["mem.xyz:1", "atom count"]);
}

#[test]
fn error_missing_comment_line() {
    assert_err(parse("2"), &["mem.xyz:2", "frame 0", "comment line"]);
}

#[test]
fn error_first_line_not_a_count() {
    for bad in ["abc", "-3", "3.5", "2 atoms"] {
        let text = format!("{bad}\n\nH 0 0 0\nH 0 0 0\n");
        assert_err(parse(&text), &["mem.xyz:1", "frame 0", "atom count", bad]);
    }
}

#[test]
fn error_too_few_and_too_many_columns() {
    let text =
        format!("2\n{CUBE} Properties=species:S:1:pos:R:3:force:R:3\nH 0 0 0 1 1 1\nH 0 0 0 1 1\n");
    assert_err(
        parse(&text),
        &[
            "mem.xyz:4",
            "frame 0",
            "too few columns",
            "has 6",
            "declares 7",
        ],
    );
    let text = format!("1\n{CUBE}\nH 0 0 0 0\n");
    assert_err(
        parse(&text),
        &["mem.xyz:3", "too many columns", "has 5", "declares 4"],
    );
}

#[test]
fn error_non_numeric_field() {
    let text = format!("1\n{CUBE} Properties=species:S:1:pos:R:3:forces:R:3\nH 0 0 0 1 x 1\n");
    assert_err(
        parse(&text),
        &[
            "mem.xyz:3",
            "frame 0",
            "column 6",
            "forces component 2",
            "'x'",
        ],
    );
    let text = format!("1\n{CUBE} energy=abc\nH 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz:2", "energy", "'abc'"]);
}

#[test]
fn error_periodic_without_lattice() {
    assert_err(
        parse("1\npbc=\"T T F\" energy=1\nH 0 0 0\n"),
        &["mem.xyz:2", "frame 0", "no Lattice"],
    );
}

#[test]
fn error_properties_without_positions_or_species() {
    let text = format!("1\n{CUBE} Properties=species:S:1:force:R:3\nH 0 0 0\n");
    assert_err(
        parse(&text),
        &["mem.xyz:2", "frame 0", "no positions column"],
    );
    let text = format!("1\n{CUBE} Properties=pos:R:3:force:R:3\n0 0 0 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz:2", "no species column"]);
    let text = format!("1\n{CUBE} Properties=species:S:1:pos:R:2\nH 0 0\n");
    assert_err(parse(&text), &["mem.xyz:2", "'pos' must be R:3"]);
    let text = format!("1\n{CUBE} Properties=species:S:1:pos:R:3:pos:R:3\nH 0 0 0 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz:2", "appears twice"]);
    let text = format!(
        "1\n{CUBE} Properties=species:S:1:pos:R:3:force:R:3:forces:R:3\nH 0 0 0 0 0 0 0 0 0\n"
    );
    assert_err(parse(&text), &["mem.xyz:2", "both 'force' and 'forces'"]);
}

#[test]
fn error_malformed_properties() {
    for (props, needle) in [
        ("species:S:1:pos:R", "triples"),
        ("species:S:1:pos:X:3", "unknown type 'X'"),
        ("species:S:1:pos:R:0", "column count '0'"),
        ("species:S:1:pos:R:three", "column count 'three'"),
    ] {
        let text = format!("1\n{CUBE} Properties={props}\nH 0 0 0\n");
        assert_err(parse(&text), &["mem.xyz:2", "frame 0", needle]);
    }
}

#[test]
fn error_non_finite_values() {
    let cases = [
        (
            format!("1\n{CUBE} energy=nan\nH 0 0 0\n"),
            "mem.xyz:2",
            "energy",
        ),
        (
            format!("1\n{CUBE} energy=inf\nH 0 0 0\n"),
            "mem.xyz:2",
            "finite",
        ),
        (
            format!("1\n{CUBE} Properties=species:S:1:pos:R:3:force:R:3\nH 0 0 0 1 inf 1\n"),
            "mem.xyz:3",
            "force component 2",
        ),
        (
            format!("1\n{CUBE} virial=\"1 2 3 4 NaN 6 7 8 9\"\nH 0 0 0\n"),
            "mem.xyz:2",
            "virial, value 5",
        ),
        (
            format!("1\n{CUBE} stress=\"1 2 3 4 5 -inf\"\nH 0 0 0\n"),
            "mem.xyz:2",
            "stress, value 6",
        ),
        (
            format!("1\n{CUBE}\nH 0 nan 0\n"),
            "mem.xyz:3",
            "pos component 2",
        ),
        (
            "1\nLattice=\"4 0 0 0 inf 0 0 0 4\"\nH 0 0 0\n".to_string(),
            "mem.xyz:2",
            "Lattice, value 5",
        ),
    ];
    for (text, at, what) in &cases {
        assert_err(parse(text), &[at, "frame 0", what, "finite"]);
    }
}

#[test]
fn error_zero_volume_cell() {
    let text = "1\nenergy=1\nH 0 0 0\n1\nLattice=\"1 0 0 2 0 0 0 0 1\"\nH 0 0 0\n";
    assert_err(
        parse(text),
        &["mem.xyz", "frame 1", "line 4", "zero volume"],
    );
    // Not periodic: a flat cell is allowed.
    let text = "1\nLattice=\"1 0 0 2 0 0 0 0 1\" pbc=\"F F F\"\nH 0 0 0\n";
    assert!(parse(text).is_ok());
}

#[test]
fn error_lattice_wrong_count() {
    let text = "1\nLattice=\"4 0 0 0 4 0 0 0\"\nH 0 0 0\n";
    assert_err(
        parse(text),
        &["mem.xyz:2", "frame 0", "Lattice", "8 value(s), expected 9"],
    );
    let text = format!("1\n{CUBE} virial=\"1 2 3\"\nH 0 0 0\n");
    assert_err(
        parse(&text),
        &["mem.xyz:2", "virial", "3 value(s), expected 9 or 6"],
    );
}

#[test]
fn error_duplicate_keys() {
    let text = format!("1\n{CUBE} energy=1 Energy=2\nH 0 0 0\n");
    assert_err(
        parse(&text),
        &["mem.xyz:2", "frame 0", "'energy' appears twice"],
    );
    let text = format!("1\n{CUBE} {CUBE}\nH 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz:2", "'lattice' appears twice"]);
}

#[test]
fn error_garbage() {
    // Unterminated quote.
    let text = "1\nLattice=\"4 0 0 0 4 0 0 0 4 energy=1\nH 0 0 0\n";
    assert_err(parse(text), &["mem.xyz:2", "unterminated"]);
    // '=' without a key.
    assert_err(parse("1\n=5\nH 0 0 0\n"), &["mem.xyz:2", "without a key"]);
    // An extra atom line is taken for the next frame's count.
    let text = "1\nenergy=1\nH 0 0 0\nH 1 1 1\n";
    assert_err(
        parse(text),
        &["mem.xyz:4", "frame 1", "atom count", "'H 1 1 1'"],
    );
    // Trailing junk.
    let text = "1\nenergy=1\nH 0 0 0\nthe end\n";
    assert_err(parse(text), &["mem.xyz:4", "atom count"]);
    // A number where the species should be.
    let text = "1\nenergy=1\n0.5 0 0 0\n";
    assert_err(
        parse(text),
        &["mem.xyz:3", "column 1 (species)", "element symbol"],
    );
    // Bad logical.
    let text = format!("1\n{CUBE} pbc=\"T X T\"\nH 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz:2", "'X' is not a logical"]);
    let text = format!("1\n{CUBE} pbc=\"T T\"\nH 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz:2", "pbc", "expected 3"]);
    // Atomic number out of range.
    let text = format!("1\n{CUBE} Properties=species:I:1:pos:R:3\n0 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz:3", "atomic number 1-118"]);
}

#[test]
fn error_stress_without_cell() {
    let text = "1\nstress=\"1 2 3 4 5 6\" pbc=\"F F F\"\nH 0 0 0\n";
    assert_err(
        parse(text),
        &["mem.xyz:2", "frame 0", "stress", "no Lattice"],
    );
}

#[test]
fn error_bad_weight_and_empty_frame() {
    let text = format!("1\n{CUBE} weight=-1\nH 0 0 0\n");
    assert_err(parse(&text), &["mem.xyz", "frame 0", "line 1", "weight"]);
    let text = format!("0\n{CUBE}\n");
    assert_err(parse(&text), &["mem.xyz", "frame 0", "no atoms"]);
}
