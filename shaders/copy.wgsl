// Generic strided copy (rank padded to 6). For each element of the dispatch's region
// (dims `shape`), the source coordinate along dim d is src_d = out_d * step_d + start_d
// (i32; steps may be negative), adjusted by mode_d:
//   0 direct, 1 modulo (tile: src_d % in_dim_d), 2 pad (outside [0, in_dim_d) reads
//   `pad_value`), 3 mirror REFLECT, 4 mirror SYMMETRIC.
// Source offset = base + sum(src_d * in_stride_d); destination offset =
// out_offset + sum(out_d * out_stride_d), so a dispatch can fill a sub-region of a
// larger buffer (concatenation, pack). Optional clamp (fused activation).
// Elements are `elem` (the float scalar, or i32 raw values of quantized tensors,
// exact through f32), stored by `to_elem`; both come from the element hook in
// front of it (copy_elem_float.wgsl or copy_elem_i32.wgsl).
// Host side: src/gpu/ops/layout.rs.

struct Params {
    n: u32,
    out_offset: u32,
    base: i32,
    pad_value: f32,
    act_min: f32,
    act_max: f32,
    do_clamp: u32,
    _pad: u32,
    shape: array<vec4<u32>, 2>,
    out_strides: array<vec4<u32>, 2>,
    step: array<vec4<i32>, 2>,
    start: array<vec4<i32>, 2>,
    in_dim: array<vec4<i32>, 2>,
    in_stride: array<vec4<i32>, 2>,
    mode: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> out: array<elem>;

fn dimu(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

fn dimi(v: array<vec4<i32>, 2>, d: u32) -> i32 {
    return v[d / 4u][d % 4u];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    var rem = i;
    var dst = p.out_offset;
    var src = p.base;
    var outside = false;
    for (var d = 5i; d >= 0; d--) {
        let du = u32(d);
        let size = dimu(p.shape, du);
        let c = rem % size;
        rem = rem / size;
        dst += c * dimu(p.out_strides, du);
        var s = i32(c) * dimi(p.step, du) + dimi(p.start, du);
        let n = dimi(p.in_dim, du);
        switch dimu(p.mode, du) {
            case 1u: {
                s = s % n;
            }
            case 2u: {
                if (s < 0 || s >= n) {
                    outside = true;
                }
            }
            case 3u: {
                if (s < 0) {
                    s = -s;
                } else if (s >= n) {
                    s = 2 * n - 2 - s;
                }
            }
            case 4u: {
                if (s < 0) {
                    s = -s - 1;
                } else if (s >= n) {
                    s = 2 * n - 1 - s;
                }
            }
            default: {}
        }
        src += s * dimi(p.in_stride, du);
    }
    var v = p.pad_value;
    if (!outside) {
        v = f32(x[u32(src)]);
    }
    if (p.do_clamp != 0u) {
        v = clamp(v, p.act_min, p.act_max);
    }
    out[dst] = to_elem(v);
}
