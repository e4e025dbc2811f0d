//! The public entry points: [`Model`] (a loaded, validated graph) and [`Interpreter`].

mod compile;
mod in_place;
mod loaded;
mod options;
mod output;

use crate::cpu::RunLimits;
use crate::delegate;
use crate::error::{Error, Result};
use crate::gpu::device::GpuDevice;
use crate::gpu::pipeline::Precision;
use crate::gpu::program::GpuProgram;
use crate::graph::Tensor;
use crate::graph::{Graph, TensorInfo};
use crate::runtime::{GpuPartitions, NodeObserver, Output, Program, VariableState};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use compile::Compiler;
pub use loaded::Model;
pub use options::{
    gpu_adapter, is_software_adapter, simulate_device_loss, warn_if_software_adapter, CacheDir,
    CacheStatus, DelegateReport, Device, DeviceChoice, GpuDelegate, InitTimes, Options,
    OverflowGuard, PromotedNode,
};
pub use output::Element;

/// Runs a model: set inputs, invoke, read outputs. `Send`, so it can move to a
/// worker thread.
pub struct Interpreter {
    model: Model,
    limits: RunLimits,
    program: Program,
    report: Option<DelegateReport>,
    inputs: Vec<Option<Tensor>>,
    /// Outputs of the last invoke; GPU outputs stay in their mapped readback
    /// buffers until read.
    outputs: Vec<Output>,
    /// GPU outputs decoded by [`Interpreter::output`].
    decoded: Vec<OnceLock<Tensor>>,
    state: HashMap<(usize, usize), Tensor>,
    cancel: Arc<AtomicBool>,
    options: Options,
    device: Option<Arc<GpuDevice>>,
    promoted: Vec<PromotedNode>,
    choice: DeviceChoice,
    /// Host copies of input elements not counted by the current program: by
    /// programs this interpreter replaced, and into tensors by
    /// [`Interpreter::invoke_in_place`].
    input_copies: u64,
}

impl Interpreter {
    /// An interpreter on the CPU with default options.
    pub fn new(model: &Model) -> Result<Interpreter> {
        Self::with_options(model, Options::default())
    }

    /// An interpreter with explicit options. A node whose op has no kernel is an
    /// [`Error::UnsupportedOp`] naming the first such node.
    pub fn with_options(model: &Model, options: Options) -> Result<Interpreter> {
        Self::build(model, options, false)
    }

    /// An interpreter that describes `model` (its prepared graph and the delegate's
    /// plan) also when some nodes have no kernel, as `inspect` shows it. Invoking it
    /// fails with the [`Error::UnsupportedOp`] naming the first such node, before
    /// anything runs.
    pub fn for_inspection(model: &Model, options: Options) -> Result<Interpreter> {
        Self::build(model, options, true)
    }

    fn build(model: &Model, options: Options, describe: bool) -> Result<Interpreter> {
        let cancel = options.limits.cancel.clone();
        if model.graph.subgraphs.is_empty() {
            return Err(Error::Graph {
                subgraph: 0,
                what: "the model has no subgraphs".into(),
            });
        }
        // Both devices run the same prepared graph, so node indices (as `inspect`
        // prints them) mean the same node on either.
        let mut folded = delegate::fold_constants(&model.graph, &crate::cpu::Reference)?;
        delegate::fuse_activations(&mut folded);
        delegate::split_detection(&mut folded);
        let mut options = options;
        if let Some(plan) = &options.precision_plan {
            if let Some(hash) = model.sha256() {
                plan.check_model(hash, "being loaded")?;
            }
            let fp32 = &mut options.partitions.fp32_nodes;
            fp32.extend(plan.resolve(folded.main())?);
            fp32.sort_unstable();
            fp32.dedup();
        }
        let graph = Arc::new(folded);
        let (program, report, device, choice) = Self::prepare(graph, &options, describe)?;
        let n = program.graph().main().inputs.len();
        Ok(Interpreter {
            model: model.clone(),
            limits: options.limits.clone(),
            program,
            report,
            inputs: vec![None; n],
            outputs: Vec::new(),
            decoded: Vec::new(),
            state: HashMap::new(),
            cancel,
            options,
            device,
            promoted: Vec::new(),
            choice,
            input_copies: 0,
        })
    }

