//! Every GPU lowering against the CPU interpreter at fp32 (tight) and fp16 (loose),
//! over odd sizes, broadcasting and ranks up to 6. Runs on any adapter, Mesa's
//! lavapipe in CI.

mod common;

use common::gpu::{check_gpu_matches_cpu, gpu_available, one_node, Arg};
use tflite_wgpu::graph::op::{Activation, Binary, Unary};
use tflite_wgpu::graph::Op;

#[test]
fn unary_ops() {
    if !gpu_available() {
        return;
    }
    let ops = [
        Unary::Abs,
        Unary::Neg,
        Unary::Exp,
        Unary::Square,
        Unary::Sin,
        Unary::Cos,
        Unary::Floor,
        Unary::Ceil,
        Unary::Round,
        Unary::Sign,
        Unary::Relu,
        Unary::Relu6,
        Unary::ReluN1To1,
        Unary::Relu0To1,
        Unary::Logistic,
        Unary::Tanh,
        Unary::HardSwish,
        Unary::Elu,
        Unary::Gelu { approximate: false },
        Unary::Gelu { approximate: true },
        Unary::LeakyRelu { alpha: 0.2 },
    ];
    for u in ops {
        let shape = vec![2, 3, 5, 7];
        let g = one_node(Op::Unary(u), vec![Arg::Input(shape.clone())], vec![shape]);
        check_gpu_matches_cpu(&format!("{u:?}"), g);
    }
}

#[test]
fn binary_ops_broadcast_to_rank_6() {
    if !gpu_available() {
        return;
    }
    let cases: Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> = vec![
        (vec![3, 5], vec![3, 5], vec![3, 5]),
        (vec![2, 1, 4], vec![3, 1], vec![2, 3, 4]),
        (vec![1], vec![7, 3], vec![7, 3]),
        (
            vec![2, 1, 3, 1, 2, 3],
            vec![1, 2, 1, 4, 1, 3],
            vec![2, 2, 3, 4, 2, 3],
        ),
        (vec![1, 1, 1, 5], vec![2, 3, 4, 5, 1], vec![2, 3, 4, 5, 5]),
    ];
    for b in [
        Binary::Add,
        Binary::Sub,
        Binary::Mul,
        Binary::Maximum,
        Binary::Minimum,
        Binary::SquaredDifference,
    ] {
        for (a, bs, out) in &cases {
            let g = one_node(
                Op::Binary(b, Activation::Relu6),
                vec![Arg::Input(a.clone()), Arg::Input(bs.clone())],
                vec![out.clone()],
            );
            check_gpu_matches_cpu(&format!("{b:?} {a:?} {bs:?}"), g);
        }
    }
}

#[test]
fn more_than_65535_workgroups() {
    if !gpu_available() {
        return;
    }
    let shape = vec![65_536 * 64 + 3];
    let g = one_node(
        Op::Binary(Binary::Add, Activation::None),
        vec![Arg::Input(shape.clone()), Arg::Input(vec![1])],
        vec![shape],
    );
    check_gpu_matches_cpu("large add", g);
}
