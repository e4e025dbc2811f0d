//! QUANTIZE, DEQUANTIZE and DENSIFY.

use super::OpCtx;
use crate::error::Result;
use crate::graph::quant::{quantize_multiplier, type_range};
use crate::graph::{DType, DimensionMetadata, Quantization};
use crate::graph::{Data, Tensor};
use half::f16;

/// Channel index of flat element `i` for per-channel parameters along `axis`.
struct Channels {
    inner: usize,
    count: usize,
}

impl Channels {
    fn new(shape: &[usize], q: &Quantization) -> Channels {
        if !q.is_per_channel() || q.axis >= shape.len() {
            return Channels { inner: 1, count: 1 };
        }
        Channels {
            inner: shape[q.axis + 1..].iter().product::<usize>().max(1),
            count: shape[q.axis].max(1),
        }
    }

    fn of(&self, i: usize) -> usize {
        if self.count == 1 {
            0
        } else {
            (i / self.inner) % self.count
        }
    }
}

fn store_ints(dtype: DType, v: Vec<i32>) -> Option<Data> {
    Some(match dtype {
        DType::I8 => Data::I8(v.into_iter().map(|x| x as i8).collect()),
        DType::U8 => Data::U8(v.into_iter().map(|x| x as u8).collect()),
        DType::I16 => Data::I16(v.into_iter().map(|x| x as i16).collect()),
        DType::I32 => Data::I32(v),
        _ => return None,
    })
}

/// QUANTIZE: float to integer (`round(x / scale) + zero_point`, clamped), or
/// integer to integer requantization with a fixed-point multiplier.
pub fn quantize(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    let out_dtype = ctx.out_dtype(0)?;
    let oq = ctx
        .out_quant(0)
        .ok_or_else(|| ctx.err("output has no quantization parameters"))?;
    let (qmin, qmax) = type_range(out_dtype);
    let values: Vec<i32> = match &x.data {
        Data::F32(_) | Data::F16(_) => {
            let f = x.data.to_f64();
            let ch = Channels::new(&x.shape, oq);
            f.iter()
                .enumerate()
                .map(|(i, &v)| {
                    let c = ch.of(i);
                    let q = ((v as f32) / oq.scale_at(c)).round() as i64 + oq.zero_point_at(c);
                    q.clamp(qmin as i64, qmax as i64) as i32
                })
                .collect()
        }
        Data::I8(_) | Data::U8(_) | Data::I16(_) => {
            let (in_scale, in_zp) = ctx.in_qparams(0)?;
            let (out_scale, out_zp) = (oq.scale_at(0), oq.zero_point_at(0) as i32);
            let m = quantize_multiplier(in_scale as f64 / out_scale as f64);
            x.data
                .to_i64()
                .into_iter()
                .map(|v| (m.apply(v as i32 - in_zp) + out_zp).clamp(qmin, qmax))
                .collect()
        }
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    let data = store_ints(out_dtype, values)
        .ok_or_else(|| ctx.err(format!("cannot quantize to {out_dtype}")))?;
    Ok(vec![Tensor::new(x.shape.clone(), data)])
}

/// DEQUANTIZE: integer to float with per-tensor or per-channel parameters, or
/// float16 to float32.
pub fn dequantize(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let x = match ctx.opt_input(0) {
        Some(t) => t.clone(),
        None => return Err(ctx.err("missing input 0")),
    };
    let out: Vec<f32> = match &x.data {
        Data::F16(v) => v.iter().map(|h| h.to_f32()).collect(),
        Data::F32(v) => v.clone(),
        Data::I8(_) | Data::U8(_) | Data::I16(_) | Data::I32(_) => {
            let q = ctx
                .in_quant(0)
                .ok_or_else(|| ctx.err("input has no quantization parameters"))?;
            let ints = x.data.to_i64();
            if q.is_per_channel() {
                let ch = Channels::new(&x.shape, q);
                ints.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let c = ch.of(i);
                        (v - q.zero_point_at(c)) as f32 * q.scale_at(c)
                    })
                    .collect()
            } else {
                let scale = q.scale_at(0) as f64;
                let zp = q.zero_point_at(0);
                ints.iter()
                    .map(|&v| (scale * (v - zp) as f64) as f32)
                    .collect()
            }
        }
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    let out = match ctx.out_dtype(0)? {
        DType::F16 => Data::F16(out.into_iter().map(f16::from_f32).collect()),
        _ => Data::F32(out),
    };
    Ok(vec![Tensor::new(x.shape, out)])
}

