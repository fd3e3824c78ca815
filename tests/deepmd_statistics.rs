//! DeePMD statistics (davg/dstd, energy bias), their state for
//! checkpoints, and the training configuration.

mod common;
mod deepmd_common;

use common::{Rng, random_structure};
use deepmd_common::random_deepmd;
use forcefit::model::deepmd::{DeepPot, DeepPotStats, DeepmdConfig};
use forcefit::model::{Model, Prediction, Prepared};

fn frames(model: &DeepPot, n: usize, seed: u64) -> Vec<Prepared> {
    let mut rng = Rng(seed);
    let cell = [[5.0, 0.0, 0.0], [0.4, 5.2, 0.0], [0.2, -0.3, 4.9]];
    (0..n)
        .map(|k| {
            let species: &[&str] = if k % 2 == 0 {
                &["O", "H", "H", "O", "H", "H"]
            } else {
                &["O", "O", "H", "H", "H"]
            };
            let mut s = random_structure(&mut rng, species, cell, [true; 3], 1.0);
            let (no, nh) = (
                s.species.iter().filter(|x| *x == "O").count() as f64,
                s.species.iter().filter(|x| *x == "H").count() as f64,
            );
            s.labels.energy = Some(-7.5 * no - 3.25 * nh + 0.01 * (k as f64 % 3.0 - 1.0));
            model.prepare(s).unwrap()
        })
        .collect()
}

