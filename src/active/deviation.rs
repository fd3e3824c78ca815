//! Committee model deviation of one frame, as deepmd-kit's `dp model-devi`
//! defines it (`deepmd/infer/model_devi.py`), from the predictions of M
//! members.
//!
//! With ⟨·⟩ the mean over members and every standard deviation the
//! population one (divide by M, as `numpy.std`):
//!
//! - force: ε_i = sqrt(⟨|F_i − ⟨F_i⟩|²⟩), the norm over x, y, z of the
//!   per-component deviations; `max_devi_f`, `min_devi_f`, `avg_devi_f`
//!   are its maximum, minimum and mean over the atoms. With a relative
//!   level ν, ε_i is divided by |⟨F_i⟩| + ν.
//! - virial: per atom, v = W/N; σ_k is the deviation of component k
//!   (9 components, row-major); `max_devi_v` and `min_devi_v` are the
//!   maximum and minimum over k, and `avg_devi_v` = sqrt(Σ_k σ_k²)/3 (a
//!   norm over 3, not a mean). With a relative level ν_v, every σ_k is
//!   divided by |⟨v⟩| + ν_v (the norm of the 9-component mean).
//! - energy: `devi_e` is the deviation of E/N.
//!
//! GPUMD's `active` uncertainty σ_f (src/measure/active.cu) is the
//! absolute maximum of ε_i over the atoms: `max_devi_f` without ν.

use crate::model::Prediction;

/// What to compute besides the seven scalars.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Options {
    /// ν of the relative force deviation (`dp model-devi --relative`).
    pub relative: Option<f64>,
    /// ν_v of the relative virial deviation (`--relative_v`).
    pub relative_v: Option<f64>,
    /// Keep every atom's ε_i ([`Deviation::atomic_f`]).
    pub atomic: bool,
}

/// The model deviation of one frame (a row of `model_devi.out`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deviation {
    /// Largest virial-component deviation, eV per atom.
    pub max_devi_v: f64,
    /// Smallest virial-component deviation, eV per atom.
    pub min_devi_v: f64,
    /// sqrt(Σ_k σ_k²)/3 over the 9 virial components, eV per atom.
    pub avg_devi_v: f64,
    /// Largest per-atom force deviation, eV/Å.
    pub max_devi_f: f64,
    /// Smallest per-atom force deviation, eV/Å.
    pub min_devi_f: f64,
    /// Mean per-atom force deviation, eV/Å.
    pub avg_devi_f: f64,
    /// Deviation of the energy per atom, eV.
    pub devi_e: f64,
    /// GPUMD's σ_f: the largest absolute per-atom force deviation, eV/Å.
    pub uncertainty: f64,
    /// ε_i of every atom (relative when asked); empty unless
    /// [`Options::atomic`].
    pub atomic_f: Vec<f64>,
}

impl Deviation {
    /// The seven values of a `model_devi.out` row after the step, in
    /// deepmd-kit's column order (v before f, then e).
    pub fn columns(&self) -> [f64; 7] {
        [
            self.max_devi_v,
            self.min_devi_v,
            self.avg_devi_v,
            self.max_devi_f,
            self.min_devi_f,
            self.avg_devi_f,
            self.devi_e,
        ]
    }
}

/// The deviation of the members' predictions `preds` (M ≥ 1, all of the
/// same frame of `n_atoms` atoms).
pub fn frame(preds: &[&Prediction], n_atoms: usize, options: &Options) -> Deviation {
    let per_atom = 1.0 / n_atoms.max(1) as f64;
    let energies: Vec<f64> = preds.iter().map(|p| p.energy * per_atom).collect();
    let (max_devi_v, min_devi_v, avg_devi_v) = virial(preds, per_atom, options.relative_v);
    let (absolute, eps) = forces(preds, n_atoms, options.relative);
    let (max_devi_f, min_devi_f, avg_devi_f) = max_min_mean(&eps);
    Deviation {
        max_devi_v,
        min_devi_v,
        avg_devi_v,
        max_devi_f,
        min_devi_f,
        avg_devi_f,
        devi_e: std(&energies),
        uncertainty: absolute,
        atomic_f: if options.atomic { eps } else { Vec::new() },
    }
}

