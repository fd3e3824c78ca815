//! Tile-by-tile passes for networks evaluated on many rows (DeePMD's
//! embedding networks: one row per neighbour): a tile of a few dozen rows
//! goes through every layer, forward and tangent, before the next tile, so
//! that its values stay in the L1/L2 cache and each element-wise step
//! (bias, activation and its derivatives, timestep, residual, the
//! tangent's product with φ') runs on data just produced by the matrix
//! product ([`super::kernels`]).
//!
//! [`Network::value_and_tangent`] gives y and ẏ of every row and keeps
//! nothing else. [`Network::param_vjp`] gives ∇θ Σ_rows (ȳ·y + ẏ̄·ẏ) by
//! recomputing each tile's forward pass just before its backward pass
//! (the reverse pass of [`super::passes`], per tile): no trace of all
//! rows is ever stored, at the price of one more forward pass, which costs
//! less than writing and reading the trace through memory.

use super::fastmath;
use super::kernels::{Cols, Isa, Vector, View, mm, mm_tn_acc, padded};
use super::{Activation, Layer, Network, Residual};

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
    /// The timestep, bp, if any.
    idt: Option<Vec<f64>>,
    /// The timestep or ones, bp: the element-wise loops multiply by it
    /// unconditionally (by 1.0 exactly when there is no timestep).
    scale: Vec<f64>,
    residual: Residual,
    activation: Activation,
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

    fn new(layer: &Layer, p: &[f64]) -> Self {
        let (n_in, n_out) = (layer.n_in, layer.n_out);
        let (ap, bp) = (padded(n_in), padded(n_out));
        let (w, b, idt) = layer.split(p);
        let mut packed = vec![0.0; n_in * bp];
        let mut wt = vec![0.0; n_out * ap];
        for k in 0..n_in {
            for j in 0..n_out {
                packed[k * bp + j] = w[k * n_out + j];
                wt[j * ap + k] = w[k * n_out + j];
            }
        }
        let pad = |v: &[f64]| {
            let mut out = vec![0.0; bp];
            out[..n_out].copy_from_slice(v);
            out
        };
        PackedLayer {
            n_in,
            n_out,
            ap,
            bp,
            w: packed,
            wt,
            bias: b.map_or_else(|| vec![0.0; bp], pad),
            idt: idt.map(pad),
            scale: idt.map_or_else(|| vec![1.0; bp], pad),
            residual: layer.residual(),
            activation: layer.activation,
        }
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

impl Stream {
    /// Lays out `net`'s parameters and sizes the tile buffers.
    fn pack(&mut self, net: &Network, params: &[f64]) {
        let starts = net.layer_starts();
        self.packed.clear();
        for (l, layer) in net.layers.iter().enumerate() {
            let p = &params[starts[l]..starts[l + 1]];
            self.packed.push(PackedLayer::new(layer, p));
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
                zeroed(v, n);
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
            zeroed(v, n);
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

/// y += r(x) over a tile (y's rows n_out apart).
#[inline(always)]
fn add_residual(p: &PackedLayer, x: View, m: usize, y: &mut [f64]) {
    let shift = match p.residual {
        Residual::None => return,
        Residual::Same => None,
        Residual::Double => Some(p.n_in),
    };
    for r in 0..m {
        let (xr, yr) = (
            &x.data[r * x.stride..][..p.n_in],
            &mut y[r * p.n_out..][..p.n_out],
        );
        for (o, v) in yr.iter_mut().zip(xr) {
            *o += v;
        }
        if let Some(s) = shift {
            for (o, v) in yr[s..].iter_mut().zip(xr) {
                *o += v;
            }
        }
    }
}

/// x̄ += rᵀ(ȳ) over a tile (rows n_out and n_in apart).
#[inline(always)]
fn add_residual_adjoint(p: &PackedLayer, y_bar: &[f64], m: usize, x_bar: &mut [f64]) {
    let shift = match p.residual {
        Residual::None => return,
        Residual::Same => None,
        Residual::Double => Some(p.n_in),
    };
    for r in 0..m {
        let (yr, xr) = (
            &y_bar[r * p.n_out..][..p.n_out],
            &mut x_bar[r * p.n_in..][..p.n_in],
        );
        match shift {
            None => {
                for (v, y) in xr.iter_mut().zip(yr) {
                    *v += y;
                }
            }
            Some(s) => {
                for ((v, y), y2) in xr.iter_mut().zip(yr).zip(&yr[s..]) {
                    *v += y + y2;
                }
            }
        }
    }
}

/// φ, φ' (and φ'' when `second`) in place over a tile's z.
#[inline(always)]
fn activate(a: Activation, z: &mut [f64], d1: &mut [f64], d2: &mut [f64], second: bool) {
    if a == Activation::Tanh {
        fastmath::tanh_deriv_kernel(z, d1, if second { d2 } else { &mut [] });
    } else if a.is_identity() {
        d1.fill(1.0);
        d2.fill(0.0);
    } else {
        a.apply(z, d1, second.then_some(d2));
    }
}

/// The forward pass of one tile of `m` rows (and its tangent when `x_dot`
/// is given), every layer, into `layers`.
#[inline(always)]
fn forward_tile<V: Vector>(
    packed: &[PackedLayer],
    layers: &mut [TileLayer],
    x: View,
    x_dot: Option<View>,
    m: usize,
    second: bool,
) {
    for (l, p) in packed.iter().enumerate() {
        let (done, rest) = layers.split_at_mut(l);
        let t = &mut rest[0];
        let (input, input_dot) = match l {
            0 => (x, x_dot),
            _ => {
                let prev = &done[l - 1];
                let stride = packed[l - 1].n_out;
                let input_dot = x_dot.map(|_| View {
                    data: &prev.y_dot,
                    stride,
                });
                let input = View {
                    data: &prev.y,
                    stride,
                };
                (input, input_dot)
            }
        };
        let (n, w) = (m * p.n_out, p.n_out);
        mm::<V>(
            m,
            p.n_in,
            input,
            &p.w,
            p.out_cols(),
            Some(&p.bias),
            &mut t.act,
            w,
        );
        activate(
            p.activation,
            &mut t.act[..n],
            &mut t.d1[..n],
            &mut t.d2[..n],
            second,
        );
        scale_into(&t.act[..n], &p.scale[..w], w, &mut t.y[..n]);
        add_residual(p, input, m, &mut t.y);
        let Some(input_dot) = input_dot else {
            continue;
        };
        mm::<V>(
            m,
            p.n_in,
            input_dot,
            &p.w,
            p.out_cols(),
            None,
            &mut t.z_dot,
            w,
        );
        let d = &p.scale[..w];
        for r in 0..m {
            let o = r * w..(r + 1) * w;
            let (yd, zd, d1) = (&mut t.y_dot[o.clone()], &t.z_dot[o.clone()], &t.d1[o]);
            for k in 0..w {
                yd[k] = zd[k] * d1[k] * d[k];
            }
        }
        add_residual(p, input_dot, m, &mut t.y_dot);
    }
}

/// out = v ⊙ d per row (d is ones without a timestep).
#[inline(always)]
fn scale_into(v: &[f64], d: &[f64], w: usize, out: &mut [f64]) {
    let d = &d[..w];
    for (o, vr) in out.chunks_exact_mut(w).zip(v.chunks_exact(w)) {
        for k in 0..w {
            o[k] = vr[k] * d[k];
        }
    }
}

/// z̄ (and ż̄ when `tangent`) of one layer from the output adjoints, with
/// the bias and timestep gradients.
#[inline(always)]
fn layer_bars(
    p: &PackedLayer,
    t: &TileLayer,
    b: &mut Bars,
    g: &mut LayerGrad,
    m: usize,
    tangent: bool,
) {
    let w = p.n_out;
    let d = &p.scale[..w];
    for r in 0..m {
        let o = r * w..(r + 1) * w;
        let (zb, yb, d1) = (&mut b.z[o.clone()], &b.y[o.clone()], &t.d1[o.clone()]);
        for k in 0..w {
            zb[k] = yb[k] * d[k] * d1[k];
        }
        if !tangent {
            continue;
        }
        let (zdb, ydb) = (&mut b.z_dot[o.clone()], &b.y_dot[o.clone()]);
        let (d2, zd) = (&t.d2[o.clone()], &t.z_dot[o]);
        for k in 0..w {
            let dot_bar = ydb[k] * d[k];
            zdb[k] = dot_bar * d1[k];
            zb[k] += dot_bar * d2[k] * zd[k];
        }
    }
    let gb = &mut g.b[..w];
    for zr in b.z[..m * w].chunks_exact(w) {
        for k in 0..w {
            gb[k] += zr[k];
        }
    }
    if p.idt.is_none() {
        return;
    }
    let gd = &mut g.idt[..w];
    for r in 0..m {
        let o = r * w..(r + 1) * w;
        let (yb, act) = (&b.y[o.clone()], &t.act[o.clone()]);
        for k in 0..w {
            gd[k] += yb[k] * act[k];
        }
        if tangent {
            let (ydb, d1, zd) = (&b.y_dot[o.clone()], &t.d1[o.clone()], &t.z_dot[o]);
            for k in 0..w {
                gd[k] += ydb[k] * d1[k] * zd[k];
            }
        }
    }
}

/// The reverse pass of one tile after [`forward_tile`] (with `second` when
/// `tangent`), from ȳ (and ẏ̄) in `b`: adds the parameter gradient of
/// Σ ȳ·y (+ ẏ̄·ẏ) to `grads`. The input adjoint of the first layer is not
/// formed.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_tile<V: Vector>(
    packed: &[PackedLayer],
    layers: &[TileLayer],
    x: View,
    x_dot: Option<View>,
    m: usize,
    b: &mut Bars,
    grads: &mut [LayerGrad],
    tangent: bool,
) {
    for l in (0..packed.len()).rev() {
        let (p, t) = (&packed[l], &layers[l]);
        layer_bars(p, t, b, &mut grads[l], m, tangent);
        let (input, input_dot) = match l {
            0 => (x, x_dot),
            _ => {
                let stride = packed[l - 1].n_out;
                let prev = &layers[l - 1];
                let input_dot = View {
                    data: &prev.y_dot,
                    stride,
                };
                let input = View {
                    data: &prev.y,
                    stride,
                };
                (input, Some(input_dot))
            }
        };
        let zv = View {
            data: &b.z,
            stride: p.n_out,
        };
        mm_tn_acc::<V>(m, p.n_in, input, zv, p.out_cols(), &mut grads[l].w);
        if tangent && let Some(input_dot) = input_dot {
            let zdv = View {
                data: &b.z_dot,
                stride: p.n_out,
            };
            mm_tn_acc::<V>(m, p.n_in, input_dot, zdv, p.out_cols(), &mut grads[l].w);
        }
        if l == 0 {
            break;
        }
        mm::<V>(m, p.n_out, zv, &p.wt, p.in_cols(), None, &mut b.x, p.n_in);
        add_residual_adjoint(p, &b.y, m, &mut b.x);
        std::mem::swap(&mut b.x, &mut b.y);
        if tangent {
            let zdv = View {
                data: &b.z_dot,
                stride: p.n_out,
            };
            mm::<V>(
                m,
                p.n_out,
                zdv,
                &p.wt,
                p.in_cols(),
                None,
                &mut b.x_dot,
                p.n_in,
            );
            add_residual_adjoint(p, &b.y_dot, m, &mut b.x_dot);
            std::mem::swap(&mut b.x_dot, &mut b.y_dot);
        }
    }
}

/// The inputs of a tile: rows start.. of x (and ẋ), n_in wide.
fn tile_input<'a>(
    x: &'a [f64],
    x_dot: Option<&'a [f64]>,
    start: usize,
    n_in: usize,
) -> (View<'a>, Option<View<'a>>) {
    let view = |v: &'a [f64]| View {
        data: &v[start * n_in..],
        stride: n_in,
    };
    (view(x), x_dot.map(view))
}

/// The adjoints of a tile's rows, as [`Network::param_vjp`] asks for them:
/// `(first_row, m, ȳ, ẏ̄, n_out)`.
type RowBars<'a> = dyn FnMut(usize, usize, &mut [f64], &mut [f64], usize) + 'a;

/// What [`Network::param_vjp`] is given: the rows and their adjoints.
pub struct VjpRows<'a> {
    /// Input rows (rows × n_in).
    pub x: &'a [f64],
    /// Input tangents (rows × n_in); `None`: no tangent (ẏ̄ = 0).
    pub x_dot: Option<&'a [f64]>,
    /// Number of rows.
    pub rows: usize,
}

