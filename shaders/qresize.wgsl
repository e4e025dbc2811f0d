// Integer RESIZE_BILINEAR of int8 NHWC values (one per i32 word) in LiteRT's
// fixed-point arithmetic: source positions with 10 fractional bits, the four
// neighbours weighted in 20 fractional bits, rounded half away from zero.
// Host side: src/gpu/ops/qresize.rs.

struct Params {
    total: u32,
    ih: u32,
    iw: u32,
    c: u32,
    oh: u32,
    ow: u32,
    // Scales with 10 fractional bits.
    hs: i32,
    ws: i32,
    half_pixel: u32,
    lo: i32,
    hi: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

// (position, lower, upper) of output coordinate v.
fn interp(v: u32, scale: i32, size: u32) -> vec3<i32> {
    var s = i32(v) * scale;
    if (p.half_pixel != 0u) {
        s = s + scale / 2 - 512;
    }
    let last = i32(size) - 1;
    let lo = min(max(s / 1024, 0), last);
    let hi = max(min((s + 1023) / 1024, last), 0);
    return vec3<i32>(s, lo, hi);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.total) {
        return;
    }
    let ch = i % p.c;
    let pix = i / p.c;
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    let ty = interp(oy, p.hs, p.ih);
    let tx = interp(ox, p.ws, p.iw);
    let dy = ty.x - 1024 * ty.y;
    let dx = tx.x - 1024 * tx.y;
    let row0 = (b * p.ih + u32(ty.y)) * p.iw;
    let row1 = (b * p.ih + u32(ty.z)) * p.iw;
    let s = x[(row0 + u32(tx.y)) * p.c + ch] * (1024 - dy) * (1024 - dx)
        + x[(row1 + u32(tx.y)) * p.c + ch] * dy * (1024 - dx)
        + x[(row0 + u32(tx.z)) * p.c + ch] * (1024 - dy) * dx
        + x[(row1 + u32(tx.z)) * p.c + ch] * dy * dx;
    let r = select(-(1 << 19), 1 << 19, s > 0);
    out[i] = clamp((s + r) / (1 << 20), p.lo, p.hi);
}
