//! Helpers shared by the benchmarks: where the data sets are, thread
//! pools, best-of timing, peak memory and supercells.
#![allow(dead_code)]

use forcefit::structure::Structure;
use std::path::PathBuf;
use std::time::Instant;

/// `../shared/datasets`, or None (with a "skipping" message) when absent.
pub fn datasets() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    if root.exists() {
        Some(root)
    } else {
        eprintln!("skipping: {} not found", root.display());
        None
    }
}

/// Runs `f` in a rayon pool of `threads` threads.
pub fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The shortest of `reps` timed runs of `f`, s.
pub fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// Peak resident memory of this process so far, KiB (Linux `VmHWM`).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Replicates a structure n×n×n.
pub fn supercell(s: &Structure, n: usize) -> Structure {
    let cell = s.cell.expect("periodic");
    let mut out = s.clone();
    out.positions.clear();
    out.species.clear();
    for a in 0..n {
        for b in 0..n {
            for c in 0..n {
                for (p, sp) in s.positions.iter().zip(&s.species) {
                    let shift: [f64; 3] = std::array::from_fn(|k| {
                        a as f64 * cell[0][k] + b as f64 * cell[1][k] + c as f64 * cell[2][k]
                    });
                    out.positions
                        .push([p[0] + shift[0], p[1] + shift[1], p[2] + shift[2]]);
                    out.species.push(sp.clone());
                }
            }
        }
    }
    out.cell = Some(cell.map(|r| r.map(|x| x * n as f64)));
    out.labels.energy = s.labels.energy.map(|e| e * (n * n * n) as f64);
    out.labels.forces = s.labels.forces.as_ref().map(|f| {
        f.iter()
            .cycle()
            .take(f.len() * n * n * n)
            .copied()
            .collect()
    });
    out.labels.virial = None;
    out
}
