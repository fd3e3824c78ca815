//! A one-hidden-layer network with a single output, evaluated one input
//! row at a time:
//!
//! y = Σ_n v_n φ(z_n),  z_n = Σ_d W_nd x_d − b_n,
//!
//! its parameters one flat slice: W output-major (n_hidden rows of n_in
//! weights, one row per hidden neuron: the transpose of a [`Layer`]'s
//! n_in × n_out), then b (n_hidden), then v (n_hidden). The bias is
//! subtracted. This is NEP's network (`nep.txt`'s layout and GPUMD's
//! signs); the output bias stays with the caller, which may split it (NEP5
//! has one per element besides the shared one).
//!
//! Why a row path next to the batched [`Network`] passes: NEP evaluates its
//! network inside a per-atom sweep, one descriptor at a time, and at one
//! row a blocked product's packing costs more than the arithmetic. The sums
//! run left to right over the inputs, and φ is [`Activation::eval`] (libm's
//! tanh), so values match NEP_CPU's loops to the last bit.
//!
//! The passes, for J = ȳ·y + ẏ̄·ẏ with the tangent ż = W ẋ,
//! ẏ = Σ_n v_n φ'(z_n) ż_n (as in [`passes`](super::passes), specialised):
//!
//! - v̄ = ȳ φ(z) + ẏ̄ φ'(z) ż;
//! - z̄ = ȳ v φ'(z) + ẏ̄ v φ''(z) ż,  ż̄ = ẏ̄ v φ'(z);
//! - W̄ = z̄ xᵀ + ż̄ ẋᵀ,  b̄ = −z̄ (the bias is subtracted);
//! - x̄ = Wᵀ z̄,  ẋ̄ = Wᵀ ż̄.
//!
//! [`Layer`]: super::Layer
//! [`Network`]: super::Network

use super::Activation;
use std::ops::Range;

/// Shape of a one-hidden-layer, one-output network (see the module docs
/// for the parameter layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perceptron {
    /// Input width.
    pub n_in: usize,
    /// Hidden neurons.
    pub n_hidden: usize,
    /// φ of the hidden layer.
    pub activation: Activation,
}

/// Per hidden neuron, what a forward (and tangent) pass keeps for the
/// input gradient and the reverse pass; reused from row to row.
#[derive(Clone, Debug, Default)]
pub struct RowTrace {
    /// φ(z).
    act: Vec<f64>,
    /// φ'(z).
    d1: Vec<f64>,
    /// φ''(z).
    d2: Vec<f64>,
    /// ż (after [`Perceptron::tangent`]).
    z_dot: Vec<f64>,
}

impl RowTrace {
    /// The hidden activations φ(z) of the last forward pass.
    pub fn hidden(&self) -> &[f64] {
        &self.act
    }

    fn resize(&mut self, n: usize) {
        for v in [&mut self.act, &mut self.d1, &mut self.d2, &mut self.z_dot] {
            v.resize(n, 0.0);
        }
    }
}

/// The three blocks of a network's parameter slice.
struct Params<'a> {
    w: &'a [f64],
    b: &'a [f64],
    v: &'a [f64],
}

impl Perceptron {
    /// Number of parameters: n_hidden · (n_in + 2).
    pub fn n_params(&self) -> usize {
        self.n_hidden * (self.n_in + 2)
    }

    /// Where W lies in the network's slice.
    pub fn weights(&self) -> Range<usize> {
        0..self.n_hidden * self.n_in
    }

    /// Where b lies in the network's slice.
    pub fn biases(&self) -> Range<usize> {
        let start = self.weights().end;
        start..start + self.n_hidden
    }

    /// Where v lies in the network's slice.
    pub fn outputs(&self) -> Range<usize> {
        let start = self.biases().end;
        start..start + self.n_hidden
    }

