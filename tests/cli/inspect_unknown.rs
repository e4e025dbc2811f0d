//! Models with ops that have no kernel: they load, `inspect` shows them (device
//! "none", listed in `fallback`), and running them is an error naming the first.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use tflite_wgpu::graph::op::Unary;
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Data, Error, Interpreter, Model, Options, Tensor};

/// ABS, the TensorFlow op FlexAudioSpectrogram, ABS, SKIP_GRAM (a
/// builtin without a kernel here) on [2, 2] floats.
fn graph() -> Graph {
    let t = |name: &str| TensorInfo::new(name, DType::F32, vec![2, 2]);
    let n = |op: Op, i: usize| Node {
        op,
        inputs: vec![Some(i)],
        outputs: vec![i + 1],
    };
    let unknown = |name: &str| Op::Unknown { name: name.into() };
    let mut limit = TensorInfo::new("limit", DType::I32, vec![]);
    limit.data = Some(Arc::from(&1i32.to_le_bytes()[..]));
    let mut skip = n(unknown("SKIP_GRAM"), 3);
    skip.inputs.push(Some(5));
    Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors: vec![t("x"), t("a"), t("b"), t("c"), t("d"), limit],
            nodes: vec![
                n(Op::Unary(Unary::Abs), 0),
                n(unknown("FlexAudioSpectrogram"), 1),
                n(Op::Unary(Unary::Abs), 2),
                skip,
            ],
            inputs: vec![0],
            outputs: vec![4],
        }],
        version: 3,
        ..Default::default()
    }
}

fn model_file(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tflite-wgpu-unknown-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("unknown.tflite");
    std::fs::write(&path, tflite_wgpu::model::write(&graph()).unwrap()).unwrap();
    path
}

fn the_reader_keeps_the_names() {
    let bytes = tflite_wgpu::model::write(&graph()).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let names: Vec<&str> = model
        .graph()
        .main()
        .nodes
        .iter()
        .map(|n| n.op.name())
        .collect();
    assert_eq!(names, ["ABS", "FlexAudioSpectrogram", "ABS", "SKIP_GRAM"]);
}

fn the_library_describes_but_does_not_run() {
    let bytes = tflite_wgpu::model::write(&graph()).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    match Interpreter::new(&model) {
        Err(Error::UnsupportedOp { node: 1, op }) => assert_eq!(op, "FlexAudioSpectrogram"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("a model with no kernel for node 1 was prepared to run"),
    }
    let mut interp = Interpreter::for_inspection(&model, Options::default()).unwrap();
    assert_eq!(interp.graph().main().nodes.len(), 4);
    interp
        .set_input(0, Tensor::new(vec![2, 2], Data::F32(vec![1.0; 4])))
        .unwrap();
    match interp.invoke() {
        Err(Error::UnsupportedOp { node: 1, op }) => assert_eq!(op, "FlexAudioSpectrogram"),
        other => panic!("expected the unsupported op, got {:?}", other.err()),
    }
    assert_eq!(
        tflite_wgpu::no_kernel_reason(&model.graph().main().nodes[1].op).as_deref(),
        Some("no kernel for custom op FlexAudioSpectrogram")
    );
    assert_eq!(
        tflite_wgpu::no_kernel_reason(&model.graph().main().nodes[3].op).as_deref(),
        Some("unsupported builtin SKIP_GRAM")
    );
    assert_eq!(
        tflite_wgpu::no_kernel_reason(&model.graph().main().nodes[0].op),
        None
    );
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .args(args)
        .output()
        .expect("the CLI starts")
}

fn inspect_json_lists_them_in_fallback() {
    let path = model_file("json");
    let o = cli(&[
        "inspect",
        path.to_str().unwrap(),
        "--json",
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let devices: Vec<&str> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["device"].as_str().unwrap())
        .collect();
    assert_eq!(devices, ["cpu", "none", "cpu", "none"]);
    let fallback: Vec<(u64, &str)> = doc["fallback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["node"].as_u64().unwrap(), f["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fallback,
        [
            (1, "no kernel for custom op FlexAudioSpectrogram"),
            (3, "unsupported builtin SKIP_GRAM")
        ]
    );
}

fn inspect_text_names_them_and_run_fails_before_running() {
    let path = model_file("text");
    let p = path.to_str().unwrap();
    let o = cli(&["inspect", p, "--device", "cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("node 1 cannot run: no kernel for custom op FlexAudioSpectrogram"),
        "{text}"
    );
    assert!(
        text.contains("node 3 cannot run: unsupported builtin SKIP_GRAM"),
        "{text}"
    );

    let out_dir = path.with_file_name("out");
    let o = cli(&[
        "run",
        p,
        "--device",
        "cpu",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("node 1") && err.contains("FlexAudioSpectrogram"),
        "{err}"
    );
    assert!(!out_dir.exists(), "run wrote outputs");
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, the_reader_keeps_the_names),
        crate::case!(plain, the_library_describes_but_does_not_run),
        crate::case!(plain, inspect_json_lists_them_in_fallback),
        crate::case!(plain, inspect_text_names_them_and_run_fails_before_running),
    ]
}
