//! Integer and bool tensors on the GPU: ARG_MAX/ARG_MIN, comparisons, logical ops,
//! SELECT/SELECT_V2 and CAST against the CPU interpreter at fp32 and fp16, over odd
//! sizes and broadcasting, with int/bool tensors as partition inputs, outputs and
//! intermediates.

use crate::common;

use common::gpu::{
    check_gpu_matches_cpu, check_gpu_matches_cpu_on, gpu_available, int_bytes, one_node_typed,
    seeded_inputs, values, Arg,
};
use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, Binary, Unary};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Data, Tensor};

/// Float inputs rounded to a few levels (many ties), exact in f16.
fn coarse(graph: &Graph) -> Vec<Tensor> {
    seeded_inputs(graph)
        .into_iter()
        .map(|t| match t.as_f32() {
            Some(v) => Tensor::f32(
                t.shape.clone(),
                v.iter().map(|x| (x * 2.0).round()).collect(),
            ),
            None => t,
        })
        .collect()
}

/// Float inputs scaled to [-scale, scale) and rounded to f16 (exact at fp16 too).
fn scaled(graph: &Graph, scale: f32) -> Vec<Tensor> {
    seeded_inputs(graph)
        .into_iter()
        .map(|t| match t.as_f32() {
            Some(v) => Tensor::f32(
                t.shape.clone(),
                v.iter()
                    .map(|x| half::f16::from_f32(x * scale).to_f32())
                    .collect(),
            ),
            None => t,
        })
        .collect()
}

fn arg_max_min_int32_and_int64() {
    if !gpu_available() {
        return;
    }
    let cases: Vec<(Vec<usize>, i32)> = vec![
        (vec![3, 5, 7], 1),
        (vec![3, 5, 7], -1),
        (vec![3, 5, 7], 0),
        (vec![2, 200, 3], 1),
        (vec![1, 131], 1),
        (vec![5], 0),
        (vec![2, 3, 1, 4, 5, 3], 4),
    ];
    for (shape, axis) in &cases {
        let a = if *axis < 0 {
            (*axis + shape.len() as i32) as usize
        } else {
            *axis as usize
        };
        let mut out = shape.clone();
        out.remove(a);
        for dtype in [DType::I32, DType::I64] {
            for is_max in [true, false] {
                let op = if is_max {
                    Op::ArgMax { output_type: dtype }
                } else {
                    Op::ArgMin { output_type: dtype }
                };
                let g = one_node_typed(
                    op,
                    vec![Arg::Input(shape.clone()), Arg::Ints(vec![*axis])],
                    vec![(out.clone(), dtype)],
                );
                let name = format!("arg max={is_max} {shape:?} axis {axis} {dtype}");
                check_gpu_matches_cpu(&name, g.clone());
                let ties = coarse(&g);
                check_gpu_matches_cpu_on(&format!("{name} ties"), g, ties);
            }
        }
    }
}

fn arg_max_axis_as_int64_constant() {
    if !gpu_available() {
        return;
    }
    let g = one_node_typed(
        Op::ArgMax {
            output_type: DType::I64,
        },
        vec![
            Arg::Input(vec![4, 9]),
            Arg::TypedConst(DType::I64, vec![1], vec![1]),
        ],
        vec![(vec![4], DType::I64)],
    );
    check_gpu_matches_cpu("argmax i64 axis", g);
}

const COMPARISONS: [Binary; 6] = [
    Binary::Less,
    Binary::LessEqual,
    Binary::Greater,
    Binary::GreaterEqual,
    Binary::Equal,
    Binary::NotEqual,
];

fn broadcast_cases() -> Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    vec![
        (vec![3, 5], vec![3, 5], vec![3, 5]),
        (vec![2, 1, 4], vec![3, 1], vec![2, 3, 4]),
        (vec![1], vec![7, 3], vec![7, 3]),
        (
            vec![2, 1, 3, 1, 2, 3],
            vec![1, 2, 1, 4, 1, 3],
            vec![2, 2, 3, 4, 2, 3],
        ),
        (vec![67], vec![67], vec![67]),
    ]
}

