//! Building one-operator test models in the IR, and the cases that need more than
//! one subgraph or many inputs.

use std::sync::Arc;
use tflite_wgpu::graph::op::*;
use tflite_wgpu::graph::{DType, Data, Graph, Node, Op, Subgraph, Tensor, TensorInfo};

/// One input of the operator.
pub enum In {
    /// A model input of this type and shape, filled with deterministic values.
    Var(DType, Vec<usize>),
    /// A model input with these values.
    Val(Tensor),
    /// A constant.
    Const(Tensor),
    /// A constant with quantization or sparsity already set.
    Info(TensorInfo),
    /// An omitted optional input.
    Absent,
}

/// One test model.
pub struct Case {
    /// The builtin's schema name (the model's name too, plus a suffix if needed).
    pub name: &'static str,
    /// The whole model.
    pub graph: Graph,
    /// The model inputs' values.
    pub inputs: Vec<Tensor>,
    /// Whether our CPU interpreter's outputs are compared with LiteRT's.
    pub cpu: bool,
    /// The operator's name as the IR gives it.
    pub op: String,
}

/// Deterministic values in [lo, hi).
pub fn values(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            lo + (hi - lo) * ((s >> 8) as f32 / (1u32 << 24) as f32)
        })
        .collect()
}

pub fn f32c(shape: Vec<usize>, seed: u32) -> In {
    let n = shape.iter().product();
    In::Const(Tensor::f32(shape, values(n, seed, -1.0, 1.0)))
}

pub fn i32c(shape: Vec<usize>, v: Vec<i32>) -> In {
    In::Const(Tensor::new(shape, Data::I32(v)))
}

pub fn i32s(v: i32) -> In {
    i32c(vec![], vec![v])
}

pub fn f32s(v: f32) -> In {
    In::Const(Tensor::f32(vec![], vec![v]))
}

pub fn f(shape: &[usize]) -> In {
    In::Var(DType::F32, shape.to_vec())
}

/// A model input's values: floats in [-2, 2) ([0.5, 2) where `positive`), int32
/// in 0..4, random booleans.
pub fn input_values(dtype: DType, shape: &[usize], seed: u32, positive: bool) -> Tensor {
    let n = shape.iter().product();
    let (lo, hi) = if positive { (0.5, 2.0) } else { (-2.0, 2.0) };
    let v = values(n, seed, lo, hi);
    let data = match dtype {
        DType::F32 => Data::F32(v),
        DType::I32 => Data::I32(v.iter().map(|x| ((x + 2.0) as i32).clamp(0, 3)).collect()),
        DType::I8 => Data::I8(v.iter().map(|x| (x * 60.0) as i8).collect()),
        DType::Bool => Data::Bool(v.iter().map(|x| *x > 0.0).collect()),
        _ => panic!("no input values of {dtype:?}"),
    };
    Tensor::new(shape.to_vec(), data)
}

pub fn constant(name: String, t: &Tensor) -> TensorInfo {
    let mut info = TensorInfo::new(name, t.dtype(), t.shape.clone());
    info.data = Some(Arc::from(t.data.to_bytes()));
    info
}

/// A one-operator subgraph and the values of its inputs.
pub fn subgraph(
    name: &str,
    op: Op,
    ins: Vec<In>,
    outs: Vec<(DType, Vec<usize>)>,
    positive: bool,
) -> (Subgraph, Vec<Tensor>) {
    let mut tensors = Vec::new();
    let mut node_inputs = Vec::new();
    let mut inputs = Vec::new();
    let mut values = Vec::new();
    for (i, input) in ins.into_iter().enumerate() {
        let tname = format!("in{i}");
        let info = match input {
            In::Absent => {
                node_inputs.push(None);
                continue;
            }
            In::Var(dtype, shape) => {
                inputs.push(tensors.len());
                values.push(input_values(dtype, &shape, i as u32 + 1, positive));
                TensorInfo::new(tname, dtype, shape)
            }
            In::Val(t) => {
                inputs.push(tensors.len());
                let info = TensorInfo::new(tname, t.dtype(), t.shape.clone());
                values.push(t);
                info
            }
            In::Const(t) => constant(tname, &t),
            In::Info(mut info) => {
                info.name = tname;
                info
            }
        };
        node_inputs.push(Some(tensors.len()));
        tensors.push(info);
    }
    let mut outputs = Vec::new();
    for (i, (dtype, shape)) in outs.into_iter().enumerate() {
        outputs.push(tensors.len());
        tensors.push(TensorInfo::new(format!("out{i}"), dtype, shape));
    }
    let sg = Subgraph {
        name: name.into(),
        tensors,
        nodes: vec![Node {
            op,
            inputs: node_inputs,
            outputs: outputs.clone(),
        }],
        inputs,
        outputs,
    };
    (sg, values)
}

pub fn case(
    name: &'static str,
    op: Op,
    ins: Vec<In>,
    outs: Vec<(DType, Vec<usize>)>,
    positive: bool,
) -> Case {
    let op_name = op.name().to_string();
    let (sg, inputs) = subgraph(name, op, ins, outs, positive);
    Case {
        name,
        graph: Graph {
            subgraphs: vec![sg],
            version: 3,
            ..Default::default()
        },
        inputs,
        cpu: true,
        op: op_name,
    }
}

pub fn out(dtype: DType, shape: &[usize]) -> Vec<(DType, Vec<usize>)> {
    vec![(dtype, shape.to_vec())]
}

pub fn of(shape: &[usize]) -> Vec<(DType, Vec<usize>)> {
    out(DType::F32, shape)
}

