//! Training from Python: a forcefit configuration file or a peer's input
//! (the drop-ins), run on a thread of its own while the calling thread
//! waits with the GIL released and watches for Ctrl-C. On Ctrl-C the run's
//! stop flag is set, the run ends after its current step (writing its
//! checkpoint and every output, as the CLI does) and `KeyboardInterrupt`
//! is raised; `resume=True` continues from the checkpoint.

use crate::errors::{guarded, input, panic_error};
use crate::model::Threads;
use forcefit::dist::World;
use forcefit::dropin::{self, Overrides};
use forcefit::train::committee;
use forcefit::train::config::TrainConfig;
use forcefit::train::run::{Outcome, RunOptions};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the waiting thread looks for Ctrl-C (Python's signal
/// handlers run only on the main thread, when it checks).
const POLL: Duration = Duration::from_millis(50);

/// What Python learns of one finished model's run.
struct Finished {
    output_dir: PathBuf,
    model_files: Vec<PathBuf>,
    best_epoch: usize,
    epochs: usize,
    steps: usize,
    stopped: Option<String>,
}

impl Finished {
    fn of(o: &Outcome) -> forcefit::Result<Self> {
        Ok(Finished {
            output_dir: o.output_dir.clone(),
            model_files: o
                .model
                .files()?
                .iter()
                .map(|f| o.output_dir.join(&f.path))
                .collect(),
            best_epoch: o.best_epoch,
            epochs: o.epochs,
            steps: o.steps,
            stopped: o.stopped.clone(),
        })
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("output_dir", &self.output_dir)?;
        d.set_item("model_files", &self.model_files)?;
        d.set_item("best_epoch", self.best_epoch)?;
        d.set_item("epochs", self.epochs)?;
        d.set_item("steps", self.steps)?;
        d.set_item("stopped", &self.stopped)?;
        Ok(d)
    }
}

/// A JSON object of the configuration's sections as TOML text (the
/// dicts of `forcefit.train(...)` become a `forcefit.toml` that the CLI
/// runs as well; serde keeps integers integers and floats floats).
#[pyfunction]
pub fn json_to_toml(json: &str) -> PyResult<String> {
    let value: toml::Value = serde_json::from_str(json)
        .map_err(|e| input(format!("the configuration is not TOML-like: {e}")))?;
    toml::to_string(&value).map_err(|e| input(format!("cannot write the configuration: {e}")))
}

/// Trains what `source` describes and returns one dict per model (a
/// committee's members in order; none for a drop-in's prediction mode).
///
/// `kind`: "forcefit" (a forcefit TOML file), "nep" or "gnep" (a
/// directory with GPUMD's nep.in/gnep.in, train.xyz, test.xyz), "dp"
/// (deepmd-kit's input.json), "aenet" (a directory with generate.in and
/// train.in).
#[pyfunction]
#[pyo3(signature = (kind, source, output_dir = None, resume = false, quiet = false, threads = None, committee = None))]
#[allow(clippy::too_many_arguments)]
pub fn train<'py>(
    py: Python<'py>,
    kind: &str,
    source: PathBuf,
    output_dir: Option<PathBuf>,
    resume: bool,
    quiet: bool,
    threads: Option<usize>,
    committee: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let job = py.detach(|| guarded(|| Job::read(kind, &source, output_dir, committee)))?;
    let threads = Threads::new(threads.or(job.threads()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let run = std::thread::spawn(move || {
        catch_unwind(AssertUnwindSafe(|| {
            threads.run(|| {
                // Built on the thread that runs: a `World` is not `Send`.
                let options = RunOptions {
                    resume,
                    stop: flag,
                    quiet,
                    world: World::default(),
                    continue_from: None,
                };
                job.run(&options)
            })
        }))
    });
    let mut interrupted: Option<PyErr> = None;
    while !run.is_finished() {
        py.detach(|| std::thread::sleep(POLL));
        if interrupted.is_none()
            && let Err(e) = py.check_signals()
        {
            // Let the run end its step and write its checkpoint.
            stop.store(true, Ordering::SeqCst);
            if !quiet {
                eprintln!("\nstopping after this step, writing the checkpoint...");
            }
            interrupted = Some(e);
        }
    }
    let result = run
        .join()
        .map_err(|_| PyRuntimeError::new_err("the training thread ended without a result"))?;
    if let Some(e) = interrupted {
        return Err(e);
    }
    let finished = match result {
        Ok(r) => r.map_err(crate::errors::to_py)?,
        Err(panic) => return Err(panic_error(panic.as_ref())),
    };
    finished.iter().map(|f| f.to_dict(py)).collect()
}

/// A run read from its input, ready to go.
enum Job {
    Forcefit {
        config: Box<TrainConfig>,
        text: String,
    },
    Nep {
        dir: PathBuf,
        input: Box<dropin::gpumd::nep_in::NepInput>,
    },
    Gnep {
        dir: PathBuf,
        input: Box<dropin::gpumd::gnep_in::GnepInput>,
    },
    Dp(Box<dropin::deepmd_kit::DpInput>),
    Aenet(Box<dropin::aenet::AenetInput>),
}

impl Job {
    fn read(
        kind: &str,
        source: &Path,
        output_dir: Option<PathBuf>,
        committee: Option<usize>,
    ) -> forcefit::Result<Self> {
        let overrides = |default: &Path| Overrides {
            output_dir: output_dir.clone().unwrap_or_else(|| default.to_path_buf()),
            ..Overrides::default()
        };
        let mut job = match kind {
            "forcefit" | "toml" => {
                let text =
                    std::fs::read_to_string(source).map_err(|e| forcefit::Error::io(source, e))?;
                let mut config = TrainConfig::from_file(source)?;
                if let Some(dir) = &output_dir {
                    config.run.output_dir = dir.clone();
                }
                Job::Forcefit {
                    config: Box::new(config),
                    text,
                }
            }
            "nep" => Job::Nep {
                dir: source.to_path_buf(),
                input: Box::new(dropin::gpumd::nep_in::read(source)?),
            },
            "gnep" => Job::Gnep {
                dir: source.to_path_buf(),
                input: Box::new(dropin::gpumd::gnep_in::read(source)?),
            },
            "dp" => Job::Dp(Box::new(dropin::deepmd_kit::read(
                source,
                &overrides(Path::new(".")),
            )?)),
            "aenet" => Job::Aenet(Box::new(dropin::aenet::read(
                &source.join("generate.in"),
                &source.join("train.in"),
                &overrides(source),
            )?)),
            other => {
                return Err(forcefit::Error::Invalid(format!(
                    "kind: unknown kind {other:?} (forcefit, nep, gnep, dp or aenet)"
                )));
            }
        };
        if let Some(k) = committee {
            let config = job.config_mut();
            config.run.committee = k;
            config
                .validate()
                .map_err(|m| forcefit::Error::Invalid(format!("committee: {m}")))?;
        }
        Ok(job)
    }

    fn config_mut(&mut self) -> &mut TrainConfig {
        match self {
            Job::Forcefit { config, .. } => config,
            Job::Nep { input, .. } => &mut input.translation.config,
            Job::Gnep { input, .. } => &mut input.translation.config,
            Job::Dp(input) => &mut input.config,
            Job::Aenet(input) => &mut input.translation.config,
        }
    }

    /// `[train] threads` of the configuration.
    fn threads(&self) -> Option<usize> {
        match self {
            Job::Forcefit { config, .. } => config.run.threads,
            _ => None,
        }
    }

    fn run(&self, options: &RunOptions) -> forcefit::Result<Vec<Finished>> {
        let outcomes = match self {
            Job::Forcefit { config, text } => {
                committee::run(config, text, options, &mut |_| Ok(()))?
            }
            Job::Nep { dir, input } => dropin::gpumd::nep(dir, input, options)?.unwrap_or_default(),
            Job::Gnep { dir, input } => {
                dropin::gpumd::gnep(dir, input, options)?.unwrap_or_default()
            }
            Job::Dp(input) => input.train(options, &mut |_| Ok(()))?,
            Job::Aenet(input) => dropin::aenet::train(input, options)?,
        };
        outcomes.iter().map(Finished::of).collect()
    }
}
