//! The report of one configuration: the JSON document (its schema is docs/benchmarks.md's
//! table) and the text rendering of it, with the per-op profile tables.

use super::measure::Measured;
use super::BenchArgs;
use crate::cli::outln;
use crate::gpu::pipeline::Precision;
use crate::runtime::profile::{summarize, OpSummary};
use crate::{Model, Options};
use serde_json::{json, Value};

/// Version tag of the JSON document; bumped when a field changes meaning.
pub const SCHEMA: &str = "tflite-wgpu-bench/1";

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn rows(summary: &[OpSummary]) -> Value {
    summary
        .iter()
        .map(|r| {
            json!({"op": r.op, "count": r.count, "avg_ms": r.avg_ms,
                   "percent": r.percent, "cdf_percent": r.cdf_percent})
        })
        .collect()
}

/// The adapter of a GPU run: name, backend, driver, type, f16, subgroup sizes.
fn adapter(options: &Options, m: &Measured) -> Value {
    if m.interp.delegate_report().is_none() {
        return Value::Null;
    }
    let Ok((gpu, _)) = crate::gpu::shared_device(options.gpu) else {
        return Value::Null;
    };
    let i = &gpu.info;
    json!({
        "name": i.name,
        "backend": i.backend.to_string(),
        "driver": i.driver,
        "driver_info": i.driver_info,
        "device_type": format!("{:?}", i.device_type),
        "f16": gpu.f16,
        "subgroup_min_size": i.subgroup_min_size,
        "subgroup_max_size": i.subgroup_max_size,
        "timestamps": m.profiles.first().map_or("none", |p| p.timestamps().name()),
    })
}

/// Each timed invoke's GPU partition times, or each profiled invoke's when the
/// timed ones recorded none.
fn host_runs(m: &Measured) -> Vec<&[crate::PartitionTime]> {
    if m.host.iter().any(|h| !h.is_empty()) {
        m.host.iter().map(Vec::as_slice).collect()
    } else {
        m.profiles.iter().map(|p| &p.partitions[..]).collect()
    }
}

/// Median over [`host_runs`] of `part`, summed over each invoke's GPU
/// partitions, in milliseconds.
fn median_ms(m: &Measured, part: impl Fn(&crate::PartitionTime) -> f64) -> f64 {
    let mut per_invoke: Vec<f64> = host_runs(m)
        .iter()
        .map(|p| p.iter().map(&part).sum::<f64>() / 1e6)
        .collect();
    per_invoke.sort_by(f64::total_cmp);
    per_invoke.get(per_invoke.len() / 2).copied().unwrap_or(0.0)
}

/// The host time of an invoke's GPU partitions: converting the inputs, recording
/// and submitting; waiting for the GPU; decoding the outputs after the wait.
/// Taken from the timed invokes (plain invokes, as a caller runs them), not the
/// profiled ones, whose command buffers also write and resolve timestamps.
fn host_ms(m: &Measured) -> Value {
    let runs: Vec<bool> = host_runs(m)
        .iter()
        .flat_map(|p| p.iter().map(|t| t.recorded_ahead))
        .collect();
    let ahead = runs.iter().filter(|&&a| a).count() as f64 / runs.len().max(1) as f64;
    json!({
        "record_submit": median_ms(m, |p| p.upload_ns + p.submit_ns),
        "upload": median_ms(m, |p| p.upload_ns),
        "submit": median_ms(m, |p| p.submit_ns),
        "wait": median_ms(m, |p| p.wait_ns),
        "after_wait": median_ms(m, |p| p.readback_ns),
        "recorded_ahead": ahead,
    })
}

