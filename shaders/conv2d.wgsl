// CONV_2D over NHWC input as an implicit GEMM: rows are the output pixels
// (M = batch * oh * ow, `g.total`), columns the output channels of one group in
// vec4 quads, and the reduction runs over K = kh * kw * fic in (ky, kx, ci)
// order. Weights are re-laid out at lowering as w[group][k][quad] (4
// consecutive output channels of the group per quad, zero-padded), any
// stride/dilation/padding, grouped when ic = groups * fic.
//
// One workgroup of 64 invocations computes a tile of TILE_M pixels x TQ quads
// of one group; each invocation holds 4 pixels x 4 channels in registers. TQ
// (an override constant: 2, 4, 8 or 16) shapes the tile to the node, so narrow
// layers and small images waste few lanes: TILE_M = 4 * 64 / TQ.
// K advances KT steps at a time through workgroup memory: an input tile of
// KT x TILE_M values (each invocation loads one k for TILE_M / 8 pixels, or
// with QUAD_LOADS a quad of 4 consecutive k of one tap for TILE_M / 32 pixels,
// so the window arithmetic runs once per stage) and a weight tile of KT x TQ
// quads. Taps outside the input are zeros in the tile.
// POINTWISE (an override constant): a 1x1 filter at stride 1 without padding,
// where pixel m's input row starts at x[m * ic]: no window arithmetic.
//
// One body for every variant; the prefix in front of it (conv2d_float.wgsl with
// an input and a weight hook file, qconv2d.wgsl) supplies `Params` (the geometry `g`, then the
// output channels per group `ocg`, the vec4 quads per group `ocq` and `groups`),
// the bindings `x` and `out`, and the hooks:
// - `acc_t`: the accumulator's scalar type,
// - `QUAD_LOADS`: a const, true when the input is bound as vec4 quads (every
//   group's channels start 4-aligned and fic is a multiple of 4, so a quad of
//   4 consecutive k never leaves its tap),
// - `load_x(e) -> acc_t`: input element e as it enters the products,
// - `load_x4(q) -> vec4<acc_t>`: input quad q (elements 4q .. 4q + 3),
// - `weight4(i) -> vec4<acc_t>`: weight quad i,
// - `epilogue(acc, c, o)`: the value stored at out[o] for the sum `acc` of
//   output channel c.
// Host side: src/gpu/ops/conv/float.rs (float), int8.rs (integer), tiling.rs (the
// dispatch size).

override POINTWISE: bool = false;

// Quads of one workgroup tile (2, 4, 8 or 16), pixel rows of invocations
// (64 / TQ), pixels of the tile, and K steps per stage.
override TQ: u32 = 8u;
override TM: u32 = 64u / TQ;
override TILE_M: u32 = 4u * TM;
const KT: u32 = 8u;
// Largest TILE_M (TQ = 2) and pixels per input loader (TILE_M / 8).
const MAX_TILE_M: u32 = 128u;
const MAX_LOADS: u32 = 16u;

