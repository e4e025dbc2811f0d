//! The `tflite-wgpu` command line: run, inspect, bench, validate, quantize.

mod cli;

use clap::{Parser, Subcommand};
use cli::ExecArgs;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Time a model: init split, first invoke, steady-state latency, GPU memory,
    /// a per-op GPU profile and device comparisons (the demo model when omitted).
    Bench {
        /// The .tflite model.
        model: Option<PathBuf>,
        #[command(flatten)]
        bench: cli::bench::BenchArgs,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Compare the GPU with the CPU reference per output and per layer; exits
    /// non-zero when a threshold fails.
    Validate(cli::validate::ValidateArgs),
    /// Post-training quantization of a float model: fp16, int8 weights, dynamic
    /// range or full integer with calibration.
    Quantize(cli::quantize::QuantizeArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run {
            model,
            inputs,
            out_dir,
            exec,
        } => cli::run::run(model, inputs, out_dir, exec),
        Command::Validate(args) => match cli::validate::validate(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Quantize(args) => cli::quantize::quantize(args),
        Command::Inspect { model, json, exec } => {
            cli::inspect::inspect(model, *json, cli::options(exec))
        }
        Command::Bench { model, bench, exec } => cli::bench::bench(model, bench, exec),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