    fn split<'a>(&self, p: &'a [f64]) -> Params<'a> {
        Params {
            w: &p[self.weights()],
            b: &p[self.biases()],
            v: &p[self.outputs()],
        }
    }

    /// Row n of W.
    #[inline]
    fn row<'a>(&self, w: &'a [f64], n: usize) -> &'a [f64] {
        &w[n * self.n_in..(n + 1) * self.n_in]
    }

    /// y for the input row `x`, keeping φ(z) and its derivatives in
    /// `trace`; `p` is the network's slice.
    #[inline]
    pub fn forward(&self, p: &[f64], x: &[f64], trace: &mut RowTrace) -> f64 {
        let Params { w, b, v } = self.split(p);
        trace.resize(self.n_hidden);
        let mut y = 0.0;
        for n in 0..self.n_hidden {
            let z: f64 = self.row(w, n).iter().zip(x).map(|(w, x)| w * x).sum();
            let (a, d1, d2) = self.activation.eval(z - b[n]);
            (trace.act[n], trace.d1[n], trace.d2[n]) = (a, d1, d2);
            y += v[n] * a;
        }
        y
    }

    /// ∂y/∂x after [`Perceptron::forward`], written into `dx` (n_in).
    #[inline]
    pub fn input_gradient(&self, p: &[f64], trace: &RowTrace, dx: &mut [f64]) {
        let Params { w, v, .. } = self.split(p);
        let dx = &mut dx[..self.n_in];
        dx.fill(0.0);
        for n in 0..self.n_hidden {
            let g = v[n] * trace.d1[n];
            for (d, w) in dx.iter_mut().zip(self.row(w, n)) {
                *d += g * w;
            }
        }
    }

    /// The tangent ż = W ẋ after [`Perceptron::forward`], kept in `trace`.
    #[inline]
    pub fn tangent(&self, p: &[f64], x_dot: &[f64], trace: &mut RowTrace) {
        let w = &p[self.weights()];
        for n in 0..self.n_hidden {
            trace.z_dot[n] = self.row(w, n).iter().zip(x_dot).map(|(w, x)| w * x).sum();
        }
    }

    /// The reverse pass of J = ȳ·y + ẏ̄·ẏ after [`Perceptron::forward`] on
    /// `x` and [`Perceptron::tangent`] on `x_dot`: adds ∂J/∂θ to `grad`
    /// (the network's slice) and writes x̄ and ẋ̄ (n_in each).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn backward_tangent(
        &self,
        p: &[f64],
        (x, x_dot): (&[f64], &[f64]),
        trace: &RowTrace,
        (y_bar, y_dot_bar): (f64, f64),
        grad: &mut [f64],
        x_bar: &mut [f64],
        x_dot_bar: &mut [f64],
    ) {
        let Params { w, v, .. } = self.split(p);
        let (wr, br, vr) = (self.weights(), self.biases(), self.outputs());
        let (x_bar, x_dot_bar) = (&mut x_bar[..self.n_in], &mut x_dot_bar[..self.n_in]);
        x_bar.fill(0.0);
        x_dot_bar.fill(0.0);
        for n in 0..self.n_hidden {
            let (a, d1, d2, z_dot) = (trace.act[n], trace.d1[n], trace.d2[n], trace.z_dot[n]);
            grad[vr.start + n] += y_bar * a + y_dot_bar * (d1 * z_dot);
            let z_bar = y_bar * v[n] * d1 + y_dot_bar * v[n] * d2 * z_dot;
            let z_dot_bar = y_dot_bar * v[n] * d1;
            grad[br.start + n] -= z_bar;
            let row = self.row(w, n);
            let g_row = &mut grad[wr.start + n * self.n_in..wr.start + (n + 1) * self.n_in];
            for d in 0..self.n_in {
                g_row[d] += z_bar * x[d] + z_dot_bar * x_dot[d];
                x_bar[d] += z_bar * row[d];
                x_dot_bar[d] += z_dot_bar * row[d];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> (Perceptron, Vec<f64>) {
        let net = Perceptron {
            n_in: 5,
            n_hidden: 4,
            activation: Activation::Tanh,
        };
        let p = (0..net.n_params())
            .map(|i| ((i * 37 + 11) % 23) as f64 / 23.0 - 0.5)
            .collect();
        (net, p)
    }

    /// J(x, ẋ; θ) = ȳ·y(x) + ẏ̄·ẏ(x, ẋ), ẏ by the input gradient.
    fn objective(net: &Perceptron, p: &[f64], x: &[f64], x_dot: &[f64], bars: (f64, f64)) -> f64 {
        let mut trace = RowTrace::default();
        let y = net.forward(p, x, &mut trace);
        let mut dx = vec![0.0; net.n_in];
        net.input_gradient(p, &trace, &mut dx);
        let y_dot: f64 = dx.iter().zip(x_dot).map(|(a, b)| a * b).sum();
        bars.0 * y + bars.1 * y_dot
    }

    #[test]
    fn reverse_pass_matches_finite_differences() {
        let (net, p) = net();
        let x = [0.3, -0.2, 0.8, 0.05, -0.6];
        let x_dot = [0.1, 0.4, -0.3, 0.7, 0.2];
        let bars = (0.7, 1.3);
        let mut trace = RowTrace::default();
        net.forward(&p, &x, &mut trace);
        net.tangent(&p, &x_dot, &mut trace);
        let mut grad = vec![0.0; net.n_params()];
        let (mut x_bar, mut x_dot_bar) = (vec![0.0; 5], vec![0.0; 5]);
        net.backward_tangent(
            &p,
            (&x, &x_dot),
            &trace,
            bars,
            &mut grad,
            &mut x_bar,
            &mut x_dot_bar,
        );
        let h = 1e-6;
        for k in 0..p.len() {
            let (mut pp, mut pm) = (p.clone(), p.clone());
            pp[k] += h;
            pm[k] -= h;
            let fd = (objective(&net, &pp, &x, &x_dot, bars)
                - objective(&net, &pm, &x, &x_dot, bars))
                / (2.0 * h);
            assert!((fd - grad[k]).abs() < 1e-8, "θ_{k}: {fd} vs {}", grad[k]);
        }
        for d in 0..5 {
            let (mut xp, mut xm) = (x, x);
            xp[d] += h;
            xm[d] -= h;
            let fd = (objective(&net, &p, &xp, &x_dot, bars)
                - objective(&net, &p, &xm, &x_dot, bars))
                / (2.0 * h);
            assert!((fd - x_bar[d]).abs() < 1e-8, "x_{d}");
            let (mut vp, mut vm) = (x_dot, x_dot);
            vp[d] += h;
            vm[d] -= h;
            let fd = (objective(&net, &p, &x, &vp, bars) - objective(&net, &p, &x, &vm, bars))
                / (2.0 * h);
            assert!((fd - x_dot_bar[d]).abs() < 1e-8, "ẋ_{d}");
        }
    }

    /// The row passes agree with the batched [`Network`](crate::nn::Network)
    /// passes on the same network in [`Layer`](crate::nn::Layer)'s layout
    /// (W transposed, b negated, v as a bias-free identity layer).
    #[test]
    fn row_passes_match_the_batched_passes() {
        use crate::nn::{Layer, Network, Trace};
        let (net, p) = net();
        let (n_in, n_h) = (net.n_in, net.n_hidden);
        let batched = Network::new(vec![
            Layer {
                n_in,
                n_out: n_h,
                bias: true,
                timestep: false,
                resnet: false,
                activation: Activation::Tanh,
            },
            Layer {
                n_in: n_h,
                n_out: 1,
                bias: false,
                timestep: false,
                resnet: false,
                activation: Activation::Identity,
            },
        ]);
        let mut q = Vec::with_capacity(batched.n_params());
        q.extend((0..n_in * n_h).map(|k| p[(k % n_h) * n_in + k / n_h]));
        q.extend(p[net.biases()].iter().map(|b| -b));
        q.extend_from_slice(&p[net.outputs()]);
        let x = [0.3, -0.2, 0.8, 0.05, -0.6];
        let x_dot = [0.1, 0.4, -0.3, 0.7, 0.2];
        let bars = (0.7, 1.3);

        let mut row = RowTrace::default();
        let y = net.forward(&p, &x, &mut row);
        net.tangent(&p, &x_dot, &mut row);
        let mut grad = vec![0.0; net.n_params()];
        let (mut x_bar, mut x_dot_bar) = (vec![0.0; n_in], vec![0.0; n_in]);
        net.backward_tangent(
            &p,
            (&x, &x_dot),
            &row,
            bars,
            &mut grad,
            &mut x_bar,
            &mut x_dot_bar,
        );

        let mut trace = Trace::default();
        batched.forward(&q, &x, 1, &mut trace, true);
        batched.tangent(&q, &x_dot, &mut trace);
        let mut grad_b = vec![0.0; batched.n_params()];
        let (mut x_bar_b, mut x_dot_bar_b) = (vec![0.0; n_in], vec![0.0; n_in]);
        batched.backward_tangent(
            &q,
            &x,
            &x_dot,
            &mut trace,
            &[bars.0],
            &[bars.1],
            &mut grad_b,
            Some(&mut x_bar_b),
            Some(&mut x_dot_bar_b),
        );
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * (1.0 + a.abs());
        assert!(close(y, trace.output()[0]));
        for k in 0..n_in * n_h {
            assert!(close(grad[(k % n_h) * n_in + k / n_h], grad_b[k]), "W {k}");
        }
        for n in 0..n_h {
            assert!(close(grad[net.biases().start + n], -grad_b[n_in * n_h + n]));
            assert!(close(
                grad[net.outputs().start + n],
                grad_b[n_in * n_h + n_h + n]
            ));
        }
        for d in 0..n_in {
            assert!(close(x_bar[d], x_bar_b[d]) && close(x_dot_bar[d], x_dot_bar_b[d]));
        }
    }
}
