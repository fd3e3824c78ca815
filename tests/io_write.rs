//! Extended XYZ writer, atomic writes, bit-exact round trips through every
//! reader, and format detection.

mod common;

use common::{TempDir, assert_err, assert_same, npy};
use forcefit::io::{self, Format, extxyz};
use forcefit::structure::{Labels, Origin, Structure};
use std::path::Path;

/// A triclinic frame full of awkward numbers.
fn awkward() -> Structure {
    Structure {
        species: vec!["Pb".into(), "Te".into(), "Xx".into()],
        positions: vec![
            [0.1 + 0.2, -0.0, 1e-20],
            [f64::MIN_POSITIVE, 5e-324, 1e300],
            [-1.0 / 3.0, 2.0f64.sqrt(), 123456789.12345679],
        ],
        cell: Some([
            [6.5, 0.0, 0.0],
            [-3.25, 5.629165124598851, 0.0],
            [0.1, 0.2, 20.0],
        ]),
        pbc: [true, true, false],
        labels: Labels {
            energy: Some(-937.191_000_000_000_1),
            forces: Some(vec![
                [1e-17, -2.5, 0.0],
                [3.0, -0.0, 7e10],
                [-1.0 / 7.0, 0.3, 0.7],
            ]),
            virial: Some([1.0 / 3.0, 0.2, -0.1, 0.2, -5.48333, 1e-30, -0.1, 1e-30, 9.0]),
            weight: 2.5,
            config_type: Some("train \"x\" = {1}".into()),
        },
        origin: Origin::default(),
    }
}

