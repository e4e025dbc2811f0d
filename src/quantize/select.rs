//! Selective quantization: the nodes that stay float, chosen by index, op type or
//! output-name regex.

use super::invalid;
use crate::error::Result;
use crate::graph::Subgraph;
use regex::Regex;
use std::collections::HashSet;

/// Nodes of the main subgraph kept in float.
#[derive(Debug, Clone, Default)]
pub struct KeepFloat {
    /// Node indices (as `inspect` prints them).
    pub nodes: Vec<usize>,
    /// Op types by TFLite name, e.g. `SOFTMAX` (case-insensitive).
    pub ops: Vec<String>,
    /// Regexes over the nodes' output tensor names.
    pub names: Vec<String>,
}

/// Whether `pattern` names the op `op` ("*" matches every op).
fn op_matches(pattern: &str, op: &str) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(op)
}

impl KeepFloat {
    /// The node indices of `sg` to keep in float.
    pub(crate) fn resolve(&self, sg: &Subgraph) -> Result<HashSet<usize>> {
        let mut keep = HashSet::new();
        for &n in &self.nodes {
            if n >= sg.nodes.len() {
                return Err(invalid(format!(
                    "--keep-float node {n}: the model has {} nodes",
                    sg.nodes.len()
                )));
            }
            keep.insert(n);
        }
        let names = self
            .names
            .iter()
            .map(|r| Regex::new(r).map_err(|e| invalid(format!("--keep-float regex {r:?}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        for (n, node) in sg.nodes.iter().enumerate() {
            let op = node.op.name();
            let out_names: Vec<&str> = node
                .outputs
                .iter()
                .map(|&o| sg.tensors[o].name.as_str())
                .collect();
            let named = |r: &Regex| out_names.iter().any(|s| r.is_match(s));
            if self.ops.iter().any(|o| op_matches(o, op)) || names.iter().any(named) {
                keep.insert(n);
            }
        }
        Ok(keep)
    }
}
