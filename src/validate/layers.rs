//! Per-layer comparison: propagated (intermediate tensors of the two end-to-end
//! runs) and local (each GPU node run alone on the CPU's inputs).

use super::metrics::{real_values, ErrorStats, Metrics};
use super::ValidateOptions;
use crate::delegate::{self, Partition};
use crate::error::Result;
use crate::gpu::pipeline::Precision;
use crate::gpu::program::GpuProgram;
use crate::graph::Subgraph;
use crate::graph::Tensor;
use crate::interpreter::DelegateReport;
use serde::Serialize;
use std::collections::HashMap;

/// One output tensor of one node, with its errors in both modes.
#[derive(Debug, Clone, Serialize)]
pub struct LayerRow {
    /// Node index (as `inspect` prints it).
    pub node: usize,
    /// Op name.
    pub op: String,
    /// Output tensor index.
    pub tensor: usize,
    /// Output tensor name.
    pub name: String,
    /// Output tensor shape.
    pub shape: Vec<usize>,
    /// Where the node ran: "gpu" or "cpu".
    pub device: &'static str,
    /// Position of the node in execution order.
    pub depth: usize,
    /// Error of the end-to-end GPU run at this tensor.
    pub propagated: Option<Metrics>,
    /// Error the node adds when fed the CPU's inputs (GPU nodes only).
    pub local: Option<Metrics>,
    /// Why a mode has no numbers, when it has none.
    pub note: Option<String>,
}

/// A node compiled alone with the tensors it reads, or why it could not be.
type Alone = std::result::Result<(GpuProgram, Vec<usize>), String>;

/// Each GPU node compiled as a program of its own.
pub struct LocalPrograms {
    programs: Vec<Option<Alone>>,
}

impl LocalPrograms {
    /// Compile every node of the successfully compiled partitions alone, at its
    /// partition's precision.
    pub fn compile(sg: &Subgraph, report: &DelegateReport, opts: &ValidateOptions) -> Result<Self> {
        let (gpu, cache) = crate::gpu::shared_device(opts.gpu)?;
        let mut programs: Vec<Option<_>> = (0..sg.nodes.len()).map(|_| None).collect();
        for (p, part) in report.plan.partitions.iter().enumerate() {
            if report.failed.iter().any(|(f, _)| *f == p) {
                continue;
            }
            let precision = if part.fp32 {
                Precision::F32
            } else {
                report.precision
            };
            for &n in &part.nodes {
                let node = &sg.nodes[n];
                let mut inputs = Vec::new();
                for &t in node.inputs.iter().flatten() {
                    if !sg.tensors[t].is_constant() && !inputs.contains(&t) {
                        inputs.push(t);
                    }
                }
                let alone = Partition {
                    nodes: vec![n],
                    inputs: inputs.clone(),
                    outputs: node.outputs.clone(),
                    fp32: part.fp32,
                    groups: Vec::new(),
                };
                programs[n] = Some(
                    delegate::compile(&gpu, &cache, precision, sg, &alone, opts.partitions.tuning)
                        .map(|prog| (prog, inputs))
                        .map_err(|e| format!("does not compile alone: {e}")),
                );
            }
        }
        Ok(LocalPrograms { programs })
    }
}

#[derive(Default, Clone)]
struct Slot {
    propagated: ErrorStats,
    propagated_seen: bool,
    local: ErrorStats,
    local_seen: bool,
    note: Option<String>,
}

/// Running per-layer sums over all input sets.
pub struct LayerStats {
    slots: Vec<Vec<Slot>>,
}

fn compare(stats: &mut ErrorStats, sg: &Subgraph, t: usize, r: &Tensor, x: &Tensor) -> bool {
    if r.shape != x.shape {
        return false;
    }
    match (
        real_values(r, &sg.tensors[t]),
        real_values(x, &sg.tensors[t]),
    ) {
        (Some(a), Some(b)) if a.len() == b.len() => {
            stats.add(&a, &b, &r.shape);
            true
        }
        _ => false,
    }
}