fn cluster() -> Structure {
    Structure {
        species: vec!["O".into(), "H".into()],
        positions: vec![[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0]],
        cell: None,
        pbc: [false; 3],
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

#[test]
fn round_trip_is_bit_identical() {
    let dir = TempDir::new("rt");
    let p = dir.path().join("out.xyz");
    let frames = vec![awkward(), cluster()];
    extxyz::write(&p, &frames).unwrap();
    let back = extxyz::read(&p).unwrap();
    assert_eq!(back.len(), 2);
    for (a, b) in frames.iter().zip(&back) {
        assert_same(a, b);
    }
    assert_eq!((back[1].origin.frame, back[1].origin.line), (1, 6));
}

#[test]
fn writer_layout() {
    let mut buf = Vec::new();
    let s = awkward();
    extxyz::write_frame(&mut buf, &s, Some(&[-1.0, -2.0, 0.5])).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], "3");
    let c = lines[1];
    assert!(c.starts_with("Lattice=\"6.5 0.0 0.0 -3.25 "), "{c}");
    assert!(
        c.contains("Properties=species:S:1:pos:R:3:forces:R:3:energies:R:1"),
        "{c}"
    );
    assert!(c.contains(" energy=-937.1910000000001"), "{c}");
    assert!(c.contains(" virial=\"0.3333333333333333 0.2 -0.1 "), "{c}");
    assert!(c.contains(" stress=\""), "{c}");
    assert!(c.contains(" pbc=\"T T F\""), "{c}");
    assert!(c.contains(" weight=2.5"), "{c}");
    assert!(c.contains(r#" config_type="train \"x\" = {1}""#), "{c}");
    assert!(
        lines[2].starts_with("Pb 0.30000000000000004 -0.0 1e-20 "),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with(" -1.0"), "{}", lines[2]);
    // The atomic energies column is read back as an ignored column, and the
    // stress agrees with the virial.
    let back = extxyz::parse(&text, Path::new("mem.xyz")).unwrap();
    assert_same(&s, &back[0]);

    // Default weight, no cell: no weight=, no Lattice, no stress.
    let mut buf = Vec::new();
    let mut c = cluster();
    c.labels.virial = Some([0.0; 9]);
    extxyz::write_frame(&mut buf, &c, None).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert_eq!(
        text,
        "2\nProperties=species:S:1:pos:R:3 virial=\"0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0\" \
         pbc=\"F F F\"\nO 0.0 0.0 0.0\nH 0.9572 0.0 0.0\n"
    );
}

#[test]
fn writer_rejects_unreadable_values() {
    let mut buf = Vec::new();
    let mut s = awkward();
    s.labels.energy = Some(f64::NAN);
    let e = extxyz::write_frame(&mut buf, &s, None).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let mut s = awkward();
    s.species[0] = "P b".into();
    assert!(extxyz::write_frame(&mut buf, &s, None).is_err());
    let s = awkward();
    assert!(extxyz::write_frame(&mut buf, &s, Some(&[1.0])).is_err());
    let mut s = awkward();
    s.labels.config_type = Some("a\nb".into());
    assert!(extxyz::write_frame(&mut buf, &s, None).is_err());
}

#[test]
fn write_atomic_replaces_or_keeps() {
    let dir = TempDir::new("atomic");
    let p = dir.file("f.txt", "old");
    io::write_atomic(&p, |w| w.write_all(b"new")).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
    let r = io::write_atomic(&p, |w| {
        w.write_all(b"partial")?;
        Err(std::io::Error::other("boom"))
    });
    assert_err(r, &["f.txt", "boom"]);
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "temporary file left behind");
    let r = io::write_atomic(&dir.path().join("no/such/dir/f"), |_| Ok(()));
    assert_err(r, &["no/such/dir"]);
}

/// Writes every structure through extxyz and reads it back.
fn assert_round_trip(frames: &[Structure], dir: &TempDir) {
    let p = dir.path().join("rt.xyz");
    extxyz::write(&p, frames).unwrap();
    let back = extxyz::read(&p).unwrap();
    assert_eq!(back.len(), frames.len());
    for (a, b) in frames.iter().zip(&back) {
        assert_same(a, b);
    }
}

#[test]
fn round_trip_from_deepmd() {
    let dir = TempDir::new("rt-deepmd");
    let sys = dir.path().join("sys");
    dir.file("sys/type.raw", "0\n1\n1\n");
    dir.file("sys/type_map.raw", "O\nH\n");
    let coord: Vec<f64> = (0..18).map(|k| 0.1 * k as f64 + 1e-9).collect();
    let cell: Vec<f64> = [[9.1, 0., 0., 0., 9.2, 0., 0., 0., 9.3]; 2].concat();
    npy(&sys.join("set.000/coord.npy"), &[2, 9], &coord);
    npy(&sys.join("set.000/box.npy"), &[2, 9], &cell);
    npy(&sys.join("set.000/energy.npy"), &[2], &[-1.1f64, -2.2]);
    npy(
        &sys.join("set.000/force.npy"),
        &[2, 9],
        &coord.iter().map(|x| -x).collect::<Vec<_>>(),
    );
    let vir: Vec<f64> = (0..18).map(|k| k as f64 / 7.0).collect();
    npy(&sys.join("set.000/virial.npy"), &[2, 9], &vir);
    let frames = io::read(&sys, None).unwrap();
    assert_eq!(frames.len(), 2);
    assert_round_trip(&frames, &dir);
}

#[test]
fn round_trip_from_xsf() {
    let dir = TempDir::new("rt-xsf");
    dir.file(
        "x/a.xsf",
        "# total energy = -19960.66173260 eV\nCRYSTAL\nPRIMVEC\n5.934 0 0\n0 9.297 0\n0 0 4.649\n\
         PRIMCOORD\n2 1\nTi 4.42027297 7.02709599 2.24183899 0.07592985 -0.40427630 0.69417754\n\
         O 4.35577500 5.60886900 0.86034600 0.58757519 -0.05353964 0.16937123\n",
    );
    dir.file("x/b.xsf", "ATOMS\n8 0 0 0\n1 0.9572 0 0\n");
    let frames = io::read(&dir.path().join("x"), None).unwrap();
    assert_eq!(frames.len(), 2);
    assert_round_trip(&frames, &dir);
}

#[test]
fn round_trip_shared_datasets() {
    let dir = TempDir::new("rt-shared");
    for (rel, format) in [
        ("datasets/pbte/train.xyz", None),
        ("datasets/mosi2n4/train.xyz", None),
        ("datasets/ta-snap/ta.xyz", Some(Format::ExtXyz)),
        ("datasets/water-deepmd/data_1", Some(Format::Deepmd)),
        ("datasets/tio2-aenet/xsf", None),
    ] {
        let Some(p) = common::shared(rel) else {
            return;
        };
        let mut frames = io::read(&p, format).unwrap();
        frames.truncate(120);
        assert_round_trip(&frames, &dir);
    }
}

#[test]
fn format_names() {
    for (s, f) in [
        ("extxyz", Format::ExtXyz),
        ("XYZ", Format::ExtXyz),
        ("deepmd", Format::Deepmd),
        ("npy", Format::Deepmd),
        ("deepmd/npy", Format::Deepmd),
        ("xsf", Format::Xsf),
        ("outcar", Format::Outcar),
        ("vasp/outcar", Format::Outcar),
        ("Vasprun", Format::Vasprun),
        ("vasp/xml", Format::Vasprun),
    ] {
        assert_eq!(s.parse::<Format>().unwrap(), f);
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
    }
    assert_eq!(Format::ExtXyz.to_string(), "extxyz");
    assert_err(
        "vasp".parse::<Format>(),
        &["unknown structure format 'vasp'", "extxyz"],
    );
}

#[test]
fn detection() {
    let dir = TempDir::new("detect");
    let d = dir.path();
    let xyz = dir.file("a.xyz", "1\n\nH 0 0 0\n");
    let ext = dir.file("b.ExtXYZ", "1\n\nH 0 0 0\n");
    let xsf = dir.file("c.xsf", "ATOMS\nH 0 0 0\n");
    let other = dir.file("d.cfg", "");
    dir.file("sys/type.raw", "0\n");
    dir.file("systems/s1/type.raw", "0\n");
    dir.file("xsfs/structure1.xsf", "ATOMS\nH 0 0 0\n");
    std::fs::create_dir_all(d.join("empty")).unwrap();
    assert_eq!(io::detect(&xyz).unwrap(), Format::ExtXyz);
    assert_eq!(io::detect(&ext).unwrap(), Format::ExtXyz);
    assert_eq!(io::detect(&xsf).unwrap(), Format::Xsf);
    assert_eq!(io::detect(&d.join("sys")).unwrap(), Format::Deepmd);
    assert_eq!(io::detect(&d.join("systems")).unwrap(), Format::Deepmd);
    assert_eq!(io::detect(&d.join("xsfs")).unwrap(), Format::Xsf);
    assert_err(io::detect(&other), &["d.cfg", "--format"]);
    assert_err(io::detect(&d.join("empty")), &["empty", "--format"]);
    assert_err(io::detect(&d.join("nope.xyz")), &["nope.xyz"]);
    // An explicit format overrides the name.
    let cfg = dir.file("e.cfg", "1\nenergy=2\nH 0 0 0\n");
    let s = io::read(&cfg, Some(Format::ExtXyz)).unwrap();
    assert_eq!(s[0].labels.energy, Some(2.0));
    assert_err(io::read(&cfg, None), &["e.cfg", "--format"]);
    assert_eq!(io::read(&xsf, None).unwrap()[0].species, ["H"]);
}
