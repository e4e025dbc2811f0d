//! GPU convolutions and matmuls against the CPU interpreter at fp32 (tight) and
//! fp16 (loose): odd sizes, strides, dilation, padding modes, groups, depth
//! multipliers, transposed convs, FULLY_CONNECTED and BATCH_MATMUL broadcasting.

use crate::common;

use common::gpu::{check_gpu_matches_cpu, gpu_available, one_node, values, Arg};
use tflite_wgpu::graph::op::{
    Activation, Conv2D, DepthwiseConv2D, FullyConnected, Padding, TransposeConv,
};
use tflite_wgpu::graph::Op;

fn out_size(padding: Padding, input: usize, k: usize, stride: usize, dil: usize) -> usize {
    let eff = (k - 1) * dil + 1;
    match padding {
        Padding::Same => input.div_ceil(stride),
        Padding::Valid => (input - eff) / stride + 1,
    }
}

fn filter(shape: &[usize], seed: u32) -> Arg {
    let n = shape.iter().product();
    // Scaled so that sums over the window stay near 1 (fp16 tolerance is relative).
    let v = values(n, seed).iter().map(|x| x * 0.5).collect();
    Arg::Const(shape.to_vec(), v)
}

struct ConvCase {
    input: [usize; 4],
    oc: usize,
    k: (usize, usize),
    stride: (usize, usize),
    dil: (usize, usize),
    padding: Padding,
    groups: usize,
    bias: bool,
    act: Activation,
}

fn run_conv(c: &ConvCase, seed: u32) {
    let [n, ih, iw, ic] = c.input;
    let fic = ic / c.groups;
    let oh = out_size(c.padding, ih, c.k.0, c.stride.0, c.dil.0);
    let ow = out_size(c.padding, iw, c.k.1, c.stride.1, c.dil.1);
    let op = Op::Conv2D(Conv2D {
        padding: c.padding,
        stride_h: c.stride.0,
        stride_w: c.stride.1,
        dilation_h: c.dil.0,
        dilation_w: c.dil.1,
        activation: c.act,
    });
    let bias = if c.bias {
        filter(&[c.oc], seed + 1)
    } else {
        Arg::Absent
    };
    let g = one_node(
        op,
        vec![
            Arg::Input(c.input.to_vec()),
            filter(&[c.oc, c.k.0, c.k.1, fic], seed),
            bias,
        ],
        vec![vec![n, oh, ow, c.oc]],
    );
    let name = format!(
        "conv in={:?} oc={} k={:?} s={:?} d={:?} {:?} g={} bias={} {:?}",
        c.input, c.oc, c.k, c.stride, c.dil, c.padding, c.groups, c.bias, c.act
    );
    check_gpu_matches_cpu(&name, g);
}

