//! Integer BATCH_MATMUL of int8 operands: the float kernel's body
//! (shaders/matmul.wgsl) and stride plan (adjoints, broadcast batch dimensions)
//! behind the integer hooks of shaders/qmatmul.wgsl: i32 accumulation and
//! LiteRT's fixed-point requantization by a_scale * b_scale / out_scale.

use super::matmul::{plan, MATMUL_MAIN_SUBGROUP_WGSL, MATMUL_MAIN_WGSL, MATMUL_WGSL};
use super::quant::is_quantized;
use super::quant::{activation, input, multiplier, output};
use super::tiling::{in_bounds, Adapter, MatmulTiles};
use super::{LowerCtx, QMATH_WGSL};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::Support;
use crate::graph::quant::type_range;
use crate::graph::{DType, Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/qmatmul.wgsl (batch dims and strides padded to 4).
    struct QMatMulParams {
        total: u32,
        m: u32,
        n: u32,
        k: u32,
        a_sm: u32,
        a_sk: u32,
        b_sk: u32,
        b_sn: u32,
        nq: u32,
        a_zp: i32,
        b_zp: i32,
        mantissa: i32,
        shift: i32,
        out_zp: i32,
        lo: i32,
        hi: i32,
        batch: [u32; 4],
        a_bs: [u32; 4],
        b_bs: [u32; 4],
    }
}

static QMATMUL: Shader = Shader {
    name: "qmatmul",
    parts: &[
        QMATH_WGSL,
        include_str!("../../../shaders/qmatmul.wgsl"),
        MATMUL_WGSL,
        MATMUL_MAIN_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: QMatMulParams::LAYOUT,
};

static QMATMUL_SUBGROUP: Shader = Shader {
    name: "qmatmul_subgroup",
    parts: &[
        QMATH_WGSL,
        include_str!("../../../shaders/qmatmul.wgsl"),
        MATMUL_WGSL,
        MATMUL_MAIN_SUBGROUP_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: QMatMulParams::LAYOUT,
};

fn params(node: &Node, sg: &Subgraph) -> Support<(QMatMulParams, [usize; 3])> {
    if !matches!(node.op, Op::BatchMatMul { .. }) {
        return Err(format!("{} is not BATCH_MATMUL", node.op.name()).into());
    }
    let a = input(node, sg, 0)?;
    let b = input(node, sg, 1)?;
    let y = output(node, sg, 0)?;
    if [a.dtype, b.dtype, y.dtype] != [DType::I8; 3] {
        return Err(format!(
            "BATCH_MATMUL of {} x {} -> {} runs on the CPU; the GPU kernel takes int8",
            a.dtype, b.dtype, y.dtype
        )
        .into());
    }
    let (sa, za) = activation(a)?;
    let (sb, zb) = activation(b)?;
    let (so, zo) = activation(y)?;
    let p = plan(node, sg)?;
    let (lo, hi) = type_range(DType::I8);
    let m = multiplier(sa as f64 * sb as f64 / so as f64);
    let nb: usize = p.batch.iter().product();
    let nq = p.n.div_ceil(4);
    let u = |v: usize| v as u32;
    let words = QMatMulParams {
        total: u(nb),
        m: u(p.m),
        n: u(p.n),
        k: u(p.k),
        a_sm: u(p.a_sm),
        a_sk: u(p.a_sk),
        b_sk: u(p.b_sk),
        b_sn: u(p.b_sn),
        nq: u(nq),
        a_zp: za,
        b_zp: zb,
        mantissa: m.mantissa,
        shift: m.shift,
        out_zp: zo,
        lo,
        hi,
        batch: p.batch.map(u),
        a_bs: p.a_bs.map(u),
        b_bs: p.b_bs.map(u),
    };
    let extents = [p.a_extent(), p.b_extent(), p.out_len()];
    Ok((words, extents))
}

/// Why a quantized BATCH_MATMUL stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    params(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized BATCH_MATMUL.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (words, [a_ext, b_ext, out_ext]) = params(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let u = |v: u32| v as usize;
    let tiles = MatmulTiles::of(
        u(words.total),
        u(words.m),
        u(words.n),
        u(words.k),
        &Adapter::of(ctx.b),
    );
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    let trusted = in_bounds(&[
        (ctx.in_info(0)?.num_elements(), a_ext),
        (ctx.in_info(1)?.num_elements(), b_ext),
        (ctx.out_info(0)?.num_elements(), out_ext),
    ]);
    let buffers = vec![a, b, out];
    ctx.dispatch_groups_trusted(
        if tiles.subgroup {
            &QMATMUL_SUBGROUP
        } else {
            &QMATMUL
        },
        tiles.constants(),
        words,
        buffers,
        tiles.workgroups,
        trusted,
    )
}

gpu_op! {
    /// Quantized BATCH_MATMUL.
    QMatMul "qmatmul" {
        claims: |node, sg| matches!(node.op, Op::BatchMatMul { .. }) && is_quantized(node, sg),
        support: support,
        lower: lower,
        shaders: [
            &QMATMUL,
            &QMATMUL_SUBGROUP,
        ],
    }
}
