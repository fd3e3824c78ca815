//! Tile-by-tile passes for networks evaluated on many rows (DeePMD's
//! embedding networks, one row per neighbour, and its fitting networks,
//! one row per atom): a tile of a few dozen rows
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
//! [`Network::reverse_tiles`] is that sweep with what a network whose
//! inputs carry a gradient needs: each tile's outputs, and its input
//! adjoints x̄ and ẋ̄ (DeePMD's fitting networks: D̄ and Ḋ̄).
//!
//! The passes run in f64 or, for [`Precision::Float32`], in f32 (weights
//! packed as f32, tile values, products and tanh in f32): the rows come
//! in and the output adjoints are asked for as f64, converted per tile,
//! the outputs are handed over as computed ([`Values`]), the input
//! adjoints in f64, and each tile's
//! f32 parameter gradient is added to f64 sums, so that the rounding of
//! the sums does not grow with the number of rows.

mod elem;
mod layers;
mod sweeps;

use super::Precision;
use super::kernels::Cols;
use super::simd::{Elem, Isa, padded};
use super::{Activation, Layer, Network, Residual};
use crate::buffers::zeroed;
use elem::TileElem;
use sweeps::{InputBars, Reverse, value_tiles, vjp_tiles};

/// Values of a tile kept per row, about: rows per tile are this over the
/// widest layer output, so that a layer's arrays stay in the L1/L2 cache
/// (see [`tile_rows`]).
const TILE_ELEMENTS: usize = 2048;

/// Rows per tile at most.
const MAX_TILE: usize = 64;

/// Weights of a layer past which its tiles take [`MAX_TILE`] rows (a
/// deepmd-kit water example's fitting layer has 1600 × 240; the FEKF
/// paper's, 400 × 50).
const LARGE_LAYER: usize = 65_536;

/// One layer laid out for the kernels: widths padded to whole vectors
/// with zeros, so that padded columns stay zero (or are never read).
#[derive(Clone, Debug)]
struct PackedLayer<T> {
    n_in: usize,
    n_out: usize,
    /// Padded n_in and n_out.
    ap: usize,
    bp: usize,
    /// W, n_in × bp.
    w: Vec<T>,
    /// Wᵀ, n_out × ap (input adjoints).
    wt: Vec<T>,
    /// b (zeros when the layer has none), bp.
    bias: Vec<T>,
    /// The timestep or ones, bp: the element-wise loops multiply by it
    /// unconditionally (by 1.0 exactly when there is no timestep).
    scale: Vec<T>,
    /// Whether the layer has a timestep.
    timestep: bool,
    residual: Residual,
    activation: Activation,
    /// ż of a tile's rows when they are all w (a first layer with one
    /// input, every row's tangent one, as for DeePMD's G' = dG/ds): w
    /// repeated for a tile's rows, read instead of computed and kept;
    /// empty otherwise.
    unit_z_dot: Vec<T>,
}

impl<T> Default for PackedLayer<T> {
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
            unit_z_dot: Vec::new(),
        }
    }
}

impl<T> PackedLayer<T> {
    /// Whether a tile's ż of this layer is computed (and kept): with a
    /// tangent, unless it is [`PackedLayer::unit_z_dot`].
    fn computes_z_dot(&self, tangent: bool) -> bool {
        tangent && self.unit_z_dot.is_empty()
    }
}

impl<T: Elem> PackedLayer<T> {
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
        let (ap, bp) = (padded::<T>(n_in), padded::<T>(n_out));
        let (w, b, idt) = layer.split(p);
        zeroed(&mut self.w, n_in * bp);
        zeroed(&mut self.wt, n_out * ap);
        for k in 0..n_in {
            for j in 0..n_out {
                let v = T::from_f64(w[k * n_out + j]);
                self.w[k * bp + j] = v;
                self.wt[j * ap + k] = v;
            }
        }
        let pad = |out: &mut Vec<T>, v: Option<&[f64]>, default: T| {
            zeroed(out, bp);
            match v {
                Some(v) => {
                    for (o, &x) in out.iter_mut().zip(v) {
                        *o = T::from_f64(x);
                    }
                }
                None => out[..n_out].fill(default),
            }
        };
        pad(&mut self.bias, b, T::ZERO);
        pad(&mut self.scale, idt, T::ONE);
        (self.n_in, self.n_out, self.ap, self.bp) = (n_in, n_out, ap, bp);
        self.timestep = idt.is_some();
        self.residual = layer.residual();
        self.activation = layer.activation;
        self.unit_z_dot.clear();
    }
}

