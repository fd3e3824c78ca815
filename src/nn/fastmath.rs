//! A vectorisable tanh over slices, accurate to a few ulp.
//!
//! The embedding networks of a DeePMD model evaluate millions of tanh per
//! structure; libm's scalar tanh would cost more than the matrix products.
//! Here tanh(x) = sign(x)·m/(m + 2) with m = expm1(2|x|), and
//! expm1(y) = 2ᵏ·expm1(r) + (2ᵏ − 1) with y = k·ln2 + r, |r| ≤ ln2/2,
//! expm1(r) by its Taylor series to r¹³ (truncation < 2e-17 relative).
//! No branches and no float→int conversions (k comes from the bits of a
//! rounding by the 1.5·2⁵² trick), so the loop vectorises; on x86-64
//! copies compiled for AVX-512 (eight lanes) and AVX2 (four) are chosen
//! at run time. Every copy performs the same IEEE operations in the same
//! order (no fused multiply-adds), so all give the same bits.
//!
//! The float32 copy ([`tanh_deriv_kernel_f32`], for DeePMD's float32
//! embedding networks) follows the same steps in f32 with a shorter
//! series (to r⁸: truncation < 6e-10 relative, below f32's 6e-8) and
//! 1.5·2²³ as the rounding constant.

use super::simd::Elem;

/// 1.5·2⁵²: adding it rounds a float of magnitude < 2⁵¹ to an integer,
/// which then sits in the low mantissa bits.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// log₂e.
const LOG2E: f64 = std::f64::consts::LOG2_E;
/// ln2 split so that k·LN2_HI is exact for |k| < 2²⁰ (fdlibm's split).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
/// The rest of ln2.
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// Beyond this |x| tanh rounds to ±1 (2/(e⁴⁰ + 1) < ulp(1)/2).
const SATURATE: f64 = 20.0;

/// tanh of one value through the same arithmetic as the slice kernel.
#[inline(always)]
fn tanh_one(x: f64) -> f64 {
    // not `min`: NaN must stay NaN
    let a = if x.abs() > SATURATE {
        SATURATE
    } else {
        x.abs()
    };
    let y = a + a;
    let t = y * LOG2E + ROUNDER;
    let k = t - ROUNDER;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    // expm1(r) = r(1 + r/2 + r²/6 + …): Horner from the 13th order down
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    let em_r = p * r;
    // 2ᵏ from k's bits: t's mantissa holds k (0 ≤ k ≤ 58 here)
    let k_bits = t.to_bits().wrapping_sub(ROUNDER.to_bits());
    let scale = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    let m = scale * em_r + (scale - 1.0);
    let th = m / (m + 2.0);
    th.copysign(x)
}

/// tanh, 1 − tanh² and, when `d2s` is not empty, −2·tanh·(1 − tanh²) in
/// one pass over memory, `tanh` being the element type's one-value tanh.
#[inline(always)]
fn tanh_derivs<T: Elem>(xs: &mut [T], ds: &mut [T], d2s: &mut [T], tanh: impl Fn(T) -> T) {
    if d2s.is_empty() {
        for (x, d) in xs.iter_mut().zip(ds.iter_mut()) {
            let t = tanh(*x);
            *x = t;
            *d = T::ONE - t * t;
        }
        return;
    }
    let minus_two = T::from_f64(-2.0);
    for ((x, d), s) in xs.iter_mut().zip(ds.iter_mut()).zip(d2s.iter_mut()) {
        let t = tanh(*x);
        let d1 = T::ONE - t * t;
        *x = t;
        *d = d1;
        *s = minus_two * t * d1;
    }
}

/// The portable kernel ([`tanh_derivs`] in f64); inlined into each
/// target-specific copy.
#[inline(always)]
pub(super) fn tanh_deriv_kernel(xs: &mut [f64], ds: &mut [f64], d2s: &mut [f64]) {
    tanh_derivs(xs, ds, d2s, tanh_one)
}

/// 1.5·2²³: [`ROUNDER`] for f32.
const ROUNDER_F32: f32 = 12_582_912.0;
/// ln2 split so that k·LN2_HI_F32 is exact (355/512: nine bits).
const LN2_HI_F32: f32 = 355.0 / 512.0;
/// The rest of ln2.
const LN2_LO_F32: f32 = -2.121_944_4e-4;
/// Beyond this |x| tanh rounds to ±1 in f32 (2/(e²⁰ + 1) < ulp(1)/2).
const SATURATE_F32: f32 = 10.0;

/// [`tanh_one`] in f32.
#[inline(always)]
fn tanh_one_f32(x: f32) -> f32 {
    // not `min`: NaN must stay NaN
    let a = if x.abs() > SATURATE_F32 {
        SATURATE_F32
    } else {
        x.abs()
    };
    let y = a + a;
    let t = y * std::f32::consts::LOG2_E + ROUNDER_F32;
    let k = t - ROUNDER_F32;
    let r = (y - k * LN2_HI_F32) - k * LN2_LO_F32;
    // expm1(r) = r(1 + r/2 + … + r⁷/8!): Horner from the 8th order down
    let mut p = 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    let em_r = p * r;
    // 2ᵏ from k's bits: t's mantissa holds k (0 ≤ k ≤ 29 here)
    let k_bits = t.to_bits().wrapping_sub(ROUNDER_F32.to_bits());
    let scale = f32::from_bits(k_bits.wrapping_add(127) << 23);
    let m = scale * em_r + (scale - 1.0);
    let th = m / (m + 2.0);
    th.copysign(x)
}

/// [`tanh_deriv_kernel`] in f32.
#[inline(always)]
pub(super) fn tanh_deriv_kernel_f32(xs: &mut [f32], ds: &mut [f32], d2s: &mut [f32]) {
    tanh_derivs(xs, ds, d2s, tanh_one_f32)
}

