//! PAD, PADV2 and MIRROR_PAD.

use super::*;
use crate::error::Result;
use crate::graph::Tensor;

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

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    use crate::graph::{DType, Op, Quantization};
    use crate::graph::{Data, Tensor};

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
