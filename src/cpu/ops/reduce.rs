//! Reductions over axes, ARG_MAX/ARG_MIN and CUMSUM.

use super::elementwise::check_tensor;
use super::OpCtx;
use crate::error::Result;
use crate::graph::op::Reduce;
use crate::graph::quant::{quantize_multiplier, type_range, Multiplier};
use crate::graph::DType;
use crate::graph::{Data, Tensor};

/// The reduction plan: which input axes collapse and where each input element lands.
struct Plan {
    /// Input shape.
    shape: Vec<usize>,
    /// Per input axis, the stride into the output (0 for reduced axes).
    ostrides: Vec<usize>,
    /// Output shape.
    out_shape: Vec<usize>,
    /// Number of output elements.
    n_out: usize,
    /// Number of input elements folded into each output.
    count: usize,
}

impl Plan {
    /// Resolve (possibly negative, possibly repeated) axes against `shape`.
    fn new(ctx: &OpCtx, shape: &[usize], axes: &[i64], keep_dims: bool) -> Result<Plan> {
        let reduced = resolve_axes(shape.len(), axes)
            .ok_or_else(|| ctx.err(format!("axes {axes:?} out of range for {shape:?}")))?;
        Ok(Plan::from_mask(shape, &reduced, keep_dims))
    }

    /// The plan for a mask of reduced axes.
    fn from_mask(shape: &[usize], reduced: &[bool], keep_dims: bool) -> Plan {
        let rank = shape.len();
        let mut out_shape = Vec::with_capacity(rank);
        let mut count = 1usize;
        for (d, &r) in shape.iter().zip(reduced) {
            if r {
                count *= d;
                if keep_dims {
                    out_shape.push(1);
                }
            } else {
                out_shape.push(*d);
            }
        }
        let mut ostrides = vec![0usize; rank];
        let mut s = 1usize;
        for i in (0..rank).rev() {
            if !reduced[i] {
                ostrides[i] = s;
                s *= shape[i];
            }
        }
        Plan {
            shape: shape.to_vec(),
            ostrides,
            n_out: out_shape.iter().product(),
            out_shape,
            count,
        }
    }

    /// Fold every input element (row-major order) into its output slot.
    fn fold<T: Copy, A: Copy>(&self, x: &[T], init: A, f: impl Fn(A, T) -> A) -> Vec<A> {
        let mut out = vec![init; self.n_out];
        if x.is_empty() {
            return out;
        }
        let rank = self.shape.len();
        if rank == 0 {
            out[0] = f(out[0], x[0]);
            return out;
        }
        let inner = self.shape[rank - 1];
        let is = self.ostrides[rank - 1];
        let mut idx = vec![0usize; rank];
        let mut off = 0usize;
        for row in x.chunks_exact(inner) {
            for (k, &v) in row.iter().enumerate() {
                let o = off + k * is;
                out[o] = f(out[o], v);
            }
            let mut d = rank - 1;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                off += self.ostrides[d];
                if idx[d] < self.shape[d] {
                    break;
                }
                off -= self.ostrides[d] * self.shape[d];
                idx[d] = 0;
            }
        }
        out
    }
}

/// Which axes of a rank-`rank` tensor the (possibly negative, possibly repeated)
/// `axes` reduce; None when one is out of range. A scalar accepts axis 0 or -1.
fn resolve_axes(rank: usize, axes: &[i64]) -> Option<Vec<bool>> {
    let mut reduced = vec![false; rank];
    for &a in axes {
        if rank == 0 && (a == 0 || a == -1) {
            continue;
        }
        let r = if a < 0 { a + rank as i64 } else { a };
        if r < 0 || r >= rank as i64 {
            return None;
        }
        reduced[r as usize] = true;
    }
    Some(reduced)
}

