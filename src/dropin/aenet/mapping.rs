//! From the three parsed inputs to one [`TrainConfig`]: the checks that
//! span files (setups against TYPES, one ENV order and one Chebyshev
//! basis for every species, a network per species), then the model, the
//! loss, the optimizer and the loop.

use super::generate::GenerateIn;
use super::setup::{Basis, Setup};
use super::train_in::{Method, NetworkLine, TrainIn};
use super::{OutputPlan, Overrides};
use crate::error::{Error, Result};
use crate::loss::LossKind;
use crate::model::ModelConfig;
use crate::model::bp::BpConfig;
use crate::model::bp::config::NetworkSpec;
use crate::optim::schedule::Decay;
use crate::train::config::{
    DataConfig, LoopConfig, LossSection, OptimizerConfig, OptimizerKind, Paths, TrainConfig,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The three inputs, read and checked each on its own.
pub struct Inputs<'a> {
    /// generate.in.
    pub generate: &'a GenerateIn,
    /// Its setups, in SETUPS order.
    pub setups: &'a [Setup],
    /// train.in.
    pub train: &'a TrainIn,
}

/// The whole mapping; `dir` is generate.in's directory (FILES are
/// relative to it).
pub fn to_config(
    inputs: &Inputs,
    dir: &Path,
    overrides: &Overrides,
    warnings: &mut Vec<String>,
) -> Result<(TrainConfig, OutputPlan)> {
    let (g, t) = (inputs.generate, inputs.train);
    let model = model_config(inputs, warnings)?;
    let forces = force_training(g, t, warnings);
    let mut config = TrainConfig {
        data: data_config(g, t, dir),
        model: ModelConfig::Bp(model),
        loss: loss(forces),
        optimizer: optimizer(t, overrides, warnings)?,
        run: LoopConfig {
            epochs: Some(overrides.epochs.unwrap_or(t.iterations)),
            time_limit: overrides.time_limit,
            seed: t.npseed,
            output_dir: overrides.output_dir.clone(),
            ..Default::default()
        },
    };
    if let Some(b) = overrides.batch_size {
        config.optimizer.batch_size = Some(b);
    }
    config
        .validate()
        .map_err(|m| Error::file(&t.lines.path, format!("{m} (from the aenet input)")))?;
    let save_forces = match t.save_forces {
        Some(line) if forces.is_none() => {
            warnings.push(format!(
                "{}:{line}: SAVE_FORCES: ignored (no force training, so no forces.train/forces.test, as in aenet-PyTorch)",
                t.lines.path.display()
            ));
            false
        }
        other => other.is_some(),
    };
    let plan = OutputPlan {
        save_energies: t.save_energies,
        save_forces,
        atomic_energies: atomic_energies(g),
        names: g
            .files
            .iter()
            .map(|(f, _)| (dir.join(f), f.clone()))
            .collect(),
    };
    Ok((config, plan))
}

/// FILES (XSF, relative to generate.in's directory) and the test split.
fn data_config(g: &GenerateIn, t: &TrainIn, dir: &Path) -> DataConfig {
    DataConfig {
        train: Paths::Many(g.files.iter().map(|(f, _)| dir.join(f)).collect()),
        test: None,
        validation_fraction: t.test_percent / 100.0,
        format: Some("xsf".into()),
        split_seed: Some(t.npseed),
    }
}

