//! 2-D pooling: average, max, L2, and MediaPipe's argmax pooling and unpooling.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::Pool2D;

/// Kernel of average_pool.
pub fn average_pool(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of max_pool.
pub fn max_pool(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of l2_pool.
pub fn l2_pool(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of max_pool_with_argmax.
pub fn max_pool_with_argmax(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of max_unpooling.
pub fn max_unpooling(ctx: &mut OpCtx, p: &Pool2D) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}
