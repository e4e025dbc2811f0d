//! A compiled GPU partition: buffers planned by liveness, pipelines and bind groups
//! built once; each invoke writes the inputs, records every dispatch into one
//! command encoder, submits once and reads the outputs back once.

use super::device::GpuDevice;
use super::pipeline::{PipelineCache, Precision};
use super::timing::TimestampMode;
use super::timing::Timestamps;
use crate::error::{Error, Result};
use crate::graph::DType;
use crate::graph::{Data, Tensor};
use half::f16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A virtual buffer of the program before memory planning.
pub type BufId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BufKind {
    /// Written by the host before each invoke.
    Input,
    /// Produced inside and read back after each invoke.
    Output,
    /// Produced and consumed inside; pooled by liveness.
    Intermediate,
    /// Uploaded once at prepare.
    Constant,
}

/// What one element of a virtual buffer is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// The float `scalar` of the shader prelude (f32 or f16 by precision).
    Scalar,
    /// A 4-byte signed word (`array<i32>`): int32 and int64 tensors, and the
    /// quantized 8- and 16-bit activations (one raw integer value per word).
    I32,
    /// A 4-byte unsigned word (`array<u32>`): bool tensors as 0/1.
    U32,
}

impl Elem {
    /// How a tensor of `dtype` is stored on the GPU, if it can be.
    pub fn of(dtype: DType) -> Option<Elem> {
        match dtype {
            DType::F32 => Some(Elem::Scalar),
            DType::I32 | DType::I64 | DType::I8 | DType::U8 | DType::I16 => Some(Elem::I32),
            DType::Bool => Some(Elem::U32),
            _ => None,
        }
    }
}

struct VirtualBuf {
    bytes: u64,
    kind: BufKind,
    /// Constant contents (already in storage precision).
    data: Option<Vec<u8>>,
    /// Another buffer this one shares storage with (free reshapes).
    alias_of: Option<BufId>,
    first_use: usize,
    last_use: usize,
}

/// One recorded kernel launch.
pub struct DispatchSpec {
    /// Kernel family (file under shaders/).
    pub shader: &'static str,
    /// Override constants selecting the variant.
    pub constants: Vec<(&'static str, f64)>,
    /// Uniform words (u32 / i32 / f32 bit patterns), binding 0.
    pub params: Vec<u32>,
    /// Storage buffers at bindings 1.., the written one last.
    pub buffers: Vec<BufId>,
    /// Total invocations; split into workgroups of `workgroup_size`.
    pub invocations: u64,
    /// Workgroup size the shader declares (x dimension).
    pub workgroup_size: u32,
    /// The model node this dispatch belongs to (for profiling).
    pub node: usize,
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
}

/// Largest number of workgroups along one dispatch dimension.
pub const MAX_GROUPS: u64 = 65_535;

fn align4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}

