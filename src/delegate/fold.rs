//! Constant folding at prepare: DEQUANTIZE of constant fp16/int8 weights and
//! DENSIFY of sparse constants run once on the CPU, so they never split a GPU
//! partition and never run per invoke.

use crate::error::Result;
use crate::graph::eval::NodeEval;
use crate::graph::{Graph, Op, Subgraph};
use std::sync::Arc;

fn foldable(sg: &Subgraph, n: usize) -> bool {
    let node = &sg.nodes[n];
    matches!(node.op, Op::Dequantize | Op::Densify)
        && node.outputs.len() == 1
        && node
            .inputs
            .iter()
            .flatten()
            .all(|&t| sg.tensors[t].is_constant())
        && !sg.outputs.contains(&node.outputs[0])
}

/// Evaluate foldable nodes of every subgraph with `eval` (the CPU reference
/// kernels) and turn their outputs into constants.
pub fn fold_constants(graph: &Graph, eval: &dyn NodeEval) -> Result<Graph> {
    let mut out = graph.clone();
    for sg in &mut out.subgraphs {
        // Repeat until nothing changes: a DEQUANTIZE may read a DENSIFY output.
        while let Some(n) = (0..sg.nodes.len()).find(|&n| foldable(sg, n)) {
            let node = sg.nodes[n].clone();
            let value = eval
                .eval(sg, &node, &[])?
                .pop()
                .ok_or_else(|| crate::Error::node(n, node.op.name(), "folding produced nothing"))?;
            let t = node.outputs[0];
            let info = &mut sg.tensors[t];
            info.dtype = value.dtype();
            info.shape = value.shape.clone();
            info.data = Some(Arc::from(value.data.to_bytes()));
            info.sparsity = None;
            sg.nodes.remove(n);
        }
    }
    Ok(out)
}
