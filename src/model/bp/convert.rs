//! A BP model to and from aenet's potential files ([`PotentialFile`], one
//! per element): the network block holds the element's network (aenet's
//! `W` is forcefit's layer layout), the setup block the Chebyshev settings
//! (`sfparam` column 1: radial_Rc, radial_N, angular_Rc, angular_N) and
//! the descriptor statistics, the training-set block the energy
//! normalisation and free-atom energies.

use super::config::AENET_ACTIVATIONS;
use super::file::{NetworkBlock, PotentialFile, SetupBlock, TrainsetBlock};
use super::init::network;
use super::{BpHyper, BpModel, BpStats, Chebyshev};
use crate::error::{Error, Result};
use crate::model::family::ModelFile;
use crate::nn::Activation;
use std::path::{Path, PathBuf};

/// Whether `bytes` look like an aenet potential: binary (a first record
/// marker of 4, nlayers' int32) or ASCII (a first line that is one
/// integer).
pub fn looks_like_aenet(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[4, 0, 0, 0]) {
        return true;
    }
    let head = &bytes[..bytes.len().min(256)];
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim();
    !first.is_empty() && first.parse::<u32>().is_ok()
}

/// The two files of every element: binary under its file name and ASCII
/// with `.ascii` appended.
pub fn to_files(model: &BpModel) -> Vec<ModelFile> {
    let h = model.hyper();
    let mut files = Vec::new();
    for t in 0..h.species.len() {
        let pot = potential(model, t);
        files.push(ModelFile {
            path: PathBuf::from(&h.files[t]),
            bytes: pot.to_binary(),
        });
        files.push(ModelFile {
            path: PathBuf::from(format!("{}.ascii", h.files[t])),
            bytes: pot.to_ascii().into_bytes(),
        });
    }
    files
}

/// Element t's potential file.
fn potential(model: &BpModel, t: usize) -> PotentialFile {
    let h = model.hyper();
    let st = model.stats();
    let net = &h.networks[t];
    let mut nnodes = vec![net.n_in()];
    nnodes.extend(net.layers.iter().map(|l| l.n_out));
    let nlayers = nnodes.len();
    let mut iw = vec![0];
    let mut iv = vec![0];
    for l in 0..nlayers - 1 {
        iw.push(iw[l] + (nnodes[l] + 1) * nnodes[l + 1]);
        iv.push(iv[l] + nnodes[l] + 1);
    }
    let f_a = net
        .layers
        .iter()
        .map(|l| {
            AENET_ACTIVATIONS
                .iter()
                .position(|a| *a == l.activation)
                .unwrap_or(0) as i32
        })
        .collect();
    let d = &h.descriptors[t];
    let nsf = model.dim_of(t);
    let mut sfparam = vec![0.0; 4 * nsf];
    sfparam[..4].copy_from_slice(&[
        d.radial_cutoff,
        d.radial_order as f64,
        d.angular_cutoff,
        d.angular_order as f64,
    ]);
    let network = NetworkBlock {
        nlayers,
        nnodes_max: nnodes.iter().copied().max().unwrap_or(0),
        wsize: net.n_params(),
        nvalues: nnodes.iter().sum::<usize>() + nlayers - 1,
        nnodes,
        f_a,
        iw,
        iv,
        w: model.net_params(t).to_vec(),
    };
    let setup = SetupBlock {
        description: "forcefit".into(),
        atomtype: h.species[t].clone(),
        nenv: h.species.len(),
        envtypes: h.species.clone(),
        rc_min: h.rc_min,
        rc_max: d.cutoff(),
        sftype: "Chebyshev".into(),
        nsf,
        nsfparam: 4,
        sf: vec![0; nsf],
        sfparam,
        sfenv: vec![0; 2 * nsf],
        neval: 0,
        sfval_min: st.min[t].clone(),
        sfval_max: st.max[t].clone(),
        sfval_avg: st.avg[t].clone(),
        sfval_cov: st.sq[t].clone(),
    };
    let trainset = TrainsetBlock {
        file: "forcefit".into(),
        normalized: true,
        scale: st.scale,
        shift: st.shift,
        ntypes: h.species.len(),
        typenames: h.species.clone(),
        e_atom: st.e_atom.clone(),
        natomtot: st.n_atoms as usize,
        nstrucs: st.n_structures as usize,
        e_min: st.e_range[0],
        e_max: st.e_range[1],
        e_avg: st.e_range[2],
    };
    PotentialFile {
        network,
        setup,
        trainset,
    }
}

