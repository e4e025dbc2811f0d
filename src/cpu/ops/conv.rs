//! Convolutions: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV (float, int8, hybrid).
//!
//! Also holds the helpers the matmul and pooling kernels share: window geometry,
//! a small register-tiled GEMM over a repacked `[K][N]` weight matrix, integer
//! input widening, per-row hybrid input quantization and requantization.

use super::OpCtx;
use crate::error::Result;
use crate::graph::op::{Activation, Conv2D, DepthwiseConv2D, Padding, TransposeConv};
use crate::graph::quant::{activation_range, quantize_multiplier, Multiplier};
use crate::graph::DType;
use crate::graph::Data;
use crate::graph::Tensor;
use std::ops::{AddAssign, Mul};

/// Element type of the generic accumulation loops (f32 for float, i32 for integer).
pub(super) trait Num:
    Copy + Default + PartialEq + Mul<Output = Self> + AddAssign + Send + Sync + 'static
{
    /// self + a * b (wrapping for integers, so loops vectorize with overflow checks on).
    fn madd(self, a: Self, b: Self) -> Self;
}
impl Num for f32 {
    #[inline(always)]
    fn madd(self, a: f32, b: f32) -> f32 {
        self + a * b
    }
}
impl Num for i32 {
    #[inline(always)]
    fn madd(self, a: i32, b: i32) -> i32 {
        self.wrapping_add(a.wrapping_mul(b))
    }
}

/// Output size and leading pad of one spatial dimension (TFLite `ComputePadding`).
pub(super) fn window(
    padding: Padding,
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
) -> Option<(usize, usize)> {
    if stride == 0 || dilation == 0 || k == 0 {
        return None;
    }
    let eff = (k - 1).checked_mul(dilation)?.checked_add(1)?;
    let out = match padding {
        Padding::Same => input.div_ceil(stride),
        Padding::Valid => {
            if input < eff {
                0
            } else {
                (input - eff) / stride + 1
            }
        }
    };
    let total = (out.saturating_sub(1) * stride + eff).saturating_sub(input);
    Some((out, total / 2))
}

