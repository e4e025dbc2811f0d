//! CAST with C++ `static_cast` semantics.

use super::*;
use crate::error::Result;
use crate::graph::DType;
use crate::graph::{Data, Tensor};
use half::f16;

/// Convert data to `to`, with C++ static_cast semantics (floats truncate toward zero).
pub(super) fn cast_data(d: &Data, to: DType) -> Option<Data> {
    macro_rules! from_f64 {
        ($it:expr) => {{
            let it = $it;
            match to {
                DType::F32 => Data::F32(it.map(|x: f64| x as f32).collect()),
                DType::F16 => Data::F16(it.map(f16::from_f64).collect()),
                DType::I8 => Data::I8(it.map(|x| x as i64 as i8).collect()),
                DType::U8 => Data::U8(it.map(|x| x as i64 as u8).collect()),
                DType::I16 => Data::I16(it.map(|x| x as i64 as i16).collect()),
                DType::I32 => Data::I32(it.map(|x| x as i64 as i32).collect()),
                DType::U32 => Data::U32(it.map(|x| x as i64 as u32).collect()),
                DType::I64 => Data::I64(it.map(|x| x as i64).collect()),
                DType::Bool => Data::Bool(it.map(|x| x != 0.0).collect()),
                DType::Complex64 => Data::C64(it.flat_map(|x| [x as f32, 0.0]).collect()),
                _ => return None,
            }
        }};
    }
    macro_rules! from_i64 {
        ($it:expr) => {{
            let it = $it;
            match to {
                DType::F32 => Data::F32(it.map(|x: i64| x as f32).collect()),
                DType::F16 => Data::F16(it.map(|x| f16::from_f32(x as f32)).collect()),
                DType::I8 => Data::I8(it.map(|x| x as i8).collect()),
                DType::U8 => Data::U8(it.map(|x| x as u8).collect()),
                DType::I16 => Data::I16(it.map(|x| x as i16).collect()),
                DType::I32 => Data::I32(it.map(|x| x as i32).collect()),
                DType::U32 => Data::U32(it.map(|x| x as u32).collect()),
                DType::I64 => Data::I64(it.collect()),
                DType::Bool => Data::Bool(it.map(|x| x != 0).collect()),
                DType::Complex64 => Data::C64(it.flat_map(|x| [x as f32, 0.0]).collect()),
                _ => return None,
            }
        }};
    }
    Some(match d {
        Data::F32(v) => {
            if to == DType::F32 {
                Data::F32(v.clone())
            } else {
                from_f64!(v.iter().map(|&x| x as f64))
            }
        }
        Data::F16(v) => from_f64!(v.iter().map(|x| x.to_f64())),
        Data::C64(v) => {
            if to == DType::Complex64 {
                Data::C64(v.clone())
            } else {
                from_f64!(v.iter().step_by(2).map(|&x| x as f64))
            }
        }
        Data::I8(v) => from_i64!(v.iter().map(|&x| x as i64)),
        Data::U8(v) => from_i64!(v.iter().map(|&x| x as i64)),
        Data::I16(v) => from_i64!(v.iter().map(|&x| x as i64)),
        Data::I32(v) => from_i64!(v.iter().map(|&x| x as i64)),
        Data::U32(v) => from_i64!(v.iter().map(|&x| x as i64)),
        Data::I64(v) => from_i64!(v.iter().copied()),
        Data::Bool(v) => from_i64!(v.iter().map(|&x| x as i64)),
    })
}

/// Kernel of cast.
pub fn cast(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    check_tensor(ctx, x, 0)?;
    let to = ctx.out_dtype(0)?;
    let data = cast_data(&x.data, to)
        .ok_or_else(|| ctx.err(format!("cannot cast {} to {to}", x.dtype())))?;
    Ok(vec![Tensor::new(x.shape.clone(), data)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts() {
        let d = Data::F32(vec![-1.7, 2.9, 0.0, 300.0]);
        assert_eq!(
            cast_data(&d, DType::I32),
            Some(Data::I32(vec![-1, 2, 0, 300]))
        );
        assert_eq!(
            cast_data(&d, DType::Bool),
            Some(Data::Bool(vec![true, true, false, true]))
        );
        let b = Data::Bool(vec![true, false]);
        assert_eq!(cast_data(&b, DType::F32), Some(Data::F32(vec![1.0, 0.0])));
    }
}
