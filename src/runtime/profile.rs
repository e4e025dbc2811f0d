//! Per-invoke profiles: GPU time of every dispatch (from timestamp queries), CPU time
//! of every node that ran on the CPU, and the host time spent moving partition
//! inputs and outputs. Filled by [`crate::Interpreter::invoke_profiled`].
//!
//! Each dispatch also carries the work it does, read from the graph
//! ([`crate::graph::cost`]): operations and the fewest bytes it must move at its
//! storage precision, so [`roofline`] can put achieved GFLOP/s and GB/s next to a
//! device's peaks.

pub use crate::gpu::timing::TimestampMode;

use crate::gpu::pipeline::Precision;
use crate::gpu::program::DispatchInfo;
use crate::graph::cost::{group_cost, Cost};
use crate::graph::{DType, Subgraph, TensorInfo};

/// The GPU time of one dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchTime {
    /// The partition the dispatch belongs to.
    pub partition: usize,
    /// The model node it was lowered from (index in the prepared graph).
    pub node: usize,
    /// Every node it executes: `node`, then any fused into it.
    pub nodes: Vec<usize>,
    /// The node's op name (e.g. "CONV_2D").
    pub op: String,
    /// Nanoseconds between the timestamps around it.
    pub gpu_ns: f64,
    /// Workgroups launched.
    pub workgroups: u64,
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// Its share of the operations of its nodes.
    pub flops: f64,
    /// Its share of the fewest bytes its nodes move at the program's precision.
    pub bytes: f64,
}

/// The host time of one node that ran on the CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuNodeTime {
    /// Node index in the prepared graph.
    pub node: usize,
    /// The node's op name.
    pub op: String,
    /// Nanoseconds the kernel took.
    pub cpu_ns: f64,
}

/// Timings of one GPU partition run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartitionTime {
    /// Partition index in the plan.
    pub partition: usize,
    /// Host nanoseconds converting and writing the inputs to the GPU.
    pub upload_ns: f64,
    /// Host nanoseconds submitting the command buffer (and recording it first
    /// when none was recorded ahead).
    pub submit_ns: f64,
    /// The command buffer was recorded ahead, while the GPU ran the previous
    /// invoke, rather than on this invoke's path.
    pub recorded_ahead: bool,
    /// Host nanoseconds from submit until the GPU finished and outputs were mapped.
    pub wait_ns: f64,
    /// Host nanoseconds copying and decoding the mapped outputs.
    pub readback_ns: f64,
    /// GPU nanoseconds from the first timestamp of the partition's passes to the
    /// last; None without timestamp queries.
    pub gpu_span_ns: Option<f64>,
    /// How the GPU times were measured.
    pub timestamps: TimestampMode,
}

/// Everything one profiled invoke measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// Host nanoseconds of the whole invoke.
    pub wall_ns: f64,
    /// Every GPU dispatch, in execution order (empty without timestamp queries).
    pub dispatches: Vec<DispatchTime>,
    /// Every node that ran on the CPU (fallback nodes and partitions that could not
    /// run on the GPU), in execution order.
    pub cpu_nodes: Vec<CpuNodeTime>,
    /// Every GPU partition run, in execution order.
    pub partitions: Vec<PartitionTime>,
}

impl Profile {
    /// GPU nanoseconds of the invoke: the sum over its partitions of the last
    /// timestamp minus the first. None when no partition had timestamps.
    pub fn gpu_span_ns(&self) -> Option<f64> {
        let spans: Vec<f64> = self
            .partitions
            .iter()
            .filter_map(|p| p.gpu_span_ns)
            .collect();
        (!spans.is_empty()).then(|| spans.iter().sum())
    }

    /// Sum of the GPU times of all dispatches.
    pub fn dispatch_sum_ns(&self) -> f64 {
        self.dispatches.iter().fold(0.0, |s, d| s + d.gpu_ns)
    }

    /// Sum of the CPU times of all CPU nodes.
    pub fn cpu_sum_ns(&self) -> f64 {
        self.cpu_nodes.iter().fold(0.0, |s, n| s + n.cpu_ns)
    }

    /// Host nanoseconds uploading inputs and reading outputs back, over all partitions.
    pub fn transfer_ns(&self) -> (f64, f64) {
        self.partitions
            .iter()
            .fold((0.0, 0.0), |(u, r), p| (u + p.upload_ns, r + p.readback_ns))
    }