/// One layer's values for the current tile, tile × n_out each.
#[derive(Clone, Debug, Default)]
struct TileLayer<T> {
    /// φ(z).
    act: Vec<T>,
    d1: Vec<T>,
    d2: Vec<T>,
    /// y.
    y: Vec<T>,
    /// ż and ẏ.
    z_dot: Vec<T>,
    y_dot: Vec<T>,
}

/// One layer's gradient, in the packed layout.
#[derive(Clone, Debug, Default)]
struct LayerGrad<T> {
    w: Vec<T>,
    b: Vec<T>,
    idt: Vec<T>,
}

/// The adjoints of the current tile: output (ȳ, ẏ̄), pre-activation (z̄,
/// ż̄) and input (x̄, ẋ̄), tile × the widest layer each.
#[derive(Clone, Debug, Default)]
struct Bars<T> {
    y: Vec<T>,
    y_dot: Vec<T>,
    z: Vec<T>,
    z_dot: Vec<T>,
    x: Vec<T>,
    x_dot: Vec<T>,
}

/// Scratch of the tile passes in one element type (packed weights, one
/// tile's values and adjoints, gradient accumulators).
#[derive(Clone, Debug, Default)]
struct Tiles<T> {
    packed: Vec<PackedLayer<T>>,
    layers: Vec<TileLayer<T>>,
    bars: Bars<T>,
    /// The gradient: the sums in f64, one tile's in f32.
    grads: Vec<LayerGrad<T>>,
    /// The f64 sums of the tiles' gradients (f32 only).
    sums: Vec<LayerGrad<f64>>,
    /// The rows' inputs and input tangents converted (f32 only).
    x: Vec<T>,
    x_dot: Vec<T>,
    /// A tile's output adjoints in f64 (f32 only).
    y_wide: Vec<f64>,
    y_dot_wide: Vec<f64>,
    /// Rows per tile.
    tile: usize,
}

/// Scratch of the tile passes, reused from call to call: one set per
/// precision.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    double: Tiles<f64>,
    single: Tiles<f32>,
}

/// The compact trace [`Network::value_tiles`] keeps for
/// [`Network::param_vjp`], in the precision of the passes.
#[derive(Clone, Debug, Default)]
pub struct KeptTrace {
    double: Vec<f64>,
    single: Vec<f32>,
}

impl KeptTrace {
    /// The number of values kept.
    pub fn len(&self) -> usize {
        self.double.len() + self.single.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.double.is_empty() && self.single.is_empty()
    }
}

/// Rows per tile for these layers: as many as keep a tile's values of
/// the widest output in the L1/L2 cache (the adjoints are also as wide as
/// the inputs, but a fitting network's 400 descriptor values would leave
/// 4 rows), except that a layer with more than [`LARGE_LAYER`] weights
/// takes the most rows: each tile reads and adds into its whole weight
/// gradient, which then happens once per 64 rows rather than per few.
fn tile_rows<T>(packed: &[PackedLayer<T>]) -> usize {
    let widest_out = packed.iter().map(|p| p.n_out).max().unwrap_or(1);
    if packed.iter().any(|p| p.n_in * p.bp > LARGE_LAYER) {
        return MAX_TILE;
    }
    (TILE_ELEMENTS / widest_out).clamp(4, MAX_TILE) / 4 * 4
}

/// `v` with at least `n` elements (grown with zeros, never cleared).
fn at_least<T: Elem>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::ZERO);
    }
}

