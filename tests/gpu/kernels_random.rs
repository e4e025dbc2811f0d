//! Seeded random shapes for the tiled GPU kernels (implicit-GEMM CONV_2D with
//! its 1x1 variant, multi-pixel DEPTHWISE_CONV_2D, tiled and split-K
//! FULLY_CONNECTED / BATCH_MATMUL) against the CPU reference at fp32 and fp16,
//! float and int8, with the shaders' runtime checks on (common::gpu): sizes that
//! are not multiples of a tile, 1x1 and kxk filters, strides, dilations, groups,
//! 1 and 2,000+ channels, batches above 1. Convolutions take the tiled kernel
//! here even on CPU adapters, which otherwise run the direct one, except where a
//! test asks for the direct kernel through [`tuning`]. Activations are read as
//! vec4 quads where the channel layout aligns them (channel counts and group
//! offsets multiples of 4) and one element at a time otherwise: both are
//! exercised on both convolution paths.

use crate::common;

use common::gpu::gpu_available;
use common::gpu::{one_node, one_node_typed, values, Arg};
use tflite_wgpu::graph::op::{Activation, Conv2D, DepthwiseConv2D, FullyConnected, Padding};
use tflite_wgpu::graph::{DType, Graph, Op, Quantization};
use tflite_wgpu::{Data, Tensor, Tuning};

/// The tuning of this file: runtime checks on, and convolutions on the tiled
/// kernel (`tiled`) or, on CPU adapters, the direct one (GPUs always take the
/// tiled one).
fn tuning(tiled: bool) -> Tuning {
    Tuning {
        tiled_convolutions: tiled,
        ..common::gpu::checked()
    }
}

/// [`common::gpu::check_gpu_matches_cpu`] on the tiled convolution kernel.
fn check_gpu_matches_cpu(name: &str, graph: Graph) {
    common::gpu::check_gpu_matches_cpu_tuned(name, graph, tuning(true));
}

/// [`common::gpu::check_gpu_matches_cpu_on`] on the tiled convolution kernel.
fn check_gpu_matches_cpu_on(name: &str, graph: Graph, inputs: Vec<Tensor>) {
    common::gpu::check_gpu_matches_cpu_with(name, graph, inputs, tuning(true));
}

/// The shapes of every case follow from the seed.
use tflite_wgpu::graph::rng::SeededRng as Rng;

fn out_size(padding: Padding, input: usize, k: usize, stride: usize, dil: usize) -> usize {
    let eff = (k - 1) * dil + 1;
    match padding {
        Padding::Same => input.div_ceil(stride),
        Padding::Valid => (input - eff) / stride + 1,
    }
}

/// Constant weights scaled so that window sums stay near 1 (the fp16 tolerance
/// is relative to the output's largest value).
fn weights(shape: &[usize], seed: u32, fan_in: usize) -> Arg {
    let n = shape.iter().product();
    let scale = 2.0 / (fan_in as f32).sqrt();
    let v = values(n, seed).iter().map(|x| x * scale).collect();
    Arg::Const(shape.to_vec(), v)
}

/// One convolution: input [n, h, w, ic], filter (kh, kw), stride, dilation.
#[derive(Debug, Clone, Copy)]
struct Conv {
    input: [usize; 4],
    oc: usize,
    k: (usize, usize),
    stride: (usize, usize),
    dil: (usize, usize),
    padding: Padding,
    groups: usize,
}

impl Conv {
    fn random(r: &mut Rng) -> Conv {
        let k = (
            r.pick(&[1, 1, 3, 3, 5, 2]).unwrap(),
            r.pick(&[1, 1, 3, 3, 5, 2]).unwrap(),
        );
        let stride = (r.range(1, 2), r.range(1, 2));
        let dil = if k.0 > 1 || k.1 > 1 {
            (r.range(1, 2), r.range(1, 2))
        } else {
            (1, 1)
        };
        let padding = r.pick(&[Padding::Same, Padding::Valid]).unwrap();
        let groups = r.pick(&[1, 1, 1, 2, 3]).unwrap();
        let fic = r.range(1, 13);
        let eff = |k: usize, d: usize| (k - 1) * d + 1;
        Conv {
            input: [
                r.range(1, 3),
                r.range(eff(k.0, dil.0), eff(k.0, dil.0) + 11),
                r.range(eff(k.1, dil.1), eff(k.1, dil.1) + 11),
                groups * fic,
            ],
            oc: groups * r.range(1, 40),
            k,
            stride,
            dil,
            padding,
            groups,
        }
    }

