//! PNG plots of training results: loss and RMSE curves over epochs, parity
//! (predicted vs reference) scatter plots, and log-log line plots
//! ([`line_plot`]).
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
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod axes;
mod lines;
#[cfg(test)]
mod tests;

pub use lines::{Line, line_plot};

use axes::*;

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
