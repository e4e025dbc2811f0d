//! Shaders and the pipeline cache.
//!
//! Kernels are plain `.wgsl` files under `shaders/`, owned by the GPU op family
//! that dispatches them; a dispatch hands the cache the kernel's typed handle
//! ([`Shader`]), whose pieces it assembles. At pipeline creation a small
//! prelude picks the storage precision (`alias scalar = f32;` or, with SHADER_F16,
//! `enable f16; alias scalar = f16;`). Shapes and strides travel in uniforms and
//! variants in override constants, so identical layers share one pipeline: the
//! cache key is (shader, precision, guard, checked, constants).
//!
//! Modules are built with naga's runtime checks (index clamps, division guards,
//! loop bounding) unless the dispatch is trusted: its lowering proved every index
//! in bounds from the buffer sizes and the geometry (the tiled convolution and
//! matmul kernels). [`Tuning::shader_checks`](super::tuning::Tuning) turns the
//! checks back on for every module of a program; the test suite runs with it.
//!
//! With the fp16 overflow guard, the f16 prologue of a kernel that stores floats
//! also declares a flag buffer (`@group(0) @binding(14)`, [`GUARD_BINDING`]) and
//! the flag bits of the dispatch's members (`@group(0) @binding(15)`), in the
//! kernel's own bind group: a store that saturates sets its node's bit with one
//! `atomicOr`, taken only on the overflow path.

use super::device::GpuDevice;
use super::pipeline_cache::{CacheStatus, DiskCache};
use super::shader::Shader;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The binding of the overflow guard's flag buffer in a guarded kernel's bind
/// group (shaders/guard_on.wgsl); its member slots are the next binding. A
/// kernel's own buffers are bindings 1 .. this.
pub const GUARD_BINDING: u32 = 14;

/// Invocations per workgroup of every kernel: dispatches split their invocations
/// by it, and the shaders see it as the WGSL constant `WORKGROUP_SIZE`.
pub const WORKGROUP_SIZE: u32 = 64;

/// The prologue's guarded stores: every f16 value a kernel writes to storage is
/// the result of one of them (a unit test checks every kernel with naga).
pub const GUARDED_STORES: &[&str] = &["to_scalar", "to_scalar_of", "to_scalar4"];

/// Storage precision of a compiled kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 storage and math.
    F32,
    /// f16 storage and math, f32 accumulation where sums grow.
    F16,
}

impl Precision {
    /// The prologue prepended to every shader: shaders/prologue_f32.wgsl, or
    /// shaders/prologue_f16.wgsl with shaders/guard_off.wgsl.
    ///
    /// Every float a kernel stores goes through the prologue's `to_scalar` (or
    /// `to_scalar4`, `to_scalar_of`): in f16 it saturates finite values at +-65504
    /// so that nothing the CPU computes as finite becomes infinite on the GPU
    /// (true infinities and NaN pass through).
    pub fn prelude(self) -> &'static str {
        match self {
            Precision::F32 => include_str!("../../shaders/prologue_f32.wgsl"),
            Precision::F16 => concat!(
                include_str!("../../shaders/prologue_f16.wgsl"),
                include_str!("../../shaders/guard_off.wgsl")
            ),
        }
    }

    /// The prologue with the overflow guard (shaders/guard_on.wgsl): at f16, the
    /// guarded store also sets the flag bit of the node it stores for when a
    /// value leaves the f16 range (|v| > 65504 or non-finite); at f32 the plain
    /// prologue.
    pub fn guarded_prelude(self) -> &'static str {
        match self {
            Precision::F32 => self.prelude(),
            Precision::F16 => concat!(
                include_str!("../../shaders/prologue_f16.wgsl"),
                include_str!("../../shaders/guard_on.wgsl")
            ),
        }
    }

    /// Bytes per stored element.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }
}

/// The full WGSL source of `shader` at `precision` (prelude and body).
#[cfg(test)]
pub fn shader_source(shader: &Shader, precision: Precision) -> String {
    guarded_source(shader, precision, false)
}

/// Whether `shader` at `precision` carries the overflow guard when asked for
/// it: f16 kernels that store floats (through the prologue's `to_scalar`,
/// `to_scalar_of` or `to_scalar4`).
pub fn guards(shader: &Shader, precision: Precision) -> bool {
    precision == Precision::F16 && {
        let body = shader.body();
        GUARDED_STORES.iter().any(|f| body.contains(f))
    }
}

