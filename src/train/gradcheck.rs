//! `forcefit gradcheck`: how well the directional-derivative force gradient
//! ([`super::directional`]) agrees with the exact one, over ε, for a model
//! and data.
//!
//! The loss is the training loss with λe = 1, λf = 1, λv = 0 (the virial
//! part is exact in both methods, so leaving it out isolates nothing but
//! noise) and the RMSE combination, over the given structures as one batch.
//! For each ε and each step scaling (g0 = max_i|g_i| per structure, as
//! published, or g0 = 1 eV/Å) it reports
//!
//! - Err[∇L] = |∇L_dir − ∇L_exact| / |∇L_exact| (Euclidean norms over all
//!   parameters; the energy part is exact in both);
//! - Err[L̃] = |L̃ − L̃_exact| / |L̃_exact|, with L̃ the paper's proxy
//!   ([`directional::loss_proxy`]) summed over structures and L̃_exact the
//!   same quantity from the predicted forces.
//!
//! The exact gradient itself is checked against central finite differences
//! of the loss over an evenly spaced sample of parameters.

use super::directional::{self, StepScale};
use super::plots::{Line, line_plot};
use crate::error::{Error, Result};
use crate::loss::{self, LossConfig, LossKind};
use crate::model::{Adjoint, Model, Prediction, Prepared};
use std::fmt::Write as _;
use std::path::Path;

/// What to compute.
#[derive(Clone, Debug)]
pub struct Options {
    /// Relative steps ε of the directional method.
    pub epsilons: Vec<f64>,
    /// How many parameters the finite-difference check samples.
    pub fd_params: usize,
    /// Finite-difference step on a parameter.
    pub fd_step: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            epsilons: (1..=9).map(|k| 10f64.powi(-k)).collect(),
            fd_params: 30,
            fd_step: 1e-6,
        }
    }
}

/// The loss gradcheck uses: λe = 1, λf = 1, λv = 0, RMSE, no regulariser.
pub fn loss_config() -> LossConfig {
    LossConfig {
        lambda_e: 1.0,
        lambda_f: 1.0,
        lambda_v: 0.0,
        lambda_1: 0.0,
        lambda_2: 0.0,
        kind: LossKind::Rmse,
        ..LossConfig::default()
    }
}

/// One (model, scaling, ε) result.
#[derive(Clone, Debug)]
pub struct Row {
    /// Which model ("trained", "random").
    pub model: String,
    /// Step scaling.
    pub scale: StepScale,
    /// ε.
    pub epsilon: f64,
    /// Err[∇L].
    pub grad_error: f64,
    /// Err[L̃] (NaN when every force adjoint is zero).
    pub proxy_error: f64,
}

/// The finite-difference check of the exact gradient for one model.
#[derive(Clone, Debug)]
pub struct FdCheck {
    /// Which model.
    pub model: String,
    /// Parameters sampled.
    pub n_params: usize,
    /// |∇L_fd − ∇L_exact| / |∇L_exact| over the sample.
    pub exact_error: f64,
}

/// Everything gradcheck measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One row per model, scaling and ε.
    pub rows: Vec<Row>,
    /// One finite-difference check per model.
    pub fd: Vec<FdCheck>,
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    norm(&d) / norm(b)
}

/// The loss of `data` (no gradient), and its adjoints when asked.
fn loss_of(model: &dyn Model, data: &[Prepared], adjoints: &mut Vec<Adjoint>) -> f64 {
    let predictions: Vec<Prediction> = data
        .iter()
        .map(|s| {
            let mut p = Prediction::default();
            model.predict(s, &mut p);
            p
        })
        .collect();
    let pairs: Vec<_> = data
        .iter()
        .map(|s| &s.structure)
        .zip(&predictions)
        .collect();
    loss::evaluate(&loss_config(), &pairs, |_, _| true, adjoints).total
}

/// Measures one model on `data` (prepared for this model) and appends its
/// rows and finite-difference check to `report`. The parameters are
/// perturbed for the finite differences and restored bit for bit.
pub fn check(
    name: &str,
    model: &mut dyn Model,
    data: &[Prepared],
    options: &Options,
    report: &mut Report,
) -> Result<()> {
    if data.is_empty() {
        return Err(Error::Invalid("gradcheck: no structures".into()));
    }
    let n = model.params().len();
    let mut adjoints = Vec::new();
    loss_of(model, data, &mut adjoints);
    let (mut exact, mut base) = (vec![0.0; n], vec![0.0; n]);
    let mut proxy_exact = 0.0;
    for (s, a) in data.iter().zip(&adjoints) {
        model.vjp(s, a, &mut exact);
        directional::virial_part(model, s, a, &mut base);
        let mut p = Prediction::default();
        model.predict(s, &mut p);
        proxy_exact += directional::exact_proxy(s, &a.forces, &p.forces);
    }
    if norm(&exact) == 0.0 {
        return Err(Error::Invalid(format!(
            "gradcheck: the {name} model's loss gradient is zero"
        )));
    }
    for scale in [StepScale::MaxAdjoint, StepScale::Unit] {
        for &epsilon in &options.epsilons {
            let mut dir = base.clone();
            let mut proxy = 0.0;
            let mut any = false;
            for (s, a) in data.iter().zip(&adjoints) {
                if let Some(eta) = directional::step(&a.forces, epsilon, scale) {
                    directional::force_gradient_with_step(model, s, &a.forces, eta, &mut dir);
                    proxy +=
                        directional::loss_proxy(model, s, &a.forces, epsilon, scale).unwrap_or(0.0);
                    any = true;
                }
            }
            let proxy_error = if any {
                (proxy - proxy_exact).abs() / proxy_exact.abs()
            } else {
                f64::NAN
            };
            report.rows.push(Row {
                model: name.to_string(),
                scale,
                epsilon,
                grad_error: rel_diff(&dir, &exact),
                proxy_error,
            });
        }
    }
    // Central differences of the loss over an evenly spaced sample.
    let m = options.fd_params.clamp(1, n);
    let (mut fd, mut want) = (Vec::with_capacity(m), Vec::with_capacity(m));
    for i in 0..m {
        let k = ((2 * i + 1) * n) / (2 * m);
        let orig = model.params()[k];
        model.params_mut()[k] = orig + options.fd_step;
        let plus = loss_of(model, data, &mut Vec::new());
        model.params_mut()[k] = orig - options.fd_step;
        let minus = loss_of(model, data, &mut Vec::new());
        model.params_mut()[k] = orig;
        fd.push((plus - minus) / (2.0 * options.fd_step));
        want.push(exact[k]);
    }
    report.fd.push(FdCheck {
        model: name.to_string(),
        n_params: m,
        exact_error: rel_diff(&fd, &want),
    });
    Ok(())
}