/// The JSON document of one measured configuration.
pub fn document(
    model: &Model,
    name: &str,
    backend: &str,
    options: &Options,
    args: &BenchArgs,
    m: &Measured,
) -> Value {
    let interp = &m.interp;
    let report = interp.delegate_report();
    let nodes = interp.graph().main().nodes.len();
    let init = report.map(|r| r.init.clone()).unwrap_or_default();
    let gpu_parts = ms(init.device + init.pipelines + init.constant_upload);
    let runs = m.profiles.len().max(1) as f64;
    let wall: f64 = m.profiles.iter().map(|p| p.wall_ns).sum();
    let share = |ns: f64| if wall > 0.0 { ns / wall } else { 0.0 };
    let cpu_ns: f64 = m.profiles.iter().map(|p| p.cpu_sum_ns()).sum();
    let (up, down) = m.profiles.iter().fold((0.0, 0.0), |(u, r), p| {
        let (pu, pr) = p.transfer_ns();
        (u + pu, r + pr)
    });
    let mean = m.times.iter().sum::<f64>() / m.times.len().max(1) as f64 * 1e3;
    json!({
        "schema": SCHEMA,
        "model": name,
        "model_nodes": model.graph().main().nodes.len(),
        "nodes": nodes,
        "config": {
            "device": if report.is_some() { "gpu" } else { "cpu" },
            "device_reason": interp.device_choice().reason,
            "adapter_profile": interp.adapter_profile().map(|p| p.name),
            "precision": match report.map(|r| r.precision) {
                Some(Precision::F16) => "fp16",
                _ => "fp32",
            },
            "backend": backend,
        },
        "adapter": adapter(options, m),
        "init_ms": {
            "model_load": ms(m.load),
            "prepare": ms(m.prepare),
            "adapter_device": ms(init.device),
            "adapter_device_when_opened": ms(init.device_opened),
            "pipeline_creation": ms(init.pipelines),
            "constant_upload": ms(init.constant_upload),
            "graph_prepare": (ms(m.prepare) - gpu_parts).max(0.0),
        },
        "pipeline_cache": report.and_then(|r| r.pipeline_cache.as_ref()).map(|c| json!({
            "dir": c.file.parent().map(|d| d.display().to_string()),
            "file": c.file.display().to_string(),
            "hit": c.hit,
            "bytes": c.bytes,
        })),
        "first_invoke_ms": ms(m.first),
        "warmup": args.warmup,
        "runs": m.times.len(),
        "latency_ms": {
            "min": m.pct_ms(0.0), "median": m.pct_ms(0.5), "p90": m.pct_ms(0.9),
            "p99": m.pct_ms(0.99), "max": m.pct_ms(1.0), "mean": mean,
        },
        "invokes_per_second": if m.pct_ms(0.5) > 0.0 { 1e3 / m.pct_ms(0.5) } else { 0.0 },
        "gpu": report.map(|r| json!({
            "partitions": r.plan.partitions.len(),
            "failed_partitions": r.failed.len(),
            "cpu_nodes": r.plan.fallback.len(),
            "dispatches_per_invoke": r.dispatches,
            "pipelines": r.pipelines,
            "submits_per_invoke": r.plan.partitions.len() - r.failed.len(),
            "promoted_fp32_nodes": crate::cli::promoted_json(&r.promoted_fp32_nodes),
        })),
        "host_ms": report.map(|_| host_ms(m)),
        "gpu_memory_bytes": report.map(|r| json!({
            "planned": r.planned_bytes,
            "all_tensors": r.tensor_bytes,
            "liveness_lower_bound": r.liveness_bytes,
        })),
        "time_share": {
            "profiled_runs": m.profiles.len(),
            "wall_ms": wall / runs / 1e6,
            "cpu_fallback": share(cpu_ns),
            "transfers": share(up + down),
            "upload": share(up),
            "readback": share(down),
        },
        "profile": if args.profile { profile(m) } else { Value::Null },
    })
}

