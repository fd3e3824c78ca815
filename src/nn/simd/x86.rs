//! The x86-64 vectors: AVX-512F (eight f64, sixteen f32) and AVX2 with
//! FMA (four f64, eight f32).

use super::Vector;
use std::arch::x86_64::*;

/// Eight f64 lanes (AVX-512F).
#[derive(Clone, Copy)]
pub struct Avx512(__m512d);

/// Four f64 lanes (AVX2 with FMA).
#[derive(Clone, Copy)]
pub struct Avx2(__m256d);

/// Sixteen f32 lanes (AVX-512F).
#[derive(Clone, Copy)]
pub struct Avx512F32(__m512);

/// Eight f32 lanes (AVX2 with FMA).
#[derive(Clone, Copy)]
pub struct Avx2F32(__m256);

// SAFETY (every impl): the intrinsics need their instruction set, which
// the callers are compiled for (the trait's contract).
impl Vector for Avx512 {
    type Elem = f64;
    const LANES: usize = 8;
    const BLOCK: usize = 4;
    #[inline(always)]
    fn zero() -> Self {
        Avx512(unsafe { _mm512_setzero_pd() })
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Avx512(unsafe { _mm512_set1_pd(x) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        Avx512(unsafe { _mm512_loadu_pd(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { _mm512_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const f64, n: usize) -> Self {
        Avx512(unsafe { _mm512_maskz_loadu_pd(((1u32 << n) - 1) as __mmask8, p) })
    }
    #[inline(always)]
    unsafe fn store_first(self, p: *mut f64, n: usize) {
        unsafe { _mm512_mask_storeu_pd(p, ((1u32 << n) - 1) as __mmask8, self.0) }
    }
    #[inline(always)]
    fn madd(a: Self, b: Self, c: Self) -> Self {
        Avx512(unsafe { _mm512_fmadd_pd(a.0, b.0, c.0) })
    }
    #[inline(always)]
    fn add(a: Self, b: Self) -> Self {
        Avx512(unsafe { _mm512_add_pd(a.0, b.0) })
    }
}

impl Vector for Avx512F32 {
    type Elem = f32;
    const LANES: usize = 16;
    const BLOCK: usize = 4;
    #[inline(always)]
    fn zero() -> Self {
        Avx512F32(unsafe { _mm512_setzero_ps() })
    }
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Avx512F32(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Avx512F32(unsafe { _mm512_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const f32, n: usize) -> Self {
        Avx512F32(unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p) })
    }
    #[inline(always)]
    unsafe fn store_first(self, p: *mut f32, n: usize) {
        unsafe { _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, self.0) }
    }
    #[inline(always)]
    fn madd(a: Self, b: Self, c: Self) -> Self {
        Avx512F32(unsafe { _mm512_fmadd_ps(a.0, b.0, c.0) })
    }
    #[inline(always)]
    fn add(a: Self, b: Self) -> Self {
        Avx512F32(unsafe { _mm512_add_ps(a.0, b.0) })
    }
}

/// The AVX2 mask of the first `n` of four f64 lanes (sign bits set).
#[inline(always)]
fn first_lanes_pd(n: usize) -> __m256i {
    let n = n as i64;
    unsafe {
        _mm256_set_epi64x(
            -i64::from(n > 3),
            -i64::from(n > 2),
            -i64::from(n > 1),
            -i64::from(n > 0),
        )
    }
}

/// The AVX2 mask of the first `n` of eight f32 lanes (lane k < n).
#[inline(always)]
fn first_lanes_ps(n: usize) -> __m256i {
    unsafe {
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lane)
    }
}

impl Vector for Avx2 {
    type Elem = f64;
    const LANES: usize = 4;
    const BLOCK: usize = 2;
    #[inline(always)]
    fn zero() -> Self {
        Avx2(unsafe { _mm256_setzero_pd() })
    }
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Avx2(unsafe { _mm256_set1_pd(x) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        Avx2(unsafe { _mm256_loadu_pd(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { _mm256_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const f64, n: usize) -> Self {
        Avx2(unsafe { _mm256_maskload_pd(p, first_lanes_pd(n)) })
    }
    #[inline(always)]
    unsafe fn store_first(self, p: *mut f64, n: usize) {
        unsafe { _mm256_maskstore_pd(p, first_lanes_pd(n), self.0) }
    }
    #[inline(always)]
    fn madd(a: Self, b: Self, c: Self) -> Self {
        Avx2(unsafe { _mm256_fmadd_pd(a.0, b.0, c.0) })
    }
    #[inline(always)]
    fn add(a: Self, b: Self) -> Self {
        Avx2(unsafe { _mm256_add_pd(a.0, b.0) })
    }
}

impl Vector for Avx2F32 {
    type Elem = f32;
    const LANES: usize = 8;
    const BLOCK: usize = 2;
    #[inline(always)]
    fn zero() -> Self {
        Avx2F32(unsafe { _mm256_setzero_ps() })
    }
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Avx2F32(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Avx2F32(unsafe { _mm256_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_first(p: *const f32, n: usize) -> Self {
        Avx2F32(unsafe { _mm256_maskload_ps(p, first_lanes_ps(n)) })
    }
    #[inline(always)]
    unsafe fn store_first(self, p: *mut f32, n: usize) {
        unsafe { _mm256_maskstore_ps(p, first_lanes_ps(n), self.0) }
    }
    #[inline(always)]
    fn madd(a: Self, b: Self, c: Self) -> Self {
        Avx2F32(unsafe { _mm256_fmadd_ps(a.0, b.0, c.0) })
    }
    #[inline(always)]
    fn add(a: Self, b: Self) -> Self {
        Avx2F32(unsafe { _mm256_add_ps(a.0, b.0) })
    }
}
