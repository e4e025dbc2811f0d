//! DEPTHWISE_CONV_2D: float, int8 / int16 and hybrid.

use super::{
    bias_f32, channel_multipliers, check_act, finish_float, finish_hybrid, quant_args,
    quantize_rows, requantize, requantize_wide, weight_scales, wide_args, widen_weights,
    widen_weights_i64, QuantArgs, Rescale, WideArgs,
};
use super::{dims4, mode, prepared, Mode, Num, OpCtx, Packed};
use crate::error::Result;
use crate::graph::op::DepthwiseConv2D;
use crate::graph::shape::ConvGeometry;
use crate::graph::Tensor;

/// Depthwise accumulators [N, OH, OW, OC] with OC = IC * M, channel innermost.
fn depthwise_core<T: Num>(x: &[T], g: &ConvGeometry, m: usize, w: &[T]) -> Vec<T> {
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
unsafe fn depthwise_avx2<T: Num>(x: &[T], g: &ConvGeometry, m: usize, w: &[T]) -> Vec<T> {
    depthwise_generic(x, g, m, w)
}

/// Portable depthwise loop. Per output row and tap, the output pixels whose input
/// is inside the image are worked out once, so the pixel loop has no bounds tests
/// and padding costs nothing. With stride 1, one output per input channel and few
/// channels, the pixels of a tap form one contiguous run in the input and the
/// output, done as a single multiply-add over the run against the tap's weights
/// repeated per pixel; otherwise per pixel, over the contiguous channels. Each output element sums its
/// taps in (ky, kx) order from zero.
#[inline(always)]
fn depthwise_generic<T: Num>(x: &[T], g: &ConvGeometry, m: usize, w: &[T]) -> Vec<T> {
    let oc = g.ic * m;
    let mut out = vec![T::default(); g.n * g.oh * g.ow * oc];
    if out.is_empty() || g.sw == 0 {
        return out;
    }
    let row_len = g.ow * oc;
    let in_row = g.iw * g.ic;
    // Few channels only: with many, a pixel's channels are a long vector already and
    // the repeated weights would crowd the cache.
    let runs = m == 1 && g.sw == 1 && oc < 64;
    // Each tap's weights repeated across an output row, for the contiguous runs.
    let mut wrep = Vec::new();
    if runs {
        wrep = vec![T::default(); g.kh * g.kw * row_len];
        for (rep, tap) in wrep.chunks_exact_mut(row_len).zip(w.chunks_exact(oc)) {
            for px in rep.chunks_exact_mut(oc) {
                px.copy_from_slice(tap);
            }
        }
    }
    for (r, orow) in out.chunks_exact_mut(row_len).enumerate() {
        let (b, oy) = (r / g.oh, r % g.oh);
        for ky in 0..g.kh {
            let iy = (oy * g.sh + ky * g.dh) as isize - g.pt as isize;
            if iy < 0 || iy >= g.ih as isize {
                continue;
            }
            let s = (b * g.ih + iy as usize) * in_row;
            let xrow = &x[s..s + in_row];
            for kx in 0..g.kw {
                let Some((lo, hi)) = valid_columns(g, kx) else {
                    continue;
                };
                let ix0 = lo * g.sw + kx * g.dw - g.pl;
                let tap = ky * g.kw + kx;
                let o = &mut orow[lo * oc..hi * oc];
                if runs {
                    let len = o.len();
                    let wr = &wrep[tap * row_len..tap * row_len + len];
                    axpy(o, &xrow[ix0 * g.ic..ix0 * g.ic + len], wr);
                    continue;
                }
                let wr = &w[tap * oc..(tap + 1) * oc];
                let pixels = o
                    .chunks_exact_mut(oc)
                    .zip(xrow[ix0 * g.ic..].chunks(g.sw * g.ic));
                if m == 1 {
                    for (o, xp) in pixels {
                        axpy(o, xp, wr);
                    }
                } else {
                    for (o, xp) in pixels {
                        for ((ac, &xv), wc) in o
                            .chunks_exact_mut(m)
                            .zip(&xp[..g.ic])
                            .zip(wr.chunks_exact(m))
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
    out
}

/// The output columns `lo..hi` whose input column for tap `kx` is inside the image.
fn valid_columns(g: &ConvGeometry, kx: usize) -> Option<(usize, usize)> {
    let off = (kx * g.dw) as isize - g.pl as isize;
    let lo = if off < 0 {
        (off.unsigned_abs()).div_ceil(g.sw)
    } else {
        0
    };
    let last = g.iw as isize - 1 - off;
    if last < 0 {
        return None;
    }
    let hi = (last as usize / g.sw + 1).min(g.ow);
    (lo < hi).then_some((lo, hi))
}

/// o[c] += x[c] * w[c] over o's length.
#[inline(always)]
fn axpy<T: Num>(o: &mut [T], x: &[T], w: &[T]) {
    let n = o.len();
    let (x, w) = (&x[..n], &w[..n]);
    for j in 0..n {
        o[j] = o[j].madd(x[j], w[j]);
    }
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
    let g = ConvGeometry::forward(
        p.padding,
        [n, ih, iw, ic],
        [kh, kw],
        [p.stride_h, p.stride_w],
        [p.dilation_h, p.dilation_w],
    )
    .ok_or_else(|| ctx.err("invalid stride or dilation"))?;
    let shape = vec![n, g.oh, g.ow, oc];
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
        Mode::Quant16 => {
            let WideArgs {
                is,
                os,
                ws,
                zps,
                bias,
                x: xi,
            } = wide_args(ctx, 0, 2, oc)?;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi =
                    widen_weights_i64(f, &zps, 1, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: wi,
                    mult: channel_multipliers(is, &ws, os, oc),
                })
            })?;
            let acc = depthwise_core(&xi, &g, m, &pk.w);
            Ok(vec![requantize_wide(
                ctx,
                &acc,
                bias.as_deref(),
                Rescale::Fixed(&pk.mult),
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
            let out = finish_hybrid(
                &acc,
                g.oh * g.ow * oc,
                &sf,
                &ws,
                oc,
                bias,
                p.activation,
                true,
            );
            Ok(vec![Tensor::f32(shape, out)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::graph::op::{Activation, Op, Padding};
    use crate::graph::shape::padding as window;
    use crate::graph::DType;

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
}
