//! One model per GPU op family (and per kernel variant: scalar and vec4
//! depthwise, the fused depthwise + 1x1 kernel's intermediate and output, a
//! fused epilogue step, the data-movement kernels fed a value the f16 upload
//! cannot hold, casts), each with a value that passes 65,504 at fp16, run fused
//! and unfused: with the guard on, no non-finite value and fp32's output within
//! the fp16 tolerance, and the same nodes promoted fused and unfused; with
//! `error`, the error names the node; with `off`, the saturation shows.

use super::{max_diff, tolerance, G};
use crate::common::gpu::{gpu_available, values};
use tflite_wgpu::graph::op::{
    Activation, Binary, Conv2D, DepthwiseConv2D, Padding, Pool2D, Resize, Unary,
};
use tflite_wgpu::graph::{DType, Op, Quantization, TensorInfo};
use tflite_wgpu::{Device, Error, Interpreter, Model, Options, OverflowGuard, PartitionOptions};
use tflite_wgpu::{PromotedNode, Tensor};

impl G {
    pub(super) fn shape(&self, t: usize) -> Vec<usize> {
        self.tensors[t].shape.clone()
    }

    /// CONV_2D SAME, stride 1, weights `w` (oc x k x k x ic, seeded in [0, 1)
    /// times `scale`), zero bias.
    pub(super) fn conv(&mut self, x: usize, oc: usize, k: usize, scale: f32, seed: u32) -> usize {
        let [n, h, w, ic] = self.shape(x)[..] else {
            panic!("4-D input")
        };
        let wv: Vec<f32> = values(oc * k * k * ic, seed)
            .iter()
            .map(|v| (v * 0.5 + 0.5) * scale)
            .collect();
        let wt = self.constant(vec![oc, k, k, ic], &wv);
        let b = self.constant(vec![oc], &vec![0.0; oc]);
        let op = Op::Conv2D(Conv2D {
            padding: Padding::Same,
            stride_w: 1,
            stride_h: 1,
            dilation_w: 1,
            dilation_h: 1,
            activation: Activation::None,
        });
        self.node("conv", op, &[x, wt, b], vec![n, h, w, oc])
    }

    /// DEPTHWISE_CONV_2D 3x3 SAME at `stride`, weights seeded in [0, 1) times
    /// `scale`, zero bias.
    pub(super) fn depthwise(&mut self, x: usize, stride: usize, scale: f32, seed: u32) -> usize {
        let [n, h, w, c] = self.shape(x)[..] else {
            panic!("4-D input")
        };
        let wv: Vec<f32> = values(9 * c, seed)
            .iter()
            .map(|v| (v * 0.5 + 0.5) * scale)
            .collect();
        let wt = self.constant(vec![1, 3, 3, c], &wv);
        let b = self.constant(vec![c], &vec![0.0; c]);
        let op = Op::DepthwiseConv2D(DepthwiseConv2D {
            padding: Padding::Same,
            stride_w: stride,
            stride_h: stride,
            depth_multiplier: 1,
            dilation_w: 1,
            dilation_h: 1,
            activation: Activation::None,
        });
        let out = vec![n, h.div_ceil(stride), w.div_ceil(stride), c];
        self.node("depthwise", op, &[x, wt, b], out)
    }

    pub(super) fn binary(&mut self, op: Binary, a: usize, b: usize) -> usize {
        let shape = self.shape(a);
        self.node("binary", Op::Binary(op, Activation::None), &[a, b], shape)
    }

    /// MUL by 1e-3: brings a value past the f16 range back into it.
    pub(super) fn scale_down(&mut self, x: usize) -> usize {
        let s = self.constant(vec![1], &[1e-3]);
        self.binary(Binary::Mul, x, s)
    }

    pub(super) fn prelu(&mut self, x: usize, seed: u32) -> usize {
        let c = *self.shape(x).last().expect("rank >= 1");
        let alpha: Vec<f32> = values(c, seed).iter().map(|v| v * 0.25).collect();
        let a = self.constant(vec![c], &alpha);
        let shape = self.shape(x);
        self.node("prelu", Op::Prelu, &[x, a], shape)
    }

