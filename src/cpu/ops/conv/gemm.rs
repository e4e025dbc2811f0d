//! A small register-tiled GEMM over a repacked `[K][N]` weight matrix, shared by
//! the convolution and matmul kernels.

use super::Num;

/// out[m][n] = sum_k a[m][k] * w[k][n], with `a` row-major M x K and `w` K x N.
///
/// Register-tiled: four rows by `NB` columns of accumulators stay in registers over
/// the whole K loop. On x86-64 with AVX2 a wider tile compiled for AVX2 is used; the
/// per-element summation order is the same on every path.
pub(in crate::cpu::ops) fn gemm_rows<T: Num>(
    a: &[T],
    m: usize,
    k: usize,
    w: &[T],
    n: usize,
    out: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { gemm_avx2(a, m, k, w, n, out) };
            return;
        }
    }
    gemm_impl::<T, 8>(a, m, k, w, n, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gemm_avx2<T: Num>(a: &[T], m: usize, k: usize, w: &[T], n: usize, out: &mut [T]) {
    gemm_impl::<T, 16>(a, m, k, w, n, out)
}

#[inline(always)]
fn gemm_impl<T: Num, const NB: usize>(
    a: &[T],
    m: usize,
    k: usize,
    w: &[T],
    n: usize,
    out: &mut [T],
) {
    let out = &mut out[..m * n];
    let a = &a[..m * k];
    let w = &w[..k * n];
    if n == 0 {
        return;
    }
    if k == 0 {
        out.iter_mut().for_each(|v| *v = T::default());
        return;
    }
    let mut i = 0;
    while i + 4 <= m {
        let a0 = &a[i * k..(i + 1) * k];
        let a1 = &a[(i + 1) * k..(i + 2) * k];
        let a2 = &a[(i + 2) * k..(i + 3) * k];
        let a3 = &a[(i + 3) * k..(i + 4) * k];
        let mut j0 = 0;
        while j0 + NB <= n {
            let mut c0 = [T::default(); NB];
            let mut c1 = [T::default(); NB];
            let mut c2 = [T::default(); NB];
            let mut c3 = [T::default(); NB];
            for ((((wr, &x0), &x1), &x2), &x3) in w[j0..].chunks(n).zip(a0).zip(a1).zip(a2).zip(a3)
            {
                let wr = &wr[..NB];
                for j in 0..NB {
                    let wv = wr[j];
                    c0[j] = c0[j].madd(x0, wv);
                    c1[j] = c1[j].madd(x1, wv);
                    c2[j] = c2[j].madd(x2, wv);
                    c3[j] = c3[j].madd(x3, wv);
                }
            }
            for (r, accr) in [c0, c1, c2, c3].iter().enumerate() {
                out[(i + r) * n + j0..(i + r) * n + j0 + NB].copy_from_slice(accr);
            }
            j0 += NB;
        }
        if j0 < n {
            let nt = n - j0;
            let mut c0 = [T::default(); NB];
            let mut c1 = [T::default(); NB];
            let mut c2 = [T::default(); NB];
            let mut c3 = [T::default(); NB];
            for kk in 0..k {
                let wr = &w[kk * n + j0..kk * n + n];
                let (x0, x1, x2, x3) = (a0[kk], a1[kk], a2[kk], a3[kk]);
                for j in 0..nt.min(NB) {
                    let wv = wr[j];
                    c0[j] = c0[j].madd(x0, wv);
                    c1[j] = c1[j].madd(x1, wv);
                    c2[j] = c2[j].madd(x2, wv);
                    c3[j] = c3[j].madd(x3, wv);
                }
            }
            for (r, accr) in [c0, c1, c2, c3].iter().enumerate() {
                out[(i + r) * n + j0..(i + r) * n + n].copy_from_slice(&accr[..nt]);
            }
        }
        i += 4;
    }
    while i < m {
        let o = &mut out[i * n..(i + 1) * n];
        o.iter_mut().for_each(|v| *v = T::default());
        for kk in 0..k {
            let x = a[i * k + kk];
            let wr = &w[kk * n..kk * n + n];
            for j in 0..n {
                o[j] = o[j].madd(x, wr[j]);
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], m: usize, k: usize, w: &[f32], n: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f32;
                for kk in 0..k {
                    s += a[i * k + kk] * w[kk * n + j];
                }
                out[i * n + j] = s;
            }
        }
        out
    }

    #[test]
    fn every_tile_width_matches_in_order_sums() {
        let rand = super::super::test_util::rand;
        for &(m, k, n) in &[
            (9, 7, 1),
            (5, 3, 4),
            (4, 16, 8),
            (7, 5, 13),
            (6, 33, 24),
            (13, 9, 47),
            (2, 1, 64),
        ] {
            let a = rand(m * k, 11);
            let w = rand(k * n, 12);
            let mut got = vec![f32::NAN; m * n];
            gemm_rows(&a, m, k, &w, n, &mut got);
            // Same summation order per element, so the results are identical.
            assert_eq!(got, naive(&a, m, k, &w, n), "m={m} k={k} n={n}");
            let ai: Vec<i32> = a.iter().map(|v| (v * 100.0) as i32).collect();
            let wi: Vec<i32> = w.iter().map(|v| (v * 100.0) as i32).collect();
            let mut goti = vec![0i32; m * n];
            gemm_rows(&ai, m, k, &wi, n, &mut goti);
            for i in 0..m {
                for j in 0..n {
                    let s: i32 = (0..k).map(|kk| ai[i * k + kk] * wi[kk * n + j]).sum();
                    assert_eq!(goti[i * n + j], s);
                }
            }
        }
    }
}