    /// How GPU times were measured: the first partition's mode (all partitions share
    /// one device).
    pub fn timestamps(&self) -> TimestampMode {
        self.partitions
            .first()
            .map(|p| p.timestamps)
            .unwrap_or_default()
    }
}

/// Bytes per element of a tensor as a GPU program at `precision` stores it: floats
/// at the precision's width, 8-bit constants packed one byte each, every other
/// integer or bool tensor as a 4-byte word.
pub fn gpu_width(precision: Precision) -> impl Fn(&TensorInfo) -> f64 {
    move |t: &TensorInfo| match t.dtype {
        DType::F32 | DType::F16 => precision.bytes() as f64,
        DType::I8 | DType::U8 if t.is_constant() => 1.0,
        _ => 4.0,
    }
}

/// The work of each dispatch of a program whose dispatches are `infos`: the cost of
/// the nodes a dispatch executes, as one fused group, split between the dispatches
/// executing the same nodes in proportion to the invocations they launch.
pub fn dispatch_costs(sg: &Subgraph, infos: &[DispatchInfo], precision: Precision) -> Vec<Cost> {
    let width = gpu_width(precision);
    let key = |i: &DispatchInfo| {
        let mut k = i.nodes.clone();
        k.sort_unstable();
        k
    };
    let keys: Vec<Vec<usize>> = infos.iter().map(key).collect();
    let mut groups: Vec<(&[usize], Cost, f64)> = Vec::new();
    for (k, info) in keys.iter().zip(infos) {
        match groups.iter_mut().find(|(g, _, _)| *g == k.as_slice()) {
            Some(g) => g.2 += info.invocations() as f64,
            None => groups.push((
                k,
                group_cost(sg, &info.nodes, &width),
                info.invocations() as f64,
            )),
        }
    }
    keys.iter()
        .zip(infos)
        .map(|(k, info)| {
            let (_, cost, total) = groups
                .iter()
                .find(|(g, _, _)| *g == k.as_slice())
                .copied()
                .unwrap_or_default();
            let share = if total > 0.0 {
                info.invocations() as f64 / total
            } else {
                0.0
            };
            Cost {
                flops: cost.flops * share,
                bytes: cost.bytes * share,
            }
        })
        .collect()
}

/// One dispatch of the plan, as `inspect` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlannedDispatch {
    /// The GPU partition it belongs to.
    pub partition: usize,
    /// Nodes executed: the head node, then fused ones.
    pub nodes: Vec<usize>,
    /// Shader family and the constants selecting its variant.
    pub kernel: String,
    /// Workgroups launched (the product of the dispatch dimensions).
    pub workgroups: u64,
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// Operations (the roofline's definition: 2 per multiply-add).
    pub flops: f64,
    /// Fewest bytes moved.
    pub bytes: f64,
}

impl PlannedDispatch {
    /// Multiply-adds asked of each invocation: flops / 2 / invocations.
    pub fn madds_per_invocation(&self) -> f64 {
        let inv = self.workgroups as f64 * f64::from(self.workgroup_size);
        if inv > 0.0 {
            self.flops / 2.0 / inv
        } else {
            0.0
        }
    }
}

/// One row of a roofline table: one dispatch, all dispatches of one op type, or
/// all dispatches of the invoke.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RooflineRow {
    /// Op name of the dispatch's node (or of the op type), "total" for the total.
    pub op: String,
    /// Position in the invoke's dispatches (dispatch rows only).
    pub index: Option<usize>,
    /// Partition of the dispatch (dispatch rows only).
    pub partition: Option<usize>,
    /// Nodes executed (dispatch rows only): the head node, then fused ones.
    pub nodes: Vec<usize>,
    /// Dispatches per invoke in the row.
    pub count: usize,
    /// Mean GPU milliseconds per invoke.
    pub gpu_ms: f64,
    /// Operations per invoke.
    pub flops: f64,
    /// Fewest bytes moved per invoke.
    pub bytes: f64,
    /// Workgroups launched per invoke.
    pub workgroups: u64,
    /// Invocations per workgroup (dispatch rows only; 0 otherwise).
    pub workgroup_size: u32,
}

impl RooflineRow {
    /// Achieved GFLOP/s (0 without GPU time).
    pub fn gflops_per_s(&self) -> f64 {
        if self.gpu_ms > 0.0 {
            self.flops / self.gpu_ms / 1e6
        } else {
            0.0
        }
    }