    /// PAD with zeros, `pads` as (before, after) per axis.
    pub(super) fn pad(&mut self, x: usize, pads: &[(usize, usize)]) -> usize {
        let flat: Vec<i32> = pads
            .iter()
            .flat_map(|&(a, b)| [a as i32, b as i32])
            .collect();
        let p = self.ints(&flat);
        let n = self.tensors.len() - 1;
        self.tensors[n].shape = vec![pads.len(), 2];
        let shape: Vec<usize> = self
            .shape(x)
            .iter()
            .zip(pads)
            .map(|(d, (a, b))| d + a + b)
            .collect();
        self.node("pad", Op::Pad, &[x, p], shape)
    }

    /// MAX_POOL_2D 2x2 stride 2 VALID.
    pub(super) fn max_pool(&mut self, x: usize) -> usize {
        let [n, h, w, c] = self.shape(x)[..] else {
            panic!("4-D input")
        };
        let op = Op::MaxPool2D(Pool2D {
            padding: Padding::Valid,
            stride_w: 2,
            stride_h: 2,
            filter_w: 2,
            filter_h: 2,
            activation: Activation::None,
        });
        self.node("max_pool", op, &[x], vec![n, h / 2, w / 2, c])
    }

    /// RESHAPE to `shape` (shape tensor as input 1).
    pub(super) fn reshape(&mut self, x: usize, shape: Vec<usize>) -> usize {
        let dims: Vec<i32> = shape.iter().map(|&d| d as i32).collect();
        let s = self.ints(&dims);
        self.node("reshape", Op::Reshape { new_shape: None }, &[x, s], shape)
    }

    pub(super) fn concat(&mut self, parts: &[usize], axis: usize) -> usize {
        let mut shape = self.shape(parts[0]);
        shape[axis] = parts.iter().map(|&p| self.tensors[p].shape[axis]).sum();
        let op = Op::Concatenation {
            axis: axis as i32,
            activation: Activation::None,
        };
        self.node("concat", op, parts, shape)
    }
}

/// Seeded values in [lo, hi).
fn between(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
    values(n, seed)
        .iter()
        .map(|v| lo + (v * 0.5 + 0.5) * (hi - lo))
        .collect()
}

