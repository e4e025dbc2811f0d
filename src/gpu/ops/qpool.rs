//! Integer AVERAGE_POOL_2D and MAX_POOL_2D (shaders/qpool.wgsl) and integer MEAN
//! and SUM (shaders/qmean.wgsl), matching LiteRT's reference kernels: averages
//! round half away from zero, means requantize the i32 sum with a multiplier that
//! holds the division by the count (`QuantizedMeanOrSum`).

use super::pool::geometry;
use super::quant::is_quantized;
use super::quant::{activation, input, multiplier, out_range, output};
use super::reduce::reduce_view;
use super::{const_ints, LowerCtx, QMATH_WGSL};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::Support;
use crate::graph::op::{Activation, Reduce};
use crate::graph::quant::Multiplier;
use crate::graph::{Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/qpool.wgsl.
    struct QPoolParams {
        total: u32,
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
        lo: i32,
        hi: i32,
    }
}

uniforms! {
    /// `Params` of shaders/qmean.wgsl.
    struct QMeanParams {
        n: u32,
        r: u32,
        inner: u32,
        offset: i32,
        mantissa: i32,
        shift: i32,
        out_zp: i32,
        lo: i32,
        hi: i32,
    }
}

/// A planned node: its kernel, override constants and uniforms.
enum Planned {
    Pool(f64, QPoolParams),
    Mean(QMeanParams),
}

static QPOOL: Shader = Shader {
    name: "qpool",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/qpool.wgsl")],
    selectors: &[],
    defines: &[],
    params: QPoolParams::LAYOUT,
};

static QMEAN: Shader = Shader {
    name: "qmean",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/qmean.wgsl")],
    selectors: &[],
    defines: &[],
    params: QMeanParams::LAYOUT,
};

fn plan_pool(node: &Node, sg: &Subgraph) -> Support<Planned> {
    let (p, is_max) = match &node.op {
        Op::AveragePool2D(p) => (*p, false),
        Op::MaxPool2D(p) => (*p, true),
        op => return Err(format!("{} is not a pool", op.name()).into()),
    };
    let x = input(node, sg, 0)?;
    let y = output(node, sg, 0)?;
    if x.dtype != y.dtype {
        return Err("input and output types differ".into());
    }
    activation(x)?;
    let (lo, hi) = out_range(y, p.activation)?;
    let ([_, ih, iw, c], [oh, ow], [pt, pl]) = geometry(&p, &x.shape, &y.shape)?;
    let n = y.num_elements();
    let u = |v: usize| v as u32;
    let params = QPoolParams {
        total: u(n),
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
        lo,
        hi,
    };
    Ok(Planned::Pool(if is_max { 1.0 } else { 0.0 }, params))
}

fn plan_mean(node: &Node, sg: &Subgraph, sum: bool) -> Support<Planned> {
    let x = input(node, sg, 0)?;
    let axes = const_ints(input(node, sg, 1)?)?;
    let y = output(node, sg, 0)?;
    if x.dtype != y.dtype {
        return Err("input and output types differ".into());
    }
    let (si, zi) = activation(x)?;
    let (so, zo) = activation(y)?;
    let (lo, hi) = out_range(y, Activation::None)?;
    let [outer, r, inner] = reduce_view(&x.shape, &axes)?;
    if outer * inner != y.num_elements() {
        return Err(format!(
            "output of {} elements does not match the reduction",
            y.num_elements()
        )
        .into());
    }
    if r == 0 {
        return Err("reduction over an empty axis".into());
    }
    let mut m = multiplier(si as f64 / so as f64);
    if !sum {
        let count = r as u64;
        let shift = (63 - count.leading_zeros() as i32)
            .min(32)
            .min(31 + m.shift)
            .max(0);
        let mant = ((m.mantissa as i64) << shift) / count as i64;
        m = Multiplier {
            mantissa: mant as i32,
            shift: m.shift - shift,
        };
    }
    let offset = (zi as i64).saturating_mul(r as i64) as i32;
    let n = outer * inner;
    Ok(Planned::Mean(QMeanParams {
        n: n as u32,
        r: r as u32,
        inner: inner as u32,
        offset,
        mantissa: m.mantissa,
        shift: m.shift,
        out_zp: zo,
        lo,
        hi,
    }))
}

fn plan(node: &Node, sg: &Subgraph) -> Support<Planned> {
    match &node.op {
        Op::Reduce {
            kind: Reduce::Mean, ..
        } => plan_mean(node, sg, false),
        Op::Reduce {
            kind: Reduce::Sum, ..
        } => plan_mean(node, sg, true),
        Op::Reduce { .. } => Err(format!("quantized {} runs on the CPU", node.op.name()).into()),
        _ => plan_pool(node, sg),
    }
}

/// Why a quantized pool or mean stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    plan(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized pool or mean.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let planned = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    match planned {
        Planned::Pool(op, p) => {
            ctx.dispatch(&QPOOL, vec![("OP", op)], p, vec![x, out], p.total.into())
        }
        Planned::Mean(p) => ctx.dispatch(&QMEAN, vec![], p, vec![x, out], p.n.into()),
    }
}

gpu_op! {
    /// Quantized AVERAGE_POOL_2D, MAX_POOL_2D and reductions (MEAN and SUM run here).
    QPool "qpool" {
        claims: |node, sg| {
            matches!(
                node.op,
                Op::AveragePool2D(_) | Op::MaxPool2D(_) | Op::Reduce { .. }
            ) && is_quantized(node, sg)
        },
        support: support,
        lower: lower,
        shaders: [
            &QPOOL,
            &QMEAN,
        ],
    }
}
