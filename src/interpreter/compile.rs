//! Compiling the GPU partitions of a plan, narrowing a failed compile down to the
//! nodes that cause it.

use crate::delegate::{self, FaultInjection, Partition, PartitionOptions};
use crate::error::Result;
use crate::gpu::device::GpuDevice;
use crate::gpu::pipeline::PipelineCache;
use crate::gpu::pipeline::Precision;
use crate::gpu::program::GpuProgram;
use crate::gpu::verdict::{Support, Unsupported};
use std::sync::Arc;

/// Compiles partitions of one subgraph and narrows failures down to nodes.
pub(super) struct Compiler<'a> {
    pub(super) gpu: &'a Arc<GpuDevice>,
    pub(super) cache: &'a Arc<PipelineCache>,
    pub(super) precision: Precision,
    pub(super) sg: &'a crate::graph::Subgraph,
    pub(super) faults: &'a FaultInjection,
    pub(super) overflow_guard: bool,
    /// The adapter profile to plan kernels for (None: the device's own).
    pub(super) profile: Option<&'a crate::gpu::profile::AdapterProfile>,
    pub(super) tuning: crate::gpu::tuning::Tuning,
}

impl Compiler<'_> {
    pub(super) fn compile(&self, p: &Partition) -> Result<GpuProgram> {
        let precision = if p.fp32 {
            Precision::F32
        } else {
            self.precision
        };
        delegate::compile_with_faults(
            self.gpu,
            self.cache,
            precision,
            self.sg,
            p,
            self.faults,
            self.overflow_guard,
            self.profile,
            self.tuning,
        )
    }

    /// Mark unsupported the nodes of failed partition `p` that fail to compile on
    /// their own; when none does, every node of `p` (only their combination fails).
    /// Returns whether any verdict changed.
    pub(super) fn blame(
        &self,
        p: &Partition,
        why: &str,
        options: &PartitionOptions,
        verdicts: &mut [Support],
    ) -> bool {
        let mut blamed = Vec::new();
        if p.nodes.len() > 1 {
            for &n in &p.nodes {
                let alone: Vec<_> = (0..verdicts.len())
                    .map(|k| {
                        if k == n {
                            verdicts[k].clone()
                        } else {
                            Err(Unsupported::from(""))
                        }
                    })
                    .collect();
                let single = PartitionOptions {
                    max_partitions: None,
                    min_nodes: 1,
                    fp32_nodes: options.fp32_nodes.clone(),
                    ..Default::default()
                };
                let solo = delegate::partition::plan(self.sg, &alone, &single);
                if let Some(part) = solo.partitions.first() {
                    if let Err(e) = self.compile(part) {
                        blamed.push((n, e.to_string()));
                    }
                }
            }
        }
        if blamed.is_empty() {
            blamed = p.nodes.iter().map(|&n| (n, why.to_string())).collect();
        }
        let mut moved = false;
        for (n, e) in blamed {
            if verdicts[n].is_ok() {
                verdicts[n] = Err(format!("GPU compile failed: {e}").into());
                moved = true;
            }
        }
        moved
    }
}
