//! Element-wise unary and binary ops (with broadcasting and fused activation):
//! shaders/unary.wgsl and shaders/binary.wgsl.

use super::{broadcast_strides6, dims6, float_io, vec8, LowerCtx};
use super::{quant::is_quantized, BROADCAST_WGSL};
use crate::error::Result;
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::op::{Activation, Binary, Unary};
use crate::graph::{Node, Op, Subgraph};

static UNARY: Shader = Shader {
    name: "unary",
    parts: &[include_str!("../../../shaders/unary.wgsl")],
    selectors: UNARY_OPS,
    defines: &[],
    params: UnaryParams::LAYOUT,
};

static BINARY: Shader = Shader {
    name: "binary",
    parts: &[BROADCAST_WGSL, include_str!("../../../shaders/binary.wgsl")],
    selectors: BINARY_OPS,
    defines: &[],
    params: BinaryParams::LAYOUT,
};

uniforms! {
    /// `Params` of shaders/unary.wgsl.
    struct UnaryParams {
        n: u32,
        alpha: f32,
        act_min: f32,
        act_max: f32,
    }
}

uniforms! {
    /// `Params` of shaders/binary.wgsl (dims and strides padded to rank 6).
    struct BinaryParams {
        n: u32,
        act_min: f32,
        act_max: f32,
        _pad: u32,
        shape: [u32; 8],
        a_strides: [u32; 8],
        b_strides: [u32; 8],
    }
}

selectors! {
    /// The function shaders/unary.wgsl applies (`OP`).
    enum UnaryOp in UNARY_OPS {
        Abs = 0 => "UNARY_ABS",
        Neg = 1 => "UNARY_NEG",
        Exp = 2 => "UNARY_EXP",
        Log = 3 => "UNARY_LOG",
        Sqrt = 4 => "UNARY_SQRT",
        Rsqrt = 5 => "UNARY_RSQRT",
        Square = 6 => "UNARY_SQUARE",
        Sin = 7 => "UNARY_SIN",
        Cos = 8 => "UNARY_COS",
        Floor = 9 => "UNARY_FLOOR",
        Ceil = 10 => "UNARY_CEIL",
        Round = 11 => "UNARY_ROUND",
        Sign = 12 => "UNARY_SIGN",
        Logistic = 13 => "UNARY_LOGISTIC",
        Tanh = 14 => "UNARY_TANH",
        HardSwish = 15 => "UNARY_HARD_SWISH",
        Elu = 16 => "UNARY_ELU",
        Gelu = 17 => "UNARY_GELU",
        GeluTanh = 18 => "UNARY_GELU_TANH",
        LeakyRelu = 19 => "UNARY_LEAKY_RELU",
        /// The identity: RELU and its variants are the clamp alone.
        Clamp = 99 => "UNARY_CLAMP",
    }
}

selectors! {
    /// The function shaders/binary.wgsl applies (`OP`).
    enum BinaryOp in BINARY_OPS {
        Add = 0 => "BINARY_ADD",
        Sub = 1 => "BINARY_SUB",
        Mul = 2 => "BINARY_MUL",
        Div = 3 => "BINARY_DIV",
        Maximum = 4 => "BINARY_MAXIMUM",
        Minimum = 5 => "BINARY_MINIMUM",
        SquaredDifference = 6 => "BINARY_SQUARED_DIFFERENCE",
        Pow = 7 => "BINARY_POW",
        FloorDiv = 8 => "BINARY_FLOOR_DIV",
        FloorMod = 9 => "BINARY_FLOOR_MOD",
        Prelu = 10 => "BINARY_PRELU",
    }
}

