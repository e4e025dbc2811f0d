//! The units the fp32-node search measures: the nodes that feed the outputs that
//! fail, grouped into chains (a node, or a run of nodes each of which reads only
//! the one before it) and, per failing output, the branch that feeds it alone.
//!
//! A chain is the smallest unit worth promoting on its own: in a cancellation such
//! as `(x + 1000) - 1000`, keeping only the ADD in fp32 changes nothing, because its
//! result is narrowed to f16 again at the edge of its partition.

use crate::graph::Subgraph;
use serde::Serialize;

/// What a candidate unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// One node.
    Node,
    /// A chain of nodes, each the only reader of the one before it.
    Chain,
    /// Every candidate node that feeds a failing output and no passing one.
    Branch,
}

impl UnitKind {
    /// The name JSON and text use: "node", "chain" or "branch".
    pub fn name(self) -> &'static str {
        match self {
            UnitKind::Node => "node",
            UnitKind::Chain => "chain",
            UnitKind::Branch => "branch",
        }
    }
}

/// A set of nodes the search can promote to fp32 as one.
#[derive(Debug, Clone)]
pub struct Unit {
    /// What it is.
    pub kind: UnitKind,
    /// Its nodes, ascending.
    pub nodes: Vec<usize>,
    /// Whether one of its nodes leaves the fp16 range.
    pub overflow: bool,
    /// The largest error one of its nodes adds on its own (local `max_rel_error`);
    /// `None` when no node has a local measurement.
    pub prior: Option<f64>,
}

/// The nodes whose results reach any of `tensors`, as a mask over the nodes.
pub fn ancestors(sg: &Subgraph, tensors: &[usize]) -> Vec<bool> {
    let mut producer = vec![None; sg.tensors.len()];
    for (n, node) in sg.nodes.iter().enumerate() {
        for &t in &node.outputs {
            if let Some(p) = producer.get_mut(t) {
                *p = Some(n);
            }
        }
    }
    let mut seen = vec![false; sg.nodes.len()];
    let mut stack: Vec<usize> = tensors
        .iter()
        .filter_map(|&t| producer.get(t).copied().flatten())
        .collect();
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut seen[n], true) {
            continue;
        }
        for &t in sg.nodes[n].inputs.iter().flatten() {
            if let Some(p) = producer.get(t).copied().flatten() {
                if !seen[p] {
                    stack.push(p);
                }
            }
        }
    }
    seen
}

/// The chains among the `eligible` nodes, in execution order: node `c` follows
/// node `p` when `p`'s results are read by `c` alone (and are not model outputs)
/// and `c` reads no other node's or model input's values.
pub fn chains(sg: &Subgraph, eligible: &[bool]) -> Vec<Vec<usize>> {
    let nn = sg.nodes.len();
    let mut producer = vec![None; sg.tensors.len()];
    for (n, node) in sg.nodes.iter().enumerate() {
        for &t in &node.outputs {
            if let Some(p) = producer.get_mut(t) {
                *p = Some(n);
            }
        }
    }
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); sg.tensors.len()];
    for (n, node) in sg.nodes.iter().enumerate() {
        for &t in node.inputs.iter().flatten() {
            if let Some(r) = readers.get_mut(t) {
                if !r.contains(&n) {
                    r.push(n);
                }
            }
        }
    }
    let is_output = |t: usize| sg.outputs.contains(&t);
    // The one node that reads every result of `p`, if there is exactly one.
    let only_reader = |p: usize| -> Option<usize> {
        let mut reader = None;
        for &t in &sg.nodes[p].outputs {
            if is_output(t) {
                return None;
            }
            match readers.get(t).map(Vec::as_slice) {
                Some([r]) if reader.is_none_or(|x| x == *r) => reader = Some(*r),
                _ => return None,
            }
        }
        reader
    };
    // Whether every value `c` reads comes from `p` (constants aside).
    let reads_only = |c: usize, p: usize| {
        sg.nodes[c].inputs.iter().flatten().all(|&t| {
            sg.tensors.get(t).is_some_and(|i| i.is_constant())
                || producer.get(t).copied().flatten() == Some(p)
        })
    };
    let mut next = vec![None; nn];
    let mut has_prev = vec![false; nn];
    for p in (0..nn).filter(|&p| eligible[p]) {
        if let Some(c) = only_reader(p).filter(|&c| c < nn && eligible[c] && reads_only(c, p)) {
            next[p] = Some(c);
            has_prev[c] = true;
        }
    }
    let mut out = Vec::new();
    for start in (0..nn).filter(|&n| eligible[n] && !has_prev[n]) {
        let mut chain = vec![start];
        let mut at = start;
        while let Some(c) = next[at] {
            if chain.contains(&c) {
                break;
            }
            chain.push(c);
            at = c;
        }
        chain.sort_unstable();
        out.push(chain);
    }
    out
}

