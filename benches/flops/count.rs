//! FLOP counts of the passes `flops.rs` times, from the models' shapes and
//! each structure's neighbour counts (the formulas are in `flops.rs`'s
//! module docs; the constants here are the per-element operation counts
//! named there).

use forcefit::model::Prepared;
use forcefit::model::bp::BpModel;
use forcefit::model::deepmd::DeepPot;
use forcefit::model::nep::Nep;
use forcefit::nn::{Layer, Network, Residual};

/// Element-wise work of one layer per row: b·([timestep] + [residual]).
fn extra(l: &Layer) -> f64 {
    let b = l.n_out as f64;
    b * (f64::from(u8::from(l.timestep)) + f64::from(u8::from(l.residual() != Residual::None)))
}

/// a·b of a layer.
fn ab(l: &Layer) -> f64 {
    (l.n_in * l.n_out) as f64
}

/// Forward: affine 2ab (bias folded in), φ and φ' 3b (+2b for φ'').
fn fwd(l: &Layer, second: bool) -> f64 {
    let b = l.n_out as f64;
    2.0 * ab(l) + 3.0 * b + if second { 2.0 * b } else { 0.0 } + extra(l)
}

/// Tangent: ż = ẋW 2ab, ⊙φ' b.
fn tan(l: &Layer) -> f64 {
    2.0 * ab(l) + l.n_out as f64 + extra(l)
}

/// Backward to the input only: z̄ b, x̄ = z̄Wᵀ 2ab.
fn bwd_in(l: &Layer) -> f64 {
    2.0 * ab(l) + l.n_out as f64 + extra(l)
}

/// Backward to parameters (W̄ 2ab, b̄ b) and, when `input`, to the input (2ab).
fn bwd(l: &Layer, input: bool) -> f64 {
    let b = l.n_out as f64;
    2.0 * ab(l) + 3.0 * b + if input { 2.0 * ab(l) } else { 0.0 } + 2.0 * extra(l)
}

/// Backward through value and tangent: W̄ += xᵀz̄ + ẋᵀż̄ 4ab, z̄ and ż̄ 6b,
/// b̄ b, and with `input` x̄, ẋ̄ 4ab.
fn bwd_tan(l: &Layer, input: bool) -> f64 {
    let b = l.n_out as f64;
    4.0 * ab(l) + 7.0 * b + if input { 4.0 * ab(l) } else { 0.0 } + 3.0 * extra(l)
}

/// Σ over a network's layers; `first` is applied to the first layer.
fn net_sum(n: &Network, first: impl Fn(&Layer) -> f64, rest: impl Fn(&Layer) -> f64) -> f64 {
    n.layers
        .iter()
        .enumerate()
        .map(|(k, l)| if k == 0 { first(l) } else { rest(l) })
        .sum()
}

fn net(n: &Network, f: impl Fn(&Layer) -> f64) -> f64 {
    n.layers.iter().map(f).sum()
}

/// Per-row constants of the environment rows: geometry and
/// normalisation, its tangent along δ, and its gradient with the force
/// and virial scatter.
const ENV_ROW: f64 = 25.0;
const ENV_TANGENT: f64 = 40.0;
const ENV_GRADIENT: f64 = 60.0;

/// What the DeePMD passes work on for a set of sites of one structure.
pub struct DpCounts {
    /// Real neighbour rows (within rcut, within `sel`).
    pub rows: f64,
    /// Sites per atom type.
    pub sites: Vec<f64>,
}

impl DpCounts {
    /// The rows and sites of `sites` in `s`.
    pub fn of(model: &DeepPot, s: &Prepared, sites: &[usize]) -> Self {
        let h = model.hyper();
        let nt = h.n_types();
        let rc2 = h.rcut * h.rcut;
        let mut rows = 0.0;
        let mut per_type = vec![0.0; nt];
        for &i in sites {
            per_type[s.types[i]] += 1.0;
            let mut count = vec![0usize; nt];
            let (index, vector) = s.neighbors.of(i);
            for (&j, r) in index.iter().zip(vector) {
                if r[0] * r[0] + r[1] * r[1] + r[2] * r[2] < rc2 {
                    count[s.types[j as usize]] += 1;
                }
            }
            rows += (0..nt).map(|t| count[t].min(h.sel[t])).sum::<usize>() as f64;
        }
        DpCounts {
            rows,
            sites: per_type,
        }
    }

    fn atoms(&self) -> f64 {
        self.sites.iter().sum()
    }
}

