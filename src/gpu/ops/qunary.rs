//! Integer element-wise unary functions (LOGISTIC, TANH, HARD_SWISH, ELU, GELU,
//! LEAKY_RELU, the math functions...) through a table (shaders/qlut.wgsl): at
//! prepare the CPU interpreter evaluates the node on every value of the input's
//! integer type, so the GPU reproduces it exactly with one lookup per element.

use super::quant::is_quantized;
use super::quant::{activation, input, output};
use super::LowerCtx;
use crate::error::{Error, Result};
use crate::gpu::shader::Shader;
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::eval::NodeEval;
use crate::graph::op::Unary;
use crate::graph::quant::type_range;
use crate::graph::{DType, Data, Node, Op, Subgraph, Tensor};

uniforms! {
    /// `Params` of shaders/qlut.wgsl.
    struct LutParams {
        n: u32,
        qmin: i32,
        size: u32,
    }
}

static QLUT: Shader = Shader {
    name: "qlut",
    parts: &[include_str!("../../../shaders/qlut.wgsl")],
    selectors: &[],
    defines: &[],
    params: LutParams::LAYOUT,
};

fn check(node: &Node, sg: &Subgraph) -> Support {
    if !matches!(node.op, Op::Unary(_)) || matches!(node.op, Op::Unary(Unary::LogicalNot)) {
        return Err(format!("{} is not a quantized unary op", node.op.name()).into());
    }
    let x = input(node, sg, 0)?;
    let y = output(node, sg, 0)?;
    if x.dtype != y.dtype || !matches!(x.dtype, DType::I8 | DType::U8) {
        return Err(format!(
            "quantized {} of {} runs on the CPU",
            node.op.name(),
            x.dtype
        )
        .into());
    }
    activation(x)?;
    activation(y)?;
    Ok(())
}

/// The node's result for every value of its input type, from `eval` (the CPU
/// reference kernels).
fn table(node: &Node, sg: &Subgraph, eval: &dyn NodeEval) -> Result<(i32, Vec<u32>)> {
    let bad = |e: Unsupported| Error::node(0, node.op.name(), e);
    let x = input(node, sg, 0).map_err(bad)?;
    let y = output(node, sg, 0).map_err(bad)?;
    let (qmin, qmax) = type_range(x.dtype);
    let size = (qmax - qmin + 1) as usize;
    let mut xi = x.clone();
    xi.shape = vec![size];
    xi.data = None;
    let mut yi = y.clone();
    yi.shape = vec![size];
    yi.data = None;
    let table = Subgraph {
        name: "table".into(),
        tensors: vec![xi, yi],
        nodes: vec![],
        inputs: vec![0],
        outputs: vec![1],
    };
    let single = Node {
        op: node.op.clone(),
        inputs: vec![Some(0)],
        outputs: vec![1],
    };
    let data = match x.dtype {
        DType::I8 => Data::I8((qmin..=qmax).map(|v| v as i8).collect()),
        _ => Data::U8((qmin..=qmax).map(|v| v as u8).collect()),
    };
    let out = eval
        .eval(&table, &single, &[Some(Tensor::new(vec![size], data))])?
        .pop()
        .ok_or_else(|| bad("the table run produced nothing".into()))?;
    let words = match &out.data {
        Data::I8(v) => v.iter().map(|&q| q as i32 as u32).collect(),
        Data::U8(v) => v.iter().map(|&q| u32::from(q)).collect(),
        _ => return Err(bad("the table run produced an unexpected type".into())),
    };
    Ok((qmin, words))
}

/// Why a quantized unary node stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph, eval: &dyn NodeEval) -> Support {
    check(node, sg)?;
    table(node, sg, eval)
        .map(|_| ())
        .map_err(|e| Unsupported::from(e.to_string()))
}

/// Record the table and the lookup dispatch of a quantized unary node.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    check(ctx.node, ctx.sg).map_err(|e| ctx.err(e))?;
    let (qmin, words) = table(ctx.node, ctx.sg, ctx.eval).map_err(|e| ctx.err(e.to_string()))?;
    let n = ctx.out_info(0)?.num_elements();
    let x = ctx.input(0)?;
    let t = ctx.b.constant_words(&words, crate::gpu::program::Elem::I32);
    let out = ctx.output(0)?;
    ctx.dispatch(
        &QLUT,
        vec![],
        LutParams {
            n: n as u32,
            qmin,
            size: words.len() as u32,
        },
        vec![x, t, out],
        n as u64,
    )
}

gpu_op! {
    /// Quantized unary ops, as lookup tables the CPU kernels fill at prepare.
    QUnary "qunary" {
        claims: |node, sg| matches!(node.op, Op::Unary(_)) && is_quantized(node, sg),
        support_with_caps: |node, sg, caps| support(node, sg, caps.eval),
        lower: lower,
        shaders: [
            &QLUT,
        ],
    }
}
