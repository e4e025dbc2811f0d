// MediaPipe Landmarks2TransformMatrix: one invocation computes the 4x4 row-major
// matrix from landmarks lm (x, y, z each) and the index list subset (pairs,
// flattened). Version 1: the bounding box of the subset rotated by the axis angle
// (atan of its slope), scaled to landmarks_range and mapped from output to input
// pixels. Version 2: the box rotated by target - atan2 of the axis, the crop of
// output_width x output_height centred on it. f = (range, multiplier, in_h, in_w,
// out_h, out_w) for v1, (target, out_w, out_h, scale_x, scale_y, 0) for v2.

struct Params {
    version: u32,
    left: u32,
    right: u32,
    count: u32,
    f0: f32,
    f1: f32,
    f2: f32,
    f3: f32,
    f4: f32,
    f5: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lm: array<scalar>;
@group(0) @binding(2) var<storage, read> subset: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<scalar>;

fn xy(i: u32) -> vec2<f32> {
    return vec2<f32>(f32(lm[3u * i]), f32(lm[3u * i + 1u]));
}

fn rot(v: vec2<f32>, a: f32) -> vec2<f32> {
    return vec2<f32>(v.x * cos(a) - v.y * sin(a), v.x * sin(a) + v.y * cos(a));
}

// The matrix with these rows (WGSL constructors take columns).
fn rows3(a: vec3<f32>, b: vec3<f32>, c: vec3<f32>) -> mat3x3<f32> {
    return transpose(mat3x3<f32>(a, b, c));
}

fn rows4(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>) -> mat4x4<f32> {
    return transpose(mat4x4<f32>(a, b, c, d));
}

fn shift4(x: f32, y: f32) -> mat4x4<f32> {
    return rows4(vec4<f32>(1.0, 0.0, 0.0, x), vec4<f32>(0.0, 1.0, 0.0, y),
                 vec4<f32>(0.0, 0.0, 1.0, 0.0), vec4<f32>(0.0, 0.0, 0.0, 1.0));
}

fn v1() {
    let l = xy(p.left);
    let r = xy(p.right);
    let alpha = -atan((r.y - l.y) / (r.x - l.x));
    var mx = vec2<f32>(-100000.0, -100000.0);
    var mn = vec2<f32>(100000.0, 100000.0);
    for (var k = 0u; k < p.count; k++) {
        let q = rot(xy(subset[k]), alpha);
        mx = max(mx, q);
        mn = min(mn, q);
    }
    let range = p.f0;
    let bbox = (mx - mn) * p.f1;
    let s = rows3(vec3<f32>(bbox.x / range, 0.0, 0.0), vec3<f32>(0.0, bbox.y / range, 0.0),
                  vec3<f32>(0.0, 0.0, 1.0));
    let rm = rot((mx + mn) / 2.0, -alpha);
    let c = cos(-alpha);
    let sn = sin(-alpha);
    let r3 = rows3(vec3<f32>(c, -sn, (rm.x / range) * 2.0 - 1.0),
                   vec3<f32>(sn, c, (rm.y / range) * 2.0 - 1.0), vec3<f32>(0.0, 0.0, 1.0));
    let in_h = p.f2;
    let in_w = p.f3;
    let rel = rows3(vec3<f32>(2.0 / (p.f5 - 1.0), 0.0, -1.0),
                    vec3<f32>(0.0, 2.0 / (p.f4 - 1.0), -1.0), vec3<f32>(0.0, 0.0, 1.0));
    let abs_ = rows3(vec3<f32>((in_w - 1.0) / 2.0, 0.0, (in_w - 1.0) / 2.0),
                     vec3<f32>(0.0, (in_h - 1.0) / 2.0, (in_h - 1.0) / 2.0),
                     vec3<f32>(0.0, 0.0, 1.0));
    let t = abs_ * r3 * s * rel;
    let o = array<f32, 16>(t[0][0], t[1][0], 0.0, t[2][0], t[0][1], t[1][1], 0.0, t[2][1],
                           t[0][2], t[1][2], t[2][2], 0.0, 0.0, 0.0, 0.0, 1.0);
    for (var k = 0u; k < 16u; k++) {
        out[k] = to_scalar(o[k]);
    }
}

fn v2() {
    let l = xy(p.left);
    let rr = xy(p.right);
    let r = p.f0 - atan2(rr.y - l.y, rr.x - l.x);
    var mx = rot(xy(subset[0]), r);
    var mn = mx;
    for (var k = 1u; k < p.count; k++) {
        let q = rot(xy(subset[k]), r);
        mx = select(mx, q, mx < q);
        mn = select(mn, q, mn > q);
    }
    let size = mx - mn;
    let centre = rot((mn + mx) / 2.0, -r);
    let ow = p.f1;
    let oh = p.f2;
    let c = cos(-r);
    let sn = sin(-r);
    let r4 = rows4(vec4<f32>(c, -sn, 0.0, 0.0), vec4<f32>(sn, c, 0.0, 0.0),
                   vec4<f32>(0.0, 0.0, 1.0, 0.0), vec4<f32>(0.0, 0.0, 0.0, 1.0));
    let s4 = rows4(vec4<f32>(p.f3 * size.x / ow, 0.0, 0.0, 0.0),
                   vec4<f32>(0.0, p.f4 * size.y / oh, 0.0, 0.0),
                   vec4<f32>(0.0, 0.0, 1.0, 0.0), vec4<f32>(0.0, 0.0, 0.0, 1.0));
    let t = shift4(centre.x, centre.y) * r4 * s4 * shift4(-(ow / 2.0), -(oh / 2.0));
    for (var k = 0u; k < 16u; k++) {
        out[k] = to_scalar(t[k % 4u][k / 4u]);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= 1u) {
        return;
    }
    if (p.version == 1u) {
        v1();
    } else {
        v2();
    }
}