/// One parsed file and where it came from.
struct Read {
    path: PathBuf,
    pot: PotentialFile,
}

/// A BP model from one potential file per element (the same element may
/// come twice, binary and ASCII, if both hold the same network).
pub fn from_files(files: &[ModelFile]) -> Result<BpModel> {
    let mut read: Vec<Read> = Vec::new();
    for f in files {
        let pot = PotentialFile::read(&f.bytes, &f.path)?;
        if let Some(other) = read
            .iter()
            .find(|r| r.pot.setup.atomtype == pot.setup.atomtype)
        {
            if other.pot.network != pot.network {
                return Err(Error::file(
                    &f.path,
                    format!(
                        "a second, different potential for {} (the first is {})",
                        pot.setup.atomtype,
                        other.path.display()
                    ),
                ));
            }
            continue;
        }
        read.push(Read {
            path: f.path.clone(),
            pot,
        });
    }
    let Some(first) = read.first() else {
        return Err(Error::Invalid("no aenet potential file given".into()));
    };
    let species = first.pot.setup.envtypes.clone();
    let mut ordered: Vec<&Read> = Vec::with_capacity(species.len());
    for el in &species {
        match read.iter().find(|r| &r.pot.setup.atomtype == el) {
            Some(r) => ordered.push(r),
            None => {
                return Err(Error::file(
                    &first.path,
                    format!(
                        "the potentials' environment has {} but no potential file for {el} was given (one file per element: --model potential.{el}.nn)",
                        species.join(", ")
                    ),
                ));
            }
        }
    }
    for r in &read {
        if r.pot.setup.envtypes != species {
            return Err(Error::file(
                &r.path,
                format!(
                    "environment types {:?} differ from {}'s {:?}",
                    r.pot.setup.envtypes,
                    first.path.display(),
                    species
                ),
            ));
        }
    }
    build(&species, &ordered)
}

fn build(species: &[String], files: &[&Read]) -> Result<BpModel> {
    let multi = species.len() > 1;
    let (mut descriptors, mut networks, mut names, mut params) = (vec![], vec![], vec![], vec![]);
    let mut stats = BpStats::neutral(&[]);
    for r in files {
        let (p, s) = (&r.pot, &r.pot.setup);
        let d = descriptor(s, &r.path)?;
        if s.nsf != d.dim(multi) {
            return Err(Error::file(
                &r.path,
                format!(
                    "{} descriptor functions, but Chebyshev orders {} and {} with {} species give {}",
                    s.nsf,
                    d.radial_order,
                    d.angular_order,
                    species.len(),
                    d.dim(multi)
                ),
            ));
        }
        networks.push(network_of(&p.network, s.nsf, &r.path)?);
        descriptors.push(d);
        params.extend_from_slice(&p.network.w);
        stats.avg.push(s.sfval_avg.clone());
        stats.sq.push(s.sfval_cov.clone());
        stats.min.push(s.sfval_min.clone());
        stats.max.push(s.sfval_max.clone());
        names.push(file_name(&r.path));
    }
    let ts = &files[0].pot.trainset;
    for r in files {
        let other = &r.pot.trainset;
        if (other.scale, other.shift) != (ts.scale, ts.shift) {
            return Err(Error::file(
                &r.path,
                format!(
                    "energy normalisation (scale {}, shift {}) differs from {}'s ({}, {})",
                    other.scale,
                    other.shift,
                    files[0].path.display(),
                    ts.scale,
                    ts.shift
                ),
            ));
        }
    }
    let mut e_atom = Vec::with_capacity(species.len());
    for el in species {
        match ts.typenames.iter().position(|n| n == el) {
            Some(k) => e_atom.push(ts.e_atom[k]),
            None => {
                return Err(Error::file(
                    &files[0].path,
                    format!("the training-set block has no free-atom energy for {el}"),
                ));
            }
        }
    }
    stats.scale = ts.scale;
    stats.shift = ts.shift;
    stats.e_atom = e_atom.clone();
    stats.n_atoms = ts.natomtot as u64;
    stats.n_structures = ts.nstrucs as u64;
    stats.e_range = [ts.e_min, ts.e_max, ts.e_avg];
    let hyper = BpHyper {
        species: species.to_vec(),
        descriptors,
        rc_min: files[0].pot.setup.rc_min,
        networks,
        files: names,
        atomic_energies: Some(e_atom),
    };
    BpModel::new(hyper, params, stats).map_err(|e| Error::file(&files[0].path, e.to_string()))
}