/// The full WGSL source of `shader` at `precision`, with the overflow-guard
/// prelude when `guard` is set and the kernel [`guards`] at `precision`.
pub fn guarded_source(shader: &Shader, precision: Precision, guard: bool) -> String {
    let prelude = if guard && guards(shader, precision) {
        precision.guarded_prelude()
    } else {
        precision.prelude()
    };
    shader.source(prelude, WORKGROUP_SIZE)
}

/// A kernel in a cache key, compared and hashed by its name (kernel names are
/// unique: the registry's test checks it).
#[derive(Clone, Copy)]
struct ShaderRef(&'static Shader);

impl PartialEq for ShaderRef {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for ShaderRef {}

impl Hash for ShaderRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    shader: ShaderRef,
    precision: Precision,
    guard: bool,
    checked: bool,
    constants: Vec<(String, u64)>,
}

impl Key {
    fn module(&self) -> ModuleKey {
        (self.shader, self.precision, self.guard, self.checked)
    }
}

/// One dispatch's pipeline, as [`PipelineCache::get_all`] takes it: the
/// kernel, its constants, the guard and the checks (the precision is the
/// program's).
pub struct PipelineRequest<'a> {
    /// The kernel.
    pub shader: &'static Shader,
    /// Its override constants.
    pub constants: &'a [(&'a str, f64)],
    /// With the overflow guard (where the kernel [`guards`]).
    pub guard: bool,
    /// Built without runtime checks.
    pub trusted: bool,
}

impl PipelineRequest<'_> {
    /// The cache key at `precision`.
    fn key(&self, precision: Precision) -> Key {
        Key {
            shader: ShaderRef(self.shader),
            precision,
            guard: self.guard && guards(self.shader, precision),
            checked: !self.trusted,
            constants: self
                .constants
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_bits()))
                .collect(),
        }
    }
}

/// A shader module: (shader, precision, with the overflow guard, with runtime
/// checks).
type ModuleKey = (ShaderRef, Precision, bool, bool);

/// Compiled pipelines shared by every program on one device.
#[derive(Default)]
pub struct PipelineCache {
    modules: Mutex<HashMap<ModuleKey, Arc<wgpu::ShaderModule>>>,
    pipelines: Mutex<HashMap<Key, Arc<wgpu::ComputePipeline>>>,
    /// The persistent cache pipelines are created with, once attached.
    disk: OnceLock<Option<DiskCache>>,
    /// Pipelines created through the persistent cache since it was last saved.
    unsaved: AtomicUsize,
}

impl PipelineCache {
    /// Attach the persistent cache in `dir` (None: no persistent cache), loading
    /// it; only the first call on a device has an effect.
    pub fn attach_disk(&self, gpu: &GpuDevice, dir: Option<&Path>) {
        self.disk
            .get_or_init(|| dir.and_then(|d| DiskCache::open(gpu, d)));
    }

    /// Save the persistent cache when pipelines were created since it was loaded
    /// or last saved.
    pub fn save_disk(&self) {
        if let Some(Some(disk)) = self.disk.get() {
            if self.unsaved.swap(0, Ordering::Relaxed) > 0 {
                disk.save();
            }
        }
    }

    /// The persistent cache's file, whether it was loaded, and its size; None
    /// without one.
    pub fn disk_status(&self) -> Option<CacheStatus> {
        self.disk
            .get()
            .and_then(Option::as_ref)
            .map(DiskCache::status)
    }

