//! The fp16 overflow guard on models built with the writer that overflow fp16 in
//! different ways: a convolution whose outputs pass 65,504 on part of the input,
//! a long SUM, and a large-output regression head followed by further ops. With
//! the guard on, the fp16 run matches the fp32 run; off, the saturation shows; as
//! an error, the invoke fails naming the node. `families` covers every GPU op
//! family and kernel variant (fused and unfused), `palm` a palm-detector-shaped
//! model whose run and per-layer validation promote the same nodes.

use crate::common;
pub(crate) mod families;
pub(crate) mod palm;

use common::gpu::{gpu_available, values};
use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, Binary, Conv2D, FullyConnected, Padding, Reduce};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Device, Error, Interpreter, Model, Options, OverflowGuard, Tensor};

/// A graph under construction.
#[derive(Default)]
struct G {
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
    inputs: Vec<usize>,
}

impl G {
    fn input(&mut self, shape: Vec<usize>) -> usize {
        self.tensors.push(TensorInfo::new(
            format!("in{}", self.inputs.len()),
            DType::F32,
            shape,
        ));
        self.inputs.push(self.tensors.len() - 1);
        self.tensors.len() - 1
    }

    fn constant(&mut self, shape: Vec<usize>, v: &[f32]) -> usize {
        let mut t = TensorInfo::new(format!("c{}", self.tensors.len()), DType::F32, shape);
        t.data = Some(Arc::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ));
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    fn ints(&mut self, v: &[i32]) -> usize {
        let mut t = TensorInfo::new(
            format!("i{}", self.tensors.len()),
            DType::I32,
            vec![v.len()],
        );
        t.data = Some(Arc::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ));
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    fn node(&mut self, name: &str, op: Op, inputs: &[usize], shape: Vec<usize>) -> usize {
        self.tensors
            .push(TensorInfo::new(name.to_string(), DType::F32, shape));
        let out = self.tensors.len() - 1;
        self.nodes.push(Node {
            op,
            inputs: inputs.iter().map(|&t| Some(t)).collect(),
            outputs: vec![out],
        });
        out
    }

    /// The model through the writer and reader, with `output` as its output.
    fn model(self, output: usize) -> Model {
        self.model_outputs(vec![output])
    }

    /// The model through the writer and reader, with `outputs`.
    fn model_outputs(self, outputs: Vec<usize>) -> Model {
        let graph = Graph {
            subgraphs: vec![Subgraph {
                name: "main".into(),
                tensors: self.tensors,
                nodes: self.nodes,
                inputs: self.inputs,
                outputs,
            }],
            version: 3,
            ..Default::default()
        };
        let bytes = tflite_wgpu::model::write(&graph).expect("the writer writes it");
        Model::from_bytes(&bytes).expect("the model reads back")
    }
}

fn mul_add(g: &mut G, x: usize, shape: Vec<usize>) -> usize {
    let scale = g.constant(vec![1], &[1e-3]);
    let y = g.node(
        "scaled",
        Op::Binary(Binary::Mul, Activation::None),
        &[x, scale],
        shape.clone(),
    );
    let offset = g.constant(vec![1], &[0.5]);
    g.node(
        "head",
        Op::Binary(Binary::Add, Activation::None),
        &[y, offset],
        shape,
    )
}

/// CONV_2D 3x3, 4 -> 8 channels; the right half of the input is 3000x larger, so
/// outputs there pass 65,504; then MUL by 1e-3 and ADD.
fn conv_model() -> (Model, Vec<Tensor>) {
    let mut g = G::default();
    let x = g.input(vec![1, 8, 8, 4]);
    let w = g.constant(
        vec![8, 3, 3, 4],
        &values(8 * 9 * 4, 3)
            .iter()
            .map(|v| v * 8.0)
            .collect::<Vec<_>>(),
    );
    let b = g.constant(vec![8], &[0.0; 8]);
    let conv = Conv2D {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        dilation_w: 1,
        dilation_h: 1,
        activation: Activation::None,
    };
    let c = g.node("conv", Op::Conv2D(conv), &[x, w, b], vec![1, 8, 8, 8]);
    let out = mul_add(&mut g, c, vec![1, 8, 8, 8]);
    let input: Vec<f32> = values(256, 5)
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if (i / 4) % 8 >= 4 {
                v.abs() * 3000.0
            } else {
                *v
            }
        })
        .collect();
    (g.model(out), vec![Tensor::f32(vec![1, 8, 8, 4], input)])
}

/// SUM over 4096 values near 50 (about 2e5), then MUL by 1e-3 and ADD.
fn sum_model() -> (Model, Vec<Tensor>) {
    let mut g = G::default();
    let x = g.input(vec![1, 4096]);
    let axis = g.ints(&[1]);
    let s = g.node(
        "sum",
        Op::Reduce {
            kind: Reduce::Sum,
            keep_dims: true,
        },
        &[x, axis],
        vec![1, 1],
    );
    let out = mul_add(&mut g, s, vec![1, 1]);
    let input = values(4096, 9).iter().map(|v| 50.0 + 10.0 * v).collect();
    (g.model(out), vec![Tensor::f32(vec![1, 4096], input)])
}