/// The Chebyshev settings of a setup block.
fn descriptor(s: &SetupBlock, path: &Path) -> Result<Chebyshev> {
    if !s.sftype.eq_ignore_ascii_case("chebyshev") {
        return Err(Error::file(
            path,
            format!(
                "descriptor type {:?}: forcefit reads aenet's Chebyshev descriptors only (not Behler's symmetry functions)",
                s.sftype
            ),
        ));
    }
    if s.nsfparam < 4 || s.sfparam.len() < 4 {
        return Err(Error::file(
            path,
            format!(
                "a Chebyshev setup needs 4 parameters, it has {}",
                s.nsfparam
            ),
        ));
    }
    let order = |v: f64, key: &str| -> Result<usize> {
        if v.fract() == 0.0 && (0.0..=super::config::MAX_ORDER as f64).contains(&v) {
            Ok(v as usize)
        } else {
            Err(Error::file(
                path,
                format!(
                    "{key} = {v}: expected an integer order 0..={}",
                    super::config::MAX_ORDER
                ),
            ))
        }
    };
    let cutoff = |v: f64, key: &str| -> Result<f64> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(Error::file(
                path,
                format!("{key} = {v}: expected a positive cutoff"),
            ))
        }
    };
    Ok(Chebyshev {
        radial_cutoff: cutoff(s.sfparam[0], "radial_Rc")?,
        radial_order: order(s.sfparam[1], "radial_N")?,
        angular_cutoff: cutoff(s.sfparam[2], "angular_Rc")?,
        angular_order: order(s.sfparam[3], "angular_N")?,
    })
}

/// The network of a network block (input width `n_in`).
fn network_of(b: &NetworkBlock, n_in: usize, path: &Path) -> Result<crate::nn::Network> {
    if b.nnodes.first() != Some(&n_in) || b.nnodes.last() != Some(&1) {
        return Err(Error::file(
            path,
            format!(
                "network layers {:?}: expected {n_in} inputs (the descriptor) and 1 output",
                b.nnodes
            ),
        ));
    }
    let mut acts: Vec<Activation> = Vec::with_capacity(b.f_a.len());
    for &code in &b.f_a {
        match usize::try_from(code)
            .ok()
            .and_then(|c| AENET_ACTIVATIONS.get(c))
        {
            Some(a) => acts.push(*a),
            None => {
                return Err(Error::file(
                    path,
                    format!("activation code {code}: aenet's are 0-4"),
                ));
            }
        }
    }
    let hidden = &b.nnodes[1..b.nnodes.len() - 1];
    let output = acts.last().copied().unwrap_or(Activation::Linear);
    Ok(network(n_in, hidden, &acts[..hidden.len()], output))
}

/// The file name without a trailing `.ascii`, for the files the model writes.
fn file_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "potential.nn".into());
    name.strip_suffix(".ascii")
        .map(str::to_string)
        .unwrap_or(name)
}
