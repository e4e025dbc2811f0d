//! Split-K FULLY_CONNECTED and BATCH_MATMUL (float and int8) against the CPU
//! reference at fp32 and fp16, on both reductions of the slices' partial sums:
//! subgroup operations (when the adapter has SUBGROUP; lavapipe's subgroups
//! are 8 wide) and workgroup memory, forced for the second pass. Split K is
//! forced here: the cost model never chooses it on CPU adapters.

use crate::common;

use common::gpu::{check_gpu_matches_cpu_tuned, check_gpu_matches_cpu_with, checked};
use common::gpu::{one_node, one_node_typed};
use common::gpu::{values, Arg};
use tflite_wgpu::graph::op::{Activation, FullyConnected};
use tflite_wgpu::graph::{DType, Graph, Op, Quantization};
use tflite_wgpu::{Data, Tensor, Tuning};

/// Constant weights scaled so that sums stay near 1 (the fp16 tolerance is
/// relative to the output's largest value).
fn weights(shape: &[usize], seed: u32, fan_in: usize) -> Arg {
    let n = shape.iter().product();
    let scale = 2.0 / (fan_in as f32).sqrt();
    Arg::Const(
        shape.to_vec(),
        values(n, seed).iter().map(|x| x * scale).collect(),
    )
}

/// FULLY_CONNECTED with constant weights: rows x inner -> rows x units.
fn fc(rows: usize, inner: usize, units: usize, seed: u32) -> Graph {
    one_node(
        Op::FullyConnected(FullyConnected {
            activation: Activation::Relu6,
            keep_num_dims: false,
            asymmetric_quantize_inputs: false,
        }),
        vec![
            Arg::Input(vec![rows, inner]),
            weights(&[units, inner], seed, inner),
            weights(&[units], seed + 1, 1),
        ],
        vec![vec![rows, units]],
    )
}

fn bmm(a: Vec<usize>, b: Vec<usize>, out: Vec<usize>, adj_y: bool) -> Graph {
    one_node(
        Op::BatchMatMul {
            adj_x: false,
            adj_y,
            asymmetric_quantize_inputs: false,
        },
        vec![Arg::Input(a), Arg::Input(b)],
        vec![out],
    )
}

/// An int8 BATCH_MATMUL of runtime operands a x b, checked exactly.
fn int8_bmm(name: &str, a: Vec<usize>, b: Vec<usize>, out: Vec<usize>, tuning: Tuning) {
    let mut g = one_node_typed(
        Op::BatchMatMul {
            adj_x: false,
            adj_y: false,
            asymmetric_quantize_inputs: false,
        },
        vec![
            Arg::Typed(DType::I8, a.clone()),
            Arg::Typed(DType::I8, b.clone()),
        ],
        vec![(out, DType::I8)],
    );
    for (t, scale, zp) in [(0, 0.02, 3), (1, 0.03, -2), (2, 0.1, 1)] {
        g.subgraphs[0].tensors[t].quantization = Some(Quantization::per_tensor(scale, zp));
    }
    let int8 = |shape: Vec<usize>, seed: u32| {
        let n = shape.iter().product();
        let v = values(n, seed)
            .iter()
            .map(|x| (x * 128.0).floor().clamp(-128.0, 127.0) as i8)
            .collect();
        Tensor::new(shape, Data::I8(v))
    };
    check_gpu_matches_cpu_with(name, g, vec![int8(a, 41), int8(b, 42)], tuning);
}

fn split_k_matches_the_cpu_with_subgroup_and_workgroup_reductions() {
    if !common::gpu::gpu_available() {
        return;
    }
    let subgroups = tflite_wgpu::gpu_adapter(Default::default()).is_ok_and(|a| a.subgroups);
    if !subgroups {
        common::missing("the adapter has no SUBGROUP: only the workgroup path runs");
    }
    for workgroup in [false, true] {
        let tuning = Tuning {
            split_k: true,
            workgroup_reductions: workgroup,
            ..checked()
        };
        // A classifier row; K not a multiple of any slice count; a K of
        // exactly 4 steps per slice; few columns; a few rows of a long K.
        for (k, (rows, inner, units)) in [
            (1, 1280, 1001),
            (1, 1001, 37),
            (1, 64, 5),
            (2, 2049, 3),
            (7, 300, 70),
        ]
        .into_iter()
        .enumerate()
        {
            let name = format!("fc {rows}x{inner} -> {units} workgroup={workgroup}");
            check_gpu_matches_cpu_tuned(&name, fc(rows, inner, units, 90 + k as u32), tuning);
        }
        // Batched rows, one operand broadcast, B adjoint.
        check_gpu_matches_cpu_tuned(
            &format!("bmm [3,2,517] x [517,9] workgroup={workgroup}"),
            bmm(vec![3, 2, 517], vec![517, 9], vec![3, 2, 9], false),
            tuning,
        );
        check_gpu_matches_cpu_tuned(
            &format!("bmm [2,1,300] x [2,33,300]^T workgroup={workgroup}"),
            bmm(vec![2, 1, 300], vec![2, 33, 300], vec![2, 1, 33], true),
            tuning,
        );
        int8_bmm(
            &format!("int8 bmm [2,3,700] x [700,19] workgroup={workgroup}"),
            vec![2, 3, 700],
            vec![700, 19],
            vec![2, 3, 19],
            tuning,
        );
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(
        gpu,
        split_k_matches_the_cpu_with_subgroup_and_workgroup_reductions
    )]
}
