//! Per-invoke profiles: GPU time of every dispatch (from timestamp queries), CPU time
//! of every node that ran on the CPU, and the host time spent moving partition
//! inputs and outputs. Filled by [`crate::Interpreter::invoke_profiled`].

pub use crate::gpu::timing::TimestampMode;

/// The GPU time of one dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchTime {
    /// The partition the dispatch belongs to.
    pub partition: usize,
    /// The model node it was lowered from (index in the prepared graph).
    pub node: usize,
    /// The node's op name (e.g. "CONV_2D").
    pub op: String,
    /// Nanoseconds between the timestamps around it.
    pub gpu_ns: f64,
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
    /// Host nanoseconds recording the dispatches and submitting them.
    pub submit_ns: f64,
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
