//! The passes of one tile through every layer: forward with the tangent,
//! and the reverse pass to the parameters (see the parent module).

use super::super::kernels::{View, col_sums_acc, mm, mm_tn_acc};
use super::super::simd::{Elem, Vector};
use super::elem::TileElem;
use super::{Bars, LayerGrad, PackedLayer, TileLayer};
use crate::nn::{Activation, Residual};

/// y += r(x) over a tile (y's rows n_out apart).
#[inline(always)]
fn add_residual<T: Elem>(p: &PackedLayer<T>, x: View<T>, m: usize, y: &mut [T]) {
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
            *o += *v;
        }
        if let Some(s) = shift {
            for (o, v) in yr[s..].iter_mut().zip(xr) {
                *o += *v;
            }
        }
    }
}

/// x̄ += rᵀ(ȳ) over a tile (rows n_out and n_in apart).
#[inline(always)]
fn add_residual_adjoint<T: Elem>(p: &PackedLayer<T>, y_bar: &[T], m: usize, x_bar: &mut [T]) {
    let s = match p.residual {
        Residual::None => return,
        Residual::Same => {
            // n_in = n_out: the rows of both are contiguous
            let n = m * p.n_in;
            for (v, y) in x_bar[..n].iter_mut().zip(&y_bar[..n]) {
                *v += *y;
            }
            return;
        }
        Residual::Double => p.n_in,
    };
    for r in 0..m {
        let (yr, xr) = (
            &y_bar[r * p.n_out..][..p.n_out],
            &mut x_bar[r * p.n_in..][..p.n_in],
        );
        for ((v, y), y2) in xr.iter_mut().zip(yr).zip(&yr[s..]) {
            *v += *y + *y2;
        }
    }
}

/// φ, φ' (and φ'' when `second`) in place over a tile's z.
#[inline(always)]
fn activate<T: TileElem>(a: Activation, z: &mut [T], d1: &mut [T], d2: &mut [T], second: bool) {
    if a.is_identity() {
        d1.fill(T::ONE);
        d2.fill(T::ZERO);
    } else {
        T::activate(a, z, d1, d2, second);
    }
}

/// The forward pass of one tile of `m` rows (and its tangent when `x_dot`
/// is given), every layer, into `layers`; with `kept`, each layer's φ(z)
/// and ż are written there instead of into `layers` (the tile's part of
/// a kept trace, laid out as [`kept_layer`] reads it).
#[inline(always)]
pub(super) fn forward_tile<V: Vector>(
    packed: &[PackedLayer<V::Elem>],
    layers: &mut [TileLayer<V::Elem>],
    x: View<V::Elem>,
    x_dot: Option<View<V::Elem>>,
    m: usize,
    second: bool,
    mut kept: Option<&mut [V::Elem]>,
) where
    V::Elem: TileElem,
{
    let tangent = x_dot.is_some();
    let mut at = 0;
    for (l, p) in packed.iter().enumerate() {
        let (done, rest) = layers.split_at_mut(l);
        let TileLayer {
            act,
            d1,
            d2,
            y,
            z_dot,
            y_dot,
        } = &mut rest[0];
        let (input, input_dot) = inputs_of(packed, done, l, x, x_dot);
        let (n, w) = (m * p.n_out, p.n_out);
        let computed = p.computes_z_dot(tangent);
        let (act, z_dot): (&mut [V::Elem], &mut [V::Elem]) = match kept.as_deref_mut() {
            Some(k) => {
                let (a, rest) = k[at..].split_at_mut(n);
                (a, if computed { &mut rest[..n] } else { &mut [] })
            }
            None => (&mut act[..n], &mut z_dot[..n]),
        };
        at += n * (1 + usize::from(computed));
        let cols = p.out_cols();
        mm::<V>(m, p.n_in, input, &p.w, cols, Some(&p.bias), act, w);
        let (d1, d2) = (&mut d1[..n], &mut d2[..n]);
        activate(p.activation, act, d1, d2, second);
        layer_out(p, act, input, m, y);
        let Some(input_dot) = input_dot else {
            continue;
        };
        let z_dot: &[V::Elem] = if computed {
            mm::<V>(m, p.n_in, input_dot, &p.w, cols, None, z_dot, w);
            z_dot
        } else {
            &p.unit_z_dot[..n]
        };
        tangent_out(p, z_dot, d1, input_dot, m, y_dot);
    }
}

