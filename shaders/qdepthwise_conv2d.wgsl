// Integer DEPTHWISE_CONV_2D over NHWC input of raw 8/16-bit values (one per i32
// word); filter [1, KH, KW, IC * M] of int8 packed four to a u32 word in its own
// order. Output channel c reads input channel c / M. One invocation per output
// element: i32 accumulation of (x - in_zp) * w, then the channel's (bias,
// mantissa, shift) requantization and clamp to [lo, hi].
// Host side: src/gpu/ops/qconv.rs.

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

// Signed byte `e` of the packed filter.
fn weight(e: u32) -> i32 {
    return extractBits(bitcast<i32>(w[e >> 2u]), (e & 3u) * 8u, 8u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * WORKGROUP_SIZE + li;
    if (i >= p.g.total) {
        return;
    }
    let c = i % p.g.oc;
    let pix = i / p.g.oc;
    let ox = pix % p.g.ow;
    let t = pix / p.g.ow;
    let oy = t % p.g.oh;
    let b = t / p.g.oh;
    let ci = c / p.g.fic;
    var acc = 0;
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
            let xv = x[((b * p.g.ih + u32(iy)) * p.g.iw + u32(ix)) * p.g.ic + ci] - p.in_zp;
            acc += xv * weight((ky * p.g.kw + kx) * p.g.oc + c);
        }
    }
    let m = q[c];
    out[i] = q_requant(acc + m.x, m.y, m.z, p.out_zp, p.lo, p.hi);
}
