//! The cell-list neighbour list against the brute-force reference, on
//! random triclinic cells, thin and sheared cells, unwrapped positions,
//! mixed periodicity, clusters, and every error case.

use forcefit::neighbors::{MIN_DISTANCE, NeighborList, brute_force};
use forcefit::structure::{Labels, Origin, Structure};
use std::path::{Path, PathBuf};

/// Vectors of the two lists must agree to this, Å.
const TOLERANCE: f64 = 1e-10;

/// xorshift64*: a tiny deterministic generator, enough for test geometry.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
}

fn structure(positions: Vec<[f64; 3]>, cell: Option<[[f64; 3]; 3]>, pbc: [bool; 3]) -> Structure {
    Structure {
        species: vec!["X".to_string(); positions.len()],
        positions,
        cell,
        pbc,
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

/// Cartesian position of fractional coordinates `f` in `cell` (rows).
fn cartesian(cell: &[[f64; 3]; 3], f: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|k| f[0] * cell[0][k] + f[1] * cell[1][k] + f[2] * cell[2][k])
}

fn distance(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt()
}

/// Asserts that atom i's pairs in `a` and `b` are the same set of
/// (j, vector), vectors equal within `TOLERANCE`. Images of one j differ by
/// lattice vectors, so each pair has at most one match.
fn assert_same_pairs(a: &NeighborList, b: &NeighborList, what: &str) {
    assert_eq!(a.n_atoms(), b.n_atoms(), "{what}: atom count");
    for i in 0..a.n_atoms() {
        let (ja, va) = a.of(i);
        let (jb, vb) = b.of(i);
        assert_eq!(
            ja.len(),
            jb.len(),
            "{what}: atom {i} has a different neighbour count"
        );
        let mut used = vec![false; jb.len()];
        for (&j, v) in ja.iter().zip(va) {
            let found =
                (0..jb.len()).find(|&m| !used[m] && jb[m] == j && distance(v, &vb[m]) < TOLERANCE);
            match found {
                Some(m) => used[m] = true,
                None => panic!("{what}: pair ({i}, {j}, {v:?}) is missing from the other list"),
            }
        }
    }
}

/// For every (i, j, r) the list also holds (j, i, -r).
fn assert_symmetric(list: &NeighborList, what: &str) {
    let mut used = vec![false; list.n_pairs()];
    for i in 0..list.n_atoms() {
        let (js, vs) = list.of(i);
        for (&j, v) in js.iter().zip(vs) {
            let back = v.map(|x| -x);
            let found = list.range(j as usize).find(|&m| {
                !used[m] && list.index[m] as usize == i && distance(&list.vector[m], &back) < 1e-12
            });
            match found {
                Some(m) => used[m] = true,
                None => panic!("{what}: ({i}, {j}, {v:?}) has no reverse pair"),
            }
        }
    }
}

/// Builds with both methods, checks they agree, that the list is symmetric,
/// strictly inside the cutoff and deterministic; returns the list.
fn check(s: &Structure, cutoff: f64, what: &str) -> NeighborList {
    let fast = NeighborList::build(s, cutoff).unwrap_or_else(|e| panic!("{what}: {e}"));
    let slow = brute_force(s, cutoff).unwrap_or_else(|e| panic!("{what}: brute force: {e}"));
    assert_eq!(fast.cutoff(), cutoff);
    assert_eq!(fast.n_atoms(), s.n_atoms(), "{what}");
    assert_same_pairs(&fast, &slow, what);
    assert_symmetric(&fast, what);
    for v in &fast.vector {
        assert!(
            distance(v, &[0.0; 3]) < cutoff,
            "{what}: {v:?} beyond the cutoff"
        );
    }
    let again = NeighborList::build(s, cutoff).unwrap();
    assert_eq!(fast.index, again.index, "{what}: not deterministic");
    assert_eq!(fast.vector, again.vector, "{what}: not deterministic");
    fast
}

/// A random cell: lengths in [lo, hi] and a random shear of up to `shear`
/// times the length in every off-diagonal entry.
fn random_cell(rng: &mut Rng, lo: f64, hi: f64, shear: f64) -> [[f64; 3]; 3] {
    let mut cell = [[0.0; 3]; 3];
    for (a, row) in cell.iter_mut().enumerate() {
        let length = rng.range(lo, hi);
        for (k, x) in row.iter_mut().enumerate() {
            *x = if a == k {
                length
            } else {
                shear * length * rng.range(-1.0, 1.0)
            };
        }
    }
    cell
}

/// Random fractional positions in [lo, hi)³, redrawn until no two atoms
/// (or images) are closer than `MIN_DISTANCE`.
fn random_structure(
    rng: &mut Rng,
    n: usize,
    cell: [[f64; 3]; 3],
    pbc: [bool; 3],
    (lo, hi): (f64, f64),
) -> Structure {
    loop {
        let positions = (0..n)
            .map(|_| cartesian(&cell, std::array::from_fn(|_| rng.range(lo, hi))))
            .collect();
        let s = structure(positions, Some(cell), pbc);
        if brute_force(&s, 0.5).is_ok() {
            return s;
        }
    }
}

#[test]
fn random_triclinic_cells_match_brute_force() {
    let mut rng = Rng::new(7);
    // (atoms, cell length range, shear, cutoff)
    let cases = [
        (1, (2.5, 4.0), 0.3, 6.0),
        (2, (2.0, 5.0), 0.5, 8.0),
        (5, (3.0, 6.0), 0.4, 7.0),
        (20, (5.0, 9.0), 0.3, 5.0),
        (60, (8.0, 14.0), 0.4, 4.5),
        (150, (12.0, 20.0), 0.2, 5.0),
        (300, (18.0, 24.0), 0.3, 4.0),
    ];
    for (case, &(n, (lo, hi), shear, cutoff)) in cases.iter().enumerate() {
        for trial in 0..4 {
            let cell = random_cell(&mut rng, lo, hi, shear);
            let s = random_structure(&mut rng, n, cell, [true; 3], (0.0, 1.0));
            check(&s, cutoff, &format!("case {case} trial {trial}"));
        }
    }
}

#[test]
fn random_periodicity_and_unwrapped_positions_match_brute_force() {
    let mut rng = Rng::new(11);
    for trial in 0..40 {
        let pbc = [0, 1, 2].map(|a| (trial >> a) & 1 == 1);
        let n = 1 + (rng.uniform() * 40.0) as usize;
        let cell = random_cell(&mut rng, 3.0, 12.0, 0.4);
        let s = random_structure(&mut rng, n, cell, pbc, (-1.3, 2.7));
        let cutoff = rng.range(2.0, 8.0);
        check(&s, cutoff, &format!("trial {trial}, pbc {pbc:?}"));
    }
}

#[test]
fn thin_two_atom_cell_sees_all_images() {
    let cell = [[2.9, 0.0, 0.0], [0.7, 2.8, 0.0], [0.4, 0.6, 3.1]];
    let s = structure(
        vec![[0.0; 3], cartesian(&cell, [0.5, 0.45, 0.55])],
        Some(cell),
        [true; 3],
    );
    let list = check(&s, 8.0, "2-atom cell");
    // About 2 · (4/3 π 8³) / 25.2 Å³ ≈ 170 neighbours per atom.
    assert!(list.n_pairs() > 300, "{} pairs", list.n_pairs());
}

#[test]
fn strongly_sheared_cells_match_brute_force() {
    let cells = [
        [[5.0, 0.0, 0.0], [4.7, 0.8, 0.0], [3.9, 2.1, 0.9]],
        [[10.0, 0.0, 0.0], [-9.5, 2.0, 0.0], [9.0, -1.5, 1.8]],
        [[3.0, 0.1, 0.2], [2.9, 3.0, 0.1], [2.8, 2.9, 3.0]],
    ];
    let mut rng = Rng::new(3);
    for (c, cell) in cells.into_iter().enumerate() {
        for n in [1, 3, 12] {
            let s = random_structure(&mut rng, n, cell, [true; 3], (-0.5, 1.5));
            check(&s, 6.0, &format!("sheared cell {c}, {n} atoms"));
        }
    }
    // Enough atoms per bin that the stencil is pruned.
    let cell = [[20.0, 0.0, 0.0], [17.0, 8.0, 0.0], [12.0, 9.0, 6.0]];
    let s = random_structure(&mut rng, 150, cell, [true; 3], (0.0, 1.0));
    check(&s, 6.0, "large sheared cell");
}

#[test]
fn unwrapped_positions_give_the_same_list_as_wrapped_ones() {
    let mut rng = Rng::new(5);
    let cell = random_cell(&mut rng, 6.0, 9.0, 0.3);
    let wrapped = random_structure(&mut rng, 30, cell, [true; 3], (0.0, 1.0));
    let mut unwrapped = wrapped.clone();
    for p in &mut unwrapped.positions {
        let jump = [-1.0, 2.0, -2.0].map(|x: f64| x * rng.uniform().round());
        let shift = cartesian(&cell, jump);
        *p = std::array::from_fn(|k| p[k] + shift[k]);
    }
    let a = check(&wrapped, 6.0, "wrapped");
    let b = check(&unwrapped, 6.0, "unwrapped");
    assert_same_pairs(&a, &b, "wrapped vs unwrapped");
    // Fractional coordinates like -1.3 and 2.7.
    let s = structure(
        vec![
            cartesian(&cell, [-1.3, 0.2, 2.7]),
            cartesian(&cell, [2.7, -1.3, 0.4]),
        ],
        Some(cell),
        [true; 3],
    );
    check(&s, 7.0, "far outside the cell");
}

#[test]
fn slab_periodic_along_c_only() {
    let mut rng = Rng::new(13);
    let cell = [[12.0, 0.0, 0.0], [3.0, 11.0, 0.0], [1.0, -0.5, 4.2]];
    let s = random_structure(&mut rng, 40, cell, [false, false, true], (-0.4, 1.4));
    check(&s, 6.5, "pbc F F T");
    let s = random_structure(&mut rng, 25, cell, [true, false, true], (0.0, 1.0));
    check(&s, 6.5, "pbc T F T");
}

#[test]
fn clusters_without_a_cell() {
    let mut rng = Rng::new(17);
    let box_ = [[15.0, 0.0, 0.0], [0.0, 15.0, 0.0], [0.0, 0.0, 15.0]];
    let mut s = random_structure(&mut rng, 80, box_, [false; 3], (0.0, 1.0));
    s.cell = None;
    let list = check(&s, 5.0, "cluster");
    assert!(list.n_pairs() > 0);
    // All atoms in a plane, and the same with an irrelevant flat cell.
    let flat: Vec<[f64; 3]> = (0..30)
        .map(|i| [(i % 6) as f64 * 1.1, (i / 6) as f64 * 1.3, 2.0])
        .collect();
    let s = structure(flat.clone(), None, [false; 3]);
    check(&s, 3.0, "flat cluster");
    let s = structure(flat, Some([[0.0; 3]; 3]), [false; 3]);
    check(&s, 3.0, "flat cluster with a zero cell");
    // A sparse cluster with a distant outlier: the bins must stay few.
    let mut positions: Vec<[f64; 3]> = (0..10).map(|i| [i as f64, 0.5 * i as f64, 0.0]).collect();
    positions.push([1e6, -3e5, 7e5]);
    check(&structure(positions, None, [false; 3]), 2.5, "outlier");
}

#[test]
fn single_atom() {
    let s = structure(vec![[0.3, -0.2, 0.1]], None, [false; 3]);
    let list = check(&s, 5.0, "lone atom");
    assert_eq!(list.n_pairs(), 0);
    assert_eq!(list.n_atoms(), 1);
    let cell = [[3.0, 0.0, 0.0], [1.2, 2.7, 0.0], [0.5, 0.4, 2.9]];
    let s = structure(vec![[7.0, -4.0, 11.0]], Some(cell), [true; 3]);
    let list = check(&s, 8.0, "one atom, thin cell");
    assert!(list.n_pairs() > 50);
    assert!(list.index.iter().all(|&j| j == 0));
}

#[test]
fn no_atoms_gives_an_empty_list() {
    let s = structure(vec![], None, [false; 3]);
    let list = NeighborList::build(&s, 4.0).unwrap();
    assert_eq!((list.n_atoms(), list.n_pairs()), (0, 0));
}

#[test]
fn cutoff_is_strict() {
    // Simple cubic, a = 2: shells at 2, 2√2, 2√3 (6 + 12 + 8 atoms), 4 (6).
    let cell = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]];
    let s = structure(vec![[0.0; 3]], Some(cell), [true; 3]);
    assert_eq!(check(&s, 2.0, "cutoff 2").n_pairs(), 0);
    assert_eq!(check(&s, 2.0 + 1e-9, "cutoff 2+").n_pairs(), 6);
    assert_eq!(check(&s, 4.0, "cutoff 4").n_pairs(), 26);
    assert_eq!(check(&s, 4.0 + 1e-9, "cutoff 4+").n_pairs(), 32);
    // Two atoms exactly 1.5 Å apart in a cluster.
    let s = structure(vec![[0.0; 3], [1.5, 0.0, 0.0]], None, [false; 3]);
    assert_eq!(check(&s, 1.5, "pair at cutoff").n_pairs(), 0);
    assert_eq!(check(&s, 1.5 + 1e-12, "pair inside").n_pairs(), 2);
}

