//! The GPU delegate: constant folding, support checks with reasons, partitioning
//! and the compiled programs of the partitions.

mod fold;
mod fuse;
pub mod partition;

pub use fold::fold_constants;
pub use fuse::fuse_activations;
pub use partition::{Partition, PartitionOptions, Plan, Step};

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
    let mut b = ProgramBuilder::new(gpu.clone(), cache.clone(), precision);
    let mut bufs = HashMap::new();
    for (slot, &t) in p.inputs.iter().enumerate() {
        let info = &sg.tensors[t];
        let id = b.input(info.num_elements(), slot, info.dtype)?;
        bufs.insert(t, id);
    }
    for &n in &p.nodes {
        let mut ctx = LowerCtx {
            b: &mut b,
            sg,
            index: n,
            node: &sg.nodes[n],
            bufs: &mut bufs,
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
