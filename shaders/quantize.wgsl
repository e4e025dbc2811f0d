// QUANTIZE float -> integer, per tensor: q = clamp(round(x / scale) + zp, lo, hi),
// rounding half away from zero. One invocation per element; integers are raw
// values, one per i32 word. Host side: src/gpu/ops/quant.rs.

struct Params {
    n: u32,
    zp: i32,
    scale: f32,
    lo: i32,
    hi: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    out[i] = q_quantize(f32(x[i]), p.scale, p.zp, p.lo, p.hi);
}