/// out[m][n] = sum_k a[m][k] * w[k][n], with `a` row-major M x K and `w` K x N.
///
/// Register-tiled: four rows by `NB` columns of accumulators stay in registers over
/// the whole K loop. On x86-64 with AVX2 a wider tile compiled for AVX2 is used; the
/// per-element summation order is the same on every path.
pub(super) fn gemm_rows<T: Num>(a: &[T], m: usize, k: usize, w: &[T], n: usize, out: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { gemm_avx2(a, m, k, w, n, out) };
            return;
        }
    }
    gemm_impl::<T, 8>(a, m, k, w, n, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gemm_avx2<T: Num>(a: &[T], m: usize, k: usize, w: &[T], n: usize, out: &mut [T]) {
    gemm_impl::<T, 16>(a, m, k, w, n, out)
}

#[inline(always)]
fn gemm_impl<T: Num, const NB: usize>(
    a: &[T],
    m: usize,
    k: usize,
    w: &[T],
    n: usize,
    out: &mut [T],
) {
    let out = &mut out[..m * n];
    let a = &a[..m * k];
    let w = &w[..k * n];
    if n == 0 {
        return;
    }
    if k == 0 {
        out.iter_mut().for_each(|v| *v = T::default());
        return;
    }
    let mut i = 0;
    while i + 4 <= m {
        let a0 = &a[i * k..(i + 1) * k];
        let a1 = &a[(i + 1) * k..(i + 2) * k];
        let a2 = &a[(i + 2) * k..(i + 3) * k];
        let a3 = &a[(i + 3) * k..(i + 4) * k];
        let mut j0 = 0;
        while j0 + NB <= n {
            let mut c0 = [T::default(); NB];
            let mut c1 = [T::default(); NB];
            let mut c2 = [T::default(); NB];
            let mut c3 = [T::default(); NB];
            for ((((wr, &x0), &x1), &x2), &x3) in w[j0..].chunks(n).zip(a0).zip(a1).zip(a2).zip(a3)
            {
                let wr = &wr[..NB];
                for j in 0..NB {
                    let wv = wr[j];
                    c0[j] = c0[j].madd(x0, wv);
                    c1[j] = c1[j].madd(x1, wv);
                    c2[j] = c2[j].madd(x2, wv);
                    c3[j] = c3[j].madd(x3, wv);
                }
            }
            for (r, accr) in [c0, c1, c2, c3].iter().enumerate() {
                out[(i + r) * n + j0..(i + r) * n + j0 + NB].copy_from_slice(accr);
            }
            j0 += NB;
        }
        if j0 < n {
            let nt = n - j0;
            let mut c0 = [T::default(); NB];
            let mut c1 = [T::default(); NB];
            let mut c2 = [T::default(); NB];
            let mut c3 = [T::default(); NB];
            for kk in 0..k {
                let wr = &w[kk * n + j0..kk * n + n];
                let (x0, x1, x2, x3) = (a0[kk], a1[kk], a2[kk], a3[kk]);
                for j in 0..nt.min(NB) {
                    let wv = wr[j];
                    c0[j] = c0[j].madd(x0, wv);
                    c1[j] = c1[j].madd(x1, wv);
                    c2[j] = c2[j].madd(x2, wv);
                    c3[j] = c3[j].madd(x3, wv);
                }
            }
            for (r, accr) in [c0, c1, c2, c3].iter().enumerate() {
                out[(i + r) * n + j0..(i + r) * n + n].copy_from_slice(&accr[..nt]);
            }
        }
        i += 4;
    }
    while i < m {
        let o = &mut out[i * n..(i + 1) * n];
        o.iter_mut().for_each(|v| *v = T::default());
        for kk in 0..k {
            let x = a[i * k + kk];
            let wr = &w[kk * n..kk * n + n];
            for j in 0..n {
                o[j] = o[j].madd(x, wr[j]);
            }
        }
        i += 1;
    }
}

/// The quantization of an integer convolution or FC: input scale, output scale,
/// per-channel weight scales and zero points (weights are input 1), the int32 bias
/// and the input widened to i32 with its zero point removed.
pub(super) struct QuantArgs {
    pub is: f32,
    pub os: f32,
    pub ws: Vec<f32>,
    pub zps: Vec<i64>,
    pub bias: Option<Vec<i32>>,
    pub x: Vec<i32>,
}

/// Gather [`QuantArgs`] for input `x_idx`, bias `bias_idx` and `channels` outputs.
pub(super) fn quant_args(
    ctx: &OpCtx,
    x_idx: usize,
    bias_idx: usize,
    channels: usize,
) -> Result<QuantArgs> {
    let (is, izp) = ctx.in_qparams(x_idx)?;
    let (os, _) = ctx.out_qparams(0)?;
    let x = widen(ctx.input(x_idx)?, izp).ok_or_else(|| ctx.unsupported_dtype(x_idx))?;
    Ok(QuantArgs {
        is,
        os,
        ws: weight_scales(ctx, 1, channels)?,
        zps: ctx
            .in_quant(1)
            .map(|q| q.zero_point.clone())
            .unwrap_or_default(),
        bias: bias_i32(ctx, bias_idx, channels)?,
        x,
    })
}

/// The elements of an integer tensor widened to i32 with `zp` subtracted.
pub(super) fn widen(t: &Tensor, zp: i32) -> Option<Vec<i32>> {
    Some(match &t.data {
        Data::I8(v) => v.iter().map(|&x| x as i32 - zp).collect(),
        Data::U8(v) => v.iter().map(|&x| x as i32 - zp).collect(),
        Data::I16(v) => v.iter().map(|&x| x as i32 - zp).collect(),
        _ => return None,
    })
}

/// The elements of an integer weight tensor widened to i32, with the zero point of
/// each element's channel (along `axis` of `shape`) subtracted.
pub(super) fn widen_weights(
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
pub(super) fn quantize_rows(x: &[f32], row_len: usize, asymmetric: bool) -> (Vec<i32>, Vec<f32>) {
    let mut q = vec![0i32; x.len()];
    let mut scales = Vec::new();
    if row_len == 0 {
        return (q, scales);
    }
    for (row, qr) in x.chunks(row_len).zip(q.chunks_mut(row_len)) {
        let (mn, mx) = row
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if row.is_empty() {
            scales.push(1.0);
            continue;
        }
        if !asymmetric {
            let range = mn.abs().max(mx.abs());
            if range == 0.0 {
                scales.push(1.0);
                continue;
            }
            let inv = 127.0f32 / range;
            for (o, &v) in qr.iter_mut().zip(row) {
                *o = ((v * inv).round() as i32).clamp(-127, 127);
            }
            scales.push(range / 127.0);
        } else {
            let rmin = mn.min(0.0) as f64;
            let rmax = mx.max(0.0) as f64;
            if rmin == rmax {
                scales.push(1.0);
                continue;
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
            for (o, &v) in qr.iter_mut().zip(row) {
                let qv = ((offset as f32 + v * inv).round() as i32).clamp(-128, 127);
                *o = qv - offset;
            }
            scales.push(scale as f32);
        }
    }
    (q, scales)
}

/// Pack clamped i32 values into an integer tensor of `dtype`.
pub(super) fn int_tensor(dtype: DType, shape: Vec<usize>, v: &[i32]) -> Option<Tensor> {
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
pub(super) fn float_range(act: Activation) -> (f32, f32) {
    act.range().unwrap_or((f32::NEG_INFINITY, f32::INFINITY))
}

/// Check a fused activation is one a kernel can fuse (clamping kinds only).
pub(super) fn check_act(ctx: &OpCtx, act: Activation) -> Result<()> {
    if act.range().is_none() {
        return Err(ctx.err(format!("fused activation {act:?} is not supported")));
    }
    Ok(())
}

/// An optional float bias of `n` elements at input `i`.
pub(super) fn bias_f32<'a>(ctx: &OpCtx<'a>, i: usize, n: usize) -> Result<Option<&'a [f32]>> {
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
pub(super) fn bias_i32(ctx: &OpCtx, i: usize, n: usize) -> Result<Option<Vec<i32>>> {
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
pub(super) fn channel_multipliers(
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
pub(super) fn weight_scales(ctx: &OpCtx, i: usize, channels: usize) -> Result<Vec<f32>> {
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
pub(super) fn requantize(
    ctx: &OpCtx,
    acc: &[i32],
    bias: Option<&[i32]>,
    mult: &[Multiplier],
    act: Activation,
    shape: Vec<usize>,
) -> Result<Tensor> {
    let dtype = ctx.out_dtype(0)?;
    let (os, ozp) = ctx.out_qparams(0)?;
    let (lo, hi) = activation_range(act, os, ozp, dtype);
    // Parameters repeat with the channel; a period of at least 256 elements keeps the
    // loop long enough to vectorize when there are few channels.
    let nch = mult.len().max(1);
    let c = nch * 256usize.div_ceil(nch);
    let mut p = RequantParams {
        bias: vec![0; c],
        mant: vec![0; c],
        left: vec![1; c],
        right: vec![0; c],
        ozp,
        lo,
        hi,
    };
    for i in 0..c {
        let ch = i % nch;
        p.bias[i] = bias.and_then(|b| b.get(ch)).copied().unwrap_or(0);
        let m = mult.get(ch).copied().unwrap_or_default();
        p.mant[i] = m.mantissa;
        p.left[i] = 1i32.wrapping_shl(m.shift.clamp(0, 31) as u32);
        p.right[i] = (-m.shift).clamp(0, 31);
    }
    let mut v = vec![0i32; acc.len()];
    requant_all(acc, &p, &mut v);
    int_tensor(dtype, shape, &v).ok_or_else(|| ctx.err(format!("output type {dtype} unsupported")))
}

/// Per-channel requantization constants, laid out for a branch-free loop.
struct RequantParams {
    bias: Vec<i32>,
    mant: Vec<i32>,
    left: Vec<i32>,
    right: Vec<i32>,
    ozp: i32,
    lo: i32,
    hi: i32,
}

fn requant_all(acc: &[i32], p: &RequantParams, out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { requant_avx2(acc, p, out) };
            return;
        }
    }
    requant_impl(acc, p, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn requant_avx2(acc: &[i32], p: &RequantParams, out: &mut [i32]) {
    requant_impl(acc, p, out)
}

/// MultiplyByQuantizedMultiplier + zero point + clamp, written without branches
/// (the mantissa is never i32::MIN, so the doubling high multiply cannot saturate).
#[inline(always)]
fn requant_impl(acc: &[i32], p: &RequantParams, out: &mut [i32]) {
    let c = p.mant.len();
    if c == 0 {
        return;
    }
    let (bias, mant, left, right) = (&p.bias[..c], &p.mant[..c], &p.left[..c], &p.right[..c]);
    // clamp(q + zp, lo, hi) == clamp(q, lo - zp, hi - zp) + zp without overflow.
    let (lo, hi) = (
        (p.lo as i64 - p.ozp as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        (p.hi as i64 - p.ozp as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
    );
    for (row, orow) in acc.chunks(c).zip(out.chunks_mut(c)) {
        let n = row.len().min(orow.len()).min(c);
        let (row, orow) = (&row[..n], &mut orow[..n]);
        let (bias, mant, left, right) = (&bias[..n], &mant[..n], &left[..n], &right[..n]);
        for j in 0..n {
            let x = row[j].wrapping_add(bias[j]).wrapping_mul(left[j]);
            let ab = (x as i64).wrapping_mul(mant[j] as i64);
            let nudge = if ab >= 0 {
                1i64 << 30
            } else {
                1 - (1i64 << 30)
            };
            let v = ab.wrapping_add(nudge);
            // Division by 2^31 truncating toward zero.
            let hm = (v.wrapping_add((v >> 63) & ((1i64 << 31) - 1)) >> 31) as i32;
            let r = right[j] as u32;
            let mask = (1i64.wrapping_shl(r) - 1) as i32;
            let rem = hm & mask;
            let thr = (mask >> 1).wrapping_add((hm >> 31) & 1);
            let q = hm.wrapping_shr(r).wrapping_add((rem > thr) as i32);
            orow[j] = q.max(lo).min(hi).wrapping_add(p.ozp);
        }
    }
}

/// Add bias and clamp float results in place.
pub(super) fn finish_float(out: &mut [f32], bias: Option<&[f32]>, act: Activation) {
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
pub(super) fn finish_hybrid(
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
    let mut out = Vec::with_capacity(acc.len());
    for (bi, batch) in acc.chunks(per_batch.max(1)).enumerate() {
        let sf = row_scales.get(bi).copied().unwrap_or(1.0);
        for row in batch.chunks(c) {
            for (((&a, &w), &b), _) in row.iter().zip(&ws).zip(bias).zip(0..c) {
                let v = if dw_order {
                    a as f32 * (w * sf)
                } else {
                    a as f32 * w * sf
                };
                out.push((v + b).max(lo).min(hi));
            }
        }
    }
    out
}

/// Spatial geometry of a convolution.
#[derive(Clone, Copy, Debug)]
struct Geom {
    n: usize,
    ih: usize,
    iw: usize,
    ic: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
}

/// How a conv-like node computes.
enum Mode {
    Float,
    Hybrid,
    Quant,
}

fn mode(ctx: &OpCtx, x: &Tensor, w: &Tensor) -> Result<Mode> {
    match (x.dtype(), w.dtype()) {
        (DType::F32, DType::F32) => Ok(Mode::Float),
        (DType::F32, DType::I8 | DType::U8) => Ok(Mode::Hybrid),
        (DType::I8 | DType::U8 | DType::I16, DType::I8 | DType::U8) => Ok(Mode::Quant),
        (a, b) => Err(ctx.err(format!("input {a} with weights {b} is not supported"))),
    }
}

fn dims4(ctx: &OpCtx, t: &Tensor, what: &str) -> Result<[usize; 4]> {
    match t.shape[..] {
        [a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(ctx.err(format!("{what} must be 4-D, got {:?}", t.shape))),
    }
}

fn is_const(ctx: &OpCtx, i: usize) -> bool {
    ctx.input_infos
        .get(i)
        .copied()
        .flatten()
        .is_some_and(|t| t.data.is_some())
}

/// Prepared data remembered with the weight values it was built from.
struct Keyed<T> {
    key: Data,
    val: T,
}

/// Prepared data for the weights at input `weight_input`: cached once when they are
/// a model constant; when they are computed (e.g. DEQUANTIZE of a float16 constant)
/// the first build is cached with a copy of the weights and reused while they stay
/// equal, otherwise rebuilt into `slot` for this call.
pub(super) fn prepared<'a, T: Send + Sync + 'static>(
    ctx: &OpCtx<'a>,
    weight_input: usize,
    slot: &'a mut Option<T>,
    build: impl FnOnce() -> Result<T>,
) -> Result<&'a T> {
    if is_const(ctx, weight_input) {
        return ctx.cached(build);
    }
    let w = ctx.input(weight_input)?;
    let mut build = Some(build);
    let c: &Keyed<T> = ctx.cached(|| {
        let b = build
            .take()
            .ok_or_else(|| ctx.err("weights prepared twice"))?;
        Ok(Keyed {
            key: w.data.clone(),
            val: b()?,
        })
    })?;
    if c.key == w.data {
        return Ok(&c.val);
    }
    let b = build
        .take()
        .ok_or_else(|| ctx.err("weights prepared twice"))?;
    Ok(slot.insert(b()?))
}

/// Packed conv weights: per group `[K][OCg]`, plus requantization multipliers.
struct Packed<T> {
    w: Vec<T>,
    mult: Vec<Multiplier>,
}

fn pack_conv<T: Num>(src: &[T], oc: usize, k: usize, groups: usize) -> Vec<T> {
    let ocg = oc / groups.max(1);
    let mut w = vec![T::default(); oc * k];
    for g in 0..groups {
        for o in 0..ocg {
            let s = &src[(g * ocg + o) * k..(g * ocg + o + 1) * k];
            for (kk, &v) in s.iter().enumerate() {
                w[g * k * ocg + kk * ocg + o] = v;
            }
        }
    }
    w
}

/// Raw conv accumulators [N, OH, OW, OC] (no bias) over a widened input.
fn conv_core<T: Num>(x: &[T], g: &Geom, oc: usize, fic: usize, w: &[T]) -> Vec<T> {
    let groups = g.ic / fic.max(1);
    let ocg = oc / groups.max(1);
    let k = g.kh * g.kw * fic;
    let npix = g.oh * g.ow;
    let mut out = vec![T::default(); g.n * npix * oc];
    if out.is_empty() || k == 0 {
        return out;
    }
    // 1x1, stride 1, no padding, one group: a plain GEMM over the input rows.
    if g.kh == 1
        && g.kw == 1
        && g.sh == 1
        && g.sw == 1
        && groups == 1
        && g.oh == g.ih
        && g.ow == g.iw
    {
        let m = g.n * npix;
        gemm_rows(x, m, k, w, oc, &mut out);
        return out;
    }
    const TILE: usize = 4;
    let mut patch = vec![T::default(); TILE * k];
    let mut acc = vec![T::default(); TILE * ocg];
    for b in 0..g.n {
        for oy in 0..g.oh {
            let mut ox0 = 0;
            while ox0 < g.ow {
                let cnt = TILE.min(g.ow - ox0);
                for grp in 0..groups {
                    for t in 0..TILE {
                        let pr = &mut patch[t * k..(t + 1) * k];
                        if t >= cnt {
                            pr.iter_mut().for_each(|v| *v = T::default());
                            continue;
                        }
                        let ox = ox0 + t;
                        for ky in 0..g.kh {
                            let iy = (oy * g.sh + ky * g.dh) as isize - g.pt as isize;
                            let row = &mut pr[ky * g.kw * fic..(ky + 1) * g.kw * fic];
                            if iy < 0 || iy >= g.ih as isize {
                                row.iter_mut().for_each(|v| *v = T::default());
                                continue;
                            }
                            for kx in 0..g.kw {
                                let ix = (ox * g.sw + kx * g.dw) as isize - g.pl as isize;
                                let dst = &mut row[kx * fic..(kx + 1) * fic];
                                if ix < 0 || ix >= g.iw as isize {
                                    dst.iter_mut().for_each(|v| *v = T::default());
                                } else {
                                    let s = ((b * g.ih + iy as usize) * g.iw + ix as usize) * g.ic
                                        + grp * fic;
                                    dst.copy_from_slice(&x[s..s + fic]);
                                }
                            }
                        }
                    }
                    let wg = &w[grp * k * ocg..(grp + 1) * k * ocg];
                    gemm_rows(&patch, TILE, k, wg, ocg, &mut acc);
                    for t in 0..cnt {
                        let o = ((b * g.oh + oy) * g.ow + ox0 + t) * oc + grp * ocg;
                        out[o..o + ocg].copy_from_slice(&acc[t * ocg..(t + 1) * ocg]);
                    }
                }
                ox0 += cnt;
            }
        }
    }
    out
}

/// Kernel of conv2d: NHWC input, OHWI filter, optional bias, grouped when the
/// input has a multiple of the filter's input channels.
pub fn conv2d(ctx: &mut OpCtx, p: &Conv2D) -> Result<Vec<Tensor>> {
    check_act(ctx, p.activation)?;
    let x = ctx.input(0)?;
    let f = ctx.input(1)?;
    let [n, ih, iw, ic] = dims4(ctx, x, "input")?;
    let [oc, kh, kw, fic] = dims4(ctx, f, "filter")?;
    if fic == 0 || ic % fic != 0 {
        return Err(ctx.err(format!(
            "input channels {ic} are not a multiple of filter channels {fic}"
        )));
    }
    let groups = ic / fic;
    if oc % groups != 0 {
        return Err(ctx.err(format!(
            "output channels {oc} are not a multiple of groups {groups}"
        )));
    }
    let bad = || ctx.err("invalid stride or dilation");
    let (oh, pt) = window(p.padding, ih, kh, p.stride_h, p.dilation_h).ok_or_else(bad)?;
    let (ow, pl) = window(p.padding, iw, kw, p.stride_w, p.dilation_w).ok_or_else(bad)?;
    let g = Geom {
        n,
        ih,
        iw,
        ic,
        oh,
        ow,
        kh,
        kw,
        sh: p.stride_h,
        sw: p.stride_w,
        dh: p.dilation_h,
        dw: p.dilation_w,
        pt,
        pl,
    };
    let shape = vec![n, oh, ow, oc];
    ctx.check_size(&shape, ctx.out_dtype(0)?)?;
    let k = kh * kw * fic;
    match mode(ctx, x, f)? {
        Mode::Float => {
            let xs = ctx.input_f32(0)?;
            let fs = ctx.input_f32(1)?;
            let bias = bias_f32(ctx, 2, oc)?;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                Ok(Packed {
                    w: pack_conv(fs, oc, k, groups),
                    mult: Vec::new(),
                })
            })?;
            let mut out = conv_core(xs, &g, oc, fic, &pk.w);
            finish_float(&mut out, bias, p.activation);
            Ok(vec![Tensor::f32(shape, out)])
        }
        Mode::Quant => {
            let QuantArgs {
                is,
                os,
                ws,
                zps,
                bias,
                x: xi,
            } = quant_args(ctx, 0, 2, oc)?;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi = widen_weights(f, &zps, k, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: pack_conv(&wi, oc, k, groups),
                    mult: channel_multipliers(is, &ws, os, oc),
                })
            })?;
            let acc = conv_core(&xi, &g, oc, fic, &pk.w);
            Ok(vec![requantize(
                ctx,
                &acc,
                bias.as_deref(),
                &pk.mult,
                p.activation,
                shape,
            )?])
        }
        Mode::Hybrid => {
            let xs = ctx.input_f32(0)?;
            let ws = weight_scales(ctx, 1, oc)?;
            let zps = ctx
                .in_quant(1)
                .map(|q| q.zero_point.clone())
                .unwrap_or_default();
            let bias = bias_f32(ctx, 2, oc)?;
            // LiteRT's per-channel hybrid conv quantizes each batch asymmetrically;
            // the per-tensor one symmetrically.
            let (xq, sf) = quantize_rows(xs, ih * iw * ic, ws.len() > 1);
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi = widen_weights(f, &zps, k, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: pack_conv(&wi, oc, k, groups),
                    mult: Vec::new(),
                })
            })?;
            let acc = conv_core(&xq, &g, oc, fic, &pk.w);
            let out = finish_hybrid(&acc, oh * ow * oc, &sf, &ws, oc, bias, p.activation, false);
            Ok(vec![Tensor::f32(shape, out)])
        }
    }
}

/// Depthwise accumulators [N, OH, OW, OC] with OC = IC * M, channel innermost.
fn depthwise_core<T: Num>(x: &[T], g: &Geom, m: usize, w: &[T]) -> Vec<T> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { depthwise_avx2(x, g, m, w) };
        }
    }
    depthwise_generic(x, g, m, w)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn depthwise_avx2<T: Num>(x: &[T], g: &Geom, m: usize, w: &[T]) -> Vec<T> {
    depthwise_generic(x, g, m, w)
}

