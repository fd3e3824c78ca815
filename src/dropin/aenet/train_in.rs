//! aenet-PyTorch's `train.in` (its `read_input.py` and documented
//! defaults): TESTPERCENT, ITERATIONS, BATCHSIZE, NPSEED, FORCES with
//! `alpha=`, METHOD with `method=` and `lr=`, REGULARIZATION,
//! SAVE_ENERGIES, SAVE_FORCES and NETWORKS. A METHOD line in train.x's
//! form (`bfgs`, `lm …`, `ekf …`, `online_sd …`, `adam mu=…`) is read as
//! such so that the mapping can name it.

use super::generate::symbol;
use super::lines::{self, Line, Lines, Treatment, count, params, real, treat};
use crate::error::Result;
use crate::model::bp::config::{AENET_ACTIVATIONS, MAX_LAYERS, MAX_WIDTH};
use crate::nn::Activation;

/// aenet-PyTorch's default BATCHSIZE.
pub const DEFAULT_BATCH: usize = 256;
/// aenet-PyTorch's default NPSEED.
pub const DEFAULT_NPSEED: u64 = 11;

const KEYWORDS: [&str; 22] = [
    "testpercent",
    "iterations",
    "batchsize",
    "npseed",
    "forces",
    "method",
    "regularization",
    "save_energies",
    "save_forces",
    "networks",
    "trainingset",
    "iterwrite",
    "phseed",
    "memory_mode",
    "verbose",
    "save_batches",
    "load_batches",
    "timing",
    "debug",
    "maxenergy",
    "maxforces",
    "dropout",
];

/// `mode` is aenet-PyTorch's too, but rarely written: checked separately.
fn is_keyword(k: &str) -> bool {
    KEYWORDS.contains(&k) || k == "mode"
}

fn treatment(keyword: &str) -> Option<Treatment> {
    use Treatment::*;
    Some(match keyword {
        "trainingset" => Warned(
            "forcefit reads the XSF files of generate.in's FILES; no generate.x training set is needed",
        ),
        "iterwrite" => Warned(
            "forcefit logs the training and test errors to loss.csv, validating on its own cadence",
        ),
        "phseed" => Warned(
            "forcefit draws the initial weights and the batches from NPSEED (train.seed); torch's random stream cannot be reproduced",
        ),
        "memory_mode" => Warned("forcefit keeps the data in memory on the CPU"),
        "verbose" => Warned("forcefit prints its own progress (-q silences it)"),
        "save_batches" | "load_batches" => {
            Warned("forcefit builds its batches in memory in every run")
        }
        "timing" | "debug" => Warned("forcefit has no such output"),
        "dropout" => Warned("forcefit's networks train without dropout"),
        "maxenergy" | "maxforces" => Refused(
            "excluding structures by energy or force is not supported: leave them out of generate.in's FILES",
        ),
        _ => return None,
    })
}

/// The optimizer METHOD names.
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    /// aenet-PyTorch's form, `method=NAME lr=X` (NAME in lower case).
    Torch {
        /// The torch optimizer.
        name: String,
        /// Its (constant) learning rate.
        lr: f64,
    },
    /// train.x's form, `NAME param=…`: a Fortran optimizer.
    TrainX {
        /// The method (lower case).
        name: String,
    },
}

/// One NETWORKS line: `El file nhidden w:act …`.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkLine {
    /// The species.
    pub symbol: String,
    /// The potential file name.
    pub file: String,
    /// Hidden-layer widths.
    pub hidden: Vec<usize>,
    /// One activation per hidden layer.
    pub activations: Vec<Activation>,
    /// Its line.
    pub line: usize,
}

/// train.in, read and checked on its own.
#[derive(Clone, Debug)]
pub struct TrainIn {
    /// The file's lines (errors of later checks point into them).
    pub lines: Lines,
    /// TESTPERCENT: the share of the structures held out for testing, %.
    pub test_percent: f64,
    /// ITERATIONS: epochs.
    pub iterations: usize,
    /// BATCHSIZE: structures per step.
    pub batch_size: usize,
    /// NPSEED: the seed of the split and of the batches.
    pub npseed: u64,
    /// FORCES `alpha=` and its line: the force weight, if force training is asked.
    pub alpha: Option<(f64, usize)>,
    /// METHOD and its line.
    pub method: (Method, usize),
    /// REGULARIZATION (torch's weight_decay) and its line.
    pub regularization: (f64, usize),
    /// SAVE_ENERGIES.
    pub save_energies: bool,
    /// Line of SAVE_FORCES, if given.
    pub save_forces: Option<usize>,
    /// NETWORKS, in the file's order.
    pub networks: Vec<NetworkLine>,
    /// Line of NETWORKS.
    pub networks_line: usize,
    /// Keywords accepted without effect.
    pub warnings: Vec<String>,
}

