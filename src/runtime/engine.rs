//! The mixed CPU/GPU scheduler: runs the steps of a plan (single CPU nodes or
//! whole GPU partitions) with constants decoded once, values freed after their last
//! use, and control flow through nested subgraph runs.

use super::profile::{CpuNodeTime, DispatchTime, PartitionTime, Profile};
use crate::cpu::ops::{self, NodeCache, OpCtx};
use crate::cpu::{RunLimits, SubgraphRunner};
use crate::delegate::{Partition, Plan, Step};
use crate::error::{Error, Result};
use crate::gpu::program::{GpuProgram, HostInput, RunTimes};
use crate::graph::Tensor;
use crate::graph::{Graph, Op, Subgraph};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Called after each node of the main subgraph with the node index and its outputs.
/// Nodes inside a GPU partition are reported after the partition runs, those whose
/// outputs the partition reads back (every node when intermediates are exposed).
pub type NodeObserver<'a> = dyn FnMut(usize, &[Tensor]) + 'a;

struct SubProgram {
    consts: Vec<Option<Tensor>>,
    caches: Vec<NodeCache>,
    /// What runs, in order: single CPU nodes or whole GPU partitions.
    steps: Vec<Step>,
    /// For each step, the tensors whose last reader it is (freed after it runs).
    frees: Vec<Vec<usize>>,
}

/// Compiled GPU partitions of the main subgraph, by partition index.
pub struct GpuPartitions {
    /// The plan the steps come from.
    pub plan: Plan,
    /// The compiled program of each partition; None runs its nodes on the CPU.
    pub programs: Vec<Option<GpuProgram>>,
}

/// A graph prepared for the CPU: constants decoded, op support checked.
pub struct Program {
    graph: Arc<Graph>,
    subs: Vec<SubProgram>,
    limits: RunLimits,
    gpu: Option<GpuPartitions>,
    /// Collects timings while [`Program::run_profiled`] runs.
    profile: Mutex<Option<Profile>>,
    /// The first node with no kernel and its op name (a program built for inspection).
    unsupported: Option<(usize, String)>,
    /// Per partition, the outputs that may stay in their readback buffers.
    keep: Vec<Vec<bool>>,
}

/// Why `op` cannot run on any device of this crate: "no kernel for custom op X" or
/// "unsupported builtin X"; None when it has a kernel.
pub fn no_kernel_reason(op: &Op) -> Option<String> {
    let Op::Unknown { name } = op else {
        return None;
    };
    let builtin = crate::model::builtin_code(name).is_some()
        || name
            .strip_prefix("BUILTIN_")
            .is_some_and(|c| c.parse::<i32>().is_ok());
    Some(if builtin {
        format!("unsupported builtin {name}")
    } else {
        format!("no kernel for custom op {name}")
    })
}

/// The first node of `graph` (main subgraph first) with no kernel, and its op name.
fn first_without_kernel(graph: &Graph) -> Option<(usize, String)> {
    graph.subgraphs.iter().find_map(|sg| {
        sg.nodes
            .iter()
            .enumerate()
            .find_map(|(n, node)| match &node.op {
                Op::Unknown { name } => Some((n, name.clone())),
                _ => None,
            })
    })
}

/// A model output of a run of the main subgraph.
#[derive(Debug, Clone)]
pub enum Output {
    /// A value on the host.
    Tensor(Tensor),
    /// Output `slot` of GPU partition `partition`, left in its mapped readback
    /// buffer until that partition runs again: decoded by
    /// [`Program::gpu_output`] or straight into the caller's memory by
    /// [`Program::gpu_output_into`].
    Gpu {
        /// The partition.
        partition: usize,
        /// Its output slot.
        slot: usize,
    },
}