/// Layer `l`'s φ(z) and ż (empty without `tangent`) in a tile's part of a
/// kept trace: per layer m × n_out values, then as many tangents (none
/// for a layer whose ż is its `unit_z_dot`, returned instead).
#[inline(always)]
pub(super) fn kept_layer<'a, T>(
    kept: &'a [T],
    packed: &'a [PackedLayer<T>],
    l: usize,
    m: usize,
    tangent: bool,
) -> (&'a [T], &'a [T]) {
    let per = |p: &PackedLayer<T>| m * p.n_out * (1 + usize::from(p.computes_z_dot(tangent)));
    let at: usize = packed[..l].iter().map(per).sum();
    let p = &packed[l];
    let n = m * p.n_out;
    let z_dot = if p.computes_z_dot(tangent) {
        &kept[at + n..at + 2 * n]
    } else if tangent {
        &p.unit_z_dot[..n]
    } else {
        &[]
    };
    (&kept[at..at + n], z_dot)
}

/// The inputs of layer `l` of a tile (and their tangents when `x_dot` is
/// given): the tile's rows for the first, the previous layer's outputs
/// after.
#[inline(always)]
fn inputs_of<'a, T>(
    packed: &[PackedLayer<T>],
    done: &'a [TileLayer<T>],
    l: usize,
    x: View<'a, T>,
    x_dot: Option<View<'a, T>>,
) -> (View<'a, T>, Option<View<'a, T>>) {
    if l == 0 {
        return (x, x_dot);
    }
    let (prev, stride) = (&done[l - 1], packed[l - 1].n_out);
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

/// The residual added as one flat sum over a tile (y += x, both m ×
/// n_out and contiguous): `None` when the layer's residual needs its
/// rows ([`Residual::Double`], or an input with gaps between rows).
#[inline(always)]
fn flat_residual<'a, T>(p: &PackedLayer<T>, x: View<'a, T>, m: usize) -> Option<Option<&'a [T]>> {
    match p.residual {
        Residual::None => Some(None),
        Residual::Same if x.stride == p.n_in => Some(Some(&x.data[..m * p.n_in])),
        _ => None,
    }
}

/// y = φ(z) ⊙ d + r(x) of a tile. Without a timestep (d is ones, and a
/// product by one is exact) and with a flat residual, one loop over the
/// tile: loops over rows as short as a layer's width run mostly scalar.
#[inline(always)]
fn layer_out<T: Elem>(p: &PackedLayer<T>, act: &[T], x: View<T>, m: usize, y: &mut [T]) {
    let (n, w) = (m * p.n_out, p.n_out);
    let (act, y) = (&act[..n], &mut y[..n]);
    match (p.timestep, flat_residual(p, x, m)) {
        (false, Some(None)) => y.copy_from_slice(act),
        (false, Some(Some(x))) => {
            for ((o, &a), &v) in y.iter_mut().zip(act).zip(x) {
                *o = a + v;
            }
        }
        _ => {
            let d = &p.scale[..w];
            for (o, vr) in y.chunks_exact_mut(w).zip(act.chunks_exact(w)) {
                for k in 0..w {
                    o[k] = vr[k] * d[k];
                }
            }
            add_residual(p, x, m, y);
        }
    }
}

/// ẏ = ż ⊙ φ' ⊙ d + r(ẋ) of a tile (flat as in [`layer_out`]).
#[inline(always)]
fn tangent_out<T: Elem>(
    p: &PackedLayer<T>,
    z_dot: &[T],
    d1: &[T],
    x_dot: View<T>,
    m: usize,
    y_dot: &mut [T],
) {
    let (n, w) = (m * p.n_out, p.n_out);
    let (z_dot, d1, y_dot) = (&z_dot[..n], &d1[..n], &mut y_dot[..n]);
    match (p.timestep, flat_residual(p, x_dot, m)) {
        (false, Some(None)) => {
            for ((o, &z), &d) in y_dot.iter_mut().zip(z_dot).zip(d1) {
                *o = z * d;
            }
        }
        (false, Some(Some(x))) => {
            for (((o, &z), &d), &v) in y_dot.iter_mut().zip(z_dot).zip(d1).zip(x) {
                *o = z * d + v;
            }
        }
        _ => {
            let d = &p.scale[..w];
            for r in 0..m {
                let o = r * w..(r + 1) * w;
                let (yd, zd, d1) = (&mut y_dot[o.clone()], &z_dot[o.clone()], &d1[o]);
                for k in 0..w {
                    yd[k] = zd[k] * d1[k] * d[k];
                }
            }
            add_residual(p, x_dot, m, y_dot);
        }
    }
}

