//! The neighbour rows' products with GR and its adjoints: GR += G ⊗ R̃
//! and its tangent, the force terms GR̄·G and GR̄·G' per row, the rows'
//! adjoints Ḡ and Ḡ', and the adjoint of D = GR·GR<ᵀ.
//!
//! They run once per neighbour row and embedding output in every
//! prediction and gradient, over embedding widths like 25 that vectorise
//! badly along k. Along c (R̃'s four columns s, x, y, z) every product is
//! four independent lanes, so these work on GR transposed, ng quads per
//! atom ([`Quad`]), one four-wide multiply-add per step; only Ḡ, a sum
//! over c, runs along k. The kernels are written once over a multiply-add
//! ([`Madd`]) and compiled twice: fused, for x86-64 CPUs with AVX2 and FMA
//! (chosen at run time), and as separate multiplies and adds elsewhere.
//! Every output element is one chain of operations in a fixed order, so
//! AVX2 and AVX-512 CPUs give the same bits.
//!
//! G and G' are kept in the embedding's precision ([`Stored`]).

use crate::nn::Values;

/// Four values, one per column of R̃.
pub(super) type Quad = [f64; 4];

/// An embedding output as stored: f64, or f32 for float32 embeddings
/// (whose outputs are f32 values, so storing them as f32 is exact and
/// halves the rows' largest arrays).
pub(super) trait Output: Copy + Into<f64> {}

impl Output for f64 {}
impl Output for f32 {}

/// G and G' of a group's rows (rows × ng each), in the embedding's
/// precision.
#[derive(Default)]
pub(super) struct Stored {
    double: [Vec<f64>; 2],
    single: [Vec<f32>; 2],
}

impl Stored {
    pub fn clear(&mut self) {
        self.double.iter_mut().for_each(Vec::clear);
        self.single.iter_mut().for_each(Vec::clear);
    }

    /// Values of G stored (rows × ng).
    pub fn len(&self) -> usize {
        self.double[0].len() + self.single[0].len()
    }

    /// Appends rows' G and G' as the tile passes handed them over.
    pub fn extend(&mut self, values: Values) {
        match values {
            Values::Double(g, g_prime) => {
                self.double[0].extend_from_slice(g);
                self.double[1].extend_from_slice(g_prime);
            }
            Values::Single(g, g_prime) => {
                self.single[0].extend_from_slice(g);
                self.single[1].extend_from_slice(g_prime);
            }
        }
    }

    /// G and G' as stored.
    pub fn view(&self) -> Values<'_> {
        if self.single[0].is_empty() {
            Values::Double(&self.double[0], &self.double[1])
        } else {
            Values::Single(&self.single[0], &self.single[1])
        }
    }
}

/// a·b + c, fused or not.
trait Madd {
    fn madd(a: f64, b: f64, c: f64) -> f64;
}

/// One rounding (an FMA instruction where compiled for one).
struct Fused;

/// Two roundings: the portable copy (a software fused multiply-add would
/// be slow).
struct Separate;

impl Madd for Fused {
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

impl Madd for Separate {
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        c + a * b
    }
}

/// Sums per atom GRᵀ[a][k] += G_r[k]·R̃_r of rows r (each row's G is `ng`
/// wide, its atom `atom[r]`); `gr_t` holds ng quads per atom.
#[inline(always)]
fn contract_body<M: Madd, E: Output>(
    gr_t: &mut [Quad],
    ng: usize,
    atom: &[u32],
    g: &[E],
    env: &[Quad],
) {
    for ((&a, gk), e) in atom.iter().zip(g.chunks_exact(ng)).zip(env) {
        let acc = &mut gr_t[a as usize * ng..(a as usize + 1) * ng];
        for (o, &x) in acc.iter_mut().zip(gk) {
            let x = x.into();
            for c in 0..4 {
                o[c] = M::madd(x, e[c], o[c]);
            }
        }
    }
}

