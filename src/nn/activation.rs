//! Activation functions φ with their first and second derivatives.
//!
//! The second derivative is what a parameter gradient through a tangent
//! (forward-mode) pass needs: the force part of a model's vjp.
//!
//! deepmd-kit's set (`deepmd/dpmodel/utils/network.py`, `get_activation_fn`):
//! tanh, relu, relu6, softplus, sigmoid, gelu / gelu_tf (both the tanh
//! approximation 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) in the numpy
//! backend), linear / none; aenet's: mtanh = 1.7159·tanh(2x/3) and
//! twist = mtanh(x) + 0.1x.

use super::fastmath;
use serde::{Deserialize, Serialize};

/// An element-wise activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// tanh(x).
    Tanh,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// ln(1 + eˣ).
    Softplus,
    /// 1 / (1 + e⁻ˣ).
    Sigmoid,
    /// Tanh-approximate GELU, deepmd-kit's name `gelu`.
    Gelu,
    /// The same function under deepmd-kit's name `gelu_tf`.
    #[serde(rename = "gelu_tf")]
    GeluTf,
    /// Identity, deepmd-kit's name `linear`.
    Linear,
    /// Identity, deepmd-kit's name `none` (output layers).
    #[serde(rename = "none")]
    Identity,
    /// aenet's scaled tanh, 1.7159·tanh(2x/3).
    Mtanh,
    /// aenet's twisted tanh, 1.7159·tanh(2x/3) + 0.1x.
    Twist,
}

/// √(2/π), the GELU approximation's scale.
const GELU_SCALE: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the GELU approximation.
const GELU_CUBIC: f64 = 0.044715;
/// aenet's mtanh amplitude.
const MTANH_A: f64 = 1.7159;
/// aenet's mtanh slope, the literal of its `feedforward.f90` (2/3 to 15
/// digits), so that predictions match aenet's to the last bits.
const MTANH_B: f64 = 0.666666666666667;
/// aenet's twist slope: twist(x) = mtanh(x) + 0.1·x.
const TWIST_C: f64 = 0.1;

