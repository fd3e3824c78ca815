//! Angular building blocks of NEP: the real polynomial harmonics Y_Lk of a
//! unit vector ([`harmonics`], L ≤ 8), and the invariants built from their
//! neighbour sums s_Lk = Σ_j g_n(r_ij) Y_Lk(û_ij): 3-body q_L for
//! L = 1..=l_max, then the many-body ones a model switches on
//! ([`invariants`]: q_222, q_1111, q_112, q_123, q_233, q_134, in that
//! order), as NEP_CPU and GPUMD order them in the descriptor.
//!
//! As in NEP, the sums are built only up to the 3-body l_max; a many-body
//! invariant that needs a higher L is therefore refused rather than left
//! identically zero.

mod harmonics;
mod invariants;

pub use harmonics::{MAX_L, N_HARMONICS, harmonics, harmonics_grad, n_components};
pub use invariants::ManyBody;

use harmonics::C3B;

/// Which angular invariants a model uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AngularTerms {
    /// Largest L of the 3-body invariants (0..=8).
    pub l_max: usize,
    /// 4-body q_222 (`l_max_4body` = 2 in old files, flag 1 in new ones).
    pub four_body: bool,
    /// 5-body q_1111 (`l_max_5body` = 1).
    pub five_body: bool,
    /// 4-body q_112.
    pub q112: bool,
    /// 4-body q_123 (needs l_max ≥ 3).
    pub q123: bool,
    /// 4-body q_233 (needs l_max ≥ 3).
    pub q233: bool,
    /// 4-body q_134 (needs l_max ≥ 4).
    pub q134: bool,
    /// How nep.txt spells the `l_max` line: false for the old
    /// `l_max L 0|2 0|1`, true for the 0/1 flags of newer GPUMD. Only the
    /// spelling of a file, kept so that a model is written back as it was
    /// read; always true when q_112..q_134 are used (the old form cannot
    /// say them).
    pub flag_line: bool,
}

impl AngularTerms {
    /// Old-style terms: 3-body up to `l_max`, optional q_222 and q_1111.
    pub fn new(l_max: usize, four_body: bool, five_body: bool) -> Self {
        AngularTerms {
            l_max,
            four_body,
            five_body,
            ..Self::default()
        }
    }

    /// Whether `kind` is switched on.
    pub fn has(&self, kind: ManyBody) -> bool {
        match kind {
            ManyBody::Q222 => self.four_body,
            ManyBody::Q1111 => self.five_body,
            ManyBody::Q112 => self.q112,
            ManyBody::Q123 => self.q123,
            ManyBody::Q233 => self.q233,
            ManyBody::Q134 => self.q134,
        }
    }

    fn set(&mut self, kind: ManyBody, on: bool) {
        match kind {
            ManyBody::Q222 => self.four_body = on,
            ManyBody::Q1111 => self.five_body = on,
            ManyBody::Q112 => self.q112 = on,
            ManyBody::Q123 => self.q123 = on,
            ManyBody::Q233 => self.q233 = on,
            ManyBody::Q134 => self.q134 = on,
        }
    }