/// Sums per atom GṘᵀ[a][k] += G'_r[k]·Ṙ_r0·R̃_r + G_r[k]·Ṙ_r (the
/// tangent of [`contract_body`] along Ṙ, with Ġ = Ṙ₀·G').
#[inline(always)]
fn tangent_body<M: Madd, E: Output>(
    gr_dot_t: &mut [Quad],
    ng: usize,
    atom: &[u32],
    g: &[E],
    gp: &[E],
    env: &[Quad],
    env_dot: &[Quad],
) {
    let rows = g.chunks_exact(ng).zip(gp.chunks_exact(ng));
    for (((&a, (gk, gpk)), e), ed) in atom.iter().zip(rows).zip(env).zip(env_dot) {
        let x: Quad = std::array::from_fn(|c| e[c] * ed[0]);
        let acc = &mut gr_dot_t[a as usize * ng..(a as usize + 1) * ng];
        for ((o, &v), &p) in acc.iter_mut().zip(gk).zip(gpk) {
            let (v, p) = (v.into(), p.into());
            for c in 0..4 {
                o[c] = M::madd(v, ed[c], M::madd(p, x[c], o[c]));
            }
        }
    }
}

/// Per row, (GR̄[a]·G_r, GR̄[a]·G'_r) for each column c, from GR̄ᵀ (ng
/// quads per atom): four partial sums along k (k mod 4), added pairwise,
/// so that the chains of dependent multiply-adds are short.
#[inline(always)]
fn dots_body<M: Madd, E: Output>(
    gr_bar_t: &[Quad],
    ng: usize,
    atom: &[u32],
    g: &[E],
    gp: &[E],
    out: &mut Vec<(Quad, Quad)>,
) {
    out.clear();
    let rows = g.chunks_exact(ng).zip(gp.chunks_exact(ng));
    for (&a, (gk, gpk)) in atom.iter().zip(rows) {
        let t = &gr_bar_t[a as usize * ng..(a as usize + 1) * ng];
        let mut s = [[0.0; 4]; 4];
        let mut sp = [[0.0; 4]; 4];
        let (tc, xc, pc) = (t.chunks_exact(4), gk.chunks_exact(4), gpk.chunks_exact(4));
        let tail = (tc.remainder(), xc.remainder(), pc.remainder());
        for ((t4, x4), p4) in tc.zip(xc).zip(pc) {
            for j in 0..4 {
                let (x, p) = (x4[j].into(), p4[j].into());
                for c in 0..4 {
                    s[j][c] = M::madd(x, t4[j][c], s[j][c]);
                    sp[j][c] = M::madd(p, t4[j][c], sp[j][c]);
                }
            }
        }
        for (j, ((tq, &x), &p)) in tail.0.iter().zip(tail.1).zip(tail.2).enumerate() {
            let (x, p) = (x.into(), p.into());
            for c in 0..4 {
                s[j][c] = M::madd(x, tq[c], s[j][c]);
                sp[j][c] = M::madd(p, tq[c], sp[j][c]);
            }
        }
        let total =
            |s: [Quad; 4]| std::array::from_fn(|c| (s[0][c] + s[1][c]) + (s[2][c] + s[3][c]));
        out.push((total(s), total(sp)));
    }
}

