//! A single-panel log-log line plot (for example error against step size).

use super::axes::*;
use super::{FONT, draw_err, ensure_font, no_data, render};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// Width × height of [`line_plot`] images, pixels.
const LINE_SIZE: (u32, u32) = (1000, 700);

/// Colours of successive lines (a dashed line reuses its solid twin's).
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(230, 110, 0),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One line of a [`line_plot`].
#[derive(Clone, Debug)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// `(x, y)` points, drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Colour index into a fixed palette (wraps around).
    pub color: usize,
    /// Draw with small markers only, thinner (for secondary quantities).
    pub thin: bool,
}

/// Writes a PNG (1000×700) of `lines` to `path`, both axes logarithmic.
/// Points with a non-finite or non-positive coordinate are skipped; with no
/// point left the panel says "no data".
pub fn line_plot(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    lines: &[Line],
) -> Result<()> {
    ensure_font(path)?;
    let ok = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0;
    let lines: Vec<Line> = lines
        .iter()
        .map(|l| Line {
            points: l.points.iter().copied().filter(ok).collect(),
            ..l.clone()
        })
        .filter(|l| !l.points.is_empty())
        .collect();
    let all = || lines.iter().flat_map(|l| l.points.iter().copied());
    let mut x_axis = log_axis(padded_log(all().map(|p| p.0)));
    let mut y_axis = log_axis(padded_log(all().map(|p| p.1)));
    if lines.is_empty() {
        for a in [&mut x_axis, &mut y_axis] {
            a.bold.clear();
            a.light.clear();
        }
    }
    render(path, LINE_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(
                Ticked::new(x_axis.range.clone(), x_axis.bold, x_axis.light),
                Ticked::new(y_axis.range.clone(), y_axis.bold, y_axis.light),
            )
            .map_err(draw_err(path))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .axis_desc_style((FONT, 17))
            .label_style((FONT, 14))
            .x_label_formatter(&|x| format_tick(10f64.powf(*x)))
            .y_label_formatter(&|y| format_tick(10f64.powf(*y)))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(draw_err(path))?;
        if lines.is_empty() {
            return no_data(path, chart.plotting_area());
        }
        for l in &lines {
            let color = PALETTE[l.color % PALETTE.len()];
            let style = color.stroke_width(if l.thin { 1 } else { 2 });
            let points = l.points.iter().map(|&(x, y)| (x.log10(), y.log10()));
            let radius = if l.thin { 2 } else { 4 };
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(draw_err(path))?
                .label(l.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart
                .draw_series(points.map(|p| Circle::new(p, radius, color.filled())))
                .map_err(draw_err(path))?;
        }
        chart
            .configure_series_labels()
            // Error-vs-step curves are U-shaped: the top middle stays clear.
            .position(SeriesLabelPosition::UpperMiddle)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(draw_err(path))?;
        Ok(())
    })
}
