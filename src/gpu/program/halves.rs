//! Bulk f32 <-> f16 conversion of partition inputs, outputs and constants in
//! stack-sized chunks: on x86-64 with F16C, eight lanes per instruction in one
//! inlined loop that also finds the values the guarded store saturates (the
//! submit path of every fp16 invoke runs it); elsewhere `half`'s slice
//! conversions (NEON where the CPU has it). GPU buffers hold little-endian
//! halves.

use half::f16;
use half::slice::HalfFloatSliceExt;

/// Elements converted per chunk (8 KiB of halves, 16 KiB of f32 on the stack).
const CHUNK: usize = 4096;

/// Write `v` as little-endian f16 into `out` (exactly `2 * v.len()` bytes).
pub fn f32_to_le_halves(out: wgpu::WriteOnly<'_, [u8]>, v: &[f32]) {
    convert(out, v, false);
}

/// [`f32_to_le_halves`] for the guarded store's host side, of f32 values given
/// as native-order bytes (`4 * n` of them, at any alignment: misaligned ones are
/// converted a chunk at a time through an aligned buffer on the stack): a finite
/// value beyond f16's range is stored as ±65504 rather than infinity. Returns
/// whether any was.
pub fn f32_bytes_to_le_halves_saturating(out: wgpu::WriteOnly<'_, [u8]>, bytes: &[u8]) -> bool {
    if let Ok(v) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
        return convert(out, v, true);
    }
    let mut out = out;
    let mut any = false;
    let mut buf = [0f32; CHUNK];
    for chunk in bytes.chunks(CHUNK * 4) {
        let len = chunk.len() / 4;
        let f = &mut buf[..len];
        bytemuck::cast_slice_mut::<f32, u8>(f).copy_from_slice(&chunk[..len * 4]);
        let (head, rest) = out.split_at(f.len() * 2);
        any |= convert(head, f, true);
        out = rest;
    }
    any
}

/// The one conversion loop: a chunk at a time, saturating finite values beyond
/// the f16 range when `saturate` (checked on the chunk while it is in cache).
fn convert(mut out: wgpu::WriteOnly<'_, [u8]>, v: &[f32], saturate: bool) -> bool {
    let beyond = |x: f32| saturate && x.is_finite() && x.abs() > f16::MAX.to_f32();
    let mut any = false;
    if cfg!(target_endian = "big") {
        out.into_chunks::<2>().0.write_iter(v.iter().map(|&x| {
            let y = if beyond(x) {
                any = true;
                x.clamp(-f16::MAX.to_f32(), f16::MAX.to_f32())
            } else {
                x
            };
            f16::from_f32(y).to_le_bytes()
        }));
        return any;
    }
    // The packed path writes straight into `out` (a mapped staging buffer: no
    // bounce through the stack) and says exactly whether a value needs
    // saturating; those are rewritten after it.
    if let Some(far) = packed::to_halves_into(&mut out, v) {
        if saturate && far {
            for (i, &x) in v.iter().enumerate() {
                if beyond(x) {
                    let h = if x > 0.0 { f16::MAX } else { f16::MIN };
                    out.slice(2 * i..2 * i + 2)
                        .copy_from_slice(&h.to_le_bytes());
                    any = true;
                }
            }
        }
        return any;
    }
    let mut buf = [f16::ZERO; CHUNK];
    for chunk in v.chunks(CHUNK) {
        let h = &mut buf[..chunk.len()];
        h.convert_from_f32_slice(chunk);
        // Only a chunk holding a half of magnitude 65504 or more (infinity,
        // NaN, or a value rounded to the largest finite half) can need
        // saturating: a scan of the halves' bits, which vectorizes, finds those
        // chunks and the exact check runs on them alone.
        let suspect = h
            .iter()
            .fold(false, |a, h| a | (h.to_bits() & 0x7fff >= 0x7bff));
        if saturate && suspect {
            for (h, &x) in h.iter_mut().zip(chunk) {
                if beyond(x) {
                    *h = if x > 0.0 { f16::MAX } else { f16::MIN };
                    any = true;
                }
            }
        }
        let bytes: &[u8] = bytemuck::cast_slice(h);
        let (mut head, rest) = out.split_at(bytes.len());
        head.copy_from_slice(bytes);
        out = rest;
    }
    any
}

