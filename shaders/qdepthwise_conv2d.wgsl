// Integer DEPTHWISE_CONV_2D over NHWC input of raw 8/16-bit values (one per i32
// word); filter [1, KH, KW, IC * M] of int8 packed four to a u32 word in its own
// order. Output channel c reads input channel c / M. One invocation per output
// element: i32 accumulation of (x - in_zp) * w, then the channel's (bias,
// mantissa, shift) requantization and clamp to [lo, hi].
// Host side: src/gpu/ops/qconv.rs.

struct Params {
    total: u32,
    ih: u32,
    iw: u32,
    ic: u32,
    oh: u32,
    ow: u32,
    oc: u32,
    kh: u32,
    kw: u32,
    m: u32,
    sh: u32,
    sw: u32,
    dh: u32,
    dw: u32,
    pt: u32,
    pl: u32,
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

// Signed byte `e` of the packed filter.
fn weight(e: u32) -> i32 {
    return extractBits(bitcast<i32>(w[e >> 2u]), (e & 3u) * 8u, 8u);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.total) {
        return;
    }
    let c = i % p.oc;
    let pix = i / p.oc;
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    let ci = c / p.m;
    var acc = 0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pt);
        if (iy < 0 || iy >= i32(p.ih)) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pl);
            if (ix < 0 || ix >= i32(p.iw)) {
                continue;
            }
            let xv = x[((b * p.ih + u32(iy)) * p.iw + u32(ix)) * p.ic + ci] - p.in_zp;
            acc += xv * weight((ky * p.kw + kx) * p.oc + c);
        }
    }
    let m = q[c];
    out[i] = q_requant(acc + m.x, m.y, m.z, p.out_zp, p.lo, p.hi);
}
