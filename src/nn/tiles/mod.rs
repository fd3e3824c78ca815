//! Tile-by-tile passes for networks evaluated on many rows (DeePMD's
//! embedding networks: one row per neighbour): a tile of a few dozen rows
//! goes through every layer, forward and tangent, before the next tile, so
//! that its values stay in the L1/L2 cache and each element-wise step
//! (bias, activation and its derivatives, timestep, residual, the
//! tangent's product with φ') runs on data just produced by the matrix
//! product ([`super::kernels`]).
//!
//! [`Network::value_tiles`] hands y and ẏ of each tile to the caller as
//! soon as they are computed, and keeps, when asked, a compact trace: each
//! layer's φ(z) and ż (for tanh and identity layers, φ' and φ'' follow
//! from φ). [`Network::param_vjp`] gives ∇θ Σ_rows (ȳ·y + ẏ̄·ẏ), tile by
//! tile (the reverse pass of [`super::passes`]), replaying each tile's
//! forward pass from that trace (element-wise work only: no matrix
//! product, no tanh) or, without one, recomputing it.

mod layers;

use super::kernels::{Cols, Isa, Vector, padded};
use super::{Activation, Layer, Network, Residual};
use layers::{backward_tile, forward_tile, replay_tile, tile_input};

/// Values of a tile kept per row, about: rows per tile are this over the
/// widest padded layer, so that a layer's arrays stay in the L1/L2 cache.
const TILE_ELEMENTS: usize = 2048;

/// One layer laid out for the kernels: widths padded to whole vectors
/// with zeros, so that padded columns stay zero (or are never read).
#[derive(Clone, Debug)]
struct PackedLayer {
    n_in: usize,
    n_out: usize,
    /// Padded n_in and n_out.
    ap: usize,
    bp: usize,
    /// W, n_in × bp.
    w: Vec<f64>,
    /// Wᵀ, n_out × ap (input adjoints).
    wt: Vec<f64>,
    /// b (zeros when the layer has none), bp.
    bias: Vec<f64>,
    /// The timestep or ones, bp: the element-wise loops multiply by it
    /// unconditionally (by 1.0 exactly when there is no timestep).
    scale: Vec<f64>,
    /// Whether the layer has a timestep.
    timestep: bool,
    residual: Residual,
    activation: Activation,
}

impl Default for PackedLayer {
    fn default() -> Self {
        PackedLayer {
            n_in: 0,
            n_out: 0,
            ap: 0,
            bp: 0,
            w: Vec::new(),
            wt: Vec::new(),
            bias: Vec::new(),
            scale: Vec::new(),
            timestep: false,
            residual: Residual::None,
            activation: Activation::Identity,
        }
    }
}

impl PackedLayer {
    /// The output columns (W's).
    fn out_cols(&self) -> Cols {
        Cols {
            n: self.n_out,
            padded: self.bp,
        }
    }

    /// The input columns (Wᵀ's).
    fn in_cols(&self) -> Cols {
        Cols {
            n: self.n_in,
            padded: self.ap,
        }
    }

    /// Lays out `layer` with parameters `p`, reusing the buffers.
    fn fill(&mut self, layer: &Layer, p: &[f64]) {
        let (n_in, n_out) = (layer.n_in, layer.n_out);
        let (ap, bp) = (padded(n_in), padded(n_out));
        let (w, b, idt) = layer.split(p);
        zeroed(&mut self.w, n_in * bp);
        zeroed(&mut self.wt, n_out * ap);
        for k in 0..n_in {
            for j in 0..n_out {
                self.w[k * bp + j] = w[k * n_out + j];
                self.wt[j * ap + k] = w[k * n_out + j];
            }
        }
        let pad = |out: &mut Vec<f64>, v: Option<&[f64]>, default: f64| {
            out.clear();
            out.resize(bp, 0.0);
            match v {
                Some(v) => out[..n_out].copy_from_slice(v),
                None => out[..n_out].fill(default),
            }
        };
        pad(&mut self.bias, b, 0.0);
        pad(&mut self.scale, idt, 1.0);
        (self.n_in, self.n_out, self.ap, self.bp) = (n_in, n_out, ap, bp);
        self.timestep = idt.is_some();
        self.residual = layer.residual();
        self.activation = layer.activation;
    }
}