    /// Build the program for the prepared `graph` on the device `options` ask for.
    #[allow(clippy::type_complexity)]
    fn prepare(
        graph: Arc<Graph>,
        options: &Options,
        describe: bool,
    ) -> Result<(
        Program,
        Option<DelegateReport>,
        Option<Arc<GpuDevice>>,
        DeviceChoice,
    )> {
        let start = Instant::now();
        let choice = Self::choose_device(options)?;
        // Choosing opens the device (the first time in the process): its time
        // is the device's, not the graph's.
        let choosing = start.elapsed();
        let (gpu, report, device) = match choice.device {
            Device::Gpu => {
                let (g, mut r, d) = Self::prepare_gpu(&graph, options)?;
                r.init.device += choosing;
                (Some(g), Some(r), Some(d))
            }
            _ => (None, None, None),
        };
        let program = if describe {
            Program::describing(graph, options.limits.clone(), gpu)?
        } else {
            Program::with_gpu(graph, options.limits.clone(), gpu)?
        };
        Ok((program, report, device, choice))
    }

    /// Where `options.device` runs and why. [`Device::Auto`] takes a hardware
    /// adapter only: a software one (a CPU rasterizer such as lavapipe) is slower
    /// than the CPU interpreter, so auto runs there instead, with a warning.
    /// [`Device::Gpu`] takes whatever adapter there is.
    fn choose_device(options: &Options) -> Result<DeviceChoice> {
        let requested = options.device;
        let choice = |device, reason: String| DeviceChoice {
            requested,
            device,
            reason,
        };
        Ok(match requested {
            Device::Cpu => choice(Device::Cpu, "the CPU was asked for".into()),
            Device::Gpu => {
                let (gpu, _) = crate::gpu::shared_device(options.gpu)?;
                let info = gpu.adapter_info();
                let mut why = format!("the GPU was asked for: {}", info.description);
                if is_software_adapter(&info.device_type) {
                    why.push_str(" (a software adapter, slower than the CPU interpreter)");
                }
                choice(Device::Gpu, why)
            }
            Device::Auto => match crate::gpu::shared_device(options.gpu) {
                Ok((gpu, _)) => {
                    let info = gpu.adapter_info();
                    if is_software_adapter(&info.device_type) {
                        let why = format!(
                            "auto: {} is a software adapter (a CPU rasterizer, slower than the CPU interpreter)",
                            info.name
                        );
                        tracing::warn!("{why}; running on the CPU (ask for the GPU to use it)");
                        choice(Device::Cpu, why)
                    } else {
                        choice(
                            Device::Gpu,
                            format!("auto: a hardware adapter: {}", info.description),
                        )
                    }
                }
                Err(Error::NoAdapter(e)) => {
                    tracing::warn!("no usable GPU ({e}); running on the CPU");
                    choice(Device::Cpu, format!("auto: no usable GPU ({e})"))
                }
                Err(e) => return Err(e),
            },
        })
    }

    fn prepare_gpu(
        graph: &Graph,
        options: &Options,
    ) -> Result<(GpuPartitions, DelegateReport, Arc<GpuDevice>)> {
        let start = Instant::now();
        let (gpu, cache) = crate::gpu::shared_device(options.gpu)?;
        cache.attach_disk(&gpu, options.cache_dir.resolve().as_deref());
        let device_time = start.elapsed();
        let sg = graph.main();
        let mut verdicts = delegate::support(sg, &delegate::caps_of(Some(&gpu)));
        let f16_unavailable = options.precision_loss_allowed && !gpu.f16;
        let precision = if options.precision_loss_allowed && gpu.f16 {
            Precision::F16
        } else {
            Precision::F32
        };
        let compiler = Compiler {
            gpu: &gpu,
            cache: &cache,
            precision,
            sg,
            faults: &options.faults,
            overflow_guard: options.overflow_guard != OverflowGuard::Off,
            profile: options.adapter_profile.as_ref(),
            tuning: options.partitions.tuning,
        };
        // A partition that fails to compile is narrowed down to the nodes that fail
        // on their own; those go to the CPU with the reason and the graph is
        // re-planned. Each round moves at least one node, so this ends.
        let (plan, programs, failed) = loop {
            let mut plan = delegate::partition::plan(sg, &verdicts, &options.partitions);
            if options.expose_intermediates {
                for p in &mut plan.partitions {
                    delegate::partition::expose_intermediates(sg, p);
                }
            }
            let mut programs = Vec::new();
            let mut failed = Vec::new();
            for (i, p) in plan.partitions.iter().enumerate() {
                match compiler.compile(p) {
                    Ok(prog) => programs.push(Some(prog)),
                    Err(e) => {
                        failed.push((i, e.to_string()));
                        programs.push(None);
                    }
                }
            }
            if gpu.is_lost() {
                return Err(Error::device("the GPU device was lost while compiling"));
            }
            let mut moved = false;
            for &(i, ref why) in &failed {
                moved |=
                    compiler.blame(&plan.partitions[i], why, &options.partitions, &mut verdicts);
            }
            if !moved {
                break (plan, programs, failed);
            }
        };
        cache.save_disk();
        let compiled = programs.iter().flatten();
        let report = DelegateReport {
            plan: plan.clone(),
            precision,
            partition_precision: programs
                .iter()
                .map(|p| p.as_ref().map(|p| p.precision()))
                .collect(),
            adapter: gpu.describe(),
            f16_unavailable,
            failed,
            dispatches: compiled.clone().map(|p| p.num_dispatches()).sum(),
            planned_bytes: compiled.clone().map(|p| p.planned_bytes).sum(),
            constant_bytes: compiled.clone().map(|p| p.constant_bytes).sum(),
            tensor_bytes: compiled.clone().map(|p| p.tensor_bytes).sum(),
            pipelines: GpuProgram::distinct_pipelines(compiled.clone()),
            liveness_bytes: compiled.clone().map(|p| p.liveness_bytes).sum(),
            init: InitTimes {
                device: device_time,
                device_opened: gpu.creation_time,
                pipelines: compiled.clone().map(|p| p.pipeline_creation).sum(),
                constant_upload: compiled.map(|p| p.constant_upload).sum(),
            },
            promoted_fp32_nodes: Vec::new(),
            pipeline_cache: cache.disk_status(),
        };
        Ok((GpuPartitions { plan, programs }, report, gpu))
    }

