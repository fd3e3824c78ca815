//! aenet's per-element potential files, binary `*.nn` and ASCII
//! `*.nn.ascii`, as plain data: the network, the descriptor setup and the
//! training-set information, field for field.
//!
//! Both forms are the same 36 Fortran records in the same order (aenet's
//! `save_Network`, `save_Setup`, `save_TrnSet_info`):
//!
//! | records | block    | fields |
//! |---------|----------|--------|
//! | 1–9     | network  | nlayers, nnodes_max, Wsize, nvalues, nnodes, f_a, iw, iv, W |
//! | 10–26   | setup    | description, atomtype, nenv, envtypes, Rc_min, Rc_max, sftype, nsf, nsfparam, sf, sfparam, sfenv, neval, sfval_min, sfval_max, sfval_avg, sfval_cov |
//! | 27–36   | trainset | file, normalized, scale, shift, ntypes, typenames, E_atom, natomtot, nstrucs, (E_min E_max E_avg) |
//!
//! The binary form is what aenet's `predict.x` loads (gfortran sequential
//! unformatted, see `binary.rs`); the ASCII form is what aenet-PyTorch and
//! aenet-python write and `nnASCII2bin.x` converts with list-directed reads
//! (see `ascii.rs`). Every size is checked against the others and against
//! the limits below before anything is allocated, so a damaged or hostile
//! file gives an [`Error`], never a panic or a huge allocation. Whether the
//! numbers make a sensible potential is the model's business, not this
//! module's.

mod ascii;
mod binary;
mod layout;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use std::path::Path;

/// Most layers (input and output included) a network may have. aenet's
/// networks have 3–5; the bound keeps a corrupt count from sizing arrays.
pub const MAX_LAYERS: usize = 64;
/// Most nodes in one layer, and most descriptor functions (`nsf`).
pub const MAX_NODES: usize = 100_000;
/// Most weights (`Wsize`) and most `sfparam` values: 800 MB of f64.
pub const MAX_WEIGHTS: usize = 100_000_000;
/// Most parameters per descriptor function (aenet itself uses 4).
pub const MAX_SFPARAM: usize = 1_000;
/// Most species in `envtypes` (`nenv`) and in `typenames` (`ntypes`).
pub const MAX_TYPES: usize = 1_000;
/// Length of the `description` and `file` strings in the binary form.
pub const TEXT_LEN: usize = 1024;
/// Length of an element name (aenet's `TYPELEN`) in the binary form.
pub const TYPE_LEN: usize = 2;
/// Length of the `sftype` string in the binary form.
pub const SFTYPE_LEN: usize = 100;

/// One aenet potential file (one element's network), as stored.
///
/// Counts that the arrays also imply (`nlayers`, `wsize`, `nsf`, …) are
/// kept as separate fields because the file stores them; the readers
/// check that they agree, and the writers write the fields as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct PotentialFile {
    /// The feed-forward network (records 1–9).
    pub network: NetworkBlock,
    /// The descriptor setup and its statistics (records 10–26).
    pub setup: SetupBlock,
    /// The training-set information: energy scaling and free-atom energies (records 27–36).
    pub trainset: TrainsetBlock,
}

/// The network block (aenet's `Network`).
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkBlock {
    /// Number of layers, input and output included.
    pub nlayers: usize,
    /// Largest entry of `nnodes`.
    pub nnodes_max: usize,
    /// Number of weights: Σ_l (nnodes(l)+1)·nnodes(l+1).
    pub wsize: usize,
    /// Number of node values: Σ_{l<last} (nnodes(l)+1) + nnodes(last).
    pub nvalues: usize,
    /// Nodes per layer, bias not counted (`nlayers` entries).
    pub nnodes: Vec<usize>,
    /// Activation code of layers 2..nlayers: 0 linear, 1 tanh, 2 sigmoid,
    /// 3 mtanh, 4 twist (`nlayers − 1` entries).
    pub f_a: Vec<i32>,
    /// Offset of each layer's weights in `w` (0 first, `wsize` last).
    pub iw: Vec<usize>,
    /// Offset of each layer's node values (0 first).
    pub iv: Vec<usize>,
    /// All weights; layer l→l+1 is `w[iw[l]..iw[l+1]]`, column-major
    /// (nnodes(l+1), nnodes(l)+1), bias in the last column.
    pub w: Vec<f64>,
}

