//! aenet XSF reader: CRYSTAL and ATOMS blocks, directories, error catalogue.

mod common;

use common::{TempDir, assert_err};
use forcefit::io::xsf;
use std::path::Path;

fn parse(text: &str) -> forcefit::Result<forcefit::structure::Structure> {
    xsf::parse(text, Path::new("s.xsf"))
}

const CRYSTAL: &str = "# total energy = -19960.66173260 eV\n\nCRYSTAL\nPRIMVEC\n\
    5.934 0.0 0.0\n0.0 9.29699974 0.0\n0.0 0.0 4.64899994\nPRIMCOORD\n2 1\n\
    Ti 4.42027297 7.02709599 2.24183899 0.07592985 -0.40427630 0.69417754\n\
    O 4.35577500 5.60886900 0.86034600 0.58757519 -0.05353964 0.16937123\n";

#[test]
fn reads_a_crystal_with_forces() {
    let s = parse(CRYSTAL).unwrap();
    assert_eq!(s.species, ["Ti", "O"]);
    assert_eq!(s.labels.energy, Some(-19960.66173260));
    assert_eq!(s.cell.unwrap()[1], [0.0, 9.29699974, 0.0]);
    assert_eq!(s.pbc, [true; 3]);
    assert_eq!(s.positions[1], [4.355775, 5.608869, 0.860346]);
    assert_eq!(s.labels.forces.as_ref().unwrap()[0][1], -0.40427630);
    assert_eq!((s.origin.frame, s.origin.line), (0, 1));
}

#[test]
fn reads_atoms_block_and_atomic_numbers() {
    let s = parse("# a molecule\nATOMS\n8 0.0 0.0 0.0\n1 0.9572 0.0 0.0\nh -0.24 0.93 0.0\n\n")
        .unwrap();
    assert_eq!(s.species, ["O", "H", "H"]);
    assert_eq!((s.cell, s.pbc), (None, [false; 3]));
    assert_eq!(s.labels.energy, None);
    assert_eq!(s.labels.forces, None);
}

#[test]
fn slab_and_convvec() {
    let text = "SLAB\nPRIMVEC\n3 0 0\n0 3 0\n0 0 20\nCONVVEC\n6 0 0\n0 6 0\n0 0 20\n\
                PRIMCOORD\n1\nAu 0 0 0\n";
    let s = parse(text).unwrap();
    assert_eq!(s.pbc, [true, true, false]);
    assert_eq!(s.cell.unwrap()[0], [3.0, 0.0, 0.0]);
}

#[test]
fn directory_in_natural_order() {
    let dir = TempDir::new("xsf-dir");
    for k in [10, 2, 1] {
        dir.file(
            &format!("d/structure{k}.xsf"),
            format!("# total energy = {k}.5 eV\nATOMS\nH 0 0 0\n"),
        );
    }
    dir.file("d/notes.txt", "ignored");
    let s = xsf::read(&dir.path().join("d")).unwrap();
    let e: Vec<f64> = s.iter().map(|x| x.labels.energy.unwrap()).collect();
    assert_eq!(e, [1.5, 2.5, 10.5]);
    assert_eq!(s[2].origin.path, dir.path().join("d/structure10.xsf"));
    std::fs::create_dir_all(dir.path().join("none")).unwrap();
    assert_err(xsf::read(&dir.path().join("none")), &["none", "no *.xsf"]);
    // A single file through the generic entry point.
    let f = dir.path().join("d/structure2.xsf");
    assert_eq!(
        forcefit::io::read(&f, None).unwrap()[0].labels.energy,
        Some(2.5)
    );
}

// ---- error catalogue ----

#[test]
fn error_truncated_primcoord() {
    let text = CRYSTAL.replace("PRIMCOORD\n2 1", "PRIMCOORD\n3 1");
    assert_err(
        parse(&text),
        &["s.xsf:12", "truncated", "2 of 3 atom lines"],
    );
}

#[test]
fn error_bad_count_line() {
    let text = CRYSTAL.replace("2 1\n", "two 1\n");
    assert_err(parse(&text), &["s.xsf:9", "'N 1'", "'two 1'"]);
}

#[test]
fn error_bad_numbers() {
    let text = CRYSTAL.replace("4.42027297", "4.42O27297");
    assert_err(parse(&text), &["s.xsf:10", "field 2", "'4.42O27297'"]);
    let text = CRYSTAL.replace("0.0 9.29699974 0.0", "0.0 nan 0.0");
    assert_err(parse(&text), &["s.xsf:6", "finite"]);
    let text = CRYSTAL.replace("0.0 9.29699974 0.0", "0.0 9.3");
    assert_err(parse(&text), &["s.xsf:6", "lattice vector of 3 numbers"]);
    let text = CRYSTAL.replace("-0.40427630", "inf");
    assert_err(parse(&text), &["s.xsf:10", "field 6", "finite"]);
}

#[test]
fn error_atom_lines() {
    let text = CRYSTAL.replace(" 0.58757519 -0.05353964 0.16937123", "");
    assert_err(
        parse(&text),
        &["s.xsf:11", "has no forces but the earlier ones do"],
    );
    let text = CRYSTAL.replace(" 0.16937123", "");
    assert_err(parse(&text), &["s.xsf:11", "4 or 7 fields", "found 6"]);
    let text = CRYSTAL.replace("\nO ", "\n1.5 ");
    assert_err(parse(&text), &["s.xsf:11", "element symbol"]);
    assert_err(
        parse("ATOMS\n200 0 0 0\n"),
        &["s.xsf:2", "atomic number 200"],
    );
}

#[test]
fn error_structure_blocks() {
    let text = "CRYSTAL\nPRIMCOORD\n1 1\nH 0 0 0\n";
    assert_err(parse(text), &["s.xsf:2", "PRIMCOORD before PRIMVEC"]);
    let text = "CRYSTAL\nPRIMVEC\n1 0 0\n0 1 0\n";
    assert_err(parse(text), &["s.xsf:5", "ends inside PRIMVEC"]);
    let text = "CRYSTAL\nPRIMVEC\n1 0 0\n0 1 0\n0 0 1\n";
    assert_err(parse(text), &["s.xsf:6", "without atoms"]);
    assert_err(
        parse("ANIMSTEPS 3\n"),
        &["s.xsf:1", "unexpected 'ANIMSTEPS 3'"],
    );
    assert_err(parse("ATOMS\n\n"), &["s.xsf:1", "ATOMS is not followed"]);
    let text = format!("{CRYSTAL}H 0 0 0\n");
    assert_err(parse(&text), &["s.xsf:12", "after the atoms"]);
    assert_err(parse(""), &["s.xsf:1", "without atoms"]);
}

#[test]
fn error_energy_comments() {
    let text = format!("# total energy = -1 eV\n{CRYSTAL}");
    assert_err(parse(&text), &["s.xsf:2", "second total energy", "line 1"]);
    let text = CRYSTAL.replace(" eV", " Ry");
    assert_err(parse(&text), &["s.xsf:1", "unit 'Ry'"]);
    let text = CRYSTAL.replace("-19960.66173260", "lots");
    assert_err(parse(&text), &["s.xsf:1", "total energy", "'lots'"]);
}

#[test]
fn error_zero_volume_cell() {
    let text = CRYSTAL.replace("0.0 0.0 4.64899994", "5.934 0.0 0.0");
    assert_err(parse(&text), &["s.xsf", "frame 0", "zero volume"]);
}
