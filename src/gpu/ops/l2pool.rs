//! L2_POOL_2D: shaders/l2pool.wgsl, one invocation per output element over NHWC,
//! the square root of the mean of squares over each window clipped to the input,
//! as TFLite's (float-only) kernel and the CPU interpreter compute it.

use super::pool::{data_is_f32, geometry};
use super::quant::is_quantized;
use super::{Caps, GpuOp, LowerCtx, Shader};
use crate::error::Result;
use crate::graph::op::Pool2D;
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/l2pool.wgsl.
    struct L2PoolParams {
        n: u32,
        ih: u32,
        iw: u32,
        c: u32,
        oh: u32,
        ow: u32,
        fh: u32,
        fw: u32,
        sh: u32,
        sw: u32,
        pt: u32,
        pl: u32,
        act_min: f32,
        act_max: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

static L2POOL: Shader = Shader {
    name: "l2pool",
    parts: &[include_str!("../../../shaders/l2pool.wgsl")],
    selectors: &[],
    params: L2PoolParams::LAYOUT,
};

fn params(op: &Op) -> Option<Pool2D> {
    match op {
        Op::L2Pool2D(p) => Some(*p),
        _ => None,
    }
}

/// Why an L2_POOL_2D node stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Result<(), String> {
    let p = params(&node.op).ok_or_else(|| format!("{} is not L2_POOL_2D", node.op.name()))?;
    data_is_f32(node, sg)?;
    if p.activation.range().is_none() {
        return Err(format!("fused {:?} runs on the CPU", p.activation));
    }
    let x = node.input(0).ok_or_else(|| "missing input 0".to_string())?;
    let y = *node
        .outputs
        .first()
        .ok_or_else(|| "missing output 0".to_string())?;
    geometry(&p, &sg.tensors[x].shape, &sg.tensors[y].shape).map(|_| ())
}

/// Record the dispatch of an L2_POOL_2D node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let p = params(&ctx.node.op).ok_or_else(|| ctx.err("not L2_POOL_2D"))?;
    let (lo, hi) = p
        .activation
        .range()
        .ok_or_else(|| ctx.err("activation not fusable"))?;
    let in_shape = ctx.in_info(0)?.shape.clone();
    let out_shape = ctx.out_info(0)?.shape.clone();
    let ([_, ih, iw, c], [oh, ow], [pt, pl]) =
        geometry(&p, &in_shape, &out_shape).map_err(|e| ctx.err(e))?;
    let n = out_shape.iter().product::<usize>();
    let u = |v: usize| v as u32;
    let params = L2PoolParams {
        n: u(n),
        ih: u(ih),
        iw: u(iw),
        c: u(c),
        oh: u(oh),
        ow: u(ow),
        fh: u(p.filter_h),
        fw: u(p.filter_w),
        sh: u(p.stride_h),
        sw: u(p.stride_w),
        pt: u(pt),
        pl: u(pl),
        act_min: lo,
        act_max: hi,
        ..Default::default()
    };
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    ctx.dispatch(&L2POOL, vec![], params, vec![x, out], n as u64)
}

/// L2_POOL_2D on float data (TFLite has no quantized L2 pool).
pub(crate) struct L2Pool;

/// The L2 pool family.
pub(crate) static OP: L2Pool = L2Pool;

impl GpuOp for L2Pool {
    fn name(&self) -> &'static str {
        "l2pool"
    }

    fn claims(&self, node: &Node, sg: &Subgraph) -> bool {
        params(&node.op).is_some() && !is_quantized(node, sg)
    }

    fn support(&self, node: &Node, sg: &Subgraph, _: &Caps) -> Result<(), String> {
        support(node, sg)
    }

    fn lower(&self, ctx: &mut LowerCtx) -> Result<()> {
        lower(ctx)
    }

    fn shaders(&self) -> &'static [&'static Shader] {
        static LIST: &[&Shader] = &[&L2POOL];
        LIST
    }
}
