//! Models: the one [`Model`] trait, the prepared input it consumes and the
//! prediction it fills. One folder per model family.

pub mod any;
pub mod bp;
pub mod cache_budget;
pub mod deepmd;
pub mod energy_reference;
pub mod family;
pub mod nep;

pub use any::{AnyModel, FamilyState, ModelConfig};
pub use family::{Family, KalmanRecipe, ModelFile};

use crate::error::Result;
use crate::neighbors::NeighborList;
use crate::structure::Structure;
use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// What a family keeps about one prepared structure between calls (its
/// descriptors, which never change since positions do not): filled on
/// first use, checked by the family before use.
pub type StructureCache = OnceLock<Arc<dyn Any + Send + Sync>>;

/// A structure made ready for a model: species mapped to the model's type
/// indices and the neighbour list built at the model's largest cutoff.
/// Positions never change during training, so this is built once.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The structure itself (positions, cell, labels).
    pub structure: Structure,
    /// Model type index (position in the model's species list) of each atom.
    pub types: Vec<usize>,
    /// All pairs within the model's largest cutoff.
    pub neighbors: NeighborList,
    /// The family's per-structure cache (empty until a model fills it;
    /// anything that moves atoms must start a new one).
    pub cache: StructureCache,
}

impl Prepared {
    /// Every atom index, in order: the sites of a whole-structure call.
    pub fn all_sites(&self) -> Vec<usize> {
        (0..self.structure.n_atoms()).collect()
    }

    /// The sorted union of `atoms` and all their neighbours. Every site
    /// energy that depends on the position of an atom in `atoms` is in it
    /// (the list holds every pair within the model's largest cutoff, both
    /// ways), so [`Model::predict_sites`] over these sites gives the exact
    /// forces on `atoms`, and [`Model::vjp_sites`] the exact gradient of an
    /// adjoint whose force part is nonzero on `atoms` only.
    pub fn sites_around(&self, atoms: &[usize]) -> Vec<usize> {
        let mut inside = vec![false; self.structure.n_atoms()];
        for &i in atoms {
            inside[i] = true;
            for &j in self.neighbors.of(i).0 {
                inside[j as usize] = true;
            }
        }
        (0..inside.len()).filter(|&i| inside[i]).collect()
    }
}

/// What a model predicts for one structure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prediction {
    /// Total energy, eV.
    pub energy: f64,
    /// Per-atom energies, eV (they sum to `energy`).
    pub atomic_energies: Vec<f64>,
    /// Forces, eV/Å.
    pub forces: Vec<[f64; 3]>,
    /// Virial W = -dE/dε (eV, GPUMD sign), row-major 3x3.
    pub virial: [f64; 9],
}

impl Prediction {
    /// Zeroes the prediction and sizes it for `n_atoms` atoms, reusing memory.
    pub fn reset(&mut self, n_atoms: usize) {
        self.energy = 0.0;
        self.atomic_energies.clear();
        self.atomic_energies.resize(n_atoms, 0.0);
        self.forces.clear();
        self.forces.resize(n_atoms, [0.0; 3]);
        self.virial = [0.0; 9];
    }
}

/// Derivatives of a loss with respect to one structure's predictions: what
/// [`Model::vjp`] carries back to the parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Adjoint {
    /// ∂L/∂E (total energy).
    pub energy: f64,
    /// ∂L/∂F_i per atom; empty means zero.
    pub forces: Vec<[f64; 3]>,
    /// ∂L/∂W, row-major like the virial.
    pub virial: [f64; 9],
}

impl Adjoint {
    /// Whether the force and virial parts are zero (an energy-only adjoint).
    pub fn energy_only(&self) -> bool {
        self.forces.iter().all(|f| f == &[0.0; 3]) && self.virial == [0.0; 9]
    }
}

/// What a prediction leaves behind for the gradient of the same sites to
/// reuse instead of recomputing it (a DeePMD model's neighbour rows and
/// embedding traces): made by [`Model::predict_sites_taped`], consumed by
/// [`Model::vjp_sites_taped`] with the same structure, sites and
/// parameters. Empty for a family that keeps nothing.
#[derive(Default)]
pub struct Tape(Option<Box<dyn Any + Send>>);

impl Tape {
    /// A tape holding `value`.
    pub fn new<T: Any + Send>(value: T) -> Self {
        Tape(Some(Box::new(value)))
    }

    /// Whether the tape holds nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The value a family put on the tape, if it is of type `T`.
    pub fn take<T: Any>(self) -> Option<T> {
        self.0?.downcast::<T>().ok().map(|b| *b)
    }
}

