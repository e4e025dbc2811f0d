//! Ops that make tensors from shapes and scalars: BROADCAST_TO, BROADCAST_ARGS,
//! SHAPE, RANK, FILL, ZEROS_LIKE and RANGE.

use super::*;
use crate::error::Result;
use crate::graph::broadcast::{broadcast_offsets, broadcast_shapes};
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// Kernel of broadcast_to.
pub fn broadcast_to(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let shape = ctx
        .ints(1)?
        .into_iter()
        .map(|d| to_dim(ctx, d, "broadcast_to dimension"))
        .collect::<Result<Vec<_>>>()?;
    if broadcast_shapes(&t.shape, &shape).as_deref() != Some(&shape[..]) {
        return Err(ctx.err(format!(
            "broadcast_to: {:?} does not broadcast to {shape:?}",
            t.shape
        )));
    }
    ctx.check_size(&shape, t.dtype())?;
    let idx = broadcast_offsets(&t.shape, &shape);
    Ok(vec![gathered(t, shape, &idx)])
}

/// Kernel of broadcast_args.
pub fn broadcast_args(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let dims = |i: usize| -> Result<Vec<usize>> {
        ctx.ints(i)?
            .into_iter()
            .map(|d| to_dim(ctx, d, "shape dimension"))
            .collect()
    };
    let (a, b) = (dims(0)?, dims(1)?);
    let s = broadcast_shapes(&a, &b)
        .ok_or_else(|| ctx.err(format!("broadcast_args: {a:?} and {b:?} are incompatible")))?;
    let dtype = ctx.input(0)?.dtype();
    let data = match dtype {
        DType::I64 => Data::I64(s.iter().map(|&d| d as i64).collect()),
        _ => Data::I32(s.iter().map(|&d| d as i32).collect()),
    };
    Ok(vec![Tensor::new(vec![s.len()], data)])
}

/// Kernel of shape.
pub fn shape(ctx: &mut OpCtx, out_type: DType) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let data = match out_type {
        DType::I64 => Data::I64(t.shape.iter().map(|&d| d as i64).collect()),
        DType::I32 => Data::I32(t.shape.iter().map(|&d| d as i32).collect()),
        other => return Err(ctx.err(format!("shape: output type {other} is not supported"))),
    };
    Ok(vec![Tensor::new(vec![t.rank()], data)])
}

/// Kernel of rank.
pub fn rank(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    Ok(vec![Tensor::new(vec![], Data::I32(vec![t.rank() as i32]))])
}

/// Kernel of fill.
pub fn fill(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let shape = ctx
        .ints(0)?
        .into_iter()
        .map(|d| to_dim(ctx, d, "fill dimension"))
        .collect::<Result<Vec<_>>>()?;
    let v = ctx.input(1)?;
    if v.len() != 1 {
        return Err(ctx.err("fill: value must be a single element"));
    }
    let n = ctx.check_size(&shape, v.dtype())?;
    Ok(vec![Tensor::new(
        shape,
        v.data.gather(std::iter::repeat_n(0, n)),
    )])
}

/// Kernel of zeros_like.
pub fn zeros_like(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    Ok(vec![Tensor::zeros(t.dtype(), t.shape.clone())?])
}

/// Kernel of range.
pub fn range(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let s = ctx.input(0)?;
    let dtype = s.dtype();
    let scalar = |i: usize| -> Result<f64> {
        let t = ctx.input(i)?;
        if t.len() != 1 || t.dtype() != dtype {
            return Err(ctx.err("range: start, limit and delta must be scalars of one type"));
        }
        t.data
            .to_f64()
            .first()
            .copied()
            .ok_or_else(|| ctx.err("range: empty scalar"))
    };
    match dtype {
        DType::I32 | DType::I64 => {
            let _ = (scalar(0)?, scalar(1)?, scalar(2)?);
            let one = |i: usize| -> Result<i64> {
                ctx.ints(i)?
                    .first()
                    .copied()
                    .ok_or_else(|| ctx.err("range: empty scalar"))
            };
            let (start, limit, delta) = (one(0)?, one(1)?, one(2)?);
            if delta == 0 || (limit > start && delta < 0) || (limit < start && delta > 0) {
                return Err(ctx.err(format!("range: bad delta {delta} for {start}..{limit}")));
            }
            let (s128, l128, d128) = (start as i128, limit as i128, delta as i128);
            let n = ((l128 - s128).abs() + d128.abs() - 1) / d128.abs();
            let n = ctx.check_size(&[usize::try_from(n).unwrap_or(usize::MAX)], dtype)?;
            let vals = (0..n as i64).map(|i| start.wrapping_add(i.wrapping_mul(delta)));
            let data = if dtype == DType::I64 {
                Data::I64(vals.collect())
            } else {
                Data::I32(vals.map(|v| v as i32).collect())
            };
            Ok(vec![Tensor::new(vec![n], data)])
        }
        DType::F32 => {
            let (start, limit, delta) = (scalar(0)?, scalar(1)?, scalar(2)?);
            if delta == 0.0 || (limit > start && delta < 0.0) || (limit < start && delta > 0.0) {
                return Err(ctx.err(format!("range: bad delta {delta} for {start}..{limit}")));
            }
            let n = ((limit - start) / delta).abs().ceil();
            if !n.is_finite() {
                return Err(ctx.err("range: size is not finite"));
            }
            let n = ctx.check_size(&[n as usize], dtype)?;
            let (st, de) = (start as f32, delta as f32);
            Ok(vec![Tensor::f32(
                vec![n],
                (0..n).map(|i| st + i as f32 * de).collect(),
            )])
        }
        _ => Err(ctx.unsupported_dtype(0)),
    }
}
