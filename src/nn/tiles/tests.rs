//! The compiled copies of the tile passes against each other.

use super::*;

/// Every compiled copy gives the same values and gradients, to
/// rounding (the vector ones fuse multiply-adds), on widths that end
/// in partial vectors of four and of eight lanes.
#[test]
fn every_copy_agrees_with_the_portable_one() {
    let net = Network::hidden(1, &[5, 10, 13], Activation::Tanh, true);
    let n = net.n_params();
    let params: Vec<f64> = (0..n)
        .map(|k| ((k * 37) % 23) as f64 / 23.0 - 0.5)
        .collect();
    let rows = 70;
    let x: Vec<f64> = (0..rows).map(|r| (r as f64 * 0.37).sin()).collect();
    let ones = vec![1.0; rows];
    let no = net.n_out();
    let run = |which: Isa| {
        let mut s = Stream::default();
        s.pack(&net, &params);
        let (mut y, mut y_dot) = (Vec::new(), Vec::new());
        let vrows = Rows {
            x: &x,
            x_dot: Some(&ones),
            rows,
            kept: None,
        };
        let mut bars = |first: usize, m: usize, yb: &mut [f64], ydb: &mut [f64], _: usize| {
            for k in 0..m * no {
                yb[k] = ((first * no + k) as f64 * 0.11).cos();
                ydb[k] = ((first * no + k) as f64 * 0.07).sin();
            }
        };
        let mut outputs = |_: usize, _: usize, yt: &[f64], ydt: &[f64]| {
            y.extend_from_slice(yt);
            y_dot.extend_from_slice(ydt);
        };
        let mut kept = Vec::new();
        match which {
            // SAFETY: called only when the CPU has the features.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::value(&mut s, &vrows, Some(&mut kept), &mut outputs) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::value(&mut s, &vrows, Some(&mut kept), &mut outputs) },
            _ => value_tiles::<f64>(&mut s, &vrows, Some(&mut kept), &mut outputs),
        }
        // the first reverse pass recomputes the tiles, the second replays
        // the kept trace
        let grads = [None, Some(&kept[..])].map(|kept| {
            let rows = Rows { kept, ..vrows };
            s.clear_grads();
            match which {
                // SAFETY: called only when the CPU has the features.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { avx512::vjp(&mut s, &rows, &mut bars) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { avx2::vjp(&mut s, &rows, &mut bars) },
                _ => vjp_tiles::<f64>(&mut s, &rows, &mut bars),
            }
            let mut grad = vec![0.0; n];
            s.scatter_grads(&net, &mut grad);
            grad
        });
        assert_eq!(grads[0], grads[1], "{which:?}: replayed and recomputed");
        let [grad, _] = grads;
        [y, y_dot, grad]
    };
    let portable = run(Isa::Portable);
    let mut copies = vec![];
    #[cfg(target_arch = "x86_64")]
    {
        let has = |f: &str| match f {
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            _ => std::arch::is_x86_feature_detected!("avx2"),
        } && std::arch::is_x86_feature_detected!("fma");
        if has("avx512f") {
            copies.push(run(Isa::Avx512));
        }
        if has("avx2") {
            copies.push(run(Isa::Avx2));
        }
    }
    for copy in copies {
        for (a, b) in copy.iter().zip(&portable) {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
    }
}