/// The `profile` object: GPU time of the invoke and of its dispatches, by op type.
fn profile(m: &Measured) -> Value {
    let runs = m.profiles.len();
    let per_run = |ns: f64| ns / runs.max(1) as f64 / 1e6;
    let spans: Vec<f64> = m.profiles.iter().filter_map(|p| p.gpu_span_ns()).collect();
    let gpu = summarize(
        m.profiles
            .iter()
            .flat_map(|p| p.dispatches.iter().map(|d| (d.op.as_str(), d.gpu_ns))),
        runs,
    );
    let cpu = summarize(
        m.profiles
            .iter()
            .flat_map(|p| p.cpu_nodes.iter().map(|n| (n.op.as_str(), n.cpu_ns))),
        runs,
    );
    let dispatch_sum: f64 = m.profiles.iter().map(|p| p.dispatch_sum_ns()).sum();
    let cpu_sum: f64 = m.profiles.iter().map(|p| p.cpu_sum_ns()).sum();
    json!({
        "runs": runs,
        "timestamps": m.profiles.first().map_or("none", |p| p.timestamps().name()),
        "gpu_time_ms": (!spans.is_empty()).then(|| spans.iter().sum::<f64>() / spans.len() as f64 / 1e6),
        "dispatch_sum_ms": per_run(dispatch_sum),
        "gpu_ops": rows(&gpu),
        "cpu_time_ms": per_run(cpu_sum),
        "cpu_ops": rows(&cpu),
        "roofline": super::roofline::json(m),
    })
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn table(title: &str, rows: &Value) {
    let Some(rows) = rows.as_array().filter(|r| !r.is_empty()) else {
        return;
    };
    outln!("{title}");
    outln!(
        "  {:<28} {:>6} {:>10} {:>8} {:>8}",
        "node type",
        "count",
        "avg ms",
        "%",
        "cdf%"
    );
    for r in rows {
        outln!(
            "  {:<28} {:>6} {:>10.3} {:>7.2}% {:>7.2}%",
            r["op"].as_str().unwrap_or("?"),
            r["count"].as_u64().unwrap_or(0),
            f(&r["avg_ms"]),
            f(&r["percent"]),
            f(&r["cdf_percent"])
        );
    }
}

/// Print `doc` as text (with the profile tables when `profile`).
pub fn print(doc: &Value, profile: bool) {
    let init = &doc["init_ms"];
    let lat = &doc["latency_ms"];
    outln!(
        "model: {} ({} nodes, {} before folding)",
        doc["model"].as_str().unwrap_or("?"),
        doc["nodes"],
        doc["model_nodes"]
    );
    let a = &doc["adapter"];
    outln!(
        "device: {} ({})",
        doc["config"]["device"].as_str().unwrap_or("?"),
        doc["config"]["device_reason"].as_str().unwrap_or("?")
    );
    if !a.is_null() {
        outln!(
            "adapter: {} ({}, {}), driver {} {}, f16 {}, subgroup size {}..{}, timestamps {}",
            a["name"].as_str().unwrap_or("?"),
            a["backend"].as_str().unwrap_or("?"),
            a["device_type"].as_str().unwrap_or("?"),
            a["driver"].as_str().unwrap_or("?"),
            a["driver_info"].as_str().unwrap_or(""),
            if a["f16"].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            },
            a["subgroup_min_size"],
            a["subgroup_max_size"],
            a["timestamps"].as_str().unwrap_or("none"),
        );
        outln!(
            "precision: {}",
            doc["config"]["precision"].as_str().unwrap_or("?")
        );
    }
    let split = if a.is_null() {
        String::new()
    } else {
        format!(
            " (adapter/device {:.1}, pipelines {:.1}, constant upload {:.1}, graph {:.1})",
            f(&init["adapter_device"]),
            f(&init["pipeline_creation"]),
            f(&init["constant_upload"]),
            f(&init["graph_prepare"]),
        )
    };
    outln!(
        "init: model load {:.1} ms, prepare {:.1} ms{split}",
        f(&init["model_load"]),
        f(&init["prepare"]),
    );
    let cache = &doc["pipeline_cache"];
    if !cache.is_null() {
        outln!(
            "pipeline cache: {} ({}, {} bytes)",
            cache["file"].as_str().unwrap_or("?"),
            if cache["hit"].as_bool() == Some(true) {
                "warm: loaded"
            } else {
                "cold: created"
            },
            cache["bytes"],
        );
    } else if !a.is_null() {
        outln!("pipeline cache: none");
    }
    outln!("first invoke: {:.2} ms", f(&doc["first_invoke_ms"]));
    outln!(
        "latency over {} runs: min {:.3}, median {:.3}, p90 {:.3}, p99 {:.3}, max {:.3} ms; {:.1} invokes/s",
        doc["runs"],
        f(&lat["min"]),
        f(&lat["median"]),
        f(&lat["p90"]),
        f(&lat["p99"]),
        f(&lat["max"]),
        f(&doc["invokes_per_second"]),
    );
    let g = &doc["gpu"];
    if !g.is_null() {
        let mem = &doc["gpu_memory_bytes"];
        outln!(
            "gpu: {} partitions ({} failed), {} dispatches and {} submits per invoke, {} distinct pipelines, {} nodes on the cpu",
            g["partitions"], g["failed_partitions"], g["dispatches_per_invoke"], g["submits_per_invoke"], g["pipelines"], g["cpu_nodes"]
        );
        let h = &doc["host_ms"];
        outln!(
            "host per invoke (median): record + submit {:.3} ms, wait {:.3} ms, after the wait {:.3} ms",
            f(&h["record_submit"]),
            f(&h["wait"]),
            f(&h["after_wait"]),
        );
        outln!(
            "gpu memory: planned {} bytes, all tensors {} bytes, liveness lower bound {} bytes",
            mem["planned"],
            mem["all_tensors"],
            mem["liveness_lower_bound"]
        );
    }
    let s = &doc["time_share"];
    outln!(
        "time share over {} profiled invokes of {:.3} ms: cpu nodes {:.1}%, transfers {:.1}% (upload {:.1}%, readback {:.1}%)",
        s["profiled_runs"],
        f(&s["wall_ms"]),
        f(&s["cpu_fallback"]) * 100.0,
        f(&s["transfers"]) * 100.0,
        f(&s["upload"]) * 100.0,
        f(&s["readback"]) * 100.0,
    );
    if profile {
        let p = &doc["profile"];
        match p["gpu_time_ms"].as_f64() {
            Some(gpu) => outln!(
                "gpu profile over {} invokes (timestamps {}): dispatches sum to {:.3} ms of {:.3} ms gpu time per invoke",
                p["runs"],
                p["timestamps"].as_str().unwrap_or("none"),
                f(&p["dispatch_sum_ms"]),
                gpu
            ),
            None if !g.is_null() => outln!("gpu profile: the adapter has no timestamp queries"),
            None => {}
        }
        table("gpu time by node type:", &p["gpu_ops"]);
        super::roofline::print(&p["roofline"], a["device_type"].as_str() == Some("Cpu"));
        table(
            &format!(
                "cpu time by node type ({:.3} ms per invoke):",
                f(&p["cpu_time_ms"])
            ),
            &p["cpu_ops"],
        );
    }
}
