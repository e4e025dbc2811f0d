//! Bool and integer element-wise ops: comparisons (shaders/compare.wgsl for float
//! inputs, the same file as compare_int for int32/int64), LOGICAL_AND/OR/NOT
//! (shaders/logical.wgsl), SELECT and SELECT_V2 (shaders/select.wgsl for float
//! values, the same file as select_word for int/bool values) and CAST
//! (shaders/cast_*.wgsl). Bool tensors live on the GPU as u32 0/1, int32 and
//! int64 tensors as i32.

use super::quant::is_quantized;
use super::BROADCAST_WGSL;
use super::{broadcast_strides6, dims6, gpu_typed, vec8, LowerCtx};
use crate::error::Result;
use crate::gpu::shader::{Define, Shader, WgslType};
use crate::gpu::verdict::{Support, Unsupported};
use crate::graph::broadcast::broadcast_shapes;
use crate::graph::op::{Activation, Binary, Unary};
use crate::graph::{DType, Node, Op, Subgraph, TensorInfo};

uniforms! {
    /// `Params` of shaders/compare.wgsl and shaders/logical.wgsl.
    struct BroadcastParams {
        n: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
        shape: [u32; 8],
        a_strides: [u32; 8],
        b_strides: [u32; 8],
    }
}

uniforms! {
    /// `Params` of shaders/select.wgsl.
    struct SelectParams {
        n: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
        shape: [u32; 8],
        c_strides: [u32; 8],
        x_strides: [u32; 8],
        y_strides: [u32; 8],
    }
}

uniforms! {
    /// `Params` of shaders/cast_*.wgsl.
    struct CastParams {
        n: u32,
    }
}

const COMPARE_WGSL: &str = include_str!("../../../shaders/compare.wgsl");
const SELECT_WGSL: &str = include_str!("../../../shaders/select.wgsl");

static COMPARE: Shader = Shader {
    name: "compare",
    parts: &[BROADCAST_WGSL, COMPARE_WGSL],
    selectors: COMPARE_OPS,
    defines: &[Define::Alias("elem", WgslType::Scalar)],
    params: BroadcastParams::LAYOUT,
};

static COMPARE_INT: Shader = Shader {
    name: "compare_int",
    parts: &[BROADCAST_WGSL, COMPARE_WGSL],
    selectors: COMPARE_OPS,
    defines: &[Define::Alias("elem", WgslType::I32)],
    params: BroadcastParams::LAYOUT,
};

static LOGICAL: Shader = Shader {
    name: "logical",
    parts: &[
        BROADCAST_WGSL,
        include_str!("../../../shaders/logical.wgsl"),
    ],
    selectors: LOGICAL_OPS,
    defines: &[],
    params: BroadcastParams::LAYOUT,
};

static SELECT: Shader = Shader {
    name: "select",
    parts: &[
        BROADCAST_WGSL,
        include_str!("../../../shaders/elem_float.wgsl"),
        SELECT_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: SelectParams::LAYOUT,
};

static SELECT_WORD: Shader = Shader {
    name: "select_word",
    parts: &[
        BROADCAST_WGSL,
        include_str!("../../../shaders/elem_u32.wgsl"),
        SELECT_WGSL,
    ],
    selectors: &[],
    defines: &[],
    params: SelectParams::LAYOUT,
};

static CAST_F2W: Shader = Shader {
    name: "cast_f2w",
    parts: &[include_str!("../../../shaders/cast_f2w.wgsl")],
    selectors: &[],
    defines: &[],
    params: CastParams::LAYOUT,
};

static CAST_W2F: Shader = Shader {
    name: "cast_w2f",
    parts: &[include_str!("../../../shaders/cast_w2f.wgsl")],
    selectors: &[],
    defines: &[],
    params: CastParams::LAYOUT,
};

static CAST_W2W: Shader = Shader {
    name: "cast_w2w",
    parts: &[include_str!("../../../shaders/cast_w2w.wgsl")],
    selectors: &[],
    defines: &[],
    params: CastParams::LAYOUT,
};

selectors! {
    /// The comparison shaders/compare.wgsl makes (`OP`).
    enum CompareOp in COMPARE_OPS {
        Less = 0 => "COMPARE_LESS",
        LessEqual = 1 => "COMPARE_LESS_EQUAL",
        Greater = 2 => "COMPARE_GREATER",
        GreaterEqual = 3 => "COMPARE_GREATER_EQUAL",
        Equal = 4 => "COMPARE_EQUAL",
        NotEqual = 5 => "COMPARE_NOT_EQUAL",
    }
}

selectors! {
    /// The function shaders/logical.wgsl applies (`OP`).
    enum LogicalOp in LOGICAL_OPS {
        And = 0 => "LOGICAL_AND",
        Or = 1 => "LOGICAL_OR",
        Not = 2 => "LOGICAL_NOT",
    }
}

/// Code of a comparison in shaders/compare.wgsl.
fn compare_code(b: Binary) -> Option<u32> {
    let op = match b {
        Binary::Less => CompareOp::Less,
        Binary::LessEqual => CompareOp::LessEqual,
        Binary::Greater => CompareOp::Greater,
        Binary::GreaterEqual => CompareOp::GreaterEqual,
        Binary::Equal => CompareOp::Equal,
        Binary::NotEqual => CompareOp::NotEqual,
        _ => return None,
    };
    Some(op as u32)
}

/// Code of a logical op in shaders/logical.wgsl.
fn logical_code(op: &Op) -> Option<u32> {
    let op = match op {
        Op::Binary(Binary::LogicalAnd, _) => LogicalOp::And,
        Op::Binary(Binary::LogicalOr, _) => LogicalOp::Or,
        Op::Unary(Unary::LogicalNot) => LogicalOp::Not,
        _ => return None,
    };
    Some(op as u32)
}

fn is_int(d: DType) -> bool {
    matches!(d, DType::I32 | DType::I64)
}

fn tensor<'a>(node: &Node, sg: &'a Subgraph, i: usize) -> Support<&'a TensorInfo> {
    node.input(i)
        .map(|t| &sg.tensors[t])
        .ok_or_else(|| Unsupported::from(format!("missing input {i}")))
}

