//! One process-wide budget for what families keep in structures' caches
//! (BP's descriptor Jacobians, NEP's pair geometry): past it, a structure
//! is computed on every use instead, which is slower but gives the same
//! numbers.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Environment variable with the cache budget in GiB.
pub const BUDGET_ENV: &str = "FORCEFIT_DESCRIPTOR_CACHE_GB";

/// Default budget, GiB.
const DEFAULT_BUDGET_GB: f64 = 8.0;

/// Bytes cached so far by this process.
static CACHED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Takes `bytes` from the budget; false (and nothing taken) if they do
/// not fit.
pub fn reserve(bytes: usize) -> bool {
    let budget = budget_bytes();
    let before = CACHED_BYTES.fetch_add(bytes, Ordering::Relaxed);
    if before.saturating_add(bytes) > budget {
        CACHED_BYTES.fetch_sub(bytes, Ordering::Relaxed);
        false
    } else {
        true
    }
}

/// Gives back `bytes` taken by [`reserve`].
pub fn release(bytes: usize) {
    CACHED_BYTES.fetch_sub(bytes, Ordering::Relaxed);
}

fn budget_bytes() -> usize {
    let gb = std::env::var(BUDGET_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .unwrap_or(DEFAULT_BUDGET_GB);
    (gb * (1u64 << 30) as f64) as usize
}
