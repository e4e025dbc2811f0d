//! The executor: a planned program that writes its inputs, records every dispatch
//! into one command encoder, submits once and reads the outputs back once.

use super::host::{self, HostInput};
use super::{align4, DispatchInfo};
use crate::error::{Error, Result};
use crate::gpu::device::GpuDevice;
use crate::gpu::pipeline::Precision;
use crate::gpu::shader::Shader;
use crate::gpu::timing::{TimestampMode, Timestamps};
use crate::graph::DType;
use crate::graph::Tensor;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One dispatch, ready to record.
pub(super) struct Step {
    pub(super) pipeline: Arc<wgpu::ComputePipeline>,
    /// Its buffers, and with the overflow guard the flag words and the
    /// dispatch's member bits.
    pub(super) bind_group: wgpu::BindGroup,
    pub(super) groups: (u32, u32),
    pub(super) node: usize,
    /// Nodes fused into `node` that this dispatch also runs.
    pub(super) fused: Vec<usize>,
    pub(super) workgroup_size: u32,
    /// The shader family and its variant's constants.
    pub(super) kernel: String,
    /// The finished WGSL of the dispatch's module (prologue and body) with its
    /// override constants, for `inspect --dump-wgsl`: (shader, guarded, constants).
    pub(super) source: (&'static Shader, bool, Vec<(String, f64)>),
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
    /// For each partition input (in `GpuProgram::inputs` order), the nodes that
    /// read it: a float input that f16 cannot hold (finite, |v| > 65504) is
    /// stored saturated, as the guarded store does, and flags them.
    pub(super) readers: Vec<Vec<usize>>,
    /// Nodes reading a constant that f16 cannot hold: flagged by every run.
    pub(super) constants: Vec<usize>,
}

/// The MAP_WRITE staging buffer of one partition input, created at prepare and
/// mapped while the program is idle, so an invoke converts the input straight
/// into it and records one copy; no buffer is created per invoke.
pub(super) struct Upload {
    staging: wgpu::Buffer,
    /// [`UNMAPPED`], [`PENDING`], [`MAPPED`] or [`FAILED`], set by the map
    /// callback.
    state: Arc<AtomicU8>,
}

/// Upload states: unmapped (its copy was recorded).
const UNMAPPED: u8 = 0;
/// A mapping was requested.
const PENDING: u8 = 1;
/// Mapped: the next invoke can write into it.
const MAPPED: u8 = 2;
/// The mapping failed.
const FAILED: u8 = 3;

impl Upload {
    /// Map the staging buffer again for the next invoke (after the submit that
    /// copies from it; the mapping resolves when that submission completes).
    fn remap(&self) {
        let state = self.state.load(Ordering::Acquire);
        if state == UNMAPPED || state == FAILED {
            self.state.store(PENDING, Ordering::Release);
            let flag = self.state.clone();
            self.staging.map_async(wgpu::MapMode::Write, .., move |r| {
                flag.store(if r.is_ok() { MAPPED } else { FAILED }, Ordering::Release)
            });
        }
    }

    /// Make sure the staging buffer is mapped, waiting for `submitted` (the
    /// last submission that read it) when its mapping is still pending.
    fn ready(&self, gpu: &GpuDevice, submitted: Option<&wgpu::SubmissionIndex>) -> Result<()> {
        self.remap();
        if self.state.load(Ordering::Acquire) == PENDING {
            wait_for(gpu, submitted.cloned())?;
        }
        if self.state.load(Ordering::Acquire) == PENDING {
            wait_for(gpu, None)?;
        }
        match self.state.load(Ordering::Acquire) {
            MAPPED => Ok(()),
            _ => Err(Error::device("an input staging buffer could not be mapped")),
        }
    }

