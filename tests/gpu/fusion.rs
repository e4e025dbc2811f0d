//! Fusion groups on small graphs built with the writer: each rewrite runs in
//! fewer dispatches, and the fused GPU output equals the unfused GPU output and
//! the CPU reference.

use crate::common;

use common::gpu::{gpu_available, values};
use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, Binary, Conv2D, DepthwiseConv2D, Padding, Pool2D, Unary};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Device, Interpreter, Model, Options, PartitionOptions, Tensor};

/// A graph under construction.
#[derive(Default)]
pub(crate) struct G {
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
    inputs: Vec<usize>,
    seed: u32,
}

impl G {
    pub(crate) fn input(&mut self, shape: Vec<usize>) -> usize {
        self.tensors.push(TensorInfo::new(
            format!("in{}", self.inputs.len()),
            DType::F32,
            shape,
        ));
        self.inputs.push(self.tensors.len() - 1);
        self.tensors.len() - 1
    }

    pub(crate) fn constant(&mut self, shape: Vec<usize>, v: &[f32]) -> usize {
        let mut t = TensorInfo::new(format!("c{}", self.tensors.len()), DType::F32, shape);
        t.data = Some(Arc::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ));
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    /// A constant of seeded values in [-1, 1).
    pub(crate) fn random(&mut self, shape: Vec<usize>) -> usize {
        self.seed += 1;
        let v = values(shape.iter().product(), self.seed);
        self.constant(shape, &v)
    }

    pub(crate) fn ints(&mut self, shape: Vec<usize>, v: &[i32]) -> usize {
        let mut t = TensorInfo::new(format!("i{}", self.tensors.len()), DType::I32, shape);
        t.data = Some(Arc::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ));
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    pub(crate) fn node(&mut self, op: Op, inputs: &[usize], shape: Vec<usize>) -> usize {
        self.tensors.push(TensorInfo::new(
            format!("t{}", self.tensors.len()),
            DType::F32,
            shape,
        ));
        let out = self.tensors.len() - 1;
        self.nodes.push(Node {
            op,
            inputs: inputs.iter().map(|&t| Some(t)).collect(),
            outputs: vec![out],
        });
        out
    }

    pub(crate) fn shape(&self, t: usize) -> Vec<usize> {
        self.tensors[t].shape.clone()
    }

    /// CONV_2D with seeded weights and bias.
    pub(crate) fn conv(
        &mut self,
        x: usize,
        oc: usize,
        k: usize,
        stride: usize,
        padding: Padding,
    ) -> usize {
        let [n, h, w, ic] = self.shape(x)[..] else {
            panic!("4-D input")
        };
        let out = |d: usize| match padding {
            Padding::Same => d.div_ceil(stride),
            Padding::Valid => (d - k) / stride + 1,
        };
        let wt = self.random(vec![oc, k, k, ic]);
        let b = self.random(vec![oc]);
        let op = Op::Conv2D(Conv2D {
            padding,
            stride_w: stride,
            stride_h: stride,
            dilation_w: 1,
            dilation_h: 1,
            activation: Activation::None,
        });
        self.node(op, &[x, wt, b], vec![n, out(h), out(w), oc])
    }

    /// DEPTHWISE_CONV_2D 3x3 with seeded weights and bias.
    pub(crate) fn depthwise(&mut self, x: usize, stride: usize, padding: Padding) -> usize {
        let [n, h, w, c] = self.shape(x)[..] else {
            panic!("4-D input")
        };
        let out = |d: usize| match padding {
            Padding::Same => d.div_ceil(stride),
            Padding::Valid => (d - 3) / stride + 1,
        };
        let wt = self.random(vec![1, 3, 3, c]);
        let b = self.random(vec![c]);
        let op = Op::DepthwiseConv2D(DepthwiseConv2D {
            padding,
            stride_w: stride,
            stride_h: stride,
            depth_multiplier: 1,
            dilation_w: 1,
            dilation_h: 1,
            activation: Activation::None,
        });
        self.node(op, &[x, wt, b], vec![n, out(h), out(w), c])
    }

