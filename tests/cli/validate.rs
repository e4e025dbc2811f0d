//! `validate`: the metrics of a GPU run against the CPU, per output and per layer,
//! the fp32-node search, and the command line's exit code and exports.

use crate::common;

use common::gpu::gpu_available;
use std::process::Command;
use tflite_wgpu::validate::{self, ErrorStats, ValidateOptions};
use tflite_wgpu::{demo, Device, Interpreter, Model, Options};

fn fp16(per_layer: bool) -> ValidateOptions {
    ValidateOptions {
        precision_loss_allowed: true,
        per_layer,
        ..Default::default()
    }
}

/// Per-layer validation of a real model at fp16: every node has both modes, and
/// the propagated error of each output equals that of a plain GPU run (the
/// exposed intermediates do not change the numbers), which runs the model wholly
/// on the GPU.
fn per_layer_outputs_equal_a_plain_run() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let model =
        Model::from_file(shared.join("models/real/face_detection_short_range.tflite")).unwrap();
    let sg = Interpreter::new(&model).unwrap().graph().main().clone();
    let inputs = validate::random_inputs(&sg, 1, 7).unwrap();
    let v = validate::validate(&model, &inputs, &fp16(true)).unwrap();
    assert_eq!(v.precision, "fp16");
    let nodes = sg.nodes.len();
    let rows_with_both = v
        .layers
        .iter()
        .filter(|r| r.propagated.is_some() && r.local.is_some())
        .count();
    assert_eq!(
        rows_with_both,
        v.layers.len(),
        "{:?}",
        v.layers.iter().find(|r| r.local.is_none())
    );
    let mut seen: Vec<usize> = v.layers.iter().map(|r| r.node).collect();
    seen.dedup();
    assert_eq!(seen.len(), nodes);

    let mut cpu = Interpreter::new(&model).unwrap();
    let mut gpu = Interpreter::with_options(
        &model,
        Options {
            device: Device::Gpu,
            precision_loss_allowed: true,
            ..Default::default()
        },
    )
    .unwrap();
    let report = gpu.delegate_report().expect("a GPU plan");
    assert!(
        report.plan.fallback.is_empty() && report.failed.is_empty(),
        "the real model is not wholly on the GPU: CPU nodes {:?}, failed {:?}",
        report.plan.fallback,
        report.failed
    );
    for (i, t) in inputs[0].iter().enumerate() {
        cpu.set_input(i, t.clone()).unwrap();
        gpu.set_input(i, t.clone()).unwrap();
    }
    cpu.invoke().unwrap();
    gpu.invoke().unwrap();
    for (i, out) in v.outputs.iter().enumerate() {
        let info = &sg.tensors[sg.outputs[i]];
        let r = validate::real_values(cpu.output(i).unwrap(), info).unwrap();
        let g = validate::real_values(gpu.output(i).unwrap(), info).unwrap();
        let mut stats = ErrorStats::default();
        stats.add(&r, &g, &out.shape);
        assert_eq!(stats.finish(), out.metrics, "output {i}");
        let row = v.layers.iter().find(|r| r.tensor == out.tensor).unwrap();
        assert_eq!(
            row.propagated.as_ref(),
            Some(&out.metrics),
            "output {i} row"
        );
        assert!(out.failures.is_empty(), "{:?}", out.failures);
    }
}

/// Plain fp16 fails the cancellation model; the search keeps the shift and unshift
/// in fp32 and then every output passes; fp32 passes outright.
fn auto_mixed_rescues_the_cancellation_model() {
    if !gpu_available() {
        return;
    }
    let model = Model::from_graph(demo::cancellation_graph());
    let sg = model.graph().main().clone();
    let inputs = validate::random_inputs(&sg, 3, 1).unwrap();
    let plain = validate::validate(&model, &inputs, &fp16(false)).unwrap();
    assert!(!plain.pass());
    assert!(!plain.outputs[0].failures.is_empty());
    assert!(plain.outputs[1].failures.is_empty());

    let (search, last) = validate::auto_mixed(&model, &inputs, &fp16(false)).unwrap();
    assert!(search.pass && last.pass() && !search.baseline_pass);
    assert_eq!(search.fp32_nodes, vec![1, 2]);
    assert_eq!(last.fp32_nodes, vec![1, 2]);

    let mut chosen = fp16(false);
    chosen.partitions.fp32_nodes = search.fp32_nodes.clone();
    assert!(validate::validate(&model, &inputs, &chosen).unwrap().pass());
    let fp32 = ValidateOptions::default();
    assert!(validate::validate(&model, &inputs, &fp32).unwrap().pass());
}

