//! Integer and hybrid helpers shared by the convolution and matmul kernels: input
//! widening, per-row hybrid input quantization, biases, per-channel multipliers,
//! requantization and the float epilogues.

use super::OpCtx;
use crate::error::Result;
use crate::graph::op::Activation;
use crate::graph::quant::{activation_range, quantize_multiplier, type_range, Multiplier};
use crate::graph::DType;
use crate::graph::Data;
use crate::graph::Tensor;

/// The quantization of an integer convolution or FC: input scale, output scale,
/// per-channel weight scales and zero points (weights are input 1), the bias and
/// the input widened to `A` with its zero point removed: i32 for 8-bit kernels,
/// i64 for the 16x8 ones ([`super::wide::WideArgs`]).
pub(in crate::cpu::ops) struct QuantArgs<A = i32> {
    pub is: f32,
    pub os: f32,
    pub ws: Vec<f32>,
    pub zps: Vec<i64>,
    pub bias: Option<Vec<A>>,
    pub x: Vec<A>,
}

impl<A> QuantArgs<A> {
    /// Gather the quantization of a node with `channels` outputs and input
    /// `x_idx`: `widen` turns that input into `A` given its zero point, `bias`
    /// reads the bias.
    pub(in crate::cpu::ops) fn gather(
        ctx: &OpCtx,
        x_idx: usize,
        channels: usize,
        widen: impl FnOnce(i32) -> Result<Vec<A>>,
        bias: impl FnOnce() -> Result<Option<Vec<A>>>,
    ) -> Result<Self> {
        let (is, izp) = ctx.in_qparams(x_idx)?;
        let (os, _) = ctx.out_qparams(0)?;
        let x = widen(izp)?;
        Ok(QuantArgs {
            is,
            os,
            ws: weight_scales(ctx, 1, channels)?,
            zps: ctx
                .in_quant(1)
                .map(|q| q.zero_point.clone())
                .unwrap_or_default(),
            bias: bias()?,
            x,
        })
    }
}

/// Gather [`QuantArgs`] for input `x_idx`, bias `bias_idx` and `channels` outputs.
pub(in crate::cpu::ops) fn quant_args(
    ctx: &OpCtx,
    x_idx: usize,
    bias_idx: usize,
    channels: usize,
) -> Result<QuantArgs> {
    QuantArgs::gather(
        ctx,
        x_idx,
        channels,
        |izp| widen(ctx.input(x_idx)?, izp).ok_or_else(|| ctx.unsupported_dtype(x_idx)),
        || bias_i32(ctx, bias_idx, channels),
    )
}

/// The elements of an integer tensor widened to i32 with `zp` subtracted.
pub(in crate::cpu::ops) fn widen(t: &Tensor, zp: i32) -> Option<Vec<i32>> {
    // Wrapping (it cannot overflow for a zero point of the type) keeps overflow
    // checks out of the loop, so it vectorizes.
    Some(match &t.data {
        Data::I8(v) => v.iter().map(|&x| (x as i32).wrapping_sub(zp)).collect(),
        Data::U8(v) => v.iter().map(|&x| (x as i32).wrapping_sub(zp)).collect(),
        Data::I16(v) => v.iter().map(|&x| (x as i32).wrapping_sub(zp)).collect(),
        _ => return None,
    })
}

/// The elements of an integer weight tensor widened to i32, with the zero point of
/// each element's channel (along `axis` of `shape`) subtracted.
pub(in crate::cpu::ops) fn widen_weights(
    t: &Tensor,
    zps: &[i64],
    axis_stride: usize,
    axis_len: usize,
) -> Option<Vec<i32>> {
    let zp = |i: usize| -> i32 {
        if zps.len() <= 1 {
            zps.first().copied().unwrap_or(0) as i32
        } else {
            let c = (i / axis_stride.max(1)) % axis_len.max(1);
            zps.get(c).copied().unwrap_or(0) as i32
        }
    };
    Some(match &t.data {
        Data::I8(v) => v
            .iter()
            .enumerate()
            .map(|(i, &x)| x as i32 - zp(i))
            .collect(),
        Data::U8(v) => v
            .iter()
            .enumerate()
            .map(|(i, &x)| x as i32 - zp(i))
            .collect(),
        _ => return None,
    })
}

