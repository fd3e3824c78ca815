use forcefit::loss::LossConfig;
use forcefit::model::{Adjoint, Model, Prepared};
use forcefit::train::step;
use forcefit::{batch, io, model};
use std::time::Instant;
fn main() {
    let ds = std::env::args().nth(1).unwrap_or("mosi2n4".into());
    let root = std::path::Path::new("../shared/datasets").join(&ds);
    let m = model::load(&root.join("nep.txt")).unwrap();
    let train = io::read(&root.join("train.xyz"), None).unwrap();
    let p: Vec<Prepared> = batch::prepare_all(m.as_ref(), train).unwrap();
    let refs: Vec<&Prepared> = p.iter().collect();
    let n_atoms: usize = p.iter().map(|s| s.structure.n_atoms()).sum();
    let mut grad = vec![0.0; m.params().len()];
    let cfg = LossConfig::default();
    for _ in 0..2 {
        step::loss_and_gradient(m.as_ref(), &refs, &cfg, |_, _| true, &mut grad);
    }
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(step::predict(m.as_ref(), &refs));
    }
    let tp = t.elapsed().as_secs_f64() / reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        step::loss_and_gradient(m.as_ref(), &refs, &cfg, |_, _| true, &mut grad);
    }
    let tg = t.elapsed().as_secs_f64() / reps as f64;
    // energy-only vjp
    let adj = Adjoint {
        energy: 1.0,
        ..Default::default()
    };
    let t = Instant::now();
    for _ in 0..reps {
        for s in &p {
            m.vjp(s, &adj, &mut grad);
        }
    }
    let te = t.elapsed().as_secs_f64() / reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        for s in &p {
            let mut pr = Default::default();
            m.predict(s, &mut pr);
        }
    }
    let tp1 = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{ds}: {n_atoms} atoms; predict {:.1} ms ({:.0} atoms/s), train step {:.1} ms, ratio {:.2}; 1-thread predict {:.1} ms, energy-only vjp {:.1} ms",
        tp * 1e3,
        n_atoms as f64 / tp,
        tg * 1e3,
        tg / tp,
        tp1 * 1e3,
        te * 1e3
    );
}
