// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR over NHWC, one invocation per output
// element, with LiteRT's float coordinate arithmetic (align_corners and
// half_pixel_centers); the scales come precomputed from the host.
// NEAREST selects nearest neighbour (1) or bilinear (0).

override NEAREST: u32 = 0u;

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    oh: u32,
    ow: u32,
    half_pixel: u32,
    align_corners: u32,
    h_scale: f32,
    w_scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<scalar>;
@group(0) @binding(2) var<storage, read_write> out: array<scalar>;

// Nearest input coordinate of output coordinate v (LiteRT GetNearestNeighbor).
fn nearest(v: u32, scale: f32, size: u32) -> u32 {
    let off = select(0.0, 0.5, p.half_pixel != 0u);
    let s = (f32(v) + off) * scale;
    let f = floor(s);
    // Round half away from zero (s >= 0), as Rust's f32::round.
    let r = select(f, f + 1.0, s - f >= 0.5);
    let i = select(f, r, p.align_corners != 0u);
    return u32(clamp(i32(i), 0, i32(size) - 1));
}

// (scaled position, lower, upper) of output coordinate v for bilinear sampling.
struct Interp {
    s: f32,
    lo: u32,
    hi: u32,
}

fn interp(v: u32, scale: f32, size: u32) -> Interp {
    var s = f32(v) * scale;
    if (p.half_pixel != 0u) {
        s = (f32(v) + 0.5) * scale - 0.5;
    }
    let lo = min(u32(max(i32(floor(s)), 0)), size - 1u);
    let hi = u32(max(min(i32(ceil(s)), i32(size) - 1), 0));
    return Interp(s, lo, hi);
}

fn at(b: u32, y: u32, xx: u32, ch: u32) -> f32 {
    return f32(x[((b * p.h + y) * p.w + xx) * p.c + ch]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.n) {
        return;
    }
    let ch = i % p.c;
    var rem = i / p.c;
    let ox = rem % p.ow;
    rem = rem / p.ow;
    let oy = rem % p.oh;
    let b = rem / p.oh;
    if (NEAREST == 1u) {
        let y = nearest(oy, p.h_scale, p.h);
        let xx = nearest(ox, p.w_scale, p.w);
        out[i] = to_scalar(f32(x[((b * p.h + y) * p.w + xx) * p.c + ch]));
        return;
    }
    let iy = interp(oy, p.h_scale, p.h);
    let ix = interp(ox, p.w_scale, p.w);
    let dy = iy.s - f32(iy.lo);
    let dx = ix.s - f32(ix.lo);
    let v = at(b, iy.lo, ix.lo, ch) * (1.0 - dy) * (1.0 - dx)
        + at(b, iy.hi, ix.lo, ch) * dy * (1.0 - dx)
        + at(b, iy.lo, ix.hi, ch) * (1.0 - dy) * dx
        + at(b, iy.hi, ix.hi, ch) * dy * dx;
    out[i] = to_scalar(v);
}
