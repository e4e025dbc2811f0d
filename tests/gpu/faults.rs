//! Device faults: no adapter for the asked backend, a node whose GPU compile fails,
//! a device lost in the middle of an invoke. Each ends in a typed error or a CPU
//! run, never a panic, and the interpreter keeps working afterwards.

use crate::common;

use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, Binary, Unary};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::FaultInjection;
use tflite_wgpu::{Backend, DeviceOptions};
use tflite_wgpu::{Device, Error, Interpreter, Model, Options, Tensor};

const N: usize = 256;

/// in -> ADD c -> MUL c -> SUB c -> ABS -> out: four nodes the GPU supports.
fn chain() -> Model {
    let mut tensors = vec![TensorInfo::new("in", DType::F32, vec![1, N])];
    let mut c = TensorInfo::new("c", DType::F32, vec![1, N]);
    let values = common::gpu::values(N, 7);
    c.data = Some(Arc::from(
        values
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect::<Vec<u8>>(),
    ));
    tensors.push(c);
    let ops = [
        Op::Binary(Binary::Add, Activation::None),
        Op::Binary(Binary::Mul, Activation::None),
        Op::Binary(Binary::Sub, Activation::None),
        Op::Unary(Unary::Abs),
    ];
    let mut nodes = Vec::new();
    let mut prev = 0;
    for (k, op) in ops.into_iter().enumerate() {
        tensors.push(TensorInfo::new(format!("t{k}"), DType::F32, vec![1, N]));
        let out = tensors.len() - 1;
        let inputs = match op {
            Op::Unary(_) => vec![Some(prev)],
            _ => vec![Some(prev), Some(1)],
        };
        nodes.push(Node {
            op,
            inputs,
            outputs: vec![out],
        });
        prev = out;
    }
    Model::from_graph(Graph {
        subgraphs: vec![Subgraph {
            name: "chain".into(),
            tensors,
            nodes,
            inputs: vec![0],
            outputs: vec![prev],
        }],
        version: 3,
        ..Default::default()
    })
}

fn input() -> Tensor {
    Tensor::f32(vec![1, N], common::gpu::values(N, 3))
}

fn run(interp: &mut Interpreter) -> Result<Vec<f32>, Error> {
    interp.set_input(0, input())?;
    interp.invoke()?;
    Ok(interp
        .output(0)?
        .data
        .to_f64()
        .iter()
        .map(|&x| x as f32)
        .collect())
}

fn cpu_result() -> Vec<f32> {
    run(&mut Interpreter::new(&chain()).unwrap()).unwrap()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs()))
}

/// A backend this platform cannot have.
fn absent_backend() -> Backend {
    if cfg!(target_os = "macos") {
        Backend::Dx12
    } else {
        Backend::Metal
    }
}

fn auto_without_an_adapter_runs_on_the_cpu() {
    let options = Options {
        device: Device::Auto,
        gpu: DeviceOptions {
            backend: absent_backend(),
            high_performance: false,
        },
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(&chain(), options.clone()).unwrap();
    assert!(interp.delegate_report().is_none());
    assert_eq!(run(&mut interp).unwrap(), cpu_result());
    let gpu_only = Options {
        device: Device::Gpu,
        ..options
    };
    match Interpreter::with_options(&chain(), gpu_only) {
        Err(Error::NoAdapter(_)) => {}
        Err(e) => panic!("expected a no-adapter error, got {e}"),
        Ok(_) => panic!("a GPU interpreter without an adapter"),
    }
}

fn faulty(faults: FaultInjection) -> Options {
    Options {
        device: Device::Gpu,
        faults,
        ..Default::default()
    }
}

fn a_node_that_fails_to_compile_alone_goes_to_the_cpu() {
    if !common::gpu::gpu_available() {
        return;
    }
    let faults = FaultInjection {
        fail_nodes: vec![1],
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(&chain(), faulty(faults)).unwrap();
    let report = interp.delegate_report().unwrap().clone();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.plan.fallback.len(), 1, "{:?}", report.plan.fallback);
    let (node, why) = &report.plan.fallback[0];
    assert_eq!(*node, 1);
    assert!(why.contains("injected fault"), "{why}");
    let on_gpu: Vec<usize> = report
        .plan
        .partitions
        .iter()
        .flat_map(|p| p.nodes.clone())
        .collect();
    assert_eq!(on_gpu, vec![0, 2, 3]);
    assert!(close(&run(&mut interp).unwrap(), &cpu_result()));
}

fn an_op_that_fails_to_compile_goes_to_the_cpu_by_name() {
    if !common::gpu::gpu_available() {
        return;
    }
    let faults = FaultInjection {
        fail_ops: vec!["ABS".into(), "ADD".into()],
        ..Default::default()
    };
    let mut interp = Interpreter::with_options(&chain(), faulty(faults)).unwrap();
    let report = interp.delegate_report().unwrap().clone();
    let cpu: Vec<usize> = report.plan.fallback.iter().map(|f| f.0).collect();
    assert_eq!(cpu, vec![0, 3], "{:?}", report.plan.fallback);
    assert_eq!(report.plan.partitions.len(), 1);
    assert_eq!(report.plan.partitions[0].nodes, vec![1, 2]);
    assert!(close(&run(&mut interp).unwrap(), &cpu_result()));
}

fn a_device_lost_during_invoke_is_a_typed_error_and_the_next_invoke_recovers() {
    if !common::gpu::gpu_available() {
        return;
    }
    // A device of its own: other tests of this binary share the default one.
    let device = DeviceOptions {
        backend: Backend::Auto,
        high_performance: true,
    };
    let options = Options {
        gpu: device,
        // Node 0 on the CPU, so the observer runs between it and the GPU partition.
        ..faulty(FaultInjection {
            fail_nodes: vec![0],
            ..Default::default()
        })
    };
    let mut interp = Interpreter::with_options(&chain(), options).unwrap();
    let expected = cpu_result();
    assert!(close(&run(&mut interp).unwrap(), &expected));
    let mut observer = move |n: usize, _: &[Tensor]| {
        if n == 0 {
            tflite_wgpu::simulate_device_loss(device).unwrap();
        }
    };
    interp.set_input(0, input()).unwrap();
    match interp.invoke_observed(Some(&mut observer)) {
        Err(Error::Device { what, .. }) => assert!(what.contains("lost"), "{what}"),
        Err(e) => panic!("expected a device error, got {e}"),
        Ok(()) => panic!("an invoke on a destroyed device succeeded"),
    }
    // The next invoke prepares again on a new device (or the CPU) and succeeds,
    // and the lost device is replaced by a working one.
    assert!(close(&run(&mut interp).unwrap(), &expected));
    assert!(close(&run(&mut interp).unwrap(), &expected));
    tflite_wgpu::gpu_adapter(device).unwrap();
    assert!(close(&run(&mut interp).unwrap(), &expected));
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, auto_without_an_adapter_runs_on_the_cpu),
        crate::case!(gpu, a_node_that_fails_to_compile_alone_goes_to_the_cpu),
        crate::case!(gpu, an_op_that_fails_to_compile_goes_to_the_cpu_by_name),
        crate::case!(
            gpu,
            a_device_lost_during_invoke_is_a_typed_error_and_the_next_invoke_recovers
        ),
    ]
}