fn comparisons_float_and_int_broadcast() {
    if !gpu_available() {
        return;
    }
    for b in COMPARISONS {
        for (a, bs, out) in broadcast_cases() {
            for dtype in [DType::F32, DType::I32, DType::I64] {
                let g = one_node_typed(
                    Op::Binary(b, Activation::None),
                    vec![Arg::Typed(dtype, a.clone()), Arg::Typed(dtype, bs.clone())],
                    vec![(out.clone(), DType::Bool)],
                );
                // Coarse floats make EQUAL and the ties of <= / >= meaningful.
                let ins = coarse(&g);
                check_gpu_matches_cpu_on(&format!("{b:?} {dtype} {a:?} {bs:?}"), g, ins);
            }
        }
    }
    // A constant operand (int32 and float).
    let g = one_node_typed(
        Op::Binary(Binary::Greater, Activation::None),
        vec![
            Arg::Typed(DType::I32, vec![4, 5]),
            Arg::TypedConst(DType::I32, vec![5], vec![-3, 0, 2, 7, 20]),
        ],
        vec![(vec![4, 5], DType::Bool)],
    );
    check_gpu_matches_cpu("greater int const", g);
    let g = one_node_typed(
        Op::Binary(Binary::LessEqual, Activation::None),
        vec![Arg::Input(vec![4, 5]), Arg::Const(vec![1], vec![0.25])],
        vec![(vec![4, 5], DType::Bool)],
    );
    check_gpu_matches_cpu("less_equal float const", g);
}

fn logical_ops() {
    if !gpu_available() {
        return;
    }
    for b in [Binary::LogicalAnd, Binary::LogicalOr] {
        for (a, bs, out) in broadcast_cases() {
            let g = one_node_typed(
                Op::Binary(b, Activation::None),
                vec![
                    Arg::Typed(DType::Bool, a.clone()),
                    Arg::Typed(DType::Bool, bs.clone()),
                ],
                vec![(out.clone(), DType::Bool)],
            );
            check_gpu_matches_cpu(&format!("{b:?} {a:?} {bs:?}"), g);
        }
    }
    let g = one_node_typed(
        Op::Binary(Binary::LogicalOr, Activation::None),
        vec![
            Arg::Typed(DType::Bool, vec![3, 4]),
            Arg::TypedConst(DType::Bool, vec![4], vec![0, 1, 0, 0]),
        ],
        vec![(vec![3, 4], DType::Bool)],
    );
    check_gpu_matches_cpu("or const", g);
    let g = one_node_typed(
        Op::Unary(Unary::LogicalNot),
        vec![Arg::Typed(DType::Bool, vec![5, 13])],
        vec![(vec![5, 13], DType::Bool)],
    );
    check_gpu_matches_cpu("not", g);
}