    /// Re-prepare this interpreter with a GPU delegate: supported partitions run on
    /// the GPU, the rest on the CPU. Inputs set so far are kept.
    pub fn with_delegate(self, delegate: GpuDelegate) -> Result<Interpreter> {
        let options = Options {
            device: Device::Gpu,
            precision_loss_allowed: delegate.precision_loss_allowed,
            gpu: delegate.device,
            partitions: delegate.partitions.clone(),
            precision_plan: delegate.precision_plan.clone(),
            limits: self.limits.clone(),
            expose_intermediates: false,
            overflow_guard: delegate.overflow_guard,
            cache_dir: delegate.cache_dir,
            faults: self.options.faults.clone(),
            adapter_profile: self.options.adapter_profile.clone(),
        };
        let mut next = Interpreter::with_options(&self.model, options)?;
        next.inputs = self.inputs;
        Ok(next)
    }

    /// Every GPU dispatch of an invoke, in order: kernel, launch size and work.
    /// Empty on the CPU.
    pub fn dispatch_plan(&self) -> Vec<crate::runtime::profile::PlannedDispatch> {
        self.program.dispatch_plan()
    }

    /// The finished WGSL of every GPU dispatch of the plan, in execution order, as
    /// (file name, text): what `inspect --dump-wgsl` writes.
    pub fn dispatch_sources(&self) -> Vec<(String, String)> {
        self.program.dispatch_sources()
    }

    /// The adapter profile the GPU kernels were planned for: the one
    /// [`Options::adapter_profile`] gives, else the device's own; None on the CPU.
    pub fn adapter_profile(&self) -> Option<crate::gpu::profile::AdapterProfile> {
        match (&self.options.adapter_profile, &self.device) {
            (_, None) => None,
            (Some(p), _) => Some(p.clone()),
            (None, Some(d)) => Some(d.profile()),
        }
    }

    /// Which device the nodes run on and why.
    pub fn device_choice(&self) -> &DeviceChoice {
        &self.choice
    }

    /// The delegate's plan, when the interpreter uses the GPU.
    pub fn delegate_report(&self) -> Option<&DelegateReport> {
        self.report.as_ref()
    }

    fn main(&self) -> &crate::graph::Subgraph {
        self.program.graph().main()
    }

    /// Number of model inputs.
    pub fn num_inputs(&self) -> usize {
        self.main().inputs.len()
    }

    /// Number of model outputs.
    pub fn num_outputs(&self) -> usize {
        self.main().outputs.len()
    }

    /// Metadata of input `i`.
    pub fn input_info(&self, i: usize) -> Result<&TensorInfo> {
        let sg = self.main();
        sg.inputs
            .get(i)
            .map(|&t| &sg.tensors[t])
            .ok_or_else(|| Error::Input {
                index: i,
                what: format!("the model has {} inputs", sg.inputs.len()),
            })
    }

