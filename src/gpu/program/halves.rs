//! Bulk f32 <-> f16 conversion of partition inputs, outputs and constants, through
//! `half`'s slice conversions (the CPU's F16C/NEON instructions where it has
//! them) in stack-sized chunks. GPU buffers hold little-endian halves.

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
    let mut buf = [f16::ZERO; CHUNK];
    for chunk in v.chunks(CHUNK) {
        let h = &mut buf[..chunk.len()];
        h.convert_from_f32_slice(chunk);
        // Only a chunk holding a half of magnitude 65504 or more (infinity, NaN,
        // or a value rounded to the largest finite half) can need saturating: a
        // scan of the halves' bits, which vectorizes, finds those chunks and
        // the exact check runs on them alone.
        if saturate
            && h.iter()
                .fold(false, |a, h| a | (h.to_bits() & 0x7fff >= 0x7bff))
        {
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
        h.convert_to_f32_slice(o);
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
