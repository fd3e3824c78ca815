//! The Artrith–Urban–Ceder Chebyshev descriptor as aenet computes it
//! (`sfbasis.f90`), with its derivatives with respect to each pair vector.
//!
//! For a centre i with neighbours j at R_ij (d_ij = |R_ij|):
//!
//! - radial, n = 0..=N_r: Σ_j T_n(2d_ij/Rc_r − 1)·fc_r(d_ij) over
//!   0 < d_ij ≤ Rc_r;
//! - angular, n = 0..=N_a: Σ_{j<k} T_n(cos θ_ijk)·fc_a(d_ij)·fc_a(d_ik)
//!   over pairs with both distances in (0, Rc_a];
//! - fc(d) = ½(cos(πd/Rc) + 1), with aenet's 15-digit π.
//!
//! With more than one species every block is repeated with each term
//! weighted by the neighbours' "spins" (s_j radial, s_j·s_k angular; see
//! [`spins`]), giving [radial, angular, radial·s, angular·s].

use crate::neighbors::NeighborList;

/// aenet's π (`sfbasis.f90`: 15 digits), so that fc matches its values to
/// the last bit; the truncation is aenet's, not an approximation here.
#[allow(clippy::approx_constant)]
const AENET_PI: f64 = 3.14159265358979;

/// Distances at or below this are the centre itself (aenet's EPS).
const EPS: f64 = 1e-12;

/// One element's descriptor settings (aenet's `BASIS type=Chebyshev`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Chebyshev {
    /// Radial cutoff Rc_r, Å.
    pub radial_cutoff: f64,
    /// Highest radial order N_r.
    pub radial_order: usize,
    /// Angular cutoff Rc_a, Å.
    pub angular_cutoff: f64,
    /// Highest angular order N_a.
    pub angular_order: usize,
}

/// aenet's type spins for `n` species in ENV order: −n/2 … upwards,
/// skipping 0 when n is even (2 species: −1, +1; 3: −1, 0, 1).
pub fn spins(n: usize) -> Vec<f64> {
    let mut s = -((n / 2) as i64);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if s == 0 && n.is_multiple_of(2) {
            s += 1;
        }
        out.push(s as f64);
        s += 1;
    }
    out
}

/// Derivatives of one atom's descriptor with respect to its pair vectors,
/// pair by pair (`pair` is the index into the neighbour list).
#[derive(Clone, Debug, Default)]
pub struct AtomJacobian {
    /// Pairs within the radial cutoff.
    pub radial_pairs: Vec<u32>,
    /// (dφ_n/dd)/d for each of those pairs (N_r + 1 each): ∂x_n/∂R =
    /// (dφ_n/dd)·R/d, times s_j for the weighted block (divided by d once
    /// here so that no use needs a square root).
    pub radial: Vec<f64>,
    /// Pairs within the angular cutoff.
    pub angular_pairs: Vec<u32>,
    /// ∂x/∂R of each angular feature for each of those pairs: (N_a + 1)
    /// 3-vectors for the plain block, then as many for the weighted block
    /// when there is one (spins included).
    pub angular: Vec<f64>,
}

impl Chebyshev {
    /// Radial features per block.
    pub fn n_radial(&self) -> usize {
        self.radial_order + 1
    }

    /// Angular features per block.
    pub fn n_angular(&self) -> usize {
        self.angular_order + 1
    }

    /// Length of the descriptor; `multi` when the model has more than one
    /// species (the weighted blocks).
    pub fn dim(&self, multi: bool) -> usize {
        (self.n_radial() + self.n_angular()) * if multi { 2 } else { 1 }
    }

    /// The larger cutoff.
    pub fn cutoff(&self) -> f64 {
        self.radial_cutoff.max(self.angular_cutoff)
    }

