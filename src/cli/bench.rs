//! `bench`: init, first-invoke and steady-state timings with the delegate's counters.

use super::load;
use std::path::PathBuf;
use tflite_wgpu::{Interpreter, Options};

/// Seeded inputs in each input's natural range.
pub fn bench_inputs(interp: &Interpreter) -> tflite_wgpu::Result<Vec<tflite_wgpu::Tensor>> {
    use tflite_wgpu::{DType, Data, Tensor};
    (0..interp.num_inputs())
        .map(|i| {
            let info = interp.input_info(i)?;
            let n: usize = info.shape.iter().product();
            let wave = |k: usize| ((k * 2_654_435_761) % 1000) as f32 / 500.0 - 1.0;
            let data = match info.dtype {
                DType::F32 => Data::F32((0..n).map(wave).collect()),
                DType::I8 => Data::I8((0..n).map(|k| (wave(k) * 127.0) as i8).collect()),
                DType::U8 => Data::U8((0..n).map(|k| ((wave(k) + 1.0) * 127.0) as u8).collect()),
                other => Tensor::zeros(other, info.shape.clone())?.data,
            };
            Ok(Tensor::new(info.shape.clone(), data))
        })
        .collect()
}

/// Time `model`.
pub fn bench(
    model: &Option<PathBuf>,
    warmup: usize,
    runs: usize,
    json: bool,
    options: Options,
) -> tflite_wgpu::Result<()> {
    use std::time::Instant;
    let t0 = Instant::now();
    let (m, name) = load(model)?;
    let load_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut interp = Interpreter::with_options(&m, options)?;
    let prepare_s = t1.elapsed().as_secs_f64();
    for (i, t) in bench_inputs(&interp)?.into_iter().enumerate() {
        interp.set_input(i, t)?;
    }
    let t2 = Instant::now();
    interp.invoke()?;
    let first_s = t2.elapsed().as_secs_f64();
    for _ in 0..warmup {
        interp.invoke()?;
    }
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            interp.invoke().map(|_| t.elapsed().as_secs_f64())
        })
        .collect::<tflite_wgpu::Result<_>>()?;
    times.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize] * 1e3;
    let report = interp.delegate_report();
    let doc = serde_json::json!({
        "model": name,
        "device": report.map_or("cpu".to_string(), |r| r.adapter.clone()),
        "precision": report.map_or("fp32".to_string(), |r| format!("{:?}", r.precision).to_lowercase()),
        "init_ms": {"model_load": load_s * 1e3, "prepare": prepare_s * 1e3},
        "first_invoke_ms": first_s * 1e3,
        "latency_ms": {"min": pct(0.0), "median": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
        "invokes_per_second": 1e3 / pct(0.5),
        "nodes": interp.graph().main().nodes.len(),
        "model_nodes": m.graph().main().nodes.len(),
        "gpu_partitions": report.map_or(0, |r| r.plan.partitions.len()),
        "cpu_nodes": report.map_or(interp.graph().main().nodes.len(), |r| r.plan.fallback.len()),
        "dispatches_per_invoke": report.map_or(0, |r| r.dispatches),
        "submits_per_invoke": report.map_or(0, |r| r.plan.partitions.len() - r.failed.len()),
        "gpu_memory_bytes": {"planned": report.map_or(0, |r| r.planned_bytes), "all_tensors": report.map_or(0, |r| r.tensor_bytes)},
        "runs": times.len(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!("model: {name}");
        println!("device: {}", doc["device"].as_str().unwrap_or("?"));
        println!(
            "init: load {:.1} ms, prepare {:.1} ms; first invoke {:.2} ms",
            load_s * 1e3,
            prepare_s * 1e3,
            first_s * 1e3
        );
        println!(
            "latency over {} runs: min {:.3} ms, median {:.3} ms, p90 {:.3} ms, max {:.3} ms",
            times.len(),
            pct(0.0),
            pct(0.5),
            pct(0.9),
            pct(1.0)
        );
        if let Some(r) = report {
            println!(
                "gpu: {} partitions, {} dispatches and {} submits per invoke, {} nodes on the cpu, memory {} of {} bytes",
                r.plan.partitions.len(),
                r.dispatches,
                r.plan.partitions.len() - r.failed.len(),
                r.plan.fallback.len(),
                r.planned_bytes,
                r.tensor_bytes
            );
        }
    }
    Ok(())
}
