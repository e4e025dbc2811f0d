//! MediaPipe's transform custom ops (mediapipe/util/tflite/operations):
//! Landmarks2TransformMatrix, TransformTensor / TransformTensorBilinear and
//! TransformLandmarks, in f32 with MediaPipe's order of operations. As in
//! MediaPipe, TransformTensor samples batch 0 and writes a batch of 1; MediaPipe's
//! TransformLandmarks leaves batches past the first unwritten, here every batch is
//! transformed alike.

use super::OpCtx;
use crate::error::Result;
use crate::graph::op::*;
use crate::graph::{DType, Tensor};

/// Run one of MediaPipe's transform ops.
pub fn eval(ctx: &mut OpCtx, op: &MediaPipeOp) -> Result<Vec<Tensor>> {
    match op {
        MediaPipeOp::LandmarksToTransformMatrix(p) => landmarks_to_matrix(ctx, p),
        MediaPipeOp::TransformTensorBilinear(p) => transform_tensor(ctx, p),
        MediaPipeOp::TransformLandmarks(p) => transform_landmarks(ctx, p),
    }
}

/// A row-major 3x3 matrix.
type Mat3 = [[f32; 3]; 3];
/// A row-major 4x4 matrix.
type Mat4 = [[f32; 4]; 4];

fn mul3(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut r = [[0.0; 3]; 3];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).fold(0.0, |s, k| s + a[i][k] * b[k][j]);
        }
    }
    r
}

fn mul4(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut r = [[0.0; 4]; 4];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..4).fold(0.0, |s, k| s + a[i][k] * b[k][j]);
        }
    }
    r
}

/// `x`, `y` rotated by `a` radians.
fn rotate(x: f32, y: f32, a: f32) -> (f32, f32) {
    (x * a.cos() - y * a.sin(), x * a.sin() + y * a.cos())
}

/// Landmarks that Landmarks2TransformMatrix cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LandmarkIndexError {
    /// An index in the options points past the landmarks.
    #[error("landmark {index} is out of range of {count} landmarks")]
    OutOfRange {
        /// The index from the options.
        index: usize,
        /// How many landmarks there are.
        count: usize,
    },
    /// Version 2's rotation landmarks have no z coordinate.
    #[error("the rotation landmarks lack their z")]
    MissingZ,
}

