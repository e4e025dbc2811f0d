// Element-wise binary functions with numpy broadcasting up to rank 6:
// out[i] = f(a[ia], b[ib]) where ia, ib come from the output index through strides
// that are 0 along broadcast axes; then clamp to [act_min, act_max] (fused
// activation). OP is one of the BINARY_* constants
// (generated from BinaryOp in src/gpu/ops/elementwise.rs).

override OP: u32 = 0u;

struct Params {
    n: u32,
    act_min: f32,
    act_max: f32,
    _pad: u32,
    // Output dims, innermost last, padded with leading 1s to rank 6 (two vec4s).
    shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<scalar>;
@group(0) @binding(2) var<storage, read> b: array<scalar>;
@group(0) @binding(3) var<storage, read_write> out: array<scalar>;

fn apply(x: f32, y: f32) -> f32 {
    switch OP {
        case BINARY_ADD: { return x + y; }
        case BINARY_SUB: { return x - y; }
        case BINARY_MUL: { return x * y; }
        case BINARY_DIV: { return x / y; }
        case BINARY_MAXIMUM: { return max(x, y); }
        case BINARY_MINIMUM: { return min(x, y); }
        case BINARY_SQUARED_DIFFERENCE: { return (x - y) * (x - y); }
        case BINARY_POW: { return pow(x, y); }
        case BINARY_FLOOR_DIV: { return floor(x / y); }
        case BINARY_FLOOR_MOD: {
            let r = x - y * trunc(x / y);
            return select(r, r + y, r != 0.0 && ((r < 0.0) != (y < 0.0)));
        }
        case BINARY_PRELU: { return select(x * y, x, x >= 0.0); }
        default: { return x; }
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
    let v = apply(f32(a[ia]), f32(b[ib]));
    out[i] = to_scalar(clamp(v, p.act_min, p.act_max));
}
