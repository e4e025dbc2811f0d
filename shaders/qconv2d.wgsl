// Integer CONV_2D (and FULLY_CONNECTED as a 1x1 convolution) over NHWC input of
// raw 8/16-bit values (one per i32 word). Weights are int8, packed four output
// channels to a u32 word and laid out w[group][ky][kx][ci][ocq] at lowering, so
// each invocation unpacks one word per input channel into a vec4<i32> and
// accumulates 4 consecutive output channels of one output pixel in i32:
// acc += (x - in_zp) * w (weights are symmetric, zero point 0). Per output
// channel `q` holds (bias, mantissa, shift, 0); the accumulator is requantized
// with LiteRT's fixed-point multiplier and clamped to [lo, hi] (type range and
// fused activation). Host side: src/gpu/ops/qconv.rs.

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

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.g.total) {
        return;
    }
    let quad = i % p.ocq;
    let r = i / p.ocq;
    let g = r % p.groups;
    let pix = r / p.groups;
    let ox = pix % p.g.ow;
    let t = pix / p.g.ow;
    let oy = t % p.g.oh;
    let b = t / p.g.oh;
    let k = p.g.kh * p.g.kw * p.g.fic;
    let wbase = g * k * p.ocq + quad;
    var acc = vec4<i32>(0);
    for (var ky = 0u; ky < p.g.kh; ky++) {
        let iy = i32(oy * p.g.sh + ky * p.g.dh) - i32(p.g.pt);
        if (iy < 0 || iy >= i32(p.g.ih)) {
            continue;
        }
        for (var kx = 0u; kx < p.g.kw; kx++) {
            let ix = i32(ox * p.g.sw + kx * p.g.dw) - i32(p.g.pl);
            if (ix < 0 || ix >= i32(p.g.iw)) {
                continue;
            }
            let xb = ((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * p.g.ic + g * p.g.fic;
            let wb = wbase + (ky * p.g.kw + kx) * p.g.fic * p.ocq;
            for (var ci = 0u; ci < p.g.fic; ci++) {
                acc += (x[xb + ci] - p.in_zp) * unpack4xI8(w[wb + ci * p.ocq]);
            }
        }
    }
    let ob = pix * p.g.oc + g * p.ocg;
    for (var j = 0u; j < 4u; j++) {
        let c = quad * 4u + j;
        if (c < p.ocg) {
            let m = q[g * p.ocg + c];
            out[ob + c] = q_requant(acc[j] + m.x, m.y, m.z, p.out_zp, p.lo, p.hi);
        }
    }
}