/// One layer's values for the current tile, tile × n_out each.
#[derive(Clone, Debug, Default)]
struct TileLayer {
    /// φ(z).
    act: Vec<f64>,
    d1: Vec<f64>,
    d2: Vec<f64>,
    /// y.
    y: Vec<f64>,
    /// ż and ẏ.
    z_dot: Vec<f64>,
    y_dot: Vec<f64>,
}

/// One layer's gradient, in the packed layout.
#[derive(Clone, Debug, Default)]
struct LayerGrad {
    w: Vec<f64>,
    b: Vec<f64>,
    idt: Vec<f64>,
}

/// The adjoints of the current tile: output (ȳ, ẏ̄), pre-activation (z̄,
/// ż̄) and input (x̄, ẋ̄), tile × the widest layer each.
#[derive(Clone, Debug, Default)]
struct Bars {
    y: Vec<f64>,
    y_dot: Vec<f64>,
    z: Vec<f64>,
    z_dot: Vec<f64>,
    x: Vec<f64>,
    x_dot: Vec<f64>,
}

/// Scratch of the tile passes (packed weights, one tile's values and
/// adjoints, gradient accumulators), reused from call to call.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    packed: Vec<PackedLayer>,
    layers: Vec<TileLayer>,
    bars: Bars,
    grads: Vec<LayerGrad>,
    /// Rows per tile.
    tile: usize,
}

/// `v` as `n` zeros.
fn zeroed(v: &mut Vec<f64>, n: usize) {
    v.clear();
    v.resize(n, 0.0);
}

/// `v` with at least `n` elements (grown with zeros, never cleared).
fn at_least(v: &mut Vec<f64>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

impl Stream {
    /// Lays out `net`'s parameters and sizes the tile buffers (whose
    /// contents every pass writes before it reads them).
    fn pack(&mut self, net: &Network, params: &[f64]) {
        let starts = net.layer_starts();
        self.packed
            .resize_with(net.layers.len(), PackedLayer::default);
        for (l, layer) in net.layers.iter().enumerate() {
            self.packed[l].fill(layer, &params[starts[l]..starts[l + 1]]);
        }
        let widest = self
            .packed
            .iter()
            .map(|p| p.n_out.max(p.n_in))
            .max()
            .unwrap_or(1);
        self.tile = (TILE_ELEMENTS / widest).clamp(4, 64) / 4 * 4;
        self.layers
            .resize_with(net.layers.len(), TileLayer::default);
        for (t, p) in self.layers.iter_mut().zip(&self.packed) {
            let n = self.tile * p.n_out;
            for v in [
                &mut t.act,
                &mut t.d1,
                &mut t.d2,
                &mut t.y,
                &mut t.z_dot,
                &mut t.y_dot,
            ] {
                at_least(v, n);
            }
        }
        let n = self.tile * widest;
        let b = &mut self.bars;
        for v in [
            &mut b.y,
            &mut b.y_dot,
            &mut b.z,
            &mut b.z_dot,
            &mut b.x,
            &mut b.x_dot,
        ] {
            at_least(v, n);
        }
    }

    /// Zeroes the gradient accumulators.
    fn clear_grads(&mut self) {
        self.grads
            .resize_with(self.packed.len(), LayerGrad::default);
        for (g, p) in self.grads.iter_mut().zip(&self.packed) {
            zeroed(&mut g.w, p.n_in * p.bp);
            zeroed(&mut g.b, p.bp);
            zeroed(&mut g.idt, p.bp);
        }
    }

    /// Adds the accumulated gradient to `grad` (the network's layout).
    fn scatter_grads(&self, net: &Network, grad: &mut [f64]) {
        let starts = net.layer_starts();
        for (l, layer) in net.layers.iter().enumerate() {
            let (g, p) = (&self.grads[l], &self.packed[l]);
            let out = &mut grad[starts[l]..starts[l + 1]];
            for k in 0..p.n_in {
                for j in 0..p.n_out {
                    out[k * p.n_out + j] += g.w[k * p.bp + j];
                }
            }
            let (_, bo, io) = layer.offsets();
            if let Some(bo) = bo {
                for (o, v) in out[bo..bo + p.n_out].iter_mut().zip(&g.b) {
                    *o += v;
                }
            }
            if let Some(io) = io {
                for (o, v) in out[io..io + p.n_out].iter_mut().zip(&g.idt) {
                    *o += v;
                }
            }
        }
    }
}

/// What [`Network::value_tiles`] hands over per tile: `(first_row, m, y,
/// ẏ)`, m × n_out each (ẏ empty without a tangent).
type TileOutputs<'a> = dyn FnMut(usize, usize, &[f64], &[f64]) + 'a;

/// The adjoints of a tile's rows, as [`Network::param_vjp`] asks for them:
/// `(first_row, m, ȳ, ẏ̄, n_out)`.
type RowBars<'a> = dyn FnMut(usize, usize, &mut [f64], &mut [f64], usize) + 'a;

/// The rows the tile passes run over.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    /// Input rows (rows × n_in).
    pub x: &'a [f64],
    /// Input tangents (rows × n_in); `None`: no tangent.
    pub x_dot: Option<&'a [f64]>,
    /// Number of rows.
    pub rows: usize,
    /// For [`Network::param_vjp`]: the trace a [`Network::value_tiles`]
    /// call kept for these rows, replayed instead of recomputed.
    pub kept: Option<&'a [f64]>,
}