/// The descriptor setup block (aenet's `Setup`).
#[derive(Clone, Debug, PartialEq)]
pub struct SetupBlock {
    /// Free text; an ASCII read keeps only its first word (see `ascii.rs`).
    pub description: String,
    /// Element of the central atom.
    pub atomtype: String,
    /// Number of environment species.
    pub nenv: usize,
    /// Environment species (`nenv` entries); their order sets the type weights.
    pub envtypes: Vec<String>,
    /// Smallest interatomic distance expected, Å.
    pub rc_min: f64,
    /// Largest cutoff, Å.
    pub rc_max: f64,
    /// Descriptor kind, e.g. `Chebyshev` or `Behler2011`.
    pub sftype: String,
    /// Number of descriptor functions (the network's input size).
    pub nsf: usize,
    /// Parameters per descriptor function.
    pub nsfparam: usize,
    /// Kind code of each descriptor function (`nsf` entries).
    pub sf: Vec<i32>,
    /// Parameters, column-major (nsfparam, nsf) as stored.
    pub sfparam: Vec<f64>,
    /// Environment species of each function, column-major (2, nsf).
    pub sfenv: Vec<i32>,
    /// Number of descriptor evaluations behind the statistics.
    pub neval: usize,
    /// Smallest value of each descriptor function seen in training.
    pub sfval_min: Vec<f64>,
    /// Largest value of each descriptor function.
    pub sfval_max: Vec<f64>,
    /// Mean of each descriptor function.
    pub sfval_avg: Vec<f64>,
    /// Mean of the square of each descriptor function (aenet calls it "cov").
    pub sfval_cov: Vec<f64>,
}

/// The training-set block (aenet's `TrnSet` information).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainsetBlock {
    /// Name of the training-set file.
    pub file: String,
    /// Whether energies were normalised with `scale` and `shift`.
    pub normalized: bool,
    /// Energy scale: E = NN/scale + shift (+ E_atom).
    pub scale: f64,
    /// Energy shift per atom, eV.
    pub shift: f64,
    /// Number of species of the training set.
    pub ntypes: usize,
    /// Species of the training set (`ntypes` entries).
    pub typenames: Vec<String>,
    /// Free-atom energy of each species, eV.
    pub e_atom: Vec<f64>,
    /// Number of atoms in the training set.
    pub natomtot: usize,
    /// Number of structures in the training set.
    pub nstrucs: usize,
    /// Smallest energy per atom in the training set.
    pub e_min: f64,
    /// Largest energy per atom.
    pub e_max: f64,
    /// Mean energy per atom.
    pub e_avg: f64,
}

impl PotentialFile {
    /// Reads either form, recognised by content: a binary file starts with
    /// the record marker 4 (the length of the int32 `nlayers`), anything
    /// else must be text (UTF-8 without NUL bytes). `path` only names the
    /// file in errors.
    pub fn read(bytes: &[u8], path: &Path) -> Result<PotentialFile> {
        match bytes {
            [] => Err(Error::file(
                path,
                "empty file (expected an aenet potential, binary or ASCII)",
            )),
            // Text never starts with byte 4: even a binary file cut inside
            // its first marker goes to the binary reader and its errors.
            [4, ..] => Self::read_binary(bytes, path),
            [0, 0, 0, 4, ..] => Err(Error::file(
                path,
                "a big-endian Fortran unformatted file; aenet writes little-endian",
            )),
            _ => match std::str::from_utf8(bytes) {
                Ok(text) if !text.contains('\0') => Self::read_ascii(text, path),
                _ => Err(Error::file(
                    path,
                    "neither an aenet binary potential (which starts with the record \
                     marker 4) nor text",
                )),
            },
        }
    }

    /// Reads the ASCII form as `nnASCII2bin.x`'s list-directed reads do
    /// (see `ascii.rs`): a record may span lines, and `description`,
    /// `sftype` and `file` keep only their first word (or quoted string).
    /// Errors are [`Error::Parse`] with the 1-based line.
    pub fn read_ascii(text: &str, path: &Path) -> Result<PotentialFile> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        layout::decode(&mut ascii::Reader::new(text, path))
    }

    /// Reads the binary form; errors are [`Error::File`] naming the record
    /// number and field.
    pub fn read_binary(bytes: &[u8], path: &Path) -> Result<PotentialFile> {
        layout::decode(&mut binary::Reader::new(bytes, path))
    }

    /// The ASCII form, one record per line: aenet-PyTorch reads each
    /// record from a single line (the oracle's wrapped `sfparam` and
    /// `sfenv` lines break its reader), `nnASCII2bin.x` reads either.
    /// Reals have 17 significant digits, so they read back bit for bit; a
    /// string that is not one plain word is double-quoted, so that a
    /// list-directed read keeps it whole.
    pub fn to_ascii(&self) -> String {
        let mut out = ascii::Writer::default();
        layout::encode(self, &mut out);
        out.finish()
    }

    /// The binary form, as aenet's `save_Network`/`save_Setup`/
    /// `save_TrnSet_info` write it. Fields are written as stored; strings
    /// are blank-padded (or cut) to their fixed lengths. A file made from
    /// inconsistent fields is one the readers reject.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = binary::Writer::default();
        layout::encode(self, &mut out);
        out.finish()
    }
}
