//! Generates the built-in silicon example data set, `examples/si/train.xyz`
//! and `examples/si/test.xyz`, labelled with the Stillinger–Weber potential
//! ([`forcefit::potentials::StillingerWeber`]).
//!
//! Run: `cargo run --release --example make_si_dataset`
//!
//! Deterministic: ChaCha8 streams (portable across platforms) with fixed
//! seeds, one for the training set and one for the test set, so changing
//! one set leaves the other as it was. Positions and cells are rounded to
//! 1e-8 Å before labelling, which also hides last-bit differences of `cbrt`
//! between C libraries; the labels are computed from the rounded values.
//!
//! Every configuration starts from diamond silicon (a = 5.431 Å) in one of
//! these cells: the 2-atom primitive cell, the 8-atom conventional cell, or
//! its 2×1×1 (16-atom) or 2×2×2 (64-atom) supercells. Then, in order:
//! optionally one atom removed (vacancy) or the cell vectors skewed by
//! lattice vectors (triclinic, same crystal); a homogeneous deformation
//! s^(1/3) (I + ε), with the six components of the symmetric ε uniform in
//! ±4 % and the volume factor s uniform in 0.94–1.08; every coordinate of
//! every atom displaced by a uniform amount in ±d, with d drawn per
//! configuration from the kind's range. A configuration with two atoms
//! closer than 1.9 Å is drawn again.

use forcefit::io;
use forcefit::model::{Model, Prediction};
use forcefit::neighbors::NeighborList;
use forcefit::potentials::StillingerWeber;
use forcefit::structure::{Labels, Origin, Structure, det3};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// Seeds of the training and test streams.
const SEED_TRAIN: u64 = 0x5157_2025;
const SEED_TEST: u64 = 0x5157_2026;
/// Lattice constant of diamond silicon, Å (the Stillinger–Weber minimum).
const LATTICE: f64 = 5.431;
/// Configurations with a closer pair are drawn again, Å.
const MIN_DISTANCE: f64 = 1.9;
/// Largest normal or shear strain component.
const MAX_STRAIN: f64 = 0.04;
/// Range of the volume factor.
const VOLUME: (f64, f64) = (0.94, 1.08);
/// Positions and cells are rounded to 1/ROUNDING Å (1e-8 Å).
const ROUNDING: f64 = 1e8;

/// What is done to the crystal besides strain and rattle.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Primitive,
    Strained,
    Rattled,
    Hot,
    Vacancy,
    Triclinic,
}

impl Kind {
    /// The `config_type` written to the file.
    fn name(self) -> &'static str {
        match self {
            Kind::Primitive => "primitive",
            Kind::Strained => "strained",
            Kind::Rattled => "rattled",
            Kind::Hot => "hot",
            Kind::Vacancy => "vacancy",
            Kind::Triclinic => "triclinic",
        }
    }
}

/// One line of the data-set plan.
struct Recipe {
    kind: Kind,
    /// Repetitions of the conventional cell (ignored for `Primitive`).
    supercell: [usize; 3],
    /// Range of the rattle amplitude d, Å.
    rattle: (f64, f64),
    /// Number of configurations in the training and the test set.
    count: (usize, usize),
}

const fn recipe(
    kind: Kind,
    supercell: [usize; 3],
    rattle: (f64, f64),
    count: (usize, usize),
) -> Recipe {
    Recipe {
        kind,
        supercell,
        rattle,
        count,
    }
}

/// The plan: 60 training and 20 test configurations.
const PLAN: [Recipe; 11] = [
    recipe(Kind::Primitive, [1, 1, 1], (0.03, 0.15), (8, 2)),
    recipe(Kind::Strained, [1, 1, 1], (0.03, 0.03), (8, 3)),
    recipe(Kind::Strained, [2, 1, 1], (0.03, 0.03), (6, 2)),
    recipe(Kind::Rattled, [1, 1, 1], (0.05, 0.15), (8, 2)),
    recipe(Kind::Rattled, [2, 1, 1], (0.05, 0.15), (6, 2)),
    recipe(Kind::Rattled, [2, 2, 2], (0.05, 0.15), (4, 2)),
    recipe(Kind::Hot, [2, 1, 1], (0.15, 0.25), (4, 1)),
    recipe(Kind::Hot, [2, 2, 2], (0.15, 0.25), (6, 2)),
    recipe(Kind::Vacancy, [2, 2, 2], (0.03, 0.15), (4, 2)),
    recipe(Kind::Triclinic, [1, 1, 1], (0.03, 0.15), (4, 1)),
    recipe(Kind::Triclinic, [2, 1, 1], (0.03, 0.15), (2, 1)),
];

