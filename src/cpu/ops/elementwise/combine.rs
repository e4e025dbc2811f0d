//! Ops that choose or combine among several inputs: SELECT, SELECT_V2, PRELU and
//! ADD_N.

use super::*;
use crate::error::Result;
use crate::graph::broadcast::{broadcast_offsets, broadcast_shapes};
use crate::graph::quant::{quantize_multiplier, type_range, Multiplier};
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// Kernel of select.
pub fn select(ctx: &mut OpCtx, v2: bool) -> Result<Vec<Tensor>> {
    let c = ctx.input(0)?;
    let x = ctx.input(1)?;
    let y = ctx.input(2)?;
    for (i, t) in [c, x, y].iter().enumerate() {
        check_tensor(ctx, t, i)?;
    }
    let cond = match &c.data {
        Data::Bool(v) => v,
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    if x.dtype() != y.dtype() {
        return Err(ctx.err("x and y of SELECT have different types"));
    }
    // SELECT (v1) with a rank-1 condition over a higher-rank x picks whole rows.
    let rank_one = !v2 && c.shape.len() == 1 && x.shape.len() > 1;
    let (out_shape, ci, xi, yi): (Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>) = if rank_one {
        if x.shape != y.shape || x.shape[0] != c.shape[0] {
            return Err(ctx.err("SELECT shapes do not match"));
        }
        let n = numel(&x.shape);
        let inner = n.checked_div(x.shape[0]).unwrap_or(0);
        let ci = (0..n).map(|i| i / inner.max(1)).collect();
        (x.shape.clone(), ci, (0..n).collect(), (0..n).collect())
    } else {
        let s = broadcast_shapes(&c.shape, &x.shape)
            .and_then(|s| broadcast_shapes(&s, &y.shape))
            .ok_or_else(|| ctx.err("SELECT shapes are not broadcast-compatible"))?;
        if !v2 && (c.shape != x.shape || x.shape != y.shape) && numel(&s) != 1 {
            return Err(ctx.err("SELECT requires equal shapes"));
        }
        ctx.check_size(&s, x.dtype())?;
        (
            s.clone(),
            broadcast_offsets(&c.shape, &s),
            broadcast_offsets(&x.shape, &s),
            broadcast_offsets(&y.shape, &s),
        )
    };
    let pick = |k: usize| -> (bool, usize, usize) { (cond[ci[k]], xi[k], yi[k]) };
    let n = ci.len();
    macro_rules! sel {
        ($p:expr, $q:expr, $v:ident) => {
            Data::$v(
                (0..n)
                    .map(|k| {
                        let (c, i, j) = pick(k);
                        if c {
                            $p[i]
                        } else {
                            $q[j]
                        }
                    })
                    .collect(),
            )
        };
    }
    let data = match (&x.data, &y.data) {
        (Data::F32(p), Data::F32(q)) => sel!(p, q, F32),
        (Data::F16(p), Data::F16(q)) => sel!(p, q, F16),
        (Data::I8(p), Data::I8(q)) => sel!(p, q, I8),
        (Data::U8(p), Data::U8(q)) => sel!(p, q, U8),
        (Data::I16(p), Data::I16(q)) => sel!(p, q, I16),
        (Data::I32(p), Data::I32(q)) => sel!(p, q, I32),
        (Data::U32(p), Data::U32(q)) => sel!(p, q, U32),
        (Data::I64(p), Data::I64(q)) => sel!(p, q, I64),
        (Data::Bool(p), Data::Bool(q)) => sel!(p, q, Bool),
        _ => return Err(ctx.unsupported_dtype(1)),
    };
    Ok(vec![Tensor::new(out_shape, data)])
}

/// Kernel of prelu.
pub fn prelu(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    let a = ctx.input(1)?;
    check_tensor(ctx, x, 0)?;
    check_tensor(ctx, a, 1)?;
    let bc = Bcast::new(ctx, &x.shape, &a.shape, x.dtype())?;
    let data = match (&x.data, &a.data) {
        (Data::F32(p), Data::F32(q)) => {
            Data::F32(bc.map(p, q, |x, a| if x >= 0.0 { x } else { x * a }))
        }
        (Data::I8(p), Data::I8(q)) => Data::I8(
            prelu_quant(ctx, &bc, p, q, |v| v as i32, DType::I8)?
                .into_iter()
                .map(|v| v as i8)
                .collect(),
        ),
        (Data::U8(p), Data::U8(q)) => Data::U8(
            prelu_quant(ctx, &bc, p, q, |v| v as i32, DType::U8)?
                .into_iter()
                .map(|v| v as u8)
                .collect(),
        ),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(bc.out, data)])
}

fn prelu_quant<T: Copy>(
    ctx: &OpCtx,
    bc: &Bcast,
    x: &[T],
    a: &[T],
    to_i32: fn(T) -> i32,
    dtype: DType,
) -> Result<Vec<i32>> {
    let (si, zi) = ctx.in_qparams(0)?;
    let (sa, za) = ctx.in_qparams(1)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let m1: Multiplier = quantize_multiplier(si as f64 / so as f64);
    let m2: Multiplier = quantize_multiplier(si as f64 * sa as f64 / so as f64);
    let (lo, hi) = type_range(dtype);
    Ok(bc.map(x, a, |x, a| {
        let v = to_i32(x) - zi;
        let o = if v >= 0 {
            m1.apply(v)
        } else {
            m2.apply(v.wrapping_mul(to_i32(a) - za))
        };
        o.saturating_add(zo).clamp(lo, hi)
    }))
}

/// Kernel of add_n.
pub fn add_n(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let first = ctx.input(0)?;
    check_tensor(ctx, first, 0)?;
    let mut data = first.data.clone();
    for i in 1..ctx.num_inputs() {
        let t = ctx.input(i)?;
        if t.shape != first.shape {
            return Err(ctx.err("ADD_N inputs have different shapes"));
        }
        check_tensor(ctx, t, i)?;
        match (&mut data, &t.data) {
            (Data::F32(acc), Data::F32(v)) => acc.iter_mut().zip(v).for_each(|(a, b)| *a += b),
            (Data::I32(acc), Data::I32(v)) => acc
                .iter_mut()
                .zip(v)
                .for_each(|(a, b)| *a = a.wrapping_add(*b)),
            (Data::I64(acc), Data::I64(v)) => acc
                .iter_mut()
                .zip(v)
                .for_each(|(a, b)| *a = a.wrapping_add(*b)),
            _ => return Err(ctx.unsupported_dtype(i)),
        }
    }
    Ok(vec![Tensor::new(first.shape.clone(), data)])
}
