//! A delegate kernel: one connected set of runtime nodes, run by an [`Interpreter`]
//! over a small graph of just those nodes, compiled for the GPU once at init.

use super::abi::{resize_tensor, TfLiteContext, TfLiteTensor, ALLOC_DYNAMIC};
use super::error::{CapiError, CapiResult};
use super::report::SharedBook;
use crate::delegate::PartitionOptions;
use crate::graph::{Data, Tensor};
use crate::graph::{Graph, Subgraph};
use crate::{Device, Interpreter, Model, Options};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of GPU buffers held by live kernels.
pub static LIVE_GPU_BYTES: AtomicU64 = AtomicU64::new(0);
/// Number of live kernels.
pub static LIVE_KERNELS: AtomicU64 = AtomicU64::new(0);
/// Input tensors kernels were handed, over all invokes.
pub static INPUTS_RECEIVED: AtomicU64 = AtomicU64::new(0);
/// Host copies kernels made of those inputs' elements: into the interpreter's
/// tensors and into GPU staging buffers (one per input when the input is read in
/// place).
pub static INPUT_HOST_COPIES: AtomicU64 = AtomicU64::new(0);

/// A compiled set of nodes plus where its inputs and outputs live in the runtime.
pub struct Kernel {
    interp: Interpreter,
    /// Runtime tensor index of each input of `interp`.
    inputs: Vec<usize>,
    /// Runtime tensor index of each output of `interp`.
    outputs: Vec<usize>,
    /// Runtime outputs that are constants of the prepared graph (folded weights):
    /// (runtime tensor, bytes).
    constant_outputs: Vec<(usize, std::sync::Arc<[u8]>)>,
    gpu_bytes: u64,
    /// Prepared-graph index of each node of `interp`'s graph.
    nodes: Vec<usize>,
    /// The options `interp` was made with (to prepare again for new shapes).
    options: Options,
    /// The shapes of the inputs and outputs it was compiled for.
    input_shapes: Vec<Vec<usize>>,
    output_shapes: Vec<Vec<usize>>,
    /// The runtime's inputs have other shapes than those compiled for: the
    /// interpreter re-prepares for them, and the outputs are dynamic tensors sized
    /// at each invoke.
    dynamic: bool,
    /// The report to update when the overflow guard promotes nodes, and the key
    /// of this kernel's subgraph in it.
    book: Option<(SharedBook, usize)>,
    /// Promoted nodes already in the report.
    promoted_seen: usize,
}

