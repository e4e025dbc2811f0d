//! Integer AVERAGE_POOL_2D and MAX_POOL_2D (shaders/qpool.wgsl) and integer MEAN
//! and SUM (shaders/qmean.wgsl), matching LiteRT's reference kernels: averages
//! round half away from zero, means requantize the i32 sum with a multiplier that
//! holds the division by the count (`QuantizedMeanOrSum`).

use super::pool::geometry;
use super::quant::is_quantized;
use super::quant::{activation, input, mult_words, multiplier, out_range, output};
use super::reduce::reduce_view;
use super::{const_ints, Caps, GpuOp, LowerCtx, Shader, QMATH_WGSL};
use crate::error::Result;
use crate::graph::op::{Activation, Reduce};
use crate::graph::quant::Multiplier;
use crate::graph::{Node, Op, Subgraph};

static QPOOL: Shader = Shader {
    name: "qpool",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/qpool.wgsl")],
};

static QMEAN: Shader = Shader {
    name: "qmean",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/qmean.wgsl")],
};

/// A planned node: shader, override constants, uniform words, invocations.
type Planned = (&'static Shader, Vec<(&'static str, f64)>, Vec<u32>, usize);

fn plan_pool(node: &Node, sg: &Subgraph) -> Result<Planned, String> {
    let (p, is_max) = match &node.op {
        Op::AveragePool2D(p) => (*p, false),
        Op::MaxPool2D(p) => (*p, true),
        op => return Err(format!("{} is not a pool", op.name())),
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
    let words = [
        n, ih, iw, c, oh, ow, p.filter_h, p.filter_w, p.stride_h, p.stride_w, pt, pl,
    ];
    let mut params: Vec<u32> = words.iter().map(|&w| w as u32).collect();
    params.extend([lo as u32, hi as u32]);
    Ok((
        &QPOOL,
        vec![("OP", if is_max { 1.0 } else { 0.0 })],
        params,
        n,
    ))
}

fn plan_mean(node: &Node, sg: &Subgraph, sum: bool) -> Result<Planned, String> {
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
        ));
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
    let mut params = vec![n as u32, r as u32, inner as u32, offset as u32];
    params.extend(mult_words(m));
    params.extend([zo as u32, lo as u32, hi as u32]);
    Ok((&QMEAN, vec![], params, n))
}

fn plan(node: &Node, sg: &Subgraph) -> Result<Planned, String> {
    match &node.op {
        Op::Reduce {
            kind: Reduce::Mean, ..
        } => plan_mean(node, sg, false),
        Op::Reduce {
            kind: Reduce::Sum, ..
        } => plan_mean(node, sg, true),
        Op::Reduce { .. } => Err(format!("quantized {} runs on the CPU", node.op.name())),
        _ => plan_pool(node, sg),
    }
}

/// Why a quantized pool or mean stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Result<(), String> {
    plan(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized pool or mean.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (shader, constants, params, n) = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    ctx.dispatch(shader, constants, params, vec![x, out], n as u64)
}

/// Quantized AVERAGE_POOL_2D, MAX_POOL_2D and reductions (MEAN and SUM run here).
pub(crate) struct QPool;

/// The qpool family.
pub(crate) static OP: QPool = QPool;

impl GpuOp for QPool {
    fn name(&self) -> &'static str {
        "qpool"
    }

    fn claims(&self, node: &Node, sg: &Subgraph) -> bool {
        matches!(
            node.op,
            Op::AveragePool2D(_) | Op::MaxPool2D(_) | Op::Reduce { .. }
        ) && is_quantized(node, sg)
    }

    fn support(&self, node: &Node, sg: &Subgraph, _: &Caps) -> Result<(), String> {
        support(node, sg)
    }

    fn lower(&self, ctx: &mut LowerCtx) -> Result<()> {
        lower(ctx)
    }

    fn shaders(&self) -> &'static [&'static Shader] {
        static LIST: &[&Shader] = &[&QPOOL, &QMEAN];
        LIST
    }
}