/// Symmetric per-row quantization of float inputs (LiteRT `SymmetricQuantizeFloats`),
/// or asymmetric (`AsymmetricQuantizeFloats`, returned with the offset already
/// subtracted). Returns the quantized values and one scaling factor per row.
pub(in crate::cpu::ops) fn quantize_rows(
    x: &[f32],
    row_len: usize,
    asymmetric: bool,
) -> (Vec<i32>, Vec<f32>) {
    let mut q = vec![0i32; x.len()];
    let mut scales = Vec::new();
    if row_len == 0 {
        return (q, scales);
    }
    for (row, qr) in x.chunks(row_len).zip(q.chunks_mut(row_len)) {
        scales.push(quantize_row(row, qr, asymmetric));
    }
    (q, scales)
}

/// One row of [`quantize_rows`]; returns its scaling factor.
fn quantize_row(row: &[f32], qr: &mut [i32], asymmetric: bool) -> f32 {
    let (mn, mx) = min_max(row);
    if row.is_empty() {
        return 1.0;
    }
    if !asymmetric {
        let range = mn.abs().max(mx.abs());
        if range == 0.0 {
            return 1.0;
        }
        scale_round(row, qr, 127.0f32 / range, 0.0, -127, 127, 0);
        return range / 127.0;
    }
    let rmin = mn.min(0.0) as f64;
    let rmax = mx.max(0.0) as f64;
    if rmin == rmax {
        return 1.0;
    }
    let (qmin, qmax) = (-128.0f64, 127.0f64);
    let scale = (rmax - rmin) / (qmax - qmin);
    let zp_min = qmin - rmin / scale;
    let zp_max = qmax - rmax / scale;
    let err_min = qmin.abs() + (rmin / scale).abs();
    let err_max = qmax.abs() + (rmax / scale).abs();
    let zp = if err_min < err_max { zp_min } else { zp_max };
    let offset = if zp <= qmin {
        qmin as i32
    } else if zp >= qmax {
        qmax as i32
    } else {
        zp.round() as i32
    };
    let inv = (1.0 / scale) as f32;
    scale_round(row, qr, inv, offset as f32, -128, 127, offset);
    scale as f32
}

/// The smallest and largest value of a row, NaNs skipped (as `f32::min`/`max` do).
fn min_max(row: &[f32]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { min_max_avx2(row) };
        }
    }
    min_max_impl(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn min_max_avx2(row: &[f32]) -> (f32, f32) {
    min_max_impl(row)
}

#[inline(always)]
fn min_max_impl(row: &[f32]) -> (f32, f32) {
    let mut mn = [f32::INFINITY; 8];
    let mut mx = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for j in 0..8 {
            mn[j] = if c[j] < mn[j] { c[j] } else { mn[j] };
            mx[j] = if c[j] > mx[j] { c[j] } else { mx[j] };
        }
    }
    let fold = |init: (f32, f32), v: &f32| (init.0.min(*v), init.1.max(*v));
    let lanes = mn
        .iter()
        .zip(&mx)
        .fold((f32::INFINITY, f32::NEG_INFINITY), |a, (l, h)| {
            (a.0.min(*l), a.1.max(*h))
        });
    chunks.remainder().iter().fold(lanes, fold)
}

/// qr[i] = clamp(round(add + row[i] * mul), lo, hi) - sub, rounding half away from
/// zero as `f32::round` does.
fn scale_round(row: &[f32], qr: &mut [i32], mul: f32, add: f32, lo: i32, hi: i32, sub: i32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { scale_round_avx2(row, qr, mul, add, lo, hi, sub) };
            return;
        }
    }
    scale_round_impl(row, qr, mul, add, lo, hi, sub)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_round_avx2(
    row: &[f32],
    qr: &mut [i32],
    mul: f32,
    add: f32,
    lo: i32,
    hi: i32,
    sub: i32,
) {
    scale_round_impl(row, qr, mul, add, lo, hi, sub)
}

/// Clamping before the conversion (NaN to 0, as `as i32` does) gives the same
/// integers as converting and then clamping, with a conversion that vectorizes.
#[inline(always)]
fn scale_round_impl(row: &[f32], qr: &mut [i32], mul: f32, add: f32, lo: i32, hi: i32, sub: i32) {
    let (lof, hif) = (lo as f32, hi as f32);
    for (o, &v) in qr.iter_mut().zip(row) {
        let r = round_half_away(add + v * mul);
        let r = if r.is_nan() { 0.0 } else { r };
        let r = if r < lof { lof } else { r };
        let r = if r > hif { hif } else { r };
        // SAFETY: r is finite and within [lo, hi], both i32 values.
        *o = unsafe { r.to_int_unchecked::<i32>() }.wrapping_sub(sub);
    }
}