/// Portable depthwise loop: per tap, an axpy over the contiguous channels.
#[inline(always)]
fn depthwise_generic<T: Num>(x: &[T], g: &Geom, m: usize, w: &[T]) -> Vec<T> {
    let oc = g.ic * m;
    let mut out = vec![T::default(); g.n * g.oh * g.ow * oc];
    if oc == 0 {
        return out;
    }
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = ((b * g.oh + oy) * g.ow + ox) * oc;
                let acc = &mut out[o..o + oc];
                for ky in 0..g.kh {
                    let iy = (oy * g.sh + ky * g.dh) as isize - g.pt as isize;
                    if iy < 0 || iy >= g.ih as isize {
                        continue;
                    }
                    for kx in 0..g.kw {
                        let ix = (ox * g.sw + kx * g.dw) as isize - g.pl as isize;
                        if ix < 0 || ix >= g.iw as isize {
                            continue;
                        }
                        let s = ((b * g.ih + iy as usize) * g.iw + ix as usize) * g.ic;
                        let xr = &x[s..s + g.ic];
                        let wr = &w[(ky * g.kw + kx) * oc..(ky * g.kw + kx + 1) * oc];
                        if m == 1 {
                            let n = acc.len();
                            let (xr, wr) = (&xr[..n], &wr[..n]);
                            for j in 0..n {
                                acc[j] = acc[j].madd(xr[j], wr[j]);
                            }
                        } else {
                            for ((ac, &xv), wc) in
                                acc.chunks_exact_mut(m).zip(xr).zip(wr.chunks_exact(m))
                            {
                                for (a, &wv) in ac.iter_mut().zip(wc) {
                                    *a = (*a).madd(xv, wv);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Kernel of depthwise_conv2d: filter [1, KH, KW, IC * depth_multiplier].
pub fn depthwise_conv2d(ctx: &mut OpCtx, p: &DepthwiseConv2D) -> Result<Vec<Tensor>> {
    check_act(ctx, p.activation)?;
    let x = ctx.input(0)?;
    let f = ctx.input(1)?;
    let [n, ih, iw, ic] = dims4(ctx, x, "input")?;
    let [one, kh, kw, oc] = dims4(ctx, f, "filter")?;
    if one != 1 || ic == 0 || oc % ic != 0 {
        return Err(ctx.err(format!(
            "filter {:?} does not fit input channels {ic}",
            f.shape
        )));
    }
    let m = oc / ic;
    if p.depth_multiplier != 0 && p.depth_multiplier != m {
        return Err(ctx.err(format!(
            "depth multiplier {} disagrees with filter channels {oc} / {ic}",
            p.depth_multiplier
        )));
    }
    let bad = || ctx.err("invalid stride or dilation");
    let (oh, pt) = window(p.padding, ih, kh, p.stride_h, p.dilation_h).ok_or_else(bad)?;
    let (ow, pl) = window(p.padding, iw, kw, p.stride_w, p.dilation_w).ok_or_else(bad)?;
    let g = Geom {
        n,
        ih,
        iw,
        ic,
        oh,
        ow,
        kh,
        kw,
        sh: p.stride_h,
        sw: p.stride_w,
        dh: p.dilation_h,
        dw: p.dilation_w,
        pt,
        pl,
    };
    let shape = vec![n, oh, ow, oc];
    ctx.check_size(&shape, ctx.out_dtype(0)?)?;
    match mode(ctx, x, f)? {
        Mode::Float => {
            let xs = ctx.input_f32(0)?;
            let fs = ctx.input_f32(1)?;
            let bias = bias_f32(ctx, 2, oc)?;
            let mut out = depthwise_core(xs, &g, m, fs);
            finish_float(&mut out, bias, p.activation);
            Ok(vec![Tensor::f32(shape, out)])
        }
        Mode::Quant => {
            let QuantArgs {
                is,
                os,
                ws,
                zps,
                bias,
                x: xi,
            } = quant_args(ctx, 0, 2, oc)?;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi = widen_weights(f, &zps, 1, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: wi,
                    mult: channel_multipliers(is, &ws, os, oc),
                })
            })?;
            let acc = depthwise_core(&xi, &g, m, &pk.w);
            Ok(vec![requantize(
                ctx,
                &acc,
                bias.as_deref(),
                &pk.mult,
                p.activation,
                shape,
            )?])
        }
        Mode::Hybrid => {
            let xs = ctx.input_f32(0)?;
            let ws = weight_scales(ctx, 1, oc)?;
            let zps = ctx
                .in_quant(1)
                .map(|q| q.zero_point.clone())
                .unwrap_or_default();
            let bias = bias_f32(ctx, 2, oc)?;
            // LiteRT's hybrid depthwise quantizes each batch asymmetrically.
            let (xq, sf) = quantize_rows(xs, ih * iw * ic, true);
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi = widen_weights(f, &zps, 1, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: wi,
                    mult: Vec::new(),
                })
            })?;
            let acc = depthwise_core(&xq, &g, m, &pk.w);
            let out = finish_hybrid(&acc, oh * ow * oc, &sf, &ws, oc, bias, p.activation, true);
            Ok(vec![Tensor::f32(shape, out)])
        }
    }
}

