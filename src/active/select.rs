//! DP-GEN's trust levels (`_select_by_model_devi_standard` in
//! dpgen/generator/run.py): each frame of a `model_devi.out` is accurate,
//! a candidate for labelling, or failed (too far off to trust).
//!
//! With f = max_devi_f and v = max_devi_v, tested in this order:
//!
//! 1. candidate when v_lo ≤ v < v_hi or f_lo ≤ f < f_hi;
//! 2. failed when v ≥ v_hi or f ≥ f_hi;
//! 3. accurate when v < v_lo and f < f_lo.
//!
//! A frame in the force window is a candidate even when its virial is past
//! v_hi (rule 1 comes first). Without virial levels DP-GEN uses
//! v_lo = v_hi = 1e10, which leaves the virial out.

use super::model_devi::Row;
use crate::error::{Error, Result};
use std::path::Path;

/// DP-GEN's default virial levels (`model_devi_v_trust_lo/hi`).
pub const NO_VIRIAL_LEVEL: f64 = 1e10;

/// The trust levels of forces (eV/Å) and virials (eV per atom).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrustLevels {
    /// f_lo.
    pub f_lo: f64,
    /// f_hi.
    pub f_hi: f64,
    /// v_lo (DP-GEN's default 1e10).
    pub v_lo: f64,
    /// v_hi (DP-GEN's default 1e10).
    pub v_hi: f64,
}

impl TrustLevels {
    /// Force levels only, the virial levels at DP-GEN's defaults.
    pub fn forces(f_lo: f64, f_hi: f64) -> Self {
        TrustLevels {
            f_lo,
            f_hi,
            v_lo: NO_VIRIAL_LEVEL,
            v_hi: NO_VIRIAL_LEVEL,
        }
    }
}

/// Where a frame falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Below both low levels: the committee agrees.
    Accurate,
    /// Worth labelling.
    Candidate,
    /// Past a high level: likely unphysical.
    Failed,
}

/// DP-GEN's rule for one frame.
pub fn classify(max_devi_f: f64, max_devi_v: f64, t: &TrustLevels) -> Class {
    let (f, v) = (max_devi_f, max_devi_v);
    if (v < t.v_hi && v >= t.v_lo) || (f < t.f_hi && f >= t.f_lo) {
        Class::Candidate
    } else if v >= t.v_hi || f >= t.f_hi {
        Class::Failed
    } else {
        // Only v < v_lo and f < f_lo is left for numbers (DP-GEN raises on
        // NaN, which the model_devi.out reader already rejects).
        Class::Accurate
    }
}

/// How many frames fell in each class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Accurate frames.
    pub accurate: usize,
    /// Candidates.
    pub candidate: usize,
    /// Failed frames.
    pub failed: usize,
}

impl Counts {
    /// Counts the classes.
    pub fn of(classes: &[Class]) -> Self {
        let mut c = Counts::default();
        for class in classes {
            match class {
                Class::Accurate => c.accurate += 1,
                Class::Candidate => c.candidate += 1,
                Class::Failed => c.failed += 1,
            }
        }
        c
    }

    /// DP-GEN's report: `{key:9} : {n:6} in {total:6} {percent:6.2} %`
    /// for candidate, failed and accurate, one line each.
    pub fn report(&self) -> String {
        let total = self.accurate + self.candidate + self.failed;
        let mut out = String::new();
        for (key, n) in [
            ("candidate", self.candidate),
            ("failed", self.failed),
            ("accurate", self.accurate),
        ] {
            let percent = if total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / total as f64
            };
            out.push_str(&format!(
                "{key:<9} : {n:>6} in {total:>6} {percent:>6.2} %\n"
            ));
        }
        out
    }
}

/// Checks that the rows of `path` are the frames' deviations: one row per
/// frame, in order, with the frame's step wherever the frame carries one.
pub fn check_rows(path: &Path, rows: &[Row], steps: &[Option<i64>]) -> Result<()> {
    if rows.len() != steps.len() {
        return Err(Error::file(
            path,
            format!(
                "has {} rows but the frames hold {} structures; expected one row per frame, \
                 in the order of the frames (the FRAMES given to `forcefit deviation`)",
                rows.len(),
                steps.len()
            ),
        ));
    }
    for (k, (row, step)) in rows.iter().zip(steps).enumerate() {
        if let Some(s) = *step
            && s != row.step
        {
            return Err(Error::parse(
                path,
                row.line,
                format!(
                    "step {} but frame {k} has step {s}; expected the rows in the order of \
                     the frames",
                    row.step
                ),
            ));
        }
    }
    Ok(())
}

/// Up to `n` of `candidates` (frame indices), highest `max_devi_f` first
/// (earlier frame on ties).
pub fn by_deviation(candidates: &[usize], max_devi_f: &[f64], n: usize) -> Vec<usize> {
    let mut order = candidates.to_vec();
    order.sort_by(|&a, &b| max_devi_f[b].total_cmp(&max_devi_f[a]).then(a.cmp(&b)));
    order.truncate(n);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_order() {
        let t = TrustLevels {
            f_lo: 0.1,
            f_hi: 0.3,
            v_lo: 0.01,
            v_hi: 0.02,
        };
        assert_eq!(classify(0.1, 0.0, &t), Class::Candidate);
        assert_eq!(classify(0.3, 0.0, &t), Class::Failed);
        // In the force window, a virial past v_hi still makes a candidate.
        assert_eq!(classify(0.2, 0.5, &t), Class::Candidate);
        assert_eq!(classify(0.05, 0.0, &t), Class::Accurate);
        assert_eq!(classify(0.05, 0.01, &t), Class::Candidate);
    }

    #[test]
    fn report_lines() {
        let c = Counts {
            accurate: 1,
            candidate: 2,
            failed: 1,
        };
        assert_eq!(
            c.report().lines().next(),
            Some("candidate :      2 in      4  50.00 %")
        );
    }
}
