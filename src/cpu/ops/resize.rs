//! RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR with align_corners and half_pixel_centers.

use super::OpCtx;
use crate::error::Result;
use crate::graph::op::Resize;
use crate::graph::DType;
use crate::graph::{Data, Tensor};
use half::f16;

/// Input dims [n, h, w, c] and the requested output [new_h, new_w].
fn dims(ctx: &OpCtx) -> Result<([usize; 4], [usize; 2])> {
    let t = ctx.input(0)?;
    let [n, h, w, c] = match t.shape[..] {
        [n, h, w, c] => [n, h, w, c],
        _ => {
            return Err(ctx.err(format!(
                "resize: expected a 4-D NHWC input, got {:?}",
                t.shape
            )))
        }
    };
    let size = ctx.ints(1)?;
    if size.len() != 2
        || size[0] <= 0
        || size[1] <= 0
        || size[0] > i32::MAX as i64
        || size[1] > i32::MAX as i64
    {
        return Err(ctx.err(format!("resize: bad output size {size:?}")));
    }
    if h == 0 || w == 0 {
        return Err(ctx.err("resize: input has an empty spatial dimension"));
    }
    let out = [size[0] as usize, size[1] as usize];
    ctx.check_size(&[n, out[0], out[1], c], t.dtype())?;
    Ok(([n, h, w, c], out))
}

/// The float input-over-output scale of one axis.
fn scale(input: usize, output: usize, align_corners: bool) -> f32 {
    if align_corners && output > 1 {
        (input - 1) as f32 / (output - 1) as f32
    } else {
        input as f32 / output as f32
    }
}

/// (scaled position, lower, upper) of output coordinate `v` as LiteRT computes them.
fn interp(v: usize, scale: f32, half_pixel: bool, size: usize) -> (f32, usize, usize) {
    let s = if half_pixel {
        (v as f32 + 0.5) * scale - 0.5
    } else {
        v as f32 * scale
    };
    let lo = (s.floor() as i64).max(0) as usize;
    let hi = (s.ceil() as i64).min(size as i64 - 1).max(0) as usize;
    (s, lo.min(size - 1), hi)
}

/// Fixed-point (10 fractional bits) position, lower and upper of LiteRT's integer path.
fn interp_int(v: usize, scale_10: i64, half_pixel: bool, size: usize) -> (i64, usize, usize) {
    let s = if half_pixel {
        v as i64 * scale_10 + scale_10 / 2 - (1 << 9)
    } else {
        v as i64 * scale_10
    };
    let lo = (s / (1 << 10)).max(0);
    let hi = ((s + (1 << 10) - 1) / (1 << 10)).min(size as i64 - 1);
    (s, lo.min(size as i64 - 1) as usize, hi.max(0) as usize)
}

/// Kernel of resize_bilinear.
pub fn resize_bilinear(ctx: &mut OpCtx, p: &Resize) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let ([n, h, w, c], [oh, ow]) = dims(ctx)?;
    let shape = vec![n, oh, ow, c];
    let at = |b: usize, y: usize, x: usize, ch: usize| ((b * h + y) * w + x) * c + ch;
    match t.dtype() {
        DType::I8 | DType::I16 => {
            let v = t.data.to_i64();
            let sc = |i: usize, o: usize| -> i64 {
                if p.align_corners && o > 1 {
                    ((1i64 << 10) * (i as i64 - 1) + (o as i64 - 1) / 2) / (o as i64 - 1)
                } else {
                    ((1i64 << 10) * i as i64 + o as i64 / 2) / o as i64
                }
            };
            let (hs, ws) = (sc(h, oh), sc(w, ow));
            let mut out = Vec::with_capacity(n * oh * ow * c);
            for b in 0..n {
                for y in 0..oh {
                    let (iy, y0, y1) = interp_int(y, hs, p.half_pixel_centers, h);
                    let dy = iy - (1 << 10) * y0 as i64;
                    for x in 0..ow {
                        let (ix, x0, x1) = interp_int(x, ws, p.half_pixel_centers, w);
                        let dx = ix - (1 << 10) * x0 as i64;
                        for ch in 0..c {
                            let s = v[at(b, y0, x0, ch)] * ((1 << 10) - dy) * ((1 << 10) - dx)
                                + v[at(b, y1, x0, ch)] * dy * ((1 << 10) - dx)
                                + v[at(b, y0, x1, ch)] * ((1 << 10) - dy) * dx
                                + v[at(b, y1, x1, ch)] * dy * dx;
                            let r = if s > 0 { 1 << 19 } else { -(1 << 19) };
                            out.push((s + r) / (1 << 20));
                        }
                    }
                }
            }
            let data = if t.dtype() == DType::I8 {
                Data::I8(out.into_iter().map(|x| x.clamp(-128, 127) as i8).collect())
            } else {
                Data::I16(
                    out.into_iter()
                        .map(|x| x.clamp(-32768, 32767) as i16)
                        .collect(),
                )
            };
            Ok(vec![Tensor::new(shape, data)])
        }
        DType::F32 | DType::F16 | DType::U8 => {
            let v: Vec<f32> = match &t.data {
                Data::F32(v) => v.clone(),
                d => d.to_f64().into_iter().map(|x| x as f32).collect(),
            };
            let round = if t.dtype() == DType::U8 { 0.5 } else { 0.0 };
            let (hs, ws) = (scale(h, oh, p.align_corners), scale(w, ow, p.align_corners));
            let mut out = Vec::with_capacity(n * oh * ow * c);
            for b in 0..n {
                for y in 0..oh {
                    let (iy, y0, y1) = interp(y, hs, p.half_pixel_centers, h);
                    let dy = iy - y0 as f32;
                    for x in 0..ow {
                        let (ix, x0, x1) = interp(x, ws, p.half_pixel_centers, w);
                        let dx = ix - x0 as f32;
                        for ch in 0..c {
                            out.push(
                                v[at(b, y0, x0, ch)] * (1.0 - dy) * (1.0 - dx)
                                    + v[at(b, y1, x0, ch)] * dy * (1.0 - dx)
                                    + v[at(b, y0, x1, ch)] * (1.0 - dy) * dx
                                    + v[at(b, y1, x1, ch)] * dy * dx
                                    + round,
                            );
                        }
                    }
                }
            }
            let data = match t.dtype() {
                DType::U8 => Data::U8(out.into_iter().map(|x| x.clamp(0.0, 255.0) as u8).collect()),
                DType::F16 => Data::F16(out.into_iter().map(f16::from_f32).collect()),
                _ => Data::F32(out),
            };
            Ok(vec![Tensor::new(shape, data)])
        }
        _ => Err(ctx.unsupported_dtype(0)),
    }
}

