//! Which runtime nodes the delegate takes: the crate's plan over the prepared graph
//! (constants folded, activations fused) mapped back to the runtime's node indices.
//!
//! Folding and fusing only remove nodes and never change the inputs of the nodes
//! that stay, so the prepared nodes are a subsequence of the runtime's, found by
//! matching inputs and op names in order. A fused activation is claimed with the
//! node that absorbed it; a folded DEQUANTIZE/DENSIFY is claimed when every node
//! reading its output is claimed.

use super::error::{CapiError, CapiResult};
use crate::delegate::{self, Plan};
use crate::graph::{Graph, Subgraph};

/// The prepared graph and how its nodes map to the runtime's.
pub struct Mapping {
    /// The prepared main subgraph (tensor indices are the runtime's).
    pub sg: Subgraph,
    /// For each prepared node, the runtime-graph positions (indices into the
    /// execution plan) it stands for: itself first, then a fused activation.
    pub origin: Vec<Vec<usize>>,
    /// Plan positions of folded nodes.
    pub folded: Vec<usize>,
    /// The prepared node of each plan position (None for folded nodes).
    pub post_of: Vec<Option<usize>>,
}

/// Fold and fuse `pre` as the CLI does, and map the result back to `pre`'s nodes.
pub fn prepare(pre: &Subgraph) -> CapiResult<Mapping> {
    let graph = Graph {
        subgraphs: vec![pre.clone()],
        ..Default::default()
    };
    let mut folded_graph =
        delegate::fold_constants(&graph, &crate::cpu::Reference).map_err(CapiError::from)?;
    delegate::fuse_activations(&mut folded_graph);
    let sg = folded_graph
        .subgraphs
        .into_iter()
        .next()
        .ok_or("folding lost the subgraph")?;
    let mut origin = Vec::with_capacity(sg.nodes.len());
    let mut post_of = vec![None; pre.nodes.len()];
    let mut i = 0;
    for (j, node) in sg.nodes.iter().enumerate() {
        while i < pre.nodes.len()
            && !(pre.nodes[i].inputs == node.inputs && pre.nodes[i].op.name() == node.op.name())
        {
            i += 1;
        }
        if i == pre.nodes.len() {
            return Err(
                format!("prepared node {j} ({}) has no runtime node", node.op.name()).into(),
            );
        }
        origin.push(vec![i]);
        post_of[i] = Some(j);
        i += 1;
    }
    let mut folded = Vec::new();
    for (r, node) in pre.nodes.iter().enumerate() {
        if post_of[r].is_some() {
            continue;
        }
        let absorber = sg
            .nodes
            .iter()
            .position(|n| !node.outputs.is_empty() && n.outputs == node.outputs);
        match absorber {
            Some(j) => {
                origin[j].push(r);
                post_of[r] = Some(j);
            }
            None => folded.push(r),
        }
    }
    Ok(Mapping {
        sg,
        origin,
        folded,
        post_of,
    })
}

impl Mapping {
    /// Plan positions to claim, given the prepared nodes that run on the GPU.
    pub fn claims(&self, pre: &Subgraph, gpu_nodes: &[usize]) -> Vec<usize> {
        let mut claimed = vec![false; pre.nodes.len()];
        for &j in gpu_nodes {
            for &r in &self.origin[j] {
                claimed[r] = true;
            }
        }
        loop {
            let mut changed = false;
            for &f in &self.folded {
                if claimed[f] {
                    continue;
                }
                let outs = &pre.nodes[f].outputs;
                let readers: Vec<usize> = (0..pre.nodes.len())
                    .filter(|&r| {
                        pre.nodes[r]
                            .inputs
                            .iter()
                            .flatten()
                            .any(|t| outs.contains(t))
                    })
                    .collect();
                if !readers.is_empty() && readers.iter().all(|&r| claimed[r]) {
                    claimed[f] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        (0..pre.nodes.len()).filter(|&r| claimed[r]).collect()
    }
}

/// The plan of the prepared graph for a device with these capabilities.
pub fn plan(
    sg: &Subgraph,
    caps: &crate::gpu::ops::Caps,
    options: &delegate::PartitionOptions,
) -> Plan {
    let verdicts = delegate::support(sg, caps);
    delegate::partition::plan(sg, &verdicts, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::{Activation, Conv2D, Padding, Unary};
    use crate::graph::{DType, Node, Op, TensorInfo};
    use std::sync::Arc;

    /// DEQUANTIZE(fp16 weights) -> CONV_2D -> RELU, then a node the GPU lacks.
    fn graph() -> Subgraph {
        let t = |n: &str, s: Vec<usize>| TensorInfo::new(n, DType::F32, s);
        let mut w16 = TensorInfo::new("w16", DType::F16, vec![2, 1, 1, 2]);
        w16.data = Some(Arc::from(vec![0u8; 8]));
        Subgraph {
            name: "g".into(),
            tensors: vec![
                t("x", vec![1, 2, 2, 2]),
                w16,
                t("w", vec![2, 1, 1, 2]),
                t("c", vec![1, 2, 2, 2]),
                t("r", vec![1, 2, 2, 2]),
                t("y", vec![1, 2, 2, 2]),
            ],
            nodes: vec![
                Node {
                    op: Op::Dequantize,
                    inputs: vec![Some(1)],
                    outputs: vec![2],
                },
                Node {
                    op: Op::Conv2D(Conv2D {
                        padding: Padding::Same,
                        stride_w: 1,
                        stride_h: 1,
                        dilation_w: 1,
                        dilation_h: 1,
                        activation: Activation::None,
                    }),
                    inputs: vec![Some(0), Some(2), None],
                    outputs: vec![3],
                },
                Node {
                    op: Op::Unary(Unary::Relu),
                    inputs: vec![Some(3)],
                    outputs: vec![4],
                },
                Node {
                    op: Op::Unknown {
                        name: "CUSTOM_THING".into(),
                    },
                    inputs: vec![Some(4)],
                    outputs: vec![5],
                },
            ],
            inputs: vec![0],
            outputs: vec![5],
        }
    }

    #[test]
    fn folded_and_fused_nodes_are_claimed_with_their_absorber() {
        let pre = graph();
        let m = prepare(&pre).unwrap();
        assert_eq!(m.sg.nodes.len(), 2, "DEQUANTIZE folded, RELU fused");
        assert_eq!(m.origin, vec![vec![1, 2], vec![3]]);
        assert_eq!(m.folded, vec![0]);
        assert_eq!(m.post_of, vec![None, Some(0), Some(0), Some(1)]);
        assert_eq!(m.claims(&pre, &[0]), vec![0, 1, 2]);
        assert_eq!(m.claims(&pre, &[]), Vec::<usize>::new());
    }
}
