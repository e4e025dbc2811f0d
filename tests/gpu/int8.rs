//! Quantized models natively on the GPU: every int8 golden model runs as one GPU
//! partition with no CPU node and matches LiteRT's reference kernels (integer
//! outputs within one step, float outputs within the fp32 tolerance), and the
//! integer kernels match the CPU interpreter on randomized one-node graphs,
//! including rounding ties and saturation.

use crate::common;

use common::gpu::{check_gpu_matches_cpu_on, gpu_available, one_node_typed, values, Arg};
use common::Precision;
use tflite_wgpu::graph::op::{
    Activation, Binary, Conv2D, DepthwiseConv2D, FullyConnected, Padding, Pool2D, Reduce, Resize,
};
use tflite_wgpu::graph::{DType, Graph, Op, Quantization};
use tflite_wgpu::Data;
use tflite_wgpu::{Device, Options, Tensor};

const GOLDENS: &[&str] = &[
    "mobilenet_v2_035_128_int8",
    "mobilenet_v2_035_128_int8io",
    "mobilenet_v2_035_128_dynint8",
    "op_add_broadcast_channel_int8",
    "op_avgpool3x3_s2_same_int8",
    "op_concat_channels_int8",
    "op_conv3x3_same_relu_int8",
    "op_dense_bias_relu_int8",
    "op_dwconv3x3_s2_mult2_int8",
    "op_resize_bilinear_int8",
    "op_softmax_int8",
];

fn int8_goldens_run_wholly_on_the_gpu() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let cases = common::goldens(&shared);
    let mut failures = Vec::new();
    for name in GOLDENS {
        let Some(case) = cases.iter().find(|c| c.name == *name) else {
            failures.push(format!("{name}: golden missing"));
            continue;
        };
        let options = Options {
            device: Device::Gpu,
            ..Default::default()
        };
        let model = tflite_wgpu::Model::from_file(&case.model).expect("model");
        let interp =
            tflite_wgpu::Interpreter::with_options(&model, options.clone()).expect("prepare");
        let report = interp.delegate_report().expect("delegate report");
        if report.plan.partitions.len() != 1
            || !report.plan.fallback.is_empty()
            || !report.failed.is_empty()
        {
            failures.push(format!(
                "{name}: {} partitions, CPU nodes {:?}, failed {:?}",
                report.plan.partitions.len(),
                report.plan.fallback,
                report.failed
            ));
            continue;
        }
        match common::run_with(case, options, Precision::Fp32) {
            Ok(worst) => println!("ok   {name} (max |d| {worst:?})"),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

/// Set the quantization of tensor `t` (args in order, then outputs).
fn quant(g: &mut Graph, t: usize, scale: f32, zp: i64) {
    g.subgraphs[0].tensors[t].quantization = Some(Quantization::per_tensor(scale, zp));
}

/// Int8 values spread over the whole range, with the extremes present.
fn int8_values(n: usize, seed: u32) -> Vec<i8> {
    let mut v: Vec<i8> = values(n, seed)
        .iter()
        .map(|x| (x * 128.0).floor().clamp(-128.0, 127.0) as i8)
        .collect();
    if n >= 2 {
        v[0] = -128;
        v[n - 1] = 127;
    }
    v
}

fn i8_tensor(shape: Vec<usize>, seed: u32) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape, Data::I8(int8_values(n, seed)))
}

/// A one-node int8 graph: runtime int8 inputs of `shapes` with (scale, zp), an
/// int8 output of `out` with (scale, zp).
fn int8_node(op: Op, ins: &[(Vec<usize>, f32, i64)], out: (Vec<usize>, f32, i64)) -> Graph {
    let args = ins
        .iter()
        .map(|(s, _, _)| Arg::Typed(DType::I8, s.clone()))
        .collect();
    let mut g = one_node_typed(op, args, vec![(out.0.clone(), DType::I8)]);
    for (k, (_, s, z)) in ins.iter().enumerate() {
        quant(&mut g, k, *s, *z);
    }
    quant(&mut g, ins.len(), out.1, out.2);
    g
}

fn run_int8(name: &str, g: Graph, shapes: &[Vec<usize>]) {
    if !gpu_available() {
        return;
    }
    let inputs = shapes
        .iter()
        .enumerate()
        .map(|(k, s)| i8_tensor(s.clone(), 31 + k as u32))
        .collect();
    check_gpu_matches_cpu_on(name, g, inputs);
}