fn scale_name(s: StepScale) -> &'static str {
    match s {
        StepScale::MaxAdjoint => "g0=max|g|",
        StepScale::Unit => "g0=1",
    }
}

/// The report as a text table: one line per ε, two columns (Err[∇L],
/// Err[L̃]) per model and scaling, then the finite-difference checks.
pub fn table(report: &Report) -> String {
    let mut groups: Vec<(String, StepScale)> = Vec::new();
    for r in &report.rows {
        if !groups.iter().any(|(m, s)| m == &r.model && *s == r.scale) {
            groups.push((r.model.clone(), r.scale));
        }
    }
    let mut epsilons: Vec<f64> = Vec::new();
    for r in &report.rows {
        if !epsilons.contains(&r.epsilon) {
            epsilons.push(r.epsilon);
        }
    }
    let mut out = String::new();
    let _ = write!(out, "{:>8}", "");
    for (m, s) in &groups {
        let _ = write!(out, " | {:^21}", format!("{m} {}", scale_name(*s)));
    }
    let _ = write!(out, "\n{:>8}", "ε");
    for _ in &groups {
        let _ = write!(out, " | {:>10} {:>10}", "Err[∇L]", "Err[L̃]");
    }
    out.push('\n');
    for &e in &epsilons {
        let _ = write!(out, "{e:>8.0e}");
        for (m, s) in &groups {
            let row = report
                .rows
                .iter()
                .find(|r| &r.model == m && r.scale == *s && r.epsilon == e);
            match row {
                Some(r) => {
                    let _ = write!(out, " | {:>10.2e} {:>10.2e}", r.grad_error, r.proxy_error);
                }
                None => {
                    let _ = write!(out, " | {:>21}", "");
                }
            }
        }
        out.push('\n');
    }
    for f in &report.fd {
        let _ = writeln!(
            out,
            "{} model: exact gradient vs central differences over {} parameters: {:.2e}",
            f.model, f.n_params, f.exact_error
        );
    }
    out
}

/// Writes `gradcheck.csv` (model, scaling, ε, errors; then one
/// `fd` row per model) and `gradcheck.png` (errors vs ε, log-log) to `dir`.
pub fn write(report: &Report, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut csv = String::from("model,g0,epsilon,grad_error,proxy_error\n");
    for r in &report.rows {
        let g0 = match r.scale {
            StepScale::MaxAdjoint => "max",
            StepScale::Unit => "unit",
        };
        let _ = writeln!(
            csv,
            "{},{g0},{:e},{:e},{:e}",
            r.model, r.epsilon, r.grad_error, r.proxy_error
        );
    }
    for f in &report.fd {
        let _ = writeln!(csv, "{},fd,,{:e},", f.model, f.exact_error);
    }
    let path = dir.join("gradcheck.csv");
    std::fs::write(&path, csv).map_err(|e| Error::io(&path, e))?;

    let mut lines = Vec::new();
    let mut groups: Vec<(String, StepScale)> = Vec::new();
    for r in &report.rows {
        if !groups.iter().any(|(m, s)| m == &r.model && *s == r.scale) {
            groups.push((r.model.clone(), r.scale));
        }
    }
    for (color, (m, s)) in groups.iter().enumerate() {
        let rows = || {
            report
                .rows
                .iter()
                .filter(move |r| &r.model == m && r.scale == *s)
        };
        lines.push(Line {
            label: format!("Err[∇L] {m} {}", scale_name(*s)),
            points: rows().map(|r| (r.epsilon, r.grad_error)).collect(),
            color,
            thin: false,
        });
        lines.push(Line {
            label: format!("Err[L̃] {m} {}", scale_name(*s)),
            points: rows().map(|r| (r.epsilon, r.proxy_error)).collect(),
            color,
            thin: true,
        });
    }
    line_plot(
        &dir.join("gradcheck.png"),
        "Directional force gradient vs exact",
        "ε (Å)",
        "relative error",
        &lines,
    )
}
