//! Dense networks shared by the model families (DeePMD's embedding and
//! fitting networks; later aenet's Behler–Parrinello networks).
//!
//! A [`Layer`] maps a row x (n_in) to
//!
//! y = r(x) + d ⊙ φ(x·W + b)
//!
//! with W n_in × n_out row-major (deepmd-kit's layout, y = x·W + b), an
//! optional bias b, an optional timestep d (`idt`, deepmd-kit's
//! `resnet_dt`; d = 1 without it) and deepmd-kit's residual rule: with
//! `resnet` on, r(x) = x when n_out = n_in, r(x) = [x, x] when
//! n_out = 2·n_in, and no residual otherwise (r = 0 when `resnet` is off).
//!
//! A [`Network`] is a stack of layers whose parameters live in one flat
//! slice, layer after layer, each as w (n_in·n_out), then b (n_out) if
//! present, then idt (n_out) if present.
//!
//! Every pass works on a batch of rows at once (one matrix product per
//! layer for all atoms or neighbours): [`Network::forward`] keeps in a
//! [`Trace`] what the backward passes need; [`Network::tangent`] carries a
//! forward-mode tangent ẋ → ẏ; [`Network::backward`] gives the input
//! adjoint and the parameter gradient of ȳ·y; [`Network::backward_tangent`]
//! the gradient of ȳ·y + ẏ̄·ẏ, through the tangent pass (the force part of
//! a model's vjp).
//!
//! A [`Perceptron`] is the one-hidden-layer, one-output network NEP uses,
//! in NEP's layout (weights output-major, biases subtracted), with the
//! same passes evaluated one row at a time.

pub mod activation;
mod fastmath;
pub mod gemm;
mod kernels;
mod passes;
mod perceptron;
mod simd;
mod tiles;

pub use activation::Activation;
pub use passes::Trace;
pub use perceptron::{Perceptron, RowTrace};
pub use tiles::{KeptTrace, Rows, Stream, Values};

/// What the tile passes ([`Network::value_tiles`], [`Network::param_vjp`])
/// compute in (float32: weights, values, products and tanh, each tile's
/// gradient summed into f64); their inputs, outputs and gradients are f64
/// either way.
pub use crate::precision::Precision;

/// The residual connection a layer applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residual {
    /// y = d ⊙ φ(z).
    None,
    /// y = x + d ⊙ φ(z) (n_out = n_in).
    Same,
    /// y = [x, x] + d ⊙ φ(z) (n_out = 2·n_in).
    Double,
}

/// One dense layer's shape and options; its parameters are a slice of the
/// owning network's (see the module docs for the layout).
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
    /// Whether the layer has a bias b.
    pub bias: bool,
    /// Whether the layer has a timestep idt.
    pub timestep: bool,
    /// deepmd-kit's `resnet` flag (effective only for matching widths).
    pub resnet: bool,
    /// φ.
    pub activation: Activation,
}

impl Layer {
    /// Number of parameters: n_in·n_out weights, then n_out biases and n_out
    /// timesteps when present.
    pub fn n_params(&self) -> usize {
        self.n_out * (self.n_in + usize::from(self.bias) + usize::from(self.timestep))
    }

    /// The residual connection the widths and the flag give.
    pub fn residual(&self) -> Residual {
        if !self.resnet {
            Residual::None
        } else if self.n_out == self.n_in {
            Residual::Same
        } else if self.n_out == 2 * self.n_in {
            Residual::Double
        } else {
            Residual::None
        }
    }

    /// Splits this layer's parameter slice into (w, b, idt).
    pub fn split<'a>(&self, p: &'a [f64]) -> (&'a [f64], Option<&'a [f64]>, Option<&'a [f64]>) {
        let (w, rest) = p.split_at(self.n_in * self.n_out);
        let (b, rest) = if self.bias {
            let (b, r) = rest.split_at(self.n_out);
            (Some(b), r)
        } else {
            (None, rest)
        };
        let idt = self.timestep.then(|| &rest[..self.n_out]);
        (w, b, idt)
    }

    /// Offsets of (w, b, idt) within this layer's parameter slice.
    pub fn offsets(&self) -> (usize, Option<usize>, Option<usize>) {
        let w = self.n_in * self.n_out;
        let b = self.bias.then_some(w);
        let idt = self
            .timestep
            .then_some(w + if self.bias { self.n_out } else { 0 });
        (0, b, idt)
    }
}

/// A stack of dense layers.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Network {
    /// The layers, input first.
    pub layers: Vec<Layer>,
}

impl Network {
    /// deepmd-kit's hidden stack: one layer per width in `widths`, each with
    /// a bias, `resnet` on, a timestep when `timestep` and the widths allow a
    /// residual (n_out = n_in or 2·n_in, as deepmd-kit's `NativeLayer`).
    pub fn hidden(n_in: usize, widths: &[usize], activation: Activation, timestep: bool) -> Self {
        let mut layers = Vec::with_capacity(widths.len());
        let mut i_in = n_in;
        for &w in widths {
            layers.push(Layer {
                n_in: i_in,
                n_out: w,
                bias: true,
                timestep: timestep && (w == i_in || w == 2 * i_in),
                resnet: true,
                activation,
            });
            i_in = w;
        }
        Network::new(layers)
    }

    /// A network of these layers.
    pub fn new(layers: Vec<Layer>) -> Self {
        Network { layers }
    }

    /// Input width (0 for an empty network).
    pub fn n_in(&self) -> usize {
        self.layers.first().map_or(0, |l| l.n_in)
    }

    /// Output width (0 for an empty network).
    pub fn n_out(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out)
    }

    /// Total number of parameters.
    pub fn n_params(&self) -> usize {
        self.layers.iter().map(Layer::n_params).sum()
    }

    /// Start of each layer's parameters within the network's slice, and the
    /// total as a last entry.
    pub fn layer_starts(&self) -> Vec<usize> {
        let mut starts = Vec::with_capacity(self.layers.len() + 1);
        let mut at = 0;
        starts.push(0);
        for l in &self.layers {
            at += l.n_params();
            starts.push(at);
        }
        starts
    }

    /// The parameter range of each layer, for a network whose parameters
    /// start at `base` of a model's vector (a Kalman filter's blocks).
    pub fn layer_ranges(&self, base: usize) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let starts = self.layer_starts();
        (0..self.layers.len()).map(move |l| base + starts[l]..base + starts[l + 1])
    }

    /// Checks that consecutive widths agree.
    pub fn check(&self) -> Result<(), String> {
        for (k, pair) in self.layers.windows(2).enumerate() {
            if pair[0].n_out != pair[1].n_in {
                return Err(format!(
                    "layer {k} has {} outputs but layer {} has {} inputs",
                    pair[0].n_out,
                    k + 1,
                    pair[1].n_in
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
