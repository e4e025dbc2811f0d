//! SOFTMAX, LOG_SOFTMAX and L2_NORMALIZATION along the last axis:
//! shaders/softmax.wgsl, one workgroup per row with f32 reductions: subgroup
//! operations on devices with SUBGROUP (shaders/row_reduce_subgroup.wgsl), a
//! workgroup-memory tree otherwise or when the program's
//! [`Tuning`](crate::gpu::tuning::Tuning) asks for workgroup reductions
//! (shaders/row_reduce_workgroup.wgsl).

use super::data_is_f32;
use super::quant::is_quantized;
use super::LowerCtx;
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Activation;
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/softmax.wgsl.
    struct SoftmaxParams {
        rows: u32,
        depth: u32,
        beta: f32,
        neg_inf: f32,
        act_min: f32,
        act_max: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// shaders/softmax.wgsl: the normalizations, before a row-reduction variant.
const SOFTMAX_WGSL: &str = include_str!("../../../shaders/softmax.wgsl");

static SOFTMAX: Shader = Shader {
    name: "softmax",
    parts: &[
        SOFTMAX_WGSL,
        include_str!("../../../shaders/row_reduce_workgroup.wgsl"),
    ],
    selectors: NORM_OPS,
    defines: &[],
    params: SoftmaxParams::LAYOUT,
};

static SOFTMAX_SUBGROUP: Shader = Shader {
    name: "softmax_subgroup",
    parts: &[
        SOFTMAX_WGSL,
        include_str!("../../../shaders/row_reduce_subgroup.wgsl"),
    ],
    selectors: NORM_OPS,
    defines: &[],
    params: SoftmaxParams::LAYOUT,
};

selectors! {
    /// The normalization shaders/softmax.wgsl computes (`OP`).
    enum NormOp in NORM_OPS {
        Softmax = 0 => "NORM_SOFTMAX",
        LogSoftmax = 1 => "NORM_LOG_SOFTMAX",
        L2 = 2 => "NORM_L2",
    }
}

/// Shader code, beta and fused activation of a node of this family.
fn variant(op: &Op) -> Option<(u32, f32, Activation)> {
    match op {
        Op::Softmax { beta } => Some((NormOp::Softmax as u32, *beta, Activation::None)),
        Op::LogSoftmax => Some((NormOp::LogSoftmax as u32, 1.0, Activation::None)),
        Op::L2Normalization(act) => Some((NormOp::L2 as u32, 1.0, *act)),
        _ => None,
    }
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    let (_, _, act) = variant(&node.op)
        .ok_or_else(|| Unsupported::from(format!("{} is not a normalization", node.op.name())))?;
    if act.range().is_none() {
        return Err(format!("fused {act:?} runs on the CPU").into());
    }
    data_is_f32(node, sg)
}

/// Record the dispatch of a normalization node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (code, beta, act) = variant(&ctx.node.op).ok_or_else(|| ctx.err("not a normalization"))?;
    let (lo, hi) = act
        .range()
        .ok_or_else(|| ctx.err("activation not fusable"))?;
    let shape = ctx.in_info(0)?.shape.clone();
    let depth = shape.last().copied().unwrap_or(1);
    let total = shape.iter().product::<usize>();
    let rows = total.checked_div(depth).unwrap_or(0);
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    let shader = if ctx.b.subgroups() {
        &SOFTMAX_SUBGROUP
    } else {
        &SOFTMAX
    };
    ctx.dispatch_groups(
        shader,
        vec![("OP", code as f64)],
        SoftmaxParams {
            rows: rows as u32,
            depth: depth as u32,
            beta,
            neg_inf: f32::NEG_INFINITY,
            act_min: lo,
            act_max: hi,
            ..Default::default()
        },
        vec![x, out],
        rows as u64,
    )
}

gpu_op! {
    /// SOFTMAX, LOG_SOFTMAX and L2_NORMALIZATION on float data.
    Normalize "normalize" {
        claims: |node, sg| variant(&node.op).is_some() && !is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &SOFTMAX,
            &SOFTMAX_SUBGROUP,
        ],
    }
}
