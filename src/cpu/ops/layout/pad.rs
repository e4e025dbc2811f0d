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
    if let Some(data) = pad_runs(&t.data, &value, &t.shape, &pads, &shape) {
        return Ok(vec![Tensor::new(shape, data)]);
    }
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

/// Constant padding by runs: the output starts as the pad value and each run of the
/// input that stays contiguous in the output (the dimensions after the last padded
/// one) is copied in one piece. None for complex data or a missing pad value.
fn pad_runs(
    data: &Data,
    value: &Data,
    in_shape: &[usize],
    pads: &[(i64, i64)],
    out_shape: &[usize],
) -> Option<Data> {
    Some(match (data, value) {
        (Data::F32(v), Data::F32(f)) => {
            Data::F32(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::F16(v), Data::F16(f)) => {
            Data::F16(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::I8(v), Data::I8(f)) => {
            Data::I8(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::U8(v), Data::U8(f)) => {
            Data::U8(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::I16(v), Data::I16(f)) => {
            Data::I16(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::I32(v), Data::I32(f)) => {
            Data::I32(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::U32(v), Data::U32(f)) => {
            Data::U32(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::I64(v), Data::I64(f)) => {
            Data::I64(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        (Data::Bool(v), Data::Bool(f)) => {
            Data::Bool(copy_runs(v, *f.first()?, in_shape, pads, out_shape))
        }
        _ => return None,
    })
}

fn copy_runs<T: Copy>(
    src: &[T],
    fill: T,
    in_shape: &[usize],
    pads: &[(i64, i64)],
    out_shape: &[usize],
) -> Vec<T> {
    let total: usize = out_shape.iter().product();
    let mut out = vec![fill; total];
    if src.is_empty() || total == 0 || in_shape.is_empty() || pads.len() != in_shape.len() {
        return if in_shape.is_empty() {
            src.to_vec()
        } else {
            out
        };
    }
    // Dimensions from `j` on are copied as one run per index of the dimensions
    // before `j`: `j` is the last padded dimension (0 when none is padded).
    let j = pads
        .iter()
        .rposition(|&(b, a)| b != 0 || a != 0)
        .unwrap_or(0);
    let run: usize = in_shape[j..].iter().product();
    let out_st = strides_of(out_shape);
    let lead = pads[j].0 as usize * out_st[j];
    let mut runs = src.chunks_exact(run);
    for_each_index(&in_shape[..j], |i| {
        let o = lead
            + i.iter()
                .zip(pads)
                .zip(&out_st)
                .map(|((&x, &(b, _)), &st)| (x + b as usize) * st)
                .sum::<usize>();
        if let Some(r) = runs.next() {
            out[o..o + run].copy_from_slice(r);
        }
    });
    out
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
    fn constant_pad_runs_match_element_indexing() {
        let shape = [2usize, 3, 4, 5];
        for pads in [
            [0, 1, 1, 0, 2, 1, 0, 0],
            [0, 0, 1, 1, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 2, 3],
            [1, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0],
        ] {
            let r = run(
                Op::Pad,
                vec![iota(shape.to_vec()), i32t(vec![4, 2], pads.to_vec())],
                &[DType::F32],
            )
            .unwrap();
            let p = |d: usize| (pads[2 * d] as usize, pads[2 * d + 1] as usize);
            let out: Vec<usize> = (0..4).map(|d| shape[d] + p(d).0 + p(d).1).collect();
            assert_eq!(r[0].shape, out);
            let mut want = Vec::new();
            for a in 0..out[0] {
                for b in 0..out[1] {
                    for c in 0..out[2] {
                        for e in 0..out[3] {
                            let i = [a, b, c, e];
                            let inside = (0..4).all(|d| i[d] >= p(d).0 && i[d] - p(d).0 < shape[d]);
                            want.push(if inside {
                                let x: Vec<usize> = (0..4).map(|d| i[d] - p(d).0).collect();
                                (((x[0] * 3 + x[1]) * 4 + x[2]) * 5 + x[3]) as f32
                            } else {
                                0.0
                            });
                        }
                    }
                }
            }
            assert_eq!(f(&r[0]), want, "paddings {pads:?}");
        }
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
