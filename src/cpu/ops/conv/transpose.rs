//! TRANSPOSE_CONV and the MediaPipe `Convolution2DTransposeBias` variant: float,
//! int8 / int16 and hybrid.

use super::{
    bias_f32, channel_multipliers, check_act, finish_float, finish_hybrid, quant_args,
    quantize_rows, requantize, requantize_wide, weight_scales, wide_args, widen_weights,
    widen_weights_i64, QuantArgs, Rescale, WideArgs,
};
use super::{dims4, mode, prepared, Mode, Num, OpCtx, Packed};
use crate::error::Result;
use crate::graph::op::TransposeConv;
use crate::graph::shape::{transposed_size, ConvGeometry};
use crate::graph::Tensor;

/// Transpose-conv accumulators [N, OH, OW, OC]; `w` packed as [KH][KW][IC][OC].
fn transpose_core<T: Num>(x: &[T], g: &ConvGeometry, oc: usize, w: &[T]) -> Vec<T> {
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
            _ => (
                transposed_size(p.padding, ih, kh, p.stride_h),
                transposed_size(p.padding, iw, kw, p.stride_w),
            ),
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
    let g = ConvGeometry::transposed(
        p.padding,
        [n, ih, iw, ic],
        [kh, kw],
        [p.stride_h, p.stride_w],
        [oh, ow],
    )
    .ok_or_else(|| ctx.err("invalid stride or filter size"))?;
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
        Mode::Quant16 => {
            let WideArgs {
                is,
                os,
                ws,
                zps,
                bias,
                x: xq,
            } = wide_args(ctx, xi_idx, bias_idx, oc)?;
            let k = kh * kw * ic;
            let mut slot = None;
            let pk = prepared(ctx, 1, &mut slot, || {
                let wi =
                    widen_weights_i64(f, &zps, k, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: pack_transpose(&wi, oc, kh, kw, ic),
                    mult: channel_multipliers(is, &ws, os, oc),
                })
            })?;
            let acc = transpose_core(&xq, &g, oc, &pk.w);
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
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::graph::op::{Activation, Op, Padding};
    use crate::graph::shape::padding as window;
    use crate::graph::DType;

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
}