/// The shapes of a DeePMD model that the counts need.
struct DpShape<'a> {
    emb: &'a Network,
    fits: &'a [Network],
    ng: f64,
    axis: f64,
    nt: f64,
    /// Empty-slot rows evaluated per call: one per (centre type, slot).
    pad: f64,
}

impl<'a> DpShape<'a> {
    fn of(m: &'a DeepPot) -> Self {
        let h = m.hyper();
        DpShape {
            emb: &m.embeddings()[0],
            fits: m.fittings(),
            ng: h.embedding_width() as f64,
            axis: h.axis_neuron as f64,
            nt: h.n_types() as f64,
            pad: (h.n_types() * h.n_slots()) as f64,
        }
    }

    /// Σ_t sites_t · cost(fitting net t).
    fn fit(&self, c: &DpCounts, f: impl Fn(&Network) -> f64) -> f64 {
        self.fits.iter().zip(&c.sites).map(|(n, &k)| k * f(n)).sum()
    }
}

/// Energy + forces + virial (the prediction).
pub fn dp_predict(m: &DeepPot, c: &DpCounts) -> f64 {
    let z = DpShape::of(m);
    let (r, n, ng, ax) = (c.rows, c.atoms(), z.ng, z.axis);
    let emb = r * (ENV_ROW + net(z.emb, |l| fwd(l, false) + tan(l)))
        + z.pad * net(z.emb, |l| fwd(l, false));
    let contract = r * 8.0 * ng + n * (4.0 * ng * z.nt + 4.0 * ng + 8.0 * ng * ax);
    let fit = z.fit(c, |f| net(f, |l| fwd(l, false) + bwd_in(l)));
    let back = n * 16.0 * ng * ax + r * (16.0 * ng + ENV_GRADIENT);
    emb + contract + fit + back
}

/// The exact vjp of the prediction (energy, force and virial adjoints).
pub fn dp_vjp(m: &DeepPot, c: &DpCounts) -> f64 {
    let z = DpShape::of(m);
    let (r, n, ng, ax) = (c.rows, c.atoms(), z.ng, z.axis);
    let per_row = ENV_ROW
        + ENV_TANGENT
        + net_sum(z.emb, |l| fwd(l, true) + tan(l) + bwd_tan(l, false), |l| {
            fwd(l, true) + tan(l) + bwd_tan(l, true)
        })
        // GR 8ng, GṘ 16ng, Ḡ and Ḡ' 24ng
        + 48.0 * ng;
    let per_atom = 4.0 * ng * z.nt + 4.0 * ng // empty slots into GR, scale
        + 24.0 * ng * ax // D, Ḋ
        + 48.0 * ng * ax // three adjoints of D = GR·GR<ᵀ
        + 4.0 * ng * z.nt; // empty-slot buckets
    let fit = z.fit(c, |f| net(f, |l| fwd(l, true) + tan(l) + bwd_tan(l, true)));
    let pad = z.pad
        * net_sum(
            z.emb,
            |l| 2.0 * fwd(l, false) + bwd(l, false),
            |l| 2.0 * fwd(l, false) + bwd(l, true),
        );
    r * per_row + n * per_atom + fit + pad
}

/// What a training step's vjp does not recompute when it runs from its
/// prediction's tape (`Model::predict_sites_taped`): each row's
/// environment, its G and G' (forward and tangent) and GR, and the
/// fitting networks' forward pass (less its φ'', which the prediction
/// now computes for the tape).
pub fn dp_taped(m: &DeepPot, c: &DpCounts) -> f64 {
    let z = DpShape::of(m);
    c.rows * (ENV_ROW + net(z.emb, |l| fwd(l, false) + tan(l)) + 8.0 * z.ng)
        + z.fit(c, |f| net(f, |l| fwd(l, false)))
}

/// ∇θE alone (FEKF's energy measurement): forward values, the fitting's
/// and embedding's backward to parameters, no tangents.
pub fn dp_energy_gradient(m: &DeepPot, c: &DpCounts) -> f64 {
    let z = DpShape::of(m);
    let (r, n, ng, ax) = (c.rows, c.atoms(), z.ng, z.axis);
    let per_row = ENV_ROW
        + net_sum(
            z.emb,
            |l| fwd(l, false) + bwd(l, false),
            |l| fwd(l, false) + bwd(l, true),
        )
        + 16.0 * ng; // GR, Ḡ
    let per_atom = 4.0 * ng * z.nt + 4.0 * ng + 8.0 * ng * ax + 16.0 * ng * ax + 4.0 * ng * z.nt;
    let fit = z.fit(c, |f| net(f, |l| fwd(l, false) + bwd(l, true)));
    let pad = z.pad
        * net_sum(
            z.emb,
            |l| 2.0 * fwd(l, false) + bwd(l, false),
            |l| 2.0 * fwd(l, false) + bwd(l, true),
        );
    r * per_row + n * per_atom + fit + pad
}

