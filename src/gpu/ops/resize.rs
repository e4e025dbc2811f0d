//! RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR.

use super::LowerCtx;
use crate::error::Result;
use crate::graph::{Node, Subgraph};

/// Why a node of this family stays on the CPU (Ok: the GPU takes it).
pub fn support(node: &Node, _sg: &Subgraph) -> Result<(), String> {
    Err(format!("{} has no GPU kernel yet", node.op.name()))
}

/// Record the dispatches of a node of this family.
pub fn lower(ctx: &mut LowerCtx) -> Result<()> {
    Err(ctx.err("no GPU kernel yet"))
}
