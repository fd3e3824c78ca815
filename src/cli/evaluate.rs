//! `forcefit predict`, `eval` and `gradcheck`: a model over structure files.

use super::set_threads;
use anyhow::{Result, bail};
use clap::Args;
use forcefit::io::{self, Format};
use forcefit::metrics::{ErrorStats, write_gpumd_outputs};
use forcefit::model::AnyModel;
use forcefit::model::{self, Prediction, Prepared};
use forcefit::{batch, structure::Structure};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct GradcheckArgs {
    /// The model file (nep.txt, deepmd-kit's model.yaml, or aenet's .nn
    /// files: repeat --model for each element), recognised by content.
    #[arg(long, short, required = true)]
    model: Vec<PathBuf>,
    /// Structure file (labels needed: energies and forces).
    data: PathBuf,
    /// Hyperparameters (and data statistics) of the random model, from
    /// this model file (default: --model).
    #[arg(long)]
    random_like: Option<PathBuf>,
    /// Use the first N structures.
    #[arg(long, default_value_t = 5)]
    structures: usize,
    /// Seed of the random model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where gradcheck.csv and gradcheck.png go.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Input format, when it cannot be told from the path.
    #[arg(long)]
    format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
}

/// Options shared by every command that reads structures.
#[derive(Args)]
pub struct Common {
    /// The model file, recognised by content: a GPUMD `nep.txt` (nep3,
    /// nep4, with or without ZBL), deepmd-kit's serialized se_e2_a model
    /// (`.yaml`, or the same dict as `.json`), or aenet potentials (binary
    /// `.nn` or `.nn.ascii`): repeat --model for each element's file.
    #[arg(long, short, required = true)]
    model: Vec<PathBuf>,
    /// Structure files: extended XYZ (.xyz, .extxyz), DeePMD npy systems
    /// (directories with type.raw), aenet XSF (.xsf files or a directory of
    /// them), VASP OUTCAR* or vasprun*.xml.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Input format, when it cannot be told from the path: extxyz, deepmd,
    /// xsf, outcar or vasprun.
    #[arg(long)]
    format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct PredictArgs {
    #[command(flatten)]
    common: Common,
    /// Output file (extended XYZ with energy, virial, stress, per-atom energies and forces).
    #[arg(long, short)]
    output: PathBuf,
    /// Also write every atom's descriptor to this text file: one row per
    /// atom (structure index, atom index, element, components).
    #[arg(long)]
    descriptors: Option<PathBuf>,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    common: Common,
    /// Print exactly one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write GPUMD-layout energy_*.out, force_*.out, virial_*.out and
    /// stress_*.out here, one set per input named after it (train.xyz → *_train.out).
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

/// Sets the thread count, loads the model and reads and prepares every input.
struct Loaded {
    model: AnyModel,
    /// Prepared structures of each input file, in order.
    inputs: Vec<(PathBuf, Vec<Prepared>)>,
}

fn load(common: &Common) -> Result<Loaded> {
    set_threads(common.threads)?;
    let model = model::load_files(&common.model)?;
    let mut inputs = Vec::new();
    for path in &common.inputs {
        let structures: Vec<Structure> = io::read(path, common.format)?;
        let prepared = batch::prepare_all(&model, structures)?;
        inputs.push((path.clone(), prepared));
    }
    Ok(Loaded { model, inputs })
}

pub fn predict(args: PredictArgs) -> Result<()> {
    let loaded = load(&args.common)?;
    let mut frames = Vec::new();
    for (_, prepared) in &loaded.inputs {
        let predictions = batch::predict_all(&loaded.model, prepared);
        for (s, p) in prepared.iter().zip(predictions) {
            frames.push(labelled(&s.structure, p));
        }
    }
    io::write_atomic(&args.output, |w| {
        for (s, energies) in &frames {
            io::extxyz::write_frame(w, s, Some(energies))?;
        }
        Ok(())
    })?;
    eprintln!(
        "wrote {} structures to {}",
        frames.len(),
        args.output.display()
    );
    if let Some(path) = &args.descriptors {
        write_descriptors(path, &loaded)?;
        eprintln!("wrote the descriptors to {}", path.display());
    }
    Ok(())
}

/// Every atom's descriptor, one text row per atom.
fn write_descriptors(path: &Path, loaded: &Loaded) -> Result<()> {
    let dim = loaded.model.descriptor_dim();
    io::write_atomic(path, |w| {
        writeln!(
            w,
            "# structure atom element descriptor[0..{dim}] ({} model)",
            loaded.model.family()
        )?;
        let structures = loaded.inputs.iter().flat_map(|(_, p)| p);
        for (k, s) in structures.enumerate() {
            let d = loaded.model.atom_descriptors(s);
            for (i, row) in d.chunks(dim.max(1)).enumerate() {
                write!(w, "{k} {i} {}", s.structure.species[i])?;
                for x in row {
                    write!(w, " {x:e}")?;
                }
                writeln!(w)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let loaded = load(&args.common)?;
    let mut total = ErrorStats::new();
    let mut per_file = Vec::new();
    for (path, prepared) in &loaded.inputs {
        let predictions = batch::predict_all(&loaded.model, prepared);
        let mut stats = ErrorStats::new();
        for (s, p) in prepared.iter().zip(&predictions) {
            stats.add(&s.structure, p);
        }
        if let Some(dir) = &args.out_dir {
            let items: Vec<(&Structure, &Prediction)> = prepared
                .iter()
                .map(|s| &s.structure)
                .zip(&predictions)
                .collect();
            write_gpumd_outputs(dir, &suffix(path), &items)?;
        }
        total.merge(stats.clone());
        per_file.push((path, stats));
    }
    let summary = total.summary();
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        if per_file.len() > 1 {
            for (path, stats) in &per_file {
                println!("{}:\n{}", path.display(), stats.summary().to_table());
            }
            println!("all inputs:");
        }
        println!("{}", summary.to_table());
    }
    Ok(())
}

/// GPUMD-style file suffix for an input: its file stem (train.xyz → train).
fn suffix(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into())
}

/// The structure with its labels replaced by the prediction, and the
/// per-atom energies for the `energies` column.
fn labelled(s: &Structure, p: Prediction) -> (Structure, Vec<f64>) {
    let mut out = s.clone();
    out.labels.energy = Some(p.energy);
    out.labels.forces = Some(p.forces);
    out.labels.virial = Some(p.virial);
    (out, p.atomic_energies)
}

pub fn gradcheck(args: GradcheckArgs) -> Result<()> {
    use forcefit::train::gradcheck;
    set_threads(args.threads)?;
    if args.structures == 0 {
        bail!("--structures must be at least 1");
    }
    let mut structures: Vec<Structure> = io::read(&args.data, args.format)?;
    structures.truncate(args.structures);
    let mut trained = model::load_files(&args.model)?;
    let like = match &args.random_like {
        Some(p) => model::load(p)?,
        None => trained.clone(),
    };
    // Random weights with the file's data-dependent state (NEP's descriptor
    // scales: unit scales would saturate the network).
    let mut random = like.with_random_params(args.seed)?;
    let options = gradcheck::Options::default();
    let mut report = gradcheck::Report::default();
    let data = batch::prepare_all(&trained, structures.clone())?;
    gradcheck::check("trained", &mut trained, &data, &options, &mut report)?;
    let data = batch::prepare_all(&random, structures)?;
    gradcheck::check("random", &mut random, &data, &options, &mut report)?;
    print!("{}", gradcheck::table(&report));
    gradcheck::write(&report, &args.out_dir)?;
    eprintln!(
        "wrote gradcheck.csv and gradcheck.png to {}",
        args.out_dir.display()
    );
    Ok(())
}
