//! The program builder: op lowerings allocate virtual buffers and record
//! dispatches; `finish` plans memory, uploads constants and builds pipelines and
//! bind groups.

use super::executor::{GpuProgram, Guard, Readback, Step};
use super::planner::{self, Arenas, BufDesc, BufKind};
use super::{align4, BufId, DispatchSpec, Elem, MAX_GROUPS};
use crate::error::{Error, Result};
use crate::gpu::device::GpuDevice;
use crate::gpu::pipeline::{guards, PipelineCache, PipelineRequest, Precision, GUARD_BINDING};
use crate::gpu::profile::AdapterProfile;
use crate::gpu::tuning::Tuning;
use crate::graph::DType;
use std::sync::{Arc, Mutex};

/// The largest constant arena: weights and biases are packed into buffers of at
/// most this size (see [`planner::plan`]).
const ARENA_BYTES: u64 = 64 << 20;
use std::time::Instant;

/// A virtual buffer: what the planner sees of it, and constant contents.
struct VirtualBuf {
    desc: BufDesc,
    /// Constant contents (already in storage precision).
    data: Option<Vec<u8>>,
}

/// Builds a program: op lowerings allocate buffers and record dispatches.
pub struct ProgramBuilder {
    gpu: Arc<GpuDevice>,
    cache: Arc<PipelineCache>,
    precision: Precision,
    bufs: Vec<VirtualBuf>,
    dispatches: Vec<DispatchSpec>,
    inputs: Vec<(BufId, usize, DType)>,
    outputs: Vec<(BufId, usize, Vec<usize>, DType)>,
    guard: bool,
    /// The nodes reading each input (parallel to `inputs`), for the guard.
    input_readers: Vec<Vec<usize>>,
    /// Nodes reading a constant that f16 cannot hold, for the guard.
    constant_overflows: Vec<usize>,
    /// The adapter profile kernels are planned for.
    profile: AdapterProfile,
    tuning: Tuning,
}

impl ProgramBuilder {
    /// A builder for one partition.
    pub fn new(gpu: Arc<GpuDevice>, cache: Arc<PipelineCache>, precision: Precision) -> Self {
        ProgramBuilder {
            profile: gpu.profile(),
            gpu,
            cache,
            precision,
            bufs: Vec::new(),
            dispatches: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            guard: false,
            input_readers: Vec::new(),
            constant_overflows: Vec::new(),
            tuning: Tuning::UNTUNED,
        }
    }

    /// Build with these kernel overrides (default: none).
    pub fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    /// The kernel overrides the program is built with.
    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    /// Build with the fp16 overflow guard: at f16, every dispatch whose kernel
    /// stores through `to_scalar` sets its node's bit in a flag buffer when a value
    /// saturates, and the program reports those nodes after each run. Nothing at
    /// f32.
    pub fn with_overflow_guard(mut self, guard: bool) -> Self {
        self.guard = guard;
        self
    }

    /// Plan kernels for `profile` instead of the device's own profile (None
    /// keeps the device's).
    pub fn with_profile(mut self, profile: Option<AdapterProfile>) -> Self {
        if let Some(p) = profile {
            self.profile = p;
        }
        self
    }

    /// The adapter profile kernels are planned for.
    pub fn profile(&self) -> &AdapterProfile {
        &self.profile
    }

    fn push(&mut self, elements: usize, elem: Elem, kind: BufKind, data: Option<Vec<u8>>) -> BufId {
        let width = match elem {
            Elem::Scalar => self.precision.bytes(),
            Elem::I32 | Elem::U32 => 4,
        };
        let bytes = align4((elements.max(1) * width) as u64);
        self.bufs.push(VirtualBuf {
            desc: BufDesc {
                bytes,
                kind,
                alias_of: None,
                offset: 0,
            },
            data,
        });
        self.bufs.len() - 1
    }

    /// Whether kernels with a subgroup variant choose it at lowering: the
    /// device has SUBGROUP operations enabled and the tuning does not ask for
    /// workgroup-memory reductions.
    pub fn subgroups(&self) -> bool {
        self.gpu.subgroups && !self.tuning.workgroup_reductions
    }

    /// The device the program is built for (its limits and adapter type feed
    /// the kernels' tiling choices).
    pub fn gpu(&self) -> &GpuDevice {
        &self.gpu
    }

