//! INT4 tensors (two signed values a byte, the low nibble first) and blockwise
//! quantization (a float16 scales tensor, one scale per block of the depth):
//! written, read back and run by the CPU interpreter; malformed forms are
//! errors naming the tensor, never panics.

use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, FullyConnected};
use tflite_wgpu::graph::{
    pack_int4, Blockwise, DType, Graph, Node, Op, Quantization, Subgraph, TensorInfo,
};
use tflite_wgpu::{model, Interpreter, Model, Tensor};

const UNITS: usize = 4;
const DEPTH: usize = 64;
const BLOCK: usize = 32;

/// Seeded int4 levels in [-7, 7].
fn levels(n: usize) -> Vec<i8> {
    (0..n).map(|i| ((i * 7 + i / 5) % 15) as i8 - 7).collect()
}

fn f16_bytes(v: &[f32]) -> Arc<[u8]> {
    v.iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect::<Vec<u8>>()
        .into()
}

/// FULLY_CONNECTED of a [1, DEPTH] input by int4 weights [UNITS, DEPTH] quantized
/// as `quant` (tensor 1), with float16 block scales as tensor 3 when `scales`.
fn fc_graph(quant: Quantization, scales: Option<Vec<f32>>) -> Graph {
    let mut w = TensorInfo::new("w", DType::Int4, vec![UNITS, DEPTH]);
    w.data = Some(pack_int4(&levels(UNITS * DEPTH)).into());
    w.quantization = Some(quant);
    let mut tensors = vec![
        TensorInfo::new("x", DType::F32, vec![1, DEPTH]),
        w,
        TensorInfo::new("y", DType::F32, vec![1, UNITS]),
    ];
    if let Some(s) = scales {
        let mut t = TensorInfo::new("w_scales", DType::F16, vec![UNITS, DEPTH / BLOCK]);
        t.data = Some(f16_bytes(&s));
        tensors.push(t);
    }
    Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors,
            nodes: vec![Node {
                op: Op::FullyConnected(FullyConnected {
                    activation: Activation::None,
                    keep_num_dims: false,
                    asymmetric_quantize_inputs: true,
                }),
                inputs: vec![Some(0), Some(1), None],
                outputs: vec![2],
            }],
            inputs: vec![0],
            outputs: vec![2],
        }],
        version: 3,
        ..Default::default()
    }
}

fn input() -> Vec<f32> {
    (0..DEPTH)
        .map(|i| ((i * 13) % 17) as f32 / 8.0 - 1.0)
        .collect()
}

/// x . dequantized weights, with `scale(unit, k)` the scale of weight k of a unit.
fn reference(scale: impl Fn(usize, usize) -> f32) -> Vec<f32> {
    let (x, l) = (input(), levels(UNITS * DEPTH));
    (0..UNITS)
        .map(|u| {
            (0..DEPTH)
                .map(|k| x[k] * l[u * DEPTH + k] as f32 * scale(u, k))
                .sum()
        })
        .collect()
}

/// Write `g`, read it back, run it on the CPU and compare with `want` (the
/// hybrid kernels quantize the input to int8: within 1% of the largest output).
fn round_trip_runs(g: &Graph, want: &[f32]) -> Graph {
    let bytes = model::write(g).unwrap();
    let read = model::read(&bytes, &Default::default()).unwrap();
    let m = Model::from_bytes(&bytes).unwrap();
    let mut it = Interpreter::new(&m).unwrap();
    it.set_input(0, Tensor::f32(vec![1, DEPTH], input()))
        .unwrap();
    it.invoke().unwrap();
    let got = it.output(0).unwrap().as_f32().unwrap().to_vec();
    let top = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 0.01 * top, "got {got:?}, want {want:?}");
    }
    read
}

fn int4_per_channel_weights_round_trip_and_run() {
    let scales: Vec<f32> = (0..UNITS).map(|u| 0.01 * (u + 1) as f32).collect();
    let q = Quantization::per_channel(scales.clone(), vec![0; UNITS], 0);
    let g = fc_graph(q.clone(), None);
    let read = round_trip_runs(&g, &reference(|u, _| scales[u]));
    let w = &read.main().tensors[1];
    assert_eq!(w.dtype, DType::Int4);
    assert_eq!(w.data.as_deref().unwrap().len(), UNITS * DEPTH / 2);
    assert_eq!(w.quantization.as_ref(), Some(&q));
}

fn blockwise_weights_round_trip_and_run() {
    let blocks = DEPTH / BLOCK;
    // float16-exact scales.
    let scales: Vec<f32> = (0..UNITS * blocks)
        .map(|b| (1 + b) as f32 / 256.0)
        .collect();
    let q = Quantization {
        scale: scales.clone(),
        zero_point: vec![0],
        axis: 0,
        block: Some(Blockwise {
            size: BLOCK,
            scales: 3,
        }),
    };
    let g = fc_graph(q.clone(), Some(scales.clone()));
    let read = round_trip_runs(&g, &reference(|u, k| scales[u * blocks + k / BLOCK]));
    assert_eq!(read.main().tensors[1].quantization.as_ref(), Some(&q));
}

fn malformed_int4_and_blockwise_forms_are_errors() {
    let blockwise = |size: usize, scales: usize| Quantization {
        scale: Vec::new(),
        zero_point: vec![0],
        axis: 0,
        block: Some(Blockwise { size, scales }),
    };
    let ok_scales = Some(vec![0.5; UNITS * DEPTH / BLOCK]);
    let mut cases: Vec<(Graph, &str)> = vec![
        (
            fc_graph(blockwise(BLOCK, 9), ok_scales.clone()),
            "does not exist",
        ),
        (
            fc_graph(blockwise(BLOCK, 0), ok_scales.clone()),
            "float16 constant",
        ),
        (
            fc_graph(blockwise(24, 3), ok_scales.clone()),
            "does not divide",
        ),
    ];
    let mut few = fc_graph(blockwise(BLOCK, 3), Some(vec![0.5; 3]));
    few.subgraphs[0].tensors[3].shape = vec![3];
    cases.push((few, "float16 constant of 8 elements"));
    let mut short = fc_graph(Quantization::per_tensor(0.1, 0), None);
    short.subgraphs[0].tensors[1].data = Some(vec![0u8; UNITS * DEPTH / 2 - 1].into());
    cases.push((short, "int4 needs"));
    for (g, says) in cases {
        let bytes = model::write(&g).unwrap();
        let e = model::read(&bytes, &Default::default())
            .err()
            .unwrap_or_else(|| panic!("read accepted a model that should say {says:?}"))
            .to_string();
        assert!(e.contains(says) && e.contains('w'), "{e}");
    }
    // Blockwise weights are read by FULLY_CONNECTED only.
    let mut g = fc_graph(blockwise(BLOCK, 3), ok_scales);
    g.subgraphs[0].nodes[0].op = Op::BatchMatMul {
        adj_x: false,
        adj_y: true,
        asymmetric_quantize_inputs: false,
    };
    g.subgraphs[0].tensors[2].shape = vec![1, UNITS];
    let m = Model::from_bytes(&model::write(&g).unwrap()).unwrap();
    let mut it = Interpreter::new(&m).unwrap();
    it.set_input(0, Tensor::f32(vec![1, DEPTH], input()))
        .unwrap();
    let e = it.invoke().unwrap_err().to_string();
    assert!(e.contains("blockwise"), "{e}");
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, int4_per_channel_weights_round_trip_and_run),
        crate::case!(plain, blockwise_weights_round_trip_and_run),
        crate::case!(plain, malformed_int4_and_blockwise_forms_are_errors),
    ]
}
