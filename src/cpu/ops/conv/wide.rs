//! The 16x8 integer path of the convolutions and FULLY_CONNECTED: int16 inputs
//! (zero point 0), int8 weights, int64 accumulators and biases, and LiteRT's 64-bit
//! requantization (the multiplier rounded to 16 bits, then one rounding shift),
//! as its reference int16 kernels compute them.

use super::requant::{widen_weights, QuantArgs};
use super::OpCtx;
use crate::error::Result;
use crate::graph::op::Activation;
use crate::graph::quant::{activation_range, type_range, Multiplier};
use crate::graph::{DType, Data, Tensor};

/// The quantization of a 16x8 convolution or FC: as [`QuantArgs`], with the
/// bias as int64 and the input widened to i64.
pub(in crate::cpu::ops) type WideArgs = QuantArgs<i64>;

/// Gather [`WideArgs`] for int16 input `x_idx`, bias `bias_idx` and `channels`
/// outputs.
pub(in crate::cpu::ops) fn wide_args(
    ctx: &OpCtx,
    x_idx: usize,
    bias_idx: usize,
    channels: usize,
) -> Result<WideArgs> {
    QuantArgs::gather(
        ctx,
        x_idx,
        channels,
        |izp| match &ctx.input(x_idx)?.data {
            Data::I16(v) => Ok(v.iter().map(|&x| x as i64 - izp as i64).collect()),
            _ => Err(ctx.unsupported_dtype(x_idx)),
        },
        || bias_i64(ctx, bias_idx, channels),
    )
}

/// An integer weight tensor widened to i64, with each channel's zero point
/// subtracted (see [`widen_weights`]).
pub(in crate::cpu::ops) fn widen_weights_i64(
    t: &Tensor,
    zps: &[i64],
    axis_stride: usize,
    axis_len: usize,
) -> Option<Vec<i64>> {
    let w = widen_weights(t, zps, axis_stride, axis_len)?;
    Some(w.into_iter().map(i64::from).collect())
}

/// An optional integer bias of `n` elements at input `i`, as i64 (int64 as LiteRT's
/// 16x8 kernels take it; int32 is accepted too).
fn bias_i64(ctx: &OpCtx, i: usize, n: usize) -> Result<Option<Vec<i64>>> {
    let Some(b) = ctx.opt_input(i) else {
        return Ok(None);
    };
    let v: Vec<i64> = match &b.data {
        Data::I64(v) => v.clone(),
        Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
        _ => return Err(ctx.err(format!("bias is {}, expected int64", b.dtype()))),
    };
    if v.len() != n {
        return Err(ctx.err(format!("bias has {} elements, expected {n}", v.len())));
    }
    Ok(Some(v))
}

/// LiteRT's `MultiplyByQuantizedMultiplier` for a 64-bit value: the Q31 mantissa
/// rounded to Q15, one multiplication and one rounding right shift; the result
/// narrowed to 32 bits as the kernel narrows it.
pub(in crate::cpu::ops) fn multiply_wide(x: i64, m: Multiplier) -> i32 {
    let reduced = if m.mantissa < 0x7FFF_0000 {
        ((m.mantissa as i64) + (1 << 15)) >> 16
    } else {
        0x7FFF
    };
    let total_shift = (15 - m.shift).clamp(1, 62) as u32;
    let round = 1i64 << (total_shift - 1);
    (x.wrapping_mul(reduced).wrapping_add(round) >> total_shift) as i32
}

/// How 16x8 accumulators are rescaled to the output, per output channel.
pub(in crate::cpu::ops) enum Rescale<'a> {
    /// Fixed-point multipliers ([`multiply_wide`]): the convolutions and the
    /// per-tensor FULLY_CONNECTED.
    Fixed(&'a [Multiplier]),
    /// input scale x weight scale / output scale in double precision, the product
    /// rounded half away from zero: the per-channel FULLY_CONNECTED.
    Float(&'a [f64]),
}

/// Requantize 64-bit accumulators (`bias` not yet added) to the output's type:
/// per channel `c` (the innermost dimension), clamp(rescale(acc + bias[c]) + output
/// zero point) to the fused activation's range.
pub(in crate::cpu::ops) fn requantize_wide(
    ctx: &OpCtx,
    acc: &[i64],
    bias: Option<&[i64]>,
    rescale: Rescale,
    act: Activation,
    shape: Vec<usize>,
) -> Result<Tensor> {
    let dtype = ctx.out_dtype(0)?;
    if dtype != DType::I16 {
        return Err(ctx.err(format!(
            "int16 input with a {dtype} output is not supported (LiteRT's 16x8 kernels write int16)"
        )));
    }
    let (os, ozp) = ctx.out_qparams(0)?;
    let (tmin, tmax) = type_range(dtype);
    let (lo, hi) = activation_range(act, os, ozp, dtype);
    let (lo, hi) = (lo.clamp(tmin, tmax), hi.clamp(tmin, tmax));
    let nch = match rescale {
        Rescale::Fixed(m) => m.len(),
        Rescale::Float(s) => s.len(),
    }
    .max(1);
    let out = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let c = i % nch;
            let b = bias.and_then(|b| b.get(c)).copied().unwrap_or(0);
            let a = a.wrapping_add(b);
            let scaled = match rescale {
                Rescale::Fixed(m) => multiply_wide(a, m.get(c).copied().unwrap_or_default()),
                // A float-to-int cast saturates, as the kernel's cast does in range.
                Rescale::Float(s) => (a as f64 * s.get(c).copied().unwrap_or(0.0)).round() as i32,
            };
            scaled.saturating_add(ozp).clamp(lo, hi) as i16
        })
        .collect();
    Ok(Tensor::new(shape, Data::I16(out)))
}

/// The per-channel rescales of [`Rescale::Float`]: input scale x weight scale[c] /
/// output scale, in double precision.
pub(in crate::cpu::ops) fn float_rescales(is: f32, ws: &[f32], os: f32) -> Vec<f64> {
    ws.iter()
        .map(|&w| is as f64 * w as f64 / os as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::quant::quantize_multiplier;

    #[test]
    fn the_wide_multiply_rounds_the_mantissa_to_16_bits() {
        // 0.75 = 0.75 * 2^0: mantissa 0.75 * 2^31, rounded to 0.75 * 2^15.
        let m = quantize_multiplier(0.75);
        assert_eq!(multiply_wide(1000, m), 750);
        assert_eq!(multiply_wide(-1000, m), -750);
        // Ties round up (towards +inf) after the single shift.
        let half = quantize_multiplier(0.5);
        assert_eq!(multiply_wide(3, half), 2);
        assert_eq!(multiply_wide(-3, half), -1);
        // A large accumulator, beyond 32 bits.
        let small = quantize_multiplier(1.0 / 65536.0);
        assert_eq!(multiply_wide(1 << 40, small), 1 << 24);
    }
}
