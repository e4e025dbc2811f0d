//! FULLY_CONNECTED and BATCH_MATMUL (float, int8, hybrid).

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::FullyConnected;

/// Kernel of fully_connected.
pub fn fully_connected(ctx: &mut OpCtx, p: &FullyConnected) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of batch_matmul.
pub fn batch_matmul(ctx: &mut OpCtx, adj_x: bool, adj_y: bool) -> Result<Vec<Tensor>> {
    let _ = adj_x;
    let _ = adj_y;
    Err(ctx.err("not implemented yet"))
}
