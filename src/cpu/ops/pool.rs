//! 2-D pooling: average, max, L2, and MediaPipe's argmax pooling and unpooling.

use super::conv::{check_act, float_range, int_tensor};
use super::OpCtx;
use crate::error::Result;
use crate::graph::op::Pool2D;
use crate::graph::quant::activation_range;
use crate::graph::shape::padding as window;
use crate::graph::shape::transposed_size;
use crate::graph::DType;
use crate::graph::Data;
use crate::graph::Tensor;

/// Pool geometry over an NHWC input.
#[derive(Clone, Copy)]
struct PoolGeom {
    n: usize,
    ih: usize,
    iw: usize,
    c: usize,
    oh: usize,
    ow: usize,
    pt: usize,
    pl: usize,
}

impl PoolGeom {
    /// The clipped window [y0, y1) x [x0, x1) of output pixel (oy, ox).
    fn win(&self, p: &Pool2D, oy: usize, ox: usize) -> (usize, usize, usize, usize) {
        let y = (oy * p.stride_h) as isize - self.pt as isize;
        let x = (ox * p.stride_w) as isize - self.pl as isize;
        let y0 = y.max(0) as usize;
        let x0 = x.max(0) as usize;
        let y1 = (y + p.filter_h as isize).clamp(0, self.ih as isize) as usize;
        let x1 = (x + p.filter_w as isize).clamp(0, self.iw as isize) as usize;
        (y0, y1.max(y0), x0, x1.max(x0))
    }
}

fn geom(ctx: &OpCtx, p: &Pool2D) -> Result<PoolGeom> {
    let x = ctx.input(0)?;
    let [n, ih, iw, c] = match x.shape[..] {
        [a, b, c, d] => [a, b, c, d],
        _ => return Err(ctx.err(format!("input must be 4-D, got {:?}", x.shape))),
    };
    let bad = || ctx.err("invalid pool stride or window");
    let (oh, pt) = window(p.padding, ih, p.filter_h, p.stride_h, 1).ok_or_else(bad)?;
    let (ow, pl) = window(p.padding, iw, p.filter_w, p.stride_w, 1).ok_or_else(bad)?;
    let g = PoolGeom {
        n,
        ih,
        iw,
        c,
        oh,
        ow,
        pt,
        pl,
    };
    ctx.check_size(&[n, oh, ow, c], x.dtype())?;
    Ok(g)
}

/// Generic pooling driver: `init` fills the per-pixel accumulator, `step` folds one
/// input row of C channels into it, `fin` writes the result given the window count.
fn pool_loop<T: Copy, A: Copy>(
    g: &PoolGeom,
    p: &Pool2D,
    x: &[T],
    init: A,
    step: impl Fn(&mut [A], &[T]),
    mut fin: impl FnMut(&[A], usize, &mut Vec<T>),
) -> Vec<T> {
    let mut out = Vec::with_capacity(g.n * g.oh * g.ow * g.c);
    let mut acc = vec![init; g.c];
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (y0, y1, x0, x1) = g.win(p, oy, ox);
                acc.iter_mut().for_each(|a| *a = init);
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        let s = ((b * g.ih + iy) * g.iw + ix) * g.c;
                        step(&mut acc, &x[s..s + g.c]);
                    }
                }
                fin(&acc, (y1 - y0) * (x1 - x0), &mut out);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Avg,
    Max,
    L2,
}

