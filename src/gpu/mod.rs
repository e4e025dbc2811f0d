//! The wgpu backend: device, pipeline cache, programs (compiled partitions) and
//! one lowering file per op family under `ops/`.

// The shader macros (`uniforms!`, `selectors!`) are in scope for the modules
// declared after it.
#[macro_use]
pub mod shader;

pub mod device;
pub mod ops;
pub mod pipeline;
pub mod pipeline_cache;
pub mod profile;
pub mod program;
pub mod timing;
pub mod tuning;
pub mod verdict;

use crate::error::Result;
use device::{DeviceOptions, GpuDevice};
use pipeline::PipelineCache;
use std::sync::{Arc, Mutex, OnceLock};

type Shared = (DeviceOptions, Arc<GpuDevice>, Arc<PipelineCache>);

/// The device (and its pipeline cache) for these options, opened once per process
/// and shared by every interpreter. A device that was lost is dropped from the
/// registry and a new one opened in its place.
pub fn shared_device(options: DeviceOptions) -> Result<(Arc<GpuDevice>, Arc<PipelineCache>)> {
    static DEVICES: OnceLock<Mutex<Vec<Shared>>> = OnceLock::new();
    let devices = DEVICES.get_or_init(|| Mutex::new(Vec::new()));
    let mut list = devices
        .lock()
        .map_err(|_| crate::Error::device("device registry poisoned"))?;
    list.retain(|(_, d, _)| !d.is_lost());
    if let Some((_, d, c)) = list.iter().find(|(o, _, _)| *o == options) {
        return Ok((d.clone(), c.clone()));
    }
    let d = GpuDevice::new(options)?;
    let c = Arc::new(PipelineCache::default());
    list.push((options, d.clone(), c.clone()));
    Ok((d, c))
}
#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod shader_tests;