    /// A buffer the host fills with partition input `slot` (a tensor of `dtype`)
    /// before each invoke; an error when `dtype` has no GPU storage.
    pub fn input(&mut self, elements: usize, slot: usize, dtype: DType) -> Result<BufId> {
        let elem = Elem::of(dtype).ok_or_else(|| Error::UnsupportedType {
            dtype: dtype.to_string(),
            what: format!("partition input {slot} needs a GPU storage type"),
        })?;
        let id = self.push(elements, elem, BufKind::Input, None);
        self.inputs.push((id, slot, dtype));
        self.input_readers.push(Vec::new());
        Ok(id)
    }

    /// With the overflow guard at f16: input `id` is read by `nodes`, which an
    /// input value beyond the f16 range flags (the upload is a store of f16
    /// values too).
    pub fn input_read_by(&mut self, id: BufId, nodes: Vec<usize>) {
        if let Some(k) = self.inputs.iter().position(|&(b, _, _)| b == id) {
            self.input_readers[k] = nodes;
        }
    }

    /// With the overflow guard at f16: `node` reads a float constant with values
    /// beyond the f16 range, so every run flags it.
    pub fn constant_overflows(&mut self, node: usize) {
        if self.precision == Precision::F16 && !self.constant_overflows.contains(&node) {
            self.constant_overflows.push(node);
        }
    }

    /// A buffer for an intermediate tensor stored as `elem`.
    pub fn intermediate_of(&mut self, elements: usize, elem: Elem) -> BufId {
        self.push(elements, elem, BufKind::Intermediate, None)
    }

    /// Mark `buf` as partition output `slot` with the given shape, read back as a
    /// tensor of `dtype` (float32, int32, int64, int8, uint8, int16 or bool).
    pub fn mark_output(&mut self, buf: BufId, slot: usize, shape: Vec<usize>, dtype: DType) {
        let root = self.root(buf);
        self.bufs[root].desc.kind = BufKind::Output;
        self.outputs.push((buf, slot, shape, dtype));
    }

    /// A constant of 4-byte integer words (`Elem::I32` or `Elem::U32` storage).
    pub fn constant_words(&mut self, values: &[u32], elem: Elem) -> BufId {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let elem = if elem == Elem::Scalar {
            Elem::U32
        } else {
            elem
        };
        self.push(values.len(), elem, BufKind::Constant, Some(bytes))
    }

    /// A constant of raw bytes (packed 8-bit weights), four to a `u32` word in
    /// little-endian order, so shaders read it as `array<u32>`.
    pub fn constant_packed(&mut self, bytes: &[u8]) -> BufId {
        self.push(
            bytes.len().div_ceil(4),
            Elem::U32,
            BufKind::Constant,
            Some(bytes.to_vec()),
        )
    }

    /// A constant from f32 values, stored in the program's precision.
    pub fn constant(&mut self, values: &[f32]) -> BufId {
        let bytes: Vec<u8> = match self.precision {
            Precision::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Precision::F16 => super::halves::f32_to_le_half_bytes(values),
        };
        self.push(values.len(), Elem::Scalar, BufKind::Constant, Some(bytes))
    }

    /// A constant kept in f32 whatever the precision (biases of long sums, tables).
    pub fn constant_f32(&mut self, values: &[f32]) -> BufId {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let n = bytes.len() as u64;
        self.bufs.push(VirtualBuf {
            desc: BufDesc {
                bytes: align4(n.max(4)),
                kind: BufKind::Constant,
                alias_of: None,
                offset: 0,
            },
            data: Some(bytes),
        });
        self.bufs.len() - 1
    }

    /// A buffer that shares `of`'s storage (free reshape).
    pub fn alias(&mut self, of: BufId) -> BufId {
        let root = self.root(of);
        let (bytes, kind) = (self.bufs[root].desc.bytes, self.bufs[root].desc.kind);
        self.bufs.push(VirtualBuf {
            desc: BufDesc {
                bytes,
                kind,
                alias_of: Some(root),
                offset: 0,
            },
            data: None,
        });
        self.bufs.len() - 1
    }

