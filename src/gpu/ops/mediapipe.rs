//! MediaPipe's transform custom ops on the GPU: Landmarks2TransformMatrix (one
//! invocation builds the matrix: shaders/mp_landmarks_matrix.wgsl),
//! TransformTensor / TransformTensorBilinear (one invocation per output element:
//! shaders/mp_transform_tensor.wgsl) and TransformLandmarks (one per landmark:
//! shaders/mp_transform_landmarks.wgsl). The matrix stays on the GPU between them.

use super::quant::is_quantized;
use super::{float_io, LowerCtx};
use crate::error::Result;
use crate::gpu::program::Elem;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::{LandmarksToMatrix, MediaPipeOp, TransformTensor};
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/mp_landmarks_matrix.wgsl.
    struct LandmarksMatrixParams {
        version: u32,
        left: u32,
        right: u32,
        count: u32,
        f0: f32,
        f1: f32,
        f2: f32,
        f3: f32,
        f4: f32,
        f5: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

uniforms! {
    /// `Params` of shaders/mp_transform_tensor.wgsl.
    struct TransformTensorParams {
        n: u32,
        h: u32,
        w: u32,
        c: u32,
        oh: u32,
        ow: u32,
        align: u32,
        _pad0: u32,
    }
}

uniforms! {
    /// `Params` of shaders/mp_transform_landmarks.wgsl.
    struct TransformLandmarksParams {
        n: u32,
        dims: u32,
        scale: f32,
        _pad0: u32,
    }
}

static LANDMARKS_MATRIX: Shader = Shader {
    name: "mp_landmarks_matrix",
    parts: &[include_str!("../../../shaders/mp_landmarks_matrix.wgsl")],
    selectors: &[],
    defines: &[],
    params: LandmarksMatrixParams::LAYOUT,
};

static TRANSFORM_TENSOR: Shader = Shader {
    name: "mp_transform_tensor",
    parts: &[include_str!("../../../shaders/mp_transform_tensor.wgsl")],
    selectors: &[],
    defines: &[],
    params: TransformTensorParams::LAYOUT,
};

static TRANSFORM_LANDMARKS: Shader = Shader {
    name: "mp_transform_landmarks",
    parts: &[include_str!("../../../shaders/mp_transform_landmarks.wgsl")],
    selectors: &[],
    defines: &[],
    params: TransformLandmarksParams::LAYOUT,
};

fn op(node: &Node) -> Option<&MediaPipeOp> {
    match &node.op {
        Op::MediaPipe(m) => Some(m),
        _ => None,
    }
}

fn shape_of(node: &Node, sg: &Subgraph, i: usize) -> Support<Vec<usize>> {
    node.input(i)
        .map(|t| sg.tensors[t].shape.clone())
        .ok_or_else(|| Unsupported::from(format!("missing input {i}")))
}

fn out_shape(node: &Node, sg: &Subgraph) -> Support<Vec<usize>> {
    node.outputs
        .first()
        .map(|&t| sg.tensors[t].shape.clone())
        .ok_or(Unsupported::from("missing output 0"))
}

/// A matrix input holds at least the two rows the kernels read.
fn matrix_input(node: &Node, sg: &Subgraph) -> Support {
    let n: usize = shape_of(node, sg, 1)?.iter().product();
    if n < 8 {
        return Err(format!("the matrix input has {n} values, expected 16").into());
    }
    Ok(())
}

/// The flattened subset indices and the (left, right) axis of a matrix node,
/// checked against `landmarks` input values.
fn subset(p: &LandmarksToMatrix, landmarks: usize) -> Support<(Vec<u32>, [u32; 2])> {
    let (pairs, left, right, per) = match p {
        LandmarksToMatrix::V1(v) => (&v.subset, v.left_rotation_idx, v.right_rotation_idx, 2),
        LandmarksToMatrix::V2(v) => (&v.subset_idxs, v.left_rotation_idx, v.right_rotation_idx, 3),
    };
    let idx: Vec<usize> = pairs.iter().flatten().copied().collect();
    for &i in idx.iter().chain([&left, &right]) {
        let need = i.checked_mul(3).and_then(|v| v.checked_add(per));
        if need.is_none_or(|n| n > landmarks) || i > u32::MAX as usize {
            return Err(format!(
                "landmark {i} is out of range of {} landmarks",
                landmarks / 3
            )
            .into());
        }
    }
    if idx.is_empty() {
        return Err("the subset is empty".into());
    }
    Ok((
        idx.iter().map(|&i| i as u32).collect(),
        [left as u32, right as u32],
    ))
}

/// Why a MediaPipe node stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    let m = op(node)
        .ok_or_else(|| Unsupported::from(format!("{} is not a MediaPipe op", node.op.name())))?;
    float_io(node, sg)?;
    let x = shape_of(node, sg, 0)?;
    let y = out_shape(node, sg)?;
    match m {
        MediaPipeOp::LandmarksToTransformMatrix(p) => {
            let rank = if matches!(p, LandmarksToMatrix::V1(_)) {
                4
            } else {
                3
            };
            if x.len() != rank {
                return Err(format!("landmarks must be {rank}-D, got {x:?}").into());
            }
            subset(p, x.iter().product())?;
            if y.iter().product::<usize>() != 16 {
                return Err(format!("the matrix output is {y:?}, expected [1, 4, 4]").into());
            }
        }
        MediaPipeOp::TransformTensorBilinear(p) => {
            matrix_input(node, sg)?;
            tensor_dims(p, &x, &y)?;
        }
        MediaPipeOp::TransformLandmarks(p) => {
            matrix_input(node, sg)?;
            p.layout(&x).map_err(|e| e.to_string())?;
            if x != y {
                return Err(format!("output {y:?} differs from the landmarks {x:?}").into());
            }
        }
    }
    Ok(())
}