    /// Metadata of output `i`.
    pub fn output_info(&self, i: usize) -> Result<&TensorInfo> {
        let sg = self.main();
        sg.outputs
            .get(i)
            .map(|&t| &sg.tensors[t])
            .ok_or_else(|| Error::Input {
                index: i,
                what: format!("the model has {} outputs", sg.outputs.len()),
            })
    }

    /// Set input `i`. Its dtype must match; its shape must match the model's, except
    /// along dimensions the shape signature marks dynamic (-1).
    pub fn set_input(&mut self, i: usize, value: Tensor) -> Result<()> {
        let info = self.input_info(i)?;
        if value.dtype() != info.dtype {
            return Err(Error::Input {
                index: i,
                what: format!("got {}, the model expects {}", value.dtype(), info.dtype),
            });
        }
        let sig: Vec<i64> = match &info.shape_signature {
            Some(s) => s.iter().map(|&d| d as i64).collect(),
            None => info.shape.iter().map(|&d| d as i64).collect(),
        };
        let fits = value.shape.len() == sig.len()
            && value
                .shape
                .iter()
                .zip(&sig)
                .all(|(&v, &s)| s < 0 || v as i64 == s);
        if !fits || value.len() != value.shape.iter().product::<usize>() {
            return Err(Error::Input {
                index: i,
                what: format!(
                    "shape {:?} does not fit the model's {:?}",
                    value.shape, info.shape
                ),
            });
        }
        self.inputs[i] = Some(value);
        Ok(())
    }

    /// Mutable access to input `i`, created zero-filled at the model's shape.
    pub fn input_mut(&mut self, i: usize) -> Result<&mut Tensor> {
        if self.inputs.get(i).is_none() {
            return Err(Error::Input {
                index: i,
                what: format!("the model has {} inputs", self.inputs.len()),
            });
        }
        if self.inputs[i].is_none() {
            let info = self.input_info(i)?;
            let t = Tensor::zeros(info.dtype, info.shape.clone())?;
            self.inputs[i] = Some(t);
        }
        self.inputs[i].as_mut().ok_or_else(|| Error::Input {
            index: i,
            what: "not set".into(),
        })
    }

    /// When the GPU device this interpreter compiled for was lost, prepare again:
    /// on a freshly opened device when one can be had, otherwise on the CPU.
    fn recover_lost_device(&mut self) -> Result<()> {
        if !self.device.as_ref().is_some_and(|d| d.is_lost()) {
            return Ok(());
        }
        let graph = self.program.graph().clone();
        let (program, report, device, choice) =
            match Self::prepare(graph.clone(), &self.options, false) {
                Ok(p) => p,
                Err(e @ (Error::NoAdapter(_) | Error::Device { .. })) => {
                    tracing::warn!(
                        "the GPU device was lost and cannot be reopened ({e}); running on the CPU"
                    );
                    let choice = DeviceChoice {
                        requested: self.options.device,
                        device: Device::Cpu,
                        reason: format!("the GPU device was lost and cannot be reopened ({e})"),
                    };
                    (
                        Program::new(graph, self.limits.clone())?,
                        None,
                        None,
                        choice,
                    )
                }
                Err(e) => return Err(e),
            };
        self.choice = choice;
        self.input_copies += self.program.input_copies();
        self.program = program;
        self.report = report;
        self.device = device;
        if let Some(r) = &mut self.report {
            r.promoted_fp32_nodes = self.promoted.clone();
        }
        Ok(())
    }

    /// Run the model on the inputs set so far.
    ///
    /// When the GPU device is lost during the run the result is [`Error::Device`];
    /// the next invoke opens a new device (or falls back to the CPU) first.
    pub fn invoke(&mut self) -> Result<()> {
        self.invoke_observed(None)
    }

    /// Run the model, calling `observer` after each node of the main subgraph.
    ///
    /// When the fp16 overflow guard promotes nodes, the invoke runs again and
    /// `observer` sees the nodes of both runs.
    pub fn invoke_observed(&mut self, mut observer: Option<&mut NodeObserver<'_>>) -> Result<()> {
        let saved = self.program.guarded().then(|| self.state.clone());
        loop {
            self.prepare_invoke()?;
            let inputs = Self::borrowed(&self.inputs)?;
            let result = self
                .program
                .run(0, inputs, &mut self.state, observer.as_deref_mut());
            let outputs = self.check_device(result)?;
            if !self.guard_overflow(saved.as_ref())? {
                self.set_outputs(outputs);
                return Ok(());
            }
        }
    }