    /// The many-body invariants switched on, in descriptor order.
    pub fn many_body(&self) -> impl Iterator<Item = ManyBody> + '_ {
        ManyBody::ALL.into_iter().filter(|&k| self.has(k))
    }

    /// Whether any of the newer invariants (q_112, q_123, q_233, q_134) is used.
    pub fn has_newer(&self) -> bool {
        self.q112 || self.q123 || self.q233 || self.q134
    }

    /// Number of invariants per radial channel n (GPUMD's num_L).
    pub fn n_invariants(&self) -> usize {
        self.l_max + self.many_body().count()
    }

    /// Number of harmonic components the sums hold.
    pub fn n_components(&self) -> usize {
        n_components(self.l_max)
    }

    /// Checks that the terms describe a model this code computes.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.l_max > MAX_L {
            return Err(format!(
                "l_max {} is not supported (at most {MAX_L})",
                self.l_max
            ));
        }
        for kind in self.many_body() {
            if self.l_max < kind.highest_l() {
                let what = match kind {
                    ManyBody::Q222 => "the 4-body term".to_string(),
                    ManyBody::Q1111 => "the 5-body term".to_string(),
                    k => format!("the {} term", k.name()),
                };
                return Err(format!(
                    "{what} needs l_max (3-body) of at least {} (NEP builds the sums only up to l_max), got {}",
                    kind.highest_l(),
                    self.l_max
                ));
            }
        }
        Ok(())
    }

    /// GPUMD's `l_max` values (nep.in, or `[model] l_max`): 1 to 7
    /// integers L3 [q_222 [q_1111 [q_112 [q_123 [q_233 [q_134]]]]]].
    /// Absent ones take GPUMD's defaults: q_222 on, the rest off. q_222
    /// is on for 1 (newer GPUMD's flag) or 2 (the older `l_max_4body`);
    /// the other flags are 0 or 1.
    pub fn from_gpumd(values: &[usize]) -> std::result::Result<Self, String> {
        if values.is_empty() || values.len() > 7 {
            return Err(format!("expected 1 to 7 values, got {}", values.len()));
        }
        let mut t = AngularTerms {
            l_max: values[0],
            four_body: true,
            ..Self::default()
        };
        if let Some(&v) = values.get(1) {
            t.four_body = match v {
                0 => false,
                1 | 2 => true,
                v => {
                    return Err(format!(
                        "the q_222 (4-body) value must be 0, 1 or 2, got {v}"
                    ));
                }
            };
        }
        for (kind, &v) in ManyBody::ALL[1..].iter().zip(values.iter().skip(2)) {
            match v {
                0 | 1 => t.set(*kind, v == 1),
                v => return Err(format!("the {} flag must be 0 or 1, got {v}", kind.name())),
            }
        }
        t.flag_line = t.has_newer();
        t.validate()?;
        Ok(t)
    }

    /// The values GPUMD writes for these terms (its nep.txt writer's
    /// order and spelling): L3, 2|0 for q_222, 0|1 for q_1111, then the
    /// newer flags up to the last one that is on.
    pub fn gpumd_values(&self) -> Vec<usize> {
        let mut v = vec![
            self.l_max,
            2 * self.four_body as usize,
            self.five_body as usize,
        ];
        let newer = [self.q112, self.q123, self.q233, self.q134];
        let last = newer.iter().rposition(|&on| on).map_or(0, |i| i + 1);
        v.extend(newer[..last].iter().map(|&on| on as usize));
        v
    }

    /// Computes the invariants of one radial channel from its sums `s`,
    /// writing invariant `i` to `q[i * stride]` (NEP orders the angular
    /// descriptor as [invariant][channel]).
    #[inline]
    pub fn invariants(&self, s: &[f64], q: &mut [f64], stride: usize) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let mut sum = 0.0;
            for k in 1..2 * l + 1 {
                sum += C3B[start + k] * s[start + k] * s[start + k];
            }
            q[(l - 1) * stride] = C3B[start] * s[start] * s[start] + 2.0 * sum;
        }
        for (i, kind) in self.many_body().enumerate() {
            q[(self.l_max + i) * stride] = kind.value(s);
        }
    }

    /// Chain rule through the invariants: given dE/dq for one channel
    /// (`dq[i * stride]` for invariant i), accumulates dE/ds into `ds`.
    #[inline]
    pub fn invariants_backward(&self, s: &[f64], dq: &[f64], stride: usize, ds: &mut [f64]) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let g = dq[(l - 1) * stride];
            ds[start] += g * 2.0 * C3B[start] * s[start];
            for k in 1..2 * l + 1 {
                ds[start + k] += g * 4.0 * C3B[start + k] * s[start + k];
            }
        }
        for (i, kind) in self.many_body().enumerate() {
            kind.backward(s, dq[(self.l_max + i) * stride], ds);
        }
    }

    /// Directional derivative of the invariants along `s_dot`:
    /// q̇_i = ∇q_i(s) · ṡ, written to `q_dot[i * stride]`.
    #[inline]
    pub fn invariants_tangent(&self, s: &[f64], s_dot: &[f64], q_dot: &mut [f64], stride: usize) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let mut sum = 0.0;
            for k in 1..2 * l + 1 {
                sum += C3B[start + k] * s[start + k] * s_dot[start + k];
            }
            q_dot[(l - 1) * stride] = 2.0 * C3B[start] * s[start] * s_dot[start] + 4.0 * sum;
        }
        for (i, kind) in self.many_body().enumerate() {
            q_dot[(self.l_max + i) * stride] = kind.tangent(s, s_dot);
        }
    }

    /// Hessian-vector product of the invariants: accumulates
    /// Σ_i dq_i (∇²q_i(s) ṡ) into `out` (the derivative of
    /// [`invariants_backward`](Self::invariants_backward) along ṡ).
    #[inline]
    pub fn invariants_hvp(
        &self,
        s: &[f64],
        s_dot: &[f64],
        dq: &[f64],
        stride: usize,
        out: &mut [f64],
    ) {
        for l in 1..=self.l_max {
            let start = l * l - 1;
            let g = dq[(l - 1) * stride];
            out[start] += g * 2.0 * C3B[start] * s_dot[start];
            for k in 1..2 * l + 1 {
                out[start + k] += g * 4.0 * C3B[start + k] * s_dot[start + k];
            }
        }
        for (i, kind) in self.many_body().enumerate() {
            kind.hvp(s, s_dot, dq[(self.l_max + i) * stride], out);
        }
    }
}

#[cfg(test)]
mod tests;
