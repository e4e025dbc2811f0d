//! RESHAPE, SQUEEZE and EXPAND_DIMS.

use super::*;
use crate::error::Result;
use crate::graph::Tensor;

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

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    use crate::graph::{DType, Op};

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
}
