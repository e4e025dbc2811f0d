//! Element-wise unary and binary math, comparisons, SELECT, PRELU, ADD_N, CAST.

use super::{numel, OpCtx};
use crate::error::Result;
use crate::graph::broadcast::{broadcast_offsets, broadcast_shapes, broadcast_strides};
use crate::graph::op::{Activation, Binary, Unary};
use crate::graph::quant::{
    activate, activation_range, quantize_multiplier, type_range, Multiplier,
};
use crate::graph::DType;
use crate::graph::{Data, Tensor};
use half::f16;

/// Check that a tensor's element count agrees with its shape.
pub(super) fn check_tensor(ctx: &OpCtx, t: &Tensor, i: usize) -> Result<()> {
    let n = t
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| ctx.err(format!("input {i} shape overflows")))?;
    if n != t.data.len() {
        return Err(ctx.err(format!(
            "input {i} has {} elements but shape {:?}",
            t.data.len(),
            t.shape
        )));
    }
    Ok(())
}

/// Output shape and per-input strides of a two-operand broadcast.
struct Bcast {
    out: Vec<usize>,
    sa: Vec<usize>,
    sb: Vec<usize>,
    n: usize,
}

impl Bcast {
    fn new(ctx: &OpCtx, a: &[usize], b: &[usize], dtype: DType) -> Result<Bcast> {
        let out = broadcast_shapes(a, b).ok_or_else(|| {
            ctx.err(format!(
                "shapes {a:?} and {b:?} are not broadcast-compatible"
            ))
        })?;
        let n = ctx.check_size(&out, dtype)?;
        Ok(Bcast {
            sa: broadcast_strides(a, &out),
            sb: broadcast_strides(b, &out),
            out,
            n,
        })
    }

    /// Apply `f` to every broadcast pair; `a` and `b` must match their shapes.
    fn map<A: Copy, B: Copy, O>(&self, a: &[A], b: &[B], mut f: impl FnMut(A, B) -> O) -> Vec<O> {
        let n = self.n;
        if n == 0 {
            return Vec::new();
        }
        if a.len() == n && b.len() == n {
            return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
        }
        if b.len() == 1 && a.len() == n {
            let y = b[0];
            return a.iter().map(|&x| f(x, y)).collect();
        }
        if a.len() == 1 && b.len() == n {
            let x = a[0];
            return b.iter().map(|&y| f(x, y)).collect();
        }
        let mut out = Vec::with_capacity(n);
        let rank = self.out.len();
        let inner = self.out[rank - 1];
        let (ia, ib) = (self.sa[rank - 1], self.sb[rank - 1]);
        let outer = n / inner;
        let mut idx = vec![0usize; rank];
        let (mut oa, mut ob) = (0usize, 0usize);
        for _ in 0..outer {
            if ia == 1 && ib == 1 {
                out.extend(
                    a[oa..oa + inner]
                        .iter()
                        .zip(&b[ob..ob + inner])
                        .map(|(&x, &y)| f(x, y)),
                );
            } else if ia == 1 && ib == 0 {
                let y = b[ob];
                out.extend(a[oa..oa + inner].iter().map(|&x| f(x, y)));
            } else if ia == 0 && ib == 1 {
                let x = a[oa];
                out.extend(b[ob..ob + inner].iter().map(|&y| f(x, y)));
            } else {
                for k in 0..inner {
                    out.push(f(a[oa + k * ia], b[ob + k * ib]));
                }
            }
            let mut d = rank - 1;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                oa += self.sa[d];
                ob += self.sb[d];
                if idx[d] < self.out[d] {
                    break;
                }
                oa -= self.sa[d] * self.out[d];
                ob -= self.sb[d] * self.out[d];
                idx[d] = 0;
            }
        }
        out
    }
}