/// UNIDIRECTIONAL_SEQUENCE_LSTM without peepholes, projection or layer norm.
pub fn lstm() -> Case {
    let (ni, nc, t) = (2usize, 3usize, 4usize);
    let mut ins = vec![f(&[1, t, ni])];
    for g in 0..4 {
        ins.push(f32c(vec![nc, ni], 20 + g));
    }
    for g in 0..4 {
        ins.push(f32c(vec![nc, nc], 30 + g));
    }
    ins.extend([In::Absent, In::Absent, In::Absent]);
    for g in 0..4 {
        ins.push(f32c(vec![nc], 40 + g));
    }
    ins.extend([In::Absent, In::Absent]);
    for name in ["h", "c"] {
        let mut state = TensorInfo::new(name, DType::F32, vec![1, nc]);
        state.is_variable = true;
        ins.push(In::Info(state));
    }
    ins.extend([In::Absent, In::Absent, In::Absent, In::Absent]);
    case(
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        Op::UnidirectionalSequenceLstm(Lstm {
            activation: Activation::Tanh,
            cell_clip: 0.7,
            proj_clip: 0.0,
            time_major: false,
            asymmetric_quantize_inputs: false,
        }),
        ins,
        of(&[1, t, nc]),
        false,
    )
}

/// A main subgraph of one control-flow op over `branches`, with `ins` inputs and
/// outputs like the branches' outputs.
pub fn control_flow(
    name: &'static str,
    op: Op,
    ins: Vec<In>,
    outs: Vec<(DType, Vec<usize>)>,
    branches: Vec<Subgraph>,
) -> Case {
    let mut c = case(name, op, ins, outs, false);
    c.graph.subgraphs.extend(branches);
    c
}

/// WHILE i < 5: (i, x) -> (i + 1, x + x).
pub fn while_loop() -> Case {
    let (cond, _) = subgraph(
        "cond",
        Op::Binary(Binary::Less, Activation::None),
        vec![In::Var(DType::I32, vec![]), i32s(5)],
        out(DType::Bool, &[]),
        false,
    );
    // The condition subgraph takes both loop values; the second is unused.
    let mut cond = cond;
    cond.tensors.push(TensorInfo::new("x", DType::F32, vec![2]));
    cond.inputs = vec![0, cond.tensors.len() - 1];
    let body = Subgraph {
        name: "body".into(),
        tensors: vec![
            TensorInfo::new("i", DType::I32, vec![]),
            TensorInfo::new("x", DType::F32, vec![2]),
            constant("one".into(), &Tensor::new(vec![], Data::I32(vec![1]))),
            TensorInfo::new("i1", DType::I32, vec![]),
            TensorInfo::new("x2", DType::F32, vec![2]),
        ],
        nodes: vec![
            Node {
                op: Op::Binary(Binary::Add, Activation::None),
                inputs: vec![Some(0), Some(2)],
                outputs: vec![3],
            },
            Node {
                op: Op::Binary(Binary::Add, Activation::None),
                inputs: vec![Some(1), Some(1)],
                outputs: vec![4],
            },
        ],
        inputs: vec![0, 1],
        outputs: vec![3, 4],
    };
    control_flow(
        "WHILE",
        Op::While { cond: 1, body: 2 },
        vec![In::Val(Tensor::new(vec![], Data::I32(vec![1]))), f(&[2])],
        vec![(DType::I32, vec![]), (DType::F32, vec![2])],
        vec![cond, body],
    )
}

/// IF c: x * 2 else x - 1.
pub fn if_else() -> Case {
    let (then, _) = subgraph(
        "then",
        Op::Binary(Binary::Mul, Activation::None),
        vec![f(&[2]), f32s(2.0)],
        of(&[2]),
        false,
    );
    let (otherwise, _) = subgraph(
        "else",
        Op::Binary(Binary::Sub, Activation::None),
        vec![f(&[2]), f32s(1.0)],
        of(&[2]),
        false,
    );
    control_flow(
        "IF",
        Op::If {
            then_branch: 1,
            else_branch: 2,
        },
        vec![
            In::Val(Tensor::new(vec![], Data::Bool(vec![true]))),
            f(&[2]),
        ],
        of(&[2]),
        vec![then, otherwise],
    )
}

/// NON_MAX_SUPPRESSION_V4 or (soft) V5 over six boxes.
pub fn nms(v5: bool) -> Case {
    let boxes = vec![
        0.0, 0.0, 1.0, 1.0, 0.0, 0.1, 1.0, 1.1, 0.0, -0.1, 1.0, 0.9, 0.0, 10.0, 1.0, 11.0, 0.0,
        10.1, 1.0, 11.1, 0.0, 100.0, 1.0, 101.0,
    ];
    let scores = vec![0.9, 0.75, 0.6, 0.95, 0.5, 0.3];
    let mut ins = vec![
        In::Val(Tensor::f32(vec![6, 4], boxes)),
        In::Val(Tensor::f32(vec![6], scores)),
        i32s(3),
        f32s(0.5),
        f32s(0.4),
    ];
    if v5 {
        ins.push(f32s(0.5));
        case(
            "NON_MAX_SUPPRESSION_V5",
            Op::NonMaxSuppressionV5,
            ins,
            vec![
                (DType::I32, vec![3]),
                (DType::F32, vec![3]),
                (DType::I32, vec![]),
            ],
            false,
        )
    } else {
        case(
            "NON_MAX_SUPPRESSION_V4",
            Op::NonMaxSuppressionV4,
            ins,
            vec![(DType::I32, vec![3]), (DType::I32, vec![])],
            false,
        )
    }
}