var<workgroup> xs: array<array<acc_t, MAX_TILE_M>, KT>;
var<workgroup> ws: array<array<vec4<acc_t>, 16>, KT>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let tiles_q = (p.ocq + TQ - 1u) / TQ;
    let tiles_n = tiles_q * p.groups;
    let pixels = p.g.total;
    let tile = wg.y * nw.x + wg.x;
    if (tile >= ((pixels + TILE_M - 1u) / TILE_M) * tiles_n) {
        return;
    }
    let tn = tile % tiles_n;
    let m0 = (tile / tiles_n) * TILE_M;
    let g = tn / tiles_q;
    let q0 = (tn % tiles_q) * TQ;
    let k = p.g.kh * p.g.kw * p.g.fic;
    let ch0 = g * p.g.fic;

    // Input loader: k columns lk .. lk + width - 1 of the stage (width 1, or 4
    // with quad loads), pixels lm + rows * r.
    let width = select(1u, 4u, QUAD_LOADS);
    let cols = KT / width;
    let rows = 64u / cols;
    let lk = (li % cols) * width;
    let lm = li / cols;
    let loads = (TILE_M + rows - 1u) / rows;
    var iy0: array<i32, MAX_LOADS>;
    var ix0: array<i32, MAX_LOADS>;
    var xrow: array<u32, MAX_LOADS>;
    var live: array<bool, MAX_LOADS>;
    for (var r = 0u; r < loads; r++) {
        let m = m0 + lm + rows * r;
        // Quad loaders of short tiles (TILE_M < 32) past the tile load nothing.
        live[r] = m < pixels && lm + rows * r < TILE_M;
        let mm = min(m, pixels - 1u);
        if (POINTWISE) {
            xrow[r] = mm * p.g.ic + ch0;
        } else {
            let ox = mm % p.g.ow;
            let t = mm / p.g.ow;
            let oy = t % p.g.oh;
            let b = t / p.g.oh;
            iy0[r] = i32(oy * p.g.sh) - i32(p.g.pt);
            ix0[r] = i32(ox * p.g.sw) - i32(p.g.pl);
            xrow[r] = b * p.g.ih * p.g.iw * p.g.ic + ch0;
        }
    }
    // Weight loader: quads e = li, li + 64 of the KT x TQ weight tile.
    let wbase = g * k * p.ocq + q0;
    // Products: quad cq of the tile, pixels cm + TM * j.
    let cq = li % TQ;
    let cm = li / TQ;
    var acc: array<vec4<acc_t>, 4>;
    for (var k0 = 0u; k0 < k; k0 += KT) {
        let kk = k0 + lk;
        let ci = kk % p.g.fic;
        let t = kk / p.g.fic;
        let dy = i32((t / p.g.kw) * p.g.dh);
        let dx = i32((t % p.g.kw) * p.g.dw);
        for (var r = 0u; r < loads; r++) {
            var v = vec4<acc_t>();
            var e = 0u;
            var inside = false;
            if (live[r] && kk < k) {
                if (POINTWISE) {
                    e = xrow[r] + kk;
                    inside = true;
                } else {
                    let iy = iy0[r] + dy;
                    let ix = ix0[r] + dx;
                    inside = iy >= 0 && iy < i32(p.g.ih) && ix >= 0 && ix < i32(p.g.iw);
                    e = xrow[r] + (u32(iy) * p.g.iw + u32(ix)) * p.g.ic + ci;
                }
            }
            let mr = lm + rows * r;
            if (QUAD_LOADS) {
                if (inside) {
                    v = load_x4(e / 4u);
                }
                for (var j = 0u; j < 4u; j++) {
                    xs[lk + j][mr] = v[j];
                }
            } else {
                if (inside) {
                    v.x = load_x(e);
                }
                xs[lk][mr] = v.x;
            }
        }
        for (var e = li; e < KT * TQ; e += 64u) {
            let wk = e / TQ;
            let wq = e % TQ;
            var wv = vec4<acc_t>();
            if (q0 + wq < p.ocq && k0 + wk < k) {
                wv = weight4(wbase + (k0 + wk) * p.ocq + wq);
            }
            ws[wk][wq] = wv;
        }
        workgroupBarrier();
        for (var s = 0u; s < KT; s++) {
            let wq4 = ws[s][cq];
            for (var j = 0u; j < 4u; j++) {
                acc[j] += xs[s][cm + TM * j] * wq4;
            }
        }
        workgroupBarrier();
    }
    let quad = q0 + cq;
    if (quad >= p.ocq) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let m = m0 + cm + TM * j;
        if (m < pixels) {
            let ob = m * p.g.oc + g * p.ocg;
            for (var jj = 0u; jj < 4u; jj++) {
                let c = quad * 4u + jj;
                if (c < p.ocg) {
                    out[ob + c] = epilogue(acc[j][jj], g * p.ocg + c, ob + c);
                }
            }
        }
    }
}