/// DENSIFY: expand a sparse constant (TACO format) to a dense tensor. The result
/// is computed once per node and cached.
pub fn densify(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let info = ctx
        .input_infos
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| ctx.err("missing input 0"))?;
    let dense: &Tensor = ctx.cached(|| {
        let sparsity = info
            .sparsity
            .as_ref()
            .ok_or_else(|| ctx.err("input is not a sparse constant"))?;
        let bytes = info
            .data
            .as_ref()
            .ok_or_else(|| ctx.err("sparse input has no data"))?;
        let values = Data::from_bytes(info.dtype, bytes)?;
        let shape = info.shape.clone();
        let n = ctx.check_size(&shape, info.dtype)?;
        let order = densify_order(&shape, sparsity, values.len())
            .map_err(|e| ctx.err(format!("sparse tensor {}: {e}", info.name)))?;
        let mut dense_index = vec![usize::MAX; n];
        for (value, &pos) in order.iter().enumerate() {
            dense_index[pos] = value;
        }
        let zero_value = values.len();
        let extended = append_zero(&values);
        let data =
            extended.gather(
                dense_index
                    .iter()
                    .map(move |&v| if v == usize::MAX { zero_value } else { v }),
            );
        Ok(Tensor::new(shape, data))
    })?;
    Ok(vec![dense.clone()])
}

fn append_zero(d: &Data) -> Data {
    let mut d = d.clone();
    match &mut d {
        Data::F32(v) => v.push(0.0),
        Data::F16(v) => v.push(f16::ZERO),
        Data::I8(v) => v.push(0),
        Data::U8(v) => v.push(0),
        Data::I16(v) => v.push(0),
        Data::I32(v) => v.push(0),
        Data::U32(v) => v.push(0),
        Data::I64(v) => v.push(0),
        Data::Bool(v) => v.push(false),
        Data::C64(v) => v.extend([0.0, 0.0]),
    }
    d
}

/// Sparsity metadata that does not describe the tensor it is attached to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SparsityError {
    /// The traversal order's length does not fit the rank and the block map.
    #[error("traversal order of {levels} for rank {rank} with {block_dims} block dims")]
    Levels {
        /// Storage levels in the traversal order.
        levels: usize,
        /// The dense tensor's rank.
        rank: usize,
        /// Entries of the block map.
        block_dims: usize,
    },
    /// The traversal order is not a permutation of the levels.
    #[error("bad traversal order {0:?}")]
    TraversalOrder(Vec<usize>),
    /// The block map names a dimension outside the rank.
    #[error("bad block map {0:?}")]
    BlockMap(Vec<usize>),
    /// A block dimension is stored sparsely.
    #[error("sparse block dimension")]
    SparseBlock,
    /// A segment or index position points past its array.
    #[error("{0} position out of range")]
    Position(&'static str),
    /// Segments decrease.
    #[error("decreasing segments")]
    DecreasingSegments,
    /// A coordinate falls outside its dimension.
    #[error("coordinate {coordinate} out of range in dim {dim}")]
    Coordinate {
        /// The coordinate.
        coordinate: usize,
        /// The dimension.
        dim: usize,
    },
    /// The metadata enumerates a different number of entries than are stored.
    #[error("{entries} entries for {stored} stored values")]
    Count {
        /// Entries the metadata enumerates (at least).
        entries: usize,
        /// Values stored.
        stored: usize,
    },
}

