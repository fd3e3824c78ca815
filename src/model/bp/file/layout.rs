//! The record sequence both forms share, decoded and encoded once over a
//! record-level [`Source`]/[`Sink`], so that the forms cannot drift apart
//! and every size check lives in one place. Each size is checked as soon
//! as it is read, before the arrays it sizes are read.

use super::{
    MAX_LAYERS, MAX_NODES, MAX_SFPARAM, MAX_TYPES, MAX_WEIGHTS, NetworkBlock, PotentialFile,
    SFTYPE_LEN, SetupBlock, TEXT_LEN, TYPE_LEN, TrainsetBlock,
};
use crate::error::{Error, Result};

/// Most node values: every layer at its largest, plus its bias.
const MAX_VALUES: usize = MAX_LAYERS * (MAX_NODES + 1);

/// Reads one form record by record: each call reads the next record, and
/// `name` (the field it holds) goes into any error.
pub(super) trait Source {
    /// A record of `n` int32 values.
    fn ints(&mut self, name: &'static str, n: usize) -> Result<Vec<i32>>;
    /// A record of `n` f64 values.
    fn reals(&mut self, name: &'static str, n: usize) -> Result<Vec<f64>>;
    /// A record of `n` strings of at most `len` bytes, trailing blanks removed.
    fn strings(&mut self, name: &'static str, n: usize, len: usize) -> Result<Vec<String>>;
    /// A record of one logical.
    fn logical(&mut self, name: &'static str) -> Result<bool>;
    /// An error about the record `name`, already read.
    fn error(&self, name: &str, msg: String) -> Error;
    /// Checks that nothing but blank space follows the last record.
    fn finish(&mut self) -> Result<()>;
}

/// Writes one form record by record, in the order of [`encode`].
pub(super) trait Sink {
    /// A record of int32 values.
    fn ints(&mut self, values: &[i32]);
    /// A record of f64 values.
    fn reals(&mut self, values: &[f64]);
    /// A record of strings, each `len` bytes in the binary form.
    fn strings(&mut self, values: &[&str], len: usize);
    /// A record of one logical.
    fn logical(&mut self, value: bool);
}

/// The whole file: the three blocks, then nothing.
pub(super) fn decode(src: &mut impl Source) -> Result<PotentialFile> {
    let network = network(src)?;
    let setup = setup(src, network.nnodes[0])?;
    let trainset = trainset(src)?;
    src.finish()?;
    Ok(PotentialFile {
        network,
        setup,
        trainset,
    })
}

fn network(src: &mut impl Source) -> Result<NetworkBlock> {
    let nlayers = count(src, "nlayers", 2, MAX_LAYERS)?;
    let nnodes_max = count(src, "nnodes_max", 1, MAX_NODES)?;
    let wsize = count(src, "Wsize", 1, MAX_WEIGHTS)?;
    let nvalues = count(src, "nvalues", 1, MAX_VALUES)?;
    let nnodes = counts(src, "nnodes", nlayers, 1, MAX_NODES)?;
    let shape = Shape::of(&nnodes).map_err(|m| src.error("nnodes", m))?;
    check_header(src, [nnodes_max, wsize, nvalues], &nnodes, &shape)?;
    let list = join(&nnodes);
    let f_a = activations(src, nlayers)?;
    let iw = counts(src, "iw", nlayers, 0, MAX_WEIGHTS)?;
    ensure(src, iw == shape.iw, "iw", || {
        format!("{}, but nnodes {list} give {}", join(&iw), join(&shape.iw))
    })?;
    let iv = counts(src, "iv", nlayers, 0, MAX_VALUES)?;
    ensure(src, iv == shape.iv, "iv", || {
        format!("{}, but nnodes {list} give {}", join(&iv), join(&shape.iv))
    })?;
    let w = src.reals("W", wsize)?;
    Ok(NetworkBlock {
        nlayers,
        nnodes_max,
        wsize,
        nvalues,
        nnodes,
        f_a,
        iw,
        iv,
        w,
    })
}

/// Checks nnodes_max, Wsize and nvalues against what `nnodes` implies.
fn check_header(
    src: &impl Source,
    [nnodes_max, wsize, nvalues]: [usize; 3],
    nnodes: &[usize],
    shape: &Shape,
) -> Result<()> {
    let largest = nnodes.iter().copied().max().unwrap_or(0);
    let list = join(nnodes);
    ensure(src, nnodes_max == largest, "nnodes_max", || {
        format!("{nnodes_max}, but the largest of nnodes {list} is {largest}")
    })?;
    ensure(src, wsize == shape.wsize, "Wsize", || {
        format!(
            "{wsize}, but nnodes {list} need Σ (nnodes(l)+1)·nnodes(l+1) = {} weights",
            shape.wsize
        )
    })?;
    ensure(src, nvalues == shape.nvalues, "nvalues", || {
        format!(
            "{nvalues}, but nnodes {list} make {} node values",
            shape.nvalues
        )
    })?;
    Ok(())
}

/// The activation codes of layers 2..nlayers, each one aenet knows.
fn activations(src: &mut impl Source, nlayers: usize) -> Result<Vec<i32>> {
    let f_a = src.ints("f_a", nlayers - 1)?;
    if let Some((i, code)) = f_a.iter().enumerate().find(|(_, c)| !(0..=4).contains(*c)) {
        return Err(src.error(
            "f_a",
            format!(
                "layer {}: activation code {code} is not 0 (linear), 1 (tanh), \
                 2 (sigmoid), 3 (mtanh) or 4 (twist)",
                i + 2
            ),
        ));
    }
    Ok(f_a)
}

/// The sizes and offsets that `nnodes` implies (aenet's `new_Network`).
struct Shape {
    wsize: usize,
    nvalues: usize,
    iw: Vec<usize>,
    iv: Vec<usize>,
}

impl Shape {
    fn of(nnodes: &[usize]) -> std::result::Result<Shape, String> {
        let too_many = || {
            format!(
                "{} need more than the limit of {MAX_WEIGHTS} weights",
                join(nnodes)
            )
        };
        let (mut iw, mut iv) = (vec![0], vec![0]);
        let (mut wsize, mut nvalues) = (0usize, 0usize);
        for pair in nnodes.windows(2) {
            let layer = (pair[0] + 1).checked_mul(pair[1]).ok_or_else(too_many)?;
            wsize = wsize.checked_add(layer).ok_or_else(too_many)?;
            if wsize > MAX_WEIGHTS {
                return Err(too_many());
            }
            nvalues += pair[0] + 1;
            iw.push(wsize);
            iv.push(nvalues);
        }
        nvalues += nnodes.last().copied().unwrap_or(0);
        Ok(Shape {
            wsize,
            nvalues,
            iw,
            iv,
        })
    }
}

fn setup(src: &mut impl Source, n_inputs: usize) -> Result<SetupBlock> {
    let description = string(src, "description", TEXT_LEN)?;
    let atomtype = string(src, "atomtype", TYPE_LEN)?;
    let nenv = count(src, "nenv", 1, MAX_TYPES)?;
    let envtypes = src.strings("envtypes", nenv, TYPE_LEN)?;
    let rc_min = real(src, "Rc_min")?;
    let rc_max = real(src, "Rc_max")?;
    let sftype = string(src, "sftype", SFTYPE_LEN)?;
    let nsf = count(src, "nsf", 1, MAX_NODES)?;
    ensure(src, nsf == n_inputs, "nsf", || {
        format!("{nsf} descriptor functions, but the network has {n_inputs} inputs (nnodes(1))")
    })?;
    let nsfparam = count(src, "nsfparam", 1, MAX_SFPARAM)?;
    let n_param = nsfparam.checked_mul(nsf).filter(|&n| n <= MAX_WEIGHTS);
    let Some(n_param) = n_param else {
        let msg = format!("nsfparam·nsf = {nsfparam}·{nsf} exceeds the limit {MAX_WEIGHTS}");
        return Err(src.error("nsfparam", msg));
    };
    Ok(SetupBlock {
        description,
        atomtype,
        nenv,
        envtypes,
        rc_min,
        rc_max,
        sftype,
        nsf,
        nsfparam,
        sf: src.ints("sf", nsf)?,
        sfparam: src.reals("sfparam", n_param)?,
        sfenv: src.ints("sfenv", 2 * nsf)?,
        neval: count(src, "neval", 0, i32::MAX as usize)?,
        sfval_min: src.reals("sfval_min", nsf)?,
        sfval_max: src.reals("sfval_max", nsf)?,
        sfval_avg: src.reals("sfval_avg", nsf)?,
        sfval_cov: src.reals("sfval_cov", nsf)?,
    })
}

fn trainset(src: &mut impl Source) -> Result<TrainsetBlock> {
    let file = string(src, "file", TEXT_LEN)?;
    let normalized = src.logical("normalized")?;
    let scale = real(src, "scale")?;
    let shift = real(src, "shift")?;
    let ntypes = count(src, "ntypes", 1, MAX_TYPES)?;
    let typenames = src.strings("typenames", ntypes, TYPE_LEN)?;
    let e_atom = src.reals("E_atom", ntypes)?;
    let natomtot = count(src, "natomtot", 0, i32::MAX as usize)?;
    let nstrucs = count(src, "nstrucs", 0, i32::MAX as usize)?;
    let energies = src.reals("E_min E_max E_avg", 3)?;
    Ok(TrainsetBlock {
        file,
        normalized,
        scale,
        shift,
        ntypes,
        typenames,
        e_atom,
        natomtot,
        nstrucs,
        e_min: energies[0],
        e_max: energies[1],
        e_avg: energies[2],
    })
}

/// `v` as a count in `min..=max`, or what is wrong with it.
fn bounded(v: i32, min: usize, max: usize) -> std::result::Result<usize, String> {
    match usize::try_from(v) {
        Ok(u) if u > max => Err(format!("{v} exceeds the limit {max}")),
        Ok(u) if u >= min => Ok(u),
        _ => Err(format!("{v} is below the minimum {min}")),
    }
}

/// A one-integer record holding a count in `min..=max`.
fn count(src: &mut impl Source, name: &'static str, min: usize, max: usize) -> Result<usize> {
    let v = src.ints(name, 1)?[0];
    bounded(v, min, max).map_err(|m| src.error(name, m))
}

/// A record of `n` counts, each in `min..=max`.
fn counts(
    src: &mut impl Source,
    name: &'static str,
    n: usize,
    min: usize,
    max: usize,
) -> Result<Vec<usize>> {
    let values = src.ints(name, n)?;
    let entry = |(i, &v): (usize, &i32)| {
        bounded(v, min, max).map_err(|m| src.error(name, format!("entry {}: {m}", i + 1)))
    };
    values.iter().enumerate().map(entry).collect()
}

fn real(src: &mut impl Source, name: &'static str) -> Result<f64> {
    Ok(src.reals(name, 1)?[0])
}

fn string(src: &mut impl Source, name: &'static str, len: usize) -> Result<String> {
    Ok(src.strings(name, 1, len)?.swap_remove(0))
}

/// An error about record `name` unless `ok`; `msg` starts with its value.
fn ensure(src: &impl Source, ok: bool, name: &str, msg: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(src.error(name, msg()))
    }
}

fn join(values: &[usize]) -> String {
    let parts: Vec<String> = values.iter().map(usize::to_string).collect();
    parts.join(" ")
}

/// Writes the 36 records of `p` in file order, fields as stored.
pub(super) fn encode(p: &PotentialFile, out: &mut impl Sink) {
    let n = &p.network;
    for size in [n.nlayers, n.nnodes_max, n.wsize, n.nvalues] {
        out.ints(&[int32(size)]);
    }
    out.ints(&int32s(&n.nnodes));
    out.ints(&n.f_a);
    out.ints(&int32s(&n.iw));
    out.ints(&int32s(&n.iv));
    out.reals(&n.w);
    encode_setup(&p.setup, out);
    encode_trainset(&p.trainset, out);
}

fn encode_setup(s: &SetupBlock, out: &mut impl Sink) {
    out.strings(&[&s.description], TEXT_LEN);
    out.strings(&[&s.atomtype], TYPE_LEN);
    out.ints(&[int32(s.nenv)]);
    out.strings(&strs(&s.envtypes), TYPE_LEN);
    out.reals(&[s.rc_min]);
    out.reals(&[s.rc_max]);
    out.strings(&[&s.sftype], SFTYPE_LEN);
    out.ints(&[int32(s.nsf)]);
    out.ints(&[int32(s.nsfparam)]);
    out.ints(&s.sf);
    out.reals(&s.sfparam);
    out.ints(&s.sfenv);
    out.ints(&[int32(s.neval)]);
    for stats in [&s.sfval_min, &s.sfval_max, &s.sfval_avg, &s.sfval_cov] {
        out.reals(stats);
    }
}

fn encode_trainset(t: &TrainsetBlock, out: &mut impl Sink) {
    out.strings(&[&t.file], TEXT_LEN);
    out.logical(t.normalized);
    out.reals(&[t.scale]);
    out.reals(&[t.shift]);
    out.ints(&[int32(t.ntypes)]);
    out.strings(&strs(&t.typenames), TYPE_LEN);
    out.reals(&t.e_atom);
    out.ints(&[int32(t.natomtot)]);
    out.ints(&[int32(t.nstrucs)]);
    out.reals(&[t.e_min, t.e_max, t.e_avg]);
}

/// A count as the file's int32; one beyond int32 (never from a read file)
/// becomes `i32::MAX`, which the readers reject rather than misread.
fn int32(v: usize) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn int32s(values: &[usize]) -> Vec<i32> {
    values.iter().map(|&v| int32(v)).collect()
}

fn strs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}
