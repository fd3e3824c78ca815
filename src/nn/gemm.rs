//! The one matrix product the batched passes use: row-major operands with
//! optional transposition, C = A·B + β·C, in float64 through
//! `matrixmultiply`'s blocked SIMD kernels (single-threaded: callers
//! parallelise over structures); and the dot product of the descriptors'
//! short inner loops. (Networks in float32 run on the tile passes.)

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
}
