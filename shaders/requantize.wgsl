// QUANTIZE integer -> integer (requantization), per tensor:
// clamp(MultiplyByQuantizedMultiplier(q - in_zp) + out_zp, lo, hi).
// Host side: src/gpu/ops/quant.rs.

struct Params {
    n: u32,
    in_zp: i32,
    out_zp: i32,
    mantissa: i32,
    shift: i32,
    lo: i32,
    hi: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    out[i] = q_requant(x[i] - p.in_zp, p.mantissa, p.shift, p.out_zp, p.lo, p.hi);
}
