//! How an interpreter runs: [`Options`], the [`GpuDelegate`], the fp16 overflow
//! guard, and what the delegate reports ([`DelegateReport`]).

use crate::cpu::RunLimits;
use crate::delegate::{self, FaultInjection, PartitionOptions, Plan};
use crate::error::Result;
use crate::gpu::device::DeviceOptions;
use crate::gpu::pipeline::Precision;
pub use crate::gpu::pipeline_cache::{CacheDir, CacheStatus};
use std::time::Duration;

/// The adapter `options` select, opened (once per process, shared with every
/// interpreter) to read its features; [`Error::NoAdapter`](crate::Error::NoAdapter)
/// when there is none.
pub fn gpu_adapter(options: DeviceOptions) -> Result<crate::AdapterInfo> {
    let (gpu, _) = crate::gpu::shared_device(options)?;
    Ok(gpu.adapter_info())
}

/// Test hook: destroy the shared device `options` select, as a driver reset
/// would, so that the next invoke on it must recover. Not part of the stable API.
#[doc(hidden)]
pub fn simulate_device_loss(options: DeviceOptions) -> Result<()> {
    let (gpu, _) = crate::gpu::shared_device(options)?;
    gpu.device.destroy();
    Ok(())
}

/// Where an interpreter runs its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The CPU reference interpreter.
    #[default]
    Cpu,
    /// The GPU delegate, falling back to the CPU for unsupported nodes.
    Gpu,
    /// The GPU when a usable hardware adapter exists; on [`Error::NoAdapter`](crate::Error::NoAdapter), or
    /// when the only adapter is a software one (wgpu's `DeviceType::Cpu`: lavapipe,
    /// SwiftShader, WARP, slower than the CPU interpreter), the CPU, with a one-line
    /// warning. Any other error (a device failure, a bad model) is returned.
    Auto,
}

/// Which device an interpreter runs its nodes on, and why (what `inspect` and
/// `bench` print).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChoice {
    /// The device asked for.
    pub requested: Device,
    /// Where the nodes run: [`Device::Gpu`] (the delegate, with CPU fallback for
    /// unsupported nodes) or [`Device::Cpu`]; never [`Device::Auto`].
    pub device: Device,
    /// One line: why this device.
    pub reason: String,
}

impl DeviceChoice {
    /// "gpu" or "cpu".
    pub fn name(&self) -> &'static str {
        match self.device {
            Device::Gpu => "gpu",
            _ => "cpu",
        }
    }
}

/// True for a software adapter (wgpu's `DeviceType::Cpu`: Mesa's lavapipe,
/// SwiftShader, WARP): a CPU rasterizer, slower than the CPU interpreter.
pub fn is_software_adapter(device_type: &str) -> bool {
    device_type == "Cpu"
}

/// The adapter `options` select when it is a software one (its one-line
/// description), logging a warning that names `user`: a delegate takes whatever
/// adapter it finds, since whoever loads a GPU delegate asks for the GPU.
pub fn warn_if_software_adapter(options: DeviceOptions, user: &str) -> Option<String> {
    let (gpu, _) = crate::gpu::shared_device(options).ok()?;
    let info = gpu.adapter_info();
    if !is_software_adapter(&info.device_type) {
        return None;
    }
    tracing::warn!(
        "{user}: {} is a software adapter (a CPU rasterizer): expect it to be slower than a CPU runtime",
        info.description
    );
    Some(info.description)
}

/// What the fp16 overflow guard does when a GPU store saturates (|v| > 65504, or a
/// non-finite value) in an fp16 partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OverflowGuard {
    /// Move the flagged nodes to fp32, recompile and run the invoke again, so the
    /// outputs never hold saturated values; later invokes run the mixed plan.
    #[default]
    On,
    /// No guard: saturated values pass through (clamped to +-65504).
    Off,
    /// Fail the invoke with [`Error::Fp16Overflow`](crate::Error::Fp16Overflow) naming the nodes.
    Error,
}

/// A string that names no [`OverflowGuard`] mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("overflow guard {0:?}: expected on, off or error")]
pub struct ParseOverflowGuardError(pub String);

impl std::str::FromStr for OverflowGuard {
    type Err = ParseOverflowGuardError;
    fn from_str(s: &str) -> std::result::Result<Self, ParseOverflowGuardError> {
        match s {
            "on" => Ok(OverflowGuard::On),
            "off" => Ok(OverflowGuard::Off),
            "error" => Ok(OverflowGuard::Error),
            _ => Err(ParseOverflowGuardError(s.to_string())),
        }
    }
}

/// A node the overflow guard moved to fp32.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PromotedNode {
    /// Index of the node (as `inspect` prints it).
    pub node: usize,
    /// The op's TFLite name.
    pub op: String,
    /// Name of the node's first output tensor.
    pub tensor: String,
    /// Why it was moved.
    pub reason: String,
}

