//! RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR: shaders/resize.wgsl, one invocation
//! per output element with the CPU kernel's float coordinate arithmetic.

use super::data_is_f32;
use super::quant::is_quantized;
use super::LowerCtx;
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Resize;
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/resize.wgsl.
    struct ResizeParams {
        n: u32,
        h: u32,
        w: u32,
        c: u32,
        oh: u32,
        ow: u32,
        half_pixel: u32,
        align_corners: u32,
        h_scale: f32,
        w_scale: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

static RESIZE: Shader = Shader {
    name: "resize",
    parts: &[include_str!("../../../shaders/resize.wgsl")],
    selectors: &[],
    defines: &[],
    params: ResizeParams::LAYOUT,
};

/// The float input-over-output scale of one axis (as src/cpu/ops/resize.rs).
fn scale(input: usize, output: usize, align_corners: bool) -> f32 {
    if align_corners && output > 1 {
        (input - 1) as f32 / (output - 1) as f32
    } else {
        input as f32 / output as f32
    }
}

fn params(op: &Op) -> Option<(Resize, bool)> {
    match op {
        Op::ResizeBilinear(p) => Some((*p, false)),
        Op::ResizeNearestNeighbor(p) => Some((*p, true)),
        _ => None,
    }
}

/// Input [n, h, w, c] and output [oh, ow], checked against the declared output.
fn dims(in_shape: &[usize], out_shape: &[usize]) -> Support<([usize; 4], [usize; 2])> {
    let [n, h, w, c] = match in_shape {
        &[a, b, c, d] => [a, b, c, d],
        s => return Err(format!("resize input must be 4-D, got {s:?}").into()),
    };
    if h == 0 || w == 0 {
        return Err("resize input has an empty spatial dimension".into());
    }
    match out_shape {
        &[on, oh, ow, oc] if on == n && oc == c && oh > 0 && ow > 0 => Ok(([n, h, w, c], [oh, ow])),
        s => Err(format!("resize output shape {s:?} does not fit input {in_shape:?}").into()),
    }
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    params(&node.op)
        .ok_or_else(|| Unsupported::from(format!("{} is not a resize", node.op.name())))?;
    data_is_f32(node, sg)?;
    let x = node.input(0).ok_or(Unsupported::from("missing input 0"))?;
    let size = node
        .input(1)
        .ok_or(Unsupported::from("missing size input"))?;
    if !sg.tensors[size].is_constant() {
        return Err("the output size must be a constant".into());
    }
    let y = *node
        .outputs
        .first()
        .ok_or(Unsupported::from("missing output 0"))?;
    dims(&sg.tensors[x].shape, &sg.tensors[y].shape).map(|_| ())
}

/// Record the dispatch of a resize node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (p, nearest) = params(&ctx.node.op).ok_or_else(|| ctx.err("not a resize"))?;
    let size = ctx.const_ints(1)?;
    let in_shape = ctx.in_info(0)?.shape.clone();
    let out_shape = ctx.out_info(0)?.shape.clone();
    let ([n, h, w, c], [oh, ow]) = dims(&in_shape, &out_shape).map_err(|e| ctx.err(e))?;
    if size.as_slice() != [oh as i64, ow as i64] {
        return Err(ctx.err(format!(
            "size {size:?} differs from the output shape {out_shape:?}"
        )));
    }
    let total = n * oh * ow * c;
    let hs = scale(h, oh, p.align_corners);
    let ws = scale(w, ow, p.align_corners);
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    ctx.dispatch(
        &RESIZE,
        vec![("NEAREST", if nearest { 1.0 } else { 0.0 })],
        ResizeParams {
            n: total as u32,
            h: h as u32,
            w: w as u32,
            c: c as u32,
            oh: oh as u32,
            ow: ow as u32,
            half_pixel: u32::from(p.half_pixel_centers),
            align_corners: u32::from(p.align_corners),
            h_scale: hs,
            w_scale: ws,
            ..Default::default()
        },
        vec![x, out],
        total as u64,
    )
}

gpu_op! {
    /// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on float data.
    ResizeFamily "resize" {
        claims: |node, sg| params(&node.op).is_some() && !is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &RESIZE,
        ],
    }
}