impl Activation {
    /// Parses a deepmd-kit or aenet name (case-insensitive); `None` for an
    /// unknown one.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "relu6" => Self::Relu6,
            "softplus" => Self::Softplus,
            "sigmoid" => Self::Sigmoid,
            "gelu" => Self::Gelu,
            "gelu_tf" => Self::GeluTf,
            "linear" => Self::Linear,
            "none" => Self::Identity,
            "mtanh" => Self::Mtanh,
            "twist" => Self::Twist,
            _ => return None,
        })
    }

    /// The name [`Activation::parse`] reads back.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::Relu6 => "relu6",
            Self::Softplus => "softplus",
            Self::Sigmoid => "sigmoid",
            Self::Gelu => "gelu",
            Self::GeluTf => "gelu_tf",
            Self::Linear => "linear",
            Self::Identity => "none",
            Self::Mtanh => "mtanh",
            Self::Twist => "twist",
        }
    }

    /// Whether φ(x) = x (no element-wise work needed).
    pub fn is_identity(self) -> bool {
        matches!(self, Self::Linear | Self::Identity)
    }

    /// (φ(x), φ'(x), φ''(x)).
    pub fn eval(self, x: f64) -> (f64, f64, f64) {
        match self {
            Self::Tanh => {
                let t = x.tanh();
                let d = 1.0 - t * t;
                (t, d, -2.0 * t * d)
            }
            Self::Relu => {
                if x > 0.0 {
                    (x, 1.0, 0.0)
                } else {
                    (0.0, 0.0, 0.0)
                }
            }
            Self::Relu6 => {
                if x < 0.0 {
                    (0.0, 0.0, 0.0)
                } else if x > 6.0 {
                    (6.0, 0.0, 0.0)
                } else {
                    (x, 1.0, 0.0)
                }
            }
            Self::Softplus => {
                // The stable split deepmd-kit uses: no overflow of eˣ.
                let e = (-x.abs()).exp();
                let value = if x > 0.0 { x + e.ln_1p() } else { e.ln_1p() };
                let s = sigmoid(x);
                (value, s, s * (1.0 - s))
            }
            Self::Sigmoid => {
                let s = sigmoid(x);
                let d = s * (1.0 - s);
                (s, d, d * (1.0 - 2.0 * s))
            }
            Self::Gelu | Self::GeluTf => {
                let u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
                let du = GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * x * x);
                let ddu = GELU_SCALE * 6.0 * GELU_CUBIC * x;
                let t = u.tanh();
                let sech2 = 1.0 - t * t;
                let value = 0.5 * x * (1.0 + t);
                let d1 = 0.5 * (1.0 + t) + 0.5 * x * sech2 * du;
                let d2 = sech2 * (du + 0.5 * x * (ddu - 2.0 * t * du * du));
                (value, d1, d2)
            }
            Self::Linear | Self::Identity => (x, 1.0, 0.0),
            Self::Mtanh => {
                let t = (MTANH_B * x).tanh();
                let d = 1.0 - t * t;
                (
                    MTANH_A * t,
                    MTANH_A * MTANH_B * d,
                    -2.0 * MTANH_A * MTANH_B * MTANH_B * t * d,
                )
            }
            Self::Twist => {
                let (m, dm, ddm) = Self::Mtanh.eval(x);
                (m + TWIST_C * x, dm + TWIST_C, ddm)
            }
        }
    }

    /// In place over a batch: `z` becomes φ(z), `d1` φ'(z) and, when
    /// given, `d2` φ''(z). tanh runs through a vectorised kernel, the rest
    /// element by element.
    pub fn apply(self, z: &mut [f64], d1: &mut [f64], d2: Option<&mut [f64]>) {
        if self == Self::Tanh {
            match d2 {
                Some(d2) => fastmath::tanh_with_derivatives(z, d1, d2),
                None => fastmath::tanh_with_derivative(z, d1),
            }
            return;
        }
        match d2 {
            Some(d2) => {
                for ((x, d), s) in z.iter_mut().zip(d1.iter_mut()).zip(d2.iter_mut()) {
                    (*x, *d, *s) = self.eval(*x);
                }
            }
            None => {
                for (x, d) in z.iter_mut().zip(d1.iter_mut()) {
                    let (v, g, _) = self.eval(*x);
                    (*x, *d) = (v, g);
                }
            }
        }
    }
}

/// The logistic function, without overflow for large |x|.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Activation; 11] = [
        Activation::Tanh,
        Activation::Relu,
        Activation::Relu6,
        Activation::Softplus,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::GeluTf,
        Activation::Linear,
        Activation::Identity,
        Activation::Mtanh,
        Activation::Twist,
    ];

    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-5;
        for act in ALL {
            // avoid the kinks of relu and relu6
            for x in [-2.3, -0.7, 0.31, 1.4, 3.9, 7.5] {
                let (_, d1, d2) = act.eval(x);
                let (vp, dp, _) = act.eval(x + h);
                let (vm, dm, _) = act.eval(x - h);
                assert!(
                    ((vp - vm) / (2.0 * h) - d1).abs() < 1e-8,
                    "{act:?} φ' at {x}"
                );
                assert!(
                    ((dp - dm) / (2.0 * h) - d2).abs() < 1e-8,
                    "{act:?} φ'' at {x}"
                );
            }
        }
    }

    #[test]
    fn names_round_trip_and_batch_matches_scalar() {
        for act in ALL {
            assert_eq!(Activation::parse(act.name()), Some(act));
            let xs = [-30.0, -3.1, -0.2, 0.0, 1e-9, 0.6, 2.2, 25.0];
            let (mut z, mut d1, mut d2) = (xs.to_vec(), vec![0.0; 8], vec![0.0; 8]);
            act.apply(&mut z, &mut d1, Some(&mut d2));
            for (k, &x) in xs.iter().enumerate() {
                let (v, g, s) = act.eval(x);
                assert!(
                    (z[k] - v).abs() <= 2e-16 * v.abs().max(1.0),
                    "{act:?} at {x}"
                );
                assert!((d1[k] - g).abs() < 1e-15 && (d2[k] - s).abs() < 1e-15);
            }
        }
        assert_eq!(Activation::parse("TANH"), Some(Activation::Tanh));
        assert_eq!(Activation::parse("swish"), None);
    }
}
