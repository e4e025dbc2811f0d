//! Ops that move data without arithmetic: reshapes, concatenation, splits, slices, transposes, padding, tiling and shape queries.

use super::{numel, OpCtx};
use crate::error::Result;
use crate::graph::broadcast::{broadcast_offsets, broadcast_shapes};
use crate::graph::op::{Activation, StridedSlice};
use crate::graph::shape::strided_slice_axes;
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// Row-major strides of `shape`.
pub(crate) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Call `f` with every multi-index of `shape` in row-major order (once for rank 0,
/// never when some dimension is 0).
pub(crate) fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    loop {
        f(&idx);
        let mut d = shape.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Source offsets for every element of `out_shape`, computed by `f` from the output
/// multi-index.
pub(crate) fn map_indices(out_shape: &[usize], mut f: impl FnMut(&[usize]) -> usize) -> Vec<usize> {
    let mut v = Vec::with_capacity(out_shape.iter().product());
    for_each_index(out_shape, |i| v.push(f(i)));
    v
}

/// Concatenate the elements of same-typed data vectors; None on a type mismatch.
pub(crate) fn append_all(parts: &[&Data]) -> Option<Data> {
    let (first, rest) = parts.split_first()?;
    let mut acc = (*first).clone();
    for p in rest {
        match (&mut acc, p) {
            (Data::F32(a), Data::F32(b)) | (Data::C64(a), Data::C64(b)) => a.extend_from_slice(b),
            (Data::F16(a), Data::F16(b)) => a.extend_from_slice(b),
            (Data::I8(a), Data::I8(b)) => a.extend_from_slice(b),
            (Data::U8(a), Data::U8(b)) => a.extend_from_slice(b),
            (Data::I16(a), Data::I16(b)) => a.extend_from_slice(b),
            (Data::I32(a), Data::I32(b)) => a.extend_from_slice(b),
            (Data::U32(a), Data::U32(b)) => a.extend_from_slice(b),
            (Data::I64(a), Data::I64(b)) => a.extend_from_slice(b),
            (Data::Bool(a), Data::Bool(b)) => a.extend_from_slice(b),
            _ => return None,
        }
    }
    Some(acc)
}

/// A tensor of `shape` built from `t`'s elements at `idx`.
fn gathered(t: &Tensor, shape: Vec<usize>, idx: &[usize]) -> Tensor {
    Tensor::new(shape, t.data.gather(idx.iter().copied()))
}

/// `t`'s elements with one extra element (the pad value) appended at index `t.len()`.
fn with_pad_value(ctx: &OpCtx, t: &Tensor, value: &Data) -> Result<Data> {
    append_all(&[&t.data, value]).ok_or_else(|| ctx.err("pad value type differs from the input"))
}

/// A one-element Data of `dtype` holding integer `v` (floats get `v` as a value).
fn scalar_of(ctx: &OpCtx, dtype: DType, v: i64) -> Result<Data> {
    Ok(match dtype {
        DType::I8 => Data::I8(vec![v as i8]),
        DType::U8 => Data::U8(vec![v as u8]),
        DType::I16 => Data::I16(vec![v as i16]),
        DType::I32 => Data::I32(vec![v as i32]),
        DType::U32 => Data::U32(vec![v as u32]),
        DType::I64 => Data::I64(vec![v]),
        DType::F32 => Data::F32(vec![v as f32]),
        DType::F16 => Data::F16(vec![half::f16::from_f32(v as f32)]),
        DType::Bool => Data::Bool(vec![v != 0]),
        DType::Complex64 => Data::C64(vec![v as f32, 0.0]),
        other => return Err(ctx.err(format!("type {other} is not supported"))),
    })
}

/// The pad value of PAD / SPACE_TO_BATCH_ND: the output zero point for quantized
/// integer outputs, else zero.
fn zero_pad_value(ctx: &OpCtx, dtype: DType) -> Result<Data> {
    let zp = match dtype {
        DType::I8 | DType::U8 | DType::I16 => {
            ctx.out_quant(0).map(|q| q.zero_point_at(0)).unwrap_or(0)
        }
        _ => 0,
    };
    scalar_of(ctx, dtype, zp)
}

/// Convert a non-negative i64 to usize with an error naming `what`.
fn to_dim(ctx: &OpCtx, v: i64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| ctx.err(format!("{what} {v} is negative")))
}

/// Kernel of reshape.
pub fn reshape(ctx: &mut OpCtx, new_shape: Option<&[i32]>) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let spec: Vec<i64> = match ctx.opt_input(1) {
        Some(s) if !s.is_empty() => {
            if s.rank() > 1 {
                return Err(ctx.err(format!("shape input must be 1-D, got {:?}", s.shape)));
            }
            ctx.ints(1)?
        }
        _ => match new_shape {
            // Legacy models write [0] for a scalar.
            Some([0]) => vec![],
            Some(s) => s.iter().map(|&v| v as i64).collect(),
            None => vec![],
        },
    };
    let shape = infer_shape(ctx, &spec, t.len())?;
    Ok(vec![Tensor::new(shape, t.data.clone())])
}