fn select_and_select_v2() {
    if !gpu_available() {
        return;
    }
    // SELECT_V2 broadcasts all three.
    let cases: Vec<[Vec<usize>; 4]> = vec![
        [vec![3, 5], vec![3, 5], vec![3, 5], vec![3, 5]],
        [vec![3, 1], vec![1, 5], vec![3, 5], vec![3, 5]],
        [vec![1], vec![2, 3, 4], vec![4], vec![2, 3, 4]],
        [
            vec![2, 1, 3, 1, 2, 1],
            vec![1, 2, 1, 4, 1, 3],
            vec![3],
            vec![2, 2, 3, 4, 2, 3],
        ],
    ];
    for dtype in [DType::F32, DType::I32, DType::I64, DType::Bool] {
        for [c, x, y, out] in &cases {
            let g = one_node_typed(
                Op::SelectV2,
                vec![
                    Arg::Typed(DType::Bool, c.clone()),
                    Arg::Typed(dtype, x.clone()),
                    Arg::Typed(dtype, y.clone()),
                ],
                vec![(out.clone(), dtype)],
            );
            check_gpu_matches_cpu(&format!("select_v2 {dtype} {c:?} {x:?} {y:?}"), g);
        }
    }
    // SELECT: equal shapes, and a rank-1 condition over the first axis.
    for (c, x) in [
        (vec![7, 3], vec![7, 3]),
        (vec![4], vec![4, 3, 5]),
        (vec![9], vec![9]),
    ] {
        let g = one_node_typed(
            Op::Select,
            vec![
                Arg::Typed(DType::Bool, c.clone()),
                Arg::Input(x.clone()),
                Arg::Input(x.clone()),
            ],
            vec![(x.clone(), DType::F32)],
        );
        check_gpu_matches_cpu(&format!("select {c:?} {x:?}"), g);
    }
    // A constant condition and a constant value.
    let g = one_node_typed(
        Op::SelectV2,
        vec![
            Arg::TypedConst(DType::Bool, vec![3], vec![1, 0, 1]),
            Arg::Input(vec![2, 3]),
            Arg::Const(vec![1], vec![-7.5]),
        ],
        vec![(vec![2, 3], DType::F32)],
    );
    check_gpu_matches_cpu("select_v2 const", g);
}

fn cast_every_direction() {
    if !gpu_available() {
        return;
    }
    let types = [DType::F32, DType::I32, DType::I64, DType::Bool];
    for from in types {
        for to in types {
            let shape = vec![3, 7, 5];
            let g = one_node_typed(
                Op::Cast,
                vec![Arg::Typed(from, shape.clone())],
                vec![(shape, to)],
            );
            // Floats in [-40, 40): truncation toward zero sees both signs.
            let ins = scaled(&g, 40.0);
            check_gpu_matches_cpu_on(&format!("cast {from} -> {to}"), g, ins);
        }
    }
    // Exact zeros and integers among the floats.
    let g = one_node_typed(
        Op::Cast,
        vec![Arg::Input(vec![64])],
        vec![(vec![64], DType::Bool)],
    );
    let ins = coarse(&g);
    check_gpu_matches_cpu_on("cast coarse f32 -> bool", g, ins);
}

/// A tensor of a hand-built graph.
fn t(tensors: &mut Vec<TensorInfo>, name: &str, dtype: DType, shape: Vec<usize>) -> usize {
    tensors.push(TensorInfo::new(name, dtype, shape));
    tensors.len() - 1
}

fn graph(
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
) -> Graph {
    Graph {
        subgraphs: vec![Subgraph {
            name: "test".into(),
            tensors,
            nodes,
            inputs,
            outputs,
        }],
        version: 3,
        ..Default::default()
    }
}

fn node(op: Op, inputs: &[usize], outputs: &[usize]) -> Node {
    Node {
        op,
        inputs: inputs.iter().map(|&i| Some(i)).collect(),
        outputs: outputs.to_vec(),
    }
}

fn argmax_output_leaves_the_partition() {
    if !gpu_available() {
        return;
    }
    // x -> ADD(x, x) -> ARG_MAX (int64, a partition output) and
    // ARG_MAX -> CAST to float -> MUL with x's row sum proxy (another output).
    let mut ts = Vec::new();
    let x = t(&mut ts, "x", DType::F32, vec![6, 11]);
    let y = t(&mut ts, "y", DType::F32, vec![6, 11]);
    let mut axis = TensorInfo::new("axis", DType::I32, vec![1]);
    axis.data = Some(Arc::from(int_bytes(DType::I32, &[1])));
    ts.push(axis);
    let axis = ts.len() - 1;
    let idx = t(&mut ts, "idx", DType::I64, vec![6]);
    let f = t(&mut ts, "f", DType::F32, vec![6]);
    let g2 = t(&mut ts, "g", DType::F32, vec![6]);
    let nodes = vec![
        node(Op::Binary(Binary::Add, Activation::None), &[x, x], &[y]),
        node(
            Op::ArgMax {
                output_type: DType::I64,
            },
            &[y, axis],
            &[idx],
        ),
        node(Op::Cast, &[idx], &[f]),
        node(Op::Binary(Binary::Mul, Activation::None), &[f, f], &[g2]),
    ];
    let gr = graph(ts, nodes, vec![x], vec![idx, g2]);
    let ins = coarse(&gr);
    check_gpu_matches_cpu_on("argmax partition output", gr.clone(), ins);
    check_gpu_matches_cpu("argmax partition output (seeded)", gr);
}

