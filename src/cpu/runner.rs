//! [`Reference`], which runs one node on its own with the CPU kernels.

use super::ops::{self, NodeCache, OpCtx};
use super::run::{RunLimits, SubgraphRunner};
use crate::error::{Error, Result};
use crate::graph::eval::NodeEval;
use crate::graph::{Node, Subgraph, Tensor};

/// The CPU reference kernels as a [`NodeEval`]: one node at a time, with default
/// limits and no nested subgraphs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reference;

/// A runner for single nodes: control flow is refused.
struct Single(RunLimits);

impl SubgraphRunner for Single {
    fn limits(&self) -> &RunLimits {
        &self.0
    }

    fn run_subgraph(&self, s: usize, _: Vec<Tensor>, _: usize) -> Result<Vec<Tensor>> {
        Err(Error::Graph {
            subgraph: s,
            what: "a single-node evaluation cannot run nested subgraphs".into(),
        })
    }
}

impl Reference {
    /// Run the single node of a one-node subgraph on values for its inputs (in
    /// `sg.inputs` order); tensors that are not subgraph inputs are constants.
    #[cfg(test)]
    pub fn run_single(&self, sg: &Subgraph, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        let node = sg.nodes.first().ok_or_else(|| Error::Graph {
            subgraph: 0,
            what: "the subgraph has no node".into(),
        })?;
        let mut by_tensor: Vec<Option<Tensor>> = vec![None; sg.tensors.len()];
        for (&t, v) in sg.inputs.iter().zip(inputs) {
            if let Some(slot) = by_tensor.get_mut(t) {
                *slot = Some(v);
            }
        }
        let values: Vec<Option<Tensor>> = node
            .inputs
            .iter()
            .map(|i| i.and_then(|t| by_tensor.get(t).cloned().flatten()))
            .collect();
        self.eval(sg, node, &values)
    }
}

impl NodeEval for Reference {
    fn eval(&self, sg: &Subgraph, node: &Node, inputs: &[Option<Tensor>]) -> Result<Vec<Tensor>> {
        let consts = node
            .inputs
            .iter()
            .map(|i| match i {
                Some(t) => Tensor::from_info(&sg.tensors[*t]),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let values: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .enumerate()
            .map(|(k, _)| {
                inputs
                    .get(k)
                    .and_then(Option::as_ref)
                    .or(consts[k].as_ref())
            })
            .collect();
        let runner = Single(RunLimits::default());
        let cache = NodeCache::default();
        let mut ctx = OpCtx::for_node(sg, 0, node, values, &cache, &runner, 0);
        ops::eval_node(&mut ctx)
    }
}
