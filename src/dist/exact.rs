//! Sums of f64 vectors over work items and ranks that are exact before one
//! final rounding, so that the result does not depend on how the items
//! were split between threads or ranks, nor on the order they are added.
//! This is what makes a data-parallel run give the same parameters bit for
//! bit whatever the number of ranks.
//!
//! Each component is summed in fixed point. A first reduction finds, per
//! component, the largest binary exponent E of any item (|x| < 2^E); every
//! item is then the integer x / 2^(E − 76), exact for items within 23
//! binades of the largest (smaller ones are truncated, at 2^-76 of the
//! largest, far below f64's own rounding of the result). Integers add
//! exactly in any order; the total is carried between ranks as two i64
//! limbs of 38 bits and rounded once to the nearest f64.
//!
//! Cost on the wire per component: one i16 (the exponent maximum) and two
//! i64 (the limbs): 18 bytes, against 8 for a plain f64 sum whose result
//! would depend on the rank count.

use super::Comm;
use rayon::prelude::*;

/// Bits of an item's fixed-point value: |v| < 2^VALUE_BITS.
const VALUE_BITS: i32 = 76;
/// The split of a total into limbs for the transport.
const LIMB_BITS: i32 = 38;
/// The most items (over all ranks) one component may sum: the limbs of
/// 2^24 items of 2^76 stay below 2^62.
pub const MAX_ITEMS: usize = 1 << 24;

/// Exponent marks: no nonzero item, and a non-finite item.
const ZERO: i16 = i16::MIN;
const NON_FINITE: i16 = i16::MAX;

/// Components per parallel task.
const CHUNK: usize = 2048;

/// The smallest e with |x| < 2^e (ZERO for 0, NON_FINITE for NaN/±inf).
fn exponent(x: f64) -> i16 {
    if !x.is_finite() {
        return NON_FINITE;
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    if biased == 0 {
        if fraction == 0 {
            return ZERO;
        }
        // Subnormal: fraction · 2^-1074.
        return (64 - fraction.leading_zeros() as i32 - 1074) as i16;
    }
    (biased - 1022) as i16
}

/// x in units of 2^unit, truncated toward zero (|x| < 2^(unit + VALUE_BITS)).
fn to_fixed(x: f64, unit: i32) -> i128 {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, q) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    let shift = q - unit;
    let magnitude = if shift >= 0 {
        (mantissa as i128) << shift
    } else if shift > -64 {
        (mantissa >> (-shift)) as i128
    } else {
        0
    };
    if x.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    }
}

