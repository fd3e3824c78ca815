//! How long a `nep.in` run trains and on how many structures per step.
//!
//! GPUMD's `batch` and `generation` describe its evolution strategy: a
//! batch of 1000-2000 structures per generation and 10⁵-10⁸ generations.
//! Read as Adam's batch and step count they give one Adam step per epoch
//! and a schedule that never decays (measured on MoSi2N4: 9.6 meV/atom
//! after 600 s against 2.2 with forcefit's own settings). So only SNES
//! takes them as written; Adam and AdamW keep forcefit's batch (8, or the
//! forcefit keyword `batch_size`) and plan the run by `epochs` (forcefit
//! keyword), else by `time_limit` (the learning rate anneals to the end of
//! the time), else by at most [`ADAM_STEPS`] steps, and weight each
//! structure by 1/(1 + F_rms/[`FORCE_SCALE`]) unless `force_scale` says
//! otherwise. The Kalman filters take `batch` as their filter batch and
//! `generation` as their step count.

use super::{DEFAULT_BATCH, DEFAULT_GENERATION};
use crate::train::config::{OptimizerKind, TrainConfig};

/// The most steps a gradient optimizer is planned for without `epochs` or
/// `time_limit`: GPUMD's default `generation`.
pub const ADAM_STEPS: usize = 100_000;

/// Adam's structure weighting in forcefit's recipe, eV/Å: a structure of
/// RMS reference force F_rms weighs 1/(1 + F_rms/1). Training sets often
/// hold strongly distorted structures (MoSi2N4's: RMS force 7.7 eV/Å,
/// against 1.8 in its test set) whose forces would dominate the force
/// term. Measured on MoSi2N4 with GPUMD's nep.in and 600 s
/// (docs/benchmarks.md): test force error 106.8 meV/Å with 1, 109.6 with
/// 2 and 110.7 with 1.5: the run-to-run spread is about ±2 meV/Å.
pub const FORCE_SCALE: f64 = 1.0;

/// GPUMD's run-length keywords as read from `nep.in`.
#[derive(Default)]
pub struct GpumdRun {
    /// `batch N` and its line.
    pub batch: Option<(usize, usize)>,
    /// `generation N` and its line.
    pub generation: Option<(usize, usize)>,
    /// forcefit's `force_scale X` (0: off).
    pub force_scale: Option<f64>,
}