impl<T: TileElem> Tiles<T> {
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
        self.tile = tile_rows(&self.packed);
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
        if !T::WIDE {
            at_least(&mut self.y_wide, n);
            at_least(&mut self.y_dot_wide, n);
        }
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

    /// Fills the first layer's [`PackedLayer::unit_z_dot`] when `rows`
    /// have one input and every tangent is one (ż = 1·w, exactly as the
    /// product would give it).
    fn unit_tangent(&mut self, rows: &Rows) {
        let tile = self.tile;
        let Some(first) = self.packed.first_mut() else {
            return;
        };
        let ones = rows
            .x_dot
            .is_some_and(|d| first.n_in == 1 && d[..rows.rows].iter().all(|&v| v == 1.0));
        if ones {
            let w = &first.w[..first.n_out];
            first.unit_z_dot.clear();
            for _ in 0..tile {
                first.unit_z_dot.extend_from_slice(w);
            }
        }
    }

    /// Zeroes the gradient accumulators.
    fn clear_grads(&mut self) {
        zero_grads(&mut self.grads, &self.packed);
        if !T::WIDE {
            zero_grads(&mut self.sums, &self.packed);
        }
    }

    /// Adds the accumulated gradient to `grad` (the network's layout).
    fn scatter_grads(&self, net: &Network, grad: &mut [f64]) {
        if T::WIDE {
            scatter(&self.grads, &self.packed, net, grad)
        } else {
            scatter(&self.sums, &self.packed, net, grad)
        }
    }
}

/// Zeroed gradients for the layers of `packed`.
fn zero_grads<T: Elem, U: Elem>(grads: &mut Vec<LayerGrad<U>>, packed: &[PackedLayer<T>]) {
    grads.resize_with(packed.len(), LayerGrad::default);
    for (g, p) in grads.iter_mut().zip(packed) {
        zeroed(&mut g.w, p.n_in * p.bp);
        zeroed(&mut g.b, p.bp);
        zeroed(&mut g.idt, p.bp);
    }
}

/// Adds one tile's gradient to the f64 sums and zeroes it for the next.
#[inline(always)]
fn fold_tile<T: Elem>(tile: &mut [LayerGrad<T>], sums: &mut [LayerGrad<f64>]) {
    for (t, s) in tile.iter_mut().zip(sums) {
        for (tv, sv) in [
            (&mut t.w, &mut s.w),
            (&mut t.b, &mut s.b),
            (&mut t.idt, &mut s.idt),
        ] {
            for (x, acc) in tv.iter_mut().zip(sv.iter_mut()) {
                *acc += x.to_f64();
                *x = T::ZERO;
            }
        }
    }
}

/// Adds the gradient `grads` (packed as `packed`) to `grad` (the
/// network's layout).
fn scatter<T: Elem, U: Elem>(
    grads: &[LayerGrad<U>],
    packed: &[PackedLayer<T>],
    net: &Network,
    grad: &mut [f64],
) {
    let starts = net.layer_starts();
    for (l, layer) in net.layers.iter().enumerate() {
        let (g, p) = (&grads[l], &packed[l]);
        let out = &mut grad[starts[l]..starts[l + 1]];
        for k in 0..p.n_in {
            for j in 0..p.n_out {
                out[k * p.n_out + j] += g.w[k * p.bp + j].to_f64();
            }
        }
        let (_, bo, io) = layer.offsets();
        if let Some(bo) = bo {
            for (o, v) in out[bo..bo + p.n_out].iter_mut().zip(&g.b) {
                *o += v.to_f64();
            }
        }
        if let Some(io) = io {
            for (o, v) in out[io..io + p.n_out].iter_mut().zip(&g.idt) {
                *o += v.to_f64();
            }
        }
    }
}

/// One tile's y and ẏ as the passes computed them, m × n_out each (ẏ
/// empty without a tangent): f64, or f32 for [`Precision::Float32`]
/// (handed over as they are: widening them would cost a copy, and f32
/// values are what a caller may keep).
#[derive(Clone, Copy, Debug)]
pub enum Values<'a> {
    /// y and ẏ of f64 passes.
    Double(&'a [f64], &'a [f64]),
    /// y and ẏ of f32 passes.
    Single(&'a [f32], &'a [f32]),
}

