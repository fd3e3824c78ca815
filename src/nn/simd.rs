//! What the register-blocked kernels ([`super::kernels`]) need of the
//! hardware: an element type ([`Elem`], f64 or f32) and a vector of it
//! ([`Vector`]): AVX-512 and AVX2 registers with fused multiply-adds
//! ([`x86`]), or one element with separate multiplies and adds (a
//! software `mul_add` would be slow).

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Mul, Sub};

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx2F32, Avx512, Avx512F32};

/// Which compiled copy of the tile passes this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 with AVX-512F and FMA.
    Avx512,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// Anything else: no fused multiply-add.
    Portable,
}

impl Isa {
    /// The best copy for this CPU (the detection is cached by std).
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
}

/// A float the kernels compute in, with its vectors for each instruction
/// set.
pub trait Elem:
    Copy
    + Default
    + Debug
    + PartialEq
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + AddAssign
{
    /// Elements per vector of the widest copy (AVX-512): packed widths
    /// are padded to multiples of it, so every column block is whole
    /// vectors in every copy.
    const LANES: usize;
    const ZERO: Self;
    const ONE: Self;
    /// The nearest element to `x`.
    fn from_f64(x: f64) -> Self;
    /// `self` exactly.
    fn to_f64(self) -> f64;
    /// The AVX-512 vector of this element.
    #[cfg(target_arch = "x86_64")]
    type Avx512: Vector<Elem = Self>;
    /// The AVX2 vector of this element.
    #[cfg(target_arch = "x86_64")]
    type Avx2: Vector<Elem = Self>;
}

impl Elem for f64 {
    const LANES: usize = 8;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2;
}

impl Elem for f32 {
    const LANES: usize = 16;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[cfg(target_arch = "x86_64")]
    type Avx512 = Avx512F32;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = Avx2F32;
}

/// `n` rounded up to whole vectors of the widest copy for `T`.
pub fn padded<T: Elem>(n: usize) -> usize {
    n.div_ceil(T::LANES) * T::LANES
}

/// A vector of [`Elem`] lanes: what the kernels need of a SIMD register.
///
/// # Safety
/// `load` and `store` read and write `LANES` elements from the pointer;
/// implementations for an instruction set may only be used on a CPU that
/// has it (their callers are compiled for it, see [`super::tiles`]).
pub trait Vector: Copy {
    /// The element type.
    type Elem: Elem;
    /// Elements per vector.
    const LANES: usize;
    /// Most vectors per column block (accumulators R × this must fit the
    /// register file with room for the loads).
    const BLOCK: usize;
    fn zero() -> Self;
    fn splat(x: Self::Elem) -> Self;
    /// # Safety
    /// `p` points at `LANES` readable elements.
    unsafe fn load(p: *const Self::Elem) -> Self;
    /// # Safety
    /// `p` points at `LANES` writable elements.
    unsafe fn store(self, p: *mut Self::Elem);
    /// The first `n` < LANES lanes from `p`, zeros in the others.
    ///
    /// # Safety
    /// `p` points at `n` readable elements.
    unsafe fn load_first(p: *const Self::Elem, n: usize) -> Self;
    /// Writes the first `n` < LANES lanes to `p`.
    ///
    /// # Safety
    /// `p` points at `n` writable elements.
    unsafe fn store_first(self, p: *mut Self::Elem, n: usize);
    /// a·b + c (fused where the instruction set has it).
    fn madd(a: Self, b: Self, c: Self) -> Self;
    fn add(a: Self, b: Self) -> Self;
}

/// One element: the portable kernels (no fused multiply-add: a software
/// one would be slow).
macro_rules! scalar_vector {
    ($t:ty) => {
        impl Vector for $t {
            type Elem = $t;
            const LANES: usize = 1;
            const BLOCK: usize = 8;
            #[inline(always)]
            fn zero() -> Self {
                0.0
            }
            #[inline(always)]
            fn splat(x: $t) -> Self {
                x
            }
            #[inline(always)]
            unsafe fn load(p: *const $t) -> Self {
                // SAFETY: the caller's contract.
                unsafe { *p }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                // SAFETY: the caller's contract.
                unsafe { *p = self }
            }
            #[inline(always)]
            unsafe fn load_first(_: *const $t, _: usize) -> Self {
                0.0
            }
            #[inline(always)]
            unsafe fn store_first(self, _: *mut $t, _: usize) {}
            #[inline(always)]
            fn madd(a: Self, b: Self, c: Self) -> Self {
                c + a * b
            }
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a + b
            }
        }
    };
}

scalar_vector!(f64);
scalar_vector!(f32);