impl LayerStats {
    /// Empty sums for every node output of `sg` (none when `enabled` is false).
    pub fn new(sg: &Subgraph, enabled: bool) -> Self {
        let slots = if enabled {
            sg.nodes
                .iter()
                .map(|n| vec![Slot::default(); n.outputs.len()])
                .collect()
        } else {
            Vec::new()
        };
        LayerStats { slots }
    }

    /// Compare every tensor both runs recorded.
    pub fn add_propagated(
        &mut self,
        sg: &Subgraph,
        reference: &HashMap<usize, Tensor>,
        test: &HashMap<usize, Tensor>,
    ) {
        for (n, node) in sg.nodes.iter().enumerate() {
            for (k, &t) in node.outputs.iter().enumerate() {
                if let (Some(r), Some(x)) = (reference.get(&t), test.get(&t)) {
                    let slot = &mut self.slots[n][k];
                    slot.propagated_seen |= compare(&mut slot.propagated, sg, t, r, x);
                }
            }
        }
    }

    /// Run each GPU node alone on the CPU's inputs and compare with the CPU's
    /// outputs of that node.
    pub fn add_local(
        &mut self,
        sg: &Subgraph,
        reference: &HashMap<usize, Tensor>,
        local: &mut LocalPrograms,
    ) -> Result<()> {
        for (n, entry) in local.programs.iter().enumerate() {
            let Some(entry) = entry else { continue };
            let (prog, inputs) = match entry {
                Ok(p) => p,
                Err(why) => {
                    for slot in &mut self.slots[n] {
                        slot.note = Some(why.clone());
                    }
                    continue;
                }
            };
            let args: Option<Vec<&Tensor>> = inputs
                .iter()
                .map(|t| {
                    reference.get(t).filter(|v| {
                        v.shape == sg.tensors[*t].shape && v.dtype() == sg.tensors[*t].dtype
                    })
                })
                .collect();
            let Some(args) = args else {
                for slot in &mut self.slots[n] {
                    slot.note = Some("its inputs have run-time shapes; no local run".into());
                }
                continue;
            };
            let outputs = prog.run(&args, sg.nodes[n].outputs.len())?;
            for (k, (&t, x)) in sg.nodes[n].outputs.iter().zip(&outputs).enumerate() {
                if let Some(r) = reference.get(&t) {
                    let slot = &mut self.slots[n][k];
                    slot.local_seen |= compare(&mut slot.local, sg, t, r, x);
                }
            }
        }
        Ok(())
    }

    /// The rows in execution order.
    pub fn rows(
        &self,
        sg: &Subgraph,
        depth: &[usize],
        devices: &[&'static str],
        local: Option<&LocalPrograms>,
    ) -> Vec<LayerRow> {
        let mut rows = Vec::new();
        for (n, node) in sg.nodes.iter().enumerate() {
            for (k, &t) in node.outputs.iter().enumerate() {
                let slot = &self.slots[n][k];
                let on_gpu = local.is_some_and(|l| l.programs[n].is_some());
                let note = slot
                    .note
                    .clone()
                    .or_else(|| (!on_gpu).then(|| "runs on the CPU: no local error".to_string()));
                rows.push(LayerRow {
                    node: n,
                    op: node.op.name().to_string(),
                    tensor: t,
                    name: sg.tensors[t].name.clone(),
                    shape: sg.tensors[t].shape.clone(),
                    device: devices.get(n).copied().unwrap_or("cpu"),
                    depth: depth.get(n).copied().unwrap_or(usize::MAX),
                    propagated: slot.propagated_seen.then(|| slot.propagated.finish()),
                    local: slot.local_seen.then(|| slot.local.finish()),
                    note,
                });
            }
        }
        rows.sort_by_key(|r| r.depth);
        rows
    }
}

/// Rows ordered by worst local error first (rows without one last, by propagated
/// error).
pub fn worst_first(rows: &[LayerRow]) -> Vec<&LayerRow> {
    let key = |r: &LayerRow| {
        (
            r.local.as_ref().map_or(-1.0, |m| m.max_rel_error),
            r.propagated.as_ref().map_or(-1.0, |m| m.max_rel_error),
        )
    };
    let mut v: Vec<&LayerRow> = rows.iter().collect();
    v.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1))
    });
    v
}
