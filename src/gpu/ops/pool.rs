//! AVERAGE_POOL_2D, MAX_POOL_2D and L2_POOL_2D: shaders/pool.wgsl, one invocation
//! per output element over NHWC, windows clipped to the input as the CPU kernel
//! does.

use super::quant::is_quantized;
use super::{data_is_f32, LowerCtx};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Pool2D;
use crate::graph::shape::padding;
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/pool.wgsl.
    struct PoolParams {
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

selectors! {
    /// What shaders/pool.wgsl computes over a window (`MODE`).
    enum PoolMode in POOL_MODES {
        Average = 0 => "POOL_AVERAGE",
        Max = 1 => "POOL_MAX",
        /// The square root of the mean of squares (L2_POOL_2D).
        L2 = 2 => "POOL_L2",
    }
}

static POOL: Shader = Shader {
    name: "pool",
    parts: &[include_str!("../../../shaders/pool.wgsl")],
    selectors: POOL_MODES,
    defines: &[],
    params: PoolParams::LAYOUT,
};

/// Pool geometry: [n, ih, iw, c], [oh, ow], [pad_top, pad_left].
pub(super) type Geom = ([usize; 4], [usize; 2], [usize; 2]);

pub(super) fn geometry(p: &Pool2D, in_shape: &[usize], out_shape: &[usize]) -> Support<Geom> {
    let [n, ih, iw, c] = match in_shape {
        &[a, b, c, d] => [a, b, c, d],
        s => return Err(format!("pool input must be 4-D, got {s:?}").into()),
    };
    let (oh, pt) = padding(p.padding, ih, p.filter_h, p.stride_h, 1)
        .ok_or(Unsupported::from("invalid pool stride or window"))?;
    let (ow, pl) = padding(p.padding, iw, p.filter_w, p.stride_w, 1)
        .ok_or(Unsupported::from("invalid pool stride or window"))?;
    if out_shape != [n, oh, ow, c] {
        return Err(format!(
            "pool output shape {out_shape:?} differs from the computed {:?}",
            [n, oh, ow, c]
        )
        .into());
    }
    Ok(([n, ih, iw, c], [oh, ow], [pt, pl]))
}

fn params(op: &Op) -> Option<(Pool2D, PoolMode)> {
    match op {
        Op::AveragePool2D(p) => Some((*p, PoolMode::Average)),
        Op::MaxPool2D(p) => Some((*p, PoolMode::Max)),
        Op::L2Pool2D(p) => Some((*p, PoolMode::L2)),
        _ => None,
    }
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    let (p, _) = params(&node.op)
        .ok_or_else(|| Unsupported::from(format!("{} is not a pool", node.op.name())))?;
    data_is_f32(node, sg)?;
    if p.activation.range().is_none() {
        return Err(format!("fused {:?} runs on the CPU", p.activation).into());
    }
    let x = node.input(0).ok_or(Unsupported::from("missing input 0"))?;
    let y = *node
        .outputs
        .first()
        .ok_or(Unsupported::from("missing output 0"))?;
    geometry(&p, &sg.tensors[x].shape, &sg.tensors[y].shape).map(|_| ())
}

/// Record the dispatch of a pool node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (p, mode) = params(&ctx.node.op).ok_or_else(|| ctx.err("not a pool"))?;
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
    let params = PoolParams {
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
    ctx.dispatch(
        &POOL,
        vec![("MODE", f64::from(mode as u32))],
        params,
        vec![x, out],
        n as u64,
    )
}

gpu_op! {
    /// AVERAGE_POOL_2D, MAX_POOL_2D and L2_POOL_2D on float data (TFLite has no
    /// quantized L2 pool).
    Pool "pool" {
        claims: |node, sg| params(&node.op).is_some() && !is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &POOL,
        ],
    }
}