/// [h, w, c] of the data and [oh, ow] of the output of a TransformTensor node.
fn tensor_dims(p: &TransformTensor, x: &[usize], y: &[usize]) -> Support<([usize; 3], [usize; 2])> {
    let [h, w, c] = match x {
        &[n, h, w, c] if n >= 1 && h > 0 && w > 0 && c > 0 => [h, w, c],
        s => return Err(format!("data must be 4-D and not empty, got {s:?}").into()),
    };
    let (oh, ow) = (p.output_height, p.output_width);
    if y != [1, oh, ow, c] {
        return Err(
            format!("the output {y:?} is not [1, {oh}, {ow}, {c}] (the options' size)").into(),
        );
    }
    Ok(([h, w, c], [oh, ow]))
}

/// Record the dispatch of a MediaPipe node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let m = op(ctx.node)
        .ok_or_else(|| ctx.err("not a MediaPipe op"))?
        .clone();
    support(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let x_shape = ctx.in_info(0)?.shape.clone();
    let y_shape = ctx.out_info(0)?.shape.clone();
    match &m {
        MediaPipeOp::LandmarksToTransformMatrix(p) => {
            let (idx, [left, right]) =
                subset(p, x_shape.iter().product()).map_err(|e| ctx.err(e))?;
            let params = match p {
                LandmarksToMatrix::V1(v) => LandmarksMatrixParams {
                    version: 1,
                    left,
                    right,
                    count: idx.len() as u32,
                    f0: v.landmarks_range as f32,
                    f1: v.bbox_size_multiplier,
                    f2: v.input_hw[0] as f32,
                    f3: v.input_hw[1] as f32,
                    f4: v.output_hw[0] as f32,
                    f5: v.output_hw[1] as f32,
                    ..Default::default()
                },
                LandmarksToMatrix::V2(v) => LandmarksMatrixParams {
                    version: 2,
                    left,
                    right,
                    count: idx.len() as u32,
                    f0: v.target_rotation_radians,
                    f1: v.output_width as f32,
                    f2: v.output_height as f32,
                    f3: v.scale_x,
                    f4: v.scale_y,
                    ..Default::default()
                },
            };
            let x = ctx.input(0)?;
            let s = ctx.b.constant_words(&idx, Elem::U32);
            let out = ctx.output(0)?;
            ctx.dispatch(&LANDMARKS_MATRIX, vec![], params, vec![x, s, out], 1)
        }
        MediaPipeOp::TransformTensorBilinear(p) => {
            let ([h, w, c], [oh, ow]) =
                tensor_dims(p, &x_shape, &y_shape).map_err(|e| ctx.err(e))?;
            let n = oh * ow * c;
            let x = ctx.input(0)?;
            let mat = ctx.input(1)?;
            let out = ctx.output(0)?;
            ctx.dispatch(
                &TRANSFORM_TENSOR,
                vec![],
                TransformTensorParams {
                    n: n as u32,
                    h: h as u32,
                    w: w as u32,
                    c: c as u32,
                    oh: oh as u32,
                    ow: ow as u32,
                    align: u32::from(p.align_corners),
                    ..Default::default()
                },
                vec![x, mat, out],
                n as u64,
            )
        }
        MediaPipeOp::TransformLandmarks(p) => {
            let (dims, scale) = p.layout(&x_shape).map_err(|e| ctx.err(e.to_string()))?;
            let n = x_shape.iter().product::<usize>() / dims;
            let x = ctx.input(0)?;
            let mat = ctx.input(1)?;
            let out = ctx.output(0)?;
            ctx.dispatch(
                &TRANSFORM_LANDMARKS,
                vec![],
                TransformLandmarksParams {
                    n: n as u32,
                    dims: dims as u32,
                    scale,
                    ..Default::default()
                },
                vec![x, mat, out],
                n as u64,
            )
        }
    }
}

gpu_op! {
    /// MediaPipe's transform ops on float data.
    MediaPipeFamily "mediapipe" {
        claims: |node, sg| op(node).is_some() && !is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &LANDMARKS_MATRIX,
            &TRANSFORM_TENSOR,
            &TRANSFORM_LANDMARKS,
        ],
    }
}