macro_rules! minmax {
    ($plan:expr, $v:expr, $kind:expr, $lo:expr, $hi:expr) => {
        match $kind {
            Reduce::Max => $plan.fold($v, $lo, |a, b| if b > a { b } else { a }),
            _ => $plan.fold($v, $hi, |a, b| if b < a { b } else { a }),
        }
    };
}

/// Kernel of reduce.
pub fn reduce(ctx: &mut OpCtx, kind: Reduce, keep_dims: bool) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    check_tensor(ctx, x, 0)?;
    let axes = ctx.ints(1)?;
    let plan = Plan::new(ctx, &x.shape, &axes, keep_dims)?;
    ctx.check_size(&plan.out_shape, x.dtype())?;
    let count = plan.count;
    use Reduce::*;
    let data = match (&x.data, kind) {
        (Data::F32(v), Sum) => Data::F32(plan.fold(v, 0.0f32, |a, b| a + b)),
        (Data::F32(v), Mean) => {
            let s = plan.fold(v, 0.0f32, |a, b| a + b);
            Data::F32(if count == 0 {
                s
            } else {
                s.into_iter().map(|a| a / count as f32).collect()
            })
        }
        (Data::F32(v), Prod) => Data::F32(plan.fold(v, 1.0f32, |a, b| a * b)),
        (Data::F32(v), Max | Min) => {
            Data::F32(minmax!(plan, v, kind, f32::NEG_INFINITY, f32::INFINITY))
        }
        (Data::I32(v), Sum) => Data::I32(plan.fold(v, 0i32, |a, b| a.wrapping_add(b))),
        (Data::I32(v), Prod) => Data::I32(plan.fold(v, 1i32, |a, b| a.wrapping_mul(b))),
        (Data::I32(v), Mean) => {
            let s = plan.fold(v, 0i64, |a, b| a + b as i64);
            Data::I32(
                s.into_iter()
                    .map(|a| (a / count.max(1) as i64) as i32)
                    .collect(),
            )
        }
        (Data::I32(v), Max | Min) => Data::I32(minmax!(plan, v, kind, i32::MIN, i32::MAX)),
        (Data::I64(v), Sum) => Data::I64(plan.fold(v, 0i64, |a, b| a.wrapping_add(b))),
        (Data::I64(v), Prod) => Data::I64(plan.fold(v, 1i64, |a, b| a.wrapping_mul(b))),
        (Data::I64(v), Mean) => {
            let s = plan.fold(v, 0i64, |a, b| a.wrapping_add(b));
            Data::I64(s.into_iter().map(|a| a / count.max(1) as i64).collect())
        }
        (Data::I64(v), Max | Min) => Data::I64(minmax!(plan, v, kind, i64::MIN, i64::MAX)),
        (Data::I8(v), Max | Min) => Data::I8(minmax!(plan, v, kind, i8::MIN, i8::MAX)),
        (Data::U8(v), Max | Min) => Data::U8(minmax!(plan, v, kind, u8::MIN, u8::MAX)),
        (Data::I16(v), Max | Min) => Data::I16(minmax!(plan, v, kind, i16::MIN, i16::MAX)),
        (Data::I8(v), Mean | Sum) => {
            let sums = plan.fold(v, 0i32, |a, b| a.wrapping_add(b as i32));
            let q = quant_mean_or_sum(ctx, &sums, count, kind == Sum, DType::I8)?;
            Data::I8(q.into_iter().map(|q| q as i8).collect())
        }
        (Data::U8(v), Mean | Sum) => {
            let sums = plan.fold(v, 0i32, |a, b| a.wrapping_add(b as i32));
            let q = quant_mean_or_sum(ctx, &sums, count, kind == Sum, DType::U8)?;
            Data::U8(q.into_iter().map(|q| q as u8).collect())
        }
        (Data::I16(v), Mean | Sum) => {
            let sums = plan.fold(v, 0i32, |a, b| a.wrapping_add(b as i32));
            let q = quant_mean_or_sum(ctx, &sums, count, kind == Sum, DType::I16)?;
            Data::I16(q.into_iter().map(|q| q as i16).collect())
        }
        (Data::Bool(v), Any) => Data::Bool(plan.fold(v, false, |a, b| a || b)),
        (Data::Bool(v), All) => Data::Bool(plan.fold(v, true, |a, b| a && b)),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(plan.out_shape, data)])
}