/// What the keywords gave, before the required ones are checked.
#[derive(Default)]
struct Found {
    test_percent: Option<f64>,
    iterations: Option<usize>,
    batch_size: Option<usize>,
    npseed: Option<u64>,
    alpha: Option<(f64, usize)>,
    method: Option<(Method, usize)>,
    regularization: Option<(f64, usize)>,
    save_energies: bool,
    save_forces: Option<usize>,
    networks: Option<(Vec<NetworkLine>, usize)>,
    warnings: Vec<String>,
}

/// Reads and checks train.in.
pub fn parse(lines: Lines) -> Result<TrainIn> {
    let mut f = Found::default();
    let mut cursor = lines.cursor();
    while let Some(line) = cursor.next_keyword()? {
        let l = &lines;
        match line.keyword().as_str() {
            "testpercent" => f.test_percent = Some(test_percent(l, line)?),
            "iterations" => f.iterations = Some(positive_count(l, line)?),
            "batchsize" => f.batch_size = Some(positive_count(l, line)?),
            "npseed" => f.npseed = Some(lines::single_count(l, line)? as u64),
            "forces" => {
                lines::flag(l, line)?;
                let p = cursor.parameter_line(line, "`alpha=X`")?;
                f.alpha = Some((alpha(l, p)?, p.number));
            }
            "method" => {
                lines::flag(l, line)?;
                let p = cursor.parameter_line(line, "`method=NAME lr=X`")?;
                f.method = Some((method(l, p)?, p.number));
            }
            "regularization" => {
                let r = lines::single_real(l, line)?;
                if r < 0.0 {
                    return Err(l.error(line.number, "regularization", "must not be negative"));
                }
                f.regularization = Some((r, line.number));
            }
            "save_energies" => f.save_energies = lines::flag(l, line)?,
            "save_forces" => {
                lines::flag(l, line)?;
                f.save_forces = Some(line.number);
            }
            "networks" => {
                lines::flag(l, line)?;
                let block = cursor.block(is_keyword);
                f.networks = Some((networks(l, line, block)?, line.number));
            }
            "mode" => mode(l, line)?,
            other => match treatment(other) {
                Some(t) => treat(l, line, t, &mut f.warnings)?,
                None => return Err(lines::unknown(l, line, &KEYWORDS[..10])),
            },
        }
    }
    finish(lines, f)
}

/// The required keywords, and the defaults of the optional ones.
fn finish(lines: Lines, f: Found) -> Result<TrainIn> {
    let test_percent = f.test_percent.ok_or_else(|| {
        lines.missing(
            "testpercent",
            "the percentage of structures held out for testing",
        )
    })?;
    let iterations = f
        .iterations
        .ok_or_else(|| lines.missing("iterations", "the number of epochs"))?;
    let method = f.method.ok_or_else(|| {
        lines.missing(
            "method",
            "`method=adam lr=X` or `method=adamw lr=X` on the next line",
        )
    })?;
    let (networks, networks_line) = f.networks.ok_or_else(|| {
        lines.missing(
            "networks",
            "one `element file layers width:activation …` line per species",
        )
    })?;
    Ok(TrainIn {
        lines,
        test_percent,
        iterations,
        batch_size: f.batch_size.unwrap_or(DEFAULT_BATCH),
        npseed: f.npseed.unwrap_or(DEFAULT_NPSEED),
        alpha: f.alpha,
        method,
        regularization: f.regularization.unwrap_or((0.0, 0)),
        save_energies: f.save_energies,
        save_forces: f.save_forces,
        networks,
        networks_line,
        warnings: f.warnings,
    })
}

fn test_percent(lines: &Lines, line: &Line) -> Result<f64> {
    let p = lines::single_real(lines, line)?;
    if !(0.0..100.0).contains(&p) {
        return Err(lines.error(
            line.number,
            "testpercent",
            format!("{p} is not a percentage in [0, 100)"),
        ));
    }
    Ok(p)
}

fn positive_count(lines: &Lines, line: &Line) -> Result<usize> {
    match lines::single_count(lines, line)? {
        0 => Err(lines.error(line.number, &line.tokens[0], "must be at least 1")),
        n => Ok(n),
    }
}

/// aenet-PyTorch's `mode`: only `train` trains.
fn mode(lines: &Lines, line: &Line) -> Result<()> {
    let m = lines::single(lines, line)?;
    if m.eq_ignore_ascii_case("train") {
        return Ok(());
    }
    Err(lines.error(
        line.number,
        "mode",
        format!("{m} is not supported: forcefit trains from scratch (mode train)"),
    ))
}

