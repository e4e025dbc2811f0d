//! Indexing ops: GATHER, GATHER_ND, SCATTER_ND, EMBEDDING_LOOKUP, ONE_HOT, TOPK_V2.

use super::layout::append_all;
use super::OpCtx;
use crate::error::Result;
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// Check that an index lies in `0..size`.
fn check_index(ctx: &OpCtx, v: i64, size: usize) -> Result<usize> {
    if v < 0 || v >= size as i64 {
        return Err(ctx.err(format!("index {v} is out of range [0, {size})")));
    }
    Ok(v as usize)
}

/// Kernel of gather.
pub fn gather(ctx: &mut OpCtx, axis: i32, batch_dims: i32) -> Result<Vec<Tensor>> {
    let params = ctx.input(0)?;
    let indices = ctx.input(1)?;
    let idx = ctx.ints(1)?;
    let axis = ctx.axis(axis as i64, params.rank())?;
    let bd = if batch_dims < 0 {
        batch_dims as i64 + indices.rank() as i64
    } else {
        batch_dims as i64
    };
    if bd < 0 || bd as usize > indices.rank() || bd as usize > axis {
        return Err(ctx.err(format!("gather: batch_dims {batch_dims} out of range")));
    }
    let bd = bd as usize;
    if params.shape[..bd] != indices.shape[..bd] {
        return Err(ctx.err("gather: batch dimensions of params and indices differ"));
    }
    let mut shape = params.shape[..axis].to_vec();
    shape.extend_from_slice(&indices.shape[bd..]);
    shape.extend_from_slice(&params.shape[axis + 1..]);
    ctx.check_size(&shape, params.dtype())?;
    let batch: usize = params.shape[..bd].iter().product();
    let outer: usize = params.shape[bd..axis].iter().product();
    let coords: usize = indices.shape[bd..].iter().product();
    let axis_size = params.shape[axis];
    let inner: usize = params.shape[axis + 1..].iter().product();
    let mut src = Vec::with_capacity(batch * outer * coords * inner);
    for b in 0..batch {
        for o in 0..outer {
            for j in 0..coords {
                let k = check_index(ctx, idx[b * coords + j], axis_size)?;
                let base = ((b * outer + o) * axis_size + k) * inner;
                src.extend(base..base + inner);
            }
        }
    }
    Ok(vec![Tensor::new(
        shape,
        params.data.gather(src.into_iter()),
    )])
}

/// Kernel of gather_nd.
pub fn gather_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let params = ctx.input(0)?;
    let indices = ctx.input(1)?;
    let idx = ctx.ints(1)?;
    let k = match indices.shape.last() {
        Some(&k) if k <= params.rank() => k,
        _ => {
            return Err(ctx.err(format!(
                "gather_nd: indices {:?} do not fit params {:?}",
                indices.shape, params.shape
            )))
        }
    };
    let mut shape = indices.shape[..indices.rank() - 1].to_vec();
    shape.extend_from_slice(&params.shape[k..]);
    ctx.check_size(&shape, params.dtype())?;
    let inner: usize = params.shape[k..].iter().product();
    let n: usize = indices.shape[..indices.rank() - 1].iter().product();
    let mut src = Vec::with_capacity(n * inner);
    for j in 0..n {
        let mut off = 0;
        for d in 0..k {
            off = off * params.shape[d] + check_index(ctx, idx[j * k + d], params.shape[d])?;
        }
        src.extend(off * inner..(off + 1) * inner);
    }
    Ok(vec![Tensor::new(
        shape,
        params.data.gather(src.into_iter()),
    )])
}

