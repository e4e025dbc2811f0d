//! The `tflite-wgpu` command line (run, inspect, bench, validate, quantize) and the pieces its
//! subcommands share: how a model is chosen and where it runs.

mod bench;
mod inspect;
mod quantize;
mod run;
mod validate;

#[cfg(feature = "python")]
pub(crate) use inspect::inspect_document;
#[cfg(feature = "python")]
pub(crate) use quantize::{quantize_report, QuantizeArgs};
#[cfg(feature = "python")]
pub(crate) use validate::{validate_document, ValidateArgs};

use crate::delegate::PartitionOptions;
use crate::gpu::device::{Backend, DeviceOptions};
use crate::{CacheDir, Device, Model, Options, OverflowGuard};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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
        bench: bench::BenchArgs,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Compare the GPU with the CPU reference per output and per layer; exits
    /// non-zero when a threshold fails.
    Validate(validate::ValidateArgs),
    /// Post-training quantization of a float model: fp16 weights, int8 weights,
    /// dynamic-range int8 or full integer int8 with calibration.
    Quantize(quantize::QuantizeArgs),
    /// Show ops, tensors and the execution plan of a model (the demo model when omitted).
    Inspect {
        /// The .tflite model.
        model: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Run one invoke on these .npy inputs (one per model input) first, and
        /// show the plan after it (with nodes the overflow guard moved to fp32).
        #[arg(long = "input")]
        inputs: Vec<PathBuf>,
        /// Plan the GPU kernels for this adapter profile (a bundled name such as
        /// nvidia-h100, or a profile JSON file) instead of the adapter in hand's.
        #[arg(long, value_name = "NAME|FILE.json")]
        adapter_profile: Option<String>,
        /// Write the finished WGSL of every GPU dispatch of the plan (prologue,
        /// guard, body, and the override constants its pipeline sets) to DIR.
        #[arg(long, value_name = "DIR")]
        dump_wgsl: Option<PathBuf>,
        #[command(flatten)]
        exec: ExecArgs,
    },
}

/// `print!` for a command's output on stdout; see [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), false)
    };
}

/// `println!` for a command's output on stdout; see [`write_stdout`].
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), true)
    };
}

pub(crate) use {out, outln};

/// Write a command's output (and a newline with `newline`) to stdout. A reader
/// that went away (a closed pipe, as `| head` leaves one) ends the process
/// quietly with status 0, as SIGPIPE ends a C tool, where `println!` would
/// panic; any other write error ends it with status 1 and the error on stderr.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout failed: {e}");
        std::process::exit(1);
    }
}

/// Run the command line on the process arguments: parse them, install the
/// subscriber that prints the library's warnings to stderr, and run the subcommand.
pub fn main() -> ExitCode {
    ExitCode::from(run(std::env::args_os()))
}

/// Run the command line on `args` (the first is the program name) and return the
/// process exit status: 0 on success, 1 on a failure, 2 on a usage error. Help and
/// version requests print and return 0. Used by the binary and the Python console
/// script.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    install_subscriber();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match &cli.command {
        Command::Run {
            model,
            inputs,
            out_dir,
            exec,
        } => run::run(model, inputs, out_dir, exec),
        Command::Validate(args) => match validate::validate(args) {
            Ok(true) => Ok(()),
            Ok(false) => return 1,
            Err(e) => Err(e),
        },
        Command::Quantize(args) => quantize::quantize(args),
        Command::Inspect {
            model,
            json,
            inputs,
            adapter_profile,
            dump_wgsl,
            exec,
        } => options(exec)
            .and_then(|o| with_profile(o, adapter_profile.as_deref()))
            .and_then(|o| match dump_wgsl {
                Some(dir) => inspect::dump_wgsl(model, o.clone(), inputs, dir).map(|()| o),
                None => Ok(o),
            })
            .and_then(|o| inspect::inspect(model, *json, o, inputs)),
        Command::Bench { model, bench, exec } => bench::bench(model, bench, exec),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Prints the library's events as `warning: ...` (or `error: ...`, `info: ...`)
/// lines, the way the command line has always reported them.
struct PlainFormat;

impl<S, N> FormatEvent<S, N> for PlainFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        let prefix = match level {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "{prefix}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Send warnings and errors of the library to stderr; `TFLITE_WGPU_LOG`
/// (`error`, `warn`, `info`, `debug` or `trace`) sets another level.
fn install_subscriber() {
    let level = std::env::var("TFLITE_WGPU_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<Level>().ok())
        .unwrap_or(Level::WARN);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .event_format(PlainFormat)
        .finish();
    // Only fails when a subscriber is already installed; that one is kept.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// `--device`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DeviceArg {
    Cpu,
    Gpu,
    Auto,
}

/// `--precision`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PrecisionArg {
    Fp32,
    Fp16,
}

/// `--backend`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum BackendArg {
    Auto,
    Vulkan,
    Metal,
    Dx12,
    Gl,
    /// Every backend with an adapter (`bench`; elsewhere the same as auto).
    All,
}

