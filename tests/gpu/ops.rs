//! Every GPU lowering against the CPU interpreter at fp32 (tight) and fp16 (loose),
//! over odd sizes, broadcasting and ranks up to 6. Runs on any adapter, Mesa's
//! lavapipe in CI.

use crate::common;

use common::gpu::{check_gpu_matches_cpu, gpu_available, one_node, Arg};
use tflite_wgpu::graph::op::{Activation, Binary, Unary};
use tflite_wgpu::graph::Op;

fn unary_ops() {
    if !gpu_available() {
        return;
    }
    let ops = [
        Unary::Abs,
        Unary::Neg,
        Unary::Exp,
        Unary::Square,
        Unary::Sin,
        Unary::Cos,
        Unary::Floor,
        Unary::Ceil,
        Unary::Round,
        Unary::Sign,
        Unary::Relu,
        Unary::Relu6,
        Unary::ReluN1To1,
        Unary::Relu0To1,
        Unary::Logistic,
        Unary::Tanh,
        Unary::HardSwish,
        Unary::Elu,
        Unary::Gelu { approximate: false },
        Unary::Gelu { approximate: true },
        Unary::LeakyRelu { alpha: 0.2 },
    ];
    for u in ops {
        let shape = vec![2, 3, 5, 7];
        let g = one_node(Op::Unary(u), vec![Arg::Input(shape.clone())], vec![shape]);
        check_gpu_matches_cpu(&format!("{u:?}"), g);
    }
}

fn binary_ops_broadcast_to_rank_6() {
    if !gpu_available() {
        return;
    }
    let cases: Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> = vec![
        (vec![3, 5], vec![3, 5], vec![3, 5]),
        (vec![2, 1, 4], vec![3, 1], vec![2, 3, 4]),
        (vec![1], vec![7, 3], vec![7, 3]),
        (
            vec![2, 1, 3, 1, 2, 3],
            vec![1, 2, 1, 4, 1, 3],
            vec![2, 2, 3, 4, 2, 3],
        ),
        (vec![1, 1, 1, 5], vec![2, 3, 4, 5, 1], vec![2, 3, 4, 5, 5]),
    ];
    for b in [
        Binary::Add,
        Binary::Sub,
        Binary::Mul,
        Binary::Maximum,
        Binary::Minimum,
        Binary::SquaredDifference,
    ] {
        for (a, bs, out) in &cases {
            let g = one_node(
                Op::Binary(b, Activation::Relu6),
                vec![Arg::Input(a.clone()), Arg::Input(bs.clone())],
                vec![out.clone()],
            );
            check_gpu_matches_cpu(&format!("{b:?} {a:?} {bs:?}"), g);
        }
    }
}

fn more_than_65535_workgroups() {
    if !gpu_available() {
        return;
    }
    let shape = vec![65_536 * 64 + 3];
    let g = one_node(
        Op::Binary(Binary::Add, Activation::None),
        vec![Arg::Input(shape.clone()), Arg::Input(vec![1])],
        vec![shape],
    );
    check_gpu_matches_cpu("large add", g);
}

fn unsupported_op_splits_the_model_between_cpu_and_gpu() {
    use std::sync::Arc;
    use tflite_wgpu::graph::op::Lrn;
    use tflite_wgpu::graph::{DType, Graph, Node, Subgraph, TensorInfo};
    use tflite_wgpu::{Device, Interpreter, Model, Options, Tensor};
    if !gpu_available() {
        return;
    }
    // x -> ADD(bias) -> LOCAL_RESPONSE_NORMALIZATION (CPU only) -> MUL(scale) -> y
    let shape = vec![1, 6, 6, 3];
    let mut bias = TensorInfo::new("bias", DType::F32, vec![3]);
    bias.data = Some(Arc::from(
        [0.5f32, -0.25, 1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    ));
    let tensors = vec![
        TensorInfo::new("x", DType::F32, shape.clone()),
        bias,
        TensorInfo::new("a", DType::F32, shape.clone()),
        TensorInfo::new("p", DType::F32, shape.clone()),
        TensorInfo::new("y", DType::F32, shape.clone()),
    ];
    let lrn = Lrn {
        radius: 1,
        bias: 1.0,
        alpha: 0.5,
        beta: 0.75,
    };
    let nodes = vec![
        Node {
            op: Op::Binary(Binary::Add, Activation::None),
            inputs: vec![Some(0), Some(1)],
            outputs: vec![2],
        },
        Node {
            op: Op::LocalResponseNormalization(lrn),
            inputs: vec![Some(2)],
            outputs: vec![3],
        },
        Node {
            op: Op::Binary(Binary::Mul, Activation::None),
            inputs: vec![Some(3), Some(3)],
            outputs: vec![4],
        },
    ];
    let model = Model::from_graph(Graph {
        subgraphs: vec![Subgraph {
            name: "split".into(),
            tensors,
            nodes,
            inputs: vec![0],
            outputs: vec![4],
        }],
        ..Default::default()
    });
    let input = Tensor::f32(shape, common::gpu::values(108, 5));
    let mut cpu = Interpreter::new(&model).unwrap();
    cpu.set_input(0, input.clone()).unwrap();
    cpu.invoke().unwrap();
    let options = Options {
        device: Device::Gpu,
        ..Default::default()
    };
    let mut gpu = Interpreter::with_options(&model, options).unwrap();
    let report = gpu.delegate_report().unwrap();
    assert_eq!(report.plan.partitions.len(), 2, "{:?}", report.plan);
    assert_eq!(report.plan.fallback.len(), 1);
    assert_eq!(report.plan.fallback[0].0, 1);
    assert!(report.plan.fallback[0]
        .1
        .contains("LOCAL_RESPONSE_NORMALIZATION"));
    gpu.set_input(0, input).unwrap();
    gpu.invoke().unwrap();
    let (a, b) = (cpu.output(0).unwrap(), gpu.output(0).unwrap());
    for (x, y) in a.as_f32().unwrap().iter().zip(b.as_f32().unwrap()) {
        assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "{x} vs {y}");
    }
}