/// (largest absolute ε_i, every ε_i — relative when ν is given).
fn forces(preds: &[&Prediction], n_atoms: usize, relative: Option<f64>) -> (f64, Vec<f64>) {
    let mut largest = f64::NEG_INFINITY;
    let mut values = vec![0.0; 3 * preds.len()];
    let eps = (0..n_atoms)
        .map(|i| {
            let mut var = 0.0;
            let mut mean_sq = 0.0;
            for k in 0..3 {
                for (x, p) in values.iter_mut().zip(preds) {
                    *x = p.forces[i][k];
                }
                let m = mean(&values[..preds.len()]);
                var += variance(&values[..preds.len()], m);
                mean_sq += m * m;
            }
            let e = var.sqrt();
            largest = largest.max(e);
            match relative {
                Some(nu) => e / (mean_sq.sqrt() + nu),
                None => e,
            }
        })
        .collect();
    (largest, eps)
}

/// (max, min, norm/3) of the per-component deviations of W/N.
fn virial(preds: &[&Prediction], per_atom: f64, relative: Option<f64>) -> (f64, f64, f64) {
    let mut sigma = [0.0; 9];
    let mut mean_sq = 0.0;
    let mut values = vec![0.0; preds.len()];
    for (k, s) in sigma.iter_mut().enumerate() {
        for (x, p) in values.iter_mut().zip(preds) {
            *x = p.virial[k] * per_atom;
        }
        let m = mean(&values);
        *s = variance(&values, m).sqrt();
        mean_sq += m * m;
    }
    if let Some(nu) = relative {
        let scale = mean_sq.sqrt() + nu;
        sigma.iter_mut().for_each(|s| *s /= scale);
    }
    let norm = sigma.iter().map(|s| s * s).sum::<f64>().sqrt();
    let (max, min, _) = max_min_mean(&sigma);
    (max, min, norm / 3.0)
}

/// (max, min, mean) of a non-empty slice; NaN would propagate as NaN.
fn max_min_mean(x: &[f64]) -> (f64, f64, f64) {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = x.iter().copied().fold(f64::INFINITY, f64::min);
    (max, min, mean(x))
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Population variance about `m` (two passes, as numpy: no cancellation).
fn variance(x: &[f64], m: f64) -> f64 {
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64
}

/// Population standard deviation.
fn std(x: &[f64]) -> f64 {
    variance(x, mean(x)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(e: f64, f: [[f64; 3]; 2], w: f64) -> Prediction {
        Prediction {
            energy: e,
            atomic_energies: vec![e / 2.0; 2],
            forces: f.to_vec(),
            virial: [w; 9],
        }
    }

    #[test]
    fn two_members_by_hand() {
        let a = pred(2.0, [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], 2.0);
        let b = pred(4.0, [[3.0, 0.0, 0.0], [0.0, 2.0, 0.0]], 6.0);
        let d = frame(&[&a, &b], 2, &Options::default());
        // Atom 0: x deviates by ±1; atom 1: y by ±1.
        assert_eq!((d.max_devi_f, d.min_devi_f, d.avg_devi_f), (1.0, 1.0, 1.0));
        // E/N = 1 and 2: σ = 0.5. W/N = 1 and 3: σ = 1 in every component.
        assert_eq!(d.devi_e, 0.5);
        assert_eq!((d.max_devi_v, d.min_devi_v), (1.0, 1.0));
        assert_eq!(d.avg_devi_v, 1.0);
        let rel = Options {
            relative: Some(1.0),
            relative_v: Some(1.0),
            atomic: true,
        };
        let d = frame(&[&a, &b], 2, &rel);
        // |⟨F_0⟩| = 2, |⟨F_1⟩| = 1; |⟨v⟩| = 2·3 = 6.
        assert_eq!(d.atomic_f, vec![1.0 / 3.0, 0.5]);
        assert_eq!(d.max_devi_v, 1.0 / 7.0);
        assert_eq!(d.uncertainty, 1.0);
    }
}
