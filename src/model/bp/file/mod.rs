//! TEMP
#![allow(missing_docs)]
use crate::error::Result; use std::path::Path;
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
impl PotentialFile { pub fn read(_b: &[u8], _p: &Path) -> Result<Self> { todo!() } pub fn to_ascii(&self) -> String { todo!() } pub fn to_binary(&self) -> Vec<u8> { todo!() } }