fn l2_pool() {
    use common::gpu::{check_gpu_matches_cpu_on, seeded_inputs};
    use tflite_wgpu::graph::op::{Padding, Pool2D};
    if !gpu_available() {
        return;
    }
    let pool = |padding, f, s, activation| Pool2D {
        padding,
        stride_w: s,
        stride_h: s,
        filter_w: f,
        filter_h: f,
        activation,
    };
    let out_size = |padding, input: usize, f: usize, s: usize| match padding {
        Padding::Same => input.div_ceil(s),
        Padding::Valid => (input - f) / s + 1,
    };
    let (n, h, w, c) = (2, 7, 9, 5);
    for padding in [Padding::Same, Padding::Valid] {
        for (f, s) in [(2, 1), (2, 2), (3, 1), (3, 2)] {
            for act in [Activation::None, Activation::Relu] {
                let (oh, ow) = (out_size(padding, h, f, s), out_size(padding, w, f, s));
                let g = one_node(
                    Op::L2Pool2D(pool(padding, f, s, act)),
                    vec![Arg::Input(vec![n, h, w, c])],
                    vec![vec![n, oh, ow, c]],
                );
                check_gpu_matches_cpu(&format!("l2pool {padding:?} {f}x{f}/{s} {act:?}"), g);
            }
        }
    }
    // Inputs in [-4, 4], so that the fused RELU_N1_TO_1 clamps most outputs.
    let g = one_node(
        Op::L2Pool2D(pool(Padding::Same, 3, 2, Activation::ReluN1To1)),
        vec![Arg::Input(vec![1, 5, 6, 3])],
        vec![vec![1, 3, 3, 3]],
    );
    let inputs = seeded_inputs(&g)
        .into_iter()
        .map(|t| {
            let v = t.as_f32().unwrap().iter().map(|x| x * 4.0).collect();
            tflite_wgpu::Tensor::f32(t.shape.clone(), v)
        })
        .collect();
    check_gpu_matches_cpu_on("l2pool RELU_N1_TO_1 clamps", g, inputs);
}

fn interpreter_is_send_and_the_delegate_builder_works() {
    fn assert_send<T: Send>() {}
    assert_send::<tflite_wgpu::Interpreter>();
    if !gpu_available() {
        return;
    }
    let model =
        tflite_wgpu::Model::from_bytes(&tflite_wgpu::demo::demo_model_bytes().unwrap()).unwrap();
    let mut interp = tflite_wgpu::Interpreter::new(&model)
        .unwrap()
        .with_delegate(tflite_wgpu::GpuDelegate::new(Default::default()).unwrap())
        .unwrap();
    assert!(interp.delegate_report().is_some());
    interp
        .set_input(0, tflite_wgpu::demo::demo_input())
        .unwrap();
    let worker = std::thread::spawn(move || {
        interp.invoke().unwrap();
        interp.output(0).unwrap().clone()
    });
    let out = worker.join().unwrap();
    let sum: f32 = out.as_f32().unwrap().iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "softmax sums to {sum}");
}