/// `v` as little-endian f16 bytes.
pub fn f32_to_le_half_bytes(v: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; v.len() * 2];
    f32_to_le_halves(wgpu::WriteOnly::from(&mut out[..]), v);
    out
}

/// The little-endian halves of `bytes` (2 per element) as f32 into `out`
/// (`out.len()` elements; `bytes` holds at least `2 * out.len()`).
pub fn le_halves_to_f32(bytes: &[u8], out: &mut [f32]) {
    let bytes = &bytes[..out.len() * 2];
    if cfg!(target_endian = "big") {
        for (o, h) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *o = f16::from_le_bytes([h[0], h[1]]).to_f32();
        }
        return;
    }
    let mut buf = [f16::ZERO; CHUNK];
    for (o, b) in out.chunks_mut(CHUNK).zip(bytes.chunks(CHUNK * 2)) {
        let h = &mut buf[..o.len()];
        bytemuck::cast_slice_mut::<f16, u8>(h).copy_from_slice(b);
        if !packed::to_floats(h, o) {
            h.convert_to_f32_slice(o);
        }
    }
}

/// The packed conversions: x86-64 with AVX and F16C (detected once, at run
/// time), nothing elsewhere.
mod packed {
    use half::f16;

    /// `src` as halves into `dst` (same length), and whether any value is finite
    /// and beyond the f16 range (which the conversion rounds to infinity); None
    /// when the CPU lacks the instructions.
    #[cfg(test)]
    pub(super) fn to_halves(src: &[f32], dst: &mut [f16]) -> Option<bool> {
        if dst.len() != src.len() {
            return None;
        }
        let mut bytes = vec![0u8; 2 * src.len()];
        let far = to_halves_into(&mut wgpu::WriteOnly::from(&mut bytes[..]), src)?;
        for (h, b) in dst.iter_mut().zip(bytes.chunks_exact(2)) {
            *h = f16::from_le_bytes([b[0], b[1]]);
        }
        Some(far)
    }

    /// `src` as little-endian halves into `out` (exactly `2 * src.len()`
    /// bytes), written in place, and whether any value is finite and beyond the
    /// f16 range; None (nothing written) when the CPU lacks the instructions.
    pub(super) fn to_halves_into(out: &mut wgpu::WriteOnly<'_, [u8]>, src: &[f32]) -> Option<bool> {
        #[cfg(target_arch = "x86_64")]
        if detected() && out.len() == 2 * src.len() {
            let dst = out.as_raw_element_ptr().as_ptr();
            // SAFETY: the CPU has AVX and F16C; `out` is valid for writes of
            // its `2 * src.len()` bytes (WriteOnly's invariant) and does not
            // overlap `src`, which is borrowed immutably.
            return Some(unsafe { x86::to_halves(src, dst) });
        }
        let _ = (out, src);
        None
    }

    /// `src` as f32 into `dst` (same length); false when the CPU lacks the
    /// instructions (nothing written).
    pub(super) fn to_floats(src: &[f16], dst: &mut [f32]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if detected() && src.len() == dst.len() {
            // SAFETY: the CPU has AVX and F16C; the slices have the same length.
            unsafe { x86::to_floats(src, dst) };
            return true;
        }
        let _ = (src, dst);
        false
    }

