//! CONCATENATION (requantizing quantized inputs), SPLIT, SPLIT_V, PACK and UNPACK.

use super::*;
use crate::error::Result;
use crate::graph::op::Activation;
use crate::graph::{Data, Tensor};

/// Requantize int8/uint8/int16 data from (in_scale, in_zp) to (out_scale, out_zp) as
/// LiteRT's ConcatenationWithScaling does.
fn requantize(data: &Data, in_q: (f32, i32), out_q: (f32, i32)) -> Option<Data> {
    let scale = in_q.0 * (1.0 / out_q.0);
    let bias = -(in_q.1 as f32) * scale;
    let f = |q: i32, lo: i32, hi: i32| {
        ((q as f32 * scale + bias).round() as i32 + out_q.1).clamp(lo, hi)
    };
    Some(match data {
        Data::I8(v) => Data::I8(v.iter().map(|&q| f(q as i32, -128, 127) as i8).collect()),
        Data::U8(v) => Data::U8(v.iter().map(|&q| f(q as i32, 0, 255) as u8).collect()),
        Data::I16(v) => Data::I16(
            v.iter()
                .map(|&q| f(q as i32, -32768, 32767) as i16)
                .collect(),
        ),
        _ => return None,
    })
}

/// Clamp float data to a fused activation's range.
fn apply_activation(ctx: &OpCtx, data: &mut Data, act: Activation) -> Result<()> {
    if act == Activation::None {
        return Ok(());
    }
    let (lo, hi) = act
        .range()
        .ok_or_else(|| ctx.err(format!("fused activation {act:?} is not supported")))?;
    match data {
        Data::F32(v) => v.iter_mut().for_each(|x| *x = x.max(lo).min(hi)),
        Data::F16(v) => v.iter_mut().for_each(|x| {
            *x = half::f16::from_f32(x.to_f32().max(lo).min(hi));
        }),
        _ => {}
    }
    Ok(())
}

/// Kernel of concatenation.
pub fn concatenation(ctx: &mut OpCtx, axis: i32, act: Activation) -> Result<Vec<Tensor>> {
    let n = ctx.num_inputs();
    if n == 0 {
        return Err(ctx.err("concatenation needs inputs"));
    }
    let first = ctx.input(0)?;
    let rank = first.rank();
    let axis = ctx.axis(axis as i64, rank.max(1))?;
    if rank == 0 {
        return Err(ctx.err("concatenation of scalars"));
    }
    let out_q = ctx.out_qparams(0).ok();
    let mut parts = Vec::with_capacity(n);
    let mut total = 0usize;
    for i in 0..n {
        let t = ctx.input(i)?;
        if t.rank() != rank
            || t.dtype() != first.dtype()
            || (0..rank).any(|d| d != axis && t.shape[d] != first.shape[d])
        {
            return Err(ctx.err(format!(
                "concatenation: input {i} of shape {:?} ({}) does not match {:?} ({})",
                t.shape,
                t.dtype(),
                first.shape,
                first.dtype()
            )));
        }
        total += t.shape[axis];
        let data = match (out_q, ctx.in_qparams(i).ok()) {
            (Some(oq), Some(iq)) if oq != iq => requantize(&t.data, iq, oq),
            _ => None,
        };
        parts.push((t, data));
    }
    let mut shape = first.shape.clone();
    shape[axis] = total;
    ctx.check_size(&shape, first.dtype())?;
    let datas: Vec<&Data> = parts
        .iter()
        .map(|(t, d)| d.as_ref().unwrap_or(&t.data))
        .collect();
    let all = append_all(&datas).ok_or_else(|| ctx.err("concatenation: mixed input types"))?;
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut idx = Vec::with_capacity(numel(&shape));
    for o in 0..outer {
        let mut base = 0;
        for (t, _) in &parts {
            let chunk = t.shape[axis] * inner;
            idx.extend(base + o * chunk..base + (o + 1) * chunk);
            base += t.len();
        }
    }
    let mut data = all.gather(idx.into_iter());
    apply_activation(ctx, &mut data, act)?;
    Ok(vec![Tensor::new(shape, data)])
}

/// Split `t` along `axis` into pieces of the given sizes.
fn split_sizes(t: &Tensor, axis: usize, sizes: &[usize]) -> Vec<Tensor> {
    let outer: usize = t.shape[..axis].iter().product();
    let inner: usize = t.shape[axis + 1..].iter().product();
    let dim = t.shape[axis];
    let mut start = 0;
    sizes
        .iter()
        .map(|&s| {
            let mut idx = Vec::with_capacity(outer * s * inner);
            for o in 0..outer {
                let b = (o * dim + start) * inner;
                idx.extend(b..b + s * inner);
            }
            start += s;
            let mut shape = t.shape.clone();
            shape[axis] = s;
            gathered(t, shape, &idx)
        })
        .collect()
}

