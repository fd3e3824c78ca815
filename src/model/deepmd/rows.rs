//! The neighbour rows' products with GR and its adjoints, four lanes at a
//! time: one lane per column c of R̃ (s, x, y, z), over each row's
//! embedding outputs G_k.
//!
//! These run once per neighbour row and embedding output in every
//! prediction and gradient (GR += G ⊗ R̃, its tangent, and the row
//! adjoints GR̄·G), with widths like 25 that vectorise badly along k. Along
//! c every product is four independent lanes, so each step is one
//! four-wide multiply-add. The kernels are written once over a
//! multiply-add ([`Madd`]) and compiled twice: fused, for x86-64 CPUs with
//! AVX2 and FMA (chosen at run time), and as separate multiplies and adds
//! elsewhere. Every lane is its own chain of operations, so AVX2 and
//! AVX-512 CPUs give the same bits.

/// Four values, one per column of R̃.
pub(super) type Quad = [f64; 4];

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
fn contract_body<M: Madd>(gr_t: &mut [Quad], ng: usize, atom: &[u32], g: &[f64], env: &[Quad]) {
    for ((&a, gk), e) in atom.iter().zip(g.chunks_exact(ng)).zip(env) {
        let acc = &mut gr_t[a as usize * ng..(a as usize + 1) * ng];
        for (o, &x) in acc.iter_mut().zip(gk) {
            for c in 0..4 {
                o[c] = M::madd(x, e[c], o[c]);
            }
        }
    }
}

/// Sums per atom GṘᵀ[a][k] += G'_r[k]·Ṙ_r0·R̃_r + G_r[k]·Ṙ_r (the
/// tangent of [`contract_body`] along Ṙ, with Ġ = Ṙ₀·G').
#[inline(always)]
fn tangent_body<M: Madd>(
    gr_dot_t: &mut [Quad],
    ng: usize,
    atom: &[u32],
    g: &[f64],
    gp: &[f64],
    env: &[Quad],
    env_dot: &[Quad],
) {
    let rows = g.chunks_exact(ng).zip(gp.chunks_exact(ng));
    for (((&a, (gk, gpk)), e), ed) in atom.iter().zip(rows).zip(env).zip(env_dot) {
        let x: Quad = std::array::from_fn(|c| e[c] * ed[0]);
        let acc = &mut gr_dot_t[a as usize * ng..(a as usize + 1) * ng];
        for ((o, &v), &p) in acc.iter_mut().zip(gk).zip(gpk) {
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
fn dots_body<M: Madd>(
    gr_bar_t: &[Quad],
    ng: usize,
    atom: &[u32],
    g: &[f64],
    gp: &[f64],
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
                for c in 0..4 {
                    s[j][c] = M::madd(x4[j], t4[j][c], s[j][c]);
                    sp[j][c] = M::madd(p4[j], t4[j][c], sp[j][c]);
                }
            }
        }
        for (j, ((tq, &x), &p)) in tail.0.iter().zip(tail.1).zip(tail.2).enumerate() {
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

#[cfg(target_arch = "x86_64")]
mod fused {
    use super::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn contract(gr_t: &mut [Quad], ng: usize, atom: &[u32], g: &[f64], env: &[Quad]) {
        contract_body::<Fused>(gr_t, ng, atom, g, env)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn tangent(
        gr_dot_t: &mut [Quad],
        ng: usize,
        atom: &[u32],
        g: &[f64],
        gp: &[f64],
        env: &[Quad],
        env_dot: &[Quad],
    ) {
        tangent_body::<Fused>(gr_dot_t, ng, atom, g, gp, env, env_dot)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dots(
        gr_bar_t: &[Quad],
        ng: usize,
        atom: &[u32],
        g: &[f64],
        gp: &[f64],
        out: &mut Vec<(Quad, Quad)>,
    ) {
        dots_body::<Fused>(gr_bar_t, ng, atom, g, gp, out)
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

/// GRᵀ[a] += G_r ⊗ R̃_r over rows r with atoms `atom` and outputs `g`
/// (rows × ng), in row order; `gr_t` is ng quads per atom.
pub(super) fn contract(gr_t: &mut [Quad], ng: usize, atom: &[u32], g: &[f64], env: &[Quad]) {
    #[cfg(target_arch = "x86_64")]
    if fused_here() {
        // SAFETY: the CPU has AVX2 and FMA, checked above.
        return unsafe { fused::contract(gr_t, ng, atom, g, env) };
    }
    contract_body::<Separate>(gr_t, ng, atom, g, env)
}

/// GṘᵀ[a] += Ṙ₀ G'_r ⊗ R̃_r + G_r ⊗ Ṙ_r over rows r, in row order.
pub(super) fn contract_tangent(
    gr_dot_t: &mut [Quad],
    ng: usize,
    atom: &[u32],
    g: &[f64],
    gp: &[f64],
    env: &[Quad],
    env_dot: &[Quad],
) {
    #[cfg(target_arch = "x86_64")]
    if fused_here() {
        // SAFETY: as in `contract`.
        return unsafe { fused::tangent(gr_dot_t, ng, atom, g, gp, env, env_dot) };
    }
    tangent_body::<Separate>(gr_dot_t, ng, atom, g, gp, env, env_dot)
}

/// Per row r, GR̄[a]·G_r and GR̄[a]·G'_r for every column (from GR̄ᵀ, ng
/// quads per atom), into `out`.
pub(super) fn row_dots(
    gr_bar_t: &[Quad],
    ng: usize,
    atom: &[u32],
    g: &[f64],
    gp: &[f64],
    out: &mut Vec<(Quad, Quad)>,
) {
    #[cfg(target_arch = "x86_64")]
    if fused_here() {
        // SAFETY: as in `contract`.
        return unsafe { fused::dots(gr_bar_t, ng, atom, g, gp, out) };
    }
    dots_body::<Separate>(gr_bar_t, ng, atom, g, gp, out)
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
    }

    type ContractFn = fn(&mut [Quad], usize, &[u32], &[f64], &[Quad]);
    type TangentFn = fn(&mut [Quad], usize, &[u32], &[f64], &[f64], &[Quad], &[Quad]);
    type DotsFn = fn(&[Quad], usize, &[u32], &[f64], &[f64], &mut Vec<(Quad, Quad)>);

    #[test]
    fn both_copies_match_plain_sums() {
        let separate = Copy {
            contract: contract_body::<Separate>,
            tangent: tangent_body::<Separate>,
            dots: dots_body::<Separate>,
        };
        // the dispatching functions: the fused copy on CPUs that have it
        let best = Copy {
            contract,
            tangent: contract_tangent,
            dots: row_dots,
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