fn conv2d_shapes_and_options() {
    if !gpu_available() {
        return;
    }
    let base = ConvCase {
        input: [1, 7, 9, 5],
        oc: 7,
        k: (3, 3),
        stride: (1, 1),
        dil: (1, 1),
        padding: Padding::Same,
        groups: 1,
        bias: true,
        act: Activation::None,
    };
    let cases = vec![
        // 1x1, no bias.
        ConvCase {
            k: (1, 1),
            bias: false,
            ..base
        },
        // 3x3 SAME / VALID, stride 1 / 2.
        ConvCase { ..base },
        ConvCase {
            padding: Padding::Valid,
            stride: (2, 2),
            act: Activation::Relu6,
            ..base
        },
        ConvCase {
            input: [2, 11, 8, 3],
            stride: (2, 2),
            act: Activation::Relu,
            ..base
        },
        // 5x5, dilation 2.
        ConvCase {
            k: (5, 5),
            dil: (2, 2),
            oc: 9,
            act: Activation::ReluN1To1,
            ..base
        },
        ConvCase {
            k: (5, 5),
            dil: (2, 2),
            padding: Padding::Valid,
            input: [1, 13, 12, 3],
            ..base
        },
        // Even kernel with SAME (extra pad at the end), rectangular stride.
        ConvCase {
            k: (2, 4),
            stride: (1, 2),
            ..base
        },
        ConvCase {
            k: (3, 1),
            stride: (2, 1),
            bias: false,
            ..base
        },
        // Grouped: 6 input channels in 3 groups of 2, 9 outputs (3 per group).
        ConvCase {
            input: [1, 6, 5, 6],
            oc: 9,
            groups: 3,
            ..base
        },
        ConvCase {
            input: [2, 5, 7, 8],
            oc: 10,
            groups: 2,
            stride: (2, 2),
            padding: Padding::Valid,
            bias: false,
            act: Activation::Relu,
            ..base
        },
        // Many channels (several vec4 quads plus a tail).
        ConvCase {
            input: [1, 5, 5, 19],
            oc: 33,
            ..base
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        run_conv(c, 100 + i as u32 * 7);
    }
}

/// input, depth multiplier, kernel, stride, dilation, padding, bias, activation.
type DwCase = (
    [usize; 4],
    usize,
    usize,
    usize,
    usize,
    Padding,
    bool,
    Activation,
);

fn run_depthwise(c: DwCase) {
    let (input, m, k, stride, dil, padding, bias, act) = c;
    let [n, ih, iw, ic] = input;
    let oc = ic * m;
    let oh = out_size(padding, ih, k, stride, dil);
    let ow = out_size(padding, iw, k, stride, dil);
    let op = Op::DepthwiseConv2D(DepthwiseConv2D {
        padding,
        stride_h: stride,
        stride_w: stride,
        depth_multiplier: m,
        dilation_h: dil,
        dilation_w: dil,
        activation: act,
    });
    let g = one_node(
        op,
        vec![
            Arg::Input(input.to_vec()),
            filter(&[1, k, k, oc], 31),
            if bias { filter(&[oc], 32) } else { Arg::Absent },
        ],
        vec![vec![n, oh, ow, oc]],
    );
    let name = format!("dw in={input:?} m={m} k={k} s={stride} d={dil} {padding:?} {act:?}");
    check_gpu_matches_cpu(&name, g);
}

fn depthwise_conv2d_multipliers() {
    if !gpu_available() {
        return;
    }
    use Activation::*;
    let cases: [DwCase; 5] = [
        ([1, 9, 7, 5], 1, 3, 1, 1, Padding::Same, true, None),
        ([2, 9, 8, 3], 2, 3, 2, 1, Padding::Same, true, Relu6),
        ([1, 11, 9, 4], 2, 5, 1, 1, Padding::Valid, false, Relu),
        ([1, 10, 10, 3], 1, 3, 1, 2, Padding::Same, true, ReluN1To1),
        ([1, 6, 7, 7], 1, 2, 2, 1, Padding::Same, false, None),
    ];
    for c in cases {
        run_depthwise(c);
    }
}

/// input, output channels, kernel, stride, padding, output (h, w).
type TcCase = ([usize; 4], usize, usize, usize, Padding, (usize, usize));

fn transpose_conv_stride_2() {
    if !gpu_available() {
        return;
    }
    // (input, oc, k, stride, padding, output h/w)
    let cases: Vec<TcCase> = vec![
        ([1, 4, 5, 3], 5, 3, 2, Padding::Same, (8, 10)),
        ([1, 4, 5, 3], 5, 3, 2, Padding::Same, (7, 9)),
        ([2, 3, 4, 6], 7, 3, 2, Padding::Valid, (7, 9)),
        ([1, 5, 3, 2], 4, 4, 2, Padding::Same, (10, 6)),
        ([1, 3, 3, 4], 9, 2, 2, Padding::Valid, (6, 6)),
    ];
    for (i, (input, oc, k, s, padding, (oh, ow))) in cases.into_iter().enumerate() {
        let [n, _, _, ic] = input;
        let p = TransposeConv {
            padding,
            stride_h: s,
            stride_w: s,
            activation: if i % 2 == 0 {
                Activation::None
            } else {
                Activation::Relu
            },
        };
        let bias = if i % 3 == 2 {
            Arg::Absent
        } else {
            filter(&[oc], 50 + i as u32)
        };
        let g = one_node(
            Op::TransposeConv(p),
            vec![
                Arg::Ints(vec![n as i32, oh as i32, ow as i32, oc as i32]),
                filter(&[oc, k, k, ic], 40 + i as u32),
                Arg::Input(input.to_vec()),
                bias,
            ],
            vec![vec![n, oh, ow, oc]],
        );
        check_gpu_matches_cpu(&format!("transpose conv case {i}"), g);
        // MediaPipe's variant: [input, filter, bias], output size from padding.
        let (bh, bw) = match padding {
            Padding::Same => (input[1] * s, input[2] * s),
            Padding::Valid => ((input[1] - 1) * s + k, (input[2] - 1) * s + k),
        };
        let g = one_node(
            Op::TransposeConvBias(p),
            vec![
                Arg::Input(input.to_vec()),
                filter(&[oc, k, k, ic], 40 + i as u32),
                filter(&[oc], 60 + i as u32),
            ],
            vec![vec![n, bh, bw, oc]],
        );
        check_gpu_matches_cpu(&format!("transpose conv bias case {i}"), g);
    }
}

fn fully_connected_variants() {
    if !gpu_available() {
        return;
    }
    // (input shape, units, keep_num_dims, bias, const weights, activation)
    let cases: Vec<(Vec<usize>, usize, bool, bool, bool, Activation)> = vec![
        (vec![3, 17], 5, false, true, true, Activation::None),
        (vec![1, 33], 9, false, false, true, Activation::Relu),
        (vec![2, 5, 7], 6, true, true, true, Activation::Relu6),
        (vec![2, 5, 7], 6, false, true, true, Activation::None),
        (
            vec![2, 3, 2, 4],
            3,
            false,
            true,
            true,
            Activation::ReluN1To1,
        ),
        (vec![4, 13], 7, false, true, false, Activation::None),
        (vec![3, 2, 13], 11, true, false, false, Activation::Relu),
    ];
    for (i, (shape, units, keep, bias, cw, act)) in cases.into_iter().enumerate() {
        let inner = *shape.last().unwrap_or(&1);
        let rows = shape.iter().product::<usize>() / inner;
        let out = if keep {
            let mut s = shape.clone();
            *s.last_mut().unwrap() = units;
            s
        } else {
            vec![rows, units]
        };
        let w = if cw {
            filter(&[units, inner], 70 + i as u32)
        } else {
            Arg::Input(vec![units, inner])
        };
        let g = one_node(
            Op::FullyConnected(FullyConnected {
                activation: act,
                keep_num_dims: keep,
                asymmetric_quantize_inputs: false,
            }),
            vec![
                Arg::Input(shape.clone()),
                w,
                if bias {
                    filter(&[units], 80 + i as u32)
                } else {
                    Arg::Absent
                },
            ],
            vec![out],
        );
        check_gpu_matches_cpu(
            &format!("fc case {i} {shape:?} units={units} keep={keep}"),
            g,
        );
    }
}

/// a shape, b shape, adj_x, adj_y, output shape, b constant.
type BmmCase = (Vec<usize>, Vec<usize>, bool, bool, Vec<usize>, bool);

fn batch_matmul_adjoints_and_broadcast() {
    if !gpu_available() {
        return;
    }
    // (a shape, b shape, adj_x, adj_y, out shape, b constant)
    let cases: Vec<BmmCase> = vec![
        (
            vec![2, 3, 5],
            vec![2, 5, 7],
            false,
            false,
            vec![2, 3, 7],
            false,
        ),
        (
            vec![2, 5, 3],
            vec![2, 5, 7],
            true,
            false,
            vec![2, 3, 7],
            false,
        ),
        (
            vec![2, 3, 5],
            vec![2, 7, 5],
            false,
            true,
            vec![2, 3, 7],
            false,
        ),
        (vec![3, 5, 3], vec![7, 5], true, true, vec![3, 3, 7], false),
        (
            vec![2, 1, 3, 5],
            vec![1, 4, 5, 6],
            false,
            false,
            vec![2, 4, 3, 6],
            false,
        ),
        (
            vec![4, 3, 5],
            vec![2, 1, 5, 9],
            false,
            false,
            vec![2, 4, 3, 9],
            true,
        ),
        (
            vec![2, 1, 3, 4, 5],
            vec![1, 2, 1, 6, 5],
            false,
            true,
            vec![2, 2, 3, 4, 6],
            false,
        ),
        (
            vec![1, 9, 13],
            vec![13, 1],
            false,
            false,
            vec![1, 9, 1],
            true,
        ),
    ];
    for (i, (a, b, ax, ay, out, bc)) in cases.into_iter().enumerate() {
        let barg = if bc {
            filter(&b, 90 + i as u32)
        } else {
            Arg::Input(b.clone())
        };
        let g = one_node(
            Op::BatchMatMul {
                adj_x: ax,
                adj_y: ay,
                asymmetric_quantize_inputs: false,
            },
            vec![Arg::Input(a.clone()), barg],
            vec![out],
        );
        check_gpu_matches_cpu(&format!("bmm {a:?} x {b:?} adj=({ax},{ay})"), g);
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, conv2d_shapes_and_options),
        crate::case!(gpu, depthwise_conv2d_multipliers),
        crate::case!(gpu, transpose_conv_stride_2),
        crate::case!(gpu, fully_connected_variants),
        crate::case!(gpu, batch_matmul_adjoints_and_broadcast),
    ]
}