    /// The pipelines of `requests` at `precision`, in order. Requests with the
    /// same key share one pipeline; those not in the cache yet are compiled
    /// first, their modules and then the pipelines each on up to
    /// `available_parallelism` threads (a wgpu device is shared between
    /// threads, and a hardware driver compiles a pipeline on the thread that
    /// asks). A software adapter compiles on this thread alone: Mesa's lavapipe
    /// takes no less time with two threads than with one (it serializes the
    /// compiles) and its "GPU" is the same CPU anyway.
    pub fn get_all(
        &self,
        gpu: &GpuDevice,
        precision: Precision,
        requests: &[PipelineRequest<'_>],
    ) -> Result<Vec<Arc<wgpu::ComputePipeline>>> {
        let keys: Vec<Key> = requests.iter().map(|r| r.key(precision)).collect();
        let mut missing: Vec<usize> = Vec::new();
        {
            let built = self
                .pipelines
                .lock()
                .map_err(|_| Error::device("the pipeline cache is poisoned"))?;
            for (i, k) in keys.iter().enumerate() {
                if !built.contains_key(k) && !missing.iter().any(|&m| keys[m] == *k) {
                    missing.push(i);
                }
            }
        }
        let mut modules: Vec<ModuleKey> = Vec::new();
        for &i in &missing {
            if !modules.contains(&keys[i].module()) {
                modules.push(keys[i].module());
            }
        }
        let threads = match gpu.info.device_type {
            wgpu::DeviceType::Cpu => 1,
            _ => std::thread::available_parallelism().map_or(1, usize::from),
        };
        parallel(threads, modules.len(), |k| {
            self.module(gpu, modules[k]).map(drop)
        })?;
        parallel(threads, missing.len(), |k| {
            let i = missing[k];
            self.get(gpu, &keys[i], requests[i].constants).map(drop)
        })?;
        keys.iter()
            .zip(requests)
            .map(|(k, r)| self.get(gpu, k, r.constants))
            .collect()
    }

    /// The pipeline of `key` (whose constants are `constants`), built on first
    /// use.
    fn get(
        &self,
        gpu: &GpuDevice,
        key: &Key,
        constants: &[(&str, f64)],
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        if let Some(p) = self.pipelines.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(p);
        }
        let shader = key.shader.0.name;
        let module = self.module(gpu, key.module())?;
        let disk = self.disk.get().and_then(Option::as_ref);
        let started = std::time::Instant::now();
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = gpu
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(shader),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: disk.map(|d| &d.cache),
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::device_source(
                format!("pipeline {shader} failed to build: {e}"),
                e,
            ));
        }
        tracing::debug!(
            shader,
            constants = ?key.constants,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "pipeline created"
        );
        if disk.is_some() {
            self.unsaved.fetch_add(1, Ordering::Relaxed);
        }
        let pipeline = Arc::new(pipeline);
        if let Ok(mut m) = self.pipelines.lock() {
            m.entry(key.clone()).or_insert_with(|| pipeline.clone());
        }
        Ok(pipeline)
    }

    fn module(&self, gpu: &GpuDevice, key: ModuleKey) -> Result<Arc<wgpu::ShaderModule>> {
        if let Some(m) = self.modules.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(m);
        }
        let (ShaderRef(kernel), precision, guard, checked) = key;
        let shader = kernel.name;
        let source = guarded_source(kernel, precision, guard);
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(shader),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = if checked {
            gpu.device.create_shader_module(desc)
        } else {
            // SAFETY: only dispatches whose lowering proved every buffer index in
            // bounds (buffer sizes checked against the geometry) and whose loops
            // end (bounds from uniforms, constant steps) ask for an unchecked
            // module; divisors are sizes the lowering checked to be nonzero.
            unsafe {
                gpu.device
                    .create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
            }
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::device_source(
                format!("shader {shader} failed to compile: {e}"),
                e,
            ));
        }
        let module = Arc::new(module);
        if let Ok(mut m) = self.modules.lock() {
            m.entry(key).or_insert_with(|| module.clone());
        }
        Ok(module)
    }
}

/// Run `task(0..n)` on up to `threads` scoped threads (inline when one would
/// do); the first error, if any.
fn parallel(threads: usize, n: usize, task: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    let threads = threads.min(n);
    if threads <= 1 {
        return (0..n).try_for_each(task);
    }
    let next = AtomicUsize::new(0);
    let work = || -> Result<()> {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= n {
                return Ok(());
            }
            task(k)?;
        }
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mine = work();
        helpers
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::device("a pipeline build panicked")))
            })
            .fold(mine, Result::and)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every task runs exactly once, on one thread or several, and an error of
    /// any task is the result.
    #[test]
    fn parallel_runs_every_task_once() {
        for threads in [1, 2, 5] {
            let hits: Vec<AtomicUsize> = (0..50).map(|_| AtomicUsize::new(0)).collect();
            parallel(threads, hits.len(), |k| {
                hits[k].fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .expect("no task fails");
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            let failed = parallel(threads, 50, |k| match k {
                17 => Err(Error::device("task 17 failed")),
                _ => Ok(()),
            });
            assert!(failed.is_err_and(|e| e.to_string().contains("task 17")));
        }
    }
}
