//! Integer ADD, SUB and MUL with numpy broadcasting (shaders/qbinary.wgsl), in
//! LiteRT's reference arithmetic: ADD/SUB rescale both inputs (shifted left by 20
//! bits, 15 for int16) to twice the larger input scale, combine them and
//! requantize; MUL requantizes the product with one multiplier.

use super::quant::is_quantized;
use super::quant::{activation, input, multiplier, out_range, output};
use super::{broadcast_strides6, dims6, vec8, LowerCtx, MAX_RANK};
use super::{Shader, BROADCAST_WGSL, QMATH_WGSL};
use crate::error::Result;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::Binary;
use crate::graph::quant::Multiplier;
use crate::graph::{DType, Node, Op, Subgraph};

uniforms! {
    /// `Params` of shaders/qbinary.wgsl: multipliers as (mantissa, shift) of input a, input b and the output.
    struct QBinaryParams {
        n: u32,
        left_shift: u32,
        a_zp: i32,
        b_zp: i32,
        ma: [i32; 2],
        mb: [i32; 2],
        mo: [i32; 2],
        out_zp: i32,
        lo: i32,
        hi: i32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
        shape: [u32; 8],
        a_strides: [u32; 8],
        b_strides: [u32; 8],
    }
}

selectors! {
    /// The function shaders/qbinary.wgsl applies (`OP`).
    enum QBinaryOp in QBINARY_OPS {
        Add = 0 => "QBINARY_ADD",
        Sub = 1 => "QBINARY_SUB",
        Mul = 2 => "QBINARY_MUL",
    }
}

static QBINARY: Shader = Shader {
    name: "qbinary",
    parts: &[
        BROADCAST_WGSL,
        QMATH_WGSL,
        include_str!("../../../shaders/qbinary.wgsl"),
    ],
    selectors: QBINARY_OPS,
    defines: &[],
    params: QBinaryParams::LAYOUT,
};

fn plan(node: &Node, sg: &Subgraph) -> Support<(u32, QBinaryParams, usize)> {
    let Op::Binary(b, act) = &node.op else {
        return Err(format!("{} is not a binary op", node.op.name()).into());
    };
    let a = input(node, sg, 0)?;
    let bt = input(node, sg, 1)?;
    let y = output(node, sg, 0)?;
    if a.dtype != y.dtype || bt.dtype != y.dtype {
        return Err("input and output types differ".into());
    }
    for t in [a, bt] {
        if t.shape.len() > MAX_RANK {
            return Err(format!("tensor {} has rank > {MAX_RANK}", t.name).into());
        }
    }
    let out_shape =
        crate::graph::broadcast::broadcast_shapes(&a.shape, &bt.shape).ok_or_else(|| {
            Unsupported::from(format!(
                "shapes {:?} and {:?} do not broadcast",
                a.shape, bt.shape
            ))
        })?;
    if out_shape != y.shape {
        return Err(format!(
            "output shape {:?} differs from the broadcast {out_shape:?}",
            y.shape
        )
        .into());
    }
    let (s1, z1) = activation(a)?;
    let (s2, z2) = activation(bt)?;
    let (so, zo) = activation(y)?;
    let (lo, hi) = out_range(y, *act)?;
    let (code, shift, ma, mb, mo) = match b {
        Binary::Add | Binary::Sub => {
            let shift = if y.dtype == DType::I16 { 15 } else { 20 };
            let twice_max = 2.0 * (s1 as f64).max(s2 as f64);
            (
                if *b == Binary::Add {
                    QBinaryOp::Add
                } else {
                    QBinaryOp::Sub
                },
                shift,
                multiplier(s1 as f64 / twice_max),
                multiplier(s2 as f64 / twice_max),
                multiplier(twice_max / ((1i64 << shift) as f64 * so as f64)),
            )
        }
        Binary::Mul => {
            // In single precision, as LiteRT and the CPU form it.
            let m = multiplier((s1 * s2 / so) as f64);
            (QBinaryOp::Mul, 0, m, m, m)
        }
        _ => return Err(format!("quantized {b:?} runs on the CPU").into()),
    };
    let n = y.num_elements();
    let pair = |m: Multiplier| [m.mantissa, m.shift];
    let params = QBinaryParams {
        n: n as u32,
        left_shift: shift,
        a_zp: z1,
        b_zp: z2,
        ma: pair(ma),
        mb: pair(mb),
        mo: pair(mo),
        out_zp: zo,
        lo,
        hi,
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
        shape: vec8(dims6(&y.shape)),
        a_strides: vec8(broadcast_strides6(&a.shape, &y.shape)),
        b_strides: vec8(broadcast_strides6(&bt.shape, &y.shape)),
    };
    Ok((code as u32, params, n))
}

/// Why a quantized binary node stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    plan(node, sg).map(|_| ())
}

/// Record the dispatch of a quantized binary node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let (code, params, n) = plan(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    ctx.dispatch(
        &QBINARY,
        vec![("OP", code as f64)],
        params,
        vec![a, b, out],
        n as u64,
    )
}

gpu_op! {
    /// Quantized ADD, SUB and MUL.
    QElementwise "qelementwise" {
        claims: |node, sg| {
            matches!(
                node.op,
                Op::Binary(Binary::Add | Binary::Sub | Binary::Mul, _)
            ) && is_quantized(node, sg)
        },
        support: support,
        lower: lower,
        shaders: [
            &QBINARY,
        ],
    }
}