/// z̄ (and ż̄ when `tangent`) of a layer with a timestep d, row by row.
#[inline(always)]
fn pre_activation_bars<T: Elem>(
    p: &PackedLayer<T>,
    t: &TileLayer<T>,
    z_dot: &[T],
    b: &mut Bars<T>,
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
        let (d2, zd) = (&t.d2[o.clone()], &z_dot[o]);
        for k in 0..w {
            let dot_bar = ydb[k] * d[k];
            zdb[k] = dot_bar * d1[k];
            zb[k] += dot_bar * d2[k] * zd[k];
        }
    }
}

/// z̄ (and ż̄ when `tangent`) of one layer from the output adjoints, with
/// the bias and timestep gradients when `g` is given.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn layer_bars<V: Vector>(
    p: &PackedLayer<V::Elem>,
    t: &TileLayer<V::Elem>,
    (act, z_dot): (&[V::Elem], &[V::Elem]),
    b: &mut Bars<V::Elem>,
    g: Option<&mut LayerGrad<V::Elem>>,
    m: usize,
    tangent: bool,
) {
    let w = p.n_out;
    if p.timestep {
        pre_activation_bars(p, t, z_dot, b, m, tangent);
    } else {
        // d is ones, and a product by one is exact: one loop over the tile
        let n = m * w;
        let (zb, yb, d1) = (&mut b.z[..n], &b.y[..n], &t.d1[..n]);
        if tangent {
            let (zdb, ydb) = (&mut b.z_dot[..n], &b.y_dot[..n]);
            let (d2, zd) = (&t.d2[..n], &z_dot[..n]);
            for i in 0..n {
                zdb[i] = ydb[i] * d1[i];
                zb[i] = yb[i] * d1[i] + ydb[i] * d2[i] * zd[i];
            }
        } else {
            for ((z, &y), &d) in zb.iter_mut().zip(yb).zip(d1) {
                *z = y * d;
            }
        }
    }
    let Some(g) = g else {
        return;
    };
    let zv = View {
        data: &b.z[..m * w],
        stride: w,
    };
    col_sums_acc::<V>(m, zv, p.out_cols(), &mut g.b);
    if !p.timestep {
        return;
    }
    let gd = &mut g.idt[..w];
    for r in 0..m {
        let o = r * w..(r + 1) * w;
        let (yb, act) = (&b.y[o.clone()], &act[o.clone()]);
        for k in 0..w {
            gd[k] += yb[k] * act[k];
        }
        if tangent {
            let (ydb, d1, zd) = (&b.y_dot[o.clone()], &t.d1[o.clone()], &z_dot[o]);
            for k in 0..w {
                gd[k] += ydb[k] * d1[k] * zd[k];
            }
        }
    }
}

