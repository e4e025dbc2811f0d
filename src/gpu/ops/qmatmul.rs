//! Integer BATCH_MATMUL of int8 operands (shaders/qmatmul.wgsl): the float
//! kernel's stride plan (adjoints, broadcast batch dimensions) with i32
//! accumulation and LiteRT's fixed-point requantization by
//! a_scale * b_scale / out_scale.

use super::matmul::plan;
use super::quant::is_quantized;
use super::quant::{activation, input, mult_words, multiplier, output};
use super::{Caps, GpuOp, LowerCtx, Shader, QMATH_WGSL};
use crate::error::Result;
use crate::graph::quant::type_range;
use crate::graph::{DType, Node, Op, Subgraph};

static QMATMUL: Shader = Shader {
    name: "qmatmul",
    parts: &[QMATH_WGSL, include_str!("../../../shaders/qmatmul.wgsl")],
};

fn params(node: &Node, sg: &Subgraph) -> Result<(Vec<u32>, usize), String> {
    if !matches!(node.op, Op::BatchMatMul { .. }) {
        return Err(format!("{} is not BATCH_MATMUL", node.op.name()));
    }
    let a = input(node, sg, 0)?;
    let b = input(node, sg, 1)?;
    let y = output(node, sg, 0)?;
    if [a.dtype, b.dtype, y.dtype] != [DType::I8; 3] {
        return Err(format!(
            "BATCH_MATMUL of {} x {} -> {} runs on the CPU; the GPU kernel takes int8",
            a.dtype, b.dtype, y.dtype
        ));
    }
    let (sa, za) = activation(a)?;
    let (sb, zb) = activation(b)?;
    let (so, zo) = activation(y)?;
    let p = plan(node, sg)?;
    let (lo, hi) = type_range(DType::I8);
    let m = multiplier(sa as f64 * sb as f64 / so as f64);
    let nb: usize = p.batch.iter().product();
    let total = nb * p.m * p.n;
    let u = |v: usize| v as u32;
    let mut words = vec![
        u(total),
        u(p.m),
        u(p.n),
        u(p.k),
        u(p.a_sm),
        u(p.a_sk),
        u(p.b_sk),
        u(p.b_sn),
        za as u32,
        zb as u32,
    ];
    words.extend(mult_words(m));
    words.extend([zo as u32, lo as u32, hi as u32, 0]);
    words.extend(p.batch.iter().map(|&v| u(v)));
    words.extend(p.a_bs.iter().map(|&v| u(v)));
    words.extend(p.b_bs.iter().map(|&v| u(v)));
    Ok((words, total))
}

/// Why a quantized BATCH_MATMUL stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Result<(), String> {
    params(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized BATCH_MATMUL.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (words, total) = params(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    ctx.dispatch(&QMATMUL, vec![], words, vec![a, b, out], total as u64)
}

/// Quantized BATCH_MATMUL.
pub(crate) struct QMatMul;

/// The qmatmul family.
pub(crate) static OP: QMatMul = QMatMul;

impl GpuOp for QMatMul {
    fn name(&self) -> &'static str {
        "qmatmul"
    }

    fn claims(&self, node: &Node, sg: &Subgraph) -> bool {
        matches!(node.op, Op::BatchMatMul { .. }) && is_quantized(node, sg)
    }

    fn support(&self, node: &Node, sg: &Subgraph, _: &Caps) -> Result<(), String> {
        support(node, sg)
    }

    fn lower(&self, ctx: &mut LowerCtx) -> Result<()> {
        lower(ctx)
    }

    fn shaders(&self) -> &'static [&'static Shader] {
        static LIST: &[&Shader] = &[&QMATMUL];
        LIST
    }
}
