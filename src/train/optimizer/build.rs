//! The optimizer a configuration asks for, built fresh for a model: Adam or
//! AdamW, SNES, or a Kalman filter whose covariance must fit the memory
//! budget.

use super::state::OptimizerState;
use crate::error::{Error, Result};
use crate::model::{AnyModel, Model};
use crate::optim::{Adam, Kalman, Placement, Precision, Snes};
use crate::train::config::{OptimizerKind, TrainConfig};

/// The optimizer the configuration asks for, fresh, on this rank of
/// `placement` (which holds its share of a Kalman filter's blocks).
/// `resume`: a checkpoint will bring the Kalman covariance; `quiet`: say
/// nothing of its blocks.
pub fn new_optimizer(
    config: &TrainConfig,
    model: &AnyModel,
    n_train: usize,
    placement: Placement,
    resume: bool,
    quiet: bool,
) -> Result<OptimizerState> {
    let opt = &config.optimizer;
    let n_params = model.params().len();
    Ok(match opt.kind {
        OptimizerKind::Adam => OptimizerState::Adam(Adam::new(n_params, 0.0)),
        OptimizerKind::Adamw => OptimizerState::Adam(Adam::new(n_params, opt.weight_decay)),
        OptimizerKind::Snes => OptimizerState::Snes(Snes::new(
            model.params().to_vec(),
            opt.sigma0,
            opt.population,
        )),
        OptimizerKind::Fekf | OptimizerKind::Rlekf => {
            let mut kalman = new_kalman(config, model, n_train, placement, quiet)?;
            // On resume the checkpoint brings the covariance: do not build a second.
            if !resume {
                kalman.restart();
            }
            OptimizerState::Kalman(kalman)
        }
    })
}

/// A Kalman filter over the model's layer blocks, without covariances yet,
/// after checking this rank's share of them fits the memory budget.
fn new_kalman(
    config: &TrainConfig,
    model: &AnyModel,
    n_train: usize,
    placement: Placement,
    quiet: bool,
) -> Result<Kalman> {
    let opt = &config.optimizer_as_run();
    let n = model.params().len();
    let blocks = Kalman::blocks_from_groups(&model.param_groups(), n, opt.block_size());
    // The whole covariance on one process, so that every rank count
    // chooses the same.
    let precision = opt.precision_for(Kalman::memory_bytes(&blocks));
    let bytes = Kalman::memory_bytes_on(&blocks, precision, placement);
    let gib = |b: f64| b / (1u64 << 30) as f64;
    let budget = opt
        .memory_budget
        .map(|g| g * (1u64 << 30) as f64)
        .or_else(|| total_memory().map(|m| 0.5 * m));
    if let Some(budget) = budget
        && bytes as f64 > budget
    {
        return Err(Error::Invalid(format!(
            "the Kalman covariance of {n} parameters in blocks of up to {} needs {:.2} GiB ({}{}), above the memory budget of {:.2} GiB \
             (optimizer.memory_budget; default half the machine's RAM): lower optimizer.block_size — memory grows with its square{}",
            opt.block_size(),
            gib(bytes as f64),
            precision.name(),
            per_rank(placement),
            gib(budget),
            if precision == Precision::Float64 {
                ", or store it as optimizer.covariance_precision = \"float32\""
            } else {
                ""
            }
        )));
    }
    if !quiet {
        let sizes: Vec<String> = blocks.iter().map(|b| b.len().to_string()).collect();
        eprintln!(
            "{}: {n} parameters in {} covariance block(s) [{}], {:.1} MiB ({}{})",
            if opt.kind == OptimizerKind::Rlekf {
                "RLEKF"
            } else {
                "FEKF"
            },
            blocks.len(),
            sizes.join(", "),
            bytes as f64 / (1u64 << 20) as f64,
            precision.name(),
            per_rank(placement)
        );
    }
    let settings = opt.kalman_settings(n_train);
    Ok(Kalman::unallocated(settings, blocks).stored(precision, placement))
}

/// ", per rank" when the blocks are spread over several ranks.
fn per_rank(placement: Placement) -> String {
    if placement.ranks > 1 {
        format!(", rank 0's share of {} ranks", placement.ranks)
    } else {
        String::new()
    }
}

/// The machine's RAM in bytes (Linux `/proc/meminfo`), if known.
fn total_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}