    fn out(&self) -> [usize; 4] {
        let [n, ih, iw, _] = self.input;
        [
            n,
            out_size(self.padding, ih, self.k.0, self.stride.0, self.dil.0),
            out_size(self.padding, iw, self.k.1, self.stride.1, self.dil.1),
            self.oc,
        ]
    }

    fn op(&self, activation: Activation) -> Op {
        Op::Conv2D(Conv2D {
            padding: self.padding,
            stride_h: self.stride.0,
            stride_w: self.stride.1,
            dilation_h: self.dil.0,
            dilation_w: self.dil.1,
            activation,
        })
    }

    fn filter_shape(&self) -> Vec<usize> {
        vec![self.oc, self.k.0, self.k.1, self.input[3] / self.groups]
    }

    fn float_graph(&self, seed: u32) -> Graph {
        let f = self.filter_shape();
        let fan_in = f[1] * f[2] * f[3];
        one_node(
            self.op(Activation::None),
            vec![
                Arg::Input(self.input.to_vec()),
                weights(&f, seed, fan_in),
                weights(&[self.oc], seed + 1, 1),
            ],
            vec![self.out().to_vec()],
        )
    }
}

fn conv2d_random_shapes_match_the_cpu() {
    if !gpu_available() {
        return;
    }
    let mut r = Rng::new(0x9e37_79b9_7f4a_7c15);
    for case in 0..24 {
        let c = Conv::random(&mut r);
        check_gpu_matches_cpu(&format!("conv case {case} {c:?}"), c.float_graph(case));
    }
}

fn conv2d_with_thousands_of_channels_matches_the_cpu() {
    if !gpu_available() {
        return;
    }
    let base = Conv {
        input: [1, 2, 3, 2051],
        oc: 7,
        k: (1, 1),
        stride: (1, 1),
        dil: (1, 1),
        padding: Padding::Valid,
        groups: 1,
    };
    let wide_out = Conv {
        input: [2, 4, 5, 3],
        oc: 2003,
        k: (3, 3),
        padding: Padding::Same,
        ..base
    };
    let one = Conv {
        input: [1, 5, 4, 1],
        oc: 1,
        k: (3, 3),
        padding: Padding::Same,
        ..base
    };
    for (k, c) in [base, wide_out, one].into_iter().enumerate() {
        check_gpu_matches_cpu(&format!("conv {c:?}"), c.float_graph(40 + k as u32));
    }
}

fn depthwise_random_shapes_match_the_cpu() {
    if !gpu_available() {
        return;
    }
    let mut r = Rng::new(0x2545_f491_4f6c_dd1d);
    let mut cases: Vec<([usize; 4], usize, usize, usize, usize, Padding)> = (0..16)
        .map(|_| {
            let k = r.pick(&[1, 3, 3, 5]).unwrap();
            let dil = r.range(1, 2);
            let eff = (k - 1) * dil + 1;
            (
                [
                    r.range(1, 2),
                    r.range(eff, eff + 9),
                    r.range(eff, eff + 13),
                    r.range(1, 19),
                ],
                r.pick(&[1, 1, 2, 3]).unwrap(),
                k,
                r.range(1, 2),
                dil,
                r.pick(&[Padding::Same, Padding::Valid]).unwrap(),
            )
        })
        .collect();
    cases.push(([1, 3, 5, 2050], 1, 3, 1, 1, Padding::Same));
    for (case, (input, m, k, stride, dil, padding)) in cases.into_iter().enumerate() {
        let g = depthwise_graph(input, m, k, (stride, dil), padding, 70 + case as u32);
        let name =
            format!("dw case {case} in={input:?} m={m} k={k} s={stride} d={dil} {padding:?}");
        check_gpu_matches_cpu(&name, g);
    }
}