/// Kernel of scatter_nd.
pub fn scatter_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let indices = ctx.input(0)?;
    let idx = ctx.ints(0)?;
    let updates = ctx.input(1)?;
    let shape = ctx
        .ints(2)?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| ctx.err(format!("scatter_nd: bad dimension {d}"))))
        .collect::<Result<Vec<_>>>()?;
    let k = match indices.shape.last() {
        Some(&k) if k <= shape.len() && indices.rank() >= 1 => k,
        _ => return Err(ctx.err("scatter_nd: indices do not fit the output shape")),
    };
    let outer = &indices.shape[..indices.rank() - 1];
    let mut want = outer.to_vec();
    want.extend_from_slice(&shape[k..]);
    if updates.shape != want {
        return Err(ctx.err(format!(
            "scatter_nd: updates {:?} should have shape {want:?}",
            updates.shape
        )));
    }
    let total = ctx.check_size(&shape, updates.dtype())?;
    let inner: usize = shape[k..].iter().product();
    let n: usize = outer.iter().product();
    let mut dst = Vec::with_capacity(n);
    for j in 0..n {
        let mut off = 0;
        for d in 0..k {
            off = off * shape[d] + check_index(ctx, idx[j * k + d], shape[d])?;
        }
        dst.push(off * inner);
    }
    macro_rules! scatter {
        ($v:expr, $zero:expr, $add:expr) => {{
            let mut out = vec![$zero; total];
            for (j, &base) in dst.iter().enumerate() {
                for i in 0..inner {
                    out[base + i] = $add(out[base + i], $v[j * inner + i]);
                }
            }
            out
        }};
    }
    let data = match &updates.data {
        Data::F32(v) => Data::F32(scatter!(v, 0.0f32, |a: f32, b: f32| a + b)),
        Data::F16(v) => Data::F16(scatter!(
            v,
            half::f16::ZERO,
            |a: half::f16, b: half::f16| { half::f16::from_f32(a.to_f32() + b.to_f32()) }
        )),
        Data::I8(v) => Data::I8(scatter!(v, 0i8, |a: i8, b: i8| a.wrapping_add(b))),
        Data::U8(v) => Data::U8(scatter!(v, 0u8, |a: u8, b: u8| a.wrapping_add(b))),
        Data::I16(v) => Data::I16(scatter!(v, 0i16, |a: i16, b: i16| a.wrapping_add(b))),
        Data::I32(v) => Data::I32(scatter!(v, 0i32, |a: i32, b: i32| a.wrapping_add(b))),
        Data::U32(v) => Data::U32(scatter!(v, 0u32, |a: u32, b: u32| a.wrapping_add(b))),
        Data::I64(v) => Data::I64(scatter!(v, 0i64, |a: i64, b: i64| a.wrapping_add(b))),
        Data::Bool(v) => Data::Bool(scatter!(v, false, |a: bool, b: bool| a | b)),
        Data::C64(_) => return Err(ctx.unsupported_dtype(1)),
    };
    Ok(vec![Tensor::new(shape, data)])
}

/// Kernel of embedding_lookup.
pub fn embedding_lookup(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let ids = ctx.ints(0)?;
    let value = ctx.input(1)?;
    if value.rank() < 1 {
        return Err(ctx.err("embedding_lookup: value must have rank >= 1"));
    }
    let rows = value.shape[0];
    let row: usize = value.shape[1..].iter().product();
    let mut shape = vec![ids.len()];
    shape.extend_from_slice(&value.shape[1..]);
    ctx.check_size(&shape, value.dtype())?;
    let mut src = Vec::with_capacity(ids.len() * row);
    let mut which = Vec::with_capacity(ids.len());
    for &id in &ids {
        let r = check_index(ctx, id, rows)?;
        which.push(r);
        src.extend(r * row..(r + 1) * row);
    }
    let hybrid = matches!(value.dtype(), DType::I8 | DType::U8) && ctx.out_dtype(0)? == DType::F32;
    if hybrid {
        // Hybrid lookup: dequantize rows with the (per-row) scale, no zero point.
        let q = ctx
            .in_quant(1)
            .ok_or_else(|| ctx.err("embedding_lookup: quantized value has no scale"))?;
        let v = value.data.to_f64();
        let mut out = Vec::with_capacity(src.len());
        for (j, &r) in which.iter().enumerate() {
            let s = q.scale_at(r) as f64;
            out.extend(
                src[j * row..(j + 1) * row]
                    .iter()
                    .map(|&i| (v[i] * s) as f32),
            );
        }
        return Ok(vec![Tensor::f32(shape, out)]);
    }
    Ok(vec![Tensor::new(shape, value.data.gather(src.into_iter()))])
}