    /// The descriptor of atom `i` into `x` (length [`Chebyshev::dim`]), and
    /// its Jacobian when `jac` is given. `spin[j]` is the spin of atom j's
    /// species; `multi` as in [`Chebyshev::dim`].
    pub fn eval(
        &self,
        list: &NeighborList,
        i: usize,
        spin: &[f64],
        multi: bool,
        x: &mut [f64],
        mut jac: Option<&mut AtomJacobian>,
    ) {
        x.fill(0.0);
        let (nr, na) = (self.n_radial(), self.n_angular());
        let (rw, aw) = (nr + na, 2 * nr + na);
        let (index, vector) = list.of(i);
        let base = list.range(i).start;
        if let Some(j) = jac.as_deref_mut() {
            j.radial_pairs.clear();
            j.radial.clear();
            j.angular_pairs.clear();
            j.angular.clear();
        }
        let mut t = vec![0.0; nr.max(na)];
        let mut dt = vec![0.0; nr.max(na)];
        // Angular partners: (pair, unit vector, distance, fc, fc', spin).
        let mut partners: Vec<Partner> = Vec::new();
        for (p, (&j, r)) in index.iter().zip(vector).enumerate() {
            let d = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
            if d <= EPS {
                continue;
            }
            let s = spin[j as usize];
            if d <= self.radial_cutoff {
                let (fc, dfc) = cutoff_fn(d, self.radial_cutoff);
                let scale = 2.0 / self.radial_cutoff;
                chebyshev(scale * d - 1.0, &mut t[..nr], &mut dt[..nr]);
                for n in 0..nr {
                    x[n] += fc * t[n];
                    if multi {
                        x[rw + n] += s * fc * t[n];
                    }
                }
                if let Some(jac) = jac.as_deref_mut() {
                    jac.radial_pairs.push((base + p) as u32);
                    jac.radial
                        .extend((0..nr).map(|n| (dfc * t[n] + fc * dt[n] * scale) / d));
                }
            }
            if d <= self.angular_cutoff {
                let (fc, dfc) = cutoff_fn(d, self.angular_cutoff);
                let u = [r[0] / d, r[1] / d, r[2] / d];
                partners.push(Partner {
                    pair: base + p,
                    u,
                    d,
                    fc,
                    dfc,
                    s,
                });
            }
        }
        let blocks = if multi { 2 } else { 1 };
        let width = 3 * na * blocks;
        let grads = jac.map(|j| {
            j.angular_pairs
                .extend(partners.iter().map(|q| q.pair as u32));
            j.angular.resize(partners.len() * width, 0.0);
            &mut j.angular[..]
        });
        self.angular(
            &partners,
            multi,
            &mut x[nr..],
            aw - nr,
            grads,
            &mut t,
            &mut dt,
        );
    }

    /// The angular sums over partner pairs a < b into `xa` (plain block at
    /// 0, weighted at `weighted`), and each partner's ∂/∂R into `grads`.
    #[allow(clippy::too_many_arguments)]
    fn angular(
        &self,
        partners: &[Partner],
        multi: bool,
        xa: &mut [f64],
        weighted: usize,
        mut grads: Option<&mut [f64]>,
        t: &mut [f64],
        dt: &mut [f64],
    ) {
        let na = self.n_angular();
        let width = 3 * na * if multi { 2 } else { 1 };
        let (t, dt) = (&mut t[..na], &mut dt[..na]);
        for (a, pa) in partners.iter().enumerate() {
            for (b, pb) in partners.iter().enumerate().skip(a + 1) {
                let c = dot(pa.u, pb.u);
                chebyshev(c, t, dt);
                let w = pa.fc * pb.fc;
                let ss = pa.s * pb.s;
                for n in 0..na {
                    xa[n] += w * t[n];
                    if multi {
                        xa[weighted + n] += ss * w * t[n];
                    }
                }
                let Some(g) = grads.as_deref_mut() else {
                    continue;
                };
                // ∂/∂R_a of w·T_n(c): fc_a'·fc_b·T_n·û_a + w·T_n'·(û_b − c·û_a)/d_a.
                let (ga, gb) = g.split_at_mut(b * width);
                let ga = &mut ga[a * width..(a + 1) * width];
                let gb = &mut gb[..width];
                let ua: [f64; 3] = std::array::from_fn(|k| (pb.u[k] - c * pa.u[k]) / pa.d);
                let ub: [f64; 3] = std::array::from_fn(|k| (pa.u[k] - c * pb.u[k]) / pb.d);
                for n in 0..na {
                    let ra = pa.dfc * pb.fc * t[n];
                    let rb = pa.fc * pb.dfc * t[n];
                    let q = w * dt[n];
                    for k in 0..3 {
                        let da = ra * pa.u[k] + q * ua[k];
                        let db = rb * pb.u[k] + q * ub[k];
                        ga[3 * n + k] += da;
                        gb[3 * n + k] += db;
                        if multi {
                            ga[3 * (na + n) + k] += ss * da;
                            gb[3 * (na + n) + k] += ss * db;
                        }
                    }
                }
            }
        }
    }
}

/// A neighbour within the angular cutoff.
struct Partner {
    pair: usize,
    u: [f64; 3],
    d: f64,
    fc: f64,
    dfc: f64,
    s: f64,
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// fc(d) = ½(cos(πd/Rc) + 1) and its derivative.
fn cutoff_fn(d: f64, rc: f64) -> (f64, f64) {
    let (s, c) = (AENET_PI * d / rc).sin_cos();
    (0.5 * (c + 1.0), -0.5 * AENET_PI / rc * s)
}

/// T_n(x) and T_n'(x) for n < t.len(), by the three-term recurrences.
fn chebyshev(x: f64, t: &mut [f64], dt: &mut [f64]) {
    let n = t.len();
    if n == 0 {
        return;
    }
    t[0] = 1.0;
    dt[0] = 0.0;
    if n > 1 {
        t[1] = x;
        dt[1] = 1.0;
    }
    for k in 2..n {
        t[k] = 2.0 * x * t[k - 1] - t[k - 2];
        dt[k] = 2.0 * t[k - 1] + 2.0 * x * dt[k - 1] - dt[k - 2];
    }
}
