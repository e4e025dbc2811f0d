//! SLICE, STRIDED_SLICE, TRANSPOSE, TILE and REVERSE_V2.

use super::*;
use crate::error::Result;
use crate::graph::op::StridedSlice;
use crate::graph::shape::strided_slice_axes;
use crate::graph::Tensor;

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

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::graph::op::StridedSlice;
    use crate::graph::Tensor;
    use crate::graph::{DType, Op};

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
}
