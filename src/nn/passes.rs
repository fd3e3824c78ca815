//! The batched passes of a [`Network`]: forward (with tangent), backward to
//! inputs and parameters, and the parameter vjp through a tangent pass.
//!
//! Per layer, with z = x·W + b, a = φ(z), y = r(x) + d ⊙ a and the tangent
//! ż = ẋ·W, ẏ = r(ẋ) + d ⊙ φ'(z) ⊙ ż, the adjoints of J = ȳ·y + ẏ̄·ẏ are
//!
//! - ż̄ = ẏ̄ ⊙ d ⊙ φ'(z),  z̄ = ȳ ⊙ d ⊙ φ'(z) + ẏ̄ ⊙ d ⊙ φ''(z) ⊙ ż;
//! - W̄ = xᵀ·z̄ + ẋᵀ·ż̄,  b̄ = Σ_rows z̄,  d̄ = Σ_rows (ȳ ⊙ a + ẏ̄ ⊙ φ'(z) ⊙ ż);
//! - x̄ = z̄·Wᵀ + rᵀ(ȳ),  ẋ̄ = ż̄·Wᵀ + rᵀ(ẏ̄),
//!
//! where rᵀ folds [ȳ₁, ȳ₂] back to ȳ₁ + ȳ₂ for the doubling residual.
//! Without a tangent (ẏ̄ = 0) this is the ordinary backward pass.

use super::gemm::{Operand, gemm};
use super::{Layer, Network, Residual};
use crate::buffers::zeroed;

/// What a forward pass keeps for the backward passes, per layer; buffers
/// are reused from call to call.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    rows: usize,
    layers: Vec<LayerTrace>,
    /// Adjoint of the current layer's output, then of its input.
    bar: Vec<f64>,
    bar_in: Vec<f64>,
    /// Adjoint of the current layer's tangent output, then input.
    dot_bar: Vec<f64>,
    dot_bar_in: Vec<f64>,
    /// z̄ and ż̄ of the current layer.
    z_bar: Vec<f64>,
    z_dot_bar: Vec<f64>,
}

/// One layer's stored values, rows × n_out each.
#[derive(Clone, Debug, Default)]
struct LayerTrace {
    /// a = φ(z).
    act: Vec<f64>,
    /// φ'(z).
    d1: Vec<f64>,
    /// φ''(z), only when asked for.
    d2: Vec<f64>,
    /// y.
    out: Vec<f64>,
    /// ż (after a tangent pass).
    z_dot: Vec<f64>,
    /// ẏ (after a tangent pass).
    out_dot: Vec<f64>,
}

impl Trace {
    /// Rows of the last forward pass.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The network's output of the last forward pass (rows × n_out).
    pub fn output(&self) -> &[f64] {
        self.layers.last().map_or(&[], |l| &l.out)
    }

    /// The tangent output of the last tangent pass (rows × n_out).
    pub fn tangent_output(&self) -> &[f64] {
        self.layers.last().map_or(&[], |l| &l.out_dot)
    }
}

/// Resizes `v` to `n` elements whose values the caller overwrites.
fn fit(v: &mut Vec<f64>, n: usize) {
    if v.len() > n {
        v.truncate(n);
    } else {
        v.resize(n, 0.0);
    }
}

/// y += r(x) for a batch (rows × n_in → rows × n_out).
fn add_residual(layer: &Layer, x: &[f64], y: &mut [f64]) {
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    match layer.residual() {
        Residual::None => {}
        Residual::Same => {
            for (yi, xi) in y.iter_mut().zip(x) {
                *yi += xi;
            }
        }
        Residual::Double => {
            for (yr, xr) in y.chunks_exact_mut(n_out).zip(x.chunks_exact(n_in)) {
                for (k, &xv) in xr.iter().enumerate() {
                    yr[k] += xv;
                    yr[k + n_in] += xv;
                }
            }
        }
    }
}

/// x̄ += rᵀ(ȳ).
fn add_residual_adjoint(layer: &Layer, y_bar: &[f64], x_bar: &mut [f64]) {
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    match layer.residual() {
        Residual::None => {}
        Residual::Same => {
            for (xi, yi) in x_bar.iter_mut().zip(y_bar) {
                *xi += yi;
            }
        }
        Residual::Double => {
            for (xr, yr) in x_bar.chunks_exact_mut(n_in).zip(y_bar.chunks_exact(n_out)) {
                for (k, xv) in xr.iter_mut().enumerate() {
                    *xv += yr[k] + yr[k + n_in];
                }
            }
        }
    }
}