fn output<'a>(node: &Node, sg: &'a Subgraph) -> Support<&'a TensorInfo> {
    node.outputs
        .first()
        .map(|&t| &sg.tensors[t])
        .ok_or(Unsupported::from("missing output 0"))
}

/// Every input and output has a GPU storage (see [`gpu_typed`]).
fn typed_io(node: &Node, sg: &Subgraph) -> Support {
    for &t in node.inputs.iter().flatten().chain(&node.outputs) {
        gpu_typed(sg, t)?;
    }
    Ok(())
}

fn need(info: &TensorInfo, ok: bool, what: &str) -> Support {
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tensor {} is {}, the GPU kernel takes {what}",
            info.name, info.dtype
        )
        .into())
    }
}

/// The broadcast shape of `shapes`, checked against the output's.
fn check_broadcast(shapes: &[&[usize]], out: &[usize]) -> Support {
    let mut s = shapes[0].to_vec();
    for sh in &shapes[1..] {
        s = broadcast_shapes(&s, sh)
            .ok_or_else(|| Unsupported::from(format!("shapes {shapes:?} do not broadcast")))?;
    }
    if s != out {
        return Err(format!("output shape {out:?} is not the broadcast shape {s:?}").into());
    }
    Ok(())
}

/// Whether SELECT (v1) picks whole rows by a rank-1 condition.
fn select_rows(v2: bool, c: &[usize], x: &[usize]) -> bool {
    !v2 && c.len() == 1 && x.len() > 1
}

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, sg: &Subgraph) -> Support {
    typed_io(node, sg)?;
    let out = output(node, sg)?;
    match &node.op {
        Op::Binary(b, act) => {
            if *act != Activation::None {
                return Err(format!("fused {act:?} on a comparison runs on the CPU").into());
            }
            let (a, bb) = (tensor(node, sg, 0)?, tensor(node, sg, 1)?);
            need(out, out.dtype == DType::Bool, "a bool output")?;
            if compare_code(*b).is_some() {
                let ok = (a.dtype == DType::F32 && bb.dtype == DType::F32)
                    || (is_int(a.dtype) && is_int(bb.dtype));
                need(bb, ok, "two float32 or two int32/int64 inputs")?;
                need(a, ok, "two float32 or two int32/int64 inputs")?;
            } else if logical_code(&node.op).is_some() {
                need(a, a.dtype == DType::Bool, "bool inputs")?;
                need(bb, bb.dtype == DType::Bool, "bool inputs")?;
            } else {
                return Err(format!("{} is not a bool op", node.op.name()).into());
            }
            check_broadcast(&[&a.shape, &bb.shape], &out.shape)
        }
        Op::Unary(Unary::LogicalNot) => {
            let a = tensor(node, sg, 0)?;
            need(a, a.dtype == DType::Bool, "a bool input")?;
            need(out, out.dtype == DType::Bool, "a bool output")?;
            check_broadcast(&[&a.shape], &out.shape)
        }
        Op::Select | Op::SelectV2 => {
            let v2 = matches!(node.op, Op::SelectV2);
            let (c, x, y) = (
                tensor(node, sg, 0)?,
                tensor(node, sg, 1)?,
                tensor(node, sg, 2)?,
            );
            need(c, c.dtype == DType::Bool, "a bool condition")?;
            let same = x.dtype == y.dtype && y.dtype == out.dtype;
            need(y, same, "values and output of one type")?;
            if select_rows(v2, &c.shape, &x.shape) {
                if x.shape != y.shape || x.shape[0] != c.shape[0] || out.shape != x.shape {
                    return Err("SELECT shapes do not match".into());
                }
                return Ok(());
            }
            if !v2
                && (c.shape != x.shape || x.shape != y.shape)
                && out.shape.iter().product::<usize>() != 1
            {
                return Err("SELECT requires equal shapes".into());
            }
            check_broadcast(&[&c.shape, &x.shape, &y.shape], &out.shape)
        }
        Op::Cast => {
            let x = tensor(node, sg, 0)?;
            if x.shape != out.shape {
                return Err(format!(
                    "CAST output shape {:?} differs from the input's {:?}",
                    out.shape, x.shape
                )
                .into());
            }
            Ok(())
        }
        op => Err(format!("{} is not a bool/int op", op.name()).into()),
    }
}