/// Transpose-conv accumulators [N, OH, OW, OC]; `w` packed as [KH][KW][IC][OC].
fn transpose_core<T: Num>(x: &[T], g: &Geom, oc: usize, w: &[T]) -> Vec<T> {
    // Here g.ih/g.iw/g.ic describe the input and g.oh/g.ow the output.
    let mut out = vec![T::default(); g.n * g.oh * g.ow * oc];
    if oc == 0 {
        return out;
    }
    for b in 0..g.n {
        for iy in 0..g.ih {
            for ix in 0..g.iw {
                let s = ((b * g.ih + iy) * g.iw + ix) * g.ic;
                let xr = &x[s..s + g.ic];
                for ky in 0..g.kh {
                    let oy = (iy * g.sh + ky) as isize - g.pt as isize;
                    if oy < 0 || oy >= g.oh as isize {
                        continue;
                    }
                    for kx in 0..g.kw {
                        let ox = (ix * g.sw + kx) as isize - g.pl as isize;
                        if ox < 0 || ox >= g.ow as isize {
                            continue;
                        }
                        let o = ((b * g.oh + oy as usize) * g.ow + ox as usize) * oc;
                        let orow = &mut out[o..o + oc];
                        let wb = (ky * g.kw + kx) * g.ic * oc;
                        for (c, &xv) in xr.iter().enumerate() {
                            if xv == T::default() {
                                continue;
                            }
                            let wr = &w[wb + c * oc..wb + (c + 1) * oc];
                            for j in 0..oc {
                                orow[j] = orow[j].madd(xv, wr[j]);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// OHWI -> [KH][KW][IC][OC].
fn pack_transpose<T: Num>(src: &[T], oc: usize, kh: usize, kw: usize, ic: usize) -> Vec<T> {
    let mut w = vec![T::default(); src.len()];
    for o in 0..oc {
        for ky in 0..kh {
            for kx in 0..kw {
                for c in 0..ic {
                    w[((ky * kw + kx) * ic + c) * oc + o] = src[((o * kh + ky) * kw + kx) * ic + c];
                }
            }
        }
    }
    w
}

/// Kernel of transpose_conv. TRANSPOSE_CONV takes [output_shape, filter, input,
/// bias?]; the MediaPipe variant (`bias_variant`) takes [input, filter, bias] and
/// derives the output size from padding and stride.
pub fn transpose_conv(
    ctx: &mut OpCtx,
    p: &TransposeConv,
    bias_variant: bool,
) -> Result<Vec<Tensor>> {
    check_act(ctx, p.activation)?;
    let (xi_idx, bias_idx) = if bias_variant { (0, 2) } else { (2, 3) };
    let x = ctx.input(xi_idx)?;
    let f = ctx.input(1)?;
    let [n, ih, iw, ic] = dims4(ctx, x, "input")?;
    let [oc, kh, kw, fic] = dims4(ctx, f, "filter")?;
    if fic != ic {
        return Err(ctx.err(format!(
            "filter input channels {fic} differ from input channels {ic}"
        )));
    }
    if p.stride_h == 0 || p.stride_w == 0 || kh == 0 || kw == 0 {
        return Err(ctx.err("invalid stride or filter size"));
    }
    let (oh, ow) = if bias_variant {
        let declared = ctx.output_infos.first().map(|t| t.shape.clone());
        match declared.as_deref() {
            Some(&[dn, dh, dw, dc]) if dn == n && dc == oc && dh > 0 && dw > 0 => (dh, dw),
            _ => match p.padding {
                Padding::Same => (ih * p.stride_h, iw * p.stride_w),
                Padding::Valid => (
                    ih.saturating_sub(1) * p.stride_h + kh,
                    iw.saturating_sub(1) * p.stride_w + kw,
                ),
            },
        }
    } else {
        let s = ctx.ints(0)?;
        if s.len() != 4 || s.iter().any(|&d| d < 0 || d > u32::MAX as i64) {
            return Err(ctx.err(format!("invalid output shape {s:?}")));
        }
        if s[0] as usize != n || s[3] as usize != oc {
            return Err(ctx.err(format!(
                "output shape {s:?} disagrees with input batch {n} / filter channels {oc}"
            )));
        }
        (s[1] as usize, s[2] as usize)
    };
    // Padding as LiteRT computes it: a forward conv from the output size.
    let pad = |out: usize, k: usize, stride: usize| -> usize {
        let (o, _) = window(p.padding, out, k, stride, 1).unwrap_or((0, 0));
        (o.saturating_sub(1) * stride + k).saturating_sub(out) / 2
    };
    let g = Geom {
        n,
        ih,
        iw,
        ic,
        oh,
        ow,
        kh,
        kw,
        sh: p.stride_h,
        sw: p.stride_w,
        dh: 1,
        dw: 1,
        pt: pad(oh, kh, p.stride_h),
        pl: pad(ow, kw, p.stride_w),
    };
    let shape = vec![n, oh, ow, oc];
    ctx.check_size(&shape, ctx.out_dtype(0)?)?;
    match mode(ctx, x, f)? {
        Mode::Float => {
            let xs = x.as_f32().ok_or_else(|| ctx.unsupported_dtype(xi_idx))?;
            let fs = ctx.input_f32(1)?;
            let bias = bias_f32(ctx, bias_idx, oc)?;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                Ok(Packed {
                    w: pack_transpose(fs, oc, kh, kw, ic),
                    mult: Vec::new(),
                })
            })?;
            let mut out = transpose_core(xs, &g, oc, &pk.w);
            finish_float(&mut out, bias, p.activation);
            Ok(vec![Tensor::f32(shape, out)])
        }
        Mode::Quant => {
            let QuantArgs {
                is,
                os,
                ws,
                zps,
                bias,
                x: xq,
            } = quant_args(ctx, xi_idx, bias_idx, oc)?;
            let k = kh * kw * ic;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi = widen_weights(f, &zps, k, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: pack_transpose(&wi, oc, kh, kw, ic),
                    mult: channel_multipliers(is, &ws, os, oc),
                })
            })?;
            let acc = transpose_core(&xq, &g, oc, &pk.w);
            Ok(vec![requantize(
                ctx,
                &acc,
                bias.as_deref(),
                &pk.mult,
                p.activation,
                shape,
            )?])
        }
        Mode::Hybrid => {
            let xs = x.as_f32().ok_or_else(|| ctx.unsupported_dtype(xi_idx))?;
            let ws = weight_scales(ctx, 1, oc)?;
            let zps = ctx
                .in_quant(1)
                .map(|q| q.zero_point.clone())
                .unwrap_or_default();
            let bias = bias_f32(ctx, bias_idx, oc)?;
            let (xq, sf) = quantize_rows(xs, ih * iw * ic, false);
            let k = kh * kw * ic;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi = widen_weights(f, &zps, k, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: pack_transpose(&wi, oc, kh, kw, ic),
                    mult: Vec::new(),
                })
            })?;
            let acc = transpose_core(&xq, &g, oc, &pk.w);
            let out = finish_hybrid(&acc, oh * ow * oc, &sf, &ws, oc, bias, p.activation, false);
            Ok(vec![Tensor::f32(shape, out)])
        }
    }
}

