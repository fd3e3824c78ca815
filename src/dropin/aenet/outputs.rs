//! aenet-PyTorch's result files, from the best model: `energies.train`
//! and `energies.test` (SAVE_ENERGIES) and `forces.train` and
//! `forces.test` (SAVE_FORCES with force training), in the column formats
//! of its `save_energies_any` and `save_forces_any`, so that a user's
//! plotting scripts keep working.
//!
//! energies.* — one line per structure, cohesive energies (the XSF total
//! energy minus the TYPES free-atom energies), eV:
//!
//! ```text
//! {N:12d}    {E_ref: 12.6f}  {E_ann: 12.6f}  {E_ref/N: 12.6f}  {E_ann/N: 12.6f}      {path}
//! ```
//!
//! forces.* — per structure a header, then one line per atom (forces in eV/Å):
//!
//! ```text
//! # {N:12d}  {√(Σ|ΔF|²)/N: 12.6f}   {path}
//! {i:4d}   {|ΔF_i|: 12.6f}   {F_ref x y z: 12.6f}   {F_ann x y z: 12.6f}
//! ```
//!
//! (the three components of each force separated by one space, a space at
//! the end of each atom line, as aenet-PyTorch writes them). `path` is the
//! structure's path as generate.in's FILES spells it.

use super::OutputPlan;
use crate::error::Result;
use crate::model::Prediction;
use crate::structure::Structure;
use crate::train::run::Outcome;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Writes the files `plan` asks for into the run's output directory;
/// returns their paths.
pub fn write(outcome: &Outcome, plan: &OutputPlan) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if !plan.save_energies && !plan.save_forces {
        return Ok(written);
    }
    let sets = [
        ("train", &outcome.train_set),
        ("test", &outcome.validation_set),
    ];
    for (suffix, set) in sets {
        let (data, predictions) = (&set.structures, &set.predictions);
        let mut files = Vec::new();
        if plan.save_energies {
            files.push(("energies", energies_text(data, predictions, plan)));
        }
        if plan.save_forces {
            files.push(("forces", forces_text(data, predictions, plan)));
        }
        for (stem, text) in files {
            let path = outcome.output_dir.join(format!("{stem}.{suffix}"));
            crate::io::write_atomic(&path, |w| w.write_all(text.as_bytes()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Python's `{: W.6f}`: a space where the sign of a positive number
/// goes, right-aligned in `width` characters.
fn py_real(x: f64, width: usize) -> String {
    let s = if x.is_sign_negative() {
        format!("{x:.6}")
    } else {
        format!(" {x:.6}")
    };
    format!("{s:>width$}")
}

/// The structure's path as FILES gives it (else as read).
fn name(plan: &OutputPlan, s: &Structure) -> String {
    let path = &s.origin.path;
    plan.names
        .get(path)
        .cloned()
        .unwrap_or_else(|| path.display().to_string())
}

/// Σ of the free-atom energies of the structure's atoms.
fn free_atoms(plan: &OutputPlan, s: &Structure) -> f64 {
    s.species
        .iter()
        .map(|sp| plan.atomic_energies.get(sp).copied().unwrap_or(0.0))
        .sum()
}

/// `energies.*`: every structure with an energy label.
pub fn energies_text(data: &[Structure], predictions: &[Prediction], plan: &OutputPlan) -> String {
    let mut out = String::new();
    for (s, p) in data.iter().zip(predictions) {
        let Some(e) = s.labels.energy else {
            continue;
        };
        let n = s.n_atoms();
        let e0 = free_atoms(plan, s);
        let (reference, ann) = (e - e0, p.energy - e0);
        let nf = n as f64;
        let _ = writeln!(
            out,
            "{n:12}    {}  {}  {}  {}      {}",
            py_real(reference, 12),
            py_real(ann, 12),
            py_real(reference / nf, 12),
            py_real(ann / nf, 12),
            name(plan, s)
        );
    }
    out
}

/// `forces.*`: every structure whose forces were used.
pub fn forces_text(data: &[Structure], predictions: &[Prediction], plan: &OutputPlan) -> String {
    let mut out = String::new();
    for (s, p) in data.iter().zip(predictions) {
        let Some(reference) = &s.labels.forces else {
            continue;
        };
        let n = reference.len();
        let errors: Vec<f64> = reference
            .iter()
            .zip(&p.forces)
            .map(|(r, a)| {
                ((a[0] - r[0]).powi(2) + (a[1] - r[1]).powi(2) + (a[2] - r[2]).powi(2)).sqrt()
            })
            .collect();
        let total = errors.iter().map(|e| e * e).sum::<f64>().sqrt() / n.max(1) as f64;
        let _ = writeln!(out, "# {n:12}  {}   {}", py_real(total, 12), name(plan, s));
        for (i, ((r, a), e)) in reference.iter().zip(&p.forces).zip(&errors).enumerate() {
            let v = |f: &[f64; 3]| f.map(|x| py_real(x, 12)).join(" ");
            let _ = writeln!(out, "{i:4}   {}   {}   {} ", py_real(*e, 12), v(r), v(a));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::{Labels, Origin, Structure};

    #[test]
    fn python_number_format() {
        assert_eq!(py_real(-204.456519, 12), " -204.456519");
        assert_eq!(py_real(0.111185, 12), "    0.111185");
        assert_eq!(py_real(-0.0, 12), "   -0.000000");
        assert_eq!(py_real(-1e-9, 12), "   -0.000000");
        assert_eq!(py_real(12345678.5, 12), " 12345678.500000");
    }

    /// A TiO pair labelled E = -2040 eV, and a prediction of -2041 eV.
    fn pair() -> (Structure, Prediction, OutputPlan) {
        let structure = Structure {
            species: vec!["Ti".into(), "O".into()],
            positions: vec![[0.0; 3], [1.9, 0.0, 0.0]],
            cell: Some([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]]),
            pbc: [true; 3],
            labels: Labels {
                energy: Some(-2040.0),
                forces: Some(vec![[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]]),
                ..Default::default()
            },
            origin: Origin {
                path: PathBuf::from("/d/a.xsf"),
                ..Default::default()
            },
        };
        let prediction = Prediction {
            energy: -2041.0,
            forces: vec![[0.2, 0.2, 0.3], [-0.1, -0.2, -0.1]],
            ..Default::default()
        };
        let plan = OutputPlan {
            save_energies: true,
            save_forces: true,
            atomic_energies: [("Ti".to_string(), -1604.6), ("O".to_string(), -432.5)].into(),
            names: [(PathBuf::from("/d/a.xsf"), "../a.xsf".to_string())].into(),
        };
        (structure, prediction, plan)
    }

    // The expected lines are aenet-PyTorch's format strings applied by Python.
    #[test]
    fn energies_as_aenet_pytorch_writes_them() {
        let (s, p, plan) = pair();
        assert_eq!(
            energies_text(&[s], &[p], &plan),
            "           2       -2.900000     -3.900000     -1.450000     -1.950000      ../a.xsf\n"
        );
    }

    #[test]
    fn forces_as_aenet_pytorch_writes_them() {
        let (s, p, plan) = pair();
        assert_eq!(
            forces_text(&[s], &[p], &plan),
            "#            2      0.111803   ../a.xsf\n\
             \x20  0       0.100000       0.100000     0.200000     0.300000       0.200000     0.200000     0.300000 \n\
             \x20  1       0.200000      -0.100000    -0.200000    -0.300000      -0.100000    -0.200000    -0.100000 \n"
        );
    }

    #[test]
    fn structures_without_labels_are_left_out() {
        let (mut s, p, plan) = pair();
        s.labels.energy = None;
        s.labels.forces = None;
        let (a, b) = (std::slice::from_ref(&s), std::slice::from_ref(&p));
        assert_eq!(energies_text(a, b, &plan), "");
        assert_eq!(forces_text(a, b, &plan), "");
    }
}