    /// Unmap after writing, before the copy from it is submitted.
    fn unmap(&self) {
        self.staging.unmap();
        self.state.store(UNMAPPED, Ordering::Release);
    }
}

/// Wait until submission `index` (None: all work of the device) has finished.
/// When the wait fails (a lost device rejects submissions, so their indices are
/// never valid), a wait for everything lets wgpu run its maintenance, device-lost
/// callbacks included, before the error is returned.
fn wait_for(gpu: &GpuDevice, index: Option<wgpu::SubmissionIndex>) -> Result<()> {
    let waited = gpu.device.poll(wgpu::PollType::Wait {
        submission_index: index,
        timeout: None,
    });
    match waited {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
            Err(Error::device_source(
                format!("waiting for the GPU failed: {e}"),
                e,
            ))
        }
    }
}

/// A command buffer recorded ahead for the next invoke.
struct Recorded {
    commands: wgpu::CommandBuffer,
    /// Recorded with the timestamp writes of a profiled run.
    timestamps: bool,
    /// The bytes it copies from each input's staging buffer.
    copies: Vec<u64>,
}

/// What one invoke of a program uses on the host side.
pub(super) struct Io {
    /// One staging buffer per partition input, in the order of `inputs`.
    uploads: Vec<Upload>,
    /// The last submission of this program.
    submitted: Option<wgpu::SubmissionIndex>,
    /// For each readback, whether the last run left it mapped for the caller to
    /// decode ([`GpuProgram::read_kept`]); unmapped when the next run starts.
    kept: Vec<bool>,
    /// The next invoke's command buffer, recorded after the last submit while
    /// the GPU ran it: everything it binds belongs to the program, which is
    /// built anew when anything changes (new input shapes, a node promoted to
    /// fp32, a lost device), so it stays valid; a run of another kind
    /// (profiled or not, other copy sizes) records its own instead.
    next: Option<Recorded>,
    /// The host times of the last run (every run measures them: a few clock
    /// reads).
    last: Option<RunTimes>,
}