    #[cfg(target_arch = "x86_64")]
    fn detected() -> bool {
        std::arch::is_x86_feature_detected!("avx") && std::arch::is_x86_feature_detected!("f16c")
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use half::f16;
        use std::arch::x86_64::*;

        /// See [`super::to_halves_into`]: round to nearest even, NaN kept NaN,
        /// as `f16::from_f32`, little-endian. Where `dst` is 16-byte aligned
        /// (a mapped buffer's start) the stores stream past the caches: the CPU
        /// never reads these bytes back, the GPU does.
        ///
        /// # Safety
        /// The CPU has AVX and F16C, and `dst` is valid for writes of
        /// `2 * src.len()` bytes that overlap nothing `src` holds.
        #[target_feature(enable = "avx,f16c")]
        pub(super) unsafe fn to_halves(src: &[f32], dst: *mut u8) -> bool {
            let n = src.len();
            let stream = (dst as usize) % 16 == 0;
            let mut i = 0;
            // SAFETY: every load reads src[i..i + 8] and every store writes
            // dst[2 * i..2 * i + 16] with i + 8 <= n (the caller's contract);
            // streaming stores are 16-byte aligned (dst is, and 2 * i is a
            // multiple of 16), and the fence orders them before the caller's
            // later writes and the unmap.
            let mut beyond = unsafe {
                let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
                let max = _mm256_set1_ps(65504.0);
                let inf = _mm256_set1_ps(f32::INFINITY);
                let mut beyond = _mm256_setzero_ps();
                while i + 8 <= n {
                    let v = _mm256_loadu_ps(src.as_ptr().add(i));
                    let a = _mm256_and_ps(v, abs);
                    let far = _mm256_and_ps(
                        _mm256_cmp_ps::<_CMP_GT_OQ>(a, max),
                        _mm256_cmp_ps::<_CMP_LT_OQ>(a, inf),
                    );
                    beyond = _mm256_or_ps(beyond, far);
                    let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
                    let at = dst.add(2 * i).cast::<__m128i>();
                    if stream {
                        _mm_stream_si128(at, h);
                    } else {
                        _mm_storeu_si128(at, h);
                    }
                    i += 8;
                }
                if stream {
                    _mm_sfence();
                }
                _mm256_movemask_ps(beyond) != 0
            };
            for (k, &x) in src.iter().enumerate().skip(i) {
                let b = f16::from_f32(x).to_le_bytes();
                // SAFETY: k < n, so bytes 2k and 2k + 1 are within dst.
                unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), dst.add(2 * k), 2) };
                beyond |= x.is_finite() && x.abs() > 65504.0;
            }
            beyond
        }

        /// See [`super::to_floats`].
        ///
        /// # Safety
        /// The CPU has AVX and F16C, and `dst.len() == src.len()`.
        #[target_feature(enable = "avx,f16c")]
        pub(super) unsafe fn to_floats(src: &[f16], dst: &mut [f32]) {
            let n = src.len();
            let mut i = 0;
            // SAFETY: as in `to_halves`: every access is within both slices.
            unsafe {
                while i + 8 <= n {
                    let h = _mm_loadu_si128(src.as_ptr().add(i).cast::<__m128i>());
                    _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
                    i += 8;
                }
            }
            for (f, h) in dst[i..].iter_mut().zip(&src[i..]) {
                *f = h.to_f32();
            }
        }
    }
}