#[cfg(test)]
pub(super) mod test_util {
    //! Run one op through a one-node graph.
    use crate::graph::{DType, Node, Op, Quantization, Subgraph, TensorInfo};
    use crate::graph::{Data, Tensor};
    use std::sync::Arc;

    /// A node input: a value, whether it is a model constant, and its quantization.
    pub struct In {
        pub t: Tensor,
        pub constant: bool,
        pub q: Option<Quantization>,
    }

    pub fn rt(t: Tensor) -> In {
        In {
            t,
            constant: false,
            q: None,
        }
    }

    pub fn cst(t: Tensor) -> In {
        In {
            t,
            constant: true,
            q: None,
        }
    }

    pub fn q(mut i: In, scale: Vec<f32>, zp: Vec<i64>, axis: usize) -> In {
        i.q = Some(Quantization {
            scale,
            zero_point: zp,
            axis,
        });
        i
    }

    pub fn rand(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    pub fn rand_i8(n: usize, seed: u64) -> Vec<i8> {
        rand(n, seed).iter().map(|&v| (v * 127.0) as i8).collect()
    }

    /// Run `op` with `inputs` (None = omitted); outputs declared as (dtype, shape, quant).
    pub fn run(
        op: Op,
        inputs: Vec<Option<In>>,
        outputs: Vec<(DType, Vec<usize>, Option<Quantization>)>,
    ) -> crate::error::Result<Vec<Tensor>> {
        let mut tensors = Vec::new();
        let mut node_in = Vec::new();
        let mut graph_in = Vec::new();
        let mut feed = Vec::new();
        for i in inputs {
            match i {
                None => node_in.push(None),
                Some(i) => {
                    let mut info = TensorInfo::new(
                        format!("t{}", tensors.len()),
                        i.t.dtype(),
                        i.t.shape.clone(),
                    );
                    info.quantization = i.q;
                    if i.constant {
                        info.data = Some(Arc::from(i.t.data.to_bytes()));
                    } else {
                        graph_in.push(tensors.len());
                        feed.push(i.t);
                    }
                    node_in.push(Some(tensors.len()));
                    tensors.push(info);
                }
            }
        }
        let mut outs = Vec::new();
        for (d, s, qz) in outputs {
            let mut info = TensorInfo::new(format!("t{}", tensors.len()), d, s);
            info.quantization = qz;
            outs.push(tensors.len());
            tensors.push(info);
        }
        let sg = Subgraph {
            tensors,
            nodes: vec![Node {
                op,
                inputs: node_in,
                outputs: outs.clone(),
            }],
            inputs: graph_in,
            outputs: outs,
            ..Default::default()
        };
        // Twice, with the same result.
        let first = crate::cpu::Reference.run_single(&sg, feed.clone())?;
        let second = crate::cpu::Reference.run_single(&sg, feed)?;
        assert_eq!(first, second);
        Ok(first)
    }

    pub fn f32s(t: &Tensor) -> Vec<f32> {
        t.as_f32().map(|v| v.to_vec()).unwrap_or_default()
    }

    pub fn i8t(shape: Vec<usize>, v: Vec<i8>) -> Tensor {
        Tensor::new(shape, Data::I8(v))
    }

    pub fn i32t(shape: Vec<usize>, v: Vec<i32>) -> Tensor {
        Tensor::new(shape, Data::I32(v))
    }

    pub fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "at {i}: {x} vs {y}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;
    use crate::graph::op::Op;

    #[allow(clippy::too_many_arguments)]
    fn naive_conv(
        x: &[f32],
        xs: [usize; 4],
        w: &[f32],
        ws: [usize; 4],
        bias: Option<&[f32]>,
        stride: (usize, usize),
        dil: (usize, usize),
        padding: Padding,
    ) -> (Vec<f32>, Vec<usize>) {
        let [n, ih, iw, ic] = xs;
        let [oc, kh, kw, fic] = ws;
        let groups = ic / fic;
        let ocg = oc / groups;
        let (oh, pt) = window(padding, ih, kh, stride.0, dil.0).unwrap();
        let (ow, pl) = window(padding, iw, kw, stride.1, dil.1).unwrap();
        let mut out = vec![0.0; n * oh * ow * oc];
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for o in 0..oc {
                        let g = o / ocg;
                        let mut acc = bias.map_or(0.0, |b| b[o]);
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * stride.0 + ky * dil.0) as isize - pt as isize;
                                let ix = (ox * stride.1 + kx * dil.1) as isize - pl as isize;
                                if iy < 0 || ix < 0 || iy >= ih as isize || ix >= iw as isize {
                                    continue;
                                }
                                for c in 0..fic {
                                    acc += x[((b * ih + iy as usize) * iw + ix as usize) * ic
                                        + g * fic
                                        + c]
                                        * w[((o * kh + ky) * kw + kx) * fic + c];
                                }
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * oc + o] = acc;
                    }
                }
            }
        }
        (out, vec![n, oh, ow, oc])
    }

    fn conv_case(
        xs: [usize; 4],
        ws: [usize; 4],
        stride: (usize, usize),
        dil: (usize, usize),
        padding: Padding,
        constant: bool,
    ) {
        let x = rand(xs.iter().product(), 1);
        let w = rand(ws.iter().product(), 2);
        let b = rand(ws[0], 3);
        let (want, shape) = naive_conv(&x, xs, &w, ws, Some(&b), stride, dil, padding);
        let p = Conv2D {
            padding,
            stride_h: stride.0,
            stride_w: stride.1,
            dilation_h: dil.0,
            dilation_w: dil.1,
            activation: Activation::None,
        };
        let wt = Tensor::f32(ws.to_vec(), w);
        let got = run(
            Op::Conv2D(p),
            vec![
                Some(rt(Tensor::f32(xs.to_vec(), x))),
                Some(if constant { cst(wt) } else { rt(wt) }),
                Some(cst(Tensor::f32(vec![ws[0]], b))),
            ],
            vec![(DType::F32, shape.clone(), None)],
        )
        .unwrap();
        assert_eq!(got[0].shape, shape);
        close(&f32s(&got[0]), &want, 1e-5);
    }

    #[test]
    fn conv_float_matches_naive() {
        // Even kernel with SAME padding, strides 1 and 2.
        conv_case(
            [1, 5, 6, 3],
            [4, 2, 2, 3],
            (1, 1),
            (1, 1),
            Padding::Same,
            true,
        );
        conv_case(
            [2, 7, 6, 3],
            [5, 4, 4, 3],
            (2, 2),
            (1, 1),
            Padding::Same,
            false,
        );
        // Dilation.
        conv_case(
            [1, 9, 8, 2],
            [3, 3, 3, 2],
            (1, 1),
            (2, 3),
            Padding::Same,
            true,
        );
        conv_case(
            [1, 9, 8, 2],
            [3, 3, 3, 2],
            (1, 2),
            (2, 2),
            Padding::Valid,
            true,
        );
        // Grouped conv.
        conv_case(
            [1, 5, 5, 4],
            [6, 3, 3, 2],
            (1, 1),
            (1, 1),
            Padding::Same,
            true,
        );
        // 1x1 GEMM path with a tail of pixels.
        conv_case(
            [2, 3, 3, 5],
            [7, 1, 1, 5],
            (1, 1),
            (1, 1),
            Padding::Valid,
            true,
        );
        // Kernel larger than the input (VALID gives no output).
        conv_case(
            [1, 2, 2, 1],
            [1, 3, 3, 1],
            (1, 1),
            (1, 1),
            Padding::Valid,
            true,
        );
    }

    #[test]
    fn conv_rejects_bad_shapes() {
        let p = Conv2D {
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            ..Default::default()
        };
        let r = run(
            Op::Conv2D(p),
            vec![
                Some(rt(Tensor::f32(vec![1, 3, 3, 3], vec![0.0; 27]))),
                Some(cst(Tensor::f32(vec![2, 1, 1, 2], vec![0.0; 4]))),
                Some(cst(Tensor::f32(vec![3], vec![0.0; 3]))),
            ],
            vec![(DType::F32, vec![1, 3, 3, 2], None)],
        );
        assert!(r.is_err());
    }

    fn dw_naive(
        x: &[f32],
        xs: [usize; 4],
        w: &[f32],
        ws: [usize; 4],
        stride: usize,
        dil: usize,
        padding: Padding,
    ) -> (Vec<f32>, Vec<usize>) {
        let [n, ih, iw, ic] = xs;
        let [_, kh, kw, oc] = ws;
        let m = oc / ic;
        let (oh, pt) = window(padding, ih, kh, stride, dil).unwrap();
        let (ow, pl) = window(padding, iw, kw, stride, dil).unwrap();
        let mut out = vec![0.0; n * oh * ow * oc];
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for o in 0..oc {
                        let mut acc = 0.0;
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * stride + ky * dil) as isize - pt as isize;
                                let ix = (ox * stride + kx * dil) as isize - pl as isize;
                                if iy < 0 || ix < 0 || iy >= ih as isize || ix >= iw as isize {
                                    continue;
                                }
                                acc += x[((b * ih + iy as usize) * iw + ix as usize) * ic + o / m]
                                    * w[(ky * kw + kx) * oc + o];
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * oc + o] = acc;
                    }
                }
            }
        }
        (out, vec![n, oh, ow, oc])
    }

    #[test]
    fn depthwise_float_matches_naive() {
        for &(xs, ws, stride, dil, padding) in &[
            ([1, 6, 7, 3], [1, 3, 3, 6], 1, 1, Padding::Same),
            ([2, 8, 8, 2], [1, 2, 2, 6], 2, 1, Padding::Same),
            ([1, 9, 9, 4], [1, 3, 3, 4], 1, 2, Padding::Same),
            ([1, 9, 9, 4], [1, 5, 5, 4], 2, 1, Padding::Valid),
        ] {
            let x = rand(xs.iter().product(), 4);
            let w = rand(ws.iter().product(), 5);
            let (want, shape) = dw_naive(&x, xs, &w, ws, stride, dil, padding);
            let p = DepthwiseConv2D {
                padding,
                stride_h: stride,
                stride_w: stride,
                depth_multiplier: ws[3] / xs[3],
                dilation_h: dil,
                dilation_w: dil,
                activation: Activation::Relu6,
            };
            let got = run(
                Op::DepthwiseConv2D(p),
                vec![
                    Some(rt(Tensor::f32(xs.to_vec(), x))),
                    Some(cst(Tensor::f32(ws.to_vec(), w))),
                    None,
                ],
                vec![(DType::F32, shape.clone(), None)],
            )
            .unwrap();
            let want: Vec<f32> = want.iter().map(|v| v.clamp(0.0, 6.0)).collect();
            close(&f32s(&got[0]), &want, 1e-5);
        }
    }

    #[test]
    fn conv_int8_per_channel_matches_reference() {
        let xs = [1, 5, 5, 3];
        let ws = [4, 3, 3, 3];
        let x = rand_i8(75, 7);
        let w = rand_i8(108, 8);
        let bias = [100, -2000, 0, 50000];
        let (is, izp) = (0.05f32, -3i32);
        let wsc = [0.01f32, 0.02, 0.005, 0.2];
        let (os, ozp) = (0.1f32, 5i32);
        let p = Conv2D {
            padding: Padding::Same,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            activation: Activation::None,
        };
        let got = run(
            Op::Conv2D(p),
            vec![
                Some(q(
                    rt(i8t(xs.to_vec(), x.clone())),
                    vec![is],
                    vec![izp as i64],
                    0,
                )),
                Some(q(
                    cst(i8t(ws.to_vec(), w.clone())),
                    wsc.to_vec(),
                    vec![0; 4],
                    0,
                )),
                Some(cst(i32t(vec![4], bias.to_vec()))),
            ],
            vec![(
                DType::I8,
                vec![1, 5, 5, 4],
                Some(crate::graph::Quantization::per_tensor(os, ozp as i64)),
            )],
        )
        .unwrap();
        let Data::I8(g) = &got[0].data else {
            panic!("dtype")
        };
        let mut saturated = 0;
        for oy in 0..5 {
            for ox in 0..5 {
                for o in 0..4 {
                    let mut acc = bias[o];
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let iy = oy as isize + ky as isize - 1;
                            let ix = ox as isize + kx as isize - 1;
                            if !(0..5).contains(&iy) || !(0..5).contains(&ix) {
                                continue;
                            }
                            for c in 0..3 {
                                let xv = x[(iy as usize * 5 + ix as usize) * 3 + c] as i32;
                                acc += (xv - izp) * w[((o * 3 + ky) * 3 + kx) * 3 + c] as i32;
                            }
                        }
                    }
                    let m = quantize_multiplier(is as f64 * wsc[o] as f64 / os as f64);
                    let want = (m.apply(acc) + ozp).clamp(-128, 127);
                    if want == 127 || want == -128 {
                        saturated += 1;
                    }
                    assert_eq!(g[(oy * 5 + ox) * 4 + o] as i32, want);
                }
            }
        }
        assert!(saturated > 0, "the case should exercise saturation");
    }

    #[test]
    fn transpose_conv_crops_output() {
        // Input 3x3, stride 2, 3x3 filter, SAME: output 6x6 (LiteRT crops the
        // 7x7 full result with pad 0 before / 1 after); also 5x5 requested.
        for &(oh, ow, padding) in &[
            (6, 6, Padding::Same),
            (5, 5, Padding::Same),
            (7, 7, Padding::Valid),
        ] {
            let (ih, iw, ic, oc, k, s) = (3, 3, 2, 3, 3, 2);
            let x = rand(ih * iw * ic, 9);
            let w = rand(oc * k * k * ic, 10);
            let b = rand(oc, 11);
            let (_, _) = (ow, oh);
            let (o2, _) = window(padding, oh, k, s, 1).unwrap();
            let pt = ((o2 - 1) * s + k).saturating_sub(oh) / 2;
            let (o3, _) = window(padding, ow, k, s, 1).unwrap();
            let pl = ((o3 - 1) * s + k).saturating_sub(ow) / 2;
            let mut want = vec![0.0f32; oh * ow * oc];
            for iy in 0..ih {
                for ix in 0..iw {
                    for ky in 0..k {
                        for kx in 0..k {
                            let oy = (iy * s + ky) as isize - pt as isize;
                            let ox = (ix * s + kx) as isize - pl as isize;
                            if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                                continue;
                            }
                            for o in 0..oc {
                                for c in 0..ic {
                                    want[(oy as usize * ow + ox as usize) * oc + o] += x
                                        [(iy * iw + ix) * ic + c]
                                        * w[((o * k + ky) * k + kx) * ic + c];
                                }
                            }
                        }
                    }
                }
            }
            for (i, v) in want.iter_mut().enumerate() {
                *v += b[i % oc];
            }
            let p = TransposeConv {
                padding,
                stride_h: s,
                stride_w: s,
                activation: Activation::None,
            };
            let got = run(
                Op::TransposeConv(p),
                vec![
                    Some(cst(i32t(vec![4], vec![1, oh as i32, ow as i32, oc as i32]))),
                    Some(cst(Tensor::f32(vec![oc, k, k, ic], w.clone()))),
                    Some(rt(Tensor::f32(vec![1, ih, iw, ic], x.clone()))),
                    Some(cst(Tensor::f32(vec![oc], b.clone()))),
                ],
                vec![(DType::F32, vec![1, oh, ow, oc], None)],
            )
            .unwrap();
            close(&f32s(&got[0]), &want, 1e-5);
            if padding == Padding::Same && oh == 6 {
                let got = run(
                    Op::TransposeConvBias(p),
                    vec![
                        Some(rt(Tensor::f32(vec![1, ih, iw, ic], x))),
                        Some(cst(Tensor::f32(vec![oc, k, k, ic], w))),
                        Some(cst(Tensor::f32(vec![oc], b))),
                    ],
                    vec![(DType::F32, vec![1, 1, 1, 1], None)],
                )
                .unwrap();
                assert_eq!(got[0].shape, vec![1, 6, 6, oc]);
                close(&f32s(&got[0]), &want, 1e-5);
            }
        }
    }

    #[test]
    fn hybrid_conv_quantizes_input_per_batch() {
        let xs = [2, 3, 3, 2];
        let x = rand(36, 12);
        let w = rand_i8(2 * 2 * 2 * 2, 13);
        let wsc = [0.02f32, 0.03];
        let p = Conv2D {
            padding: Padding::Valid,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            activation: Activation::None,
        };
        let got = run(
            Op::Conv2D(p),
            vec![
                Some(rt(Tensor::f32(xs.to_vec(), x.clone()))),
                Some(q(
                    cst(i8t(vec![2, 2, 2, 2], w.clone())),
                    wsc.to_vec(),
                    vec![0; 2],
                    0,
                )),
                None,
            ],
            vec![(DType::F32, vec![2, 2, 2, 2], None)],
        )
        .unwrap();
        // Dequantized-weight float conv is within input quantization error.
        let wf: Vec<f32> = w
            .iter()
            .enumerate()
            .map(|(i, &v)| v as f32 * wsc[i / 8])
            .collect();
        let (want, _) = naive_conv(
            &x,
            xs,
            &wf,
            [2, 2, 2, 2],
            None,
            (1, 1),
            (1, 1),
            Padding::Valid,
        );
        for (a, b) in f32s(&got[0]).iter().zip(&want) {
            assert!((a - b).abs() < 0.05, "{a} vs {b}");
        }
    }
}