fn pool(ctx: &mut OpCtx, p: &Pool2D, kind: Kind) -> Result<Vec<Tensor>> {
    check_act(ctx, p.activation)?;
    let g = geom(ctx, p)?;
    let x = ctx.input(0)?;
    let shape = vec![g.n, g.oh, g.ow, g.c];
    let (lo, hi) = float_range(p.activation);
    match &x.data {
        Data::F32(v) => {
            let out = match kind {
                Kind::Avg => pool_loop(
                    &g,
                    p,
                    v,
                    0.0f32,
                    |a, r| a.iter_mut().zip(r).for_each(|(a, &x)| *a += x),
                    |a, cnt, o| {
                        let d = cnt.max(1) as f32;
                        o.extend(a.iter().map(|&s| (s / d).max(lo).min(hi)))
                    },
                ),
                Kind::Max => pool_loop(
                    &g,
                    p,
                    v,
                    f32::NEG_INFINITY,
                    |a, r| a.iter_mut().zip(r).for_each(|(a, &x)| *a = a.max(x)),
                    |a, _, o| o.extend(a.iter().map(|&s| s.max(lo).min(hi))),
                ),
                Kind::L2 => pool_loop(
                    &g,
                    p,
                    v,
                    0.0f32,
                    |a, r| a.iter_mut().zip(r).for_each(|(a, &x)| *a += x * x),
                    |a, cnt, o| {
                        let d = cnt.max(1) as f32;
                        o.extend(a.iter().map(|&s| (s / d).sqrt().max(lo).min(hi)))
                    },
                ),
            };
            Ok(vec![Tensor::f32(shape, out)])
        }
        Data::I8(_) | Data::U8(_) | Data::I16(_) if kind != Kind::L2 => {
            let dtype = x.dtype();
            let (os, ozp) = ctx.out_qparams(0)?;
            let (qlo, qhi) = activation_range(p.activation, os, ozp, dtype);
            let xi: Vec<i32> = match &x.data {
                Data::I8(v) => v.iter().map(|&a| a as i32).collect(),
                Data::U8(v) => v.iter().map(|&a| a as i32).collect(),
                Data::I16(v) => v.iter().map(|&a| a as i32).collect(),
                _ => return Err(ctx.unsupported_dtype(0)),
            };
            let out = match kind {
                Kind::Avg => pool_loop(
                    &g,
                    p,
                    &xi,
                    0i32,
                    |a, r| a.iter_mut().zip(r).for_each(|(a, &x)| *a += x),
                    |a, cnt, o| {
                        let c = cnt.max(1) as i32;
                        o.extend(a.iter().map(|&s| {
                            let r = if s > 0 {
                                (s + c / 2) / c
                            } else {
                                (s - c / 2) / c
                            };
                            r.clamp(qlo, qhi)
                        }))
                    },
                ),
                _ => pool_loop(
                    &g,
                    p,
                    &xi,
                    i32::MIN,
                    |a, r| a.iter_mut().zip(r).for_each(|(a, &x)| *a = (*a).max(x)),
                    |a, _, o| o.extend(a.iter().map(|&s| s.clamp(qlo, qhi))),
                ),
            };
            let t = int_tensor(dtype, shape, &out).ok_or_else(|| ctx.unsupported_dtype(0))?;
            Ok(vec![t])
        }
        _ => Err(ctx.unsupported_dtype(0)),
    }
}

/// Kernel of average_pool: the mean over the in-bounds part of each window.
pub fn average_pool(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    pool(ctx, p, Kind::Avg)
}

/// Kernel of max_pool.
pub fn max_pool(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    pool(ctx, p, Kind::Max)
}

/// Kernel of l2_pool: sqrt of the mean of squares over each window (float only).
pub fn l2_pool(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    pool(ctx, p, Kind::L2)
}

/// Wrap flat indices as the dtype of output `i`.
fn index_tensor(ctx: &OpCtx, i: usize, shape: Vec<usize>, idx: Vec<i64>) -> Result<Tensor> {
    let data = match ctx.out_dtype(i)? {
        DType::I32 => Data::I32(idx.iter().map(|&v| v as i32).collect()),
        DType::I64 => Data::I64(idx),
        DType::F32 => Data::F32(idx.iter().map(|&v| v as f32).collect()),
        other => return Err(ctx.err(format!("argmax output type {other} is not supported"))),
    };
    Ok(Tensor::new(shape, data))
}

/// Kernel of max_pool_with_argmax (MediaPipe MaxPoolingWithArgmax2D): the window
/// maxima and, per element, the flat index (y * W + x) * C + c of the maximum within
/// its batch image.
pub fn max_pool_with_argmax(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    check_act(ctx, p.activation)?;
    let g = geom(ctx, p)?;
    let x = ctx.input_f32(0)?;
    let (lo, hi) = float_range(p.activation);
    let total = g.n * g.oh * g.ow * g.c;
    let mut vals = Vec::with_capacity(total);
    let mut idxs = Vec::with_capacity(total);
    let mut best = vec![f32::NEG_INFINITY; g.c];
    let mut arg = vec![0i64; g.c];
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (y0, y1, x0, x1) = g.win(p, oy, ox);
                best.iter_mut().for_each(|v| *v = f32::NEG_INFINITY);
                arg.iter_mut().for_each(|v| *v = 0);
                let mut first = true;
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        let pix = iy * g.iw + ix;
                        let s = (b * g.ih * g.iw + pix) * g.c;
                        for (c, &v) in x[s..s + g.c].iter().enumerate() {
                            if first || v > best[c] {
                                best[c] = v;
                                arg[c] = (pix * g.c + c) as i64;
                            }
                        }
                        first = false;
                    }
                }
                vals.extend(best.iter().map(|&v| v.max(lo).min(hi)));
                idxs.extend_from_slice(&arg);
            }
        }
    }
    let shape = vec![g.n, g.oh, g.ow, g.c];
    let mut outs = vec![Tensor::f32(shape.clone(), vals)];
    if ctx.num_outputs() > 1 {
        outs.push(index_tensor(ctx, 1, shape, idxs)?);
    }
    Ok(outs)
}

