//! Exact floating-point summation, so that error statistics do not depend on
//! the order in which structures were added or partial results merged.
//!
//! An [`ExactSum`] keeps the running total as a short list of
//! non-overlapping f64 "partials" whose exact (infinite-precision) sum is the
//! exact sum of every term added so far (Shewchuk's adaptive-precision
//! algorithm, the method behind Python's `math.fsum`). [`ExactSum::value`]
//! rounds that exact sum once, to nearest with ties to even, so the result
//! depends only on the multiset of terms: adding in any order, or merging
//! partial sums in any grouping, gives the same bits.

/// Exact running sum of f64 terms; see the module documentation.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ExactSum {
    /// Non-overlapping partials, increasing in magnitude; their exact sum
    /// is the total of the finite terms.
    partials: Vec<f64>,
    /// Plain sum of the non-finite terms (and of overflowed totals): NaN
    /// or ±inf once any such term arrives, 0 before.
    special: f64,
}

impl ExactSum {
    /// Adds one term exactly.
    pub(crate) fn add(&mut self, term: f64) {
        if !term.is_finite() {
            self.special += term;
            return;
        }
        let mut x = term;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            // Two-sum with |x| >= |y|: hi + lo == x + y exactly.
            let hi = x + y;
            if !hi.is_finite() {
                // The exact total exceeds f64's range; it stays infinite.
                self.special += hi;
                return;
            }
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        if x != 0.0 {
            self.partials.push(x);
        }
    }

    /// Adds every term of `other` (exact, so grouping does not matter).
    pub(crate) fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
        self.special += other.special;
    }

    /// The exact sum rounded once to the nearest f64 (ties to even).
    pub(crate) fn value(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        let p = &self.partials;
        let Some(&top) = p.last() else {
            return 0.0;
        };
        // Add partials from the largest down until the addition is inexact;
        // the partials below that point can only matter for a tie.
        let mut hi = top;
        let mut lo = 0.0;
        let mut n = p.len() - 1;
        while n > 0 {
            n -= 1;
            let x = hi;
            let y = p[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // `hi + lo` is exact; if `lo` is exactly half an ulp of `hi` and the
        // remaining partials push in the same direction, the true sum is
        // past the halfway point and must round away from `hi`.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(terms: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        for &t in terms {
            s.add(t);
        }
        s.value()
    }

    #[test]
    fn empty_and_simple() {
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[1.5, 2.25]), 3.75);
    }

    #[test]
    fn exact_where_naive_summation_loses_digits() {
        // Naive left-to-right summation gives 0 or 2 depending on order.
        assert_eq!(sum(&[1e100, 1.0, -1e100, 1.0]), 2.0);
        assert_eq!(sum(&[1.0, 1e100, 1.0, -1e100]), 2.0);
        // 0.1 added ten times: naive gives 0.9999999999999999; the exact
        // sum of the ten binary values rounds to 1.
        assert_eq!(sum(&[0.1; 10]), 1.0);
    }

    #[test]
    fn halfway_case_is_resolved_by_the_lower_partials() {
        // 1 + 2^-53 is exactly halfway between 1 and 1 + 2^-52; the extra
        // 2^-106 makes the exact sum round up.
        let t = [1.0, 2f64.powi(-53), 2f64.powi(-106)];
        assert_eq!(sum(&t), 1.0 + 2f64.powi(-52));
        // Without it the tie goes to even (1.0).
        assert_eq!(sum(&t[..2]), 1.0);
    }

    #[test]
    fn order_and_grouping_do_not_change_the_bits() {
        // Deterministic pseudo-random terms spanning many magnitudes.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let terms: Vec<f64> = (0..500)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mantissa = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                mantissa * 10f64.powi((state % 17) as i32 - 8)
            })
            .collect();
        let forward = sum(&terms);
        let reversed: Vec<f64> = terms.iter().rev().copied().collect();
        assert_eq!(sum(&reversed).to_bits(), forward.to_bits());
        let mut a = ExactSum::default();
        let mut b = ExactSum::default();
        for (i, &t) in terms.iter().enumerate() {
            let target = if i % 3 == 0 { &mut a } else { &mut b };
            target.add(t);
        }
        b.merge(&a);
        assert_eq!(b.value().to_bits(), forward.to_bits());
    }

    #[test]
    fn non_finite_terms_propagate() {
        assert!(sum(&[1.0, f64::NAN, 2.0]).is_nan());
        assert_eq!(sum(&[1.0, f64::INFINITY]), f64::INFINITY);
        assert_eq!(sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
    }
}