/// The error function, accurate to about 1e-15 (f64).
pub(super) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let r = if ax < 3.0 {
        // Maclaurin series: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)).
        let x2 = ax * ax;
        let mut term = ax;
        let mut sum = ax;
        let mut n = 0.0f64;
        loop {
            n += 1.0;
            term *= -x2 / n;
            let t = term / (2.0 * n + 1.0);
            sum += t;
            if t.abs() < 1e-17 * sum.abs() || n > 200.0 {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        1.0 - erfc(ax)
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// The complementary error function, accurate in relative terms for large arguments.
pub(super) fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < 3.0 {
        return 1.0 - erf(x);
    }
    if x > 27.0 {
        return 0.0;
    }
    // Continued fraction, evaluated backwards.
    let mut f = 0.0f64;
    for k in (1..=120).rev() {
        f = (k as f64 / 2.0) / (x + f);
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / (x + f)
}

/// Float function of a unary op.
fn unary_f32(u: Unary) -> Option<fn(f32) -> f32> {
    use Unary::*;
    Some(match u {
        Abs => f32::abs,
        Neg => |x: f32| -x,
        Exp => f32::exp,
        Log => f32::ln,
        Sqrt => f32::sqrt,
        Rsqrt => |x: f32| 1.0 / x.sqrt(),
        Square => |x: f32| x * x,
        Sin => f32::sin,
        Cos => f32::cos,
        Floor => f32::floor,
        Ceil => f32::ceil,
        Round => f32::round_ties_even,
        Sign => |x: f32| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        },
        Relu => |x: f32| x.max(0.0),
        Relu6 => |x: f32| x.clamp(0.0, 6.0),
        ReluN1To1 => |x: f32| x.clamp(-1.0, 1.0),
        Relu0To1 => |x: f32| x.clamp(0.0, 1.0),
        Logistic => |x: f32| {
            if x > 16.619_048 {
                1.0
            } else if x < -9.0 {
                x.exp()
            } else {
                1.0 / (1.0 + (-x).exp())
            }
        },
        Tanh => f32::tanh,
        HardSwish => |x: f32| x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Elu => |x: f32| if x < 0.0 { x.exp_m1() } else { x },
        Gelu { approximate: false } => |x: f32| {
            let t = x * -std::f32::consts::FRAC_1_SQRT_2;
            0.5 * x * erfc(t as f64) as f32
        },
        Gelu { approximate: true } => |x: f32| {
            let c = (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) as f32;
            0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
        },
        LeakyRelu { .. } | LogicalNot => return None,
    })
}

/// Apply a unary op to one float (LeakyRelu needs its alpha).
fn unary_apply(u: Unary, f: Option<fn(f32) -> f32>, x: f32) -> f32 {
    match (u, f) {
        (Unary::LeakyRelu { alpha }, _) => {
            if x > 0.0 {
                x
            } else {
                x * alpha
            }
        }
        (_, Some(f)) => f(x),
        _ => x,
    }
}

/// Kernel of unary.
pub fn unary(ctx: &mut OpCtx, u: Unary) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    check_tensor(ctx, x, 0)?;
    let shape = x.shape.clone();
    let f = unary_f32(u);
    let supported_float = f.is_some() || matches!(u, Unary::LeakyRelu { .. });
    let data = match (&x.data, u) {
        (Data::Bool(v), Unary::LogicalNot) => Data::Bool(v.iter().map(|b| !b).collect()),
        (Data::F32(v), _) if supported_float => match f {
            Some(f) => Data::F32(v.iter().map(|&x| f(x)).collect()),
            None => Data::F32(v.iter().map(|&x| unary_apply(u, None, x)).collect()),
        },
        (Data::I8(v), _) if supported_float => {
            let lut = quant_lut(ctx, u, f, -128, DType::I8)?;
            Data::I8(
                v.iter()
                    .map(|&q| lut[(q as i32 + 128) as usize] as i8)
                    .collect(),
            )
        }
        (Data::U8(v), _) if supported_float => {
            let lut = quant_lut(ctx, u, f, 0, DType::U8)?;
            Data::U8(v.iter().map(|&q| lut[q as usize] as u8).collect())
        }
        (Data::I16(v), _) if supported_float => {
            let lut = quant_lut(ctx, u, f, -32768, DType::I16)?;
            Data::I16(
                v.iter()
                    .map(|&q| lut[(q as i32 + 32768) as usize] as i16)
                    .collect(),
            )
        }
        (Data::I32(v), _) => Data::I32(unary_int(ctx, u, v)?),
        (Data::I64(v), _) => Data::I64(unary_int(ctx, u, v)?),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(shape, data)])
}

/// A table mapping every quantized input (from `qmin`, the whole range of `dtype`) to
/// its quantized output.
fn quant_lut(
    ctx: &OpCtx,
    u: Unary,
    f: Option<fn(f32) -> f32>,
    qmin: i32,
    dtype: DType,
) -> Result<Vec<i32>> {
    let (si, zi) = ctx.in_qparams(0)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let (lo, hi) = type_range(dtype);
    let size = if dtype == DType::I16 { 65536 } else { 256 };
    Ok((qmin..qmin + size)
        .map(|q| {
            let x = (q - zi) as f32 * si;
            let y = unary_apply(u, f, x);
            let r = (y / so).round();
            let r = if r.is_nan() { 0.0 } else { r };
            ((r as i64).saturating_add(zo as i64)).clamp(lo as i64, hi as i64) as i32
        })
        .collect())
}

