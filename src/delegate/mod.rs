//! The GPU delegate: constant folding, support checks with reasons, partitioning
//! and the compiled programs of the partitions.

mod fold;
mod fuse;
#[cfg(test)]
mod ops_table;
pub mod partition;
mod plan;
mod split;

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
use crate::graph::Subgraph;
use std::collections::HashMap;
use std::sync::Arc;

/// Support verdicts for every node of `sg`.
pub fn support(sg: &Subgraph, caps: &Caps) -> Vec<Result<(), String>> {
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

/// A residual ADD that CONV_2D node `n` can absorb: `n` has no fused activation,
/// its output feeds only an ADD in the same partition, is not needed elsewhere, and
/// the ADD's other operand has the same shape and is already on the GPU.
fn residual_add(
    sg: &Subgraph,
    p: &Partition,
    n: usize,
    bufs: &HashMap<usize, crate::gpu::program::BufId>,
) -> Option<(usize, ops::Residual)> {
    use crate::graph::op::{Activation, Binary};
    use crate::graph::Op;
    let Op::Conv2D(c) = &sg.nodes[n].op else {
        return None;
    };
    if c.activation != Activation::None {
        return None;
    }
    let t = *sg.nodes[n].outputs.first()?;
    if sg.tensors[t].dtype != crate::graph::DType::F32 {
        return None;
    }
    if p.outputs.contains(&t) || sg.outputs.contains(&t) {
        return None;
    }
    let readers: Vec<usize> = sg
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| node.inputs.contains(&Some(t)))
        .map(|(i, _)| i)
        .collect();
    let [add] = readers[..] else {
        return None;
    };
    let Op::Binary(Binary::Add, act) = sg.nodes[add].op else {
        return None;
    };
    if !p.nodes.contains(&add) || act.range().is_none() {
        return None;
    }
    let inputs = &sg.nodes[add].inputs;
    let other = match (
        inputs.first().copied().flatten(),
        inputs.get(1).copied().flatten(),
    ) {
        (Some(a), Some(b)) if a == t && b != t => b,
        (Some(a), Some(b)) if b == t && a != t => a,
        _ => return None,
    };
    if sg.tensors[other].shape != sg.tensors[t].shape || !bufs.contains_key(&other) {
        return None;
    }
    Some((
        add,
        ops::Residual {
            tensor: other,
            activation: act,
            output: *sg.nodes[add].outputs.first()?,
        },
    ))
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
            return Err(crate::Error::Device(format!(
                "injected fault: the pipeline of node {n} ({name}) failed to build"
            )));
        }
        Ok(())
    }
}

/// Compile one partition into a GPU program.
pub fn compile(
    gpu: &Arc<GpuDevice>,
    cache: &Arc<PipelineCache>,
    precision: Precision,
    sg: &Subgraph,
    p: &Partition,
) -> Result<GpuProgram> {
    compile_with_faults(
        gpu,
        cache,
        precision,
        sg,
        p,
        &FaultInjection::default(),
        false,
    )
}

/// [`compile`], failing where `faults` says; with `overflow_guard`, an f16 program
/// flags the nodes whose stores saturate (see `ProgramBuilder::with_overflow_guard`).
#[doc(hidden)]
pub fn compile_with_faults(
    gpu: &Arc<GpuDevice>,
    cache: &Arc<PipelineCache>,
    precision: Precision,
    sg: &Subgraph,
    p: &Partition,
    faults: &FaultInjection,
    overflow_guard: bool,
) -> Result<GpuProgram> {
    let precision =
        ops::quant::partition_precision(sg, &p.nodes, precision).map_err(crate::Error::Device)?;
    let mut b = ProgramBuilder::new(gpu.clone(), cache.clone(), precision)
        .with_overflow_guard(overflow_guard);
    let mut bufs = HashMap::new();
    for (slot, &t) in p.inputs.iter().enumerate() {
        let info = &sg.tensors[t];
        let id = b.input(info.num_elements(), slot, info.dtype)?;
        bufs.insert(t, id);
    }
    let mut skip = std::collections::HashSet::new();
    for &n in &p.nodes {
        faults.check(sg, n)?;
        if skip.contains(&n) {
            continue;
        }
        let residual = residual_add(sg, p, n, &bufs);
        if let Some((add, _)) = residual {
            skip.insert(add);
        }
        let mut ctx = LowerCtx {
            b: &mut b,
            sg,
            index: n,
            node: &sg.nodes[n],
            bufs: &mut bufs,
            residual: residual.map(|(_, r)| r),
            eval: &crate::cpu::Reference,
        };
        ops::lower(&mut ctx)?;
    }
    for (slot, &t) in p.outputs.iter().enumerate() {
        let id = *bufs.get(&t).ok_or_else(|| {
            crate::Error::Device(format!("partition output tensor {t} was never produced"))
        })?;
        let info = &sg.tensors[t];
        b.mark_output(id, slot, info.shape.clone(), info.dtype);
    }
    b.finish()
}
