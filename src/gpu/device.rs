//! The wgpu device: adapter choice by backend and power preference, the optional
//! features the delegate uses (SHADER_F16, timestamps, subgroups) and the adapter's
//! own limits.

use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which graphics API to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The first adapter any backend offers (Vulkan, Metal, DX12, then GL).
    #[default]
    Auto,
    /// Vulkan.
    Vulkan,
    /// Metal.
    Metal,
    /// Direct3D 12.
    Dx12,
    /// OpenGL / GLES.
    Gl,
}

impl Backend {
    fn backends(self) -> wgpu::Backends {
        match self {
            Backend::Auto => wgpu::Backends::all(),
            Backend::Vulkan => wgpu::Backends::VULKAN,
            Backend::Metal => wgpu::Backends::METAL,
            Backend::Dx12 => wgpu::Backends::DX12,
            Backend::Gl => wgpu::Backends::GL,
        }
    }

    /// Parse "auto", "vulkan", "metal", "dx12" or "gl".
    pub fn parse(s: &str) -> Option<Backend> {
        Some(match s {
            "auto" => Backend::Auto,
            "vulkan" => Backend::Vulkan,
            "metal" => Backend::Metal,
            "dx12" => Backend::Dx12,
            "gl" => Backend::Gl,
            _ => return None,
        })
    }
}

/// How to choose an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceOptions {
    /// Graphics API.
    pub backend: Backend,
    /// Prefer the discrete (high performance) GPU over an integrated one.
    pub high_performance: bool,
}

/// A GPU device with the capabilities the delegate cares about. Shared by every
/// interpreter that uses it.
#[derive(Debug)]
pub struct GpuDevice {
    /// The wgpu device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter name, backend, driver.
    pub info: wgpu::AdapterInfo,
    /// The device's limits (the adapter's, not the defaults).
    pub limits: wgpu::Limits,
    /// SHADER_F16 is enabled: fp16 storage and math are possible.
    pub f16: bool,
    /// TIMESTAMP_QUERY is enabled.
    pub timestamps: bool,
    /// TIMESTAMP_QUERY_INSIDE_PASSES is enabled.
    pub timestamps_inside_passes: bool,
    /// SUBGROUP is enabled.
    pub subgroups: bool,
    /// How long choosing the adapter and opening the device took.
    pub creation_time: Duration,
}

impl GpuDevice {
    /// Open the adapter the options select, requesting every optional feature it has.
    pub fn new(options: DeviceOptions) -> Result<Arc<GpuDevice>> {
        let start = Instant::now();
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        desc.backends = options.backend.backends();
        let instance = wgpu::Instance::new(desc);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: if options.high_performance {
                wgpu::PowerPreference::HighPerformance
            } else {
                wgpu::PowerPreference::None
            },
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        }))
        .map_err(|e| Error::Device(format!("no {:?} adapter: {e}", options.backend)))?;
        let available = adapter.features();
        let wanted = wgpu::Features::SHADER_F16
            | wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
            | wgpu::Features::SUBGROUP;
        let features = available & wanted;
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tflite-wgpu"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::Device(format!("cannot open the adapter: {e}")))?;
        Ok(Arc::new(GpuDevice {
            device,
            queue,
            info: adapter.get_info(),
            limits,
            f16: features.contains(wgpu::Features::SHADER_F16),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            timestamps_inside_passes: features
                .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            creation_time: start.elapsed(),
        }))
    }

    /// One line describing the adapter.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?}, driver {} {}), f16 {}",
            self.info.name,
            self.info.backend,
            self.info.device_type,
            self.info.driver,
            self.info.driver_info,
            if self.f16 { "yes" } else { "no" }
        )
    }
}