    /// Make each buffer of `parts` (intermediates not yet bound by any dispatch
    /// together with another of them) a slice of `whole` starting `elements` elements
    /// in: their producers then write straight into `whole`, as a CONCATENATION
    /// along an outer axis needs. Returns false, changing nothing, when any part
    /// cannot be a slice: an input, constant, output or already a slice, two parts
    /// sharing storage or one dispatch, or a start the adapter cannot bind at.
    pub fn place_into(&mut self, parts: &[(BufId, usize)], whole: BufId, elem: Elem) -> bool {
        let width = match elem {
            Elem::Scalar => self.precision.bytes() as u64,
            Elem::I32 | Elem::U32 => 4,
        };
        let align = u64::from(self.gpu.limits.min_storage_buffer_offset_alignment).max(4);
        let whole = self.root(whole);
        let roots: Vec<BufId> = parts.iter().map(|&(b, _)| self.root(b)).collect();
        let fits = parts.iter().zip(&roots).all(|(&(_, start), &r)| {
            let v = &self.bufs[r];
            let offset = start as u64 * width;
            r != whole
                && v.desc.kind == BufKind::Intermediate
                && v.data.is_none()
                && offset % align == 0
                && offset + v.desc.bytes <= self.bufs[whole].desc.bytes
        });
        let mut distinct = roots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let separate = self.dispatches.iter().all(|d| {
            let mut bound: Vec<BufId> = d
                .buffers
                .iter()
                .map(|&b| self.root(b))
                .filter(|r| roots.contains(r))
                .collect();
            bound.sort_unstable();
            bound.dedup();
            bound.len() <= 1
        });
        if !fits || distinct.len() != roots.len() || !separate {
            return false;
        }
        for (&(_, start), &r) in parts.iter().zip(&roots) {
            self.bufs[r].desc.alias_of = Some(whole);
            self.bufs[r].desc.offset = start as u64 * width;
        }
        true
    }

    fn root(&self, mut b: BufId) -> BufId {
        while let Some(a) = self.bufs[b].desc.alias_of {
            b = a;
        }
        b
    }

    /// Record a dispatch.
    pub fn dispatch(&mut self, spec: DispatchSpec) -> Result<()> {
        let limit = self.gpu.limits.max_storage_buffer_binding_size;
        for &b in &spec.buffers {
            let r = self.root(b);
            if self.bufs[r].desc.bytes > limit {
                return Err(Error::device(format!(
                    "a buffer of {} bytes exceeds the adapter's storage binding limit of {limit}",
                    self.bufs[r].desc.bytes
                )));
            }
        }
        self.dispatches.push(spec);
        Ok(())
    }