/// Where and how a model runs.
#[derive(clap::Args, Clone)]
pub(crate) struct ExecArgs {
    /// Device: the GPU delegate (with CPU fallback), the CPU, or the GPU when one exists.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// GPU precision: fp16 allows precision loss (f16 storage and math).
    #[arg(long, value_enum, default_value = "fp32")]
    pub precision: PrecisionArg,
    /// GPU backend.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Delegate at most this many partitions, chosen by estimated cost saved.
    #[arg(long)]
    pub max_delegated_partitions: Option<usize>,
    /// Keep partitions with fewer nodes on the CPU.
    #[arg(long, default_value_t = 1)]
    pub min_nodes_per_partition: usize,
    /// Nodes (indices as `inspect` prints them) kept in fp32 inside an fp16 run,
    /// e.g. the set `validate --auto-mixed` prints.
    #[arg(long, value_delimiter = ',')]
    pub fp32_nodes: Vec<usize>,
    /// A precision plan (JSON, as `validate --auto-mixed --save-plan` writes it, or
    /// by hand): nodes kept in fp32 inside an fp16 run. Refused for another model.
    #[arg(long, value_name = "PLAN.json")]
    pub precision_plan: Option<PathBuf>,
    /// At fp16, when a GPU store saturates (past 65504 or non-finite): move the
    /// node to fp32 and run again (on), keep the saturated values (off), or fail
    /// naming the node (error).
    #[arg(long, value_enum, default_value = "on")]
    pub overflow_guard: OverflowGuardArg,
    /// Keep compiled GPU pipelines in this directory between runs (default: the
    /// per-user cache directory, $XDG_CACHE_HOME/tflite-wgpu or
    /// ~/.cache/tflite-wgpu; ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `--overflow-guard`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OverflowGuardArg {
    /// Promote saturating nodes to fp32 and run the invoke again.
    On,
    /// Keep fp16 results as they are.
    Off,
    /// Fail the invoke, naming the saturating nodes.
    Error,
}

/// The model at `model`, or the demo model; with a display name.
pub(crate) fn load(model: &Option<PathBuf>) -> crate::Result<(Model, String)> {
    match model {
        Some(p) => Ok((Model::from_file(p)?, p.display().to_string())),
        None => Ok((
            Model::from_bytes(&crate::demo::demo_model_bytes()?)?,
            "<demo>".to_string(),
        )),
    }
}

/// Interpreter options from the command-line flags (reading the precision plan
/// when one is given).
pub(crate) fn options(a: &ExecArgs) -> crate::Result<Options> {
    let (device, precision, backend) = (a.device, a.precision, a.backend);
    let precision_plan = match &a.precision_plan {
        Some(path) => Some(crate::delegate::PrecisionPlan::read(path)?),
        None => None,
    };
    Ok(Options {
        precision_plan,
        partitions: PartitionOptions {
            max_partitions: a.max_delegated_partitions,
            min_nodes: a.min_nodes_per_partition,
            fp32_nodes: a.fp32_nodes.clone(),
            ..Default::default()
        },
        device: match device {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Gpu => Device::Gpu,
            DeviceArg::Auto => Device::Auto,
        },
        precision_loss_allowed: matches!(precision, PrecisionArg::Fp16),
        overflow_guard: match a.overflow_guard {
            OverflowGuardArg::On => OverflowGuard::On,
            OverflowGuardArg::Off => OverflowGuard::Off,
            OverflowGuardArg::Error => OverflowGuard::Error,
        },
        gpu: DeviceOptions {
            backend: self::backend(backend),
            high_performance: true,
        },
        cache_dir: a.cache_dir.clone().map_or(CacheDir::Default, CacheDir::Dir),
        ..Default::default()
    })
}

/// `options` planning the GPU kernels for the adapter profile `spec` (a bundled
/// name or a file) when one is given; `--device auto` then takes the adapter in
/// hand whatever it is, since a GPU plan was asked for.
pub(crate) fn with_profile(mut options: Options, spec: Option<&str>) -> crate::Result<Options> {
    if let Some(spec) = spec {
        let profile = crate::gpu::profile::AdapterProfile::load(spec)
            .map_err(|e| crate::Error::AdapterProfile(e.to_string()))?;
        options.adapter_profile = Some(profile);
        if options.device == Device::Auto {
            options.device = Device::Gpu;
        }
    }
    Ok(options)
}

/// Refuse a precision plan in `options` written for a model other than `model`
/// (shown as `name`).
pub(crate) fn check_plan(options: &Options, model: &Model, name: &str) -> crate::Result<()> {
    match (&options.precision_plan, model.sha256()) {
        (Some(plan), Some(hash)) => plan.check_model(hash, name),
        _ => Ok(()),
    }
}

/// The nodes the fp16 overflow guard moved to fp32, as JSON rows.
pub(crate) fn promoted_json(nodes: &[crate::PromotedNode]) -> serde_json::Value {
    nodes
        .iter()
        .map(|p| {
            serde_json::json!({
                "node": p.node, "op": p.op, "tensor": p.tensor, "reason": p.reason,
            })
        })
        .collect()
}

/// One line per node the fp16 overflow guard moved to fp32.
pub(crate) fn promoted_lines(nodes: &[crate::PromotedNode]) -> Vec<String> {
    nodes
        .iter()
        .map(|p| {
            format!(
                "node {} ({}, tensor {}) moved to fp32: {}",
                p.node, p.op, p.tensor, p.reason
            )
        })
        .collect()
}

/// The wgpu backend a `--backend` value names.
pub(crate) fn backend(b: BackendArg) -> Backend {
    match b {
        BackendArg::Auto | BackendArg::All => Backend::Auto,
        BackendArg::Vulkan => Backend::Vulkan,
        BackendArg::Metal => Backend::Metal,
        BackendArg::Dx12 => Backend::Dx12,
        BackendArg::Gl => Backend::Gl,
    }
}