impl<'a> Values<'a> {
    /// y in f64, value by value.
    pub fn y_f64(self) -> impl Iterator<Item = f64> + 'a {
        let (double, single): (&[f64], &[f32]) = match self {
            Values::Double(v, _) => (v, &[]),
            Values::Single(v, _) => (&[], v),
        };
        let widened = single.iter().map(|&x| f64::from(x));
        double.iter().copied().chain(widened)
    }

    /// Appends y and ẏ, in f64, to `y` and `y_dot`.
    pub fn extend_f64(self, y: &mut Vec<f64>, y_dot: &mut Vec<f64>) {
        match self {
            Values::Double(v, d) => {
                y.extend_from_slice(v);
                y_dot.extend_from_slice(d);
            }
            Values::Single(v, d) => {
                y.extend(v.iter().map(|&x| f64::from(x)));
                y_dot.extend(d.iter().map(|&x| f64::from(x)));
            }
        }
    }
}

/// What [`Network::value_tiles`] hands over per tile: `(first_row, m,
/// values)`.
type TileOutputs<'a> = dyn FnMut(usize, usize, Values) + 'a;

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
    pub kept: Option<&'a KeptTrace>,
    /// The precision the passes compute in.
    pub precision: Precision,
}

/// Copies of the tile loops compiled for each instruction set, for either
/// element type (`$vector` names its vector there).
macro_rules! compiled_for {
    ($name:ident, $features:literal, $vector:ident) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            use super::*;

            #[target_feature(enable = $features)]
            pub(super) fn value<T: TileElem>(
                t: &mut Tiles<T>,
                rows: &Rows,
                keep: Option<&mut Vec<T>>,
                consume: &mut TileOutputs,
            ) {
                value_tiles::<T::$vector>(t, rows, keep, consume)
            }

            #[target_feature(enable = $features)]
            pub(super) fn vjp<T: TileElem>(
                t: &mut Tiles<T>,
                rows: &Rows,
                bars: &mut RowBars,
                r: &mut Reverse,
            ) {
                vjp_tiles::<T::$vector>(t, rows, bars, r)
            }
        }
    };
}

compiled_for!(avx512, "avx512f,fma", Avx512);
compiled_for!(avx2, "avx2,fma", Avx2);

/// [`Network::value_tiles`] in element type `T`, in the best copy.
fn value_in<T: TileElem>(
    net: &Network,
    params: &[f64],
    rows: &Rows,
    s: &mut Stream,
    keep: Option<&mut KeptTrace>,
    consume: &mut TileOutputs,
) {
    let t = T::tiles(s);
    t.pack(net, params);
    t.unit_tangent(rows);
    let keep = keep.map(T::kept_mut);
    match Isa::detect() {
        // SAFETY: the CPU has the features, checked by `detect`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::value(t, rows, keep, consume) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::value(t, rows, keep, consume) },
        _ => value_tiles::<T>(t, rows, keep, consume),
    }
}

/// [`Network::reverse_tiles`] in element type `T`, in the best copy.
fn vjp_in<T: TileElem>(
    net: &Network,
    params: &[f64],
    rows: &Rows,
    s: &mut Stream,
    bars: &mut RowBars,
    r: &mut Reverse,
    grad: Option<&mut [f64]>,
) {
    let t = T::tiles(s);
    t.pack(net, params);
    t.unit_tangent(rows);
    if r.params {
        t.clear_grads();
    }
    match Isa::detect() {
        // SAFETY: the CPU has the features, checked by `detect`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::vjp(t, rows, bars, r) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::vjp(t, rows, bars, r) },
        _ => vjp_tiles::<T>(t, rows, bars, r),
    }
    if let Some(g) = grad {
        t.scatter_grads(net, g);
    }
}