/// `f32::round` (half away from zero) from `trunc`, which has a vector instruction:
/// x - trunc(x) is exact, so comparing it with one half decides the rounding.
#[inline(always)]
fn round_half_away(x: f32) -> f32 {
    let t = x.trunc();
    if (x - t).abs() >= 0.5 {
        t + 1f32.copysign(x)
    } else {
        t
    }
}

/// Pack clamped i32 values into an integer tensor of `dtype`.
pub(in crate::cpu::ops) fn int_tensor(
    dtype: DType,
    shape: Vec<usize>,
    v: &[i32],
) -> Option<Tensor> {
    let data = match dtype {
        DType::I8 => Data::I8(v.iter().map(|&x| x.clamp(-128, 127) as i8).collect()),
        DType::U8 => Data::U8(v.iter().map(|&x| x.clamp(0, 255) as u8).collect()),
        DType::I16 => Data::I16(
            v.iter()
                .map(|&x| x.clamp(i16::MIN as i32, i16::MAX as i32) as i16)
                .collect(),
        ),
        DType::I32 => Data::I32(v.to_vec()),
        _ => return None,
    };
    Some(Tensor::new(shape, data))
}

/// Float clamp bounds of a fused activation (tanh/sign-bit are rejected by callers).
pub(in crate::cpu::ops) fn float_range(act: Activation) -> (f32, f32) {
    act.range().unwrap_or((f32::NEG_INFINITY, f32::INFINITY))
}

/// Check a fused activation is one a kernel can fuse (clamping kinds only).
pub(in crate::cpu::ops) fn check_act(ctx: &OpCtx, act: Activation) -> Result<()> {
    if act.range().is_none() {
        return Err(ctx.err(format!("fused activation {act:?} is not supported")));
    }
    Ok(())
}

/// An optional float bias of `n` elements at input `i`.
pub(in crate::cpu::ops) fn bias_f32<'a>(
    ctx: &OpCtx<'a>,
    i: usize,
    n: usize,
) -> Result<Option<&'a [f32]>> {
    match ctx.opt_input(i) {
        None => Ok(None),
        Some(b) => {
            let v = b
                .as_f32()
                .ok_or_else(|| ctx.err(format!("bias is {}, expected float32", b.dtype())))?;
            if v.len() != n {
                return Err(ctx.err(format!("bias has {} elements, expected {n}", v.len())));
            }
            Ok(Some(v))
        }
    }
}