#[test]
fn larger_cell_with_many_bins() {
    let mut rng = Rng::new(19);
    let cell = random_cell(&mut rng, 24.0, 28.0, 0.15);
    let s = random_structure(&mut rng, 500, cell, [true; 3], (0.0, 1.0));
    check(&s, 5.0, "many bins");
    let s = random_structure(&mut rng, 300, cell, [true, true, false], (0.0, 1.0));
    check(&s, 4.0, "many bins, slab");
}

fn error_of(s: &Structure, cutoff: f64) -> String {
    match NeighborList::build(s, cutoff) {
        Ok(list) => panic!("expected an error, got {} pairs", list.n_pairs()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_cutoffs_are_rejected() {
    let s = structure(vec![[0.0; 3], [1.0, 0.0, 0.0]], None, [false; 3]);
    for cutoff in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let msg = error_of(&s, cutoff);
        assert!(msg.contains("cutoff"), "{msg}");
        assert!(brute_force(&s, cutoff).is_err());
    }
}

#[test]
fn atoms_too_close_are_named() {
    let mut s = structure(
        vec![[0.0; 3], [3.0, 3.0, 3.0], [0.05, 0.0, 0.0]],
        None,
        [false; 3],
    );
    s.origin = Origin {
        path: PathBuf::from("close.xyz"),
        frame: 4,
        line: 0,
    };
    let msg = error_of(&s, 5.0);
    assert!(
        msg.contains("close.xyz") && msg.contains("frame 4"),
        "{msg}"
    );
    assert!(
        msg.contains("0.0500") && msg.contains(&MIN_DISTANCE.to_string()),
        "{msg}"
    );
    assert!(
        msg.contains("atoms 0 and 2") || msg.contains("atoms 2 and 0"),
        "{msg}"
    );
    // Close only through the periodic boundary.
    let cell = [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]];
    let s = structure(
        vec![[0.01, 1.0, 1.0], [1.5, 1.5, 1.5], [2.96, 1.0, 1.0]],
        Some(cell),
        [true; 3],
    );
    let msg = error_of(&s, 4.0);
    assert!(
        msg.contains("atoms 0 and 2") || msg.contains("atoms 2 and 0"),
        "{msg}"
    );
    assert!(brute_force(&s, 4.0).is_err());
}

#[test]
fn too_thin_cells_are_rejected() {
    let cell = [[0.01, 0.0, 0.0], [0.0, 0.01, 0.0], [0.0, 0.0, 0.01]];
    let s = structure(vec![[0.0; 3]], Some(cell), [true; 3]);
    let msg = error_of(&s, 8.0);
    assert!(msg.contains("too thin"), "{msg}");
    assert!(
        brute_force(&s, 8.0)
            .unwrap_err()
            .to_string()
            .contains("too thin")
    );
    // Thin along one axis only is fine when the others are wide.
    let cell = [[0.5, 0.0, 0.0], [0.0, 30.0, 0.0], [0.0, 0.0, 30.0]];
    let s = structure(vec![[0.0; 3]], Some(cell), [true, false, false]);
    check(&s, 6.0, "thin along a only");
}

#[test]
fn periodic_structures_need_a_cell_with_volume() {
    let s = structure(vec![[0.0; 3]], None, [true, false, false]);
    assert!(error_of(&s, 3.0).contains("without a cell"));
    let flat = [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]];
    let s = structure(vec![[0.0; 3]], Some(flat), [true, true, false]);
    assert!(error_of(&s, 3.0).contains("zero volume"));
}