/// Interpreter options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which device runs the model.
    pub device: Device,
    /// Allow fp16 storage and math on the GPU.
    pub precision_loss_allowed: bool,
    /// Adapter choice (backend, power preference).
    pub gpu: DeviceOptions,
    /// Partitioning limits.
    pub partitions: PartitionOptions,
    /// Nodes kept in fp32 in an fp16 run, from a saved plan: resolved against the
    /// prepared graph and added to `partitions.fp32_nodes`. A plan written for
    /// another model is refused.
    pub precision_plan: Option<delegate::PrecisionPlan>,
    /// Run limits (WHILE iterations, tensor size, cancellation).
    pub limits: RunLimits,
    /// Read every node's outputs back from the GPU, so `invoke_observed` reports
    /// the nodes inside partitions too (per-layer validation). The numbers are the
    /// same as without it; invokes are slower.
    pub expose_intermediates: bool,
    /// What happens when an fp16 GPU store saturates (default: promote the node to
    /// fp32 and run again).
    pub overflow_guard: OverflowGuard,
    /// Where compiled GPU pipelines persist between processes (default: the
    /// per-user cache directory). The first interpreter on a device decides.
    pub cache_dir: CacheDir,
    /// Test hook: GPU compiles that must fail. Not part of the stable API.
    #[doc(hidden)]
    pub faults: FaultInjection,
    /// Plan the GPU kernels (variants, tiles, split-K) for this adapter profile
    /// instead of the adapter in hand's own (`inspect --adapter-profile`); the
    /// program still compiles for, and runs on, the adapter in hand.
    pub adapter_profile: Option<crate::gpu::profile::AdapterProfile>,
}

/// What the delegate decided for a model: the plan, the precision and the device.
#[derive(Debug, Clone)]
pub struct DelegateReport {
    /// The partition plan of the main subgraph.
    pub plan: Plan,
    /// The precision asked for (f16 when allowed and the adapter has SHADER_F16).
    pub precision: Precision,
    /// The precision each partition was compiled at (None: it failed to compile).
    pub partition_precision: Vec<Option<Precision>>,
    /// One line describing the adapter.
    pub adapter: String,
    /// Set when fp16 was asked for but the adapter lacks SHADER_F16.
    pub f16_unavailable: bool,
    /// Partitions that failed to compile, with the reason (their nodes run on the CPU).
    pub failed: Vec<(usize, String)>,
    /// GPU dispatches per invoke, over all compiled partitions.
    pub dispatches: usize,
    /// Bytes of GPU buffers the memory plan allocates.
    pub planned_bytes: u64,
    /// Bytes of constants (weights) uploaded to the GPU, as stored there.
    pub constant_bytes: u64,
    /// Bytes all GPU tensors would take without buffer reuse.
    pub tensor_bytes: u64,
    /// Distinct compute pipelines the compiled partitions run (dispatches with
    /// the same kernel, precision, checks and override constants share one).
    pub pipelines: usize,
    /// The liveness lower bound on GPU memory: over all partitions, the most bytes
    /// of buffers live at one dispatch (constants, inputs and outputs always).
    pub liveness_bytes: u64,
    /// Where the prepare time went.
    pub init: InitTimes,
    /// Nodes the fp16 overflow guard moved to fp32 so far, in the order it did.
    pub promoted_fp32_nodes: Vec<PromotedNode>,
    /// The persistent pipeline cache of the device: its file, whether it was
    /// loaded, its size; None without one (disabled, no directory, or a backend
    /// without PIPELINE_CACHE).
    pub pipeline_cache: Option<CacheStatus>,
}

/// The parts of preparing the GPU path that are timed separately.
#[derive(Debug, Clone, Default)]
pub struct InitTimes {
    /// Choosing the adapter and opening the device in this prepare (near zero when
    /// an earlier interpreter in the process opened it).
    pub device: Duration,
    /// How long opening the device took when it was opened.
    pub device_opened: Duration,
    /// Creating pipelines and bind groups, over all partitions.
    pub pipelines: Duration,
    /// Uploading constants until they reached the GPU, over all partitions.
    pub constant_upload: Duration,
}

/// The GPU delegate: an opened device plus how to partition and at which precision.
///
/// ```no_run
/// use tflite_wgpu::{GpuDelegate, Interpreter, Model};
/// let model = Model::from_file("model.tflite")?;
/// let mut interp = Interpreter::new(&model)?.with_delegate(GpuDelegate::new(Default::default())?)?;
/// interp.invoke()?;
/// # Ok::<(), tflite_wgpu::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct GpuDelegate {
    /// fp16 storage and math when the adapter has SHADER_F16.
    pub precision_loss_allowed: bool,
    /// Adapter choice.
    pub device: DeviceOptions,
    /// Partitioning limits.
    pub partitions: PartitionOptions,
    /// What happens when an fp16 GPU store saturates.
    pub overflow_guard: OverflowGuard,
    /// Nodes kept in fp32 in an fp16 run, from a saved plan: resolved against the
    /// prepared graph and added to `partitions.fp32_nodes`. A plan written for
    /// another model is refused.
    pub precision_plan: Option<delegate::PrecisionPlan>,
    /// Where compiled GPU pipelines persist between processes.
    pub cache_dir: CacheDir,
}

impl GpuDelegate {
    /// A delegate with these options; fails with [`Error::NoAdapter`](crate::Error::NoAdapter) when no adapter
    /// matches.
    pub fn new(options: GpuDelegate) -> Result<GpuDelegate> {
        crate::gpu::shared_device(options.device)?;
        Ok(options)
    }
}
