//! The products against plain loops, in both element types and every
//! compiled copy this CPU runs.

use super::*;
use crate::nn::simd::{Isa, padded};

#[test]
fn products_match_loops_for_odd_shapes() {
    let (m, k, np) = (7, 5, 24);
    let a: Vec<f64> = (0..m * 6).map(|i| (i % 11) as f64 * 0.25 - 1.0).collect();
    let b: Vec<f64> = (0..k * np).map(|i| (i % 7) as f64 * 0.5 - 1.5).collect();
    let init: Vec<f64> = (0..np).map(|j| j as f64).collect();
    let mut c = vec![0.0; m * 32];
    let av = View {
        data: &a,
        stride: 6,
    };
    let cols = Cols { n: np, padded: np };
    mm::<f64>(m, k, av, &b, cols, Some(&init), &mut c, 32);
    for r in 0..m {
        for j in 0..np {
            let s: f64 = (0..k).map(|q| a[r * 6 + q] * b[q * np + j]).sum();
            assert!((c[r * 32 + j] - s - init[j]).abs() < 1e-12);
        }
    }
    let mut g = vec![1.0; k * np];
    let zv = View {
        data: &c,
        stride: 32,
    };
    mm_tn_acc::<f64>(m, k, av, zv, cols, &mut g);
    for q in 0..k {
        for j in 0..np {
            let s: f64 = (0..m).map(|r| a[r * 6 + q] * c[r * 32 + j]).sum();
            assert!((g[q * np + j] - 1.0 - s).abs() < 1e-9);
        }
    }
}

/// Both f32 products on shapes whose columns end in partial vectors of
/// every width (19 of 32 padded: a whole AVX2 vector past the end, part
/// of an AVX-512 one), against loops in f64 over the same f32 inputs.
#[inline(always)]
fn check_f32<V: Vector<Elem = f32>>() {
    let (m, k, n, lda, ldc) = (9, 7, 19, 11, 23);
    let np = padded::<f32>(n);
    assert_eq!(np, 32);
    let x = |i: usize, p: usize| ((i * p) % 17) as f32 * 0.125 - 1.0;
    let a: Vec<f32> = (0..m * lda).map(|i| x(i, 3)).collect();
    let mut b: Vec<f32> = (0..k * np).map(|i| x(i, 5)).collect();
    for (i, v) in b.iter_mut().enumerate() {
        if i % np >= n {
            *v = 0.0;
        }
    }
    let init: Vec<f32> = (0..np)
        .map(|j| if j < n { j as f32 * 0.5 } else { 0.0 })
        .collect();
    let mut c = vec![-7.0f32; m * ldc];
    let av = View {
        data: &a,
        stride: lda,
    };
    let cols = Cols { n, padded: np };
    mm::<V>(m, k, av, &b, cols, Some(&init), &mut c, ldc);
    for r in 0..m {
        for j in 0..ldc {
            let got = f64::from(c[r * ldc + j]);
            if j >= n {
                assert_eq!(got, -7.0, "column {j} past n written");
                continue;
            }
            let s: f64 = (0..k)
                .map(|q| f64::from(a[r * lda + q]) * f64::from(b[q * np + j]))
                .sum::<f64>()
                + f64::from(init[j]);
            assert!(
                (got - s).abs() < 1e-5 * (1.0 + s.abs()),
                "c[{r}][{j}]: {got} vs {s}"
            );
        }
    }
    let mut g = vec![1.0f32; k * np];
    let zv = View {
        data: &c,
        stride: ldc,
    };
    mm_tn_acc::<V>(m, k, av, zv, cols, &mut g);
    for q in 0..k {
        for j in 0..n {
            let s: f64 = (0..m)
                .map(|r| f64::from(a[r * lda + q]) * f64::from(c[r * ldc + j]))
                .sum::<f64>()
                + 1.0;
            let got = f64::from(g[q * np + j]);
            assert!(
                (got - s).abs() < 1e-5 * (1.0 + s.abs()),
                "g[{q}][{j}]: {got} vs {s}"
            );
        }
    }
    // column sums: the bits of adding the rows one after another
    let mut sums = vec![0.0f32; np];
    sums[..n].fill(0.25);
    col_sums_acc::<V>(m, zv, cols, &mut sums);
    for j in 0..np {
        let mut s = if j < n { 0.25f32 } else { 0.0 };
        for r in 0..m {
            if j < n {
                s += c[r * ldc + j];
            }
        }
        assert_eq!(sums[j].to_bits(), s.to_bits(), "column sum {j}");
    }
}

#[test]
fn float32_products_match_loops_in_every_copy() {
    check_f32::<f32>();
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,fma")]
        fn avx512() {
            check_f32::<crate::nn::simd::Avx512F32>()
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2() {
            check_f32::<crate::nn::simd::Avx2F32>()
        }
        let isa = Isa::detect();
        if isa == Isa::Avx512 {
            // SAFETY: the CPU has the features.
            unsafe { avx512() };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has the features, checked just above.
            unsafe { avx2() };
        }
    }
}