/// Per row r of atom a, Ḡ_r += (GR̄[a]ᵀR̃_r + GṘ̄[a]ᵀṘ_r)·scale and
/// Ḡ'_r += Ṙ_r0·GṘ̄[a]ᵀR̃_r·scale (GR̄ and GṘ̄ stored [c][k] per atom),
/// or with no tangent (`env_dot` `None`) Ḡ_r += GR̄[a]ᵀR̃_r·scale alone.
/// Along k here: each output element is its own chain over c.
#[inline(always)]
fn bars_body<M: Madd>(adj: &RowAdjoints, atom: &[u32], gb: &mut [f64], gpb: &mut [f64]) {
    let ng = adj.ng;
    for (r, &a) in atom.iter().enumerate() {
        let q = a as usize * 4 * ng;
        let b: [&[f64]; 4] = std::array::from_fn(|c| &adj.gr_bar[q + c * ng..q + (c + 1) * ng]);
        let e = adj.env[r];
        let x: Quad = std::array::from_fn(|c| e[c] * adj.scale);
        let o = &mut gb[r * ng..(r + 1) * ng];
        let Some(env_dot) = adj.env_dot else {
            for (k, v) in o.iter_mut().enumerate() {
                for c in 0..4 {
                    *v = M::madd(b[c][k], x[c], *v);
                }
            }
            continue;
        };
        let bd: [&[f64]; 4] =
            std::array::from_fn(|c| &adj.gr_dot_bar[q + c * ng..q + (c + 1) * ng]);
        let ed = env_dot[r];
        let xd: Quad = std::array::from_fn(|c| ed[c] * adj.scale);
        let xp: Quad = std::array::from_fn(|c| e[c] * ed[0] * adj.scale);
        let op = &mut gpb[r * ng..(r + 1) * ng];
        for (k, (v, vp)) in o.iter_mut().zip(op.iter_mut()).enumerate() {
            for c in 0..4 {
                *v = M::madd(bd[c][k], xd[c], M::madd(b[c][k], x[c], *v));
                *vp = M::madd(bd[c][k], xp[c], *vp);
            }
        }
    }
}

/// What [`row_bars`] reads besides the rows' atoms: the atoms' adjoints
/// GR̄ and GṘ̄ ([c][k], 4·ng per atom), and per row R̃, Ṙ (`None`
/// without a tangent) and the factor 1/Σsel.
pub(super) struct RowAdjoints<'a> {
    pub ng: usize,
    pub gr_bar: &'a [f64],
    pub gr_dot_bar: &'a [f64],
    pub env: &'a [Quad],
    pub env_dot: Option<&'a [Quad]>,
    pub scale: f64,
}

/// The adjoint of D = GR·GR<ᵀ carried to one factor, in quads per atom:
/// outᵀ[k] += Σ_m Ā[k, m]·Bᵀ[m] and, for m < axis, outᵀ[m] += Ā[k, m]·Bᵀ[k]
/// (D[k, m] also depends on GR[m]), for Ā ng × axis per atom and Bᵀ and
/// outᵀ ng quads per atom.
#[inline(always)]
fn adjoint_body<M: Madd>(a_bar: &[f64], b_t: &[Quad], ng: usize, axis: usize, out_t: &mut [Quad]) {
    let atoms = a_bar.chunks_exact(ng * axis).zip(b_t.chunks_exact(ng));
    for ((a, b), out) in atoms.zip(out_t.chunks_exact_mut(ng)) {
        for (k, row) in a.chunks_exact(axis).enumerate() {
            let bk = b[k];
            let mut direct = [0.0; 4];
            for (m, &am) in row.iter().enumerate() {
                for c in 0..4 {
                    direct[c] = M::madd(am, b[m][c], direct[c]);
                    out[m][c] = M::madd(am, bk[c], out[m][c]);
                }
            }
            for c in 0..4 {
                out[k][c] += direct[c];
            }
        }
    }
}

