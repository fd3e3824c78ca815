//! DeePMD npy systems: layouts, dtypes and the error catalogue.

mod common;

use common::{TempDir, assert_err, npy};
use forcefit::io::deepmd;
use std::path::{Path, PathBuf};

/// Writes a periodic 3-atom system (O H H) with `nframes` frames per set in
/// `sets` sets, as float64; frame f has energy -(f+1).
fn system(dir: &TempDir, name: &str, sets: usize, nframes: u64) -> PathBuf {
    dir.file(&format!("{name}/type.raw"), "0\n1\n1\n");
    dir.file(&format!("{name}/type_map.raw"), "O\nH\n");
    let root = dir.path().join(name);
    for s in 0..sets {
        let set = root.join(format!("set.{s:03}"));
        let n = nframes as usize;
        let coord: Vec<f64> = (0..n * 9).map(|k| 0.25 * k as f64).collect();
        let boxes: Vec<f64> = (0..n)
            .flat_map(|_| [10.0, 0.0, 0.0, 0.0, 11.0, 0.0, 1.0, 0.0, 12.0])
            .collect();
        let energy: Vec<f64> = (0..n).map(|f| -((s * n + f + 1) as f64)).collect();
        let force: Vec<f64> = (0..n * 9).map(|k| -0.5 * k as f64).collect();
        npy(&set.join("coord.npy"), &[nframes, 9], &coord);
        npy(&set.join("box.npy"), &[nframes, 9], &boxes);
        npy(&set.join("energy.npy"), &[nframes], &energy);
        npy(&set.join("force.npy"), &[nframes, 9], &force);
    }
    root
}

#[test]
fn reads_a_system() {
    let dir = TempDir::new("dp-basic");
    let root = system(&dir, "sys", 2, 3);
    let s = deepmd::read(&root).unwrap();
    assert_eq!(s.len(), 6);
    assert_eq!(s[0].species, ["O", "H", "H"]);
    assert_eq!(s[0].positions[1], [0.75, 1.0, 1.25]);
    assert_eq!(s[1].positions[0], [2.25, 2.5, 2.75]);
    assert_eq!(s[0].cell.unwrap()[2], [1.0, 0.0, 12.0]);
    assert_eq!(s[0].pbc, [true; 3]);
    assert_eq!(s[0].labels.forces.as_ref().unwrap()[2], [-3.0, -3.5, -4.0]);
    assert_eq!(s[0].labels.virial, None);
    let energies: Vec<f64> = s.iter().map(|x| x.labels.energy.unwrap()).collect();
    assert_eq!(energies, [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0]);
    // Origin: the set directory, the frame index within the system.
    assert_eq!(s[4].origin.path, root.join("set.001"));
    assert_eq!((s[4].origin.frame, s[4].origin.line), (4, 0));
    // Through the generic entry point, with detection.
    assert_eq!(forcefit::io::read(&root, None).unwrap().len(), 6);
}

#[test]
fn float32_virial_and_3d_shapes() {
    let dir = TempDir::new("dp-f32");
    dir.file("sys/type.raw", "1 0\n");
    dir.file("sys/type_map.raw", "h\nO\n");
    let set = dir.path().join("sys/set.000");
    npy(
        &set.join("coord.npy"),
        &[1, 2, 3],
        &[0.1f32, 0.2, 0.3, 1.0, 1.0, 1.0],
    );
    npy(
        &set.join("box.npy"),
        &[1, 3, 3],
        &[5f32, 0., 0., 0., 5., 0., 0., 0., 5.],
    );
    npy(&set.join("energy.npy"), &[1, 1], &[-3.5f32]);
    npy(&set.join("force.npy"), &[1, 6], &[0.5f32; 6]);
    npy(
        &set.join("virial.npy"),
        &[1, 9],
        &[1f32, 2., 3., 2., 5., 6., 3., 6., 9.],
    );
    let s = &deepmd::read(&dir.path().join("sys")).unwrap()[0];
    assert_eq!(s.species, ["O", "H"]);
    assert_eq!(s.positions[0][0], 0.1f32 as f64);
    assert_eq!(s.labels.energy, Some(-3.5));
    assert_eq!(s.labels.virial.unwrap()[5], 6.0);
}

#[test]
fn nopbc_system_needs_no_box() {
    let dir = TempDir::new("dp-nopbc");
    dir.file("sys/type.raw", "0\n0\n");
    dir.file("sys/type_map.raw", "H\n");
    dir.file("sys/nopbc", "");
    let set = dir.path().join("sys/set.000");
    npy(
        &set.join("coord.npy"),
        &[1, 6],
        &[0.0f64, 0., 0., 0.74, 0., 0.],
    );
    npy(&set.join("energy.npy"), &[1], &[-31.0f64]);
    npy(&set.join("force.npy"), &[1, 6], &[0.0f64; 6]);
    let s = &deepmd::read(&dir.path().join("sys")).unwrap()[0];
    assert_eq!((s.cell, s.pbc), (None, [false; 3]));
}

#[test]
fn directory_of_systems_in_natural_order() {
    let dir = TempDir::new("dp-multi");
    system(&dir, "all/data_10", 1, 1);
    system(&dir, "all/data_2", 1, 2);
    system(&dir, "all/nested/data_0", 1, 3);
    dir.file("all/README", "not a system");
    let s = deepmd::read(&dir.path().join("all")).unwrap();
    assert_eq!(s.len(), 6);
    let dirs: Vec<String> = s
        .iter()
        .map(|x| {
            x.origin
                .path
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into()
        })
        .collect();
    assert_eq!(
        dirs,
        ["data_2", "data_2", "data_10", "data_0", "data_0", "data_0"]
    );
    assert_eq!(s[2].origin.frame, 0);
}

