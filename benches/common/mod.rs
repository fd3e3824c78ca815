//! Helpers shared by the benchmarks: where the data sets are, thread
//! pools, best-of timing and peak memory.
#![allow(dead_code)]

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
