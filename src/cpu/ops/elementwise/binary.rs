//! Element-wise binary math and comparisons with broadcasting (float, integer,
//! and quantized with LiteRT's reference arithmetic).

use super::*;
use crate::error::Result;
use crate::graph::op::{Activation, Binary};
use crate::graph::quant::{activate, activation_range, quantize_multiplier, Multiplier};
use crate::graph::DType;
use crate::graph::{Data, Tensor};

fn float_binary(b: Binary) -> Option<fn(f32, f32) -> f32> {
    use Binary::*;
    Some(match b {
        Add => |a, b| a + b,
        Sub => |a, b| a - b,
        Mul => |a, b| a * b,
        Div => |a, b| a / b,
        Maximum => |a, b| if a > b { a } else { b },
        Minimum => |a, b| if a < b { a } else { b },
        SquaredDifference => |a, b| (a - b) * (a - b),
        Pow => f32::powf,
        FloorDiv => |a, b| (a / b).floor(),
        FloorMod => |a, b| {
            let m = a % b;
            if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
                m + b
            } else {
                m
            }
        },
        _ => return None,
    })
}

fn cmp_fn<T: PartialOrd>(b: Binary) -> Option<fn(&T, &T) -> bool> {
    use Binary::*;
    Some(match b {
        Less => |a, b| a < b,
        LessEqual => |a, b| a <= b,
        Greater => |a, b| a > b,
        GreaterEqual => |a, b| a >= b,
        Equal => |a, b| a == b,
        NotEqual => |a, b| a != b,
        _ => return None,
    })
}

fn int_binary<T: Int>(
    ctx: &OpCtx,
    bc: &Bcast,
    b: Binary,
    act: Activation,
    x: &[T],
    y: &[T],
) -> Result<Vec<T>> {
    use Binary::*;
    let (lo, hi) = match act {
        Activation::Relu => (Some(T::ZERO), None),
        Activation::Relu6 => (Some(T::ZERO), Some(T::from_i64(6))),
        Activation::ReluN1To1 => (Some(T::ONE.wneg()), Some(T::ONE)),
        _ => (None, None),
    };
    let clamp = |v: T| {
        let v = match lo {
            Some(l) if v < l => l,
            _ => v,
        };
        match hi {
            Some(h) if v > h => h,
            _ => v,
        }
    };
    let mut div_zero = false;
    let out = match b {
        Add => bc.map(x, y, |a, b| clamp(a.wadd(b))),
        Sub => bc.map(x, y, |a, b| clamp(a.wsub(b))),
        Mul => bc.map(x, y, |a, b| clamp(a.wmul(b))),
        Div => bc.map(x, y, |a, b| {
            clamp(a.tdiv(b).unwrap_or_else(|| {
                div_zero = true;
                T::ZERO
            }))
        }),
        Maximum => bc.map(x, y, |a, b| if a > b { a } else { b }),
        Minimum => bc.map(x, y, |a, b| if a < b { a } else { b }),
        SquaredDifference => bc.map(x, y, |a, b| {
            let d = a.wsub(b);
            d.wmul(d)
        }),
        Pow => bc.map(x, y, |a, b| {
            let mut e = b.to_i64();
            let mut base = a;
            let mut r = T::ONE;
            if e < 0 {
                return T::ZERO;
            }
            while e > 0 {
                if e & 1 == 1 {
                    r = r.wmul(base);
                }
                base = base.wmul(base);
                e >>= 1;
            }
            r
        }),
        FloorDiv => bc.map(x, y, |a, b| match (a.tdiv(b), a.trem(b)) {
            (Some(q), Some(r)) => {
                if r != T::ZERO && ((r < T::ZERO) != (b < T::ZERO)) {
                    q.wsub(T::ONE)
                } else {
                    q
                }
            }
            _ => {
                div_zero = true;
                T::ZERO
            }
        }),
        FloorMod => bc.map(x, y, |a, b| match a.trem(b) {
            Some(m) => {
                if m != T::ZERO && ((b < T::ZERO) != (m < T::ZERO)) {
                    m.wadd(b)
                } else {
                    m
                }
            }
            None => {
                div_zero = true;
                T::ZERO
            }
        }),
        _ => return Err(ctx.err(format!("{b:?} is not an arithmetic op"))),
    };
    if div_zero {
        return Err(ctx.err("integer division by zero"));
    }
    Ok(out)
}

