//! The int16 activations whose LiteRT kernels are fixed-point rather than a table
//! of the float function: LOGISTIC and TANH (zero point 0, output scale 1/32768):
//! the input rescaled to a fixed-point grid (1/4096 of 1/3 per level, or the
//! power-of-two shortcut), then linear interpolation in a 256-entry table of
//! sigmoid(i / 24) in 0.16 format (tanh(x) = 2 sigmoid(2x) - 1 reads the same
//! table at twice the rate); and LEAKY_RELU, one multiplier for each sign.

use super::super::OpCtx;
use crate::error::Result;
use crate::graph::op::Unary;
use crate::graph::quant::quantize_multiplier;
use std::sync::OnceLock;

/// sigmoid(i / 24) in 0.16 fixed point for i in 0..256, each entry lowered by half
/// the linear interpolation's error at the middle of its interval (so the largest
/// interpolation error is split evenly above and below), rounded half away from
/// zero; the last entry is the saturation value 65535.
fn sigmoid_table() -> &'static [u32; 256] {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let f = |x: f64| 65536.0 / (1.0 + (-x).exp());
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let x = i as f64 / 24.0;
            let (v, next, mid) = (f(x), f(x + 1.0 / 24.0), f(x + 0.5 / 24.0));
            let err = (v + next) / 2.0 - mid;
            *e = (v - err / 2.0).round().min(65535.0) as u32;
        }
        t[255] = 65535;
        t
    })
}

/// LiteRT's `CheckedLog2`: the nearest integer to log2(x) in single precision, and
/// whether x is that power of two (to 1e-3 in the exponent).
fn checked_log2(x: f32) -> (bool, i32) {
    let log2 = x.ln() * (1.0f32 / 2.0f32.ln());
    let rounded = log2.round();
    ((log2 - rounded).abs() < 1e-3, rounded as i32)
}

/// The input rescaling of LiteRT's int16 LOGISTIC (`tanh` false) or TANH kernel
/// for input scale `scale`: (multiplier, left shift), where a multiplier of 0
/// selects the power-of-two shortcut.
fn input_rescale(scale: f32, tanh: bool) -> (i32, i32) {
    let (pot, log2) = checked_log2(scale);
    let shift = (15 - 3) + log2;
    let pot = pot && (shift == 0 || (tanh && shift == 1));
    if pot {
        return (0, shift);
    }
    let mut multiplier = scale as f64 * 4096.0 * 3.0;
    let mut shift = 0;
    while multiplier <= 32767.0 / 2.0 && shift <= 30 {
        shift += 1;
        multiplier *= 2.0;
    }
    (multiplier as i32, shift)
}

/// One int16 LOGISTIC value.
fn logistic(x: i16, multiplier: i32, shift: i32, table: &[u32; 256]) -> i16 {
    let round = if shift > 0 { 1i32 << (shift - 1) } else { 0 };
    let v = (x as i32).wrapping_mul(multiplier).wrapping_add(round) >> shift;
    let a = v.unsigned_abs();
    let uh = (a >> 9) as usize;
    let r: u32 = if uh >= 255 {
        0x7FFF << 10
    } else {
        let (ua, ub) = (table[uh], table[uh + 1]);
        (ua << 9).wrapping_add((a & 0x1ff).wrapping_mul(ub.wrapping_sub(ua)))
    };
    let r = if v >= 0 {
        r.wrapping_add(1 << 9)
    } else {
        (1u32 << 25).wrapping_sub(r).wrapping_add((1 << 9) - 1)
    };
    (r >> 10) as i16
}

/// One int16 TANH value.
fn tanh(x: i16, multiplier: i32, shift: i32, table: &[u32; 256]) -> i16 {
    let round = if shift > 0 { 1i32 << (shift - 1) } else { 0 };
    let v = (x as i32).wrapping_mul(multiplier).wrapping_add(round) >> shift;
    let a = v.unsigned_abs();
    let uh = (a >> 8) as usize;
    let r: i32 = if uh >= 255 {
        0xFFFF << 8
    } else {
        let (ua, ub) = (table[uh], table[uh + 1]);
        (ua << 8).wrapping_add((a & 0xff).wrapping_mul(ub.wrapping_sub(ua))) as i32
    };
    let r = if v >= 0 {
        r - (1 << 23) + (1 << 7)
    } else {
        -r + (1 << 23) + (1 << 7) - 1
    };
    (r >> 8) as i16
}

/// LOGISTIC or TANH (`u`) of the int16 values `v`.
pub(super) fn sigmoid16(ctx: &OpCtx, u: Unary, v: &[i16]) -> Result<Vec<i16>> {
    let (si, zi) = ctx.in_qparams(0)?;
    let (so, zo) = ctx.out_qparams(0)?;
    if zi != 0 || zo != 0 || so != 1.0 / 32768.0 {
        return Err(ctx.err(format!(
            "int16 {} needs zero points 0 and an output scale of 1/32768 (input zero point {zi}, output scale {so}, zero point {zo})",
            if u == Unary::Tanh { "TANH" } else { "LOGISTIC" }
        )));
    }
    let is_tanh = u == Unary::Tanh;
    let (mut multiplier, mut shift) = input_rescale(si, is_tanh);
    if multiplier == 0 {
        multiplier = 3 << shift.clamp(0, 28);
        shift = 0;
    }
    let table = sigmoid_table();
    Ok(v.iter()
        .map(|&x| match is_tanh {
            true => tanh(x, multiplier, shift, table),
            false => logistic(x, multiplier, shift, table),
        })
        .collect())
}

/// LEAKY_RELU of the int16 values `v`: (x - input zero point) times the identity
/// multiplier (input scale / output scale) or the alpha one (input scale x alpha /
/// output scale), both formed in single precision as LiteRT forms them.
pub(super) fn leaky_relu16(ctx: &OpCtx, alpha: f32, v: &[i16]) -> Result<Vec<i16>> {
    let (si, zi) = ctx.in_qparams(0)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let identity = quantize_multiplier((si / so) as f64);
    let negative = alpha < 0.0;
    let alpha_m = quantize_multiplier((si * alpha.abs() / so) as f64);
    Ok(v.iter()
        .map(|&x| {
            let x = x as i32 - zi;
            let y = if x >= 0 {
                identity.apply(x)
            } else {
                let y = alpha_m.apply(x);
                if negative {
                    y.wrapping_neg()
                } else {
                    y
                }
            };
            y.saturating_add(zo).clamp(-32768, 32767) as i16
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_litert_s() {
        // The sum and a few entries of LiteRT's sigmoid_table_uint16.
        let t = sigmoid_table();
        assert_eq!(t.iter().map(|&x| x as u64).sum::<u64>(), 15_670_629);
        assert_eq!((t[0], t[4], t[100], t[254]), (32768, 35493, 64536, 65534));
    }

    #[test]
    fn values_follow_the_functions() {
        // Input scale 8/32768 (power of two): multiplier 3, no shift.
        let (m, s) = input_rescale(8.0 / 32768.0, false);
        assert_eq!((m, s), (0, 0));
        let t = sigmoid_table();
        for x in [-32768i16, -4096, -1, 0, 1, 4096, 32767] {
            let real = x as f64 * 8.0 / 32768.0;
            let got = logistic(x, 3, 0, t) as f64 / 32768.0;
            assert!(
                (got - 1.0 / (1.0 + (-real).exp())).abs() < 2e-4,
                "{x}: {got}"
            );
            let got = tanh(x, 3, 0, t) as f64 / 32768.0;
            assert!((got - real.tanh()).abs() < 2e-4, "{x}: {got}");
        }
    }
}
