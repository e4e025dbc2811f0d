// Comparisons with numpy broadcasting up to rank 6 (as in binary.wgsl); the bool
// result is stored as u32 0/1. `elem` is a typed define of the kernel
// (src/gpu/ops/logic.rs): `scalar` for float tensors, `i32` for int32/int64 ones.
// OP: one of the COMPARE_* constants (from CompareOp in src/gpu/ops/logic.rs).

override OP: u32 = 0u;

struct Params {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    // Output dims, innermost last, padded with leading 1s to rank 6 (two vec4s).
    shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<elem>;
@group(0) @binding(2) var<storage, read> b: array<elem>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn apply(x: elem, y: elem) -> bool {
    switch OP {
        case COMPARE_LESS: { return x < y; }
        case COMPARE_LESS_EQUAL: { return x <= y; }
        case COMPARE_GREATER: { return x > y; }
        case COMPARE_GREATER_EQUAL: { return x >= y; }
        case COMPARE_EQUAL: { return x == y; }
        default: { return x != y; }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let ia = broadcast_offset(i, p.shape, p.a_strides);
    let ib = broadcast_offset(i, p.shape, p.b_strides);
    out[i] = select(0u, 1u, apply(a[ia], b[ib]));
}
