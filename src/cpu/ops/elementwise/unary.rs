//! Element-wise unary math (float, integer and quantized through a lookup table).

use super::act16::{leaky_relu16, sigmoid16};
use super::*;
use crate::error::Result;
use crate::graph::op::Unary;
use crate::graph::quant::type_range;
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// The error function, accurate to about 1e-15 (f64).
pub(super) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let r = if ax < 3.0 {
        // Maclaurin series: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)).
        let x2 = ax * ax;
        let mut term = ax;
        let mut sum = ax;
        let mut n = 0.0f64;
        loop {
            n += 1.0;
            term *= -x2 / n;
            let t = term / (2.0 * n + 1.0);
            sum += t;
            if t.abs() < 1e-17 * sum.abs() || n > 200.0 {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        1.0 - erfc(ax)
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// The complementary error function, accurate in relative terms for large arguments.
pub(super) fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < 3.0 {
        return 1.0 - erf(x);
    }
    if x > 27.0 {
        return 0.0;
    }
    // Continued fraction, evaluated backwards.
    let mut f = 0.0f64;
    for k in (1..=120).rev() {
        f = (k as f64 / 2.0) / (x + f);
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / (x + f)
}

/// Float function of a unary op.
pub(super) fn unary_f32(u: Unary) -> Option<fn(f32) -> f32> {
    use Unary::*;
    Some(match u {
        Abs => f32::abs,
        Neg => |x: f32| -x,
        Exp => f32::exp,
        Log => f32::ln,
        Sqrt => f32::sqrt,
        Rsqrt => |x: f32| 1.0 / x.sqrt(),
        Square => |x: f32| x * x,
        Sin => f32::sin,
        Cos => f32::cos,
        Floor => f32::floor,
        Ceil => f32::ceil,
        Round => f32::round_ties_even,
        Sign => |x: f32| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        },
        Relu => |x: f32| x.max(0.0),
        Relu6 => |x: f32| x.clamp(0.0, 6.0),
        ReluN1To1 => |x: f32| x.clamp(-1.0, 1.0),
        Relu0To1 => |x: f32| x.clamp(0.0, 1.0),
        Logistic => |x: f32| {
            if x > 16.619_048 {
                1.0
            } else if x < -9.0 {
                x.exp()
            } else {
                1.0 / (1.0 + (-x).exp())
            }
        },
        Tanh => f32::tanh,
        HardSwish => |x: f32| x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Elu => |x: f32| if x < 0.0 { x.exp_m1() } else { x },
        Gelu { approximate: false } => |x: f32| {
            let t = x * -std::f32::consts::FRAC_1_SQRT_2;
            0.5 * x * erfc(t as f64) as f32
        },
        Gelu { approximate: true } => |x: f32| {
            let c = (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) as f32;
            0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
        },
        LeakyRelu { .. } | LogicalNot => return None,
    })
}

/// Apply a unary op to one float (LeakyRelu needs its alpha).
fn unary_apply(u: Unary, f: Option<fn(f32) -> f32>, x: f32) -> f32 {
    match (u, f) {
        (Unary::LeakyRelu { alpha }, _) => {
            if x > 0.0 {
                x
            } else {
                x * alpha
            }
        }
        (_, Some(f)) => f(x),
        _ => x,
    }
}

/// Kernel of unary.
pub fn unary(ctx: &mut OpCtx, u: Unary) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    check_tensor(ctx, x, 0)?;
    let shape = x.shape.clone();
    let f = unary_f32(u);
    let supported_float = f.is_some() || matches!(u, Unary::LeakyRelu { .. });
    let data = match (&x.data, u) {
        (Data::Bool(v), Unary::LogicalNot) => Data::Bool(v.iter().map(|b| !b).collect()),
        (Data::F32(v), _) if supported_float => match f {
            // The common activations as direct closures, which inline and vectorize
            // (the same functions as unary_f32's, without the indirect call).
            Some(_) if u == Unary::Relu => Data::F32(v.iter().map(|&x| x.max(0.0)).collect()),
            Some(_) if u == Unary::Relu6 => {
                Data::F32(v.iter().map(|&x| x.clamp(0.0, 6.0)).collect())
            }
            Some(f) => Data::F32(v.iter().map(|&x| f(x)).collect()),
            None => Data::F32(v.iter().map(|&x| unary_apply(u, None, x)).collect()),
        },
        (Data::I8(v), _) if supported_float => {
            let lut = quant_lut(ctx, u, f, -128, DType::I8)?;
            Data::I8(
                v.iter()
                    .map(|&q| lut[(q as i32 + 128) as usize] as i8)
                    .collect(),
            )
        }
        (Data::U8(v), _) if supported_float => {
            let lut = quant_lut(ctx, u, f, 0, DType::U8)?;
            Data::U8(v.iter().map(|&q| lut[q as usize] as u8).collect())
        }
        (Data::I16(v), Unary::Logistic | Unary::Tanh) => Data::I16(sigmoid16(ctx, u, v)?),
        (Data::I16(v), Unary::LeakyRelu { alpha }) => Data::I16(leaky_relu16(ctx, alpha, v)?),
        (Data::I16(v), _) if supported_float => {
            let lut = quant_lut(ctx, u, f, -32768, DType::I16)?;
            Data::I16(
                v.iter()
                    .map(|&q| lut[(q as i32 + 32768) as usize] as i16)
                    .collect(),
            )
        }
        (Data::I32(v), _) => Data::I32(unary_int(ctx, u, v)?),
        (Data::I64(v), _) => Data::I64(unary_int(ctx, u, v)?),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(shape, data)])
}

