//! A NEP restricted to some of its elements: what fine-tuning a foundation
//! model (GPUMD's NEP89 and the like) starts from. GPUMD's `fine_tune`
//! (`SNES::initialize_mu_and_sigma_fine_tune`) copies, for the elements of
//! `nep.in`, each element's network and the descriptor coefficients
//! c[n][k][t_i][t_j] of the kept pairs, and takes the foundation model's
//! q_scaler. Each kept atom then sees exactly what it saw before: its own
//! network, the same coefficients for each neighbour's element, the same
//! scales, cutoffs and ZBL. So on structures of the kept elements the
//! reduced model predicts what the full one does, to the last bit.

use super::config::NepConfig;
use super::{Nep, Zbl};
use crate::error::{Error, Result};
use std::path::Path;

/// The model `[model] init` (read from `path`) gives a run whose training
/// data have the elements `data_species`: the architecture keys `config`
/// sets explicitly must agree with the file; the elements are `[model]
/// type` if given, else the file's that the data have (in the file's
/// order), and the model is reduced to them when the file has more.
pub fn for_run(nep: Nep, config: &NepConfig, data_species: &[String], path: &Path) -> Result<Nep> {
    let bad = config.disagreements(nep.hyper(), |key| config.explicit.contains(key));
    if !bad.is_empty() {
        let list: Vec<String> = bad
            .iter()
            .map(|(key, ours, theirs)| format!("model.{key} is {ours} but the file has {theirs}"))
            .collect();
        return Err(Error::file(
            path,
            format!(
                "model.init: the architecture comes from this model, and {}; remove the key(s) or make them agree",
                list.join("; ")
            ),
        ));
    }
    let file = &nep.hyper().species;
    let missing = |s: &&String| !file.contains(s);
    let wanted: Vec<String> = match &config.species {
        Some(types) => {
            if let Some(s) = types.iter().find(missing) {
                return Err(Error::file(
                    path,
                    format!(
                        "model.type lists {s}, which this init model lacks (it has {})",
                        file.join(" ")
                    ),
                ));
            }
            types.clone()
        }
        None => file
            .iter()
            .filter(|s| data_species.contains(s))
            .cloned()
            .collect(),
    };
    if let Some(s) = data_species.iter().find(missing) {
        return Err(Error::file(
            path,
            format!(
                "the training data contain {s}, which this init model lacks (it has {})",
                file.join(" ")
            ),
        ));
    }
    if wanted == *file {
        return Ok(nep);
    }
    reduce(&nep, &wanted)
}

/// The note a run prints when [`for_run`] reduced the model.
pub fn note(before: &[String], after: &[String]) -> Option<String> {
    (before != after).then(|| {
        if before.len() == after.len() {
            format!(
                "model.init: element types reordered from {} to {}",
                before.join(" "),
                after.join(" ")
            )
        } else {
            format!(
                "model.init: the model of {} elements reduced to {} (their networks, the descriptor coefficients of their pairs, q_scaler and ZBL kept)",
                before.len(),
                after.join(" ")
            )
        }
    })
}

/// `nep` restricted to `species` (a subset of its elements, in the order
/// wanted: the types of the new model). An element it lacks, or one listed
/// twice, is an error naming it.
pub fn reduce(nep: &Nep, species: &[String]) -> Result<Nep> {
    let h = nep.hyper();
    let mut old = Vec::with_capacity(species.len());
    for (i, s) in species.iter().enumerate() {
        if species[..i].contains(s) {
            return Err(Error::Invalid(format!("{s} is listed twice")));
        }
        match h.species.iter().position(|x| x == s) {
            Some(t) => old.push(t),
            None => {
                return Err(Error::Invalid(format!(
                    "{s} is not an element of the model (it has {})",
                    h.species.join(" ")
                )));
            }
        }
    }
    let mut hyper = h.clone();
    hyper.species = species.to_vec();
    if let Some(c) = &h.cutoffs {
        // Each pair uses the mean of its elements' cutoffs: keep the kept
        // elements' own.
        hyper.set_element_cutoffs(old.iter().map(|&t| c[t]).collect());
    }
    hyper.zbl = match &h.zbl {
        Some(Zbl::Flexible(p)) => Some(Zbl::Flexible(flexible_zbl(p, h.n_types(), &old))),
        other => other.clone(),
    };

    let (from, to) = (h.network(), hyper.network());
    let params = &nep.params;
    let mut out = Vec::with_capacity(hyper.n_params());
    // NEP4: one network per element, kept in the new order; NEP3 shares one.
    if from.n_networks == 1 {
        out.extend_from_slice(&params[from.range(0)]);
    } else {
        for &t in &old {
            out.extend_from_slice(&params[from.range(t)]);
        }
    }
    out.push(params[from.bias_index()]);
    debug_assert_eq!(out.len(), to.n_params());

    // c[n][k][t_i][t_j]: the nk blocks in order, in each the kept pairs.
    let (nt_old, nt_new) = (h.n_types(), hyper.n_types());
    let blocks = (h.n_max_radial + 1) * (h.basis_size_radial + 1)
        + (h.n_max_angular + 1) * (h.basis_size_angular + 1);
    let coefficients = &params[from.n_params()..];
    for block in coefficients.chunks_exact(nt_old * nt_old).take(blocks) {
        for &ti in &old {
            for &tj in &old {
                out.push(block[ti * nt_old + tj]);
            }
        }
    }
    debug_assert_eq!(out.len(), to.n_params() + blocks * nt_new * nt_new);
    Nep::new(hyper, out, nep.q_scaler().to_vec())
}

