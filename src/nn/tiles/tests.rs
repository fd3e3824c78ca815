//! The compiled copies of the tile passes against each other.

use super::*;

/// The portable copy or the one for `isa`, of the value pass.
fn value_copy<T: TileElem>(
    isa: Isa,
    t: &mut Tiles<T>,
    rows: &Rows,
    keep: Option<&mut Vec<T>>,
    out: &mut TileOutputs,
) {
    match isa {
        // SAFETY: called only when the CPU has the features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::value(t, rows, keep, out) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::value(t, rows, keep, out) },
        _ => value_tiles::<T>(t, rows, keep, out),
    }
}

/// A reverse pass that forms the parameter gradient alone.
fn params_only() -> Reverse<'static, 'static, 'static> {
    Reverse {
        outputs: None,
        inputs: None,
        params: true,
    }
}

/// The portable copy or the one for `isa`, of the reverse pass.
fn vjp_copy<T: TileElem>(isa: Isa, t: &mut Tiles<T>, rows: &Rows, bars: &mut RowBars) {
    match isa {
        // SAFETY: called only when the CPU has the features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::vjp(t, rows, bars, &mut params_only()) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::vjp(t, rows, bars, &mut params_only()) },
        _ => vjp_tiles::<T>(t, rows, bars, &mut params_only()),
    }
}

/// y, ẏ and ∇θ of one copy in element type `T` (checking that replaying
/// the kept trace gives the bits of recomputing it).
fn run<T: TileElem>(which: Isa, net: &Network, params: &[f64]) -> [Vec<f64>; 3] {
    let rows = 70;
    let x: Vec<f64> = (0..rows).map(|r| (r as f64 * 0.37).sin()).collect();
    let ones = vec![1.0; rows];
    let no = net.n_out();
    let mut t = Tiles::<T>::default();
    t.pack(net, params);
    let (mut y, mut y_dot) = (Vec::new(), Vec::new());
    let vrows = Rows {
        x: &x,
        x_dot: Some(&ones),
        rows,
        kept: None,
        precision: Precision::Float64,
    };
    let mut bars = |first: usize, m: usize, yb: &mut [f64], ydb: &mut [f64], _: usize| {
        for k in 0..m * no {
            yb[k] = ((first * no + k) as f64 * 0.11).cos();
            ydb[k] = ((first * no + k) as f64 * 0.07).sin();
        }
    };
    let mut outputs = |_: usize, _: usize, v: Values| v.extend_f64(&mut y, &mut y_dot);
    let mut kept = KeptTrace::default();
    value_copy(
        which,
        &mut t,
        &vrows,
        Some(T::kept_mut(&mut kept)),
        &mut outputs,
    );
    // the first reverse pass recomputes the tiles, the second replays
    // the kept trace
    let grads = [None, Some(&kept)].map(|kept| {
        let rows = Rows { kept, ..vrows };
        t.clear_grads();
        vjp_copy(which, &mut t, &rows, &mut bars);
        let mut grad = vec![0.0; params.len()];
        t.scatter_grads(net, &mut grad);
        grad
    });
    assert_eq!(grads[0], grads[1], "{which:?}: replayed and recomputed");
    let [grad, _] = grads;
    [y, y_dot, grad]
}

/// The copies this CPU runs besides the portable one.
fn vector_copies() -> Vec<Isa> {
    let mut copies = vec![];
    #[cfg(target_arch = "x86_64")]
    {
        let has = |f: &str| match f {
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            _ => std::arch::is_x86_feature_detected!("avx2"),
        } && std::arch::is_x86_feature_detected!("fma");
        if has("avx512f") {
            copies.push(Isa::Avx512);
        }
        if has("avx2") {
            copies.push(Isa::Avx2);
        }
    }
    copies
}

/// Every compiled copy gives the same values and gradients, to
/// rounding (the vector ones fuse multiply-adds), on widths that end
/// in partial vectors of four, eight and sixteen lanes, in f64 and f32.
#[test]
fn every_copy_agrees_with_the_portable_one() {
    let net = Network::hidden(1, &[5, 10, 13], Activation::Tanh, true);
    let n = net.n_params();
    let params: Vec<f64> = (0..n)
        .map(|k| ((k * 37) % 23) as f64 / 23.0 - 0.5)
        .collect();
    let portable = run::<f64>(Isa::Portable, &net, &params);
    let portable32 = run::<f32>(Isa::Portable, &net, &params);
    let close = |a: &[Vec<f64>; 3], b: &[Vec<f64>; 3], tol: f64| {
        for (a, b) in a.iter().zip(b) {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
    };
    close(&portable32, &portable, 1e-4);
    for isa in vector_copies() {
        close(&run::<f64>(isa, &net, &params), &portable, 1e-12);
        close(&run::<f32>(isa, &net, &params), &portable32, 1e-5);
    }
}