/// The candidate units for outputs `failing` (tensor indices) when the model's
/// other outputs are `passing`: the chains among `eligible` nodes that feed a
/// failing output, and each failing output's own branch when it spans more than
/// one chain. Units whose every node is exact on its own (`local_error` of 0) are
/// left out; `local_error[n]` is `None` for a node without a local measurement.
pub fn units(
    sg: &Subgraph,
    failing: &[usize],
    passing: &[usize],
    eligible: &[bool],
    local_error: &[Option<f64>],
    overflow: &[bool],
) -> Vec<Unit> {
    let feeds_failing = ancestors(sg, failing);
    let feeds_passing = ancestors(sg, passing);
    let candidate: Vec<bool> = (0..sg.nodes.len())
        .map(|n| eligible[n] && feeds_failing[n])
        .collect();
    let describe = |kind: UnitKind, nodes: Vec<usize>| {
        let known: Vec<f64> = nodes.iter().filter_map(|&n| local_error[n]).collect();
        Unit {
            kind,
            overflow: nodes.iter().any(|&n| overflow[n]),
            prior: (!known.is_empty()).then(|| known.iter().copied().fold(0.0, f64::max)),
            nodes,
        }
    };
    let all_chains = chains(sg, &candidate);
    let mut out: Vec<Unit> = all_chains
        .iter()
        .map(|c| {
            let kind = if c.len() == 1 {
                UnitKind::Node
            } else {
                UnitKind::Chain
            };
            describe(kind, c.clone())
        })
        .collect();
    for &t in failing {
        let own = ancestors(sg, &[t]);
        let branch: Vec<usize> = (0..sg.nodes.len())
            .filter(|&n| candidate[n] && own[n] && !feeds_passing[n])
            .collect();
        let spans = all_chains
            .iter()
            .filter(|c| c.iter().any(|n| branch.contains(n)))
            .count();
        if spans > 1 && !out.iter().any(|u| u.nodes == branch) {
            out.push(describe(UnitKind::Branch, branch));
        }
    }
    out.retain(|u| u.overflow || u.prior != Some(0.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::{Activation, Binary};
    use crate::graph::{DType, Node, Op, TensorInfo};

    /// x -> a -> b -> {c, d}; c, d -> e (output 0); d -> f (output 1).
    fn diamond() -> Subgraph {
        let mut tensors = vec![TensorInfo::new("x", DType::F32, vec![4])];
        let mut nodes = Vec::new();
        let mut add = |inputs: &[usize]| {
            tensors.push(TensorInfo::new("t", DType::F32, vec![4]));
            nodes.push(Node {
                op: Op::Binary(Binary::Add, Activation::None),
                inputs: inputs.iter().map(|&t| Some(t)).collect(),
                outputs: vec![tensors.len() - 1],
            });
            tensors.len() - 1
        };
        let a = add(&[0, 0]);
        let b = add(&[a, a]);
        let c = add(&[b, b]);
        let d = add(&[b, b]);
        let e = add(&[c, d]);
        let f = add(&[d, d]);
        Subgraph {
            name: "main".into(),
            tensors,
            nodes,
            inputs: vec![0],
            outputs: vec![e, f],
        }
    }

    #[test]
    fn chains_break_at_forks_joins_and_outputs() {
        let sg = diamond();
        let all = vec![true; sg.nodes.len()];
        assert_eq!(
            chains(&sg, &all),
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5]]
        );
        let mut some = all.clone();
        some[1] = false;
        assert_eq!(chains(&sg, &some)[0], vec![0]);
    }

    #[test]
    fn units_cover_only_the_failing_outputs_ancestors() {
        let sg = diamond();
        let all = vec![true; sg.nodes.len()];
        let err = vec![Some(1e-3); sg.nodes.len()];
        let flags = vec![false; sg.nodes.len()];
        let failing = [sg.outputs[0]];
        let passing = [sg.outputs[1]];
        let u = units(&sg, &failing, &passing, &all, &err, &flags);
        let sets: Vec<Vec<usize>> = u.iter().map(|u| u.nodes.clone()).collect();
        // Node 5 feeds only the passing output; the failing output's own branch
        // is nodes 2 and 4 (3 also feeds the passing one).
        assert_eq!(
            sets,
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![2, 4]]
        );
        assert_eq!(u[4].kind, UnitKind::Branch);
        let mut exact = err.clone();
        exact[2] = Some(0.0);
        let u = units(&sg, &failing, &passing, &all, &exact, &flags);
        assert!(u.iter().all(|u| u.nodes != vec![2]));
    }
}