/// Quantized ADD/SUB/MUL of 8- and 16-bit values (LiteRT reference arithmetic).
#[allow(clippy::too_many_arguments)]
fn quant_binary<T: Copy>(
    ctx: &OpCtx,
    bc: &Bcast,
    b: Binary,
    act: Activation,
    x: &[T],
    y: &[T],
    to_i32: fn(T) -> i32,
    from_i32: fn(i32) -> T,
    dtype: DType,
) -> Result<Vec<T>> {
    let (s1, z1) = ctx.in_qparams(0)?;
    let (s2, z2) = ctx.in_qparams(1)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let (lo, hi) = activation_range(act, so, zo, dtype);
    let q = QuantParams {
        in1: (s1, z1),
        in2: (s2, z2),
        out: (so, zo),
        range: (lo, hi),
    };
    match b {
        Binary::Add | Binary::Sub => {
            let shift = if dtype == DType::I16 { 15 } else { 20 };
            let f = quant_add_fn(q, b == Binary::Sub, shift);
            Ok(bc.map(x, y, |a, b| from_i32(f(to_i32(a), to_i32(b)))))
        }
        Binary::Mul => {
            let f = quant_mul_fn(q);
            Ok(bc.map(x, y, |a, b| from_i32(f(to_i32(a), to_i32(b)))))
        }
        _ => Err(ctx.err(format!("quantized {b:?} is not supported"))),
    }
}

/// Quantization of a quantized binary op: (scale, zero point) of both inputs and the
/// output, and the clamp range of the output.
#[derive(Clone, Copy)]
struct QuantParams {
    in1: (f32, i32),
    in2: (f32, i32),
    out: (f32, i32),
    range: (i32, i32),
}

/// LiteRT's reference quantized ADD (or SUB) of two raw values.
fn quant_add_fn(q: QuantParams, sub: bool, left_shift: u32) -> impl Fn(i32, i32) -> i32 {
    let add = QuantAdd::new(q, sub, left_shift);
    move |a, b| add.apply(a, b)
}

/// The constants of a quantized ADD/SUB, applied without branches so that the
/// element loop inlines and vectorizes.
#[derive(Clone, Copy)]
struct QuantAdd {
    z1: i32,
    z2: i32,
    zo: i32,
    m1: Multiplier,
    m2: Multiplier,
    mo: Multiplier,
    left_shift: u32,
    sub: bool,
    lo: i32,
    hi: i32,
}

impl QuantAdd {
    fn new(q: QuantParams, sub: bool, left_shift: u32) -> QuantAdd {
        let (s1, z1) = q.in1;
        let (s2, z2) = q.in2;
        let (so, zo) = q.out;
        let twice_max = 2.0 * (s1 as f64).max(s2 as f64);
        QuantAdd {
            z1,
            z2,
            zo,
            m1: quantize_multiplier(s1 as f64 / twice_max),
            m2: quantize_multiplier(s2 as f64 / twice_max),
            mo: quantize_multiplier(twice_max / ((1i64 << left_shift) as f64 * so as f64)),
            left_shift,
            sub,
            lo: q.range.0,
            hi: q.range.1,
        }
    }

    #[inline(always)]
    fn apply(&self, a: i32, b: i32) -> i32 {
        let a = a.wrapping_sub(self.z1).wrapping_shl(self.left_shift);
        let b = b.wrapping_sub(self.z2).wrapping_shl(self.left_shift);
        let sa = self.m1.apply(a);
        let sb = self.m2.apply(b);
        let raw = if self.sub {
            sa.wrapping_sub(sb)
        } else {
            sa.wrapping_add(sb)
        };
        // max then min: the same as clamp for lo <= hi, without clamp's assertion.
        self.mo
            .apply(raw)
            .saturating_add(self.zo)
            .max(self.lo)
            .min(self.hi)
    }
}

/// LiteRT's reference quantized MUL of two raw values.
fn quant_mul_fn(q: QuantParams) -> impl Fn(i32, i32) -> i32 {
    let (s1, z1) = q.in1;
    let (s2, z2) = q.in2;
    let (so, zo) = q.out;
    // LiteRT forms the product of the scales in single precision.
    let m = quantize_multiplier((s1 * s2 / so) as f64);
    move |a, b| {
        let p = a.wrapping_sub(z1).wrapping_mul(b.wrapping_sub(z2));
        m.apply(p).saturating_add(zo).clamp(q.range.0, q.range.1)
    }
}

/// Float fallback for other quantized binary ops: dequantize, compute, requantize.
#[allow(clippy::too_many_arguments)]
fn quant_float_binary<T: Copy>(
    ctx: &OpCtx,
    bc: &Bcast,
    f: fn(f32, f32) -> f32,
    act: Activation,
    x: &[T],
    y: &[T],
    to_i32: fn(T) -> i32,
    from_i32: fn(i32) -> T,
    dtype: DType,
) -> Result<Vec<T>> {
    let (s1, z1) = ctx.in_qparams(0)?;
    let (s2, z2) = ctx.in_qparams(1)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let (lo, hi) = activation_range(act, so, zo, dtype);
    Ok(bc.map(x, y, |a, b| {
        let r = f((to_i32(a) - z1) as f32 * s1, (to_i32(b) - z2) as f32 * s2);
        let q = (r / so).round();
        let q = if q.is_nan() { 0 } else { q as i64 };
        from_i32(q.saturating_add(zo as i64).clamp(lo as i64, hi as i64) as i32)
    }))
}

