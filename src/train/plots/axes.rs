//! Axis ranges and tick marks for the plots: padded linear and
//! logarithmic ranges that are never empty, and "nice" tick positions.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

use super::CurvePanel;

/// A linear axis range covering `values` (finite ones) with a 5 % margin
/// each side; never empty or zero-width, which plotters cannot draw.
pub(super) fn padded_linear(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = finite_bounds(values.filter(|v| v.is_finite()));
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        _ => return 0.0..1.0,
    };
    let span = hi - lo;
    let pad = if span > 1e-12 * hi.abs().max(lo.abs()) && span.is_finite() {
        0.05 * span
    } else {
        // Constant data: a window around the value.
        (0.05 * hi.abs()).max(1.0)
    };
    let (a, b) = (lo - pad, hi + pad);
    if a.is_finite() && b.is_finite() && a < b {
        a..b
    } else {
        lo.min(0.0)..hi.max(1.0).max(lo.min(0.0) + 1.0)
    }
}

/// A logarithmic axis range covering the positive finite `values`, padded
/// by a factor 1.3 each side (a factor 3 for constant data); 1..10 when
/// there are none.
pub(super) fn padded_log(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = finite_bounds(values.filter(|v| v.is_finite() && *v > 0.0));
    match (lo, hi) {
        (Some(lo), Some(hi)) => {
            let factor = if hi / lo < 1.01 { 3.0 } else { 1.3 };
            let a = (lo / factor).max(f64::MIN_POSITIVE);
            let b = (hi * factor).min(f64::MAX);
            if a < b { a..b } else { 1.0..10.0 }
        }
        _ => 1.0..10.0,
    }
}

/// The corner of a curve panel whose legend would cover the fewest points
/// (upper right first: falling curves leave it empty). Coordinates are the
/// drawn ones (y in log10).
pub(super) fn legend_corner(
    panel: &CurvePanel,
    x_range: &Range<f64>,
    y_range: &Range<f64>,
) -> SeriesLabelPosition {
    // Fraction of the plot the legend box takes, about.
    const WIDTH: f64 = 0.3;
    const HEIGHT: f64 = 0.25;
    let unit = |v: f64, r: &Range<f64>| (v - r.start) / (r.end - r.start);
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerLeft, false, false),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::UpperLeft, false, true),
    ];
    let covered = |right: bool, upper: bool| {
        panel
            .series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|&&(x, y)| {
                let (u, v) = (unit(x, x_range), unit(y.log10(), y_range));
                let in_x = if right { u > 1.0 - WIDTH } else { u < WIDTH };
                let in_y = if upper { v > 1.0 - HEIGHT } else { v < HEIGHT };
                in_x && in_y
            })
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|&(_, right, upper)| covered(right, upper))
        .map_or(SeriesLabelPosition::UpperRight, |c| c.0)
}

/// A linear f64 axis with the caller's ticks: labelled grid lines at `bold`,
/// unlabelled ones at `light` (plotters' own `WithKeyPoints` on f64 ranges
/// cannot be given a label formatter).
pub(super) struct Ticked {
    pub(super) linear: RangedCoordf64,
    pub(super) bold: Vec<f64>,
    pub(super) light: Vec<f64>,
}

