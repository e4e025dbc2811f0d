//! The pieces of the command line shared by its subcommands: how a model is chosen
//! and where it runs.

pub mod bench;
pub mod inspect;
pub mod quantize;
pub mod run;
pub mod validate;

use clap::ValueEnum;
use std::path::PathBuf;
use tflite_wgpu::delegate::PartitionOptions;
use tflite_wgpu::gpu::device::{Backend, DeviceOptions};
use tflite_wgpu::{Device, Model, Options};

/// `--device`.
#[derive(Clone, Copy, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Gpu,
    Auto,
}

/// `--precision`.
#[derive(Clone, Copy, ValueEnum)]
pub enum PrecisionArg {
    Fp32,
    Fp16,
}

/// `--backend`.
#[derive(Clone, Copy, ValueEnum)]
pub enum BackendArg {
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
pub struct ExecArgs {
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
}

/// The model at `model`, or the demo model; with a display name.
pub fn load(model: &Option<PathBuf>) -> tflite_wgpu::Result<(Model, String)> {
    match model {
        Some(p) => Ok((Model::from_file(p)?, p.display().to_string())),
        None => Ok((
            Model::from_bytes(&tflite_wgpu::demo::demo_model_bytes()?)?,
            "<demo>".to_string(),
        )),
    }
}

/// Interpreter options from the command-line flags.
pub fn options(a: &ExecArgs) -> Options {
    let (device, precision, backend) = (a.device, a.precision, a.backend);
    Options {
        partitions: PartitionOptions {
            max_partitions: a.max_delegated_partitions,
            min_nodes: a.min_nodes_per_partition,
            fp32_nodes: a.fp32_nodes.clone(),
        },
        device: match device {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Gpu => Device::Gpu,
            DeviceArg::Auto => Device::Auto,
        },
        precision_loss_allowed: matches!(precision, PrecisionArg::Fp16),
        gpu: DeviceOptions {
            backend: self::backend(backend),
            high_performance: true,
        },
        ..Default::default()
    }
}

/// The wgpu backend a `--backend` value names.
pub fn backend(b: BackendArg) -> Backend {
    match b {
        BackendArg::Auto | BackendArg::All => Backend::Auto,
        BackendArg::Vulkan => Backend::Vulkan,
        BackendArg::Metal => Backend::Metal,
        BackendArg::Dx12 => Backend::Dx12,
        BackendArg::Gl => Backend::Gl,
    }
}