/// The tile loop of [`Network::value_and_tangent`].
#[inline(always)]
fn value_tiles<V: Vector>(
    s: &mut Stream,
    x: &[f64],
    x_dot: Option<&[f64]>,
    rows: usize,
    y: &mut Vec<f64>,
    y_dot: &mut Vec<f64>,
) {
    let Some(last) = s.packed.last() else {
        return;
    };
    let (n_in, n_out) = (s.packed[0].n_in, last.n_out);
    let mut start = 0;
    while start < rows {
        let m = s.tile.min(rows - start);
        let (xv, xdv) = tile_input(x, x_dot, start, n_in);
        forward_tile::<V>(&s.packed, &mut s.layers, xv, xdv, m, false);
        let out = &s.layers[s.layers.len() - 1];
        y.extend_from_slice(&out.y[..m * n_out]);
        if x_dot.is_some() {
            y_dot.extend_from_slice(&out.y_dot[..m * n_out]);
        }
        start += m;
    }
}

/// The tile loop of [`Network::param_vjp`].
#[inline(always)]
fn vjp_tiles<V: Vector>(s: &mut Stream, rows: &VjpRows, bars: &mut RowBars) {
    let Some(last) = s.packed.last() else {
        return;
    };
    let (n_in, bp) = (s.packed[0].n_in, last.n_out);
    let tangent = rows.x_dot.is_some();
    let mut start = 0;
    while start < rows.rows {
        let m = s.tile.min(rows.rows - start);
        let (xv, xdv) = tile_input(rows.x, rows.x_dot, start, n_in);
        forward_tile::<V>(&s.packed, &mut s.layers, xv, xdv, m, tangent);
        let b = &mut s.bars;
        b.y[..m * bp].fill(0.0);
        b.y_dot[..m * bp].fill(0.0);
        bars(start, m, &mut b.y[..m * bp], &mut b.y_dot[..m * bp], bp);
        backward_tile::<V>(&s.packed, &s.layers, xv, xdv, m, b, &mut s.grads, tangent);
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
                x: &[f64],
                x_dot: Option<&[f64]>,
                rows: usize,
                y: &mut Vec<f64>,
                y_dot: &mut Vec<f64>,
            ) {
                value_tiles::<$vector>(s, x, x_dot, rows, y, y_dot)
            }

            #[target_feature(enable = $features)]
            pub fn vjp(s: &mut Stream, rows: &VjpRows, bars: &mut RowBars) {
                vjp_tiles::<$vector>(s, rows, bars)
            }
        }
    };
}