fn comparison_feeds_select_in_one_partition() {
    if !gpu_available() {
        return;
    }
    // c = LESS(a, b); m = LOGICAL_NOT(c); out = SELECT_V2(m, a * 2, b);
    // cnt = CAST(c) to int32 (int output) .
    let mut ts = Vec::new();
    let a = t(&mut ts, "a", DType::F32, vec![4, 1, 9]);
    let b = t(&mut ts, "b", DType::F32, vec![3, 9]);
    let c = t(&mut ts, "c", DType::Bool, vec![4, 3, 9]);
    let m = t(&mut ts, "m", DType::Bool, vec![4, 3, 9]);
    let a2 = t(&mut ts, "a2", DType::F32, vec![4, 1, 9]);
    let out = t(&mut ts, "out", DType::F32, vec![4, 3, 9]);
    let cnt = t(&mut ts, "cnt", DType::I32, vec![4, 3, 9]);
    let nodes = vec![
        node(Op::Binary(Binary::Less, Activation::None), &[a, b], &[c]),
        node(Op::Unary(Unary::LogicalNot), &[c], &[m]),
        node(Op::Binary(Binary::Add, Activation::None), &[a, a], &[a2]),
        node(Op::SelectV2, &[m, a2, b], &[out]),
        node(Op::Cast, &[c], &[cnt]),
    ];
    let gr = graph(ts, nodes, vec![a, b], vec![out, cnt]);
    check_gpu_matches_cpu("compare -> select", gr.clone());
    let ins = coarse(&gr);
    check_gpu_matches_cpu_on("compare -> select (ties)", gr, ins);
}

fn int64_inputs_outside_int32_run_on_the_cpu() {
    if !gpu_available() {
        return;
    }
    let g = one_node_typed(
        Op::Cast,
        vec![Arg::Typed(DType::I64, vec![3])],
        vec![(vec![3], DType::F32)],
    );
    let model = tflite_wgpu::Model::from_graph(g);
    let mut interp = tflite_wgpu::Interpreter::with_options(
        &model,
        tflite_wgpu::Options {
            device: tflite_wgpu::Device::Gpu,
            ..Default::default()
        },
    )
    .expect("prepare");
    let big = 1i64 << 40;
    interp
        .set_input(0, Tensor::new(vec![3], Data::I64(vec![1, -2, big])))
        .expect("input");
    interp.invoke().expect("invoke");
    let out = interp.output(0).unwrap().as_f32().unwrap().to_vec();
    assert_eq!(out, vec![1.0, -2.0, big as f32]);
    let _ = values(1, 0);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, arg_max_min_int32_and_int64),
        crate::case!(gpu, arg_max_axis_as_int64_constant),
        crate::case!(gpu, comparisons_float_and_int_broadcast),
        crate::case!(gpu, logical_ops),
        crate::case!(gpu, select_and_select_v2),
        crate::case!(gpu, cast_every_direction),
        crate::case!(gpu, argmax_output_leaves_the_partition),
        crate::case!(gpu, comparison_feeds_select_in_one_partition),
        crate::case!(gpu, int64_inputs_outside_int32_run_on_the_cpu),
    ]
}
