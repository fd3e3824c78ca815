//! Neighbour-list build time, cell list vs brute force, on a PbTe-like
//! rocksalt cell, a 10,000-atom random cell and a 2-atom cell much thinner
//! than the cutoff. Run with `cargo bench --bench neighbors`; set
//! `FORCEFIT_BENCH_SKIP_BRUTE=1` to time the cell list alone.

use forcefit::neighbors::{NeighborList, brute_force};
use forcefit::structure::{Labels, Origin, Structure};
use std::time::{Duration, Instant};

/// xorshift64*, for reproducible jitter.
struct Rng(u64);

impl Rng {
    /// Uniform in [-1, 1).
    fn symmetric(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        2.0 * bits as f64 / (1u64 << 53) as f64 - 1.0
    }
}

fn periodic(positions: Vec<[f64; 3]>, cell: [[f64; 3]; 3]) -> Structure {
    Structure {
        species: vec!["X".to_string(); positions.len()],
        positions,
        cell: Some(cell),
        pbc: [true; 3],
        labels: Labels::default(),
        origin: Origin::default(),
    }
}

/// Rocksalt on the FCC primitive cell of lattice constant `a`, repeated
/// `reps` times along each primitive vector (2 reps³ atoms), with atoms
/// displaced by up to `jitter` Å along each axis.
fn rocksalt_primitive(a: f64, reps: usize, jitter: f64, rng: &mut Rng) -> Structure {
    let h = a / 2.0;
    let primitive = [[0.0, h, h], [h, 0.0, h], [h, h, 0.0]];
    let cell = primitive.map(|v| v.map(|x| x * reps as f64));
    let mut positions = Vec::new();
    for i in 0..reps {
        for j in 0..reps {
            for k in 0..reps {
                for basis in [[0.0; 3], [h, 0.0, 0.0]] {
                    let p: [f64; 3] = std::array::from_fn(|d| {
                        let lattice = i as f64 * primitive[0][d]
                            + j as f64 * primitive[1][d]
                            + k as f64 * primitive[2][d];
                        lattice + basis[d] + jitter * rng.symmetric()
                    });
                    positions.push(p);
                }
            }
        }
    }
    periodic(positions, cell)
}

/// Rocksalt, `reps`³ conventional cubic cells (8 reps³ atoms).
fn rocksalt_conventional(a: f64, reps: usize, jitter: f64, rng: &mut Rng) -> Structure {
    let h = a / 2.0;
    let fcc = [[0.0, 0.0, 0.0], [0.0, h, h], [h, 0.0, h], [h, h, 0.0]];
    let mut positions = Vec::new();
    for i in 0..reps {
        for j in 0..reps {
            for k in 0..reps {
                let corner = [i, j, k].map(|n| n as f64 * a);
                for site in fcc {
                    for offset in [0.0, h] {
                        positions.push(std::array::from_fn(|d| {
                            let x = if d == 0 { offset } else { 0.0 };
                            corner[d] + site[d] + x + jitter * rng.symmetric()
                        }));
                    }
                }
            }
        }
    }
    let l = a * reps as f64;
    periodic(positions, [[l, 0.0, 0.0], [0.0, l, 0.0], [0.0, 0.0, l]])
}

/// `n` atoms at random in a cube of density 0.05 Å⁻³: a grid of at least
/// n sites, n of them used, each displaced by up to 35% of the spacing
/// (so no two atoms come closer than 30% of it).
fn random_cube(n: usize, rng: &mut Rng) -> Structure {
    let length = (n as f64 / 0.05).cbrt();
    let per_side = (n as f64).cbrt().ceil() as usize;
    let spacing = length / per_side as f64;
    let positions = (0..n)
        .map(|m| {
            let site = [
                m / (per_side * per_side),
                (m / per_side) % per_side,
                m % per_side,
            ];
            site.map(|c| (c as f64 + 0.5 + 0.35 * rng.symmetric()) * spacing)
        })
        .collect();
    let l = length;
    periodic(positions, [[l, 0.0, 0.0], [0.0, l, 0.0], [0.0, 0.0, l]])
}

/// Median time of `f` over at least `min_runs` runs and `budget` of time
/// (the median, because other processes share the machine).
fn time(min_runs: usize, budget: Duration, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let start = Instant::now();
    let mut times = Vec::new();
    let mut pairs = 0;
    while times.len() < min_runs || start.elapsed() < budget {
        let run = Instant::now();
        pairs = std::hint::black_box(f());
        times.push(run.elapsed());
    }
    times.sort();
    (times[times.len() / 2], pairs)
}

fn report(method: &str, time: Duration, pairs: usize) {
    let seconds = time.as_secs_f64();
    println!(
        "    {method:<12} {:>12.1} µs/build {:>10.3e} pairs/s",
        seconds * 1e6,
        pairs as f64 / seconds
    );
}

fn main() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let thin_cell = [[2.9, 0.0, 0.0], [0.7, 2.8, 0.0], [0.4, 0.6, 3.1]];
    let cases = [
        (
            "PbTe rocksalt, 5x5x5 primitive",
            rocksalt_primitive(6.46, 5, 0.1, &mut rng),
            8.0,
        ),
        (
            "PbTe rocksalt, 4x4x4 conventional",
            rocksalt_conventional(6.46, 4, 0.1, &mut rng),
            8.0,
        ),
        ("random cubic cell", random_cube(10_000, &mut rng), 6.0),
        (
            "2-atom thin cell",
            periodic(vec![[0.0; 3], [1.9, 1.6, 1.5]], thin_cell),
            8.0,
        ),
    ];
    let budget = Duration::from_secs(2);
    let skip_brute = std::env::var_os("FORCEFIT_BENCH_SKIP_BRUTE").is_some_and(|v| v == "1");
    for (name, s, cutoff) in &cases {
        let (fast, pairs) = time(3, budget, || {
            NeighborList::build(s, *cutoff).expect("build").n_pairs()
        });
        println!(
            "{name}: {} atoms, cutoff {cutoff} Å, {pairs} pairs ({:.1} per atom)",
            s.n_atoms(),
            pairs as f64 / s.n_atoms() as f64
        );
        report("cell list", fast, pairs);
        if skip_brute {
            continue;
        }
        // One run at least; the 10,000-atom brute force takes seconds.
        let (slow, slow_pairs) = time(1, budget, || {
            brute_force(s, *cutoff).expect("brute force").n_pairs()
        });
        assert_eq!(pairs, slow_pairs, "{name}: the two methods disagree");
        report("brute force", slow, pairs);
        println!(
            "    speed-up {:.1}x",
            slow.as_secs_f64() / fast.as_secs_f64()
        );
    }
}