/// Which outputs of each partition can stay in their readback buffers: model
/// outputs (listed once, not variables) that no node reads.
fn keepable(sg: &Subgraph, partitions: &[Partition]) -> Vec<Vec<bool>> {
    let read = |t: usize| sg.nodes.iter().any(|n| n.inputs.contains(&Some(t)));
    partitions
        .iter()
        .map(|p| {
            p.outputs
                .iter()
                .map(|&t| {
                    sg.outputs.iter().filter(|&&o| o == t).count() == 1
                        && !sg.tensors[t].is_variable
                        && !sg.inputs.contains(&t)
                        && !read(t)
                })
                .collect()
        })
        .collect()
}

/// What a run of a subgraph exchanges with its GPU partitions without host
/// tensors: main-subgraph inputs read in place, and model outputs left in their
/// readback buffers.
struct InPlace<'a> {
    /// Main-subgraph tensors whose elements GPU partitions read as bytes in
    /// place (see [`Program::run_direct`]).
    direct: &'a [(usize, &'a [u8])],
    /// Model outputs left in GPU readback buffers: (tensor, partition, slot).
    kept: Vec<(usize, usize, usize)>,
}

/// Persistent values of variable tensors, per subgraph.
pub type VariableState = HashMap<(usize, usize), Tensor>;

impl Program {
    /// Prepare every subgraph; unknown ops are an error naming the node.
    pub fn new(graph: Arc<Graph>, limits: RunLimits) -> Result<Program> {
        Self::with_gpu(graph, limits, None)
    }

    /// Prepare with compiled GPU partitions for the main subgraph; unknown ops are an
    /// error naming the first such node.
    pub fn with_gpu(
        graph: Arc<Graph>,
        limits: RunLimits,
        gpu: Option<GpuPartitions>,
    ) -> Result<Program> {
        let program = Self::describing(graph, limits, gpu)?;
        match program.unsupported() {
            Some(e) => Err(e),
            None => Ok(program),
        }
    }

    /// Prepare like [`Program::with_gpu`], also when some nodes have no kernel: the
    /// program then describes the model (for inspection) and every run fails with the
    /// error naming the first such node, before anything runs.
    pub fn describing(
        graph: Arc<Graph>,
        limits: RunLimits,
        gpu: Option<GpuPartitions>,
    ) -> Result<Program> {
        if graph.subgraphs.is_empty() {
            return Err(Error::Graph {
                subgraph: 0,
                what: "the model has no subgraphs".into(),
            });
        }
        let unsupported = first_without_kernel(&graph);
        let mut subs = Vec::with_capacity(graph.subgraphs.len());
        for sg in &graph.subgraphs {
            let consts = sg
                .tensors
                .iter()
                .map(Tensor::from_info)
                .collect::<Result<Vec<_>>>()?;
            let steps = match (&gpu, subs.is_empty()) {
                (Some(g), true) => g.plan.steps.clone(),
                _ => (0..sg.nodes.len()).map(Step::Cpu).collect(),
            };
            let partitions = gpu.as_ref().map(|g| &g.plan.partitions[..]).unwrap_or(&[]);
            subs.push(SubProgram {
                consts,
                caches: sg.nodes.iter().map(|_| NodeCache::default()).collect(),
                frees: last_uses(sg, &steps, partitions),
                steps,
            });
        }
        let keep = match &gpu {
            Some(g) => keepable(graph.main(), &g.plan.partitions),
            None => Vec::new(),
        };
        Ok(Program {
            graph,
            subs,
            limits,
            gpu,
            keep,
            profile: Mutex::new(None),
            unsupported,
        })
    }

    /// The error naming the first node with no kernel, when the program has one.
    pub fn unsupported(&self) -> Option<Error> {
        self.unsupported
            .clone()
            .map(|(node, op)| Error::UnsupportedOp { node, op })
    }

    /// The graph this program runs.
    pub fn graph(&self) -> &Arc<Graph> {
        &self.graph
    }