/// Values per row of a kept trace: each layer's φ(z), and ż when
/// `tangent`; `None` when an activation's derivatives cannot be had from
/// φ(z) alone (then nothing is kept).
fn kept_per_row(packed: &[PackedLayer], tangent: bool) -> Option<usize> {
    let replayable = |a: Activation| a == Activation::Tanh || a.is_identity();
    packed
        .iter()
        .all(|p| replayable(p.activation))
        .then(|| packed.iter().map(|p| p.n_out).sum::<usize>() * (1 + usize::from(tangent)))
}

/// The tile loop of [`Network::value_tiles`].
#[inline(always)]
fn value_tiles<V: Vector>(
    s: &mut Stream,
    rows: &Rows,
    mut keep: Option<&mut Vec<f64>>,
    consume: &mut TileOutputs,
) {
    let Some(last) = s.packed.last() else {
        return;
    };
    let (n_in, n_out) = (s.packed[0].n_in, last.n_out);
    let tangent = rows.x_dot.is_some();
    let per_row = kept_per_row(&s.packed, tangent);
    if let Some(k) = keep.as_deref_mut() {
        // every kept value is written below: no need to clear the rest
        k.resize(per_row.map_or(0, |n| n * rows.rows), 0.0);
    }
    let mut start = 0;
    while start < rows.rows {
        let m = s.tile.min(rows.rows - start);
        let (xv, xdv) = tile_input(rows.x, rows.x_dot, start, n_in);
        let kept = match (keep.as_deref_mut(), per_row) {
            (Some(k), Some(n)) => Some(&mut k[start * n..(start + m) * n]),
            _ => None,
        };
        forward_tile::<V>(&s.packed, &mut s.layers, xv, xdv, m, false, kept);
        let out = &s.layers[s.layers.len() - 1];
        let y_dot: &[f64] = if tangent {
            &out.y_dot[..m * n_out]
        } else {
            &[]
        };
        consume(start, m, &out.y[..m * n_out], y_dot);
        start += m;
    }
}

/// The tile loop of [`Network::param_vjp`].
#[inline(always)]
fn vjp_tiles<V: Vector>(s: &mut Stream, rows: &Rows, bars: &mut RowBars) {
    let Some(last) = s.packed.last() else {
        return;
    };
    let (n_in, bp) = (s.packed[0].n_in, last.n_out);
    let tangent = rows.x_dot.is_some();
    let kept = match (rows.kept, kept_per_row(&s.packed, tangent)) {
        (Some(k), Some(n)) if k.len() == n * rows.rows => Some((k, n)),
        _ => None,
    };
    let mut start = 0;
    while start < rows.rows {
        let m = s.tile.min(rows.rows - start);
        let (xv, xdv) = tile_input(rows.x, rows.x_dot, start, n_in);
        let tile = kept.map(|(k, n)| &k[start * n..(start + m) * n]);
        match tile {
            Some(t) => replay_tile(&s.packed, &mut s.layers, xv, xdv, m, t),
            None => forward_tile::<V>(&s.packed, &mut s.layers, xv, xdv, m, tangent, None),
        }
        let b = &mut s.bars;
        b.y[..m * bp].fill(0.0);
        b.y_dot[..m * bp].fill(0.0);
        bars(start, m, &mut b.y[..m * bp], &mut b.y_dot[..m * bp], bp);
        let (packed, layers, grads) = (&s.packed, &s.layers, &mut s.grads);
        backward_tile::<V>(packed, layers, tile, xv, xdv, m, b, grads);
        start += m;
    }
}

