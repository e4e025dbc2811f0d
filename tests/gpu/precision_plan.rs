//! Precision plans: `validate --auto-mixed --save-plan` writes the fp32 nodes of a
//! model with its hash, `run --precision-plan` reuses them, a plan for another
//! model is refused, and a plan written by hand selects nodes by index, op and
//! tensor-name pattern.

use crate::common;

use common::gpu::gpu_available;
use std::process::Command;
use tflite_wgpu::PrecisionPlan;
use tflite_wgpu::{Device, Interpreter, Model, Options};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
}

/// Save a plan for face_landmark with the bounded search, run with it, and see
/// it refused on iris_landmark with both models named.
fn saved_plan_runs_on_its_model_and_is_refused_on_another() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tflite_wgpu_plan_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join("P.json");
    let face = shared.join("models/real/face_landmark.tflite");
    let iris = shared.join("models/real/iris_landmark.tflite");
    let out = cli()
        .arg("validate")
        .arg(&face)
        .args(["--auto-mixed", "--random", "1", "--json", "--save-plan"])
        .arg(&plan_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    let search = &doc["auto_mixed"];
    let evaluations = search["evaluations"].as_u64().unwrap();
    assert!(evaluations <= 20, "{evaluations} GPU runs");
    assert!(search["fp32_flop_share"].as_f64().is_some(), "{search}");
    assert!(search["verdict"].as_str().is_some(), "{search}");
    let plan = PrecisionPlan::read(&plan_path).unwrap();
    let model = Model::from_file(&face).unwrap();
    assert_eq!(plan.model_sha256.as_deref(), model.sha256());
    assert_eq!(
        serde_json::to_value(&plan.fp32_nodes).unwrap(),
        search["fp32_nodes"]
    );
    assert!(plan.thresholds.is_some());

    let out_dir = dir.join("out");
    let input = dir.join("input.npy");
    let sg = Interpreter::new(&model).unwrap().graph().main().clone();
    let shape = sg.tensors[sg.inputs[0]].shape.clone();
    let n: usize = shape.iter().product();
    let x = tflite_wgpu::Tensor::new(shape, tflite_wgpu::graph::Data::F32(vec![0.25; n]));
    tflite_wgpu::npy::write(&input, &x).unwrap();
    let run = |model: &std::path::Path| {
        cli()
            .arg("run")
            .arg(model)
            .args(["--device", "gpu", "--precision", "fp16", "--input"])
            .arg(&input)
            .arg("--out-dir")
            .arg(&out_dir)
            .arg("--precision-plan")
            .arg(&plan_path)
            .output()
            .unwrap()
    };
    let ok = run(&face);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out_dir.join("output_0.npy").exists());

    let refused = run(&iris);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    let iris_hash = Model::from_file(&iris)
        .unwrap()
        .sha256()
        .unwrap()
        .to_string();
    assert!(
        err.contains("another model")
            && err.contains("face_landmark")
            && err.contains("iris_landmark")
            && err.contains(model.sha256().unwrap())
            && err.contains(&iris_hash),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plan written by hand: an index, an op name and a tensor-name pattern resolve
/// to the nodes of the prepared graph; the interpreter keeps them in fp32.
fn hand_written_plans_resolve_against_the_prepared_graph() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let model = Model::from_file(shared.join("models/real/iris_landmark.tflite")).unwrap();
    let sg = Interpreter::new(&model).unwrap().graph().main().clone();
    let last = sg.nodes.len() - 1;
    let op = sg.nodes[last].op.name().to_string();
    let name = sg.tensors[sg.nodes[0].outputs[0]].name.clone();
    let plan = PrecisionPlan::from_json(
        &format!(
            "{{\"fp32_nodes\":[1],\"fp32_ops\":[\"{op}\"],\"fp32_tensors\":[\"^{}$\"]}}",
            regex::escape(&name).replace('\\', "\\\\")
        ),
        "hand",
    )
    .unwrap();
    let nodes = plan.resolve(&sg).unwrap();
    assert!(
        nodes.contains(&0) && nodes.contains(&1) && nodes.contains(&last),
        "{nodes:?}"
    );
    assert!(nodes
        .iter()
        .all(|&k| k <= 1 || sg.nodes[k].op.name() == op || k == 0));
    let past = PrecisionPlan {
        fp32_nodes: vec![sg.nodes.len()],
        ..Default::default()
    };
    assert!(past.resolve(&sg).is_err());
    if !gpu_available() {
        return;
    }
    let interp = Interpreter::with_options(
        &model,
        Options {
            device: Device::Gpu,
            precision_loss_allowed: true,
            precision_plan: Some(plan),
            ..Default::default()
        },
    )
    .unwrap();
    let report = interp.delegate_report().unwrap();
    if report.f16_unavailable {
        return;
    }
    for (p, part) in report.plan.partitions.iter().enumerate() {
        if part.nodes.iter().any(|k| nodes.contains(k)) {
            assert_eq!(
                report.partition_precision[p],
                Some(tflite_wgpu::Precision::F32),
                "partition {p} holds plan nodes"
            );
        }
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(
            gpu_shared,
            saved_plan_runs_on_its_model_and_is_refused_on_another
        ),
        crate::case!(
            gpu_shared,
            hand_written_plans_resolve_against_the_prepared_graph
        ),
    ]
}