impl Drop for Kernel {
    fn drop(&mut self) {
        LIVE_GPU_BYTES.fetch_sub(self.gpu_bytes, Ordering::Relaxed);
        LIVE_KERNELS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How kernels are compiled.
pub struct KernelOptions {
    /// fp16 when the adapter has it.
    pub precision_loss_allowed: bool,
    /// Adapter choice.
    pub device: crate::gpu::device::DeviceOptions,
    /// Prepared-graph node indices kept at fp32.
    pub fp32_nodes: Vec<usize>,
    /// What happens when an fp16 GPU store saturates.
    pub overflow_guard: crate::interpreter::OverflowGuard,
    /// Where compiled pipelines persist.
    pub cache_dir: crate::interpreter::CacheDir,
}

/// Tensors of `sg` that the nodes `nodes` read from outside (non-constant, in order
/// of first use) and those they produce that others need (`needed`).
fn boundary(sg: &Subgraph, nodes: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut produced = Vec::new();
    let mut inputs = Vec::new();
    for &n in nodes {
        for t in sg.nodes[n].inputs.iter().flatten() {
            if !produced.contains(t) && !sg.tensors[*t].is_constant() && !inputs.contains(t) {
                inputs.push(*t);
            }
        }
        produced.extend(sg.nodes[n].outputs.iter().copied());
    }
    let outside_reads = |t: usize| {
        sg.outputs.contains(&t)
            || sg
                .nodes
                .iter()
                .enumerate()
                .any(|(m, node)| !nodes.contains(&m) && node.inputs.contains(&Some(t)))
    };
    let outputs = produced.into_iter().filter(|&t| outside_reads(t)).collect();
    (inputs, outputs)
}

/// An interpreter for `graph` with every node in a compiled GPU partition; else
/// the node (of `graph`) and why not.
fn compile(graph: Graph, options: &Options) -> Result<Interpreter, (Option<usize>, String)> {
    let interp = Interpreter::with_options(&Model::from_graph(graph), options.clone())
        .map_err(|e| (None, e.to_string()))?;
    if options.device == Device::Cpu {
        return Ok(interp);
    }
    let report = interp
        .delegate_report()
        .ok_or((None, "the kernel interpreter has no GPU plan".to_string()))?;
    if let Some((p, why)) = report.failed.first() {
        let first = report
            .plan
            .partitions
            .get(*p)
            .and_then(|p| p.nodes.first().copied());
        return Err((first, format!("failed to compile for the GPU: {why}")));
    }
    if let Some((n, why)) = report.plan.fallback.first() {
        return Err((Some(*n), format!("would run on the CPU: {why}")));
    }
    Ok(interp)
}

impl Kernel {
    /// Compile prepared nodes `nodes` of `sg`. `outputs`: the runtime tensors the
    /// kernel must write (None: those read outside the set). Fails when any node
    /// would not run on the GPU.
    pub fn build(
        sg: &Subgraph,
        nodes: &[usize],
        outputs: Option<&[usize]>,
        options: &KernelOptions,
    ) -> CapiResult<Kernel> {
        Self::build_on(sg, nodes, outputs, options, Device::Gpu)
    }

    /// As [`Kernel::build`], on `device`: [`Device::Cpu`] runs the nodes on the
    /// crate's reference kernels (for custom ops the runtime has no kernel for
    /// and the GPU does not take).
    pub fn build_on(
        sg: &Subgraph,
        nodes: &[usize],
        outputs: Option<&[usize]>,
        options: &KernelOptions,
        device: Device,
    ) -> CapiResult<Kernel> {
        let (inputs, needed) = boundary(sg, nodes);
        let wanted: Vec<usize> = outputs.map(<[usize]>::to_vec).unwrap_or(needed);
        let produced: Vec<usize> = nodes
            .iter()
            .flat_map(|&n| sg.nodes[n].outputs.iter().copied())
            .collect();
        let mut outputs = Vec::new();
        let mut constant_outputs = Vec::new();
        for t in wanted {
            if produced.contains(&t) {
                outputs.push(t);
            } else if let Some(d) = &sg.tensors[t].data {
                constant_outputs.push((t, d.clone()));
            } else {
                return Err(format!(
                    "output tensor {t} ({}) is not produced by the delegated nodes",
                    sg.tensors[t].name
                )
                .into());
            }
        }
        // The small graph: only the tensors these nodes touch, renumbered.
        let mut remap: HashMap<usize, usize> = HashMap::new();
        let mut tensors = Vec::new();
        let mut local = |t: usize| -> usize {
            *remap.entry(t).or_insert_with(|| {
                tensors.push(sg.tensors[t].clone());
                tensors.len() - 1
            })
        };
        let mut mini_nodes = Vec::with_capacity(nodes.len());
        for &n in nodes {
            let node = &sg.nodes[n];
            mini_nodes.push(crate::graph::Node {
                op: node.op.clone(),
                inputs: node.inputs.iter().map(|t| t.map(&mut local)).collect(),
                outputs: node.outputs.iter().map(|&t| local(t)).collect(),
            });
        }
        let mini_inputs = inputs.iter().map(|&t| local(t)).collect();
        let mini_outputs = outputs.iter().map(|&t| local(t)).collect();
        let graph = Graph {
            subgraphs: vec![Subgraph {
                name: "delegate kernel".into(),
                tensors,
                nodes: mini_nodes,
                inputs: mini_inputs,
                outputs: mini_outputs,
            }],
            ..Default::default()
        };
        let fp32_nodes = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| options.fp32_nodes.contains(n))
            .map(|(k, _)| k)
            .collect();
        let interp_options = Options {
            device,
            precision_loss_allowed: options.precision_loss_allowed,
            gpu: options.device,
            partitions: PartitionOptions {
                max_partitions: None,
                min_nodes: 1,
                fp32_nodes,
                ..Default::default()
            },
            overflow_guard: options.overflow_guard,
            cache_dir: options.cache_dir.clone(),
            ..Default::default()
        };
        let interp = compile(graph, &interp_options).map_err(|(n, e)| {
            match n.and_then(|n| nodes.get(n).copied()) {
                Some(node) => {
                    let op = sg.nodes.get(node).map(|n| n.op.name()).unwrap_or("?");
                    format!("node {node} ({op}) {e}")
                }
                None => e,
            }
        })?;
        let gpu_bytes = interp.delegate_report().map_or(0, |r| r.planned_bytes);
        let input_shapes = inputs
            .iter()
            .map(|&t| sg.tensors[t].shape.clone())
            .collect();
        let output_shapes = outputs
            .iter()
            .map(|&t| sg.tensors[t].shape.clone())
            .collect();
        LIVE_GPU_BYTES.fetch_add(gpu_bytes, Ordering::Relaxed);
        LIVE_KERNELS.fetch_add(1, Ordering::Relaxed);
        Ok(Kernel {
            interp,
            inputs,
            outputs,
            constant_outputs,
            gpu_bytes,
            nodes: nodes.to_vec(),
            options: interp_options,
            input_shapes,
            output_shapes,
            dynamic: false,
            book: None,
            promoted_seen: 0,
        })
    }

    /// The precision its partitions compiled at: "fp16" when any runs in f16,
    /// "cpu" for a kernel on the reference kernels.
    pub fn precision(&self) -> &'static str {
        if self.options.device == Device::Cpu {
            return "cpu";
        }
        let f16 = self.interp.delegate_report().is_some_and(|r| {
            r.partition_precision
                .contains(&Some(crate::gpu::pipeline::Precision::F16))
        });
        if f16 {
            "fp16"
        } else {
            "fp32"
        }
    }

