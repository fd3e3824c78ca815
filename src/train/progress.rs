//! The progress bar of a training run and its message.

use super::log::LogRow;

/// A bar over the planned steps, or over the seconds of a time budget.
pub fn progress_bar(total_steps: usize, seconds: Option<f64>) -> indicatif::ProgressBar {
    let (len, unit) = match seconds {
        Some(t) => (t.ceil() as u64, "s"),
        None => (total_steps as u64, "steps"),
    };
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}, eta {{eta}} | {{msg}}"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// The line after an epoch: loss and errors of training and validation.
pub fn progress_message(r: &LogRow) -> String {
    let f = |x: f64| {
        if x.is_finite() {
            format!("{x:.2}")
        } else {
            "-".into()
        }
    };
    let mut s = format!(
        "epoch {} loss {:.4} train E {} F {} V {}",
        r.epoch,
        r.loss,
        f(r.train_rmse[0]),
        f(r.train_rmse[1]),
        f(r.train_rmse[2])
    );
    if let Some(v) = r.val_rmse {
        s.push_str(&format!(" | val E {} F {} V {}", f(v[0]), f(v[1]), f(v[2])));
    }
    s
}
