//! Finite-difference checks of every pass, on networks with all residual
//! kinds, timesteps, a missing bias and several activations.

use super::*;

const F64: Precision = Precision::Float64;

/// A deterministic pseudo-random number in [-1, 1).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

fn networks() -> Vec<Network> {
    let mut nets = vec![
        Network::hidden(1, &[3, 6, 12], Activation::Tanh, true),
        Network::hidden(4, &[4, 8, 5], Activation::Gelu, true),
    ];
    let mut fit = Network::hidden(5, &[7, 7], Activation::Softplus, true);
    fit.layers.push(Layer {
        n_in: 7,
        n_out: 2,
        bias: false,
        timestep: false,
        resnet: false,
        activation: Activation::Identity,
    });
    nets.push(fit);
    // a DeePMD fitting network's shape: inputs wider than any layer
    let mut wide = Network::hidden(40, &[6, 6], Activation::Tanh, true);
    wide.layers.push(Layer {
        n_in: 6,
        n_out: 1,
        bias: true,
        timestep: false,
        resnet: false,
        activation: Activation::Identity,
    });
    nets.push(wide);
    nets.push(Network::hidden(3, &[3, 6], Activation::Mtanh, false));
    nets.push(Network::hidden(2, &[4], Activation::Sigmoid, false));
    nets.push(Network::hidden(2, &[2, 4], Activation::Twist, true));
    nets
}

struct Case {
    net: Network,
    params: Vec<f64>,
    x: Vec<f64>,
    x_dot: Vec<f64>,
    y_bar: Vec<f64>,
    y_dot_bar: Vec<f64>,
    rows: usize,
}

impl Case {
    /// The case's rows with their tangent, in `precision`, nothing kept.
    fn input(&self, precision: Precision) -> Rows<'_> {
        Rows {
            x: &self.x,
            x_dot: Some(&self.x_dot),
            rows: self.rows,
            kept: None,
            precision,
        }
    }

    /// The adjoints ȳ and ẏ̄ of rows first..first + m, as
    /// [`Network::param_vjp`] asks for them.
    fn row_bars(&self) -> impl Fn(usize, usize, &mut [f64], &mut [f64], usize) + Copy + '_ {
        let no = self.net.n_out();
        move |first, m, yb, ydb, stride| {
            for r in 0..m {
                let src = (first + r) * no..(first + r + 1) * no;
                yb[r * stride..r * stride + no].copy_from_slice(&self.y_bar[src.clone()]);
                ydb[r * stride..r * stride + no].copy_from_slice(&self.y_dot_bar[src]);
            }
        }
    }
}

fn cases() -> Vec<Case> {
    cases_with(3)
}

fn cases_with(rows: usize) -> Vec<Case> {
    let mut seed = 42;
    networks()
        .into_iter()
        .map(|net| {
            let (ni, no) = (net.n_in(), net.n_out());
            let mut r =
                |n: usize, s: f64| -> Vec<f64> { (0..n).map(|_| s * noise(&mut seed)).collect() };
            Case {
                params: r(net.n_params(), 0.7),
                x: r(rows * ni, 1.0),
                x_dot: r(rows * ni, 1.0),
                y_bar: r(rows * no, 1.0),
                y_dot_bar: r(rows * no, 1.0),
                rows,
                net,
            }
        })
        .collect()
}

/// J = ȳ·y + ẏ̄·ẏ at (params, x, ẋ).
fn objective(c: &Case, params: &[f64], x: &[f64], x_dot: &[f64]) -> f64 {
    let mut t = Trace::default();
    c.net.forward(params, x, c.rows, &mut t, false);
    c.net.tangent(params, x_dot, &mut t);
    let a: f64 = t.output().iter().zip(&c.y_bar).map(|(y, b)| y * b).sum();
    let b: f64 = t
        .tangent_output()
        .iter()
        .zip(&c.y_dot_bar)
        .map(|(y, b)| y * b)
        .sum();
    a + b
}

fn central(f: impl Fn(f64) -> f64) -> f64 {
    let h = 1e-6;
    (f(h) - f(-h)) / (2.0 * h)
}

#[test]
fn tangent_is_the_directional_derivative() {
    for c in cases() {
        let mut t = Trace::default();
        c.net.forward(&c.params, &c.x, c.rows, &mut t, false);
        c.net.tangent(&c.params, &c.x_dot, &mut t);
        let y_dot = t.tangent_output().to_vec();
        for (k, &yd) in y_dot.iter().enumerate() {
            let fd = central(|h| {
                let xs: Vec<f64> = c.x.iter().zip(&c.x_dot).map(|(x, d)| x + h * d).collect();
                let mut t = Trace::default();
                c.net.forward(&c.params, &xs, c.rows, &mut t, false);
                t.output()[k]
            });
            assert!((yd - fd).abs() < 1e-8, "ẏ[{k}] {yd} vs {fd}");
        }
    }
}

