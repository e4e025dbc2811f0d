// SELECT / SELECT_V2: out = cond ? x : y with numpy broadcasting up to rank 6 (as
// in binary.wgsl); cond is bool stored as u32 0/1. `elem` comes from the
// element file in front of it (elem_float.wgsl: `scalar` for float values;
// elem_u32.wgsl: `u32` for int32, int64 and bool values, 4-byte words).
// SELECT's rank-1 condition over the first axis travels as a condition
// broadcast along every other axis.

struct Params {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    shape: array<vec4<u32>, 2>,
    c_strides: array<vec4<u32>, 2>,
    x_strides: array<vec4<u32>, 2>,
    y_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> c: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<elem>;
@group(0) @binding(3) var<storage, read> y: array<elem>;
@group(0) @binding(4) var<storage, read_write> out: array<elem>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let ic = broadcast_offset(i, p.shape, p.c_strides);
    let ix = broadcast_offset(i, p.shape, p.x_strides);
    let iy = broadcast_offset(i, p.shape, p.y_strides);
    if (c[ic] != 0u) {
        out[i] = store_elem(x[ix]);
    } else {
        out[i] = store_elem(y[iy]);
    }
}