/// out = x·W (+ b), rows × n_out; a width-1 input is an outer product.
fn affine(layer: &Layer, w: &[f64], b: Option<&[f64]>, x: &[f64], rows: usize, out: &mut [f64]) {
    let n_out = layer.n_out;
    if layer.n_in == 1 {
        for (o, &xv) in out.chunks_exact_mut(n_out).zip(&x[..rows]) {
            match b {
                Some(b) => {
                    for ((ov, wv), bv) in o.iter_mut().zip(w).zip(b) {
                        *ov = xv * wv + bv;
                    }
                }
                None => {
                    for (ov, wv) in o.iter_mut().zip(w) {
                        *ov = xv * wv;
                    }
                }
            }
        }
        return;
    }
    let beta = match b {
        Some(b) => {
            for o in out.chunks_exact_mut(n_out) {
                o.copy_from_slice(b);
            }
            1.0
        }
        None => 0.0,
    };
    gemm(
        Operand::new(x, rows, layer.n_in),
        Operand::new(w, layer.n_in, n_out),
        out,
        beta,
    );
}

/// Σ over rows of a (rows × n) matrix, added to `acc` (n).
fn add_column_sums(m: &[f64], n: usize, acc: &mut [f64]) {
    for row in m.chunks_exact(n) {
        for (a, v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    }
}

impl Network {
    /// Forward pass over `rows` input rows `x` (rows × n_in, row-major),
    /// keeping φ(z) and φ'(z) (and φ''(z) when `second`) in `trace`.
    pub fn forward(&self, params: &[f64], x: &[f64], rows: usize, trace: &mut Trace, second: bool) {
        trace.rows = rows;
        trace
            .layers
            .resize_with(self.layers.len(), LayerTrace::default);
        let starts = self.layer_starts();
        for (l, layer) in self.layers.iter().enumerate() {
            let (w, b, idt) = layer.split(&params[starts[l]..starts[l + 1]]);
            let (done, rest) = trace.layers.split_at_mut(l);
            let input: &[f64] = if l == 0 { x } else { &done[l - 1].out };
            let t = &mut rest[0];
            let n = rows * layer.n_out;
            fit(&mut t.act, n);
            fit(&mut t.d1, n);
            affine(layer, w, b, input, rows, &mut t.act);
            if layer.activation.is_identity() {
                t.d1.fill(1.0);
                if second {
                    zeroed(&mut t.d2, n);
                }
            } else if second {
                fit(&mut t.d2, n);
                layer
                    .activation
                    .apply(&mut t.act, &mut t.d1, Some(&mut t.d2));
            } else {
                layer.activation.apply(&mut t.act, &mut t.d1, None);
            }
            match idt {
                Some(d) => {
                    t.out.clear();
                    t.out.extend_from_slice(&t.act);
                    for o in t.out.chunks_exact_mut(layer.n_out) {
                        for (ov, dv) in o.iter_mut().zip(d) {
                            *ov *= dv;
                        }
                    }
                }
                // φ(z) itself is only needed for the timestep's gradient
                None => std::mem::swap(&mut t.out, &mut t.act),
            }
            add_residual(layer, input, &mut t.out);
        }
    }

    /// Tangent pass after [`Network::forward`]: ẋ (rows × n_in) → ẏ, kept
    /// in `trace` ([`Trace::tangent_output`]).
    pub fn tangent(&self, params: &[f64], x_dot: &[f64], trace: &mut Trace) {
        let rows = trace.rows;
        let starts = self.layer_starts();
        for (l, layer) in self.layers.iter().enumerate() {
            let (w, _, idt) = layer.split(&params[starts[l]..starts[l + 1]]);
            let (done, rest) = trace.layers.split_at_mut(l);
            let input: &[f64] = if l == 0 { x_dot } else { &done[l - 1].out_dot };
            let t = &mut rest[0];
            let n = rows * layer.n_out;
            fit(&mut t.z_dot, n);
            affine(layer, w, None, input, rows, &mut t.z_dot);
            t.out_dot.clear();
            t.out_dot
                .extend(t.z_dot.iter().zip(&t.d1).map(|(z, d)| z * d));
            if let Some(d) = idt {
                for o in t.out_dot.chunks_exact_mut(layer.n_out) {
                    for (ov, dv) in o.iter_mut().zip(d) {
                        *ov *= dv;
                    }
                }
            }
            add_residual(layer, input, &mut t.out_dot);
        }
    }

    /// Backward pass for J = Σ ȳ·y after [`Network::forward`] on `x`:
    /// writes x̄ = ∂J/∂x into `x_bar` (rows × n_in) when given and adds
    /// ∂J/∂θ to `grad` (the network's layout) when given.
    pub fn backward(
        &self,
        params: &[f64],
        x: &[f64],
        trace: &mut Trace,
        y_bar: &[f64],
        x_bar: Option<&mut [f64]>,
        mut grad: Option<&mut [f64]>,
    ) {
        let starts = self.layer_starts();
        let rows = trace.rows;
        trace.bar.clear();
        trace.bar.extend_from_slice(&y_bar[..rows * self.n_out()]);
        let want_input = x_bar.is_some();
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let p = &params[starts[l]..starts[l + 1]];
            let (w, _, idt) = layer.split(p);
            let t = &trace.layers[l];
            let input: &[f64] = if l == 0 { x } else { &trace.layers[l - 1].out };
            let n_out = layer.n_out;
            fit(&mut trace.z_bar, rows * n_out);
            for (r, zb) in trace.z_bar.chunks_exact_mut(n_out).enumerate() {
                let o = r * n_out..(r + 1) * n_out;
                for (k, z) in zb.iter_mut().enumerate() {
                    *z = trace.bar[o.start + k] * t.d1[o.start + k];
                }
                if let Some(d) = idt {
                    for (z, dv) in zb.iter_mut().zip(d) {
                        *z *= dv;
                    }
                }
            }
            if let Some(g) = grad.as_deref_mut() {
                let g = &mut g[starts[l]..starts[l + 1]];
                layer_param_grad(layer, input, &trace.z_bar, rows, g);
                if let (_, _, Some(io)) = layer.offsets() {
                    let gd = &mut g[io..io + n_out];
                    for (bar, act) in trace.bar.chunks_exact(n_out).zip(t.act.chunks_exact(n_out)) {
                        for k in 0..n_out {
                            gd[k] += bar[k] * act[k];
                        }
                    }
                }
            }
            if l == 0 && !want_input {
                break;
            }
            let (z_bar, bar) = (&trace.z_bar, &mut trace.bar);
            to_input(layer, w, z_bar, rows, bar, &mut trace.bar_in);
        }
        if let Some(xb) = x_bar {
            xb[..trace.bar.len()].copy_from_slice(&trace.bar);
        }
    }
}

