//! What the CPU kernels need from whatever runs them: limits and a way to run
//! nested subgraphs (WHILE, IF).

use crate::error::{Error, Result};
use crate::graph::{Graph, Subgraph, Tensor};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Limits that keep a hostile model from hanging or exhausting the host.
#[derive(Debug, Clone)]
pub struct RunLimits {
    /// Most iterations one WHILE node may run.
    pub max_while_iterations: u64,
    /// Deepest nesting of WHILE/IF subgraph calls.
    pub max_call_depth: usize,
    /// Largest tensor a kernel may create, in bytes.
    pub max_tensor_bytes: u64,
    /// Set to true (from any thread) to stop a run at the next node.
    pub cancel: Arc<AtomicBool>,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_while_iterations: 10_000_000,
            max_call_depth: 64,
            max_tensor_bytes: 2 << 30,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl RunLimits {
    /// Subgraph `s` of `graph`, called at depth `depth` with `given` inputs: the
    /// checks every runner makes before it runs a (nested) subgraph.
    pub fn subgraph_call<'g>(
        &self,
        graph: &'g Graph,
        s: usize,
        given: usize,
        depth: usize,
    ) -> Result<&'g Subgraph> {
        if depth > self.max_call_depth {
            return Err(Error::Stopped(format!(
                "subgraph calls nested deeper than {}",
                self.max_call_depth
            )));
        }
        let sg = graph.subgraphs.get(s).ok_or_else(|| Error::Graph {
            subgraph: s,
            what: "no such subgraph".into(),
        })?;
        if given != sg.inputs.len() {
            return Err(Error::Graph {
                subgraph: s,
                what: format!("{given} inputs given, {} expected", sg.inputs.len()),
            });
        }
        Ok(sg)
    }
}

/// The runner of a program as its kernels see it: limits and nested subgraphs.
pub trait SubgraphRunner: Sync {
    /// The limits of this run.
    fn limits(&self) -> &RunLimits;

    /// Run subgraph `s` on `inputs` at call depth `depth`.
    fn run_subgraph(&self, s: usize, inputs: Vec<Tensor>, depth: usize) -> Result<Vec<Tensor>>;
}
