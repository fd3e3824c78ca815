//! The keywords `nep.in` and `gnep.in` share: the NEP architecture
//! (`version`, `cutoff`, `n_max`, `basis_size`, `l_max`, `neuron`, `zbl`,
//! the typewise cutoffs) and the loss weights GPUMD names the same way.

use super::lines::Line;
use crate::dropin::Translation;
use crate::elements;
use crate::error::{Error, Result};
use crate::model::nep::NepHyper;
use crate::model::nep::angular::AngularTerms;
use crate::model::nep::config::{Cutoff, NepConfig};
use crate::train::config::LossSection;
use std::collections::BTreeMap;
use std::path::Path;

/// Applies an architecture keyword to `model`; `false` if `line` is not one.
pub fn model_keyword(
    line: &Line,
    path: &Path,
    species: &[String],
    model: &mut NepConfig,
) -> Result<bool> {
    match line.keyword {
        "version" => {
            line.count(path, 1..=1)?;
            let v = line.int(path, 0)?;
            if !(3..=5).contains(&v) {
                return Err(line.error(
                    path,
                    format!("forcefit trains NEP3, NEP4 and NEP5 (3, 4 or 5), got {v}"),
                ));
            }
            model.version = v as u32;
        }
        "cutoff" => model.cutoff = parse_cutoff(line, path, species)?,
        "n_max" => {
            line.count(path, 2..=2)?;
            model.n_max = [line.int(path, 0)?, line.int(path, 1)?];
        }
        "basis_size" => {
            line.count(path, 2..=2)?;
            model.basis_size = [line.int(path, 0)?, line.int(path, 1)?];
        }
        "l_max" => model.l_max = parse_l_max(line, path)?,
        "neuron" => {
            line.count(path, 1..=2)?;
            model.neuron = line.int(path, 0)?;
            if line.args.len() == 2 && line.int(path, 1)? != 0 {
                return Err(line.error(path, "a second hidden layer is not supported"));
            }
        }
        "zbl" => model.zbl = Some(line.positive(path)?),
        // GPUMD's default factors; the limits are checked with the
        // configuration (`model.typewise_cutoff*`).
        "use_typewise_cutoff_zbl" => {
            line.count(path, 0..=1)?;
            let f = if line.args.is_empty() {
                0.7
            } else {
                line.real(path, 0)?
            };
            model.typewise_cutoff_zbl = Some(f);
        }
        "use_typewise_cutoff" => {
            if line.args.len() == 1 {
                return Err(line.error(path, "expected 0 or 2 parameters, got 1"));
            }
            line.count(path, 0..=2)?;
            model.typewise_cutoff = Some(if line.args.is_empty() {
                [2.5, 2.0]
            } else {
                [line.real(path, 0)?, line.real(path, 1)?]
            });
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Applies a loss-weight keyword to `loss`; `false` if `line` is not one.
pub fn loss_keyword(
    line: &Line,
    path: &Path,
    species: &[String],
    loss: &mut LossSection,
) -> Result<bool> {
    match line.keyword {
        "type_weight" => loss.type_weight = type_weight(line, path, species)?,
        "force_delta" => loss.force_delta = line.non_negative(path)?,
        "lambda_shear" => loss.lambda_shear = line.non_negative(path)?,
        "lambda_e" => loss.lambda_e = line.non_negative(path)?,
        "lambda_f" => loss.lambda_f = line.non_negative(path)?,
        "lambda_v" => loss.lambda_v = line.non_negative(path)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The elements of the file's `type` line, which every keyword file needs
/// (`name` names the file in the message).
pub fn species(lines: &[Line], path: &Path, name: &str) -> Result<Vec<String>> {
    let Some(type_line) = lines.iter().find(|l| l.keyword == "type") else {
        return Err(Error::file(
            path,
            format!(
                "the `type` keyword is missing: {name} must list the elements, e.g. `type 2 Pb Te`"
            ),
        ));
    };
    parse_type(type_line, path)
}

/// `type N El1 … ElN`: the elements, in order.
pub fn parse_type(line: &Line, path: &Path) -> Result<Vec<String>> {
    if line.args.len() < 2 {
        return Err(line.error(
            path,
            "expected the number of types and the elements, e.g. `type 2 Pb Te`",
        ));
    }
    let n = line.int(path, 0)?;
    if n == 0 || line.args.len() != n + 1 {
        return Err(line.error(
            path,
            format!("announces {n} types but lists {}", line.args.len() - 1),
        ));
    }
    let species: Vec<String> = line.args[1..].iter().map(|s| s.to_string()).collect();
    for (i, s) in species.iter().enumerate() {
        if elements::atomic_number(s).is_none() {
            return Err(line.error(path, format!("`{s}` is not an element symbol")));
        }
        if species[..i].contains(s) {
            return Err(line.error(path, format!("{s} is listed twice")));
        }
    }
    Ok(species)
}

/// `cutoff rc_R rc_A`, or GPUMD's per-element `rc_R,1 rc_A,1 … rc_R,N
/// rc_A,N` in `type` order (the same pair for every element means uniform
/// cutoffs, as in GPUMD's computation).
fn parse_cutoff(line: &Line, path: &Path, species: &[String]) -> Result<Cutoff> {
    let n = line.args.len();
    if n != 2 && n != 2 * species.len() {
        return Err(line.error(
            path,
            format!(
                "expected 2 parameters (radial and angular cutoff) or 2 per type ({}), got {n}",
                2 * species.len()
            ),
        ));
    }
    let values = (0..n)
        .map(|i| line.real(path, i))
        .collect::<Result<Vec<f64>>>()?;
    let pair = [values[0], values[1]];
    if values.chunks(2).all(|c| c == pair) {
        return Ok(Cutoff::Uniform(pair));
    }
    let table = species
        .iter()
        .zip(values.chunks(2))
        .map(|(s, c)| (s.clone(), [c[0], c[1]]))
        .collect();
    Ok(Cutoff::PerElement(table))
}

/// `l_max L3 [q_222 [q_1111 [q_112 [q_123 [q_233 [q_134]]]]]]`, as GPUMD
/// reads it: L3 in 2..=8, absent flags at GPUMD's defaults (q_222 on, the
/// rest off); q_222 is on for 1 (newer GPUMD's flag) or 2 (older GPUMD's
/// `l_max_4body`). Returned in the form GPUMD writes to nep.txt, so that
/// it compares with a model file's.
fn parse_l_max(line: &Line, path: &Path) -> Result<Vec<usize>> {
    line.count(path, 1..=7)?;
    let values = (0..line.args.len())
        .map(|i| line.int(path, i))
        .collect::<Result<Vec<usize>>>()?;
    if !(2..=8).contains(&values[0]) {
        return Err(line.error(
            path,
            format!(
                "the 3-body l_max must be in 2..=8 (GPUMD's range), got {}",
                values[0]
            ),
        ));
    }
    let terms = AngularTerms::from_gpumd(&values).map_err(|e| line.error(path, e))?;
    Ok(terms.gpumd_values())
}

/// `type_weight w_1 … w_N`: one weight per element of `type`, in its order.
fn type_weight(line: &Line, path: &Path, species: &[String]) -> Result<BTreeMap<String, f64>> {
    line.count(path, species.len()..=species.len())?;
    let mut weights = BTreeMap::new();
    for (i, s) in species.iter().enumerate() {
        let w = line.real(path, i)?;
        if w < 0.0 {
            return Err(line.error(path, format!("the weight of {s} is negative ({w})")));
        }
        weights.insert(s.clone(), w);
    }
    Ok(weights)
}

/// In prediction mode the model is `nep.txt` as it is: checks it against
/// the keyword file (`line_of` gives a keyword's line). Different elements
/// are an error; hyperparameters that the file sets explicitly to other
/// values than `nep.txt` has come back as warnings (GPUMD would refuse or
/// misread the file; forcefit uses `nep.txt`'s header).
pub fn check_model(
    input: &Translation,
    line_of: &dyn Fn(&str) -> Option<usize>,
    hyper: &NepHyper,
    model_path: &Path,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let here =
        |keyword: &str| format!("{}:{}", input.path.display(), line_of(keyword).unwrap_or(0));
    // `forcefit nep` always configures a NEP.
    let Some(m) = input.config.model.as_nep() else {
        return Ok(warnings);
    };
    if let Some(species) = &m.species {
        let mut a = species.clone();
        let mut b = hyper.species.clone();
        a.sort();
        b.sort();
        if a != b {
            return Err(Error::parse(
                &input.path,
                line_of("type").unwrap_or(0),
                format!(
                    "type: lists {} but {} is a model of {}",
                    species.join(" "),
                    model_path.display(),
                    hyper.species.join(" ")
                ),
            ));
        }
        if *species != hyper.species {
            warnings.push(format!(
                "{}: type order {} differs from {}'s {}; forcefit matches elements by symbol",
                here("type"),
                species.join(" "),
                model_path.display(),
                hyper.species.join(" ")
            ));
        }
    }
    let pairs = m.architecture(hyper);
    for (keyword, ours, theirs) in pairs {
        if line_of(keyword).is_some() && ours != theirs {
            warnings.push(format!(
                "{}: {keyword} {ours} differs from {}'s {theirs}; the model file's value is used",
                here(keyword),
                model_path.display()
            ));
        }
    }
    Ok(warnings)
}