    /// PAD with constant zeros, `pads` as (before, after) per axis.
    pub(crate) fn pad(&mut self, x: usize, pads: [(usize, usize); 4]) -> usize {
        let flat: Vec<i32> = pads
            .iter()
            .flat_map(|&(a, b)| [a as i32, b as i32])
            .collect();
        let p = self.ints(vec![4, 2], &flat);
        let shape: Vec<usize> = self
            .shape(x)
            .iter()
            .zip(pads)
            .map(|(d, (a, b))| d + a + b)
            .collect();
        self.node(Op::Pad, &[x, p], shape)
    }

    pub(crate) fn binary(&mut self, op: Binary, act: Activation, a: usize, b: usize) -> usize {
        // The operand of higher rank has the output's shape in these graphs.
        let shape = if self.tensors[a].shape.len() >= self.tensors[b].shape.len() {
            self.shape(a)
        } else {
            self.shape(b)
        };
        self.node(Op::Binary(op, act), &[a, b], shape)
    }

    /// The model through the writer and reader, with `outputs`.
    pub(crate) fn model(self, outputs: Vec<usize>) -> Model {
        let graph = self.graph(outputs);
        let bytes = tflite_wgpu::model::write(&graph).expect("the writer writes it");
        Model::from_bytes(&bytes).expect("the model reads back")
    }

    /// The graph, with `outputs`.
    pub(crate) fn graph(self, outputs: Vec<usize>) -> Graph {
        Graph {
            subgraphs: vec![Subgraph {
                name: "main".into(),
                tensors: self.tensors,
                nodes: self.nodes,
                inputs: self.inputs,
                outputs,
            }],
            version: 3,
            ..Default::default()
        }
    }
}