/// An optional integer bias of `n` elements at input `i`, as i32.
fn bias_i32(ctx: &OpCtx, i: usize, n: usize) -> Result<Option<Vec<i32>>> {
    match ctx.opt_input(i) {
        None => Ok(None),
        Some(b) => {
            let v: Vec<i32> = match &b.data {
                Data::I32(v) => v.clone(),
                Data::I64(v) => v
                    .iter()
                    .map(|&x| x.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
                    .collect(),
                _ => return Err(ctx.err(format!("bias is {}, expected int32", b.dtype()))),
            };
            if v.len() != n {
                return Err(ctx.err(format!("bias has {} elements, expected {n}", v.len())));
            }
            Ok(Some(v))
        }
    }
}

/// Per-output-channel multipliers in_scale * w_scale[c] / out_scale.
pub(in crate::cpu::ops) fn channel_multipliers(
    in_scale: f32,
    w_scales: &[f32],
    out_scale: f32,
    n: usize,
) -> Vec<Multiplier> {
    (0..n)
        .map(|c| {
            let ws = if w_scales.len() == 1 {
                w_scales[0]
            } else {
                w_scales.get(c).copied().unwrap_or(0.0)
            };
            quantize_multiplier(in_scale as f64 * ws as f64 / out_scale as f64)
        })
        .collect()
}

/// The scales of a weight input, checked to be per-tensor or one per channel.
pub(in crate::cpu::ops) fn weight_scales(
    ctx: &OpCtx,
    i: usize,
    channels: usize,
) -> Result<Vec<f32>> {
    let q = ctx
        .in_quant(i)
        .ok_or_else(|| ctx.err(format!("input {i} has no quantization parameters")))?;
    if q.scale.len() != 1 && q.scale.len() != channels {
        return Err(ctx.err(format!(
            "input {i} has {} scales for {channels} channels",
            q.scale.len()
        )));
    }
    Ok(q.scale.clone())
}

/// Requantize accumulators (bias already added) to the output's integer type.
pub(in crate::cpu::ops) fn requantize(
    ctx: &OpCtx,
    acc: &[i32],
    bias: Option<&[i32]>,
    mult: &[Multiplier],
    act: Activation,
    shape: Vec<usize>,
) -> Result<Tensor> {
    let dtype = ctx.out_dtype(0)?;
    let (os, ozp) = ctx.out_qparams(0)?;
    // Within the output type's range, so that narrowing the result is exact.
    let (tmin, tmax) = type_range(dtype);
    let (lo, hi) = activation_range(act, os, ozp, dtype);
    let (lo, hi) = (lo.clamp(tmin, tmax), hi.clamp(tmin, tmax));
    // Parameters repeat with the channel; a period of at least 256 elements keeps the
    // loop long enough to vectorize when there are few channels.
    let nch = mult.len().max(1);
    let c = nch * 256usize.div_ceil(nch);
    let mut p = RequantParams {
        bias: vec![0; c],
        mant: vec![0; c],
        left: vec![0; c],
        right: vec![0; c],
        mask: vec![0; c],
        ozp,
        lo,
        hi,
    };
    for i in 0..c {
        let ch = i % nch;
        p.bias[i] = bias.and_then(|b| b.get(ch)).copied().unwrap_or(0);
        p.set(i, mult.get(ch).copied().unwrap_or_default());
    }
    let data = match dtype {
        DType::I8 => Data::I8(requant_all(acc, &p)),
        DType::U8 => Data::U8(requant_all(acc, &p)),
        DType::I16 => Data::I16(requant_all(acc, &p)),
        DType::I32 => Data::I32(requant_all(acc, &p)),
        _ => return Err(ctx.err(format!("output type {dtype} unsupported"))),
    };
    Ok(Tensor::new(shape, data))
}

/// An integer output element: requantized values are clamped to the output type's
/// range first, so the narrowing conversion is exact.
trait Narrow: Copy + Default {
    fn narrow(v: i32) -> Self;
}
impl Narrow for i8 {
    #[inline(always)]
    fn narrow(v: i32) -> i8 {
        v as i8
    }
}
impl Narrow for u8 {
    #[inline(always)]
    fn narrow(v: i32) -> u8 {
        v as u8
    }
}
impl Narrow for i16 {
    #[inline(always)]
    fn narrow(v: i32) -> i16 {
        v as i16
    }
}
impl Narrow for i32 {
    #[inline(always)]
    fn narrow(v: i32) -> i32 {
        v
    }
}

/// Per-channel requantization constants, laid out for a branch-free loop.
struct RequantParams {
    bias: Vec<i32>,
    mant: Vec<i32>,
    /// Left shift (the positive part of the exponent).
    left: Vec<u32>,
    /// Right shift (the negative part of the exponent).
    right: Vec<u32>,
    /// 2^right - 1: the bits the rounding right shift drops.
    mask: Vec<i32>,
    ozp: i32,
    lo: i32,
    hi: i32,
}

impl RequantParams {
    /// Store multiplier `m` at position `i`.
    fn set(&mut self, i: usize, m: Multiplier) {
        let right = (-m.shift).clamp(0, 31) as u32;
        self.mant[i] = m.mantissa;
        self.left[i] = m.shift.clamp(0, 31) as u32;
        self.right[i] = right;
        self.mask[i] = 1u32.wrapping_shl(right).wrapping_sub(1) as i32;
    }
}

/// Requantize `acc` into the output type, whose range contains [p.lo, p.hi].
fn requant_all<O: Narrow>(acc: &[i32], p: &RequantParams) -> Vec<O> {
    let mut out = vec![O::default(); acc.len()];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { requant_avx2(acc, p, &mut out) };
            return out;
        }
    }
    requant_impl(acc, p, &mut out);
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn requant_avx2<O: Narrow>(acc: &[i32], p: &RequantParams, out: &mut [O]) {
    requant_impl(acc, p, out)
}