/// The FORCES parameter line: `alpha=X`, X in [0, 1].
fn alpha(lines: &Lines, line: &Line) -> Result<f64> {
    let p = params(lines, line.number, "forces", &line.tokens)?;
    let mut alpha = None;
    for (k, v) in &p {
        if k != "alpha" {
            return Err(lines.error(
                line.number,
                "forces",
                format!("unknown parameter `{k}` (aenet-PyTorch's FORCES has alpha)"),
            ));
        }
        alpha = Some(real(v).filter(|a| (0.0..=1.0).contains(a)).ok_or_else(|| {
            lines.error(
                line.number,
                "forces",
                format!("alpha={v} is not a weight in [0, 1]"),
            )
        })?);
    }
    alpha.ok_or_else(|| {
        lines.error(
            line.number,
            "forces",
            "expected `alpha=X` on the line after FORCES",
        )
    })
}

/// The METHOD parameter line, in aenet-PyTorch's form or train.x's.
fn method(lines: &Lines, line: &Line) -> Result<Method> {
    let first = &line.tokens[0];
    let train_x = !first.contains('=') && line.tokens.get(1).is_none_or(|t| !t.starts_with('='));
    if train_x {
        return Ok(Method::TrainX {
            name: first.to_ascii_lowercase(),
        });
    }
    let p = params(lines, line.number, "method", &line.tokens)?;
    let (mut name, mut lr) = (None, None);
    for (k, v) in &p {
        match k.as_str() {
            "method" => name = Some(v.to_ascii_lowercase()),
            "lr" => {
                lr = Some(real(v).filter(|x| *x > 0.0).ok_or_else(|| {
                    lines.error(
                        line.number,
                        "method",
                        format!("lr={v} is not a positive learning rate"),
                    )
                })?)
            }
            other => {
                return Err(lines.error(
                    line.number,
                    "method",
                    format!(
                        "unknown parameter `{other}` (aenet-PyTorch's METHOD has method and lr)"
                    ),
                ));
            }
        }
    }
    let missing = |what: &str| lines.error(line.number, "method", format!("missing `{what}=`"));
    Ok(Method::Torch {
        name: name.ok_or_else(|| missing("method"))?,
        lr: lr.ok_or_else(|| missing("lr"))?,
    })
}

fn networks(lines: &Lines, keyword: &Line, block: &[Line]) -> Result<Vec<NetworkLine>> {
    if block.is_empty() {
        return Err(lines.error(
            keyword.number,
            "networks",
            "expected one `element file layers width:activation …` line per species",
        ));
    }
    let mut out: Vec<NetworkLine> = Vec::new();
    for e in block {
        let net = network(lines, e)?;
        if let Some(first) = out.iter().find(|n| n.symbol == net.symbol) {
            return Err(lines.error(
                e.number,
                "networks",
                format!(
                    "{} has two networks (first at line {})",
                    net.symbol, first.line
                ),
            ));
        }
        out.push(net);
    }
    Ok(out)
}

/// `Ti  Ti.pytorch.nn  2  5:tanh  5:tanh`.
fn network(lines: &Lines, e: &Line) -> Result<NetworkLine> {
    let err = |msg: String| lines.error(e.number, "networks", msg);
    let [sym, file, n, layers @ ..] = e.tokens.as_slice() else {
        return Err(err(format!(
            "expected `element file layers width:activation …`, got `{}`",
            e.tokens.join(" ")
        )));
    };
    let symbol = symbol(lines, e.number, "networks", sym)?;
    check_file_name(file).map_err(|m| err(format!("`{file}`: {m}")))?;
    let n = count(n).filter(|n| *n <= MAX_LAYERS).ok_or_else(|| {
        err(format!(
            "`{n}` is not a number of hidden layers in 0..={MAX_LAYERS}"
        ))
    })?;
    if n != layers.len() {
        return Err(err(format!(
            "{symbol}: {n} hidden layers announced but {} given",
            layers.len()
        )));
    }
    let mut hidden = Vec::with_capacity(n);
    let mut activations = Vec::with_capacity(n);
    for layer in layers {
        let (w, a) = layer
            .split_once(':')
            .ok_or_else(|| err(format!("`{layer}` is not `width:activation`")))?;
        let w = count(w)
            .filter(|w| (1..=MAX_WIDTH).contains(w))
            .ok_or_else(|| err(format!("`{layer}`: the width must be 1..={MAX_WIDTH}")))?;
        let a = Activation::parse(a)
            .filter(|a| AENET_ACTIVATIONS.contains(a))
            .ok_or_else(|| {
                err(format!(
                    "`{layer}`: aenet has no activation `{a}` (linear, tanh, sigmoid, mtanh, twist)"
                ))
            })?;
        hidden.push(w);
        activations.push(a);
    }
    Ok(NetworkLine {
        symbol,
        file: file.clone(),
        hidden,
        activations,
        line: e.number,
    })
}

/// forcefit writes every network into the output directory: a plain file
/// name, without directories.
fn check_file_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(
            "give a plain file name: forcefit writes the networks into its output directory (-o)",
        );
    }
    Ok(())
}
