//! The tile loops of the value and reverse passes: each tile of rows
//! through every layer (see the parent module), and what goes in and out
//! of a tile in f64.

use super::elem::{TileElem, narrowed};
use super::layers::{backward_tile, forward_tile, replay_tile, tile_input};
use super::{Bars, PackedLayer, RowBars, Rows, TileOutputs, Tiles, fold_tile};
use crate::nn::Activation;
use crate::nn::simd::{Elem, Vector};

/// Values per row of a kept trace: each layer's φ(z), and ż when
/// `tangent` (unless it is the layer's `unit_z_dot`); `None` when an
/// activation's derivatives cannot be had from φ(z) alone (then nothing
/// is kept).
fn kept_per_row<T>(packed: &[PackedLayer<T>], tangent: bool) -> Option<usize> {
    let replayable = |a: Activation| a == Activation::Tanh || a.is_identity();
    packed.iter().all(|p| replayable(p.activation)).then(|| {
        packed
            .iter()
            .map(|p| p.n_out * (1 + usize::from(p.computes_z_dot(tangent))))
            .sum()
    })
}

/// The tile loop of [`Network::value_tiles`](crate::nn::Network::value_tiles).
#[inline(always)]
pub(super) fn value_tiles<V: Vector>(
    t: &mut Tiles<V::Elem>,
    rows: &Rows,
    mut keep: Option<&mut Vec<V::Elem>>,
    consume: &mut TileOutputs,
) where
    V::Elem: TileElem,
{
    let Some(last) = t.packed.last() else {
        return;
    };
    let (n_in, n_out) = (t.packed[0].n_in, last.n_out);
    let tangent = rows.x_dot.is_some();
    let per_row = kept_per_row(&t.packed, tangent);
    if let Some(k) = keep.as_deref_mut() {
        // every kept value is written below: no need to clear the rest
        k.resize(per_row.map_or(0, |n| n * rows.rows), V::Elem::ZERO);
    }
    let Tiles {
        packed,
        layers,
        x,
        x_dot,
        tile,
        ..
    } = t;
    let x = narrowed(rows.x, x);
    let x_dot = rows.x_dot.map(|v| narrowed(v, x_dot));
    let mut start = 0;
    while start < rows.rows {
        let m = (*tile).min(rows.rows - start);
        let (xv, xdv) = tile_input(x, x_dot, start, n_in);
        let kept = match (keep.as_deref_mut(), per_row) {
            (Some(k), Some(n)) => Some(&mut k[start * n..(start + m) * n]),
            _ => None,
        };
        forward_tile::<V>(packed, layers, xv, xdv, m, false, kept);
        let out = &layers[layers.len() - 1];
        let y_dot: &[V::Elem] = if tangent {
            &out.y_dot[..m * n_out]
        } else {
            &[]
        };
        consume(start, m, V::Elem::values(&out.y[..m * n_out], y_dot));
        start += m;
    }
}

/// A tile's input adjoints x̄ and ẋ̄ (ẋ̄ empty without a tangent), in
/// f64, as [`Network::reverse_tiles`](crate::nn::Network::reverse_tiles) hands them over: `(first_row, m,
/// x̄, ẋ̄)`, m × n_in each.
pub(super) type InputBars<'a> = dyn FnMut(usize, usize, &[f64], &[f64]) + 'a;

/// What a reverse sweep hands over besides asking for the adjoints: each
/// tile's outputs before, its input adjoints after, and whether the
/// parameter gradient is formed at all.
pub(super) struct Reverse<'o, 'i, 'f> {
    pub outputs: Option<&'o mut TileOutputs<'f>>,
    pub inputs: Option<&'i mut InputBars<'f>>,
    pub params: bool,
}

