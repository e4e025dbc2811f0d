//! Running a model for calibration and for the report: the CPU reference kernels
//! over the unprepared graph (node indices as in the file), nested subgraphs (the
//! bodies of WHILE and IF) run through the kernels' [`SubgraphRunner`], and every
//! float value of every subgraph observed on the way.

use crate::cpu::ops::{self, NodeCache, OpCtx};
use crate::cpu::{RunLimits, SubgraphRunner};
use crate::error::{Error, Result};
use crate::graph::{Graph, Tensor};
use std::sync::Mutex;

/// Calibrated (min, max) per subgraph and tensor (None: never seen as float).
pub(crate) type SubgraphRanges = Vec<Vec<Option<(f32, f32)>>>;

/// Runs a graph on the CPU reference kernels, optionally recording the range of
/// every float value of every subgraph (each observation trimmed to `percentile`).
pub(crate) struct Tracer<'g> {
    graph: &'g Graph,
    /// Decoded constants, per subgraph and tensor.
    consts: Vec<Vec<Option<Tensor>>>,
    /// The kernels' per-node caches, kept across samples and loop iterations.
    caches: Vec<Vec<NodeCache>>,
    limits: RunLimits,
    /// The recorded ranges and the percentile they keep, when recording.
    record: Option<(Mutex<SubgraphRanges>, f64)>,
}

impl<'g> Tracer<'g> {
    /// A tracer of `graph`; `record` is the percentile of each observation kept in
    /// the recorded ranges (None records nothing).
    pub(crate) fn new(graph: &'g Graph, record: Option<f64>) -> Result<Tracer<'g>> {
        let consts = graph
            .subgraphs
            .iter()
            .map(|sg| sg.tensors.iter().map(Tensor::from_info).collect())
            .collect::<Result<Vec<Vec<_>>>>()?;
        let caches = graph
            .subgraphs
            .iter()
            .map(|sg| sg.nodes.iter().map(|_| NodeCache::default()).collect())
            .collect();
        let record = record.map(|p| {
            let empty = graph
                .subgraphs
                .iter()
                .map(|sg| vec![None; sg.tensors.len()])
                .collect();
            (Mutex::new(empty), p)
        });
        Ok(Tracer {
            graph,
            consts,
            caches,
            limits: RunLimits::default(),
            record,
        })
    }

    /// Run the main subgraph on `inputs`; every tensor of it that was computed or
    /// given (None for constants and tensors nothing writes).
    pub(crate) fn run_main(&self, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        self.run_at(0, inputs.to_vec(), 0)
    }

    /// The ranges recorded so far (empty when not recording).
    pub(crate) fn into_ranges(self) -> SubgraphRanges {
        match self.record {
            Some((m, _)) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
            None => Vec::new(),
        }
    }

    /// Add the float values of `values` (tensors of subgraph `s`) to the ranges.
    fn observe<'t>(&self, s: usize, values: impl IntoIterator<Item = (usize, &'t Tensor)>) {
        let Some((ranges, percentile)) = &self.record else {
            return;
        };
        let mut ranges = ranges.lock().unwrap_or_else(|e| e.into_inner());
        for (t, v) in values {
            let Some(x) = v.as_f32() else { continue };
            let (lo, hi) = super::calibrate::extremes(x, *percentile);
            if lo > hi {
                continue;
            }
            if let Some(slot) = ranges.get_mut(s).and_then(|r| r.get_mut(t)) {
                *slot = Some(match *slot {
                    Some((a, b)) => (a.min(lo), b.max(hi)),
                    None => (lo, hi),
                });
            }
        }
    }

    fn run_at(&self, s: usize, inputs: Vec<Tensor>, depth: usize) -> Result<Vec<Option<Tensor>>> {
        let sg = self
            .limits
            .subgraph_call(self.graph, s, inputs.len(), depth)?;
        let consts = &self.consts[s];
        let mut values: Vec<Option<Tensor>> = vec![None; sg.tensors.len()];
        for (&t, v) in sg.inputs.iter().zip(inputs) {
            values[t] = Some(v);
        }
        for (t, info) in sg.tensors.iter().enumerate() {
            if info.is_variable && values[t].is_none() {
                values[t] = Some(match &consts[t] {
                    Some(c) => c.clone(),
                    None => Tensor::zeros(info.dtype, info.shape.clone())?,
                });
            }
        }
        self.observe(
            s,
            sg.inputs
                .iter()
                .filter_map(|&t| values[t].as_ref().map(|v| (t, v))),
        );
        for (n, node) in sg.nodes.iter().enumerate() {
            let ins: Vec<Option<&Tensor>> = node
                .inputs
                .iter()
                .map(|i| i.and_then(|t| values[t].as_ref().or(consts[t].as_ref())))
                .collect();
            let mut ctx = OpCtx::for_node(sg, n, node, ins, &self.caches[s][n], self, depth);
            let outputs = ops::eval_node(&mut ctx)?;
            let writes = std::mem::take(&mut ctx.variable_writes);
            drop(ctx);
            for (pos, value) in writes {
                if let Some(t) = node.input(pos) {
                    values[t] = Some(value);
                }
            }
            self.observe(s, node.outputs.iter().copied().zip(&outputs));
            for (&t, v) in node.outputs.iter().zip(outputs) {
                values[t] = Some(v);
            }
        }
        Ok(values)
    }
}

impl SubgraphRunner for Tracer<'_> {
    fn limits(&self) -> &RunLimits {
        &self.limits
    }

    fn run_subgraph(&self, s: usize, inputs: Vec<Tensor>, depth: usize) -> Result<Vec<Tensor>> {
        let mut values = self.run_at(s, inputs, depth)?;
        let sg = &self.graph.subgraphs[s];
        sg.outputs
            .iter()
            .map(|&t| {
                values
                    .get_mut(t)
                    .and_then(|v| v.clone())
                    .or_else(|| self.consts[s].get(t).cloned().flatten())
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
