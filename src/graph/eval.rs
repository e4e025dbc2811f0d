//! Evaluating one node on concrete values, as an interface owned by the IR: the
//! layers that must compute a node at prepare time (constant folding, the GPU's
//! integer lookup tables) use the CPU reference kernels through it without
//! depending on the CPU backend.

use super::{Node, Subgraph, Tensor};
use crate::error::Result;

/// Runs single nodes of a subgraph on given input values.
pub trait NodeEval: Sync {
    /// The outputs of `node` (a node of `sg`) for `inputs`, one value per node
    /// input (None for an omitted optional input; constants may be passed as None
    /// and are then read from `sg`).
    fn eval(&self, sg: &Subgraph, node: &Node, inputs: &[Option<Tensor>]) -> Result<Vec<Tensor>>;
}
