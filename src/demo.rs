//! A small demo model the crate builds with its own writer, so the CLI works on a
//! fresh clone without any model file: a conv block with a residual, global average
//! pooling, a dense layer and a softmax over 10 classes.

use crate::graph::op::{Activation, Conv2D, DepthwiseConv2D, FullyConnected, Padding, Reduce};
use crate::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use std::sync::Arc;

/// Deterministic pseudo-random weights in [-scale, scale].
fn weights(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    crate::graph::rng::SeededRng::new(seed.into()).signed(n, scale)
}

fn constant(name: &str, shape: Vec<usize>, values: Vec<f32>) -> TensorInfo {
    let mut t = TensorInfo::new(name, DType::F32, shape);
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.data = Some(Arc::from(bytes));
    t
}

fn int_constant(name: &str, values: &[i32]) -> TensorInfo {
    let mut t = TensorInfo::new(name, DType::I32, vec![values.len()]);
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.data = Some(Arc::from(bytes));
    t
}

/// The demo graph: input `image` [1, 32, 32, 3] float32, output `probabilities` [1, 10].
pub fn demo_graph() -> Graph {
    let c = 8;
    let tensors = vec![
        TensorInfo::new("image", DType::F32, vec![1, 32, 32, 3]),
        constant("conv/filter", vec![c, 3, 3, 3], weights(c * 27, 1, 0.5)),
        constant("conv/bias", vec![c], weights(c, 2, 0.1)),
        TensorInfo::new("conv/out", DType::F32, vec![1, 32, 32, c]),
        constant("dw/filter", vec![1, 3, 3, c], weights(9 * c, 3, 0.5)),
        constant("dw/bias", vec![c], weights(c, 4, 0.1)),
        TensorInfo::new("dw/out", DType::F32, vec![1, 32, 32, c]),
        TensorInfo::new("residual", DType::F32, vec![1, 32, 32, c]),
        int_constant("pool/axes", &[1, 2]),
        TensorInfo::new("pooled", DType::F32, vec![1, c]),
        constant("dense/weights", vec![10, c], weights(10 * c, 5, 0.8)),
        constant("dense/bias", vec![10], weights(10, 6, 0.1)),
        TensorInfo::new("logits", DType::F32, vec![1, 10]),
        TensorInfo::new("probabilities", DType::F32, vec![1, 10]),
    ];
    let nodes = vec![
        Node {
            op: Op::Conv2D(Conv2D {
                padding: Padding::Same,
                stride_w: 1,
                stride_h: 1,
                dilation_w: 1,
                dilation_h: 1,
                activation: Activation::Relu,
            }),
            inputs: vec![Some(0), Some(1), Some(2)],
            outputs: vec![3],
        },
        Node {
            op: Op::DepthwiseConv2D(DepthwiseConv2D {
                padding: Padding::Same,
                stride_w: 1,
                stride_h: 1,
                depth_multiplier: 1,
                dilation_w: 1,
                dilation_h: 1,
                activation: Activation::Relu6,
            }),
            inputs: vec![Some(3), Some(4), Some(5)],
            outputs: vec![6],
        },
        Node {
            op: Op::Binary(crate::graph::op::Binary::Add, Activation::None),
            inputs: vec![Some(3), Some(6)],
            outputs: vec![7],
        },
        Node {
            op: Op::Reduce {
                kind: Reduce::Mean,
                keep_dims: false,
            },
            inputs: vec![Some(7), Some(8)],
            outputs: vec![9],
        },
        Node {
            op: Op::FullyConnected(FullyConnected {
                activation: Activation::None,
                keep_num_dims: false,
                asymmetric_quantize_inputs: false,
            }),
            inputs: vec![Some(9), Some(10), Some(11)],
            outputs: vec![12],
        },
        Node {
            op: Op::Softmax { beta: 1.0 },
            inputs: vec![Some(12)],
            outputs: vec![13],
        },
    ];
    Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors,
            nodes,
            inputs: vec![0],
            outputs: vec![13],
        }],
        description: "tflite-wgpu demo model".into(),
        version: 3,
        ..Default::default()
    }
}

/// The demo model as `.tflite` bytes.
pub fn demo_model_bytes() -> crate::Result<Vec<u8>> {
    crate::model::write(&demo_graph())
}

/// A deterministic input for the demo model.
pub fn demo_input() -> crate::Tensor {
    crate::Tensor::f32(vec![1, 32, 32, 3], weights(32 * 32 * 3, 7, 1.0))
}

/// A model that fp16 gets wrong, for trying `validate --auto-mixed`: a dense layer
/// whose result is shifted by 1000 and back (catastrophic cancellation: near 1000
/// an f16 has a step of 0.5), then scaled; a second, harmless dense branch.
///
/// Input `x` [1, 64] float32; outputs `shifted_back` [1, 64] and `branch` [1, 16].
/// Nodes: 0 FULLY_CONNECTED, 1 ADD 1000, 2 SUB 1000, 3 MUL 0.5, 4 FULLY_CONNECTED.
pub fn cancellation_graph() -> Graph {
    use crate::graph::op::Binary;
    let n = 64;
    let tensors = vec![
        TensorInfo::new("x", DType::F32, vec![1, n]),
        constant("dense/weights", vec![n, n], weights(n * n, 11, 0.3)),
        constant("dense/bias", vec![n], weights(n, 12, 0.1)),
        TensorInfo::new("dense", DType::F32, vec![1, n]),
        constant("offset", vec![1], vec![1000.0]),
        TensorInfo::new("shifted", DType::F32, vec![1, n]),
        TensorInfo::new("unshifted", DType::F32, vec![1, n]),
        constant("half", vec![1], vec![0.5]),
        TensorInfo::new("shifted_back", DType::F32, vec![1, n]),
        constant("branch/weights", vec![16, n], weights(16 * n, 13, 0.3)),
        constant("branch/bias", vec![16], weights(16, 14, 0.1)),
        TensorInfo::new("branch", DType::F32, vec![1, 16]),
    ];
    let dense = |inputs: [usize; 3], out: usize| Node {
        op: Op::FullyConnected(FullyConnected {
            activation: Activation::None,
            keep_num_dims: false,
            asymmetric_quantize_inputs: false,
        }),
        inputs: inputs.iter().map(|&t| Some(t)).collect(),
        outputs: vec![out],
    };
    let binary = |b: Binary, x: usize, y: usize, out: usize| Node {
        op: Op::Binary(b, Activation::None),
        inputs: vec![Some(x), Some(y)],
        outputs: vec![out],
    };
    let nodes = vec![
        dense([0, 1, 2], 3),
        binary(Binary::Add, 3, 4, 5),
        binary(Binary::Sub, 5, 4, 6),
        binary(Binary::Mul, 6, 7, 8),
        dense([0, 9, 10], 11),
    ];
    Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors,
            nodes,
            inputs: vec![0],
            outputs: vec![8, 11],
        }],
        description: "tflite-wgpu fp16 cancellation example".into(),
        version: 3,
        ..Default::default()
    }
}