/// The BP model: species in ENV order, the one Chebyshev basis, the
/// networks of NETWORKS and the free-atom energies of TYPES.
fn model_config(inputs: &Inputs, warnings: &mut Vec<String>) -> Result<BpConfig> {
    let (g, t) = (inputs.generate, inputs.train);
    let first = check_setups(inputs)?;
    let rmin = rc_min(inputs.setups, warnings);
    let nets = check_networks(g, t)?;
    let mut c = BpConfig {
        species: Some(first.env_symbols()),
        radial_cutoff: first.basis.radial_cutoff,
        radial_order: first.basis.radial_order,
        angular_cutoff: first.basis.angular_cutoff,
        angular_order: first.basis.angular_order,
        rc_min: rmin,
        atomic_energies: Some(atomic_energies(g)),
        files: nets
            .iter()
            .map(|n| (n.symbol.clone(), n.file.clone()))
            .collect(),
        ..Default::default()
    };
    let shared = nets
        .iter()
        .all(|n| n.hidden == nets[0].hidden && n.activations == nets[0].activations);
    let one_activation = nets[0].activations.windows(2).all(|w| w[0] == w[1]);
    if shared && one_activation {
        c.hidden = nets[0].hidden.clone();
        if let Some(a) = nets[0].activations.first() {
            c.activation = *a;
        }
    } else {
        c.networks = nets
            .iter()
            .map(|n| {
                let spec = NetworkSpec {
                    hidden: n.hidden.clone(),
                    activations: n.activations.clone(),
                };
                (n.symbol.clone(), spec)
            })
            .collect();
    }
    Ok(c)
}

/// Each setup is its SETUPS species', its ENV lists TYPES (in one order
/// for all), and all share one basis; returns the first setup.
fn check_setups<'a>(inputs: &Inputs<'a>) -> Result<&'a Setup> {
    let g = inputs.generate;
    let types = g.symbols();
    let first = &inputs.setups[0];
    for (s, r) in inputs.setups.iter().zip(&g.setups) {
        let l = &s.lines;
        if s.atom != r.symbol {
            return Err(l.error(
                s.atom_line,
                "atom",
                format!(
                    "{}, but {}:{} gives this file for {}",
                    s.atom,
                    g.lines.path.display(),
                    r.line,
                    r.symbol
                ),
            ));
        }
        if let Some((e, line)) = s.env.iter().find(|(e, _)| !types.contains(e)) {
            return Err(l.error(
                *line,
                "env",
                format!("{e} is not in generate.in's TYPES ({})", types.join(", ")),
            ));
        }
        let env = s.env_symbols();
        if let Some(missing) = types.iter().find(|t| !env.contains(t)) {
            return Err(l.error(
                s.env_line,
                "env",
                format!("lacks {missing}: forcefit's descriptor sees every TYPES species"),
            ));
        }
        if env != first.env_symbols() {
            return Err(l.error(
                s.env_line,
                "env",
                format!(
                    "the order {} differs from {}'s ({}): forcefit's model has one species order, shared by every setup",
                    env.join(", "),
                    first.lines.path.display(),
                    first.env_symbols().join(", ")
                ),
            ));
        }
        if s.basis != first.basis {
            return Err(l.error(
                s.basis_line,
                "basis",
                format!(
                    "{} differs from {}'s {}: forcefit trains one Chebyshev basis for every species (a model with a basis per species can only be read from aenet's potential files)",
                    show(&s.basis),
                    first.lines.path.display(),
                    show(&first.basis)
                ),
            ));
        }
    }
    Ok(first)
}

fn show(b: &Basis) -> String {
    format!(
        "radial_Rc={} radial_N={} angular_Rc={} angular_N={}",
        b.radial_cutoff, b.radial_order, b.angular_cutoff, b.angular_order
    )
}

/// One RMIN for the model (it only sizes aenet's neighbour lists): the
/// smallest, with a warning when the setups differ.
fn rc_min(setups: &[Setup], warnings: &mut Vec<String>) -> f64 {
    let min = setups.iter().map(|s| s.rmin).fold(f64::INFINITY, f64::min);
    if setups.iter().any(|s| s.rmin != min) {
        warnings.push(format!(
            "RMIN differs between the setups: the model's files carry the smallest, {min} Å (it changes no prediction)"
        ));
    }
    min
}