/// Requantize integer sums (LiteRT `QuantizedMeanOrSum`).
fn quant_mean_or_sum(
    ctx: &OpCtx,
    sums: &[i32],
    count: usize,
    compute_sum: bool,
    dtype: DType,
) -> Result<Vec<i32>> {
    let (si, zi) = ctx.in_qparams(0)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let (lo, hi) = type_range(dtype);
    if count == 0 {
        return Ok(vec![0; sums.len()]);
    }
    let mut m = quantize_multiplier(si as f64 / so as f64);
    if !compute_sum {
        let n = count as u64;
        let mut shift = 63 - n.leading_zeros() as i32;
        shift = shift.min(32).min(31 + m.shift);
        let shift = shift.max(0);
        let mant = ((m.mantissa as i64) << shift) / count as i64;
        m = Multiplier {
            mantissa: mant as i32,
            shift: m.shift - shift,
        };
    }
    let offset = (zi as i64).saturating_mul(count as i64);
    Ok(sums
        .iter()
        .map(|&s| {
            let shifted = (s as i64 - offset) as i32;
            m.apply(shifted).saturating_add(zo).clamp(lo, hi)
        })
        .collect())
}

/// The single axis value of input 1.
fn axis_input(ctx: &OpCtx, rank: usize) -> Result<usize> {
    let a = ctx.ints(1)?;
    match a.as_slice() {
        [a] => ctx.axis(*a, rank),
        _ => Err(ctx.err("axis input must hold exactly one value")),
    }
}

/// Index of the extreme value along the middle axis (first one on ties).
fn arg_extreme<T: Copy + PartialOrd>(
    x: &[T],
    outer: usize,
    axis: usize,
    inner: usize,
    is_max: bool,
) -> Vec<i64> {
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        let base = o * axis * inner;
        for i in 0..inner {
            let mut best = x[base + i];
            let mut bi = 0usize;
            for k in 1..axis {
                let v = x[base + k * inner + i];
                let better = if is_max { v > best } else { v < best };
                if better {
                    best = v;
                    bi = k;
                }
            }
            out.push(bi as i64);
        }
    }
    out
}

/// Kernel of arg_min_max.
pub fn arg_min_max(ctx: &mut OpCtx, is_max: bool, output_type: DType) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    check_tensor(ctx, x, 0)?;
    let rank = x.shape.len();
    let axis = axis_input(ctx, rank)?;
    let outer: usize = x.shape[..axis].iter().product();
    let n = x.shape[axis];
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut out_shape = x.shape.clone();
    out_shape.remove(axis);
    let out_type = ctx.out_dtype(0).unwrap_or(output_type);
    ctx.check_size(&out_shape, out_type)?;
    if n == 0 && outer * inner > 0 {
        return Err(ctx.err("ARG_MIN/ARG_MAX over an empty axis"));
    }
    let idx = match &x.data {
        Data::F32(v) => arg_extreme(v, outer, n, inner, is_max),
        Data::I8(v) => arg_extreme(v, outer, n, inner, is_max),
        Data::U8(v) => arg_extreme(v, outer, n, inner, is_max),
        Data::I16(v) => arg_extreme(v, outer, n, inner, is_max),
        Data::I32(v) => arg_extreme(v, outer, n, inner, is_max),
        Data::I64(v) => arg_extreme(v, outer, n, inner, is_max),
        Data::Bool(v) => arg_extreme(v, outer, n, inner, is_max),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    let data = match out_type {
        DType::I64 => Data::I64(idx),
        DType::I32 => Data::I32(idx.into_iter().map(|i| i as i32).collect()),
        other => return Err(ctx.err(format!("unsupported output type {other}"))),
    };
    Ok(vec![Tensor::new(out_shape, data)])
}