impl ProgramBuilder {
    /// A builder for one partition.
    pub fn new(gpu: Arc<GpuDevice>, cache: Arc<PipelineCache>, precision: Precision) -> Self {
        ProgramBuilder {
            gpu,
            cache,
            precision,
            bufs: Vec::new(),
            dispatches: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// The storage precision of this program.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The device.
    pub fn gpu(&self) -> &GpuDevice {
        &self.gpu
    }

    fn push(&mut self, elements: usize, elem: Elem, kind: BufKind, data: Option<Vec<u8>>) -> BufId {
        let width = match elem {
            Elem::Scalar => self.precision.bytes(),
            Elem::I32 | Elem::U32 => 4,
        };
        let bytes = align4((elements.max(1) * width) as u64);
        self.bufs.push(VirtualBuf {
            bytes,
            kind,
            data,
            alias_of: None,
            first_use: usize::MAX,
            last_use: 0,
        });
        self.bufs.len() - 1
    }

    /// A buffer the host fills with partition input `slot` (a tensor of `dtype`)
    /// before each invoke; an error when `dtype` has no GPU storage.
    pub fn input(&mut self, elements: usize, slot: usize, dtype: DType) -> Result<BufId> {
        let elem = Elem::of(dtype)
            .ok_or_else(|| Error::Device(format!("partition input {slot} is {dtype}")))?;
        let id = self.push(elements, elem, BufKind::Input, None);
        self.inputs.push((id, slot, dtype));
        Ok(id)
    }

    /// A buffer for an intermediate float tensor.
    pub fn intermediate(&mut self, elements: usize) -> BufId {
        self.push(elements, Elem::Scalar, BufKind::Intermediate, None)
    }

    /// A buffer for an intermediate tensor stored as `elem`.
    pub fn intermediate_of(&mut self, elements: usize, elem: Elem) -> BufId {
        self.push(elements, elem, BufKind::Intermediate, None)
    }

    /// Mark `buf` as partition output `slot` with the given shape, read back as a
    /// tensor of `dtype` (float32, int32, int64, int8, uint8, int16 or bool).
    pub fn mark_output(&mut self, buf: BufId, slot: usize, shape: Vec<usize>, dtype: DType) {
        let root = self.root(buf);
        self.bufs[root].kind = BufKind::Output;
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
            Precision::F16 => values
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect(),
        };
        self.push(values.len(), Elem::Scalar, BufKind::Constant, Some(bytes))
    }

    /// A constant kept in f32 whatever the precision (biases of long sums, tables).
    pub fn constant_f32(&mut self, values: &[f32]) -> BufId {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let n = bytes.len() as u64;
        self.bufs.push(VirtualBuf {
            bytes: align4(n.max(4)),
            kind: BufKind::Constant,
            data: Some(bytes),
            alias_of: None,
            first_use: usize::MAX,
            last_use: 0,
        });
        self.bufs.len() - 1
    }

    /// A buffer that shares `of`'s storage (free reshape).
    pub fn alias(&mut self, of: BufId) -> BufId {
        let root = self.root(of);
        let (bytes, kind) = (self.bufs[root].bytes, self.bufs[root].kind);
        self.bufs.push(VirtualBuf {
            bytes,
            kind,
            data: None,
            alias_of: Some(root),
            first_use: usize::MAX,
            last_use: 0,
        });
        self.bufs.len() - 1
    }

    fn root(&self, mut b: BufId) -> BufId {
        while let Some(a) = self.bufs[b].alias_of {
            b = a;
        }
        b
    }

    /// Record a dispatch.
    pub fn dispatch(&mut self, spec: DispatchSpec) -> Result<()> {
        let index = self.dispatches.len();
        for &b in &spec.buffers {
            let r = self.root(b);
            let v = &mut self.bufs[r];
            v.first_use = v.first_use.min(index);
            v.last_use = v.last_use.max(index);
        }
        let limit = self.gpu.limits.max_storage_buffer_binding_size;
        for &b in &spec.buffers {
            let r = self.root(b);
            if self.bufs[r].bytes > limit {
                return Err(Error::Device(format!(
                    "a buffer of {} bytes exceeds the adapter's storage binding limit of {limit}",
                    self.bufs[r].bytes
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
        // Physical buffers: constants and inputs/outputs get their own; intermediates
        // are pooled greedily by size over non-overlapping lifetimes.
        let mut physical: Vec<(u64, Vec<(usize, usize)>)> = Vec::new();
        let mut assign: Vec<usize> = vec![usize::MAX; self.bufs.len()];
        let mut order: Vec<usize> = (0..self.bufs.len())
            .filter(|&b| self.bufs[b].alias_of.is_none())
            .collect();
        order.sort_by_key(|&b| std::cmp::Reverse(self.bufs[b].bytes));
        for b in order {
            let v = &self.bufs[b];
            let (start, end) = match v.kind {
                BufKind::Intermediate => (v.first_use.min(n), v.last_use),
                _ => (0, n + 1),
            };
            let reusable = v.kind == BufKind::Intermediate;
            let slot = if reusable {
                physical
                    .iter()
                    .enumerate()
                    .filter(|(_, (size, uses))| {
                        *size >= v.bytes
                            && !uses.is_empty()
                            && uses.iter().all(|&(s, e)| e < start || s > end)
                            && uses[0].1 <= n
                    })
                    .min_by_key(|(_, (size, _))| *size)
                    .map(|(i, _)| i)
            } else {
                None
            };
            let p = match slot {
                Some(p) => p,
                None => {
                    physical.push((v.bytes, Vec::new()));
                    physical.len() - 1
                }
            };
            physical[p].1.push((start, end));
            assign[b] = p;
        }
        for b in 0..self.bufs.len() {
            if self.bufs[b].alias_of.is_some() {
                assign[b] = assign[self.root(b)];
            }
        }
        let buffers: Vec<wgpu::Buffer> = physical
            .iter()
            .map(|(size, _)| {
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
                bytes.resize(v.bytes as usize, 0);
                gpu.queue.write_buffer(&buffers[assign[b]], 0, &bytes);
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
        uniform_bytes.resize(uniform_bytes.len().max(16), 0);
        let uniforms = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("uniforms"),
            size: uniform_bytes.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        gpu.queue.write_buffer(&uniforms, 0, &uniform_bytes);
        gpu.queue.submit(None);
        dev.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: None,
        })
        .map_err(|e| Error::Device(format!("uploading constants failed: {e}")))?;
        let constant_upload = upload_start.elapsed();
        let pipeline_start = Instant::now();

        let scope = dev.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut steps = Vec::with_capacity(n);
        for (i, d) in self.dispatches.iter().enumerate() {
            let pipeline = self
                .cache
                .get(&gpu, d.shader, self.precision, &d.constants)?;
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
                entries.push(wgpu::BindGroupEntry {
                    binding: k as u32 + 1,
                    resource: buffers[assign[b]].as_entire_binding(),
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
                return Err(Error::Device(format!(
                    "dispatch of {} invocations is too large",
                    d.invocations
                )));
            }
            steps.push(Step {
                pipeline,
                bind_group,
                groups: (x as u32, y as u32),
                node: d.node,
            });
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!("building bind groups failed: {e}")));
        }
        let pipeline_creation = pipeline_start.elapsed();
        let readbacks = self
            .outputs
            .iter()
            .map(|(b, slot, shape, dtype)| {
                let size = self.bufs[self.root(*b)].bytes;
                let staging = dev.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("readback"),
                    size,
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
        let planned_bytes = physical.iter().map(|(s, _)| s).sum();
        let constant_bytes = self
            .bufs
            .iter()
            .filter(|v| v.alias_of.is_none() && v.kind == BufKind::Constant)
            .map(|v| v.bytes)
            .sum();
        let tensor_bytes = self
            .bufs
            .iter()
            .filter(|v| v.alias_of.is_none())
            .map(|v| v.bytes)
            .sum();
        let liveness_bytes = self.liveness_bound(n);
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
        })
    }

    /// The most bytes of buffers live at any one of the `n` dispatches: every
    /// constant, input and output, and the intermediates that dispatch lies within
    /// the first and last use of. No allocator can do with less.
    fn liveness_bound(&self, n: usize) -> u64 {
        let roots: Vec<&VirtualBuf> = self.bufs.iter().filter(|v| v.alias_of.is_none()).collect();
        let fixed: u64 = roots
            .iter()
            .filter(|v| v.kind != BufKind::Intermediate)
            .map(|v| v.bytes)
            .sum();
        let mut live = vec![0u64; n.max(1)];
        for v in roots.iter().filter(|v| v.kind == BufKind::Intermediate) {
            for l in live
                .iter_mut()
                .take(v.last_use.saturating_add(1).min(n))
                .skip(v.first_use)
            {
                *l += v.bytes;
            }
        }
        fixed + live.into_iter().max().unwrap_or(0)
    }
}

struct Step {
    pipeline: Arc<wgpu::ComputePipeline>,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
    node: usize,
}

struct Readback {
    source: usize,
    staging: wgpu::Buffer,
    size: u64,
    slot: usize,
    shape: Vec<usize>,
    dtype: DType,
}

/// A prepared partition, ready to run.
pub struct GpuProgram {
    gpu: Arc<GpuDevice>,
    precision: Precision,
    buffers: Vec<wgpu::Buffer>,
    _uniforms: wgpu::Buffer,
    steps: Vec<Step>,
    inputs: Vec<(usize, usize, DType)>,
    readbacks: Vec<Readback>,
    /// Bytes of GPU memory the plan allocates.
    pub planned_bytes: u64,
    /// Bytes all tensors would take without reuse.
    pub tensor_bytes: u64,
    /// Bytes of the constants (weights, biases, quantization parameters), included
    /// in `planned_bytes`.
    pub constant_bytes: u64,
    /// The liveness lower bound: the most bytes of buffers live at one dispatch.
    pub liveness_bytes: u64,
    /// Host time writing the constants and waiting for them to reach the GPU.
    pub constant_upload: Duration,
    /// Host time creating (or fetching from the cache) pipelines and bind groups.
    pub pipeline_creation: Duration,
    /// Timestamp queries of profiled runs, created by the first one (inner None:
    /// the adapter has none).
    timestamps: Mutex<Option<Option<Timestamps>>>,
}

impl GpuProgram {
    /// The storage precision this program was compiled at (quantized and fp32-node
    /// partitions compile at f32 whatever was asked for).
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Number of dispatches per invoke.
    pub fn num_dispatches(&self) -> usize {
        self.steps.len()
    }

    /// The node of each dispatch, in order.
    pub fn dispatch_nodes(&self) -> Vec<usize> {
        self.steps.iter().map(|s| s.node).collect()
    }

    /// The bytes of partition input `slot` as stored on the GPU: floats in the
    /// program's precision, int32/int64 as i32 words (int64 narrowed; values that
    /// do not fit are an error), int8/uint8/int16 widened to i32 words, bool as
    /// u32 0/1.
    fn upload_bytes(&self, t: &Tensor, slot: usize, dtype: DType) -> Result<Vec<u8>> {
        let wrong = || {
            Error::Device(format!(
                "partition input {slot} is {}, the program expects {dtype}",
                t.dtype()
            ))
        };
        Ok(match (&t.data, dtype) {
            (Data::F32(values), DType::F32) => match self.precision {
                Precision::F32 => bytemuck::cast_slice(values).to_vec(),
                Precision::F16 => values
                    .iter()
                    .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                    .collect(),
            },
            (Data::I32(values), DType::I32) => bytemuck::cast_slice(values).to_vec(),
            (Data::I8(values), DType::I8) => values
                .iter()
                .flat_map(|&v| i32::from(v).to_le_bytes())
                .collect(),
            (Data::U8(values), DType::U8) => values
                .iter()
                .flat_map(|&v| i32::from(v).to_le_bytes())
                .collect(),
            (Data::I16(values), DType::I16) => values
                .iter()
                .flat_map(|&v| i32::from(v).to_le_bytes())
                .collect(),
            (Data::I64(values), DType::I64) => {
                let mut out = Vec::with_capacity(values.len() * 4);
                for &v in values {
                    let w = i32::try_from(v).map_err(|_| {
                        Error::Device(format!(
                            "partition input {slot} holds {v}, outside the int32 range the GPU stores"
                        ))
                    })?;
                    out.extend(w.to_le_bytes());
                }
                out
            }
            (Data::Bool(values), DType::Bool) => values
                .iter()
                .flat_map(|&v| u32::from(v).to_le_bytes())
                .collect(),
            _ => return Err(wrong()),
        })
    }

    /// `n` elements of a read-back buffer as a tensor of `dtype`.
    fn decode(&self, view: &[u8], n: usize, dtype: DType) -> Result<Data> {
        let words = |view: &[u8]| -> Vec<i32> {
            view[..n * 4]
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        Ok(match dtype {
            DType::F32 => Data::F32(match self.precision {
                Precision::F32 => view[..n * 4]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                Precision::F16 => view[..n * 2]
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            }),
            DType::I32 => Data::I32(words(view)),
            DType::I8 => Data::I8(words(view).into_iter().map(|w| w as i8).collect()),
            DType::U8 => Data::U8(words(view).into_iter().map(|w| w as u8).collect()),
            DType::I16 => Data::I16(words(view).into_iter().map(|w| w as i16).collect()),
            DType::I64 => Data::I64(words(view).into_iter().map(i64::from).collect()),
            DType::Bool => Data::Bool(words(view).into_iter().map(|w| w != 0).collect()),
            other => return Err(Error::Device(format!("cannot read back a {other} tensor"))),
        })
    }

    /// Run with the partition inputs (float32, int32, int64 or bool tensors of the
    /// dtypes the program was compiled for) and return its outputs.
    pub fn run(&self, inputs: &[&Tensor], num_outputs: usize) -> Result<Vec<Tensor>> {
        self.run_with(inputs, num_outputs, None)
            .map(|(outputs, _)| outputs)
    }

    /// Like [`GpuProgram::run`], also measuring the host time of the transfers and,
    /// where the adapter has timestamp queries, the GPU time of every dispatch (in
    /// the order of [`GpuProgram::dispatch_nodes`]).
    pub fn run_profiled(
        &self,
        inputs: &[&Tensor],
        num_outputs: usize,
    ) -> Result<(Vec<Tensor>, RunTimes)> {
        let mut guard = self
            .timestamps
            .lock()
            .map_err(|_| Error::Device("profiling state poisoned".into()))?;
        if guard.is_none() {
            *guard = Some(Timestamps::new(&self.gpu, self.steps.len())?);
        }
        let ts = guard.as_ref().and_then(|t| t.as_ref());
        let (outputs, times) = self.run_with(inputs, num_outputs, Some(ts))?;
        Ok((outputs, times.unwrap_or_default()))
    }

    /// Record the dispatches: one pass, or one pass per dispatch when timestamps
    /// can only be written at pass boundaries.
    fn record(&self, encoder: &mut wgpu::CommandEncoder, ts: Option<&Timestamps>) {
        let encode = |pass: &mut wgpu::ComputePass<'_>, s: &Step| {
            pass.set_pipeline(&s.pipeline);
            pass.set_bind_group(0, &s.bind_group, &[]);
            pass.dispatch_workgroups(s.groups.0, s.groups.1, 1);
        };
        match ts {
            Some(ts) if ts.mode == TimestampMode::PerPass => {
                for (i, s) in self.steps.iter().enumerate() {
                    let (set, q) = ts.slot(i);
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: None,
                        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                            query_set: set,
                            beginning_of_pass_write_index: Some(q),
                            end_of_pass_write_index: Some(q + 1),
                        }),
                    });
                    encode(&mut pass, s);
                }
            }
            _ => {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: None,
                });
                for (i, s) in self.steps.iter().enumerate() {
                    let slot = ts.map(|t| t.slot(i));
                    if let Some((set, q)) = slot {
                        pass.write_timestamp(set, q);
                    }
                    encode(&mut pass, s);
                    if let Some((set, q)) = slot {
                        pass.write_timestamp(set, q + 1);
                    }
                }
            }
        }
    }

    /// One invoke; `profile` is Some (holding the timestamp queries, if any) to
    /// measure it.
    fn run_with(
        &self,
        inputs: &[&Tensor],
        num_outputs: usize,
        profile: Option<Option<&Timestamps>>,
    ) -> Result<(Vec<Tensor>, Option<RunTimes>)> {
        let q = &self.gpu.queue;
        let start = Instant::now();
        for &(buf, slot, dtype) in &self.inputs {
            let t = inputs
                .get(slot)
                .ok_or_else(|| Error::Device(format!("partition input {slot} missing")))?;
            let mut bytes = self.upload_bytes(t, slot, dtype)?;
            bytes.resize(align4(bytes.len() as u64) as usize, 0);
            q.write_buffer(&self.buffers[buf], 0, &bytes);
        }
        let uploaded = Instant::now();
        let ts = profile.flatten();
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        self.record(&mut encoder, ts);
        for r in &self.readbacks {
            encoder.copy_buffer_to_buffer(&self.buffers[r.source], 0, &r.staging, 0, r.size);
        }
        if let Some(ts) = ts {
            ts.resolve(&mut encoder);
        }
        q.submit(Some(encoder.finish()));
        for r in &self.readbacks {
            r.staging.map_async(wgpu::MapMode::Read, .., |_| {});
        }
        if let Some(ts) = ts {
            ts.map();
        }
        self.gpu
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| Error::Device(format!("waiting for the GPU failed: {e}")))?;
        let finished = Instant::now();
        let mut outputs: Vec<Option<Tensor>> = vec![None; num_outputs];
        for r in &self.readbacks {
            let n: usize = r.shape.iter().product();
            let data = {
                let view = r
                    .staging
                    .get_mapped_range(..)
                    .map_err(|e| Error::Device(format!("reading back failed: {e}")))?;
                self.decode(&view, n, r.dtype)?
            };
            r.staging.unmap();
            if let Some(o) = outputs.get_mut(r.slot) {
                *o = Some(Tensor::new(r.shape.clone(), data));
            }
        }
        let read = Instant::now();
        let outputs = outputs
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.ok_or_else(|| Error::Device(format!("partition output {i} not produced")))
            })
            .collect::<Result<Vec<_>>>()?;
        let times = match profile {
            None => None,
            Some(ts) => {
                let (dispatch_ns, span) = match ts {
                    Some(ts) => {
                        let (d, s) = ts.read(self.steps.len())?;
                        (d, Some(s))
                    }
                    None => (Vec::new(), None),
                };
                Some(RunTimes {
                    upload_ns: (uploaded - start).as_secs_f64() * 1e9,
                    wait_ns: (finished - uploaded).as_secs_f64() * 1e9,
                    readback_ns: (read - finished).as_secs_f64() * 1e9,
                    gpu_span_ns: span,
                    dispatch_ns,
                    timestamps: ts.map_or(TimestampMode::None, |t| t.mode),
                })
            }
        };
        Ok((outputs, times))
    }
}

/// What a profiled run of one program measured.
#[derive(Debug, Clone, Default)]
pub struct RunTimes {
    /// Host nanoseconds converting and writing the inputs.
    pub upload_ns: f64,
    /// Host nanoseconds from encoding until the GPU finished.
    pub wait_ns: f64,
    /// Host nanoseconds copying and decoding the mapped outputs.
    pub readback_ns: f64,
    /// GPU nanoseconds from the first timestamp to the last.
    pub gpu_span_ns: Option<f64>,
    /// GPU nanoseconds of each dispatch, in order (empty without timestamps).
    pub dispatch_ns: Vec<f64>,
    /// How the GPU times were measured.
    pub timestamps: TimestampMode,
}