/// Kernel of max_unpooling (MediaPipe MaxUnpooling2D): inputs values and argmax
/// indices; each value is written at its index in a zero output whose shape comes
/// from the model (or from stride and padding when undeclared).
pub fn max_unpooling(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    let v = ctx.input_f32(0)?;
    let vt = ctx.input(0)?;
    let idx = ctx.input(1)?;
    let [n, h, w, c] = match vt.shape[..] {
        [a, b, c, d] => [a, b, c, d],
        _ => return Err(ctx.err(format!("input must be 4-D, got {:?}", vt.shape))),
    };
    if idx.len() != v.len() {
        return Err(ctx.err("indices and values differ in size"));
    }
    let declared = ctx.output_infos.first().map(|t| t.shape.clone());
    let (oh, ow) = match declared.as_deref() {
        Some(&[dn, dh, dw, dc]) if dn == n && dc == c && dh > 0 && dw > 0 => (dh, dw),
        _ => (
            transposed_size(p.padding, h, p.filter_h, p.stride_h),
            transposed_size(p.padding, w, p.filter_w, p.stride_w),
        ),
    };
    let shape = vec![n, oh, ow, c];
    ctx.check_size(&shape, DType::F32)?;
    let per = oh * ow * c;
    let mut out = vec![0.0f32; n * per];
    let ids = idx.data.to_i64();
    let in_per = h * w * c;
    for (i, (&val, &id)) in v.iter().zip(&ids).enumerate() {
        let b = i / in_per.max(1);
        if id < 0 || id as usize >= per {
            return Err(ctx.err(format!("unpooling index {id} is out of range")));
        }
        out[b * per + id as usize] = val;
    }
    Ok(vec![Tensor::f32(shape, out)])
}

#[cfg(test)]
mod tests {
    use super::super::conv::test_util::*;
    use super::*;
    use crate::graph::op::{Activation, Padding};
    use crate::graph::{Op, Quantization};

    fn p(f: usize, s: usize, padding: Padding) -> Pool2D {
        Pool2D {
            padding,
            stride_w: s,
            stride_h: s,
            filter_w: f,
            filter_h: f,
            activation: Activation::None,
        }
    }

    #[test]
    fn average_counts_only_in_bounds() {
        // 3x3 input, 2x2 window, stride 2, SAME: out 2x2, pad 0 before.
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let got = run(
            Op::AveragePool2D(p(2, 2, Padding::Same)),
            vec![Some(rt(Tensor::f32(vec![1, 3, 3, 1], x)))],
            vec![(DType::F32, vec![1, 2, 2, 1], None)],
        )
        .unwrap();
        assert_eq!(f32s(&got[0]), vec![3.0, 4.5, 7.5, 9.0]);
    }

    #[test]
    fn int8_average_rounds_away_from_zero() {
        let x = vec![-3i8, -2, 1, 2];
        let got = run(
            Op::AveragePool2D(p(2, 2, Padding::Valid)),
            vec![Some(q(rt(i8t(vec![1, 2, 2, 1], x)), vec![1.0], vec![0], 0))],
            vec![(
                DType::I8,
                vec![1, 1, 1, 1],
                Some(Quantization::per_tensor(1.0, 0)),
            )],
        )
        .unwrap();
        // sum -2, count 4: (-2 - 2) / 4 = -1.
        assert_eq!(got[0].data, Data::I8(vec![-1]));
    }

    #[test]
    fn argmax_then_unpool_round_trip() {
        let x = rand(2 * 4 * 4 * 3, 3);
        let got = run(
            Op::MaxPoolWithArgmax(p(2, 2, Padding::Same)),
            vec![Some(rt(Tensor::f32(vec![2, 4, 4, 3], x.clone())))],
            vec![
                (DType::F32, vec![2, 2, 2, 3], None),
                (DType::I32, vec![2, 2, 2, 3], None),
            ],
        )
        .unwrap();
        let vals = f32s(&got[0]);
        let Data::I32(idx) = &got[1].data else {
            panic!("index dtype")
        };
        for (i, (&v, &id)) in vals.iter().zip(idx).enumerate() {
            let b = i / 12;
            assert_eq!(x[b * 48 + id as usize], v);
            assert_eq!(id as usize % 3, i % 3);
        }
        let un = run(
            Op::MaxUnpooling(p(2, 2, Padding::Same)),
            vec![Some(rt(got[0].clone())), Some(rt(got[1].clone()))],
            vec![(DType::F32, vec![2, 4, 4, 3], None)],
        )
        .unwrap();
        let u = f32s(&un[0]);
        for (i, &v) in u.iter().enumerate() {
            assert!(v == 0.0 || v == x[i]);
        }
        assert_eq!(u.iter().filter(|v| **v != 0.0).count(), 24);
    }
}