    /// Plan memory, upload constants, build pipelines and bind groups.
    pub fn finish(self) -> Result<GpuProgram> {
        let gpu = self.gpu.clone();
        let dev = &gpu.device;
        let n = self.dispatches.len();
        let descs: Vec<BufDesc> = self.bufs.iter().map(|v| v.desc).collect();
        let bindings: Vec<&[BufId]> = self.dispatches.iter().map(|d| &d.buffers[..]).collect();
        let arenas = Arenas {
            align: u64::from(gpu.limits.min_storage_buffer_offset_alignment),
            max_bytes: gpu.limits.max_buffer_size.min(ARENA_BYTES),
        };
        let plan = planner::plan(&descs, &bindings, arenas);
        tracing::debug!(
            dispatches = n,
            buffers = plan.sizes.len(),
            packed_constants = plan
                .packed
                .iter()
                .zip(&descs)
                .filter(|(p, d)| p.is_some() && d.alias_of.is_none())
                .count(),
            "memory planned"
        );
        let assign = &plan.assign;
        let buffers: Vec<wgpu::Buffer> = plan
            .sizes
            .iter()
            .map(|size| {
                dev.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: *size,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_DST
                        | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let upload_start = Instant::now();
        for (b, v) in self.bufs.iter().enumerate() {
            if let Some(data) = &v.data {
                let mut bytes = data.clone();
                bytes.resize(v.desc.bytes as usize, 0);
                let at = plan.packed[b].unwrap_or(0);
                gpu.queue.write_buffer(&buffers[assign[b]], at, &bytes);
            }
        }
        // Uniforms: one buffer, one aligned slice per dispatch.
        let align = gpu.limits.min_uniform_buffer_offset_alignment.max(16) as u64;
        let mut offsets = Vec::with_capacity(n);
        let mut uniform_bytes: Vec<u8> = Vec::new();
        for d in &self.dispatches {
            let off = (uniform_bytes.len() as u64).div_ceil(align) * align;
            uniform_bytes.resize(off as usize, 0);
            offsets.push(off);
            let mut words = d.params.clone();
            words.resize(words.len().div_ceil(4).max(1) * 4, 0);
            uniform_bytes.extend(words.iter().flat_map(|w| w.to_le_bytes()));
        }
        // Overflow guard: one flag bit per node a guarded dispatch stores values
        // for (its own and those of the members fused into it), and for each such
        // dispatch a uniform slice after the parameters with the flag word and
        // bit mask of each member slot (`GuardSlots` in shaders/guard_on.wgsl).
        let guarded: Vec<bool> = self
            .dispatches
            .iter()
            .map(|d| self.guard && guards(d.shader, self.precision))
            .collect();
        let mut guard_nodes: Vec<usize> = Vec::new();
        let mut guard_offsets: Vec<Option<u64>> = Vec::with_capacity(n);
        for (d, &g) in self.dispatches.iter().zip(&guarded) {
            if !g {
                guard_offsets.push(None);
                continue;
            }
            let mut words = [0u32; 8];
            for (slot, member) in d.members.iter().enumerate() {
                let Some(node) = *member else { continue };
                let bit = match guard_nodes.iter().position(|&m| m == node) {
                    Some(b) => b,
                    None => {
                        guard_nodes.push(node);
                        guard_nodes.len() - 1
                    }
                };
                words[slot] = (bit / 32) as u32;
                words[4 + slot] = 1u32 << (bit % 32);
            }
            let off = (uniform_bytes.len() as u64).div_ceil(align) * align;
            uniform_bytes.resize(off as usize, 0);
            guard_offsets.push(Some(off));
            uniform_bytes.extend(words.iter().flat_map(|w| w.to_le_bytes()));
        }
        uniform_bytes.resize(uniform_bytes.len().max(16), 0);
        let uniforms = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("uniforms"),
            size: uniform_bytes.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        gpu.queue.write_buffer(&uniforms, 0, &uniform_bytes);
        let guard_buffer = (!guard_nodes.is_empty()).then(|| {
            dev.create_buffer(&wgpu::BufferDescriptor {
                label: Some("overflow guard"),
                size: (guard_nodes.len().div_ceil(32) * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        });
        gpu.queue.submit(None);
        dev.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: None,
        })
        .map_err(|e| Error::device_source(format!("uploading constants failed: {e}"), e))?;
        let constant_upload = upload_start.elapsed();
        let pipeline_start = Instant::now();

        let requests: Vec<PipelineRequest<'_>> = self
            .dispatches
            .iter()
            .zip(&guarded)
            .map(|(d, &guard)| PipelineRequest {
                shader: d.shader,
                constants: &d.constants,
                guard,
                trusted: d.trusted && !self.tuning.shader_checks,
            })
            .collect();
        let pipelines = self.cache.get_all(&gpu, self.precision, &requests)?;
        let scope = dev.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut steps = Vec::with_capacity(n);
        for ((i, d), pipeline) in self.dispatches.iter().enumerate().zip(pipelines) {
            let layout = pipeline.get_bind_group_layout(0);
            let param_size = (d.params.len().div_ceil(4).max(1) * 16) as u64;
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &uniforms,
                    offset: offsets[i],
                    size: std::num::NonZeroU64::new(param_size),
                }),
            }];
            for (k, &b) in d.buffers.iter().enumerate() {
                // A packed constant is bound to its own bytes within its arena,
                // as its own buffer was; any other buffer to its physical
                // buffer's end.
                let within = planner::root_offset(&descs, b);
                let (offset, size) = match plan.packed[b] {
                    Some(at) => (
                        at + within,
                        std::num::NonZeroU64::new(descs[self.root(b)].bytes - within),
                    ),
                    None => (within, None),
                };
                entries.push(wgpu::BindGroupEntry {
                    binding: k as u32 + 1,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &buffers[assign[b]],
                        offset,
                        size,
                    }),
                });
            }
            if let (Some(flags), Some(offset)) = (&guard_buffer, guard_offsets[i]) {
                if d.buffers.len() as u32 >= GUARD_BINDING {
                    return Err(Error::device(format!(
                        "dispatch {} binds {} buffers, past the overflow guard's binding {GUARD_BINDING}",
                        d.shader.name,
                        d.buffers.len()
                    )));
                }
                entries.push(wgpu::BindGroupEntry {
                    binding: GUARD_BINDING,
                    resource: flags.as_entire_binding(),
                });
                entries.push(wgpu::BindGroupEntry {
                    binding: GUARD_BINDING + 1,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &uniforms,
                        offset,
                        size: std::num::NonZeroU64::new(32),
                    }),
                });
            }
            let bind_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &layout,
                entries: &entries,
            });
            let groups = d.invocations.div_ceil(d.workgroup_size as u64).max(1);
            let x = groups.min(MAX_GROUPS);
            let y = groups.div_ceil(MAX_GROUPS);
            if y > MAX_GROUPS {
                return Err(Error::device(format!(
                    "dispatch of {} invocations is too large",
                    d.invocations
                )));
            }
            steps.push(Step {
                pipeline,
                bind_group,
                groups: (x as u32, y as u32),
                node: d.node,
                fused: d.fused.clone(),
                workgroup_size: d.workgroup_size,
                kernel: kernel_name(d),
                source: (
                    d.shader,
                    guarded[i],
                    d.constants
                        .iter()
                        .map(|(k, v)| (k.to_string(), *v))
                        .collect(),
                ),
            });
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::device_source(
                format!("building bind groups failed: {e}"),
                e,
            ));
        }
        let pipeline_creation = pipeline_start.elapsed();
        // The flag words ride at the end of the first output's staging buffer: no
        // extra copy target, no extra map.
        let guard_bytes = guard_buffer
            .as_ref()
            .filter(|_| !self.outputs.is_empty())
            .map_or(0, |b| b.size());
        let readbacks = self
            .outputs
            .iter()
            .enumerate()
            .map(|(k, (b, slot, shape, dtype))| {
                let size = self.bufs[self.root(*b)].desc.bytes;
                let staging = dev.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("readback"),
                    size: size + if k == 0 { guard_bytes } else { 0 },
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                Readback {
                    source: assign[*b],
                    staging,
                    size,
                    slot: *slot,
                    shape: shape.clone(),
                    dtype: *dtype,
                }
            })
            .collect();
        let inputs = self
            .inputs
            .iter()
            .map(|&(b, slot, dtype)| (assign[b], slot, dtype))
            .collect();
        let io = super::executor::Io::new(
            dev,
            self.inputs
                .iter()
                .map(|&(b, _, _)| self.bufs[self.root(b)].desc.bytes),
        );
        let planned_bytes = plan.sizes.iter().sum();
        let constant_bytes = descs
            .iter()
            .filter(|v| v.alias_of.is_none() && v.kind == BufKind::Constant)
            .map(|v| v.bytes)
            .sum();
        let tensor_bytes = descs
            .iter()
            .filter(|v| v.alias_of.is_none())
            .map(|v| v.bytes)
            .sum();
        let liveness_bytes = plan.liveness_bytes;
        let guard = guard_buffer
            .filter(|_| guard_bytes > 0)
            .map(|buffer| Guard {
                buffer,
                nodes: guard_nodes,
                readers: self.input_readers,
                constants: self.constant_overflows,
            });
        Ok(GpuProgram {
            gpu,
            precision: self.precision,
            buffers,
            _uniforms: uniforms,
            steps,
            inputs,
            readbacks,
            planned_bytes,
            tensor_bytes,
            constant_bytes,
            liveness_bytes,
            constant_upload,
            pipeline_creation,
            timestamps: Mutex::new(None),
            guard,
            overflowed: Mutex::new(Vec::new()),
            input_copies: Default::default(),
            io: Mutex::new(io),
        })
    }
}

/// The kernel a dispatch runs, as `inspect` shows it: the shader family and the
/// override constants that select its variant (those that are not 0).
fn kernel_name(d: &DispatchSpec) -> String {
    let constants: Vec<String> = d
        .constants
        .iter()
        .filter(|(_, v)| *v != 0.0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if constants.is_empty() {
        return d.shader.name.to_string();
    }
    format!("{}[{}]", d.shader.name, constants.join(","))
}