/// A regression head: FULLY_CONNECTED with big weights (outputs up to ~1e5),
/// then MUL by 1e-3 and ADD.
fn head_model() -> (Model, Vec<Tensor>) {
    let mut g = G::default();
    let x = g.input(vec![1, 64]);
    let w = g.constant(
        vec![16, 64],
        &values(16 * 64, 11)
            .iter()
            .map(|v| v * 4000.0)
            .collect::<Vec<_>>(),
    );
    let b = g.constant(vec![16], &[0.0; 16]);
    let fc = FullyConnected {
        activation: Activation::None,
        keep_num_dims: false,
        asymmetric_quantize_inputs: false,
    };
    let f = g.node(
        "regressors",
        Op::FullyConnected(fc),
        &[x, w, b],
        vec![1, 16],
    );
    let out = mul_add(&mut g, f, vec![1, 16]);
    let input = values(64, 13)
        .iter()
        .map(|v| v.signum() * 2.0 + v)
        .collect();
    (g.model(out), vec![Tensor::f32(vec![1, 64], input)])
}

fn interpreter(model: &Model, fp16: bool, guard: OverflowGuard) -> Interpreter {
    Interpreter::with_options(
        model,
        Options {
            device: Device::Gpu,
            precision_loss_allowed: fp16,
            overflow_guard: guard,
            ..Default::default()
        },
    )
    .expect("the GPU prepares the model")
}

fn invoke(interp: &mut Interpreter, inputs: &[Tensor]) -> Result<Vec<f32>, Error> {
    for (i, t) in inputs.iter().enumerate() {
        interp.set_input(i, t.clone())?;
    }
    interp.invoke()?;
    Ok(interp.output(0)?.as_f32().expect("float output").to_vec())
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn tolerance(reference: &[f32]) -> f32 {
    2e-2 * reference.iter().map(|v| v.abs()).fold(1.0, f32::max)
}

/// fp16 available on this adapter (else the guard has nothing to do).
fn f16_ok(model: &Model) -> bool {
    let i = interpreter(model, true, OverflowGuard::On);
    let r = i.delegate_report().expect("a GPU report");
    if r.f16_unavailable {
        common::missing("the adapter has no SHADER_F16");
        return false;
    }
    true
}

fn check(name: &str, (model, inputs): (Model, Vec<Tensor>), overflowing_op: &str) {
    if !gpu_available() || !f16_ok(&model) {
        return;
    }
    let reference =
        invoke(&mut interpreter(&model, false, OverflowGuard::On), &inputs).expect("the fp32 run");
    let tol = tolerance(&reference);

    // Off: today's behaviour, the saturation shows in the outputs.
    let off = invoke(&mut interpreter(&model, true, OverflowGuard::Off), &inputs)
        .expect("the unguarded fp16 run");
    let d_off = max_diff(&off, &reference);
    assert!(
        d_off > tol,
        "{name}: without the guard the fp16 run should show the saturation (max|d| {d_off}, tolerance {tol})"
    );

    // On: the overflowing node moves to fp32, the invoke runs again.
    let mut on = interpreter(&model, true, OverflowGuard::On);
    for round in 0..2 {
        let out = invoke(&mut on, &inputs).expect("the guarded fp16 run");
        let d = max_diff(&out, &reference);
        assert!(
            d <= tol,
            "{name} (invoke {round}): guarded fp16 max|d| {d} > {tol}"
        );
        assert!(
            out.iter().all(|v| v.is_finite() && v.abs() != 65504.0),
            "{name}: a saturated or non-finite value"
        );
    }
    let report = on.delegate_report().expect("a GPU report");
    let promoted: Vec<&str> = report
        .promoted_fp32_nodes
        .iter()
        .map(|p| p.op.as_str())
        .collect();
    assert!(
        promoted.contains(&overflowing_op),
        "{name}: promoted {promoted:?}, expected {overflowing_op}"
    );
    assert!(report.plan.partitions.iter().any(|p| p.fp32));

    // Error: the invoke fails naming the node.
    let err = invoke(
        &mut interpreter(&model, true, OverflowGuard::Error),
        &inputs,
    )
    .expect_err("the guard as an error fails the invoke");
    match &err {
        Error::Fp16Overflow { nodes, what } => {
            assert!(!nodes.is_empty());
            assert!(what.contains(overflowing_op), "{name}: {what}");
        }
        other => panic!("{name}: expected an fp16 overflow error, got {other}"),
    }
}

fn convolution_overflowing_on_part_of_the_input() {
    check("conv", conv_model(), "CONV_2D");
}

fn long_sum() {
    check("sum", sum_model(), "SUM");
}

fn regression_head_followed_by_further_ops() {
    check("head", head_model(), "FULLY_CONNECTED");
}

/// Small inputs: nothing overflows, nothing is promoted, the plan and its
/// submits, dispatches and readbacks per invoke are those without the guard.
fn nothing_overflowing_costs_no_submit_or_readback() {
    let (model, _) = head_model();
    if !gpu_available() || !f16_ok(&model) {
        return;
    }
    let inputs = vec![Tensor::f32(
        vec![1, 64],
        values(64, 21).iter().map(|v| v * 1e-3).collect(),
    )];
    let mut on = interpreter(&model, true, OverflowGuard::On);
    let mut off = interpreter(&model, true, OverflowGuard::Off);
    for _ in 0..2 {
        let a = invoke(&mut on, &inputs).expect("guarded run");
        let b = invoke(&mut off, &inputs).expect("unguarded run");
        assert_eq!(a, b, "the guard changes no value");
    }
    let (r_on, r_off) = (
        on.delegate_report().unwrap(),
        off.delegate_report().unwrap(),
    );
    assert!(r_on.promoted_fp32_nodes.is_empty());
    assert_eq!(
        r_on.plan.partitions.len(),
        r_off.plan.partitions.len(),
        "submits"
    );
    assert_eq!(r_on.dispatches, r_off.dispatches);
    let outputs = |r: &tflite_wgpu::DelegateReport| -> usize {
        r.plan.partitions.iter().map(|p| p.outputs.len()).sum()
    };
    assert_eq!(outputs(r_on), outputs(r_off), "readbacks");
    assert!(r_on.plan.partitions.iter().all(|p| !p.fp32));
}

/// The guard's cost when nothing overflows: face_landmark at fp16, invokes with
/// the guard on and off interleaved in one run; prints the median ratio. Run with
/// `cargo test --test gpu overflow_guard -- --ignored --nocapture`.
fn guard_cost_on_a_real_model() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let model = Model::from_file(shared.join("models/real/face_landmark.tflite")).expect("model");
    let mut on = interpreter(&model, true, OverflowGuard::On);
    let mut off = interpreter(&model, true, OverflowGuard::Off);
    let info = on.input_info(0).expect("an input").clone();
    let n = info.shape.iter().product();
    let inputs = vec![Tensor::f32(info.shape.clone(), values(n, 5))];
    let a = invoke(&mut on, &inputs).expect("guarded run");
    let b = invoke(&mut off, &inputs).expect("unguarded run");
    assert_eq!(a, b, "the guard changes no value");
    let (mut t_on, mut t_off) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        let t = std::time::Instant::now();
        invoke(&mut on, &inputs).expect("guarded run");
        t_on.push(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        invoke(&mut off, &inputs).expect("unguarded run");
        t_off.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m_on, m_off) = (median(&mut t_on), median(&mut t_off));
    let r = on.delegate_report().expect("a GPU report");
    assert!(r.promoted_fp32_nodes.is_empty());
    eprintln!(
        "face_landmark fp16: guard on {:.2} ms, off {:.2} ms, ratio {:.3}",
        m_on * 1e3,
        m_off * 1e3,
        m_on / m_off
    );
}