impl Ticked {
    pub(super) fn new(range: Range<f64>, bold: Vec<f64>, light: Vec<f64>) -> Self {
        Ticked {
            linear: range.into(),
            bold,
            light,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

/// Axis ticks of a logarithmic axis drawn as a linear axis in log10 of the
/// value: where labelled (bold) and unlabelled (light) grid lines go.
pub(super) struct LogAxis {
    /// log10 of the axis range.
    pub(super) range: Range<f64>,
    /// log10 of the labelled tick values.
    pub(super) bold: Vec<f64>,
    /// log10 of the minor tick values.
    pub(super) light: Vec<f64>,
}

/// Ticks for a positive `range` shown on a log scale: every k-th decade for
/// wide ranges, decades with 2…9 between them, 1-2-5 sequences, 1…9, and
/// for ranges narrower than a factor of two, linear "nice" ticks — always
/// aiming at 3 to 8 labels. `range` must be positive and non-empty.
pub(super) fn log_axis(range: Range<f64>) -> LogAxis {
    let (a, b) = (range.start.log10(), range.end.log10());
    let span = b - a;
    let eps = 1e-9 * span.max(1e-300);
    let inside = |v: &f64| *v >= a - eps && *v <= b + eps;
    let decades = || (a.floor() as i64)..=(b.ceil() as i64);
    let mantissas = |ms: &[f64]| -> Vec<f64> {
        decades()
            .flat_map(|k| ms.iter().map(move |m| m.log10() + k as f64))
            .filter(inside)
            .collect()
    };
    let (bold, light) = if span > 6.0 {
        let every = (span / 6.0).ceil() as i64;
        let (bold, light): (Vec<i64>, Vec<i64>) = decades().partition(|k| k.rem_euclid(every) == 0);
        let log = |ks: Vec<i64>| ks.into_iter().map(|k| k as f64).filter(inside).collect();
        (log(bold), log(light))
    } else if span > 2.5 {
        (
            mantissas(&[1.0]),
            mantissas(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
        )
    } else if span > 1.0 {
        (
            mantissas(&[1.0, 2.0, 5.0]),
            mantissas(&[3.0, 4.0, 6.0, 7.0, 8.0, 9.0]),
        )
    } else {
        let one_two_five = mantissas(&[1.0, 2.0, 5.0]);
        let one_to_nine = mantissas(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        if one_two_five.len() >= 3 {
            (one_two_five, vec![])
        } else if one_to_nine.len() >= 3 {
            (one_to_nine, vec![])
        } else {
            let linear = nice_ticks(&range, 4.0, 0.0);
            (
                linear.iter().map(|v| v.log10()).filter(inside).collect(),
                vec![],
            )
        }
    };
    LogAxis {
        range: a..b,
        bold,
        light,
    }
}

/// Multiples of a "nice" step (1, 2 or 5 × 10^k, at least `min_step`)
/// inside `range`, about `target` of them.
pub(super) fn nice_ticks(range: &Range<f64>, target: f64, min_step: f64) -> Vec<f64> {
    let raw = (range.end - range.start) / target;
    if !(raw > 0.0 && raw.is_finite()) {
        return vec![];
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = match raw / magnitude {
        n if n < 1.5 => 1.0,
        n if n < 3.0 => 2.0,
        n if n < 7.0 => 5.0,
        _ => 10.0,
    } * magnitude;
    let step = step.max(min_step);
    let first = (range.start / step).ceil();
    (0..100)
        .map(|i| (first + i as f64) * step)
        .take_while(|v| *v <= range.end + 1e-9 * step)
        .collect()
}

pub(super) fn finite_bounds(values: impl Iterator<Item = f64>) -> (Option<f64>, Option<f64>) {
    values.fold((None, None), |(lo, hi): (Option<f64>, Option<f64>), v| {
        (
            Some(lo.map_or(v, |l| l.min(v))),
            Some(hi.map_or(v, |h| h.max(v))),
        )
    })
}

/// Axis tick label: short, without float noise (0.30000000000000004).
pub(super) fn format_tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if !(9.995e-4..9.995e5).contains(&a) {
        // 3 significant digits, trailing zeros dropped: 1e-5, 2.5e6.
        let s = format!("{v:.2e}");
        match s.split_once('e') {
            Some((mantissa, exponent)) => {
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                format!("{mantissa}e{exponent}")
            }
            None => s,
        }
    } else {
        // Enough decimals for 3 significant digits, trailing zeros dropped.
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// A value in a title: one decimal from 100 up, else 3–4 significant digits.
pub(super) fn format_value(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "n/a".to_string()
    } else if v == 0.0 {
        "0".to_string()
    } else if a >= 1e6 || (a < 1e-3 && a > 0.0) {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}
