//! The `tflite-wgpu` command line: run, inspect.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use tflite_wgpu::delegate::PartitionOptions;
use tflite_wgpu::gpu::device::{Backend, DeviceOptions};
use tflite_wgpu::{npy, Device, Interpreter, Model, Options};

#[derive(Parser)]
#[command(
    name = "tflite-wgpu",
    version,
    about = "Run and inspect TensorFlow Lite / LiteRT models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Cpu,
    Gpu,
    Auto,
}

#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    Fp32,
    Fp16,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Auto,
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

/// Where and how a model runs.
#[derive(clap::Args, Clone)]
struct ExecArgs {
    /// Device: the GPU delegate (with CPU fallback), the CPU, or the GPU when one exists.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// GPU precision: fp16 allows precision loss (f16 storage and math).
    #[arg(long, value_enum, default_value = "fp32")]
    precision: PrecisionArg,
    /// GPU backend.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// Delegate at most this many partitions, chosen by estimated cost saved.
    #[arg(long)]
    max_delegated_partitions: Option<usize>,
    /// Keep partitions with fewer nodes on the CPU.
    #[arg(long, default_value_t = 1)]
    min_nodes_per_partition: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Run a model on .npy inputs and write .npy outputs (the demo model when MODEL is omitted).
    Run {
        /// The .tflite model.
        model: Option<PathBuf>,
        /// Input files, one per model input, in model order.
        #[arg(long = "input")]
        inputs: Vec<PathBuf>,
        /// Directory for output_<i>.npy.
        #[arg(long, default_value = "out")]
        out_dir: PathBuf,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Time a model: init, first invoke, steady-state latency (the demo model when omitted).
    Bench {
        /// The .tflite model.
        model: Option<PathBuf>,
        /// Untimed invokes before measuring.
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Timed invokes.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Show ops, tensors and the execution plan of a model (the demo model when omitted).
    Inspect {
        /// The .tflite model.
        model: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
}

fn load(model: &Option<PathBuf>) -> tflite_wgpu::Result<(Model, String)> {
    match model {
        Some(p) => Ok((Model::from_file(p)?, p.display().to_string())),
        None => Ok((
            Model::from_bytes(&tflite_wgpu::demo::demo_model_bytes()?)?,
            "<demo>".to_string(),
        )),
    }
}

fn options(a: &ExecArgs) -> Options {
    let (device, precision, backend) = (a.device, a.precision, a.backend);
    Options {
        partitions: PartitionOptions {
            max_partitions: a.max_delegated_partitions,
            min_nodes: a.min_nodes_per_partition,
        },
        device: match device {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Gpu => Device::Gpu,
            DeviceArg::Auto => Device::Auto,
        },
        precision_loss_allowed: matches!(precision, PrecisionArg::Fp16),
        gpu: DeviceOptions {
            backend: match backend {
                BackendArg::Auto => Backend::Auto,
                BackendArg::Vulkan => Backend::Vulkan,
                BackendArg::Metal => Backend::Metal,
                BackendArg::Dx12 => Backend::Dx12,
                BackendArg::Gl => Backend::Gl,
            },
            high_performance: true,
        },
        ..Default::default()
    }
}

fn run(
    model: &Option<PathBuf>,
    inputs: &[PathBuf],
    out_dir: &PathBuf,
    exec: &ExecArgs,
) -> tflite_wgpu::Result<()> {
    let (m, _) = load(model)?;
    let options = options(exec);
    let mut interp = Interpreter::with_options(&m, options)?;
    if inputs.is_empty() && model.is_none() {
        interp.set_input(0, tflite_wgpu::demo::demo_input())?;
    } else {
        if inputs.len() != interp.num_inputs() {
            return Err(tflite_wgpu::Error::Input {
                index: inputs.len(),
                what: format!(
                    "{} --input files given, the model has {} inputs",
                    inputs.len(),
                    interp.num_inputs()
                ),
            });
        }
        for (i, p) in inputs.iter().enumerate() {
            interp.set_input(i, npy::read(p)?)?;
        }
    }
    interp.invoke()?;
    std::fs::create_dir_all(out_dir).map_err(|source| tflite_wgpu::Error::Io {
        path: out_dir.display().to_string(),
        source,
    })?;
    for i in 0..interp.num_outputs() {
        let t = interp.output(i)?;
        let path = out_dir.join(format!("output_{i}.npy"));
        npy::write(&path, t)?;
        println!("{}: {} {:?}", path.display(), t.dtype(), t.shape);
    }
    Ok(())
}

/// Per node: "gpu" or "cpu"; the partitions; the fallback reasons.
type PlanView = (
    Vec<&'static str>,
    Vec<(String, Vec<usize>)>,
    Vec<(usize, String)>,
    String,
);

fn plan_view(interp: &Interpreter) -> tflite_wgpu::Result<PlanView> {
    let g = interp.graph();
    let n = g.main().nodes.len();
    let Some(report) = interp.delegate_report() else {
        return Ok((
            vec!["cpu"; n],
            vec![("cpu".into(), (0..n).collect())],
            vec![],
            "cpu (no GPU)".into(),
        ));
    };
    let mut device = vec!["cpu"; n];
    let mut parts = Vec::new();
    let mut cpu_run: Vec<usize> = Vec::new();
    for step in &report.plan.steps {
        match step {
            tflite_wgpu::delegate::Step::Cpu(k) => cpu_run.push(*k),
            tflite_wgpu::delegate::Step::Gpu(p) => {
                if !cpu_run.is_empty() {
                    parts.push(("cpu".to_string(), std::mem::take(&mut cpu_run)));
                }
                let nodes = report.plan.partitions[*p].nodes.clone();
                let failed = report.failed.iter().any(|(f, _)| f == p);
                for &k in &nodes {
                    if !failed {
                        device[k] = "gpu";
                    }
                }
                parts.push((if failed { "cpu" } else { "gpu" }.to_string(), nodes));
            }
        }
    }
    if !cpu_run.is_empty() {
        parts.push(("cpu".to_string(), cpu_run));
    }
    let mut fallback = report.plan.fallback.clone();
    for (p, why) in &report.failed {
        for &k in &report.plan.partitions[*p].nodes {
            fallback.push((k, format!("its partition failed to compile: {why}")));
        }
    }
    let mut note = format!("gpu {} at {:?}", report.adapter, report.precision);
    if report.f16_unavailable {
        note.push_str(" (fp16 requested, but the adapter has no SHADER_F16: running fp32)");
    }
    Ok((device, parts, fallback, note))
}

fn inspect(model: &Option<PathBuf>, json: bool, options: Options) -> tflite_wgpu::Result<()> {
    let (m, name) = load(model)?;
    let interp = Interpreter::with_options(&m, options)?;
    let (device, parts, fallback, note) = plan_view(&interp)?;
    let g = interp.graph();
    let sg = g.main();
    if json {
        let nodes: Vec<_> = sg
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                serde_json::json!({
                    "index": i,
                    "op": n.op.name(),
                    "inputs": n.inputs.iter().map(|t| t.map_or(-1, |t| t as i64)).collect::<Vec<_>>(),
                    "outputs": n.outputs,
                    "device": device.get(i).copied().unwrap_or("cpu"),
                })
            })
            .collect();
        let tensors: Vec<_> = sg
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| {
                serde_json::json!({
                    "index": i,
                    "name": t.name,
                    "dtype": t.dtype.name(),
                    "shape": t.shape,
                    "constant": t.is_constant(),
                })
            })
            .collect();
        let partitions: Vec<_> = parts
            .iter()
            .map(|(d, nodes)| serde_json::json!({"device": d, "nodes": nodes}))
            .collect();
        let fallback: Vec<_> = fallback
            .iter()
            .map(|(k, why)| {
                serde_json::json!({
                    "node": k,
                    "op": sg.nodes.get(*k).map(|n| n.op.name()).unwrap_or("?"),
                    "reason": why,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "model": name,
            "nodes": nodes,
            "tensors": tensors,
            "inputs": sg.inputs,
            "outputs": sg.outputs,
            "partitions": partitions,
            "fallback": fallback,
            "subgraphs": g.subgraphs.len(),
            "device": note,
            "original_nodes": m.graph().main().nodes.len(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(());
    }
    println!("model: {name}");
    if !g.description.is_empty() {
        println!("description: {}", g.description);
    }
    println!(
        "subgraphs: {}, nodes in main: {} ({} after folding constants and fusing activations), tensors in main: {}",
        g.subgraphs.len(),
        m.graph().main().nodes.len(),
        sg.nodes.len(),
        sg.tensors.len()
    );
    let show = |t: usize| {
        let info = &sg.tensors[t];
        format!("#{t} {} {}{:?}", info.name, info.dtype, info.shape)
    };
    for &t in &sg.inputs {
        println!("input  {}", show(t));
    }
    for &t in &sg.outputs {
        println!("output {}", show(t));
    }
    for (s, sub) in g.subgraphs.iter().enumerate() {
        if g.subgraphs.len() > 1 {
            println!("subgraph {s} ({}):", sub.name);
        } else {
            println!("nodes:");
        }
        let dev: Vec<&str> = if s == 0 {
            device.clone()
        } else {
            vec!["cpu"; sub.nodes.len()]
        };
        print_nodes(sub, &dev);
    }
    println!("device: {note}");
    for (d, nodes) in &parts {
        println!("partition on the {d}: {} nodes", nodes.len());
    }
    for (k, why) in &fallback {
        println!("  node {k} stays on the cpu: {why}");
    }
    Ok(())
}

fn print_nodes(sg: &tflite_wgpu::graph::Subgraph, device: &[&str]) {
    for (i, n) in sg.nodes.iter().enumerate() {
        let ins: Vec<String> = n
            .inputs
            .iter()
            .map(|t| t.map_or("-".to_string(), |t| t.to_string()))
            .collect();
        let outs: Vec<String> = n.outputs.iter().map(|t| t.to_string()).collect();
        println!(
            "  {i:4} {:<28} in [{}] out [{}] on {}",
            n.op.name(),
            ins.join(", "),
            outs.join(", "),
            device.get(i).copied().unwrap_or("cpu")
        );
    }
}

/// Seeded inputs in each input's natural range.
fn bench_inputs(interp: &Interpreter) -> tflite_wgpu::Result<Vec<tflite_wgpu::Tensor>> {
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

fn bench(
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run {
            model,
            inputs,
            out_dir,
            exec,
        } => run(model, inputs, out_dir, exec),
        Command::Inspect { model, json, exec } => inspect(model, *json, options(exec)),
        Command::Bench {
            model,
            warmup,
            runs,
            json,
            exec,
        } => bench(model, *warmup, *runs, *json, options(exec)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
