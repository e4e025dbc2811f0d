//! Helpers for GPU tests: one-node graphs run on the CPU and on the GPU.

use std::sync::Arc;
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::Data;
use tflite_wgpu::{
    AdapterProfile, Device, Interpreter, Model, Options, PartitionOptions, Tensor, Tuning,
};

/// True when a GPU adapter is available; prints a note (and fails in CI) when not.
pub fn gpu_available() -> bool {
    match tflite_wgpu::gpu_adapter(Default::default()) {
        Ok(_) => true,
        Err(e) => {
            super::missing(&format!(
                "no GPU adapter (install mesa-vulkan-drivers for lavapipe): {e}"
            ));
            false
        }
    }
}

/// The tuning of the GPU tests: the shaders' runtime checks on in every module
/// (trusted kernels included), so that an index a lowering wrongly proved in
/// bounds is clamped, not undefined; the rest as the environment says.
/// tests/gpu_trusted.rs runs the trusted modules.
pub fn checked() -> Tuning {
    Tuning {
        shader_checks: true,
        ..Tuning::default()
    }
}

/// Options that run on the GPU with [`checked`] shaders.
pub fn gpu_options(precision_loss_allowed: bool) -> Options {
    Options {
        device: Device::Gpu,
        precision_loss_allowed,
        partitions: PartitionOptions {
            tuning: checked(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Deterministic values in [-1, 1).
pub fn values(n: usize, seed: u32) -> Vec<f32> {
    tflite_wgpu::graph::rng::signed_values(n, seed.into())
}

/// A tensor argument of a one-node test graph.
pub enum Arg {
    /// A runtime float input with this shape.
    Input(Vec<usize>),
    /// A float constant.
    Const(Vec<usize>, Vec<f32>),
    /// An int32 constant (axes, shapes, paddings...).
    Ints(Vec<i32>),
    /// A runtime input of any dtype with this shape.
    Typed(DType, Vec<usize>),
    /// A constant of an integer or bool dtype (values as i64; bool: != 0).
    TypedConst(DType, Vec<usize>, Vec<i64>),
    /// An omitted optional input.
    Absent,
}

/// Build a one-node graph: `args` in order, float outputs with `out_shapes`.
pub fn one_node(op: Op, args: Vec<Arg>, out_shapes: Vec<Vec<usize>>) -> Graph {
    one_node_typed(
        op,
        args,
        out_shapes.into_iter().map(|s| (s, DType::F32)).collect(),
    )
}

/// Bytes of `values` stored as `dtype` (int32, int64 or bool).
pub fn int_bytes(dtype: DType, values: &[i64]) -> Vec<u8> {
    match dtype {
        DType::I32 => values
            .iter()
            .flat_map(|&x| (x as i32).to_le_bytes())
            .collect(),
        DType::I64 => values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        DType::Bool => values.iter().map(|&x| u8::from(x != 0)).collect(),
        other => panic!("no integer bytes for {other}"),
    }
}

/// Build a one-node graph: `args` in order, outputs with these shapes and dtypes.
pub fn one_node_typed(op: Op, args: Vec<Arg>, outs: Vec<(Vec<usize>, DType)>) -> Graph {
    let mut tensors = Vec::new();
    let mut inputs = Vec::new();
    let mut node_inputs = Vec::new();
    for (i, a) in args.into_iter().enumerate() {
        match a {
            Arg::Input(shape) => {
                tensors.push(TensorInfo::new(format!("in{i}"), DType::F32, shape));
                inputs.push(tensors.len() - 1);
                node_inputs.push(Some(tensors.len() - 1));
            }
            Arg::Const(shape, v) => {
                let mut t = TensorInfo::new(format!("c{i}"), DType::F32, shape);
                t.data = Some(Arc::from(
                    v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
                ));
                tensors.push(t);
                node_inputs.push(Some(tensors.len() - 1));
            }
            Arg::Ints(v) => {
                let mut t = TensorInfo::new(format!("i{i}"), DType::I32, vec![v.len()]);
                t.data = Some(Arc::from(
                    v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
                ));
                tensors.push(t);
                node_inputs.push(Some(tensors.len() - 1));
            }
            Arg::Typed(dtype, shape) => {
                tensors.push(TensorInfo::new(format!("in{i}"), dtype, shape));
                inputs.push(tensors.len() - 1);
                node_inputs.push(Some(tensors.len() - 1));
            }
            Arg::TypedConst(dtype, shape, v) => {
                let mut t = TensorInfo::new(format!("c{i}"), dtype, shape);
                t.data = Some(Arc::from(int_bytes(dtype, &v)));
                tensors.push(t);
                node_inputs.push(Some(tensors.len() - 1));
            }
            Arg::Absent => node_inputs.push(None),
        }
    }
    let mut outputs = Vec::new();
    for (k, (s, dtype)) in outs.into_iter().enumerate() {
        tensors.push(TensorInfo::new(format!("out{k}"), dtype, s));
        outputs.push(tensors.len() - 1);
    }
    Graph {
        subgraphs: vec![Subgraph {
            name: "test".into(),
            tensors,
            nodes: vec![Node {
                op,
                inputs: node_inputs,
                outputs: outputs.clone(),
            }],
            inputs,
            outputs,
        }],
        version: 3,
        ..Default::default()
    }
}

/// Seeded inputs for every graph input: floats in [-1, 1), int32/int64 in
/// [-20, 20], bool about half true.
pub fn seeded_inputs(graph: &Graph) -> Vec<Tensor> {
    let sg = graph.main();
    sg.inputs
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let shape = sg.tensors[t].shape.clone();
            let n = shape.iter().product();
            let v = values(n, 17 + k as u32);
            let ints = || v.iter().map(|x| (x * 20.0).round() as i64);
            let data = match sg.tensors[t].dtype {
                DType::F32 => Data::F32(v),
                DType::I32 => Data::I32(ints().map(|x| x as i32).collect()),
                DType::I64 => Data::I64(ints().collect()),
                DType::Bool => Data::Bool(v.iter().map(|&x| x > 0.0).collect()),
                other => panic!("no seeded inputs of {other}"),
            };
            Tensor::new(shape, data)
        })
        .collect()
}

/// Run `graph` on the CPU and on the GPU at fp32 and fp16, with seeded inputs,
/// and check the GPU ran the node and matched: fp32 within `1e-4 * max(1, |ref|)`
/// relative to the output's largest value, fp16 within `2e-2 * max(1, |ref|max)`.
/// Integer and bool outputs must match exactly.
pub fn check_gpu_matches_cpu(name: &str, graph: Graph) {
    check_gpu_matches_cpu_tuned(name, graph, checked());
}

/// [`check_gpu_matches_cpu`] with the GPU interpreter's kernel overrides.
pub fn check_gpu_matches_cpu_tuned(name: &str, graph: Graph, tuning: Tuning) {
    let inputs = seeded_inputs(&graph);
    check_gpu_matches_cpu_with(name, graph, inputs, tuning);
}

/// [`check_gpu_matches_cpu`] with given inputs.
pub fn check_gpu_matches_cpu_on(name: &str, graph: Graph, inputs: Vec<Tensor>) {
    check_gpu_matches_cpu_with(name, graph, inputs, checked());
}

/// [`check_gpu_matches_cpu`] with given inputs and kernel overrides.
pub fn check_gpu_matches_cpu_with(name: &str, graph: Graph, inputs: Vec<Tensor>, tuning: Tuning) {
    check_gpu_matches_cpu_planned(name, graph, inputs, tuning, None);
}

/// [`check_gpu_matches_cpu_with`] with the GPU kernels planned for `profile`
/// (None: the adapter's own), compiled for and run on the adapter in hand.
pub fn check_gpu_matches_cpu_planned(
    name: &str,
    graph: Graph,
    inputs: Vec<Tensor>,
    tuning: Tuning,
    profile: Option<AdapterProfile>,
) {
    let model = Model::from_graph(graph);
    // fp16 is judged against the CPU on the same inputs rounded to f16, so that
    // discontinuous functions (floor, sign...) see the values the GPU stores.
    let rounded: Vec<Tensor> = inputs
        .iter()
        .map(|t| match t.as_f32() {
            Some(v) => Tensor::f32(
                t.shape.clone(),
                v.iter().map(|x| half::f16::from_f32(*x).to_f32()).collect(),
            ),
            None => t.clone(),
        })
        .collect();
    let run = |options: Options, inputs: &[Tensor]| -> (Vec<Tensor>, bool) {
        let mut interp = Interpreter::with_options(&model, options).expect("prepare");
        let on_gpu = interp
            .delegate_report()
            .map(|r| {
                r.plan.partitions.len() == 1 && r.failed.is_empty() && r.plan.fallback.is_empty()
            })
            .unwrap_or(false);
        for (k, t) in inputs.iter().enumerate() {
            interp.set_input(k, t.clone()).expect("input");
        }
        interp.invoke().expect("invoke");
        let outs = (0..interp.num_outputs())
            .map(|k| interp.output(k).unwrap().clone())
            .collect();
        if let Some(r) = interp.delegate_report() {
            assert!(r.failed.is_empty(), "{name}: {:?}", r.failed);
            assert!(
                r.plan.fallback.is_empty(),
                "{name}: fell back: {:?}",
                r.plan.fallback
            );
        }
        (outs, on_gpu)
    };
    for fp16 in [false, true] {
        let ins = if fp16 { &rounded } else { &inputs };
        let (want, _) = run(Options::default(), ins);
        let (got, on_gpu) = run(
            Options {
                device: Device::Gpu,
                precision_loss_allowed: fp16,
                partitions: PartitionOptions {
                    tuning,
                    ..Default::default()
                },
                adapter_profile: profile.clone(),
                ..Default::default()
            },
            ins,
        );
        assert!(on_gpu, "{name}: not delegated");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.shape, w.shape, "{name}");
            assert_eq!(g.dtype(), w.dtype(), "{name}");
            let exact = g.as_f32().is_none();
            let g = g.data.to_f64();
            let w = w.data.to_f64();
            let ref_max = w.iter().fold(0f64, |m, v| m.max(v.abs()));
            let tol = if exact {
                0.0
            } else if fp16 {
                2e-2 * ref_max.max(1.0)
            } else {
                1e-4 * ref_max.max(1.0)
            };
            for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                assert!(
                    (a - b).abs() <= tol || (a.is_nan() && b.is_nan()),
                    "{name} fp16={fp16}: element {i}: gpu {a} vs cpu {b} (tol {tol})"
                );
            }
        }
    }
}