/// Record the dispatch of a node of this family.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    let out_info = ctx.out_info(0)?.clone();
    let out_shape = out_info.shape.clone();
    let n = out_shape.iter().product::<usize>();
    match &ctx.node.op {
        Op::Binary(b, _) => {
            let a_info = ctx.in_info(0)?;
            let (shader, code) = match (compare_code(*b), logical_code(&ctx.node.op)) {
                (Some(c), _) if a_info.dtype == DType::F32 => (&COMPARE, c),
                (Some(c), _) => (&COMPARE_INT, c),
                (None, Some(c)) => (&LOGICAL, c),
                _ => return Err(ctx.err("not a bool op")),
            };
            let a_shape = a_info.shape.clone();
            let b_shape = ctx.in_info(1)?.shape.clone();
            let params = BroadcastParams {
                n: n as u32,
                shape: vec8(dims6(&out_shape)),
                a_strides: vec8(broadcast_strides6(&a_shape, &out_shape)),
                b_strides: vec8(broadcast_strides6(&b_shape, &out_shape)),
                ..Default::default()
            };
            let a = ctx.input(0)?;
            let bb = ctx.input(1)?;
            let out = ctx.output(0)?;
            ctx.dispatch(
                shader,
                vec![("OP", code as f64)],
                params,
                vec![a, bb, out],
                n as u64,
            )
        }
        Op::Unary(Unary::LogicalNot) => {
            let strides = broadcast_strides6(&ctx.in_info(0)?.shape.clone(), &out_shape);
            let params = BroadcastParams {
                n: n as u32,
                shape: vec8(dims6(&out_shape)),
                a_strides: vec8(strides),
                b_strides: vec8(strides),
                ..Default::default()
            };
            let a = ctx.input(0)?;
            let out = ctx.output(0)?;
            ctx.dispatch(
                &LOGICAL,
                vec![("OP", f64::from(LogicalOp::Not as u32))],
                params,
                vec![a, a, out],
                n as u64,
            )
        }
        Op::Select | Op::SelectV2 => {
            let v2 = matches!(ctx.node.op, Op::SelectV2);
            let c_shape = ctx.in_info(0)?.shape.clone();
            let x_shape = ctx.in_info(1)?.shape.clone();
            let y_shape = ctx.in_info(2)?.shape.clone();
            let c_view = if select_rows(v2, &c_shape, &x_shape) {
                // One condition per row: broadcast along every later axis.
                let mut s = vec![1; x_shape.len()];
                s[0] = c_shape[0];
                s
            } else {
                c_shape
            };
            let params = SelectParams {
                n: n as u32,
                shape: vec8(dims6(&out_shape)),
                c_strides: vec8(broadcast_strides6(&c_view, &out_shape)),
                x_strides: vec8(broadcast_strides6(&x_shape, &out_shape)),
                y_strides: vec8(broadcast_strides6(&y_shape, &out_shape)),
                ..Default::default()
            };
            let shader = if out_info.dtype == DType::F32 {
                &SELECT
            } else {
                &SELECT_WORD
            };
            let c = ctx.input(0)?;
            let x = ctx.input(1)?;
            let y = ctx.input(2)?;
            let out = ctx.output(0)?;
            ctx.dispatch(shader, vec![], params, vec![c, x, y, out], n as u64)
        }
        Op::Cast => {
            let from = ctx.in_info(0)?.dtype;
            let to = out_info.dtype;
            if from == DType::F32 && to == DType::F32 {
                return ctx.alias_output(0, 0);
            }
            let (shader, code) = match (from == DType::F32, to) {
                (true, DType::Bool) => (&CAST_F2W, 1.0),
                (true, _) => (&CAST_F2W, 0.0),
                (false, DType::F32) => (&CAST_W2F, 0.0),
                (false, DType::Bool) => (&CAST_W2W, 1.0),
                (false, _) => (&CAST_W2W, 0.0),
            };
            let constants = if std::ptr::eq(shader, &CAST_W2F) {
                vec![]
            } else {
                vec![("OP", code)]
            };
            let x = ctx.input(0)?;
            let out = ctx.output(0)?;
            ctx.dispatch(
                shader,
                constants,
                CastParams { n: n as u32 },
                vec![x, out],
                n as u64,
            )
        }
        _ => Err(ctx.err("not a bool/int op")),
    }
}