fn unary_code(u: Unary) -> Option<u32> {
    let op = match u {
        Unary::Abs => UnaryOp::Abs,
        Unary::Neg => UnaryOp::Neg,
        Unary::Exp => UnaryOp::Exp,
        Unary::Log => UnaryOp::Log,
        Unary::Sqrt => UnaryOp::Sqrt,
        Unary::Rsqrt => UnaryOp::Rsqrt,
        Unary::Square => UnaryOp::Square,
        Unary::Sin => UnaryOp::Sin,
        Unary::Cos => UnaryOp::Cos,
        Unary::Floor => UnaryOp::Floor,
        Unary::Ceil => UnaryOp::Ceil,
        Unary::Round => UnaryOp::Round,
        Unary::Sign => UnaryOp::Sign,
        Unary::Logistic => UnaryOp::Logistic,
        Unary::Tanh => UnaryOp::Tanh,
        Unary::HardSwish => UnaryOp::HardSwish,
        Unary::Elu => UnaryOp::Elu,
        Unary::Gelu { approximate: false } => UnaryOp::Gelu,
        Unary::Gelu { approximate: true } => UnaryOp::GeluTanh,
        Unary::LeakyRelu { .. } => UnaryOp::LeakyRelu,
        Unary::Relu | Unary::Relu6 | Unary::ReluN1To1 | Unary::Relu0To1 => UnaryOp::Clamp,
        Unary::LogicalNot => return None,
    };
    Some(op as u32)
}

fn binary_code(b: Binary) -> Option<u32> {
    let op = match b {
        Binary::Add => BinaryOp::Add,
        Binary::Sub => BinaryOp::Sub,
        Binary::Mul => BinaryOp::Mul,
        Binary::Div => BinaryOp::Div,
        Binary::Maximum => BinaryOp::Maximum,
        Binary::Minimum => BinaryOp::Minimum,
        Binary::SquaredDifference => BinaryOp::SquaredDifference,
        Binary::Pow => BinaryOp::Pow,
        Binary::FloorDiv => BinaryOp::FloorDiv,
        Binary::FloorMod => BinaryOp::FloorMod,
        _ => return None,
    };
    Some(op as u32)
}

/// The clamp range of a fused activation (tanh/sign-bit are not fused on the GPU).
pub fn clamp_range(act: Activation) -> Option<(f32, f32)> {
    act.range()
}

/// Support check for unary ops.
pub fn support_unary(node: &Node, sg: &Subgraph, u: Unary) -> Support {
    unary_code(u).ok_or_else(|| Unsupported::from(format!("{u:?} has no float kernel")))?;
    float_io(node, sg)
}

/// Support check for binary ops.
pub fn support_binary(node: &Node, sg: &Subgraph, b: Binary) -> Support {
    binary_code(b).ok_or_else(|| Unsupported::from(format!("{b:?} has no float kernel")))?;
    if let crate::graph::Op::Binary(_, act) = &node.op {
        clamp_range(*act)
            .ok_or_else(|| Unsupported::from(format!("fused {act:?} runs on the CPU")))?;
    }
    float_io(node, sg)
}

/// Support check for PRELU.
pub fn support_prelu(node: &Node, sg: &Subgraph) -> Support {
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
        UnaryParams {
            n: n as u32,
            alpha,
            act_min: lo,
            act_max: hi,
        },
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
    let params = BinaryParams {
        n: n as u32,
        act_min: lo,
        act_max: hi,
        _pad: 0,
        shape: vec8(dims6(&out_shape)),
        a_strides: vec8(broadcast_strides6(&a_shape, &out_shape)),
        b_strides: vec8(broadcast_strides6(&b_shape, &out_shape)),
    };
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
    lower_broadcast(ctx, BinaryOp::Prelu as u32, Activation::None)
}

gpu_op! {
    /// Float element-wise ops: every unary op but LOGICAL_NOT, every binary op but
    /// the comparisons and logical ones, and PRELU.
    Elementwise "elementwise" {
        claims: |node, sg| {
            let ours = match &node.op {
                Op::Unary(u) => *u != Unary::LogicalNot,
                Op::Binary(b, _) => !b.is_comparison(),
                Op::Prelu => true,
                _ => false,
            };
            ours && !is_quantized(node, sg)
        },
        support: |node, sg| {
            match &node.op {
                Op::Unary(u) => support_unary(node, sg, *u),
                Op::Binary(b, _) => support_binary(node, sg, *b),
                _ => support_prelu(node, sg),
            }
        },
        lower: |ctx| {
            match &ctx.node.op {
                Op::Unary(u) => lower_unary(ctx, *u),
                Op::Binary(b, act) => lower_binary(ctx, *b, *act),
                _ => lower_prelu(ctx),
            }
        },
        shaders: [
            &UNARY,
            &BINARY,
        ],
    }
}