compiled_for!(avx512, "avx512f,fma", super::super::kernels::Avx512);
compiled_for!(avx2, "avx2,fma", super::super::kernels::Avx2);

impl Network {
    /// Output y and tangent ẏ (when `x_dot` is given) of `rows` rows x
    /// (rows × n_in), appended to `y` and `y_dot`, tile by tile; keeps no
    /// trace.
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
        s.pack(self, params);
        match Isa::detect() {
            // SAFETY: the CPU has the features, checked by `detect`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::value(s, x, x_dot, rows, y, y_dot) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::value(s, x, x_dot, rows, y, y_dot) },
            _ => value_tiles::<f64>(s, x, x_dot, rows, y, y_dot),
        }
    }

    /// Adds to `grad` (the network's layout) ∇θ Σ_rows (ȳ·y + ẏ̄·ẏ) over
    /// `rows` (without a tangent: Σ ȳ·y). The adjoints are asked for tile
    /// by tile: `bars(first_row, m, ȳ, ẏ̄, n_out)` fills rows
    /// first_row..first_row + m of them (m × n_out, zeroed). Each tile's forward pass is recomputed just
    /// before its reverse pass.
    pub fn param_vjp(
        &self,
        params: &[f64],
        rows: &VjpRows,
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
mod tests {
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
            let vrows = VjpRows {
                x: &x,
                x_dot: Some(&ones),
                rows,
            };
            let mut bars = |first: usize, m: usize, yb: &mut [f64], ydb: &mut [f64], _: usize| {
                for k in 0..m * no {
                    yb[k] = ((first * no + k) as f64 * 0.11).cos();
                    ydb[k] = ((first * no + k) as f64 * 0.07).sin();
                }
            };
            s.clear_grads();
            match which {
                // SAFETY: called only when the CPU has the features.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe {
                    avx512::value(&mut s, &x, Some(&ones), rows, &mut y, &mut y_dot);
                    avx512::vjp(&mut s, &vrows, &mut bars);
                },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe {
                    avx2::value(&mut s, &x, Some(&ones), rows, &mut y, &mut y_dot);
                    avx2::vjp(&mut s, &vrows, &mut bars);
                },
                _ => {
                    value_tiles::<f64>(&mut s, &x, Some(&ones), rows, &mut y, &mut y_dot);
                    vjp_tiles::<f64>(&mut s, &vrows, &mut bars);
                }
            }
            let mut grad = vec![0.0; n];
            s.scatter_grads(&net, &mut grad);
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
}