pub(super) fn interpreter(
    model: &Model,
    fp16: bool,
    guard: OverflowGuard,
    fusion: bool,
) -> Interpreter {
    Interpreter::with_options(
        model,
        Options {
            device: Device::Gpu,
            precision_loss_allowed: fp16,
            overflow_guard: guard,
            partitions: PartitionOptions {
                fusion,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .expect("the GPU prepares the model")
}

/// Every output, flattened in order.
pub(super) fn invoke_all(interp: &mut Interpreter, inputs: &[Tensor]) -> Result<Vec<f32>, Error> {
    for (i, t) in inputs.iter().enumerate() {
        interp.set_input(i, t.clone())?;
    }
    interp.invoke()?;
    let mut out = Vec::new();
    for i in 0..interp.num_outputs() {
        out.extend_from_slice(interp.output(i)?.as_f32().expect("float output"));
    }
    Ok(out)
}

/// The promoted nodes, sorted.
pub(super) fn promoted_nodes(p: &[PromotedNode]) -> Vec<(usize, String)> {
    let mut v: Vec<(usize, String)> = p.iter().map(|p| (p.node, p.op.clone())).collect();
    v.sort();
    v.dedup();
    v
}

/// The guard's three modes on `model`, fused and unfused; returns the nodes
/// the guard promoted (the same both ways).
fn check(name: &str, model: &Model, inputs: &[Tensor], overflowing: &str) -> Vec<(usize, String)> {
    let reference = invoke_all(
        &mut interpreter(model, false, OverflowGuard::On, true),
        inputs,
    )
    .expect("the fp32 run");
    assert!(
        reference.iter().all(|v| v.is_finite()),
        "{name}: fp32 is finite"
    );
    let tol = tolerance(&reference);
    let mut sets = Vec::new();
    for fusion in [true, false] {
        let how = if fusion { "fused" } else { "unfused" };
        let mut on = interpreter(model, true, OverflowGuard::On, fusion);
        let report = on.delegate_report().expect("a GPU report");
        if report.f16_unavailable {
            crate::common::missing("the adapter has no SHADER_F16");
            return Vec::new();
        }
        assert!(
            report.plan.fallback.is_empty(),
            "{name}: every node runs on the GPU: {:?}",
            report.plan.fallback
        );
        let out = invoke_all(&mut on, inputs).expect("the guarded fp16 run");
        let promoted = promoted_nodes(&on.delegate_report().expect("report").promoted_fp32_nodes);
        eprintln!(
            "{name} ({how}): guard promoted {} nodes: {promoted:?}",
            promoted.len()
        );
        let d = max_diff(&out, &reference);
        assert!(
            out.iter().all(|v| v.is_finite()),
            "{name} ({how}): a non-finite value with the guard on"
        );
        assert!(d <= tol, "{name} ({how}): guarded fp16 max|d| {d} > {tol}");
        assert!(
            promoted.iter().any(|(_, op)| op == overflowing),
            "{name} ({how}): promoted {promoted:?}, expected {overflowing}"
        );
        sets.push(promoted);

        let off = invoke_all(
            &mut interpreter(model, true, OverflowGuard::Off, fusion),
            inputs,
        )
        .expect("the unguarded fp16 run");
        let d_off = max_diff(&off, &reference);
        assert!(
            d_off > tol,
            "{name} ({how}): without the guard the saturation shows (max|d| {d_off}, tolerance {tol})"
        );

        let err = invoke_all(
            &mut interpreter(model, true, OverflowGuard::Error, fusion),
            inputs,
        )
        .expect_err("the guard as an error fails the invoke");
        match &err {
            Error::Fp16Overflow { nodes, what } => {
                assert!(!nodes.is_empty());
                assert!(what.contains(overflowing), "{name} ({how}): {what}");
            }
            other => panic!("{name} ({how}): expected an fp16 overflow error, got {other}"),
        }
    }
    assert_eq!(
        sets[0], sets[1],
        "{name}: fused and unfused promote the same nodes"
    );
    sets.swap_remove(0)
}

/// [`check`] on a model whose fused plan has fewer dispatches than the unfused.
fn check_fused(
    name: &str,
    model: &Model,
    inputs: &[Tensor],
    overflowing: &str,
) -> Vec<(usize, String)> {
    let count = |fusion: bool| {
        interpreter(model, true, OverflowGuard::On, fusion)
            .delegate_report()
            .map_or(0, |r| r.dispatches)
    };
    let (fused, unfused) = (count(true), count(false));
    assert!(
        fused < unfused,
        "{name}: {fused} dispatches fused, {unfused} unfused"
    );
    check(name, model, inputs, overflowing)
}

fn x_input(g: &mut G, shape: Vec<usize>, seed: u32, lo: f32, hi: f32) -> (usize, Tensor) {
    let x = g.input(shape.clone());
    let n = shape.iter().product();
    (x, Tensor::f32(shape, between(n, seed, lo, hi)))
}

/// A CONV_2D whose own outputs fit f16 and a residual ADD (a fused epilogue
/// step) whose sum does not, then PRELU: the ADD is promoted, not the
/// convolution, fused or not.
fn fused_epilogue_step_overflows() {
    if !gpu_available() {
        return;
    }
    let mut g = G::default();
    let (x, t) = x_input(&mut g, vec![1, 6, 6, 8], 1, 0.5, 1.0);
    // Sums near 38,000 and 27,000: each fits f16, their sum mostly does not.
    let a = g.conv(x, 8, 3, 1400.0, 2);
    let b = g.conv(x, 8, 1, 9000.0, 3);
    let s = g.binary(Binary::Add, a, b);
    let p = g.prelu(s, 4);
    let y = g.scale_down(p);
    let promoted = check_fused("conv + ADD + PRELU", &g.model(y), &[t], "ADD");
    assert!(
        promoted.iter().all(|(_, op)| op != "CONV_2D"),
        "{promoted:?}"
    );
}

/// DEPTHWISE_CONV_2D over channel quads (8 channels) and one channel at a
/// time (3 channels).
fn depthwise_scalar_and_quads_overflow() {
    if !gpu_available() {
        return;
    }
    for (c, seed) in [(8, 5), (3, 6)] {
        let mut g = G::default();
        let (x, t) = x_input(&mut g, vec![1, 6, 6, c], seed, 0.5, 1.0);
        // Interior sums near 100,000.
        let d = g.depthwise(x, 1, 30000.0, seed + 1);
        let y = g.scale_down(d);
        check(
            &format!("depthwise ({c} channels)"),
            &g.model(y),
            &[t],
            "DEPTHWISE_CONV_2D",
        );
    }
}

/// The fused depthwise + 1x1 kernel: its intermediate (the depthwise values)
/// overflows, or its output (the 1x1 values); the member that overflowed is
/// promoted.
fn depthwise_pointwise_intermediate_and_output_overflow() {
    if !gpu_available() {
        return;
    }
    for (c, dw_scale, pw_scale, overflowing) in [
        // Depthwise sums near 100,000, 1x1 sums near 15,000.
        (8, 30000.0, 0.02, "DEPTHWISE_CONV_2D"),
        // Depthwise sums near 5,000, 1x1 sums near 80,000.
        (8, 1500.0, 4.0, "CONV_2D"),
        (5, 1500.0, 6.0, "CONV_2D"),
    ] {
        let mut g = G::default();
        let (x, t) = x_input(&mut g, vec![1, 6, 6, c], 7, 0.5, 1.0);
        let d = g.depthwise(x, 1, dw_scale, 8);
        let pw = g.conv(d, 8, 1, pw_scale, 9);
        let y = g.scale_down(pw);
        let promoted = check_fused(
            &format!("depthwise + 1x1 ({c} channels, {overflowing})"),
            &g.model(y),
            &[t],
            overflowing,
        );
        if overflowing == "CONV_2D" {
            assert!(
                promoted.iter().all(|(_, op)| op != "DEPTHWISE_CONV_2D"),
                "{promoted:?}"
            );
        }
    }
}

/// Element-wise kernels: a binary ADD and a unary EXP.
fn elementwise_overflow() {
    if !gpu_available() {
        return;
    }
    let mut g = G::default();
    let (a, ta) = x_input(&mut g, vec![1, 4, 4, 4], 10, 30000.0, 60000.0);
    let (b, tb) = x_input(&mut g, vec![1, 4, 4, 4], 11, 30000.0, 60000.0);
    let s = g.binary(Binary::Add, a, b);
    let y = g.scale_down(s);
    check("ADD", &g.model(y), &[ta, tb], "ADD");

    let mut g = G::default();
    let (a, ta) = x_input(&mut g, vec![1, 64], 12, 11.5, 12.5);
    let e = g.node("exp", Op::Unary(Unary::Exp), &[a], vec![1, 64]);
    let y = g.scale_down(e);
    check("EXP", &g.model(y), &[ta], "EXP");
}

/// Data movement (CONCATENATION, PAD, RESHAPE, GATHER) and pooling of an input
/// that f16 cannot hold: the upload is a store of f16 values too, and flags the
/// nodes reading it.
fn data_movement_of_values_beyond_f16() {
    if !gpu_available() {
        return;
    }
    type Build = fn(&mut G, usize) -> usize;
    let cases: [(&str, Build); 7] = [
        ("CONCATENATION", |g, x| {
            let c = g.constant(vec![1, 4, 4, 2], &[1.0; 32]);
            g.concat(&[x, c], 3)
        }),
        ("PAD", |g, x| g.pad(x, &[(0, 0), (1, 0), (0, 1), (0, 0)])),
        ("RESHAPE", |g, x| g.reshape(x, vec![1, 16, 4])),
        ("GATHER", |g, x| {
            let idx = g.ints(&[3, 0, 2]);
            let op = Op::Gather {
                axis: 3,
                batch_dims: 0,
            };
            g.node("gather", op, &[x, idx], vec![1, 4, 4, 3])
        }),
        ("MAX_POOL_2D", |g, x| g.max_pool(x)),
        ("RESIZE_NEAREST_NEIGHBOR", |g, x| {
            let size = g.ints(&[6, 6]);
            let op = Op::ResizeNearestNeighbor(Resize::default());
            g.node("nearest", op, &[x, size], vec![1, 6, 6, 4])
        }),
        ("RESIZE_BILINEAR", |g, x| {
            let size = g.ints(&[6, 6]);
            let op = Op::ResizeBilinear(Resize::default());
            g.node("bilinear", op, &[x, size], vec![1, 6, 6, 4])
        }),
    ];
    for (k, (op, build)) in cases.into_iter().enumerate() {
        let mut g = G::default();
        let (x, t) = x_input(&mut g, vec![1, 4, 4, 4], 20 + k as u32, 60000.0, 150000.0);
        let m = build(&mut g, x);
        let y = g.scale_down(m);
        check(op, &g.model(y), &[t], op);
    }
}

/// CAST of int32 values beyond the f16 range to float.
fn cast_overflows() {
    if !gpu_available() {
        return;
    }
    let mut g = G::default();
    g.tensors
        .push(TensorInfo::new("in0".to_string(), DType::I32, vec![1, 32]));
    let x = g.tensors.len() - 1;
    g.inputs.push(x);
    let c = g.node("cast", Op::Cast, &[x], vec![1, 32]);
    let y = g.scale_down(c);
    let data: Vec<i32> = (0..32).map(|i| 60000 + 3000 * i).collect();
    let t = Tensor::new(vec![1, 32], tflite_wgpu::Data::I32(data));
    check("CAST", &g.model(y), &[t], "CAST");
}

/// DEQUANTIZE of int8 values with a scale that takes them past the f16 range:
/// partitions with quantized nodes compile at f32 in an fp16 run, so nothing
/// saturates and nothing needs promoting (its f16 kernel stores through the
/// guarded store all the same: `every_f16_store_goes_through_the_guard`).
fn dequantize_runs_at_f32() {
    if !gpu_available() {
        return;
    }
    let mut g = G::default();
    let mut q = TensorInfo::new("in0".to_string(), DType::I8, vec![1, 32]);
    q.quantization = Some(Quantization::per_tensor(1000.0, 0));
    g.tensors.push(q);
    let x = g.tensors.len() - 1;
    g.inputs.push(x);
    let d = g.node("dequantize", Op::Dequantize, &[x], vec![1, 32]);
    let model = g.model(d);
    let data: Vec<i8> = (0..32).map(|i| 40 + 2 * i as i8).collect();
    let t = [Tensor::new(vec![1, 32], tflite_wgpu::Data::I8(data))];
    let reference = invoke_all(&mut interpreter(&model, false, OverflowGuard::On, true), &t)
        .expect("the fp32 run");
    let mut on = interpreter(&model, true, OverflowGuard::Error, true);
    let report = on.delegate_report().expect("a GPU report");
    assert!(report.plan.fallback.is_empty());
    assert!(report
        .partition_precision
        .iter()
        .all(|p| *p == Some(tflite_wgpu::Precision::F32)));
    assert_eq!(invoke_all(&mut on, &t).expect("no overflow"), reference);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, fused_epilogue_step_overflows),
        crate::case!(gpu, depthwise_scalar_and_quads_overflow),
        crate::case!(gpu, depthwise_pointwise_intermediate_and_output_overflow),
        crate::case!(gpu, elementwise_overflow),
        crate::case!(gpu, data_movement_of_values_beyond_f16),
        crate::case!(gpu, cast_overflows),
        crate::case!(gpu, dequantize_runs_at_f32),
    ]
}
