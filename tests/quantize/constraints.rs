//! The int8 form respects the constraints LiteRT's integer kernels check: one
//! scale and zero point in and out of CONCATENATION, MAXIMUM/MINIMUM and the
//! data-movement ops, the fixed output parameters of LOGISTIC, TANH and SOFTMAX,
//! int32 biases with scale input_scale x weight_scale; and `quantize` handles
//! control flow: the weights of every subgraph are quantized, and int8
//! calibration observes the tensors inside a WHILE loop's body.

use crate::common;

use std::collections::HashSet;
use std::path::Path;
use tflite_wgpu::graph::{Node, Op, Quantization, Subgraph};
use tflite_wgpu::quantize::{self, Mode, QuantizeOptions};
use tflite_wgpu::{model, DType, Graph};

fn load(shared: &Path, name: &str) -> Graph {
    let path = shared.join("models/gen").join(format!("{name}.tflite"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    model::read(&bytes, &model::LoadOptions::default()).unwrap()
}

fn quantized(g: &Graph, mode: Mode) -> quantize::Quantized {
    let samples = quantize::random_calibration(g.main(), 2).unwrap();
    quantize::quantize(g, &QuantizeOptions::new(mode), &samples).unwrap()
}

fn params(sg: &Subgraph, t: usize) -> Option<(f32, i64)> {
    let info = &sg.tensors[t];
    let q: &Quantization = info.quantization.as_ref()?;
    (info.dtype == DType::I8).then(|| (q.scale[0], q.zero_point[0]))
}

/// The data inputs of `node` (activations and constants that are not int32
/// shapes, axes or indices).
fn data_inputs(sg: &Subgraph, node: &Node) -> Vec<usize> {
    node.inputs
        .iter()
        .flatten()
        .copied()
        .filter(|&t| sg.tensors[t].dtype == DType::I8)
        .collect()
}

/// Check every int8 node of `sg` against LiteRT's constraints; returns the op
/// names checked.
fn check_constraints(name: &str, sg: &Subgraph) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (n, node) in sg.nodes.iter().enumerate() {
        let Some(out) = node.outputs.first().and_then(|&o| params(sg, o)) else {
            continue;
        };
        let op = node.op.name();
        let at = format!("{name} node {n} {op}");
        let ins = data_inputs(sg, node);
        match &node.op {
            Op::Concatenation { .. } | Op::Binary(..)
                if matches!(op, "CONCATENATION" | "MAXIMUM" | "MINIMUM") =>
            {
                for &t in &ins {
                    assert_eq!(params(sg, t), Some(out), "{at}: input {t}");
                }
            }
            Op::Reshape { .. }
            | Op::Squeeze { .. }
            | Op::ExpandDims
            | Op::Transpose
            | Op::Pad
            | Op::Slice
            | Op::StridedSlice(_)
            | Op::Gather { .. }
            | Op::MaxPool2D(_)
            | Op::AveragePool2D(_)
            | Op::Split { .. }
            | Op::SplitV { .. }
            | Op::SpaceToDepth { .. }
            | Op::DepthToSpace { .. }
            | Op::ResizeBilinear(_)
            | Op::ResizeNearestNeighbor(_)
            | Op::Tile => {
                assert_eq!(params(sg, ins[0]), Some(out), "{at}");
                for &o in &node.outputs {
                    assert_eq!(params(sg, o), Some(out), "{at}: output {o}");
                }
            }
            Op::Unary(_) if op == "LOGISTIC" => assert_eq!(out, (1.0 / 256.0, -128), "{at}"),
            Op::Unary(_) if op == "TANH" => assert_eq!(out, (1.0 / 128.0, 0), "{at}"),
            Op::Softmax { .. } => assert_eq!(out, (1.0 / 256.0, -128), "{at}"),
            Op::Conv2D(_) | Op::DepthwiseConv2D(_) | Op::FullyConnected(_) => {
                let input = params(sg, ins[0]).unwrap().0 as f64;
                let w = sg.tensors[node.inputs[1].unwrap()]
                    .quantization
                    .clone()
                    .unwrap();
                if let Some(b) = node.inputs.get(2).copied().flatten() {
                    let bias = &sg.tensors[b];
                    assert_eq!(bias.dtype, DType::I32, "{at}: bias type");
                    let bq = bias.quantization.as_ref().unwrap();
                    for (c, &s) in bq.scale.iter().enumerate() {
                        let want = input * w.scale_at(c) as f64;
                        assert!(
                            (s as f64 - want).abs() <= 1e-6 * want,
                            "{at}: bias scale {s} for channel {c}, input x weight = {want}"
                        );
                        assert_eq!(bq.zero_point_at(c), 0, "{at}");
                    }
                }
            }
            _ => continue,
        }
        seen.insert(op.to_string());
    }
    seen
}

fn int8_respects_the_constraints_of_litert_kernels() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let mut seen = HashSet::new();
    for name in [
        "op_concat_channels",
        "op_concat_height",
        "op_max_min",
        "op_maxpool2x2",
        "op_act_sigmoid",
        "op_act_tanh",
        "op_softmax",
        "op_dense_bias_relu",
        "op_conv3x3_same_relu",
        "op_dwconv3x3_s1",
        "op_reshape_flatten",
        "op_pad",
        "op_transpose",
        "op_split",
        "op_gather",
        "mobilenet_v2_035_128_fp32",
    ] {
        let g = load(&shared, name);
        let q = quantized(&g, Mode::Int8);
        seen.extend(check_constraints(name, q.graph.main()));
    }
    for op in [
        "CONCATENATION",
        "MAXIMUM",
        "MINIMUM",
        "MAX_POOL_2D",
        "LOGISTIC",
        "TANH",
        "SOFTMAX",
        "FULLY_CONNECTED",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "RESHAPE",
        "PAD",
        "TRANSPOSE",
        "SPLIT",
    ] {
        assert!(seen.contains(op), "no int8 {op} was checked ({seen:?})");
    }
}