#[test]
fn descriptor_statistics_follow_deepmd_kit_layout() {
    let mut model = random_deepmd(true, true, false, 51);
    let data = frames(&model, 6, 61);
    model.fit_statistics(&data);
    let st = model.stats();
    let ns = model.hyper().n_slots();
    for t in 0..2 {
        let first = &st.davg[t * ns * 4..t * ns * 4 + 4];
        assert!(first[0] > 0.0 && first[1..] == [0.0; 3], "davg {first:?}");
        let sd = &st.dstd[t * ns * 4..t * ns * 4 + 4];
        assert!(sd[0] >= 0.01 && sd[1] == sd[2] && sd[2] == sd[3]);
        for s in 0..ns {
            assert_eq!(&st.davg[(t * ns + s) * 4..(t * ns + s + 1) * 4], first);
            assert_eq!(&st.dstd[(t * ns + s) * 4..(t * ns + s + 1) * 4], sd);
        }
    }
    // the first column's mean by hand: Σ w/(d+p) over kept neighbours / (atoms · Σsel)
    let (mut sum, mut count) = (0.0, 0.0);
    for p in &data {
        for i in 0..p.structure.n_atoms() {
            if p.types[i] != 0 {
                continue;
            }
            count += ns as f64;
            let (_, vecs) = p.neighbors.of(i);
            let mut per_type = [0usize; 2];
            let mut rows: Vec<(f64, usize)> = vecs
                .iter()
                .zip(p.neighbors.of(i).0)
                .map(|(r, &j)| {
                    (
                        (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt(),
                        p.types[j as usize],
                    )
                })
                .filter(|(d, _)| *d < 4.0)
                .collect();
            rows.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (d, t) in rows {
                if per_type[t] < model.hyper().sel[t] {
                    per_type[t] += 1;
                    let u = ((d - 1.5) / 2.5).clamp(0.0, 1.0);
                    let w = u * u * u * (-6.0 * u * u + 15.0 * u - 10.0) + 1.0;
                    sum += w / (d + 0.05);
                }
            }
        }
    }
    assert!((st.davg[0] - sum / count).abs() < 1e-12 * sum / count);
}

#[test]
fn energy_bias_is_least_squares_on_type_counts() {
    let mut model = random_deepmd(false, false, false, 52);
    let data = frames(&model, 8, 62);
    model.fit_energy_bias(&data);
    let st = model.stats();
    assert!(
        (st.out_bias[0] + 7.5).abs() < 0.02 && (st.out_bias[1] + 3.25).abs() < 0.02,
        "{:?}",
        st.out_bias
    );
    assert_eq!(st.bias_atom_e, vec![0.0, 0.0]);
    assert!(st.out_std[0] > 0.0 && st.out_std[0] < 0.02 && st.out_std[0] == st.out_std[1]);
    // with one composition only (water's 1:2) the minimum-norm solution
    let water: Vec<Prepared> = frames(&model, 8, 63).into_iter().step_by(2).collect();
    model.fit_energy_bias(&water);
    let b = &model.stats().out_bias;
    let per_molecule = -7.5 - 2.0 * 3.25;
    assert!((b[0] + 2.0 * b[1] - per_molecule).abs() < 0.01);
    assert!(
        (b[1] - 2.0 * b[0]).abs() < 1e-9,
        "minimum norm: b ∝ (1, 2), got {b:?}"
    );
}

#[test]
fn statistics_round_trip_through_a_checkpoint() {
    let mut model = random_deepmd(true, false, false, 53);
    let data = frames(&model, 4, 64);
    model.fit_statistics(&data);
    let json = serde_json::to_string(model.stats()).unwrap();
    let restored: DeepPotStats = serde_json::from_str(&json).unwrap();
    assert_eq!(&restored, model.stats());
    let mut other = random_deepmd(true, false, false, 53);
    other.set_stats(restored).unwrap();
    let (mut a, mut b) = (Prediction::default(), Prediction::default());
    model.predict(&data[0], &mut a);
    other.predict(&data[0], &mut b);
    assert_eq!(a, b);
    let mut bad = model.stats().clone();
    bad.davg.pop();
    assert!(
        other
            .set_stats(bad)
            .unwrap_err()
            .to_string()
            .contains("davg")
    );
}

#[test]
fn configuration_defaults_and_errors_name_the_key() {
    let c: DeepmdConfig = toml::from_str("sel = [46, 92]\ntype_map = [\"O\", \"H\"]").unwrap();
    assert_eq!((c.rcut, c.rcut_smth, c.axis_neuron), (6.0, 0.5, 4));
    assert_eq!(c.neuron, vec![10, 20, 40]);
    assert_eq!(c.fitting_neuron, vec![120, 120, 120]);
    assert!(c.fitting_resnet_dt && !c.resnet_dt && !c.type_one_side);
    c.validate().unwrap();
    let h = c.hyper(&["H".into(), "O".into()]).unwrap();
    assert_eq!(h.type_map, vec!["O", "H"]);
    let unknown = toml::from_str::<DeepmdConfig>("sel = [4]\nrcutt = 5.0");
    assert!(unknown.unwrap_err().to_string().contains("rcutt"));
    let c: DeepmdConfig = toml::from_str(
        "sel = [4, 5, 6]\nrcut_smth = 7.0\naxis_neuron = 50\nactivation_function = \"swish\"\ntype_map = [\"O\", \"H\"]",
    )
    .unwrap();
    let msg = c.validate().unwrap_err();
    for key in ["sel", "rcut_smth", "axis_neuron", "activation_function"] {
        assert!(msg.contains(key), "{key} missing from: {msg}");
    }
    let c: DeepmdConfig = toml::from_str("sel = [4, 5]\ntype_map = [\"O\", \"H\"]").unwrap();
    assert!(
        c.hyper(&["O".into(), "C".into()])
            .unwrap_err()
            .contains("type_map")
    );
}

#[test]
fn random_initialisation_is_deepmd_kit_like() {
    use rand::SeedableRng;
    let c: DeepmdConfig = toml::from_str(
        "sel = [20, 40]\nneuron = [8, 16, 32]\naxis_neuron = 4\nfitting_neuron = [32, 32]",
    )
    .unwrap();
    let h = c.hyper(&["O".into(), "H".into()]).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let m = DeepPot::random(h, &mut rng).unwrap();
    // fitting network 0, second hidden layer (32 → 32): w, b, idt
    let groups = m.param_groups();
    let n_emb_layers = 3 * 4; // four pair networks of three layers
    let layer = &m.params()[groups[n_emb_layers + 1].clone()];
    let (w, rest) = layer.split_at(32 * 32);
    let (b, idt) = rest.split_at(32);
    let std = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    assert!((std(w) * 8.0 - 1.0).abs() < 0.1, "w std {}", std(w));
    assert!((std(b) - 1.0).abs() < 0.35);
    assert!(idt.iter().all(|x| (x - 0.1).abs() < 0.005));
}
