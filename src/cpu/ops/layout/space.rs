//! DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND and SPACE_TO_BATCH_ND.

use super::*;
use crate::error::Result;
use crate::graph::Tensor;

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

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    use crate::graph::Data;
    use crate::graph::{DType, Op};

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
}
