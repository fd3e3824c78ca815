//! `forcefit deviation` and `forcefit select`: a committee's model
//! deviation on MD frames, and DP-GEN's choice of frames to label.

use super::set_threads;
use anyhow::{Context, Result, bail};
use clap::Args;
use forcefit::active::select::{self, Class, Counts, TrustLevels};
use forcefit::active::{
    self, Committee, Deviation, Frame, Member, Options, committee, fps, model_devi, xyz,
};
use forcefit::io::{self, Format};
use forcefit::model::{self, AnyModel};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct DeviationArgs {
    /// A committee member (repeat, at least 2): a nep.txt, a deepmd-kit
    /// .yaml, or aenet's per-element .nn files joined by commas
    /// (`--model Ti.nn,O.nn`). All members must know the same elements.
    #[arg(long, short, required = true)]
    model: Vec<String>,
    /// Frames: extended XYZ (its `step=` or integral `Time=` is the step,
    /// else the 0-based frame index), DeePMD npy systems or XSF.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// DP-GEN's / deepmd-kit's model_devi.out (see docs/deviation.md).
    #[arg(long, short, default_value = "model_devi.out")]
    output: PathBuf,
    /// Relative force deviation: divide each atom's by |mean force| + ν.
    #[arg(long, value_name = "ν")]
    relative: Option<f64>,
    /// Relative virial deviation: divide by |mean virial per atom| + ν.
    #[arg(long, value_name = "ν")]
    relative_v: Option<f64>,
    /// Append every atom's force deviation to each row (deepmd-kit's --atomic).
    #[arg(long)]
    atomic: bool,
    /// Also write GPUMD's active.out here (time, max force deviation).
    #[arg(long, value_name = "FILE")]
    gpumd: Option<PathBuf>,
    /// Also write the frames as extended XYZ without labels, with each
    /// atom's `force_deviation` and the frame's deviations in the comment line.
    #[arg(long, value_name = "FILE.xyz")]
    frames_out: Option<PathBuf>,
    /// Input format, when it cannot be told from the path.
    #[arg(long)]
    format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct SelectArgs {
    /// The frames of the model_devi.out, in the same order.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The deviations (`forcefit deviation` or `dp model-devi` output, or
    /// LAMMPS's): row k belongs to frame k.
    #[arg(long, value_name = "FILE")]
    model_devi: PathBuf,
    /// Lowest max_devi_f (eV/Å) of a candidate.
    #[arg(long, value_name = "F_LO")]
    trust_lo: f64,
    /// max_devi_f (eV/Å) from which a frame has failed.
    #[arg(long, value_name = "F_HI")]
    trust_hi: f64,
    /// Lowest max_devi_v (eV per atom) of a candidate (default: no virial level).
    #[arg(long, value_name = "V_LO", requires = "trust_hi_v")]
    trust_lo_v: Option<f64>,
    /// max_devi_v (eV per atom) from which a frame has failed.
    #[arg(long, value_name = "V_HI", requires = "trust_lo_v")]
    trust_hi_v: Option<f64>,
    /// Keep at most N candidates (default: all).
    #[arg(long, value_name = "N")]
    max: Option<usize>,
    /// Choose the candidates by farthest-point sampling of the first
    /// --model's mean descriptors instead of by highest max_devi_f.
    #[arg(long, requires = "model")]
    fps: bool,
    /// The model whose descriptors --fps uses (aenet: files joined by commas).
    #[arg(long, short)]
    model: Vec<String>,
    /// Training structures, counted as already chosen by --fps.
    #[arg(long, requires = "fps")]
    train: Vec<PathBuf>,
    /// The chosen candidates, as extended XYZ without labels.
    #[arg(long, short)]
    output: PathBuf,
    /// Input format, when it cannot be told from the path.
    #[arg(long)]
    format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
}

/// A `--model` value: one file, or aenet's files joined by commas.
fn load_member(value: &str) -> Result<AnyModel> {
    let paths: Vec<PathBuf> = value.split(',').map(PathBuf::from).collect();
    model::load_files(&paths).with_context(|| format!("loading the model {value}"))
}

/// ν must be a level, not a divisor that could reach zero.
fn check_level(name: &str, nu: Option<f64>) -> Result<()> {
    match nu {
        Some(x) if !(x.is_finite() && x >= 0.0) => {
            bail!("{name} must be a finite number ≥ 0, got {x}")
        }
        _ => Ok(()),
    }
}

/// One input's frames and their deviations.
struct Evaluated {
    path: PathBuf,
    frames: Vec<Frame>,
    deviations: Vec<Deviation>,
}

pub fn deviation(args: DeviationArgs) -> Result<()> {
    set_threads(args.threads)?;
    check_level("--relative", args.relative)?;
    check_level("--relative-v", args.relative_v)?;
    let members = args
        .model
        .iter()
        .map(|v| {
            Ok(Member {
                name: v.clone(),
                model: load_member(v)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let committee = Committee::new(members)?;
    let options = Options {
        relative: args.relative,
        relative_v: args.relative_v,
        atomic: args.atomic || args.frames_out.is_some(),
    };
    // All inputs' frames in one pass: many small files (one XSF per
    // structure, say) then fill the chunks and the threads as one long
    // trajectory does.
    let mut frames = Vec::new();
    let mut counts = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        let read = active::read_frames(path, args.format)?;
        counts.push(read.len());
        frames.extend(read);
    }
    let mut deviations = committee.deviations(&frames, &options)?.into_iter();
    let mut frames = frames.into_iter();
    let inputs: Vec<Evaluated> = args
        .inputs
        .iter()
        .zip(counts)
        .map(|(path, n)| Evaluated {
            path: path.clone(),
            frames: frames.by_ref().take(n).collect(),
            deviations: deviations.by_ref().take(n).collect(),
        })
        .collect();
    write_model_devi(&args.output, &inputs, args.atomic)?;
    if let Some(path) = &args.gpumd {
        write_active_out(path, &inputs)?;
    }
    if let Some(path) = &args.frames_out {
        write_frames_out(path, &inputs)?;
    }
    report(&args, &inputs);
    Ok(())
}

fn write_model_devi(path: &Path, inputs: &[Evaluated], atomic: bool) -> Result<()> {
    io::write_atomic(path, |w| {
        for input in inputs {
            let rows = input.deviations.iter().enumerate();
            let rows = rows.map(|(k, d)| (input.frames[k].step(k), d));
            model_devi::write_block(w, &input.path.display().to_string(), rows, atomic)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_active_out(path: &Path, inputs: &[Evaluated]) -> Result<()> {
    io::write_atomic(path, |w| {
        for input in inputs {
            let rows = input.deviations.iter().enumerate();
            let rows = rows.map(|(k, d)| (input.frames[k].time(k), d.uncertainty));
            model_devi::write_active_out(w, rows)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_frames_out(path: &Path, inputs: &[Evaluated]) -> Result<()> {
    io::write_atomic(path, |w| {
        for input in inputs {
            for (k, (frame, d)) in input.frames.iter().zip(&input.deviations).enumerate() {
                let mut info = position_info(frame, frame.step(k));
                info.push(("uncertainty", format!("{:?}", d.uncertainty)));
                for (name, x) in model_devi::COLUMNS.iter().zip(d.columns()) {
                    info.push((name, format!("{x:?}")));
                }
                let column = Some(("force_deviation", d.atomic_f.as_slice()));
                xyz::write_frame(w, &frame.structure, &info, column)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// `step=` and, when the frame had one, `Time=`.
fn position_info(frame: &Frame, step: i64) -> Vec<(&'static str, String)> {
    let mut info = vec![("step", step.to_string())];
    if let Some(t) = frame.info.time {
        info.push(("Time", format!("{t:?}")));
    }
    info
}

fn report(args: &DeviationArgs, inputs: &[Evaluated]) {
    let all = inputs.iter().flat_map(|i| &i.deviations);
    let (n, worst) = all.fold((0, 0.0f64), |(n, w), d| (n + 1, w.max(d.max_devi_f)));
    eprintln!(
        "wrote the deviations of {n} frames ({} members) to {} (largest max_devi_f {})",
        args.model.len(),
        args.output.display(),
        model_devi::c_exp(worst, 0, 6)
    );
}

pub fn select(args: SelectArgs) -> Result<()> {
    set_threads(args.threads)?;
    let levels = trust_levels(&args)?;
    let mut frames = Vec::new();
    for path in &args.inputs {
        frames.extend(active::read_frames(path, args.format)?);
    }
    let rows = model_devi::read(&args.model_devi)?;
    let steps: Vec<Option<i64>> = frames.iter().map(|f| f.info.md_step()).collect();
    select::check_rows(&args.model_devi, &rows, &steps)?;
    let classes: Vec<Class> = rows
        .iter()
        .map(|r| select::classify(r.max_devi_f(), r.max_devi_v(), &levels))
        .collect();
    print!("{}", Counts::of(&classes).report());
    let candidates: Vec<usize> = (0..rows.len())
        .filter(|&k| classes[k] == Class::Candidate)
        .collect();
    let mut chosen = choose(&args, &frames, &rows, &candidates)?;
    chosen.sort_unstable();
    io::write_atomic(&args.output, |w| {
        for &k in &chosen {
            let r = &rows[k];
            let mut info = position_info(&frames[k], r.step);
            info.push(("max_devi_f", format!("{:?}", r.max_devi_f())));
            info.push(("max_devi_v", format!("{:?}", r.max_devi_v())));
            xyz::write_frame(w, &frames[k].structure, &info, None)?;
        }
        Ok(())
    })?;
    println!(
        "wrote {} of {} candidates to {}",
        chosen.len(),
        candidates.len(),
        args.output.display()
    );
    Ok(())
}

fn trust_levels(args: &SelectArgs) -> Result<TrustLevels> {
    let mut levels = TrustLevels::forces(args.trust_lo, args.trust_hi);
    if let (Some(lo), Some(hi)) = (args.trust_lo_v, args.trust_hi_v) {
        (levels.v_lo, levels.v_hi) = (lo, hi);
    }
    if levels.f_lo > levels.f_hi || levels.v_lo > levels.v_hi {
        bail!("a low trust level is above its high one ({levels:?})");
    }
    Ok(levels)
}

/// The candidates to keep: all, the --max highest, or --max by FPS.
fn choose(
    args: &SelectArgs,
    frames: &[Frame],
    rows: &[model_devi::Row],
    candidates: &[usize],
) -> Result<Vec<usize>> {
    let n = args.max.unwrap_or(candidates.len());
    let f: Vec<f64> = rows.iter().map(|r| r.max_devi_f()).collect();
    if !args.fps || candidates.is_empty() {
        return Ok(select::by_deviation(candidates, &f, n));
    }
    let Some(first_model) = args.model.first() else {
        bail!("--fps needs --model (whose descriptors it compares)");
    };
    let model = load_member(first_model)?;
    let structures: Vec<_> = candidates
        .iter()
        .map(|&k| frames[k].structure.clone())
        .collect();
    let points = committee::mean_descriptors(&model, &structures)?;
    let mut train = Vec::new();
    for path in &args.train {
        train.extend(io::read(path, args.format)?);
    }
    let start = committee::mean_descriptors(&model, &train)?;
    let top = select::by_deviation(candidates, &f, 1);
    let first = candidates.iter().position(|&k| Some(&k) == top.first());
    let picked = fps::farthest_points(&points, &start, first.unwrap_or(0), n);
    Ok(picked.into_iter().map(|i| candidates[i]).collect())
}
