//! Element-wise unary and binary math, comparisons, SELECT, PRELU, ADD_N, CAST.
//!
//! One file per group of ops; the broadcast iterator and the integer element trait
//! they share are here.

mod act16;
mod binary;
mod cast;
mod combine;
mod unary;

pub use binary::binary;
pub use cast::cast;
pub use combine::{add_n, prelu, select};
pub use unary::unary;

use super::{numel, OpCtx};
use crate::error::Result;
use crate::graph::broadcast::{broadcast_shapes, broadcast_strides};
use crate::graph::DType;
use crate::graph::Tensor;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::broadcast::broadcast_offsets;

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
}