    /// Achieved GB/s of the fewest bytes moved (0 without GPU time).
    pub fn gb_per_s(&self) -> f64 {
        if self.gpu_ms > 0.0 {
            self.bytes / self.gpu_ms / 1e6
        } else {
            0.0
        }
    }

    /// Arithmetic intensity: operations per byte.
    pub fn intensity(&self) -> f64 {
        Cost {
            flops: self.flops,
            bytes: self.bytes,
        }
        .intensity()
    }

    fn add(&mut self, o: &RooflineRow) {
        self.count += o.count;
        self.gpu_ms += o.gpu_ms;
        self.flops += o.flops;
        self.bytes += o.bytes;
        self.workgroups += o.workgroups;
    }
}

/// A roofline profile of profiled invokes: every dispatch (in execution order),
/// dispatches by op type (most GPU time first) and the total.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roofline {
    /// One row per dispatch of an invoke, GPU times averaged over the invokes.
    pub dispatches: Vec<RooflineRow>,
    /// One row per op type.
    pub ops: Vec<RooflineRow>,
    /// All dispatches together.
    pub total: RooflineRow,
}

/// The roofline of `profiles`: the dispatches of the first, with each one's GPU
/// time the mean over the profiles that ran the same dispatches.
pub fn roofline(profiles: &[Profile]) -> Roofline {
    let Some(first) = profiles.first() else {
        return Roofline::default();
    };
    let same: Vec<&Profile> = profiles
        .iter()
        .filter(|p| {
            p.dispatches.len() == first.dispatches.len()
                && p.dispatches
                    .iter()
                    .zip(&first.dispatches)
                    .all(|(a, b)| a.nodes == b.nodes && a.partition == b.partition)
        })
        .collect();
    let runs = same.len().max(1) as f64;
    let dispatches: Vec<RooflineRow> = first
        .dispatches
        .iter()
        .enumerate()
        .map(|(i, d)| RooflineRow {
            op: d.op.clone(),
            index: Some(i),
            partition: Some(d.partition),
            nodes: d.nodes.clone(),
            count: 1,
            gpu_ms: same.iter().map(|p| p.dispatches[i].gpu_ns).sum::<f64>() / runs / 1e6,
            flops: d.flops,
            bytes: d.bytes,
            workgroups: d.workgroups,
            workgroup_size: d.workgroup_size,
        })
        .collect();
    let mut ops: Vec<RooflineRow> = Vec::new();
    let mut total = RooflineRow {
        op: "total".into(),
        ..Default::default()
    };
    for d in &dispatches {
        let base = RooflineRow {
            op: d.op.clone(),
            ..Default::default()
        };
        let k = match ops.iter().position(|r| r.op == d.op) {
            Some(k) => k,
            None => {
                ops.push(base);
                ops.len() - 1
            }
        };
        ops[k].add(d);
        total.add(d);
    }
    ops.sort_by(|a, b| b.gpu_ms.total_cmp(&a.gpu_ms));
    Roofline {
        dispatches,
        ops,
        total,
    }
}

/// One row of a by-op-type summary.
#[derive(Debug, Clone, PartialEq)]
pub struct OpSummary {
    /// Op name.
    pub op: String,
    /// How many dispatches (or CPU nodes) of this op one invoke runs.
    pub count: usize,
    /// Mean milliseconds per invoke spent in this op (all its dispatches together).
    pub avg_ms: f64,
    /// Share of the total, in percent.
    pub percent: f64,
    /// Cumulative share in this table's order (largest first), in percent.
    pub cdf_percent: f64,
}