impl Io {
    /// Staging buffers of `sizes` bytes (rounded up to whole words), mapped.
    pub(super) fn new(device: &wgpu::Device, sizes: impl IntoIterator<Item = u64>) -> Io {
        let uploads = sizes
            .into_iter()
            .map(|size| Upload {
                staging: device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("upload"),
                    size: align4(size).max(4),
                    usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: true,
                }),
                state: Arc::new(AtomicU8::new(MAPPED)),
            })
            .collect();
        Io {
            uploads,
            submitted: None,
            kept: Vec::new(),
            next: None,
            last: None,
        }
    }
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
    /// The staging buffers of the inputs and the last submission, locked for the
    /// whole of an invoke.
    pub(super) io: Mutex<Io>,
    /// Nodes whose stores saturated in the runs since the last
    /// [`GpuProgram::take_overflowed`].
    pub(super) overflowed: Mutex<Vec<usize>>,
    /// Inputs written into their staging buffers so far: one host copy each.
    pub(super) input_copies: AtomicU64,
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

    /// Record the readers of partition input `slot` (holding values beyond the
    /// f16 range) as overflowed, with the guard.
    fn note_input_overflow(&self, slot: usize) {
        let Some(g) = &self.guard else { return };
        let Some(k) = self.inputs.iter().position(|&(_, s, _)| s == slot) else {
            return;
        };
        if let (Some(readers), Ok(mut o)) = (g.readers.get(k), self.overflowed.lock()) {
            o.extend(readers.iter().copied());
        }
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
        if let Ok(mut o) = self.overflowed.lock() {
            o.extend(flagged);
            o.extend(g.constants.iter().copied());
        }
    }

    /// Host copies of input elements into the staging buffers so far (one per
    /// input per run: from a tensor, or from bytes read in place).
    pub fn input_copies(&self) -> u64 {
        self.input_copies.load(Ordering::Relaxed)
    }

    /// Number of dispatches per invoke.
    pub fn num_dispatches(&self) -> usize {
        self.steps.len()
    }

    /// Number of distinct compute pipelines the dispatches of `programs` run:
    /// dispatches with the same kernel, precision, checks and override
    /// constants share one.
    pub fn distinct_pipelines<'a>(programs: impl IntoIterator<Item = &'a GpuProgram>) -> usize {
        let mut seen: Vec<*const wgpu::ComputePipeline> = programs
            .into_iter()
            .flat_map(|p| p.steps.iter().map(|s| Arc::as_ptr(&s.pipeline)))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
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
                kernel: s.kernel.clone(),
            })
            .collect()
    }

    /// The finished WGSL of every dispatch, in execution order: the assembled
    /// module (prologue, guard when the dispatch carries it, body) preceded by a
    /// comment naming the nodes and the override constants its pipeline sets.
    pub fn dispatch_sources(&self) -> Vec<(String, String)> {
        self.steps
            .iter()
            .map(|s| {
                let (shader, guarded, constants) = &s.source;
                let mut text = format!("// kernel {}\n// nodes {:?}", s.kernel, {
                    let mut n = vec![s.node];
                    n.extend(&s.fused);
                    n
                });
                text += &format!(
                    "\n// precision {:?}, overflow guard {guarded}\n",
                    self.precision
                );
                for (k, v) in constants {
                    text += &format!("// override {k} = {v}\n");
                }
                text += &crate::gpu::pipeline::guarded_source(shader, self.precision, *guarded);
                (shader.name.to_string(), text)
            })
            .collect()
    }

    /// Write the partition inputs into their mapped staging buffers and unmap
    /// them; returns the bytes to copy from each staging buffer into its input
    /// buffer (0: nothing to copy).
    fn write_inputs(&self, io: &Io, inputs: &[HostInput<'_>]) -> Result<Vec<u64>> {
        let mut copies = Vec::with_capacity(io.uploads.len());
        for (up, &(_, slot, dtype)) in io.uploads.iter().zip(&self.inputs) {
            let input = *inputs.get(slot).ok_or_else(|| Error::Graph {
                subgraph: 0,
                what: format!("partition input {slot} was not given"),
            })?;
            let (n, bytes) = host::stored_bytes(input, dtype, self.precision, slot)?;
            let padded = align4(n as u64);
            if padded > up.staging.size() {
                return Err(Error::device(format!(
                    "partition input {slot} takes {n} bytes, the program holds {}",
                    up.staging.size()
                )));
            }
            copies.push(padded);
            if padded == 0 {
                continue;
            }
            up.ready(&self.gpu, io.submitted.as_ref())?;
            {
                let mut view = up.staging.get_mapped_range_mut(..padded).map_err(|e| {
                    Error::device_source(format!("writing partition input {slot}: {e}"), e)
                })?;
                let mut body = view.slice(..);
                let pad = body.split_off(n..).unwrap_or_default();
                pad.write_iter(std::iter::repeat_n(0u8, padded as usize - n));
                // The host side of the guarded store: finite floats beyond the
                // f16 range saturate, and with the guard flag the nodes reading
                // them.
                if host::fill(body, bytes, dtype, self.precision, slot)? {
                    self.note_input_overflow(slot);
                }
            }
            self.input_copies.fetch_add(1, Ordering::Relaxed);
            up.unmap();
        }
        Ok(copies)
    }

    /// Run with the partition inputs (float32, int32, int64 or bool tensors of the
    /// dtypes the program was compiled for) and return its outputs.
    pub fn run(&self, inputs: &[&Tensor], num_outputs: usize) -> Result<Vec<Tensor>> {
        let inputs: Vec<HostInput<'_>> = inputs.iter().map(|&t| HostInput::Tensor(t)).collect();
        let (outputs, _) = self.run_with(&inputs, num_outputs, &[], None)?;
        Self::all(outputs)
    }

    /// Like [`GpuProgram::run`], leaving the outputs whose slot `keep` marks in
    /// their mapped readback buffers (None in the result) until the next run, for
    /// [`GpuProgram::read_kept`] and [`GpuProgram::read_kept_into`]; with
    /// `profiled`, also measuring the host time of the transfers and, where the
    /// adapter has timestamp queries, the GPU time of every dispatch (in the
    /// order of [`GpuProgram::dispatch_info`]).
    pub fn run_keeping(
        &self,
        inputs: &[HostInput<'_>],
        num_outputs: usize,
        keep: &[bool],
        profiled: bool,
    ) -> Result<(Vec<Option<Tensor>>, Option<RunTimes>)> {
        if !profiled {
            return self.run_with(inputs, num_outputs, keep, None);
        }
        let mut guard = self
            .timestamps
            .lock()
            .map_err(|_| Error::device("profiling state poisoned"))?;
        if guard.is_none() {
            *guard = Some(Timestamps::new(&self.gpu, self.steps.len())?);
        }
        let ts = guard.as_ref().and_then(|t| t.as_ref());
        let (outputs, times) = self.run_with(inputs, num_outputs, keep, Some(ts))?;
        Ok((outputs, Some(times.unwrap_or_default())))
    }

    /// The host times of this program's last run (None before the first):
    /// converting the inputs, submitting, waiting, decoding. Every run measures
    /// them, profiled or not; the GPU fields are left empty.
    pub fn last_host_times(&self) -> Option<RunTimes> {
        self.io.lock().ok().and_then(|io| io.last.clone())
    }

    /// Every output of a run that kept none.
    fn all(outputs: Vec<Option<Tensor>>) -> Result<Vec<Tensor>> {
        outputs
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.ok_or_else(|| Error::Graph {
                    subgraph: 0,
                    what: format!("partition output {i} was not produced"),
                })
            })
            .collect()
    }

    /// The readback of partition output `slot` when the last run kept it mapped,
    /// with the mapped bytes.
    fn kept<R>(&self, slot: usize, f: impl FnOnce(&Readback, &[u8]) -> Result<R>) -> Result<R> {
        let io = self
            .io
            .lock()
            .map_err(|_| Error::device("an invoke of this partition panicked"))?;
        let (k, r) = self
            .readbacks
            .iter()
            .enumerate()
            .find(|(_, r)| r.slot == slot)
            .ok_or_else(|| Error::device(format!("the partition has no output {slot}")))?;
        if !io.kept.get(k).copied().unwrap_or(false) {
            return Err(Error::device(format!(
                "partition output {slot} is no longer held (the partition ran again)"
            )));
        }
        let view = r
            .staging
            .get_mapped_range(..)
            .map_err(|e| Error::device_source(format!("reading back failed: {e}"), e))?;
        f(r, &view)
    }

    /// Decode partition output `slot`, which the last run kept mapped.
    pub fn read_kept(&self, slot: usize) -> Result<Tensor> {
        self.kept(slot, |r, view| {
            let n: usize = r.shape.iter().product();
            Ok(Tensor::new(
                r.shape.clone(),
                host::decode(view, n, r.dtype, self.precision)?,
            ))
        })
    }

    /// Decode partition output `slot`, which the last run kept mapped, straight
    /// into `out`: its elements as `dtype` in native byte order (bool as 0/1
    /// bytes), exactly as many bytes as the output has.
    pub fn read_kept_into(&self, slot: usize, dtype: DType, out: &mut [u8]) -> Result<()> {
        self.kept(slot, |r, view| {
            let n: usize = r.shape.iter().product();
            let size = dtype.size().unwrap_or(0);
            if r.dtype != dtype || out.len() != n * size {
                return Err(Error::device(format!(
                    "partition output {slot} is {} of {n} elements, the destination {} bytes of {dtype}",
                    r.dtype,
                    out.len()
                )));
            }
            host::decode_into(view, n, dtype, self.precision, out)
        })
    }

    /// The whole command buffer of one invoke: the copies of `copies` bytes from
    /// each input's staging buffer, the guard's clear, the dispatches, the
    /// readback copies and, with `ts`, the timestamp resolve. It reads no input
    /// value (those arrive through the staging buffers), so it can be recorded
    /// before the inputs are written.
    fn encode(&self, io: &Io, copies: &[u64], ts: Option<&Timestamps>) -> wgpu::CommandBuffer {
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        for ((up, &(buf, _, _)), &bytes) in io.uploads.iter().zip(&self.inputs).zip(copies) {
            if bytes > 0 {
                encoder.copy_buffer_to_buffer(&up.staging, 0, &self.buffers[buf], 0, bytes);
            }
        }
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
        encoder.finish()
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
        inputs: &[HostInput<'_>],
        num_outputs: usize,
        keep: &[bool],
        profile: Option<Option<&Timestamps>>,
    ) -> Result<(Vec<Option<Tensor>>, Option<RunTimes>)> {
        let q = &self.gpu.queue;
        let mut io = self
            .io
            .lock()
            .map_err(|_| Error::device("an invoke of this partition panicked"))?;
        let start = Instant::now();
        io.kept.resize(self.readbacks.len(), false);
        for (r, kept) in self.readbacks.iter().zip(io.kept.iter_mut()) {
            if std::mem::take(kept) {
                r.staging.unmap();
            }
        }
        let copies = self.write_inputs(&io, inputs)?;
        let uploaded = Instant::now();
        let ts = profile.flatten();
        let ahead = io
            .next
            .take()
            .filter(|next| next.timestamps == ts.is_some() && next.copies == copies);
        let recorded_ahead = ahead.is_some();
        let commands = match ahead {
            Some(next) => next.commands,
            None => self.encode(&io, &copies, ts),
        };
        let index = q.submit(Some(commands));
        let submitted = Instant::now();
        // The GPU runs: what follows until the wait is off its path (the
        // mappings it resolves, and the next invoke's commands).
        for up in &io.uploads {
            up.remap();
        }
        for r in &self.readbacks {
            r.staging.map_async(wgpu::MapMode::Read, .., |_| {});
        }
        if let Some(ts) = ts {
            ts.map();
        }
        io.submitted = Some(index.clone());
        // Record the next invoke's command buffer like this one (wgpu cannot
        // submit one twice).
        let commands = self.encode(&io, &copies, ts);
        io.next = Some(Recorded {
            commands,
            timestamps: ts.is_some(),
            copies,
        });
        // Wait for this submission only: other programs on the device (other
        // interpreters, other threads) are not waited for.
        wait_for(&self.gpu, Some(index))?;
        let finished = Instant::now();
        let mut outputs: Vec<Option<Tensor>> = vec![None; num_outputs];
        for (k, r) in self.readbacks.iter().enumerate() {
            let n: usize = r.shape.iter().product();
            let keep_it = keep.get(r.slot).copied().unwrap_or(false);
            let flags = self.guard.is_some() && k == 0;
            if keep_it && !flags {
                // Left mapped for the caller to decode; nothing to read now.
                io.kept[k] = true;
                continue;
            }
            let data = {
                let view = r
                    .staging
                    .get_mapped_range(..)
                    .map_err(|e| Error::device_source(format!("reading back failed: {e}"), e))?;
                if flags {
                    self.note_overflow(view.get(r.size as usize..).unwrap_or(&[]));
                }
                if keep_it {
                    None
                } else {
                    Some(host::decode(&view, n, r.dtype, self.precision)?)
                }
            };
            match data {
                Some(data) => {
                    r.staging.unmap();
                    if let Some(o) = outputs.get_mut(r.slot) {
                        *o = Some(Tensor::new(r.shape.clone(), data));
                    }
                }
                None => io.kept[k] = true,
            }
        }
        let read = Instant::now();
        let host = RunTimes {
            upload_ns: (uploaded - start).as_secs_f64() * 1e9,
            submit_ns: (submitted - uploaded).as_secs_f64() * 1e9,
            recorded_ahead,
            wait_ns: (finished - submitted).as_secs_f64() * 1e9,
            readback_ns: (read - finished).as_secs_f64() * 1e9,
            ..RunTimes::default()
        };
        io.last = Some(host.clone());
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
                    gpu_span_ns: span,
                    dispatch_ns,
                    timestamps: ts.map_or(TimestampMode::None, |t| t.mode),
                    ..host
                })
            }
        };
        Ok((outputs, times))
    }
}

/// What a profiled run of one program measured.
#[derive(Debug, Clone, Default)]
pub struct RunTimes {
    /// Host nanoseconds converting the inputs into their staging buffers.
    pub upload_ns: f64,
    /// Host nanoseconds submitting the command buffer (and recording it first
    /// when none was recorded ahead).
    pub submit_ns: f64,
    /// The command buffer was recorded ahead, while the GPU ran the previous
    /// run, rather than on this run's path.
    pub recorded_ahead: bool,
    /// Host nanoseconds from the submit until the GPU finished this submission.
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