/// x · 2^e, rounding once when the result is subnormal.
fn scale(x: f64, e: i32) -> f64 {
    let pow2 = |k: i32| f64::from_bits(((k + 1023) as u64) << 52);
    let (mut x, mut e) = (x, e);
    while e > 1000 {
        x *= pow2(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= pow2(-1000);
        e += 1000;
    }
    x * pow2(e)
}

/// `out[c] = Σ_ranks Σ_k items[k][c]`, exact before one rounding to
/// nearest. A component with a non-finite item is NaN. Every rank must
/// call this with the same `out.len()` (items may be none on some ranks);
/// at most [`MAX_ITEMS`] items over all ranks.
pub fn sum(comm: &dyn Comm, items: &[&[f64]], out: &mut [f64]) {
    let n = out.len();
    debug_assert!(items.iter().all(|x| x.len() == n));
    if comm.size() == 1 && items.len() == 1 {
        // One item on one rank: its fixed-point value is exact (53 bits
        // within 76), so the sum is the item itself.
        for (o, &x) in out.iter_mut().zip(items[0]) {
            *o = if x.is_finite() { x } else { f64::NAN };
        }
        return;
    }
    let mut exponents = vec![ZERO; n];
    exponents
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk, e)| {
            let start = chunk * CHUNK;
            for item in items {
                for (c, e) in e.iter_mut().enumerate() {
                    *e = (*e).max(exponent(item[start + c]));
                }
            }
        });
    comm.max_i16(&mut exponents);
    let mut limbs = vec![0i64; 2 * n];
    limbs
        .par_chunks_mut(2 * CHUNK)
        .zip(exponents.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(chunk, (limbs, e))| {
            let start = chunk * CHUNK;
            for (c, &e) in e.iter().enumerate() {
                if e == ZERO || e == NON_FINITE {
                    continue;
                }
                let unit = e as i32 - VALUE_BITS;
                let total: i128 = items.iter().map(|x| to_fixed(x[start + c], unit)).sum();
                let hi = total >> LIMB_BITS;
                limbs[2 * c] = hi as i64;
                limbs[2 * c + 1] = (total - (hi << LIMB_BITS)) as i64;
            }
        });
    comm.sum_i64(&mut limbs);
    for (c, o) in out.iter_mut().enumerate() {
        *o = match exponents[c] {
            ZERO => 0.0,
            NON_FINITE => f64::NAN,
            e => {
                let total = ((limbs[2 * c] as i128) << LIMB_BITS) + limbs[2 * c + 1] as i128;
                scale(total as f64, e as i32 - VALUE_BITS)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Local;
    use rand::{RngExt, SeedableRng};

    fn exact(items: &[Vec<f64>]) -> Vec<f64> {
        let refs: Vec<&[f64]> = items.iter().map(|v| v.as_slice()).collect();
        let mut out = vec![0.0; items[0].len()];
        sum(&Local, &refs, &mut out);
        out
    }

    /// The reference: Shewchuk's exact summation of the metrics module.
    fn fsum(xs: impl Iterator<Item = f64>) -> f64 {
        let mut s = crate::metrics::sum::ExactSum::default();
        for x in xs {
            s.add(x);
        }
        s.value()
    }

    #[test]
    fn equals_the_correctly_rounded_sum_and_ignores_order() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 5000;
        let items: Vec<Vec<f64>> = (0..13)
            .map(|_| {
                (0..n)
                    .map(|c| {
                        // Magnitudes over 20 binades per component, mixed signs.
                        let m: f64 = rng.random::<f64>() - 0.5;
                        m * 2f64.powi((c % 40) as i32 - 20 - rng.random_range(0..20))
                    })
                    .collect()
            })
            .collect();
        let out = exact(&items);
        for c in 0..n {
            assert_eq!(out[c], fsum(items.iter().map(|x| x[c])), "component {c}");
        }
        let mut reversed = items.clone();
        reversed.reverse();
        assert_eq!(out, exact(&reversed));
    }

    #[test]
    fn cancellation_extremes_and_non_finite_values() {
        let big = 1e300;
        let items = vec![
            vec![big, 1.0, 0.0, 5e-324, f64::NAN, -3.0],
            vec![-big, 2f64.powi(-60), 0.0, 5e-324, 1.0, f64::INFINITY],
            vec![1e-10, 0.0, 0.0, -5e-324, 1.0, 1.0],
        ];
        let out = exact(&items);
        let alone = exact(&items[..1]);
        assert_eq!(alone[..4], items[0][..4]);
        assert!(alone[4].is_nan() && alone[5] == -3.0);
        // 1e-10 lies 1030 binades below 1e300: truncated away, as documented.
        assert_eq!(out[0], 0.0);
        assert_eq!(out[1], 1.0 + 2f64.powi(-60));
        assert_eq!(out[2], 0.0);
        assert_eq!(out[3], 5e-324);
        assert!(out[4].is_nan() && out[5].is_nan());
    }

    #[test]
    fn exponent_bounds_every_finite_value() {
        for x in [1.0, 0.75, 1.5e-310, 5e-324, f64::MAX, -2.0, 3.0] {
            let e = exponent(x) as i32;
            assert!(x.abs() < scale(1.0, e) || e == 1024, "{x}: {e}");
            assert!(x.abs() >= scale(1.0, e - 1), "{x}: {e}");
        }
    }
}