#[test]
fn backward_gives_input_and_parameter_gradients() {
    for c in cases() {
        let mut t = Trace::default();
        c.net.forward(&c.params, &c.x, c.rows, &mut t, false);
        let mut x_bar = vec![0.0; c.x.len()];
        let mut grad = vec![0.0; c.params.len()];
        c.net.backward(
            &c.params,
            &c.x,
            &mut t,
            &c.y_bar,
            Some(&mut x_bar),
            Some(&mut grad),
        );
        let value = |p: &[f64], x: &[f64]| {
            let mut t = Trace::default();
            c.net.forward(p, x, c.rows, &mut t, false);
            t.output()
                .iter()
                .zip(&c.y_bar)
                .map(|(y, b)| y * b)
                .sum::<f64>()
        };
        for k in 0..c.x.len() {
            let fd = central(|h| {
                let mut x = c.x.clone();
                x[k] += h;
                value(&c.params, &x)
            });
            assert!((x_bar[k] - fd).abs() < 1e-8, "x̄[{k}]");
        }
        for k in 0..c.params.len() {
            let fd = central(|h| {
                let mut p = c.params.clone();
                p[k] += h;
                value(&p, &c.x)
            });
            assert!((grad[k] - fd).abs() < 1e-8, "θ̄[{k}] {} vs {fd}", grad[k]);
        }
    }
}

#[test]
fn backward_tangent_matches_finite_differences() {
    for c in cases() {
        let mut t = Trace::default();
        c.net.forward(&c.params, &c.x, c.rows, &mut t, true);
        c.net.tangent(&c.params, &c.x_dot, &mut t);
        let mut grad = vec![0.0; c.params.len()];
        let mut x_bar = vec![0.0; c.x.len()];
        let mut x_dot_bar = vec![0.0; c.x.len()];
        c.net.backward_tangent(
            &c.params,
            &c.x,
            &c.x_dot,
            &mut t,
            &c.y_bar,
            &c.y_dot_bar,
            &mut grad,
            Some(&mut x_bar),
            Some(&mut x_dot_bar),
        );
        for k in 0..c.params.len() {
            let fd = central(|h| {
                let mut p = c.params.clone();
                p[k] += h;
                objective(&c, &p, &c.x, &c.x_dot)
            });
            assert!((grad[k] - fd).abs() < 1e-7, "θ̄[{k}] {} vs {fd}", grad[k]);
        }
        for k in 0..c.x.len() {
            let fd = central(|h| {
                let mut x = c.x.clone();
                x[k] += h;
                objective(&c, &c.params, &x, &c.x_dot)
            });
            assert!((x_bar[k] - fd).abs() < 1e-7, "x̄[{k}]");
            let fd = central(|h| {
                let mut xd = c.x_dot.clone();
                xd[k] += h;
                objective(&c, &c.params, &c.x, &xd)
            });
            assert!((x_dot_bar[k] - fd).abs() < 1e-7, "ẋ̄[{k}]");
        }
    }
}

/// |a − b| ≤ 1e-12·(1 + |b|) element by element (the tile passes sum in
/// another order, with fused multiply-adds).
fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
            "{what}[{k}]: {x} vs {y}"
        );
    }
}

#[test]
fn tile_value_and_tangent_equal_the_traced_passes() {
    // 150 rows: several tiles and a partial one
    for c in cases_with(150) {
        let mut t = Trace::default();
        c.net.forward(&c.params, &c.x, c.rows, &mut t, false);
        c.net.tangent(&c.params, &c.x_dot, &mut t);
        let (mut y, mut y_dot) = (vec![7.0], vec![]);
        let mut s = Stream::default();
        let x_dot = Some(&c.x_dot[..]);
        c.net.value_and_tangent(
            &c.params, &c.x, x_dot, c.rows, F64, &mut s, &mut y, &mut y_dot,
        );
        assert_close(&y[1..], t.output(), "y");
        assert_close(&y_dot, t.tangent_output(), "ẏ");
        let mut y = Vec::new();
        c.net.value_and_tangent(
            &c.params, &c.x, None, c.rows, F64, &mut s, &mut y, &mut y_dot,
        );
        assert_close(&y, t.output(), "y without tangent");
    }
}

/// 0.5 + ∇θ Σ_rows (ȳ·y + ẏ̄·ẏ) by the traced passes.
fn traced_vjp(c: &Case) -> Vec<f64> {
    let mut t = Trace::default();
    let mut expected = vec![0.5; c.params.len()];
    c.net.forward(&c.params, &c.x, c.rows, &mut t, true);
    c.net.tangent(&c.params, &c.x_dot, &mut t);
    let (yb, ydb) = (&c.y_bar, &c.y_dot_bar);
    c.net.backward_tangent(
        &c.params,
        &c.x,
        &c.x_dot,
        &mut t,
        yb,
        ydb,
        &mut expected,
        None,
        None,
    );
    expected
}