/// The little-endian halves of `bytes` as native-order f32 bytes into `out`
/// (4 bytes per element; `bytes` holds at least half as many).
pub fn le_halves_to_f32_bytes(bytes: &[u8], out: &mut [u8]) {
    let mut buf = [0f32; CHUNK];
    for (o, b) in out.chunks_mut(CHUNK * 4).zip(bytes.chunks(CHUNK * 2)) {
        let f = &mut buf[..o.len() / 4];
        le_halves_to_f32(b, f);
        o.copy_from_slice(bytemuck::cast_slice(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32) * 0.37 - 900.0) * if i % 3 == 0 { 1e-3 } else { 1.0 })
            .chain([f32::INFINITY, -0.0, 65504.0, 70000.0, 1e-8, f32::NAN])
            .collect()
    }

    #[test]
    fn saturating_conversion_clamps_only_finite_values_beyond_the_range() {
        let v = values(9000);
        let mut out = vec![0u8; v.len() * 2];
        assert!(f32_bytes_to_le_halves_saturating(
            wgpu::WriteOnly::from(&mut out[..]),
            bytemuck::cast_slice(&v)
        ));
        for (b, &x) in out.chunks(2).zip(&v) {
            let h = f16::from_le_bytes([b[0], b[1]]);
            let want = if x.is_finite() && x.abs() > 65504.0 {
                f16::from_f32(x.clamp(-65504.0, 65504.0))
            } else {
                f16::from_f32(x)
            };
            assert_eq!(h.to_bits(), want.to_bits(), "{x}");
        }
        let small = [1.0f32, -2.0, f32::INFINITY];
        let mut out = [0u8; 6];
        assert!(!f32_bytes_to_le_halves_saturating(
            wgpu::WriteOnly::from(&mut out[..]),
            bytemuck::cast_slice(&small)
        ));
        // Beyond the range yet rounded to the largest half rather than to
        // infinity: saturated all the same, in a later chunk than the first.
        let mut edge = vec![0.5f32; CHUNK + 3];
        edge[CHUNK + 1] = -65510.0;
        let mut out = vec![0u8; edge.len() * 2];
        assert!(f32_bytes_to_le_halves_saturating(
            wgpu::WriteOnly::from(&mut out[..]),
            bytemuck::cast_slice(&edge)
        ));
        let at = (CHUNK + 1) * 2;
        assert_eq!(f16::from_le_bytes([out[at], out[at + 1]]), f16::MIN);
        edge[CHUNK + 1] = -65504.0;
        assert!(!f32_bytes_to_le_halves_saturating(
            wgpu::WriteOnly::from(&mut out[..]),
            bytemuck::cast_slice(&edge)
        ));
    }

    #[test]
    fn packed_conversions_equal_the_software_ones() {
        // Bit patterns over every exponent (subnormals, ties, the range's edge,
        // infinities, NaN), at lengths with and without a tail.
        let mut x = 0x9e37_79b9u32;
        let mut bits: Vec<u32> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            })
            .collect();
        bits.extend([
            0x477f_e000,
            0x477f_f000,
            0x477f_efff,
            0x3380_0000,
            0x7f80_0000,
            0xff80_0001,
        ]);
        let v: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        for len in [v.len(), v.len() - 3, 7, 0] {
            let src = &v[..len];
            let mut h = vec![f16::ZERO; len];
            let Some(beyond) = packed::to_halves(src, &mut h) else {
                return; // no packed path on this CPU
            };
            let want_beyond = src.iter().any(|x| x.is_finite() && x.abs() > 65504.0);
            assert_eq!(beyond, want_beyond, "len {len}");
            for (&x, &got) in src.iter().zip(&h) {
                let want = f16::from_f32_const(x);
                if x.is_nan() {
                    assert!(got.is_nan(), "{x}");
                } else {
                    assert_eq!(got.to_bits(), want.to_bits(), "{x:e}");
                }
            }
            // The same bytes through unaligned stores (an odd-word offset).
            let mut shifted = vec![0u8; 2 * len + 2];
            let far = packed::to_halves_into(&mut wgpu::WriteOnly::from(&mut shifted[2..]), src);
            assert_eq!(far, Some(beyond));
            assert_eq!(&shifted[2..], bytemuck::cast_slice::<f16, u8>(&h));
            let mut back = vec![0f32; len];
            assert!(packed::to_floats(&h, &mut back));
            for (&hv, &f) in h.iter().zip(&back) {
                let want = hv.to_f32_const();
                assert!(
                    f.to_bits() == want.to_bits() || (f.is_nan() && want.is_nan()),
                    "{hv}"
                );
            }
        }
    }

    #[test]
    fn bulk_conversions_equal_the_scalar_ones() {
        // Longer than a chunk, and not a multiple of it.
        let v = values(CHUNK * 2 + 77);
        let bytes = f32_to_le_half_bytes(&v);
        let scalar: Vec<u8> = v
            .iter()
            .flat_map(|&x| f16::from_f32(x).to_le_bytes())
            .collect();
        assert_eq!(bytes, scalar);
        let mut back = vec![0f32; v.len()];
        le_halves_to_f32(&bytes, &mut back);
        let want: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|h| f16::from_le_bytes([h[0], h[1]]).to_f32())
            .collect();
        assert_eq!(
            bytemuck::cast_slice::<f32, u32>(&back),
            bytemuck::cast_slice::<f32, u32>(&want)
        );
        let mut raw = vec![0u8; v.len() * 4];
        le_halves_to_f32_bytes(&bytes, &mut raw);
        assert_eq!(raw, bytemuck::cast_slice::<f32, u8>(&want));
    }
}