/// Resolve a reshape spec with at most one -1 against `count` elements.
fn infer_shape(ctx: &OpCtx, spec: &[i64], count: usize) -> Result<Vec<usize>> {
    let mut unknown = None;
    let mut known = 1usize;
    let mut shape = Vec::with_capacity(spec.len());
    for (i, &d) in spec.iter().enumerate() {
        if d == -1 {
            if unknown.is_some() {
                return Err(ctx.err("reshape: more than one -1 in the new shape"));
            }
            unknown = Some(i);
            shape.push(0);
        } else {
            let d = to_dim(ctx, d, "reshape dimension")?;
            known = known
                .checked_mul(d)
                .ok_or_else(|| ctx.err("reshape: new shape overflows"))?;
            shape.push(d);
        }
    }
    if let Some(u) = unknown {
        if known == 0 || count % known != 0 {
            return Err(ctx.err(format!(
                "reshape: cannot infer -1 in {spec:?} for {count} elements"
            )));
        }
        shape[u] = count / known;
    } else if known != count {
        return Err(ctx.err(format!(
            "reshape: new shape {spec:?} does not hold {count} elements"
        )));
    }
    Ok(shape)
}

/// Kernel of squeeze.
pub fn squeeze(ctx: &mut OpCtx, axes: &[i32]) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let rank = t.rank();
    let mut drop = vec![false; rank];
    if axes.is_empty() {
        for (d, &s) in drop.iter_mut().zip(&t.shape) {
            *d = s == 1;
        }
    } else {
        for &a in axes {
            let a = ctx.axis(a as i64, rank)?;
            if t.shape[a] != 1 {
                return Err(ctx.err(format!(
                    "squeeze: axis {a} has size {}, expected 1",
                    t.shape[a]
                )));
            }
            drop[a] = true;
        }
    }
    let shape = t
        .shape
        .iter()
        .zip(&drop)
        .filter(|(_, &d)| !d)
        .map(|(&s, _)| s)
        .collect();
    Ok(vec![Tensor::new(shape, t.data.clone())])
}

/// Kernel of expand_dims.
pub fn expand_dims(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let a = ctx.ints(1)?;
    if a.len() != 1 {
        return Err(ctx.err("expand_dims: axis must hold one value"));
    }
    let r = t.rank() as i64;
    let axis = if a[0] < 0 { a[0] + r + 1 } else { a[0] };
    if axis < 0 || axis > r {
        return Err(ctx.err(format!(
            "expand_dims: axis {} out of range for rank {r}",
            a[0]
        )));
    }
    let axis = axis as usize;
    let mut shape = t.shape.clone();
    shape.insert(axis, 1);
    Ok(vec![Tensor::new(shape, t.data.clone())])
}

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
fn split_sizes(ctx: &OpCtx, t: &Tensor, axis: usize, sizes: &[usize]) -> Vec<Tensor> {
    let outer: usize = t.shape[..axis].iter().product();
    let inner: usize = t.shape[axis + 1..].iter().product();
    let dim = t.shape[axis];
    let mut start = 0;
    let _ = ctx;
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
    Ok(split_sizes(ctx, t, axis, &sizes))
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
    Ok(split_sizes(ctx, t, axis, &sizes))
}

/// Kernel of slice.
pub fn slice(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let begin = ctx.ints(1)?;
    let size = ctx.ints(2)?;
    let rank = t.rank();
    if begin.len() != rank || size.len() != rank {
        return Err(ctx.err("slice: begin and size must have one value per dimension"));
    }
    let mut b = vec![0; rank];
    let mut shape = vec![0; rank];
    for d in 0..rank {
        let dim = t.shape[d] as i64;
        let s = if size[d] == -1 {
            dim - begin[d]
        } else {
            size[d]
        };
        if begin[d] < 0 || s < 0 || begin[d] + s > dim {
            return Err(ctx.err(format!(
                "slice: begin {} size {} out of range for dimension {dim}",
                begin[d], size[d]
            )));
        }
        b[d] = begin[d] as usize;
        shape[d] = s as usize;
    }
    let st = strides_of(&t.shape);
    let idx = map_indices(&shape, |i| (0..rank).map(|d| (i[d] + b[d]) * st[d]).sum());
    Ok(vec![gathered(t, shape, &idx)])
}

