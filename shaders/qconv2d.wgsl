// Integer hooks of conv2d.wgsl: CONV_2D (and FULLY_CONNECTED as a 1x1
// convolution) over NHWC input of raw 8/16-bit values (one per i32 word).
// Weights are int8, packed four output channels to a u32 word in the float
// kernel's layout, so one word unpacks to a vec4<i32>; the products accumulate
// in i32: acc += (x - in_zp) * w (weights are symmetric, zero point 0). Per
// output channel `q` holds (bias, mantissa, shift, 0); the epilogue requantizes
// the accumulator with LiteRT's fixed-point multiplier and clamps to [lo, hi]
// (type range and fused activation). Host side: src/gpu/ops/conv/int8.rs.

struct Params {
    g: ConvGeom,
    ocg: u32,
    ocq: u32,
    groups: u32,
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

// One value per word: the bodies' quad loads stay off.
const QUAD_LOADS: bool = false;

fn load_x(e: u32) -> i32 {
    return x[e] - p.in_zp;
}

fn load_x4(q: u32) -> vec4<i32> {
    return vec4<i32>(load_x(4u * q), load_x(4u * q + 1u), load_x(4u * q + 2u), load_x(4u * q + 3u));
}

fn weight4(i: u32) -> vec4<i32> {
    return unpack4xI8(w[i]);
}

fn epilogue(acc: i32, c: u32, o: u32) -> i32 {
    let m = q[c];
    return q_requant(acc + m.x, m.y, m.z, p.out_zp, p.lo, p.hi);
}