/// A table mapping every quantized input (from `qmin`, the whole range of `dtype`) to
/// its quantized output.
fn quant_lut(
    ctx: &OpCtx,
    u: Unary,
    f: Option<fn(f32) -> f32>,
    qmin: i32,
    dtype: DType,
) -> Result<Vec<i32>> {
    let (si, zi) = ctx.in_qparams(0)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let (lo, hi) = type_range(dtype);
    let size = if dtype == DType::I16 { 65536 } else { 256 };
    Ok((qmin..qmin + size)
        .map(|q| {
            let x = (q - zi) as f32 * si;
            let y = unary_apply(u, f, x);
            let r = (y / so).round();
            let r = if r.is_nan() { 0.0 } else { r };
            ((r as i64).saturating_add(zo as i64)).clamp(lo as i64, hi as i64) as i32
        })
        .collect())
}

fn unary_int<T: Int>(ctx: &OpCtx, u: Unary, v: &[T]) -> Result<Vec<T>> {
    Ok(match u {
        Unary::Abs => v.iter().map(|x| x.wabs()).collect(),
        Unary::Neg => v.iter().map(|x| x.wneg()).collect(),
        Unary::Square => v.iter().map(|&x| x.wmul(x)).collect(),
        Unary::Sign => v
            .iter()
            .map(|&x| {
                if x > T::ZERO {
                    T::ONE
                } else if x < T::ZERO {
                    T::ONE.wneg()
                } else {
                    T::ZERO
                }
            })
            .collect(),
        Unary::Relu => v
            .iter()
            .map(|&x| if x > T::ZERO { x } else { T::ZERO })
            .collect(),
        _ => return Err(ctx.unsupported_dtype(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_values() {
        let cases = [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (3.5, 0.999_999_256_901_627_7),
            (-1.5, -0.966_105_146_475_310_7),
        ];
        for (x, e) in cases {
            assert!((erf(x) - e).abs() < 1e-14, "erf({x}) = {} vs {e}", erf(x));
        }
    }

    #[test]
    fn erfc_tail() {
        let cases = [
            (3.0, 2.209_049_699_858_544e-5),
            (5.0, 1.537_459_794_428_035e-12),
            (-1.0, 1.842_700_792_949_715),
            (0.5, 0.479_500_122_186_953_5),
        ];
        for (x, e) in cases {
            assert!(
                ((erfc(x) - e) / e).abs() < 1e-12,
                "erfc({x}) = {} vs {e}",
                erfc(x)
            );
        }
    }
}
