//! The trusted (unchecked) shader modules: every other GPU test turns runtime
//! checks on in its interpreters' tuning (common::gpu::checked), so this test
//! alone runs the tiled kernels (forced on CPU adapters too) as production
//! does, and checks them against the CPU at fp32 and fp16.

use crate::common;

use common::gpu::{check_gpu_matches_cpu_tuned, one_node, values, Arg};
use tflite_wgpu::graph::op::{Activation, Conv2D, DepthwiseConv2D, FullyConnected, Padding};
use tflite_wgpu::graph::{Graph, Op};
use tflite_wgpu::Tuning;

fn weights(shape: &[usize], seed: u32) -> Arg {
    let n: usize = shape.iter().product();
    let scale = 2.0 / (n as f32 / shape[0] as f32).sqrt();
    Arg::Const(
        shape.to_vec(),
        values(n, seed).iter().map(|x| x * scale).collect(),
    )
}

/// x -> op(x, w, b) -> y, with constant weights and bias.
fn graph(op: Op, x: &[usize], w: &[usize], units: usize, y: &[usize]) -> Graph {
    let args = vec![Arg::Input(x.to_vec()), weights(w, 3), weights(&[units], 4)];
    one_node(op, args, vec![y.to_vec()])
}

fn trusted_tiled_kernels_match_the_cpu() {
    if tflite_wgpu::gpu_adapter(Default::default()).is_err() {
        common::missing("no GPU adapter");
        return;
    }
    let tuning = Tuning {
        shader_checks: false,
        tiled_convolutions: true,
        ..Tuning::default()
    };
    let check = |name: &str, g| check_gpu_matches_cpu_tuned(name, g, tuning);
    let conv = |padding, stride| {
        Op::Conv2D(Conv2D {
            padding,
            stride_h: stride,
            stride_w: stride,
            dilation_h: 1,
            dilation_w: 1,
            activation: Activation::Relu6,
        })
    };
    let g = graph(
        conv(Padding::Same, 2),
        &[2, 9, 7, 6],
        &[35, 3, 3, 6],
        35,
        &[2, 5, 4, 35],
    );
    check("conv3x3 s2", g);
    let g = graph(
        conv(Padding::Valid, 1),
        &[1, 6, 5, 70],
        &[33, 1, 1, 70],
        33,
        &[1, 6, 5, 33],
    );
    check("conv1x1", g);
    let dw = Op::DepthwiseConv2D(DepthwiseConv2D {
        padding: Padding::Same,
        stride_h: 1,
        stride_w: 1,
        depth_multiplier: 1,
        dilation_h: 1,
        dilation_w: 1,
        activation: Activation::None,
    });
    let g = graph(dw, &[1, 7, 9, 10], &[1, 3, 3, 10], 10, &[1, 7, 9, 10]);
    check("depthwise", g);
    let fc = || {
        Op::FullyConnected(FullyConnected {
            activation: Activation::None,
            keep_num_dims: false,
            asymmetric_quantize_inputs: false,
        })
    };
    let g = graph(fc(), &[1, 300], &[101, 300], 101, &[1, 101]);
    check("fc split k", g);
    let g = graph(fc(), &[40, 30], &[37, 30], 37, &[40, 37]);
    check("fc tiled", g);
}

/// The tiles of a GPU plan (`nvidia-h100`: 64 to 256 invocations, 1 to 4
/// pixels per invocation, split K), unchecked on the adapter in hand.
fn trusted_gpu_profile_tiles_match_the_cpu() {
    if tflite_wgpu::gpu_adapter(Default::default()).is_err() {
        common::missing("no GPU adapter");
        return;
    }
    let tuning = Tuning {
        shader_checks: false,
        ..Tuning::default()
    };
    let profile = tflite_wgpu::AdapterProfile::bundled("nvidia-h100");
    let conv = |k: usize, stride: usize| {
        Op::Conv2D(Conv2D {
            padding: if k == 1 {
                Padding::Valid
            } else {
                Padding::Same
            },
            stride_h: stride,
            stride_w: stride,
            dilation_h: 1,
            dilation_w: 1,
            activation: Activation::Relu6,
        })
    };
    // (input [n, h, w, c], output channels, filter size, stride): split K over
    // 7 x 7 and 4 x 4 pixels, scalar loads of 3 channels, a 256-invocation
    // tile over 112 x 112 pixels.
    let cases: [([usize; 4], usize, usize, usize); 4] = [
        ([1, 7, 7, 960], 160, 1, 1),
        ([1, 4, 4, 200], 48, 3, 1),
        ([1, 30, 30, 3], 24, 5, 2),
        ([1, 112, 112, 16], 96, 1, 1),
    ];
    for (x, oc, k, s) in cases {
        let y = [x[0], x[1].div_ceil(s), x[2].div_ceil(s), oc];
        let g = graph(conv(k, s), &x, &[oc, k, k, x[3]], oc, &y);
        let inputs = common::gpu::seeded_inputs(&g);
        common::gpu::check_gpu_matches_cpu_planned(
            &format!("conv {x:?} -> {oc} k{k} s{s}"),
            g,
            inputs,
            tuning,
            profile.clone(),
        );
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, trusted_tiled_kernels_match_the_cpu),
        crate::case!(gpu, trusted_gpu_profile_tiles_match_the_cpu),
    ]
}