#[cfg(test)]
mod bench {
    use super::test_util::*;
    use super::*;
    use crate::graph::op::Op;

    /// Rough throughput of MobileNet-like layers: `cargo test --lib bench -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn conv_throughput() {
        for &(hw, ic, oc, k, s) in &[
            (64usize, 16usize, 96usize, 1usize, 1usize),
            (32, 32, 192, 1, 1),
            (16, 192, 32, 1, 1),
            (8, 112, 672, 1, 1),
            (128, 3, 16, 3, 2),
            (32, 16, 16, 3, 1),
        ] {
            let xs = vec![1, hw, hw, ic];
            let x = rand(hw * hw * ic, 1);
            let w = rand(oc * k * k * ic, 2);
            let p = Conv2D {
                padding: Padding::Same,
                stride_h: s,
                stride_w: s,
                dilation_h: 1,
                dilation_w: 1,
                activation: Activation::Relu6,
            };
            let oh = hw.div_ceil(s);
            let t = std::time::Instant::now();
            let reps = 20;
            for _ in 0..reps {
                run(
                    Op::Conv2D(p),
                    vec![
                        Some(rt(Tensor::f32(xs.clone(), x.clone()))),
                        Some(cst(Tensor::f32(vec![oc, k, k, ic], w.clone()))),
                        None,
                    ],
                    vec![(DType::F32, vec![1, oh, oh, oc], None)],
                )
                .unwrap();
            }
            let el = t.elapsed().as_secs_f64() / (2 * reps) as f64;
            let flops = 2.0 * (oh * oh * oc * k * k * ic) as f64;
            println!(
                "conv {hw}x{hw}x{ic} -> {oc} k{k} s{s}: {:.3} ms, {:.1} GFLOP/s",
                el * 1e3,
                flops / el / 1e9
            );
        }
        for &(hw, c, s) in &[(64usize, 96usize, 2usize), (32, 144, 1), (16, 192, 1)] {
            let x = rand(hw * hw * c, 1);
            let w = rand(9 * c, 2);
            let p = DepthwiseConv2D {
                padding: Padding::Same,
                stride_h: s,
                stride_w: s,
                depth_multiplier: 1,
                dilation_h: 1,
                dilation_w: 1,
                activation: Activation::Relu6,
            };
            let oh = hw.div_ceil(s);
            let t = std::time::Instant::now();
            let reps = 20;
            for _ in 0..reps {
                run(
                    Op::DepthwiseConv2D(p),
                    vec![
                        Some(rt(Tensor::f32(vec![1, hw, hw, c], x.clone()))),
                        Some(cst(Tensor::f32(vec![1, 3, 3, c], w.clone()))),
                        None,
                    ],
                    vec![(DType::F32, vec![1, oh, oh, c], None)],
                )
                .unwrap();
            }
            let el = t.elapsed().as_secs_f64() / (2 * reps) as f64;
            let flops = 2.0 * (oh * oh * c * 9) as f64;
            println!(
                "dw {hw}x{hw}x{c} s{s}: {:.3} ms, {:.1} GFLOP/s",
                el * 1e3,
                flops / el / 1e9
            );
        }
    }
}

