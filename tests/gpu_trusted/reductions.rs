//! The float reductions and split-K matmuls on their trusted (unchecked) shader
//! modules, as production runs them (runtime checks off in this test's
//! tuning, whatever the environment says). Each kernel (per invocation, subgroup, workgroup tree, rows split into
//! parts; split K by subgroup and by workgroup memory, forced on CPU adapters)
//! against the CPU at fp32 and fp16.

use crate::common;

use common::gpu::{check_gpu_matches_cpu_tuned, one_node, values, Arg};
use tflite_wgpu::graph::op::{Activation, FullyConnected, Reduce};
use tflite_wgpu::graph::Op;
use tflite_wgpu::Tuning;

fn trusted_reductions_and_split_k_match_the_cpu() {
    if tflite_wgpu::gpu_adapter(Default::default()).is_err() {
        common::missing("no GPU adapter");
        return;
    }
    for workgroup in [false, true] {
        let tuning = Tuning {
            shader_checks: false,
            split_k: true,
            workgroup_reductions: workgroup,
            ..Tuning::default()
        };
        for kind in [Reduce::Mean, Reduce::Max] {
            for (shape, axes, out) in [
                (vec![3, 1001], vec![-1], vec![3]),
                (vec![65, 5], vec![0], vec![5]),
                (vec![1, 7, 7, 130], vec![1, 2], vec![1, 130]),
                (vec![1100, 300], vec![1], vec![1100]),
                (vec![2, 40_001], vec![-1], vec![2]),
            ] {
                let g = one_node(
                    Op::Reduce {
                        kind,
                        keep_dims: false,
                    },
                    vec![Arg::Input(shape.clone()), Arg::Ints(axes)],
                    vec![out],
                );
                let name = format!("{kind:?} {shape:?} workgroup={workgroup}");
                check_gpu_matches_cpu_tuned(&name, g, tuning);
            }
        }
        let (rows, inner, units) = (2, 1001, 37);
        let w: Vec<f32> = values(units * inner, 5).iter().map(|v| v * 0.06).collect();
        let g = one_node(
            Op::FullyConnected(FullyConnected {
                activation: Activation::None,
                keep_num_dims: false,
                asymmetric_quantize_inputs: false,
            }),
            vec![
                Arg::Input(vec![rows, inner]),
                Arg::Const(vec![units, inner], w),
                Arg::Const(vec![units], values(units, 6)),
            ],
            vec![vec![rows, units]],
        );
        check_gpu_matches_cpu_tuned(&format!("split-K fc workgroup={workgroup}"), g, tuning);
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![crate::case!(
        gpu,
        trusted_reductions_and_split_k_match_the_cpu
    )]
}
