//! Indexing ops: GATHER, GATHER_ND, SCATTER_ND, EMBEDDING_LOOKUP, ONE_HOT, TOPK_V2.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;

/// Kernel of gather.
pub fn gather(ctx: &mut OpCtx, axis: i32, batch_dims: i32) -> Result<Vec<Tensor>> {
    let _ = axis;
    let _ = batch_dims;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of gather_nd.
pub fn gather_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of scatter_nd.
pub fn scatter_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of embedding_lookup.
pub fn embedding_lookup(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}

/// Kernel of one_hot.
pub fn one_hot(ctx: &mut OpCtx, axis: i32) -> Result<Vec<Tensor>> {
    let _ = axis;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of top_k.
pub fn top_k(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    Err(ctx.err("not implemented yet"))
}
