// LOGICAL_AND / LOGICAL_OR / LOGICAL_NOT on bool tensors stored as u32 0/1, with
// numpy broadcasting up to rank 6 (as in binary.wgsl).
// OP: LOGICAL_AND, LOGICAL_OR or LOGICAL_NOT (which reads a only); the constants come
// from LogicalOp in src/gpu/ops/logic.rs.

override OP: u32 = 0u;

struct Params {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let ia = broadcast_offset(i, p.shape, p.a_strides);
    let ib = broadcast_offset(i, p.shape, p.b_strides);
    let x = a[ia] != 0u;
    var r: bool;
    switch OP {
        case LOGICAL_AND: { r = x && (b[ib] != 0u); }
        case LOGICAL_OR: { r = x || (b[ib] != 0u); }
        default: { r = !x; }
    }
    out[i] = select(0u, 1u, r);
}
