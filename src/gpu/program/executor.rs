//! The executor: a planned program that writes its inputs, records every dispatch
//! into one command encoder, submits once and reads the outputs back once.

use super::{align4, DispatchInfo};
use crate::error::{Error, Result};
use crate::gpu::device::GpuDevice;
use crate::gpu::pipeline::Precision;
use crate::gpu::timing::{TimestampMode, Timestamps};
use crate::graph::DType;
use crate::graph::{Data, Tensor};
use half::f16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One dispatch, ready to record.
pub(super) struct Step {
    pub(super) pipeline: Arc<wgpu::ComputePipeline>,
    pub(super) bind_group: wgpu::BindGroup,
    /// Bind group 1 of a dispatch with the overflow guard: the flag words and the
    /// dispatch's bit.
    pub(super) guard_group: Option<wgpu::BindGroup>,
    pub(super) groups: (u32, u32),
    pub(super) node: usize,
    /// Nodes fused into `node` that this dispatch also runs.
    pub(super) fused: Vec<usize>,
    pub(super) workgroup_size: u32,
}

/// One partition output: the physical buffer it is copied from and the staging
/// buffer it is mapped through.
pub(super) struct Readback {
    pub(super) source: usize,
    pub(super) staging: wgpu::Buffer,
    pub(super) size: u64,
    pub(super) slot: usize,
    pub(super) shape: Vec<usize>,
    pub(super) dtype: DType,
}

/// The fp16 overflow guard of a program: flag words, one bit per node, cleared
/// and read back with the outputs of every run.
pub(super) struct Guard {
    pub(super) buffer: wgpu::Buffer,
    /// The node of each bit.
    pub(super) nodes: Vec<usize>,
}

/// A prepared partition, ready to run.
pub struct GpuProgram {
    pub(super) gpu: Arc<GpuDevice>,
    pub(super) precision: Precision,
    pub(super) buffers: Vec<wgpu::Buffer>,
    pub(super) _uniforms: wgpu::Buffer,
    pub(super) steps: Vec<Step>,
    pub(super) inputs: Vec<(usize, usize, DType)>,
    pub(super) readbacks: Vec<Readback>,
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
    pub(super) timestamps: Mutex<Option<Option<Timestamps>>>,
    pub(super) guard: Option<Guard>,
    /// Nodes whose stores saturated in the runs since the last
    /// [`GpuProgram::take_overflowed`].
    pub(super) overflowed: Mutex<Vec<usize>>,
}

impl GpuProgram {
    /// The storage precision this program was compiled at (quantized and fp32-node
    /// partitions compile at f32 whatever was asked for).
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Whether this program carries the fp16 overflow guard (f16 with the guard
    /// asked for, and at least one kernel that stores through `to_scalar`).
    pub fn guarded(&self) -> bool {
        self.guard.is_some()
    }

    /// The nodes whose fp16 stores saturated (|v| > 65504 or non-finite) in the
    /// runs since the last call, in node order; empty without the guard.
    pub fn take_overflowed(&self) -> Vec<usize> {
        let mut nodes = self
            .overflowed
            .lock()
            .map(|mut o| std::mem::take(&mut *o))
            .unwrap_or_default();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// Record the nodes whose bits are set in the flag `words`.
    fn note_overflow(&self, words: &[u8]) {
        let Some(g) = &self.guard else { return };
        let flagged: Vec<usize> = g
            .nodes
            .iter()
            .enumerate()
            .filter(|(bit, _)| {
                let at = bit / 32 * 4;
                words.get(at..at + 4).is_some_and(|w| {
                    u32::from_le_bytes([w[0], w[1], w[2], w[3]]) & (1 << (bit % 32)) != 0
                })
            })
            .map(|(_, &n)| n)
            .collect();
        if !flagged.is_empty() {
            if let Ok(mut o) = self.overflowed.lock() {
                o.extend(flagged);
            }
        }
    }

    /// Number of dispatches per invoke.
    pub fn num_dispatches(&self) -> usize {
        self.steps.len()
    }

    /// The nodes, workgroups and workgroup size of each dispatch, in order.
    pub fn dispatch_info(&self) -> Vec<DispatchInfo> {
        self.steps
            .iter()
            .map(|s| DispatchInfo {
                nodes: std::iter::once(s.node)
                    .chain(s.fused.iter().copied())
                    .collect(),
                groups: s.groups,
                workgroup_size: s.workgroup_size,
            })
            .collect()
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
            other => {
                return Err(Error::UnsupportedType {
                    dtype: other.to_string(),
                    what: "reading back a GPU tensor".into(),
                })
            }
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
    /// the order of [`GpuProgram::dispatch_info`]).
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
            if let Some(g) = &s.guard_group {
                pass.set_bind_group(1, g, &[]);
            }
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
            let t = inputs.get(slot).ok_or_else(|| Error::Graph {
                subgraph: 0,
                what: format!("partition input {slot} was not given"),
            })?;
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
        if let Some(g) = &self.guard {
            encoder.clear_buffer(&g.buffer, 0, None);
        }
        self.record(&mut encoder, ts);
        for r in &self.readbacks {
            encoder.copy_buffer_to_buffer(&self.buffers[r.source], 0, &r.staging, 0, r.size);
        }
        if let (Some(g), Some(r)) = (&self.guard, self.readbacks.first()) {
            encoder.copy_buffer_to_buffer(&g.buffer, 0, &r.staging, r.size, g.buffer.size());
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
                if self.guard.is_some() && std::ptr::eq(r, &self.readbacks[0]) {
                    self.note_overflow(view.get(r.size as usize..).unwrap_or(&[]));
                }
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
                o.ok_or_else(|| Error::Graph {
                    subgraph: 0,
                    what: format!("partition output {i} was not produced"),
                })
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