fn add_sub_mul_match_the_cpu_with_broadcast_and_saturation() {
    let a = vec![2, 5, 7, 6];
    let b = vec![1, 1, 7, 1];
    let cases: [(Binary, Activation, f32, f32, f32, i64); 6] = [
        (Binary::Add, Activation::None, 0.02, 0.05, 0.04, 3),
        (Binary::Add, Activation::Relu6, 0.05, 0.02, 0.03, -128),
        // A tiny output scale saturates most sums.
        (Binary::Add, Activation::None, 0.5, 0.7, 0.001, 0),
        (Binary::Sub, Activation::Relu, 0.03, 0.03, 0.05, -10),
        (Binary::Mul, Activation::None, 0.02, 0.03, 0.0007, 5),
        (Binary::Mul, Activation::None, 0.5, 0.25, 0.0001, 0),
    ];
    for (k, (op, act, s1, s2, so, zo)) in cases.into_iter().enumerate() {
        let g = int8_node(
            Op::Binary(op, act),
            &[(a.clone(), s1, 4), (b.clone(), s2, -7)],
            (a.clone(), so, zo),
        );
        run_int8(&format!("{op:?} case {k}"), g, &[a.clone(), b.clone()]);
    }
}

/// A quantized CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED node with int8
/// per-channel weights of `wshape` and an int32 bias of `oc` channels.
fn weighted(
    op: Op,
    x: Vec<usize>,
    wshape: Vec<usize>,
    oc: usize,
    axis: usize,
    out: Vec<usize>,
) -> Graph {
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
    // The int8 weights: built as int32 above, stored as bytes here.
    let wt = &mut g.subgraphs[0].tensors[1];
    wt.dtype = DType::I8;
    wt.data = Some(w.iter().map(|&v| v as i8 as u8).collect::<Vec<u8>>().into());
    quant(&mut g, 0, 0.04, -3);
    let scales: Vec<f32> = (0..oc).map(|c| 0.002 + 0.0013 * c as f32).collect();
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

fn convolutions_match_the_cpu_per_channel() {
    let conv = |padding, stride, act| {
        Op::Conv2D(Conv2D {
            padding,
            stride_w: stride,
            stride_h: stride,
            dilation_w: 1,
            dilation_h: 1,
            activation: act,
        })
    };
    let g = weighted(
        conv(Padding::Same, 1, Activation::Relu6),
        vec![1, 9, 8, 6],
        vec![10, 3, 3, 6],
        10,
        0,
        vec![1, 9, 8, 10],
    );
    run_int8("conv3x3 same relu6", g, &[vec![1, 9, 8, 6]]);
    let g = weighted(
        conv(Padding::Valid, 2, Activation::None),
        vec![2, 9, 9, 5],
        vec![7, 3, 3, 5],
        7,
        0,
        vec![2, 4, 4, 7],
    );
    run_int8("conv3x3 valid s2", g, &[vec![2, 9, 9, 5]]);
    let dw = Op::DepthwiseConv2D(DepthwiseConv2D {
        padding: Padding::Same,
        stride_w: 2,
        stride_h: 2,
        depth_multiplier: 2,
        dilation_w: 1,
        dilation_h: 1,
        activation: Activation::Relu,
    });
    let g = weighted(
        dw,
        vec![1, 9, 9, 3],
        vec![1, 3, 3, 6],
        6,
        3,
        vec![1, 5, 5, 6],
    );
    run_int8("depthwise s2 mult2", g, &[vec![1, 9, 9, 3]]);
    let fc = Op::FullyConnected(FullyConnected {
        activation: Activation::None,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    });
    let g = weighted(fc, vec![3, 37], vec![11, 37], 11, 0, vec![3, 11]);
    run_int8("fully connected", g, &[vec![3, 37]]);
}

fn pools_means_resize_softmax_match_the_cpu() {
    let pool = |f, s, padding| Pool2D {
        padding,
        stride_w: s,
        stride_h: s,
        filter_w: f,
        filter_h: f,
        activation: Activation::None,
    };
    let x = vec![1, 9, 7, 5];
    let g = int8_node(
        Op::AveragePool2D(pool(3, 2, Padding::Same)),
        &[(x.clone(), 0.03, 2)],
        (vec![1, 5, 4, 5], 0.03, 2),
    );
    run_int8("average pool", g, std::slice::from_ref(&x));
    let g = int8_node(
        Op::MaxPool2D(pool(2, 2, Padding::Valid)),
        &[(x.clone(), 0.03, 2)],
        (vec![1, 4, 3, 5], 0.03, 2),
    );
    run_int8("max pool", g, std::slice::from_ref(&x));
    let mut g = one_node_typed(
        Op::Reduce {
            kind: Reduce::Mean,
            keep_dims: false,
        },
        vec![Arg::Typed(DType::I8, x.clone()), Arg::Ints(vec![1, 2])],
        vec![(vec![1, 5], DType::I8)],
    );
    quant(&mut g, 0, 0.03, -5);
    quant(&mut g, 2, 0.011, 3);
    run_int8("mean over h, w", g, std::slice::from_ref(&x));
    for (align, half) in [(false, false), (true, false), (false, true)] {
        let mut g = one_node_typed(
            Op::ResizeBilinear(Resize {
                align_corners: align,
                half_pixel_centers: half,
            }),
            vec![
                Arg::Typed(DType::I8, vec![1, 5, 4, 3]),
                Arg::Ints(vec![9, 11]),
            ],
            vec![(vec![1, 9, 11, 3], DType::I8)],
        );
        quant(&mut g, 0, 0.02, 1);
        quant(&mut g, 2, 0.02, 1);
        run_int8(&format!("resize {align} {half}"), g, &[vec![1, 5, 4, 3]]);
    }
    let g = int8_node(
        Op::Softmax { beta: 1.0 },
        &[(vec![4, 10], 0.1, 7)],
        (vec![4, 10], 1.0 / 256.0, -128),
    );
    run_int8("softmax", g, &[vec![4, 10]]);
}

fn quantize_requantize_dequantize_round_ties_away_and_saturate() {
    if !gpu_available() {
        return;
    }
    // float -> int8: exact halves of the scale (ties) and values far outside.
    let n = 64;
    let scale = 0.25f32;
    let xs: Vec<f32> = (0..n)
        .map(|i| (i as f32 - 32.0) * 0.5 * scale * if i % 7 == 0 { 300.0 } else { 1.0 })
        .collect();
    let mut g = one_node_typed(
        Op::Quantize,
        vec![Arg::Input(vec![n])],
        vec![(vec![n], DType::I8)],
    );
    quant(&mut g, 1, scale, 3);
    check_gpu_matches_cpu_on("quantize ties", g, vec![Tensor::f32(vec![n], xs)]);
    // int8 -> int8 requantization: ratio 1/2 and 3/2 put many values on ties,
    // ratio 40 saturates.
    for (k, ratio) in [0.5f32, 1.5, 0.75, 40.0, 0.0039].into_iter().enumerate() {
        let g = int8_node(
            Op::Quantize,
            &[(vec![256], 0.1, -1)],
            (vec![256], 0.1 / ratio, 2),
        );
        let all: Vec<i8> = (-128..=127).map(|v| v as i8).collect();
        check_gpu_matches_cpu_on(
            &format!("requantize case {k}"),
            g,
            vec![Tensor::new(vec![256], Data::I8(all))],
        );
    }
    // int16 -> int16 with a large multiplier: the left shift wraps as in LiteRT.
    let mut g = one_node_typed(
        Op::Quantize,
        vec![Arg::Typed(DType::I16, vec![9])],
        vec![(vec![9], DType::I16)],
    );
    quant(&mut g, 0, 1.0, 0);
    quant(&mut g, 1, 1.0 / 70000.0, 0);
    let v: Vec<i16> = vec![-32768, -32767, -1, 0, 1, 2, 3, 32766, 32767];
    check_gpu_matches_cpu_on(
        "requantize int16",
        g,
        vec![Tensor::new(vec![9], Data::I16(v))],
    );
    let g = {
        let mut g = one_node_typed(
            Op::Dequantize,
            vec![Arg::Typed(DType::I8, vec![40])],
            vec![(vec![40], DType::F32)],
        );
        quant(&mut g, 0, 0.037, -9);
        g
    };
    check_gpu_matches_cpu_on("dequantize", g, vec![i8_tensor(vec![40], 5)]);
}

fn layout_ops_move_raw_int8_values() {
    let mut g = one_node_typed(
        Op::Concatenation {
            axis: 3,
            activation: Activation::None,
        },
        vec![
            Arg::Typed(DType::I8, vec![1, 4, 4, 3]),
            Arg::Typed(DType::I8, vec![1, 4, 4, 5]),
        ],
        vec![(vec![1, 4, 4, 8], DType::I8)],
    );
    for t in 0..3 {
        quant(&mut g, t, 0.05, 4);
    }
    run_int8("concat", g, &[vec![1, 4, 4, 3], vec![1, 4, 4, 5]]);
    let mut g = one_node_typed(
        Op::Pad,
        vec![
            Arg::Typed(DType::I8, vec![1, 3, 3, 2]),
            Arg::TypedConst(DType::I32, vec![4, 2], vec![0, 0, 1, 2, 2, 1, 0, 0]),
        ],
        vec![(vec![1, 6, 6, 2], DType::I8)],
    );
    quant(&mut g, 0, 0.05, -17);
    quant(&mut g, 2, 0.05, -17);
    run_int8("pad fills the zero point", g, &[vec![1, 3, 3, 2]]);
}

fn activations_match_the_cpu_through_tables() {
    use tflite_wgpu::graph::op::Unary;
    let x = vec![2, 3, 50];
    for (k, u) in [Unary::Logistic, Unary::Tanh, Unary::HardSwish, Unary::Relu6]
        .into_iter()
        .enumerate()
    {
        let (so, zo) = match u {
            Unary::Logistic => (1.0 / 256.0, -128),
            Unary::Tanh => (1.0 / 128.0, 0),
            _ => (0.03, -20),
        };
        let g = int8_node(Op::Unary(u), &[(x.clone(), 0.05, 9)], (x.clone(), so, zo));
        run_int8(&format!("unary case {k}"), g, std::slice::from_ref(&x));
    }
}

/// GPU bytes of one mobilenet form at `precision`: (constants, planned total).
fn gpu_bytes(
    shared: &std::path::Path,
    form: &str,
    precision: tflite_wgpu::Precision,
) -> (u64, u64) {
    let path = shared
        .join("models/gen")
        .join(format!("mobilenet_v2_035_128_{form}.tflite"));
    let model = tflite_wgpu::Model::from_file(&path).expect("model");
    let options = Options {
        device: Device::Gpu,
        precision_loss_allowed: precision == tflite_wgpu::Precision::F16,
        ..Default::default()
    };
    let interp = tflite_wgpu::Interpreter::with_options(&model, options).expect("interpreter");
    let report = interp.delegate_report().expect("delegate report");
    assert_eq!(
        report.plan.partitions.len(),
        1,
        "{form}: {:?}",
        report.plan.fallback
    );
    assert!(report.failed.is_empty(), "{form}: {:?}", report.failed);
    (report.constant_bytes, report.planned_bytes)
}

fn int8_weights_take_a_quarter_of_float32_weights_on_the_gpu() {
    use tflite_wgpu::Precision;
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let (fp32, _) = gpu_bytes(&shared, "fp32", Precision::F32);
    let (fp16, _) = gpu_bytes(&shared, "fp16", Precision::F16);
    for form in ["int8", "int8io", "dynint8"] {
        let (w, planned) = gpu_bytes(&shared, form, Precision::F32);
        println!(
            "{form}: constants {w} bytes ({:.2} of fp32's {fp32}, {:.2} of fp16's {fp16}), planned {planned}",
            w as f64 / fp32 as f64,
            w as f64 / fp16 as f64
        );
        // Packed int8 weights plus per-channel parameters and f32 biases.
        assert!(w * 10 < fp32 * 4, "{form}: {w} vs fp32 {fp32}");
    }
}

fn batch_matmul_matches_the_cpu_with_adjoints_and_broadcast() {
    for (adj_x, adj_y) in [(false, false), (true, true)] {
        let (a, b) = if adj_x {
            (vec![2, 1, 9, 5], vec![3, 7, 9])
        } else {
            (vec![2, 1, 5, 9], vec![3, 9, 7])
        };
        let g = int8_node(
            Op::BatchMatMul {
                adj_x,
                adj_y,
                asymmetric_quantize_inputs: false,
            },
            &[(a.clone(), 0.02, 3), (b.clone(), 0.03, -2)],
            (vec![2, 3, 5, 7], 0.05, 1),
        );
        run_int8(&format!("batch matmul {adj_x} {adj_y}"), g, &[a, b]);
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu_shared, int8_goldens_run_wholly_on_the_gpu),
        crate::case!(gpu, add_sub_mul_match_the_cpu_with_broadcast_and_saturation),
        crate::case!(gpu, convolutions_match_the_cpu_per_channel),
        crate::case!(gpu, pools_means_resize_softmax_match_the_cpu),
        crate::case!(
            gpu,
            quantize_requantize_dequantize_round_ties_away_and_saturate
        ),
        crate::case!(gpu, layout_ops_move_raw_int8_values),
        crate::case!(gpu, activations_match_the_cpu_through_tables),
        crate::case!(
            gpu_shared,
            int8_weights_take_a_quarter_of_float32_weights_on_the_gpu
        ),
        crate::case!(
            gpu,
            batch_matmul_matches_the_cpu_with_adjoints_and_broadcast
        ),
    ]
}