/// The 4x4 matrix of Landmarks2TransformMatrix from landmarks `lm` (x, y, z each).
/// Errors name the landmark index that is out of range.
pub fn landmarks_matrix(
    p: &LandmarksToMatrix,
    lm: &[f32],
) -> std::result::Result<[f32; 16], LandmarkIndexError> {
    let xy = |i: usize| -> std::result::Result<(f32, f32), LandmarkIndexError> {
        match (
            lm.get(i.wrapping_mul(3)),
            lm.get(i.wrapping_mul(3).wrapping_add(1)),
        ) {
            (Some(&x), Some(&y)) if i < usize::MAX / 3 => Ok((x, y)),
            _ => Err(LandmarkIndexError::OutOfRange {
                index: i,
                count: lm.len() / 3,
            }),
        }
    };
    match p {
        LandmarksToMatrix::V1(p) => {
            let (lx, ly) = xy(p.left_rotation_idx)?;
            let (rx, ry) = xy(p.right_rotation_idx)?;
            let alpha = -((ry - ly) / (rx - lx)).atan();
            let (mut max, mut min) = ((-100000f32, -100000f32), (100000f32, 100000f32));
            for pair in &p.subset {
                for &i in pair {
                    let (x, y) = xy(i)?;
                    let (x, y) = rotate(x, y, alpha);
                    max = (max.0.max(x), max.1.max(y));
                    min = (min.0.min(x), min.1.min(y));
                }
            }
            let m = p.bbox_size_multiplier;
            let range = p.landmarks_range as f32;
            let bbox = ((max.0 - min.0) * m, (max.1 - min.1) * m);
            let scale = [
                [bbox.0 / range, 0.0, 0.0],
                [0.0, bbox.1 / range, 0.0],
                [0.0, 0.0, 1.0],
            ];
            let middle = ((max.0 + min.0) / 2.0, (max.1 + min.1) / 2.0);
            let rm = rotate(middle.0, middle.1, -alpha);
            let (c, s) = ((-alpha).cos(), (-alpha).sin());
            let rotation = [
                [c, -s, (rm.0 / range) * 2.0 - 1.0],
                [s, c, (rm.1 / range) * 2.0 - 1.0],
                [0.0, 0.0, 1.0],
            ];
            let [in_h, in_w] = p.input_hw.map(|v| v as f32);
            let [out_h, out_w] = p.output_hw.map(|v| v as f32);
            let to_relative = [
                [2.0 / (out_w - 1.0), 0.0, -1.0],
                [0.0, 2.0 / (out_h - 1.0), -1.0],
                [0.0, 0.0, 1.0],
            ];
            let to_absolute = [
                [(in_w - 1.0) / 2.0, 0.0, (in_w - 1.0) / 2.0],
                [0.0, (in_h - 1.0) / 2.0, (in_h - 1.0) / 2.0],
                [0.0, 0.0, 1.0],
            ];
            let t = mul3(&mul3(&mul3(&to_absolute, &rotation), &scale), &to_relative);
            Ok([
                t[0][0], t[0][1], 0.0, t[0][2], //
                t[1][0], t[1][1], 0.0, t[1][2], //
                t[2][0], t[2][1], t[2][2], 0.0, //
                0.0, 0.0, 0.0, 1.0,
            ])
        }
        LandmarksToMatrix::V2(p) => {
            let (lx, ly) = xy(p.left_rotation_idx)?;
            let (rx, ry) = xy(p.right_rotation_idx)?;
            if lm.len() < 3 * (p.left_rotation_idx.max(p.right_rotation_idx) + 1) {
                return Err(LandmarkIndexError::MissingZ);
            }
            let r = p.target_rotation_radians - (ry - ly).atan2(rx - lx);
            let mut pts = Vec::with_capacity(2 * p.subset_idxs.len());
            for pair in &p.subset_idxs {
                for &i in pair {
                    let (x, y) = xy(i)?;
                    pts.push(rotate(x, y, r));
                }
            }
            let first = pts.first().copied().unwrap_or((0.0, 0.0));
            let (mut max, mut min) = (first, first);
            for &(x, y) in &pts[1..] {
                max = (
                    if max.0 < x { x } else { max.0 },
                    if max.1 < y { y } else { max.1 },
                );
                min = (
                    if min.0 > x { x } else { min.0 },
                    if min.1 > y { y } else { min.1 },
                );
            }
            let (w, h) = (max.0 - min.0, max.1 - min.1);
            let (cx, cy) = rotate((min.0 + max.0) / 2.0, (min.1 + max.1) / 2.0, -r);
            let (ow, oh) = (p.output_width as f32, p.output_height as f32);
            let shift = |x: f32, y: f32| {
                [
                    [1.0, 0.0, 0.0, x],
                    [0.0, 1.0, 0.0, y],
                    [0.0, 0.0, 1.0, 0.0],
                    [0.0, 0.0, 0.0, 1.0],
                ]
            };
            let (c, s) = ((-r).cos(), (-r).sin());
            let rotation = [
                [c, -s, 0.0, 0.0],
                [s, c, 0.0, 0.0],
                [0.0, 0.0, 1.0, 0.0],
                [0.0, 0.0, 0.0, 1.0],
            ];
            let (sx, sy) = (p.scale_x * w / ow, p.scale_y * h / oh);
            let scale = [
                [sx, 0.0, 0.0, 0.0],
                [0.0, sy, 0.0, 0.0],
                [0.0, 0.0, 1.0, 0.0],
                [0.0, 0.0, 0.0, 1.0],
            ];
            let t = mul4(&shift(cx, cy), &rotation);
            let t = mul4(&t, &scale);
            let t = mul4(&t, &shift(-(ow / 2.0), -(oh / 2.0)));
            let mut out = [0.0; 16];
            for (o, v) in out.iter_mut().zip(t.iter().flatten()) {
                *o = *v;
            }
            Ok(out)
        }
    }
}

fn landmarks_to_matrix(ctx: &mut OpCtx, p: &LandmarksToMatrix) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    let rank = match p {
        LandmarksToMatrix::V1(_) => 4,
        LandmarksToMatrix::V2(_) => 3,
    };
    if x.rank() != rank {
        return Err(ctx.err(format!(
            "landmarks must be {rank}-D for this version, got {:?}",
            x.shape
        )));
    }
    let lm = ctx.input_f32(0)?;
    let m = landmarks_matrix(p, lm).map_err(|e| ctx.err(e.to_string()))?;
    Ok(vec![Tensor::f32(vec![1, 4, 4], m.to_vec())])
}