/// Running sums along the middle axis.
fn cumsum_impl<T: Copy + Default>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    exclusive: bool,
    reverse: bool,
    add: impl Fn(T, T) -> T,
) -> Vec<T> {
    let mut out = vec![T::default(); x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let mut acc = T::default();
            for k in 0..n {
                let kk = if reverse { n - 1 - k } else { k };
                let off = o * n * inner + kk * inner + i;
                if exclusive {
                    out[off] = acc;
                    acc = add(acc, x[off]);
                } else {
                    acc = add(acc, x[off]);
                    out[off] = acc;
                }
            }
        }
    }
    out
}

/// Kernel of cumsum.
pub fn cumsum(ctx: &mut OpCtx, exclusive: bool, reverse: bool) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    check_tensor(ctx, x, 0)?;
    let axis = axis_input(ctx, x.shape.len())?;
    let outer: usize = x.shape[..axis].iter().product();
    let n = x.shape[axis];
    let inner: usize = x.shape[axis + 1..].iter().product();
    let (e, r) = (exclusive, reverse);
    let data = match &x.data {
        Data::F32(v) => Data::F32(cumsum_impl(v, outer, n, inner, e, r, |a, b| a + b)),
        Data::I32(v) => Data::I32(cumsum_impl(v, outer, n, inner, e, r, i32::wrapping_add)),
        Data::I64(v) => Data::I64(cumsum_impl(v, outer, n, inner, e, r, i64::wrapping_add)),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(x.shape.clone(), data)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Graph, Node, Op, Quantization, Subgraph, TensorInfo};
    use std::sync::Arc;

    /// Run MEAN over `axes` of an int8 tensor through the reference kernels.
    fn mean_int8(
        shape: Vec<usize>,
        x: Vec<i8>,
        axes: &[i32],
        qin: (f32, i64),
        qout: (f32, i64),
        out_shape: Vec<usize>,
    ) -> Vec<i8> {
        let mut xin = TensorInfo::new("x", DType::I8, shape.clone());
        xin.quantization = Some(Quantization::per_tensor(qin.0, qin.1));
        let mut ax = TensorInfo::new("axes", DType::I32, vec![axes.len()]);
        let bytes: Vec<u8> = axes.iter().flat_map(|v| v.to_le_bytes()).collect();
        ax.data = Some(Arc::from(bytes));
        let mut y = TensorInfo::new("y", DType::I8, out_shape);
        y.quantization = Some(Quantization::per_tensor(qout.0, qout.1));
        let graph = Graph {
            subgraphs: vec![Subgraph {
                name: "main".into(),
                tensors: vec![xin, ax, y],
                nodes: vec![Node {
                    op: Op::Reduce {
                        kind: Reduce::Mean,
                        keep_dims: false,
                    },
                    inputs: vec![Some(0), Some(1)],
                    outputs: vec![2],
                }],
                inputs: vec![0],
                outputs: vec![2],
            }],
            version: 3,
            ..Default::default()
        };
        let out = crate::cpu::Reference
            .run_single(graph.main(), vec![Tensor::new(shape, Data::I8(x))])
            .unwrap();
        match &out[0].data {
            Data::I8(v) => v.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn int8_mean_requantizes_within_one_step() {
        let shape = vec![2, 3, 5];
        let x: Vec<i8> = (0..30).map(|i| ((i * 37) % 256 - 128) as i8).collect();
        let (si, zi) = (0.05f32, -3i64);
        let (so, zo) = (0.02f32, 5i64);
        let got = mean_int8(shape, x.clone(), &[-1, 0], (si, zi), (so, zo), vec![3]);
        for (j, &g) in got.iter().enumerate() {
            let mut sum = 0.0f64;
            for i in 0..2 {
                for k in 0..5 {
                    sum += (x[i * 15 + j * 5 + k] as f64 - zi as f64) * si as f64;
                }
            }
            let want = ((sum / 10.0) / so as f64).round() + zo as f64;
            let want = want.clamp(-128.0, 127.0);
            assert!((g as f64 - want).abs() <= 1.0, "{got:?} vs {want} at {j}");
        }
    }

    fn plan(shape: &[usize], reduced: &[usize], keep: bool) -> Plan {
        let axes: Vec<i64> = reduced.iter().map(|&a| a as i64).collect();
        Plan::from_mask(shape, &resolve_axes(shape.len(), &axes).unwrap(), keep)
    }

    #[test]
    fn negative_and_duplicate_axes() {
        assert_eq!(
            resolve_axes(3, &[-1, 2, 0, -3]),
            Some(vec![true, false, true])
        );
        assert_eq!(resolve_axes(3, &[3]), None);
        assert_eq!(resolve_axes(3, &[-4]), None);
        assert_eq!(resolve_axes(0, &[0]), Some(vec![]));
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let p = Plan::from_mask(&[2, 3, 4], &resolve_axes(3, &[-1, -1, 0]).unwrap(), true);
        assert_eq!(p.out_shape, vec![1, 3, 1]);
        assert_eq!(p.count, 8);
        let m: Vec<f32> = p
            .fold(&x, 0.0f32, |a, b| a + b)
            .into_iter()
            .map(|s| s / p.count as f32)
            .collect();
        assert_eq!(m, vec![7.5, 11.5, 15.5]);
    }

    #[test]
    fn reduce_several_axes() {
        let x: Vec<i32> = (0..24).collect();
        let p = plan(&[2, 3, 4], &[0, 2], false);
        assert_eq!(p.out_shape, vec![3]);
        assert_eq!(p.count, 8);
        // Row j sums x[i*12 + j*4 + k].
        assert_eq!(p.fold(&x, 0, |a, b| a + b), vec![60, 92, 124]);
        let p = plan(&[2, 3, 4], &[1], true);
        assert_eq!(p.out_shape, vec![2, 1, 4]);
        assert_eq!(
            p.fold(&x, 0, |a, b| a + b),
            vec![12, 15, 18, 21, 48, 51, 54, 57]
        );
        let p = plan(&[2, 3, 4], &[0, 1, 2], false);
        assert_eq!(p.fold(&x, 0, |a, b| a + b), vec![276]);
        let p = plan(&[2, 3, 4], &[], false);
        assert_eq!(p.fold(&x, 0, |a, b| a + b), x);
    }

    #[test]
    fn argmax_first_on_ties() {
        let x = [1.0f32, 3.0, 3.0, 0.0];
        assert_eq!(arg_extreme(&x, 1, 4, 1, true), vec![1]);
        assert_eq!(arg_extreme(&x, 1, 4, 1, false), vec![3]);
        assert_eq!(arg_extreme(&x, 2, 2, 1, true), vec![1, 0]);
        assert_eq!(arg_extreme(&x, 1, 2, 2, true), vec![1, 0]);
    }

    #[test]
    fn cumsum_modes() {
        let x = [1, 2, 3, 4];
        let add = |a: i32, b: i32| a + b;
        assert_eq!(
            cumsum_impl(&x, 1, 4, 1, false, false, add),
            vec![1, 3, 6, 10]
        );
        assert_eq!(cumsum_impl(&x, 1, 4, 1, true, false, add), vec![0, 1, 3, 6]);
        assert_eq!(
            cumsum_impl(&x, 1, 4, 1, false, true, add),
            vec![10, 9, 7, 4]
        );
        assert_eq!(cumsum_impl(&x, 1, 4, 1, true, true, add), vec![9, 7, 4, 0]);
        assert_eq!(
            cumsum_impl(&x, 1, 2, 2, false, false, add),
            vec![1, 2, 4, 6]
        );
    }
}