#[test]
fn error_missing_npy_file() {
    let dir = TempDir::new("dp-missing");
    for file in ["coord.npy", "box.npy", "energy.npy", "force.npy"] {
        let root = system(&dir, file, 1, 2);
        std::fs::remove_file(root.join("set.000").join(file)).unwrap();
        assert_err(
            deepmd::read(&root),
            &[&format!("set.000/{file}"), "missing"],
        );
    }
}

#[test]
fn error_missing_type_map() {
    let dir = TempDir::new("dp-typemap");
    let root = system(&dir, "sys", 1, 1);
    std::fs::remove_file(root.join("type_map.raw")).unwrap();
    assert_err(
        deepmd::read(&root),
        &["type_map.raw", "missing", "required"],
    );
}

#[test]
fn error_mismatched_shapes() {
    let dir = TempDir::new("dp-shape");
    let root = system(&dir, "force", 1, 2);
    npy(&root.join("set.000/force.npy"), &[2, 8], &[0.0f64; 16]);
    assert_err(
        deepmd::read(&root),
        &[
            "set.000/force.npy",
            "shape [2, 8]",
            "expected [2, 9]",
            "natoms*3",
        ],
    );
    let root = system(&dir, "energy", 1, 2);
    npy(&root.join("set.000/energy.npy"), &[3], &[0.0f64; 3]);
    assert_err(
        deepmd::read(&root),
        &["energy.npy", "shape [3]", "expected [2]"],
    );
    let root = system(&dir, "box", 1, 2);
    npy(&root.join("set.000/box.npy"), &[2, 6], &[1.0f64; 12]);
    assert_err(
        deepmd::read(&root),
        &["box.npy", "shape [2, 6]", "expected [2, 9]"],
    );
    let root = system(&dir, "coord", 1, 2);
    npy(&root.join("set.000/coord.npy"), &[2, 12], &[0.0f64; 24]);
    assert_err(
        deepmd::read(&root),
        &["coord.npy", "shape [2, 12]", "expected [2, 9]"],
    );
    let root = system(&dir, "virial", 1, 2);
    npy(&root.join("set.000/virial.npy"), &[1, 9], &[0.0f64; 9]);
    assert_err(
        deepmd::read(&root),
        &["virial.npy", "shape [1, 9]", "expected [2, 9]"],
    );
}

#[test]
fn error_wrong_dtype() {
    let dir = TempDir::new("dp-dtype");
    let root = system(&dir, "sys", 1, 1);
    npy(&root.join("set.000/energy.npy"), &[1], &[3i64]);
    assert_err(
        deepmd::read(&root),
        &["energy.npy", "dtype '<i8'", "float32 or float64"],
    );
}

#[test]
fn error_corrupt_npy() {
    let dir = TempDir::new("dp-corrupt");
    let root = system(&dir, "sys", 1, 2);
    dir.file("sys/set.000/coord.npy", "not numpy");
    assert_err(deepmd::read(&root), &["coord.npy", "not a valid .npy"]);
    // A header promising more data than the file holds.
    let full = std::fs::read(root.join("set.000/force.npy")).unwrap();
    dir.file("sys/set.000/coord.npy", &full[..full.len() - 8]);
    dir.file("sys/set.000/force.npy", &full[..full.len() - 8]);
    assert_err(deepmd::read(&root), &["coord.npy", "needs 18 values"]);
}

#[test]
fn error_type_index_out_of_range() {
    let dir = TempDir::new("dp-type");
    let root = system(&dir, "sys", 1, 1);
    dir.file("sys/type.raw", "0\n1\n2\n");
    assert_err(
        deepmd::read(&root),
        &[
            "type.raw:3",
            "type index 2 is out of range",
            "2 types (O H)",
        ],
    );
    dir.file("sys/type.raw", "0\nH\n1\n");
    assert_err(
        deepmd::read(&root),
        &["type.raw:2", "non-negative integer", "'H'"],
    );
    dir.file("sys/type.raw", "\n");
    assert_err(deepmd::read(&root), &["type.raw:1", "empty"]);
}

#[test]
fn error_not_a_system() {
    let dir = TempDir::new("dp-none");
    let f = dir.file("file.txt", "x");
    assert_err(deepmd::read(&f), &["file.txt", "directory"]);
    std::fs::create_dir_all(dir.path().join("empty/sub")).unwrap();
    assert_err(
        deepmd::read(&dir.path().join("empty")),
        &["empty", "no DeePMD system"],
    );
    dir.file("nosets/type.raw", "0\n");
    dir.file("nosets/type_map.raw", "H\n");
    assert_err(
        deepmd::read(&dir.path().join("nosets")),
        &["nosets", "no set.*"],
    );
    assert_err(
        deepmd::read(Path::new("/nonexistent/forcefit")),
        &["/nonexistent/forcefit"],
    );
}

#[test]
fn error_non_finite_values_name_the_frame() {
    let dir = TempDir::new("dp-nan");
    let root = system(&dir, "sys", 1, 2);
    npy(&root.join("set.000/energy.npy"), &[2], &[-1.0f64, f64::NAN]);
    assert_err(
        deepmd::read(&root),
        &["set.000", "frame 1", "energy", "not finite"],
    );
}
