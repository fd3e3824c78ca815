//! PNG plots of training results: loss and RMSE curves over epochs, and
//! parity (predicted vs reference) scatter plots.
//!
//! Rendering is pure Rust: `plotters` draws into an RGB buffer, text is
//! rasterised with `ab_glyph` from the DejaVu Sans font embedded by the
//! `dejavu` crate (no fontconfig or freetype), and the `png` crate encodes
//! the buffer. Every file is written atomically: the encoded image goes to
//! a temporary file beside the target (`<path>.tmp`), which is then renamed
//! over it, so a reader never sees a half-written image.
//!
//! Logarithmic axes are drawn as linear axes in log10 of the value with
//! ticks chosen here ([`log_axis`]): plotters' own log scale labels few or
//! overlapping ticks on ranges of one or two decades.
//!
//! Data are drawn as given, except that non-finite values are skipped (and,
//! on logarithmic axes, values ≤ 0); a panel with nothing left says
//! "no data" instead of failing.

use crate::error::{Error, Result};
use crate::train::log::LogRow;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Width × height of [`loss_curves`] images, pixels.
const LOSS_SIZE: (u32, u32) = (1200, 800);
/// Side of one square [`parity`] panel, pixels (the image is
/// `n_panels * PARITY_SIDE` wide and `PARITY_SIDE` high).
const PARITY_SIDE: u32 = 600;
/// Most points a parity panel draws; larger data are subsampled evenly.
pub const PARITY_MAX_POINTS: usize = 50_000;

/// Font family name under which the embedded font is registered.
const FONT: &str = "sans-serif";
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOR: RGBColor = RGBColor(230, 110, 0);
const POINT_COLOR: RGBColor = RGBColor(31, 119, 180);

/// Registers the embedded DejaVu Sans with plotters' `ab_glyph` text
/// backend, once per process.
fn ensure_font(path: &Path) -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::file(path, "cannot load the embedded plot font"))
    }
}

fn draw_err<E: std::error::Error + Send + Sync>(
    path: &Path,
) -> impl FnOnce(DrawingAreaErrorKind<E>) -> Error + '_ {
    move |e| Error::file(path, format!("cannot draw plot: {e}"))
}

// ---------------------------------------------------------------------------
// Loss curves

/// One line on a curve panel: `(epoch, value)` points.
struct Series {
    label: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// One panel of [`loss_curves`].
struct CurvePanel {
    caption: &'static str,
    y_desc: &'static str,
    series: Vec<Series>,
}

/// Writes a PNG (1200×800) of training curves to `path`: four panels, each
/// against epoch on a logarithmic y axis — total loss, energy RMSE
/// (meV/atom), force RMSE (meV/Å) and virial RMSE (meV/atom) — with the
/// training series and, where rows carry them, the validation series.
///
/// Non-finite and non-positive values (absent labels are NaN; log axes
/// cannot show 0) are skipped point by point; a series with no point left is
/// left out of its panel, and a panel with no series says "no data".
pub fn loss_curves(path: &Path, rows: &[LogRow]) -> Result<()> {
    ensure_font(path)?;
    let epochs = |f: &dyn Fn(&LogRow) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| f(r).map(|y| (r.epoch as f64, y)))
            .filter(|&(_, y)| y.is_finite() && y > 0.0)
            .collect()
    };
    let pair = |train: Vec<(f64, f64)>, val: Vec<(f64, f64)>| {
        [
            ("train", TRAIN_COLOR, train),
            ("validation", VAL_COLOR, val),
        ]
        .into_iter()
        .filter(|(_, _, points)| !points.is_empty())
        .map(|(label, color, points)| Series {
            label,
            color,
            points,
        })
        .collect::<Vec<_>>()
    };
    let rmse_panel = |k: usize, caption, y_desc| CurvePanel {
        caption,
        y_desc,
        series: pair(
            epochs(&|r| Some(r.train_rmse[k])),
            epochs(&|r| r.val_rmse.map(|v| v[k])),
        ),
    };
    let panels = [
        CurvePanel {
            caption: "total loss",
            y_desc: "loss (weighted)",
            series: pair(epochs(&|r| Some(r.loss)), epochs(&|r| r.val_loss)),
        },
        rmse_panel(0, "energy RMSE", "RMSE (meV/atom)"),
        rmse_panel(1, "force RMSE", "RMSE (meV/Å)"),
        rmse_panel(2, "virial RMSE", "RMSE (meV/atom)"),
    ];
    let x_range = padded_linear(rows.iter().map(|r| r.epoch as f64));

    render(path, LOSS_SIZE, |root| {
        let title = match rows.last() {
            Some(r) => format!("Training curves ({} epochs, {} steps)", r.epoch, r.step),
            None => "Training curves".to_string(),
        };
        let root = root.titled(&title, (FONT, 28)).map_err(draw_err(path))?;
        for (area, panel) in root.split_evenly((2, 2)).iter().zip(&panels) {
            curve_panel(path, area, panel, x_range.clone(), !rows.is_empty())?;
        }
        Ok(())
    })
}