/// The reverse pass of one tile after [`forward_tile`] (with `second` when
/// `tangent`) or [`replay_tile`] (then φ(z) and ż are read from `kept`),
/// from ȳ (and ẏ̄) in `b`: adds the parameter gradient of Σ ȳ·y (+ ẏ̄·ẏ)
/// to `grads` when given. The input adjoint of the first layer is formed
/// when `inputs` (x̄ and ẋ̄ are then in `b.y` and `b.y_dot`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_tile<V: Vector>(
    packed: &[PackedLayer<V::Elem>],
    layers: &[TileLayer<V::Elem>],
    kept: Option<&[V::Elem]>,
    (x, x_dot): (View<V::Elem>, Option<View<V::Elem>>),
    m: usize,
    b: &mut Bars<V::Elem>,
    mut grads: Option<&mut [LayerGrad<V::Elem>]>,
    inputs: bool,
) {
    let tangent = x_dot.is_some();
    for l in (0..packed.len()).rev() {
        let (p, t) = (&packed[l], &layers[l]);
        let saved = match kept {
            Some(k) => kept_layer(k, packed, l, m, tangent),
            None if p.computes_z_dot(tangent) => (&t.act[..], &t.z_dot[..]),
            None => (&t.act[..], &p.unit_z_dot[..]),
        };
        let g = grads.as_deref_mut().map(|g| &mut g[l]);
        layer_bars::<V>(p, t, saved, b, g, m, tangent);
        let zv = View {
            data: &b.z,
            stride: p.n_out,
        };
        let zdv = View {
            data: &b.z_dot,
            stride: p.n_out,
        };
        if let Some(g) = grads.as_deref_mut() {
            let (input, input_dot) = inputs_of(packed, layers, l, x, x_dot);
            mm_tn_acc::<V>(m, p.n_in, input, zv, p.out_cols(), &mut g[l].w);
            if let Some(input_dot) = input_dot {
                mm_tn_acc::<V>(m, p.n_in, input_dot, zdv, p.out_cols(), &mut g[l].w);
            }
        }
        if l == 0 && !inputs {
            break;
        }
        mm::<V>(m, p.n_out, zv, &p.wt, p.in_cols(), None, &mut b.x, p.n_in);
        add_residual_adjoint(p, &b.y, m, &mut b.x);
        std::mem::swap(&mut b.x, &mut b.y);
        if tangent {
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
pub(super) fn tile_input<'a, T>(
    x: &'a [T],
    x_dot: Option<&'a [T]>,
    start: usize,
    n_in: usize,
) -> (View<'a, T>, Option<View<'a, T>>) {
    let view = |v: &'a [T]| View {
        data: &v[start * n_in..],
        stride: n_in,
    };
    (view(x), x_dot.map(view))
}

/// A tile's forward pass rebuilt from its part of a kept trace (written
/// by [`forward_tile`]), with the tangent's when `x_dot` is given: φ', φ'',
/// y and ẏ by the same operations on the same values as [`forward_tile`]
/// with `second`, without the matrix products and activations. Only for
/// tanh and identity layers, whose φ' and φ'' follow from φ. The last
/// layer's y and ẏ, which the reverse pass does not read, are formed only
/// when `outputs`.
#[inline(always)]
pub(super) fn replay_tile<T: Elem>(
    packed: &[PackedLayer<T>],
    layers: &mut [TileLayer<T>],
    (x, x_dot): (View<T>, Option<View<T>>),
    m: usize,
    kept: &[T],
    outputs: bool,
) {
    let tangent = x_dot.is_some();
    for (l, p) in packed.iter().enumerate() {
        let (done, rest) = layers.split_at_mut(l);
        let t = &mut rest[0];
        let (input, input_dot) = inputs_of(packed, done, l, x, x_dot);
        let n = m * p.n_out;
        let (act, z_dot) = kept_layer(kept, packed, l, m, tangent);
        derivatives(p.activation, act, &mut t.d1[..n], &mut t.d2[..n]);
        if l + 1 == packed.len() && !outputs {
            break;
        }
        layer_out(p, act, input, m, &mut t.y);
        let Some(input_dot) = input_dot else {
            continue;
        };
        tangent_out(p, z_dot, &t.d1[..n], input_dot, m, &mut t.y_dot);
    }
}

/// φ' and φ'' from φ, as the activation kernels compute them.
#[inline(always)]
fn derivatives<T: Elem>(a: Activation, act: &[T], d1: &mut [T], d2: &mut [T]) {
    if a.is_identity() {
        d1.fill(T::ONE);
        d2.fill(T::ZERO);
        return;
    }
    debug_assert_eq!(a, Activation::Tanh);
    let minus_two = T::from_f64(-2.0);
    for ((&t, d), s) in act.iter().zip(d1.iter_mut()).zip(d2.iter_mut()) {
        let d1 = T::ONE - t * t;
        *d = d1;
        *s = minus_two * t * d1;
    }
}