/// One DEPTHWISE_CONV_2D (fused RELU6) over `input`, depth multiplier `m`, a
/// k x k filter, (stride, dilation) on both axes.
fn depthwise_graph(
    input: [usize; 4],
    m: usize,
    k: usize,
    (stride, dil): (usize, usize),
    padding: Padding,
    seed: u32,
) -> Graph {
    let oc = input[3] * m;
    let op = Op::DepthwiseConv2D(DepthwiseConv2D {
        padding,
        stride_h: stride,
        stride_w: stride,
        depth_multiplier: m,
        dilation_h: dil,
        dilation_w: dil,
        activation: Activation::Relu6,
    });
    let out = vec![
        input[0],
        out_size(padding, input[1], k, stride, dil),
        out_size(padding, input[2], k, stride, dil),
        oc,
    ];
    one_node(
        op,
        vec![
            Arg::Input(input.to_vec()),
            weights(&[1, k, k, oc], seed, k * k),
            weights(&[oc], 71, 1),
        ],
        vec![out],
    )
}

/// Quad loads (vec4 activations, vec4<f16> at fp16) and scalar loads side by
/// side, on the direct and the tiled convolution kernels: input channels and
/// group offsets that are multiples of 4 and ones that are not (a group of 6
/// channels in 12 starts misaligned), strides, dilations, batches above 1, and
/// depthwise multipliers 1 (channel quads when the channels allow) and above.
fn quad_and_scalar_activation_loads_match_the_cpu_on_both_paths() {
    if !gpu_available() {
        return;
    }
    let base = Conv {
        input: [2, 9, 7, 8],
        oc: 12,
        k: (3, 3),
        stride: (1, 1),
        dil: (1, 1),
        padding: Padding::Same,
        groups: 1,
    };
    let mut convs = vec![
        base,
        Conv {
            input: [1, 11, 10, 12],
            oc: 9,
            stride: (2, 2),
            dil: (2, 1),
            groups: 3,
            ..base
        },
        Conv {
            input: [2, 6, 5, 12],
            oc: 10,
            groups: 2,
            padding: Padding::Valid,
            ..base
        },
        Conv {
            input: [3, 4, 6, 16],
            oc: 7,
            k: (1, 1),
            ..base
        },
        Conv {
            input: [1, 8, 8, 6],
            oc: 6,
            groups: 2,
            stride: (2, 1),
            ..base
        },
        Conv {
            input: [2, 5, 9, 10],
            oc: 4,
            k: (2, 3),
            dil: (1, 2),
            ..base
        },
        // Wide outputs over few pixels: the tiled kernel's short tiles (16
        // and 32 pixels), narrower than one pass of its quad loader.
        Conv {
            input: [1, 3, 5, 8],
            oc: 64,
            k: (1, 1),
            ..base
        },
        Conv {
            input: [2, 4, 3, 12],
            oc: 40,
            ..base
        },
    ];
    let mut r = Rng::new(0x5851_f42d_4c95_7f2d);
    for _ in 0..6 {
        let mut c = Conv::random(&mut r);
        let fic = 4 * r.range(1, 4);
        c.input[3] = c.groups * fic;
        convs.push(c);
    }
    for (case, c) in convs.iter().enumerate() {
        let fic = c.input[3] / c.groups;
        let quads = c.input[3] % 4 == 0 && fic % 4 == 0;
        for tiled in [false, true] {
            let name = format!("conv case {case} quads={quads} tiled={tiled} {c:?}");
            common::gpu::check_gpu_matches_cpu_tuned(
                &name,
                c.float_graph(200 + case as u32),
                tuning(tiled),
            );
        }
    }
    let depthwise = [
        ([2, 7, 9, 8], 1, 3, (1, 1), Padding::Same),
        ([1, 10, 11, 12], 1, 3, (2, 1), Padding::Same),
        ([1, 9, 9, 16], 1, 5, (1, 2), Padding::Valid),
        ([3, 6, 5, 4], 1, 1, (1, 1), Padding::Valid),
        ([1, 8, 7, 8], 2, 3, (1, 1), Padding::Same),
        ([2, 7, 6, 6], 1, 3, (2, 2), Padding::Same),
        ([1, 9, 8, 3], 4, 3, (1, 1), Padding::Valid),
    ];
    for (case, (input, m, k, sd, padding)) in depthwise.into_iter().enumerate() {
        let quads = m == 1 && input[3] % 4 == 0;
        let name = format!("dw case {case} quads={quads} in={input:?} m={m} k={k} {sd:?}");
        check_gpu_matches_cpu(
            &name,
            depthwise_graph(input, m, k, sd, padding, 230 + case as u32),
        );
    }
}

