// Integer SOFTMAX along the last axis as LiteRT's reference computes it here:
// dequantize the row, softmax in f32 (max subtracted, exp of (x - max) * beta,
// divided by the sum), requantize to the output's scale and zero point. One
// invocation per row. Host side: src/gpu/ops/qsoftmax.rs.

struct Params {
    rows: u32,
    depth: u32,
    in_zp: i32,
    in_scale: f32,
    beta: f32,
    out_zp: i32,
    out_scale: f32,
    lo: i32,
    hi: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

fn real(k: u32) -> f32 {
    return f32(x[k] - p.in_zp) * p.in_scale;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let row = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.depth;
    var m = -3.0e38;
    for (var k = 0u; k < p.depth; k++) {
        m = max(m, real(base + k));
    }
    var sum = 0.0;
    for (var k = 0u; k < p.depth; k++) {
        sum += exp((real(base + k) - m) * p.beta);
    }
    for (var k = 0u; k < p.depth; k++) {
        let e = exp((real(base + k) - m) * p.beta);
        out[base + k] = q_quantize(e / sum, p.out_scale, p.out_zp, p.lo, p.hi);
    }
}
