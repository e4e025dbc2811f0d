// CUMSUM along the middle axis of an [outer, len, inner] view: one invocation per
// (outer, inner) line walks the line in order with an f32 running sum.
// Flags: bit 0 exclusive (the current element is left out), bit 1 reverse.

struct Params {
    // Number of lines (outer * inner).
    lines: u32,
    len: u32,
    inner: u32,
    flags: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let line = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (line >= p.lines) {
        return;
    }
    let exclusive = (p.flags & 1u) != 0u;
    let reverse = (p.flags & 2u) != 0u;
    let base = (line / p.inner) * p.len * p.inner + line % p.inner;
    var acc = 0.0;
    for (var k = 0u; k < p.len; k++) {
        let kk = select(k, p.len - 1u - k, reverse);
        let off = base + kk * p.inner;
        let v = f32(x[off]);
        if (exclusive) {
            out[off] = to_scalar(acc);
            acc += v;
        } else {
            acc += v;
            out[off] = to_scalar(acc);
        }
    }
}