gpu_op! {
    /// Comparisons, LOGICAL_AND/OR/NOT, SELECT, SELECT_V2 and CAST on float, integer and bool data.
    Logic "logic" {
        claims: |node, sg| {
            let ours = match &node.op {
                Op::Unary(u) => *u == Unary::LogicalNot,
                Op::Binary(b, _) => b.is_comparison(),
                Op::Select | Op::SelectV2 | Op::Cast => true,
                _ => false,
            };
            ours && !is_quantized(node, sg)
        },
        support: support,
        lower: lower,
        shaders: [
            &COMPARE,
            &COMPARE_INT,
            &LOGICAL,
            &SELECT,
            &SELECT_WORD,
            &CAST_F2W,
            &CAST_W2F,
            &CAST_W2W,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(op: Op, ins: Vec<(DType, Vec<usize>)>, out: (DType, Vec<usize>)) -> Subgraph {
        let mut tensors: Vec<TensorInfo> = ins
            .into_iter()
            .enumerate()
            .map(|(i, (d, s))| TensorInfo::new(format!("t{i}"), d, s))
            .collect();
        let k = tensors.len();
        tensors.push(TensorInfo::new("out", out.0, out.1));
        Subgraph {
            name: "t".into(),
            nodes: vec![Node {
                op,
                inputs: (0..k).map(Some).collect(),
                outputs: vec![k],
            }],
            inputs: (0..k).collect(),
            outputs: vec![k],
            tensors,
        }
    }

    #[test]
    fn refusals_say_why() {
        let less = Op::Binary(Binary::Less, Activation::None);
        let sg = graph(
            less.clone(),
            vec![(DType::I8, vec![4]), (DType::I8, vec![4])],
            (DType::Bool, vec![4]),
        );
        let e = support(&sg.nodes[0], &sg).unwrap_err().to_string();
        assert!(e.to_lowercase().contains("int8"), "{e}");
        let sg = graph(
            less.clone(),
            vec![(DType::F32, vec![4]), (DType::I32, vec![4])],
            (DType::Bool, vec![4]),
        );
        assert!(support(&sg.nodes[0], &sg).is_err());
        let sg = graph(
            less,
            vec![(DType::F32, vec![2, 1]), (DType::F32, vec![3])],
            (DType::Bool, vec![2, 3]),
        );
        assert_eq!(support(&sg.nodes[0], &sg), Ok(()));
        let sg = graph(
            Op::Select,
            vec![
                (DType::Bool, vec![2]),
                (DType::F32, vec![2, 3]),
                (DType::F32, vec![2, 3]),
            ],
            (DType::F32, vec![2, 3]),
        );
        assert_eq!(support(&sg.nodes[0], &sg), Ok(()));
        let sg = graph(Op::Cast, vec![(DType::F32, vec![3])], (DType::I16, vec![3]));
        assert!(support(&sg.nodes[0], &sg).is_err());
        let mut sg = graph(Op::Cast, vec![(DType::I64, vec![1])], (DType::F32, vec![1]));
        sg.tensors[0].data = Some(std::sync::Arc::from((1i64 << 40).to_le_bytes().to_vec()));
        let e = support(&sg.nodes[0], &sg).unwrap_err().to_string();
        assert!(e.contains("int32 range"), "{e}");
    }
}
