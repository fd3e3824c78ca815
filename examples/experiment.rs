use forcefit::loss::{LossConfig, LossKind};
use forcefit::model::nep::angular::AngularTerms;
use forcefit::model::nep::{Nep, NepHyper, init::species_of};
use forcefit::model::{Model, Prepared};
use forcefit::optim::Adam;
use forcefit::train::step;
use forcefit::{batch, io};
use rand::{SeedableRng, seq::SliceRandom};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bs: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(8);
    let lr: f64 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(1e-3);
    let kind = if args.get(3).map(|s| s.as_str()) == Some("mse") {
        LossKind::Mse
    } else {
        LossKind::Rmse
    };
    let secs: f64 = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(60.0);
    let root = std::path::Path::new("../shared/datasets/mosi2n4");
    let train = io::read(&root.join("train.xyz"), None).unwrap();
    let test = io::read(&root.join("test.xyz"), None).unwrap();
    let species = species_of(&train);
    let hyper = NepHyper {
        version: 4,
        species: vec!["Mo".into(), "Si".into(), "N".into()],
        rc_radial: 6.0,
        rc_angular: 4.0,
        max_neighbors: None,
        typewise: None,
        n_max_radial: 4,
        n_max_angular: 4,
        basis_size_radial: 12,
        basis_size_angular: 12,
        angular: AngularTerms {
            l_max: 4,
            four_body: true,
            five_body: false,
        },
        neurons: 30,
        zbl: None,
    };
    let _ = species;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut model = Nep::random(hyper, &mut rng).unwrap();
    let train_p: Vec<Prepared> = batch::prepare_all(&model, train).unwrap();
    let test_p: Vec<Prepared> = batch::prepare_all(&model, test).unwrap();
    model.scale_descriptors(&train_p);
    model.center_energy(&train_p);
    let config = LossConfig {
        lambda_e: 1.0,
        lambda_f: 1.0,
        lambda_v: 0.1,
        kind,
        ..LossConfig::default()
    };
    let mut adam = Adam::new(model.params().len(), 0.0);
    let mut grad = vec![0.0; model.params().len()];
    let mut order: Vec<usize> = (0..train_p.len()).collect();
    let t0 = Instant::now();
    let mut epoch = 0;
    let test_refs: Vec<&Prepared> = test_p.iter().collect();
    let mut next_report = 0.0;
    while t0.elapsed().as_secs_f64() < secs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(bs) {
            let b: Vec<&Prepared> = chunk.iter().map(|&i| &train_p[i]).collect();
            step::loss_and_gradient(&model, &b, &config, |_, _| true, &mut grad);
            let params = model.params_mut();
            let frac = (t0.elapsed().as_secs_f64() / secs).min(1.0);
            let lr_now = lr * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
            adam.step(params, &grad, lr_now);
        }
        epoch += 1;
        let t = t0.elapsed().as_secs_f64();
        if t >= next_report {
            next_report = t + secs / 15.0;
            let tr: Vec<&Prepared> = train_p.iter().collect();
            let mse = LossConfig {
                kind: LossKind::Mse,
                ..config.clone()
            };
            let a = step::loss(&model, &tr, &mse, |_, _| true);
            let b = step::loss(&model, &test_refs, &mse, |_, _| true);
            println!(
                "t {:6.1}s epoch {epoch:5} train E {:.2} F {:.1} V {:.2} | test E {:.2} F {:.1} V {:.2}",
                t,
                a.energy_mse.sqrt() * 1e3,
                a.force_mse.sqrt() * 1e3,
                a.virial_mse.sqrt() * 1e3,
                b.energy_mse.sqrt() * 1e3,
                b.force_mse.sqrt() * 1e3,
                b.virial_mse.sqrt() * 1e3
            );
        }
    }
}