/// The parameter vjp replayed from `kept` (a value pass's trace on
/// `rows`) gives `grad`, the recomputed one, to the bit.
fn assert_replay_equals(
    c: &Case,
    rows: Rows,
    kept: &KeptTrace,
    s: &mut Stream,
    grad: &[f64],
    what: &str,
) {
    let mut replayed = vec![0.5; c.params.len()];
    let with_trace = Rows {
        kept: Some(kept),
        ..rows
    };
    c.net
        .param_vjp(&c.params, &with_trace, s, c.row_bars(), &mut replayed);
    assert_eq!(replayed, grad, "{what}");
}

#[test]
fn tile_parameter_vjp_equals_the_traced_passes() {
    for c in cases_with(150) {
        let bars = c.row_bars();
        let mut s = Stream::default();
        let mut t = Trace::default();
        // with the tangent
        let expected = traced_vjp(&c);
        let mut grad = vec![0.5; c.params.len()];
        let rows = c.input(F64);
        c.net.param_vjp(&c.params, &rows, &mut s, bars, &mut grad);
        assert_close(&grad, &expected, "∇θ with the tangent");
        // replaying a kept trace gives the same bits as recomputing it
        let mut kept = KeptTrace::default();
        c.net
            .value_tiles(&c.params, &rows, &mut s, Some(&mut kept), |_, _, _| {});
        let replayable = c
            .net
            .layers
            .iter()
            .all(|l| l.activation == Activation::Tanh || l.activation.is_identity());
        assert_eq!(kept.is_empty(), !replayable);
        assert_replay_equals(&c, rows, &kept, &mut s, &grad, "∇θ from the kept trace");
        // without
        let mut expected = vec![0.5; c.params.len()];
        c.net.forward(&c.params, &c.x, c.rows, &mut t, false);
        let yb = &c.y_bar;
        c.net
            .backward(&c.params, &c.x, &mut t, yb, None, Some(&mut expected));
        let mut grad = vec![0.5; c.params.len()];
        let rows = Rows {
            x_dot: None,
            ..rows
        };
        c.net.param_vjp(&c.params, &rows, &mut s, bars, &mut grad);
        assert_close(&grad, &expected, "∇θ without the tangent");
        let mut kept = KeptTrace::default();
        c.net
            .value_tiles(&c.params, &rows, &mut s, Some(&mut kept), |_, _, _| {});
        let what = "∇θ from the kept trace, no tangent";
        assert_replay_equals(&c, rows, &kept, &mut s, &grad, what);
    }
}

/// The reverse sweep hands over y (and ẏ) and the input adjoints x̄ (and
/// ẋ̄) of the traced passes, with or without the parameter gradient.
#[test]
fn reverse_tiles_give_outputs_and_input_adjoints() {
    for c in cases_with(150) {
        let (ni, n) = (c.net.n_in(), c.rows * c.net.n_in());
        let mut s = Stream::default();
        for tangent in [true, false] {
            let mut t = Trace::default();
            c.net.forward(&c.params, &c.x, c.rows, &mut t, tangent);
            let (mut x_bar, mut x_dot_bar) = (vec![0.0; n], vec![0.0; n]);
            let mut expected = vec![0.5; c.params.len()];
            if tangent {
                c.net.tangent(&c.params, &c.x_dot, &mut t);
                let (yb, ydb) = (&c.y_bar, &c.y_dot_bar);
                let (xb, xdb) = (Some(&mut x_bar[..]), Some(&mut x_dot_bar[..]));
                let g = &mut expected;
                c.net
                    .backward_tangent(&c.params, &c.x, &c.x_dot, &mut t, yb, ydb, g, xb, xdb);
            } else {
                let (yb, xb) = (&c.y_bar, Some(&mut x_bar[..]));
                c.net
                    .backward(&c.params, &c.x, &mut t, yb, xb, Some(&mut expected));
            }
            let rows = Rows {
                x_dot: tangent.then_some(&c.x_dot[..]),
                ..c.input(F64)
            };
            for with_grad in [true, false] {
                let (mut y, mut y_dot) = (Vec::new(), Vec::new());
                let (mut got, mut got_dot) = (vec![f64::NAN; n], vec![f64::NAN; n]);
                let mut grad = vec![0.5; c.params.len()];
                c.net.reverse_tiles(
                    &c.params,
                    &rows,
                    &mut s,
                    Some(|_: usize, _: usize, v: Values| v.extend_f64(&mut y, &mut y_dot)),
                    c.row_bars(),
                    Some(|first: usize, m: usize, xb: &[f64], xdb: &[f64]| {
                        got[first * ni..(first + m) * ni].copy_from_slice(xb);
                        if tangent {
                            got_dot[first * ni..(first + m) * ni].copy_from_slice(xdb);
                        }
                    }),
                    with_grad.then_some(&mut grad[..]),
                );
                assert_close(&y, t.output(), "y");
                assert_close(&got, &x_bar, "x̄");
                if tangent {
                    assert_close(&y_dot, t.tangent_output(), "ẏ");
                    assert_close(&got_dot, &x_dot_bar, "ẋ̄");
                }
                if with_grad {
                    assert_close(&grad, &expected, "∇θ");
                } else {
                    assert!(grad.iter().all(|&g| g == 0.5), "no gradient asked for");
                }
            }
        }
    }
}

