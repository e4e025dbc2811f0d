//! `bench --compare`: the CPU, then fp32 and fp16 on the GPU of each backend, on the
//! same inputs in one process; median latency, speedup over the CPU and the largest
//! absolute difference of any output element from the CPU's.

use super::measure::time_invokes;
use super::report::SCHEMA;
use super::{bench_inputs, on_backend, BenchArgs};
use crate::cli::outln;
use crate::gpu::device::Backend;
use crate::{Device, Interpreter, Model, Options, Tensor};
use serde_json::{json, Value};

/// One configuration's result.
struct Row {
    config: String,
    backend: String,
    adapter: String,
    /// Median ms, or the error that stopped it.
    median_ms: Result<f64, crate::Error>,
    outputs: Vec<Tensor>,
}

/// Prepare, check and time one configuration.
fn run(
    model: &Model,
    options: Options,
    inputs: &[Tensor],
    args: &BenchArgs,
) -> crate::Result<(f64, Vec<Tensor>, String)> {
    let options_gpu = options.gpu;
    let mut interp = Interpreter::with_options(model, options)?;
    let (_, times) = time_invokes(&mut interp, inputs, args, None)?;
    let outputs = (0..interp.num_outputs())
        .map(|i| interp.output(i).cloned())
        .collect::<crate::Result<Vec<_>>>()?;
    let adapter = match interp.delegate_report() {
        Some(r) => {
            let name = crate::gpu::shared_device(options_gpu)
                .map(|(g, _)| format!("{} ({})", g.info.name, g.info.backend))
                .unwrap_or_default();
            if r.f16_unavailable {
                format!("{name}; no SHADER_F16, ran fp32")
            } else {
                name
            }
        }
        None => "cpu".to_string(),
    };
    Ok((times[times.len() / 2] * 1e3, outputs, adapter))
}

/// The largest |a - b| over every element of every output; infinite when shapes
/// differ or only one side is NaN.
fn max_abs_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        if x.shape != y.shape {
            return f64::INFINITY;
        }
        for (p, q) in x.data.to_f64().into_iter().zip(y.data.to_f64()) {
            let d = if p.is_nan() && q.is_nan() {
                0.0
            } else if p.is_nan() || q.is_nan() {
                f64::INFINITY
            } else {
                (p - q).abs()
            };
            worst = worst.max(d);
        }
    }
    worst
}

/// Run every configuration and print the table (or JSON).
pub fn compare(
    model: &Model,
    name: &str,
    args: &BenchArgs,
    base: &Options,
    backends: &[(String, Backend)],
) -> crate::Result<()> {
    let cpu_options = Options {
        device: Device::Cpu,
        ..base.clone()
    };
    let probe = Interpreter::with_options(model, cpu_options.clone())?;
    let inputs = bench_inputs(&probe)?;
    drop(probe);
    let mut configs = vec![("cpu".to_string(), "-".to_string(), cpu_options)];
    for (backend_name, backend) in backends {
        for fp16 in [false, true] {
            let mut o = on_backend(base, *backend);
            o.device = Device::Gpu;
            o.precision_loss_allowed = fp16;
            let config = if fp16 { "gpu-fp16" } else { "gpu-fp32" };
            configs.push((config.to_string(), backend_name.clone(), o));
        }
    }
    let rows: Vec<Row> = configs
        .into_iter()
        .map(|(config, backend, options)| {
            let (median_ms, outputs, adapter) = match run(model, options, &inputs, args) {
                Ok((m, o, a)) => (Ok(m), o, a),
                Err(e) => (Err(e), Vec::new(), String::new()),
            };
            Row {
                config,
                backend,
                adapter,
                median_ms,
                outputs,
            }
        })
        .collect();
    let cpu = &rows[0];
    let cpu_ms = cpu.median_ms.as_ref().ok().copied();
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            let median = r.median_ms.as_ref().ok().copied();
            let speedup = match (cpu_ms, median) {
                (Some(c), Some(m)) if m > 0.0 => Some(c / m),
                _ => None,
            };
            let error = median.map(|_| max_abs_diff(&r.outputs, &cpu.outputs));
            json!({
                "config": r.config,
                "backend": r.backend,
                "adapter": r.adapter,
                "median_ms": median,
                "speedup_vs_cpu": speedup,
                "max_abs_error_vs_cpu": error.map(|e| if e.is_finite() { json!(e) } else { json!("inf") }),
                "error": r.median_ms.as_ref().err().map(|e| e.to_string()),
            })
        })
        .collect();
    if args.json {
        let doc = json!({"schema": SCHEMA, "model": name, "compare": out});
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(());
    }
    outln!("model: {name}");
    outln!(
        "  {:<9} {:<8} {:>11} {:>8} {:>14}  adapter",
        "config",
        "backend",
        "median ms",
        "speedup",
        "max err vs cpu"
    );
    for (r, v) in rows.iter().zip(&out) {
        match &r.median_ms {
            Ok(m) => outln!(
                "  {:<9} {:<8} {:>11.3} {:>7.2}x {:>14}  {}",
                r.config,
                r.backend,
                m,
                v["speedup_vs_cpu"].as_f64().unwrap_or(0.0),
                match &v["max_abs_error_vs_cpu"] {
                    Value::Number(n) => format!("{:.3e}", n.as_f64().unwrap_or(0.0)),
                    other => other.as_str().unwrap_or("-").to_string(),
                },
                r.adapter
            ),
            Err(e) => outln!("  {:<9} {:<8} failed: {e}", r.config, r.backend),
        }
    }
    Ok(())
}