/// A machine-learning potential with a flat parameter vector.
pub trait Model: Send + Sync {
    /// Element symbols the model knows, in type-index order.
    fn species(&self) -> &[String];
    /// Largest interaction cutoff, Å.
    fn cutoff(&self) -> f64;
    /// All trainable parameters as one flat vector.
    fn params(&self) -> &[f64];
    /// Mutable access to the parameters.
    fn params_mut(&mut self) -> &mut [f64];
    /// Layer-wise parameter ranges (Kalman-filter blocks).
    fn param_groups(&self) -> Vec<std::ops::Range<usize>>;
    /// The share of the site energies E_i of the atoms `sites` (strictly
    /// increasing indices) in a prediction: `energy` = Σ_{i∈sites} E_i,
    /// `atomic_energies[i]` = E_i for i in `sites` (0 elsewhere), `forces`
    /// = −∂(Σ_{i∈sites} E_i)/∂r on every atom and the virial of that
    /// partial energy. The predictions of a partition of the atoms sum to
    /// [`Model::predict`]'s (to rounding).
    fn predict_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction);
    /// Accumulates into `grad` (length `params().len()`) ∇θ of
    /// aE·Σ_{i∈sites}E_i + Σ_j aF_j·F_j + aW:W, with a = `adj` and F, W
    /// the forces and virial of [`Model::predict_sites`]: the exact
    /// vector-Jacobian product of that partial prediction.
    fn vjp_sites(&self, s: &Prepared, sites: &[usize], adj: &Adjoint, grad: &mut [f64]);
    /// [`Model::predict_sites`] where only the energies are needed: a
    /// family whose forces cost much more than its energies leaves forces
    /// and virial at zero; others compute everything.
    fn energies_sites(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) {
        self.predict_sites(s, sites, out);
    }

    /// [`Model::predict_sites`], keeping on a tape what
    /// [`Model::vjp_sites_taped`] of the same sites may reuse (training
    /// predicts, evaluates the loss, then differentiates the same sites;
    /// a family that has nothing worth keeping returns an empty tape).
    fn predict_sites_taped(&self, s: &Prepared, sites: &[usize], out: &mut Prediction) -> Tape {
        self.predict_sites(s, sites, out);
        Tape::default()
    }
    /// [`Model::vjp_sites`] given the tape of [`Model::predict_sites_taped`]
    /// on the same structure and sites with the same parameters; the same
    /// gradient, to the bit, as without it.
    fn vjp_sites_taped(
        &self,
        s: &Prepared,
        sites: &[usize],
        adj: &Adjoint,
        grad: &mut [f64],
        _tape: Tape,
    ) {
        self.vjp_sites(s, sites, adj, grad);
    }

    /// Energy, per-atom energies, forces and virial of one prepared structure.
    fn predict(&self, s: &Prepared, out: &mut Prediction) {
        self.predict_sites(s, &s.all_sites(), out);
    }
    /// Accumulates ∇θ [aE·E + Σ_i aF_i·F_i + aW:W] into `grad` (length
    /// `params().len()`), with a = `adj`: the exact vector-Jacobian product
    /// of the prediction, force and virial parts included.
    fn vjp(&self, s: &Prepared, adj: &Adjoint, grad: &mut [f64]) {
        self.vjp_sites(s, &s.all_sites(), adj, grad);
    }

    /// Keeps in the structure's cache what later calls on it can reuse
    /// (training calls the model on every structure every epoch), within
    /// the process's [`cache_budget`]. A one-off prediction skips it; a
    /// family that caches on its own, or has nothing to keep, ignores it.
    fn cache_structure(&self, _s: &Prepared) {}

    /// Maps species to type indices and builds the neighbour list.
    /// Errors name the structure and the element the model does not know.
    fn prepare(&self, structure: Structure) -> Result<Prepared> {
        let known = self.species();
        let mut types = Vec::with_capacity(structure.n_atoms());
        for (i, sp) in structure.species.iter().enumerate() {
            match known.iter().position(|k| k == sp) {
                Some(t) => types.push(t),
                None => {
                    return Err(structure.error(format!(
                        "atom {i}: element {sp:?} is not in the model (it knows {})",
                        known.join(", ")
                    )));
                }
            }
        }
        let neighbors = NeighborList::build(&structure, self.cutoff())?;
        Ok(Prepared {
            structure,
            types,
            neighbors,
            cache: StructureCache::new(),
        })
    }
}

/// Loads a model of any family from its file, recognising the family by
/// content (an aenet potential of one element; see [`load_files`]).
pub fn load(path: &Path) -> Result<AnyModel> {
    AnyModel::load(&[path.to_path_buf()])
}

/// Loads a model from its files: one file, or aenet's one per element.
pub fn load_files(paths: &[PathBuf]) -> Result<AnyModel> {
    AnyModel::load(paths)
}

/// Runs `f` with this thread's buffers in `key`, or with fresh ones when
/// the thread is already using them (a nested call): the families' hot
/// paths allocate nothing per call.
pub(crate) fn with_scratch<S: Default + 'static, R>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<S>>,
    f: impl FnOnce(&mut S) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut S::default()),
    })
}
