//! The wgpu device: adapter choice by backend and power preference, the optional
//! features the delegate uses (SHADER_F16, timestamps, subgroups) and the adapter's
//! own limits.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which graphics API to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The first adapter of Vulkan, Metal or DX12; GL only when none of them has
    /// one (probing GL/EGL is slow and drivers print to stderr while doing it).
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
    /// The backend sets to try, in order.
    fn attempts(self) -> &'static [wgpu::Backends] {
        match self {
            Backend::Auto => &[wgpu::Backends::PRIMARY, wgpu::Backends::GL],
            Backend::Vulkan => &[wgpu::Backends::VULKAN],
            Backend::Metal => &[wgpu::Backends::METAL],
            Backend::Dx12 => &[wgpu::Backends::DX12],
            Backend::Gl => &[wgpu::Backends::GL],
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

/// The adapter a [`DeviceOptions`] selects and the optional features it offers.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterInfo {
    /// One line: name, backend, device type, driver, f16.
    pub description: String,
    /// The adapter's name.
    pub name: String,
    /// The graphics API it runs on.
    pub backend: String,
    /// "DiscreteGpu", "IntegratedGpu", "VirtualGpu", "Cpu" (a software renderer
    /// such as lavapipe) or "Other".
    pub device_type: String,
    /// Nanoseconds per timestamp tick.
    pub timestamp_period_ns: f32,
    /// SHADER_F16: fp16 storage and math are possible.
    pub f16: bool,
    /// TIMESTAMP_QUERY: GPU times per pass.
    pub timestamps: bool,
    /// TIMESTAMP_QUERY_INSIDE_PASSES: GPU times per dispatch inside one pass.
    pub timestamps_inside_passes: bool,
    /// SUBGROUP operations.
    pub subgroups: bool,
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
    /// PIPELINE_CACHE is enabled: compiled pipelines can persist between processes.
    pub pipeline_cache: bool,
    /// How long choosing the adapter and opening the device took.
    pub creation_time: Duration,
    /// Set by wgpu's device-lost callback (or [`GpuDevice::mark_lost`]).
    lost: Arc<AtomicBool>,
    /// The last error no error scope caught (wgpu would otherwise panic on it).
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl GpuDevice {
    /// Open the adapter the options select, requesting every optional feature it has.
    pub fn new(options: DeviceOptions) -> Result<Arc<GpuDevice>> {
        let start = Instant::now();
        let adapter = Self::adapter(options)?;
        let available = adapter.features();
        let wanted = wgpu::Features::SHADER_F16
            | wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
            | wgpu::Features::SUBGROUP
            | wgpu::Features::PIPELINE_CACHE;
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
        .map_err(|e| Error::NoAdapter(format!("cannot open the adapter: {e}")))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_, _| flag.store(true, Ordering::SeqCst));
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut last) = sink.lock() {
                *last = Some(e.to_string());
            }
        }));
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
            pipeline_cache: features.contains(wgpu::Features::PIPELINE_CACHE),
            creation_time: start.elapsed(),
            lost,
            uncaptured,
        }))
    }

    /// The first adapter of the option's backends, tried in order.
    fn adapter(options: DeviceOptions) -> Result<wgpu::Adapter> {
        let mut last = String::from("no backend to try");
        for &backends in options.backend.attempts() {
            let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
            desc.backends = backends;
            let instance = wgpu::Instance::new(desc);
            let request = instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: if options.high_performance {
                    wgpu::PowerPreference::HighPerformance
                } else {
                    wgpu::PowerPreference::None
                },
                force_fallback_adapter: false,
                compatible_surface: None,
                apply_limit_buckets: false,
            });
            match pollster::block_on(request) {
                Ok(adapter) => return Ok(adapter),
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::NoAdapter(format!(
            "no {:?} adapter: {last}",
            options.backend
        )))
    }

    /// True once the device is lost (driver reset, removal, or [`wgpu::Device::destroy`]);
    /// a lost device never comes back, so its users must open a new one.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Take the last error that no error scope caught, if any.
    pub fn take_uncaptured_error(&self) -> Option<String> {
        self.uncaptured.lock().ok().and_then(|mut e| e.take())
    }

    /// What the delegate knows of this device's adapter.
    pub fn adapter_info(&self) -> AdapterInfo {
        AdapterInfo {
            description: self.describe(),
            name: self.info.name.clone(),
            backend: format!("{:?}", self.info.backend),
            device_type: format!("{:?}", self.info.device_type),
            timestamp_period_ns: self.queue.get_timestamp_period(),
            f16: self.f16,
            timestamps: self.timestamps,
            timestamps_inside_passes: self.timestamps_inside_passes,
            subgroups: self.subgroups,
        }
    }

    /// The planner's profile of this adapter: its limits, subgroup sizes and f16
    /// from wgpu, compute units and the rest from the vendor/device table.
    pub fn profile(&self) -> super::profile::AdapterProfile {
        super::profile::AdapterProfile::of_adapter(&super::profile::AdapterFacts {
            name: self.info.name.clone(),
            description: self.describe(),
            vendor: self.info.vendor,
            device: self.info.device,
            software: self.info.device_type == wgpu::DeviceType::Cpu,
            subgroup_min: self.info.subgroup_min_size,
            subgroup_max: self.info.subgroup_max_size,
            max_invocations_per_workgroup: self.limits.max_compute_invocations_per_workgroup,
            workgroup_storage_bytes: self.limits.max_compute_workgroup_storage_size,
            f16: self.f16,
            cpu_threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .try_into()
                .unwrap_or(u32::MAX),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_tries_gl_only_after_the_primary_backends() {
        let attempts = Backend::Auto.attempts();
        assert_eq!(attempts, &[wgpu::Backends::PRIMARY, wgpu::Backends::GL]);
        assert!(!attempts[0].contains(wgpu::Backends::GL));
    }

    #[test]
    fn an_explicit_backend_is_tried_alone() {
        assert_eq!(Backend::Vulkan.attempts(), &[wgpu::Backends::VULKAN]);
        assert_eq!(Backend::Gl.attempts(), &[wgpu::Backends::GL]);
    }
}