/// Kernel of one_hot.
pub fn one_hot(ctx: &mut OpCtx, axis: i32) -> Result<Vec<Tensor>> {
    let indices = ctx.input(0)?;
    let idx = ctx.ints(0)?;
    let depth = ctx.ints(1)?;
    let on = ctx.input(2)?;
    let off = ctx.input(3)?;
    if depth.len() != 1 || depth[0] < 0 {
        return Err(ctx.err("one_hot: depth must be a non-negative scalar"));
    }
    let depth = depth[0] as usize;
    if on.len() != 1 || off.len() != 1 || on.dtype() != off.dtype() {
        return Err(ctx.err("one_hot: on/off values must be scalars of one type"));
    }
    let rank = indices.rank();
    let axis = if axis == -1 { rank as i64 } else { axis as i64 };
    if axis < 0 || axis > rank as i64 {
        return Err(ctx.err(format!("one_hot: axis {axis} out of range")));
    }
    let axis = axis as usize;
    let mut shape = indices.shape.clone();
    shape.insert(axis, depth);
    ctx.check_size(&shape, on.dtype())?;
    let both =
        append_all(&[&off.data, &on.data]).ok_or_else(|| ctx.err("one_hot: type mismatch"))?;
    let outer: usize = indices.shape[..axis].iter().product();
    let inner: usize = indices.shape[axis..].iter().product();
    let mut src = Vec::with_capacity(outer * depth * inner);
    for o in 0..outer {
        for d in 0..depth {
            for i in 0..inner {
                src.push(usize::from(idx[o * inner + i] == d as i64));
            }
        }
    }
    Ok(vec![Tensor::new(shape, both.gather(src.into_iter()))])
}

/// Kernel of top_k.
pub fn top_k(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let k = ctx.ints(1)?;
    let n = match t.shape.last() {
        Some(&n) => n,
        None => return Err(ctx.err("top_k: input must have rank >= 1")),
    };
    if k.len() != 1 || k[0] < 0 || k[0] as usize > n {
        return Err(ctx.err(format!("top_k: k {k:?} out of range for {n}")));
    }
    let k = k[0] as usize;
    let rows = t.len().checked_div(n).unwrap_or(0);
    let mut shape = t.shape.clone();
    if let Some(l) = shape.last_mut() {
        *l = k;
    }
    let ints = matches!(
        t.dtype(),
        DType::I8 | DType::U8 | DType::I16 | DType::I32 | DType::U32 | DType::I64
    );
    let fv = if ints { Vec::new() } else { t.data.to_f64() };
    let iv = if ints { t.data.to_i64() } else { Vec::new() };
    let mut src = Vec::with_capacity(rows * k);
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for r in 0..rows {
        order.clear();
        order.extend(0..n);
        let b = r * n;
        if ints {
            order.sort_by(|&x, &y| iv[b + y].cmp(&iv[b + x]).then(x.cmp(&y)));
        } else {
            order.sort_by(|&x, &y| fv[b + y].total_cmp(&fv[b + x]).then(x.cmp(&y)));
        }
        src.extend(order[..k].iter().map(|&i| b + i));
    }
    let pos = src.iter().map(|&i| i % n.max(1));
    let indices = match ctx.out_dtype(1).unwrap_or(DType::I32) {
        DType::I64 => Data::I64(pos.map(|i| i as i64).collect()),
        DType::I16 => Data::I16(pos.map(|i| i as i16).collect()),
        _ => Data::I32(pos.map(|i| i as i32).collect()),
    };
    Ok(vec![
        Tensor::new(shape.clone(), t.data.gather(src.into_iter())),
        Tensor::new(shape, indices),
    ])
}

#[cfg(test)]
mod tests {
    use crate::cpu::ops::layout::testutil::*;
    use crate::graph::{DType, Op};
    use crate::graph::{Data, Tensor};

