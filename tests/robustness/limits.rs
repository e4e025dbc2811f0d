//! Run limits: a hostile WHILE loop is stopped by the iteration limit and by
//! `Interpreter::cancel()` from another thread; kernels whose output shape comes
//! from input data are refused before they allocate past `max_tensor_bytes`.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tflite_wgpu::graph::op::{Activation, Binary};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Data, RunLimits};
use tflite_wgpu::{Error, Interpreter, Model, Options, Tensor};

fn constant(name: &str, dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> TensorInfo {
    let mut t = TensorInfo::new(name, dtype, shape);
    t.data = Some(Arc::from(bytes));
    t
}

/// `while (true) i = i + 1`: the condition is a constant true.
fn endless_loop() -> Model {
    let scalar = || TensorInfo::new("i", DType::I32, vec![]);
    let main = Subgraph {
        name: "main".into(),
        tensors: vec![scalar(), TensorInfo::new("out", DType::I32, vec![])],
        nodes: vec![Node {
            op: Op::While { cond: 1, body: 2 },
            inputs: vec![Some(0)],
            outputs: vec![1],
        }],
        inputs: vec![0],
        outputs: vec![1],
    };
    let cond = Subgraph {
        name: "cond".into(),
        tensors: vec![scalar(), constant("yes", DType::Bool, vec![], vec![1])],
        nodes: vec![],
        inputs: vec![0],
        outputs: vec![1],
    };
    let body = Subgraph {
        name: "body".into(),
        tensors: vec![
            scalar(),
            constant("one", DType::I32, vec![], 1i32.to_le_bytes().to_vec()),
            TensorInfo::new("next", DType::I32, vec![]),
        ],
        nodes: vec![Node {
            op: Op::Binary(Binary::Add, Activation::None),
            inputs: vec![Some(0), Some(1)],
            outputs: vec![2],
        }],
        inputs: vec![0],
        outputs: vec![2],
    };
    Model::from_graph(Graph {
        subgraphs: vec![main, cond, body],
        version: 3,
        ..Default::default()
    })
}

fn interpreter(model: &Model, limits: RunLimits) -> Interpreter {
    let mut interp = Interpreter::with_options(
        model,
        Options {
            limits,
            ..Default::default()
        },
    )
    .unwrap();
    interp
        .set_input(0, Tensor::new(vec![], Data::I32(vec![0])))
        .unwrap();
    interp
}

fn an_endless_while_stops_at_the_iteration_limit() {
    let limits = RunLimits {
        max_while_iterations: 500,
        ..Default::default()
    };
    let mut interp = interpreter(&endless_loop(), limits);
    match interp.invoke() {
        Err(Error::Stopped(why)) => assert!(why.contains("500 iterations"), "{why}"),
        other => panic!("expected Stopped, got {other:?}"),
    }
}

fn an_endless_while_stops_when_cancelled_from_another_thread() {
    let limits = RunLimits {
        max_while_iterations: u64::MAX,
        ..Default::default()
    };
    let mut interp = interpreter(&endless_loop(), limits);
    let handle = interp.cancel_handle();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        handle.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let start = Instant::now();
    match interp.invoke() {
        Err(Error::Stopped(why)) => assert!(why.contains("cancel"), "{why}"),
        other => panic!("expected Stopped, got {other:?}"),
    }
    canceller.join().unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// One node over int32 constants, with an output of dtype `out`.
fn shaped_by_data(op: Op, consts: Vec<(Vec<usize>, Vec<i32>)>, out: DType) -> Model {
    let mut tensors: Vec<TensorInfo> = consts
        .into_iter()
        .enumerate()
        .map(|(i, (shape, v))| {
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            constant(&format!("c{i}"), DType::I32, shape, bytes)
        })
        .collect();
    let inputs = (0..tensors.len()).map(Some).collect();
    tensors.push(TensorInfo::new("out", out, vec![1]));
    let o = tensors.len() - 1;
    Model::from_graph(Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors,
            nodes: vec![Node {
                op,
                inputs,
                outputs: vec![o],
            }],
            inputs: vec![],
            outputs: vec![o],
        }],
        version: 3,
        ..Default::default()
    })
}

fn assert_refused(name: &str, model: Model) {
    let options = Options {
        limits: RunLimits {
            max_tensor_bytes: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let start = Instant::now();
    let result = Interpreter::with_options(&model, options).and_then(|mut i| i.invoke());
    match result {
        Err(Error::MemoryLimit { bytes, limit, .. }) => {
            assert!(bytes > limit, "{name}: {bytes} <= {limit}")
        }
        other => panic!("{name}: expected a memory limit error, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{name} allocated first"
    );
}

fn kernels_with_data_dependent_shapes_check_the_limit_first() {
    let big = 1 << 16;
    assert_refused(
        "FILL",
        shaped_by_data(
            Op::Fill,
            vec![(vec![2], vec![big, big]), (vec![], vec![7])],
            DType::I32,
        ),
    );
    assert_refused(
        "TILE",
        shaped_by_data(
            Op::Tile,
            vec![(vec![1, 2], vec![1, 2]), (vec![2], vec![big, big])],
            DType::I32,
        ),
    );
    assert_refused(
        "BROADCAST_TO",
        shaped_by_data(
            Op::BroadcastTo,
            vec![(vec![1], vec![3]), (vec![2], vec![big, big])],
            DType::I32,
        ),
    );
    assert_refused(
        "PAD",
        shaped_by_data(
            Op::Pad,
            vec![(vec![1], vec![3]), (vec![1, 2], vec![1 << 30, 0])],
            DType::I32,
        ),
    );
    assert_refused(
        "RANGE",
        shaped_by_data(
            Op::Range,
            vec![
                (vec![], vec![0]),
                (vec![], vec![i32::MAX]),
                (vec![], vec![1]),
            ],
            DType::I32,
        ),
    );
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, an_endless_while_stops_at_the_iteration_limit),
        crate::case!(
            plain,
            an_endless_while_stops_when_cancelled_from_another_thread
        ),
        crate::case!(
            plain,
            kernels_with_data_dependent_shapes_check_the_limit_first
        ),
    ]
}
