//! A delegate kernel: one connected set of runtime nodes, run by an [`Interpreter`]
//! over a small graph of just those nodes, compiled for the GPU once at init.

use super::abi::TfLiteTensor;
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

impl Kernel {
    /// Compile prepared nodes `nodes` of `sg`. `outputs`: the runtime tensors the
    /// kernel must write (None: those read outside the set). Fails when any node
    /// would not run on the GPU.
    pub fn build(
        sg: &Subgraph,
        nodes: &[usize],
        outputs: Option<&[usize]>,
        options: &KernelOptions,
    ) -> Result<Kernel, String> {
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
                ));
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
        let interp = Interpreter::with_options(
            &Model::from_graph(graph),
            Options {
                device: Device::Gpu,
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
            },
        )
        .map_err(|e| e.to_string())?;
        let report = interp
            .delegate_report()
            .ok_or("the kernel interpreter has no GPU plan")?;
        if let Some((p, why)) = report.failed.first() {
            return Err(format!("partition {p} failed to compile: {why}"));
        }
        if let Some((n, why)) = report.plan.fallback.first() {
            return Err(format!("node {n} would run on the CPU: {why}"));
        }
        let gpu_bytes = report.planned_bytes;
        LIVE_GPU_BYTES.fetch_add(gpu_bytes, Ordering::Relaxed);
        LIVE_KERNELS.fetch_add(1, Ordering::Relaxed);
        Ok(Kernel {
            interp,
            inputs,
            outputs,
            constant_outputs,
            gpu_bytes,
        })
    }

    /// Run on the runtime's tensors: `tensor(i)` gives runtime tensor `i`.
    ///
    /// # Safety
    /// `tensor` returns tensors of the live context whose `data` holds `bytes` bytes.
    pub unsafe fn invoke(
        &mut self,
        tensor: &dyn Fn(usize) -> Result<*mut TfLiteTensor, String>,
    ) -> Result<(), String> {
        // SAFETY: the caller upholds this function's `# Safety` contract.
        unsafe {
            for (slot, &t) in self.inputs.iter().enumerate() {
                let rt = &*tensor(t)?;
                let dtype = self
                    .interp
                    .input_info(slot)
                    .map_err(|e| e.to_string())?
                    .dtype;
                let shape: Vec<usize> = super::abi::int_array(rt.dims)
                    .iter()
                    .map(|&d| d.max(0) as usize)
                    .collect();
                let need = shape.iter().product::<usize>() * dtype.size().unwrap_or(0);
                if rt.data.is_null() || rt.bytes != need {
                    return Err(format!(
                        "input tensor {t} holds {} bytes, {} of shape {shape:?} needs {need}",
                        rt.bytes, dtype
                    ));
                }
                let bytes = std::slice::from_raw_parts(rt.data.cast::<u8>(), rt.bytes);
                // The same shape as the last invoke: overwrite the input in place.
                let held = self.interp.input_mut(slot).map_err(|e| e.to_string())?;
                if held.shape != shape || !fill_native(&mut held.data, bytes) {
                    let data = Data::from_bytes(dtype, bytes).map_err(|e| e.to_string())?;
                    self.interp
                        .set_input(slot, Tensor::new(shape, data))
                        .map_err(|e| e.to_string())?;
                }
            }
            self.interp.invoke().map_err(|e| e.to_string())?;
            for (slot, &t) in self.outputs.iter().enumerate() {
                let rt = &mut *tensor(t)?;
                if rt.data.is_null() {
                    return Err(format!("output tensor {t} has no data"));
                }
                let out = std::slice::from_raw_parts_mut(rt.data.cast::<u8>(), rt.bytes);
                self.interp
                    .output_bytes_into(slot, out)
                    .map_err(|e| format!("output tensor {t}: {e}"))?;
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
unsafe fn write(rt: *mut TfLiteTensor, t: usize, bytes: &[u8]) -> Result<(), String> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let rt = &mut *rt;
        if rt.data.is_null() || rt.bytes != bytes.len() {
            return Err(format!(
                "output tensor {t} holds {} bytes, the kernel produced {}",
                rt.bytes,
                bytes.len()
            ));
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
