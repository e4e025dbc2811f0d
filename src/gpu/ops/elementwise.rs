//! Element-wise unary and binary ops (with broadcasting and fused activation):
//! shaders/unary.wgsl and shaders/binary.wgsl.

use super::{broadcast_strides6, dims6, float_io, vec8, Caps, GpuOp, LowerCtx, Shader};
use super::{quant::is_quantized, BROADCAST_WGSL};
use crate::error::Result;
use crate::graph::op::{Activation, Binary, Unary};
use crate::graph::{Node, Op, Subgraph};

static UNARY: Shader = Shader {
    name: "unary",
    parts: &[include_str!("../../../shaders/unary.wgsl")],
};

static BINARY: Shader = Shader {
    name: "binary",
    parts: &[BROADCAST_WGSL, include_str!("../../../shaders/binary.wgsl")],
};

fn unary_code(u: Unary) -> Option<u32> {
    Some(match u {
        Unary::Abs => 0,
        Unary::Neg => 1,
        Unary::Exp => 2,
        Unary::Log => 3,
        Unary::Sqrt => 4,
        Unary::Rsqrt => 5,
        Unary::Square => 6,
        Unary::Sin => 7,
        Unary::Cos => 8,
        Unary::Floor => 9,
        Unary::Ceil => 10,
        Unary::Round => 11,
        Unary::Sign => 12,
        Unary::Logistic => 13,
        Unary::Tanh => 14,
        Unary::HardSwish => 15,
        Unary::Elu => 16,
        Unary::Gelu { approximate: false } => 17,
        Unary::Gelu { approximate: true } => 18,
        Unary::LeakyRelu { .. } => 19,
        Unary::Relu | Unary::Relu6 | Unary::ReluN1To1 | Unary::Relu0To1 => 99,
        Unary::LogicalNot => return None,
    })
}

fn binary_code(b: Binary) -> Option<u32> {
    Some(match b {
        Binary::Add => 0,
        Binary::Sub => 1,
        Binary::Mul => 2,
        Binary::Div => 3,
        Binary::Maximum => 4,
        Binary::Minimum => 5,
        Binary::SquaredDifference => 6,
        Binary::Pow => 7,
        Binary::FloorDiv => 8,
        Binary::FloorMod => 9,
        _ => return None,
    })
}

/// The clamp range of a fused activation (tanh/sign-bit are not fused on the GPU).
pub fn clamp_range(act: Activation) -> Option<(f32, f32)> {
    act.range()
}

/// Support check for unary ops.
pub fn support_unary(node: &Node, sg: &Subgraph, u: Unary) -> Result<(), String> {
    unary_code(u).ok_or_else(|| format!("{u:?} has no float kernel"))?;
    float_io(node, sg)
}

/// Support check for binary ops.
pub fn support_binary(node: &Node, sg: &Subgraph, b: Binary) -> Result<(), String> {
    binary_code(b).ok_or_else(|| format!("{b:?} has no float kernel"))?;
    if let crate::graph::Op::Binary(_, act) = &node.op {
        clamp_range(*act).ok_or_else(|| format!("fused {act:?} runs on the CPU"))?;
    }
    float_io(node, sg)
}

/// Support check for PRELU.
pub fn support_prelu(node: &Node, sg: &Subgraph) -> Result<(), String> {
    float_io(node, sg)
}

/// Lower a unary op.
pub fn lower_unary(ctx: &mut LowerCtx, u: Unary) -> Result<()> {
    let code = unary_code(u).ok_or_else(|| ctx.err("not a float op"))?;
    let (lo, hi) = match u {
        Unary::Relu => (0.0, f32::INFINITY),
        Unary::Relu6 => (0.0, 6.0),
        Unary::ReluN1To1 => (-1.0, 1.0),
        Unary::Relu0To1 => (0.0, 1.0),
        _ => (f32::NEG_INFINITY, f32::INFINITY),
    };
    let alpha = match u {
        Unary::LeakyRelu { alpha } => alpha,
        _ => 0.0,
    };
    let n = ctx.out_info(0)?.num_elements();
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    ctx.dispatch(
        &UNARY,
        vec![("OP", code as f64)],
        vec![n as u32, alpha.to_bits(), lo.to_bits(), hi.to_bits()],
        vec![x, out],
        n as u64,
    )
}

fn lower_broadcast(ctx: &mut LowerCtx, code: u32, act: Activation) -> Result<()> {
    let (lo, hi) = clamp_range(act).ok_or_else(|| ctx.err("activation not fusable"))?;
    let out_shape = ctx.out_info(0)?.shape.clone();
    let a_shape = ctx.in_info(0)?.shape.clone();
    let b_shape = ctx.in_info(1)?.shape.clone();
    let n = out_shape.iter().product::<usize>();
    let mut params = vec![n as u32, lo.to_bits(), hi.to_bits(), 0];
    params.extend(vec8(dims6(&out_shape)));
    params.extend(vec8(broadcast_strides6(&a_shape, &out_shape)));
    params.extend(vec8(broadcast_strides6(&b_shape, &out_shape)));
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    ctx.dispatch(
        &BINARY,
        vec![("OP", code as f64)],
        params,
        vec![a, b, out],
        n as u64,
    )
}

/// Lower a binary op with its fused activation.
pub fn lower_binary(ctx: &mut LowerCtx, b: Binary, act: Activation) -> Result<()> {
    let code = binary_code(b).ok_or_else(|| ctx.err("not a float op"))?;
    lower_broadcast(ctx, code, act)
}

/// Lower PRELU (x >= 0 ? x : alpha * x, alpha broadcast).
pub fn lower_prelu(ctx: &mut LowerCtx) -> Result<()> {
    lower_broadcast(ctx, 10, Activation::None)
}

/// Float element-wise ops: every unary op but LOGICAL_NOT, every binary op but
/// the comparisons and logical ones, and PRELU.
pub(crate) struct Elementwise;

/// The element-wise family.
pub(crate) static OP: Elementwise = Elementwise;

impl GpuOp for Elementwise {
    fn name(&self) -> &'static str {
        "elementwise"
    }

    fn claims(&self, node: &Node, sg: &Subgraph) -> bool {
        let ours = match &node.op {
            Op::Unary(u) => *u != Unary::LogicalNot,
            Op::Binary(b, _) => !b.is_comparison(),
            Op::Prelu => true,
            _ => false,
        };
        ours && !is_quantized(node, sg)
    }

    fn support(&self, node: &Node, sg: &Subgraph, _: &Caps) -> Result<(), String> {
        match &node.op {
            Op::Unary(u) => support_unary(node, sg, *u),
            Op::Binary(b, _) => support_binary(node, sg, *b),
            _ => support_prelu(node, sg),
        }
    }

    fn lower(&self, ctx: &mut LowerCtx) -> Result<()> {
        match &ctx.node.op {
            Op::Unary(u) => lower_unary(ctx, *u),
            Op::Binary(b, act) => lower_binary(ctx, *b, *act),
            _ => lower_prelu(ctx),
        }
    }

    fn shaders(&self) -> &'static [&'static Shader] {
        static LIST: &[&Shader] = &[&UNARY, &BINARY];
        LIST
    }
}
