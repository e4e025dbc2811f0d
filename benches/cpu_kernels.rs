//! CPU kernel throughput on MobileNet-like layers: CONV_2D (1x1 and 3x3),
//! DEPTHWISE_CONV_2D and FULLY_CONNECTED (the GEMM of the 1x1 convolutions), each
//! run as a one-node model through the interpreter on the CPU, float and int8.
//! Criterion reports the time per invoke and the throughput in multiply-adds.
//!
//! `cargo bench --bench cpu_kernels`; filter with e.g. `-- conv2d/f32`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, Conv2D, DepthwiseConv2D, FullyConnected, Op, Padding};
use tflite_wgpu::graph::{Node, Quantization, Subgraph, TensorInfo};
use tflite_wgpu::{DType, Data, Graph, Interpreter, Model, Tensor};

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    tflite_wgpu::graph::rng::signed_values(n, seed)
}

/// Float or int8 (per-tensor activations, per-channel weights) layers.
#[derive(Clone, Copy)]
enum Kind {
    F32,
    I8,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::F32 => "f32",
            Kind::I8 => "i8",
        }
    }
}

fn quant(scale: Vec<f32>, zero_point: Vec<i64>, axis: usize) -> Option<Quantization> {
    Some(Quantization::per_channel(scale, zero_point, axis))
}

/// A node's input `x` of `shape`, weights of `w_shape` (per channel along
/// `w_axis`) and a bias of `channels`, producing an output of `out_shape`.
struct Layer {
    op: Op,
    x_shape: Vec<usize>,
    w_shape: Vec<usize>,
    w_axis: usize,
    channels: usize,
    out_shape: Vec<usize>,
}

/// The one-node model of `layer` and its input.
fn model(layer: &Layer, kind: Kind) -> (Model, Tensor) {
    let nx: usize = layer.x_shape.iter().product();
    let nw: usize = layer.w_shape.iter().product();
    let x = values(nx, 1);
    let w = values(nw, 2);
    let b = values(layer.channels, 3);
    let (x_info, w_info, b_info, out_info, input) = match kind {
        Kind::F32 => {
            let mut wi = TensorInfo::new("w", DType::F32, layer.w_shape.clone());
            wi.data = Some(Arc::from(bytes_f32(&w)));
            let mut bi = TensorInfo::new("b", DType::F32, vec![layer.channels]);
            bi.data = Some(Arc::from(bytes_f32(&b)));
            (
                TensorInfo::new("x", DType::F32, layer.x_shape.clone()),
                wi,
                bi,
                TensorInfo::new("y", DType::F32, layer.out_shape.clone()),
                Tensor::f32(layer.x_shape.clone(), x),
            )
        }
        Kind::I8 => {
            let xs = 1.0 / 127.0;
            let ws: Vec<f32> = (0..layer.channels)
                .map(|c| (1.0 + (c % 7) as f32 / 7.0) / 127.0)
                .collect();
            let mut xi = TensorInfo::new("x", DType::I8, layer.x_shape.clone());
            xi.quantization = quant(vec![xs], vec![-3], 0);
            let mut wi = TensorInfo::new("w", DType::I8, layer.w_shape.clone());
            wi.quantization = quant(ws.clone(), vec![0; layer.channels], layer.w_axis);
            wi.data = Some(Arc::from(
                w.iter()
                    .map(|v| (v * 127.0) as i8 as u8)
                    .collect::<Vec<u8>>(),
            ));
            let mut bi = TensorInfo::new("b", DType::I32, vec![layer.channels]);
            bi.quantization = quant(
                ws.iter().map(|s| s * xs).collect(),
                vec![0; layer.channels],
                0,
            );
            bi.data = Some(Arc::from(
                b.iter()
                    .flat_map(|v| ((v * 1000.0) as i32).to_le_bytes())
                    .collect::<Vec<u8>>(),
            ));
            let mut yi = TensorInfo::new("y", DType::I8, layer.out_shape.clone());
            yi.quantization = quant(vec![0.05], vec![2], 0);
            let xq: Vec<i8> = x.iter().map(|v| (v * 127.0) as i8).collect();
            (
                xi,
                wi,
                bi,
                yi,
                Tensor::new(layer.x_shape.clone(), Data::I8(xq)),
            )
        }
    };
    let graph = Graph {
        subgraphs: vec![Subgraph {
            name: "layer".into(),
            tensors: vec![x_info, w_info, b_info, out_info],
            nodes: vec![Node {
                op: layer.op.clone(),
                inputs: vec![Some(0), Some(1), Some(2)],
                outputs: vec![3],
            }],
            inputs: vec![0],
            outputs: vec![3],
        }],
        ..Default::default()
    };
    (Model::from_graph(graph), input)
}

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|f| f.to_le_bytes()).collect()
}

