//! The GPU delegate: constant folding, support checks with reasons, partitioning
//! and the compiled programs of the partitions.

mod fold;
mod fuse;
#[cfg(test)]
mod ops_table;
pub mod partition;
mod plan;
mod split;

use crate::gpu::verdict::Support;
pub use fold::fold_constants;
pub use fuse::fuse_activations;
pub use partition::{Partition, PartitionOptions, Plan, Step};
pub use plan::{sha256_hex, PlanThresholds, PrecisionPlan};
pub use split::split_detection;

use crate::error::Result;
use crate::gpu::device::GpuDevice;
use crate::gpu::ops::{self, Caps, LowerCtx};
use crate::gpu::pipeline::{PipelineCache, Precision};
use crate::gpu::program::{GpuProgram, ProgramBuilder};
use crate::gpu::tuning::Tuning;
use crate::graph::Subgraph;
use std::collections::HashMap;
use std::sync::Arc;

/// Support verdicts for every node of `sg`.
pub fn support(sg: &Subgraph, caps: &Caps) -> Vec<Support> {
    sg.nodes.iter().map(|n| ops::support(n, sg, caps)).collect()
}

/// The capabilities of a device as the support checks see them.
pub fn caps_of(gpu: Option<&GpuDevice>) -> Caps {
    Caps {
        max_binding_bytes: gpu
            .map(|g| g.limits.max_storage_buffer_binding_size)
            .unwrap_or(128 << 20),
        eval: &crate::cpu::Reference,
    }
}

/// A CONCATENATION none of whose inputs is needed outside the partition may have
/// its producers write into their slices of its output (the lowering decides
/// whether the buffers allow it).
fn in_place_concat(sg: &Subgraph, p: &Partition, n: usize) -> Option<ops::epilogue::Fused> {
    let node = &sg.nodes[n];
    if !matches!(node.op, crate::graph::Op::Concatenation { .. }) {
        return None;
    }
    let escapes = |t: usize| p.outputs.contains(&t) || sg.outputs.contains(&t);
    // An input's storage may be shared back through free reshapes (and identity
    // casts): none of those tensors may be read back either.
    for &input in node.inputs.iter().flatten() {
        let mut t = input;
        loop {
            if escapes(t) {
                return None;
            }
            let producer = sg.nodes.iter().find(|m| m.outputs.contains(&t))?;
            let shares = matches!(
                producer.op,
                crate::graph::Op::Reshape { .. }
                    | crate::graph::Op::Squeeze { .. }
                    | crate::graph::Op::ExpandDims
                    | crate::graph::Op::Cast
            );
            match producer.input(0) {
                Some(x) if shares => t = x,
                _ => break,
            }
        }
    }
    Some(ops::epilogue::Fused {
        in_place: true,
        ..Default::default()
    })
}

/// Test hook: GPU compilation of the named nodes or ops fails, as it would when a
/// driver rejects their shaders. Not part of the stable API.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct FaultInjection {
    /// Node indices (of the prepared graph, as `inspect` prints them) whose GPU
    /// compile fails.
    pub fail_nodes: Vec<usize>,
    /// Op names (as `inspect` prints them) whose GPU compile fails.
    pub fail_ops: Vec<String>,
}

impl FaultInjection {
    fn check(&self, sg: &Subgraph, n: usize) -> Result<()> {
        let name = sg.nodes[n].op.name();
        if self.fail_nodes.contains(&n) || self.fail_ops.iter().any(|o| o.as_str() == name) {
            return Err(crate::Error::device(format!(
                "injected fault: the pipeline of node {n} ({name}) failed to build"
            )));
        }
        Ok(())
    }
}

/// The nodes of `nodes` that read tensor `t`.
fn readers(sg: &Subgraph, nodes: &[usize], t: usize) -> Vec<usize> {
    nodes
        .iter()
        .copied()
        .filter(|&n| sg.nodes[n].inputs.contains(&Some(t)))
        .collect()
}

/// Compile one partition into a GPU program.
pub fn compile(
    gpu: &Arc<GpuDevice>,
    cache: &Arc<PipelineCache>,
    precision: Precision,
    sg: &Subgraph,
    p: &Partition,
    tuning: Tuning,
) -> Result<GpuProgram> {
    compile_with_faults(
        gpu,
        cache,
        precision,
        sg,
        p,
        &FaultInjection::default(),
        false,
        None,
        tuning,
    )
}

/// [`compile`], failing where `faults` says; with `overflow_guard`, an f16 program
/// flags the nodes whose stores saturate (see `ProgramBuilder::with_overflow_guard`);
/// with `profile`, kernels are planned for that adapter profile.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn compile_with_faults(
    gpu: &Arc<GpuDevice>,
    cache: &Arc<PipelineCache>,
    precision: Precision,
    sg: &Subgraph,
    p: &Partition,
    faults: &FaultInjection,
    overflow_guard: bool,
    profile: Option<&crate::gpu::profile::AdapterProfile>,
    tuning: Tuning,
) -> Result<GpuProgram> {
    let precision =
        ops::quant::partition_precision(sg, &p.nodes, precision).map_err(crate::Error::device)?;
    let mut b = ProgramBuilder::new(gpu.clone(), cache.clone(), precision)
        .with_overflow_guard(overflow_guard)
        .with_profile(profile.cloned())
        .with_tuning(tuning);
    let mut bufs = HashMap::new();
    for (slot, &t) in p.inputs.iter().enumerate() {
        let info = &sg.tensors[t];
        let id = b.input(info.num_elements(), slot, info.dtype)?;
        if overflow_guard {
            b.input_read_by(id, readers(sg, &p.nodes, t));
        }
        bufs.insert(t, id);
    }
    if overflow_guard && precision == Precision::F16 {
        for &n in &p.nodes {
            let beyond = sg.nodes[n].inputs.iter().flatten().any(|&t| {
                let info = &sg.tensors[t];
                info.dtype == crate::graph::DType::F32
                    && info.data.as_ref().is_some_and(|d| {
                        d.chunks_exact(4).any(|c| {
                            let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                            v.is_finite() && v.abs() > 65504.0
                        })
                    })
            });
            if beyond {
                b.constant_overflows(n);
            }
        }
    }
    // Nodes fused into a group lower with its head: the head gets what they do.
    let mut fused = HashMap::new();
    let mut members = HashMap::new();
    let mut absorbed = std::collections::HashSet::new();
    for g in &p.groups {
        fused.insert(g.head, g.fused.clone());
        members.insert(
            g.head,
            g.members.iter().copied().filter(|&m| m != g.head).collect(),
        );
        absorbed.extend(g.members.iter().copied().filter(|&m| m != g.head));
    }
    for &n in &p.nodes {
        faults.check(sg, n)?;
        if absorbed.contains(&n) {
            continue;
        }
        let mut ctx = LowerCtx {
            b: &mut b,
            sg,
            index: n,
            node: &sg.nodes[n],
            bufs: &mut bufs,
            fused: fused.get(&n).cloned().or_else(|| in_place_concat(sg, p, n)),
            absorbed: members.remove(&n).unwrap_or_default(),
            eval: &crate::cpu::Reference,
        };
        ops::lower(&mut ctx)?;
    }
    for (slot, &t) in p.outputs.iter().enumerate() {
        let id = *bufs.get(&t).ok_or_else(|| {
            crate::Error::device(format!("partition output tensor {t} was never produced"))
        })?;
        let info = &sg.tensors[t];
        b.mark_output(id, slot, info.shape.clone(), info.dtype);
    }
    b.finish()
}