/// The first two rows of a transform matrix input (16 values, row-major).
fn matrix_rows(ctx: &OpCtx, i: usize) -> Result<[[f32; 4]; 2]> {
    let m = ctx.input_f32(i)?;
    if m.len() < 8 {
        return Err(ctx.err(format!(
            "the matrix input has {} values, expected 16",
            m.len()
        )));
    }
    Ok([[m[0], m[1], m[2], m[3]], [m[4], m[5], m[6], m[7]]])
}

fn dot(a: &[f32; 4], x: f32, y: f32) -> f32 {
    a[0] * x + a[1] * y + a[2] * 0.0 + a[3] * 1.0
}

/// The matrix rows TransformTensorBilinear samples with: with `align_corners`
/// (version 2) the matrix maps pixel centres, T' = S * T * A with A a shift by +0.5
/// and S by -0.5.
pub fn sampling_rows(rows: [[f32; 4]; 2], align_corners: bool) -> [[f32; 4]; 2] {
    let mut r = rows;
    if align_corners {
        for row in &mut r {
            row[3] += row[0] * 0.5 + row[1] * 0.5 - 0.5;
        }
    }
    r
}

fn transform_tensor(ctx: &mut OpCtx, p: &TransformTensor) -> Result<Vec<Tensor>> {
    let xt = ctx.input(0)?;
    let [_, h, w, c] = match xt.shape[..] {
        [n, h, w, c] if n >= 1 => [n, h, w, c],
        _ => return Err(ctx.err(format!("data must be 4-D, got {:?}", xt.shape))),
    };
    let x = ctx.input_f32(0)?;
    let [xr, yr] = sampling_rows(matrix_rows(ctx, 1)?, p.align_corners);
    let (oh, ow) = (p.output_height, p.output_width);
    let shape = vec![1, oh, ow, c];
    if let Some(d) = ctx.output_infos.first().map(|t| &t.shape) {
        if d.len() == 4 && d[1..] != shape[1..] {
            return Err(ctx.err(format!(
                "the options' output {oh}x{ow}x{c} differs from the declared output {d:?}"
            )));
        }
    }
    ctx.check_size(&shape, DType::F32)?;
    let mut out = vec![0.0f32; oh * ow * c];
    let (hf, wf) = ((h as f32) - 1.0, (w as f32) - 1.0);
    let read = |yy: f32, xx: f32, ch: usize| -> f32 {
        if yy < 0.0 || xx < 0.0 || yy >= h as f32 || xx >= w as f32 {
            0.0
        } else {
            x[((yy as usize) * w + xx as usize) * c + ch]
        }
    };
    for oy in 0..oh {
        for ox in 0..ow {
            let (fx, fy) = (ox as f32, oy as f32);
            let tx = dot(&xr, fx, fy);
            let ty = dot(&yr, fx, fy);
            if tx < 0.0 || tx > wf || ty < 0.0 || ty > hf || tx.is_nan() || ty.is_nan() {
                continue;
            }
            let (x0, y0) = (tx.floor(), ty.floor());
            let (right, lower) = (tx - x0, ty - y0);
            let o = (oy * ow + ox) * c;
            for (ch, v) in out[o..o + c].iter_mut().enumerate() {
                let q11 = read(y0, x0, ch);
                let q21 = read(y0, x0 + 1.0, ch);
                let q12 = read(y0 + 1.0, x0, ch);
                let q22 = read(y0 + 1.0, x0 + 1.0, ch);
                let upper = (1.0 - right) * q11 + right * q21;
                let low = (1.0 - right) * q12 + right * q22;
                *v = lower * low + (1.0 - lower) * upper;
            }
        }
    }
    Ok(vec![Tensor::f32(shape, out)])
}

/// Every landmark (runs of `dims` values over the whole tensor) has its x and y
/// replaced by the first two matrix rows applied to (x, y, 0, 1), the translation
/// times `scale`; z is copied.
fn transform_landmarks(ctx: &mut OpCtx, p: &TransformLandmarks) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let (dims, scale) = p.layout(&t.shape).map_err(|e| ctx.err(e.to_string()))?;
    let lm = ctx.input_f32(0)?;
    let [mut xr, mut yr] = matrix_rows(ctx, 1)?;
    xr[3] *= scale;
    yr[3] *= scale;
    let mut out = lm.to_vec();
    for l in out.chunks_exact_mut(dims) {
        let (x, y) = (l[0], l[1]);
        l[0] = dot(&xr, x, y);
        l[1] = dot(&yr, x, y);
    }
    Ok(vec![Tensor::f32(t.shape.clone(), out)])
}