/// Copies of the tile loops compiled for each instruction set.
macro_rules! compiled_for {
    ($name:ident, $features:literal, $vector:ty) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            use super::*;

            #[target_feature(enable = $features)]
            pub fn value(
                s: &mut Stream,
                rows: &Rows,
                keep: Option<&mut Vec<f64>>,
                consume: &mut TileOutputs,
            ) {
                value_tiles::<$vector>(s, rows, keep, consume)
            }

            #[target_feature(enable = $features)]
            pub fn vjp(s: &mut Stream, rows: &Rows, bars: &mut RowBars) {
                vjp_tiles::<$vector>(s, rows, bars)
            }
        }
    };
}

compiled_for!(avx512, "avx512f,fma", super::super::kernels::Avx512);
compiled_for!(avx2, "avx2,fma", super::super::kernels::Avx2);

impl Network {
    /// Output y and tangent ẏ (when `rows.x_dot` is given) of the rows,
    /// tile by tile: `consume(first_row, m, y, ẏ)` gets rows
    /// first_row..first_row + m of them (m × n_out each, ẏ empty without
    /// a tangent) as soon as they are computed. With `keep`, the trace a
    /// later [`Network::param_vjp`] on the same rows and parameters
    /// replays is written there (each layer's φ(z) and ż: a few times
    /// the output's size; left empty for activations other than tanh and
    /// the identity, whose derivatives it would not give).
    pub fn value_tiles(
        &self,
        params: &[f64],
        rows: &Rows,
        s: &mut Stream,
        keep: Option<&mut Vec<f64>>,
        mut consume: impl FnMut(usize, usize, &[f64], &[f64]),
    ) {
        s.pack(self, params);
        let consume: &mut TileOutputs = &mut consume;
        match Isa::detect() {
            // SAFETY: the CPU has the features, checked by `detect`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::value(s, rows, keep, consume) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::value(s, rows, keep, consume) },
            _ => value_tiles::<f64>(s, rows, keep, consume),
        }
    }

    /// [`Network::value_tiles`] appending y and ẏ to `y` and `y_dot`.
    #[allow(clippy::too_many_arguments)]
    pub fn value_and_tangent(
        &self,
        params: &[f64],
        x: &[f64],
        x_dot: Option<&[f64]>,
        rows: usize,
        s: &mut Stream,
        y: &mut Vec<f64>,
        y_dot: &mut Vec<f64>,
    ) {
        let rows = Rows {
            x,
            x_dot,
            rows,
            kept: None,
        };
        self.value_tiles(params, &rows, s, None, |_, _, yt, ydt| {
            y.extend_from_slice(yt);
            y_dot.extend_from_slice(ydt);
        });
    }

    /// Adds to `grad` (the network's layout) ∇θ Σ_rows (ȳ·y + ẏ̄·ẏ) over
    /// `rows` (without a tangent: Σ ȳ·y). The adjoints are asked for tile
    /// by tile: `bars(first_row, m, ȳ, ẏ̄, n_out)` fills rows
    /// first_row..first_row + m of them (m × n_out, zeroed). Each tile's
    /// forward pass is replayed from `rows.kept` when given (and of the
    /// right size), recomputed otherwise, just before its reverse pass.
    pub fn param_vjp(
        &self,
        params: &[f64],
        rows: &Rows,
        s: &mut Stream,
        mut bars: impl FnMut(usize, usize, &mut [f64], &mut [f64], usize),
        grad: &mut [f64],
    ) {
        s.pack(self, params);
        s.clear_grads();
        let bars: &mut RowBars = &mut bars;
        match Isa::detect() {
            // SAFETY: the CPU has the features, checked by `detect`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::vjp(s, rows, bars) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::vjp(s, rows, bars) },
            _ => vjp_tiles::<f64>(s, rows, bars),
        }
        s.scatter_grads(self, grad);
    }
}

#[cfg(test)]
mod tests;