/// Pair counts of one structure within two cutoffs.
fn pairs_within(s: &Prepared, sites: &[usize], rc: f64) -> f64 {
    let rc2 = rc * rc;
    let mut n = 0usize;
    for &i in sites {
        let (_, vector) = s.neighbors.of(i);
        n += vector
            .iter()
            .filter(|r| r[0] * r[0] + r[1] * r[1] + r[2] * r[2] < rc2)
            .count();
    }
    n as f64
}

/// NEP's training step (prediction for the loss, then the exact vjp) with
/// the geometry cached, dominant terms.
pub fn nep_step(m: &Nep, s: &Prepared) -> f64 {
    let h = m.hyper();
    let sites: Vec<usize> = (0..s.structure.n_atoms()).collect();
    let n = sites.len() as f64;
    let pr = pairs_within(s, &sites, h.rc_radial);
    let pa = pairs_within(s, &sites, h.rc_angular);
    let nt = h.n_types() as f64;
    let (nr, na) = ((h.n_max_radial + 1) as f64, (h.n_max_angular + 1) as f64);
    let (kr, ka) = (
        (h.basis_size_radial + 1) as f64,
        (h.basis_size_angular + 1) as f64,
    );
    let c = h.angular.n_components() as f64;
    let (dim, hid) = (h.dim() as f64, h.neurons as f64);
    // prediction: q and the radial force coefficients, the network forward
    // and backward, invariants and their adjoint, then per pair
    let predict_atom = nt * nr * 4.0 * kr + 4.0 * dim * hid + 5.0 * hid + 8.0 * na * c;
    let predict_radial = 2.0 * kr + 30.0;
    let predict_angular = na * (4.0 * ka + 2.0 * c) + na * 4.0 * c + 8.0 * c + 30.0;
    // vjp: tangent sums, q and q̇, the network's value, tangent and reverse
    // (12·dim·H), invariants (5 passes), coefficient gradients
    let vjp_atom = nt * nr * 8.0 * kr + 12.0 * dim * hid + 15.0 * hid + 20.0 * na * c;
    let vjp_radial = 2.0 * kr + 10.0;
    let vjp_angular = 20.0 + 6.0 * c + na * (4.0 * ka + 6.0 * c) + na * (6.0 * c + 4.0 * ka + 1.0);
    n * (predict_atom + vjp_atom)
        + pr * (predict_radial + vjp_radial)
        + pa * (predict_angular + vjp_angular)
}

/// BP's training step (prediction for the loss, then the exact vjp) with
/// descriptors and Jacobians cached, dominant terms.
pub fn bp_step(m: &BpModel, s: &Prepared) -> f64 {
    let h = m.hyper();
    let blocks = if h.multi() { 2.0 } else { 1.0 };
    let mut total = 0.0;
    for i in 0..s.structure.n_atoms() {
        let t = s.types[i];
        let d = &h.descriptors[t];
        let (nr, na) = (d.n_radial() as f64, d.n_angular() as f64);
        let pr = pairs_within(s, &[i], d.radial_cutoff);
        let pa = pairs_within(s, &[i], d.angular_cutoff);
        let net = &h.networks[t];
        let dim = m.dim_of(t) as f64;
        // prediction: normalisation 2·dim, network forward + input adjoint,
        // per pair the Jacobian contraction and the force/virial scatter
        let predict = 2.0 * dim
            + self::net(net, |l| fwd(l, false) + bwd_in(l))
            + pr * (2.0 * nr + 3.0 + 24.0)
            + pa * (6.0 * na * blocks + 24.0);
        // vjp: per pair u_p and the tangent contraction, the network's
        // value, tangent and reverse with parameters
        let vjp =
            dim + net_sum(
                net,
                |l| fwd(l, true) + tan(l) + bwd_tan(l, false),
                |l| fwd(l, true) + tan(l) + bwd_tan(l, true),
            ) + pr * (20.0 + 2.0 * nr)
                + pa * (15.0 + 6.0 * na * blocks);
        total += predict + vjp;
    }
    total
}
