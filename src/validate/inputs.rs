//! Seeded random inputs in each input's natural range.

use crate::error::Result;
use crate::graph::rng::SeededRng;
use crate::graph::{DType, Subgraph};
use crate::graph::{Data, Tensor};
use half::f16;

/// `count` sets of inputs for the main subgraph `sg`: floats uniform in [-1, 1],
/// int8/uint8/int16 over their whole range, int32/int64 in [0, 8) (they are
/// usually indices or sizes), bools at random.
pub fn random_inputs(sg: &Subgraph, count: usize, seed: u64) -> Result<Vec<Vec<Tensor>>> {
    let mut rng = SeededRng::new(seed);
    (0..count)
        .map(|_| {
            sg.inputs
                .iter()
                .map(|&t| {
                    let info = &sg.tensors[t];
                    let n: usize = info.shape.iter().product();
                    let mut u = || rng.unit();
                    let data = match info.dtype {
                        DType::F32 => Data::F32((0..n).map(|_| (u() * 2.0 - 1.0) as f32).collect()),
                        DType::F16 => {
                            Data::F16((0..n).map(|_| f16::from_f64(u() * 2.0 - 1.0)).collect())
                        }
                        DType::I8 => {
                            Data::I8((0..n).map(|_| (u() * 256.0 - 128.0) as i8).collect())
                        }
                        DType::U8 => Data::U8((0..n).map(|_| (u() * 256.0) as u8).collect()),
                        DType::I16 => {
                            Data::I16((0..n).map(|_| (u() * 65536.0 - 32768.0) as i16).collect())
                        }
                        DType::I32 => Data::I32((0..n).map(|_| (u() * 8.0) as i32).collect()),
                        DType::I64 => Data::I64((0..n).map(|_| (u() * 8.0) as i64).collect()),
                        DType::Bool => Data::Bool((0..n).map(|_| u() < 0.5).collect()),
                        other => Tensor::zeros(other, info.shape.clone())?.data,
                    };
                    Ok(Tensor::new(info.shape.clone(), data))
                })
                .collect()
        })
        .collect()
}
