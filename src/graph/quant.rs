//! LiteRT's integer arithmetic: fixed-point multipliers, rounding and saturation.
//!
//! Quantized kernels use these so that int8 results match LiteRT's reference kernels
//! to the step: a real multiplier is stored as a Q31 mantissa and a power-of-two shift,
//! and applied with a saturating rounding doubling high multiply followed by a
//! rounding right shift.

use crate::graph::op::Activation;
use crate::graph::DType;

/// A real multiplier as (Q31 mantissa, power-of-two exponent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Multiplier {
    /// Mantissa in Q31, in [2^30, 2^31) for non-zero multipliers.
    pub mantissa: i32,
    /// Exponent: positive shifts left, negative shifts right.
    pub shift: i32,
}

/// Split a non-negative double into a fraction in [0.5, 1) and an exponent.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let mut e = x.abs().log2().floor() as i32 + 1;
    let mut f = x / 2f64.powi(e);
    while f.abs() >= 1.0 {
        f /= 2.0;
        e += 1;
    }
    while f.abs() < 0.5 {
        f *= 2.0;
        e -= 1;
    }
    (f, e)
}

/// Encode a real multiplier (LiteRT `QuantizeMultiplier`).
pub fn quantize_multiplier(real: f64) -> Multiplier {
    if real == 0.0 || !real.is_finite() {
        return Multiplier::default();
    }
    let (q, mut shift) = frexp(real);
    let mut q_fixed = (q * (1i64 << 31) as f64).round() as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    if shift > 30 {
        shift = 30;
        q_fixed = (1i64 << 31) - 1;
    }
    Multiplier {
        mantissa: q_fixed as i32,
        shift,
    }
}

/// High 32 bits of 2*a*b with rounding, saturating the single overflow case.
///
/// LiteRT rounds (ab + 2^30) / 2^31 toward zero for ab >= 0 and (ab + 1 - 2^30) /
/// 2^31 toward zero for ab < 0; both are floor((ab + 2^30) / 2^31), one arithmetic
/// shift, so this has no branch and vectorizes in element-wise loops.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    let overflow = a == b && a == i32::MIN;
    // Wrapping forms of operations that cannot overflow keep overflow checks (on in
    // dev builds) out of vectorized loops.
    let hm = ((a as i64).wrapping_mul(b as i64).wrapping_add(1i64 << 30) >> 31) as i32;
    if overflow {
        i32::MAX
    } else {
        hm
    }
}

/// x / 2^exponent rounded to nearest, ties away from zero (x itself for an
/// exponent <= 0, where the mask is empty).
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let e = exponent.clamp(0, 31) as u32;
    let mask = 1u32.wrapping_shl(e).wrapping_sub(1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1).wrapping_add((x < 0) as i32);
    (x >> e).wrapping_add((remainder > threshold) as i32)
}

/// x * multiplier with LiteRT's double rounding (`MultiplyByQuantizedMultiplier`).
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, m: Multiplier) -> i32 {
    let left = m.shift.max(0);
    let right = m.shift.wrapping_neg().max(0);
    let shifted = x.wrapping_mul(1i32.wrapping_shl(left as u32));
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(shifted, m.mantissa),
        right,
    )
}

impl Multiplier {
    /// Apply to an accumulator.
    #[inline]
    pub fn apply(self, x: i32) -> i32 {
        multiply_by_quantized_multiplier(x, self)
    }
}

/// The representable range of an integer type (as i32).
pub fn type_range(dtype: DType) -> (i32, i32) {
    match dtype {
        DType::I8 => (-128, 127),
        DType::U8 => (0, 255),
        DType::I16 => (-32768, 32767),
        DType::U16 => (0, 65535),
        _ => (i32::MIN, i32::MAX),
    }
}

/// Quantize one real value with LiteRT's rounding (half away from zero), unclamped.
pub fn quantize_value(x: f32, scale: f32, zero_point: i32) -> i64 {
    (x / scale).round() as i64 + zero_point as i64
}