    /// The nodes whose fp16 GPU stores saturated since the last call (see
    /// `GpuProgram::take_overflowed`), in node order.
    pub fn take_overflowed(&self) -> Vec<usize> {
        let mut nodes: Vec<usize> = self
            .gpu
            .iter()
            .flat_map(|g| g.programs.iter().flatten())
            .flat_map(|p| p.take_overflowed())
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// The host times of each compiled GPU partition's last run, in partition
    /// order (see `GpuProgram::last_host_times`; partitions that never ran are
    /// left out): every run measures them, profiled or not.
    pub fn last_host_times(&self) -> Vec<PartitionTime> {
        self.gpu
            .iter()
            .flat_map(|g| g.programs.iter().enumerate())
            .filter_map(|(p, prog)| Some(partition_time(p, &prog.as_ref()?.last_host_times()?)))
            .collect()
    }

    /// Host copies of input elements into GPU staging buffers so far, over
    /// every compiled partition (see `GpuProgram::input_copies`).
    pub fn input_copies(&self) -> u64 {
        self.gpu
            .iter()
            .flat_map(|g| g.programs.iter().flatten())
            .map(GpuProgram::input_copies)
            .sum()
    }

    /// Whether any compiled GPU partition carries the fp16 overflow guard.
    pub fn guarded(&self) -> bool {
        self.gpu
            .iter()
            .flat_map(|g| g.programs.iter().flatten())
            .any(|p| p.guarded())
    }

    /// Run subgraph `s` on `inputs` (borrowed inputs are read in place, never
    /// copied), returning its outputs.
    pub fn run(
        &self,
        s: usize,
        inputs: Vec<Cow<'_, Tensor>>,
        state: &mut VariableState,
        observer: Option<&mut NodeObserver<'_>>,
    ) -> Result<Vec<Output>> {
        if let Some(e) = self.unsupported() {
            return Err(e);
        }
        self.run_at_depth(s, inputs, state, observer, 0, &[])
    }

    /// Whether main-subgraph input `slot` can be handed to the GPU as bytes read
    /// in place ([`Program::run_direct`]): only compiled GPU partitions read it
    /// (no CPU node, and it is no model output) and it is not int64 (whose
    /// values decide whether a partition fits the GPU).
    pub fn direct_input(&self, slot: usize) -> bool {
        let sg = self.graph.main();
        let (Some(gpu), Some(&t)) = (&self.gpu, sg.inputs.get(slot)) else {
            return false;
        };
        let reads = |n: usize| sg.nodes[n].inputs.contains(&Some(t));
        let on_gpu = gpu.plan.steps.iter().all(|step| match *step {
            Step::Cpu(n) => !reads(n),
            Step::Gpu(p) => {
                !gpu.plan.partitions[p].nodes.iter().any(|&n| reads(n))
                    || gpu.programs.get(p).is_some_and(Option::is_some)
            }
        });
        on_gpu
            && !sg.outputs.contains(&t)
            && !sg.tensors[t].is_variable
            && sg.tensors[t].dtype != crate::graph::DType::I64
    }

    /// Like [`Program::run`] on the main subgraph, with the inputs `direct`
    /// names as (input slot, elements as native-order bytes) read in place by
    /// the GPU partitions that take them, so they cross the host once (into the
    /// staging buffers). Each slot must be one [`Program::direct_input`]
    /// allows, and its tensor in `inputs` carries its shape and dtype only (its
    /// elements are never read).
    pub fn run_direct(
        &self,
        inputs: Vec<Cow<'_, Tensor>>,
        direct: &[(usize, &[u8])],
        state: &mut VariableState,
    ) -> Result<Vec<Output>> {
        if let Some(e) = self.unsupported() {
            return Err(e);
        }
        let sg = self.graph.main();
        let by_tensor: Vec<(usize, &[u8])> = direct
            .iter()
            .filter_map(|&(slot, bytes)| sg.inputs.get(slot).map(|&t| (t, bytes)))
            .collect();
        self.run_at_depth(0, inputs, state, None, 0, &by_tensor)
    }

    /// Every dispatch of the compiled GPU partitions, in invoke order, with its
    /// kernel, launch size and work (the roofline's FLOPs and bytes).
    pub fn dispatch_plan(&self) -> Vec<super::profile::PlannedDispatch> {
        let Some(gpu) = &self.gpu else {
            return Vec::new();
        };
        let sg = self.graph.main();
        let mut rows = Vec::new();
        for (partition, prog) in gpu.programs.iter().enumerate() {
            let Some(prog) = prog else { continue };
            let infos = prog.dispatch_info();
            let costs = super::profile::dispatch_costs(sg, &infos, prog.precision());
            for (info, cost) in infos.into_iter().zip(costs) {
                rows.push(super::profile::PlannedDispatch {
                    partition,
                    workgroups: info.workgroups(),
                    nodes: info.nodes,
                    kernel: info.kernel,
                    workgroup_size: info.workgroup_size,
                    flops: cost.flops,
                    bytes: cost.bytes,
                });
            }
        }
        rows
    }

    /// The finished WGSL of every GPU dispatch, in execution order, as
    /// (file name, text): `P{partition}_{index}_{shader}.wgsl`.
    pub fn dispatch_sources(&self) -> Vec<(String, String)> {
        let Some(gpu) = &self.gpu else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (partition, prog) in gpu.programs.iter().enumerate() {
            let Some(prog) = prog else { continue };
            for (i, (shader, text)) in prog.dispatch_sources().into_iter().enumerate() {
                out.push((format!("p{partition:02}_{i:03}_{shader}.wgsl"), text));
            }
        }
        out
    }

    /// The program of GPU partition `partition`.
    fn program(&self, partition: usize) -> Result<&GpuProgram> {
        self.gpu
            .as_ref()
            .and_then(|g| g.programs.get(partition))
            .and_then(Option::as_ref)
            .ok_or_else(|| Error::Graph {
                subgraph: 0,
                what: format!("no compiled GPU partition {partition}"),
            })
    }

    /// Decode an [`Output::Gpu`] of the last run.
    pub fn gpu_output(&self, partition: usize, slot: usize) -> Result<Tensor> {
        self.program(partition)?.read_kept(slot)
    }

    /// Decode an [`Output::Gpu`] of the last run straight into `out`: its
    /// elements as `dtype` in native byte order (bool as 0/1 bytes).
    pub fn gpu_output_into(
        &self,
        partition: usize,
        slot: usize,
        dtype: crate::graph::DType,
        out: &mut [u8],
    ) -> Result<()> {
        self.program(partition)?.read_kept_into(slot, dtype, out)
    }

    /// `o` as a tensor.
    pub fn materialize(&self, o: Output) -> Result<Tensor> {
        match o {
            Output::Tensor(t) => Ok(t),
            Output::Gpu { partition, slot } => self.gpu_output(partition, slot),
        }
    }

    /// Like [`Program::run`] on the main subgraph, also timing every CPU node of it,
    /// the transfers of every GPU partition and (with timestamp queries) every
    /// dispatch.
    pub fn run_profiled(
        &self,
        inputs: Vec<Cow<'_, Tensor>>,
        state: &mut VariableState,
        observer: Option<&mut NodeObserver<'_>>,
    ) -> Result<(Vec<Output>, Profile)> {
        if let Some(e) = self.unsupported() {
            return Err(e);
        }
        self.set_profile(Some(Profile::default()))?;
        let start = Instant::now();
        let result = self.run_at_depth(0, inputs, state, observer, 0, &[]);
        let wall_ns = start.elapsed().as_secs_f64() * 1e9;
        let profile = self.set_profile(None)?.unwrap_or_default();
        Ok((result?, Profile { wall_ns, ..profile }))
    }

    /// Replace the profile being collected, returning the previous one.
    fn set_profile(&self, p: Option<Profile>) -> Result<Option<Profile>> {
        let mut guard = self
            .profile
            .lock()
            .map_err(|_| Error::Stopped("a profiled run panicked on another thread".into()))?;
        Ok(std::mem::replace(&mut *guard, p))
    }

    /// Add to the profile being collected, if any.
    fn with_profile(&self, f: impl FnOnce(&mut Profile)) {
        if let Ok(mut guard) = self.profile.lock() {
            if let Some(p) = guard.as_mut() {
                f(p);
            }
        }
    }

    fn profiling(&self) -> bool {
        self.profile.lock().is_ok_and(|g| g.is_some())
    }

    /// Run subgraph `s`; `direct`: main-subgraph tensors whose elements GPU
    /// partitions read as bytes in place (see [`Program::run_direct`]).
    fn run_at_depth(
        &self,
        s: usize,
        inputs: Vec<Cow<'_, Tensor>>,
        state: &mut VariableState,
        mut observer: Option<&mut NodeObserver<'_>>,
        depth: usize,
        direct: &[(usize, &[u8])],
    ) -> Result<Vec<Output>> {
        let sg = self
            .limits
            .subgraph_call(&self.graph, s, inputs.len(), depth)?;
        let sub = &self.subs[s];
        let mut values: Vec<Option<Cow<'_, Tensor>>> = vec![None; sg.tensors.len()];
        for (&t, v) in sg.inputs.iter().zip(inputs) {
            values[t] = Some(v);
        }
        for (t, info) in sg.tensors.iter().enumerate() {
            if info.is_variable && values[t].is_none() {
                let v = match state.get(&(s, t)) {
                    Some(v) => v.clone(),
                    None => match &sub.consts[t] {
                        Some(c) => c.clone(),
                        None => Tensor::zeros(info.dtype, info.shape.clone())?,
                    },
                };
                values[t] = Some(Cow::Owned(v));
            }
        }
        let mut io = InPlace {
            direct,
            kept: Vec::new(),
        };
        for (k, step) in sub.steps.iter().enumerate() {
            if self.limits.cancel.load(Ordering::Relaxed) {
                return Err(Error::Stopped("cancelled".into()));
            }
            match *step {
                Step::Cpu(n) => {
                    self.run_node(s, n, &mut values, state, observer.as_deref_mut(), depth)?
                }
                Step::Gpu(p) => self.run_partition(
                    p,
                    &mut values,
                    state,
                    observer.as_deref_mut(),
                    depth,
                    &mut io,
                )?,
            }
            for &t in &sub.frees[k] {
                values[t] = None;
            }
        }
        sg.outputs
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                if let Some(&(_, partition, slot)) = io.kept.iter().find(|(kt, _, _)| *kt == t) {
                    return Ok(Output::Gpu { partition, slot });
                }
                let again = sg.outputs[k + 1..].contains(&t);
                let v = if again {
                    values[t].as_deref().cloned()
                } else {
                    values[t].take().map(Cow::into_owned)
                };
                v.or_else(|| sub.consts[t].clone())
                    .map(Output::Tensor)
                    .ok_or_else(|| Error::Graph {
                        subgraph: s,
                        what: format!(
                            "output tensor {t} ({}) was never written",
                            sg.tensors[t].name
                        ),
                    })
            })
            .collect()
    }
}

