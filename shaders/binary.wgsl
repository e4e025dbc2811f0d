// Element-wise binary functions with numpy broadcasting up to rank 6:
// out[i] = f(a[ia], b[ib]) where ia, ib come from the output index through strides
// that are 0 along broadcast axes; then clamp to [act_min, act_max] (fused
// activation). OP codes are in src/gpu/ops/elementwise.rs.

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
        case 0u: { return x + y; }
        case 1u: { return x - y; }
        case 2u: { return x * y; }
        case 3u: { return x / y; }
        case 4u: { return max(x, y); }
        case 5u: { return min(x, y); }
        case 6u: { return (x - y) * (x - y); }
        case 7u: { return pow(x, y); }
        case 8u: { return floor(x / y); }
        case 9u: {
            let r = x - y * trunc(x / y);
            return select(r, r + y, r != 0.0 && ((r < 0.0) != (y < 0.0)));
        }
        case 10u: { return select(x * y, x, x >= 0.0); }
        default: { return x; }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.n) {
        return;
    }
    let ia = broadcast_offset(i, p.shape, p.a_strides);
    let ib = broadcast_offset(i, p.shape, p.b_strides);
    let v = apply(f32(a[ia]), f32(b[ib]));
    out[i] = to_scalar(clamp(v, p.act_min, p.act_max));
}