    #[test]
    fn gather_axis_batch_dims_and_range() {
        let r = run(
            Op::Gather {
                axis: -1,
                batch_dims: 0,
            },
            vec![iota(vec![2, 3]), i32t(vec![2], vec![2, 0])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![2., 0., 5., 3.]);
        let r = run(
            Op::Gather {
                axis: 1,
                batch_dims: 1,
            },
            vec![iota(vec![2, 3]), i32t(vec![2, 1], vec![1, 2])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 1]);
        assert_eq!(f(&r[0]), vec![1., 5.]);
        assert!(run(
            Op::Gather {
                axis: 0,
                batch_dims: 0
            },
            vec![iota(vec![2, 3]), i32t(vec![1], vec![2])],
            &[DType::F32],
        )
        .is_err());
    }

    #[test]
    fn gather_nd_and_scatter_nd() {
        let r = run(
            Op::GatherNd,
            vec![iota(vec![2, 2, 2]), i32t(vec![2, 2], vec![1, 0, 0, 1])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 2]);
        assert_eq!(f(&r[0]), vec![4., 5., 2., 3.]);
        let r = run(
            Op::ScatterNd,
            vec![
                i32t(vec![3, 1], vec![1, 3, 1]),
                Tensor::f32(vec![3], vec![1., 2., 3.]),
                i32t(vec![1], vec![4]),
            ],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![0., 4., 0., 2.]);
        assert!(run(
            Op::ScatterNd,
            vec![
                i32t(vec![1, 1], vec![4]),
                Tensor::f32(vec![1], vec![1.]),
                i32t(vec![1], vec![4])
            ],
            &[DType::F32],
        )
        .is_err());
    }

    #[test]
    fn one_hot_axis() {
        let ins = || {
            vec![
                i32t(vec![2], vec![1, 5]),
                i32t(vec![], vec![3]),
                Tensor::f32(vec![], vec![1.]),
                Tensor::f32(vec![], vec![0.]),
            ]
        };
        let r = run(Op::OneHot { axis: -1 }, ins(), &[DType::F32]).unwrap();
        assert_eq!(r[0].shape, vec![2, 3]);
        assert_eq!(f(&r[0]), vec![0., 1., 0., 0., 0., 0.]);
        let r = run(Op::OneHot { axis: 0 }, ins(), &[DType::F32]).unwrap();
        assert_eq!(r[0].shape, vec![3, 2]);
        assert_eq!(f(&r[0]), vec![0., 0., 1., 0., 0., 0.]);
    }

    #[test]
    fn top_k_ties_by_index() {
        let r = run(
            Op::TopKV2,
            vec![
                Tensor::f32(vec![2, 4], vec![1., 3., 3., 2., 0., 0., 5., 0.]),
                i32t(vec![], vec![3]),
            ],
            &[DType::F32, DType::I32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![3., 3., 2., 5., 0., 0.]);
        assert_eq!(r[1].data, Data::I32(vec![1, 2, 3, 2, 0, 1]));
    }

    #[test]
    fn embedding_lookup_rows() {
        let r = run(
            Op::EmbeddingLookup,
            vec![i32t(vec![2], vec![2, 0]), iota(vec![3, 2])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![4., 5., 0., 1.]);
    }

    #[test]
    fn data_movement_keeps_dtype() {
        let b = Tensor::new(vec![2, 2], Data::Bool(vec![true, false, false, true]));
        let r = run(
            Op::Gather {
                axis: 1,
                batch_dims: 0,
            },
            vec![b, i32t(vec![1], vec![1])],
            &[DType::Bool],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::Bool(vec![false, true]));
        let h = Tensor::new(
            vec![3],
            Data::F16((0..3).map(|i| half::f16::from_f32(i as f32)).collect()),
        );
        let r = run(
            Op::TopKV2,
            vec![h, i32t(vec![], vec![1])],
            &[DType::F16, DType::I64],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::F16(vec![half::f16::from_f32(2.0)]));
        assert_eq!(r[1].data, Data::I64(vec![2]));
        let c = Tensor::new(vec![2], Data::C64(vec![1., 2., 3., 4.]));
        let r = run(
            Op::GatherNd,
            vec![c, i32t(vec![1, 1], vec![1])],
            &[DType::Complex64],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::C64(vec![3., 4.]));
    }
}