/// Integer element types of the integer unary and binary kernels.
trait Int: Copy + PartialOrd + Default {
    const ZERO: Self;
    const ONE: Self;
    fn wadd(self, o: Self) -> Self;
    fn wsub(self, o: Self) -> Self;
    fn wmul(self, o: Self) -> Self;
    fn wneg(self) -> Self;
    fn wabs(self) -> Self;
    fn tdiv(self, o: Self) -> Option<Self>;
    fn trem(self, o: Self) -> Option<Self>;
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
}

macro_rules! impl_int {
    ($t:ty) => {
        impl Int for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn wadd(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn wsub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn wmul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn wneg(self) -> Self {
                self.wrapping_neg()
            }
            fn wabs(self) -> Self {
                self.wrapping_abs()
            }
            fn tdiv(self, o: Self) -> Option<Self> {
                if o == 0 {
                    None
                } else {
                    Some(self.wrapping_div(o))
                }
            }
            fn trem(self, o: Self) -> Option<Self> {
                if o == 0 {
                    None
                } else {
                    Some(self.wrapping_rem(o))
                }
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    };
}
impl_int!(i32);
impl_int!(i64);

fn unary_int<T: Int>(ctx: &OpCtx, u: Unary, v: &[T]) -> Result<Vec<T>> {
    Ok(match u {
        Unary::Abs => v.iter().map(|x| x.wabs()).collect(),
        Unary::Neg => v.iter().map(|x| x.wneg()).collect(),
        Unary::Square => v.iter().map(|&x| x.wmul(x)).collect(),
        Unary::Sign => v
            .iter()
            .map(|&x| {
                if x > T::ZERO {
                    T::ONE
                } else if x < T::ZERO {
                    T::ONE.wneg()
                } else {
                    T::ZERO
                }
            })
            .collect(),
        Unary::Relu => v
            .iter()
            .map(|&x| if x > T::ZERO { x } else { T::ZERO })
            .collect(),
        _ => return Err(ctx.unsupported_dtype(0)),
    })
}

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
    let (s1, z1) = q.in1;
    let (s2, z2) = q.in2;
    let (so, zo) = q.out;
    let twice_max = 2.0 * (s1 as f64).max(s2 as f64);
    let m1 = quantize_multiplier(s1 as f64 / twice_max);
    let m2 = quantize_multiplier(s2 as f64 / twice_max);
    let mo = quantize_multiplier(twice_max / ((1i64 << left_shift) as f64 * so as f64));
    move |a, b| {
        let a = a.wrapping_sub(z1).wrapping_shl(left_shift);
        let b = b.wrapping_sub(z2).wrapping_shl(left_shift);
        let sa = m1.apply(a);
        let sb = m2.apply(b);
        let raw = if sub {
            sa.wrapping_sub(sb)
        } else {
            sa.wrapping_add(sb)
        };
        mo.apply(raw).saturating_add(zo).clamp(q.range.0, q.range.1)
    }
}

/// LiteRT's reference quantized MUL of two raw values.
fn quant_mul_fn(q: QuantParams) -> impl Fn(i32, i32) -> i32 {
    let (s1, z1) = q.in1;
    let (s2, z2) = q.in2;
    let (so, zo) = q.out;
    let m = quantize_multiplier(s1 as f64 * s2 as f64 / so as f64);
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

/// Kernel of select.
pub fn select(ctx: &mut OpCtx, v2: bool) -> Result<Vec<Tensor>> {
    let c = ctx.input(0)?;
    let x = ctx.input(1)?;
    let y = ctx.input(2)?;
    for (i, t) in [c, x, y].iter().enumerate() {
        check_tensor(ctx, t, i)?;
    }
    let cond = match &c.data {
        Data::Bool(v) => v,
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    if x.dtype() != y.dtype() {
        return Err(ctx.err("x and y of SELECT have different types"));
    }
    // SELECT (v1) with a rank-1 condition over a higher-rank x picks whole rows.
    let rank_one = !v2 && c.shape.len() == 1 && x.shape.len() > 1;
    let (out_shape, ci, xi, yi): (Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>) = if rank_one {
        if x.shape != y.shape || x.shape[0] != c.shape[0] {
            return Err(ctx.err("SELECT shapes do not match"));
        }
        let n = numel(&x.shape);
        let inner = n.checked_div(x.shape[0]).unwrap_or(0);
        let ci = (0..n).map(|i| i / inner.max(1)).collect();
        (x.shape.clone(), ci, (0..n).collect(), (0..n).collect())
    } else {
        let s = broadcast_shapes(&c.shape, &x.shape)
            .and_then(|s| broadcast_shapes(&s, &y.shape))
            .ok_or_else(|| ctx.err("SELECT shapes are not broadcast-compatible"))?;
        if !v2 && (c.shape != x.shape || x.shape != y.shape) && numel(&s) != 1 {
            return Err(ctx.err("SELECT requires equal shapes"));
        }
        ctx.check_size(&s, x.dtype())?;
        (
            s.clone(),
            broadcast_offsets(&c.shape, &s),
            broadcast_offsets(&x.shape, &s),
            broadcast_offsets(&y.shape, &s),
        )
    };
    let pick = |k: usize| -> (bool, usize, usize) { (cond[ci[k]], xi[k], yi[k]) };
    let n = ci.len();
    macro_rules! sel {
        ($p:expr, $q:expr, $v:ident) => {
            Data::$v(
                (0..n)
                    .map(|k| {
                        let (c, i, j) = pick(k);
                        if c {
                            $p[i]
                        } else {
                            $q[j]
                        }
                    })
                    .collect(),
            )
        };
    }
    let data = match (&x.data, &y.data) {
        (Data::F32(p), Data::F32(q)) => sel!(p, q, F32),
        (Data::F16(p), Data::F16(q)) => sel!(p, q, F16),
        (Data::I8(p), Data::I8(q)) => sel!(p, q, I8),
        (Data::U8(p), Data::U8(q)) => sel!(p, q, U8),
        (Data::I16(p), Data::I16(q)) => sel!(p, q, I16),
        (Data::I32(p), Data::I32(q)) => sel!(p, q, I32),
        (Data::U32(p), Data::U32(q)) => sel!(p, q, U32),
        (Data::I64(p), Data::I64(q)) => sel!(p, q, I64),
        (Data::Bool(p), Data::Bool(q)) => sel!(p, q, Bool),
        _ => return Err(ctx.unsupported_dtype(1)),
    };
    Ok(vec![Tensor::new(out_shape, data)])
}

/// Kernel of prelu.
pub fn prelu(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let x = ctx.input(0)?;
    let a = ctx.input(1)?;
    check_tensor(ctx, x, 0)?;
    check_tensor(ctx, a, 1)?;
    let bc = Bcast::new(ctx, &x.shape, &a.shape, x.dtype())?;
    let data = match (&x.data, &a.data) {
        (Data::F32(p), Data::F32(q)) => {
            Data::F32(bc.map(p, q, |x, a| if x >= 0.0 { x } else { x * a }))
        }
        (Data::I8(p), Data::I8(q)) => Data::I8(
            prelu_quant(ctx, &bc, p, q, |v| v as i32, DType::I8)?
                .into_iter()
                .map(|v| v as i8)
                .collect(),
        ),
        (Data::U8(p), Data::U8(q)) => Data::U8(
            prelu_quant(ctx, &bc, p, q, |v| v as i32, DType::U8)?
                .into_iter()
                .map(|v| v as u8)
                .collect(),
        ),
        _ => return Err(ctx.unsupported_dtype(0)),
    };
    Ok(vec![Tensor::new(bc.out, data)])
}

fn prelu_quant<T: Copy>(
    ctx: &OpCtx,
    bc: &Bcast,
    x: &[T],
    a: &[T],
    to_i32: fn(T) -> i32,
    dtype: DType,
) -> Result<Vec<i32>> {
    let (si, zi) = ctx.in_qparams(0)?;
    let (sa, za) = ctx.in_qparams(1)?;
    let (so, zo) = ctx.out_qparams(0)?;
    let m1: Multiplier = quantize_multiplier(si as f64 / so as f64);
    let m2: Multiplier = quantize_multiplier(si as f64 * sa as f64 / so as f64);
    let (lo, hi) = type_range(dtype);
    Ok(bc.map(x, a, |x, a| {
        let v = to_i32(x) - zi;
        let o = if v >= 0 {
            m1.apply(v)
        } else {
            m2.apply(v.wrapping_mul(to_i32(a) - za))
        };
        o.saturating_add(zo).clamp(lo, hi)
    }))
}

/// Kernel of add_n.
pub fn add_n(ctx: &mut OpCtx) -> Result<Vec<Tensor>> {
    let first = ctx.input(0)?;
    check_tensor(ctx, first, 0)?;
    let mut data = first.data.clone();
    for i in 1..ctx.num_inputs() {
        let t = ctx.input(i)?;
        if t.shape != first.shape {
            return Err(ctx.err("ADD_N inputs have different shapes"));
        }
        check_tensor(ctx, t, i)?;
        match (&mut data, &t.data) {
            (Data::F32(acc), Data::F32(v)) => acc.iter_mut().zip(v).for_each(|(a, b)| *a += b),
            (Data::I32(acc), Data::I32(v)) => acc
                .iter_mut()
                .zip(v)
                .for_each(|(a, b)| *a = a.wrapping_add(*b)),
            (Data::I64(acc), Data::I64(v)) => acc
                .iter_mut()
                .zip(v)
                .for_each(|(a, b)| *a = a.wrapping_add(*b)),
            _ => return Err(ctx.unsupported_dtype(i)),
        }
    }
    Ok(vec![Tensor::new(first.shape.clone(), data)])
}

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

    fn bc(a: &[usize], b: &[usize]) -> Bcast {
        let out = broadcast_shapes(a, b).unwrap();
        Bcast {
            sa: broadcast_strides(a, &out),
            sb: broadcast_strides(b, &out),
            n: out.iter().product(),
            out,
        }
    }

    /// Naive broadcast via offsets, to compare against the fast paths.
    fn naive(a: &[usize], b: &[usize], x: &[i32], y: &[i32]) -> Vec<i32> {
        let out = broadcast_shapes(a, b).unwrap();
        let oa = broadcast_offsets(a, &out);
        let ob = broadcast_offsets(b, &out);
        oa.iter()
            .zip(&ob)
            .map(|(&i, &j)| x[i] * 1000 + y[j])
            .collect()
    }

    #[test]
    fn broadcast_all_ranks() {
        let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
            (vec![], vec![]),
            (vec![], vec![3]),
            (vec![4], vec![]),
            (vec![2, 3], vec![2, 3]),
            (vec![2, 1], vec![1, 3]),
            (vec![3], vec![2, 3]),
            (vec![2, 1, 3], vec![4, 1]),
            (vec![1, 2, 1, 3], vec![2, 1, 4, 1]),
            (vec![2, 1, 2, 1, 3], vec![1, 2, 1, 2, 1]),
            (vec![1, 2, 1, 2, 1, 3], vec![2, 1, 2, 1, 2, 1]),
            (vec![2, 3, 1], vec![1]),
            (vec![1], vec![2, 3, 1]),
        ];
        for (a, b) in cases {
            let na: usize = a.iter().product();
            let nb: usize = b.iter().product();
            let x: Vec<i32> = (0..na as i32).collect();
            let y: Vec<i32> = (0..nb as i32).collect();
            let got = bc(&a, &b).map(&x, &y, |p, q| p * 1000 + q);
            assert_eq!(got, naive(&a, &b, &x, &y), "{a:?} {b:?}");
        }
    }

    #[test]
    fn erf_values() {
        let cases = [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (3.5, 0.999_999_256_901_627_7),
            (-1.5, -0.966_105_146_475_310_7),
        ];
        for (x, e) in cases {
            assert!((erf(x) - e).abs() < 1e-14, "erf({x}) = {} vs {e}", erf(x));
        }
    }

    #[test]
    fn erfc_tail() {
        let cases = [
            (3.0, 2.209_049_699_858_544e-5),
            (5.0, 1.537_459_794_428_035e-12),
            (-1.0, 1.842_700_792_949_715),
            (0.5, 0.479_500_122_186_953_5),
        ];
        for (x, e) in cases {
            assert!(
                ((erfc(x) - e) / e).abs() < 1e-12,
                "erfc({x}) = {} vs {e}",
                erfc(x)
            );
        }
    }

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
    fn int_floor_ops() {
        let b = bc(&[4], &[4]);
        let x = [-7i32, 7, -6, 7];
        let y = [2i32, -2, 3, 3];
        let div = b.map(&x, &y, |a, b| match (a.tdiv(b), a.trem(b)) {
            (Some(q), Some(r)) if r != 0 && ((r < 0) != (b < 0)) => q - 1,
            (Some(q), _) => q,
            _ => 0,
        });
        assert_eq!(div, vec![-4, -4, -2, 2]);
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
