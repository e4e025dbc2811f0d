//! Convolutions: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV (float, int8, 16x8,
//! hybrid).
//!
//! The geometry (output size, padding, dilation) is `graph::shape::ConvGeometry`,
//! the one the GPU lowerings use. Also holds the helpers the matmul and pooling
//! kernels share: a small register-tiled GEMM over a repacked `[K][N]` weight
//! matrix, integer input widening, per-row hybrid input quantization and
//! requantization.

mod conv2d;
mod depthwise;
mod gemm;
mod requant;
#[cfg(test)]
pub(super) mod test_util;
mod transpose;
mod wide;

pub use conv2d::conv2d;
pub use depthwise::depthwise_conv2d;
pub(super) use gemm::gemm_rows;
pub(super) use requant::{
    bias_f32, channel_multipliers, check_act, finish_float, finish_hybrid, float_range, int_tensor,
    quant_args, quantize_rows, requantize, weight_scales, widen, widen_weights, QuantArgs,
};
pub use transpose::transpose_conv;
pub(super) use wide::{
    float_rescales, requantize_wide, wide_args, widen_weights_i64, Rescale, WideArgs,
};

use super::OpCtx;
use crate::error::Result;
use crate::graph::quant::Multiplier;
use crate::graph::DType;
use crate::graph::Data;
use crate::graph::Tensor;
use std::ops::{AddAssign, Mul};

/// Element type of the generic accumulation loops (f32 for float, i32 for integer,
/// i64 for the 16x8 path).
pub(super) trait Num:
    Copy + Default + PartialEq + Mul<Output = Self> + AddAssign + Send + Sync + 'static
{
    /// self + a * b (wrapping for integers, so loops vectorize with overflow checks on).
    fn madd(self, a: Self, b: Self) -> Self;
}
impl Num for f32 {
    #[inline(always)]
    fn madd(self, a: f32, b: f32) -> f32 {
        self + a * b
    }
}
impl Num for i32 {
    #[inline(always)]
    fn madd(self, a: i32, b: i32) -> i32 {
        self.wrapping_add(a.wrapping_mul(b))
    }
}
impl Num for i64 {
    #[inline(always)]
    fn madd(self, a: i64, b: i64) -> i64 {
        self.wrapping_add(a.wrapping_mul(b))
    }
}

/// How a conv-like node computes.
enum Mode {
    Float,
    Hybrid,
    /// int8/uint8 inputs: i32 accumulators.
    Quant,
    /// int16 inputs with int8 weights (16x8): i64 accumulators.
    Quant16,
}

fn mode(ctx: &OpCtx, x: &Tensor, w: &Tensor) -> Result<Mode> {
    match (x.dtype(), w.dtype()) {
        (DType::F32, DType::F32) => Ok(Mode::Float),
        (DType::F32, DType::I8 | DType::U8) => Ok(Mode::Hybrid),
        (DType::I16, DType::I8) => Ok(Mode::Quant16),
        (DType::I8 | DType::U8, DType::I8 | DType::U8) => Ok(Mode::Quant),
        (a, b) => Err(ctx.err(format!("input {a} with weights {b} is not supported"))),
    }
}

fn dims4(ctx: &OpCtx, t: &Tensor, what: &str) -> Result<[usize; 4]> {
    match t.shape[..] {
        [a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(ctx.err(format!("{what} must be 4-D, got {:?}", t.shape))),
    }
}

fn is_const(ctx: &OpCtx, i: usize) -> bool {
    ctx.input_infos
        .get(i)
        .copied()
        .flatten()
        .is_some_and(|t| t.data.is_some())
}

/// Prepared data remembered with the weight values it was built from.
struct Keyed<T> {
    key: Data,
    val: T,
}

/// Prepared data for the weights at input `weight_input`: cached once when they are
/// a model constant; when they are computed (e.g. DEQUANTIZE of a float16 constant)
/// the first build is cached with a copy of the weights and reused while they stay
/// equal, otherwise rebuilt into `slot` for this call.
pub(super) fn prepared<'a, T: Send + Sync + 'static>(
    ctx: &OpCtx<'a>,
    weight_input: usize,
    slot: &'a mut Option<T>,
    build: impl FnOnce() -> Result<T>,
) -> Result<&'a T> {
    if is_const(ctx, weight_input) {
        return ctx.cached(build);
    }
    let w = ctx.input(weight_input)?;
    let mut build = Some(build);
    let c: &Keyed<T> = ctx.cached(|| {
        let b = build
            .take()
            .ok_or_else(|| ctx.err("weights prepared twice"))?;
        Ok(Keyed {
            key: w.data.clone(),
            val: b()?,
        })
    })?;
    if c.key == w.data {
        return Ok(&c.val);
    }
    let b = build
        .take()
        .ok_or_else(|| ctx.err("weights prepared twice"))?;
    Ok(slot.insert(b()?))
}

/// Packed conv weights: per group `[K][OCg]`, plus requantization multipliers.
struct Packed<T> {
    w: Vec<T>,
    mult: Vec<Multiplier>,
}