/// Kernel of strided_slice.
pub fn strided_slice(ctx: &mut OpCtx, p: &StridedSlice) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let begin = ctx.ints(1)?;
    let end = ctx.ints(2)?;
    let strides = match ctx.opt_input(3) {
        Some(_) => ctx.ints(3)?,
        None => vec![1; begin.len()],
    };
    let axes = strided_slice_axes(&t.shape, &begin, &end, &strides, p)
        .map_err(|e| ctx.err(format!("strided_slice: {e}")))?;
    let out_shape: Vec<usize> = axes.iter().filter(|a| !a.4).map(|a| a.0).collect();
    ctx.check_size(&out_shape, t.dtype())?;
    let eff_shape: Vec<usize> = axes.iter().map(|a| a.0).collect();
    let idx = map_indices(&eff_shape, |ix| {
        let mut off = 0i64;
        for (d, &(_, start, step, stride, _)) in axes.iter().enumerate() {
            off += (start + ix[d] as i64 * step) * stride;
        }
        off as usize
    });
    Ok(vec![gathered(t, out_shape, &idx)])
}

/// Kernel of transpose.
pub fn transpose(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let rank = t.rank();
    let perm = ctx.ints(1)?;
    if perm.len() != rank {
        return Err(ctx.err(format!("transpose: perm {perm:?} does not fit rank {rank}")));
    }
    let mut seen = vec![false; rank];
    let mut pm = Vec::with_capacity(rank);
    for &p in &perm {
        if p < 0 {
            return Err(ctx.err(format!("transpose: perm {perm:?} is out of bounds")));
        }
        let a = ctx.axis(p, rank)?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(ctx.err(format!("transpose: perm {perm:?} repeats an axis")));
        }
        pm.push(a);
    }
    let shape: Vec<usize> = pm.iter().map(|&a| t.shape[a]).collect();
    let st = strides_of(&t.shape);
    let idx = map_indices(&shape, |i| (0..rank).map(|d| i[d] * st[pm[d]]).sum());
    Ok(vec![gathered(t, shape, &idx)])
}

/// Kernel of tile.
pub fn tile(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let m = ctx.ints(1)?;
    let rank = t.rank();
    if m.len() != rank {
        return Err(ctx.err(format!("tile: multiples {m:?} do not fit rank {rank}")));
    }
    let mut shape = Vec::with_capacity(rank);
    for (&mult, &dim) in m.iter().zip(&t.shape) {
        let k = to_dim(ctx, mult, "tile multiple")?;
        shape.push(
            dim.checked_mul(k)
                .ok_or_else(|| ctx.err("tile: output shape overflows"))?,
        );
    }
    ctx.check_size(&shape, t.dtype())?;
    let st = strides_of(&t.shape);
    let idx = map_indices(&shape, |i| {
        (0..rank).map(|d| (i[d] % t.shape[d]) * st[d]).sum()
    });
    Ok(vec![gathered(t, shape, &idx)])
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
    let parts = split_sizes(ctx, t, a, &vec![1; dim]);
    Ok(parts
        .into_iter()
        .map(|mut p| {
            p.shape.remove(a);
            p
        })
        .collect())
}

/// Parse a paddings tensor of shape [rank, 2] into (before, after) pairs.
fn paddings(ctx: &OpCtx, i: usize, rank: usize) -> Result<Vec<(i64, i64)>> {
    let p = ctx.input(i)?;
    let v = ctx.ints(i)?;
    if !(p.shape == [rank, 2] || (rank == 0 && v.is_empty())) {
        return Err(ctx.err(format!(
            "paddings of shape {:?} do not fit rank {rank}",
            p.shape
        )));
    }
    Ok(v.chunks_exact(2).map(|c| (c[0], c[1])).collect())
}

/// Kernel of pad.
pub fn pad(ctx: &mut OpCtx, v2: bool) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let rank = t.rank();
    let pads = paddings(ctx, 1, rank)?;
    let value = match ctx.opt_input(2) {
        Some(v) if v2 => {
            if v.len() != 1 || v.dtype() != t.dtype() {
                return Err(ctx.err("padv2: constant value must be one element of the input type"));
            }
            v.data.clone()
        }
        _ => zero_pad_value(ctx, t.dtype())?,
    };
    let mut shape = Vec::with_capacity(rank);
    for (d, &(b, a)) in pads.iter().enumerate() {
        if b < 0 || a < 0 {
            return Err(ctx.err(format!("pad: negative padding {b},{a}")));
        }
        let s = (t.shape[d] as i64)
            .checked_add(b)
            .and_then(|s| s.checked_add(a))
            .ok_or_else(|| ctx.err("pad: output shape overflows"))?;
        shape.push(to_dim(ctx, s, "padded dimension")?);
    }
    ctx.check_size(&shape, t.dtype())?;
    let data = with_pad_value(ctx, t, &value)?;
    let st = strides_of(&t.shape);
    let n = t.len();
    let idx = map_indices(&shape, |i| {
        let mut off = 0;
        for d in 0..rank {
            let x = i[d] as i64 - pads[d].0;
            if x < 0 || x >= t.shape[d] as i64 {
                return n;
            }
            off += x as usize * st[d];
        }
        off
    });
    Ok(vec![Tensor::new(shape, data.gather(idx.into_iter()))])
}