/// FULLY_CONNECTED with constant weights: rows x inner -> rows x units.
fn fc_graph(rows: usize, inner: usize, units: usize, seed: u32) -> Graph {
    one_node(
        Op::FullyConnected(FullyConnected {
            activation: Activation::None,
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

fn fully_connected_and_batch_matmul_tiled_and_split_k_match_the_cpu() {
    if !gpu_available() {
        return;
    }
    // A classifier row (split K), few long rows (split K), many rows (tiled),
    // and a tile-edge product.
    for (k, (rows, inner, units)) in [(1, 1280, 1001), (2, 2049, 3), (37, 300, 70), (33, 9, 33)]
        .into_iter()
        .enumerate()
    {
        check_gpu_matches_cpu(
            &format!("fc {rows}x{inner} -> {units}"),
            fc_graph(rows, inner, units, 90 + k as u32),
        );
    }
    let mut r = Rng::new(0x1234_5678_9abc_def1);
    for case in 0..10 {
        let (m, k, n) = (
            r.pick(&[1, 2, 7, 33, 40]).unwrap(),
            r.range(1, 200),
            r.range(1, 70),
        );
        let batch = r.range(1, 3);
        let (ax, ay) = (r.next_u64() % 2 == 1, r.next_u64() % 2 == 1);
        let a = if ax {
            vec![batch, k, m]
        } else {
            vec![batch, m, k]
        };
        let b = if ay { vec![n, k] } else { vec![k, n] };
        let g = one_node(
            Op::BatchMatMul {
                adj_x: ax,
                adj_y: ay,
                asymmetric_quantize_inputs: false,
            },
            vec![Arg::Input(a.clone()), Arg::Input(b.clone())],
            vec![vec![batch, m, n]],
        );
        check_gpu_matches_cpu(&format!("bmm case {case} {a:?} x {b:?} adj=({ax},{ay})"), g);
    }
}

/// Int8 values spread over the whole range.
fn int8_values(n: usize, seed: u32) -> Vec<i8> {
    values(n, seed)
        .iter()
        .map(|x| (x * 128.0).floor().clamp(-128.0, 127.0) as i8)
        .collect()
}

fn quant(g: &mut Graph, t: usize, scale: f32, zp: i64) {
    g.subgraphs[0].tensors[t].quantization = Some(Quantization::per_tensor(scale, zp));
}

/// An int8 node with per-channel int8 weights of `wshape` (channel axis `axis`)
/// and an int32 bias of `oc` channels; input and output int8.
fn int8_weighted(op: Op, x: Vec<usize>, wshape: Vec<usize>, axis: usize, out: Vec<usize>) -> Graph {
    let oc = wshape[axis];
    let nw: usize = wshape.iter().product();
    let w: Vec<i64> = int8_values(nw, 7).iter().map(|&v| v as i64).collect();
    let bias: Vec<i64> = values(oc, 9).iter().map(|v| (v * 3000.0) as i64).collect();
    let mut g = one_node_typed(
        op,
        vec![
            Arg::Typed(DType::I8, x),
            Arg::TypedConst(DType::I32, wshape, w.clone()),
            Arg::TypedConst(DType::I32, vec![oc], bias),
        ],
        vec![(out, DType::I8)],
    );
    let wt = &mut g.subgraphs[0].tensors[1];
    wt.dtype = DType::I8;
    wt.data = Some(w.iter().map(|&v| v as i8 as u8).collect::<Vec<u8>>().into());
    quant(&mut g, 0, 0.04, -3);
    let scales: Vec<f32> = (0..oc).map(|c| 0.0005 + 0.0001 * (c % 13) as f32).collect();
    g.subgraphs[0].tensors[1].quantization =
        Some(Quantization::per_channel(scales.clone(), vec![0; oc], axis));
    g.subgraphs[0].tensors[2].quantization = Some(Quantization::per_channel(
        scales.iter().map(|s| s * 0.04).collect(),
        vec![0; oc],
        0,
    ));
    quant(&mut g, 3, 0.05, 6);
    g
}

fn run_int8(name: &str, g: Graph, x: Vec<usize>, seed: u32) {
    let n = x.iter().product();
    let input = Tensor::new(x, Data::I8(int8_values(n, seed)));
    check_gpu_matches_cpu_on(name, g, vec![input]);
}

fn int8_random_convolutions_and_fully_connected_match_the_cpu_exactly() {
    if !gpu_available() {
        return;
    }
    let mut r = Rng::new(0x0bad_cafe_f00d_d00d);
    for case in 0..12 {
        let c = Conv::random(&mut r);
        let g = int8_weighted(
            c.op(Activation::Relu6),
            c.input.to_vec(),
            c.filter_shape(),
            0,
            c.out().to_vec(),
        );
        run_int8(
            &format!("int8 conv case {case} {c:?}"),
            g,
            c.input.to_vec(),
            case,
        );
        let m = r.pick(&[1, 2]).unwrap();
        let [n, ih, iw, ic] = c.input;
        let k = r.pick(&[1, 3]).unwrap();
        let padding = Padding::Same;
        let op = Op::DepthwiseConv2D(DepthwiseConv2D {
            padding,
            stride_h: c.stride.0,
            stride_w: c.stride.1,
            depth_multiplier: m,
            dilation_h: 1,
            dilation_w: 1,
            activation: Activation::None,
        });
        let out = vec![
            n,
            out_size(padding, ih, k, c.stride.0, 1),
            out_size(padding, iw, k, c.stride.1, 1),
            ic * m,
        ];
        let g = int8_weighted(op, c.input.to_vec(), vec![1, k, k, ic * m], 3, out);
        run_int8(
            &format!("int8 dw case {case} m={m} k={k} {c:?}"),
            g,
            c.input.to_vec(),
            case,
        );
    }
    for (rows, inner, units) in [(1, 1280, 1001), (3, 37, 11), (40, 130, 45)] {
        let op = Op::FullyConnected(FullyConnected {
            activation: Activation::None,
            keep_num_dims: false,
            asymmetric_quantize_inputs: false,
        });
        let g = int8_weighted(
            op,
            vec![rows, inner],
            vec![units, inner],
            0,
            vec![rows, units],
        );
        run_int8(
            &format!("int8 fc {rows}x{inner} -> {units}"),
            g,
            vec![rows, inner],
            5,
        );
    }
}

/// Both row-reduction paths of the normalizations: subgroup operations (when the
/// adapter has SUBGROUP; lavapipe's subgroups are 8 wide) and the
/// workgroup-memory tree, forced for the second pass.
fn normalizations_match_the_cpu_with_subgroup_and_workgroup_reductions() {
    if !gpu_available() {
        return;
    }
    let subgroups = tflite_wgpu::gpu_adapter(Default::default()).is_ok_and(|a| a.subgroups);
    if !subgroups {
        common::missing("the adapter has no SUBGROUP: only the workgroup path runs");
    }
    let ops = [
        Op::Softmax { beta: 0.7 },
        Op::LogSoftmax,
        Op::L2Normalization(Activation::None),
    ];
    for workgroup in [false, true] {
        for shape in [
            vec![3, 1],
            vec![2, 7],
            vec![4, 64],
            vec![1, 65],
            vec![2, 1001],
            vec![1, 3000],
        ] {
            for op in &ops {
                let g = one_node(
                    op.clone(),
                    vec![Arg::Input(shape.clone())],
                    vec![shape.clone()],
                );
                let name = format!("{} {shape:?} workgroup={workgroup}", op.name());
                let tuning = Tuning {
                    workgroup_reductions: workgroup,
                    ..tuning(true)
                };
                common::gpu::check_gpu_matches_cpu_tuned(&name, g, tuning);
            }
        }
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, conv2d_random_shapes_match_the_cpu),
        crate::case!(gpu, conv2d_with_thousands_of_channels_matches_the_cpu),
        crate::case!(gpu, depthwise_random_shapes_match_the_cpu),
        crate::case!(
            gpu,
            quad_and_scalar_activation_loads_match_the_cpu_on_both_paths
        ),
        crate::case!(
            gpu,
            fully_connected_and_batch_matmul_tiled_and_split_k_match_the_cpu
        ),
        crate::case!(
            gpu,
            int8_random_convolutions_and_fully_connected_match_the_cpu_exactly
        ),
        crate::case!(
            gpu,
            normalizations_match_the_cpu_with_subgroup_and_workgroup_reductions
        ),
    ]
}