/// One NETWORKS line per TYPES species, with distinct file names; returns
/// them in TYPES order.
fn check_networks<'a>(g: &GenerateIn, t: &'a TrainIn) -> Result<Vec<&'a NetworkLine>> {
    let types = g.symbols();
    let l = &t.lines;
    for n in &t.networks {
        if !types.contains(&n.symbol) {
            return Err(l.error(
                n.line,
                "networks",
                format!(
                    "{} is not in generate.in's TYPES ({})",
                    n.symbol,
                    types.join(", ")
                ),
            ));
        }
        if let Some(other) = t
            .networks
            .iter()
            .find(|o| o.file == n.file && o.symbol != n.symbol)
        {
            return Err(l.error(
                n.line,
                "networks",
                format!(
                    "{} and {} share the file name {}",
                    other.symbol, n.symbol, n.file
                ),
            ));
        }
    }
    types
        .iter()
        .map(|s| {
            t.networks.iter().find(|n| &n.symbol == s).ok_or_else(|| {
                l.error(
                    t.networks_line,
                    "networks",
                    format!("no network for {s} (every TYPES species needs one)"),
                )
            })
        })
        .collect()
}

/// Force training (generate.in's `forces` and train.in's FORCES both
/// given, a positive alpha and percentage): (alpha, fraction of the
/// training structures whose forces enter the loss).
fn force_training(g: &GenerateIn, t: &TrainIn, warnings: &mut Vec<String>) -> Option<(f64, f64)> {
    let (gp, tp) = (g.lines.path.display(), t.lines.path.display());
    let (alpha, line) = match (g.forces, t.alpha) {
        (None, None) => return None,
        (None, Some((_, line))) => {
            warnings.push(format!("{tp}:{line}: FORCES: generate.in has no `forces` keyword: training on energies only"));
            return None;
        }
        (Some(line), None) => {
            warnings.push(format!("{gp}:{line}: FORCES: train.in has no FORCES block: training on energies only, as aenet-PyTorch does"));
            return None;
        }
        (Some(_), Some(a)) => a,
    };
    let percent = match g.forces_percent {
        Some((p, _)) => p,
        None => {
            warnings.push(format!(
                "{gp}: FORCESPERCENT not given: forces of 100 % of the structures, aenet-PyTorch's documented default (its generate.x uses 1 %; give FORCESPERCENT to be sure)"
            ));
            100.0
        }
    };
    if alpha == 0.0 || percent == 0.0 {
        warnings.push(format!(
            "{tp}:{line}: FORCES: alpha = {alpha} with {percent} % of the forces: training on energies only"
        ));
        return None;
    }
    Some((alpha, percent / 100.0))
}

/// aenet-PyTorch's loss, (1−α)·√(mean (ΔE/N)²) + α·√(Σ|ΔF|²/N_atoms),
/// as forcefit's RMSE loss over force components: λe = 1−α, λf = √3·α.
fn loss(forces: Option<(f64, f64)>) -> LossSection {
    let (lambda_e, lambda_f, force_structures) = match forces {
        Some((alpha, fraction)) => (1.0 - alpha, 3f64.sqrt() * alpha, fraction),
        // No forces: they stay out of the training loss (and its cost).
        None => (1.0, 0.0, 0.0),
    };
    LossSection {
        kind: LossKind::Rmse,
        lambda_e,
        lambda_f,
        lambda_v: 0.0,
        force_structures,
        ..Default::default()
    }
}

/// METHOD (or `--optimizer`) with its constant learning rate, BATCHSIZE,
/// REGULARIZATION.
fn optimizer(
    t: &TrainIn,
    overrides: &Overrides,
    warnings: &mut Vec<String>,
) -> Result<OptimizerConfig> {
    let (kind, lr) = optimizer_kind(t, overrides.optimizer, warnings)?;
    let mut o = if overrides.as_written || kind.is_kalman() {
        OptimizerConfig {
            kind,
            lr,
            lr_min: lr,
            decay: Decay::None,
            ..Default::default()
        }
    } else {
        OptimizerConfig {
            kind,
            lr: super::RECIPE_LR,
            lr_min: super::RECIPE_LR_MIN,
            decay: Decay::Cosine,
            ..Default::default()
        }
    };
    // FEKF balances its prefactors by BP's recipe (`BpModel::KALMAN_RECIPE`);
    // RLEKF, one structure per step, likewise here.
    if kind == OptimizerKind::Rlekf {
        o.balance_by_loss = Some(true);
    }
    o.batch_size = match kind {
        OptimizerKind::Rlekf => Some(1),
        // BATCHSIZE describes an Adam recipe: forcefit's filter batch.
        OptimizerKind::Fekf => None,
        _ if overrides.as_written => Some(t.batch_size),
        _ => Some(super::RECIPE_BATCH),
    };
    let (reg, line) = t.regularization;
    let at = format!("{}:{line}: REGULARIZATION", t.lines.path.display());
    match kind {
        OptimizerKind::Adamw => o.weight_decay = reg,
        _ if reg == 0.0 => {}
        OptimizerKind::Adam => warnings.push(format!(
            "{at}: ignored: torch's Adam adds {reg}·θ to the gradient (coupled L2), which forcefit's Adam does not have, and loss.lambda_2 is a different penalty (λ2·√(Σθ²/n)); write `method=adamw` for decoupled weight decay"
        )),
        _ => warnings.push(format!(
            "{at}: ignored: the Kalman filter has no weight decay (its prior, optimizer.p0, regularises)"
        )),
    }
    Ok(o)
}