/// Kernel of mirror_pad.
pub fn mirror_pad(ctx: &mut OpCtx, symmetric: bool) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let rank = t.rank();
    let pads = paddings(ctx, 1, rank)?;
    let mut shape = Vec::with_capacity(rank);
    for (d, &(b, a)) in pads.iter().enumerate() {
        let n = t.shape[d] as i64;
        let max = if symmetric { n } else { n - 1 };
        if b < 0 || a < 0 || (b > max && b > 0) || (a > max && a > 0) {
            return Err(ctx.err(format!(
                "mirror_pad: padding {b},{a} out of range for dimension {n}"
            )));
        }
        shape.push((n + b + a) as usize);
    }
    ctx.check_size(&shape, t.dtype())?;
    let st = strides_of(&t.shape);
    let idx = map_indices(&shape, |i| {
        let mut off = 0;
        for d in 0..rank {
            let n = t.shape[d] as i64;
            let mut x = i[d] as i64 - pads[d].0;
            if x < 0 {
                x = if symmetric { -x - 1 } else { -x };
            } else if x >= n {
                x = if symmetric {
                    2 * n - 1 - x
                } else {
                    2 * n - 2 - x
                };
            }
            off += x as usize * st[d];
        }
        off
    });
    Ok(vec![gathered(t, shape, &idx)])
}

/// The NHWC dims of a rank-4 input.
fn nhwc(ctx: &OpCtx, t: &Tensor) -> Result<[usize; 4]> {
    match t.shape[..] {
        [n, h, w, c] => Ok([n, h, w, c]),
        _ => Err(ctx.err(format!("expected a 4-D NHWC input, got {:?}", t.shape))),
    }
}

/// Kernel of depth_to_space.
pub fn depth_to_space(ctx: &mut OpCtx, block_size: usize) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let [n, h, w, c] = nhwc(ctx, t)?;
    let bs = block_size;
    let bb = bs.checked_mul(bs).filter(|&b| b > 0);
    let (Some(bb), Some(oh), Some(ow)) = (bb, h.checked_mul(bs), w.checked_mul(bs)) else {
        return Err(ctx.err(format!("depth_to_space: bad block size {bs}")));
    };
    if c % bb != 0 {
        return Err(ctx.err(format!("depth_to_space: depth {c} not divisible by {bs}^2")));
    }
    let oc = c / bb;
    let shape = vec![n, oh, ow, oc];
    let idx = map_indices(&shape, |i| {
        let (y, x) = (i[1], i[2]);
        let ic = ((y % bs) * bs + x % bs) * oc + i[3];
        ((i[0] * h + y / bs) * w + x / bs) * c + ic
    });
    Ok(vec![gathered(t, shape, &idx)])
}

/// Kernel of space_to_depth.
pub fn space_to_depth(ctx: &mut OpCtx, block_size: usize) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let [n, h, w, c] = nhwc(ctx, t)?;
    let bs = block_size;
    if bs == 0 || h % bs != 0 || w % bs != 0 {
        return Err(ctx.err(format!(
            "space_to_depth: {h}x{w} not divisible by block {bs}"
        )));
    }
    let oc = bs
        .checked_mul(bs)
        .and_then(|b| b.checked_mul(c))
        .ok_or_else(|| ctx.err("space_to_depth: block size overflows"))?;
    let shape = vec![n, h / bs, w / bs, oc];
    let idx = map_indices(&shape, |i| {
        let oc = i[3];
        let (blk, ic) = (oc / c, oc % c);
        let (dy, dx) = (blk / bs, blk % bs);
        ((i[0] * h + i[1] * bs + dy) * w + i[2] * bs + dx) * c + ic
    });
    Ok(vec![gathered(t, shape, &idx)])
}

/// Block sizes and (before, after) crops or paddings.
type BlockArgs = (Vec<usize>, Vec<(i64, i64)>);