/// W̄ += inputᵀ·z̄ and b̄ += Σ z̄ into one layer's gradient slice.
fn layer_param_grad(layer: &Layer, input: &[f64], z_bar: &[f64], rows: usize, g: &mut [f64]) {
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    gemm(
        Operand::new(input, rows, n_in).t(),
        Operand::new(z_bar, rows, n_out),
        &mut g[..n_in * n_out],
        1.0,
    );
    if let (_, Some(bo), _) = layer.offsets() {
        add_column_sums(z_bar, n_out, &mut g[bo..bo + n_out]);
    }
}

/// Carries one layer's adjoint to its input: `bar` (ȳ, rows × n_out)
/// becomes x̄ = z̄·Wᵀ + rᵀ(ȳ), `spare` the buffer ȳ was in.
fn to_input(
    layer: &Layer,
    w: &[f64],
    z_bar: &[f64],
    rows: usize,
    bar: &mut Vec<f64>,
    spare: &mut Vec<f64>,
) {
    fit(spare, rows * layer.n_in);
    input_adjoint(layer, w, z_bar, rows, spare);
    add_residual_adjoint(layer, bar, spare);
    std::mem::swap(bar, spare);
}

/// x̄ = z̄·Wᵀ (overwrites).
fn input_adjoint(layer: &Layer, w: &[f64], z_bar: &[f64], rows: usize, x_bar: &mut [f64]) {
    gemm(
        Operand::new(z_bar, rows, layer.n_out),
        Operand::new(w, layer.n_in, layer.n_out).t(),
        x_bar,
        0.0,
    );
}