impl Network {
    /// Output y and tangent ẏ (when `rows.x_dot` is given) of the rows,
    /// tile by tile, in `rows.precision`: `consume(first_row, m, values)`
    /// gets rows first_row..first_row + m of them ([`Values`], in the
    /// passes' precision) as soon as they are computed. With
    /// `keep`, the trace a later [`Network::param_vjp`] on the same rows,
    /// parameters and precision replays is written there (each layer's
    /// φ(z) and ż: a few times the output's size; left empty for
    /// activations other than tanh and the identity, whose derivatives it
    /// would not give).
    pub fn value_tiles(
        &self,
        params: &[f64],
        rows: &Rows,
        s: &mut Stream,
        keep: Option<&mut KeptTrace>,
        mut consume: impl FnMut(usize, usize, Values),
    ) {
        let consume: &mut TileOutputs = &mut consume;
        match rows.precision {
            Precision::Float64 => value_in::<f64>(self, params, rows, s, keep, consume),
            Precision::Float32 => value_in::<f32>(self, params, rows, s, keep, consume),
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
        precision: Precision,
        s: &mut Stream,
        y: &mut Vec<f64>,
        y_dot: &mut Vec<f64>,
    ) {
        let rows = Rows {
            x,
            x_dot,
            rows,
            kept: None,
            precision,
        };
        self.value_tiles(params, &rows, s, None, |_, _, v| v.extend_f64(y, y_dot));
    }

    /// Adds to `grad` (the network's layout) ∇θ Σ_rows (ȳ·y + ẏ̄·ẏ) over
    /// `rows` (without a tangent: Σ ȳ·y), in `rows.precision` (the
    /// gradient summed in f64 either way). The adjoints are asked for
    /// tile by tile: `bars(first_row, m, ȳ, ẏ̄, n_out)` fills rows
    /// first_row..first_row + m of them (m × n_out, zeroed). Each tile's
    /// forward pass is replayed from `rows.kept` when given (and of the
    /// right size), recomputed otherwise, just before its reverse pass.
    pub fn param_vjp(
        &self,
        params: &[f64],
        rows: &Rows,
        s: &mut Stream,
        bars: impl FnMut(usize, usize, &mut [f64], &mut [f64], usize),
        grad: &mut [f64],
    ) {
        let no_outputs = None::<fn(usize, usize, Values)>;
        let no_inputs = None::<fn(usize, usize, &[f64], &[f64])>;
        self.reverse_tiles(params, rows, s, no_outputs, bars, no_inputs, Some(grad));
    }

    /// The reverse pass of [`Network::param_vjp`] with what a network
    /// whose inputs carry a gradient needs (DeePMD's fitting networks, whose
    /// inputs are the descriptors): with `outputs`, each tile's y (and ẏ)
    /// goes there before its adjoints are asked for, and, with `inputs`,
    /// its input adjoints x̄ = ∂J/∂x (and ẋ̄ = ∂J/∂ẋ) after,
    /// `inputs(first_row, m, x̄, ẋ̄)`, m × n_in each, in f64. The parameter
    /// gradient is added to `grad` when given, and not formed otherwise.
    /// Each tile's forward pass is replayed or recomputed as for
    /// [`Network::param_vjp`].
    #[allow(clippy::too_many_arguments)]
    pub fn reverse_tiles(
        &self,
        params: &[f64],
        rows: &Rows,
        s: &mut Stream,
        mut outputs: Option<impl FnMut(usize, usize, Values)>,
        mut bars: impl FnMut(usize, usize, &mut [f64], &mut [f64], usize),
        mut inputs: Option<impl FnMut(usize, usize, &[f64], &[f64])>,
        grad: Option<&mut [f64]>,
    ) {
        let bars: &mut RowBars = &mut bars;
        let mut r = Reverse {
            outputs: outputs.as_mut().map(|f| f as &mut TileOutputs),
            inputs: inputs.as_mut().map(|f| f as &mut InputBars),
            params: grad.is_some(),
        };
        match rows.precision {
            Precision::Float64 => vjp_in::<f64>(self, params, rows, s, bars, &mut r, grad),
            Precision::Float32 => vjp_in::<f32>(self, params, rows, s, bars, &mut r, grad),
        }
    }
}

#[cfg(test)]
mod tests;