/// Block shape and the [M,2] crops/paddings of the ND batch/space ops.
fn block_args(ctx: &OpCtx, t: &Tensor) -> Result<BlockArgs> {
    let block = ctx.ints(1)?;
    let m = block.len();
    if m == 0 || t.rank() < m + 1 {
        return Err(ctx.err(format!(
            "block shape {block:?} does not fit input {:?}",
            t.shape
        )));
    }
    let block = block
        .iter()
        .map(|&b| {
            if b < 1 {
                Err(ctx.err(format!("block size {b} must be positive")))
            } else {
                Ok(b as usize)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let p = ctx.input(2)?;
    let v = ctx.ints(2)?;
    if p.shape != [m, 2] {
        return Err(ctx.err(format!(
            "crops/paddings shape {:?} must be [{m}, 2]",
            p.shape
        )));
    }
    let pads: Vec<(i64, i64)> = v.chunks_exact(2).map(|c| (c[0], c[1])).collect();
    if pads.iter().any(|&(a, b)| a < 0 || b < 0) {
        return Err(ctx.err("crops/paddings must be non-negative"));
    }
    Ok((block, pads))
}

/// Product of the block sizes, checked for overflow.
fn block_product(ctx: &OpCtx, block: &[usize]) -> Result<usize> {
    block
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| ctx.err("block shape overflows"))
}

/// Kernel of batch_to_space_nd.
pub fn batch_to_space_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let (block, crops) = block_args(ctx, t)?;
    let m = block.len();
    let prod = block_product(ctx, &block)?;
    if t.shape[0] % prod != 0 {
        return Err(ctx.err(format!(
            "batch_to_space_nd: batch {} not divisible by {prod}",
            t.shape[0]
        )));
    }
    let ob = t.shape[0] / prod;
    let mut shape = t.shape.clone();
    shape[0] = ob;
    for i in 0..m {
        let full = i64::try_from(t.shape[i + 1].saturating_mul(block[i])).unwrap_or(i64::MAX);
        let s = full.saturating_sub(crops[i].0).saturating_sub(crops[i].1);
        shape[i + 1] = to_dim(ctx, s, "cropped dimension")?;
    }
    let st = strides_of(&t.shape);
    let idx = map_indices(&shape, |ix| {
        let mut bi = 0;
        let mut off = 0;
        for i in 0..m {
            let x = ix[i + 1] + crops[i].0 as usize;
            bi = bi * block[i] + x % block[i];
            off += (x / block[i]) * st[i + 1];
        }
        for d in m + 1..ix.len() {
            off += ix[d] * st[d];
        }
        off + (bi * ob + ix[0]) * st[0]
    });
    Ok(vec![gathered(t, shape, &idx)])
}

/// Kernel of space_to_batch_nd.
pub fn space_to_batch_nd(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let (block, pads) = block_args(ctx, t)?;
    let m = block.len();
    let prod = block_product(ctx, &block)?;
    let ib = t.shape[0];
    let mut shape = t.shape.clone();
    shape[0] = ib
        .checked_mul(prod)
        .ok_or_else(|| ctx.err("space_to_batch_nd: batch overflows"))?;
    for i in 0..m {
        let padded = (t.shape[i + 1] as i64)
            .saturating_add(pads[i].0)
            .saturating_add(pads[i].1);
        if padded % block[i] as i64 != 0 {
            return Err(ctx.err(format!(
                "space_to_batch_nd: padded size {padded} not divisible by {}",
                block[i]
            )));
        }
        shape[i + 1] = (padded / block[i] as i64) as usize;
    }
    ctx.check_size(&shape, t.dtype())?;
    let value = zero_pad_value(ctx, t.dtype())?;
    let data = with_pad_value(ctx, t, &value)?;
    let n = t.len();
    let st = strides_of(&t.shape);
    let idx = map_indices(&shape, |ix| {
        let b = ix[0] % ib;
        let mut rem = ix[0] / ib;
        let mut off = b * st[0];
        for i in (0..m).rev() {
            let bo = rem % block[i];
            rem /= block[i];
            let x = (ix[i + 1] * block[i] + bo) as i64 - pads[i].0;
            if x < 0 || x >= t.shape[i + 1] as i64 {
                return n;
            }
            off += x as usize * st[i + 1];
        }
        for d in m + 1..ix.len() {
            off += ix[d] * st[d];
        }
        off
    });
    Ok(vec![Tensor::new(shape, data.gather(idx.into_iter()))])
}

/// Kernel of reverse_v2.
pub fn reverse_v2(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let t = ctx.input(0)?;
    let rank = t.rank();
    let mut rev = vec![false; rank];
    for a in ctx.ints(1)? {
        rev[ctx.axis(a, rank)?] = true;
    }
    let st = strides_of(&t.shape);
    let shape = t.shape.clone();
    let idx = map_indices(&shape, |i| {
        (0..rank)
            .map(|d| if rev[d] { shape[d] - 1 - i[d] } else { i[d] } * st[d])
            .sum()
    });
    Ok(vec![gathered(t, shape.clone(), &idx)])
}

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

/// Helpers that run one op through the CPU engine, for the kernel unit tests.
#[cfg(test)]
pub(crate) mod testutil {
    use crate::error::Result;
    use crate::graph::{DType, Node, Op, Quantization, Subgraph, TensorInfo};
    use crate::graph::{Data, Tensor};

    /// Run `op` on `inputs` with outputs of the given types (and optional quantization).
    pub fn run_q(
        op: Op,
        inputs: Vec<Tensor>,
        outs: &[(DType, Option<Quantization>)],
        in_q: &[Option<Quantization>],
    ) -> Result<Vec<Tensor>> {
        let mut tensors = Vec::new();
        for (i, t) in inputs.iter().enumerate() {
            let mut info = TensorInfo::new(format!("in{i}"), t.dtype(), t.shape.clone());
            info.quantization = in_q.get(i).cloned().flatten();
            tensors.push(info);
        }
        for (i, (d, q)) in outs.iter().enumerate() {
            let mut info = TensorInfo::new(format!("out{i}"), *d, vec![]);
            info.quantization = q.clone();
            tensors.push(info);
        }
        let n = inputs.len();
        let sg = Subgraph {
            tensors,
            nodes: vec![Node {
                op,
                inputs: (0..n).map(Some).collect(),
                outputs: (n..n + outs.len()).collect(),
            }],
            inputs: (0..n).collect(),
            outputs: (n..n + outs.len()).collect(),
            ..Default::default()
        };
        crate::cpu::Reference.run_single(&sg, inputs)
    }

    /// Run `op` with unquantized outputs of the given types.
    pub fn run(op: Op, inputs: Vec<Tensor>, outs: &[DType]) -> Result<Vec<Tensor>> {
        let outs: Vec<_> = outs.iter().map(|&d| (d, None)).collect();
        run_q(op, inputs, &outs, &[])
    }

    /// An int32 tensor.
    pub fn i32t(shape: Vec<usize>, v: Vec<i32>) -> Tensor {
        Tensor::new(shape, Data::I32(v))
    }

    /// A float tensor holding 0, 1, 2, ... of `shape`.
    pub fn iota(shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product::<usize>();
        Tensor::f32(shape, (0..n).map(|i| i as f32).collect())
    }

    /// The f32 data of a tensor.
    pub fn f(t: &Tensor) -> Vec<f32> {
        t.as_f32().map(<[f32]>::to_vec).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use crate::graph::op::{Activation, StridedSlice};
    use crate::graph::{DType, Op, Quantization};
    use crate::graph::{Data, Tensor};

    fn ss(
        t: Tensor,
        b: Vec<i32>,
        e: Vec<i32>,
        s: Vec<i32>,
        p: StridedSlice,
    ) -> crate::error::Result<Tensor> {
        let n = b.len();
        let r = run(
            Op::StridedSlice(p),
            vec![t, i32t(vec![n], b), i32t(vec![n], e), i32t(vec![n], s)],
            &[DType::F32],
        )?;
        Ok(r[0].clone())
    }

    #[test]
    fn reshape_infers_and_rejects() {
        let r = run(
            Op::Reshape { new_shape: None },
            vec![iota(vec![2, 3, 4]), i32t(vec![2], vec![-1, 4])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![6, 4]);
        let r = run(
            Op::Reshape {
                new_shape: Some(vec![4, -1]),
            },
            vec![iota(vec![2, 3, 4])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![4, 6]);
        for bad in [vec![-1, -1], vec![5, -1], vec![7, 3], vec![-2, 12]] {
            assert!(run(
                Op::Reshape { new_shape: None },
                vec![iota(vec![24]), i32t(vec![2], bad)],
                &[DType::F32],
            )
            .is_err());
        }
        let r = run(
            Op::Reshape { new_shape: None },
            vec![iota(vec![1, 1]), i32t(vec![0], vec![])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, Vec::<usize>::new());
    }

    #[test]
    fn squeeze_and_expand_negative_axes() {
        let r = run(
            Op::Squeeze { axes: vec![-1] },
            vec![iota(vec![1, 2, 1])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![1, 2]);
        assert!(run(
            Op::Squeeze { axes: vec![1] },
            vec![iota(vec![1, 2, 1])],
            &[DType::F32]
        )
        .is_err());
        let r = run(
            Op::ExpandDims,
            vec![iota(vec![2, 3]), i32t(vec![], vec![-1])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 3, 1]);
        let r = run(
            Op::ExpandDims,
            vec![iota(vec![2, 3]), i32t(vec![1], vec![-3])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![1, 2, 3]);
        assert!(run(
            Op::ExpandDims,
            vec![iota(vec![2, 3]), i32t(vec![1], vec![-4])],
            &[DType::F32]
        )
        .is_err());
    }

    #[test]
    fn strided_slice_masks() {
        let t = iota(vec![3, 4]);
        // Negative stride over the whole axis with begin/end masks.
        let p = StridedSlice {
            begin_mask: 3,
            end_mask: 3,
            ..Default::default()
        };
        let r = ss(t.clone(), vec![0, 0], vec![0, 0], vec![-1, -2], p).unwrap();
        assert_eq!(r.shape, vec![3, 2]);
        assert_eq!(f(&r), vec![11., 9., 7., 5., 3., 1.]);
        // Shrink axis 0 with a negative index.
        let p = StridedSlice {
            shrink_axis_mask: 1,
            ..Default::default()
        };
        let r = ss(t.clone(), vec![-1, 1], vec![0, 3], vec![1, 1], p).unwrap();
        assert_eq!(r.shape, vec![2]);
        assert_eq!(f(&r), vec![9., 10.]);
        // Ellipsis then new axis: t[..., None].
        let p = StridedSlice {
            ellipsis_mask: 1,
            new_axis_mask: 2,
            ..Default::default()
        };
        let r = ss(t.clone(), vec![0, 0], vec![0, 0], vec![1, 1], p).unwrap();
        assert_eq!(r.shape, vec![3, 4, 1]);
        // New axis first: t[None, 1:3].
        let p = StridedSlice {
            new_axis_mask: 1,
            ..Default::default()
        };
        let r = ss(t.clone(), vec![0, 1], vec![1, 3], vec![1, 1], p).unwrap();
        assert_eq!(r.shape, vec![1, 2, 4]);
        assert_eq!(f(&r)[0], 4.0);
        // Ellipsis with a trailing index: t[..., 2] (shrink on the last spec).
        let p = StridedSlice {
            ellipsis_mask: 1,
            shrink_axis_mask: 2,
            ..Default::default()
        };
        let r = ss(t.clone(), vec![0, 2], vec![0, 3], vec![1, 1], p).unwrap();
        assert_eq!(f(&r), vec![2., 6., 10.]);
        // Offset: end is relative to begin.
        let p = StridedSlice {
            offset: true,
            ..Default::default()
        };
        let r = ss(t.clone(), vec![1, 1], vec![2, 2], vec![1, 1], p).unwrap();
        assert_eq!(f(&r), vec![5., 6., 9., 10.]);
        // Fewer specs than dims: remaining dims are whole; clamped ends.
        let r = ss(
            t.clone(),
            vec![1],
            vec![100],
            vec![1],
            StridedSlice::default(),
        )
        .unwrap();
        assert_eq!(r.shape, vec![2, 4]);
        // Negative begin/end with negative stride: t[-1:-3:-1, 0]
        let p = StridedSlice {
            shrink_axis_mask: 2,
            ..Default::default()
        };
        let r = ss(t.clone(), vec![-1, 0], vec![-3, 1], vec![-1, 1], p).unwrap();
        assert_eq!(f(&r), vec![8., 4.]);
        assert!(ss(
            t.clone(),
            vec![0],
            vec![1],
            vec![0],
            StridedSlice::default()
        )
        .is_err());
        let p = StridedSlice {
            shrink_axis_mask: 1,
            ..Default::default()
        };
        assert!(ss(t, vec![5], vec![6], vec![1], p).is_err());
    }

    #[test]
    fn transpose_rank6() {
        let t = iota(vec![1, 2, 1, 3, 1, 2]);
        let r = run(
            Op::Transpose,
            vec![t, i32t(vec![6], vec![5, 3, 1, 0, 2, 4])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 3, 2, 1, 1, 1]);
        // out[a,b,c] = in[c,b,a] over dims (2,3,2) of the input's (c=2,b=3,a=2)
        let mut want = vec![];
        for a in 0..2 {
            for b in 0..3 {
                for c in 0..2 {
                    want.push((c * 6 + b * 2 + a) as f32);
                }
            }
        }
        assert_eq!(f(&r[0]), want);
        let t = iota(vec![2, 1, 3, 1, 2]);
        let r = run(
            Op::Transpose,
            vec![t, i32t(vec![5], vec![4, 3, 2, 1, 0])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 1, 3, 1, 2]);
        assert_eq!(f(&r[0])[1], 6.0);
        assert!(run(
            Op::Transpose,
            vec![iota(vec![2, 2]), i32t(vec![2], vec![0, 0])],
            &[DType::F32]
        )
        .is_err());
    }

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

    #[test]
    fn pads_tiles_and_splits() {
        let r = run(
            Op::MirrorPad { symmetric: false },
            vec![iota(vec![3]), i32t(vec![1, 2], vec![2, 2])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![2., 1., 0., 1., 2., 1., 0.]);
        let r = run(
            Op::MirrorPad { symmetric: true },
            vec![iota(vec![3]), i32t(vec![1, 2], vec![2, 1])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![1., 0., 0., 1., 2., 2.]);
        let r = run(
            Op::PadV2,
            vec![
                iota(vec![2]),
                i32t(vec![1, 2], vec![1, 0]),
                Tensor::f32(vec![], vec![9.]),
            ],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![9., 0., 1.]);
        let r = run(
            Op::Tile,
            vec![iota(vec![1, 2]), i32t(vec![2], vec![2, 2])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![0., 1., 0., 1., 0., 1., 0., 1.]);
        let r = run(
            Op::SplitV { num_splits: 2 },
            vec![
                iota(vec![2, 3]),
                i32t(vec![2], vec![-1, 1]),
                i32t(vec![], vec![-1]),
            ],
            &[DType::F32, DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![0., 1., 3., 4.]);
        assert_eq!(f(&r[1]), vec![2., 5.]);
    }

    #[test]
    fn space_batch_roundtrip_and_ranges() {
        let t = iota(vec![1, 4, 4, 1]);
        let blk = i32t(vec![2], vec![2, 2]);
        let pads = i32t(vec![2, 2], vec![0, 0, 0, 0]);
        let s = run(
            Op::SpaceToBatchNd,
            vec![t.clone(), blk.clone(), pads.clone()],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(s[0].shape, vec![4, 2, 2, 1]);
        assert_eq!(f(&s[0])[..4], [0., 2., 8., 10.]);
        let b = run(
            Op::BatchToSpaceNd,
            vec![s[0].clone(), blk, pads],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(b[0], t);
        let r = run(
            Op::Range,
            vec![
                i32t(vec![], vec![5]),
                i32t(vec![], vec![0]),
                i32t(vec![], vec![-2]),
            ],
            &[DType::I32],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::I32(vec![5, 3, 1]));
        let r = run(
            Op::ReverseV2,
            vec![iota(vec![2, 2]), i32t(vec![1], vec![-1])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[0]), vec![1., 0., 3., 2.]);
    }

    #[test]
    fn quantized_pad_and_shape_ops() {
        let q = Some(Quantization::per_tensor(0.1, -5));
        let r = run_q(
            Op::Pad,
            vec![
                Tensor::new(vec![1], Data::I8(vec![7])),
                i32t(vec![1, 2], vec![1, 1]),
            ],
            &[(DType::I8, q.clone())],
            &[q],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::I8(vec![-5, 7, -5]));
        let r = run(
            Op::Fill,
            vec![
                i32t(vec![2], vec![2, 1]),
                Tensor::new(vec![], Data::I64(vec![3])),
            ],
            &[DType::I64],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::I64(vec![3, 3]));
        let r = run(
            Op::Shape {
                out_type: DType::I32,
            },
            vec![iota(vec![2, 5])],
            &[DType::I32],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::I32(vec![2, 5]));
        let r = run(
            Op::BroadcastTo,
            vec![iota(vec![2, 1]), i32t(vec![3], vec![2, 2, 3])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 2, 3]);
        assert_eq!(f(&r[0])[..6], [0., 0., 0., 1., 1., 1.]);
        assert!(run(
            Op::BroadcastTo,
            vec![iota(vec![2]), i32t(vec![1], vec![3])],
            &[DType::F32]
        )
        .is_err());
        let r = run(
            Op::BroadcastArgs,
            vec![i32t(vec![2], vec![2, 1]), i32t(vec![3], vec![4, 1, 3])],
            &[DType::I32],
        )
        .unwrap();
        assert_eq!(r[0].data, Data::I32(vec![4, 2, 3]));
        let r = run(
            Op::Unpack { axis: -1, num: 2 },
            vec![iota(vec![3, 2])],
            &[DType::F32, DType::F32],
        )
        .unwrap();
        assert_eq!(f(&r[1]), vec![1., 3., 5.]);
        let r = run(
            Op::Pack { axis: -1 },
            vec![iota(vec![2]), iota(vec![2])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 2]);
        assert_eq!(f(&r[0]), vec![0., 0., 1., 1.]);
        let r = run(
            Op::DepthToSpace { block_size: 2 },
            vec![iota(vec![1, 1, 1, 4])],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![1, 2, 2, 1]);
        let back = run(
            Op::SpaceToDepth { block_size: 2 },
            vec![r[0].clone()],
            &[DType::F32],
        )
        .unwrap();
        assert_eq!(f(&back[0]), vec![0., 1., 2., 3.]);
        let big = run(
            Op::Fill,
            vec![
                i32t(vec![2], vec![1 << 30, 1 << 30]),
                Tensor::f32(vec![], vec![0.]),
            ],
            &[DType::F32],
        );
        assert!(big.is_err());
    }
}
