//! The `tflite-wgpu` command line: run, inspect.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
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
        /// Device.
        #[arg(long, value_enum, default_value = "auto")]
        device: DeviceArg,
        /// GPU precision.
        #[arg(long, value_enum, default_value = "fp32")]
        precision: PrecisionArg,
        /// GPU backend.
        #[arg(long, value_enum, default_value = "auto")]
        backend: BackendArg,
    },
    /// Show ops, tensors and the execution plan of a model (the demo model when omitted).
    Inspect {
        /// The .tflite model.
        model: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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

fn run(
    model: &Option<PathBuf>,
    inputs: &[PathBuf],
    out_dir: &PathBuf,
    device: DeviceArg,
    precision: PrecisionArg,
) -> tflite_wgpu::Result<()> {
    let (m, _) = load(model)?;
    let device = match device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Gpu => Device::Gpu,
        DeviceArg::Auto => {
            eprintln!("warning: the GPU delegate is not in this build; running on the CPU");
            Device::Cpu
        }
    };
    let options = Options {
        device,
        precision_loss_allowed: matches!(precision, PrecisionArg::Fp16),
        ..Default::default()
    };
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

fn inspect(model: &Option<PathBuf>, json: bool) -> tflite_wgpu::Result<()> {
    let (m, name) = load(model)?;
    let g = m.graph();
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
                    "device": "cpu",
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
        let doc = serde_json::json!({
            "model": name,
            "nodes": nodes,
            "tensors": tensors,
            "inputs": sg.inputs,
            "outputs": sg.outputs,
            "partitions": [{"device": "cpu", "nodes": (0..sg.nodes.len()).collect::<Vec<_>>()}],
            "fallback": [],
            "subgraphs": g.subgraphs.len(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(());
    }
    println!("model: {name}");
    if !g.description.is_empty() {
        println!("description: {}", g.description);
    }
    println!(
        "subgraphs: {}, nodes in main: {}, tensors in main: {}",
        g.subgraphs.len(),
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
        print_nodes(sub);
    }
    println!("plan: 1 partition on the cpu with {} nodes", sg.nodes.len());
    Ok(())
}

fn print_nodes(sg: &tflite_wgpu::graph::Subgraph) {
    for (i, n) in sg.nodes.iter().enumerate() {
        let ins: Vec<String> = n
            .inputs
            .iter()
            .map(|t| t.map_or("-".to_string(), |t| t.to_string()))
            .collect();
        let outs: Vec<String> = n.outputs.iter().map(|t| t.to_string()).collect();
        println!(
            "  {i:4} {:<28} in [{}] out [{}] on cpu",
            n.op.name(),
            ins.join(", "),
            outs.join(", ")
        );
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run {
            model,
            inputs,
            out_dir,
            device,
            precision,
            backend: _,
        } => run(model, inputs, out_dir, *device, *precision),
        Command::Inspect { model, json } => inspect(model, *json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