/// Kernel of split.
pub fn split(ctx: &mut OpCtx, num_splits: usize) -> Result<Vec<Tensor>> {
    let a = ctx.ints(0)?;
    let t = ctx.input(1)?;
    if a.len() != 1 {
        return Err(ctx.err("split: axis must hold one value"));
    }
    let axis = ctx.axis(a[0], t.rank())?;
    let n = if num_splits == 0 {
        ctx.num_outputs()
    } else {
        num_splits
    };
    if n == 0 || t.shape[axis] % n != 0 {
        return Err(ctx.err(format!(
            "split: dimension {} is not divisible into {n} pieces",
            t.shape[axis]
        )));
    }
    let sizes = vec![t.shape[axis] / n; n];
    Ok(split_sizes(t, axis, &sizes))
}

/// Kernel of split_v.
pub fn split_v(ctx: &mut OpCtx, num_splits: usize) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let spec = ctx.ints(1)?;
    let a = ctx.ints(2)?;
    if a.len() != 1 {
        return Err(ctx.err("split_v: axis must hold one value"));
    }
    let axis = ctx.axis(a[0], t.rank())?;
    if num_splits != 0 && spec.len() != num_splits {
        return Err(ctx.err("split_v: size_splits length differs from num_splits"));
    }
    let dim = t.shape[axis];
    let mut unknown = None;
    let mut sum = 0usize;
    let mut sizes = Vec::with_capacity(spec.len());
    for (i, &s) in spec.iter().enumerate() {
        if s == -1 {
            if unknown.replace(i).is_some() {
                return Err(ctx.err("split_v: more than one -1 in size_splits"));
            }
            sizes.push(0);
        } else {
            let s = to_dim(ctx, s, "split size")?;
            sum = sum.saturating_add(s);
            sizes.push(s);
        }
    }
    match unknown {
        Some(u) if sum <= dim => sizes[u] = dim - sum,
        None if sum == dim => {}
        _ => {
            return Err(ctx.err(format!(
                "split_v: sizes {spec:?} do not fit dimension {dim}"
            )))
        }
    }
    Ok(split_sizes(t, axis, &sizes))
}

/// Kernel of pack.
pub fn pack(ctx: &mut OpCtx, axis: i32) -> Result<Vec<Tensor>> {
    let n = ctx.num_inputs();
    let first = ctx.input(0)?;
    let rank = first.rank();
    let a = if axis < 0 {
        axis as i64 + rank as i64 + 1
    } else {
        axis as i64
    };
    if a < 0 || a > rank as i64 {
        return Err(ctx.err(format!("pack: axis {axis} out of range for rank {rank}")));
    }
    let a = a as usize;
    let mut datas = Vec::with_capacity(n);
    for i in 0..n {
        let t = ctx.input(i)?;
        if t.shape != first.shape || t.dtype() != first.dtype() {
            return Err(ctx.err(format!("pack: input {i} differs from input 0")));
        }
        datas.push(&t.data);
    }
    let all = append_all(&datas).ok_or_else(|| ctx.err("pack: mixed input types"))?;
    let mut shape = first.shape.clone();
    shape.insert(a, n);
    let outer: usize = first.shape[..a].iter().product();
    let inner: usize = first.shape[a..].iter().product();
    let each = first.len();
    let mut idx = Vec::with_capacity(each * n);
    for o in 0..outer {
        for i in 0..n {
            let b = i * each + o * inner;
            idx.extend(b..b + inner);
        }
    }
    Ok(vec![Tensor::new(shape, all.gather(idx.into_iter()))])
}

/// Kernel of unpack.
pub fn unpack(ctx: &mut OpCtx, axis: i32, num: usize) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let a = ctx.axis(axis as i64, t.rank())?;
    let dim = t.shape[a];
    if num != 0 && num != dim {
        return Err(ctx.err(format!("unpack: num {num} differs from dimension {dim}")));
    }
    let parts = split_sizes(t, a, &vec![1; dim]);
    Ok(parts
        .into_iter()
        .map(|mut p| {
            p.shape.remove(a);
            p
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::graph::op::Activation;
    use crate::graph::{DType, Op, Quantization};
    use crate::graph::{Data, Tensor};

    #[test]
    fn concat_requantizes_and_clamps() {
        let a = Tensor::new(vec![1, 2], Data::I8(vec![10, -10]));
        let b = Tensor::new(vec![1, 1], Data::I8(vec![4]));
        let q = |s: f32, z: i64| Some(Quantization::per_tensor(s, z));
        let r = run_q(
            Op::Concatenation {
                axis: -1,
                activation: Activation::None,
            },
            vec![a, b],
            &[(DType::I8, q(0.5, 0))],
            &[q(0.5, 0), q(1.0, 2)],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::I8(vec![10, -10, 4]));
        let r = run(
            Op::Concatenation {
                axis: 0,
                activation: Activation::Relu6,
            },
            vec![
                Tensor::f32(vec![1, 2], vec![-1., 7.]),
                Tensor::f32(vec![1, 2], vec![3., 4.]),
            ],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![0., 6., 3., 4.]);
    }
}