    /// The host side of the last invoke's GPU partitions, one entry per compiled
    /// partition that has run (its last run): converting and writing the inputs,
    /// submitting, waiting for the GPU, decoding the outputs. Every invoke
    /// measures these at the cost of a few clock reads, so they describe plain
    /// [`Interpreter::invoke`]s; the GPU fields are None (see
    /// [`Interpreter::invoke_profiled`] for those).
    pub fn last_host_times(&self) -> Vec<crate::runtime::profile::PartitionTime> {
        self.program.last_host_times()
    }

    /// Run the model and measure it: the CPU time of every node run on the CPU, the
    /// host time of the GPU partitions' transfers and, where the adapter has
    /// timestamp queries, the GPU time of every dispatch. Profiled invokes write
    /// timestamps (and may split passes), so time plain [`Interpreter::invoke`]s
    /// for latency.
    pub fn invoke_profiled(&mut self) -> Result<crate::runtime::profile::Profile> {
        let saved = self.program.guarded().then(|| self.state.clone());
        loop {
            self.prepare_invoke()?;
            let inputs = Self::borrowed(&self.inputs)?;
            let result = self.program.run_profiled(inputs, &mut self.state, None);
            let (outputs, profile) = self.check_device(result)?;
            if !self.guard_overflow(saved.as_ref())? {
                self.set_outputs(outputs);
                return Ok(profile);
            }
        }
    }