/// MultiplyByQuantizedMultiplier + zero point + clamp, written without branches
/// and with 32-bit lanes except for the one widening multiply, so it vectorizes.
///
/// The doubling high multiply cannot saturate (the mantissa is never i32::MIN), and
/// its rounding, (ab + 2^30) / 2^31 truncated for ab >= 0 and (ab + 1 - 2^30) / 2^31
/// truncated for ab < 0, is in both cases floor((ab + 2^30) / 2^31): an arithmetic
/// shift, of which only the low 32 bits are kept.
#[inline(always)]
fn requant_impl<O: Narrow>(acc: &[i32], p: &RequantParams, out: &mut [O]) {
    let c = p.mant.len();
    if c == 0 {
        return;
    }
    let (bias, mant, left, right, mask) = (
        &p.bias[..c],
        &p.mant[..c],
        &p.left[..c],
        &p.right[..c],
        &p.mask[..c],
    );
    // clamp(q + zp, lo, hi) == clamp(q, lo - zp, hi - zp) + zp without overflow.
    let (lo, hi) = (
        (p.lo as i64 - p.ozp as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        (p.hi as i64 - p.ozp as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
    );
    for (row, orow) in acc.chunks(c).zip(out.chunks_mut(c)) {
        let n = row.len().min(orow.len()).min(c);
        let (row, orow) = (&row[..n], &mut orow[..n]);
        let (bias, mant, left, right, mask) =
            (&bias[..n], &mant[..n], &left[..n], &right[..n], &mask[..n]);
        for j in 0..n {
            let x = row[j].wrapping_add(bias[j]).wrapping_shl(left[j]);
            let ab = (x as i64).wrapping_mul(mant[j] as i64);
            let hm = (ab.wrapping_add(1i64 << 30) >> 31) as i32;
            let rem = hm & mask[j];
            let thr = (mask[j] >> 1).wrapping_add((hm >> 31) & 1);
            let q = hm.wrapping_shr(right[j]).wrapping_add((rem > thr) as i32);
            orow[j] = O::narrow(q.max(lo).min(hi).wrapping_add(p.ozp));
        }
    }
}

/// Add bias and clamp float results in place.
pub(in crate::cpu::ops) fn finish_float(out: &mut [f32], bias: Option<&[f32]>, act: Activation) {
    let (lo, hi) = float_range(act);
    match bias {
        Some(b) if !b.is_empty() => {
            for row in out.chunks_mut(b.len()) {
                for (o, &bv) in row.iter_mut().zip(b) {
                    *o = (*o + bv).max(lo).min(hi);
                }
            }
        }
        _ => out.iter_mut().for_each(|o| *o = o.max(lo).min(hi)),
    }
}

/// Hybrid output: acc * (w_scale[c] * row_scale[batch]) + bias, clamped.
#[allow(clippy::too_many_arguments)]
pub(in crate::cpu::ops) fn finish_hybrid(
    acc: &[i32],
    per_batch: usize,
    row_scales: &[f32],
    w_scales: &[f32],
    channels: usize,
    bias: Option<&[f32]>,
    act: Activation,
    dw_order: bool,
) -> Vec<f32> {
    let (lo, hi) = float_range(act);
    let c = channels.max(1);
    let ws: Vec<f32> = (0..c)
        .map(|ch| {
            if w_scales.len() == 1 {
                w_scales[0]
            } else {
                w_scales.get(ch).copied().unwrap_or(0.0)
            }
        })
        .collect();
    let zero = vec![0.0f32; c];
    let bias = bias.filter(|b| b.len() == c).unwrap_or(&zero);
    let mut out = vec![0.0f32; acc.len()];
    let mut wsf = vec![0.0f32; c];
    for (bi, (batch, ob)) in acc
        .chunks(per_batch.max(1))
        .zip(out.chunks_mut(per_batch.max(1)))
        .enumerate()
    {
        let sf = row_scales.get(bi).copied().unwrap_or(1.0);
        for (m, &w) in wsf.iter_mut().zip(&ws) {
            *m = w * sf;
        }
        for (row, orow) in batch.chunks(c).zip(ob.chunks_mut(c)) {
            let n = row.len().min(orow.len());
            let (row, orow, ws, wsf, bias) =
                (&row[..n], &mut orow[..n], &ws[..n], &wsf[..n], &bias[..n]);
            if dw_order {
                for j in 0..n {
                    orow[j] = (row[j] as f32 * wsf[j] + bias[j]).max(lo).min(hi);
                }
            } else {
                for j in 0..n {
                    orow[j] = (row[j] as f32 * ws[j] * sf + bias[j]).max(lo).min(hi);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_row_quantization_match_f32_round() {
        let mut xs = vec![
            0.5f32,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.499_999_97,
            -0.499_999_97,
            8_388_607.5,
            8_388_609.0,
            1e10,
            -1e10,
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        xs.extend(
            super::super::test_util::rand(2000, 5)
                .iter()
                .map(|v| v * 300.0),
        );
        for &x in &xs {
            assert_eq!(round_half_away(x).to_bits(), x.round().to_bits(), "{x}");
        }
        assert!(round_half_away(f32::NAN).is_nan());
        let mut row = super::super::test_util::rand(1003, 9);
        row[17] = f32::NAN;
        for asymmetric in [false, true] {
            let (q, sf) = quantize_rows(&row, 1003, asymmetric);
            let (mn, mx) = row
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let want: Vec<i32> = if asymmetric {
                let scale = (mx.max(0.0) as f64 - mn.min(0.0) as f64) / 255.0;
                assert_eq!(sf[0], scale as f32);
                let (rmin, rmax) = (mn.min(0.0) as f64, mx.max(0.0) as f64);
                let zp = if 128.0 + (rmin / scale).abs() < 127.0 + (rmax / scale).abs() {
                    -128.0 - rmin / scale
                } else {
                    127.0 - rmax / scale
                };
                let offset = zp.round().clamp(-128.0, 127.0) as i32;
                let inv = (1.0 / scale) as f32;
                row.iter()
                    .map(|&v| ((offset as f32 + v * inv).round() as i32).clamp(-128, 127) - offset)
                    .collect()
            } else {
                let range = mn.abs().max(mx.abs());
                assert_eq!(sf[0], range / 127.0);
                let inv = 127.0 / range;
                row.iter()
                    .map(|&v| ((v * inv).round() as i32).clamp(-127, 127))
                    .collect()
            };
            assert_eq!(q, want, "asymmetric {asymmetric}");
        }
    }

    #[test]
    fn branch_free_requant_matches_reference() {
        let mults = [1e-6, 0.00123, 0.3, 0.5, 0.9999, 1.0, 1.7, 3.5, 100.0];
        let vals: Vec<i32> = super::super::test_util::rand(4000, 7)
            .iter()
            .enumerate()
            .map(|(i, v)| match i % 4 {
                0 => (v * 1e9) as i32,
                1 => (v * 1e4) as i32,
                2 => (v * 50.0) as i32,
                _ => [i32::MIN, i32::MAX, -1, 0, 1][i % 5],
            })
            .collect();
        let ms: Vec<Multiplier> = mults.iter().map(|&m| quantize_multiplier(m)).collect();
        let c = ms.len();
        let mut p = RequantParams {
            bias: (0..c as i32).map(|i| i * 1000 - 3000).collect(),
            mant: vec![0; c],
            left: vec![0; c],
            right: vec![0; c],
            mask: vec![0; c],
            ozp: -5,
            lo: -128,
            hi: 127,
        };
        for (i, &m) in ms.iter().enumerate() {
            p.set(i, m);
        }
        let n = vals.len() / c * c;
        let out: Vec<i32> = requant_all(&vals[..n], &p);
        for i in 0..n {
            let ch = i % c;
            let want = ms[ch]
                .apply(vals[i].wrapping_add(p.bias[ch]))
                .saturating_add(-5)
                .clamp(-128, 127);
            assert_eq!(out[i], want, "value {} multiplier {}", vals[i], mults[ch]);
        }
        // Unclamped, so every bit of the fixed-point result is compared.
        p.ozp = 0;
        p.lo = i32::MIN;
        p.hi = i32::MAX;
        let out: Vec<i32> = requant_all(&vals[..n], &p);
        for i in 0..n {
            let ch = i % c;
            let want = ms[ch].apply(vals[i].wrapping_add(p.bias[ch]));
            assert_eq!(out[i], want, "value {} multiplier {}", vals[i], mults[ch]);
        }
    }
}