/// With one input and every tangent one (DeePMD's G' = dG/ds), the tile
/// passes read the first layer's ż as w instead of computing and keeping
/// it: values and gradients still equal the traced passes, and the kept
/// trace is one layer's tangents shorter.
#[test]
fn unit_tangents_are_read_not_kept() {
    for mut c in cases_with(150).into_iter().filter(|c| c.net.n_in() == 1) {
        c.x_dot = vec![1.0; c.rows];
        let mut t = Trace::default();
        c.net.forward(&c.params, &c.x, c.rows, &mut t, true);
        c.net.tangent(&c.params, &c.x_dot, &mut t);
        let (mut y, mut y_dot) = (Vec::new(), Vec::new());
        let mut s = Stream::default();
        let rows = c.input(F64);
        let mut kept = KeptTrace::default();
        c.net
            .value_tiles(&c.params, &rows, &mut s, Some(&mut kept), |_, _, v| {
                v.extend_f64(&mut y, &mut y_dot)
            });
        assert_close(&y, t.output(), "y");
        assert_close(&y_dot, t.tangent_output(), "ẏ");
        let widths: Vec<usize> = c.net.layers.iter().map(|l| l.n_out).collect();
        let per_row = 2 * widths.iter().sum::<usize>() - widths[0];
        assert_eq!(kept.len(), per_row * c.rows, "kept trace");
        let expected = traced_vjp(&c);
        let bars = c.row_bars();
        let mut grad = vec![0.5; c.params.len()];
        c.net.param_vjp(&c.params, &rows, &mut s, bars, &mut grad);
        assert_close(&grad, &expected, "∇θ");
        assert_replay_equals(&c, rows, &kept, &mut s, &grad, "∇θ from the kept trace");
    }
}

/// The largest difference between `a` and `b` over b's largest magnitude.
fn scaled_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

/// The f32 passes give the f64 ones' values, tangents and gradients to
/// f32 rounding (not their bits), and replaying a kept f32 trace gives
/// the bits of recomputing it.
#[test]
fn float32_tiles_agree_with_float64_to_rounding() {
    let f32 = Precision::Float32;
    for c in cases_with(150) {
        let mut s = Stream::default();
        let run = |p: Precision, s: &mut Stream| {
            let (mut y, mut y_dot) = (vec![], vec![]);
            let x_dot = Some(&c.x_dot[..]);
            c.net
                .value_and_tangent(&c.params, &c.x, x_dot, c.rows, p, s, &mut y, &mut y_dot);
            (y, y_dot)
        };
        let (y64, yd64) = run(F64, &mut s);
        let (y32, yd32) = run(f32, &mut s);
        for (a, b, what) in [(&y32, &y64, "y"), (&yd32, &yd64, "ẏ")] {
            let d = scaled_difference(a, b);
            assert!(d < 2e-6 && a != b, "{what}: scaled difference {d:e}");
        }
        let bars = c.row_bars();
        let rows = c.input(F64);
        let mut g64 = vec![0.0; c.params.len()];
        c.net.param_vjp(&c.params, &rows, &mut s, bars, &mut g64);
        let rows = Rows {
            precision: f32,
            ..rows
        };
        let mut g32 = vec![0.0; c.params.len()];
        c.net.param_vjp(&c.params, &rows, &mut s, bars, &mut g32);
        let d = scaled_difference(&g32, &g64);
        assert!(d < 1e-5 && g32 != g64, "∇θ: scaled difference {d:e}");
        let mut kept = KeptTrace::default();
        c.net
            .value_tiles(&c.params, &rows, &mut s, Some(&mut kept), |_, _, _| {});
        let with_trace = Rows {
            kept: Some(&kept),
            ..rows
        };
        let mut replayed = vec![0.0; c.params.len()];
        c.net
            .param_vjp(&c.params, &with_trace, &mut s, bars, &mut replayed);
        assert_eq!(replayed, g32, "∇θ from the kept f32 trace");
    }
}