/// Time invokes of `layer` at both kinds; `macs` multiply-adds per invoke.
fn bench_layer(c: &mut Criterion, group: &str, label: &str, layer: &Layer, macs: u64) {
    let mut g = c.benchmark_group(group);
    g.sample_size(20);
    g.throughput(Throughput::Elements(macs));
    for kind in [Kind::F32, Kind::I8] {
        let (model, input) = model(layer, kind);
        let mut interp = Interpreter::new(&model).expect("one-node model");
        interp.set_input(0, input).expect("input");
        g.bench_with_input(BenchmarkId::new(kind.name(), label), &(), |b, _| {
            b.iter(|| interp.invoke().expect("invoke"))
        });
    }
    g.finish();
}

fn conv2d(c: &mut Criterion) {
    for &(hw, ic, oc, k, s) in &[
        (64usize, 16usize, 96usize, 1usize, 1usize),
        (32, 32, 192, 1, 1),
        (16, 192, 32, 1, 1),
        (8, 112, 672, 1, 1),
        (128, 3, 16, 3, 2),
        (32, 16, 16, 3, 1),
    ] {
        let oh = hw.div_ceil(s);
        let layer = Layer {
            op: Op::Conv2D(Conv2D {
                padding: Padding::Same,
                stride_h: s,
                stride_w: s,
                dilation_h: 1,
                dilation_w: 1,
                activation: Activation::Relu6,
            }),
            x_shape: vec![1, hw, hw, ic],
            w_shape: vec![oc, k, k, ic],
            w_axis: 0,
            channels: oc,
            out_shape: vec![1, oh, oh, oc],
        };
        let macs = (oh * oh * oc * k * k * ic) as u64;
        let label = format!("{hw}x{hw}x{ic}-{oc}-k{k}s{s}");
        bench_layer(c, "conv2d", &label, &layer, macs);
    }
}

fn depthwise(c: &mut Criterion) {
    for &(hw, ch, s) in &[(64usize, 96usize, 2usize), (32, 144, 1), (16, 192, 1)] {
        let oh = hw.div_ceil(s);
        let layer = Layer {
            op: Op::DepthwiseConv2D(DepthwiseConv2D {
                padding: Padding::Same,
                stride_h: s,
                stride_w: s,
                depth_multiplier: 1,
                dilation_h: 1,
                dilation_w: 1,
                activation: Activation::Relu6,
            }),
            x_shape: vec![1, hw, hw, ch],
            w_shape: vec![1, 3, 3, ch],
            w_axis: 3,
            channels: ch,
            out_shape: vec![1, oh, oh, ch],
        };
        let macs = (oh * oh * ch * 9) as u64;
        let label = format!("{hw}x{hw}x{ch}-s{s}");
        bench_layer(c, "depthwise_conv2d", &label, &layer, macs);
    }
}

fn fully_connected(c: &mut Criterion) {
    for &(m, k, n) in &[
        (4096usize, 16usize, 96usize),
        (1024, 32, 192),
        (256, 192, 32),
        (64, 112, 672),
    ] {
        let layer = Layer {
            op: Op::FullyConnected(FullyConnected {
                activation: Activation::None,
                keep_num_dims: false,
                asymmetric_quantize_inputs: false,
            }),
            x_shape: vec![m, k],
            w_shape: vec![n, k],
            w_axis: 0,
            channels: n,
            out_shape: vec![m, n],
        };
        let macs = (m * k * n) as u64;
        let label = format!("{m}x{k}x{n}");
        bench_layer(c, "fully_connected", &label, &layer, macs);
    }
}

criterion_group!(benches, conv2d, depthwise, fully_connected);
criterion_main!(benches);