/// The flexible-ZBL numbers (ten per unordered pair t_i ≤ t_j, rows in
/// type order) of the kept types `old`, in their new order.
fn flexible_zbl(p: &[f64], nt: usize, old: &[usize]) -> Vec<f64> {
    let index = |a: usize, b: usize| {
        let (a, b) = (a.min(b), a.max(b));
        a * nt - a * a.saturating_sub(1) / 2 + (b - a)
    };
    let mut out = Vec::with_capacity(old.len() * (old.len() + 1) / 2 * 10);
    for (i, &a) in old.iter().enumerate() {
        for &b in &old[i..] {
            let k = index(a, b);
            out.extend_from_slice(&p[10 * k..10 * k + 10]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::model::nep::config::NepConfig;
    use rand::SeedableRng;

    fn model(species: &[&str], version: u32) -> Nep {
        let config = NepConfig {
            version,
            n_max: [2, 1],
            basis_size: [3, 2],
            l_max: vec![2, 0, 0],
            neuron: 3,
            ..NepConfig::default()
        };
        let hyper = config
            .hyper(species.iter().map(|s| s.to_string()).collect())
            .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        Nep::random(hyper, &mut rng).unwrap()
    }

    /// Every kept parameter lands where the reduced model's layout puts it.
    #[test]
    fn parameters_follow_the_layout() {
        for version in [3, 4] {
            let full = model(&["H", "C", "O", "Si"], version);
            let kept = ["Si".to_string(), "C".to_string()];
            let r = reduce(&full, &kept).unwrap();
            let (h, hr) = (full.hyper(), r.hyper());
            assert_eq!(r.params().len(), hr.n_params());
            let (net, netr) = (h.network(), hr.network());
            assert_eq!(
                r.params()[netr.bias_index()],
                full.params()[net.bias_index()]
            );
            if version == 4 {
                // New type 0 is Si, old type 3.
                assert_eq!(&r.params()[netr.range(0)], &full.params()[net.range(3)]);
            }
            // c[n][k][Si][C] of the first radial block: old (3, 1), new (0, 1).
            let (c0, cr0) = (net.n_params(), netr.n_params());
            assert_eq!(r.params()[cr0 + 1], full.params()[c0 + 3 * 4 + 1]);
            // Last angular block, pair (C, Si): old (1, 3), new (1, 0).
            let last = h.n_params() - 16;
            let lastr = hr.n_params() - 4;
            assert_eq!(r.params()[lastr + 2], full.params()[last + 4 + 3]);
        }
    }

    #[test]
    fn flexible_zbl_keeps_the_pairs() {
        // Three types: pairs (0,0) (0,1) (0,2) (1,1) (1,2) (2,2) = 0..6.
        let p: Vec<f64> = (0..60).map(|i| i as f64).collect();
        let r = flexible_zbl(&p, 3, &[2, 0]);
        let first = |k: usize| r[10 * k];
        // New pairs (2,2) (2,0) (0,0): old 5, 2, 0.
        assert_eq!([first(0), first(1), first(2)], [50.0, 20.0, 0.0]);
    }

    #[test]
    fn missing_and_repeated_elements_are_named() {
        let full = model(&["H", "C"], 4);
        let e = reduce(&full, &["N".to_string()]).unwrap_err().to_string();
        assert!(e.contains("N is not an element"), "{e}");
        let e = reduce(&full, &["H".to_string(), "H".to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("H is listed twice"), "{e}");
    }
}
