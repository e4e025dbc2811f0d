//! Bulk f32 <-> f16 conversion of partition inputs, outputs and constants, through
//! `half`'s slice conversions (the CPU's F16C/NEON instructions where it has
//! them) in stack-sized chunks. GPU buffers hold little-endian halves.

use half::f16;
use half::slice::HalfFloatSliceExt;

/// Elements converted per chunk (8 KiB of halves, 16 KiB of f32 on the stack).
const CHUNK: usize = 4096;

/// Write `v` as little-endian f16 into `out` (exactly `2 * v.len()` bytes).
pub fn f32_to_le_halves(mut out: wgpu::WriteOnly<'_, [u8]>, v: &[f32]) {
    if cfg!(target_endian = "big") {
        out.into_chunks::<2>()
            .0
            .write_iter(v.iter().map(|&x| f16::from_f32(x).to_le_bytes()));
        return;
    }
    let mut buf = [f16::ZERO; CHUNK];
    for chunk in v.chunks(CHUNK) {
        let h = &mut buf[..chunk.len()];
        h.convert_from_f32_slice(chunk);
        let bytes: &[u8] = bytemuck::cast_slice(h);
        let (mut head, rest) = out.split_at(bytes.len());
        head.copy_from_slice(bytes);
        out = rest;
    }
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