fn curve_panel(
    path: &Path,
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    panel: &CurvePanel,
    x_range: Range<f64>,
    has_epochs: bool,
) -> Result<()> {
    let mut y_axis = log_axis(padded_log(
        panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1)),
    ));
    let x_ticks = if has_epochs {
        let mut ticks = nice_ticks(&x_range, 8.0, 1.0);
        ticks.retain(|&t| t >= 0.0); // padding may reach below epoch 0
        ticks
    } else {
        vec![]
    };
    if panel.series.is_empty() {
        // Placeholder range: no value to label.
        y_axis.bold.clear();
        y_axis.light.clear();
    }
    let mut chart = ChartBuilder::on(area)
        .caption(panel.caption, (FONT, 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(
            Ticked::new(x_range.clone(), x_ticks, vec![]),
            Ticked::new(y_axis.range.clone(), y_axis.bold, y_axis.light),
        )
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(panel.y_desc)
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .x_label_formatter(&|x| format_tick(*x))
        // The axis is log10 of the value.
        .y_label_formatter(&|y| format_tick(10f64.powf(*y)))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(draw_err(path))?;

    if panel.series.is_empty() {
        return no_data(path, chart.plotting_area());
    }
    for s in &panel.series {
        let style = s.color.stroke_width(2);
        let points = s.points.iter().map(|&(x, y)| (x, y.log10()));
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(draw_err(path))?
            .label(s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        // Markers keep sparse series (validation every few epochs, or a
        // single epoch) visible; dense ones read as lines already.
        if s.points.len() <= 60 {
            chart
                .draw_series(points.map(|p| Circle::new(p, 3, s.color.filled())))
                .map_err(draw_err(path))?;
        }
    }
    chart
        .configure_series_labels()
        .position(legend_corner(panel, &x_range, &y_axis.range))
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(draw_err(path))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Parity plots

/// One panel of a [`parity`] plot: predicted against reference values of
/// one quantity.
#[derive(Clone, Copy, Debug)]
pub struct Parity<'a> {
    /// What is compared, e.g. "energy", "force", "virial".
    pub title: &'a str,
    /// Unit of `reference`, `predicted` and `rmse`, e.g. "meV/Å".
    pub unit: &'a str,
    /// Reference (label) values, any order.
    pub reference: &'a [f64],
    /// Predicted values, in the order of `reference`.
    pub predicted: &'a [f64],
    /// RMSE shown in the title, computed by the caller over all data; left
    /// out of the title when not finite.
    pub rmse: f64,
}

/// Writes a PNG of parity plots to `path`: one square panel (600×600) per
/// entry of `panels`, side by side, each a scatter of predicted against
/// reference with the line y = x, equal axis ranges with a 5 % margin, and
/// the RMSE in the panel's title.
///
/// Pairs with a non-finite value are skipped. A panel with more than
/// [`PARITY_MAX_POINTS`] pairs draws an evenly spaced, deterministic subset
/// of that many (every k-th pair, k fractional), which keeps 100k force
/// components well under a second; the title says so, and the RMSE is the
/// caller's, over all data. A panel with no pair left, or an empty
/// `panels`, says "no data".
///
/// Fails if a panel's `reference` and `predicted` differ in length, or the
/// file cannot be written.
pub fn parity(path: &Path, panels: &[Parity]) -> Result<()> {
    ensure_font(path)?;
    for p in panels {
        if p.reference.len() != p.predicted.len() {
            return Err(Error::Invalid(format!(
                "parity plot {}: {} reference values but {} predicted",
                p.title,
                p.reference.len(),
                p.predicted.len()
            )));
        }
    }
    let n_panels = panels.len().max(1) as u32;
    render(path, (n_panels * PARITY_SIDE, PARITY_SIDE), |root| {
        if panels.is_empty() {
            return no_data(path, root);
        }
        for (area, panel) in root.split_evenly((1, panels.len())).iter().zip(panels) {
            parity_panel(path, area, panel)?;
        }
        Ok(())
    })
}

fn parity_panel(
    path: &Path,
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    panel: &Parity,
) -> Result<()> {
    let pairs: Vec<(f64, f64)> = panel
        .reference
        .iter()
        .zip(panel.predicted)
        .map(|(&r, &p)| (r, p))
        .filter(|(r, p)| r.is_finite() && p.is_finite())
        .collect();
    let shown = subsample(&pairs, PARITY_MAX_POINTS);
    let range = padded_linear(pairs.iter().flat_map(|&(r, p)| [r, p]));

    let mut caption = panel.title.to_string();
    if panel.rmse.is_finite() {
        caption.push_str(&format!(
            "  RMSE {} {}",
            format_value(panel.rmse),
            panel.unit
        ));
    }
    if shown.len() < pairs.len() {
        caption.push_str(&format!("  ({} of {} shown)", shown.len(), pairs.len()));
    }
    let unit = |what: &str| {
        if panel.unit.is_empty() {
            what.to_string()
        } else {
            format!("{what} ({})", panel.unit)
        }
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 20))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(range.clone(), range.clone())
        .map_err(draw_err(path))?;
    // A panel without data has a placeholder range: no value to label.
    let n_labels = if shown.is_empty() { 0 } else { 10 };
    chart
        .configure_mesh()
        .x_labels(n_labels)
        .y_labels(n_labels)
        .x_desc(unit("reference"))
        .y_desc(unit("predicted"))
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .x_label_formatter(&|x| format_tick(*x))
        .y_label_formatter(&|y| format_tick(*y))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(draw_err(path))?;

    if shown.is_empty() {
        return no_data(path, chart.plotting_area());
    }
    // Translucent points show density where thousands overlap.
    let alpha = if shown.len() > 5_000 { 0.25 } else { 0.6 };
    let point = POINT_COLOR.mix(alpha).filled();
    chart
        .draw_series(shown.iter().map(|&p| Circle::new(p, 2, point)))
        .map_err(draw_err(path))?;
    chart
        .draw_series(LineSeries::new(
            [(range.start, range.start), (range.end, range.end)],
            RGBColor(214, 39, 40).stroke_width(2),
        ))
        .map_err(draw_err(path))?;
    Ok(())
}

/// At most `max` elements of `all`, evenly spaced (index ⌊i·n/max⌋), all of
/// them if there are no more than `max`.
fn subsample<T: Copy>(all: &[T], max: usize) -> Vec<T> {
    let n = all.len();
    if n <= max {
        return all.to_vec();
    }
    (0..max).map(|i| all[i * n / max]).collect()
}

// ---------------------------------------------------------------------------
// Shared helpers

/// Draws into an RGB buffer of `size`, then writes it as PNG to `path`
/// atomically.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    let mut rgb = vec![255u8; size.0 as usize * size.1 as usize * 3]; // h x w x 3
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(path))?;
        draw(&root)?;
        root.present().map_err(draw_err(path))?;
    }
    write_png_atomic(path, size, &rgb)
}

