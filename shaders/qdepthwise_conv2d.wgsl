// Integer hooks of depthwise_conv2d.wgsl: input of raw 8/16-bit values (one per
// i32 word), filter of int8 packed four to a u32 word in its own order, i32
// accumulation of (x - in_zp) * w, then the channel's (bias, mantissa, shift)
// requantization and clamp to [lo, hi]. Host side: src/gpu/ops/conv/int8.rs.

struct Params {
    g: ConvGeom,
    in_zp: i32,
    out_zp: i32,
    lo: i32,
    hi: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> q: array<vec4<i32>>;
@group(0) @binding(4) var<storage, read_write> out: array<i32>;

alias acc_t = i32;

fn load_x(e: u32) -> i32 {
    return x[e] - p.in_zp;
}

// Signed byte `e` of the packed filter.
fn weight1(e: u32) -> i32 {
    return extractBits(bitcast<i32>(w[e >> 2u]), (e & 3u) * 8u, 8u);
}

fn epilogue(acc: i32, c: u32) -> i32 {
    let m = q[c];
    return q_requant(acc + m.x, m.y, m.z, p.out_zp, p.lo, p.hi);
}