/// For each stored value, in storage order, its flat position in the dense tensor.
fn densify_order(
    shape: &[usize],
    sp: &crate::graph::Sparsity,
    num_values: usize,
) -> std::result::Result<Vec<usize>, SparsityError> {
    let rank = shape.len();
    let levels = sp.traversal_order.len();
    if levels < rank || sp.block_map.len() != levels - rank {
        return Err(SparsityError::Levels {
            levels,
            rank,
            block_dims: sp.block_map.len(),
        });
    }
    let mut seen = vec![false; levels];
    for &d in &sp.traversal_order {
        if d >= levels || std::mem::replace(&mut seen[d], true) {
            return Err(SparsityError::TraversalOrder(sp.traversal_order.clone()));
        }
    }
    if sp.block_map.iter().any(|&d| d >= rank) {
        return Err(SparsityError::BlockMap(sp.block_map.clone()));
    }
    // Size of each block dimension (block dims are stored densely).
    let mut block_size = vec![1usize; levels - rank];
    for (level, &d) in sp.traversal_order.iter().enumerate() {
        if d >= rank {
            match &sp.dim_metadata[level] {
                DimensionMetadata::Dense(s) => block_size[d - rank] = *s,
                DimensionMetadata::Sparse { .. } => {
                    return Err(SparsityError::SparseBlock);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(num_values);
    let mut coords = vec![0usize; levels];
    let strides: Vec<usize> = (0..rank).map(|d| shape[d + 1..].iter().product()).collect();
    let child_range =
        |level: usize, parent: usize| -> std::result::Result<(usize, usize), SparsityError> {
            match &sp.dim_metadata[level] {
                DimensionMetadata::Dense(s) => Ok((parent * s, parent * s + s)),
                DimensionMetadata::Sparse { segments, .. } => {
                    let a = *segments
                        .get(parent)
                        .ok_or(SparsityError::Position("segment index"))?
                        as usize;
                    let b = *segments
                        .get(parent + 1)
                        .ok_or(SparsityError::Position("segment index"))?
                        as usize;
                    if a > b {
                        return Err(SparsityError::DecreasingSegments);
                    }
                    Ok((a, b))
                }
            }
        };
    // Iterative depth-first walk over the storage levels.
    let mut ranges: Vec<(usize, usize)> = vec![(0, 0); levels];
    ranges[0] = child_range(0, 0)?;
    let mut level = 0usize;
    let mut pos = vec![0usize; levels];
    pos[0] = ranges[0].0;
    loop {
        if pos[level] >= ranges[level].1 {
            if level == 0 {
                break;
            }
            level -= 1;
            pos[level] += 1;
            continue;
        }
        let p = pos[level];
        coords[level] = match &sp.dim_metadata[level] {
            DimensionMetadata::Dense(s) => p % s.max(&1),
            DimensionMetadata::Sparse { indices, .. } => {
                *indices.get(p).ok_or(SparsityError::Position("index"))? as usize
            }
        };
        if level + 1 == levels {
            let mut orig = vec![0usize; rank];
            for (l, &d) in sp.traversal_order.iter().enumerate() {
                if d < rank {
                    orig[d] = coords[l];
                }
            }
            for (l, &d) in sp.traversal_order.iter().enumerate() {
                if d >= rank {
                    let b = d - rank;
                    let od = sp.block_map[b];
                    orig[od] = orig[od] * block_size[b] + coords[l];
                }
            }
            let mut flat = 0usize;
            for d in 0..rank {
                if orig[d] >= shape[d] {
                    return Err(SparsityError::Coordinate {
                        coordinate: orig[d],
                        dim: d,
                    });
                }
                flat += orig[d] * strides[d];
            }
            if out.len() >= num_values {
                return Err(SparsityError::Count {
                    entries: out.len() + 1,
                    stored: num_values,
                });
            }
            out.push(flat);
            pos[level] += 1;
        } else {
            level += 1;
            ranges[level] = child_range(level, p)?;
            pos[level] = ranges[level].0;
        }
    }
    if out.len() != num_values {
        return Err(SparsityError::Count {
            entries: out.len(),
            stored: num_values,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Sparsity;

    #[test]
    fn csr_matrix() {
        let sp = Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            dim_metadata: vec![
                DimensionMetadata::Dense(3),
                DimensionMetadata::Sparse {
                    segments: vec![0, 2, 2, 3],
                    indices: vec![0, 3, 1],
                },
            ],
        };
        assert_eq!(densify_order(&[3, 4], &sp, 3).unwrap(), vec![0, 3, 9]);
    }

    #[test]
    fn block_sparse() {
        // 4x4 with 2x2 blocks; only blocks (0,1) and (1,0) stored.
        let sp = Sparsity {
            traversal_order: vec![0, 1, 2, 3],
            block_map: vec![0, 1],
            dim_metadata: vec![
                DimensionMetadata::Dense(2),
                DimensionMetadata::Sparse {
                    segments: vec![0, 1, 2],
                    indices: vec![1, 0],
                },
                DimensionMetadata::Dense(2),
                DimensionMetadata::Dense(2),
            ],
        };
        let order = densify_order(&[4, 4], &sp, 8).unwrap();
        assert_eq!(order, vec![2, 3, 6, 7, 8, 9, 12, 13]);
    }

    #[test]
    fn hostile_segments_are_errors() {
        let sp = Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            dim_metadata: vec![
                DimensionMetadata::Dense(2),
                DimensionMetadata::Sparse {
                    segments: vec![0, 5],
                    indices: vec![0],
                },
            ],
        };
        assert!(densify_order(&[2, 2], &sp, 1).is_err());
    }
}
