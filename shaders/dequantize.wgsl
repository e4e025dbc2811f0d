// DEQUANTIZE integer -> float, per tensor: (q - zp) * scale. One invocation per
// element. Host side: src/gpu/ops/quant.rs.

struct Params {
    n: u32,
    zp: i32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    out[i] = to_scalar(f32(x[i] - p.zp) * p.scale);
}