/// [`tanh_deriv_kernel`] compiled with AVX-512 (eight lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn tanh_deriv_avx512(xs: &mut [f64], ds: &mut [f64], d2s: &mut [f64]) {
    tanh_deriv_kernel(xs, ds, d2s)
}

/// [`tanh_deriv_kernel`] compiled with AVX2 (four lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn tanh_deriv_avx2(xs: &mut [f64], ds: &mut [f64], d2s: &mut [f64]) {
    tanh_deriv_kernel(xs, ds, d2s)
}

/// Replaces every element of `xs` by its tanh and writes 1 − tanh² to `ds`.
pub fn tanh_with_derivative(xs: &mut [f64], ds: &mut [f64]) {
    tanh_dispatch(xs, ds, &mut [])
}

/// [`tanh_with_derivative`], also writing the second derivative
/// −2·tanh·(1 − tanh²) to `d2s`.
pub fn tanh_with_derivatives(xs: &mut [f64], ds: &mut [f64], d2s: &mut [f64]) {
    let n = xs.len().min(ds.len()).min(d2s.len());
    tanh_dispatch(&mut xs[..n], &mut ds[..n], &mut d2s[..n])
}

/// The fastest copy of the kernel this CPU runs.
fn tanh_dispatch(xs: &mut [f64], ds: &mut [f64], d2s: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            unsafe { tanh_deriv_avx512(xs, ds, d2s) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { tanh_deriv_avx2(xs, ds, d2s) };
            return;
        }
    }
    tanh_deriv_kernel(xs, ds, d2s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_matches_libm_to_a_few_ulp() {
        let mut worst: f64 = 0.0;
        let mut xs = Vec::new();
        let mut x = -25.0;
        while x < 25.0 {
            xs.push(x);
            x += 0.000_731;
        }
        xs.extend([0.0, -0.0, 1e-300, 1e-12, -3e-8, 19.99, 20.0, 700.0, -1e10]);
        let mut ys = xs.clone();
        let mut ds = vec![0.0; xs.len()];
        tanh_with_derivative(&mut ys, &mut ds);
        for (&x, &y) in xs.iter().zip(&ys) {
            let exact = x.tanh();
            let err = (y - exact).abs() / exact.abs().max(f64::MIN_POSITIVE);
            worst = worst.max(if exact == 0.0 { y.abs() } else { err });
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        let mut nan = [f64::NAN];
        tanh_with_derivative(&mut nan, &mut [0.0]);
        assert!(nan[0].is_nan());
    }

    #[test]
    fn every_copy_gives_the_same_bits() {
        let xs: Vec<f64> = (0..4001).map(|k| (k as f64 - 2000.0) * 0.0123).collect();
        type Kernel<'a> = &'a dyn Fn(&mut [f64], &mut [f64], &mut [f64]);
        let run = |f: Kernel| {
            let (mut y, mut d, mut s) = (xs.clone(), vec![0.0; xs.len()], vec![0.0; xs.len()]);
            f(&mut y, &mut d, &mut s);
            [y, d, s].map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        };
        let portable = run(&|x, d, s| tanh_deriv_kernel(x, d, s));
        assert_eq!(run(&|x, d, s| tanh_with_derivatives(x, d, s)), portable);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: checked just above.
                assert_eq!(
                    run(&|x, d, s| unsafe { tanh_deriv_avx2(x, d, s) }),
                    portable
                );
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: checked just above.
                assert_eq!(
                    run(&|x, d, s| unsafe { tanh_deriv_avx512(x, d, s) }),
                    portable
                );
            }
        }
        // the second derivative as the activation's scalar formula has it
        for ((&y, &d), &s) in portable[0].iter().zip(&portable[1]).zip(&portable[2]) {
            let (t, d1) = (f64::from_bits(y), f64::from_bits(d));
            assert_eq!(f64::from_bits(s), -2.0 * t * d1);
        }
    }
    /// The f32 tanh within three f32 ulp of the exact value (2.6 seen),
    /// its derivatives by their formulas, NaN kept.
    #[test]
    fn float32_tanh_is_within_a_few_ulp() {
        let mut xs: Vec<f32> = (0..40_001)
            .map(|k| (k as f32 - 20_000.0) * 0.000_6)
            .collect();
        xs.extend([
            0.0, -0.0, 1e-30, -3e-8, 1e-4, 0.173, 0.174, 9.0, 9.99, 10.0, 50.0, -1e30,
        ]);
        let (mut ys, mut ds, mut ss) = (xs.clone(), vec![0.0; xs.len()], vec![0.0; xs.len()]);
        tanh_deriv_kernel_f32(&mut ys, &mut ds, &mut ss);
        let mut worst: f64 = 0.0;
        for (&x, &y) in xs.iter().zip(&ys) {
            let exact = f64::from(x).tanh();
            // one f32 ulp at |exact| (at least the smallest normal's)
            let ulp = f64::from((exact.abs() as f32).max(f32::MIN_POSITIVE)).abs();
            let ulp = f64::from(f32::EPSILON) * 2f64.powi(ulp.log2().floor() as i32);
            worst = worst.max((f64::from(y) - exact).abs() / ulp);
            assert_eq!(y.is_sign_negative(), x.is_sign_negative(), "sign at {x}");
        }
        assert!(worst <= 3.0, "worst error {worst} ulp");
        for ((&t, &d), &s) in ys.iter().zip(&ds).zip(&ss) {
            assert_eq!(d, 1.0 - t * t);
            assert_eq!(s, -2.0 * t * d);
        }
        let mut nan = [f32::NAN];
        tanh_deriv_kernel_f32(&mut nan, &mut [0.0], &mut []);
        assert!(nan[0].is_nan());
    }
}
