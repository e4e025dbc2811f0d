//! RFFT2D and the complex64 accessors COMPLEX_ABS, REAL, IMAG.

use super::OpCtx;
use crate::error::Result;
use crate::graph::{Data, Tensor};
use std::f64::consts::PI;

/// Largest transform length whose twiddle table is precomputed.
const TABLE_MAX: usize = 1 << 16;

/// e^{-2πi k/n}.
fn twiddle(k: usize, n: usize) -> (f64, f64) {
    let a = -2.0 * PI * k as f64 / n as f64;
    (a.cos(), a.sin())
}

/// Twiddle factors e^{-2πi k/n} for k in 0..n (empty for very long transforms,
/// whose factors are computed on the fly).
fn twiddles(n: usize) -> Vec<(f64, f64)> {
    if n > TABLE_MAX {
        return Vec::new();
    }
    (0..n).map(|k| twiddle(k, n)).collect()
}

/// e^{-2πi m/n} from `table` when it has one, else computed.
fn lookup(table: &[(f64, f64)], m: usize, n: usize) -> (f64, f64) {
    let k = m % n;
    table.get(k).copied().unwrap_or_else(|| twiddle(k, n))
}

/// Kernel of rfft2d.
pub fn rfft2d(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let x = ctx.input_f32(0)?;
    let t = ctx.input(0)?;
    let len = ctx.ints(1)?;
    if t.rank() < 2 || len.len() != 2 || len[0] <= 0 || len[1] <= 0 {
        return Err(ctx.err(format!(
            "rfft2d: needs an input of rank >= 2 and two positive fft lengths, got {:?} and {len:?}",
            t.shape
        )));
    }
    let (fh, fw) = (len[0] as usize, len[1] as usize);
    let r = t.rank();
    let (ih, iw) = (t.shape[r - 2], t.shape[r - 1]);
    let ow = fw / 2 + 1;
    let mut shape = t.shape[..r - 2].to_vec();
    shape.extend([fh, ow]);
    ctx.check_size(&shape, crate::graph::DType::Complex64)?;
    let batch: usize = t.shape[..r - 2].iter().product();
    let (tw_w, tw_h) = (twiddles(fw), twiddles(fh));
    // Input cropped or zero-padded to fh x fw, as LiteRT does.
    let (ch, cw) = (ih.min(fh), iw.min(fw));
    let mut out = Vec::with_capacity(batch * fh * ow * 2);
    let mut rows = vec![(0.0f64, 0.0f64); ch * ow];
    for b in 0..batch {
        let img = &x[b * ih * iw..(b + 1) * ih * iw];
        // Real DFT of every (kept) row.
        for y in 0..ch {
            for k in 0..ow {
                let (mut re, mut im) = (0.0, 0.0);
                for n in 0..cw {
                    let v = img[y * iw + n] as f64;
                    let (c, s) = lookup(&tw_w, k * n, fw);
                    re += v * c;
                    im += v * s;
                }
                rows[y * ow + k] = (re, im);
            }
        }
        // Complex DFT down every column.
        for k1 in 0..fh {
            for k2 in 0..ow {
                let (mut re, mut im) = (0.0, 0.0);
                for y in 0..ch {
                    let (a, bb) = rows[y * ow + k2];
                    let (c, s) = lookup(&tw_h, k1 * y, fh);
                    re += a * c - bb * s;
                    im += a * s + bb * c;
                }
                out.push(re as f32);
                out.push(im as f32);
            }
        }
    }
    Ok(vec![Tensor::new(shape, Data::C64(out))])
}

/// The interleaved (re, im) data of complex input 0.
fn complex_input<'a>(ctx: &OpCtx<'a>) -> Result<(&'a Tensor, &'a [f32])> {
    let t = ctx.input(0)?;
    match &t.data {
        Data::C64(v) => Ok((t, v)),
        _ => Err(ctx.unsupported_dtype(0)),
    }
}

/// Kernel of complex_abs.
pub fn complex_abs(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let (t, v) = complex_input(ctx)?;
    let out = v
        .chunks_exact(2)
        .map(|c| (c[0] as f64).hypot(c[1] as f64) as f32)
        .collect();
    Ok(vec![Tensor::f32(t.shape.clone(), out)])
}

/// Kernel of REAL (`real`) and IMAG (`!real`).
pub fn real_part(ctx: &mut OpCtx, real: bool) -> Result<Vec<Tensor>> {
    let (t, v) = complex_input(ctx)?;
    let k = usize::from(!real);
    let out = v.chunks_exact(2).map(|c| c[k]).collect();
    Ok(vec![Tensor::f32(t.shape.clone(), out)])
}

#[cfg(test)]
mod tests {
    use crate::cpu::ops::layout::testutil::*;
    use crate::graph::{DType, Op};
    use crate::graph::{Data, Tensor};

    #[test]
    fn rfft2d_matches_dft() {
        let x = Tensor::f32(vec![2, 3], vec![1., 2., 0., -1., 0.5, 3.]);
        let r = run(
            Op::Rfft2d,
            vec![x.clone(), i32t(vec![2], vec![2, 4])],
            &[DType::Complex64],
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![2, 3]);
        let Data::C64(v) = &r[0].data else {
            panic!("not complex")
        };
        let xv = f(&x);
        for k1 in 0..2 {
            for k2 in 0..3 {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for n1 in 0..2 {
                    for n2 in 0..3 {
                        let a = -2.0 * std::f64::consts::PI * (k1 * n1) as f64 / 2.0
                            - 2.0 * std::f64::consts::PI * (k2 * n2) as f64 / 4.0;
                        re += xv[n1 * 3 + n2] as f64 * a.cos();
                        im += xv[n1 * 3 + n2] as f64 * a.sin();
                    }
                }
                let i = (k1 * 3 + k2) * 2;
                assert!((v[i] as f64 - re).abs() < 1e-5 && (v[i + 1] as f64 - im).abs() < 1e-5);
            }
        }
        let abs = run(Op::ComplexAbs, vec![r[0].clone()], &[DType::F32]).unwrap();
        let re = run(Op::Real, vec![r[0].clone()], &[DType::F32]).unwrap();
        let im = run(Op::Imag, vec![r[0].clone()], &[DType::F32]).unwrap();
        assert!((f(&abs[0])[1] - v[2].hypot(v[3])).abs() < 1e-6);
        assert_eq!(f(&re[0])[1], v[2]);
        assert_eq!(f(&im[0])[1], v[3]);
    }
}
