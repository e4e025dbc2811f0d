//! Integer SOFTMAX along the last axis (shaders/qsoftmax.wgsl): the row is
//! dequantized, normalized in f32 and requantized to the output's parameters, as
//! the CPU kernel computes it.

use super::quant::is_quantized;
use super::quant::{activation, input, output};
use super::{LowerCtx, QMATH_WGSL};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::Support;
use crate::graph::quant::type_range;
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/qsoftmax.wgsl.
    struct QSoftmaxParams {
        rows: u32,
        depth: u32,
        in_zp: i32,
        in_scale: f32,
        beta: f32,
        out_zp: i32,
        out_scale: f32,
        lo: i32,
        hi: i32,
    }
}

static QSOFTMAX: Shader = Shader {
    name: "qsoftmax",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/qsoftmax.wgsl")],
    selectors: &[],
    defines: &[],
    params: QSoftmaxParams::LAYOUT,
};

fn plan(node: &Node, sg: &Subgraph) -> Support<(QSoftmaxParams, usize)> {
    let Op::Softmax { beta } = &node.op else {
        return Err(format!("{} is not SOFTMAX", node.op.name()).into());
    };
    let x = input(node, sg, 0)?;
    let y = output(node, sg, 0)?;
    if x.dtype != y.dtype || x.shape != y.shape {
        return Err("input and output differ in type or shape".into());
    }
    let (si, zi) = activation(x)?;
    let (so, zo) = activation(y)?;
    let depth = x.shape.last().copied().unwrap_or(1);
    if depth == 0 {
        return Err("empty rows".into());
    }
    let rows = x.num_elements() / depth;
    let (lo, hi) = type_range(y.dtype);
    let params = QSoftmaxParams {
        rows: rows as u32,
        depth: depth as u32,
        in_zp: zi,
        in_scale: si,
        beta: *beta,
        out_zp: zo,
        out_scale: so,
        lo,
        hi,
    };
    Ok((params, rows))
}

/// Why a quantized softmax stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    plan(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized softmax.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (params, rows) = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    ctx.dispatch(&QSOFTMAX, vec![], params, vec![x, out], rows as u64)
}

gpu_op! {
    /// Quantized SOFTMAX.
    QSoftmax "qsoftmax" {
        claims: |node, sg| matches!(node.op, Op::Softmax { .. }) && is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &QSOFTMAX,
        ],
    }
}