/// With nothing overflowing nothing changes: prints, for every golden at fp32 and
/// fp16 on the GPU, the dispatches per invoke, the nodes the guard promoted and a
/// digest of the output bits, to compare two builds line by line. Run with
/// `cargo test --test gpu golden_digests -- --ignored --nocapture`.
fn golden_digests() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    for case in common::goldens(&shared) {
        for fp16 in [false, true] {
            let model = Model::from_file(&case.model).expect("model");
            let mut interp = Interpreter::with_options(
                &model,
                Options {
                    device: Device::Gpu,
                    precision_loss_allowed: fp16,
                    ..Default::default()
                },
            )
            .expect("prepare");
            for (i, t) in case.inputs.iter().enumerate() {
                interp.set_input(i, t.clone()).expect("input");
            }
            interp.invoke().expect("invoke");
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for i in 0..interp.num_outputs() {
                let text = format!("{:?}", interp.output(i).expect("output").data);
                for b in text.bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
            }
            let r = interp.delegate_report().expect("a GPU report");
            println!(
                "DIGEST {} {} dispatches {} promoted {} outputs {h:016x}",
                case.name,
                if fp16 { "fp16" } else { "fp32" },
                r.dispatches,
                r.promoted_fp32_nodes.len()
            );
        }
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, convolution_overflowing_on_part_of_the_input),
        crate::case!(gpu, long_sum),
        crate::case!(gpu, regression_head_followed_by_further_ops),
        crate::case!(gpu, nothing_overflowing_costs_no_submit_or_readback),
        crate::case!(
            ignored,
            guard_cost_on_a_real_model,
            "a timing measurement, not a check"
        ),
        crate::case!(
            ignored,
            golden_digests,
            "prints digests to compare two builds, not a check"
        ),
    ]
}