    /// After a run: when fp16 stores saturated, fail ([`OverflowGuard::Error`]) or
    /// move the flagged nodes to fp32, prepare again and restore the variables
    /// to `saved` ([`OverflowGuard::On`]); true when the invoke must run again.
    fn guard_overflow(&mut self, saved: Option<&VariableState>) -> Result<bool> {
        let nodes = self.program.take_overflowed();
        if nodes.is_empty() {
            return Ok(false);
        }
        if let Some(s) = saved {
            self.state = s.clone();
        }
        let sg = self.main();
        let promoted: Vec<PromotedNode> = nodes
            .iter()
            .map(|&n| {
                let node = &sg.nodes[n];
                PromotedNode {
                    node: n,
                    op: node.op.name().to_string(),
                    tensor: node
                        .outputs
                        .first()
                        .map(|&t| sg.tensors[t].name.clone())
                        .unwrap_or_default(),
                    reason: "fp16 overflow: a stored value exceeded 65504 or was not finite".into(),
                }
            })
            .collect();
        let fresh = promoted
            .iter()
            .any(|p| !self.options.partitions.fp32_nodes.contains(&p.node));
        if self.options.overflow_guard != OverflowGuard::On || !fresh {
            let what = promoted
                .iter()
                .map(|p| format!("node {} ({}, tensor {})", p.node, p.op, p.tensor))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::Fp16Overflow { nodes, what });
        }
        for p in &promoted {
            tracing::warn!(
                node = p.node,
                op = %p.op,
                tensor = %p.tensor,
                "fp16 overflow: node {} ({}) saturated tensor {}; moved to fp32",
                p.node,
                p.op,
                p.tensor
            );
        }
        self.options.partitions.fp32_nodes.extend(nodes);
        self.promoted.extend(promoted);
        let graph = self.program.graph().clone();
        let (program, report, device, choice) = Self::prepare(graph, &self.options, false)?;
        self.choice = choice;
        self.input_copies += self.program.input_copies();
        self.program = program;
        self.report = report;
        self.device = device;
        if let Some(r) = &mut self.report {
            r.promoted_fp32_nodes = self.promoted.clone();
        }
        Ok(true)
    }

    /// Reset cancellation, drop the last outputs (the run reuses their readback
    /// buffers) and reopen a lost device.
    fn prepare_invoke(&mut self) -> Result<()> {
        self.cancel.store(false, Ordering::Relaxed);
        self.set_outputs(Vec::new());
        self.recover_lost_device()
    }

    fn set_outputs(&mut self, outputs: Vec<Output>) {
        self.decoded = outputs.iter().map(|_| OnceLock::new()).collect();
        self.outputs = outputs;
    }

    /// The inputs set so far, borrowed: an invoke reads them in place.
    fn borrowed(inputs: &[Option<Tensor>]) -> Result<Vec<Cow<'_, Tensor>>> {
        inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.as_ref().map(Cow::Borrowed).ok_or_else(|| Error::Input {
                    index: i,
                    what: "not set".into(),
                })
            })
            .collect()
    }

    /// The result of a run, unless the device was lost or reported an error during
    /// it (outputs read back from a lost device are not to be trusted).
    fn check_device<T>(&self, result: Result<T>) -> Result<T> {
        if let Some(d) = &self.device {
            if d.is_lost() {
                let why = result.err().map(|e| format!(" ({e})")).unwrap_or_default();
                return Err(Error::device(format!(
                    "the GPU device was lost during invoke{why}; the next invoke prepares again"
                )));
            }
            if let Some(e) = d.take_uncaptured_error() {
                return Err(Error::device(format!(
                    "the GPU reported an error during invoke: {e}"
                )));
            }
        }
        result
    }

    /// Output `i` of the last invoke (a GPU output is decoded on the first call).
    pub fn output(&self, i: usize) -> Result<&Tensor> {
        let missing = || Error::Input {
            index: i,
            what: "no such output (has invoke run?)".into(),
        };
        match self.outputs.get(i).ok_or_else(missing)? {
            Output::Tensor(t) => Ok(t),
            &Output::Gpu { partition, slot } => {
                let cell = self.decoded.get(i).ok_or_else(missing)?;
                if cell.get().is_none() {
                    let _ = cell.set(self.program.gpu_output(partition, slot)?);
                }
                cell.get().ok_or_else(missing)
            }
        }
    }

    /// Output `i` of the last invoke decoded straight into `out` (native byte
    /// order, bool as 0/1 bytes) when it is still in its GPU readback buffer;
    /// false when it is not (then [`Interpreter::output`] has it).
    fn gpu_output_into(&self, i: usize, out: &mut [u8]) -> Result<bool> {
        match self.outputs.get(i) {
            Some(&Output::Gpu { partition, slot })
                if self.decoded.get(i).is_some_and(|c| c.get().is_none()) =>
            {
                let dtype = self.output_info(i)?.dtype;
                self.program
                    .gpu_output_into(partition, slot, dtype, out)
                    .map(|()| true)
            }
            _ => Ok(false),
        }
    }

    /// Output `i` of the last invoke written into `out` as the runtime of the C
    /// ABI holds it: native byte order, bool as 0/1 bytes, exactly its size.
    pub(crate) fn output_bytes_into(&self, i: usize, out: &mut [u8]) -> Result<()> {
        let info = self.output_info(i)?;
        let need = info.shape.iter().product::<usize>() * info.dtype.size().unwrap_or(0);
        if out.len() == need && self.gpu_output_into(i, out)? {
            return Ok(());
        }
        let t = self.output(i)?;
        let bytes = output::native_bytes(&t.data);
        if bytes.len() != out.len() {
            return Err(Error::Output {
                index: i,
                what: format!(
                    "the output holds {} bytes, the destination {}",
                    bytes.len(),
                    out.len()
                ),
            });
        }
        out.copy_from_slice(&bytes);
        Ok(())
    }

    /// Copy output `i` of the last invoke into `out`, the caller's memory: `T`
    /// must be the output's element type and `out` exactly as long as the output
    /// (an [`Error::Output`] naming the output otherwise).
    pub fn output_into<T: Element>(&self, i: usize, out: &mut [T]) -> Result<()> {
        if let Some(info) = self.outputs.get(i).and(self.output_info(i).ok()) {
            let n: usize = info.shape.iter().product();
            if info.dtype == T::DTYPE && n == out.len() {
                if let Some(bytes) = T::bytes_mut(out) {
                    if self.gpu_output_into(i, bytes)? {
                        return Ok(());
                    }
                }
            }
        }
        let t = self.output(i)?;
        let Some(values) = T::elements(&t.data) else {
            return Err(Error::Output {
                index: i,
                what: format!(
                    "the output is {}, the destination holds {}",
                    t.dtype(),
                    T::DTYPE
                ),
            });
        };
        if values.len() != out.len() {
            return Err(Error::Output {
                index: i,
                what: format!(
                    "the output has {} elements (shape {:?}), the destination {}",
                    values.len(),
                    t.shape,
                    out.len()
                ),
            });
        }
        out.copy_from_slice(values);
        Ok(())
    }

    /// A handle that stops a running invoke from another thread.
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Ask a running invoke to stop at the next node.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The underlying graph.
    pub fn graph(&self) -> &Graph {
        self.program.graph()
    }
}