/// The clamp range of a fused activation in the quantized domain
/// (`CalculateActivationRangeQuantized`).
pub fn activation_range(act: Activation, scale: f32, zero_point: i32, dtype: DType) -> (i32, i32) {
    let (qmin, qmax) = type_range(dtype);
    let q = |x: f32| {
        quantize_value(x, scale, zero_point).clamp(i32::MIN as i64, i32::MAX as i64) as i32
    };
    match act {
        Activation::Relu => (qmin.max(q(0.0)), qmax),
        Activation::Relu6 => (qmin.max(q(0.0)), qmax.min(q(6.0))),
        Activation::ReluN1To1 => (qmin.max(q(-1.0)), qmax.min(q(1.0))),
        _ => (qmin, qmax),
    }
}

/// Apply a fused activation to float values in place.
pub fn apply_activation(act: Activation, values: &mut [f32]) {
    match act {
        Activation::None => {}
        Activation::Tanh => values.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::SignBit => values
            .iter_mut()
            .for_each(|v| *v = if v.is_sign_negative() { 1.0 } else { 0.0 }),
        _ => {
            let (lo, hi) = act.range().unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
            values.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
        }
    }
}

/// Apply a fused activation to one float value.
pub fn activate(act: Activation, v: f32) -> f32 {
    match act {
        Activation::None => v,
        Activation::Relu => v.clamp(0.0, f32::INFINITY),
        Activation::Relu6 => v.clamp(0.0, 6.0),
        Activation::ReluN1To1 => v.clamp(-1.0, 1.0),
        Activation::Tanh => v.tanh(),
        Activation::SignBit => {
            if v.is_sign_negative() {
                1.0
            } else {
                0.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_round_trip() {
        for &m in &[0.5, 0.25, 0.0078125, 1.5, 0.999_999_999, 3.0e-5, 1.0] {
            let q = quantize_multiplier(m);
            let back = q.mantissa as f64 / (1i64 << 31) as f64 * 2f64.powi(q.shift);
            assert!((back - m).abs() <= m * 1e-9, "{m} -> {q:?} -> {back}");
        }
    }

    #[test]
    fn rounding_divide_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(4, 1), 2);
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
    }

    #[test]
    fn branch_free_forms_match_litert_definitions() {
        fn srdhm(a: i32, b: i32) -> i32 {
            if a == b && a == i32::MIN {
                return i32::MAX;
            }
            let ab = a as i64 * b as i64;
            let nudge = if ab >= 0 {
                1i64 << 30
            } else {
                1 - (1i64 << 30)
            };
            ((ab + nudge) / (1i64 << 31)) as i32
        }
        fn rdbp(x: i32, exponent: i32) -> i32 {
            if exponent <= 0 {
                return x;
            }
            let mask = ((1i64 << exponent.min(31)) - 1) as i32;
            let threshold = (mask >> 1) + (x < 0) as i32;
            (x >> exponent.min(31)) + ((x & mask) > threshold) as i32
        }
        let mut rng = crate::graph::rng::SeededRng::new(0x2545_f491_4f6c_dd1d);
        let mut next = || {
            let s = rng.next_u64();
            s as i32 >> (s >> 59)
        };
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30),
            -3,
            -1,
            0,
            1,
            3,
            1 << 30,
            i32::MAX,
        ];
        let mut vals: Vec<i32> = (0..4000).map(|_| next()).collect();
        vals.extend(edges);
        for (i, &a) in vals.iter().enumerate() {
            for &b in vals.iter().skip(i % 97).step_by(97).chain(&edges) {
                assert_eq!(
                    saturating_rounding_doubling_high_mul(a, b),
                    srdhm(a, b),
                    "{a} {b}"
                );
            }
            for e in -2..=33 {
                assert_eq!(rounding_divide_by_pot(a, e), rdbp(a, e), "{a} {e}");
            }
        }
    }

    #[test]
    fn high_mul_saturates() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
    }

    #[test]
    fn multiply_by_half() {
        let half = quantize_multiplier(0.5);
        assert_eq!(half.apply(10), 5);
        assert_eq!(half.apply(11), 6);
        // The high multiply rounds half up: -5.5 becomes -5, as in LiteRT.
        assert_eq!(half.apply(-11), -5);
    }
}
