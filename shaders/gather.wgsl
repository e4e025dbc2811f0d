// GATHER along one axis with a constant index table:
// out[o, j, k] = x[o, idx[j], k] for o < outer, j < count, k < inner.
// Indices are u32 words (validated on the host). Host side: src/gpu/ops/gather.rs.

struct Params {
    n: u32,
    count: u32,
    axis_size: u32,
    inner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let k = i % p.inner;
    let r = i / p.inner;
    let j = r % p.count;
    let o = r / p.count;
    out[i] = to_scalar(f32(x[(o * p.axis_size + idx[j]) * p.inner + k]));
}