/// Sets the batch size and the run length of `config` from GPUMD's
/// keywords and the optimizer; returns notes for the user (`where_` names
/// nep.in in them).
pub fn apply(config: &mut TrainConfig, gpumd: &GpumdRun, where_: &str) -> Vec<String> {
    let mut notes = Vec::new();
    config.loss.force_scale = match gpumd.force_scale {
        Some(x) => (x > 0.0).then_some(x),
        // forcefit's recipe for the gradient optimizers and FEKF.
        None => matches!(
            config.optimizer.kind,
            OptimizerKind::Adam | OptimizerKind::Adamw | OptimizerKind::Fekf
        )
        .then_some(FORCE_SCALE),
    };
    let opt = &mut config.optimizer;
    let run = &mut config.run;
    match opt.kind {
        OptimizerKind::Snes => {
            opt.batch_size = opt
                .batch_size
                .or(gpumd.batch.map(|b| b.0))
                .or(Some(DEFAULT_BATCH));
            run.steps = Some(gpumd.generation.map_or(DEFAULT_GENERATION, |g| g.0));
        }
        OptimizerKind::Fekf | OptimizerKind::Rlekf => {
            // Without `batch`: NEP's FEKF recipe (`Nep::KALMAN_RECIPE`: batch
            // 8, blocks of 1,024, noise 0.01, float64), RLEKF's own (1).
            opt.batch_size = opt.batch_size.or(gpumd.batch.map(|b| b.0));
            if run.epochs.is_none() {
                run.steps = Some(gpumd.generation.map_or(DEFAULT_GENERATION, |g| g.0));
            }
        }
        OptimizerKind::Adam | OptimizerKind::Adamw => {
            if let Some((n, line)) = gpumd.batch
                && opt.batch_size.is_none()
            {
                notes.push(format!(
                    "{where_}:{line}: `batch {n}` is SNES's batch; Adam takes {} structures per step \
                     (forcefit's default; set `batch_size N` to change it)",
                    opt.batch_size()
                ));
            }
            let planned = if run.epochs.is_some() {
                "the epochs given".to_string()
            } else if let Some(t) = run.time_limit {
                format!("the time limit ({t} s): the learning rate anneals to its end")
            } else {
                let steps = gpumd.generation.map_or(ADAM_STEPS, |g| g.0.min(ADAM_STEPS));
                run.steps = Some(steps);
                format!("{steps} steps")
            };
            if let Some((n, line)) = gpumd.generation
                && (run.steps != Some(n))
            {
                notes.push(format!(
                    "{where_}:{line}: `generation {n}` counts SNES generations; Adam's run is planned by {planned} \
                     (set `time_limit S` or `epochs N` to choose)"
                ));
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use crate::optim::schedule::Budget;
    use std::path::Path;

    fn read(text: &str) -> super::super::NepInput {
        parse(text, Path::new("d/nep.in"), Path::new("d")).unwrap()
    }

    /// The MoSi2N4 input: GPUMD's SNES batch and generation with a
    /// time limit become Adam's batch of 8 and a schedule over the time.
    #[test]
    fn time_limit_plans_an_adam_run() {
        let input = read("type 3 Mo Si N\nbatch 2000\ngeneration 100000000\ntime_limit 600\n");
        let c = &input.config;
        assert_eq!(
            (c.optimizer.batch_size, c.optimizer.batch_size()),
            (None, 8)
        );
        assert_eq!(c.loss.force_scale, Some(super::FORCE_SCALE));
        assert_eq!(
            c.run.budget(39),
            Budget {
                steps: None,
                seconds: Some(600.0)
            }
        );
        let notes = input.warnings.join("\n");
        assert!(
            notes.contains("d/nep.in:2: `batch 2000` is SNES's batch"),
            "{notes}"
        );
        assert!(
            notes.contains("d/nep.in:3: `generation 100000000` counts SNES generations")
                && notes.contains("anneals to its end"),
            "{notes}"
        );
    }

    #[test]
    fn forcefit_keys_choose_the_adam_run() {
        let c = read("type 1 Si\nbatch 2000\nbatch_size 4\nepochs 12\ntime_limit 60\n")
            .translation
            .config;
        assert_eq!(c.optimizer.batch_size, Some(4));
        // Both: the run ends (and anneals) at whichever comes first.
        assert_eq!(
            c.run.budget(10),
            Budget {
                steps: Some(120),
                seconds: Some(60.0)
            }
        );
        // Without a budget: at most 100,000 steps, fewer if `generation` says so.
        assert_eq!(
            read("type 1 Si\n").config.run.budget(10).steps,
            Some(100_000)
        );
        let c = read("type 1 Si\ngeneration 50\n").translation.config;
        assert_eq!(c.run.budget(10).steps, Some(50));
        let scale = |text: &str| read(text).config.loss.force_scale;
        assert_eq!(scale("type 1 Si\nforce_scale 0\n"), None);
        assert_eq!(scale("type 1 Si\nforce_scale 3\n"), Some(3.0));
    }

    #[test]
    fn snes_and_kalman_filters_keep_gpumd_s_meaning() {
        let c = read("type 1 Si\noptimizer snes\n").translation.config;
        assert_eq!(
            (c.optimizer.batch_size, c.run.steps),
            (Some(1000), Some(100_000))
        );
        assert_eq!(c.loss.force_scale, None, "GPUMD's unweighted loss for SNES");
        let c = read("type 1 Si\noptimizer snes\nbatch 20\ngeneration 7\n")
            .translation
            .config;
        assert_eq!((c.optimizer.batch_size, c.run.steps), (Some(20), Some(7)));
        let c = read("type 1 Si\noptimizer fekf\ngeneration 7\n")
            .translation
            .config;
        // NEP's FEKF recipe batch
        let batch = c.optimizer_as_run().batch_size();
        assert_eq!((batch, c.run.steps), (8, Some(7)));
        let c = read("type 1 Si\noptimizer fekf\nbatch 4\n")
            .translation
            .config;
        assert_eq!((c.optimizer.batch_size(), c.run.steps), (4, Some(100_000)));
    }
}