/// The optimizer and its learning rate.
fn optimizer_kind(
    t: &TrainIn,
    chosen: Option<OptimizerKind>,
    warnings: &mut Vec<String>,
) -> Result<(OptimizerKind, f64)> {
    let (method, line) = &t.method;
    let at = format!("{}:{line}: METHOD", t.lines.path.display());
    let default_lr = OptimizerConfig::default().lr;
    match (chosen, method) {
        (Some(k), Method::Torch { name, lr }) => {
            if !matches!(name.as_str(), "adam" | "adamw") || !matches!(k, OptimizerKind::Adam | OptimizerKind::Adamw) {
                warnings.push(format!("{at}: {name} replaced by --optimizer"));
            }
            Ok((k, *lr))
        }
        (Some(k), Method::TrainX { name }) => {
            warnings.push(format!(
                "{at}: train.x's {name} replaced by --optimizer (with --recipe aenet-pytorch: forcefit's default learning rate {default_lr}, constant)"
            ));
            Ok((k, default_lr))
        }
        (None, Method::Torch { name, lr }) => match name.as_str() {
            "adam" => Ok((OptimizerKind::Adam, *lr)),
            "adamw" => Ok((OptimizerKind::Adamw, *lr)),
            "adadelta" | "adagrad" | "adamax" => Err(t.lines.error(
                *line,
                "method",
                format!("torch's {name} is not in forcefit: write method=adam or method=adamw, or pass --optimizer adam|adamw|fekf|rlekf"),
            )),
            _ => Err(t.lines.error(
                *line,
                "method",
                format!("unknown method {name} (aenet-PyTorch has adam, adamw, adadelta, adagrad, adamax; forcefit trains adam and adamw)"),
            )),
        },
        (None, Method::TrainX { name }) => {
            let what = train_x_method(t, *line, name)?;
            warnings.push(format!(
                "{at}: {what} is replaced by forcefit's Adam (its schedule; --optimizer adam|adamw|fekf|rlekf chooses another)"
            ));
            Ok((OptimizerKind::Adam, default_lr))
        }
    }
}

/// What a METHOD in train.x's form names (an error for an unknown one).
fn train_x_method(t: &TrainIn, line: usize, name: &str) -> Result<&'static str> {
    Ok(match name {
        "bfgs" => "train.x's L-BFGS",
        "lm" => "train.x's Levenberg-Marquardt",
        "online_sd" | "online_gd" => "train.x's online gradient descent",
        "ekf" => "train.x's extended Kalman filter (forcefit's own is --optimizer rlekf)",
        "adam" => "train.x's Adam line (`adam mu=…`)",
        _ => {
            return Err(t.lines.error(
                line,
                "method",
                format!("unknown method `{name}`: write aenet-PyTorch's `method=adam lr=X` or `method=adamw lr=X`"),
            ));
        }
    })
}

/// Free-atom energy of every TYPES species.
fn atomic_energies(g: &GenerateIn) -> BTreeMap<String, f64> {
    g.types
        .iter()
        .map(|s| (s.symbol.clone(), s.energy))
        .collect()
}