/// The float32 constants of `sg` at least `min` elements large.
fn float_weights(sg: &Subgraph, min: usize) -> Vec<String> {
    sg.tensors
        .iter()
        .filter(|t| t.is_constant() && t.dtype == DType::F32 && t.num_elements() >= min)
        .map(|t| t.name.clone())
        .collect()
}

fn quantize_reaches_into_the_subgraphs_of_a_while_loop() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let g = load(&shared, "op_lstm");
    let body = g
        .main()
        .nodes
        .iter()
        .find_map(|n| match n.op {
            Op::While { body, .. } => Some(body),
            _ => None,
        })
        .expect("op_lstm has a WHILE node");
    assert!(!float_weights(&g.subgraphs[body], 1024).is_empty());

    let fp16 = quantized(&g, Mode::Fp16).graph;
    for (s, sg) in fp16.subgraphs.iter().enumerate() {
        assert_eq!(
            float_weights(sg, 1),
            Vec::<String>::new(),
            "fp16 subgraph {s}"
        );
    }
    let dynamic = quantized(&g, Mode::DynamicInt8).graph;
    for (s, sg) in dynamic.subgraphs.iter().enumerate() {
        assert_eq!(
            float_weights(sg, 1024),
            Vec::<String>::new(),
            "dynamic-int8 subgraph {s}"
        );
    }

    let int8 = quantized(&g, Mode::Int8);
    let qbody = &int8.graph.subgraphs[body];
    assert_eq!(float_weights(qbody, 1), Vec::<String>::new(), "int8 body");
    let int8_nodes: Vec<&str> = qbody
        .nodes
        .iter()
        .filter(|n| n.outputs.iter().any(|&o| params(qbody, o).is_some()))
        .map(|n| n.op.name())
        .collect();
    for op in ["FULLY_CONNECTED", "LOGISTIC", "TANH", "MUL", "ADD"] {
        assert!(
            int8_nodes.contains(&op),
            "no int8 {op} in the body: {int8_nodes:?}"
        );
    }
    check_constraints("op_lstm body", qbody);
    // The loop itself stays float, and the report says so.
    assert!(
        int8.float_nodes.iter().any(|(_, op, _)| op == "WHILE"),
        "{:?}",
        int8.float_nodes
    );
    // The body's interface is unchanged: what the loop carries stays float.
    let fbody = &g.subgraphs[body];
    let types = |sg: &Subgraph| -> Vec<DType> {
        let ends = sg.inputs.iter().chain(&sg.outputs);
        ends.map(|&t| sg.tensors[t].dtype).collect()
    };
    assert_eq!(types(qbody), types(fbody), "the body's interface");
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(shared, int8_respects_the_constraints_of_litert_kernels),
        crate::case!(shared, quantize_reaches_into_the_subgraphs_of_a_while_loop),
    ]
}
