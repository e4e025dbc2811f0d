//! Ordering nodes so that every tensor is written before it is read.

use super::Node;
use crate::error::{Error, Result};
use std::collections::BinaryHeap;

/// A stable topological order of `nodes`: the file order when it is already valid,
/// otherwise the earliest-ready node first. `available[t]` is true for tensors that
/// exist before any node runs (inputs, constants, variables).
///
/// Errors name the tensor when a node reads something nothing writes, two nodes write
/// the same tensor, or the nodes form a cycle.
pub fn topological_order(
    subgraph: usize,
    nodes: &[Node],
    num_tensors: usize,
    available: &[bool],
) -> Result<Vec<usize>> {
    let mut producer: Vec<Option<usize>> = vec![None; num_tensors];
    for (n, node) in nodes.iter().enumerate() {
        for &t in &node.outputs {
            if available.get(t).copied().unwrap_or(false) {
                return Err(Error::Graph {
                    subgraph,
                    what: format!("node {n} writes tensor {t}, which is an input or constant"),
                });
            }
            if let Some(p) = producer[t] {
                return Err(Error::Graph {
                    subgraph,
                    what: format!("tensor {t} is written by both node {p} and node {n}"),
                });
            }
            producer[t] = Some(n);
        }
    }
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut pending = vec![0usize; nodes.len()];
    for (n, node) in nodes.iter().enumerate() {
        for t in node.inputs.iter().flatten().copied() {
            match producer[t] {
                Some(p) => {
                    consumers[p].push(n);
                    pending[n] += 1;
                }
                None if available.get(t).copied().unwrap_or(false) => {}
                None => {
                    return Err(Error::Graph {
                        subgraph,
                        what: format!("node {n} reads tensor {t}, which nothing writes"),
                    })
                }
            }
        }
    }
    let mut ready: BinaryHeap<std::cmp::Reverse<usize>> = (0..nodes.len())
        .filter(|&n| pending[n] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(std::cmp::Reverse(n)) = ready.pop() {
        order.push(n);
        for &c in &consumers[n] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(std::cmp::Reverse(c));
            }
        }
    }
    if order.len() != nodes.len() {
        let stuck = (0..nodes.len()).find(|&n| pending[n] > 0).unwrap_or(0);
        return Err(Error::Graph {
            subgraph,
            what: format!("the nodes form a cycle (node {stuck} is part of it or depends on it)"),
        });
    }
    Ok(order)
}
