//! The smooth environment matrix of se_e2_a, as deepmd-kit's
//! `deepmd/dpmodel/utils/env_mat.py` computes it.
//!
//! For a neighbour at r = r_j − r_i, d = |r|, protection p:
//!
//! env = w(d) · (1/(d + p), x/(d + p)², y/(d + p)², z/(d + p)²)
//!
//! with the quintic switch w = u³(−6u² + 15u − 10) + 1, u = (d − r_s)/(r_c − r_s)
//! clipped to [0, 1] (w = 1 below r_s, 0 beyond r_c; value, slope and
//! curvature continuous). The model then normalises each column per centre
//! type and slot: R̃ = (env − davg)/dstd. An empty (padded) slot has env = 0.

/// The cutoffs and protection of the environment matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnvParams {
    /// Cutoff r_c, Å.
    pub rcut: f64,
    /// Start of the switch r_s, Å.
    pub rcut_smth: f64,
    /// deepmd-kit's `env_protection` p, added to d in the denominators.
    pub protection: f64,
}

/// The switch and its derivative dw/dd at distance `d`.
pub fn smooth_weight(d: f64, rmin: f64, rmax: f64) -> (f64, f64) {
    if d >= rmax {
        return (0.0, 0.0);
    }
    let clipped = d.max(rmin);
    let width = rmax - rmin;
    let u = (clipped - rmin) / width;
    let u2 = u * u;
    // deepmd-kit's operation order, for bitwise-close values
    let w = u2 * u * (-6.0 * u2 + 15.0 * u - 10.0) + 1.0;
    let dw = if d > rmin {
        -30.0 * u2 * (1.0 - u) * (1.0 - u) / width
    } else {
        0.0
    };
    (w, dw)
}

/// Geometry of one neighbour, shared by the value and its derivatives.
#[derive(Clone, Copy, Debug)]
pub struct EnvGeometry {
    /// r_ij.
    pub r: [f64; 3],
    /// |r_ij|.
    pub d: f64,
    /// w(d).
    pub w: f64,
    /// dw/dd.
    pub dw: f64,
    /// 1/(d + p).
    pub inv: f64,
}

impl EnvParams {
    /// The geometry of neighbour vector `r` (at distance `d` = |r| > 0).
    pub fn geometry(&self, r: [f64; 3], d: f64) -> EnvGeometry {
        let (w, dw) = smooth_weight(d, self.rcut_smth, self.rcut);
        EnvGeometry {
            r,
            d,
            w,
            dw,
            inv: 1.0 / (d + self.protection),
        }
    }
}

impl EnvGeometry {
    /// The raw (unnormalised) environment row.
    pub fn value(&self) -> [f64; 4] {
        let t1 = self.inv * self.inv;
        [
            self.inv * self.w,
            self.r[0] * t1 * self.w,
            self.r[1] * t1 * self.w,
            self.r[2] * t1 * self.w,
        ]
    }

    /// The row's directional derivative along δ (a change of r).
    pub fn tangent(&self, delta: [f64; 3]) -> [f64; 4] {
        let u = [self.r[0] / self.d, self.r[1] / self.d, self.r[2] / self.d];
        let d_dot = u[0] * delta[0] + u[1] * delta[1] + u[2] * delta[2];
        let inv2 = self.inv * self.inv;
        let w_dot = self.dw * d_dot;
        let t0_dot = -d_dot * inv2;
        let mut out = [0.0; 4];
        out[0] = w_dot * self.inv + self.w * t0_dot;
        for a in 0..3 {
            let t1 = self.r[a] * inv2;
            let t1_dot = delta[a] * inv2 - 2.0 * self.r[a] * d_dot * inv2 * self.inv;
            out[a + 1] = w_dot * t1 + self.w * t1_dot;
        }
        out
    }

    /// ∂(ē·env)/∂r for the adjoint ē of the raw row.
    pub fn gradient(&self, env_bar: [f64; 4]) -> [f64; 3] {
        let u = [self.r[0] / self.d, self.r[1] / self.d, self.r[2] / self.d];
        let inv2 = self.inv * self.inv;
        let along_r = env_bar[1] * self.r[0] + env_bar[2] * self.r[1] + env_bar[3] * self.r[2];
        let radial = env_bar[0] * (self.dw * self.inv - self.w * inv2)
            + along_r * (self.dw * inv2 - 2.0 * self.w * inv2 * self.inv);
        let direct = self.w * inv2;
        [
            u[0] * radial + direct * env_bar[1],
            u[1] * radial + direct * env_bar[2],
            u[2] * radial + direct * env_bar[3],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        let p = EnvParams {
            rcut: 5.0,
            rcut_smth: 1.5,
            protection: 0.3,
        };
        let bar = [0.7, -1.1, 0.4, 2.0];
        let delta = [0.3, -0.8, 0.5];
        for r in [[0.4f64, 0.9, -0.3], [2.1, -1.7, 1.2], [3.0, 3.1, -1.0]] {
            let d = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
            let g = p.geometry(r, d);
            let value = |q: [f64; 3]| {
                let dq = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt();
                p.geometry(q, dq).value()
            };
            let h = 1e-6;
            let grad = g.gradient(bar);
            for a in 0..3 {
                let (mut plus, mut minus) = (r, r);
                plus[a] += h;
                minus[a] -= h;
                let (vp, vm) = (value(plus), value(minus));
                let fd: f64 = (0..4).map(|c| bar[c] * (vp[c] - vm[c]) / (2.0 * h)).sum();
                assert!((grad[a] - fd).abs() < 1e-8, "gradient {a}");
            }
            let tan = g.tangent(delta);
            let plus: [f64; 3] = std::array::from_fn(|a| r[a] + h * delta[a]);
            let minus: [f64; 3] = std::array::from_fn(|a| r[a] - h * delta[a]);
            let (vp, vm) = (value(plus), value(minus));
            for c in 0..4 {
                assert!(
                    (tan[c] - (vp[c] - vm[c]) / (2.0 * h)).abs() < 1e-8,
                    "tangent {c}"
                );
            }
        }
        assert_eq!(smooth_weight(1.0, 1.5, 5.0), (1.0, 0.0));
        assert_eq!(smooth_weight(5.0, 1.5, 5.0), (0.0, 0.0));
    }
}