/// The tile loop of [`Network::reverse_tiles`](crate::nn::Network::reverse_tiles).
#[inline(always)]
pub(super) fn vjp_tiles<V: Vector>(
    t: &mut Tiles<V::Elem>,
    rows: &Rows,
    bars: &mut RowBars,
    r: &mut Reverse,
) where
    V::Elem: TileElem,
{
    let Some(last) = t.packed.last() else {
        return;
    };
    let (n_in, bp) = (t.packed[0].n_in, last.n_out);
    let tangent = rows.x_dot.is_some();
    let Tiles {
        packed,
        layers,
        bars: b,
        grads,
        sums,
        x,
        x_dot,
        y_wide,
        y_dot_wide,
        tile,
    } = t;
    let kept = match (rows.kept.map(V::Elem::kept), kept_per_row(packed, tangent)) {
        (Some(k), Some(n)) if k.len() == n * rows.rows => Some((k, n)),
        _ => None,
    };
    let x = narrowed(rows.x, x);
    let x_dot = rows.x_dot.map(|v| narrowed(v, x_dot));
    let want_inputs = r.inputs.is_some();
    let mut start = 0;
    while start < rows.rows {
        let m = (*tile).min(rows.rows - start);
        let (xv, xdv) = tile_input(x, x_dot, start, n_in);
        let tile_kept = kept.map(|(k, n)| &k[start * n..(start + m) * n]);
        match tile_kept {
            Some(k) => replay_tile(packed, layers, (xv, xdv), m, k, r.outputs.is_some()),
            None => forward_tile::<V>(packed, layers, xv, xdv, m, tangent, None),
        }
        if let Some(consume) = r.outputs.as_deref_mut() {
            let out = &layers[layers.len() - 1];
            let y_dot: &[V::Elem] = if tangent { &out.y_dot[..m * bp] } else { &[] };
            consume(start, m, V::Elem::values(&out.y[..m * bp], y_dot));
        }
        let wide = (&mut y_wide[..], &mut y_dot_wide[..]);
        tile_bars(b, m * bp, wide, |yb, ydb| bars(start, m, yb, ydb, bp));
        let g = r.params.then_some(&mut grads[..]);
        backward_tile::<V>(packed, layers, tile_kept, (xv, xdv), m, b, g, want_inputs);
        if let Some(hand) = r.inputs.as_deref_mut() {
            // the first layer's x̄ and ẋ̄ are where ȳ and ẏ̄ were
            let n = m * n_in;
            let (xb, xdb) = (&b.y[..n], if tangent { &b.y_dot[..n] } else { &[] });
            let wide = (&mut y_wide[..], &mut y_dot_wide[..]);
            hand_inputs(xb, xdb, wide, |x, xd| hand(start, m, x, xd));
        }
        if r.params && !V::Elem::WIDE {
            fold_tile(grads, sums);
        }
        start += m;
    }
}

/// Hands a tile's input adjoints over in f64: as they are in f64,
/// through the f64 buffers `wide` in f32.
#[inline(always)]
fn hand_inputs<T: TileElem>(
    x: &[T],
    x_dot: &[T],
    wide: (&mut [f64], &mut [f64]),
    mut hand: impl FnMut(&[f64], &[f64]),
) {
    if let (Some(x), Some(x_dot)) = (T::as_f64(x), T::as_f64(x_dot)) {
        return hand(x, x_dot);
    }
    let (xw, xdw) = (&mut wide.0[..x.len()], &mut wide.1[..x_dot.len()]);
    for (o, &v) in xw.iter_mut().zip(x) {
        *o = v.to_f64();
    }
    for (o, &v) in xdw.iter_mut().zip(x_dot) {
        *o = v.to_f64();
    }
    hand(xw, xdw)
}

/// Zeroes ȳ and ẏ̄ of a tile (`n` values each) and lets `fill` write
/// them: in place in f64, through the f64 buffers `wide` in f32.
#[inline(always)]
fn tile_bars<T: TileElem>(
    b: &mut Bars<T>,
    n: usize,
    wide: (&mut [f64], &mut [f64]),
    mut fill: impl FnMut(&mut [f64], &mut [f64]),
) {
    if let (Some(y), Some(y_dot)) = (T::as_wide(&mut b.y[..n]), T::as_wide(&mut b.y_dot[..n])) {
        y.fill(0.0);
        y_dot.fill(0.0);
        fill(y, y_dot);
        return;
    }
    // in f32, ȳ and ẏ̄ are written whole from the f64 buffers below
    let (y, y_dot) = (&mut wide.0[..n], &mut wide.1[..n]);
    y.fill(0.0);
    y_dot.fill(0.0);
    fill(y, y_dot);
    for (o, &v) in b.y[..n].iter_mut().zip(y.iter()) {
        *o = T::from_f64(v);
    }
    for (o, &v) in b.y_dot[..n].iter_mut().zip(y_dot.iter()) {
        *o = T::from_f64(v);
    }
}