/// Aggregate (op, ns) samples from `runs` invokes by op, largest total first, like
/// benchmark_model's "summary by node type".
pub fn summarize<'a>(
    samples: impl IntoIterator<Item = (&'a str, f64)>,
    runs: usize,
) -> Vec<OpSummary> {
    let runs = runs.max(1) as f64;
    let mut by_op: Vec<(String, usize, f64)> = Vec::new();
    for (op, ns) in samples {
        match by_op.iter_mut().find(|(o, _, _)| o == op) {
            Some(row) => {
                row.1 += 1;
                row.2 += ns;
            }
            None => by_op.push((op.to_string(), 1, ns)),
        }
    }
    by_op.sort_by(|a, b| b.2.total_cmp(&a.2));
    let total: f64 = by_op.iter().map(|r| r.2).sum();
    let mut cdf = 0.0;
    by_op
        .into_iter()
        .map(|(op, count, ns)| {
            let percent = if total > 0.0 { ns / total * 100.0 } else { 0.0 };
            cdf += percent;
            OpSummary {
                op,
                count: (count as f64 / runs).round() as usize,
                avg_ms: ns / runs / 1e6,
                percent,
                cdf_percent: cdf,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_sorts_by_total_and_accumulates() {
        let rows = summarize(
            [
                ("ADD", 1e6),
                ("CONV_2D", 3e6),
                ("ADD", 1e6),
                ("CONV_2D", 3e6),
            ],
            2,
        );
        assert_eq!(rows[0].op, "CONV_2D");
        assert_eq!(rows[0].count, 1);
        assert!((rows[0].avg_ms - 3.0).abs() < 1e-9);
        assert!((rows[0].percent - 75.0).abs() < 1e-9);
        assert!((rows[1].cdf_percent - 100.0).abs() < 1e-9);
    }

    fn dispatch(node: usize, op: &str, gpu_ns: f64, flops: f64) -> DispatchTime {
        DispatchTime {
            partition: 0,
            node,
            nodes: vec![node],
            op: op.into(),
            gpu_ns,
            workgroups: 4,
            workgroup_size: 64,
            flops,
            bytes: flops / 2.0,
        }
    }

    #[test]
    fn roofline_averages_dispatches_and_sums_op_types() {
        let run = |scale: f64| Profile {
            dispatches: vec![
                dispatch(0, "CONV_2D", 2e6 * scale, 8e6),
                dispatch(1, "ADD", 1e6 * scale, 1e6),
                dispatch(2, "CONV_2D", 4e6 * scale, 8e6),
            ],
            ..Default::default()
        };
        let r = roofline(&[run(1.0), run(2.0)]);
        assert_eq!(r.dispatches.len(), 3);
        assert!((r.dispatches[0].gpu_ms - 3.0).abs() < 1e-9);
        assert!((r.dispatches[0].gflops_per_s() - 8e6 / 3.0 / 1e6).abs() < 1e-9);
        assert_eq!(r.ops[0].op, "CONV_2D");
        assert_eq!(r.ops[0].count, 2);
        assert_eq!(r.ops[0].workgroups, 8);
        assert!((r.ops[0].gpu_ms - 9.0).abs() < 1e-9);
        assert_eq!(r.total.flops, 17e6);
        assert!((r.total.intensity() - 2.0).abs() < 1e-12);
        assert!((r.total.gb_per_s() - 8.5e6 / 10.5 / 1e6).abs() < 1e-9);
    }

    #[test]
    fn nodes_lowered_to_several_dispatches_split_their_cost_by_invocations() {
        use crate::graph::op::Activation;
        use crate::graph::{Node, Op};
        let t = |shape: &[usize]| TensorInfo::new("t", DType::F32, shape.to_vec());
        let sg = Subgraph {
            tensors: vec![t(&[4, 8]), t(&[4, 8]), t(&[4, 8])],
            nodes: vec![Node {
                op: Op::Binary(crate::graph::op::Binary::Add, Activation::None),
                inputs: vec![Some(0), Some(1)],
                outputs: vec![2],
            }],
            ..Default::default()
        };
        let info = |groups: u32| DispatchInfo {
            nodes: vec![0],
            groups: (groups, 1),
            workgroup_size: 64,
            kernel: "elementwise".into(),
        };
        let costs = dispatch_costs(&sg, &[info(3), info(1)], Precision::F16);
        let whole = group_cost(&sg, &[0], &gpu_width(Precision::F16));
        assert_eq!(whole.bytes, 3.0 * 32.0 * 2.0);
        assert!((costs[0].flops - 0.75 * whole.flops).abs() < 1e-9);
        assert!((costs[1].bytes - 0.25 * whole.bytes).abs() < 1e-9);
    }

    #[test]
    fn span_sums_partitions_with_timestamps() {
        let p = Profile {
            partitions: vec![
                PartitionTime {
                    gpu_span_ns: Some(5.0),
                    ..Default::default()
                },
                PartitionTime {
                    gpu_span_ns: Some(7.0),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(p.gpu_span_ns(), Some(12.0));
        assert_eq!(Profile::default().gpu_span_ns(), None);
    }
}