/// Whether two quantized inputs share scale and zero point.
fn same_qparams(ctx: &OpCtx) -> bool {
    match (ctx.in_qparams(0), ctx.in_qparams(1)) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

/// Kernel of binary.
pub fn binary(ctx: &mut OpCtx, b: Binary, act: Activation) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    let y = ctx.input(1)?;
    check_tensor(ctx, x, 0)?;
    check_tensor(ctx, y, 1)?;
    if x.dtype() != y.dtype() {
        return Err(ctx.err(format!(
            "input types differ: {} and {}",
            x.dtype(),
            y.dtype()
        )));
    }
    let out_dtype = if b.is_comparison() {
        DType::Bool
    } else {
        x.dtype()
    };
    let bc = Bcast::new(ctx, &x.shape, &y.shape, out_dtype)?;
    if b.is_comparison() {
        let out = compare(ctx, &bc, b, &x.data, &y.data)?;
        return Ok(vec![Tensor::new(bc.out, Data::Bool(out))]);
    }
    let data = match (&x.data, &y.data) {
        // The common arithmetic as direct closures, which inline and vectorize (the
        // same functions as float_binary's, without the indirect call).
        (Data::F32(p), Data::F32(q)) if act == Activation::None && b == Binary::Add => {
            Data::F32(bc.map(p, q, |a, b| a + b))
        }
        (Data::F32(p), Data::F32(q)) if act == Activation::None && b == Binary::Mul => {
            Data::F32(bc.map(p, q, |a, b| a * b))
        }
        (Data::F32(p), Data::F32(q)) if b == Binary::Add => {
            Data::F32(bc.map(p, q, |a, b| activate(act, a + b)))
        }
        (Data::F32(p), Data::F32(q)) => {
            let f = float_binary(b).ok_or_else(|| ctx.unsupported_dtype(0))?;
            if act == Activation::None {
                Data::F32(bc.map(p, q, f))
            } else {
                Data::F32(bc.map(p, q, |a, b| activate(act, f(a, b))))
            }
        }
        (Data::I32(p), Data::I32(q)) => Data::I32(int_binary(ctx, &bc, b, act, p, q)?),
        (Data::I64(p), Data::I64(q)) => Data::I64(int_binary(ctx, &bc, b, act, p, q)?),
        (Data::I8(p), Data::I8(q)) => Data::I8(quant_8bit(
            ctx,
            &bc,
            b,
            act,
            p,
            q,
            |v| v as i32,
            |v| v as i8,
            DType::I8,
        )?),
        (Data::U8(p), Data::U8(q)) => Data::U8(quant_8bit(
            ctx,
            &bc,
            b,
            act,
            p,
            q,
            |v| v as i32,
            |v| v as u8,
            DType::U8,
        )?),
        (Data::I16(p), Data::I16(q)) => Data::I16(quant_8bit(
            ctx,
            &bc,
            b,
            act,
            p,
            q,
            |v| v as i32,
            |v| v as i16,
            DType::I16,
        )?),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(bc.out, data)])
}

fn float_minmax_int<T: PartialOrd + Copy>(b: Binary) -> fn(T, T) -> T {
    if b == Binary::Maximum {
        |a, b| if a > b { a } else { b }
    } else {
        |a, b| if a < b { a } else { b }
    }
}

#[allow(clippy::too_many_arguments)]
fn quant_8bit<T: Copy + PartialOrd>(
    ctx: &OpCtx,
    bc: &Bcast,
    b: Binary,
    act: Activation,
    x: &[T],
    y: &[T],
    to_i32: fn(T) -> i32,
    from_i32: fn(i32) -> T,
    dtype: DType,
) -> Result<Vec<T>> {
    match b {
        Binary::Add | Binary::Sub | Binary::Mul => {
            quant_binary(ctx, bc, b, act, x, y, to_i32, from_i32, dtype)
        }
        Binary::Maximum | Binary::Minimum => Ok(bc.map(x, y, float_minmax_int(b))),
        _ => {
            let f = float_binary(b).ok_or_else(|| ctx.unsupported_dtype(0))?;
            quant_float_binary(ctx, bc, f, act, x, y, to_i32, from_i32, dtype)
        }
    }
}