fn main() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join("si");
    std::fs::create_dir_all(&dir)?;
    let model = StillingerWeber::silicon();
    let sets = [
        ("train.xyz", SEED_TRAIN, PLAN.map(|r| r.count.0)),
        ("test.xyz", SEED_TEST, PLAN.map(|r| r.count.1)),
    ];
    for (name, seed, counts) in sets {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut structures = Vec::new();
        for (recipe, count) in PLAN.iter().zip(counts) {
            for _ in 0..count {
                let mut s = loop {
                    let s = draw(&mut rng, recipe);
                    if no_close_pairs(&s) {
                        break s;
                    }
                };
                label(&model, &mut s)?;
                structures.push(s);
            }
        }
        let path = dir.join(name);
        io::extxyz::write(&path, &structures)?;
        summarize(&path, &structures)?;
    }
    Ok(())
}

/// One random configuration following `recipe` (unlabelled).
fn draw(rng: &mut ChaCha8Rng, recipe: &Recipe) -> Structure {
    let (mut cell, mut positions) = match recipe.kind {
        Kind::Primitive => primitive(),
        _ => supercell(recipe.supercell),
    };
    match recipe.kind {
        Kind::Vacancy => {
            let n = positions.len() as u32;
            positions.remove(rng.random_range(0..n) as usize);
        }
        Kind::Triclinic => {
            let sign = |rng: &mut ChaCha8Rng| if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            // b += ±a, c += ±a ± b: a unimodular change of basis, so the
            // crystal is unchanged but the cell is skewed.
            let (t1, t2, t3) = (sign(rng), sign(rng), sign(rng));
            let [a, b, c] = cell;
            cell = [
                a,
                std::array::from_fn(|k| b[k] + t1 * a[k]),
                std::array::from_fn(|k| c[k] + t2 * a[k] + t3 * b[k]),
            ];
            wrap(&cell, &mut positions);
        }
        _ => {}
    }

    let mut strain = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in i..3 {
            let e = rng.random_range(-MAX_STRAIN..MAX_STRAIN);
            strain[i][j] = e;
            strain[j][i] = e;
        }
    }
    let scale = rng.random_range(VOLUME.0..VOLUME.1).cbrt();
    let deform = |v: [f64; 3]| -> [f64; 3] {
        std::array::from_fn(|i| scale * (v[i] + (0..3).map(|j| strain[i][j] * v[j]).sum::<f64>()))
    };
    cell = cell.map(deform);
    for p in &mut positions {
        *p = deform(*p);
    }

    let amplitude = if recipe.rattle.0 < recipe.rattle.1 {
        rng.random_range(recipe.rattle.0..recipe.rattle.1)
    } else {
        recipe.rattle.0
    };
    for p in &mut positions {
        for x in p.iter_mut() {
            *x += rng.random_range(-amplitude..amplitude);
        }
    }

    // Division by the exact power of ten gives the double nearest to the
    // 8-decimal number, which prints as at most 8 decimals.
    let round = |x: f64| (x * ROUNDING).round() / ROUNDING;
    Structure {
        species: vec!["Si".to_string(); positions.len()],
        positions: positions.iter().map(|p| p.map(round)).collect(),
        cell: Some(cell.map(|v| v.map(round))),
        pbc: [true; 3],
        labels: Labels {
            config_type: Some(recipe.kind.name().to_string()),
            ..Labels::default()
        },
        origin: Origin::default(),
    }
}

/// The 2-atom primitive (fcc) cell of diamond: cell rows and positions, Å.
fn primitive() -> ([[f64; 3]; 3], Vec<[f64; 3]>) {
    let h = 0.5 * LATTICE;
    let cell = [[0.0, h, h], [h, 0.0, h], [h, h, 0.0]];
    (cell, vec![[0.0; 3], [0.25 * LATTICE; 3]])
}