impl Network {
    /// Parameter vjp through a tangent pass: after [`Network::forward`] on
    /// `x` (with `second`) and [`Network::tangent`] on `x_dot`, adds
    /// ∂J/∂θ for J = Σ ȳ·y + ẏ̄·ẏ to `grad`, and writes x̄ and ẋ̄ when
    /// asked.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_tangent(
        &self,
        params: &[f64],
        x: &[f64],
        x_dot: &[f64],
        trace: &mut Trace,
        y_bar: &[f64],
        y_dot_bar: &[f64],
        grad: &mut [f64],
        x_bar: Option<&mut [f64]>,
        x_dot_bar: Option<&mut [f64]>,
    ) {
        let starts = self.layer_starts();
        let rows = trace.rows;
        let n = rows * self.n_out();
        trace.bar.clear();
        trace.bar.extend_from_slice(&y_bar[..n]);
        trace.dot_bar.clear();
        trace.dot_bar.extend_from_slice(&y_dot_bar[..n]);
        let want_input = x_bar.is_some() || x_dot_bar.is_some();
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let p = &params[starts[l]..starts[l + 1]];
            let (w, _, idt) = layer.split(p);
            let n_out = layer.n_out;
            self.tangent_layer_bars(l, idt, trace);
            let (input, input_dot): (&[f64], &[f64]) = if l == 0 {
                (x, x_dot)
            } else {
                (&trace.layers[l - 1].out, &trace.layers[l - 1].out_dot)
            };
            let g = &mut grad[starts[l]..starts[l + 1]];
            layer_param_grad(layer, input, &trace.z_bar, rows, g);
            // ẋᵀ·ż̄ joins W̄; ż̄ has no bias part
            gemm(
                Operand::new(input_dot, rows, layer.n_in).t(),
                Operand::new(&trace.z_dot_bar, rows, n_out),
                &mut g[..layer.n_in * n_out],
                1.0,
            );
            if let (_, _, Some(io)) = layer.offsets() {
                let t = &trace.layers[l];
                let gd = &mut g[io..io + n_out];
                for r in 0..rows {
                    let o = r * n_out;
                    for k in 0..n_out {
                        gd[k] += trace.bar[o + k] * t.act[o + k]
                            + trace.dot_bar[o + k] * t.d1[o + k] * t.z_dot[o + k];
                    }
                }
            }
            if l == 0 && !want_input {
                break;
            }
            let (z_bar, bar) = (&trace.z_bar, &mut trace.bar);
            to_input(layer, w, z_bar, rows, bar, &mut trace.bar_in);
            let (z_dot_bar, dot_bar) = (&trace.z_dot_bar, &mut trace.dot_bar);
            to_input(layer, w, z_dot_bar, rows, dot_bar, &mut trace.dot_bar_in);
        }
        if let Some(xb) = x_bar {
            xb[..trace.bar.len()].copy_from_slice(&trace.bar);
        }
        if let Some(xb) = x_dot_bar {
            xb[..trace.dot_bar.len()].copy_from_slice(&trace.dot_bar);
        }
    }

    /// z̄ and ż̄ of layer `l` from the output adjoints in `trace`.
    fn tangent_layer_bars(&self, l: usize, idt: Option<&[f64]>, trace: &mut Trace) {
        let n_out = self.layers[l].n_out;
        let rows = trace.rows;
        let t = &trace.layers[l];
        fit(&mut trace.z_bar, rows * n_out);
        fit(&mut trace.z_dot_bar, rows * n_out);
        for r in 0..rows {
            let o = r * n_out;
            for k in 0..n_out {
                let d = idt.map_or(1.0, |d| d[k]);
                let i = o + k;
                let dot_bar = trace.dot_bar[i] * d;
                trace.z_dot_bar[i] = dot_bar * t.d1[i];
                trace.z_bar[i] = trace.bar[i] * d * t.d1[i] + dot_bar * t.d2[i] * t.z_dot[i];
            }
        }
    }
}