fn compare(ctx: &OpCtx, bc: &Bcast, b: Binary, x: &Data, y: &Data) -> Result<Vec<bool>> {
    use Binary::*;
    if let (Data::Bool(p), Data::Bool(q)) = (x, y) {
        return Ok(match b {
            LogicalAnd => bc.map(p, q, |a, b| a && b),
            LogicalOr => bc.map(p, q, |a, b| a || b),
            Equal => bc.map(p, q, |a, b| a == b),
            NotEqual => bc.map(p, q, |a, b| a != b),
            _ => return Err(ctx.unsupported_dtype(0)),
        });
    }
    if matches!(b, LogicalAnd | LogicalOr) {
        return Err(ctx.unsupported_dtype(0));
    }
    macro_rules! raw {
        ($p:expr, $q:expr) => {{
            let f = cmp_fn(b).ok_or_else(|| ctx.unsupported_dtype(0))?;
            bc.map($p, $q, |a, b| f(&a, &b))
        }};
    }
    Ok(match (x, y) {
        (Data::F32(p), Data::F32(q)) => raw!(p, q),
        (Data::I32(p), Data::I32(q)) => raw!(p, q),
        (Data::I64(p), Data::I64(q)) => raw!(p, q),
        (Data::I16(p), Data::I16(q)) => raw!(p, q),
        (Data::I8(p), Data::I8(q)) if same_qparams(ctx) => raw!(p, q),
        (Data::U8(p), Data::U8(q)) if same_qparams(ctx) => raw!(p, q),
        (Data::I8(p), Data::I8(q)) => {
            let ((s1, z1), (s2, z2)) = (ctx.in_qparams(0)?, ctx.in_qparams(1)?);
            let f = cmp_fn::<f32>(b).ok_or_else(|| ctx.unsupported_dtype(0))?;
            bc.map(p, q, |a, b| {
                f(
                    &((a as i32 - z1) as f32 * s1),
                    &((b as i32 - z2) as f32 * s2),
                )
            })
        }
        (Data::U8(p), Data::U8(q)) => {
            let ((s1, z1), (s2, z2)) = (ctx.in_qparams(0)?, ctx.in_qparams(1)?);
            let f = cmp_fn::<f32>(b).ok_or_else(|| ctx.unsupported_dtype(0))?;
            bc.map(p, q, |a, b| {
                f(
                    &((a as i32 - z1) as f32 * s1),
                    &((b as i32 - z2) as f32 * s2),
                )
            })
        }
        _ => return Err(ctx.unsupported_dtype(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::unary::unary_f32;
    use super::*;
    use crate::graph::op::Unary;

    #[test]
    fn float_ops() {
        let fm = float_binary(Binary::FloorMod).unwrap();
        assert_eq!(fm(-7.0, 3.0), 2.0);
        assert_eq!(fm(7.0, -3.0), -2.0);
        let fd = float_binary(Binary::FloorDiv).unwrap();
        assert_eq!(fd(-7.0, 2.0), -4.0);
        let r = unary_f32(Unary::Round).unwrap();
        assert_eq!(r(2.5), 2.0);
        assert_eq!(r(3.5), 4.0);
        assert_eq!(r(-2.5), -2.0);
    }

    #[test]
    fn quant_add_and_mul_reference() {
        let q = QuantParams {
            in1: (0.5, -1),
            in2: (0.5, -1),
            out: (0.5, -1),
            range: (-128, 127),
        };
        let add = quant_add_fn(q, false, 20);
        // Real 1.0 + 1.5 = 2.5 -> q 4 (zero point -1).
        assert_eq!(add(1, 2), 4);
        assert_eq!(add(127, 127), 127);
        assert_eq!(add(-128, -128), -128);
        let sub = quant_add_fn(q, true, 20);
        assert_eq!(sub(2, 1), 0);
        // Rounding tie: real 0.5 * 0.5 = 0.25 with out scale 0.5 -> 0.5 step, away from zero.
        let mul = quant_mul_fn(QuantParams { out: (0.5, 0), ..q });
        assert_eq!(mul(0, 0), 1);
        // The high multiply's nudge rounds -0.5 toward zero, as gemmlowp does.
        assert_eq!(mul(0, -2), 0);
        assert_eq!(mul(127, 127), 127);
        // A fused activation range clamps.
        let relu = quant_add_fn(
            QuantParams {
                range: (-1, 127),
                ..q
            },
            true,
            20,
        );
        assert_eq!(relu(-100, 100), -1);
    }

    #[test]
    fn quant_add_saturates() {
        // Mirrors the reference arithmetic: scale 1, zero point 0 everywhere.
        let twice = 2.0f64;
        let m1 = quantize_multiplier(1.0 / twice);
        let mo = quantize_multiplier(twice / ((1i64 << 20) as f64));
        let f = |a: i32, b: i32| {
            let s = m1.apply(a << 20) + m1.apply(b << 20);
            mo.apply(s).clamp(-128, 127)
        };
        assert_eq!(f(100, 100), 127);
        assert_eq!(f(-100, -100), -128);
        assert_eq!(f(3, 4), 7);
    }
}
