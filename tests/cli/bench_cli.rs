//! The `bench` command line: the JSON report has every documented field, and
//! `--compare` runs every configuration with outputs close to the CPU's.

use crate::common;

use serde_json::Value;
use std::process::Command;

fn bench(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .arg("bench")
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run tflite-wgpu");
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bench --json prints JSON")
}

fn number(doc: &Value, path: &[&str]) -> f64 {
    let v = path.iter().fold(doc, |v, k| &v[*k]);
    v.as_f64()
        .unwrap_or_else(|| panic!("{} is not a number: {v}", path.join(".")))
}

fn cpu_report_has_latency_and_shares() {
    let doc = bench(&["--device", "cpu", "--json", "--runs", "3", "--warmup", "0"]);
    assert_eq!(doc["schema"], "tflite-wgpu-bench/1");
    assert_eq!(doc["config"]["device"], "cpu");
    assert!(doc["adapter"].is_null() && doc["gpu"].is_null());
    assert_eq!(doc["runs"], 3);
    let min = number(&doc, &["latency_ms", "min"]);
    let median = number(&doc, &["latency_ms", "median"]);
    let max = number(&doc, &["latency_ms", "max"]);
    assert!(min <= median && median <= max);
    // Every node runs on the CPU, so most of the invoke is CPU node time.
    assert!(number(&doc, &["time_share", "cpu_fallback"]) > 0.5);
    assert!(doc["profile"].is_null());
}

fn gpu_profile_report_has_every_field() {
    if !common::gpu::gpu_available() {
        return;
    }
    let doc = bench(&[
        "--device",
        "gpu",
        "--json",
        "--profile",
        "--runs",
        "2",
        "--warmup",
        "0",
    ]);
    for key in [
        "name",
        "backend",
        "driver",
        "device_type",
        "f16",
        "subgroup_min_size",
    ] {
        assert!(!doc["adapter"][key].is_null(), "adapter.{key} missing");
    }
    for key in [
        "model_load",
        "adapter_device",
        "pipeline_creation",
        "constant_upload",
        "graph_prepare",
    ] {
        assert!(number(&doc, &["init_ms", key]) >= 0.0);
    }
    assert!(number(&doc, &["first_invoke_ms"]) > 0.0);
    assert!(number(&doc, &["invokes_per_second"]) > 0.0);
    assert!(number(&doc, &["gpu", "dispatches_per_invoke"]) >= 1.0);
    assert_eq!(number(&doc, &["gpu", "submits_per_invoke"]), 1.0);
    // Dispatches share pipelines: at least one, at most one each.
    let pipelines = number(&doc, &["gpu", "pipelines"]);
    assert!(pipelines >= 1.0 && pipelines <= number(&doc, &["gpu", "dispatches_per_invoke"]));
    // host_ms comes from the timed invokes, which follow the first invoke:
    // each submits the commands recorded while the GPU ran the one before.
    assert_eq!(number(&doc, &["host_ms", "recorded_ahead"]), 1.0);
    for key in ["record_submit", "upload", "submit", "wait", "after_wait"] {
        assert!(number(&doc, &["host_ms", key]) >= 0.0, "host_ms.{key}");
    }
    assert!(number(&doc, &["host_ms", "upload"]) > 0.0);
    assert!(number(&doc, &["host_ms", "submit"]) > 0.0);
    let planned = number(&doc, &["gpu_memory_bytes", "planned"]);
    let all = number(&doc, &["gpu_memory_bytes", "all_tensors"]);
    let bound = number(&doc, &["gpu_memory_bytes", "liveness_lower_bound"]);
    assert!(
        bound <= planned && planned <= all,
        "{bound} <= {planned} <= {all}"
    );
    assert!(number(&doc, &["time_share", "transfers"]) > 0.0);
    let p = &doc["profile"];
    if p["timestamps"] != "none" {
        let rows = p["gpu_ops"].as_array().expect("gpu_ops");
        assert!(rows.iter().any(|r| r["op"] == "CONV_2D"));
        let last = rows.last().expect("a row");
        assert!((number(last, &["cdf_percent"]) - 100.0).abs() < 1e-6);
        assert!(number(p, &["gpu_time_ms"]) > 0.0);
        assert!(number(p, &["dispatch_sum_ms"]) > 0.0);
        let roof = &p["roofline"];
        let dispatches = roof["dispatches"].as_array().expect("roofline.dispatches");
        assert_eq!(
            dispatches.len() as f64,
            number(&doc, &["gpu", "dispatches_per_invoke"])
        );
        let mut flops = 0.0;
        for d in dispatches {
            for key in ["flops", "bytes", "gpu_ms", "workgroups", "flops_per_byte"] {
                assert!(number(d, &[key]) >= 0.0, "dispatch {d} has no {key}");
            }
            assert!(number(d, &["bytes"]) > 0.0, "dispatch {d} moves no bytes");
            assert!(number(d, &["workgroups"]) >= 1.0);
            assert!(!d["nodes"].as_array().expect("nodes").is_empty());
            flops += number(d, &["flops"]);
        }
        let total = number(roof, &["total", "flops"]);
        assert!(flops > 0.0 && (flops - total).abs() <= 1e-9 * total);
        let ops = roof["ops"].as_array().expect("roofline.ops");
        let op_flops: f64 = ops.iter().map(|r| number(r, &["flops"])).sum();
        assert!((op_flops - total).abs() <= 1e-9 * total);
    }
}

fn compare_lists_every_configuration() {
    if !common::gpu::gpu_available() {
        return;
    }
    let doc = bench(&["--compare", "--json", "--runs", "2", "--warmup", "0"]);
    let rows = doc["compare"].as_array().expect("compare rows");
    let configs: Vec<&str> = rows.iter().filter_map(|r| r["config"].as_str()).collect();
    assert_eq!(configs, ["cpu", "gpu-fp32", "gpu-fp16"]);
    assert_eq!(rows[0]["max_abs_error_vs_cpu"], 0.0);
    assert_eq!(rows[0]["speedup_vs_cpu"], 1.0);
    let fp32 = number(&rows[1], &["max_abs_error_vs_cpu"]);
    assert!(fp32 < 1e-4, "gpu-fp32 differs from the cpu by {fp32}");
    let fp16 = number(&rows[2], &["max_abs_error_vs_cpu"]);
    assert!(fp16 < 0.05, "gpu-fp16 differs from the cpu by {fp16}");
}

/// With no display runtime (XDG_RUNTIME_DIR unset) a GPU command prints nothing on
/// stderr but the crate's own lines: no driver or window-system noise.
fn gpu_commands_print_no_driver_noise() {
    if !common::gpu::gpu_available() {
        return;
    }
    let out_dir = std::env::temp_dir().join(format!("tflite_wgpu_quiet_{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .args(["run", "--device", "gpu", "--out-dir"])
        .arg(&out_dir)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DISPLAY")
        .output()
        .expect("run tflite-wgpu");
    let _ = std::fs::remove_dir_all(&out_dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run failed: {stderr}");
    for line in stderr.lines() {
        assert!(
            ["warning: ", "error: ", "info: "]
                .iter()
                .any(|p| line.starts_with(p))
                && !line.contains("XDG_RUNTIME_DIR"),
            "a line on stderr that is not the crate's: {line}"
        );
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, cpu_report_has_latency_and_shares),
        crate::case!(gpu, gpu_profile_report_has_every_field),
        crate::case!(gpu, compare_lists_every_configuration),
        crate::case!(gpu, gpu_commands_print_no_driver_noise),
    ]
}
