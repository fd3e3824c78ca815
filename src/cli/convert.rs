//! `forcefit convert`: structure files of any readable format (VASP OUTCAR
//! and vasprun.xml, DeePMD systems, XSF, extended XYZ) to one extended XYZ
//! file with the labels GPUMD and ASE read.

use anyhow::{Result, bail};
use clap::Args;
use forcefit::io::{self, Format};
use std::path::PathBuf;

#[derive(Args)]
pub struct ConvertArgs {
    /// Input files: OUTCAR*, vasprun*.xml, extended XYZ (.xyz, .extxyz),
    /// DeePMD npy systems (directories with type.raw) or aenet XSF.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file: extended XYZ with energy=, virial= (and ASE's stress=)
    /// and per-atom forces.
    #[arg(long, short)]
    output: PathBuf,
    /// Format of every input, when it cannot be told from the path:
    /// extxyz, deepmd, xsf, outcar or vasprun.
    #[arg(long)]
    format: Option<Format>,
}

/// Reads every input and writes all their structures, in order, to one file.
pub fn convert(args: ConvertArgs) -> Result<()> {
    let all = io::read_all(&args.inputs, args.format)?;
    if all.structures.is_empty() {
        bail!("no structures in the inputs; nothing to write");
    }
    io::extxyz::write(&args.output, &all.structures)?;
    println!(
        "wrote {} structures to {}",
        all.structures.len(),
        args.output.display()
    );
    for (path, n) in &all.counts {
        println!("  {n:>6} from {}", path.display());
    }
    Ok(())
}