    /// The adapter line of the device it runs on.
    pub fn adapter(&self) -> String {
        self.interp
            .delegate_report()
            .map(|r| r.adapter.clone())
            .unwrap_or_default()
    }

    /// Report nodes the overflow guard promotes to `book` under `key`.
    pub fn attach(&mut self, book: SharedBook, key: usize) {
        self.book = Some((book, key));
    }

    /// The kernel's Prepare: compare the runtime's input shapes with those it
    /// was compiled for. Equal: give the outputs their compiled shapes. Changed
    /// (a resized input, or a dynamic tensor upstream): the outputs become
    /// dynamic tensors that each invoke sizes from what the interpreter, which
    /// prepares again for the new shapes, produces.
    ///
    /// # Safety
    /// `ctx` is the live context in the kernel's Prepare and `tensor` returns its
    /// tensors.
    pub unsafe fn prepare(
        &mut self,
        ctx: *mut TfLiteContext,
        tensor: &dyn Fn(usize) -> CapiResult<*mut TfLiteTensor>,
    ) -> CapiResult<()> {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            let mut same = true;
            for (slot, &t) in self.inputs.iter().enumerate() {
                let rt = &*tensor(t)?;
                let shape: Vec<usize> = super::abi::int_array(rt.dims)
                    .iter()
                    .map(|&d| d.max(0) as usize)
                    .collect();
                same &= shape == self.input_shapes[slot];
            }
            self.dynamic = !same;
            for (slot, &t) in self.outputs.iter().enumerate() {
                let rt = tensor(t)?;
                if self.dynamic {
                    if (*rt).allocation_type != ALLOC_DYNAMIC {
                        (*rt).data = std::ptr::null_mut();
                        (*rt).allocation_type = ALLOC_DYNAMIC;
                    }
                    continue;
                }
                let dims = super::abi::int_array((*rt).dims);
                let want = &self.output_shapes[slot];
                if dims.len() != want.len()
                    || dims.iter().zip(want).any(|(&d, &w)| d as i64 != w as i64)
                {
                    resize_tensor(ctx, rt, want)
                        .map_err(|e| CapiError::from(format!("output tensor {t}: {e}")))?;
                }
            }
            Ok(())
        }
    }

    /// Whether the inputs now set have the shapes `interp`'s GPU plan was
    /// compiled for.
    fn compiled_for_inputs(&mut self) -> CapiResult<bool> {
        let main = self.interp.graph().main();
        let want: Vec<Vec<usize>> = main
            .inputs
            .iter()
            .map(|&t| main.tensors[t].shape.clone())
            .collect();
        for (slot, shape) in want.iter().enumerate() {
            if &self.interp.input_mut(slot).map_err(CapiError::from)?.shape != shape {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Prepare again for the input shapes now set: one pass of the reference
    /// kernels gives every tensor's shape, and the graph with those shapes is
    /// compiled for the GPU (which then runs this invoke and the next ones).
    fn reprepare(&mut self) -> CapiResult<()> {
        let mut graph = self.interp.graph().clone();
        let mut shapes: HashMap<usize, Vec<usize>> = HashMap::new();
        {
            let main = graph.main();
            let outputs_of: Vec<Vec<usize>> =
                main.nodes.iter().map(|n| n.outputs.clone()).collect();
            for (slot, &t) in main.inputs.iter().enumerate() {
                let shape = self
                    .interp
                    .input_mut(slot)
                    .map_err(CapiError::from)?
                    .shape
                    .clone();
                shapes.insert(t, shape);
            }
            let mut observe = |n: usize, outs: &[Tensor]| {
                if let Some(ts) = outputs_of.get(n) {
                    for (&t, v) in ts.iter().zip(outs) {
                        shapes.insert(t, v.shape.clone());
                    }
                }
            };
            let mut cpu = Interpreter::with_options(
                &Model::from_graph(graph.clone()),
                Options {
                    device: Device::Cpu,
                    ..Default::default()
                },
            )
            .map_err(CapiError::from)?;
            for slot in 0..main.inputs.len() {
                let value = self
                    .interp
                    .input_mut(slot)
                    .map_err(CapiError::from)?
                    .clone();
                cpu.set_input(slot, value).map_err(CapiError::from)?;
            }
            cpu.invoke_observed(Some(&mut observe))
                .map_err(|e| CapiError::from(format!("at the new input shapes: {e}")))?;
        }
        if let Some(main) = graph.subgraphs.first_mut() {
            for (t, shape) in shapes {
                if let Some(info) = main.tensors.get_mut(t) {
                    info.shape = shape;
                }
            }
        }
        let inputs: Vec<Tensor> = (0..self.inputs.len())
            .map(|slot| self.interp.input_mut(slot).map(|t| t.clone()))
            .collect::<crate::Result<_>>()
            .map_err(CapiError::from)?;
        let mut interp = compile(graph, &self.options).map_err(|(n, e)| match n {
            Some(n) => format!("node {} {e}", self.nodes.get(n).copied().unwrap_or(n)),
            None => e,
        })?;
        for (slot, value) in inputs.into_iter().enumerate() {
            interp.set_input(slot, value).map_err(CapiError::from)?;
        }
        let bytes = interp.delegate_report().map_or(0, |r| r.planned_bytes);
        LIVE_GPU_BYTES.fetch_sub(self.gpu_bytes, Ordering::Relaxed);
        LIVE_GPU_BYTES.fetch_add(bytes, Ordering::Relaxed);
        self.gpu_bytes = bytes;
        self.interp = interp;
        self.promoted_seen = 0;
        if let Some((book, key)) = &self.book {
            let main = self.interp.graph().main();
            let shapes: Vec<Vec<usize>> = main
                .inputs
                .iter()
                .map(|&t| main.tensors[t].shape.clone())
                .collect();
            if let Ok(mut b) = book.lock() {
                if let Err(e) = b.reprepared(*key, &self.nodes, &shapes) {
                    tracing::warn!("tflite-wgpu delegate report: {e}");
                }
            }
        }
        Ok(())
    }

    /// Report nodes the overflow guard promoted since the last call.
    fn report_promotions(&mut self) {
        let Some((book, key)) = &self.book else {
            return;
        };
        let Some(report) = self.interp.delegate_report() else {
            return;
        };
        let all = &report.promoted_fp32_nodes;
        if all.len() <= self.promoted_seen {
            return;
        }
        let mapped: Vec<crate::PromotedNode> = all[self.promoted_seen..]
            .iter()
            .map(|p| crate::PromotedNode {
                node: self.nodes.get(p.node).copied().unwrap_or(p.node),
                ..p.clone()
            })
            .collect();
        self.promoted_seen = all.len();
        if let Ok(mut b) = book.lock() {
            if let Err(e) = b.promote(*key, &mapped) {
                tracing::warn!("tflite-wgpu delegate report: {e}");
            }
        }
    }

    /// Run on the runtime's tensors: `tensor(i)` gives runtime tensor `i`.
    ///
    /// # Safety
    /// `tensor` returns tensors of the live context whose `data` holds `bytes` bytes.
    pub unsafe fn invoke(
        &mut self,
        ctx: *mut TfLiteContext,
        tensor: &dyn Fn(usize) -> CapiResult<*mut TfLiteTensor>,
    ) -> CapiResult<()> {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            // Inputs only GPU partitions read go from the runtime's memory
            // straight into their staging buffers; the others are copied into
            // the interpreter's tensors first.
            let mut direct: Vec<(usize, &[u8])> = Vec::new();
            let mut copied = 0;
            for (slot, &t) in self.inputs.iter().enumerate() {
                let rt = &*tensor(t)?;
                let dtype = self.interp.input_info(slot).map_err(CapiError::from)?.dtype;
                let shape: Vec<usize> = super::abi::int_array(rt.dims)
                    .iter()
                    .map(|&d| d.max(0) as usize)
                    .collect();
                let need = shape.iter().product::<usize>() * dtype.size().unwrap_or(0);
                if rt.data.is_null() || rt.bytes != need {
                    return Err(format!(
                        "input tensor {t} holds {} bytes, {} of shape {shape:?} needs {need}",
                        rt.bytes, dtype
                    )
                    .into());
                }
                let bytes = std::slice::from_raw_parts(rt.data.cast::<u8>(), rt.bytes);
                if !self.dynamic && self.interp.reads_in_place(slot) {
                    direct.push((slot, bytes));
                    continue;
                }
                copied += 1;
                // The same shape as the last invoke: overwrite the input in place.
                let held = self.interp.input_mut(slot).map_err(CapiError::from)?;
                if held.shape != shape || !fill_native(&mut held.data, bytes) {
                    let data = Data::from_bytes(dtype, bytes).map_err(CapiError::from)?;
                    self.interp
                        .set_input(slot, Tensor::new(shape, data))
                        .map_err(CapiError::from)?;
                }
            }
            if self.dynamic && self.options.device != Device::Cpu && !self.compiled_for_inputs()? {
                self.reprepare()?;
            }
            let staged = self.interp.input_copies();
            if direct.is_empty() {
                self.interp.invoke()
            } else {
                self.interp.invoke_in_place(&direct)
            }
            .map_err(CapiError::from)?;
            let staged = self.interp.input_copies().saturating_sub(staged);
            INPUTS_RECEIVED.fetch_add(self.inputs.len() as u64, Ordering::Relaxed);
            INPUT_HOST_COPIES.fetch_add(copied + staged, Ordering::Relaxed);
            self.report_promotions();
            for (slot, &t) in self.outputs.iter().enumerate() {
                if self.dynamic {
                    let shape = self
                        .interp
                        .output(slot)
                        .map_err(|e| CapiError::from(format!("output tensor {t}: {e}")))?
                        .shape
                        .clone();
                    resize_tensor(ctx, tensor(t)?, &shape)
                        .map_err(|e| CapiError::from(format!("output tensor {t}: {e}")))?;
                }
                let rt = &mut *tensor(t)?;
                if rt.data.is_null() {
                    return Err(format!("output tensor {t} has no data").into());
                }
                let out = std::slice::from_raw_parts_mut(rt.data.cast::<u8>(), rt.bytes);
                self.interp
                    .output_bytes_into(slot, out)
                    .map_err(|e| CapiError::from(format!("output tensor {t}: {e}")))?;
            }
            for (t, bytes) in &self.constant_outputs {
                write(tensor(*t)?, *t, bytes)?;
            }
            Ok(())
        }
    }
}

/// Overwrite `data` with the runtime's `bytes` (native byte order) in place;
/// false when the sizes differ.
fn fill_native(data: &mut Data, bytes: &[u8]) -> bool {
    fn copy<T: bytemuck::Pod>(v: &mut [T], bytes: &[u8]) -> bool {
        let dst: &mut [u8] = bytemuck::cast_slice_mut(v);
        let fits = dst.len() == bytes.len();
        if fits {
            dst.copy_from_slice(bytes);
        }
        fits
    }
    match data {
        Data::F32(v) | Data::C64(v) => copy(v, bytes),
        Data::F16(v) => copy(v, bytes),
        Data::I8(v) => copy(v, bytes),
        Data::U8(v) => copy(v, bytes),
        Data::I16(v) => copy(v, bytes),
        Data::I32(v) => copy(v, bytes),
        Data::U32(v) => copy(v, bytes),
        Data::I64(v) => copy(v, bytes),
        Data::Bool(v) => {
            let fits = v.len() == bytes.len();
            if fits {
                for (d, &b) in v.iter_mut().zip(bytes) {
                    *d = b != 0;
                }
            }
            fits
        }
    }
}

/// Copy `bytes` into runtime tensor `rt` (tensor `t`, for errors).
///
/// # Safety
/// `rt` is a tensor of the live context.
unsafe fn write(rt: *mut TfLiteTensor, t: usize, bytes: &[u8]) -> CapiResult<()> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let rt = &mut *rt;
        if rt.data.is_null() || rt.bytes != bytes.len() {
            return Err(format!(
                "output tensor {t} holds {} bytes, the kernel produced {}",
                rt.bytes,
                bytes.len()
            )
            .into());
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), rt.data.cast::<u8>(), bytes.len());
        Ok(())
    }
}

impl Kernel {
    /// True when the kernel writes exactly the runtime tensors `outputs`.
    pub fn writes_exactly(&self, outputs: &[usize]) -> bool {
        let mut mine: Vec<usize> = self
            .outputs
            .iter()
            .chain(self.constant_outputs.iter().map(|(t, _)| t))
            .copied()
            .collect();
        let mut theirs = outputs.to_vec();
        mine.sort_unstable();
        theirs.sort_unstable();
        mine == theirs
    }
}