/// The conventional 8-atom cubic cell repeated `n` times along x, y, z.
fn supercell(n: [usize; 3]) -> ([[f64; 3]; 3], Vec<[f64; 3]>) {
    let basis = [
        [0.0, 0.0, 0.0],
        [0.0, 0.5, 0.5],
        [0.5, 0.0, 0.5],
        [0.5, 0.5, 0.0],
        [0.25, 0.25, 0.25],
        [0.25, 0.75, 0.75],
        [0.75, 0.25, 0.75],
        [0.75, 0.75, 0.25],
    ];
    let mut positions = Vec::new();
    for i in 0..n[0] {
        for j in 0..n[1] {
            for k in 0..n[2] {
                let shift = [i as f64, j as f64, k as f64];
                for b in &basis {
                    positions.push(std::array::from_fn(|x| (b[x] + shift[x]) * LATTICE));
                }
            }
        }
    }
    let mut cell = [[0.0; 3]; 3];
    for x in 0..3 {
        cell[x][x] = n[x] as f64 * LATTICE;
    }
    (cell, positions)
}

/// Moves every atom into the cell (fractional coordinates in [0, 1)).
fn wrap(cell: &[[f64; 3]; 3], positions: &mut [[f64; 3]]) {
    let d = det3(cell);
    // Columns of the inverse: cross products of the rows over the determinant.
    let cross = |u: [f64; 3], v: [f64; 3]| {
        [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]
    };
    let dual = [
        cross(cell[1], cell[2]),
        cross(cell[2], cell[0]),
        cross(cell[0], cell[1]),
    ];
    for p in positions {
        let f: [f64; 3] = std::array::from_fn(|a| {
            let x = (0..3).map(|k| p[k] * dual[a][k]).sum::<f64>() / d;
            // Guard against 1 - tiny rounding to 1.
            let w = x - x.floor();
            if w >= 1.0 { 0.0 } else { w }
        });
        *p = std::array::from_fn(|k| (0..3).map(|a| f[a] * cell[a][k]).sum());
    }
}

/// Whether every pair (periodic images included) is at least
/// [`MIN_DISTANCE`] apart. The neighbour list refuses pairs closer than
/// 0.1 Å with an error, which means "too close" here too.
fn no_close_pairs(s: &Structure) -> bool {
    NeighborList::build(s, MIN_DISTANCE).is_ok_and(|list| list.n_pairs() == 0)
}

/// Sets energy, forces and virial from the potential.
fn label(model: &StillingerWeber, s: &mut Structure) -> anyhow::Result<()> {
    let prepared = model.prepare(s.clone())?;
    let mut p = Prediction::default();
    model.predict(&prepared, &mut p);
    s.labels.energy = Some(p.energy);
    s.labels.forces = Some(p.forces);
    s.labels.virial = Some(p.virial);
    Ok(())
}

/// Running totals of one group of structures for the summary.
#[derive(Default)]
struct Tally {
    structures: usize,
    atoms: usize,
    energy_per_atom: (f64, f64),
    force_squared: f64,
}

impl Tally {
    fn add(&mut self, s: &Structure) {
        if self.structures == 0 {
            self.energy_per_atom = (f64::INFINITY, f64::NEG_INFINITY);
        }
        self.structures += 1;
        self.atoms += s.n_atoms();
        let e = s.labels.energy.unwrap_or(f64::NAN) / s.n_atoms() as f64;
        self.energy_per_atom.0 = self.energy_per_atom.0.min(e);
        self.energy_per_atom.1 = self.energy_per_atom.1.max(e);
        let forces = s.labels.forces.iter().flatten().flatten();
        self.force_squared += forces.map(|f| f * f).sum::<f64>();
    }

    fn print(&self, name: &str) {
        let rms = (self.force_squared / (3 * self.atoms.max(1)) as f64).sqrt();
        let (lo, hi) = self.energy_per_atom;
        println!(
            "  {name:<10} {:>3} structures {:>5} atoms   E/atom {lo:8.4} to {hi:8.4} eV   \
             RMS force component {rms:.3} eV/Å",
            self.structures, self.atoms
        );
    }
}

/// Prints counts, atoms, the energy range per atom and the RMS force
/// component, per kind and in total.
fn summarize(path: &Path, structures: &[Structure]) -> anyhow::Result<()> {
    let mut kinds: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for s in structures {
        let kind = s.labels.config_type.as_deref().unwrap_or("?");
        kinds.entry(kind).or_default().add(s);
        total.add(s);
    }
    let bytes = std::fs::metadata(path)?.len();
    println!("{} ({:.1} KB):", path.display(), bytes as f64 / 1024.0);
    for (kind, tally) in &kinds {
        tally.print(kind);
    }
    total.print("all");
    Ok(())
}
