//! Convolutions: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV (float, int8, hybrid).

use super::OpCtx;
use crate::cpu::Tensor;
use crate::error::Result;
use crate::graph::op::{Conv2D, DepthwiseConv2D, TransposeConv};

/// Kernel of conv2d.
pub fn conv2d(ctx: &mut OpCtx, p: &Conv2D) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of depthwise_conv2d.
pub fn depthwise_conv2d(ctx: &mut OpCtx, p: &DepthwiseConv2D) -> Result<Vec<Tensor>> {
    let _ = p;
    Err(ctx.err("not implemented yet"))
}

/// Kernel of transpose_conv.
pub fn transpose_conv(
    ctx: &mut OpCtx,
    p: &TransposeConv,
    bias_variant: bool,
) -> Result<Vec<Tensor>> {
    let _ = p;
    let _ = bias_variant;
    Err(ctx.err("not implemented yet"))
}
