//! RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR with align_corners and half_pixel_centers.

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::Resize;

/// Kernel of resize_bilinear.
pub fn resize_bilinear(ctx: &mut OpCtx, p: &Resize) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of resize_nearest.
pub fn resize_nearest(ctx: &mut OpCtx, p: &Resize) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}