/// Whether this CPU runs the fused copies (the detection is cached by
/// std).
#[inline]
fn fused_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Each kernel `name => body`: `name` runs `body` compiled with AVX2 and
/// FMA (a copy in `mod fused`) on CPUs that have them, and the portable
/// `body::<Separate>` elsewhere. `<E>` marks kernels generic over the
/// stored [`Output`].
macro_rules! kernels {
    ($($(#[$doc:meta])* $vis:vis fn $name:ident $(<$e:ident>)? ($($arg:ident: $ty:ty),* $(,)?) => $body:ident;)*) => {
        #[cfg(target_arch = "x86_64")]
        mod fused {
            use super::*;
            $(
                #[target_feature(enable = "avx2,fma")]
                pub(super) fn $name $(<$e: Output>)? ($($arg: $ty),*) {
                    $body::<Fused $(, $e)?>($($arg),*)
                }
            )*
        }
        $(
            $(#[$doc])*
            $vis fn $name $(<$e: Output>)? ($($arg: $ty),*) {
                #[cfg(target_arch = "x86_64")]
                if fused_here() {
                    // SAFETY: the CPU has AVX2 and FMA (`fused_here`).
                    return unsafe { fused::$name($($arg),*) };
                }
                $body::<Separate $(, $e)?>($($arg),*)
            }
        )*
    };
}

kernels! {
    fn contract_in<E>(gr_t: &mut [Quad], ng: usize, atom: &[u32], g: &[E], env: &[Quad])
        => contract_body;
    fn tangent_in<E>(
        gr_dot_t: &mut [Quad],
        ng: usize,
        atom: &[u32],
        g: &[E],
        gp: &[E],
        env: &[Quad],
        env_dot: &[Quad],
    ) => tangent_body;
    fn dots_in<E>(
        gr_bar_t: &[Quad],
        ng: usize,
        atom: &[u32],
        g: &[E],
        gp: &[E],
        dots: &mut Vec<(Quad, Quad)>,
    ) => dots_body;
    /// The rows' adjoints Ḡ and Ḡ' (rows × ng each, added to) from their
    /// atoms' GR̄ and GṘ̄; see [`RowAdjoints`]. `env` and `env_dot` start
    /// at the first of the rows `atom`.
    pub(super) fn row_bars(adj: &RowAdjoints, atom: &[u32], gb: &mut [f64], gpb: &mut [f64])
        => bars_body;
    /// outᵀ += the adjoint of D = GR·GR<ᵀ (Ā, ng × axis per atom) carried
    /// to the factor Bᵀ (GR or GṘ, ng quads per atom), for every atom of
    /// `b_t`.
    pub(super) fn gr_adjoint(a_bar: &[f64], b_t: &[Quad], ng: usize, axis: usize, out_t: &mut [Quad])
        => adjoint_body;
}

/// GRᵀ[a] += G_r ⊗ R̃_r over rows r with atoms `atom` and outputs G
/// (rows × ng; G' is not read), in row order; `gr_t` is ng quads per atom.
pub(super) fn contract(gr_t: &mut [Quad], ng: usize, atom: &[u32], out: Values, env: &[Quad]) {
    match out {
        Values::Double(g, _) => contract_in(gr_t, ng, atom, g, env),
        Values::Single(g, _) => contract_in(gr_t, ng, atom, g, env),
    }
}

/// GṘᵀ[a] += Ṙ₀ G'_r ⊗ R̃_r + G_r ⊗ Ṙ_r over rows r, in row order.
pub(super) fn contract_tangent(
    gr_dot_t: &mut [Quad],
    ng: usize,
    atom: &[u32],
    out: Values,
    env: &[Quad],
    env_dot: &[Quad],
) {
    match out {
        Values::Double(g, gp) => tangent_in(gr_dot_t, ng, atom, g, gp, env, env_dot),
        Values::Single(g, gp) => tangent_in(gr_dot_t, ng, atom, g, gp, env, env_dot),
    }
}

/// Per row r, GR̄[a]·G_r and GR̄[a]·G'_r for every column (from GR̄ᵀ, ng
/// quads per atom), into `dots`.
pub(super) fn row_dots(
    gr_bar_t: &[Quad],
    ng: usize,
    atom: &[u32],
    out: Values,
    dots: &mut Vec<(Quad, Quad)>,
) {
    match out {
        Values::Double(g, gp) => dots_in(gr_bar_t, ng, atom, g, gp, dots),
        Values::Single(g, gp) => dots_in(gr_bar_t, ng, atom, g, gp, dots),
    }
}

/// `gr` ([c][k], per atom 4·ng) from GRᵀ (ng quads per atom) of `atoms`
/// atoms.
pub(super) fn untranspose(gr_t: &[Quad], ng: usize, atoms: usize, gr: &mut [f64]) {
    for (t, out) in gr_t[..atoms * ng]
        .chunks_exact(ng)
        .zip(gr.chunks_exact_mut(4 * ng))
    {
        for (k, q) in t.iter().enumerate() {
            for c in 0..4 {
                out[c * ng + k] = q[c];
            }
        }
    }
}

/// GRᵀ (ng quads per atom) from `gr` ([c][k], per atom 4·ng) of `atoms`
/// atoms.
pub(super) fn transpose(gr: &[f64], ng: usize, atoms: usize, gr_t: &mut Vec<Quad>) {
    gr_t.clear();
    for a in gr[..atoms * 4 * ng].chunks_exact(4 * ng) {
        gr_t.extend((0..ng).map(|k| std::array::from_fn(|c| a[c * ng + k])));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of two atoms (2, 2, 1 rows of atoms 0, 1, 0), ng = 6 (one
    /// whole group of four k and a tail of two).
    #[allow(clippy::type_complexity)]
    fn case() -> (Vec<u32>, Vec<f64>, Vec<f64>, Vec<Quad>, Vec<Quad>) {
        let atom = vec![0, 0, 1, 1, 0];
        let v = |i: usize| ((i * 37 % 23) as f64 - 11.0) / 7.0;
        let g: Vec<f64> = (0..30).map(v).collect();
        let gp: Vec<f64> = (0..30).map(|i| v(i + 5)).collect();
        let env = (0..5)
            .map(|r| std::array::from_fn(|c| v(3 * r + c + 1)))
            .collect();
        let env_dot = (0..5)
            .map(|r| std::array::from_fn(|c| v(5 * r + c + 2)))
            .collect();
        (atom, g, gp, env, env_dot)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-13 * (1.0 + b.abs())
    }

    /// The three kernels of one copy, as the dispatching functions call
    /// them.
    struct Copy {
        contract: ContractFn,
        tangent: TangentFn,
        dots: DotsFn,
        bars: BarsFn,
        adjoint: AdjointFn,
    }

    type ContractFn = fn(&mut [Quad], usize, &[u32], &[f64], &[Quad]);
    type TangentFn = fn(&mut [Quad], usize, &[u32], &[f64], &[f64], &[Quad], &[Quad]);
    type DotsFn = fn(&[Quad], usize, &[u32], &[f64], &[f64], &mut Vec<(Quad, Quad)>);
    type BarsFn = fn(&RowAdjoints, &[u32], &mut [f64], &mut [f64]);
    type AdjointFn = fn(&[f64], &[Quad], usize, usize, &mut [Quad]);

    #[test]
    fn both_copies_match_plain_sums() {
        let separate = Copy {
            contract: contract_body::<Separate, f64>,
            tangent: tangent_body::<Separate, f64>,
            dots: dots_body::<Separate, f64>,
            bars: bars_body::<Separate>,
            adjoint: adjoint_body::<Separate>,
        };
        // the dispatching functions: the fused copy on CPUs that have it
        let best = Copy {
            contract: |t, ng, atom, g, env| contract(t, ng, atom, Values::Double(g, &[]), env),
            tangent: |t, ng, atom, g, gp, env, env_dot| {
                contract_tangent(t, ng, atom, Values::Double(g, gp), env, env_dot)
            },
            dots: |t, ng, atom, g, gp, out| row_dots(t, ng, atom, Values::Double(g, gp), out),
            bars: row_bars,
            adjoint: gr_adjoint,
        };
        for copy in [separate, best] {
            check(&copy);
        }
    }

    fn check(copy: &Copy) {
        let (atom, g, gp, env, env_dot) = case();
        let ng = 6;
        let mut gr_t = vec![[0.0; 4]; 2 * ng];
        (copy.contract)(&mut gr_t, ng, &atom, &g, &env);
        let mut gr_dot_t = vec![[0.0; 4]; 2 * ng];
        (copy.tangent)(&mut gr_dot_t, ng, &atom, &g, &gp, &env, &env_dot);
        for a in 0..2 {
            for k in 0..ng {
                for c in 0..4 {
                    let rows = (0..5).filter(|&r| atom[r] == a as u32);
                    let want: f64 = rows.clone().map(|r| g[r * ng + k] * env[r][c]).sum();
                    assert!(close(gr_t[a * ng + k][c], want));
                    let want_dot: f64 = rows
                        .map(|r| {
                            gp[r * ng + k] * env_dot[r][0] * env[r][c]
                                + g[r * ng + k] * env_dot[r][c]
                        })
                        .sum();
                    assert!(close(gr_dot_t[a * ng + k][c], want_dot));
                }
            }
        }
        let mut out = Vec::new();
        (copy.dots)(&gr_t, ng, &atom, &g, &gp, &mut out);
        assert_eq!(out.len(), 5);
        for (r, (dg, dgp)) in out.iter().enumerate() {
            let t = &gr_t[atom[r] as usize * ng..][..ng];
            for c in 0..4 {
                let want: f64 = (0..ng).map(|k| t[k][c] * g[r * ng + k]).sum();
                let want_p: f64 = (0..ng).map(|k| t[k][c] * gp[r * ng + k]).sum();
                assert!(close(dg[c], want) && close(dgp[c], want_p));
            }
        }
        // the rows' adjoints, from GR̄ = g[..12] and GṘ̄ = gp[..12] ([c][k],
        // ng = 3 per atom), with and without a tangent
        let ng = 3;
        let mut adj = RowAdjoints {
            ng,
            gr_bar: &g[..24],
            gr_dot_bar: &gp[..24],
            env: &env,
            env_dot: Some(&env_dot),
            scale: 0.25,
        };
        let (mut gb, mut gpb) = (vec![1.0; 15], vec![-1.0; 15]);
        (copy.bars)(&adj, &atom, &mut gb, &mut gpb);
        for r in 0..5 {
            let q = atom[r] as usize * 12;
            for k in 0..ng {
                let b = |v: &[f64], x: Quad| (0..4).map(|c| v[q + c * ng + k] * x[c]).sum::<f64>();
                let (e, ed) = (env[r], env_dot[r]);
                let want = 1.0 + 0.25 * (b(&g, e) + b(&gp, ed));
                let want_p = -1.0 + 0.25 * ed[0] * b(&gp, e);
                assert!(close(gb[r * ng + k], want) && close(gpb[r * ng + k], want_p));
            }
        }
        adj.env_dot = None;
        let mut gb = vec![0.0; 15];
        (copy.bars)(&adj, &atom, &mut gb, &mut []);
        for r in 0..5 {
            for k in 0..ng {
                let q = atom[r] as usize * 12;
                let want: f64 = (0..4).map(|c| g[q + c * ng + k] * env[r][c]).sum();
                assert!(close(gb[r * ng + k], 0.25 * want));
            }
        }
        // D = GR·GR<ᵀ's adjoint, ng = 6, axis = 4, two atoms: Ā = g[..48],
        // Bᵀ = gr_t, added to outᵀ = ones
        let (ng, axis) = (6, 4);
        let a_bar: Vec<f64> = g.iter().chain(&gp).copied().take(48).collect();
        let mut out = vec![[1.0; 4]; 2 * ng];
        (copy.adjoint)(&a_bar, &gr_t, ng, axis, &mut out);
        for a in 0..2 {
            let (ab, b) = (&a_bar[a * ng * axis..], &gr_t[a * ng..]);
            for k in 0..ng {
                for c in 0..4 {
                    let direct: f64 = (0..axis).map(|m| ab[k * axis + m] * b[m][c]).sum();
                    let transposed: f64 = if k < axis {
                        (0..ng).map(|j| ab[j * axis + k] * b[j][c]).sum()
                    } else {
                        0.0
                    };
                    assert!(close(out[a * ng + k][c], 1.0 + direct + transposed));
                }
            }
        }
    }

    #[test]
    fn transposes_invert_each_other() {
        let (_, g, ..) = case();
        let ng = 3;
        let mut t = Vec::new();
        transpose(&g[..24], ng, 2, &mut t);
        // atom 1, k = 2: its four columns, ng apart
        assert_eq!(t[ng + 2], [g[14], g[17], g[20], g[23]]);
        let mut back = vec![0.0; 24];
        untranspose(&t, ng, 2, &mut back);
        assert_eq!(back, g[..24]);
    }
}