/// The command line exits non-zero on a failing threshold and zero with the fp32
/// nodes; it writes JSON, CSV and a self-contained HTML report.
fn cli_exit_code_and_exports() {
    if !gpu_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("cancel.tflite");
    std::fs::write(
        &model,
        tflite_wgpu::model::write(&demo::cancellation_graph()).unwrap(),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_tflite-wgpu");
    let failing = Command::new(bin)
        .args(["validate", "--json"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(!failing.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&failing.stdout).unwrap();
    assert_eq!(doc["pass"], false);
    assert_eq!(doc["outputs"].as_array().unwrap().len(), 2);
    assert!(
        doc["outputs"][0]["metrics"]["max_rel_error"]
            .as_f64()
            .unwrap()
            > 0.02
    );

    let report = dir.join("report.html");
    let csv = dir.join("layers.csv");
    let passing = Command::new(bin)
        .args(["validate", "--fp32-nodes", "1,2", "--report"])
        .arg(&report)
        .arg("--csv")
        .arg(&csv)
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        passing.status.success(),
        "{}",
        String::from_utf8_lossy(&passing.stderr)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("polyline") && html.contains("PASS"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    let table = std::fs::read_to_string(&csv).unwrap();
    assert!(table.starts_with("node,op,tensor,name,shape,device,depth,local_num_elements"));
    assert_eq!(table.lines().count(), 1 + 5);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `validate --model-explorer`: per-node error as Model Explorer node data, keyed
/// by the output tensor names of the `.tflite` file's operators so that it lands
/// on the right nodes, with only the fields Model Explorer's `GraphNodeData`
/// documents (`results` of `{value}`, `thresholds` of `{value, bgColor}`).
fn model_explorer_node_data_lands_on_the_graph() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let path = shared.join("models/real/face_detection_short_range.tflite");
    let dir = std::env::temp_dir().join(format!("tflite-wgpu-explorer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("err.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .args(["validate", path.to_str().unwrap(), "--precision", "fp16"])
        .args(["--random", "1", "--model-explorer", base.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{out:?}");
    assert!(base.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    // Every operator output name of the file as written (before folding).
    let model = Model::from_file(&path).unwrap();
    let sg = model.graph().main();
    let op_outputs: std::collections::HashSet<&str> = sg
        .nodes
        .iter()
        .flat_map(|n| n.outputs.iter().map(|&t| sg.tensors[t].name.as_str()))
        .collect();
    let interp = Interpreter::new(&model).unwrap();
    let main = interp.graph().main();
    let prepared: Vec<String> = main
        .nodes
        .iter()
        .flat_map(|n| n.outputs.iter().map(|&t| main.tensors[t].name.clone()))
        .collect();
    assert!(!prepared.is_empty());
    for (file, lo, hi) in [
        ("err.json", 0.0, f64::MAX),
        ("err.cosine.json", -1.0, 1.0),
        ("err.snr_db.json", f64::MIN, f64::MAX),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let obj = doc.as_object().unwrap();
        assert!(
            obj.keys().all(|k| k == "results" || k == "thresholds"),
            "{file}"
        );
        let results = obj["results"].as_object().unwrap();
        // Every node of the prepared graph (folded constants are gone) carries a value.
        for name in &prepared {
            assert!(results.contains_key(name), "{file}: no value for {name}");
        }
        for (key, r) in results {
            assert!(
                op_outputs.contains(key.as_str()),
                "{file}: {key} is no operator output"
            );
            let r = r.as_object().unwrap();
            assert_eq!(r.keys().collect::<Vec<_>>(), ["value"], "{file}");
            let v = r["value"].as_f64().unwrap();
            assert!(v.is_finite() && v >= lo && v <= hi, "{file}: {key} = {v}");
        }
        let thresholds = obj["thresholds"].as_array().unwrap();
        assert!(!thresholds.is_empty());
        let mut last = f64::MIN;
        for t in thresholds {
            let t = t.as_object().unwrap();
            assert!(t.keys().all(|k| k == "value" || k == "bgColor"));
            let v = t["value"].as_f64().unwrap();
            assert!(v > last, "{file}: thresholds ascend");
            last = v;
            assert!(t["bgColor"].as_str().unwrap().starts_with('#'));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu_shared, per_layer_outputs_equal_a_plain_run),
        crate::case!(gpu, auto_mixed_rescues_the_cancellation_model),
        crate::case!(gpu, cli_exit_code_and_exports),
        crate::case!(gpu_shared, model_explorer_node_data_lands_on_the_graph),
    ]
}