/// Outputs (flattened, in order) and GPU dispatches of one invoke.
fn run(model: &Model, inputs: &[Tensor], device: Device, fusion: bool) -> (Vec<f32>, usize) {
    let mut interp = Interpreter::with_options(
        model,
        Options {
            device,
            partitions: PartitionOptions {
                fusion,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .expect("the model prepares");
    for (i, t) in inputs.iter().enumerate() {
        interp.set_input(i, t.clone()).expect("input fits");
    }
    interp.invoke().expect("the invoke runs");
    let mut out = Vec::new();
    for i in 0..interp.num_outputs() {
        out.extend_from_slice(interp.output(i).expect("output").as_f32().expect("float"));
    }
    let dispatches = interp.delegate_report().map_or(0, |r| r.dispatches);
    (out, dispatches)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Runs `model` fused, unfused and on the CPU; the fused run has exactly
/// `fused` dispatches where the unfused one has `unfused`, and all three agree.
fn check(name: &str, model: Model, inputs: Vec<Tensor>, fused: usize, unfused: usize) {
    if !gpu_available() {
        return;
    }
    let (cpu, _) = run(&model, &inputs, Device::Cpu, true);
    let (plain, n_plain) = run(&model, &inputs, Device::Gpu, false);
    let (fast, n_fast) = run(&model, &inputs, Device::Gpu, true);
    assert_eq!(n_plain, unfused, "{name}: dispatches without fusion");
    assert_eq!(n_fast, fused, "{name}: dispatches with fusion");
    let scale = cpu.iter().map(|v| v.abs()).fold(1.0, f32::max);
    let d = max_diff(&fast, &plain);
    assert!(d <= 1e-5 * scale, "{name}: fused vs unfused GPU max|d| {d}");
    let d = max_diff(&fast, &cpu);
    assert!(d <= 1e-4 * scale, "{name}: fused GPU vs CPU max|d| {d}");
}

pub(crate) fn input(shape: Vec<usize>, seed: u32) -> Tensor {
    let n = shape.iter().product();
    Tensor::f32(shape, values(n, seed))
}

/// A residual ADD whose other operand is computed after the convolution in node
/// order (a second convolution), and a SUB whose subtrahend is a convolution:
/// both fold into the first convolution's epilogue.
fn residual_add_and_sub_fuse_into_either_operand() {
    let mut g = G::default();
    let x = g.input(vec![1, 6, 7, 4]);
    let a = g.conv(x, 8, 1, 1, Padding::Same);
    let b = g.conv(x, 8, 3, 1, Padding::Same);
    let s = g.binary(Binary::Add, Activation::Relu6, b, a);
    let c = g.conv(s, 8, 3, 1, Padding::Same);
    let d = g.binary(Binary::Sub, Activation::None, s, c);
    let model = g.model(vec![d]);
    // Unfused: 3 convolutions + ADD + SUB; fused: the convolutions.
    check("residual", model, vec![input(vec![1, 6, 7, 4], 1)], 3, 5);
}

/// Spatial zero PADs in front of a VALID CONV_2D and a DEPTHWISE_CONV_2D become
/// their padding.
fn spatial_pad_fuses_into_convolutions() {
    let mut g = G::default();
    let x = g.input(vec![1, 9, 8, 4]);
    let p = g.pad(x, [(0, 0), (1, 2), (0, 1), (0, 0)]);
    let c = g.conv(p, 6, 3, 2, Padding::Valid);
    let q = g.pad(c, [(0, 0), (2, 1), (1, 1), (0, 0)]);
    let d = g.depthwise(q, 1, Padding::Valid);
    let model = g.model(vec![d]);
    check("pad", model, vec![input(vec![1, 9, 8, 4], 2)], 2, 4);
}

/// BlazeFace's blocks: DEPTHWISE (stride 2) -> 1x1 CONV_2D -> ADD with the input
/// 2x2-max-pooled and channel-PADded, RELU; then a block at stride 1 whose skip
/// is only channel-PADded. The pools and PADs run inside the ADDs.
fn blazeface_skip_branches_fuse_into_the_add() {
    let mut g = G::default();
    let x = g.input(vec![1, 8, 8, 4]);
    let d = g.depthwise(x, 2, Padding::Same);
    let c = g.conv(d, 6, 1, 1, Padding::Same);
    let pool = Op::MaxPool2D(Pool2D {
        padding: Padding::Valid,
        stride_w: 2,
        stride_h: 2,
        filter_w: 2,
        filter_h: 2,
        activation: Activation::None,
    });
    let m = g.node(pool, &[x], vec![1, 4, 4, 4]);
    let p = g.pad(m, [(0, 0), (0, 0), (0, 0), (0, 2)]);
    let s = g.binary(Binary::Add, Activation::Relu, p, c);
    let d2 = g.depthwise(s, 1, Padding::Same);
    let c2 = g.conv(d2, 8, 1, 1, Padding::Same);
    let p2 = g.pad(s, [(0, 0), (0, 0), (0, 0), (0, 2)]);
    let s2 = g.binary(Binary::Add, Activation::Relu, p2, c2);
    let model = g.model(vec![s2]);
    // Unfused: 2 depthwise, 2 conv, pool, 2 PADs, 2 ADDs; fused: one dispatch
    // per block (depthwise + 1x1 + skip + ADD).
    check("blazeface", model, vec![input(vec![1, 8, 8, 4], 3)], 2, 9);
}

/// DEPTHWISE_CONV_2D + 1x1 CONV_2D in one dispatch, behind a spatial PAD and
/// before a PRELU, with few channels (whole pixels per workgroup) and with many
/// (a workgroup's last pixels past the end), on channel quads (multiples of 4)
/// and one channel at a time (13).
fn depthwise_and_pointwise_fuse() {
    for (c, oc, seed) in [(12, 20, 6), (300, 7, 7), (13, 9, 8)] {
        let mut g = G::default();
        let x = g.input(vec![1, 11, 10, c]);
        let p = g.pad(x, [(0, 0), (0, 1), (1, 0), (0, 0)]);
        let d = g.depthwise(p, 2, Padding::Valid);
        let pw = g.conv(d, oc, 1, 1, Padding::Valid);
        let alpha = g.random(vec![oc]);
        let shape = g.shape(pw);
        let y = g.node(Op::Prelu, &[pw, alpha], shape);
        let model = g.model(vec![y]);
        let name = format!("depthwise+1x1 with {c} channels");
        check(&name, model, vec![input(vec![1, 11, 10, c], seed)], 1, 4);
    }
}

/// Element-wise chains after a convolution: a residual ADD then PRELU with one
/// slope per channel (face_landmark's blocks), and MUL by a per-channel constant
/// then ADD of a scalar.
fn elementwise_chains_fuse_into_the_producer() {
    let mut g = G::default();
    let x = g.input(vec![1, 5, 5, 8]);
    let c = g.conv(x, 8, 3, 1, Padding::Same);
    let s = g.binary(Binary::Add, Activation::None, c, x);
    let alpha = g.random(vec![1, 1, 8]);
    let pr = g.node(Op::Prelu, &[s, alpha], vec![1, 5, 5, 8]);
    let c2 = g.conv(pr, 8, 1, 1, Padding::Same);
    let scale = g.random(vec![8]);
    let m = g.binary(Binary::Mul, Activation::None, c2, scale);
    let offset = g.constant(vec![1], &[0.25]);
    let y = g.binary(Binary::Add, Activation::Relu6, offset, m);
    let model = g.model(vec![y]);
    check("chain", model, vec![input(vec![1, 5, 5, 8], 4)], 2, 6);
}

/// Nothing fuses across a graph output or an intermediate read twice.
fn shared_or_exposed_intermediates_do_not_fuse() {
    let mut g = G::default();
    let x = g.input(vec![1, 4, 4, 4]);
    let a = g.conv(x, 4, 1, 1, Padding::Same);
    let s = g.binary(Binary::Add, Activation::None, a, x);
    let b = g.conv(x, 4, 1, 1, Padding::Same);
    let t = g.binary(Binary::Add, Activation::None, b, x);
    let u = g.binary(Binary::Mul, Activation::None, b, t);
    let model = g.model(vec![a, s, u]);
    check("unfusable", model, vec![input(vec![1, 4, 4, 4], 5)], 5, 5);
}

/// Unary activations after a convolution are epilogue steps too, alone or
/// followed by a residual ADD.
fn unary_steps_fuse_into_the_producer() {
    let mut g = G::default();
    let x = g.input(vec![1, 4, 5, 6]);
    let mut outputs = Vec::new();
    for (k, u) in [Unary::Logistic, Unary::HardSwish, Unary::Elu, Unary::Tanh]
        .into_iter()
        .enumerate()
    {
        // 54-term sums of values in [-1, 1): TANH and LOGISTIC see their
        // saturating range as well.
        let c = g.conv(x, 6, 3, 1, Padding::Same);
        let shape = g.shape(c);
        let y = g.node(Op::Unary(u), &[c], shape);
        outputs.push(if k == 1 {
            g.binary(Binary::Add, Activation::None, y, x)
        } else {
            y
        });
    }
    let model = g.model(outputs);
    // Unfused: 4 convolutions, 4 unary ops, 1 ADD.
    check("unary", model, vec![input(vec![1, 4, 5, 6], 8)], 4, 9);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, residual_add_and_sub_fuse_into_either_operand),
        crate::case!(gpu, spatial_pad_fuses_into_convolutions),
        crate::case!(gpu, blazeface_skip_branches_fuse_into_the_add),
        crate::case!(gpu, depthwise_and_pointwise_fuse),
        crate::case!(gpu, elementwise_chains_fuse_into_the_producer),
        crate::case!(gpu, shared_or_exposed_intermediates_do_not_fuse),
        crate::case!(gpu, unary_steps_fuse_into_the_producer),
    ]
}