/// `shared/datasets/pbte/train.xyz` in the nearest ancestor of the crate
/// that has it (`../shared` from the main checkout).
fn find_pbte() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/datasets/pbte/train.xyz"))
        .find(|p| p.exists())
}

/// The first frame of an extended XYZ file, read just enough for this test.
fn first_xyz_frame(path: &Path) -> Structure {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let n: usize = lines.next().unwrap().trim().parse().unwrap();
    let comment = lines.next().unwrap();
    let start = comment.find("Lattice=\"").unwrap() + "Lattice=\"".len();
    let end = start + comment[start..].find('"').unwrap();
    let numbers: Vec<f64> = comment[start..end]
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let cell = std::array::from_fn(|a| std::array::from_fn(|k| numbers[3 * a + k]));
    let mut species = Vec::with_capacity(n);
    let mut positions = Vec::with_capacity(n);
    for line in lines.take(n) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        species.push(fields[0].to_string());
        positions.push(std::array::from_fn(|k| fields[1 + k].parse().unwrap()));
    }
    let mut s = structure(positions, Some(cell), [true; 3]);
    s.species = species;
    s
}

#[test]
fn pbte_first_frame_matches_brute_force() {
    let Some(path) = find_pbte() else {
        eprintln!("skipped: no shared/datasets/pbte/train.xyz above the crate");
        return;
    };
    let s = first_xyz_frame(&path);
    assert_eq!(s.n_atoms(), 250);
    let list = check(&s, 8.0, "PbTe frame 0");
    eprintln!("PbTe frame 0: {} pairs at 8 Å", list.n_pairs());
}