fn fp16_saturates_with_the_guard_off_and_reruns_at_fp32_with_it_on() {
    use tflite_wgpu::{Device, Interpreter, Model, Options, OverflowGuard, Tensor};
    if !gpu_available() {
        return;
    }
    // x * 50000 reaches 1e5, past f16's largest finite value 65504.
    let g = one_node(
        Op::Binary(Binary::Mul, Activation::None),
        vec![Arg::Input(vec![64]), Arg::Const(vec![1], vec![50_000.0])],
        vec![vec![64]],
    );
    let model = Model::from_graph(g);
    let x: Vec<f32> = (0..64).map(|i| i as f32 / 16.0 - 2.0).collect();
    let run = |guard: OverflowGuard| {
        let options = Options {
            device: Device::Gpu,
            precision_loss_allowed: true,
            overflow_guard: guard,
            ..Default::default()
        };
        let mut interp = Interpreter::with_options(&model, options).unwrap();
        interp
            .set_input(0, Tensor::f32(vec![64], x.clone()))
            .unwrap();
        interp.invoke().unwrap();
        let f16 = interp.delegate_report().is_some_and(|r| !r.f16_unavailable);
        (interp.output(0).unwrap().as_f32().unwrap().to_vec(), f16)
    };
    // Off: stores saturate at the f16 range instead of overflowing to infinity.
    let (y, f16) = run(OverflowGuard::Off);
    assert!(y.iter().all(|v| v.is_finite()), "{y:?}");
    assert_eq!(y[32], 0.0);
    if f16 {
        assert_eq!(y[0], -65504.0);
        assert_eq!(y[63], 65504.0);
    }
    // On (the default): the saturating node moves to fp32 and the invoke reruns.
    let (y, _) = run(OverflowGuard::On);
    assert_eq!(y[0], -100_000.0);
    assert_eq!(y[32], 0.0);
    assert_eq!(y[63], 96_875.0);
}

fn residual_add_fuses_into_the_convolution() {
    use std::sync::Arc;
    use tflite_wgpu::graph::op::{Conv2D, Padding};
    use tflite_wgpu::graph::{DType, Graph, Node, Subgraph, TensorInfo};
    use tflite_wgpu::{Device, Interpreter, Model, Options, Tensor};
    if !gpu_available() {
        return;
    }
    let konst = |name: &str, shape: Vec<usize>, seed: u32| {
        let n = shape.iter().product();
        let mut t = TensorInfo::new(name, DType::F32, shape);
        let v = common::gpu::values(n, seed);
        t.data = Some(Arc::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ));
        t
    };
    // y = relu6(conv(x) + r), r a second input.
    let tensors = vec![
        TensorInfo::new("x", DType::F32, vec![1, 7, 5, 6]),
        TensorInfo::new("r", DType::F32, vec![1, 7, 5, 9]),
        konst("w", vec![9, 3, 3, 6], 3),
        konst("b", vec![9], 4),
        TensorInfo::new("c", DType::F32, vec![1, 7, 5, 9]),
        TensorInfo::new("y", DType::F32, vec![1, 7, 5, 9]),
    ];
    let conv = Conv2D {
        padding: Padding::Same,
        stride_w: 1,
        stride_h: 1,
        dilation_w: 1,
        dilation_h: 1,
        activation: Activation::None,
    };
    let nodes = vec![
        Node {
            op: Op::Conv2D(conv),
            inputs: vec![Some(0), Some(2), Some(3)],
            outputs: vec![4],
        },
        Node {
            op: Op::Binary(Binary::Add, Activation::Relu6),
            inputs: vec![Some(1), Some(4)],
            outputs: vec![5],
        },
    ];
    let model = Model::from_graph(Graph {
        subgraphs: vec![Subgraph {
            name: "residual".into(),
            tensors,
            nodes,
            inputs: vec![0, 1],
            outputs: vec![5],
        }],
        ..Default::default()
    });
    let x = Tensor::f32(vec![1, 7, 5, 6], common::gpu::values(210, 1));
    let r = Tensor::f32(vec![1, 7, 5, 9], common::gpu::values(315, 2));
    let mut cpu = Interpreter::new(&model).unwrap();
    let mut gpu = Interpreter::with_options(
        &model,
        Options {
            device: Device::Gpu,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        gpu.delegate_report().unwrap().dispatches,
        1,
        "ADD not fused"
    );
    for interp in [&mut cpu, &mut gpu] {
        interp.set_input(0, x.clone()).unwrap();
        interp.set_input(1, r.clone()).unwrap();
        interp.invoke().unwrap();
    }
    let (a, b) = (cpu.output(0).unwrap(), gpu.output(0).unwrap());
    for (p, q) in a.as_f32().unwrap().iter().zip(b.as_f32().unwrap()) {
        assert!((p - q).abs() <= 1e-5, "{p} vs {q}");
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, unary_ops),
        crate::case!(gpu, binary_ops_broadcast_to_rank_6),
        crate::case!(gpu, more_than_65535_workgroups),
        crate::case!(gpu, unsupported_op_splits_the_model_between_cpu_and_gpu),
        crate::case!(gpu, l2_pool),
        crate::case!(gpu, interpreter_is_send_and_the_delegate_builder_works),
        crate::case!(
            gpu,
            fp16_saturates_with_the_guard_off_and_reruns_at_fp32_with_it_on
        ),
        crate::case!(gpu, residual_add_fuses_into_the_convolution),
    ]
}
