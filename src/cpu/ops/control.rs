//! Control flow: WHILE and IF run nested subgraphs.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;

/// Kernel of while_loop.
pub fn while_loop(ctx: &mut OpCtx, cond: usize, body: usize) -> Result<Vec<Tensor>> {
    let _ = cond;
    let _ = body;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of if_then_else.
pub fn if_then_else(
    ctx: &mut OpCtx,
    then_branch: usize,
    else_branch: usize,
) -> Result<Vec<Tensor>> {
    let _ = then_branch;
    let _ = else_branch;
    Err(ctx.err("not implemented yet"))
}
