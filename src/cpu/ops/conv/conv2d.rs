//! CONV_2D: float, int8 / int16 and hybrid, grouped when the input has a multiple
//! of the filter's input channels.

use super::gemm_rows;
use super::{
    bias_f32, channel_multipliers, check_act, finish_float, finish_hybrid, quant_args,
    quantize_rows, requantize, requantize_wide, weight_scales, wide_args, widen_weights,
    widen_weights_i64, QuantArgs, Rescale, WideArgs,
};
use super::{dims4, mode, prepared, Mode, Num, OpCtx, Packed};
use crate::error::Result;
use crate::graph::op::Conv2D;
use crate::graph::shape::ConvGeometry;
use crate::graph::Tensor;

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
fn conv_core<T: Num>(x: &[T], g: &ConvGeometry, oc: usize, fic: usize, w: &[T]) -> Vec<T> {
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
                    widen_weights_i64(f, &zps, k, oc).ok_or_else(|| ctx.unsupported_dtype(1))?;
                Ok(Packed {
                    w: pack_conv(&wi, oc, k, groups),
                    mult: channel_multipliers(is, &ws, os, oc),
                })
            })?;
            let acc = conv_core(&xi, &g, oc, fic, &pk.w);
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
            let out = finish_hybrid(
                &acc,
                g.oh * g.ow * oc,
                &sf,
                &ws,
                oc,
                bias,
                p.activation,
                false,
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
    use crate::graph::quant::quantize_multiplier;
    use crate::graph::shape::padding as window;
    use crate::graph::{DType, Data};

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