impl Program {
    fn run_node(
        &self,
        s: usize,
        n: usize,
        values: &mut [Option<Cow<'_, Tensor>>],
        state: &mut VariableState,
        observer: Option<&mut NodeObserver<'_>>,
        depth: usize,
    ) -> Result<()> {
        let sg = &self.graph.subgraphs[s];
        let sub = &self.subs[s];
        let node = &sg.nodes[n];
        let inputs: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .map(|i| i.and_then(|t| values[t].as_deref().or(sub.consts[t].as_ref())))
            .collect();
        let mut ctx = OpCtx::for_node(sg, n, node, inputs, &sub.caches[n], self, depth);
        let timer = (s == 0 && depth == 0 && self.profiling()).then(Instant::now);
        let outputs = ops::eval_node(&mut ctx)?;
        if let Some(t) = timer {
            let cpu_ns = t.elapsed().as_secs_f64() * 1e9;
            let op = node.op.name().to_string();
            self.with_profile(|p| {
                p.cpu_nodes.push(CpuNodeTime {
                    node: n,
                    op,
                    cpu_ns,
                })
            });
        }
        let writes = std::mem::take(&mut ctx.variable_writes);
        drop(ctx);
        for (pos, value) in writes {
            if let Some(t) = node.input(pos) {
                state.insert((s, t), value.clone());
                values[t] = Some(Cow::Owned(value));
            }
        }
        if let Some(obs) = observer {
            obs(n, &outputs);
        }
        for (&t, v) in node.outputs.iter().zip(outputs) {
            values[t] = Some(Cow::Owned(v));
        }
        Ok(())
    }

    fn run_partition(
        &self,
        p: usize,
        values: &mut [Option<Cow<'_, Tensor>>],
        state: &mut VariableState,
        mut observer: Option<&mut NodeObserver<'_>>,
        depth: usize,
        io: &mut InPlace<'_>,
    ) -> Result<()> {
        let Some(gpu) = &self.gpu else {
            return Err(Error::Graph {
                subgraph: 0,
                what: format!("step runs GPU partition {p}, but no partitions were prepared"),
            });
        };
        let part = &gpu.plan.partitions[p];
        let sg = &self.graph.subgraphs[0];
        let program = gpu.programs.get(p).and_then(|o| o.as_ref());
        let shapes_match = part.inputs.iter().all(|&t| {
            values[t].as_ref().is_some_and(|v| {
                v.shape == sg.tensors[t].shape && v.dtype() == sg.tensors[t].dtype && fits_gpu(v)
            })
        });
        match program {
            Some(prog) if shapes_match => {
                let inputs: Vec<HostInput<'_>> = part
                    .inputs
                    .iter()
                    .map(|&t| match io.direct.iter().find(|(d, _)| *d == t) {
                        Some(&(_, bytes)) => Ok(HostInput::Bytes(bytes)),
                        None => values[t]
                            .as_deref()
                            .map(HostInput::Tensor)
                            .ok_or_else(|| Error::Graph {
                                subgraph: 0,
                                what: format!("partition {p} input tensor {t} is not set"),
                            }),
                    })
                    .collect::<Result<_>>()?;
                let keep = match (&observer, depth) {
                    (None, 0) => self.keep.get(p).map_or(&[][..], Vec::as_slice),
                    _ => &[],
                };
                let outputs = if self.profiling() {
                    self.run_partition_profiled(p, prog, &inputs, part.outputs.len(), keep)?
                } else {
                    prog.run_keeping(&inputs, part.outputs.len(), keep, false)?
                        .0
                };
                for (slot, (&t, v)) in part.outputs.iter().zip(outputs).enumerate() {
                    match v {
                        Some(v) => values[t] = Some(Cow::Owned(v)),
                        None => io.kept.push((t, p, slot)),
                    }
                }
                if let Some(obs) = observer {
                    observe_partition(sg, part, values, obs);
                }
                Ok(())
            }
            _ if part.inputs.iter().any(|t| io.direct.iter().any(|(d, _)| d == t)) => {
                Err(Error::Graph {
                    subgraph: 0,
                    what: format!(
                        "partition {p} reads an input handed to the GPU in place but cannot run there"
                    ),
                })
            }
            _ => {
                for &n in &part.nodes {
                    self.run_node(0, n, values, state, observer.as_deref_mut(), depth)?;
                }
                Ok(())
            }
        }
    }
}

/// Call `observer` for each node of a partition whose outputs were read back (all of
/// them when the partition exposes its intermediates).
fn observe_partition(
    sg: &Subgraph,
    part: &Partition,
    values: &[Option<Cow<'_, Tensor>>],
    observer: &mut NodeObserver<'_>,
) {
    for &n in &part.nodes {
        let outputs: Option<Vec<Tensor>> = sg.nodes[n]
            .outputs
            .iter()
            .map(|&t| values[t].as_deref().cloned())
            .collect();
        if let Some(outputs) = outputs {
            observer(n, &outputs);
        }
    }
}

impl Program {
    /// Run partition `p`'s program, adding its dispatch and transfer times to the
    /// profile.
    fn run_partition_profiled(
        &self,
        p: usize,
        prog: &GpuProgram,
        inputs: &[HostInput<'_>],
        num_outputs: usize,
        keep: &[bool],
    ) -> Result<Vec<Option<Tensor>>> {
        let (outputs, t) = prog.run_keeping(inputs, num_outputs, keep, true)?;
        let t = t.unwrap_or_default();
        let sg = &self.graph.subgraphs[0];
        let infos = prog.dispatch_info();
        let costs = super::profile::dispatch_costs(sg, &infos, prog.precision());
        self.with_profile(|pr| {
            for ((info, cost), &gpu_ns) in infos.iter().zip(&costs).zip(&t.dispatch_ns) {
                let node = info.nodes.first().copied().unwrap_or_default();
                let op = sg.nodes.get(node).map_or("?", |n| n.op.name()).to_string();
                pr.dispatches.push(DispatchTime {
                    partition: p,
                    node,
                    nodes: info.nodes.clone(),
                    op,
                    gpu_ns,
                    workgroups: info.workgroups(),
                    workgroup_size: info.workgroup_size,
                    flops: cost.flops,
                    bytes: cost.bytes,
                });
            }
            pr.partitions.push(partition_time(p, &t));
        });
        Ok(outputs)
    }
}

/// A partition's run times as a profile reports them.
fn partition_time(partition: usize, t: &RunTimes) -> PartitionTime {
    PartitionTime {
        partition,
        upload_ns: t.upload_ns,
        submit_ns: t.submit_ns,
        recorded_ahead: t.recorded_ahead,
        wait_ns: t.wait_ns,
        readback_ns: t.readback_ns,
        gpu_span_ns: t.gpu_span_ns,
        timestamps: t.timestamps,
    }
}

/// For each step, the tensors it reads or writes last (outputs and variables stay).
fn last_uses(sg: &Subgraph, steps: &[Step], partitions: &[Partition]) -> Vec<Vec<usize>> {
    let mut last: Vec<Option<usize>> = vec![None; sg.tensors.len()];
    for (k, step) in steps.iter().enumerate() {
        let nodes: &[usize] = match step {
            Step::Cpu(n) => std::slice::from_ref(n),
            Step::Gpu(p) => &partitions[*p].nodes,
        };
        for &n in nodes {
            let node = &sg.nodes[n];
            for &t in node.inputs.iter().flatten().chain(&node.outputs) {
                last[t] = Some(k);
            }
        }
    }
    let mut frees = vec![Vec::new(); steps.len()];
    for (t, l) in last.iter().enumerate() {
        let keep = sg.outputs.contains(&t) || sg.tensors[t].is_variable;
        if let (Some(k), false) = (l, keep) {
            frees[*k].push(t);
        }
    }
    frees
}

impl SubgraphRunner for Program {
    fn limits(&self) -> &RunLimits {
        &self.limits
    }

    fn run_subgraph(&self, s: usize, inputs: Vec<Tensor>, depth: usize) -> Result<Vec<Tensor>> {
        let mut state = Default::default();
        let inputs = inputs.into_iter().map(Cow::Owned).collect();
        self.run_at_depth(s, inputs, &mut state, None, depth, &[])?
            .into_iter()
            .map(|o| self.materialize(o))
            .collect()
    }
}

/// Whether the GPU can hold `v`: int64 values live there as int32.
fn fits_gpu(v: &Tensor) -> bool {
    match &v.data {
        crate::graph::Data::I64(x) => x.iter().all(|&y| i32::try_from(y).is_ok()),
        _ => true,
    }
}
