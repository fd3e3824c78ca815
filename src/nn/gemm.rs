//! The one matrix product the dense layers use: row-major operands with
//! optional transposition, C = A·B + β·C, through `matrixmultiply`'s
//! blocked SIMD kernels (single-threaded: callers parallelise over
//! structures), in float64 or with float32 products ([`gemm_in`]); and the
//! dot product of the descriptors' short inner loops.

use crate::precision::Precision;
use std::cell::RefCell;

/// A row-major matrix operand: `rows × cols` data, read transposed when
/// `transposed` (then the product sees a `cols × rows` matrix).
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    /// Elements, row-major, `rows · cols` of them.
    pub data: &'a [f64],
    /// Stored rows.
    pub rows: usize,
    /// Stored columns.
    pub cols: usize,
    /// Whether the product uses the transpose.
    pub transposed: bool,
}

impl<'a> Operand<'a> {
    /// A matrix used as stored.
    pub fn new(data: &'a [f64], rows: usize, cols: usize) -> Self {
        Operand {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// The same matrix, used transposed.
    pub fn t(self) -> Self {
        Operand {
            transposed: !self.transposed,
            ..self
        }
    }

    /// (rows, cols, row stride, column stride) as the product sees it.
    fn view(&self) -> (usize, usize, isize, isize) {
        let (rs, cs) = (self.cols as isize, 1isize);
        if self.transposed {
            (self.cols, self.rows, cs, rs)
        } else {
            (self.rows, self.cols, rs, cs)
        }
    }
}

/// c (m × n, row-major) = a · b + beta · c.
///
/// Panics (an internal error, never input-dependent) when the shapes do
/// not agree or a slice is too short.
pub fn gemm(a: Operand, b: Operand, c: &mut [f64], beta: f64) {
    gemm_in(Precision::Float64, a, b, c, beta)
}

/// [`gemm`] with the product A·B in `precision`: in float32 the operands
/// are rounded to f32 and multiplied by `matrixmultiply`'s f32 kernels
/// (twice the lanes), and the product is added to β·C in f64, so that
/// sums across calls (a weight gradient over blocks of rows) stay f64.
pub fn gemm_in(precision: Precision, a: Operand, b: Operand, c: &mut [f64], beta: f64) {
    let (m, k, rsa, csa) = a.view();
    let (kb, n, rsb, csb) = b.view();
    assert_eq!(k, kb, "gemm: inner dimensions differ");
    assert!(a.data.len() >= a.rows * a.cols && b.data.len() >= b.rows * b.cols);
    assert!(c.len() >= m * n, "gemm: output too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for x in &mut c[..m * n] {
            *x *= beta;
        }
        return;
    }
    if precision == Precision::Float32 {
        return gemm_f32(a, b, c, beta);
    }
    // SAFETY: the views address exactly the rows × cols elements of each
    // slice, whose lengths were checked above.
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            rsa,
            csa,
            b.data.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

thread_local! {
    /// A, B and A·B in f32 for [`gemm_f32`], reused from call to call.
    static NARROW: RefCell<[Vec<f32>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// [`gemm_in`] in float32, after its checks (non-empty shapes that agree).
fn gemm_f32(a: Operand, b: Operand, c: &mut [f64], beta: f64) {
    let (m, k, rsa, csa) = a.view();
    let (_, n, rsb, csb) = b.view();
    NARROW.with_borrow_mut(|[a32, b32, c32]| {
        let (na, nb) = (a.rows * a.cols, b.rows * b.cols);
        for (v, len) in [(&mut *a32, na), (&mut *b32, nb), (&mut *c32, m * n)] {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        }
        convert(Conversion::Narrow(&a.data[..na], &mut a32[..na]));
        convert(Conversion::Narrow(&b.data[..nb], &mut b32[..nb]));
        // SAFETY: a32 and b32 start with a's and b's elements in their
        // layouts, whose lengths gemm_in checked; c32 holds m × n.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a32.as_ptr(),
                rsa,
                csa,
                b32.as_ptr(),
                rsb,
                csb,
                0.0,
                c32.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        convert(Conversion::Widen(&c32[..m * n], &mut c[..m * n], beta));
    });
}

/// The element-wise conversions around a float32 product: operands
/// rounded to f32, and the product widened into C (C = A·B + β·C, or
/// overwritten for β = 0, NaN or not, as dgemm does).
enum Conversion<'a> {
    Narrow(&'a [f64], &'a mut [f32]),
    Widen(&'a [f32], &'a mut [f64], f64),
}

/// Runs a [`Conversion`] in the CPU's widest vectors. Each element is
/// one correctly rounded conversion (and, widening with β ≠ 0, one
/// multiply and one add, never fused), so every width gives the same
/// bits; in the baseline x86-64 build's two-wide vectors these took a
/// tenth of the fitting networks' time.
fn convert(c: Conversion) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above).
            return unsafe { convert_avx512(c) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { convert_avx2(c) };
        }
    }
    convert_body(c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn convert_avx512(c: Conversion) {
    convert_body(c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn convert_avx2(c: Conversion) {
    convert_body(c)
}

#[inline(always)]
fn convert_body(c: Conversion) {
    match c {
        Conversion::Narrow(src, out) => {
            for (o, &x) in out.iter_mut().zip(src) {
                *o = x as f32;
            }
        }
        Conversion::Widen(src, out, 0.0) => {
            for (o, &v) in out.iter_mut().zip(src) {
                *o = f64::from(v);
            }
        }
        Conversion::Widen(src, out, beta) => {
            for (o, &v) in out.iter_mut().zip(src) {
                *o = f64::from(v) + beta * *o;
            }
        }
    }
}

/// a·b, with four partial sums so that the loop vectorises (a single
/// running sum fixes the order of the additions and cannot).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_with_transposes_match_loops() {
        let a: Vec<f64> = (0..6).map(|i| i as f64 * 0.5 - 1.0).collect(); // 2×3
        let b: Vec<f64> = (0..12).map(|i| (i * 7 % 5) as f64 - 2.0).collect(); // 3×4
        let mut c = vec![1.0; 8];
        gemm(Operand::new(&a, 2, 3), Operand::new(&b, 3, 4), &mut c, 2.0);
        for i in 0..2 {
            for j in 0..4 {
                let s: f64 = (0..3).map(|k| a[i * 3 + k] * b[k * 4 + j]).sum();
                assert_eq!(c[i * 4 + j], s + 2.0);
            }
        }
        // aᵀ·a (3×3)
        let mut d = vec![0.0; 9];
        gemm(
            Operand::new(&a, 2, 3).t(),
            Operand::new(&a, 2, 3),
            &mut d,
            0.0,
        );
        for i in 0..3 {
            for j in 0..3 {
                let s: f64 = (0..2).map(|k| a[k * 3 + i] * a[k * 3 + j]).sum();
                assert_eq!(d[i * 3 + j], s);
            }
        }
    }

    #[test]
    fn float32_products_round_the_operands_and_keep_beta_in_f64() {
        // 7×300 · 300×5: more elements than any vector width divides
        let (m, k, n) = (7, 300, 5);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos() * 1e-3).collect();
        let exact = |i: usize, j: usize| -> f64 {
            (0..k)
                .map(|l| f64::from(a[i * k + l] as f32) * f64::from(b[l * n + j] as f32))
                .sum()
        };
        // β = 0 overwrites, NaN or not; β = 2 adds 2C in f64
        let mut over = vec![f64::NAN; m * n];
        let c0: Vec<f64> = (0..m * n).map(|i| 1e8 + i as f64 * 1e-7).collect();
        let mut acc = c0.clone();
        for (c, beta) in [(&mut over, 0.0), (&mut acc, 2.0)] {
            gemm_in(
                Precision::Float32,
                Operand::new(&a, m, k),
                Operand::new(&b, k, n),
                c,
                beta,
            );
        }
        for i in 0..m {
            for j in 0..n {
                let (e, o) = (exact(i, j), over[i * n + j]);
                // f32 sums of 300 products: a few ulps of f32 per term
                assert!((o - e).abs() <= 1e-5 * 1e-3 * k as f64, "{o} vs {e}");
                let widened = f64::from(o as f32);
                assert_eq!(o, widened, "the product is an f32 value, widened");
                assert_eq!(acc[i * n + j], o + 2.0 * c0[i * n + j]);
            }
        }
    }
}