/// The nearest input coordinate of output coordinate `v` (LiteRT GetNearestNeighbor).
fn nearest(v: usize, input: usize, output: usize, p: &Resize) -> usize {
    let s = scale(input, output, p.align_corners);
    let off = if p.half_pixel_centers { 0.5 } else { 0.0 };
    let x = (v as f32 + off) * s;
    let i = if p.align_corners {
        x.round() as i64
    } else {
        x.floor() as i64
    };
    i.min(input as i64 - 1).max(0) as usize
}

/// Kernel of resize_nearest.
pub fn resize_nearest(ctx: &mut OpCtx, p: &Resize) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let ([n, h, w, c], [oh, ow]) = dims(ctx)?;
    let ys: Vec<usize> = (0..oh).map(|y| nearest(y, h, oh, p)).collect();
    let xs: Vec<usize> = (0..ow).map(|x| nearest(x, w, ow, p)).collect();
    let mut src = Vec::with_capacity(n * oh * ow * c);
    for b in 0..n {
        for &y in &ys {
            for &x in &xs {
                let base = ((b * h + y) * w + x) * c;
                src.extend(base..base + c);
            }
        }
    }
    Ok(vec![Tensor::new(
        vec![n, oh, ow, c],
        t.data.gather(src.into_iter()),
    )])
}

#[cfg(test)]
mod tests {
    use crate::cpu::ops::layout::testutil::*;
    use crate::graph::op::Resize;
    use crate::graph::Op;
    use crate::graph::{Data, Tensor};

    fn bil(p: Resize, t: Tensor, h: i32, w: i32) -> Tensor {
        let d = t.dtype();
        run(
            Op::ResizeBilinear(p),
            vec![t, i32t(vec![2], vec![h, w])],
            &[d],
        )
        .unwrap()[0]
            .clone()
    }

    fn nn(p: Resize, t: Tensor, h: i32, w: i32) -> Tensor {
        let d = t.dtype();
        run(
            Op::ResizeNearestNeighbor(p),
            vec![t, i32t(vec![2], vec![h, w])],
            &[d],
        )
        .unwrap()[0]
            .clone()
    }

    #[test]
    fn bilinear_modes() {
        let t = Tensor::f32(vec![1, 1, 2, 1], vec![0., 4.]);
        let r = bil(Resize::default(), t.clone(), 1, 4);
        assert_eq!(f(&r), vec![0., 2., 4., 4.]);
        let r = bil(
            Resize {
                align_corners: true,
                half_pixel_centers: false,
            },
            t.clone(),
            1,
            3,
        );
        assert_eq!(f(&r), vec![0., 2., 4.]);
        let r = bil(
            Resize {
                align_corners: false,
                half_pixel_centers: true,
            },
            t.clone(),
            1,
            4,
        );
        assert_eq!(f(&r), vec![0., 1., 3., 4.]);
        let q = Tensor::new(vec![1, 1, 2, 1], Data::I8(vec![0, 3]));
        let r = bil(
            Resize {
                align_corners: false,
                half_pixel_centers: true,
            },
            q,
            1,
            4,
        );
        assert_eq!(r.data, Data::I8(vec![0, 1, 2, 3]));
        let q = Tensor::new(vec![1, 1, 2, 1], Data::U8(vec![0, 3]));
        let r = bil(Resize::default(), q, 1, 4);
        assert_eq!(r.data, Data::U8(vec![0, 2, 3, 3]));
    }

    #[test]
    fn nearest_modes() {
        let t = Tensor::f32(vec![1, 1, 3, 1], vec![0., 1., 2.]);
        assert_eq!(f(&nn(Resize::default(), t.clone(), 1, 2)), vec![0., 1.]);
        let ac = Resize {
            align_corners: true,
            half_pixel_centers: false,
        };
        assert_eq!(f(&nn(ac, t.clone(), 1, 2)), vec![0., 2.]);
        let hp = Resize {
            align_corners: false,
            half_pixel_centers: true,
        };
        assert_eq!(f(&nn(hp, t.clone(), 1, 2)), vec![0., 2.]);
        assert_eq!(f(&nn(hp, t, 1, 5)), vec![0., 0., 1., 2., 2.]);
    }
}