/// Encodes an RGB8 buffer as PNG into `<path>.tmp`, then renames it to
/// `path`; the temporary file is removed on failure.
fn write_png_atomic(path: &Path, (width, height): (u32, u32), rgb: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut encoded = Vec::new();
    let encode_err = |e: png::EncodingError| Error::file(path, format!("PNG encoding: {e}"));
    let mut encoder = png::Encoder::new(&mut encoded, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encode_err)?;
    writer.write_image_data(rgb).map_err(encode_err)?;
    writer.finish().map_err(encode_err)?;

    let result = std::fs::write(&tmp, &encoded)
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes "no data" in the middle of `area`.
fn no_data<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    path: &Path,
    area: &DrawingArea<DB, CT>,
) -> Result<()> {
    let area = area.strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 24).into_font())
        .color(&RGBColor(120, 120, 120))
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new("no data", (w as i32 / 2, h as i32 / 2), style))
        .map_err(|e| Error::file(path, format!("cannot draw plot: {e}")))
}

/// A linear axis range covering `values` (finite ones) with a 5 % margin
/// each side; never empty or zero-width, which plotters cannot draw.
fn padded_linear(values: impl Iterator<Item = f64>) -> Range<f64> {
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
fn padded_log(values: impl Iterator<Item = f64>) -> Range<f64> {
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
fn legend_corner(
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
struct Ticked {
    linear: RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ticked {
    fn new(range: Range<f64>, bold: Vec<f64>, light: Vec<f64>) -> Self {
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
struct LogAxis {
    /// log10 of the axis range.
    range: Range<f64>,
    /// log10 of the labelled tick values.
    bold: Vec<f64>,
    /// log10 of the minor tick values.
    light: Vec<f64>,
}

/// Ticks for a positive `range` shown on a log scale: every k-th decade for
/// wide ranges, decades with 2…9 between them, 1-2-5 sequences, 1…9, and
/// for ranges narrower than a factor of two, linear "nice" ticks — always
/// aiming at 3 to 8 labels. `range` must be positive and non-empty.
fn log_axis(range: Range<f64>) -> LogAxis {
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
fn nice_ticks(range: &Range<f64>, target: f64, min_step: f64) -> Vec<f64> {
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

fn finite_bounds(values: impl Iterator<Item = f64>) -> (Option<f64>, Option<f64>) {
    values.fold((None, None), |(lo, hi): (Option<f64>, Option<f64>), v| {
        (
            Some(lo.map_or(v, |l| l.min(v))),
            Some(hi.map_or(v, |h| h.max(v))),
        )
    })
}

/// Axis tick label: short, without float noise (0.30000000000000004).
fn format_tick(v: f64) -> String {
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
fn format_value(v: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the PNG signature and returns the IHDR width and height.
    fn png_dims(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.len() > 2_000, "{} bytes only", bytes.len());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[8..12], &13u32.to_be_bytes());
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&bytes[16..20]), be(&bytes[20..24]))
    }

    fn out(name: &str) -> PathBuf {
        // A fixed directory: reruns overwrite rather than accumulate, and
        // the atomic rename keeps concurrent runs from tearing files.
        let dir = std::env::temp_dir().join("forcefit-plots");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn row(epoch: usize, val: bool) -> LogRow {
        let t = epoch as f64;
        LogRow {
            epoch,
            step: 10 * epoch,
            time_s: t,
            lr: 1e-3,
            // Spans six decades: the axis labels every other decade.
            loss: 1e4 * (-t / 7.0).exp(),
            train_rmse: [40.0 / (1.0 + t), 300.0 / (1.0 + t).sqrt(), f64::NAN],
            val_rmse: val.then(|| [45.0 / (1.0 + t), 320.0 / (1.0 + t).sqrt(), f64::NAN]),
            val_loss: val.then(|| 5.5 / (1.0 + t)),
            regularization: [0.0; 2],
        }
    }

    #[test]
    fn loss_curves_png() {
        let rows: Vec<_> = (1..=100).map(|e| row(e, e % 5 == 0)).collect();
        let path = out("loss.png");
        loss_curves(&path, &rows).unwrap();
        assert_eq!(png_dims(&path), LOSS_SIZE);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        assert!(!Path::new(&tmp).exists(), "temporary file left behind");

        // Overfitting: validation errors rise again, into the upper right.
        let rows: Vec<_> = (1..=100)
            .map(|e| {
                let mut r = row(e, true);
                let t = e as f64;
                r.val_rmse = Some([10.0 + (t - 40.0).powi(2) / 50.0, 100.0 + t, 1.0]);
                r
            })
            .collect();
        let path = out("loss-overfit.png");
        loss_curves(&path, &rows).unwrap();
        assert_eq!(png_dims(&path), LOSS_SIZE);
    }

    #[test]
    fn loss_curves_degenerate() {
        // No rows at all.
        let path = out("loss-empty.png");
        loss_curves(&path, &[]).unwrap();
        assert_eq!(png_dims(&path), LOSS_SIZE);
        // One row, all NaN, zero loss, no validation: nothing to draw.
        let mut r = row(0, false);
        r.loss = 0.0;
        r.train_rmse = [f64::NAN; 3];
        let path = out("loss-nan.png");
        loss_curves(&path, &[r.clone()]).unwrap();
        assert_eq!(png_dims(&path), LOSS_SIZE);
        // Constant series over identical epochs (zero-width ranges).
        let mut r2 = row(3, true);
        r2.train_rmse = [2.0, 2.0, f64::INFINITY];
        r2.val_rmse = Some([2.0, f64::NAN, -1.0]);
        let path = out("loss-const.png");
        loss_curves(&path, &[r2.clone(), r2]).unwrap();
        assert_eq!(png_dims(&path), LOSS_SIZE);
    }

    /// Deterministic pseudo-random scatter around y = x.
    fn scatter(n: usize, scale: f64) -> (Vec<f64>, Vec<f64>) {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut gauss = || (0..12).map(|_| next()).sum::<f64>();
        let reference: Vec<f64> = (0..n).map(|_| scale * gauss()).collect();
        let predicted = reference
            .iter()
            .map(|r| r + 0.1 * scale * gauss())
            .collect();
        (reference, predicted)
    }

    #[test]
    fn parity_png() {
        // Energies per atom sit far from zero: labels like -7250.
        let (mut er, mut ep) = scatter(200, 50.0);
        er.iter_mut().chain(&mut ep).for_each(|e| *e -= 7200.0);
        let (fr, fp) = scatter(100_000, 1000.0);
        let panels = [
            Parity {
                title: "energy",
                unit: "meV/atom",
                reference: &er,
                predicted: &ep,
                rmse: 1.44,
            },
            Parity {
                title: "force",
                unit: "meV/Å",
                reference: &fr,
                predicted: &fp,
                rmse: 109.4,
            },
            Parity {
                title: "virial",
                unit: "meV/atom",
                reference: &[],
                predicted: &[],
                rmse: f64::NAN,
            },
        ];
        let path = out("parity.png");
        let start = std::time::Instant::now();
        parity(&path, &panels).unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(png_dims(&path), (3 * PARITY_SIDE, PARITY_SIDE));
        // Generous bound: release builds take a fraction of this.
        assert!(elapsed < 20.0, "parity plot took {elapsed} s");
    }

    #[test]
    fn parity_degenerate() {
        let path = out("parity-none.png");
        parity(&path, &[]).unwrap();
        assert_eq!(png_dims(&path), (PARITY_SIDE, PARITY_SIDE));

        let nan = [f64::NAN, 1.0, f64::INFINITY];
        let constant = [3.0; 4];
        let panels = [
            Parity {
                title: "energy",
                unit: "",
                reference: &nan,
                predicted: &[1.0, f64::NAN, 2.0],
                rmse: f64::NAN,
            },
            Parity {
                title: "force",
                unit: "meV/Å",
                reference: &constant,
                predicted: &constant,
                rmse: 0.0,
            },
        ];
        let path = out("parity-degenerate.png");
        parity(&path, &panels).unwrap();
        assert_eq!(png_dims(&path), (2 * PARITY_SIDE, PARITY_SIDE));

        let bad = [Parity {
            title: "energy",
            unit: "eV",
            reference: &[1.0, 2.0],
            predicted: &[1.0],
            rmse: 0.0,
        }];
        assert!(parity(&out("parity-bad.png"), &bad).is_err());
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let path = out("no-such-dir").join("x.png");
        assert!(matches!(loss_curves(&path, &[]), Err(Error::Io { .. })));
    }

    #[test]
    fn ranges_are_never_empty() {
        for r in [
            padded_linear([].into_iter()),
            padded_linear([f64::NAN].into_iter()),
            padded_linear([0.0, 0.0].into_iter()),
            padded_linear([1e300, 1e300].into_iter()),
            padded_linear([-f64::MAX, f64::MAX].into_iter()),
        ] {
            assert!(
                r.start < r.end && r.start.is_finite() && r.end.is_finite(),
                "{r:?}"
            );
        }
        for r in [
            padded_log([].into_iter()),
            padded_log([0.0, -1.0].into_iter()),
            padded_log([5.0].into_iter()),
            padded_log([f64::MIN_POSITIVE, f64::MAX].into_iter()),
        ] {
            assert!(
                r.start > 0.0 && r.start < r.end && r.end.is_finite(),
                "{r:?}"
            );
        }
    }

    #[test]
    fn log_axis_labels_three_to_eight_ticks() {
        for (lo, hi) in [
            (1.05, 1.78),
            (5.5, 9.3),
            (0.06, 0.4),
            (22.0, 270.0),
            (0.3, 30.0),
            (1e-3, 1e4),
            (1e-300, 1e300),
            (1.0, 10.0),
        ] {
            let axis = log_axis(lo..hi);
            let n = axis.bold.len();
            assert!(
                (2..=8).contains(&n),
                "{lo}..{hi}: {n} labels {:?}",
                axis.bold
            );
            let inside = |v: &f64| *v >= axis.range.start - 1e-9 && *v <= axis.range.end + 1e-9;
            assert!(axis.bold.iter().chain(&axis.light).all(inside));
        }
    }

    #[test]
    fn legend_avoids_the_curve() {
        let series = |points: Vec<(f64, f64)>| CurvePanel {
            caption: "",
            y_desc: "",
            series: vec![Series {
                label: "train",
                color: TRAIN_COLOR,
                points,
            }],
        };
        let falling = series((1..=50).map(|e| (e as f64, 100.0 / e as f64)).collect());
        let rising = series((1..=50).map(|e| (e as f64, e as f64)).collect());
        let (x, y) = (0.0..51.0, (0.5f64).log10()..(200f64).log10());
        assert!(matches!(
            legend_corner(&falling, &x, &y),
            SeriesLabelPosition::UpperRight
        ));
        assert!(!matches!(
            legend_corner(&rising, &x, &y),
            SeriesLabelPosition::UpperRight
        ));
    }

    #[test]
    fn subsample_is_even_and_bounded() {
        let v: Vec<usize> = (0..10).collect();
        assert_eq!(subsample(&v, 20), v);
        assert_eq!(subsample(&v, 5), vec![0, 2, 4, 6, 8]);
        assert_eq!(
            subsample(&(0..100_001).collect::<Vec<_>>(), 50_000).len(),
            50_000
        );
    }

    #[test]
    fn number_formats() {
        assert_eq!(format_value(109.43), "109.4");
        assert_eq!(format_value(1.2345), "1.23");
        assert_eq!(format_value(f64::NAN), "n/a");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_tick(0.30000000000000004), "0.3");
        assert_eq!(format_tick(250.0), "250");
        assert_eq!(format_tick(-1500.0), "-1500");
        assert_eq!(format_tick(1e-5), "1e-5");
    }
}