#[cfg(test)]
mod gemm_bench {
    #[test]
    #[ignore]
    fn gemm_speed() {
        for &(m, k, n) in &[
            (4096usize, 16usize, 96usize),
            (1024, 32, 192),
            (256, 192, 32),
            (64, 112, 672),
        ] {
            let a = super::test_util::rand(m * k, 1);
            let w = super::test_util::rand(k * n, 2);
            let mut o = vec![0.0f32; m * n];
            let reps = 50;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                super::gemm_rows(&a, m, k, &w, n, &mut o);
            }
            let el = t.elapsed().as_secs_f64() / reps as f64;
            let t2 = std::time::Instant::now();
            for _ in 0..reps {
                super::gemm_impl::<f32, 8>(&a, m, k, &w, n, &mut o);
            }
            let el2 = t2.elapsed().as_secs_f64() / reps as f64;
            let ai: Vec<i32> = a.iter().map(|v| (v * 100.0) as i32).collect();
            let wi: Vec<i32> = w.iter().map(|v| (v * 100.0) as i32).collect();
            let mut oi = vec![0i32; m * n];
            let t3 = std::time::Instant::now();
            for _ in 0..reps {
                super::gemm_rows(&ai, m, k, &wi, n, &mut oi);
            }
            let el3 = t3.elapsed().as_secs_f64() / reps as f64;
            let f = 2.0 * (m * k * n) as f64;
            println!("gemm i32 {:.1} GOP/s", f / el3 / 1e9);
            println!(
                "gemm {m}x{k}x{n}: dispatch {:.1} GFLOP/s, sse {:.1} GFLOP/s",
                f / el / 1e9,
                f / el2 / 1e9
            );
        }
    }
}

