// MediaPipe TransformTensor (v1) / TransformTensorBilinear (v2) over NHWC batch 0:
// output pixel (ox, oy) samples the input bilinearly at the first two rows of the
// matrix m applied to (ox, oy, 0, 1); a sample point outside [0, w-1] x [0, h-1]
// gives 0, and corners past the edge read 0. ALIGN (v2) moves the matrix to pixel
// centres: the translation gains (m0 + m1) / 2 - 1/2. One invocation per output
// element.

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    oh: u32,
    ow: u32,
    align: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read> m: array<scalar>;
@group(0) @binding(3) var<storage, read_write> out: array<scalar>;

fn row(r: u32) -> vec4<f32> {
    var v = vec4<f32>(f32(m[4u * r]), f32(m[4u * r + 1u]), f32(m[4u * r + 2u]), f32(m[4u * r + 3u]));
    if (p.align != 0u) {
        v.w += v.x * 0.5 + v.y * 0.5 - 0.5;
    }
    return v;
}

fn texel(yy: f32, xx: f32, ch: u32) -> f32 {
    if (yy < 0.0 || xx < 0.0 || yy >= f32(p.h) || xx >= f32(p.w)) {
        return 0.0;
    }
    return f32(x[(u32(yy) * p.w + u32(xx)) * p.c + ch]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let ch = i % p.c;
    let rem = i / p.c;
    let ox = f32(rem % p.ow);
    let oy = f32(rem / p.ow);
    let xr = row(0u);
    let yr = row(1u);
    let tx = xr.x * ox + xr.y * oy + xr.z * 0.0 + xr.w;
    let ty = yr.x * ox + yr.y * oy + yr.z * 0.0 + yr.w;
    if (!(tx >= 0.0 && tx <= f32(p.w) - 1.0 && ty >= 0.0 && ty <= f32(p.h) - 1.0)) {
        out[i] = to_scalar(0.0);
        return;
    }
    let x0 = floor(tx);
    let y0 = floor(ty);
    let right = tx - x0;
    let lower = ty - y0;
    let upper_v = (1.0 - right) * texel(y0, x0, ch) + right * texel(y0, x0 + 1.0, ch);
    let lower_v = (1.0 - right) * texel(y0 + 1.0, x0, ch) + right * texel(y0 + 1.0, x0 + 1.0, ch);
    out[i] = to_scalar(lower * lower_v + (1.0 - lower) * upper_v);
}