#[cfg(test)]
mod dw_bench {
    #[test]
    #[ignore]
    fn dw_speed() {
        let (hw, c) = (32usize, 144usize);
        let g = super::Geom {
            n: 1,
            ih: hw,
            iw: hw,
            ic: c,
            oh: hw,
            ow: hw,
            kh: 3,
            kw: 3,
            sh: 1,
            sw: 1,
            dh: 1,
            dw: 1,
            pt: 1,
            pl: 1,
        };
        let x = super::test_util::rand(hw * hw * c, 1);
        let w = super::test_util::rand(9 * c, 2);
        let reps = 50;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            std::hint::black_box(super::depthwise_core(&x, &g, 1, &w));
        }
        let a = t.elapsed().as_secs_f64() / reps as f64;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            std::hint::black_box(super::depthwise_generic(&x, &g, 1, &w));
        }
        let b = t.elapsed().as_secs_f64() / reps as f64;
        let f = 2.0 * (hw * hw * c * 9) as f64;
        println!(
            "dw blocked {:.1} GFLOP/s, generic {:.1} GFLOP/s",
            f / a / 1e9,
            f / b / 1e9
        );
    }
}

#[cfg(test)]
mod requant_tests {
    use super::*;

    #[test]
    fn branch_free_requant_matches_reference() {
        let mults = [1e-6, 0.00123, 0.3, 0.5, 0.9999, 1.0, 1.7, 3.5, 100.0];
        let vals: Vec<i32> = super::test_util::rand(4000, 7)
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
        let p = RequantParams {
            bias: (0..c as i32).map(|i| i * 1000 - 3000).collect(),
            mant: ms.iter().map(|m| m.mantissa).collect(),
            left: ms
                .iter()
                .map(|m| 1i32.wrapping_shl(m.shift.clamp(0, 31) as u32))
                .collect(),
            right: ms.iter().map(|m| (-m.shift).clamp(0, 31)).collect(),
            ozp: -5,
            lo: -128,
            hi: 127,
        };
        let n = vals.len() / c * c;
        let mut out = vec![0; n];
        requant_all(&vals[..n], &p, &mut out);
        for i in 0..n {
            let ch = i % c;
            let want = ms[ch]
                .apply(vals[i].wrapping_add(p.bias[ch]))
                .saturating_add(-5)
                .clamp(-128, 127);
            assert_eq!(out[i], want, "value {} multiplier {}", vals[i], mults[ch]);
        }
    }
}
